/**
 * Read-only views of a trained MacridVAE for analysis (disentanglement, traversal, serving), from a
 * model directory loaded with `loadModel(dir)` (`ts/train/checkpoint.ts`). These are a stable API:
 *
 * - {@link itemEmbeddings}: `h_i`, the decoder's item representations (`items × d`, as trained, not normalized);
 * - {@link prototypes}: `m_k`, the concept prototypes (`K × d`, not normalized);
 * - {@link conceptAssignment}: `c_i = softmax_k(cos(h_i, m_k)/τ)` (`items × K`), the evaluation-time
 *   assignment (with `similarity: 'inner'`, the inner product replaces the cosine);
 * - {@link userConcepts}: the per-concept user representations of fold-in rows, `μ_k` (`users × K × d`,
 *   unit vectors; at evaluation `z = μ`), i.e. what the decoder consumes.
 *
 * All matrices are row-major `Float32Array`s with their shape.
 */
import type { Csr } from '../csr.js';
import { checkCsr, csrRows } from '../csr.js';
import { InvalidArgumentError } from '../errors.js';
import { kernels } from '../runtime/kernels.js';
import type { RuntimeLike } from '../runtime/runtime.js';
import type { LoadedModel } from '../train/checkpoint.js';
import type { MacridVaeConfig } from './config.js';
import { createModel } from './index.js';
import type { Model } from './types.js';

/** A row-major matrix. */
export interface Matrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

function macrid(fn: string, m: LoadedModel): MacridVaeConfig {
  if (m.config.kind !== 'macridvae') {
    throw new InvalidArgumentError(`${fn}() needs a MacridVAE model but got a '${m.config.kind}' model`);
  }
  return m.config;
}

function weight(fn: string, m: LoadedModel, name: string): Matrix {
  const w = m.weights[name];
  if (w === undefined) throw new InvalidArgumentError(`${fn}(): the model has no weight '${name}'`);
  if (w.shape.length !== 2) throw new InvalidArgumentError(`${fn}(): weight '${name}' is not 2-D (shape [${w.shape}])`);
  return { data: w.data, rows: w.shape[0], cols: w.shape[1] };
}

/** `h_i`, `items × d` (a view of the loaded weights; copy before modifying). */
export function itemEmbeddings(m: LoadedModel): Matrix {
  macrid('itemEmbeddings', m);
  return weight('itemEmbeddings', m, 'items');
}

/** `m_k`, `K × d` (a view of the loaded weights). */
export function prototypes(m: LoadedModel): Matrix {
  macrid('prototypes', m);
  return weight('prototypes', m, 'prototypes');
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

/** `c_i = softmax_k(s_ik)`, `s_ik = cos(h_i, m_k)/τ` (or `h_i·m_k/τ` for the inner-product ablation); `items × K`. */
export function conceptAssignment(m: LoadedModel): Matrix {
  const cfg = macrid('conceptAssignment', m);
  const cosine = cfg.similarity === 'cosine';
  const h = cosine ? normalizeRows(itemEmbeddings(m)) : itemEmbeddings(m);
  const p = cosine ? normalizeRows(prototypes(m)) : prototypes(m);
  const K = p.rows;
  const s = kernels.gemm({ a: h.data, b: p.data, m: h.rows, n: K, k: h.cols, transB: true });
  for (let i = 0; i < h.rows; i++) {
    let mx = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < K; k++) mx = Math.max(mx, s[i * K + k] / cfg.tau);
    let z = 0;
    for (let k = 0; k < K; k++) z += s[i * K + k] = Math.exp(s[i * K + k] / cfg.tau - mx);
    for (let k = 0; k < K; k++) s[i * K + k] /= z;
  }
  return { data: s, rows: h.rows, cols: K };
}

/** A tfjs model holding the loaded weights (the caller disposes it; needs a tfjs backend, see `selectBackend`). */
export function instantiate(m: LoadedModel, runtime?: RuntimeLike): Model {
  const model = createModel(m.config, m.items, { seed: 0, runtime });
  model.setWeights(m.weights);
  return model;
}

/** Per-concept user representations `μ` of fold-in rows (`users × K × d`, unit vectors; `z = μ` at evaluation). */
export function userConcepts(
  m: LoadedModel,
  foldIn: Csr,
): { data: Float32Array; users: number; concepts: number; d: number } {
  const cfg = macrid('userConcepts', m);
  const x = checkCsr('userConcepts', 'foldIn', foldIn, undefined, m.items);
  const model = instantiate(m);
  try {
    return { data: model.represent(x).data, users: csrRows(x), concepts: cfg.concepts, d: cfg.d };
  } finally {
    model.dispose();
  }
}
