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
import { sparseMixBackward, sparseMixForward } from '../wasm/nn.js';
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

/** What the encoder's backward pass needs. */
interface EncoderState {
  mask?: Float32Array;
  cData: Float32Array;
  tData: Float32Array;
  out: Float32Array;
  norms: Float32Array;
  /** Inputs of each f_nn layer (`users·K × width`), the first being `tanh(x T / n + bias)`. */
  inputs: tf.Tensor2D[];
  /** Dropout multipliers applied before the tanh of each extra hidden layer. */
  hiddenMasks: tf.Tensor2D[];
  /** f_nn's output split: `a` (→ μ) and `b` (→ σ). */
  b: tf.Tensor2D;
  mu: tf.Tensor2D;
  muNorm: tf.Tensor2D;
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

  /** The encoder up to μ and b; training applies the dropout masks. */
  private encode(x: Csr, items: ItemState, noise: { seed: number } | undefined): EncoderState {
    const { concepts: K, d, keep } = this.config;
    const users = csrRows(x);
    const mask = noise ? new Noise(noise.seed, STREAM.dropout).dropout(x.indices.length * K, keep) : undefined;
    const cData = values(items.c);
    const tData = values(this.v('context'));
    const enc = sparseMixForward(threadInstance(), { x, concepts: K, d, mask, c: cData, t: tData });
    const hiddenNoise = noise ? new Noise(noise.seed, STREAM.hidden) : undefined;
    const tensors = tf.tidy(() => {
      const rows = users * K;
      const inputs: tf.Tensor2D[] = [
        tf.tanh(tf.add(tf.tensor2d(enc.out, [rows, d]), this.v('context_bias'))) as tf.Tensor2D,
      ];
      const hiddenMasks: tf.Tensor2D[] = [];
      let y = inputs[0];
      for (let j = 0; j < this.layers; j++) {
        y = tf.add(matMul(inputs[j], this.v(`fnn.${j}.weight`) as tf.Tensor2D), this.v(`fnn.${j}.bias`));
        if (j + 1 < this.layers) {
          const w = this.layerDims[j + 1];
          const m = hiddenNoise ? hiddenNoise.dropout(rows * w, keep) : undefined;
          let pre = y;
          if (m) {
            const mt = tf.tensor2d(m, [rows, w]);
            hiddenMasks.push(mt);
            pre = tf.mul(pre, mt);
          }
          inputs.push(tf.tanh(pre) as tf.Tensor2D);
        }
      }
      const a = tf.slice(y, [0, 0], [rows, d]) as tf.Tensor2D;
      const b = tf.slice(y, [0, d], [rows, d]) as tf.Tensor2D;
      const { y: mu, norm: muNorm } = l2normalize(a);
      return { inputs, hiddenMasks, b, mu, muNorm };
    });
    return { mask, cData, tData, out: enc.out, norms: enc.norms, ...tensors };
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
    const fwd = tf.tidy(() => {
      const eps = tf.tensor2d(new Noise(seed, STREAM.epsilon).normal(rows * d), [rows, d]);
      const sigma = tf.mul(tf.exp(tf.mul(enc.b, -0.5)), sigma0) as tf.Tensor2D;
      const z = tf.add(enc.mu, tf.mul(eps, sigma)) as tf.Tensor2D;
      const zs = cosine ? l2normalize(z) : { y: z, norm: undefined };
      // KL = (1/B) Σ ½(b + e^{−b} − 1)
      const kl = tf.div(tf.sum(tf.mul(tf.sub(tf.add(enc.b, tf.exp(tf.neg(enc.b))), 1), 0.5)), Math.max(users, 1));
      return { eps, sigma, zn: zs.y, znorm: zs.norm, kl };
    });
    const zData = values(fwd.zn);
    const hData = values(items.hn);
    t = lap('encoder', t);
    const dec = await decoderTrain(this.runtime, {
      users,
      concepts: K,
      d,
      items: this.items,
      z: zData,
      h: hData,
      c: enc.cData,
      scale: 1 / tau,
      bound: cosine ? 1 / tau : undefined,
      x,
      gradScale: 1 / Math.max(users, 1),
    });
    let nll = 0;
    for (const l of dec.loss) nll += l;
    nll /= Math.max(users, 1);
    const kl = fwd.kl.arraySync() as number;
    t = lap('decoder', t);
    const grads = new Map<string, tf.Tensor>();
    tf.tidy(() => {
      // Decoder input back to the f_nn output.
      const dzn = tf.tensor2d(dec.dz, [rows, d]);
      const dz = cosine ? l2normalizeBackward(fwd.zn, fwd.znorm as tf.Tensor2D, dzn) : dzn;
      // z = μ + ε σ, σ = σ0 e^{−b/2}; KL term: β/B · ½(1 − e^{−b}).
      const dbFromZ = tf.mul(tf.mul(tf.mul(dz, fwd.eps), fwd.sigma), -0.5);
      const dbFromKl = tf.mul(tf.sub(1, tf.exp(tf.neg(enc.b))), (0.5 * step.beta) / Math.max(users, 1));
      const db = tf.add(dbFromZ, dbFromKl);
      const da = l2normalizeBackward(enc.mu, enc.muNorm, dz as tf.Tensor2D);
      let dy = tf.concat([da, db], 1) as tf.Tensor2D;
      // f_nn, last layer first.
      let dIn: tf.Tensor2D = dy;
      for (let j = this.layers - 1; j >= 0; j--) {
        const W = this.v(`fnn.${j}.weight`) as tf.Tensor2D;
        grads.set(`fnn.${j}.weight`, tf.keep(matMul(enc.inputs[j], dy, true, false)));
        grads.set(`fnn.${j}.bias`, tf.keep(tf.sum(dy, 0)));
        const du = matMul(dy, W, false, true);
        // inputs[j] = tanh(pre), pre = y_{j−1} ⊙ mask (j ≥ 1) or the encoder's first layer (j = 0).
        dIn = tf.mul(du, tf.sub(1, tf.square(enc.inputs[j]))) as tf.Tensor2D;
        if (j > 0) dy = (enc.hiddenMasks.length ? tf.mul(dIn, enc.hiddenMasks[j - 1]) : dIn) as tf.Tensor2D;
      }
      grads.set('context_bias', tf.keep(tf.sum(dIn, 0)));
      const back = sparseMixBackward(threadInstance(), {
        x,
        concepts: K,
        d,
        mask: enc.mask,
        c: enc.cData,
        t: enc.tData,
        norms: enc.norms,
        out: enc.out,
        dout: values(dIn),
      });
      grads.set('context', tf.keep(tf.tensor2d(back.dt, [this.items, d])));
      t = lap('encoder', t);
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
    t = lap('concepts', t);
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
    disposeSaved(enc as unknown as Record<string, unknown>);
    disposeSaved(fwd as unknown as Record<string, unknown>);
    lap('encoder', t);
    // Keep the variables' order.
    const ordered = new Map<string, tf.Tensor>();
    for (const name of this.variables.keys()) ordered.set(name, grads.get(name) as tf.Tensor);
    return { terms: { loss: nll + step.beta * kl + l2, nll, kl, l2, beta: step.beta }, grads: ordered };
  }

  /** Per-item state in evaluation mode (`c = softmax(s)`); the caller disposes it. */
  evalItems(): ItemState {
    return this.itemState(undefined);
  }

  /** `μ` (`users·K × d`, unit rows) of the fold-in rows, given evaluation-mode item state. */
  evalMu(foldIn: Csr, items: ItemState): tf.Tensor2D {
    const enc = this.encode(foldIn, items, undefined);
    const mu = enc.mu;
    disposeSaved({ ...enc, mu: undefined } as unknown as Record<string, unknown>);
    return mu;
  }

  async score(foldIn: Csr): Promise<Float32Array> {
    const x = checkCsr('MacridVae.score', 'foldIn', foldIn, undefined, this.items);
    const { concepts: K, d, tau } = this.config;
    const cosine = this.config.similarity === 'cosine';
    const items = this.evalItems();
    try {
      const mu = this.evalMu(x, items);
      // z = μ (unit vectors already, so cos(z, h) = z·h/‖h‖).
      const z = values(mu);
      mu.dispose();
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
