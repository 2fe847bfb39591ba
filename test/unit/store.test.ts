/**
 * The dataset directory: binary layout, loading into SplitData, the reuse rule (same → reused; other
 * options, source, metadata or damaged files → refused unless forced), atomic writes, and the pro_sg
 * import/export round trip.
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { csrRow } from '../../ts/csr.js';
import { prepareDataset } from '../../ts/data/prepare.js';
import { exportReference } from '../../ts/data/reference.js';
import { encodeCsr, indexOf, loadDataset, readCsrFile } from '../../ts/data/store.js';
import { InvalidArgumentError } from '../../ts/errors.js';
import { writeDirAtomic } from '../../ts/util/fs.js';
import { MARKER_FILE } from '../../ts/util/output.js';
import { randomRatings, splitOracle, toMovieLensCsv } from '../helpers/data-oracle.js';
import { Rng } from '../helpers/random.js';
import { tempDir } from '../helpers/tmp.js';

function setup(t: ExecutionContext, seed = 5) {
  const dir = tempDir(t);
  const src = join(dir, 'src');
  mkdirSync(src);
  const rows = randomRatings(new Rng(seed), 150, 120, 5000);
  writeFileSync(join(src, 'ratings.csv'), toMovieLensCsv(rows));
  writeFileSync(
    join(src, 'movies.csv'),
    `movieId,title,genres\n${[...new Set(rows.map((r) => r.item))].map((i) => `${i},"Film ${i}, The",G${Number(i) % 3}|H`).join('\n')}\n`,
  );
  return { dir, src, rows, out: join(dir, 'ds') };
}

test('.csr layout: magic, little-endian header and arrays, read back without copies', (t) => {
  const dir = tempDir(t);
  const m = {
    indptr: Uint32Array.of(0, 2, 2, 3),
    indices: Uint32Array.of(1, 4, 0),
    cols: 5,
    users: Uint32Array.of(7, 8, 9),
  };
  const bytes = Buffer.concat(encodeCsr(m));
  t.is(bytes.subarray(0, 8).toString('latin1'), 'MVCSR01\n');
  t.deepEqual([bytes.readUInt32LE(8), bytes.readUInt32LE(12)], [1, 0]);
  t.deepEqual([bytes.readBigUInt64LE(16), bytes.readBigUInt64LE(24), bytes.readBigUInt64LE(32)], [3n, 5n, 3n]);
  t.is(bytes.length, 40 + 4 * (4 + 3 + 3));
  t.is(bytes.readUInt32LE(40 + 4 * 4 + 4), 4, 'indices follow indptr');
  const p = join(dir, 'm.csr');
  writeFileSync(p, bytes);
  const back = readCsrFile(p);
  t.deepEqual([...back.indptr], [0, 2, 2, 3]);
  t.deepEqual([...back.indices], [1, 4, 0]);
  t.deepEqual([...back.users], [7, 8, 9]);
  t.is(back.cols, 5);
  t.is(back.indptr.buffer, back.indices.buffer);
  writeFileSync(p, bytes.subarray(0, bytes.length - 4));
  t.throws(() => readCsrFile(p), { message: /bytes but the header implies/ });
});

test('loadDataset: SplitData of scored users, ids both ways, metadata, matching the oracle', async (t) => {
  const { src, rows, out } = setup(t);
  const r = await prepareDataset({ input: join(src, 'ratings.csv'), out, heldoutUsers: 10, minUserItems: 2 });
  const ds = await loadDataset(out);
  const want = splitOracle(rows, { heldout: 10, minUserItems: 2 });
  t.is(ds.items, want.items);
  t.deepEqual(ds.itemIds, want.uniqueSid.trim().split('\n'));
  t.is(ds.train.cols, ds.items);
  t.is(ds.train.indptr.length - 1, r.manifest.counts.trainUsers);
  t.is(indexOf(ds.itemIds).get(ds.itemIds[3]), 3);
  t.is(indexOf(ds.userIds).size, r.manifest.counts.users);
  for (let u = 0; u < ds.train.indptr.length - 1; u++) {
    const row = [...csrRow(ds.train, u)];
    t.deepEqual(
      row,
      [...row].sort((a, b) => a - b),
      'sorted rows',
    );
  }
  // The oracle's test_te.csv lists exactly the scored test users; rows follow raw-id order.
  const scored = [
    ...new Set(
      want.testTe
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => Number(l.split(',')[0])),
    ),
  ];
  t.deepEqual([...ds.testUsers], scored);
  t.is(ds.test.foldIn.indptr.length - 1, scored.length);
  t.is(ds.test.target.indptr.length - 1, scored.length);
  t.true(r.manifest.counts.testScored < r.manifest.counts.testUsers, 'the fixture has unscored users');
  for (let k = 0; k < scored.length; k++) t.true(csrRow(ds.test.target, k).length > 0);
  const j = ds.itemIds.indexOf('8');
  t.is(ds.itemTitles?.[j], 'Film 8, The');
  t.deepEqual(ds.itemGenres?.[j], ['G2', 'H']);
});

test('re-running with the same source and options reuses; other options, source or metadata are refused', async (t) => {
  const { src, out } = setup(t);
  const input = join(src, 'ratings.csv');
  const first = await prepareDataset({ input, out, heldoutUsers: 10 });
  t.false(first.reused);
  const mtime = statSync(join(out, 'train.csr')).mtimeMs;
  const again = await prepareDataset({ input, out, heldoutUsers: 10 });
  t.true(again.reused);
  t.is(statSync(join(out, 'train.csr')).mtimeMs, mtime);
  t.deepEqual(again.manifest, first.manifest);

  const e1 = await t.throwsAsync(prepareDataset({ input, out, heldoutUsers: 11 }), {
    instanceOf: InvalidArgumentError,
  });
  t.regex(e1?.message ?? '', /prepared with different options \(heldoutUsers: 10 → 11\); pass --force/);
  const e2 = await t.throwsAsync(prepareDataset({ input, out, heldoutUsers: 10, split: 'seeded' }));
  t.regex(e2?.message ?? '', /split: "reference" → "seeded"/);

  writeFileSync(join(src, 'movies.csv'), `${readFileSync(join(src, 'movies.csv'), 'utf8')}999999,New,X\n`);
  const e3 = await t.throwsAsync(prepareDataset({ input, out, heldoutUsers: 10 }));
  t.regex(e3?.message ?? '', /different item metadata/);
  t.true(
    (await prepareDataset({ input, out, heldoutUsers: 10, items: false, force: true })).manifest.metadata === null,
  );

  appendFileSync(input, '1,1,5.0,0\n');
  const e4 = await t.throwsAsync(prepareDataset({ input, out, heldoutUsers: 10, items: false }));
  t.regex(e4?.message ?? '', /prepared from a different source: .* had sha256 [0-9a-f]{12}…, .* has [0-9a-f]{12}…/);
  const forced = await prepareDataset({ input, out, heldoutUsers: 10, items: false, force: true });
  t.false(forced.reused);
  t.not(forced.manifest.source.sha256, first.manifest.source.sha256);

  truncateSync(join(out, 'train.csr'), 100);
  const e5 = await t.throwsAsync(prepareDataset({ input, out, heldoutUsers: 10, items: false }));
  t.regex(e5?.message ?? '', /is damaged \(.*train\.csr.*\)/);
  await t.throwsAsync(loadDataset(out), { message: /train\.csr/ });
  t.false((await prepareDataset({ input, out, heldoutUsers: 10, items: false, force: true })).reused);
  await t.notThrowsAsync(loadDataset(out));
});

test('writes are atomic: a failing build leaves nothing; stale temporaries of dead runs are removed', async (t) => {
  const { dir, src, out } = setup(t);
  await t.throwsAsync(
    writeDirAtomic(out, async (tmp) => {
      writeFileSync(join(tmp, 'half'), 'x');
      throw new Error('interrupted');
    }),
    { message: 'interrupted' },
  );
  t.false(existsSync(out));
  t.deepEqual(readdirSync(dir).sort(), ['src']);
  const stale = join(dir, '.ds.partial-2147483646-deadbeef');
  mkdirSync(stale);
  await prepareDataset({ input: join(src, 'ratings.csv'), out, heldoutUsers: 10 });
  t.false(existsSync(stale));
  // A failing run over an existing dataset keeps the old one intact.
  const before = readFileSync(join(out, 'manifest.json'), 'utf8');
  await t.throwsAsync(
    writeDirAtomic(out, async () => {
      throw new Error('interrupted again');
    }),
  );
  t.is(readFileSync(join(out, 'manifest.json'), 'utf8'), before);
  t.deepEqual(readdirSync(dir).sort(), ['ds', 'src']);
});

test('pro_sg import → dataset → export gives the same files', async (t) => {
  const { dir, src, out } = setup(t, 8);
  await prepareDataset({ input: join(src, 'ratings.csv'), out, heldoutUsers: 12 });
  const pro = join(dir, 'pro');
  await exportReference(out, pro);
  const imported = await prepareDataset({ input: pro, out: join(dir, 'imported') });
  t.is(imported.manifest.source.format, 'reference');
  const orig = await loadDataset(out);
  const back = await loadDataset(imported.dir);
  t.deepEqual(back.itemIds, orig.itemIds);
  t.deepEqual(back.train, orig.train);
  t.deepEqual(back.validation, orig.validation);
  t.deepEqual(back.test, orig.test);
  t.deepEqual(back.testUsers, orig.testUsers);
  const pro2 = join(dir, 'pro2');
  await exportReference(imported.dir, pro2);
  // Every pro_sg file is the same; the ownership marker (`.macridvae`) carries its own creation time.
  for (const f of readdirSync(pro).filter((f) => f !== MARKER_FILE)) {
    t.true(readFileSync(join(pro, f)).equals(readFileSync(join(pro2, f))), f);
  }
});
