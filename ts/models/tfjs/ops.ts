/**
 * TensorFlow.js building blocks of the tfjs training path (see `./index.ts`): the batch as tensors,
 * dense layers, row-wise L2 normalization and the fused multinomial decoder (full and sampled softmax),
 * each with its hand-written backward pass in tfjs ops. They compute exactly what the Rust kernels of
 * `crates/macrid-core/src/nn.rs` compute (same formulas, same floors), so a step here equals the Rust
 * path's step to float32 rounding.
 *
 * Why hand-written: tfjs-core's Node bundle registers no gradients, and its separate
 * `register_all_gradients` module is an ESM build with extensionless imports that Node cannot load.
 * The explicit passes also keep the memory of a step to what the formulas need.
 *
 * Layouts (row-major): user concept vectors `z` are `(B·K) × d` with row `b·K + k`; item matrices are
 * `M × d`; concept assignments `c` are `M × K` (and `cT`, `K × M`, small). The `B·K × M` blocks (logits,
 * their gradient, the encoder's masked input) are never transposed: products that need a transpose go
 * through {@link mmNT} / {@link mmTN}, which use `matMul`'s `transposeA`/`transposeB` flags (handled
 * inside the kernel on the GPU backends and `cpu`), except on `wasm`, whose transposed products run
 * ~12× slower than plain ones (measured: 1000×100 · (5697×100)ᵀ 3.9 s with the flag, 0.33 s with the
 * 5697×100 operand transposed first): there the smaller side — an `M × d` item matrix, a `B·K × d` user
 * matrix or the result — is transposed and the product is a plain one. Per-user and per-item sums over
 * the clicks use `scatterND` (it adds duplicate indices on every backend), the one segment sum every
 * backend has.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type Csr, csrRows } from '../../csr.js';
import type { SampledNegatives } from '../../wasm/nn.js';

/** Backends whose transposed `matMul` is much slower than a transpose plus a plain product. */
const SLOW_TRANSPOSED_PRODUCT = new Set(['wasm']);

/** `a · bᵀ` for `a` `m × k`, `b` `n × k` (see the module doc for how the transpose is done). */
export function mmNT(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (!SLOW_TRANSPOSED_PRODUCT.has(tf.getBackend())) return tf.matMul(a, b, false, true);
  const [m, k] = a.shape;
  const n = b.shape[0];
  return n * k <= m * k + m * n
    ? tf.matMul(a, tf.transpose(b))
    : (tf.transpose(tf.matMul(b, tf.transpose(a))) as tf.Tensor2D);
}

/** `aᵀ · b` for `a` `k × m`, `b` `k × n` (see the module doc for how the transpose is done). */
export function mmTN(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (!SLOW_TRANSPOSED_PRODUCT.has(tf.getBackend())) return tf.matMul(a, b, true, false);
  const [k, m] = a.shape;
  const n = b.shape[1];
  return k * m <= k * n + m * n
    ? tf.matMul(tf.transpose(a), b)
    : (tf.transpose(tf.matMul(tf.transpose(b), a)) as tf.Tensor2D);
}

/** Floor applied to `q` before dividing by it or taking its log (as `TINY` in `nn.rs`). */
export const TINY = 1e-30;

/** A batch of clicks as tensors (build inside a `tf.tidy`). */
export interface BatchTensors {
  users: number;
  items: number;
  nnz: number;
  /** `nnz × 2` int32: `(b, i)` of every click, in CSR order. */
  pairs: tf.Tensor2D;
  /** `nnz × 1` int32 user of each click, and `nnz × 1` int32 item of each click (scatter indices). */
  rowOf: tf.Tensor2D;
  itemOf: tf.Tensor2D;
  /** The clicks as a dense `B × M` 0/1 matrix. */
  x: tf.Tensor2D;
  /** Clicks per user, `B × 1`. */
  counts: tf.Tensor2D;
  /** The host arrays (for building noise-dependent indices). */
  csr: Csr;
  rows: Int32Array;
  cols: Int32Array;
}

export function batchTensors(x: Csr): BatchTensors {
  const users = csrRows(x);
  const nnz = x.indices.length;
  const rows = new Int32Array(nnz);
  const cols = new Int32Array(nnz);
  const pairs = new Int32Array(2 * nnz);
  const counts = new Float32Array(users);
  for (let b = 0; b < users; b++) {
    counts[b] = x.indptr[b + 1] - x.indptr[b];
    for (let p = x.indptr[b]; p < x.indptr[b + 1]; p++) {
      rows[p] = b;
      cols[p] = x.indices[p];
      pairs[2 * p] = b;
      pairs[2 * p + 1] = x.indices[p];
    }
  }
  const pairsT = tf.tensor2d(pairs, [nnz, 2], 'int32');
  return {
    users,
    items: x.cols,
    nnz,
    pairs: pairsT,
    rowOf: tf.tensor2d(rows, [nnz, 1], 'int32'),
    itemOf: tf.tensor2d(cols, [nnz, 1], 'int32'),
    x: tf.scatterND(pairsT, tf.ones([nnz]), [users, x.cols]) as tf.Tensor2D,
    counts: tf.tensor2d(counts, [users, 1]),
    csr: x,
    rows,
    cols,
  };
}

