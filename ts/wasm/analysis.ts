/**
 * Typed wrappers of the analysis kernels (`crates/macrid-core/src/{analysis,tsne}.rs`): concept
 * assignment, users' per-concept confidence, alignment with known categories, per-dimension
 * statistics, t-SNE, spherical k-means. (Correlations and the independence score: `stats.ts`.) Arguments are validated here, at the edge.
 */
import { type Csr, checkCsr } from '../csr.js';
import { InvalidArgumentError } from '../errors.js';
import { checkArray, checkInt, checkNumber } from '../validate.js';
import { type ConceptSpace, checkConceptSpace } from './control.js';
import type { WasmInstance } from './raw.js';

/** How items are compared with prototypes: the paper's cosine, or the inner-product ablation (Figure 2e). */
export type Similarity = 'cosine' | 'inner';

export interface AssignConceptsArgs extends ConceptSpace {
  /** `τ > 0` (the model's, 0.1 in the paper). */
  tau: number;
  /** Default `'cosine'`. */
  similarity?: Similarity;
}

export interface ConceptAssignment {
  /** `items × concepts`: `c_i = softmax_k(s_ik)`, `s_ik = cos(h_i, m_k)/τ` (or `h_i·m_k/τ`). */
  c: Float32Array;
  /** Each item's concept: the mode of `c_i` (ties to the lower concept). */
  concept: Uint32Array;
  /** `max_k c_ik`. */
  confidence: Float32Array;
}

/** Concept assignment of every item (paper eq. 6, evaluation mode). */
export function assignConcepts(inst: WasmInstance, args: AssignConceptsArgs): ConceptAssignment {
  const fn = 'assignConcepts';
  checkConceptSpace(fn, args);
  const { items, d, concepts } = args;
  const tau = checkNumber(fn, 'tau', args.tau, Number.MIN_VALUE, 1e6);
  const sim = args.similarity ?? 'cosine';
  if (sim !== 'cosine' && sim !== 'inner') {
    throw new InvalidArgumentError(`'similarity' passed to ${fn}() must be 'cosine' or 'inner' but got ${String(sim)}`);
  }
  return inst.call(fn, (a, x) => {
    const pH = a.input(args.h);
    const pM = a.input(args.prototypes);
    const pC = a.output(Float32Array, items * concepts);
    const pK = a.output(Uint32Array, items);
    const pConf = a.output(Float32Array, items);
    inst.check(fn, x.mv_assign_concepts(pH, items, d, pM, concepts, tau, sim === 'cosine' ? 0 : 1, pC, pK, pConf));
    return {
      c: a.read(Float32Array, pC, items * concepts),
      concept: a.read(Uint32Array, pK, items),
      confidence: a.read(Float32Array, pConf, items),
    };
  });
}

export interface UserConceptConfidenceArgs {
  /** `items × concepts` concept assignment (`ConceptAssignment.c`). */
  c: Float32Array;
  items: number;
  concepts: number;
  /** Users × items interactions (binary CSR). */
  x: Csr;
}

/** Each user's per-concept confidence `Σ_{i ∈ x_u} c_ik` (paper §3.3); `users × concepts`. */
export function userConceptConfidence(inst: WasmInstance, args: UserConceptConfidenceArgs): Float32Array {
  const fn = 'userConceptConfidence';
  const items = checkInt(fn, 'items', args.items, 0);
  const concepts = checkInt(fn, 'concepts', args.concepts, 1);
  checkArray(fn, 'c', args.c, Float32Array, items * concepts);
  const x = checkCsr(fn, 'x', args.x, undefined, items);
  const users = x.indptr.length - 1;
  return inst.call(fn, (a, e) => {
    const pC = a.input(args.c);
    const pP = a.input(x.indptr);
    const pI = a.input(x.indices);
    const pOut = a.output(Float32Array, users * concepts);
    inst.check(fn, e.mv_user_concept_confidence(pC, items, concepts, pP, pI, users, x.indices.length, pOut));
    return a.read(Float32Array, pOut, users * concepts);
  });
}

export interface AlignmentArgs {
  /** Learned labels (e.g. item concepts), each `< na`. */
  a: Uint32Array;
  na: number;
  /** Known labels (e.g. categories) of the same points, each `< nb`. */
  b: Uint32Array;
  nb: number;
}

export interface Alignment {
  /** `na × nb` contingency counts. */
  table: Uint32Array;
  /** For each learned label, the known label matched to it (Hungarian), or 2^32−1 when none. */
  match: Uint32Array;
  /** Normalized mutual information, arithmetic-mean normalization: `I(A;B) / ((H(A)+H(B))/2)`. */
  nmi: number;
  /** Adjusted Rand index (Hubert & Arabie 1985). */
  ari: number;
  /** Fraction of points whose learned label is matched to their known label (best one-to-one matching). */
  accuracy: number;
}

/** Alignment of two labelings of the same points: contingency table, NMI, ARI, matched accuracy. */
export function alignment(inst: WasmInstance, args: AlignmentArgs): Alignment {
  const fn = 'alignment';
  const na = checkInt(fn, 'na', args.na, 1, 1 << 16);
  const nb = checkInt(fn, 'nb', args.nb, 1, 1 << 16);
  checkArray(fn, 'a', args.a, Uint32Array);
  const n = args.a.length;
  checkArray(fn, 'b', args.b, Uint32Array, n);
  return inst.call(fn, (m, x) => {
    const pA = m.input(args.a);
    const pB = m.input(args.b);
    const pT = m.output(Uint32Array, na * nb);
    const pM = m.output(Uint32Array, na);
    const pMet = m.output(Float64Array, 3);
    inst.check(fn, x.mv_alignment(pA, pB, n, na, nb, pT, pM, pMet));
    const met = m.read(Float64Array, pMet, 3);
    return {
      table: m.read(Uint32Array, pT, na * nb),
      match: m.read(Uint32Array, pM, na),
      nmi: met[0],
      ari: met[1],
      accuracy: met[2],
    };
  });
}

