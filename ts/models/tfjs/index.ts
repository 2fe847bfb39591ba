/**
 * The tfjs training path: each model's step (forward, loss, gradients, Adam update) in TensorFlow.js
 * ops, so that a GPU backend (tfjs-node-gpu's CUDA `tensorflow`, `webgpu`, `webgl`) runs it. The Rust
 * path (`Model.gradients` on the WASM kernels + `Adam` in `../../train/optimizer.ts`) stays the default
 * on CPUs, where it is the fast one; `resolveCompute` picks between them (`--compute auto|wasm|tfjs`).
 *
 * A step here reads the model's variables (`Model.variables`), draws the same noise from the same
 * counter-based streams (`../noise.ts`), and computes what the Rust path computes (parity-tested in
 * `test/unit/tfjs-step.test.ts`). Adam's moments live in tfjs variables on the backend's device; its
 * state converts to and from the `AdamState` of checkpoints, so a run can resume on either path.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type Csr, checkCsr } from '../../csr.js';
import { InvalidArgumentError } from '../../errors.js';
import type { AdamOptions, AdamState } from '../../train/optimizer.js';
import { checkNumber } from '../../validate.js';
import type { MacridVaeConfig, ModelConfig, MultConfig } from '../config.js';
import type { LossTerms, Model, StepGradients, StepOptions } from '../types.js';
import { macridGradients, type TfjsGradients, type TfjsModelView } from './macridvae.js';
import { multGradients } from './mult.js';
import { batchTensors } from './ops.js';

export { multLayers } from './mult.js';

/** Where training steps run: the Rust/WASM kernels or tfjs ops; `auto` picks tfjs on a GPU backend. */
export const COMPUTES = ['auto', 'wasm', 'tfjs'] as const;
export type Compute = (typeof COMPUTES)[number];

/** tfjs backends that run on a GPU (`tensorflow` only when tfjs-node-gpu loaded it). */
const GPU_BACKENDS = ['webgpu', 'webgl'];

/**
 * The compute path for `requested` on the active tfjs backend: `auto` is `tfjs` on a GPU backend
 * (`webgpu`, `webgl`, or `tensorflow` from `@tensorflow/tfjs-node-gpu`, `gpu` true) and `wasm` otherwise.
 */
export function resolveCompute(
  requested: Compute = 'auto',
  backend: { tfBackend: string; gpu: boolean } = { tfBackend: tf.getBackend(), gpu: false },
): { requested: Compute; compute: 'wasm' | 'tfjs'; reason: string } {
  if (!(COMPUTES as readonly string[]).includes(requested)) {
    throw new InvalidArgumentError(`'compute' must be one of ${COMPUTES.join(', ')} but got '${String(requested)}'`);
  }
  if (requested !== 'auto') return { requested, compute: requested, reason: 'requested' };
  const gpu = backend.gpu || GPU_BACKENDS.includes(backend.tfBackend);
  return gpu
    ? { requested, compute: 'tfjs', reason: `tfjs backend '${backend.tfBackend}' runs on a GPU` }
    : {
        requested,
        compute: 'wasm',
        reason: `tfjs backend '${backend.tfBackend}' is a CPU one; the Rust kernels are faster there`,
      };
}

function computeGradients(model: Model, x: Csr, step: StepOptions): TfjsGradients {
  const bt = batchTensors(x);
  switch (model.config.kind) {
    case 'macridvae':
      return macridGradients(model as TfjsModelView<MacridVaeConfig>, bt, step);
    case 'multvae':
    case 'multdae':
      return multGradients(model as TfjsModelView<MultConfig>, bt, step);
  }
}

function gradientTensors(
  model: Model,
  batch: Csr,
  step: StepOptions,
): { terms: tf.Tensor; grads: Map<string, tf.Tensor> } {
  const x = checkCsr('tfjsGradients', 'batch', batch, undefined, model.items);
  const out = tf.tidy(() => {
    const r = computeGradients(model, x, step);
    return { terms: tf.stack([r.nll, r.kl, r.l2]), grads: Object.fromEntries(r.grads) };
  });
  const grads = new Map<string, tf.Tensor>();
  for (const name of model.variables.keys()) grads.set(name, out.grads[name]);
  return { terms: out.terms, grads };
}

/** Loss terms and gradients of one minibatch in tfjs ops (the caller disposes the gradients), like `Model.gradients`. */
export async function tfjsGradients(model: Model, batch: Csr, step: StepOptions): Promise<StepGradients> {
  const { terms, grads } = gradientTensors(model, batch, step);
  return { terms: await termsOf(model.config, step, terms), grads };
}

