/**
 * Inference without TensorFlow.js: a trained model's weights as plain arrays ({@link ScoringModel}) and
 * one kernel call per group of users ({@link scoreTopK}) that encodes the users' histories (fold-in),
 * scores every item with the model's decoder and keeps each user's top k — all on the Rust/WASM
 * kernels, so it runs on the calling thread or inside a pool worker (`KernelPool.run('serveTopK', …)`).
 *
 * Formulas (evaluation mode, as `Model.score`; layouts in `docs/model-format.md`):
 *
 * - MacridVAE: `c_i = softmax_k(cos(h_i, m_k)/τ)`; per concept `v_k = Σ_{i∈x} c_ik t_i / sqrt(Σ c_ik² + 1e-8)
 *   + bias`, `[a, b] = f_nn(tanh(v_k))`, `z_k = μ_k = a/‖a‖`; score
 *   `log Σ_k w_k c_ik exp(z_k·h_i/(‖h_i‖τ))` minus its log-sum-exp over items, with concept weights
 *   `w_k` (all 1 for the model itself; 0 mutes concept k).
 * - β-MultVAE / MultDAE: the sparse first layer on `x/‖x‖`, tanh layers, `z = μ`, then
 *   `log_softmax(z·Wᵀ + b)` over items.
 * - The reference models ({@link ItemItemScoring}): EASE `x_u·B`, ItemKNN `Σ_{r ∈ x_u ∩ N(c)} s_rc`,
 *   popularity the training counts — the scores `eval` ranks by (`ts/models/baselines.ts`), with the
 *   top k kept per user in the same Rust call (`itemTopK`, `crates/macrid-core/src/serve.rs`).
 *
 * {@link scoringModel} (`./scoring-model.ts`) builds a {@link ScoringModel} from a stored model; its arrays
 * live in SharedArrayBuffers, so passing the model to a pool worker shares them instead of copying.
 */
import { type Csr, csrFromRows, csrRow, csrRows } from '../csr.js';
import { InvalidArgumentError } from '../errors.js';
import { macridEncode } from '../models/macrid-slice.js';
import { checkInt } from '../validate.js';
import { denseForward, headForward, type MixDecoderArgs, mixDecoderLogProbs, sparseMixForward } from '../wasm/nn.js';
import type { WasmInstance } from '../wasm/raw.js';
import { type ItemWeights, itemTopK, type MixTopKArgs, mixTopK } from '../wasm/serve.js';

/** MacridVAE's weights in the form the kernels read. */
export interface MacridScoring {
  kind: 'macridvae';
  items: number;
  concepts: number;
  d: number;
  tau: number;
  sigma0: number;
  cosine: boolean;
  /** `[d, hidden…, 2d]`. */
  layerDims: number[];
  /** The decoder's item vectors `items × d` (normalized for cosine) and the raw `h` (for traversal). */
  hn: Float32Array;
  h: Float32Array;
  /** Prototypes `K × d` as trained. */
  prototypes: Float32Array;
  /** Concept assignment `items × K`. */
  c: Float32Array;
  /** Context embeddings `items × d` and their bias. */
  t: Float32Array;
  bias: Float32Array;
  weights: Float32Array[];
  biases: Float32Array[];
  /** See {@link ScoringKey}. */
  key?: string;
}

/**
 * `key` of a scoring model: a random id given when its scoring form is built ({@link scoringModel}),
 * under which every WASM instance that serves it keeps its arrays resident (`WasmInstance.residents`),
 * so a group of users copies only its own histories into a worker. The arrays behind a key must never
 * change; a model without a key is copied into WASM memory on every call.
 */
export type ScoringKey = string;

/** One dense layer of MultVAE/MultDAE (`w` is `in × out`, item-major `items × width` for the first). */
export interface MultLayer {
  in: number;
  out: number;
  tanh: boolean;
  w: Float32Array;
  b: Float32Array;
}

/** β-MultVAE / MultDAE weights in the form the kernels read. */
export interface MultScoring {
  kind: 'multvae' | 'multdae';
  items: number;
  /** Encoder and decoder hidden layers (the output layer apart). */
  layers: MultLayer[];
  /** MultVAE: index of the layer giving `[μ, log σ²]`; −1 for MultDAE. */
  latentLayer: number;
  latent: number;
  /** Output layer: `items × width` weights and `items` biases. */
  out: { d: number; w: Float32Array; b: Float32Array };
  /** See {@link ScoringKey}. */
  key?: string;
}

