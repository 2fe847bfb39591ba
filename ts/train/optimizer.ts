/**
 * Adam (Kingma & Ba 2015) over named tfjs variables, with its state exposed for checkpoints.
 *
 * Update, per variable (PyTorch's formulation, which both reference implementations use):
 * `m ← β1 m + (1 − β1) g`, `v ← β2 v + (1 − β2) g²`, `w ← w − lr · (m / (1 − β1ᵗ)) / (sqrt(v / (1 − β2ᵗ)) + ε)`.
 * Defaults: β1 = 0.9, β2 = 0.999, ε = 1e-8 (PyTorch's and TensorFlow's Adam, used by both papers' code).
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../errors.js';
import type { Weights } from '../models/types.js';
import { checkNumber } from '../validate.js';

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
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(options: AdamOptions) {
    this.lr = checkNumber('Adam', 'lr', options.lr, 0);
    this.beta1 = checkNumber('Adam', 'beta1', options.beta1 ?? 0.9, 0, 1);
    this.beta2 = checkNumber('Adam', 'beta2', options.beta2 ?? 0.999, 0, 1);
    this.epsilon = checkNumber('Adam', 'epsilon', options.epsilon ?? 1e-8, 0);
  }

  private slot(map: Map<string, tf.Variable>, name: string, like: tf.Tensor): tf.Variable {
    let s = map.get(name);
    if (!s) {
      s = tf.tidy(() => tf.variable(tf.zerosLike(like), false));
      map.set(name, s);
    }
    return s;
  }

  /** One update of every variable that has a gradient (`grads` keyed like `vars`; not disposed here). */
  apply(vars: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>): void {
    this.step++;
    const bc1 = 1 - this.beta1 ** this.step;
    const bc2 = 1 - this.beta2 ** this.step;
    for (const [name, g] of grads) {
      const w = vars.get(name);
      if (!w) throw new InvalidArgumentError(`Adam.apply(): gradient for unknown variable '${name}'`);
      const m = this.slot(this.m, name, w);
      const v = this.slot(this.v, name, w);
      tf.tidy(() => {
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
        v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        const denom = tf.add(tf.sqrt(tf.div(v, bc2)), this.epsilon);
        w.assign(tf.sub(w, tf.div(tf.mul(m, this.lr / bc1), denom)));
      });
    }
  }

  getState(): AdamState {
    const moments: Weights = {};
    for (const [name, m] of this.m)
      moments[`m/${name}`] = { shape: [...m.shape], data: (m.dataSync() as Float32Array).slice() };
    for (const [name, v] of this.v)
      moments[`v/${name}`] = { shape: [...v.shape], data: (v.dataSync() as Float32Array).slice() };
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
      (kind === 'm' ? this.m : this.v).set(
        name,
        tf.tidy(() => tf.variable(tf.tensor(w.data, w.shape), false)),
      );
    }
  }

  dispose(): void {
    for (const s of [...this.m.values(), ...this.v.values()]) s.dispose();
    this.m.clear();
    this.v.clear();
  }
}
