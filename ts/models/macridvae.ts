/**
 * MacridVAE (Ma et al., NeurIPS 2019, Algorithm 1), with the details of the authors' released code
 * (see `docs/paper.md` of the shared docs):
 *
 * - concepts: `s_ik = cos(h_i, m_k)/τ`; training draws one soft Gumbel-softmax sample per item per
 *   minibatch (temperature 1, no straight-through), evaluation uses `c_i = softmax(s_i)`;
 * - encoder, per concept k: `x_k = x ⊙ c_·k`, L2-normalized, dropout (one mask per concept), times the
 *   context embeddings `T` plus a bias, tanh, then `f_nn` (`d → hidden… → 2d`) giving `[a, b]`;
 *   `μ_k = a/‖a‖`, `σ_k = σ0·exp(−b/2)`, `z_k = μ_k + ε⊙σ_k` (z = μ at evaluation);
 * - KL to `N(0, σ0²I)` without its constant: `½ Σ (b + e^{−b} − 1)` over concepts and dimensions, mean
 *   over users;
 * - decoder: `p_ui ∝ Σ_k c_ik exp(cos(z_k, h_i)/τ)` over all items (the fused kernel);
 * - loss `nll + β·KL + λ·(‖H‖² + ‖T‖² + ‖M‖² + Σ‖W‖²)`.
 *
 * With `similarity: 'inner'` (the paper's ablation) the cosines become plain inner products (`h`, `m` and
 * `z` are not normalized; μ still is).
 *
 * Weights (names are stable; shapes row-major): `items` M×d (h_i), `context` M×d (t_i), `context_bias` d,
 * `prototypes` K×d (m_k), `fnn.{j}.weight` in×out and `fnn.{j}.bias` out for each layer j of f_nn.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type Csr, checkCsr, csrRows } from '../csr.js';
import { sphericalKmeans } from '../wasm/analysis.js';
import {
  denseBackward,
  denseForward,
  headBackward,
  headForward,
  sparseMixBackward,
  sparseMixForward,
} from '../wasm/nn.js';
import { threadInstance } from '../wasm/raw.js';
import type { MacridVaeConfig } from './config.js';
import { decoderLogProbs, decoderTrain, type Runtime } from './decoder.js';
import { Noise, STREAM } from './noise.js';
import { disposeSaved, l2normalize, l2normalizeBackward, matMul, sumSquares, values } from './ops.js';
import { lap } from './profile.js';
import type { Model, StepGradients, StepOptions, Weights } from './types.js';
import { assignWeights, checkWeights, createVariables, readWeights, smallNormal, xavierNormal } from './weights.js';

/** Per-item state shared by the users of a batch. */
export interface ItemState {
  /** Normalized (cosine) or raw (inner) item embeddings, and the norms. */
  hn: tf.Tensor2D;
  hnorm?: tf.Tensor2D;
  pn: tf.Tensor2D;
  pnorm?: tf.Tensor2D;
  /** Concept assignment `items × K`. */
  c: tf.Tensor2D;
}

/** What the encoder's backward pass needs (plain arrays: the encoder runs on the Rust kernels). */
interface EncoderState {
  mask?: Float32Array;
  cData: Float32Array;
  tData: Float32Array;
  out: Float32Array;
  norms: Float32Array;
  /** Input of each f_nn layer (`users·K × width`); the first is `tanh(x T / n + bias)`. */
  inputs: Float32Array[];
  /** Output of each f_nn layer (after its tanh for hidden layers; `[a | b]` for the last). */
  outputs: Float32Array[];
  /** Dropout multipliers of each hidden layer's output (training only). */
  hiddenMasks: Array<Float32Array | undefined>;
  /** ε (training only). */
  eps?: Float32Array;
  /** The decoder's input: `z` (normalized for cosine), `users·K × d`. */
  z: Float32Array;
  /** Per-row KL terms. */
  kl: Float32Array;
}

export class MacridVae implements Model {
  readonly config: MacridVaeConfig;
  readonly items: number;
  readonly variables: Map<string, tf.Variable>;
  private readonly runtime: Runtime;
  private readonly layerDims: number[];

