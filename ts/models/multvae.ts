/**
 * β-MultVAE and MultDAE (Liang et al., "Variational Autoencoders for Collaborative Filtering", WWW 2018),
 * as in their released notebook:
 *
 * - input: the click row L2-normalized, then dropout (keep 0.5), on the sparse row (no dense
 *   users × items product);
 * - MultVAE: encoder `[items → hidden… → 2·latent]` giving `μ` and `log σ²`, `z = μ + ε·σ` in training
 *   (`z = μ` in evaluation), decoder `[latent → reversed hidden… → items]`; KL to `N(0, I)`:
 *   `½ Σ (−log σ² + σ² + μ² − 1)`, mean over users, weighted by β;
 * - MultDAE: `[items → hidden… → latent → reversed hidden… → items]`, no sampling, no KL;
 * - tanh after every layer except the encoder's `[μ, log σ²]` layer (MultVAE) and the output layer;
 * - multinomial likelihood: log-softmax over all items of the output layer (the fused kernel);
 * - loss `nll + β·KL + λ·Σ‖W‖²` (weights, not biases).
 *
 * Weights (names stable; row-major): `encoder.0.weight` items × w₁ (item-major, the sparse first layer),
 * `encoder.{j}.weight` in × out, `decoder.{j}.weight` in × out, `decoder.out.weight` items × w (item-major,
 * the output layer), and a `.bias` beside each (`decoder.out.bias` has `items` entries).
 */
import * as tf from '@tensorflow/tfjs-core';
import { type Csr, checkCsr, csrRows, csrSliceRows } from '../csr.js';
import { kernels } from '../runtime/kernels.js';
import { type MergeSpec, Runtime, type RuntimeLike } from '../runtime/runtime.js';
import type { MultSliceGrads } from '../wasm/nn.js';
import type { MultConfig } from './config.js';
import { decoderLogProbs } from './decoder.js';
import { Noise, STREAM } from './noise.js';
import { addL2Penalty, inVariableOrder, perUserMean, values } from './ops.js';
import { lap } from './profile.js';
import type { Model, Representation, StepGradients, StepOptions, Weights } from './types.js';
import { assignWeights, checkWeights, createVariables, glorotUniform, readWeights, smallNormal } from './weights.js';

/** One dense layer of the stack (the first is sparse, the last is the fused output layer). */
interface Layer {
  name: string;
  in: number;
  out: number;
  /** tanh after this layer. */
  tanh: boolean;
}

/** The forward pass's arrays (the encoder and decoder hidden layers run on the Rust kernels). */
interface Forward {
  mask?: Float32Array;
  sparse: { out: Float32Array; norms: Float32Array };
  /** Input of every layer but the first (`users × width`): the previous layer's output or `z`. */
  inputs: Float32Array[];
  /** Output of every layer but the last, after its activation (raw `[μ | log σ²]` for MultVAE's latent layer). */
  outputs: Float32Array[];
  /** MultVAE: ε (training), `z`, and the per-user KL terms. */
  eps?: Float32Array;
  kl?: Float32Array;
}

/** How the per-slice results of `multSliceTrain` merge: per-user arrays concatenated, partial gradients summed. */
const SLICE_MERGE: MergeSpec<MultSliceGrads> = { loss: 'concat', kl: 'concat', dW: 'sum', db: 'sum' };

export class MultModel implements Model {
  readonly config: MultConfig;
  readonly items: number;
  readonly variables: Map<string, tf.Variable>;
  private readonly runtime: Runtime;
  private readonly layers: Layer[];
  /** MultVAE: index of the layer that outputs `[μ, log σ²]`. */
  private readonly latentLayer: number;

  constructor(config: MultConfig, items: number, options: { seed: number; runtime?: RuntimeLike }) {
    this.config = config;
    this.items = items;
    this.runtime = Runtime.from(options.runtime);
    const vae = config.kind === 'multvae';
    const { hidden, latent } = config;
    const enc = [items, ...hidden, vae ? 2 * latent : latent];
    const dec = [latent, ...[...hidden].reverse(), items];
    this.layers = [];
    for (let j = 0; j + 1 < enc.length; j++) {
      this.layers.push({ name: `encoder.${j}`, in: enc[j], out: enc[j + 1], tanh: !(vae && j + 2 === enc.length) });
    }
    this.latentLayer = vae ? this.layers.length - 1 : -1;
    for (let j = 0; j + 1 < dec.length; j++) {
      const last = j + 2 === dec.length;
      this.layers.push({ name: last ? 'decoder.out' : `decoder.${j}`, in: dec[j], out: dec[j + 1], tanh: !last });
    }
    const init: Weights = {};
    this.layers.forEach((l, j) => {
      // The first and last layers are stored item-major (items × width) for the sparse input and the fused output.
      const itemMajor = j === 0 || j === this.layers.length - 1;
      init[`${l.name}.weight`] = itemMajor
        ? glorotUniform(options.seed, 2 * j, j === 0 ? l.in : l.out, j === 0 ? l.out : l.in)
        : glorotUniform(options.seed, 2 * j, l.in, l.out);
      init[`${l.name}.bias`] = smallNormal(options.seed, 2 * j + 1, l.out);
    });
    this.variables = createVariables(init);
  }

  private v(name: string): tf.Variable {
    return this.variables.get(name) as tf.Variable;
  }

