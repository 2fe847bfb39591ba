/**
 * bench-eval: how fast the evaluation kernels are, for `npm run bench:eval` (issue 5).
 *
 * Why: evaluation (NDCG@100, Recall@20, Recall@50 over ~10,000 held-out users × ~20,000 items, every
 * epoch for model selection) is the CPU-bound step the Rust/WASM kernel and the worker pool exist for;
 * this measures what they buy over the obvious TypeScript (sort every row), and also the throughput of
 * batch construction and negative sampling.
 *
 * What: an ML-20M-shaped held-out split and score block from the seeded generator in
 * `scripts/ml20m-shaped.ts` (10,000 users × 20,108 items by default; the block lives in a
 * SharedArrayBuffer so it is generated once and read by every run). Metrics timed as users/second for
 * (a) the TS oracle that sorts each row (timed on a subset of users, then scaled), (b) one WASM
 * instance on the main thread, (c) the pool with all cores (each worker copies its batch into its own
 * WASM memory, as in the evaluator), plus `evaluate()` end to end on the pool with a scorer that hands
 * over a fresh copy of each batch. Then batch construction (dense and sparse, L2) and negative sampling
 * throughput, and the peak RSS of the process (workers included).
 *
 * Usage: npm run bench:eval [-- --json] [--users N] [--items N] [--oracle-users N] [--batch N] [--threads N]
 * With --json it prints one JSON object; `usersPerSecond` has the keys oracle, wasm1, pool.
 */
import { availableParallelism } from 'node:os';
import { rankingMetricsOracle } from '../test/helpers/oracle-kernels.js';
import { csrSliceRows } from '../ts/csr.js';
import { evaluate } from '../ts/eval/evaluator.js';
import { denseBatch, type RankingMetricsResult, rankingMetrics, sampleNegatives, sparseBatch } from '../ts/kernels.js';
import { KernelPool } from '../ts/workers/pool.js';
import { ML20M_ITEMS, shapedHeldOut, shapedScores } from './ml20m-shaped.js';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
}

const json = process.argv.includes('--json');
const USERS = option('users', 10_000);
const ITEMS = option('items', ML20M_ITEMS);
const ORACLE_USERS = Math.min(USERS, option('oracle-users', 200));
const BATCH = option('batch', 500);
const THREADS = option('threads', availableParallelism());
const KS = [20, 50, 100];
const SEED = 98765;
const log = (s: string) => {
  if (!json) console.log(s);
};
const seconds = (t0: number) => (performance.now() - t0) / 1000;

log(`bench:eval — ${USERS} users × ${ITEMS} items, batches of ${BATCH}, pool of ${THREADS} threads`);
let t0 = performance.now();
const heldout = shapedHeldOut(USERS, ITEMS, SEED);
const scores = new Float32Array(new SharedArrayBuffer(USERS * ITEMS * 4));
for (let lo = 0; lo < USERS; lo += BATCH) {
  const n = Math.min(BATCH, USERS - lo);
  shapedScores(heldout, lo, n, SEED, scores.subarray(lo * ITEMS, (lo + n) * ITEMS));
}
log(
  `data: ${heldout.foldIn.indices.length} fold-in + ${heldout.target.indices.length} target interactions, ` +
    `${((USERS * ITEMS * 4) / 2 ** 20).toFixed(0)} MiB of scores, generated in ${seconds(t0).toFixed(1)} s`,
);

const batches: Array<{ lo: number; hi: number }> = [];
for (let lo = 0; lo < USERS; lo += BATCH) batches.push({ lo, hi: Math.min(USERS, lo + BATCH) });
const argsOf = (lo: number, hi: number) => ({
  scores: scores.subarray(lo * ITEMS, hi * ITEMS),
  users: hi - lo,
  items: ITEMS,
  foldIn: csrSliceRows(heldout.foldIn, lo, hi),
  target: csrSliceRows(heldout.target, lo, hi),
  ks: KS,
});
const sliced = batches.map(({ lo, hi }) => argsOf(lo, hi));