  constructor(config: MacridVaeConfig, items: number, options: { seed: number; runtime?: Runtime }) {
    this.config = config;
    this.items = items;
    this.runtime = options.runtime ?? { threads: 1 };
    const { d, concepts: K } = config;
    this.layerDims = [d, ...config.hidden, 2 * d];
    const seed = options.seed;
    const init: Weights = {
      items: xavierNormal(seed, 0, items, d),
      context: xavierNormal(seed, 1, items, d),
      context_bias: smallNormal(seed, 2, d),
      prototypes: xavierNormal(seed, 3, K, d),
    };
    for (let j = 0; j + 1 < this.layerDims.length; j++) {
      init[`fnn.${j}.weight`] = xavierNormal(seed, 10 + 2 * j, this.layerDims[j], this.layerDims[j + 1]);
      init[`fnn.${j}.bias`] = smallNormal(seed, 11 + 2 * j, this.layerDims[j + 1]);
    }
    this.variables = createVariables(init);
  }

  private v(name: string): tf.Variable {
    return this.variables.get(name) as tf.Variable;
  }

  private get layers(): number {
    return this.layerDims.length - 1;
  }

  /** Weights that the L2 penalty covers (not biases). */
  private penalized(): string[] {
    return ['items', 'context', 'prototypes', ...Array.from({ length: this.layers }, (_, j) => `fnn.${j}.weight`)];
  }

  private itemState(gumbel: Float32Array | undefined): ItemState {
    return tf.tidy(() => {
      const cosine = this.config.similarity === 'cosine';
      const h = this.v('items') as tf.Tensor2D;
      const p = this.v('prototypes') as tf.Tensor2D;
      const hs = cosine ? l2normalize(h) : { y: h, norm: undefined };
      const ps = cosine ? l2normalize(p) : { y: p, norm: undefined };
      let s = tf.div(matMul(hs.y, ps.y, false, true), this.config.tau);
      if (gumbel) s = tf.add(s, tf.tensor2d(gumbel, [this.items, this.config.concepts]));
      const c = tf.softmax(s) as tf.Tensor2D;
      return { hn: hs.y, hnorm: hs.norm, pn: ps.y, pnorm: ps.norm, c };
    });
  }

