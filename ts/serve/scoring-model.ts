/**
 * A stored model's weights in the form the serving kernels read ({@link ScoringModel}, `./engine.ts`):
 * the VAEs' layers, or the reference models' item–item weights (EASE's `B`, ItemKNN's neighbourhoods
 * regrouped by neighbour, popularity's counts, checked as `eval` checks them); MacridVAE's
 * evaluation-time item state computed once: the decoder's item vectors (normalized
 * for cosine) and the concept assignment `c` (`ts/models/item-state.ts`). No TensorFlow.js.
 */
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import { baselineFromWeights, ItemKnnModel } from '../models/baselines.js';
import { type AnyModelConfig, type BaselineConfig, isBaselineKind, type ModelConfig } from '../models/config.js';
import { assignConceptsSoft, normalizeRows } from '../models/item-state.js';
import type { Weights } from '../models/types.js';
import type { ItemWeights } from '../wasm/serve.js';
import type { ItemItemScoring, MultLayer, ScoringModel } from './engine.js';

function copy<T extends Float32Array | Uint32Array>(a: T, shared: boolean): T {
  if (!shared) return a;
  const out = new (a.constructor as new (b: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

function need(weights: Weights, name: string, shape: number[]): Float32Array {
  const w = weights[name];
  if (!w) throw new InvalidArgumentError(`the model has no weight '${name}'`);
  if (w.shape.length !== shape.length || w.shape.some((s, j) => s !== shape[j])) {
    throw new InvalidArgumentError(`weight '${name}' has shape [${w.shape}] but the config implies [${shape}]`);
  }
  return w.data;
}

/**
 * Builds the scoring form of a stored model (`loadModel(dir)`'s `config`, `items` and `weights`).
 * `shared` (default true) puts the arrays in SharedArrayBuffers for the pool. The model gets a fresh
 * `key` (`ScoringKey`): the WASM instances that serve it keep its arrays resident under it.
 */
export function scoringModel(
  m: { config: AnyModelConfig; items: number; weights: Weights },
  options: { shared?: boolean } = {},
): ScoringModel {
  const shared = options.shared ?? true;
  const M = m.items;
  if (isBaselineKind(m.config.kind)) {
    // The same checks and ItemKNN regrouping as the model `eval` scores with.
    const b = baselineFromWeights(m.config as BaselineConfig, M, m.weights);
    const kind = b.config.kind as ItemItemScoring['kind'];
    let weights: ItemWeights;
    if (b instanceof ItemKnnModel) {
      const { w, values } = b.rows;
      weights = {
        kind: 'sparse',
        w: { indptr: copy(w.indptr, shared), indices: copy(w.indices, shared), cols: w.cols },
        values: copy(values, shared),
      };
    } else if (kind === 'ease') weights = { kind: 'dense', w: copy(need(m.weights, 'B', [M, M]), shared) };
    else weights = { kind: 'constant', v: copy(need(m.weights, 'counts', [M]), shared) };
    return { kind, items: M, weights, key: randomUUID() };
  }
  const cfg = m.config as ModelConfig;
  if (cfg.kind === 'macridvae') {
    const { d, concepts: K, tau } = cfg;
    const cosine = cfg.similarity === 'cosine';
    const layerDims = [d, ...cfg.hidden, 2 * d];
    const h = need(m.weights, 'items', [M, d]);
    const p = need(m.weights, 'prototypes', [K, d]);
    const hn = cosine ? normalizeRows({ data: h, rows: M, cols: d }).data : h;
    const c = assignConceptsSoft({ data: h, rows: M, cols: d }, { data: p, rows: K, cols: d }, tau, cosine).data;
    const L = layerDims.length - 1;
    return {
      kind: 'macridvae',
      items: M,
      concepts: K,
      d,
      tau,
      sigma0: cfg.sigma0,
      cosine,
      layerDims,
      hn: copy(hn, shared),
      h: copy(h, shared),
      prototypes: copy(p, shared),
      c: copy(c, shared),
      t: copy(need(m.weights, 'context', [M, d]), shared),
      bias: copy(need(m.weights, 'context_bias', [d]), shared),
      weights: Array.from({ length: L }, (_, j) =>
        copy(need(m.weights, `fnn.${j}.weight`, [layerDims[j], layerDims[j + 1]]), shared),
      ),
      biases: Array.from({ length: L }, (_, j) => copy(need(m.weights, `fnn.${j}.bias`, [layerDims[j + 1]]), shared)),
      key: randomUUID(),
    };
  }
  // The layer stack of `ts/models/multvae.ts`.
  const vae = cfg.kind === 'multvae';
  const enc = [M, ...cfg.hidden, vae ? 2 * cfg.latent : cfg.latent];
  const dec = [cfg.latent, ...[...cfg.hidden].reverse()];
  const layers: MultLayer[] = [];
  for (let j = 0; j + 1 < enc.length; j++) {
    const name = `encoder.${j}`;
    layers.push({
      in: enc[j],
      out: enc[j + 1],
      tanh: !(vae && j + 2 === enc.length),
      w: copy(need(m.weights, `${name}.weight`, [enc[j], enc[j + 1]]), shared),
      b: copy(need(m.weights, `${name}.bias`, [enc[j + 1]]), shared),
    });
  }
  for (let j = 0; j + 1 < dec.length; j++) {
    const name = `decoder.${j}`;
    layers.push({
      in: dec[j],
      out: dec[j + 1],
      tanh: true,
      w: copy(need(m.weights, `${name}.weight`, [dec[j], dec[j + 1]]), shared),
      b: copy(need(m.weights, `${name}.bias`, [dec[j + 1]]), shared),
    });
  }
  const width = dec[dec.length - 1];
  return {
    kind: cfg.kind,
    items: M,
    layers,
    latentLayer: vae ? enc.length - 2 : -1,
    latent: cfg.latent,
    out: {
      d: width,
      w: copy(need(m.weights, 'decoder.out.weight', [M, width]), shared),
      b: copy(need(m.weights, 'decoder.out.bias', [M]), shared),
    },
    key: randomUUID(),
  };
}
