/**
 * The Rust/WASM kernels on the calling thread (one lazily created instance per thread): entries of the
 * one kernel table (`ts/runtime/kernels.ts`) bound to this thread. The same kernels run on the worker
 * pool as `KernelPool.run(name, args)`, or wherever a `Runtime` decides as `runtime.run(name, args)`.
 */
import { kernels } from './runtime/kernels.js';

export type { BatchArgs, DenseBatch, Normalization, SparseBatch } from './wasm/batch.js';
export type { RankingMetricsArgs, RankingMetricsResult } from './wasm/eval.js';
export type { TopKArgs, TopKResult } from './wasm/ranking.js';
export type { NegativeSamples, ProposalArgs, SampleNegativesArgs } from './wasm/sampling.js';
export type { CorrelationResult, IndependenceResult, VectorsArgs } from './wasm/stats.js';

/** Top-k items per user, skipping each user's excluded items; ties go to the lower item id. */
export const topk = kernels.topk;

/**
 * NDCG@k, Recall@k and hits@k (MultVAE definitions) for several `k` per user of a batch, fold-in items
 * excluded; users with an empty target get NaN and `targetSize` 0. See `ts/wasm/eval.ts`.
 */
export const rankingMetrics = kernels.rankingMetrics;

/** The dense (binary or L2-normalized) input block of a batch of CSR rows. */
export const denseBatch = kernels.denseBatch;

/** The sparse form (indices, offsets, segment ids, values) of a batch of CSR rows. */
export const sparseBatch = kernels.sparseBatch;

/** Seeded negatives (uniform or popularity^alpha) with their log-probabilities for sampled softmax. */
export const sampleNegatives = kernels.sampleNegatives;

/** `ln p(i)` of the negative-sampling proposal for every item. */
export const samplingLogProbs = kernels.samplingLogProbs;

/** Pearson correlations between the dimensions of `n` vectors (constant dimensions listed). */
export const correlationMatrix = kernels.correlationMatrix;

/** The independence score `1 − 2/(d(d−1)) Σ_{i<j} |corr_ij|` of the dimensions of `n` vectors. */
export const independenceScore = kernels.independenceScore;
