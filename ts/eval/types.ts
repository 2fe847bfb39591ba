/**
 * Types of the batched evaluator (MultVAE strong-generalization protocol). Metric definitions:
 * `NDCG@k = DCG@k / IDCG@k`, `DCG@k = Σ_{r≤k} rel_r / log2(r + 1)`, IDCG over `min(|target|, k)` hits;
 * `Recall@k = hits@k / min(k, |target|)`; fold-in items are excluded from the ranking; users with an empty
 * target are counted and excluded; standard error = std (population, ddof 0) / √n.
 */
import type { Csr } from '../csr.js';

/** `{ mean, se }` of a metric over evaluated users. */
export interface MetricSummary {
  mean: number;
  se: number;
}

export interface EvalResult {
  /** Users evaluated (those with a non-empty target). */
  users: number;
  /** Users skipped because their target is empty. */
  skippedUsers: number;
  /** Keys like `ndcg@100`, `recall@20`, `recall@50`. */
  metrics: Record<string, MetricSummary>;
  /** Per-user values, when asked for (`evaluate(…, { perUser: true })`). */
  perUser?: PerUserMetrics;
}

/** Per held-out user (row order of the held-out CSR, skipped users included). */
export interface PerUserMetrics {
  /** The same keys as {@link EvalResult.metrics}; NaN for users with an empty target. */
  values: Record<string, Float64Array>;
  /** `hits@k` for every cutoff evaluated: target items among the first k ranked. */
  hits: Record<string, Uint32Array>;
  /** Distinct target items of each user; 0 marks a skipped user. */
  targetSize: Uint32Array;
}

/**
 * Scores a batch of held-out users from their fold-in rows (`foldIn`: batch users × items CSR) and
 * returns a `users × items` row-major Float32Array. The evaluator owns the returned block afterwards
 * (it may transfer it to a worker).
 */
export type BatchScorer = (foldIn: Csr) => Promise<Float32Array> | Float32Array;
