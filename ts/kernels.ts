/**
 * The Rust/WASM kernels on the calling thread (one lazily created instance per thread). The same
 * operations run on the worker pool through `KernelPool.run(name, args)`.
 */
import * as batch from './wasm/batch.js';
import * as evaluation from './wasm/eval.js';
import * as ranking from './wasm/ranking.js';
import { threadInstance } from './wasm/raw.js';
import * as sampling from './wasm/sampling.js';
import * as stats from './wasm/stats.js';

export type { BatchArgs, DenseBatch, Normalization, SparseBatch } from './wasm/batch.js';
export type { RankingMetricsArgs, RankingMetricsResult } from './wasm/eval.js';
export type { TopKArgs, TopKResult } from './wasm/ranking.js';
export type { NegativeSamples, ProposalArgs, SampleNegativesArgs } from './wasm/sampling.js';
export type { CorrelationResult, IndependenceResult, VectorsArgs } from './wasm/stats.js';

/** Top-k items per user, skipping each user's excluded items; ties go to the lower item id. */
export function topk(args: ranking.TopKArgs): ranking.TopKResult {
  return ranking.topk(threadInstance(), args);
}

/**
 * NDCG@k, Recall@k and hits@k (MultVAE definitions) for several `k` per user of a batch, fold-in items
 * excluded; users with an empty target get NaN and `targetSize` 0. See `ts/wasm/eval.ts`.
 */
export function rankingMetrics(args: evaluation.RankingMetricsArgs): evaluation.RankingMetricsResult {
  return evaluation.rankingMetrics(threadInstance(), args);
}

/** The dense (binary or L2-normalized) input block of a batch of CSR rows. */
export function denseBatch(args: batch.BatchArgs): batch.DenseBatch {
  return batch.denseBatch(threadInstance(), args);
}

/** The sparse form (indices, offsets, segment ids, values) of a batch of CSR rows. */
export function sparseBatch(args: batch.BatchArgs): batch.SparseBatch {
  return batch.sparseBatch(threadInstance(), args);
}

/** Seeded negatives (uniform or popularity^alpha) with their log-probabilities for sampled softmax. */
export function sampleNegatives(args: sampling.SampleNegativesArgs): sampling.NegativeSamples {
  return sampling.sampleNegatives(threadInstance(), args);
}

/** `ln p(i)` of the negative-sampling proposal for every item. */
export function samplingLogProbs(args: sampling.ProposalArgs): Float32Array {
  return sampling.samplingLogProbs(threadInstance(), args);
}

/** Pearson correlations between the dimensions of `n` vectors (constant dimensions listed). */
export function correlationMatrix(args: stats.VectorsArgs): stats.CorrelationResult {
  return stats.correlationMatrix(threadInstance(), args);
}

/** The independence score `1 − 2/(d(d−1)) Σ_{i<j} |corr_ij|` of the dimensions of `n` vectors. */
export function independenceScore(args: stats.VectorsArgs): stats.IndependenceResult {
  return stats.independenceScore(threadInstance(), args);
}