/** Row-wise `y = x / max(‖x‖, 1e-12)`; `norm` is `rows × 1`. */
export function l2n(x: tf.Tensor2D): { y: tf.Tensor2D; norm: tf.Tensor2D } {
  const norm = tf.maximum(tf.sqrt(tf.sum(tf.square(x), 1, true)), 1e-12) as tf.Tensor2D;
  return { y: tf.div(x, norm), norm };
}

/** Gradient of {@link l2n}: `dx = (dy − y·Σ_j y_j dy_j) / norm`. */
export function l2nBackward(y: tf.Tensor2D, norm: tf.Tensor2D, dy: tf.Tensor2D): tf.Tensor2D {
  return tf.div(tf.sub(dy, tf.mul(y, tf.sum(tf.mul(y, dy), 1, true))), norm);
}

/** `y = act((x·W + b) ⊙ mask)` (as `dense_forward` in `nn.rs`). */
export function denseForward(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  b: tf.Tensor1D,
  mask: tf.Tensor2D | undefined,
  tanh: boolean,
): tf.Tensor2D {
  let v = tf.add(tf.matMul(x, w), b) as tf.Tensor2D;
  if (mask) v = tf.mul(v, mask);
  return tanh ? tf.tanh(v) : v;
}

/** Backward pass of {@link denseForward} given its output `y` and `dy`. */
export function denseBackward(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  y: tf.Tensor2D,
  mask: tf.Tensor2D | undefined,
  tanh: boolean,
  dy: tf.Tensor2D,
  wantDx = true,
): { dx?: tf.Tensor2D; dw: tf.Tensor2D; db: tf.Tensor1D } {
  let dpre: tf.Tensor2D = tanh ? tf.mul(dy, tf.sub(1, tf.square(y))) : dy;
  if (mask) dpre = tf.mul(dpre, mask);
  return {
    dw: mmTN(x, dpre),
    db: tf.sum(dpre, 0) as tf.Tensor1D,
    dx: wantDx ? mmNT(dpre, w) : undefined,
  };
}

/** The decoder's inputs (see `MixDecoder` in `nn.rs`): `l = scale·z·hᵀ + bias`, `q = Σ_k c·e^l`. */
export interface DecoderInputs {
  /** `(B·K) × d`. */
  z: tf.Tensor2D;
  /** `M × d`. */
  h: tf.Tensor2D;
  concepts: number;
  /** `M × K` and its transpose `K × M` (both absent when `K` is 1). */
  c?: tf.Tensor2D;
  cT?: tf.Tensor2D;
  /** `M`. */
  bias?: tf.Tensor1D;
  scale: number;
  /** An upper bound on every logit, used as the shift before `exp` (else each user's maximum). */
  bound?: number;
  /** Gradients are those of `gradScale · Σ_b loss_b`. */
  gradScale: number;
}

export interface DecoderGrads {
  /** Per-user loss `−Σ_{i∈x_b} log p(i | b)`, `B`. */
  loss: tf.Tensor1D;
  dz: tf.Tensor2D;
  dh: tf.Tensor2D;
  /** `M × K` (when `c` was given). */
  dc?: tf.Tensor2D;
  /** `M` (when `bias` was given). */
  dbias?: tf.Tensor1D;
}

/**
 * The full softmax over all items: `log p = log q − log Σ_j q_j`, loss `−Σ_{i∈x_b} log p_bi`, and with
 * `G_bi = g·(n_b/Q_b − x_bi/q_bi)` the gradient of the logits is `G·c·e` (one dense `B·K × M` block).
 */