async function termsOf(config: ModelConfig, step: StepOptions, t: tf.Tensor): Promise<LossTerms> {
  const [nll, kl, l2] = await t.data();
  t.dispose();
  const beta = config.kind === 'multdae' ? 0 : step.beta;
  return { loss: nll + beta * kl + l2, nll, kl, l2, beta };
}

/**
 * Adam in tfjs ops, the same update as `Adam` of `../../train/optimizer.ts` (PyTorch's formulation):
 * `m ← β1 m + (1 − β1) g`, `v ← β2 v + (1 − β2) g²`, `w ← w − lr/(1 − β1ᵗ) · m / (sqrt(v)/sqrt(1 − β2ᵗ) + ε)`.
 */
export class TfjsAdam {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(options: AdamOptions) {
    this.lr = checkNumber('TfjsAdam', 'lr', options.lr, 0);
    this.beta1 = checkNumber('TfjsAdam', 'beta1', options.beta1 ?? 0.9, 0, 1);
    this.beta2 = checkNumber('TfjsAdam', 'beta2', options.beta2 ?? 0.999, 0, 1);
    this.epsilon = checkNumber('TfjsAdam', 'epsilon', options.epsilon ?? 1e-8, 0);
  }

  private slot(map: Map<string, tf.Variable>, name: string, like: tf.Tensor): tf.Variable {
    let s = map.get(name);
    if (!s) {
      s = tf.variable(tf.zeros(like.shape), false);
      map.set(name, s);
    }
    if (s.size !== like.size) {
      throw new InvalidArgumentError(
        `TfjsAdam: the moment of '${name}' has ${s.size} values but the variable ${like.size}`,
      );
    }
    return s;
  }

  /** One update of every variable that has a gradient (`grads` not disposed here). */
  apply(vars: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>): void {
    this.step++;
    const { beta1: b1, beta2: b2, epsilon: eps } = this;
    const stepSize = this.lr / (1 - b1 ** this.step);
    const rb2 = 1 / Math.sqrt(1 - b2 ** this.step);
    for (const [name, g] of grads) {
      const w = vars.get(name);
      if (!w) throw new InvalidArgumentError(`TfjsAdam.apply(): gradient for unknown variable '${name}'`);
      const m = this.slot(this.m, name, w);
      const v = this.slot(this.v, name, w);
      tf.tidy(() => {
        const mi = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
        const vi = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
        m.assign(mi);
        v.assign(vi);
        w.assign(tf.sub(w, tf.div(tf.mul(mi, stepSize), tf.add(tf.mul(tf.sqrt(vi), rb2), eps))));
      });
    }
  }

  getState(): AdamState {
    const moments: AdamState['moments'] = {};
    for (const [kind, map] of [
      ['m', this.m],
      ['v', this.v],
    ] as const) {
      for (const [name, t] of map)
        moments[`${kind}/${name}`] = { shape: [...t.shape], data: t.dataSync() as Float32Array };
    }
    return { step: this.step, moments };
  }

  setState(state: AdamState): void {
    this.dispose();
    this.step = state.step;
    for (const [key, w] of Object.entries(state.moments)) {
      const slash = key.indexOf('/');
      const kind = key.slice(0, slash);
      if (slash < 0 || (kind !== 'm' && kind !== 'v')) {
        throw new InvalidArgumentError(`TfjsAdam.setState(): unknown moment '${key}' (expected m/NAME or v/NAME)`);
      }
      (kind === 'm' ? this.m : this.v).set(
        key.slice(slash + 1),
        tf.tidy(() => tf.variable(tf.tensor(w.data, w.shape), false)),
      );
    }
  }

  dispose(): void {
    for (const t of this.m.values()) t.dispose();
    for (const t of this.v.values()) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/**
 * One optimizer step of `model` on `batch` in tfjs ops: gradients, then the Adam update of the model's
 * variables in place. Returns the loss terms (read back once per step).
 */
export async function tfjsTrainStep(model: Model, adam: TfjsAdam, batch: Csr, step: StepOptions): Promise<LossTerms> {
  const { terms, grads } = gradientTensors(model, batch, step);
  try {
    adam.apply(model.variables, grads);
  } finally {
    for (const g of grads.values()) g.dispose();
  }
  // Read after the update is queued, so a GPU backend is not stalled between the two.
  return termsOf(model.config, step, terms);
}
