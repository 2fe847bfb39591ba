/**
 * β-MultVAE's and MultDAE's training step in TensorFlow.js ops: the same forward pass, loss and
 * gradients as `MultModel.gradients` (`../multvae.ts`, formulas in its module doc), the same noise, every
 * operation a tfjs op. The sparse first layer is `A·W₁ / sqrt(n_b + 1e-8)` with `A` the dropout mask
 * scattered into a dense `B × M` block; the output layer is the fused decoder of `./ops.ts` with one
 * concept and a bias.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MultConfig } from '../config.js';
import { Noise, STREAM } from '../noise.js';
import type { StepOptions } from '../types.js';
import type { TfjsGradients, TfjsModelView } from './macridvae.js';
import { type BatchTensors, decoder, denseBackward, denseForward, l2Penalty, mmTN } from './ops.js';

/** One layer of the stack, as `MultModel` builds it (names are the variables'). */
interface Layer {
  name: string;
  in: number;
  out: number;
  tanh: boolean;
}

/** The layers of a MultVAE/MultDAE config (the same list `MultModel`'s constructor builds). */
export function multLayers(config: MultConfig, items: number): { layers: Layer[]; latentLayer: number } {
  const vae = config.kind === 'multvae';
  const enc = [items, ...config.hidden, vae ? 2 * config.latent : config.latent];
  const dec = [config.latent, ...[...config.hidden].reverse(), items];
  const layers: Layer[] = [];
  for (let j = 0; j + 1 < enc.length; j++) {
    layers.push({ name: `encoder.${j}`, in: enc[j], out: enc[j + 1], tanh: !(vae && j + 2 === enc.length) });
  }
  const latentLayer = vae ? layers.length - 1 : -1;
  for (let j = 0; j + 1 < dec.length; j++) {
    const last = j + 2 === dec.length;
    layers.push({ name: last ? 'decoder.out' : `decoder.${j}`, in: dec[j], out: dec[j + 1], tanh: !last });
  }
  return { layers, latentLayer };
}

/** Loss and gradients of one MultVAE/MultDAE minibatch (call inside `tf.tidy`). */
export function multGradients(model: TfjsModelView<MultConfig>, bt: BatchTensors, step: StepOptions): TfjsGradients {
  const cfg = model.config;
  const { layers, latentLayer } = multLayers(cfg, model.items);
  const v = (n: string) => model.variables.get(n) as tf.Variable;
  const W = (l: Layer) => v(`${l.name}.weight`) as tf.Tensor2D;
  const bias = (l: Layer) => v(`${l.name}.bias`) as tf.Tensor1D;
  const B = bt.users;
  const M = model.items;
  const seed = step.noiseSeed;
  const first = layers[0];
  // y0 = act(dropout(x/‖x‖)·W₁ + b₁).
  const mask = new Noise(seed, STREAM.dropout).dropout(bt.nnz, cfg.keep);
  const a = tf.scatterND(bt.pairs, mask, [B, M]) as tf.Tensor2D;
  const norms = tf.sqrt(tf.add(bt.counts, 1e-8));
  const pre0 = tf.add(tf.div(tf.matMul(a, W(first)), norms), bias(first));
  const outputs: tf.Tensor2D[] = [(first.tanh ? tf.tanh(pre0) : pre0) as tf.Tensor2D];
  const inputs: tf.Tensor2D[] = [];
  let eps: tf.Tensor2D | undefined;
  let kl = tf.scalar(0);
  for (let j = 0; j + 1 < layers.length; j++) {
    const l = layers[j];
    if (j > 0) outputs.push(denseForward(inputs[j - 1], W(l), bias(l), undefined, l.tanh));
    if (j === latentLayer) {
      // z = μ + ε·e^{lv/2}; KL ½Σ(−lv + e^{lv} + μ² − 1).
      const latent = cfg.latent;
      eps = tf.tensor2d(new Noise(seed, STREAM.epsilon).normal(B * latent), [B, latent]);
      const mu = tf.slice(outputs[j], [0, 0], [B, latent]);
      const lv = tf.slice(outputs[j], [0, latent], [B, latent]);
      inputs.push(tf.add(mu, tf.mul(eps, tf.exp(tf.mul(lv, 0.5)))) as tf.Tensor2D);
      kl = tf.div(
        tf.mul(tf.sum(tf.sub(tf.add(tf.sub(tf.exp(lv), lv), tf.square(mu)), 1)), 0.5),
        Math.max(B, 1),
      ) as tf.Scalar;
    } else inputs.push(outputs[j]);
  }
  const outL = layers[layers.length - 1];
  const gradScale = 1 / Math.max(B, 1);
  const dec = decoder(
    { z: inputs[inputs.length - 1], h: W(outL), bias: bias(outL), concepts: 1, scale: 1, gradScale },
    bt,
    step.sampled,
  );
  const grads = new Map<string, tf.Tensor>();
  grads.set(`${outL.name}.weight`, dec.dh);
  grads.set(`${outL.name}.bias`, dec.dbias as tf.Tensor1D);
  let dIn = dec.dz;
  const klScale = step.beta * gradScale;
  for (let j = layers.length - 2; j >= 0; j--) {
    const l = layers[j];
    let dOut = dIn;
    if (j === latentLayer) {
      const latent = cfg.latent;
      const mu = tf.slice(outputs[j], [0, 0], [B, latent]);
      const lv = tf.slice(outputs[j], [0, latent], [B, latent]);
      const dmu = tf.add(dIn, tf.mul(mu, klScale));
      const dlv = tf.add(
        tf.mul(tf.mul(tf.mul(dIn, eps as tf.Tensor2D), tf.exp(tf.mul(lv, 0.5))), 0.5),
        tf.mul(tf.sub(tf.exp(lv), 1), 0.5 * klScale),
      );
      dOut = tf.concat([dmu, dlv], 1) as tf.Tensor2D;
    }
    if (j === 0) {
      const dpre = l.tanh ? tf.mul(dOut, tf.sub(1, tf.square(outputs[0]))) : dOut;
      grads.set(`${l.name}.bias`, tf.sum(dpre, 0));
      grads.set(`${l.name}.weight`, mmTN(a, tf.div(dpre, norms) as tf.Tensor2D));
    } else {
      const r = denseBackward(inputs[j - 1], W(l), outputs[j], undefined, l.tanh, dOut);
      grads.set(`${l.name}.weight`, r.dw);
      grads.set(`${l.name}.bias`, r.db);
      dIn = r.dx as tf.Tensor2D;
    }
  }
  const l2 = l2Penalty(
    model.variables,
    layers.map((l) => `${l.name}.weight`),
    step.l2,
    grads,
  );
  return { nll: tf.mean(dec.loss) as tf.Scalar, kl: cfg.kind === 'multvae' ? kl : tf.scalar(0), l2, grads };
}
