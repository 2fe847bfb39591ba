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

/** NDCG@k, Recall@k and hits@k for every `k` of `ks` and every user of the batch; one call per batch. */
export function rankingMetrics(inst: WasmInstance, args: RankingMetricsArgs): RankingMetricsResult {
  const fn = 'rankingMetrics';
  const users = checkInt(fn, 'users', args.users, 0);
  const items = checkInt(fn, 'items', args.items, 0);
  const ks = checkKs(fn, 'ks', args.ks);
  checkArray(fn, 'scores', args.scores, Float32Array, users * items);
  const fold = checkCsr(fn, 'foldIn', args.foldIn, users, items);
  const target = checkCsr(fn, 'target', args.target, users, items);
  const nk = ks.length;
  return inst.call(fn, (a, x) => {
    const pScores = a.input(args.scores);
    const pFp = a.input(fold.indptr);
    const pFi = a.input(fold.indices);
    const pTp = a.input(target.indptr);
    const pTi = a.input(target.indices);
    const pKs = a.input(Uint32Array.from(ks));
    const pNdcg = a.output(Float64Array, users * nk);
    const pRecall = a.output(Float64Array, users * nk);
    const pHits = a.output(Uint32Array, users * nk);
    const pSize = a.output(Uint32Array, users);
    inst.check(
      fn,
      x.mv_ranking_metrics(
        pScores,
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
    return {
      ks,
      ndcg: a.read(Float64Array, pNdcg, users * nk),
      recall: a.read(Float64Array, pRecall, users * nk),
      hits: a.read(Uint32Array, pHits, users * nk),
      targetSize: a.read(Uint32Array, pSize, users),
    };
  });
}