/**
 * A reference model (EASE, ItemKNN, popularity) in the form the serving kernel reads: EASE's `B`
 * (dense `items × items`), ItemKNN's neighbourhoods regrouped by neighbour (row `r`: the items `c`
 * with `r ∈ N(c)` and `s_rc`), popularity's training counts.
 */
export interface ItemItemScoring {
  kind: 'ease' | 'itemknn' | 'pop';
  items: number;
  weights: ItemWeights;
  /** See {@link ScoringKey}. */
  key?: string;
}

export type ScoringModel = MacridScoring | MultScoring | ItemItemScoring;

/** Whether a scoring model is one of the reference models (no encoder, no concepts). */
export function isItemItem(m: ScoringModel): m is ItemItemScoring {
  return m.kind === 'ease' || m.kind === 'itemknn' || m.kind === 'pop';
}

/** Concepts of a scoring model (1 for MultVAE/MultDAE, 0 for the reference models). */
export function conceptsOf(m: ScoringModel): number {
  return m.kind === 'macridvae' ? m.concepts : isItemItem(m) ? 0 : 1;
}

/**
 * Multiply-adds of scoring `users` histories with `nnz` items in all (what `Runtime.splitUsers`
 * compares with its threshold): `users·K·items·d` for the VAEs, `nnz·items` for EASE (one row of `B`
 * per history item), `nnz·k` + `users·items` for ItemKNN, `users·items` for popularity.
 */
export function workOf(m: ScoringModel, users: number, nnz: number): number {
  if (m.kind === 'macridvae') return users * m.concepts * m.items * m.d;
  if (!isItemItem(m)) return users * m.items * m.out.d;
  const w = m.weights;
  const perRow = w.kind === 'dense' ? m.items : w.kind === 'sparse' ? w.values.length / Math.max(1, m.items) : 0;
  return nnz * perRow + users * m.items;
}

/**
 * The decoder's input `z` for each history row (`users·K × d`; `users × width` for MultVAE/MultDAE),
 * in evaluation mode.
 */
export function encodeUsers(inst: WasmInstance, m: MacridScoring | MultScoring, x: Csr): Float32Array {
  if (m.kind === 'macridvae') {
    return macridEncode(inst, {
      x,
      concepts: m.concepts,
      d: m.d,
      sigma0: m.sigma0,
      cosine: m.cosine,
      layerDims: m.layerDims,
      c: m.c,
      t: m.t,
      bias: m.bias,
      weights: m.weights,
      biases: m.biases,
      items: m.items,
      h: m.hn,
      key: m.key,
    });
  }
  const users = csrRows(x);
  const first = m.layers[0];
  const sparse = sparseMixForward(inst, {
    x,
    concepts: 1,
    d: first.out,
    t: first.w,
    key: m.key === undefined ? undefined : `${m.key}/encoder.0`,
  });
  let y: Float32Array = new Float32Array(users * first.out);
  for (let r = 0; r < users; r++) {
    for (let j = 0; j < first.out; j++) {
      const v = sparse.out[r * first.out + j] + first.b[j];
      y[r * first.out + j] = first.tanh ? Math.tanh(v) : v;
    }
  }
  for (let j = 0; j < m.layers.length; j++) {
    const l = m.layers[j];
    if (j > 0) {
      y = denseForward(inst, { rows: users, din: l.in, dout: l.out, x: y, w: l.w, b: l.b, tanh: l.tanh });
    }
    if (j === m.latentLayer) y = headForward(inst, { rows: users, d: m.latent, y, head: { kind: 'mult' } }).z;
  }
  return y;
}

/** Resident keys (see {@link ScoringKey}) of the decoder's item arrays; `c` only when not re-weighted. */
function decoderKeys(m: MacridScoring | MultScoring, weighted: boolean): MixTopKArgs['keys'] {
  const key = m.key;
  if (key === undefined) return undefined;
  if (m.kind === 'macridvae') return { h: `${key}/decoder.hn`, c: weighted ? undefined : `${key}/decoder.c` };
  return { h: `${key}/decoder.w`, bias: `${key}/decoder.b` };
}