  private forward(x: Csr, noise: { seed: number } | undefined): Forward {
    const users = csrRows(x);
    const first = this.layers[0];
    const mask = noise ? new Noise(noise.seed, STREAM.dropout).dropout(x.indices.length, this.config.keep) : undefined;
    const sparse = kernels.sparseMixForward({
      x,
      concepts: 1,
      d: first.out,
      mask,
      t: values(this.v(`${first.name}.weight`)),
    });
    const b0 = values(this.v(`${first.name}.bias`));
    const y0 = new Float32Array(users * first.out);
    for (let r = 0; r < users; r++) {
      for (let j = 0; j < first.out; j++) {
        const v = sparse.out[r * first.out + j] + b0[j];
        y0[r * first.out + j] = first.tanh ? Math.tanh(v) : v;
      }
    }
    const f: Forward = { mask, sparse, inputs: [], outputs: [y0] };
    for (let j = 0; j + 1 < this.layers.length; j++) {
      const l = this.layers[j];
      if (j > 0) {
        f.outputs.push(
          kernels.denseForward({
            rows: users,
            din: l.in,
            dout: l.out,
            x: f.inputs[j - 1],
            w: values(this.v(`${l.name}.weight`)),
            b: values(this.v(`${l.name}.bias`)),
            tanh: l.tanh,
          }),
        );
      }
      if (j === this.latentLayer) {
        const latent = this.config.latent;
        f.eps = noise ? new Noise(noise.seed, STREAM.epsilon).normal(users * latent) : undefined;
        const h = kernels.headForward({ rows: users, d: latent, y: f.outputs[j], eps: f.eps, head: { kind: 'mult' } });
        f.kl = h.kl;
        f.inputs.push(h.z);
      } else f.inputs.push(f.outputs[j]);
    }
    return f;
  }

  async gradients(batch: Csr, step: StepOptions): Promise<StepGradients> {
    const x = checkCsr(`${this.config.kind}.gradients`, 'batch', batch, undefined, this.items);
    const users = csrRows(x);
    const t = performance.now();
    const seed = step.noiseSeed;
    const mask = new Noise(seed, STREAM.dropout).dropout(x.indices.length, this.config.keep);
    const vae = this.latentLayer >= 0;
    const zw = this.config.latent;
    const eps = vae ? new Noise(seed, STREAM.epsilon).normal(users * zw) : undefined;
    const shared = {
      items: this.items,
      shapes: this.layers.map((l) => [l.in, l.out] as [number, number]),
      latent: vae ? this.latentLayer : undefined,
      weights: this.layers.map((l) => values(this.v(`${l.name}.weight`))),
      biases: this.layers.map((l) => values(this.v(`${l.name}.bias`))),
      sampled: step.sampled,
      gradScale: 1 / Math.max(users, 1),
      klScale: step.beta / Math.max(users, 1),
    };
    // The whole step (encoder, output layer, backward) per slice of users: on the pool when the batch is large.
    const outL = this.layers[this.layers.length - 1];
    const work = users * (step.sampled ? step.sampled.items.length : this.items) * outL.in;
    const g = await this.runtime.splitUsers(
      'multSliceTrain',
      users,
      work,
      (lo, hi) =>
        lo === 0 && hi === users
          ? { ...shared, x, mask, eps }
          : {
              ...shared,
              x: csrSliceRows(x, lo, hi),
              mask: mask.slice(x.indptr[lo], x.indptr[hi]),
              eps: eps?.slice(lo * zw, hi * zw),
            },
      SLICE_MERGE,
    );
    const nll = perUserMean(g.loss, users);
    const kl = perUserMean(g.kl, users);
    const grads = new Map<string, tf.Tensor>();
    this.layers.forEach((l, j) => {
      const itemMajor = j === 0 || j === this.layers.length - 1;
      const shape: [number, number] = itemMajor ? [this.items, j === 0 ? l.out : l.in] : [l.in, l.out];
      grads.set(`${l.name}.weight`, tf.tensor2d(g.dW[j], shape));
      grads.set(`${l.name}.bias`, tf.tensor1d(g.db[j]));
    });
    const l2 = addL2Penalty(
      step.l2,
      this.layers.map((l) => `${l.name}.weight`),
      (n) => this.v(n),
      grads,
    );
    lap('users', t);
    const ordered = inVariableOrder(this.variables, grads);
    const beta = this.config.kind === 'multvae' ? step.beta : 0;
    return { terms: { loss: nll + beta * kl + l2, nll, kl, l2, beta }, grads: ordered };
  }

  /** The latent representation (`μ` for MultVAE, the bottleneck for MultDAE) of fold-in rows, `users × latent`. */
  latent(foldIn: Csr): Float32Array {
    const x = checkCsr(`${this.config.kind}.latent`, 'foldIn', foldIn, undefined, this.items);
    // The encoder has hidden.length + 1 layers; the input of the next layer is z (= μ here) or the DAE's bottleneck.
    return this.forward(x, undefined).inputs[this.config.hidden.length];
  }

  represent(foldIn: Csr): Representation {
    const z = this.latent(foldIn);
    return { data: z, rows: csrRows(foldIn), width: this.config.latent };
  }

  async score(foldIn: Csr): Promise<Float32Array> {
    const x = checkCsr(`${this.config.kind}.score`, 'foldIn', foldIn, undefined, this.items);
    const f = this.forward(x, undefined);
    const outL = this.layers[this.layers.length - 1];
    return decoderLogProbs(this.runtime, {
      users: csrRows(x),
      concepts: 1,
      d: outL.in,
      items: this.items,
      z: f.inputs[f.inputs.length - 1],
      h: values(this.v(`${outL.name}.weight`)),
      bias: values(this.v(`${outL.name}.bias`)),
      scale: 1,
    });
  }

  getWeights(): Weights {
    return readWeights(this.variables);
  }

  setWeights(weights: Weights): void {
    checkWeights(`${this.config.kind}.setWeights`, this.variables, weights);
    assignWeights(this.variables, weights);
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
  }
}
