/**
 * Micro disentanglement (paper §3.4): the independence score `1 − 2/(d(d−1)) Σ_{i<j} |corr_ij|` of the
 * item representations (d dimensions) and of the user representations (the K components concatenated,
 * d' = K·d dimensions, as in Figure 4), and per-dimension statistics of the item representations.
 */
import { InvalidArgumentError } from '../errors.js';
import { kernels } from '../runtime/kernels.js';
import { Rng } from '../util/rng.js';
import { checkObject } from '../validate.js';
import type { ConceptSpace } from '../wasm/control.js';

/** Users' concept components `μ_u^(k)`: `users × concepts × d`, row-major. */
export interface UserComponents {
  mu: Float32Array;
  users: number;
  concepts: number;
  d: number;
}

export interface DimensionStats {
  mean: number[];
  std: number[];
  min: number[];
  max: number[];
  /** Per dimension: mean |corr| with the other dimensions. */
  meanAbsCorr: number[];
}

export interface MicroAnalysis {
  /**
   * `corr` is the `d × d` correlation matrix of the item representations; `constantDims` lists
   * dimensions with zero variance (they count as independent: check before reading a high score).
   */
  items: { independence: number; d: number; n: number; corr: Float64Array; constantDims: number[] };
  users?: { independence: number; d: number; n: number; sampled: boolean; constantDims: number[] };
  /** Statistics of the item representations, per dimension. */
  dims: DimensionStats;
}

export interface MicroInput {
  space: ConceptSpace;
  users?: UserComponents;
  /** Users beyond this many are subsampled (seeded) for the users' correlations. Default 5000. */
  maxUsers?: number;
  seed?: number;
}

export function analyzeMicro(input: MicroInput): MicroAnalysis {
  checkObject('analyzeMicro', 'input', input);
  checkObject('analyzeMicro', 'input.space', input.space, 'a concept space {h, prototypes, items, d, concepts}');
  const { space } = input;
  const { items, d } = space;
  if (items < 2) throw new InvalidArgumentError(`analyzeMicro() needs at least 2 items but got ${items}`);
  const corr = kernels.correlationMatrix({ vectors: space.h, n: items, d });
  const score = d >= 2 ? kernels.independenceScore({ vectors: space.h, n: items, d }).score : 1;
  const st = kernels.columnStats({ x: space.h, n: items, d });
  const meanAbsCorr: number[] = [];
  for (let a = 0; a < d; a++) {
    let s = 0;
    for (let b = 0; b < d; b++) if (a !== b) s += Math.abs(corr.matrix[a * d + b]);
    meanAbsCorr.push(d > 1 ? s / (d - 1) : 0);
  }
  const out: MicroAnalysis = {
    items: { independence: score, d, n: items, corr: corr.matrix, constantDims: corr.constantDims },
    dims: { mean: [...st.mean], std: [...st.std], min: [...st.min], max: [...st.max], meanAbsCorr },
  };
  const u = input.users;
  if (u && u.users >= 2) {
    const dd = u.concepts * u.d;
    if (u.mu.length !== u.users * dd) {
      throw new InvalidArgumentError(`'users.mu' must have ${u.users * dd} elements but has ${u.mu.length}`);
    }
    const max = input.maxUsers ?? 5000;
    let x = u.mu;
    let n = u.users;
    if (n > max) {
      const rows = Array.from({ length: n }, (_, r) => r);
      new Rng(input.seed ?? 98765).shuffle(rows);
      const keep = rows.slice(0, max).sort((a, b) => a - b);
      x = new Float32Array(max * dd);
      for (let p = 0; p < keep.length; p++) x.set(u.mu.subarray(keep[p] * dd, (keep[p] + 1) * dd), p * dd);
      n = max;
    }
    const c = kernels.independenceScore({ vectors: x, n, d: dd });
    out.users = { independence: c.score, d: dd, n, sampled: n < u.users, constantDims: c.constantDims };
  }
  return out;
}
