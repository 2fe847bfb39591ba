import test from 'ava';
import { csrFromRows } from '../../ts/csr.js';
import { InvalidArgumentError, OutOfRangeError } from '../../ts/errors.js';
import type { RankingMetricsArgs, RankingMetricsResult } from '../../ts/kernels.js';
import { closeTestPool } from '../helpers/implementations.js';
import { KERNEL_IMPLS } from '../helpers/kernel-impls.js';
import { rankingMetricsOracle } from '../helpers/oracle-kernels.js';
import { Rng, randomCsr, randomScores } from '../helpers/random.js';

test.after.always(closeTestPool);

/** Equal within `tol`, NaN matching NaN. */
function near(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6): string | undefined {
  if (a.length !== b.length) return `length ${a.length} != ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    if (!(Math.abs(a[i] - b[i]) <= tol)) return `[${i}]: ${a[i]} != ${b[i]}`;
  }
  return undefined;
}

function sameMetrics(got: RankingMetricsResult, want: RankingMetricsResult): string | undefined {
  return (
    near(got.ndcg, want.ndcg) ??
    near(got.recall, want.recall) ??
    (String(got.hits) !== String(want.hits) ? `hits ${got.hits} != ${want.hits}` : undefined) ??
    (String(got.targetSize) !== String(want.targetSize) ? 'targetSize differs' : undefined)
  );
}

const d = (r: number) => 1 / Math.log2(r + 1); // discount of 1-based rank r

for (const impl of KERNEL_IMPLS) {
  test(`${impl.name}: hand-computed NDCG/Recall with a fold-in exclusion`, async (t) => {
    // scores rank items 5,4,3,2,1,0; item 4 is fold-in → ranking 5,3,2,1,0; target {3,0} at ranks 2 and 5
    const r = await impl.rankingMetrics({
      scores: new Float32Array([0, 0.1, 0.2, 0.3, 0.4, 0.5]),
      users: 1,
      items: 6,
      foldIn: csrFromRows([[4]], 6),
      target: csrFromRows([[3, 0]], 6),
      ks: [1, 2, 5, 10],
    });
    const idcg = 1 + d(2); // two target items: IDCG@k>=2 = 1 + 1/log2(3) ≈ 1.6309
    const want = [0, d(2) / idcg, (d(2) + d(5)) / idcg, (d(2) + d(5)) / idcg]; // ≈ 0, 0.3869, 0.6241, 0.6241
    t.is(near(r.ndcg, want, 1e-12), undefined);
    t.is(near(r.recall, [0, 0.5, 1, 1], 1e-12), undefined); // hits / min(k, 2)
    t.deepEqual([...r.hits], [0, 1, 2, 2]);
    t.deepEqual([...r.targetSize], [2]);
    t.deepEqual(r.ks, [1, 2, 5, 10]);
  });

  test(`${impl.name}: recall denominator min(k, |target|) and a perfect ranking`, async (t) => {
    // 3 target items ranked first: NDCG@1 = NDCG@5 = 1, Recall@1 = 1/1, Recall@5 = 3/3
    const r = await impl.rankingMetrics({
      scores: new Float32Array([0.9, 0.8, 0.7, 0.1, 0.2]),
      users: 1,
      items: 5,
      foldIn: csrFromRows([[]], 5),
      target: csrFromRows([[2, 0, 1]], 5),
      ks: [5, 1],
    });
    t.is(near(r.ndcg, [1, 1], 1e-12), undefined);
    t.is(near(r.recall, [1, 1], 1e-12), undefined);
    t.deepEqual([...r.hits], [3, 1]);
  });

  test(`${impl.name}: ties go to the lower item id`, async (t) => {
    // all scores equal: ranking 0,1,2,3; target {1} at rank 2
    const r = await impl.rankingMetrics({
      scores: new Float32Array(4).fill(0.25),
      users: 1,
      items: 4,
      foldIn: csrFromRows([[]], 4),
      target: csrFromRows([[1]], 4),
      ks: [1, 2],
    });
    t.deepEqual([...r.hits], [0, 1]);
    t.is(near(r.ndcg, [0, d(2)], 1e-12), undefined);
  });

  test(`${impl.name}: edge cases (empty target, all items seen, k > candidates, empty rows, no users)`, async (t) => {
    const r = await impl.rankingMetrics({
      scores: new Float32Array([0.1, 0.2, 0.3, 0.3, 0.2, 0.1, 0.5, 0.5, 0.5]),
      users: 3,
      items: 3,
      // user 0: empty target; user 1: every item seen; user 2: nothing seen, 3 candidates < k = 10
      foldIn: csrFromRows([[], [0, 1, 2], []], 3),
      target: csrFromRows([[], [1], [2]], 3),
      ks: [10],
    });
    t.deepEqual([...r.targetSize], [0, 1, 1]);
    t.true(Number.isNaN(r.ndcg[0]) && Number.isNaN(r.recall[0]));
    t.is(r.hits[0], 0);
    t.is(near([r.ndcg[1], r.recall[1], r.hits[1]], [0, 0, 0]), undefined);
    // user 2: ranking 0,1,2 (tie) → item 2 at rank 3; IDCG over min(1, 10) = 1 hit
    t.is(near([r.ndcg[2], r.recall[2]], [d(3), 1], 1e-12), undefined);
    const empty = await impl.rankingMetrics({
      scores: new Float32Array(0),
      users: 0,
      items: 0,
      foldIn: csrFromRows([], 0),
      target: csrFromRows([], 0),
      ks: [20],
    });
    t.is(empty.ndcg.length, 0);
  });

  // the oracle is checked by the hand-computed cases above; the rest compares against it
  if (impl.name === 'oracle') continue;

  test(`${impl.name}: matches the oracle on seeded random inputs`, async (t) => {
    const rng = new Rng(5_2026);
    for (let trial = 0; trial < 40; trial++) {
      const users = rng.int(7);
      const items = 1 + rng.int(250);
      const ks = Array.from({ length: 1 + rng.int(4) }, () => 1 + rng.int(150));
      const args: RankingMetricsArgs = {
        scores: randomScores(rng, users, items, 1 + rng.int(30)),
        users,
        items,
        foldIn: randomCsr(rng, users, items, rng.next() * 0.7),
        target: randomCsr(rng, users, items, rng.next() * 0.2),
        ks,
      };
      t.is(sameMetrics(await impl.rankingMetrics(args), rankingMetricsOracle(args)), undefined, `trial ${trial}`);
    }
  });

  test(`${impl.name}: a batch ranked in several chunks of rows equals the oracle; errors name the batch's row`, async (t) => {
    // 20,000 items: the WASM wrapper copies 2 rows per chunk (192 KiB), so 7 users take 4 calls.
    const rng = new Rng(77);
    const [users, items] = [7, 20_000];
    const args: RankingMetricsArgs = {
      scores: randomScores(rng, users, items),
      users,
      items,
      foldIn: randomCsr(rng, users, items, 0.01),
      target: randomCsr(rng, users, items, 0.002),
      ks: [20, 100],
    };
    t.is(sameMetrics(await impl.rankingMetrics(args), rankingMetricsOracle(args)), undefined);
    const scores = args.scores.slice();
    scores[5 * items + 123] = Number.NaN;
    const nan = await t.throwsAsync(impl.rankingMetrics({ ...args, scores }), { instanceOf: InvalidArgumentError });
    t.regex(nan.message, /'scores' contains NaN at user row 5, item 123/);
    const indices = args.target.indices.slice();
    const at = args.target.indptr[6];
    indices[at] = items + 3;
    const range = await t.throwsAsync(impl.rankingMetrics({ ...args, target: { ...args.target, indices } }), {
      instanceOf: OutOfRangeError,
    });
    t.regex(range.message, new RegExp(`'target.indices\\[${at}\\]' = ${items + 3} \\(row 6\\)`));
  });

  test(`${impl.name}: bad input is named`, async (t) => {
    const base: RankingMetricsArgs = {
      scores: new Float32Array([0.5, Number.NaN]),
      users: 1,
      items: 2,
      foldIn: csrFromRows([[]], 2),
      target: csrFromRows([[0]], 2),
      ks: [1],
    };
    const nan = await t.throwsAsync(impl.rankingMetrics(base), { instanceOf: InvalidArgumentError });
    t.regex(nan.message, /rankingMetrics: 'scores' contains NaN at user row 0, item 1/);
    const ok = { ...base, scores: new Float32Array([0.5, 0.1]) };
    const k0 = await t.throwsAsync(impl.rankingMetrics({ ...ok, ks: [5, 0] }), { instanceOf: InvalidArgumentError });
    t.regex(k0.message, /'ks\[1\]' passed to rankingMetrics\(\) must be >= 1 but got 0/);
    const range = await t.throwsAsync(
      impl.rankingMetrics({ ...ok, target: { ...ok.target, indices: Uint32Array.of(7) } }),
      {
        instanceOf: OutOfRangeError,
      },
    );
    t.regex(range.message, /'target.indices\[0\]' = 7 \(row 0\) is out of range for 2 columns/);
    await t.throwsAsync(impl.rankingMetrics({ ...ok, scores: new Float32Array(3) }), {
      message: /'scores' passed to rankingMetrics\(\) must have 2 elements but has 3/,
    });
  });
}