/** The decoder's arguments for `users` rows of `z`; `weights` scale MacridVAE's concepts. */
function decoderArgs(
  m: MacridScoring | MultScoring,
  users: number,
  z: Float32Array,
  weights?: Float32Array,
): MixDecoderArgs {
  if (m.kind === 'macridvae') {
    let c = m.c;
    if (weights) {
      const K = m.concepts;
      c = new Float32Array(m.c.length);
      for (let i = 0; i < m.items; i++) for (let k = 0; k < K; k++) c[i * K + k] = m.c[i * K + k] * weights[k];
    }
    return {
      users,
      concepts: m.concepts,
      d: m.d,
      items: m.items,
      z,
      h: m.hn,
      c,
      scale: 1 / m.tau,
      bound: m.cosine ? 1 / m.tau : undefined,
    };
  }
  return { users, concepts: 1, d: m.out.d, items: m.items, z, h: m.out.w, bias: m.out.b, scale: 1 };
}

/** Log-probabilities of every item (`users × items`) from the decoder's input `z`; `weights` scale MacridVAE's concepts. */
export function decodeUsers(
  inst: WasmInstance,
  m: MacridScoring | MultScoring,
  users: number,
  z: Float32Array,
  weights?: Float32Array,
): Float32Array {
  return mixDecoderLogProbs(inst, decoderArgs(m, users, z, weights));
}

/** A group of users to score: histories and per-user exclusions/candidates as item columns. */
export interface ScoreTopKArgs {
  model: ScoringModel;
  /** Histories, `users × items` (sorted, distinct columns per row). */
  x: Csr;
  /** Items never returned per user (`users × items`; the history itself unless seen items are allowed). */
  exclude: Csr;
  /** When given: per user, the only items ranked (`users × items`; an empty row ranks nothing). */
  candidates?: Csr;
  /** Items per user, ≥ 1. */
  k: number;
  /** MacridVAE: concept weights `w_k ≥ 0` (length K). */
  conceptWeights?: Float32Array;
  /** Also return `z` (for explanations and traversal; VAEs only). */
  withZ?: boolean;
}

export interface ScoreTopKResult {
  /** `users × k` item columns, best first; unused slots hold 2^32−1. */
  items: Uint32Array;
  /** `users × k` log-probabilities; unused slots −Infinity. */
  scores: Float32Array;
  /** Used slots per user. */
  counts: Uint32Array;
  /** With `withZ`: the decoder's input, `users·K × d`. */
  z?: Float32Array;
}

/**
 * Encode, score every item and keep the top k for a group of users, in one call (see the module doc).
 * Ties go to the lower column.
 */
export function scoreTopK(inst: WasmInstance, a: ScoreTopKArgs): ScoreTopKResult {
  const fn = 'scoreTopK';
  const m = a.model;
  const users = csrRows(a.x);
  const k = checkInt(fn, 'k', a.k, 1, m.items);
  if (isItemItem(m)) {
    if (a.conceptWeights || a.withZ) {
      throw new InvalidArgumentError(
        `${fn}(): a '${m.kind}' model has no concepts (conceptWeights) and no user representation (withZ)`,
      );
    }
    return itemTopK(inst, { x: a.x, weights: m.weights, exclude: a.exclude, candidates: a.candidates, k, key: m.key });
  }
  const z = encodeUsers(inst, m, a.x);
  let exclude = a.exclude;
  if (a.candidates) {
    // Everything outside a user's candidates (or in its exclusions) is excluded.
    const rows: number[][] = [];
    for (let u = 0; u < users; u++) {
      const keep = new Uint8Array(m.items);
      for (const i of csrRow(a.candidates, u)) keep[i] = 1;
      for (const i of csrRow(a.exclude, u)) keep[i] = 0;
      const row: number[] = [];
      for (let i = 0; i < m.items; i++) if (!keep[i]) row.push(i);
      rows.push(row);
    }
    exclude = csrFromRows(rows, m.items);
  }
  // The decoder and the top k fused (one pass over item tiles, no users × items block).
  const top = mixTopK(inst, {
    ...decoderArgs(m, users, z, a.conceptWeights),
    exclude,
    k,
    keys: decoderKeys(m, a.conceptWeights !== undefined),
  });
  return a.withZ ? { ...top, z } : top;
}
