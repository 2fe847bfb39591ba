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
import { InvalidArgumentError } from '../errors.js';
import { kernels } from '../runtime/kernels.js';
import { type MergeSpec, Runtime, type RuntimeLike } from '../runtime/runtime.js';
import type { MacridVaeConfig, ModelConfig } from './config.js';
import { decoderLogProbs } from './decoder.js';
import type { MacridEncoderArgs, MacridSliceGrads } from './macrid-slice.js';
import { mixSeed, Noise, STREAM } from './noise.js';
import { addL2Penalty, inVariableOrder, l2normalize, l2normalizeBackward, matMul, perUserMean, values } from './ops.js';
import { lap } from './profile.js';
import type {
  EpochContext,
  EpochNote,
  Explanation,
  Model,
  Representation,
  StepGradients,
  StepOptions,
  Weights,
} from './types.js';
import { assignWeights, checkWeights, createVariables, readWeights, smallNormal, xavierNormal } from './weights.js';

/** Stream of the k-means placement's seed (derived from the run seed). */
const KMEANS_STREAM = 0xc1a5;

/**
 * The epoch at whose start `prototypeInit: 'kmeans'` places the prototypes: the first epoch starting
 * after at least `warmup` steps, `⌈warmup / batchesPerEpoch⌉ + 1`. 1 (no warm-up) otherwise.
 */
export function prototypeEpoch(model: ModelConfig, batchesPerEpoch: number): number {
  if (model.kind !== 'macridvae' || model.prototypeInit !== 'kmeans') return 1;
  return Math.ceil(model.prototypeWarmup / batchesPerEpoch) + 1;
}

/** How the per-slice results of `macridSliceTrain` merge: per-user/per-row arrays concatenated, partial gradients summed. */
const SLICE_MERGE: MergeSpec<MacridSliceGrads> = {
  loss: 'concat',
  kl: 'concat',
  dW: 'sum',
  db: 'sum',
  dbias: 'sum',
  dt: 'sum',
  dh: 'sum',
  dcEncoder: 'sum',
  dcDecoder: 'sum',
};

/**
 * Per-item state shared by the users of a batch: the (normalized, for cosine) item embeddings and
 * prototypes with their norms, and the concept assignment. Holds tensors: `dispose()` frees those that
 * are not the model's variables.
 */
export class ItemState {
  constructor(
    /** Normalized (cosine) or raw (inner) item embeddings `items × d`, and the norms `items × 1` (cosine). */
    readonly hn: tf.Tensor2D,
    readonly hnorm: tf.Tensor2D | undefined,
    /** Normalized (cosine) or raw prototypes `K × d`, and their norms. */
    readonly pn: tf.Tensor2D,
    readonly pnorm: tf.Tensor2D | undefined,
    /** Concept assignment `items × K`. */
    readonly c: tf.Tensor2D,
  ) {}

  dispose(): void {
    for (const t of [this.hn, this.hnorm, this.pn, this.pnorm, this.c]) {
      if (t && !(t instanceof tf.Variable)) t.dispose();
    }
  }
}

export class MacridVae implements Model {
  readonly config: MacridVaeConfig;
  readonly items: number;
  readonly variables: Map<string, tf.Variable>;
  private readonly runtime: Runtime;
  private readonly layerDims: number[];

