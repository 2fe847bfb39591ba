/**
 * The MultVAE split: the oracle's MT19937 against numpy's golden values, then the WASM pipeline
 * (prepareDataset + exportReference) against the oracle on seeded random ratings, and the properties
 * of the seeded mode.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { csrRow } from '../../ts/csr.js';
import { prepareDataset } from '../../ts/data/prepare.js';
import { exportReference } from '../../ts/data/reference.js';
import { loadDataset } from '../../ts/data/store.js';
import { Mt19937, parseOracle, randomRatings, splitOracle, toMovieLensCsv } from '../helpers/data-oracle.js';
import { Rng } from '../helpers/random.js';
import { tempDir } from '../helpers/tmp.js';

interface Golden {
  seed: number;
  permutations: Array<{ n: number; head: number[] }>;
  choices: Array<{ n: number; size: number; idx: number[] }>;
}
const golden = JSON.parse(readFileSync('test/fixtures/reference-golden.json', 'utf8')) as Golden;

test('oracle MT19937: numpy RandomState(98765) permutations and choice(replace=False), successive draws', (t) => {
  const r = new Mt19937(golden.seed);
  for (const p of golden.permutations) t.deepEqual(r.permutation(p.n).slice(0, 20), p.head, `n = ${p.n}`);
  const c = new Mt19937(golden.seed);
  for (const ch of golden.choices) t.deepEqual(c.permutation(ch.n).slice(0, ch.size), ch.idx, `n = ${ch.n}`);
});

async function proSgOf(t: ExecutionContext, csv: string, options: Record<string, unknown>) {
  const dir = tempDir(t);
  const input = join(dir, 'ratings.csv');
  writeFileSync(input, csv);
  const r = await prepareDataset({ input, out: join(dir, 'ds'), ...options });
  await exportReference(r.dir, join(dir, 'pro'));
  const read = (f: string) => readFileSync(join(dir, 'pro', f), 'utf8');
  return {
    manifest: r.manifest,
    dir: r.dir,
    files: {
      uniqueSid: read('unique_sid.txt'),
      train: read('train.csv'),
      validationTr: read('validation_tr.csv'),
      validationTe: read('validation_te.csv'),
      testTr: read('test_tr.csv'),
      testTe: read('test_te.csv'),
    },
  };
}

test('reference split: WASM pipeline equals the oracle on seeded random ratings', async (t) => {
  const rng = new Rng(4242);
  let compared = 0;
  for (let trial = 0; trial < 40 && compared < 12; trial++) {
    const users = 20 + rng.int(200);
    const items = 5 + rng.int(300);
    const rows = randomRatings(rng, users, items, users * (5 + rng.int(30)), {
      duplicates: trial % 3 === 1,
      stringIds: trial % 4 === 3,
    });
    const minItemUsers = trial % 5 === 2 ? 3 : 0;
    const heldout = 1 + rng.int(8);
    const want = splitOracle(rows, { heldout, minItemUsers });
    if (want.users <= 2 * heldout) continue;
    const got = await proSgOf(t, toMovieLensCsv(rows), {
      heldoutUsers: heldout,
      minItemUsers,
      format: trial % 4 === 3 ? 'csv' : 'auto',
    });
    const { users: _u, items: _i, ...wantFiles } = want;
    t.deepEqual(got.files, wantFiles, `trial ${trial}`);
    t.is(got.manifest.counts.users, want.users);
    t.is(got.manifest.counts.items, want.items);
    compared++;
  }
  t.is(compared, 12, 'trials with enough users');
});

test('reference split: the oracle parses what the pipeline parses (:: and tab layouts, CRLF)', async (t) => {
  const rng = new Rng(7);
  const rows = randomRatings(rng, 60, 40, 1500);
  const dat = rows.map((r, k) => `${r.user}::${r.item}::${r.rating}::${k}\r\n`).join('');
  const tab = rows.map((r, k) => `${r.user}\t${r.item}\t${r.rating}\t${k}\n`).join('');
  const want = splitOracle(parseOracle(dat), { heldout: 5 });
  for (const text of [dat, tab]) {
    const got = await proSgOf(t, text, { heldoutUsers: 5 });
    t.is(got.files.train, want.train);
    t.is(got.files.testTe, want.testTe);
  }
});

test('seeded split: a partition with the protocol sizes, deterministic per seed', async (t) => {
  const rng = new Rng(99);
  const rows = randomRatings(rng, 300, 200, 9000);
  const csv = toMovieLensCsv(rows);
  const a = await proSgOf(t, csv, { split: 'seeded', seed: 5, heldoutUsers: 20 });
  const b = await proSgOf(t, csv, { split: 'seeded', seed: 5, heldoutUsers: 20 });
  const c = await proSgOf(t, csv, { split: 'seeded', seed: 6, heldoutUsers: 20 });
  t.deepEqual(a.files, b.files);
  t.notDeepEqual(a.files.testTe, c.files.testTe);
  const ref = await proSgOf(t, csv, { heldoutUsers: 20 });
  t.is(a.manifest.counts.users, ref.manifest.counts.users);
  t.is(a.manifest.counts.positives, ref.manifest.counts.positives);
  const ds = await loadDataset(a.dir);
  const n = ds.manifest.counts.users;
  t.is(ds.manifest.counts.trainUsers, n - 40);
  t.is(ds.train.indptr.length - 1, n - 40);
  const seen = new Set<number>();
  for (const [held, usersOf] of [
    [ds.validation, ds.validationUsers],
    [ds.test, ds.testUsers],
  ] as const) {
    for (let r = 0; r < usersOf.length; r++) {
      const u = usersOf[r];
      t.true(u >= n - 40 && u < n, 'held-out users are the last 2·n');
      t.false(seen.has(u));
      seen.add(u);
      const fold = csrRow(held.foldIn, r);
      const target = csrRow(held.target, r);
      const all = fold.length + target.length;
      t.is(target.length, Math.trunc(0.2 * all), `user ${u}`);
      const both = new Set([...fold, ...target]);
      t.is(both.size, all, 'fold-in and target are disjoint');
    }
  }
});