// (a) the oracle, on the first ORACLE_USERS users
t0 = performance.now();
const oracle = rankingMetricsOracle(argsOf(0, ORACLE_USERS));
const oracleRate = ORACLE_USERS / seconds(t0);

// (b) one WASM instance on the main thread (one warm-up batch first)
rankingMetrics(sliced[0]);
t0 = performance.now();
const single: RankingMetricsResult[] = sliced.map((a) => rankingMetrics(a));
const wasm1Rate = USERS / seconds(t0);

// The copy alone: every kernel call (and every worker) first copies its batch's score block into its
// WASM instance's memory (WASM memory cannot alias the shared block). Timed as users/s of a plain copy
// of the same blocks into one reused buffer: the per-thread ceiling that no ranking kernel can pass.
const sink = new Float32Array(BATCH * ITEMS);
t0 = performance.now();
for (let rep = 0; rep < 3; rep++) for (const a of sliced) sink.set(a.scores);
const copyRate = (3 * USERS) / seconds(t0);

// (c) the pool: start every worker first, then time all batches
const pool = new KernelPool({ threads: THREADS });
await Promise.all(Array.from({ length: THREADS }, () => pool.run('rankingMetrics', sliced[0])));
t0 = performance.now();
const pooled = await Promise.all(sliced.map((a) => pool.run('rankingMetrics', a)));
const poolRate = USERS / seconds(t0);

// evaluate() end to end on the pool; the scorer copies each batch out of the shared block
let next = 0;
t0 = performance.now();
const evalResult = await evaluate(
  (foldIn) => {
    const n = foldIn.indptr.length - 1;
    const block = scores.slice(next * ITEMS, (next + n) * ITEMS);
    next += n;
    return block;
  },
  heldout,
  { ks: KS, batchSize: BATCH, pool },
);
const evaluateRate = USERS / seconds(t0);
await pool.close();

const same = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
  for (let i = 0; i < a.length; i++) {
    if (!(Number.isNaN(a[i]) && Number.isNaN(b[i])) && !(Math.abs(a[i] - b[i]) <= tol)) return false;
  }
  return a.length === b.length;
};
const identical = single.every((r, j) => same(r.ndcg, pooled[j].ndcg, 0) && same(r.recall, pooled[j].recall, 0));
const nk = KS.length;
const oracleAgrees =
  same(oracle.ndcg, single[0].ndcg.subarray(0, Math.min(BATCH, ORACLE_USERS) * nk), 1e-6) &&
  (ORACLE_USERS <= BATCH || same(oracle.ndcg.subarray(0, BATCH * nk), single[0].ndcg, 1e-6));

// batch construction: gather-free (contiguous slices), L2 rows, dense and sparse
t0 = performance.now();
let denseBytes = 0;
for (const { lo, hi } of batches)
  denseBytes += denseBatch({ rows: csrSliceRows(heldout.foldIn, lo, hi), normalize: 'l2' }).data.byteLength;
const denseRate = USERS / seconds(t0);
t0 = performance.now();
for (const { lo, hi } of batches) sparseBatch({ rows: csrSliceRows(heldout.foldIn, lo, hi), normalize: 'l2' });
const sparseRate = USERS / seconds(t0);

// negative sampling: per-user popularity^0.75 negatives excluding the user's items, and shared uniform ones
const S = 1000;
t0 = performance.now();
for (const { lo, hi } of batches) {
  sampleNegatives({
    positives: csrSliceRows(heldout.foldIn, lo, hi),
    items: ITEMS,
    popularity: heldout.popularity,
    alpha: 0.75,
    samples: S,
    excludePositives: true,
    seed: SEED,
    stream: lo,
  });
}
const samplingRate = (USERS * S) / seconds(t0);
t0 = performance.now();
for (const { lo, hi } of batches) {
  sampleNegatives({
    positives: csrSliceRows(heldout.foldIn, lo, hi),
    items: ITEMS,
    samples: 8 * S,
    shared: true,
    excludePositives: true,
    seed: SEED,
    stream: lo,
  });
}
const sharedRate = (batches.length * 8 * S) / seconds(t0);