export function decoderFull(a: DecoderInputs, bt: BatchTensors): DecoderGrads {
  const K = a.concepts;
  const B = bt.users;
  const M = bt.items;
  let l = mmNT(a.z, a.h);
  if (a.scale !== 1) l = tf.mul(l, a.scale);
  if (a.bias) l = tf.add(l, a.bias);
  const l3 = tf.reshape(l, [B, K, M]);
  const shift = a.bound !== undefined ? tf.scalar(a.bound) : tf.max(l3, [1, 2], true);
  const e3 = tf.exp(tf.sub(l3, shift)) as tf.Tensor3D;
  const q = (
    K === 1 ? tf.reshape(e3, [B, M]) : tf.sum(tf.mul(e3, tf.expandDims(a.cT as tf.Tensor2D, 0)), 1)
  ) as tf.Tensor2D;
  const qf = tf.maximum(q, TINY);
  const qsum = tf.maximum(tf.sum(q, 1, true), TINY);
  const loss = tf.reshape(tf.sub(tf.mul(bt.counts, tf.log(qsum)), tf.sum(tf.mul(bt.x, tf.log(qf)), 1, true)), [B]);
  const g = tf.mul(tf.sub(tf.div(bt.counts, qsum), tf.div(bt.x, qf)), a.gradScale);
  const eg = tf.mul(e3, tf.expandDims(g, 1)) as tf.Tensor3D;
  const dl3 = K === 1 ? eg : tf.mul(eg, tf.expandDims(a.cT as tf.Tensor2D, 0));
  const dl = tf.reshape(dl3, [B * K, M]) as tf.Tensor2D;
  const dls: tf.Tensor2D = a.scale === 1 ? dl : tf.mul(dl, a.scale);
  return {
    loss: loss as tf.Tensor1D,
    dz: tf.matMul(dls, a.h),
    dh: mmTN(dls, a.z),
    dc: a.c ? (tf.transpose(tf.sum(eg, 0)) as tf.Tensor2D) : undefined,
    dbias: a.bias ? (tf.sum(dl, 0) as tf.Tensor1D) : undefined,
  };
}

/**
 * The sampled softmax of `MixDecoder::train_sampled`: user `b`'s normalizer is the sum over its own
 * clicks plus the shared draws `n_j` weighted by `w_j = e^{logWeight_j}`, a draw that is one of `b`'s
 * clicks dropped for `b`. Loss `−Σ_{i∈x_b} log(q_bi / total_b)`; gradients are dense-shaped but
 * non-zero only on clicked and drawn items (scattered back with `scatterND`).
 */
