/**
 * MacridVAE's evaluation-time item state computed from plain arrays (no TensorFlow.js), for serving
 * and analysis: the decoder's item vectors (`h_i/‖h_i‖` for cosine) and the concept assignment
 * `c_i = softmax_k(cos(h_i, m_k)/τ)` (`h_i·m_k/τ` for the inner-product ablation). The same formulas
 * as `MacridVae.evalItems` (tfjs): `x / max(‖x‖, 1e-12)`, then a softmax with the row maximum shifted out.
 */
import { kernels } from '../runtime/kernels.js';

/** A row-major matrix. */
export interface Matrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

/** Row-wise L2 normalization (`x / max(‖x‖, 1e-12)`), as the model computes cosines. */
export function normalizeRows(x: Matrix): Matrix {
  const out = new Float32Array(x.data.length);
  for (let r = 0; r < x.rows; r++) {
    let s = 0;
    for (let j = 0; j < x.cols; j++) s += x.data[r * x.cols + j] ** 2;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let j = 0; j < x.cols; j++) out[r * x.cols + j] = x.data[r * x.cols + j] * inv;
  }
  return { data: out, rows: x.rows, cols: x.cols };
}

/**
 * `c_i = softmax_k(s_ik)` with `s_ik = cos(h_i, m_k)/τ` (`cosine`) or `h_i·m_k/τ`; `items × K`.
 * `h` is `items × d`, `m` is `K × d`, both as trained (not normalized).
 */
export function assignConceptsSoft(h: Matrix, m: Matrix, tau: number, cosine: boolean): Matrix {
  const hs = cosine ? normalizeRows(h) : h;
  const ps = cosine ? normalizeRows(m) : m;
  const K = ps.rows;
  const s = kernels.gemm({ a: hs.data, b: ps.data, m: hs.rows, n: K, k: hs.cols, transB: true });
  for (let i = 0; i < hs.rows; i++) {
    let mx = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < K; k++) mx = Math.max(mx, s[i * K + k] / tau);
    let z = 0;
    for (let k = 0; k < K; k++) z += s[i * K + k] = Math.exp(s[i * K + k] / tau - mx);
    for (let k = 0; k < K; k++) s[i * K + k] /= z;
  }
  return { data: s, rows: hs.rows, cols: K };
}
