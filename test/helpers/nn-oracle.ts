/**
 * Slow, obviously correct float64 versions of the training kernels (`ts/wasm/nn.ts`), straight from the
 * formulas in `crates/macrid-core/src/nn.rs`. The contract tests compare the WASM kernels with these.
 */
import { type Csr, csrRow, csrRows } from '../../ts/csr.js';
import type {
  GemmArgs,
  MixDecoderArgs,
  MixDecoderGrads,
  MixDecoderTrainArgs,
  SparseMixArgs,
  SparseMixBackwardArgs,
  SparseMixGrads,
  SparseMixResult,
} from '../../ts/wasm/nn.js';

export function gemmOracle(g: GemmArgs): Float32Array {
  const { m, n, k } = g;
  const A = (i: number, p: number) => (g.transA ? g.a[p * m + i] : g.a[i * k + p]);
  const B = (p: number, j: number) => (g.transB ? g.b[j * k + p] : g.b[p * n + j]);
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += A(i, p) * B(p, j);
      c[i * n + j] = s;
    }
  return c;
}

function cOf(a: { c?: Float32Array; concepts: number }, i: number, k: number): number {
  return a.c ? a.c[i * a.concepts + k] : 1;
}

export function sparseMixForwardOracle(a: SparseMixArgs): SparseMixResult {
  const K = a.concepts;
  const users = csrRows(a.x);
  const out = new Float32Array(users * K * a.d);
  const norms = new Float32Array(users * K);
  for (let b = 0; b < users; b++) {
    const lo = a.x.indptr[b];
    for (let k = 0; k < K; k++) {
      const acc = new Float64Array(a.d);
      let ss = 0;
      for (let p = lo; p < a.x.indptr[b + 1]; p++) {
        const i = a.x.indices[p];
        const c = cOf(a, i, k);
        ss += c * c;
        const w = (a.mask ? a.mask[p * K + k] : 1) * c;
        for (let j = 0; j < a.d; j++) acc[j] += w * a.t[i * a.d + j];
      }
      const n = Math.sqrt(ss + (a.eps ?? 1e-8));
      norms[b * K + k] = n;
      for (let j = 0; j < a.d; j++) out[(b * K + k) * a.d + j] = acc[j] / n;
    }
  }
  return { out, norms };
}

/** Backward pass by the chain rule written out per element. */
export function sparseMixBackwardOracle(a: SparseMixBackwardArgs): SparseMixGrads {
  const K = a.concepts;
  const { d } = a;
  const users = csrRows(a.x);
  const dt = new Float64Array(a.t.length);
  const dc = new Float64Array(a.x.cols * K);
  for (let b = 0; b < users; b++) {
    for (let k = 0; k < K; k++) {
      const r = (b * K + k) * d;
      const n = a.norms[b * K + k];
      let gdotOut = 0;
      for (let j = 0; j < d; j++) gdotOut += a.dout[r + j] * a.out[r + j];
      for (let p = a.x.indptr[b]; p < a.x.indptr[b + 1]; p++) {
        const i = a.x.indices[p];
        const c = cOf(a, i, k);
        const m = a.mask ? a.mask[p * K + k] : 1;
        let tdot = 0;
        for (let j = 0; j < d; j++) {
          tdot += a.t[i * d + j] * a.dout[r + j];
          dt[i * d + j] += (m * c * a.dout[r + j]) / n;
        }
        dc[i * K + k] += (m * tdot) / n - (gdotOut * c) / (n * n);
      }
    }
  }
  const res: SparseMixGrads = { dt: Float32Array.from(dt) };
  if (a.c) res.dc = Float32Array.from(dc);
  return res;
}

function logits(a: MixDecoderArgs, b: number, i: number, k: number): number {
  let dot = 0;
  for (let j = 0; j < a.d; j++) dot += a.z[(b * a.concepts + k) * a.d + j] * a.h[i * a.d + j];
  return a.scale * dot + (a.bias ? a.bias[i] : 0);
}

/** log q[b,i] = log Σ_k c_ik e^{l_bki}, computed stably. */
function logQ(a: MixDecoderArgs, b: number): Float64Array {
  const out = new Float64Array(a.items);
  for (let i = 0; i < a.items; i++) {
    const ls: number[] = [];
    for (let k = 0; k < a.concepts; k++) ls.push(logits(a, b, i, k));
    const mx = Math.max(...ls);
    let s = 0;
    for (let k = 0; k < a.concepts; k++) s += cOf(a, i, k) * Math.exp(ls[k] - mx);
    out[i] = mx + Math.log(s);
  }
  return out;
}

function logSumExp(v: Float64Array): number {
  let mx = Number.NEGATIVE_INFINITY;
  for (const x of v) mx = Math.max(mx, x);
  let s = 0;
  for (const x of v) s += Math.exp(x - mx);
  return mx + Math.log(s);
}

