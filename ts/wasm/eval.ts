/**
 * Typed wrapper of the ranking-metrics kernel (`crates/macrid-core/src/metrics.rs`). Definitions, with
 * `T` the user's distinct target items, `t = |T|` and `rel_r = 1` when the item at rank `r` is in `T`:
 * `NDCG@k = DCG@k / IDCG@k`, `DCG@k = Σ_{r≤k} rel_r / log2(r+1)`, `IDCG@k` over `min(t, k)` hits;
 * `Recall@k = hits@k / min(k, t)` (MultVAE). Fold-in items are excluded from the ranking; ties go to the
 * lower item id; the best `max(ks)` items are selected once per user and every `k` read from that prefix.
 */
import { type Csr, checkCsr } from '../csr.js';
import { InvalidArgumentError } from '../errors.js';
import { checkArray, checkInt } from '../validate.js';
import type { WasmInstance } from './raw.js';

/** Largest accepted cutoff (the same bound as the core's `MAX_K`). */
export const MAX_K = 1 << 20;

export interface RankingMetricsArgs {
  /** `users × items` scores, row-major; no NaN among users with a non-empty target. */
  scores: Float32Array;
  users: number;
  items: number;
  /** Items each user already has (excluded from the ranking): `users` rows over `items` columns. */
  foldIn: Csr;
  /** Items each user should find: `users` rows over `items` columns. */
  target: Csr;
  /** Cutoffs, each an integer in `[1, 2^20]` (may exceed `items`); any order, at least one. */
  ks: readonly number[];
}

export interface RankingMetricsResult {
  /** The cutoffs, as given; column `j` of the per-user arrays is `ks[j]`. */
  ks: number[];
  /** `users × ks.length`: NDCG@ks[j] of user `u` at `[u * ks.length + j]`; NaN where the target is empty. */
  ndcg: Float64Array;
  /** `users × ks.length`: Recall@ks[j]; NaN where the target is empty. */
  recall: Float64Array;
  /** `users × ks.length`: target items among the first `ks[j]` ranked. */
  hits: Uint32Array;
  /** Distinct target items per user; 0 marks a user to skip. */
  targetSize: Uint32Array;
}

/** Checks a list of cutoffs, naming `name`; returns a copy as plain numbers. */
export function checkKs(fn: string, name: string, ks: unknown): number[] {
  if (!Array.isArray(ks) && !(ks instanceof Uint32Array)) {
    throw new InvalidArgumentError(`'${name}' passed to ${fn}() must be an array of cutoffs`);
  }
  if (ks.length === 0) throw new InvalidArgumentError(`'${name}' passed to ${fn}() must hold at least one cutoff`);
  return Array.from(ks as ArrayLike<number>, (k, j) => checkInt(fn, `${name}[${j}]`, k, 1, MAX_K));
}

/**
 * Bytes of scores ranked per kernel call: the batch's rows are copied into WASM memory a chunk at a
 * time, each chunk ranked while it is still in the L2 cache (one copy of a whole batch — 40 MB for 500
 * users × 20,108 items — is written to and read back from main memory; a chunk never leaves the cache).
 */
const CHUNK_BYTES = 192 * 1024;

/**
 * NDCG@k, Recall@k and hits@k for every `k` of `ks` and every user of the batch: the histories and
 * outputs copied once, the scores in chunks of rows (see {@link CHUNK_BYTES}), one kernel call each.
 */
export function rankingMetrics(inst: WasmInstance, args: RankingMetricsArgs): RankingMetricsResult {
  const fn = 'rankingMetrics';
  const users = checkInt(fn, 'users', args.users, 0);
  const items = checkInt(fn, 'items', args.items, 0);
  const ks = checkKs(fn, 'ks', args.ks);
  checkArray(fn, 'scores', args.scores, Float32Array, users * items);
  const fold = checkCsr(fn, 'foldIn', args.foldIn, users, items);
  const target = checkCsr(fn, 'target', args.target, users, items);
  const nk = ks.length;
  const chunk = Math.max(1, Math.floor(CHUNK_BYTES / Math.max(1, 4 * items)));
  const src = new Uint8Array(args.scores.buffer, args.scores.byteOffset, args.scores.byteLength);
  return inst.call(fn, (a, x) => {
    const pScores = a.alloc(Math.max(4, 4 * items * Math.min(chunk, users)));
    const pFp = a.input(fold.indptr);
    const pFi = a.input(fold.indices);
    const pTp = a.input(target.indptr);
    const pTi = a.input(target.indices);
    const pKs = a.input(Uint32Array.from(ks));
    const pNdcg = a.output(Float64Array, users * nk);
    const pRecall = a.output(Float64Array, users * nk);
    const pHits = a.output(Uint32Array, users * nk);
    const pSize = a.output(Uint32Array, users);
    for (let lo = 0; lo < users; lo += chunk) {
      const n = Math.min(chunk, users - lo);
      const bytes = 4 * items;
      // A fresh view each time: the kernel may grow (and so replace) the memory buffer.
      new Uint8Array(x.memory.buffer, pScores, n * bytes).set(src.subarray(lo * bytes, (lo + n) * bytes));
      inst.check(
        fn,
        x.mv_ranking_metrics(
          pScores,
          lo,
          n,
          users,
          items,
          pFp,
          pFi,
          fold.indices.length,
          pTp,
          pTi,
          target.indices.length,
          pKs,
          nk,
          pNdcg,
          pRecall,
          pHits,
          pSize,
        ),
      );
    }
    return {
      ks,
      ndcg: a.read(Float64Array, pNdcg, users * nk),
      recall: a.read(Float64Array, pRecall, users * nk),
      hits: a.read(Uint32Array, pHits, users * nk),
      targetSize: a.read(Uint32Array, pSize, users),
    };
  });
}
