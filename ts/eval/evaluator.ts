/**
 * The batched evaluator of the MultVAE strong-generalization protocol: held-out users are streamed
 * through a {@link BatchScorer} in batches (each batch scored once), and the ranking metrics of each
 * batch are computed by the Rust/WASM kernel — on the calling thread, or on a {@link KernelPool}, in
 * which case the score block is transferred (moved, not copied) to a worker and the next batch is
 * scored while workers compute.
 *
 * The metrics are those of `ts/eval/types.ts` (NDCG@k with IDCG over `min(|target|, k)`,
 * `Recall@k = hits@k / min(k, |target|)`, fold-in items excluded, users with an empty target skipped).
 * Means and standard errors (population std / √n) are computed here from the per-user values, in
 * user order, after all batches are in: the same numbers, bit for bit, whatever the pool or batch size.
 */
import { type Csr, checkCsr, csrRows, csrSliceRows } from '../csr.js';
import type { HeldOut } from '../data/types.js';
import { InvalidArgumentError, MacridError } from '../errors.js';
import { kernels } from '../runtime/kernels.js';
import { checkInt } from '../validate.js';
import { checkKs, type RankingMetricsArgs, type RankingMetricsResult } from '../wasm/eval.js';
import type { KernelPool } from '../workers/pool.js';
import type { BatchScorer, EvalResult, MetricSummary, PerUserMetrics } from './types.js';

/** Default cutoffs: those of the paper's Table 1 (NDCG@100, Recall@20, Recall@50) and their siblings. */
export const DEFAULT_KS: readonly number[] = [20, 50, 100];
/** Default users per batch: the released MacridVAE/MultVAE code evaluates in batches of 500. */
export const DEFAULT_EVAL_BATCH = 500;

export interface EvaluateOptions {
  /** Cutoffs for both metrics unless `ndcgKs`/`recallKs` are given; default {@link DEFAULT_KS}. */
  ks?: readonly number[];
  /** Cutoffs of the reported `ndcg@k`; default `ks`. */
  ndcgKs?: readonly number[];
  /** Cutoffs of the reported `recall@k`; default `ks`. */
  recallKs?: readonly number[];
  /** Held-out users scored per batch (>= 1); default {@link DEFAULT_EVAL_BATCH}. */
  batchSize?: number;
  /** Compute the metrics on this pool (score blocks are transferred to its workers). */
  pool?: KernelPool;
  /** Also return the per-user values (default false). */
  perUser?: boolean;
  /** Called after each batch's metrics are in, with the users done so far and the total. */
  onProgress?: (usersDone: number, usersTotal: number) => void;
}

/** `{mean, se}` per metric (the manifest's and the epoch log's table). */
export type MetricTable = Record<string, MetricSummary>;

/** The `{mean, se}` table of an evaluation (the one conversion; the manifest and the epoch log store it). */
export function metricTable(r: EvalResult): MetricTable {
  const out: MetricTable = {};
  for (const [k, v] of Object.entries(r.metrics)) out[k] = { mean: v.mean, se: v.se };
  return out;
}

/** Re-throws `e` with the batch's rows in its message, keeping its class. */
function inBatch(e: unknown, lo: number, hi: number): unknown {
  if (!(e instanceof MacridError)) return e;
  const Ctor = e.constructor as new (message: string, options?: { cause?: unknown }) => MacridError;
  return new Ctor(`evaluate(): held-out rows ${lo}..${hi - 1}: ${e.message}`, { cause: e });
}

function summarize(values: Float64Array, nk: number, j: number, targetSize: Uint32Array): MetricSummary {
  let n = 0;
  let sum = 0;
  for (let u = 0; u < targetSize.length; u++) {
    if (targetSize[u] === 0) continue;
    sum += values[u * nk + j];
    n++;
  }
  if (n === 0) return { mean: Number.NaN, se: Number.NaN };
  const mean = sum / n;
  let ss = 0;
  for (let u = 0; u < targetSize.length; u++) {
    if (targetSize[u] === 0) continue;
    const d = values[u * nk + j] - mean;
    ss += d * d;
  }
  return { mean, se: Math.sqrt(ss / n) / Math.sqrt(n) };
}

function column(values: Float64Array, nk: number, j: number, users: number): Float64Array {
  const out = new Float64Array(users);
  for (let u = 0; u < users; u++) out[u] = values[u * nk + j];
  return out;
}

/**
 * Evaluates `scorer` on the held-out users `heldout` (row `r` of `foldIn` and `target` is one user).
 * Result keys: `ndcg@k` for each of `ndcgKs`, `recall@k` for each of `recallKs` (by default
 * `ndcg@20, ndcg@50, ndcg@100, recall@20, recall@50, recall@100`).
 */
