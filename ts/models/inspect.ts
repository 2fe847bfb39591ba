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
import type { RuntimeLike } from '../runtime/runtime.js';
import type { LoadedModel } from '../train/checkpoint.js';
import { checkObject } from '../validate.js';
import type { MacridVaeConfig } from './config.js';
import { createModel } from './index.js';
import { assignConceptsSoft, type Matrix } from './item-state.js';

export { type Matrix, normalizeRows } from './item-state.js';

import type { Model } from './types.js';

function macrid(fn: string, m: LoadedModel): MacridVaeConfig {
  loaded(fn, m);
  if (m.config.kind !== 'macridvae') {
    throw new InvalidArgumentError(`${fn}() needs a MacridVAE model but got a '${m.config.kind}' model`);
  }
  return m.config;
}

/** Refuses anything but a loaded model (`loadModel`) with the typed error. */
function loaded(fn: string, m: LoadedModel): void {
  checkObject(fn, 'm', m, 'a loaded model (loadModel)');
  checkObject(fn, 'm.config', m.config, 'a model config');
  checkObject(fn, 'm.weights', m.weights, 'named weights');
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

/** `c_i = softmax_k(s_ik)`, `s_ik = cos(h_i, m_k)/τ` (or `h_i·m_k/τ` for the inner-product ablation); `items × K`. */
export function conceptAssignment(m: LoadedModel): Matrix {
  const cfg = macrid('conceptAssignment', m);
  return assignConceptsSoft(itemEmbeddings(m), prototypes(m), cfg.tau, cfg.similarity === 'cosine');
}

/** A tfjs model holding the loaded weights (the caller disposes it; needs a tfjs backend, see `selectBackend`). */
export function instantiate(m: LoadedModel, runtime?: RuntimeLike): Model {
  loaded('instantiate', m);
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
