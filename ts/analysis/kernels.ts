/**
 * The analysis kernels on the calling thread: entries of the one kernel table (`ts/runtime/kernels.ts`)
 * bound to this thread. The same operations run on the worker pool as `KernelPool.run('assignConcepts'
 * | 'userConceptConfidence' | 'alignment' | 'columnStats' | 'tsne' | 'sphericalKmeans', args)`.
 * Correlations and the independence score: `correlationMatrix` and `independenceScore` (ts/kernels.ts).
 */
import { kernels } from '../runtime/kernels.js';

/** Concept assignment `c_i = softmax_k(cos(h_i, m_k)/τ)` of every item, its mode and confidence. */
export const assignConcepts = kernels.assignConcepts;

/** Each user's per-concept confidence `Σ_{i∈x_u} c_ik`. */
export const userConceptConfidence = kernels.userConceptConfidence;

/** NMI, ARI, matched accuracy and contingency table of two labelings. */
export const alignment = kernels.alignment;

/** Per-dimension mean, standard deviation, min and max. */
export const dimensionStats = kernels.columnStats;

/** Exact, seeded t-SNE to 2-D. */
export const tsne = kernels.tsne;

/** Spherical k-means of the rows' directions, seeded (k-means++ then Lloyd). */
export const sphericalKmeans = kernels.sphericalKmeans;
