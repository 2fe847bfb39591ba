/**
 * The analysis kernels on the calling thread (one lazily created WASM instance per thread). The same
 * operations run on the worker pool as `KernelPool.run('assignConcepts' | 'userConceptConfidence' |
 * 'alignment' | 'columnStats' | 'tsne' | 'sphericalKmeans', args)`. Correlations and the independence score:
 * `correlationMatrix` and `independenceScore` (ts/kernels.ts).
 */
import * as wa from '../wasm/analysis.js';
import { threadInstance } from '../wasm/raw.js';

/** Concept assignment `c_i = softmax_k(cos(h_i, m_k)/τ)` of every item, its mode and confidence. */
export function assignConcepts(args: wa.AssignConceptsArgs): wa.ConceptAssignment {
  return wa.assignConcepts(threadInstance(), args);
}

/** Each user's per-concept confidence `Σ_{i∈x_u} c_ik`. */
export function userConceptConfidence(args: wa.UserConceptConfidenceArgs): Float32Array {
  return wa.userConceptConfidence(threadInstance(), args);
}

/** NMI, ARI, matched accuracy and contingency table of two labelings. */
export function alignment(args: wa.AlignmentArgs): wa.Alignment {
  return wa.alignment(threadInstance(), args);
}

/** Per-dimension mean, standard deviation, min and max. */
export function dimensionStats(args: wa.MatrixArgs): wa.ColumnStats {
  return wa.columnStats(threadInstance(), args);
}

/** Exact, seeded t-SNE to 2-D. */
export function tsne(args: wa.TsneArgs): wa.TsneResult {
  return wa.tsne(threadInstance(), args);
}

/** Spherical k-means of the rows' directions, seeded (k-means++ then Lloyd). */
export function sphericalKmeans(args: wa.KmeansArgs): wa.KmeansResult {
  return wa.sphericalKmeans(threadInstance(), args);
}
