import test from 'ava';
import { csrFromRows, csrRows } from '../../ts/csr.js';
import type { HeldOut } from '../../ts/data/types.js';
import { InvalidArgumentError } from '../../ts/errors.js';
import { evaluate } from '../../ts/eval/evaluator.js';
import type { BatchScorer, EvalResult } from '../../ts/eval/types.js';
import { closeTestPool, testPool } from '../helpers/implementations.js';
import { rankingMetricsOracle, summaryOracle } from '../helpers/oracle-kernels.js';
import { Rng, randomCsr, randomScores } from '../helpers/random.js';

test.after.always(closeTestPool);

interface Fixture {
  heldout: HeldOut;
  scores: Float32Array;
  items: number;
}

function fixture(seed: number, users: number, items: number): Fixture {
  const rng = new Rng(seed);
  return {
    heldout: { foldIn: randomCsr(rng, users, items, 0.2), target: randomCsr(rng, users, items, 0.05) },
    scores: randomScores(rng, users, items, 50),
    items,
  };
}

/** A scorer serving the fixture's rows in order, each batch as a fresh block; records the blocks. */
function scorerOf(f: Fixture, blocks: Float32Array[] = []): BatchScorer {
  let next = 0;
  return (foldIn) => {
    const n = csrRows(foldIn);
    const block = f.scores.slice(next * f.items, (next + n) * f.items);
    next += n;
    blocks.push(block);
    return block;
  };
}

/** Bit-for-bit equality of two results (NaN equals NaN). */
function identical(a: EvalResult, b: EvalResult): string | undefined {
  const ja = JSON.stringify(a, (_k, v) => (typeof v === 'number' ? (Object.is(v, Number.NaN) ? 'NaN' : v) : v));
  const jb = JSON.stringify(b, (_k, v) => (typeof v === 'number' ? (Object.is(v, Number.NaN) ? 'NaN' : v) : v));
  const perUser = (r: EvalResult) =>
    r.perUser
      ? JSON.stringify({
          values: Object.fromEntries(Object.entries(r.perUser.values).map(([k, v]) => [k, Array.from(v, String)])),
          hits: Object.fromEntries(Object.entries(r.perUser.hits).map(([k, v]) => [k, Array.from(v)])),
          size: Array.from(r.perUser.targetSize),
        })
      : '';
  if (ja !== jb) return `summaries differ:\n${ja}\n${jb}`;
  if (perUser(a) !== perUser(b)) return 'per-user values differ';
  return undefined;
}

test('pool and single-thread runs give identical numbers, whatever the batch size', async (t) => {
  const f = fixture(77, 203, 180);
  const single = await evaluate(scorerOf(f), f.heldout, { batchSize: 50, perUser: true });
  const pooled = await evaluate(scorerOf(f), f.heldout, { batchSize: 50, perUser: true, pool: testPool() });
  const pooledOdd = await evaluate(scorerOf(f), f.heldout, { batchSize: 17, perUser: true, pool: testPool() });
  const oneBatch = await evaluate(scorerOf(f), f.heldout, { batchSize: 1000, perUser: true });
  t.is(identical(single, pooled), undefined);
  t.is(identical(single, pooledOdd), undefined);
  t.is(identical(single, oneBatch), undefined);
});

test('matches the oracle: per-user values and mean ± standard error over users with a target', async (t) => {
  const f = fixture(78, 120, 90);
  const r = await evaluate(scorerOf(f), f.heldout, { batchSize: 25, perUser: true, pool: testPool() });
  const users = 120;
  const ks = [20, 50, 100];
  const o = rankingMetricsOracle({ ...f.heldout, scores: f.scores, users, items: f.items, ks });
  t.deepEqual(Object.keys(r.metrics).sort(), [
    'ndcg@100',
    'ndcg@20',
    'ndcg@50',
    'recall@100',
    'recall@20',
    'recall@50',
  ]);
  const skipped = o.targetSize.filter((s) => s === 0).length;
  t.true(skipped > 0, 'the fixture should have users with an empty target');
  t.is(r.skippedUsers, skipped);
  t.is(r.users, users - skipped);
  ks.forEach((k, j) => {
    for (const [name, all] of [
      ['ndcg', o.ndcg],
      ['recall', o.recall],
    ] as const) {
      const col = Array.from({ length: users }, (_, u) => all[u * ks.length + j]);
      const want = summaryOracle(col, o.targetSize);
      const got = r.metrics[`${name}@${k}`];
      t.true(Math.abs(got.mean - want.mean) < 1e-9 && Math.abs(got.se - want.se) < 1e-9, `${name}@${k}`);
      const per = r.perUser!.values[`${name}@${k}`];
      for (let u = 0; u < users; u++) {
        const w = col[u];
        t.true(Number.isNaN(w) ? Number.isNaN(per[u]) : Math.abs(per[u] - w) < 1e-6, `${name}@${k} user ${u}`);
      }
    }
    t.deepEqual(
      Array.from(r.perUser!.hits[`hits@${k}`]),
      Array.from({ length: users }, (_, u) => o.hits[u * ks.length + j]),
    );
  });
});