export async function evaluate(
  scorer: BatchScorer,
  heldout: HeldOut,
  options: EvaluateOptions = {},
): Promise<EvalResult> {
  const fn = 'evaluate';
  if (typeof scorer !== 'function') throw new InvalidArgumentError(`'scorer' passed to ${fn}() must be a function`);
  if (typeof heldout !== 'object' || heldout === null) {
    throw new InvalidArgumentError(`'heldout' passed to ${fn}() must be {foldIn, target}`);
  }
  const foldIn: Csr = checkCsr(fn, 'heldout.foldIn', heldout.foldIn);
  const users = csrRows(foldIn);
  const items = foldIn.cols;
  const target: Csr = checkCsr(fn, 'heldout.target', heldout.target, users, items);
  const ks = checkKs(fn, 'ks', options.ks ?? DEFAULT_KS);
  const ndcgKs = checkKs(fn, 'ndcgKs', options.ndcgKs ?? ks);
  const recallKs = checkKs(fn, 'recallKs', options.recallKs ?? ks);
  const batchSize = checkInt(fn, 'batchSize', options.batchSize ?? DEFAULT_EVAL_BATCH, 1);
  const allKs = [...new Set([...ndcgKs, ...recallKs])].sort((a, b) => a - b);
  const nk = allKs.length;

  const ndcg = new Float64Array(users * nk);
  const recall = new Float64Array(users * nk);
  const hits = new Uint32Array(users * nk);
  const targetSize = new Uint32Array(users);
  let done = 0;
  const store = (lo: number, r: RankingMetricsResult): void => {
    ndcg.set(r.ndcg, lo * nk);
    recall.set(r.recall, lo * nk);
    hits.set(r.hits, lo * nk);
    targetSize.set(r.targetSize, lo);
    done += r.targetSize.length;
    options.onProgress?.(done, users);
  };

  const pool = options.pool;
  // Enough tasks in flight to keep every worker busy while the next batch is scored; each holds one
  // score block, so this also bounds memory.
  const maxInFlight = pool ? pool.threads + 1 : 0;
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;

  for (let lo = 0; lo < users; lo += batchSize) {
    const hi = Math.min(users, lo + batchSize);
    const batchFoldIn = csrSliceRows(foldIn, lo, hi);
    const scores = await scorer(batchFoldIn);
    if (!(scores instanceof Float32Array) || scores.length !== (hi - lo) * items) {
      const got = scores instanceof Float32Array ? `${scores.length} scores` : String(scores);
      throw new InvalidArgumentError(
        `${fn}(): the scorer must return a Float32Array of ${hi - lo} × ${items} = ${(hi - lo) * items} scores for held-out rows ${lo}..${hi - 1} but returned ${got}`,
      );
    }
    const args: RankingMetricsArgs = {
      scores,
      users: hi - lo,
      items,
      foldIn: batchFoldIn,
      target: csrSliceRows(target, lo, hi),
      ks: allKs,
    };
    if (!pool) {
      try {
        store(lo, kernels.rankingMetrics(args));
      } catch (e) {
        throw inBatch(e, lo, hi);
      }
      continue;
    }
    // The evaluator owns the block (BatchScorer contract): move it to the worker.
    const transfer = scores.buffer instanceof ArrayBuffer ? [scores.buffer] : [];
    const task: Promise<void> = pool.run('rankingMetrics', args, transfer).then(
      (r) => store(lo, r),
      (e) => {
        failure ??= inBatch(e, lo, hi);
      },
    );
    inFlight.add(task);
    void task.then(() => inFlight.delete(task));
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    if (failure !== undefined) throw failure;
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;

  const metrics: Record<string, MetricSummary> = {};
  const perUser: PerUserMetrics = { values: {}, hits: {}, targetSize };
  for (const k of ndcgKs) {
    const j = allKs.indexOf(k);
    metrics[`ndcg@${k}`] = summarize(ndcg, nk, j, targetSize);
    if (options.perUser) perUser.values[`ndcg@${k}`] = column(ndcg, nk, j, users);
  }
  for (const k of recallKs) {
    const j = allKs.indexOf(k);
    metrics[`recall@${k}`] = summarize(recall, nk, j, targetSize);
    if (options.perUser) perUser.values[`recall@${k}`] = column(recall, nk, j, users);
  }
  let skipped = 0;
  for (let u = 0; u < users; u++) if (targetSize[u] === 0) skipped++;
  const result: EvalResult = { users: users - skipped, skippedUsers: skipped, metrics };
  if (options.perUser) {
    allKs.forEach((k, j) => {
      const h = new Uint32Array(users);
      for (let u = 0; u < users; u++) h[u] = hits[u * nk + j];
      perUser.hits[`hits@${k}`] = h;
    });
    result.perUser = perUser;
  }
  return result;
}