export function mixDecoderLogProbsOracle(a: MixDecoderArgs): Float32Array {
  const out = new Float32Array(a.users * a.items);
  for (let b = 0; b < a.users; b++) {
    const lq = logQ(a, b);
    const lz = logSumExp(lq);
    for (let i = 0; i < a.items; i++) out[b * a.items + i] = lq[i] - lz;
  }
  return out;
}

/**
 * Loss and analytic gradients: with `p = softmax(log q)`, `g_bi = gs·(n_b p_bi − x_bi)`,
 * `r_bki = c_ik e^{l_bki} / q_bi`: `dl_bki = g_bi r_bki`, `dz = Σ_i dl·scale·h_i`, `dh = Σ dl·scale·z`,
 * `dc_ik = Σ_b g_bi e^{l_bki}/q_bi`, `dbias_i = Σ_b g_bi`.
 */
export function mixDecoderTrainOracle(a: MixDecoderTrainArgs): MixDecoderGrads {
  const { users, concepts: K, d, items } = a;
  const loss = new Float32Array(users);
  const dz = new Float64Array(users * K * d);
  const dh = new Float64Array(items * d);
  const dc = new Float64Array(items * K);
  const db = new Float64Array(items);
  for (let b = 0; b < users; b++) {
    const lq = logQ(a, b);
    const lz = logSumExp(lq);
    const pos = new Set(csrRow(a.x as Csr, b));
    let l = 0;
    for (const i of pos) l -= lq[i] - lz;
    loss[b] = l;
    for (let i = 0; i < items; i++) {
      const g = a.gradScale * (pos.size * Math.exp(lq[i] - lz) - (pos.has(i) ? 1 : 0));
      db[i] += g;
      for (let k = 0; k < K; k++) {
        const lk = logits(a, b, i, k);
        const eOverQ = Math.exp(lk - lq[i]);
        dc[i * K + k] += g * eOverQ;
        const dl = g * cOf(a, i, k) * eOverQ * a.scale;
        for (let j = 0; j < d; j++) {
          dz[(b * K + k) * d + j] += dl * a.h[i * d + j];
          dh[i * d + j] += dl * a.z[(b * K + k) * d + j];
        }
      }
    }
  }
  const res: MixDecoderGrads = { loss, dz: Float32Array.from(dz), dh: Float32Array.from(dh) };
  if (a.c) res.dc = Float32Array.from(dc);
  if (a.bias) res.dbias = Float32Array.from(db);
  return res;
}

/**
 * Sampled softmax from the formula: user b's normalizer is `Σ_{i∈x_b} q_bi + Σ_{j: n_j∉x_b} e^{w_j} q_{b,n_j}` over
 * the shared negative draws `n_j`; gradients by the same chain rule as the full softmax, over that candidate set.
 */
export function mixDecoderTrainSampledOracle(
  a: MixDecoderTrainArgs & { sampled: { items: Uint32Array; logWeight: Float32Array } },
): MixDecoderGrads {
  const { users, concepts: K, d, items } = a;
  const loss = new Float32Array(users);
  const dz = new Float64Array(users * K * d);
  const dh = new Float64Array(items * d);
  const dc = new Float64Array(items * K);
  const db = new Float64Array(items);
  const logq = (b: number, i: number) => {
    const ls: number[] = [];
    for (let k = 0; k < K; k++) ls.push(logits(a, b, i, k));
    const mx = Math.max(...ls);
    let s = 0;
    for (let k = 0; k < K; k++) s += cOf(a, i, k) * Math.exp(ls[k] - mx);
    return mx + Math.log(s);
  };
  for (let b = 0; b < users; b++) {
    const pos = [...csrRow(a.x as Csr, b)];
    // Candidates with their log weights: the clicks (weight 1), then each negative draw.
    const cand: Array<[number, number]> = [...pos.map((i) => [i, 0] as [number, number])];
    a.sampled.items.forEach((i, j) => {
      if (!pos.includes(i)) cand.push([i, a.sampled.logWeight[j]]);
    });
    const lw = Float64Array.from(cand.map(([i, w]) => logq(b, i) + w));
    const lz = logSumExp(lw);
    let l = 0;
    for (let p = 0; p < pos.length; p++) l -= lw[p] - lz;
    loss[b] = l;
    cand.forEach(([i], j) => {
      const g = a.gradScale * (pos.length * Math.exp(lw[j] - lz) - (j < pos.length ? 1 : 0));
      db[i] += g;
      const lqi = logq(b, i);
      for (let k = 0; k < K; k++) {
        const eOverQ = Math.exp(logits(a, b, i, k) - lqi);
        dc[i * K + k] += g * eOverQ;
        const dl = g * cOf(a, i, k) * eOverQ * a.scale;
        for (let t = 0; t < d; t++) {
          dz[(b * K + k) * d + t] += dl * a.h[i * d + t];
          dh[i * d + t] += dl * a.z[(b * K + k) * d + t];
        }
      }
    });
  }
  const res: MixDecoderGrads = { loss, dz: Float32Array.from(dz), dh: Float32Array.from(dh) };
  if (a.c) res.dc = Float32Array.from(dc);
  if (a.bias) res.dbias = Float32Array.from(db);
  return res;
}
