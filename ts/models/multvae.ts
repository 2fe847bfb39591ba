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
import { type Csr, checkCsr, csrRows } from '../csr.js';
import { sparseMixBackward, sparseMixForward } from '../wasm/nn.js';
import { threadInstance } from '../wasm/raw.js';
import type { MultConfig } from './config.js';
import { decoderLogProbs, decoderTrain, type Runtime } from './decoder.js';
import { Noise, STREAM } from './noise.js';
import { disposeSaved, matMul, sumSquares, values } from './ops.js';
import { lap } from './profile.js';
import type { Model, StepGradients, StepOptions, Weights } from './types.js';
import { assignWeights, checkWeights, createVariables, glorotUniform, readWeights, smallNormal } from './weights.js';

/** One dense layer of the stack (the first is sparse, the last is the fused output layer). */
interface Layer {
  name: string;
  in: number;
  out: number;
  /** tanh after this layer. */
  tanh: boolean;
}

interface Forward {
  mask?: Float32Array;
  sparse: { out: Float32Array; norms: Float32Array };
  /** Output of every layer but the last, after its activation (`users × width`). */
  acts: tf.Tensor2D[];
  /** MultVAE: the latent statistics and the sample. */
  mu?: tf.Tensor2D;
  logvar?: tf.Tensor2D;
  eps?: tf.Tensor2D;
  std?: tf.Tensor2D;
  z?: tf.Tensor2D;
  kl?: tf.Tensor;
}

export class MultModel implements Model {
  readonly config: MultConfig;
  readonly items: number;
  readonly variables: Map<string, tf.Variable>;
  private readonly runtime: Runtime;
  private readonly layers: Layer[];
  /** MultVAE: index of the layer that outputs `[μ, log σ²]`. */
  private readonly latentLayer: number;

  constructor(config: MultConfig, items: number, options: { seed: number; runtime?: Runtime }) {
    this.config = config;
    this.items = items;
    this.runtime = options.runtime ?? { threads: 1 };
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
    const sparse = sparseMixForward(threadInstance(), {
      x,
      concepts: 1,
      d: first.out,
      mask,
      t: values(this.v(`${first.name}.weight`)),
    });
    const tensors = tf.tidy(() => {
      const acts: tf.Tensor2D[] = [];
      let y = tf.add(tf.tensor2d(sparse.out, [users, first.out]), this.v(`${first.name}.bias`)) as tf.Tensor2D;
      const out: Omit<Forward, 'mask' | 'sparse' | 'acts'> = {};
      for (let j = 0; j + 1 < this.layers.length; j++) {
        const l = this.layers[j];
        if (j > 0) {
          y = tf.add(
            matMul(acts[j - 1], this.v(`${l.name}.weight`) as tf.Tensor2D),
            this.v(`${l.name}.bias`),
          ) as tf.Tensor2D;
        }
        if (j === this.latentLayer) {
          const latent = this.config.latent;
          out.mu = tf.slice(y, [0, 0], [users, latent]) as tf.Tensor2D;
          out.logvar = tf.slice(y, [0, latent], [users, latent]) as tf.Tensor2D;
          // KL(N(μ, σ²) ‖ N(0, I)) = ½ Σ (−log σ² + σ² + μ² − 1), mean over users.
          out.kl = tf.div(
            tf.sum(tf.mul(tf.sub(tf.add(tf.sub(tf.exp(out.logvar), out.logvar), tf.square(out.mu)), 1), 0.5)),
            Math.max(users, 1),
          );
          if (noise) {
            out.std = tf.exp(tf.mul(out.logvar, 0.5)) as tf.Tensor2D;
            out.eps = tf.tensor2d(new Noise(noise.seed, STREAM.epsilon).normal(users * latent), [users, latent]);
            out.z = tf.add(out.mu, tf.mul(out.eps, out.std)) as tf.Tensor2D;
          } else {
            out.z = tf.clone(out.mu);
          }
          acts.push(out.z);
        } else {
          acts.push(l.tanh ? (tf.tanh(y) as tf.Tensor2D) : y);
        }
      }
      return { acts, ...out };
    });
    return { mask, sparse, ...tensors };
  }