export function decoderSampled(a: DecoderInputs, bt: BatchTensors, sampled: SampledNegatives): DecoderGrads {
  const K = a.concepts;
  const B = bt.users;
  const M = bt.items;
  const d = a.z.shape[1];
  const S = sampled.items.length;
  const nnz = bt.nnz;
  // Host: which draws are each user's own clicks (dropped from its normalizer).
  const keepDraw = new Float32Array(B * S).fill(1);
  const drawsOf = new Map<number, number[]>();
  sampled.items.forEach((i, j) => {
    const list = drawsOf.get(i);
    if (list) list.push(j);
    else drawsOf.set(i, [j]);
  });
  for (let p = 0; p < nnz; p++) {
    const list = drawsOf.get(bt.cols[p]);
    if (list) for (const j of list) keepDraw[bt.rows[p] * S + j] = 0;
  }
  const negIdx = tf.tensor1d(Int32Array.from(sampled.items), 'int32');
  const negScatter = tf.reshape(negIdx, [S, 1]);
  const hN = tf.gather(a.h, negIdx) as tf.Tensor2D;
  const bN = a.bias ? tf.add(tf.gather(a.bias, negIdx), sampled.logWeight) : tf.tensor1d(sampled.logWeight);
  let lN = mmNT(a.z, hN);
  if (a.scale !== 1) lN = tf.mul(lN, a.scale);
  const lN3 = tf.reshape(tf.add(lN, bN), [B, K, S]);
  // Positives: each click's K logits from its user's rows.
  const zP = tf.reshape(tf.gather(tf.reshape(a.z, [B, K * d]), tf.reshape(bt.rowOf, [nnz])), [nnz, K, d]);
  const itemIdx = tf.reshape(bt.itemOf, [nnz]);
  const hP = tf.gather(a.h, itemIdx) as tf.Tensor2D;
  let lP = tf.sum(tf.mul(zP, tf.expandDims(hP, 1)), 2) as tf.Tensor2D;
  if (a.scale !== 1) lP = tf.mul(lP, a.scale);
  if (a.bias) lP = tf.add(lP, tf.expandDims(tf.gather(a.bias, itemIdx), 1));
  // Shift per user: the largest logit among its draws and its clicks (any shift is exact; this one is safe).
  const negMax = tf.reshape(tf.max(lN3, [1, 2]), [B, 1]);
  let shift = negMax;
  if (nnz > 0) {
    // Per-user maximum of the clicks' logits: scattered above 0 into a dense B × M block, then a row max.
    const lPmax = tf.max(lP, 1);
    const floor = tf.sub(tf.min(lPmax), 1);
    const posMax = tf.add(tf.max(tf.scatterND(bt.pairs, tf.sub(lPmax, floor), [B, M]), 1, true), floor);
    shift = tf.maximum(negMax, posMax);
  }
  const keep = tf.tensor2d(keepDraw, [B, S]);
  const eN3 = tf.mul(tf.exp(tf.sub(lN3, tf.expandDims(shift, 2))), tf.expandDims(keep, 1)) as tf.Tensor3D;
  const cNT = a.c ? (tf.transpose(tf.gather(a.c, negIdx)) as tf.Tensor2D) : undefined;
  const qN = (
    K === 1 ? tf.reshape(eN3, [B, S]) : tf.sum(tf.mul(eN3, tf.expandDims(cNT as tf.Tensor2D, 0)), 1)
  ) as tf.Tensor2D;
  const shiftP = tf.gather(shift, tf.reshape(bt.rowOf, [nnz]));
  const eP = tf.exp(tf.sub(lP, shiftP)) as tf.Tensor2D;
  const cP = a.c ? (tf.gather(a.c, itemIdx) as tf.Tensor2D) : undefined;
  const qP = tf.maximum(cP ? tf.sum(tf.mul(eP, cP), 1) : tf.reshape(eP, [nnz]), TINY) as tf.Tensor1D;
  const perUser = (v: tf.Tensor1D) => tf.reshape(tf.scatterND(bt.rowOf, v, [B]), [B, 1]);
  const total = tf.maximum(tf.add(tf.sum(qN, 1, true), perUser(qP)), TINY);
  const loss = tf.reshape(tf.sub(tf.mul(bt.counts, tf.log(total)), perUser(tf.log(qP) as tf.Tensor1D)), [B]);
  const coefUser = tf.div(tf.mul(bt.counts, a.gradScale), total); // a_b, B × 1
  // Negatives (dense): dl = a_b·c·e, dc += a_b·e, dbias += a_b·q.
  const egN = tf.mul(eN3, tf.expandDims(coefUser, 2)) as tf.Tensor3D;
  const dlN3 = cNT ? tf.mul(egN, tf.expandDims(cNT, 0)) : egN;
  let dlN = tf.reshape(dlN3, [B * K, S]) as tf.Tensor2D;
  if (a.scale !== 1) dlN = tf.mul(dlN, a.scale);
  // Positives (sparse): coefficient a_b − g/q_i.
  const coefP = tf.sub(tf.gather(tf.reshape(coefUser, [B]), tf.reshape(bt.rowOf, [nnz])), tf.div(a.gradScale, qP));
  const egP = tf.mul(eP, tf.expandDims(coefP, 1)) as tf.Tensor2D;
  let dlP = cP ? tf.mul(egP, cP) : egP;
  if (a.scale !== 1) dlP = tf.mul(dlP, a.scale);
  const dzP = tf.reshape(tf.mul(tf.expandDims(dlP, 2), tf.expandDims(hP, 1)), [nnz, K * d]);
  const dz = tf.add(tf.matMul(dlN, hN), tf.reshape(tf.scatterND(bt.rowOf, dzP, [B, K * d]), [B * K, d]));
  const dhP = tf.sum(tf.mul(tf.expandDims(dlP, 2), zP), 1);
  const dh = tf.add(tf.scatterND(negScatter, mmTN(dlN, a.z), [M, d]), tf.scatterND(bt.itemOf, dhP, [M, d]));
  let dc: tf.Tensor2D | undefined;
  if (a.c) {
    const dcN = tf.transpose(tf.sum(egN, 0));
    dc = tf.add(tf.scatterND(negScatter, dcN, [M, K]), tf.scatterND(bt.itemOf, egP, [M, K])) as tf.Tensor2D;
  }
  let dbias: tf.Tensor1D | undefined;
  if (a.bias) {
    const dbN = tf.sum(tf.mul(qN, coefUser), 0);
    dbias = tf.add(tf.scatterND(negScatter, dbN, [M]), tf.scatterND(bt.itemOf, tf.mul(coefP, qP), [M])) as tf.Tensor1D;
  }
  return { loss: loss as tf.Tensor1D, dz: dz as tf.Tensor2D, dh: dh as tf.Tensor2D, dc, dbias };
}

/** The full or sampled decoder. */
export function decoder(a: DecoderInputs, bt: BatchTensors, sampled: SampledNegatives | undefined): DecoderGrads {
  return sampled ? decoderSampled(a, bt, sampled) : decoderFull(a, bt);
}

/** `λ·Σ‖W‖²` over `names` and `grads[name] += 2λW` (weights, not biases). */
export function l2Penalty(
  vars: ReadonlyMap<string, tf.Variable>,
  names: string[],
  lambda: number,
  grads: Map<string, tf.Tensor>,
): tf.Scalar {
  if (lambda <= 0) return tf.scalar(0);
  let sum = tf.scalar(0);
  for (const n of names) {
    const w = vars.get(n) as tf.Variable;
    sum = tf.add(sum, tf.sum(tf.square(w)));
    grads.set(n, tf.add(grads.get(n) as tf.Tensor, tf.mul(w, 2 * lambda)));
  }
  return tf.mul(sum, lambda);
}