  /** The encoder up to the decoder's input `z`; training (a noise seed) applies dropout and samples ε. */
  private encode(x: Csr, items: ItemState, noise: { seed: number } | undefined): EncoderState {
    const { concepts: K, d, keep, sigma0 } = this.config;
    const inst = threadInstance();
    const rows = csrRows(x) * K;
    const mask = noise ? new Noise(noise.seed, STREAM.dropout).dropout(x.indices.length * K, keep) : undefined;
    const cData = values(items.c);
    const tData = values(this.v('context'));
    const enc = sparseMixForward(inst, { x, concepts: K, d, mask, c: cData, t: tData });
    const bias = values(this.v('context_bias'));
    const in0 = new Float32Array(rows * d);
    for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) in0[r * d + j] = Math.tanh(enc.out[r * d + j] + bias[j]);
    const hiddenNoise = noise ? new Noise(noise.seed, STREAM.hidden) : undefined;
    const inputs: Float32Array[] = [in0];
    const outputs: Float32Array[] = [];
    const hiddenMasks: Array<Float32Array | undefined> = [];
    for (let j = 0; j < this.layers; j++) {
      const last = j + 1 === this.layers;
      const dout = this.layerDims[j + 1];
      const m = !last && hiddenNoise ? hiddenNoise.dropout(rows * dout, keep) : undefined;
      hiddenMasks.push(m);
      const y = denseForward(inst, {
        rows,
        din: this.layerDims[j],
        dout,
        x: inputs[j],
        w: values(this.v(`fnn.${j}.weight`)),
        b: values(this.v(`fnn.${j}.bias`)),
        mask: m,
        tanh: !last,
      });
      outputs.push(y);
      if (!last) inputs.push(y);
    }
    const eps = noise ? new Noise(noise.seed, STREAM.epsilon).normal(rows * d) : undefined;
    const head = { kind: 'macrid', sigma0, normalize: this.config.similarity === 'cosine' } as const;
    const { z, kl } = headForward(inst, { rows, d, y: outputs[this.layers - 1], eps, head });
    return { mask, cData, tData, out: enc.out, norms: enc.norms, inputs, outputs, hiddenMasks, eps, z, kl };
  }

  async gradients(batch: Csr, step: StepOptions): Promise<StepGradients> {
    const x = checkCsr('MacridVae.gradients', 'batch', batch, undefined, this.items);
    const { concepts: K, d, tau, sigma0 } = this.config;
    const cosine = this.config.similarity === 'cosine';
    const users = csrRows(x);
    const rows = users * K;
    const seed = step.noiseSeed;
    let t = performance.now();
    const gumbel = this.config.gumbel ? new Noise(seed, STREAM.gumbel).gumbel(this.items * K) : undefined;
    const items = this.itemState(gumbel);
    t = lap('concepts', t);
    const enc = this.encode(x, items, { seed });
    const hData = values(items.hn);
    t = lap('encoder', t);
    const dec = await decoderTrain(this.runtime, {
      users,
      concepts: K,
      d,
      items: this.items,
      z: enc.z,
      h: hData,
      c: enc.cData,
      scale: 1 / tau,
      bound: cosine ? 1 / tau : undefined,
      x,
      gradScale: 1 / Math.max(users, 1),
      sampled: step.sampled,
    });
    let nll = 0;
    for (const l of dec.loss) nll += l;
    nll /= Math.max(users, 1);
    let kl = 0;
    for (const v of enc.kl) kl += v;
    kl /= Math.max(users, 1);
    t = lap('decoder', t);
    const inst = threadInstance();
    const grads = new Map<string, tf.Tensor>();
    // Encoder backward on the kernels: head, f_nn (last layer first), tanh and bias, sparse layer.
    let dy = headBackward(inst, {
      rows,
      d,
      y: enc.outputs[this.layers - 1],
      eps: enc.eps,
      head: { kind: 'macrid', sigma0, normalize: cosine },
      dz: dec.dz,
      klScale: step.beta / Math.max(users, 1),
    });
    for (let j = this.layers - 1; j >= 0; j--) {
      const last = j + 1 === this.layers;
      const g = denseBackward(inst, {
        rows,
        din: this.layerDims[j],
        dout: this.layerDims[j + 1],
        x: enc.inputs[j],
        w: values(this.v(`fnn.${j}.weight`)),
        b: values(this.v(`fnn.${j}.bias`)),
        mask: enc.hiddenMasks[j],
        tanh: !last,
        y: enc.outputs[j],
        dy,
      });
      grads.set(`fnn.${j}.weight`, tf.tensor2d(g.dw, [this.layerDims[j], this.layerDims[j + 1]]));
      grads.set(`fnn.${j}.bias`, tf.tensor1d(g.db));
      dy = g.dx as Float32Array;
    }
    // inputs[0] = tanh(out + bias).
    const dpre = new Float32Array(rows * d);
    const dbias = new Float32Array(d);
    const in0 = enc.inputs[0];
    for (let i = 0; i < rows * d; i++) dpre[i] = dy[i] * (1 - in0[i] * in0[i]);
    for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) dbias[j] += dpre[r * d + j];
    grads.set('context_bias', tf.tensor1d(dbias));
    const back = sparseMixBackward(inst, {
      x,
      concepts: K,
      d,
      mask: enc.mask,
      c: enc.cData,
      t: enc.tData,
      norms: enc.norms,
      out: enc.out,
      dout: dpre,
    });
    grads.set('context', tf.tensor2d(back.dt, [this.items, d]));
    t = lap('encoder', t);
    tf.tidy(() => {
      // Concept assignment: c = softmax(s), s = hn·pnᵀ/τ (+ Gumbel noise).
      const dcAll = tf.add(
        tf.tensor2d(dec.dc as Float32Array, [this.items, K]),
        tf.tensor2d(back.dc as Float32Array, [this.items, K]),
      );
      const ds = tf.div(tf.mul(items.c, tf.sub(dcAll, tf.sum(tf.mul(items.c, dcAll), 1, true))), tau) as tf.Tensor2D;
      const dhn = tf.add(tf.tensor2d(dec.dh, [this.items, d]), matMul(ds, items.pn)) as tf.Tensor2D;
      const dpn = matMul(ds, items.hn, true, false);
      grads.set('items', tf.keep(cosine ? l2normalizeBackward(items.hn, items.hnorm as tf.Tensor2D, dhn) : dhn));
      grads.set('prototypes', tf.keep(cosine ? l2normalizeBackward(items.pn, items.pnorm as tf.Tensor2D, dpn) : dpn));
    });
    lap('concepts', t);
    let l2 = 0;
    if (step.l2 > 0) {
      const names = this.penalized();
      l2 = step.l2 * sumSquares(names.map((n) => this.v(n)));
      for (const n of names) {
        const g = grads.get(n) as tf.Tensor;
        grads.set(
          n,
          tf.tidy(() => tf.add(g, tf.mul(this.v(n), 2 * step.l2))),
        );
        g.dispose();
      }
    }
    disposeSaved(items as unknown as Record<string, unknown>);
    // Keep the variables' order.
    const ordered = new Map<string, tf.Tensor>();
    for (const name of this.variables.keys()) ordered.set(name, grads.get(name) as tf.Tensor);
    return { terms: { loss: nll + step.beta * kl + l2, nll, kl, l2, beta: step.beta }, grads: ordered };
  }

  /**
   * Points each prototype at a centroid of the spherical k-means of the item embeddings `h` (its norm is
   * kept), for `prototypeInit: 'kmeans'`. Deterministic given the weights and `seed`. Returns the
   * clustering's objective (`Σ_i cos(h_i, centroid)`) and cluster sizes.
   */
  placePrototypes(seed: number): { objective: number; sizes: number[] } {
    const { concepts: K, d } = this.config;
    const km = sphericalKmeans(threadInstance(), { x: values(this.v('items')), n: this.items, d, k: K, seed });
    const old = values(this.v('prototypes'));
    const next = new Float32Array(K * d);
    for (let k = 0; k < K; k++) {
      let sq = 0;
      for (let j = 0; j < d; j++) sq += old[k * d + j] ** 2;
      const norm = sq > 0 ? Math.sqrt(sq) : 1;
      for (let j = 0; j < d; j++) next[k * d + j] = km.centroids[k * d + j] * norm;
    }
    tf.tidy(() => this.v('prototypes').assign(tf.tensor2d(next, [K, d])));
    const sizes = new Array<number>(K).fill(0);
    for (const l of km.labels) sizes[l]++;
    return { objective: km.objective, sizes };
  }

  /** Per-item state in evaluation mode (`c = softmax(s)`); the caller disposes it. */
  evalItems(): ItemState {
    return this.itemState(undefined);
  }

  /** `μ` (`users·K × d`, unit rows; `z = μ` at evaluation) of the fold-in rows, given evaluation-mode item state. */
  evalMu(foldIn: Csr, items: ItemState): Float32Array {
    return this.encode(foldIn, items, undefined).z;
  }

  async score(foldIn: Csr): Promise<Float32Array> {
    const x = checkCsr('MacridVae.score', 'foldIn', foldIn, undefined, this.items);
    const { concepts: K, d, tau } = this.config;
    const cosine = this.config.similarity === 'cosine';
    const items = this.evalItems();
    try {
      // z = μ (unit vectors already, so cos(z, h) = z·h/‖h‖).
      const z = this.evalMu(x, items);
      return await decoderLogProbs(this.runtime, {
        users: csrRows(x),
        concepts: K,
        d,
        items: this.items,
        z,
        h: values(items.hn),
        c: values(items.c),
        scale: 1 / tau,
        bound: cosine ? 1 / tau : undefined,
      });
    } finally {
      disposeSaved(items as unknown as Record<string, unknown>);
    }
  }

  getWeights(): Weights {
    return readWeights(this.variables);
  }

  setWeights(weights: Weights): void {
    checkWeights('MacridVae.setWeights', this.variables, weights);
    assignWeights(this.variables, weights);
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
  }
}
