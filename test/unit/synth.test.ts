/**
 * The synthetic generator streamed to disk: determinism (seed, batch size), the requested counts,
 * MovieLens format that the readers accept, planted concepts that drive the kept ratings, and the same
 * reuse rule as datasets.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { csrRow } from '../../ts/csr.js';
import { prepareDataset } from '../../ts/data/prepare.js';
import { loadDataset } from '../../ts/data/store.js';
import { synthesize } from '../../ts/data/synth.js';
import { InvalidArgumentError } from '../../ts/errors.js';
import { tempDir } from '../helpers/tmp.js';

test('tiny preset: deterministic per seed and independent of the batch size, exact counts', async (t) => {
  const dir = tempDir(t);
  const a = await synthesize({ preset: 'tiny', seed: 1, out: join(dir, 'a'), batchUsers: 7 });
  const b = await synthesize({ preset: 'tiny', seed: 1, out: join(dir, 'b'), batchUsers: 300 });
  const c = await synthesize({ preset: 'tiny', seed: 2, out: join(dir, 'c') });
  t.is(c.summary.seed, 2);
  const read = (d: string, f: string) => readFileSync(join(dir, d, f));
  for (const f of ['ratings.csv', 'user_intentions.csv', 'item_concepts.csv', 'movies.csv']) {
    t.true(read('a', f).equals(read('b', f)), f);
  }
  t.false(read('a', 'ratings.csv').equals(read('c', 'ratings.csv')));
  t.deepEqual([a.summary.users, a.summary.items, a.summary.concepts, a.summary.ratings], [300, 200, 4, 9000]);
  const lines = read('a', 'ratings.csv').toString('utf8').trim().split('\n');
  t.is(lines[0], 'userId,movieId,rating,timestamp');
  t.is(lines.length, 9001);
  t.is(lines.slice(1).filter((l) => Number(l.split(',')[2]) > 3.5).length, a.summary.highRatings);
  t.is(read('a', 'item_concepts.csv').toString().trim().split('\n').length, 201);
  t.is(b.summary.ratings, 9000);
});

test('size overrides hit the requested totals', async (t) => {
  const dir = tempDir(t);
  const r = await synthesize({
    preset: 'ml-1m',
    users: 400,
    items: 500,
    ratings: 30_000,
    seed: 4,
    out: join(dir, 's'),
  });
  t.deepEqual([r.summary.users, r.summary.items, r.summary.ratings, r.summary.concepts], [400, 500, 30_000, 7]);
  await t.throwsAsync(synthesize({ preset: 'ml-1m', users: 10, items: 50, ratings: 10, out: join(dir, 'x') }), {
    message: /ratings must be in/,
  });
  await t.throwsAsync(synthesize({ preset: 'ml-3m', out: join(dir, 'y') }), {
    instanceOf: InvalidArgumentError,
    message: /'preset' passed to synthesize\(\) must be one of tiny, ml-1m, ml-20m, netflix/,
  });
});

test('the planted concepts drive the kept ratings of prepared synthetic data', async (t) => {
  const dir = tempDir(t);
  const syn = await synthesize({
    preset: 'ml-1m',
    users: 800,
    items: 600,
    ratings: 60_000,
    seed: 9,
    out: join(dir, 's'),
  });
  const prep = await prepareDataset({ input: syn.dir, out: join(dir, 'ds'), heldoutUsers: 50 });
  t.is(prep.manifest.metadata?.matched, prep.manifest.counts.items, 'movies.csv carries the concepts');
  const ds = await loadDataset(prep.dir);
  const intentions = new Map<string, Set<string>>();
  for (const line of readFileSync(join(syn.dir, 'user_intentions.csv'), 'utf8').trim().split('\n').slice(1)) {
    const [user, concepts] = line.split(',');
    intentions.set(user, new Set(concepts.split('|').map((c) => `concept${c}`)));
  }
  let inside = 0;
  let total = 0;
  for (let r = 0; r + 1 < ds.train.indptr.length; r++) {
    const want = intentions.get(ds.userIds[r])!;
    for (const i of csrRow(ds.train, r)) {
      total++;
      if (want.has(ds.itemGenres![i][0])) inside++;
    }
  }
  t.true(total > 20_000);
  t.true(inside / total > 0.9, `${inside} / ${total} positives inside the user's intentions`);
});

test('re-running reuses an identical request and refuses a different one unless forced', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 's');
  t.false((await synthesize({ preset: 'tiny', seed: 3, out })).reused);
  t.true((await synthesize({ preset: 'tiny', seed: 3, out })).reused);
  await t.throwsAsync(synthesize({ preset: 'tiny', seed: 4, out }), { message: /not the same synthetic dataset/ });
  const forced = await synthesize({ preset: 'tiny', seed: 4, out, force: true });
  t.false(forced.reused);
  t.is(forced.summary.seed, 4);
});
