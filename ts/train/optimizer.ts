/**
 * Adam (Kingma & Ba 2015) over named tfjs variables, with its state exposed for checkpoints. The moments
 * live in plain Float32Arrays and the update is one fused loop per variable (read the weights and the
 * gradient once, write the weights once): on the wasm backend that is ~5× faster than the same update as
 * seven tfjs ops, and the state needs no copy to be checkpointed.
 *
 * Update, per variable (PyTorch's formulation, which both reference implementations use):
 * `m ← β1 m + (1 − β1) g`, `v ← β2 v + (1 − β2) g²`, `w ← w − lr · (m / (1 − β1ᵗ)) / (sqrt(v / (1 − β2ᵗ)) + ε)`.
 * Defaults: β1 = 0.9, β2 = 0.999, ε = 1e-8 (PyTorch's and TensorFlow's Adam, used by both papers' code).
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../errors.js';
import type { Weights } from '../models/types.js';
import { checkNumber, checkObject } from '../validate.js';

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** Adam's state: the step count and the moment estimates (`m/NAME`, `v/NAME`). */
export interface AdamState {
  step: number;
  moments: Weights;
}

export class Adam {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** Updates applied so far. */
  step = 0;
  private readonly m = new Map<string, { shape: number[]; data: Float32Array }>();
  private readonly v = new Map<string, { shape: number[]; data: Float32Array }>();

  constructor(options: AdamOptions) {
    checkObject('Adam', 'options', options, '{lr, …}');
    this.lr = checkNumber('Adam', 'lr', options.lr, 0);
    this.beta1 = checkNumber('Adam', 'beta1', options.beta1 ?? 0.9, 0, 1);
    this.beta2 = checkNumber('Adam', 'beta2', options.beta2 ?? 0.999, 0, 1);
    this.epsilon = checkNumber('Adam', 'epsilon', options.epsilon ?? 1e-8, 0);
  }

  private slot(map: Map<string, { shape: number[]; data: Float32Array }>, name: string, like: tf.Tensor): Float32Array {
    let s = map.get(name);
    if (!s) {
      s = { shape: [...like.shape], data: new Float32Array(like.size) };
      map.set(name, s);
    }
    if (s.data.length !== like.size) {
      throw new InvalidArgumentError(
        `Adam: the moment of '${name}' has ${s.data.length} values but the variable ${like.size}`,
      );
    }
    return s.data;
  }

  /** One update of every variable that has a gradient (`grads` keyed like `vars`; not disposed here). */
  apply(vars: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>): void {
    this.step++;
    const { beta1: b1, beta2: b2, epsilon: eps } = this;
    const a1 = 1 - b1;
    const a2 = 1 - b2;
    const stepSize = this.lr / (1 - b1 ** this.step);
    const rb2 = 1 / Math.sqrt(1 - b2 ** this.step);
    for (const [name, g] of grads) {
      const w = vars.get(name);
      if (!w) throw new InvalidArgumentError(`Adam.apply(): gradient for unknown variable '${name}'`);
      const m = this.slot(this.m, name, w);
      const v = this.slot(this.v, name, w);
      const wd = w.dataSync() as Float32Array; // a copy on every backend
      const gd = g.dataSync() as Float32Array;
      for (let i = 0; i < wd.length; i++) {
        const gi = gd[i];
        const mi = b1 * m[i] + a1 * gi;
        const vi = b2 * v[i] + a2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        wd[i] -= (stepSize * mi) / (Math.sqrt(vi) * rb2 + eps);
      }
      tf.tidy(() => w.assign(tf.tensor(wd, w.shape)));
    }
  }

  getState(): AdamState {
    const moments: Weights = {};
    for (const [name, m] of this.m) moments[`m/${name}`] = { shape: [...m.shape], data: m.data.slice() };
    for (const [name, v] of this.v) moments[`v/${name}`] = { shape: [...v.shape], data: v.data.slice() };
    return { step: this.step, moments };
  }

  setState(state: AdamState): void {
    this.dispose();
    this.step = state.step;
    for (const [key, w] of Object.entries(state.moments)) {
      const slash = key.indexOf('/');
      const kind = key.slice(0, slash);
      const name = key.slice(slash + 1);
      if (slash < 0 || (kind !== 'm' && kind !== 'v')) {
        throw new InvalidArgumentError(`Adam.setState(): unknown moment '${key}' (expected m/NAME or v/NAME)`);
      }
      (kind === 'm' ? this.m : this.v).set(name, { shape: [...w.shape], data: w.data.slice() });
    }
  }

  /** Drops the moments (kept for symmetry with tfjs optimizers; they hold no tensors). */
  dispose(): void {
    this.m.clear();
    this.v.clear();
  }
}
