/**
 * Slow, obviously correct float64 oracles of the item–item kernels (`ts/wasm/itemsim.ts`): the Gram
 * matrix by definition, EASE through a Gauss–Jordan inverse with partial pivoting (a different
 * algorithm from the core's Cholesky), ItemKNN by sorting every column, and scoring by definition.
 */
import { type Csr, csrRows } from '../../ts/csr.js';

export function gramOracle(x: Csr): Float64Array {
  const m = x.cols;
  const g = new Float64Array(m * m);
  for (let u = 0; u < csrRows(x); u++) {
    const row = Array.from(x.indices.subarray(x.indptr[u], x.indptr[u + 1]));
    for (const a of row) for (const b of row) g[a * m + b] += 1;
  }
  return g;
}

/** `(G + λI)⁻¹` by Gauss–Jordan elimination with partial pivoting. */
export function inverseOracle(g: ArrayLike<number>, m: number, lambda: number): Float64Array {
  const a = Float64Array.from(g);
  for (let i = 0; i < m; i++) a[i * m + i] += lambda;
  const inv = new Float64Array(m * m);
  for (let i = 0; i < m; i++) inv[i * m + i] = 1;
  for (let c = 0; c < m; c++) {
    let p = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(a[r * m + c]) > Math.abs(a[p * m + c])) p = r;
    for (let j = 0; j < m; j++) {
      [a[c * m + j], a[p * m + j]] = [a[p * m + j], a[c * m + j]];
      [inv[c * m + j], inv[p * m + j]] = [inv[p * m + j], inv[c * m + j]];
    }
    const d = a[c * m + c];
    for (let j = 0; j < m; j++) {
      a[c * m + j] /= d;
      inv[c * m + j] /= d;
    }
    for (let r = 0; r < m; r++) {
      if (r === c) continue;
      const f = a[r * m + c];
      if (f === 0) continue;
      for (let j = 0; j < m; j++) {
        a[r * m + j] -= f * a[c * m + j];
        inv[r * m + j] -= f * inv[c * m + j];
      }
    }
  }
  return inv;
}

/** EASE's `B_ij = −P_ij / P_jj` (`i ≠ j`), zero diagonal. */
export function easeOracle(g: ArrayLike<number>, m: number, lambda: number): Float64Array {
  const p = inverseOracle(g, m, lambda);
  const b = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) b[i * m + j] = i === j ? 0 : -p[i * m + j] / p[j * m + j];
  return b;
}

/** ItemKNN: per column `c`, the `k` largest non-zero `s_rc` (`r ≠ c`), ties to the lower `r`. */
export function knnOracle(
  g: ArrayLike<number>,
  m: number,
  k: number,
  shrink: number,
): { neighbours: number[][]; similarity: number[][] } {
  const neighbours: number[][] = [];
  const similarity: number[][] = [];
  for (let c = 0; c < m; c++) {
    const cand: [number, number][] = [];
    for (let r = 0; r < m; r++) {
      if (r === c || g[r * m + c] === 0) continue;
      const s = g[r * m + c] / (Math.sqrt(g[r * m + r]) * Math.sqrt(g[c * m + c]) + shrink + 1e-6);
      cand.push([Math.fround(s), r]);
    }
    cand.sort((x, y) => y[0] - x[0] || x[1] - y[1]);
    const top = cand.slice(0, k);
    neighbours.push(top.map((t) => t[1]));
    similarity.push(top.map((t) => t[0]));
  }
  return { neighbours, similarity };
}

/** `X · W` for binary fold-in rows and a dense `m × n` `W`. */
export function scoreOracle(x: Csr, w: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(csrRows(x) * n);
  for (let u = 0; u < csrRows(x); u++) {
    for (let p = x.indptr[u]; p < x.indptr[u + 1]; p++) {
      const r = x.indices[p];
      for (let c = 0; c < n; c++) out[u * n + c] += w[r * n + c];
    }
  }
  return out;
}