  constructor(config: MacridVaeConfig, items: number, options: { seed: number; runtime?: RuntimeLike }) {
    this.config = config;
    this.items = items;
    this.runtime = Runtime.from(options.runtime);
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
    const r = tf.tidy(() => {
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
    return new ItemState(r.hn, r.hnorm, r.pn, r.pnorm, r.c);
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
    const nnzAt = (u: number) => x.indptr[u];
    const g = await this.runtime.splitUsers(
      'macridSliceTrain',
      users,
      work,
      (lo, hi) =>
        lo === 0 && hi === users
          ? { ...enc, ...shared }
          : {
              ...enc,
              ...shared,
              x: csrSliceRows(x, lo, hi),
              mask: enc.mask?.slice(nnzAt(lo) * K, nnzAt(hi) * K),
              hiddenMasks: enc.hiddenMasks?.map((m, j) =>
                m?.slice(lo * K * this.layerDims[j + 1], hi * K * this.layerDims[j + 1]),
              ),
              eps: enc.eps?.slice(lo * K * d, hi * K * d),
            },
      SLICE_MERGE,
    );
    const nll = perUserMean(g.loss, users);
    const kl = perUserMean(g.kl, users);
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
    const l2 = addL2Penalty(step.l2, this.penalized(), (n) => this.v(n), grads);
    items.dispose();
    const ordered = inVariableOrder(this.variables, grads);
    return { terms: { loss: nll + step.beta * kl + l2, nll, kl, l2, beta: step.beta }, grads: ordered };
  }

  /**
   * Points each prototype at a centroid of the spherical k-means of the item embeddings `h` (its norm is
   * kept), for `prototypeInit: 'kmeans'`. Deterministic given the weights and `seed`. Returns the
   * clustering's objective (`Σ_i cos(h_i, centroid)`) and cluster sizes.
   */
  placePrototypes(seed: number): { objective: number; sizes: number[] } {
    const { concepts: K, d } = this.config;
    const km = kernels.sphericalKmeans({ x: values(this.v('items')), n: this.items, d, k: K, seed });
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
    return kernels.macridEncode({
      ...this.encoderArgs(foldIn, items, undefined),
      items: this.items,
      h: values(items.hn),
    });
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
      items.dispose();
    }
  }

  represent(foldIn: Csr): Representation {
    const x = checkCsr('MacridVae.represent', 'foldIn', foldIn, undefined, this.items);
    const items = this.evalItems();
    try {
      const { concepts: K, d } = this.config;
      return { data: this.evalMu(x, items), rows: csrRows(x), width: K * d };
    } finally {
      items.dispose();
    }
  }

  representItems(): Representation {
    return { data: values(this.v('items')), rows: this.items, width: this.config.d };
  }

  /**
   * The decoder's probability is `p_ui ∝ Σ_k c_ik · exp(cos(z_k, h_i)/τ)`, so the term of concept k is
   * its contribution: each item's concept is its largest term and the share that term over the sum. The
   * user's concept shares are the paper's confidence `Σ_{i∈x_u} c_ik`, divided by the history's length.
   */
  explain(foldIn: Csr, items: ArrayLike<number>[]): Explanation[] {
    const fn = 'MacridVae.explain';
    const x = checkCsr(fn, 'foldIn', foldIn, undefined, this.items);
    const users = csrRows(x);
    if (items.length !== users) {
      throw new InvalidArgumentError(
        `'items' passed to ${fn}() must have one list per fold-in row (${users}) but has ${items.length}`,
      );
    }
    const { concepts: K, d, tau } = this.config;
    const state = this.evalItems();
    try {
      // The decoder's own inputs: z, and h normalized for cosine (raw for the inner-product ablation).
      const z = this.evalMu(x, state);
      const h = values(state.hn);
      const c = values(state.c);
      const dot = (a: number, i: number) => {
        let s = 0;
        for (let j = 0; j < d; j++) s += z[a * d + j] * h[i * d + j];
        return s;
      };
      return items.map((list, u) => {
        const out: Explanation = { concepts: [], shares: [], userConcepts: [] };
        for (let p = 0; p < list.length; p++) {
          const i = list[p];
          if (!Number.isInteger(i) || i < 0 || i >= this.items) {
            throw new InvalidArgumentError(
              `'items[${u}][${p}]' passed to ${fn}() must be an item column in [0, ${this.items}) but got ${i}`,
            );
          }
          const logits = Array.from({ length: K }, (_, k) => dot(u * K + k, i) / tau);
          const top = Math.max(...logits);
          const terms = logits.map((l, k) => c[i * K + k] * Math.exp(l - top));
          const total = terms.reduce((a, b) => a + b, 0);
          let best = 0;
          for (let k = 1; k < K; k++) if (terms[k] > terms[best]) best = k;
          out.concepts.push(best);
          out.shares.push(total > 0 ? terms[best] / total : 0);
        }
        const shares = new Array<number>(K).fill(0);
        const from = x.indptr[u];
        const to = x.indptr[u + 1];
        for (let p = from; p < to; p++) for (let k = 0; k < K; k++) shares[k] += c[x.indices[p] * K + k];
        out.userConcepts = shares.map((s) => (to > from ? s / (to - from) : 0));
        return out;
      });
    } finally {
      state.dispose();
    }
  }

  trainingPlan(ctx: { epochs: number; batchesPerEpoch: number }): { warmupEpochs: number } {
    const place = prototypeEpoch(this.config, ctx.batchesPerEpoch);
    if (this.config.prototypeInit === 'kmeans' && ctx.epochs < place) {
      throw new InvalidArgumentError(
        `trainModel(): 'epochs' is ${ctx.epochs} but prototypeInit 'kmeans' places the prototypes at the start of epoch ${place} (the warm-up is ${this.config.prototypeWarmup} steps, ${ctx.batchesPerEpoch} per epoch): train longer or lower 'prototypeWarmup'`,
      );
    }
    return { warmupEpochs: place - 1 };
  }

  beforeEpoch(ctx: EpochContext): EpochNote | undefined {
    if (this.config.prototypeInit !== 'kmeans' || ctx.epoch !== prototypeEpoch(this.config, ctx.batchesPerEpoch)) {
      return undefined;
    }
    return { prototypes: this.placePrototypes(mixSeed(ctx.seed, KMEANS_STREAM)) };
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