test('ndcgKs / recallKs choose the reported keys', async (t) => {
  const f = fixture(79, 30, 40);
  const r = await evaluate(scorerOf(f), f.heldout, { ndcgKs: [100], recallKs: [20, 50] });
  t.deepEqual(Object.keys(r.metrics), ['ndcg@100', 'recall@20', 'recall@50']);
  t.is(r.perUser, undefined);
});

test('with a pool the score blocks are transferred, and the next batch is scored before the last one is done', async (t) => {
  const f = fixture(80, 60, 50);
  const blocks: Float32Array[] = [];
  const events: string[] = [];
  const inner = scorerOf(f, blocks);
  const scorer: BatchScorer = (foldIn) => {
    events.push(`score ${blocks.length}`);
    return inner(foldIn);
  };
  await evaluate(scorer, f.heldout, {
    batchSize: 20,
    pool: testPool(),
    onProgress: (done) => events.push(`done ${done}`),
  });
  t.is(blocks.length, 3);
  for (const b of blocks) t.is(b.buffer.byteLength, 0, 'a block was cloned, not moved');
  t.true(events.indexOf('score 1') < events.indexOf('done 20'), events.join(', '));
  t.is(events.at(-1), 'done 60');
});

test('edge cases: no held-out users, every target empty', async (t) => {
  const none = await evaluate(() => new Float32Array(0), { foldIn: csrFromRows([], 5), target: csrFromRows([], 5) });
  t.is(none.users, 0);
  t.true(Number.isNaN(none.metrics['ndcg@100'].mean));
  const empty = await evaluate(() => new Float32Array(10), {
    foldIn: csrFromRows([[1], []], 5),
    target: csrFromRows([[], []], 5),
  });
  t.is(empty.skippedUsers, 2);
  t.is(empty.users, 0);
});

test('errors name the argument or the held-out rows', async (t) => {
  const f = fixture(81, 10, 8);
  await t.throwsAsync(evaluate(scorerOf(f), f.heldout, { batchSize: 0 }), {
    instanceOf: InvalidArgumentError,
    message: /'batchSize' passed to evaluate\(\) must be >= 1/,
  });
  await t.throwsAsync(evaluate(scorerOf(f), f.heldout, { ks: [] }), { message: /'ks' .* at least one cutoff/ });
  await t.throwsAsync(evaluate(scorerOf(f), { foldIn: f.heldout.foldIn, target: csrFromRows([[1]], 8) }), {
    message: /'heldout.target.indptr' passed to evaluate\(\) must have 11 elements/,
  });
  await t.throwsAsync(
    evaluate(() => new Float32Array(3), f.heldout, { batchSize: 4 }),
    {
      instanceOf: InvalidArgumentError,
      message: /Float32Array of 4 × 8 = 32 scores for held-out rows 0..3 but returned 3 scores/,
    },
  );
  let calls = 0;
  const nanScorer: BatchScorer = (foldIn) => {
    const s = new Float32Array(csrRows(foldIn) * 8);
    if (calls++ === 1) s.fill(Number.NaN);
    return s;
  };
  const targets = {
    foldIn: csrFromRows(
      Array.from({ length: 10 }, () => []),
      8,
    ),
    target: csrFromRows(
      Array.from({ length: 10 }, () => [0]),
      8,
    ),
  };
  for (const pool of [undefined, testPool()]) {
    calls = 0;
    await t.throwsAsync(evaluate(nanScorer, targets, { batchSize: 4, pool }), {
      instanceOf: InvalidArgumentError,
      message: /evaluate\(\): held-out rows 4..7: rankingMetrics: 'scores' contains NaN at user row 0, item 0/,
    });
  }
});
