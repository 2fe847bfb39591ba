/**
 * Tensor helpers shared by the models: row-wise L2 normalization with its hand-written gradient, and
 * matrix products through the Rust kernels (any layout, no transposed tfjs product: on tfjs-wasm those
 * run at ~2.5 GFLOP/s and `tf.transpose` of a 3500×100 matrix takes over 100 ms).
 *
 * The models write their backward passes by hand (tfjs-core's Node bundle registers no gradients, and
 * the explicit passes let the fused decoder run asynchronously on the worker pool).
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../errors.js';
import { kernels } from '../runtime/kernels.js';

/** The values of a float32 tensor (a copy on the wasm and GPU backends). */
export function values(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

/** `op(a) · op(b)` for 2-D tensors, computed by the Rust GEMM (`transA`/`transB` use the transposes). */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D, transA = false, transB = false): tf.Tensor2D {
  const [ar, ac] = a.shape;
  const [br, bc] = b.shape;
  const m = transA ? ac : ar;
  const k = transA ? ar : ac;
  const kb = transB ? bc : br;
  const n = transB ? br : bc;
  if (k !== kb) {
    throw new InvalidArgumentError(
      `matMul(): inner dimensions differ: ${transA ? 'aᵀ' : 'a'} is ${m}×${k} but ${transB ? 'bᵀ' : 'b'} is ${kb}×${n}`,
    );
  }
  return tf.tensor2d(kernels.gemm({ a: values(a), b: values(b), m, n, k, transA, transB }), [m, n]);
}

/** Row-wise `y = x / max(‖x‖, 1e-12)` (as `torch.nn.functional.normalize`); `norm` is `rows × 1`. */
export function l2normalize(x: tf.Tensor2D): { y: tf.Tensor2D; norm: tf.Tensor2D } {
  return tf.tidy(() => {
    const norm = tf.maximum(tf.sqrt(tf.sum(tf.square(x), 1, true)), 1e-12) as tf.Tensor2D;
    return { y: tf.div(x, norm) as tf.Tensor2D, norm };
  });
}

/** Gradient of {@link l2normalize}: `dx = (dy − y·Σ_j y_j dy_j) / norm`. */
export function l2normalizeBackward(y: tf.Tensor2D, norm: tf.Tensor2D, dy: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(tf.sub(dy, tf.mul(y, tf.sum(tf.mul(y, dy), 1, true))), norm) as tf.Tensor2D);
}

/** Sum of squares of every element (a number). */
export function sumSquares(ts: tf.Tensor[]): number {
  let s = 0;
  for (const t of ts) {
    const v = tf.tidy(() => tf.sum(tf.square(t)));
    s += v.arraySync() as number;
    v.dispose();
  }
  return s;
}

/**
 * The L2 penalty `λ·Σ‖W‖²` over the named weights, its gradient `2λW` added in place to `grads` (the
 * replaced gradient tensors are disposed); returns the penalty (0 when `l2` is 0).
 */
export function addL2Penalty(
  l2: number,
  names: string[],
  weight: (name: string) => tf.Tensor,
  grads: Map<string, tf.Tensor>,
): number {
  if (!(l2 > 0)) return 0;
  const penalty = l2 * sumSquares(names.map(weight));
  for (const n of names) {
    const g = grads.get(n) as tf.Tensor;
    grads.set(
      n,
      tf.tidy(() => tf.add(g, tf.mul(weight(n), 2 * l2))),
    );
    g.dispose();
  }
  return penalty;
}

/** The mean over `users` of per-user values (a slice step's `loss` or `kl`); 0 users give 0. */
export function perUserMean(values: ArrayLike<number>, users: number): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / Math.max(users, 1);
}

/** The variables' gradients in the variables' order. */
export function inVariableOrder(
  variables: Map<string, unknown>,
  grads: Map<string, tf.Tensor>,
): Map<string, tf.Tensor> {
  const ordered = new Map<string, tf.Tensor>();
  for (const name of variables.keys()) ordered.set(name, grads.get(name) as tf.Tensor);
  return ordered;
}