  async gradients(batch: Csr, step: StepOptions): Promise<StepGradients> {
    const x = checkCsr(`${this.config.kind}.gradients`, 'batch', batch, undefined, this.items);
    const users = csrRows(x);
    let t = performance.now();
    const f = this.forward(x, { seed: step.noiseSeed });
    const outL = this.layers[this.layers.length - 1];
    const z = values(f.acts[f.acts.length - 1]);
    t = lap('encoder', t);
    const h = values(this.v(`${outL.name}.weight`));
    const bias = values(this.v(`${outL.name}.bias`));
    const dec = await decoderTrain(this.runtime, {
      users,
      concepts: 1,
      d: outL.in,
      items: this.items,
      z,
      h,
      bias,
      scale: 1,
      x,
      gradScale: 1 / Math.max(users, 1),
    });
    let nll = 0;
    for (const l of dec.loss) nll += l;
    nll /= Math.max(users, 1);
    const kl = f.kl ? (f.kl.arraySync() as number) : 0;
    const grads = new Map<string, tf.Tensor>();
    grads.set(`${outL.name}.weight`, tf.tensor2d(dec.dh, [this.items, outL.in]));
    grads.set(`${outL.name}.bias`, tf.tensor1d(dec.dbias as Float32Array));
    t = lap('decoder', t);
    tf.tidy(() => {
      // Gradient with respect to the output of layer j (after its activation), j from the last hidden down.
      let dAct: tf.Tensor2D = tf.tensor2d(dec.dz, [users, outL.in]);
      for (let j = this.layers.length - 2; j >= 0; j--) {
        const l = this.layers[j];
        let dy: tf.Tensor2D;
        if (j === this.latentLayer) {
          const mu = f.mu as tf.Tensor2D;
          const logvar = f.logvar as tf.Tensor2D;
          const s = step.beta / Math.max(users, 1);
          // z = μ + ε σ, σ = e^{½ log σ²}; KL: dμ = s·μ, d log σ² = s·½(e^{log σ²} − 1).
          const dmu = tf.add(dAct, tf.mul(mu, s));
          let dlv = tf.mul(tf.sub(tf.exp(logvar), 1), 0.5 * s);
          if (f.eps && f.std) dlv = tf.add(dlv, tf.mul(tf.mul(tf.mul(dAct, f.eps), f.std), 0.5));
          dy = tf.concat([dmu, dlv], 1) as tf.Tensor2D;
        } else {
          dy = (l.tanh ? tf.mul(dAct, tf.sub(1, tf.square(f.acts[j]))) : dAct) as tf.Tensor2D;
        }
        grads.set(`${l.name}.bias`, tf.keep(tf.sum(dy, 0)));
        if (j === 0) {
          const back = sparseMixBackward(threadInstance(), {
            x,
            concepts: 1,
            d: l.out,
            mask: f.mask,
            t: values(this.v(`${l.name}.weight`)),
            norms: f.sparse.norms,
            out: f.sparse.out,
            dout: values(dy),
          });
          grads.set(`${l.name}.weight`, tf.keep(tf.tensor2d(back.dt, [this.items, l.out])));
        } else {
          grads.set(`${l.name}.weight`, tf.keep(matMul(f.acts[j - 1], dy, true, false)));
          dAct = matMul(dy, this.v(`${l.name}.weight`) as tf.Tensor2D, false, true);
        }
      }
    });
    let l2 = 0;
    if (step.l2 > 0) {
      const names = this.layers.map((l) => `${l.name}.weight`);
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
    disposeSaved(f as unknown as Record<string, unknown>);
    lap('encoder', t);
    const ordered = new Map<string, tf.Tensor>();
    for (const name of this.variables.keys()) ordered.set(name, grads.get(name) as tf.Tensor);
    const beta = this.config.kind === 'multvae' ? step.beta : 0;
    return { terms: { loss: nll + beta * kl + l2, nll, kl, l2, beta }, grads: ordered };
  }

  /** The latent representation (`μ` for MultVAE, the bottleneck for MultDAE) of fold-in rows, `users × latent`. */
  latent(foldIn: Csr): Float32Array {
    const x = checkCsr(`${this.config.kind}.latent`, 'foldIn', foldIn, undefined, this.items);
    const f = this.forward(x, undefined);
    // The encoder has hidden.length + 1 layers; its last output is z (= μ here) or the DAE's bottleneck.
    const out = values(f.acts[this.config.hidden.length]);
    disposeSaved(f as unknown as Record<string, unknown>);
    return out;
  }

  async score(foldIn: Csr): Promise<Float32Array> {
    const x = checkCsr(`${this.config.kind}.score`, 'foldIn', foldIn, undefined, this.items);
    const f = this.forward(x, undefined);
    const outL = this.layers[this.layers.length - 1];
    try {
      return await decoderLogProbs(this.runtime, {
        users: csrRows(x),
        concepts: 1,
        d: outL.in,
        items: this.items,
        z: values(f.acts[f.acts.length - 1]),
        h: values(this.v(`${outL.name}.weight`)),
        bias: values(this.v(`${outL.name}.bias`)),
        scale: 1,
      });
    } finally {
      disposeSaved(f as unknown as Record<string, unknown>);
    }
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
