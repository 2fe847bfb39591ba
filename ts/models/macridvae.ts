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
import { type Csr, checkCsr, csrRows, csrSliceRows } from '../csr.js';
import { sphericalKmeans } from '../wasm/analysis.js';
import { threadInstance } from '../wasm/raw.js';
import type { MacridVaeConfig } from './config.js';
import { bounds, decoderLogProbs, type Runtime, sliceCount, sum } from './decoder.js';
import { type MacridEncoderArgs, type MacridSliceGrads, macridEncode, macridSliceTrain } from './macrid-slice.js';
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

  /** The encoder's inputs for batch `x` (arrays; the encoder runs on the Rust kernels) with the noise of step `seed` when training. */
  private encoderArgs(x: Csr, items: ItemState, noise: { seed: number } | undefined): MacridEncoderArgs {
    const { concepts: K, d, keep, sigma0 } = this.config;
    const rows = csrRows(x) * K;
    const hiddenNoise = noise ? new Noise(noise.seed, STREAM.hidden) : undefined;
    return {
      x,
      concepts: K,
      d,
      sigma0,
      cosine: this.config.similarity === 'cosine',
      layerDims: this.layerDims,
      c: values(items.c),
      t: values(this.v('context')),
      bias: values(this.v('context_bias')),
      weights: Array.from({ length: this.layers }, (_, j) => values(this.v(`fnn.${j}.weight`))),
      biases: Array.from({ length: this.layers }, (_, j) => values(this.v(`fnn.${j}.bias`))),
      mask: noise ? new Noise(noise.seed, STREAM.dropout).dropout(x.indices.length * K, keep) : undefined,
      // One draw per hidden layer, in order (the last layer has no dropout).
      hiddenMasks: Array.from({ length: this.layers - 1 }, (_, j) =>
        hiddenNoise?.dropout(rows * this.layerDims[j + 1], keep),
      ),
      eps: noise ? new Noise(noise.seed, STREAM.epsilon).normal(rows * d) : undefined,
    };
  }

  async gradients(batch: Csr, step: StepOptions): Promise<StepGradients> {
    const x = checkCsr('MacridVae.gradients', 'batch', batch, undefined, this.items);
    const { concepts: K, d, tau } = this.config;
    const cosine = this.config.similarity === 'cosine';
    const users = csrRows(x);
    const rows = users * K;
    const seed = step.noiseSeed;
    let t = performance.now();
    const gumbel = this.config.gumbel ? new Noise(seed, STREAM.gumbel).gumbel(this.items * K) : undefined;
    const items = this.itemState(gumbel);
    t = lap('concepts', t);
    const enc = this.encoderArgs(x, items, { seed });
    const shared = {
      items: this.items,
      h: values(items.hn),
      scale: 1 / tau,
      bound: cosine ? 1 / tau : undefined,
      gradScale: 1 / Math.max(users, 1),
      klScale: step.beta / Math.max(users, 1),
      sampled: step.sampled,
    };
    // Encoder, decoder and encoder backward per slice of users: on the pool when the batch is large.
    const work = users * K * (step.sampled ? step.sampled.items.length : this.items) * d;
    const n = sliceCount(this.runtime, users, work);
    let g: MacridSliceGrads;
    if (n === 1 || !this.runtime.pool) g = macridSliceTrain(threadInstance(), { ...enc, ...shared });
    else {
      const pool = this.runtime.pool;
      const slices = bounds(users, n);
      const nnzAt = (u: number) => x.indptr[u];
      const parts = await Promise.all(
        slices.map(([lo, hi]) =>
          pool.run('macridSliceTrain', {
            ...enc,
            ...shared,
            x: csrSliceRows(x, lo, hi),
            mask: enc.mask?.slice(nnzAt(lo) * K, nnzAt(hi) * K),
            hiddenMasks: enc.hiddenMasks?.map((m, j) =>
              m?.slice(lo * K * this.layerDims[j + 1], hi * K * this.layerDims[j + 1]),
            ),
            eps: enc.eps?.slice(lo * K * d, hi * K * d),
          }),
        ),
      );
      // Per-user results are concatenated, partial gradients summed into the first slice's.
      const loss = new Float32Array(users);
      const klRows = new Float32Array(rows);
      slices.forEach(([lo], p) => {
        loss.set(parts[p].loss, lo);
        klRows.set(parts[p].kl, lo * K);
      });
      g = { ...parts[0], loss, kl: klRows };
      slices.forEach((_, p) => {
        if (p === 0) return;
        const q = parts[p];
        for (let j = 0; j < this.layers; j++) {
          sum(g.dW[j], q.dW[j]);
          sum(g.db[j], q.db[j]);
        }
        sum(g.dbias, q.dbias);
        sum(g.dt, q.dt);
        sum(g.dh, q.dh);
        sum(g.dcEncoder, q.dcEncoder);
        sum(g.dcDecoder, q.dcDecoder);
      });
    }
    let nll = 0;
    for (const l of g.loss) nll += l;
    nll /= Math.max(users, 1);
    let kl = 0;
    for (const v of g.kl) kl += v;
    kl /= Math.max(users, 1);
    t = lap('users', t);
    const grads = new Map<string, tf.Tensor>();
    for (let j = 0; j < this.layers; j++) {
      grads.set(`fnn.${j}.weight`, tf.tensor2d(g.dW[j], [this.layerDims[j], this.layerDims[j + 1]]));
      grads.set(`fnn.${j}.bias`, tf.tensor1d(g.db[j]));
    }
    grads.set('context_bias', tf.tensor1d(g.dbias));
    grads.set('context', tf.tensor2d(g.dt, [this.items, d]));
    tf.tidy(() => {
      // Concept assignment: c = softmax(s), s = hn·pnᵀ/τ (+ Gumbel noise).
      const dcAll = tf.add(tf.tensor2d(g.dcDecoder, [this.items, K]), tf.tensor2d(g.dcEncoder, [this.items, K]));
      const ds = tf.div(tf.mul(items.c, tf.sub(dcAll, tf.sum(tf.mul(items.c, dcAll), 1, true))), tau) as tf.Tensor2D;
      const dhn = tf.add(tf.tensor2d(g.dh, [this.items, d]), matMul(ds, items.pn)) as tf.Tensor2D;
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
    return macridEncode(threadInstance(), this.encoderArgs(foldIn, items, undefined)).z;
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
