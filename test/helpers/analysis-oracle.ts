/**
 * Slow, obviously correct TypeScript versions of the traversal and analysis kernels, in f64.
 */
import { type Csr, csrRow } from '../../ts/csr.js';
import type { ConceptSpace, TraverseKernelArgs } from '../../ts/wasm/control.js';

function cosWithout(x: ArrayLike<number>, xo: number, y: ArrayLike<number>, yo: number, d: number, skip: number) {
  let xy = 0;
  let xx = 0;
  let yy = 0;
  for (let l = 0; l < d; l++) {
    if (l === skip) continue;
    xy += x[xo + l] * y[yo + l];
    xx += x[xo + l] ** 2;
    yy += y[yo + l] ** 2;
  }
  return xx === 0 || yy === 0 ? 0 : xy / Math.sqrt(xx * yy);
}

/** `Σ_t exp(cos(h_{i_t,−j}, h_{*,−j})/τ) + γ Σ_{t<t'} exp(cos(h_{i_t,−j}, h_{i_t',−j})/τ)`. */
export function traverseObjectiveOracle(
  h: Float32Array,
  d: number,
  start: Float32Array,
  dim: number,
  chosen: ArrayLike<number>,
  gamma: number,
  tau: number,
): number {
  let obj = 0;
  for (let t = 0; t < chosen.length; t++) {
    obj += Math.exp(cosWithout(h, chosen[t] * d, start, 0, d, dim) / tau);
    for (let u = t + 1; u < chosen.length; u++) {
      obj += gamma * Math.exp(cosWithout(h, chosen[t] * d, h, chosen[u] * d, d, dim) / tau);
    }
  }
  return obj;
}

/** Nearest prototype by cosine of each item (ties to the lower concept). */
export function nearestOracle(s: ConceptSpace): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.items; i++) {
    let best = Number.NEGATIVE_INFINITY;
    let arg = 0;
    for (let k = 0; k < s.concepts; k++) {
      const c = cosWithout(s.h, i * s.d, s.prototypes, k * s.d, s.d, -1);
      if (c > best) {
        best = c;
        arg = k;
      }
    }
    out.push(arg);
  }
  return out;
}

/**
 * Greedy traversal (beam width 1) by the closed form of the range: with only dimension j varying,
 * "k* beats k" is linear in the value v, so (a, b) is an intersection of half-lines.
 */
export function greedyTraverseOracle(args: TraverseKernelArgs) {
  const { h, prototypes: m, items, d, concepts, start, dim: j, steps, gamma, tau } = args;
  const line = (k: number) => {
    let norm = 0;
    let c = 0;
    for (let l = 0; l < d; l++) {
      norm += m[k * d + l] ** 2;
      if (l !== j) c += start[l] * m[k * d + l];
    }
    norm = Math.sqrt(norm);
    return [c / norm, m[k * d + j] / norm];
  };
  const v0 = start[j];
  let kStar = 0;
  let best = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < concepts; k++) {
    const [c, s] = line(k);
    if (c + v0 * s > best) {
      best = c + v0 * s;
      kStar = k;
    }
  }
  let lo = v0;
  let hi = v0;
  for (let i = 0; i < items; i++) {
    lo = Math.min(lo, h[i * d + j]);
    hi = Math.max(hi, h[i * d + j]);
  }
  const margin = 1e-3 * (hi - lo) + 1e-6 * Math.max(Math.abs(lo), Math.abs(hi), 1);
  let a = lo - margin;
  let b = hi + margin;
  const [cs, ss] = line(kStar);
  for (let k = 0; k < concepts; k++) {
    if (k === kStar) continue;
    const [c, s] = line(k);
    const p = cs - c;
    const q = ss - s;
    if (q > 0) a = Math.max(a, -p / q);
    else if (q < 0) b = Math.min(b, -p / q);
  }
  const concept = nearestOracle(args);
  const cand: number[] = [];
  for (let i = 0; i < items; i++) {
    const v = h[i * d + j];
    if (concept[i] === kStar && v > a && v < b) cand.push(i);
  }
  cand.sort((x, y) => h[x * d + j] - h[y * d + j] || x - y);
  const n = cand.length;
  const chosen: number[] = [];
  for (let t = 0; t < steps; t++) {
    const group = cand.slice(Math.floor((t * n) / steps), Math.floor(((t + 1) * n) / steps));
    let bestItem = -1;
    let bestGain = Number.NEGATIVE_INFINITY;
    for (const i of group) {
      let gain = Math.exp(cosWithout(h, i * d, start, 0, d, j) / tau);
      for (const p of chosen) gain += gamma * Math.exp(cosWithout(h, i * d, h, p * d, d, j) / tau);
      if (gain > bestGain) {
        bestGain = gain;
        bestItem = i;
      }
    }
    chosen.push(bestItem);
  }
  return {
    concept: kStar,
    range: [a, b] as [number, number],
    items: chosen,
    objective: traverseObjectiveOracle(h, d, start, j, chosen, gamma, tau),
  };
}

/** `Σ_{i ∈ x_u} c_ik` by plain loops. */
export function userConceptConfidenceOracle(c: Float32Array, concepts: number, x: Csr): Float32Array {
  const users = x.indptr.length - 1;
  const out = new Float32Array(users * concepts);
  for (let u = 0; u < users; u++) {
    for (let k = 0; k < concepts; k++) {
      let s = 0;
      for (const i of csrRow(x, u)) s += c[i * concepts + k];
      out[u * concepts + k] = s;
    }
  }
  return out;
}

/** Best one-to-one matching weight of a small square table by trying every permutation. */
export function bruteForceMatching(w: number[][]): number {
  const n = w.length;
  let best = Number.NEGATIVE_INFINITY;
  const perm = [...Array(n).keys()];
  const rec = (k: number) => {
    if (k === n) {
      best = Math.max(
        best,
        perm.reduce((s, c, r) => s + w[r][c], 0),
      );
      return;
    }
    for (let i = k; i < n; i++) {
      [perm[k], perm[i]] = [perm[i], perm[k]];
      rec(k + 1);
      [perm[k], perm[i]] = [perm[i], perm[k]];
    }
  };
  rec(0);
  return best;
}
