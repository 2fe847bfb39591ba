/**
 * Typed wrappers of the correlation kernels (`crates/macrid-core/src/stats.rs`): Pearson correlations
 * between the `d` dimensions of `n` vectors, and the paper's independence score
 * `1 − 2/(d(d−1)) Σ_{i<j} |corr_ij|`.
 *
 * A constant dimension (all `n` values equal; zero variance) has correlation 0 with every other
 * dimension and 1 with itself, and is listed in `constantDims`: it then counts as independent of the
 * others, so check that list before reading a high score as disentanglement.
 */
import { checkArray, checkInt } from '../validate.js';
import type { WasmInstance } from './raw.js';

/** Largest accepted `d` (the same bound as the core's `MAX_DIMS`). */
export const MAX_DIMS = 8192;

export interface VectorsArgs {
  /** `n × d` row-major, finite. */
  vectors: Float32Array;
  /** Number of vectors (>= 1). */
  n: number;
  /** Dimensions per vector, in `[1, 8192]` (`[2, 8192]` for the score). */
  d: number;
}

export interface CorrelationResult {
  /** `d × d` row-major, symmetric, unit diagonal. */
  matrix: Float64Array;
  d: number;
  /** Dimensions whose values are all equal, ascending. */
  constantDims: number[];
}

export interface IndependenceResult {
  score: number;
  constantDims: number[];
}

function checkVectors(fn: string, args: VectorsArgs, minD: number): { n: number; d: number } {
  const n = checkInt(fn, 'n', args.n, 1);
  const d = checkInt(fn, 'd', args.d, minD, MAX_DIMS);
  checkArray(fn, 'vectors', args.vectors, Float32Array, n * d);
  return { n, d };
}

function flagged(flags: Uint8Array): number[] {
  const out: number[] = [];
  for (let j = 0; j < flags.length; j++) if (flags[j]) out.push(j);
  return out;
}

/** The correlation matrix of the dimensions of `n` vectors. */
export function correlationMatrix(inst: WasmInstance, args: VectorsArgs): CorrelationResult {
  const fn = 'correlationMatrix';
  const { n, d } = checkVectors(fn, args, 1);
  return inst.call(fn, (a, x) => {
    const pX = a.input(args.vectors);
    const pOut = a.output(Float64Array, d * d);
    const pC = a.output(Uint8Array, d);
    inst.check(fn, x.mv_correlation_matrix(pX, n, d, pOut, pC));
    return { matrix: a.read(Float64Array, pOut, d * d), d, constantDims: flagged(a.read(Uint8Array, pC, d)) };
  });
}

/** The independence score of the dimensions of `n` vectors (needs `d >= 2`). */
export function independenceScore(inst: WasmInstance, args: VectorsArgs): IndependenceResult {
  const fn = 'independenceScore';
  const { n, d } = checkVectors(fn, args, 2);
  return inst.call(fn, (a, x) => {
    const pX = a.input(args.vectors);
    const pScore = a.output(Float64Array, 1);
    const pC = a.output(Uint8Array, d);
    inst.check(fn, x.mv_independence_score(pX, n, d, pScore, pC));
    return { score: a.read(Float64Array, pScore, 1)[0], constantDims: flagged(a.read(Uint8Array, pC, d)) };
  });
}
