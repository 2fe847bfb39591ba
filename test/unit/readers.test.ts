/**
 * Readers: MovieLens, Netflix Prize (generated files in both layouts), generic CSV, item metadata; chunk
 * boundaries; errors that name file, line and text; skipped-line counting.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { csrRow } from '../../ts/csr.js';
import { readItemMetadata } from '../../ts/data/metadata.js';
import { prepareDataset } from '../../ts/data/prepare.js';
import { readRatingsFiles } from '../../ts/data/read.js';
import { type Dataset, loadDataset } from '../../ts/data/store.js';
import { ParseError } from '../../ts/errors.js';
import { prepareSplit, RatingsReader, SynthGenerator } from '../../ts/wasm/data.js';
import { WasmInstance } from '../../ts/wasm/raw.js';
import { randomRatings, toMovieLensCsv, toNetflixCombined } from '../helpers/data-oracle.js';
import { Rng } from '../helpers/random.js';
import { tempDir } from '../helpers/tmp.js';

function rowsOf(reader: RatingsReader): string[] {
  const users = reader.ids('users');
  const items = reader.ids('items');
  const r = reader.rows();
  return Array.from(r.users, (u, t) => `${users[u]}/${items[r.items[t]]}`);
}

test('the reader gives the same rows whatever the chunk boundaries', (t) => {
  const rng = new Rng(1);
  const csv = Buffer.from(toMovieLensCsv(randomRatings(rng, 50, 80, 2000)).replace(/\n/g, '\r\n'));
  const generic = Buffer.from(`\ufeffitem;"user";score\n${'"a;1";u1;4\n"b ""x""";u2;5\nc;"u;3";1\n'.repeat(50)}`);
  const inst = new WasmInstance();
  for (const [data, opts] of [
    [csv, {}],
    [generic, { format: 'csv' as const, header: 'auto' as const }],
  ] as const) {
    const whole = new RatingsReader(inst, opts);
    whole.feed(data);
    whole.endFile();
    const want = rowsOf(whole);
    t.true(want.length > 0);
    whole.free();
    for (let trial = 0; trial < 20; trial++) {
      const r = new RatingsReader(inst, opts);
      let p = 0;
      while (p < data.length) {
        const n = 1 + rng.int(trial < 5 ? 7 : 500);
        r.feed(data.subarray(p, p + n));
        p += n;
      }
      r.endFile();
      t.deepEqual(rowsOf(r), want, `trial ${trial}`);
      r.free();
    }
  }
});

test('generic CSV: quoted ids, header names, BOM, implicit two-column data', async (t) => {
  const dir = tempDir(t);
  const input = join(dir, 'clicks.csv');
  writeFileSync(input, '\ufeffvisitorid,itemid\r\n"v,1",a\r\nv2,"b ""q"""\r\n"v,1","b ""q"""\r\nv2,a\r\n');
  const inst = new WasmInstance();
  const r = await readRatingsFiles(inst, [input]);
  t.deepEqual(rowsOf(r.reader), ['v,1/a', 'v2/b "q"', 'v,1/b "q"', 'v2/a']);
  t.is(r.stats.format, 'csv');
  t.true(r.stats.implicit);
  t.is(r.stats.headers, 1);
  r.reader.free();
  const named = await readRatingsFiles(inst, [input], { columns: { user: 'itemid', item: 'visitorid' } });
  t.deepEqual(rowsOf(named.reader).slice(0, 2), ['a/v,1', 'b "q"/v2']);
  named.reader.free();
});

test('a malformed line fails with file, line and text; --skip-invalid counts it', async (t) => {
  const dir = tempDir(t);
  const bad = join(dir, 'ratings.csv');
  const lines = ['userId,movieId,rating,timestamp'];
  for (let u = 1; u <= 12; u++) for (let i = 1; i <= 6; i++) lines.push(`${u},${i},5.0,1`);
  lines.splice(4, 0, '1,x,4,5');
  lines.splice(9, 0, '2,3,4');
  writeFileSync(bad, `${lines.join('\n')}\n`);
  const err = await t.throwsAsync(prepareDataset({ input: bad, out: join(dir, 'ds'), heldoutUsers: 1 }), {
    instanceOf: ParseError,
  });
  t.is(err?.message, `${bad}: line 5: item id 'x' is not a non-negative integer: '1,x,4,5'`);
  const ok = await prepareDataset({ input: bad, out: join(dir, 'ds'), heldoutUsers: 1, skipInvalid: true });
  const parse = ok.manifest.parse as {
    invalid: number;
    examples: Array<{ file: string; line: number; message: string }>;
  };
  t.is(parse.invalid, 2);
  t.deepEqual(
    parse.examples.map((e) => [e.file, e.line]),
    [
      [bad, 5],
      [bad, 10],
    ],
  );
  t.regex(parse.examples[1].message, /expected 4 fields separated by ',' but found 3: '2,3,4'/);
  t.is(ok.manifest.counts.users, 12);
});

test('an empty result after filtering, and a file without data, are clear errors', async (t) => {
  const dir = tempDir(t);
  const low = join(dir, 'low.csv');
  writeFileSync(low, 'userId,movieId,rating,timestamp\n1,1,3.5,0\n1,2,2.0,0\n2,1,4.0,0\n');
  const e = await t.throwsAsync(prepareDataset({ input: low, out: join(dir, 'a') }));
  t.regex(e?.message ?? '', /no users left after filtering: 1 rows kept by the rating filter.*\(min 5 items\)/);
  const empty = join(dir, 'empty.csv');
  writeFileSync(empty, 'userId,movieId,rating,timestamp\n\n');
  const e2 = await t.throwsAsync(prepareDataset({ input: empty, out: join(dir, 'b') }));
  t.regex(e2?.message ?? '', /empty\.csv: no data rows found/);
  const few = join(dir, 'few.csv');
  writeFileSync(few, Array.from({ length: 30 }, (_, k) => `${1 + (k % 6)},${k},5,0`).join('\n'));
  const e3 = await t.throwsAsync(prepareDataset({ input: few, out: join(dir, 'c'), heldoutUsers: 3 }));
  t.regex(e3?.message ?? '', /3 held-out users per split need more than 6 users, but only 6 remain/);
  for (const d of ['a', 'b', 'c']) t.false(existsSync(join(dir, d)), `no output for a failed run (${d})`);
  t.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith('.')),
    [],
    'no temporary directories left behind',
  );
});

/** Every (raw user, raw item) pair of the training matrix, and per held-out user the union of fold-in and target. */
function pairs(ds: Dataset) {
  const train = new Set<string>();
  for (let r = 0; r + 1 < ds.train.indptr.length; r++) {
    for (const i of csrRow(ds.train, r)) train.add(`${ds.userIds[r]}/${ds.itemIds[i]}`);
  }
  const held = new Set<string>();
  for (const [h, users] of [
    [ds.validation, ds.validationUsers],
    [ds.test, ds.testUsers],
  ] as const) {
    for (let r = 0; r < users.length; r++) {
      for (const i of [...csrRow(h.foldIn, r), ...csrRow(h.target, r)])
        held.add(`${ds.userIds[users[r]]}/${ds.itemIds[i]}`);
    }
  }
  return { train: [...train].sort(), held: [...held].sort() };
}