export interface MatrixArgs {
  /** `n × d`, row-major. */
  x: Float32Array;
  n: number;
  d: number;
}

export interface ColumnStats {
  mean: Float64Array;
  /** Population standard deviation. */
  std: Float64Array;
  min: Float64Array;
  max: Float64Array;
}

/** Per-dimension mean, standard deviation, min and max. */
export function columnStats(inst: WasmInstance, args: MatrixArgs): ColumnStats {
  const fn = 'columnStats';
  const n = checkInt(fn, 'n', args.n, 1);
  const d = checkInt(fn, 'd', args.d, 0);
  checkArray(fn, 'x', args.x, Float32Array, n * d);
  return inst.call(fn, (a, e) => {
    const pX = a.input(args.x);
    const pO = a.output(Float64Array, 4 * d);
    inst.check(fn, e.mv_column_stats(pX, n, d, pO));
    const o = a.read(Float64Array, pO, 4 * d);
    return { mean: o.slice(0, d), std: o.slice(d, 2 * d), min: o.slice(2 * d, 3 * d), max: o.slice(3 * d) };
  });
}

export interface TsneArgs extends MatrixArgs {
  /** Default 30 (clamped to (n−1)/3 for tiny inputs). */
  perplexity?: number;
  /** Default 1000. */
  iterations?: number;
  /** Default 98765. */
  seed?: number;
}

export interface TsneResult {
  /** `n × 2` map coordinates. */
  y: Float32Array;
  /** Final KL(P‖Q). */
  kl: number;
}

/** The most points {@link tsne} embeds: its `n × n` affinities (1.6 GB at this size) live in WASM memory. */
export const TSNE_MAX_POINTS = 20_000;

/** Exact t-SNE to 2-D, seeded (`O(n²)` per step: subsample beyond a few thousand points). */
export function tsne(inst: WasmInstance, args: TsneArgs): TsneResult {
  const fn = 'tsne';
  const n = checkInt(fn, 'n', args.n, 2, TSNE_MAX_POINTS);
  const d = checkInt(fn, 'd', args.d, 1);
  checkArray(fn, 'x', args.x, Float32Array, n * d);
  const perplexity = checkNumber(fn, 'perplexity', args.perplexity ?? 30, 1, 1e4);
  const iterations = checkInt(fn, 'iterations', args.iterations ?? 1000, 1, 100_000);
  const seed = checkInt(fn, 'seed', args.seed ?? 98765, 0, 0xffffffff);
  return inst.call(fn, (a, e) => {
    const pX = a.input(args.x);
    const pY = a.output(Float32Array, 2 * n);
    const pK = a.output(Float64Array, 1);
    inst.check(fn, e.mv_tsne(pX, n, d, perplexity, iterations, seed, pY, pK));
    return { y: a.read(Float32Array, pY, 2 * n), kl: a.read(Float64Array, pK, 1)[0] };
  });
}

export interface KmeansArgs extends MatrixArgs {
  /** Number of clusters, 1 ≤ k ≤ the number of non-zero rows. */
  k: number;
  /** Independent k-means++ seedings; the best objective wins. Default 4. */
  restarts?: number;
  /** Lloyd iterations per restart at most. Default 100. */
  maxIter?: number;
  /** Default 98765. */
  seed?: number;
}

export interface KmeansResult {
  /** `k × d` unit centroids, row-major. */
  centroids: Float32Array;
  /** Each row's cluster in `[0, k)`. */
  labels: Uint32Array;
  /** `Σ_i cos(x_i, c_{label_i})` over the non-zero rows. */
  objective: number;
}

/**
 * Spherical k-means of the rows' directions (k-means++ seeding, Lloyd iterations; see
 * `crates/macrid-core/src/kmeans.rs`): deterministic given the inputs and `seed`.
 */
export function sphericalKmeans(inst: WasmInstance, args: KmeansArgs): KmeansResult {
  const fn = 'sphericalKmeans';
  const n = checkInt(fn, 'n', args.n, 1);
  const d = checkInt(fn, 'd', args.d, 1);
  checkArray(fn, 'x', args.x, Float32Array, n * d);
  const k = checkInt(fn, 'k', args.k, 1, n);
  const restarts = checkInt(fn, 'restarts', args.restarts ?? 4, 1, 1000);
  const maxIter = checkInt(fn, 'maxIter', args.maxIter ?? 100, 1, 100_000);
  const seed = checkInt(fn, 'seed', args.seed ?? 98765, 0, 0xffffffff);
  return inst.call(fn, (a, e) => {
    const pX = a.input(args.x);
    const pC = a.output(Float32Array, k * d);
    const pL = a.output(Uint32Array, n);
    const pO = a.output(Float64Array, 1);
    inst.check(fn, e.mv_spherical_kmeans(pX, n, d, k, restarts, maxIter, seed, pC, pL, pO));
    return {
      centroids: a.read(Float32Array, pC, k * d),
      labels: a.read(Uint32Array, pL, n),
      objective: a.read(Float64Array, pO, 1)[0],
    };
  });
}
