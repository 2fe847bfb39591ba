/** Initializers and named-weight plumbing shared by the models. */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../errors.js';
import { mixSeed, Noise } from './noise.js';

/** Stream of initialization noise `stream` of run seed `seed` (kept apart from the training streams). */
function initNoise(seed: number, stream: number): Noise {
  return new Noise(mixSeed(seed, 0x1417), stream);
}

/** Xavier/Glorot normal, `std = sqrt(2 / (rows + cols))` (PyTorch's `xavier_normal_`, used by the reference). */
export function xavierNormal(
  seed: number,
  stream: number,
  rows: number,
  cols: number,
): { shape: number[]; data: Float32Array } {
  const data = initNoise(seed, stream).normal(rows * cols);
  const std = Math.sqrt(2 / (rows + cols));
  for (let i = 0; i < data.length; i++) data[i] *= std;
  return { shape: [rows, cols], data };
}

/** Xavier/Glorot uniform on `±sqrt(6 / (rows + cols))` (TensorFlow's default `xavier_initializer`, used by Liang et al.). */
export function glorotUniform(
  seed: number,
  stream: number,
  rows: number,
  cols: number,
): { shape: number[]; data: Float32Array } {
  const limit = Math.sqrt(6 / (rows + cols));
  return { shape: [rows, cols], data: initNoise(seed, stream).uniform(rows * cols, -limit, limit) };
}

/** `N(0, 0.001²)` biases (the reference's and Liang et al.'s bias initialization). */
export function smallNormal(seed: number, stream: number, n: number): { shape: number[]; data: Float32Array } {
  const data = initNoise(seed, stream).normal(n);
  for (let i = 0; i < n; i++) data[i] *= 1e-3;
  return { shape: [n], data };
}

/** Trainable variables from named initial values, in the given order. */
export function createVariables(
  init: Record<string, { shape: number[]; data: Float32Array }>,
): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const [name, w] of Object.entries(init)) {
    out.set(
      name,
      tf.tidy(() => tf.variable(tf.tensor(w.data, w.shape), true)),
    );
  }
  return out;
}

/** Copies of the variables' values. */
export function readWeights(
  vars: ReadonlyMap<string, tf.Variable>,
): Record<string, { shape: number[]; data: Float32Array }> {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, v] of vars) out[name] = { shape: [...v.shape], data: (v.dataSync() as Float32Array).slice() };
  return out;
}

/** Checks that `weights` has exactly the variables' names and shapes. */
export function checkWeights(
  fn: string,
  vars: ReadonlyMap<string, tf.Variable>,
  weights: Record<string, { shape: number[]; data: Float32Array }>,
): void {
  for (const [name, v] of vars) {
    const w = weights[name];
    if (!w) throw new InvalidArgumentError(`${fn}: weight '${name}' is missing`);
    if (w.shape.length !== v.shape.length || w.shape.some((s, i) => s !== v.shape[i])) {
      throw new InvalidArgumentError(`${fn}: weight '${name}' has shape [${w.shape}] but the model needs [${v.shape}]`);
    }
    if (!(w.data instanceof Float32Array) || w.data.length !== v.size) {
      throw new InvalidArgumentError(`${fn}: weight '${name}' must be a Float32Array of ${v.size} values`);
    }
  }
  for (const name of Object.keys(weights)) {
    if (!vars.has(name)) throw new InvalidArgumentError(`${fn}: unknown weight '${name}'`);
  }
}

/** Assigns `weights` to the variables of the same names (checked by {@link checkWeights} first). */
export function assignWeights(
  vars: ReadonlyMap<string, tf.Variable>,
  weights: Record<string, { shape: number[]; data: Float32Array }>,
): void {
  for (const [name, v] of vars) tf.tidy(() => v.assign(tf.tensor(weights[name].data, weights[name].shape)));
}
