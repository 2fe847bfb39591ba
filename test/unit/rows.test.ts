/**
 * prepareDataset from rows in memory (arrays, iterables, async iterables — a database cursor): the same
 * split as the same ratings in a file, the same options, reuse of identical rows, and errors that name
 * the row index and the field.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { prepareDataset } from '../../ts/data/prepare.js';
import type { RatingRow } from '../../ts/data/rows.js';
import { loadDataset } from '../../ts/data/store.js';
import { Rng } from '../helpers/random.js';
import { tempDir } from '../helpers/tmp.js';

function ratings(n = 3000): RatingRow[] {
  const rng = new Rng(5);
  return Array.from({ length: n }, () => ({
    user: 1 + rng.int(120),
    item: 1 + rng.int(200),
    rating: (1 + rng.int(10)) / 2,
    timestamp: 9e8 + rng.int(1e8),
  }));
}

function csv(rows: RatingRow[]): string {
  return `userId,movieId,rating,timestamp\n${rows.map((r) => `${r.user},${r.item},${r.rating},${r.timestamp}`).join('\n')}\n`;
}

async function* cursor<T>(rows: T[]): AsyncGenerator<T> {
  for (let i = 0; i < rows.length; i += 100) {
    await new Promise((r) => setImmediate(r));
    yield* rows.slice(i, i + 100);
  }
}

const split = (d: Awaited<ReturnType<typeof loadDataset>>) => ({
  items: d.items,
  train: [...d.train.indices],
  trainPtr: [...d.train.indptr],
  valTarget: [...d.validation.target.indices],
  testFoldIn: [...d.test.foldIn.indices],
  itemIds: readFileSync(join(d.dir, 'item_ids.txt'), 'utf8'),
  userIds: readFileSync(join(d.dir, 'user_ids.txt'), 'utf8'),
});

test('rows from an array, an iterable and an async cursor give the split of the same ratings in a file', async (t) => {
  const dir = tempDir(t);
  const rows = ratings();
  const file = join(dir, 'ratings.csv');
  writeFileSync(file, csv(rows));
  const opts = { heldoutUsers: 10, minUserItems: 3, minRating: 3 } as const;
  const fromFile = await prepareDataset({ input: file, out: join(dir, 'file'), items: false, ...opts });
  const fromArray = await prepareDataset({ rows, out: join(dir, 'array'), ...opts });
  const fromCursor = await prepareDataset({ rows: cursor(rows), out: join(dir, 'cursor'), ...opts });
  const fromIter = await prepareDataset({ rows: new Set(rows), out: join(dir, 'iter'), ...opts });
  const expected = split(await loadDataset(fromFile.dir));
  for (const r of [fromArray, fromCursor, fromIter]) {
    t.deepEqual(split(await loadDataset(r.dir)), expected);
    t.is(r.manifest.source.format, 'rows');
  }
  t.deepEqual(fromArray.manifest.counts, fromFile.manifest.counts);
  // The same rows again: reused; other rows: refused, naming what differs.
  const again = await prepareDataset({ rows: cursor(rows), out: join(dir, 'array'), ...opts });
  t.true(again.reused);
  await t.throwsAsync(prepareDataset({ rows: rows.slice(1), out: join(dir, 'array'), ...opts }), {
    message: /was prepared from a different source/,
  });
  await t.throwsAsync(prepareDataset({ rows, out: join(dir, 'array'), ...opts, minRating: 2 }), {
    message: /different options \(minRating: 3 → 2\)/,
  });
});

test('implicit rows (no rating anywhere) keep every interaction; Date timestamps are accepted', async (t) => {
  const dir = tempDir(t);
  const rows = ratings(2000).map(({ user, item }, i) => ({ user, item, timestamp: new Date(1e12 + i * 1000) }));
  const r = await prepareDataset({ rows, out: join(dir, 'ds'), heldoutUsers: 5, minUserItems: 2 });
  t.is(r.manifest.parse.kept, 2000);
  t.true(r.manifest.counts.interactions > 0);
});

test('bad rows are named by index and field; skipInvalid counts them instead', async (t) => {
  const dir = tempDir(t);
  const good = ratings(400);
  const cases: Array<[unknown, RegExp]> = [
    [
      { user: '', item: 1, rating: 4 },
      /rows\[7\]\.user must be a non-empty string without tabs or line breaks, or a finite number, but got ''/,
    ],
    [{ user: 'a\tb', item: 1, rating: 4 }, /rows\[7\]\.user must be/],
    [{ user: 'u', item: Number.NaN, rating: 4 }, /rows\[7\]\.item must be .* but got null/],
    [{ user: 'u', item: 1, rating: 'x' }, /rows\[7\]\.rating must be a finite number but got 'x'/],
    [{ user: 'u', item: 1 }, /rows\[7\]\.rating is missing but rows\[0\] has one/],
    [
      { user: 'u', item: 1, rating: 4, timestamp: 'now' },
      /rows\[7\]\.timestamp must be a finite number or a Date but got 'now'/,
    ],
    [null, /rows\[7\] must be an object \{ user, item, rating\?, timestamp\? \} but got null/],
  ];
  for (const [bad, message] of cases) {
    const rows = [...good] as unknown[];
    rows[7] = bad;
    await t.throwsAsync(
      prepareDataset({ rows: rows as RatingRow[], out: join(dir, 'x') }),
      { message },
      String(message),
    );
  }
  const rows = [...good] as unknown[];
  rows[7] = { user: 'u', item: 1, rating: 'x', timestamp: 1 };
  rows[9] = null;
  const r = await prepareDataset({
    rows: rows as RatingRow[],
    out: join(dir, 'ok'),
    skipInvalid: true,
    heldoutUsers: 5,
    minRating: 0,
    minUserItems: 1,
  });
  const parse = r.manifest.parse as { invalid: number; examples: Array<{ line: number; message: string }> };
  t.is(parse.invalid, 2);
  t.deepEqual(
    parse.examples.map((e) => e.line),
    [7, 9],
  );
  await t.throwsAsync(prepareDataset({ rows: good, format: 'csv', out: join(dir, 'y') }), {
    message: /'format' passed to prepareDataset\(\) does not apply to 'rows'/,
  });
  await t.throwsAsync(prepareDataset({ rows: good, input: 'x.csv', out: join(dir, 'y') }), {
    message: /'input' and 'rows' passed to prepareDataset\(\) exclude each other/,
  });
  await t.throwsAsync(prepareDataset({ rows: 42 as unknown as RatingRow[], out: join(dir, 'y') }), {
    message: /'rows' passed to prepareDataset\(\) must be an array or an \(async\) iterable/,
  });
});
