/**
 * The trainer's hook for where an optimizer step runs (`--compute auto|wasm|tfjs`):
 *
 * - `wasm`: the model's own `gradients` (Rust/WASM kernels, hand-written backward) and `Adam` over
 *   Float32Arrays — the fast path on CPUs;
 * - `tfjs`: the same step in TensorFlow.js ops (`../models/tfjs/`), so a GPU backend runs it.
 *
 * Both draw the same noise from the same counter-based streams and compute the same gradients (to
 * float32 rounding), and both optimizers read and write the same `AdamState`, so a checkpoint written by
 * one path resumes on the other.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Csr } from '../csr.js';
import { lap } from '../models/profile.js';
import { type Compute, resolveCompute, TfjsAdam, tfjsTrainStep } from '../models/tfjs/index.js';
import type { LossTerms, Model, StepOptions } from '../models/types.js';
import { Adam, type AdamState } from './optimizer.js';

/** Which path the steps of a run take, and why (recorded in the model directory's manifest). */
export interface ComputeInfo {
  requested: Compute;
  path: 'wasm' | 'tfjs';
  /** tfjs's name of the active backend. */
  tfBackend: string;
  reason: string;
}

export interface StepRunner {
  readonly info: ComputeInfo;
  /** One optimizer step on `batch`: gradients, then the Adam update of the model's variables. */
  step(batch: Csr, options: StepOptions): Promise<LossTerms>;
  getState(): AdamState;
  setState(state: AdamState): void;
  dispose(): void;
}

/** Whether the active tfjs backend computes on a GPU (tfjs-node-gpu's `tensorflow` reports it). */
export function backendOnGpu(): boolean {
  const name = tf.getBackend();
  if (name === 'webgpu' || name === 'webgl') return true;
  return name === 'tensorflow' && (tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
}

/** The compute path for `requested` on the active backend (see `resolveCompute`). */
export function computeInfo(requested: Compute = 'auto'): ComputeInfo {
  const tfBackend = tf.getBackend();
  const r = resolveCompute(requested, { tfBackend, gpu: backendOnGpu() });
  return { requested, path: r.compute, tfBackend, reason: r.reason };
}

/** A step runner for `model` with Adam at learning rate `lr` on the path `requested` resolves to. */
export function createStepRunner(model: Model, lr: number, requested: Compute = 'auto'): StepRunner {
  const info = computeInfo(requested);
  if (info.path === 'tfjs') {
    const adam = new TfjsAdam({ lr });
    return {
      info,
      step: (batch, options) => tfjsTrainStep(model, adam, batch, options),
      getState: () => adam.getState(),
      setState: (s) => adam.setState(s),
      dispose: () => adam.dispose(),
    };
  }
  const adam = new Adam({ lr });
  return {
    info,
    async step(batch, options) {
      const { terms, grads } = await model.gradients(batch, options);
      const t = performance.now();
      adam.apply(model.variables, grads);
      for (const g of grads.values()) g.dispose();
      lap('optimizer', t);
      return terms;
    },
    getState: () => adam.getState(),
    setState: (s) => adam.setState(s),
    dispose: () => adam.dispose(),
  };
}