test('Netflix Prize: combined_data_*.txt and training_set/mv_*.txt read like the same ratings in MovieLens format', async (t) => {
  const dir = tempDir(t);
  const rng = new Rng(17);
  const rows = randomRatings(rng, 400, 150, 12000).map((r) => ({ ...r, rating: Math.max(1, Math.round(r.rating)) }));
  const ml = join(dir, 'ml');
  mkdirSync(ml);
  writeFileSync(join(ml, 'ratings.csv'), toMovieLensCsv(rows));
  const combined = join(dir, 'combined');
  mkdirSync(combined);
  const half = rows.filter((r) => Number(r.item) % 2 === 0);
  const rest = rows.filter((r) => Number(r.item) % 2 === 1);
  writeFileSync(join(combined, 'combined_data_1.txt'), toNetflixCombined(half));
  writeFileSync(join(combined, 'combined_data_2.txt'), toNetflixCombined(rest));
  const prize = join(dir, 'prize');
  mkdirSync(join(prize, 'training_set'), { recursive: true });
  const byMovie = new Map<string, typeof rows>();
  for (const r of rows) byMovie.set(r.item, [...(byMovie.get(r.item) ?? []), r]);
  for (const [item, rs] of byMovie) {
    writeFileSync(join(prize, 'training_set', `mv_${item.padStart(7, '0')}.txt`), toNetflixCombined(rs));
  }
  writeFileSync(
    join(prize, 'movie_titles.txt'),
    [...byMovie.keys()].map((m) => `${m},2001,Movie ${m}, the sequel`).join('\r\n'),
  );
  const opts = { split: 'seeded' as const, seed: 3, heldoutUsers: 20, chunkBytes: 4096 };
  const a = await prepareDataset({ input: ml, out: join(dir, 'a'), ...opts });
  const b = await prepareDataset({ input: combined, out: join(dir, 'b'), ...opts });
  const c = await prepareDataset({ input: prize, out: join(dir, 'c'), ...opts });
  t.is(b.manifest.source.format, 'netflix');
  t.is(c.manifest.source.files.length, byMovie.size);
  t.deepEqual(b.manifest.source.files, ['combined_data_1.txt', 'combined_data_2.txt']);
  for (const k of ['users', 'items', 'interactions', 'positives', 'trainUsers'] as const) {
    t.is(b.manifest.counts[k], a.manifest.counts[k], k);
    t.is(c.manifest.counts[k], a.manifest.counts[k], k);
  }
  const [pa, pb, pc] = await Promise.all([a, b, c].map(async (r) => pairs(await loadDataset(r.dir))));
  t.deepEqual(pb, pa);
  t.deepEqual(pc, pa);
  const dc = await loadDataset(c.dir);
  const some = dc.itemIds[0];
  t.is(dc.itemTitles?.[0], `Movie ${some}, the sequel (2001)`);
});