const peakMiB = process.resourceUsage().maxRSS / 1024;
const r = (x: number) => Math.round(x);
const report = {
  users: USERS,
  items: ITEMS,
  batch: BATCH,
  threads: THREADS,
  oracleUsers: ORACLE_USERS,
  metrics: Object.keys(evalResult.metrics),
  usersPerSecond: { oracle: r(oracleRate), wasm1: r(wasm1Rate), pool: r(poolRate), copyOnly: r(copyRate) },
  // Time of one instance's kernel net of the copy (1/wasm1 − 1/copy), as users/s.
  kernelNetOfCopyUsersPerSecond: r(1 / (1 / wasm1Rate - 1 / copyRate)),
  ratios: {
    wasm1VsOracle: wasm1Rate / oracleRate,
    poolVsOracle: poolRate / oracleRate,
    poolVsWasm1: poolRate / wasm1Rate,
  },
  evaluatePoolUsersPerSecond: r(evaluateRate),
  identicalPoolAndSingle: identical,
  oracleAgrees,
  evaluation: Object.fromEntries(Object.entries(evalResult.metrics).map(([k, v]) => [k, { mean: v.mean, se: v.se }])),
  batchUsersPerSecond: { denseL2: r(denseRate), sparseL2: r(sparseRate) },
  denseMiBPerSecond: r((denseBytes / 2 ** 20) * (denseRate / USERS)),
  samplesPerSecond: { perUserPopularityExcluded: r(samplingRate), sharedUniformExcluded: r(sharedRate) },
  peakRssMiB: r(peakMiB),
};

if (json) {
  console.log(JSON.stringify(report));
} else {
  const f = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 0 });
  log('');
  log(`NDCG@100, Recall@20, Recall@50 from a score block (users/second)`);
  const rows: Array<[string, number, string]> = [
    [`oracle (TS, sorts each row; ${ORACLE_USERS} users, scaled)`, oracleRate, '1.0×'],
    ['WASM, one instance (main thread)', wasm1Rate, `${(wasm1Rate / oracleRate).toFixed(1)}×`],
    [
      `WASM, pool of ${THREADS} workers`,
      poolRate,
      `${(poolRate / oracleRate).toFixed(1)}×  (${(poolRate / wasm1Rate).toFixed(2)}× one instance)`,
    ],
    ['evaluate() on the pool, scorer copies blocks', evaluateRate, `${(evaluateRate / oracleRate).toFixed(1)}×`],
    ['copy of the score blocks only (one thread)', copyRate, 'the per-thread ceiling'],
    ['one instance net of its copy (1/wasm1 − 1/copy)', 1 / (1 / wasm1Rate - 1 / copyRate), 'selection + metrics'],
  ];
  for (const [label, rate, ratio] of rows) log(`  ${label.padEnd(48)}: ${f(rate).padStart(10)}   ${ratio}`);
  log(
    `  pool == single thread, bit for bit: ${identical ? 'yes' : 'NO'}; oracle agrees (1e-6): ${oracleAgrees ? 'yes' : 'NO'}`,
  );
  log(
    `  ${Object.entries(evalResult.metrics)
      .map(([k, v]) => `${k} ${v.mean.toFixed(4)} ± ${v.se.toFixed(4)}`)
      .join(', ')}`,
  );
  log('');
  log(
    `batch construction (L2 rows, ${BATCH} users per call): dense ${f(denseRate)} users/s (${f(report.denseMiBPerSecond)} MiB/s), sparse ${f(sparseRate)} users/s`,
  );
  log(
    `negative sampling: popularity^0.75, ${S} per user, positives excluded: ${f(samplingRate)} draws/s; shared uniform (8,000 per batch, union excluded): ${f(sharedRate)} draws/s`,
  );
  log(`peak RSS: ${f(peakMiB)} MiB`);
}