test('item metadata: Latin-1 movies.dat and u.item, a generic category file', (t) => {
  const dir = tempDir(t);
  const dat = join(dir, 'movies.dat');
  writeFileSync(dat, Buffer.from([...Buffer.from('5::Caf'), 0xe9, ...Buffer.from(' Society (1999)::Comedy|Drama\n')]));
  t.deepEqual(readItemMetadata(dat).get('5'), { title: 'Café Society (1999)', genres: ['Comedy', 'Drama'] });
  const item = join(dir, 'u.item');
  const flags = Array.from({ length: 19 }, (_, k) => (k === 8 || k === 18 ? 1 : 0)).join('|');
  writeFileSync(
    item,
    Buffer.concat([
      Buffer.from('7|Se'),
      Buffer.from([0xf1]),
      Buffer.from(`or (1996)|01-Jan-1996||http://x|${flags}\n`),
    ]),
  );
  t.deepEqual(readItemMetadata(item).get('7'), { title: 'Señor (1996)', genres: ['Drama', 'Western'] });
  const cats = join(dir, 'cats.tsv');
  writeFileSync(cats, 'item_id\tcategory\nA\tx|y\nB\tz\nA\tw\n');
  const m = readItemMetadata(cats, { format: 'categories' });
  t.deepEqual(m.get('A'), { title: '', genres: ['x', 'y', 'w'] });
  const broken = join(dir, 'movies.csv');
  writeFileSync(broken, 'movieId,title,genres\n1,"Toy Story,Animation\n');
  const e = t.throws(() => readItemMetadata(broken));
  t.is(e?.message, `${broken}: line 2: unterminated quoted field: '1,"Toy Story,Animation'`);
});

test('reader, split and generator objects free their WASM memory (memory flat over many runs)', (t) => {
  const inst = new WasmInstance();
  const data = Buffer.from(toMovieLensCsv(randomRatings(new Rng(3), 80, 60, 3000)));
  const once = () => {
    const r = new RatingsReader(inst, {});
    r.feed(data.subarray(0, 1000));
    r.feed(data.subarray(1000));
    r.endFile();
    r.stats();
    prepareSplit(inst, r, { heldoutUsers: 5 });
    r.free();
    const g = new SynthGenerator(inst, { preset: 'tiny', seed: 1 });
    while (g.next(100).ratings.length > 0);
    g.part('movies');
    g.free();
  };
  for (let i = 0; i < 20; i++) once();
  const before = inst.memoryBytes();
  for (let i = 0; i < 300; i++) once();
  t.is(inst.memoryBytes(), before);
});
