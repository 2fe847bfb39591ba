/**
 * MacridVAE's training step in TensorFlow.js ops: the same forward pass, loss and gradients as
 * `MacridVae.gradients` (`../macridvae.ts` + `../macrid-slice.ts`, the formulas in their module docs),
 * with the same noise (`../noise.ts`, drawn from the step's seed), but every operation a tfjs op, so it
 * runs on whichever backend is active (a GPU one included).
 *
 * Dense where a GPU wants it: the encoder's first layer is `(A ⊙ c)·T` with `A` the batch's dropout
 * mask scattered into a `B × K × M` block (the same size as the decoder's logits), so the layer and its
 * gradients are three plain products.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Csr } from '../../csr.js';
import type { MacridVaeConfig } from '../config.js';
import { Noise, STREAM } from '../noise.js';
import type { StepOptions } from '../types.js';
import {
  type BatchTensors,
  decoder,
  denseBackward,
  denseForward,
  l2n,
  l2nBackward,
  l2Penalty,
  mmNT,
  mmTN,
} from './ops.js';

/** What a tfjs step reads from a model: its config, item count and variables. */
export interface TfjsModelView<C> {
  readonly config: C;
  readonly items: number;
  readonly variables: ReadonlyMap<string, tf.Variable>;
}

/** Loss terms (scalars) and gradients by variable name; built inside the caller's `tf.tidy`. */
export interface TfjsGradients {
  nll: tf.Scalar;
  kl: tf.Scalar;
  l2: tf.Scalar;
  grads: Map<string, tf.Tensor>;
}

/** The noise of one step, exactly as `MacridVae.gradients` draws it. */
function macridNoise(cfg: MacridVaeConfig, items: number, x: Csr, users: number, layerDims: number[], seed: number) {
  const K = cfg.concepts;
  const rows = users * K;
  const hidden = new Noise(seed, STREAM.hidden);
  return {
    gumbel: cfg.gumbel ? new Noise(seed, STREAM.gumbel).gumbel(items * K) : undefined,
    mask: new Noise(seed, STREAM.dropout).dropout(x.indices.length * K, cfg.keep),
    hiddenMasks: Array.from({ length: layerDims.length - 2 }, (_, j) =>
      hidden.dropout(rows * layerDims[j + 1], cfg.keep),
    ),
    eps: new Noise(seed, STREAM.epsilon).normal(rows * cfg.d),
  };
}

/** Loss and gradients of one MacridVAE minibatch (call inside `tf.tidy`). */
export function macridGradients(
  model: TfjsModelView<MacridVaeConfig>,
  bt: BatchTensors,
  step: StepOptions,
): TfjsGradients {
  const cfg = model.config;
  const { concepts: K, d, tau, sigma0 } = cfg;
  const cosine = cfg.similarity === 'cosine';
  const v = (n: string) => model.variables.get(n) as tf.Variable;
  const B = bt.users;
  const M = model.items;
  const rows = B * K;
  const layerDims = [d, ...cfg.hidden, 2 * d];
  const layers = layerDims.length - 1;
  const noise = macridNoise(cfg, M, bt.csr, B, layerDims, step.noiseSeed);

  // Concept assignment: c = softmax(hn·pnᵀ/τ + Gumbel noise), M × K.
  const hs = cosine ? l2n(v('items') as tf.Tensor2D) : { y: v('items') as tf.Tensor2D, norm: undefined };
  const ps = cosine ? l2n(v('prototypes') as tf.Tensor2D) : { y: v('prototypes') as tf.Tensor2D, norm: undefined };
  let s = tf.div(mmNT(hs.y, ps.y), tau) as tf.Tensor2D;
  if (noise.gumbel) s = tf.add(s, tf.tensor2d(noise.gumbel, [M, K]));
  const c = tf.softmax(s) as tf.Tensor2D;
  const cT = tf.transpose(c) as tf.Tensor2D;

  // Encoder, first layer: out[b,k] = Σ_{i∈x_b} mask·c_ik·t_i / sqrt(Σ_{i∈x_b} c_ik² + 1e-8).
  const idx3 = new Int32Array(bt.nnz * K * 3);
  for (let p = 0; p < bt.nnz; p++) {
    for (let k = 0; k < K; k++) {
      const o = (p * K + k) * 3;
      idx3[o] = bt.rows[p];
      idx3[o + 1] = k;
      idx3[o + 2] = bt.cols[p];
    }
  }
  const a3 = tf.scatterND(tf.tensor2d(idx3, [bt.nnz * K, 3], 'int32'), noise.mask, [B, K, M]) as tf.Tensor3D;
  const ac = tf.reshape(tf.mul(a3, tf.expandDims(cT, 0)), [rows, M]) as tf.Tensor2D;
  const t = v('context') as tf.Tensor2D;
  const norms = tf.reshape(tf.sqrt(tf.add(tf.matMul(bt.x, tf.square(c)), 1e-8)), [rows, 1]) as tf.Tensor2D;
  const out = tf.div(tf.matMul(ac, t), norms) as tf.Tensor2D;
  const in0 = tf.tanh(tf.add(out, v('context_bias'))) as tf.Tensor2D;
  const inputs: tf.Tensor2D[] = [in0];
  const outputs: tf.Tensor2D[] = [];
  const masks = noise.hiddenMasks.map((m, j) => tf.tensor2d(m, [rows, layerDims[j + 1]]));
  for (let j = 0; j < layers; j++) {
    const last = j + 1 === layers;
    const y = denseForward(
      inputs[j],
      v(`fnn.${j}.weight`) as tf.Tensor2D,
      v(`fnn.${j}.bias`) as tf.Tensor1D,
      last ? undefined : masks[j],
      !last,
    );
    outputs.push(y);
    if (!last) inputs.push(y);
  }
  // Head: μ = a/‖a‖, z = μ + ε·σ0·e^{−b/2} (normalized for cosine), KL ½Σ(b + e^{−b} − 1).
  const y = outputs[layers - 1];
  const a = tf.slice(y, [0, 0], [rows, d]) as tf.Tensor2D;
  const bb = tf.slice(y, [0, d], [rows, d]) as tf.Tensor2D;
  const mu = l2n(a);
  const half = tf.exp(tf.mul(bb, -0.5));
  const eps = tf.tensor2d(noise.eps, [rows, d]);
  const z0 = tf.add(mu.y, tf.mul(tf.mul(eps, half), sigma0)) as tf.Tensor2D;
  const zs = cosine ? l2n(z0) : { y: z0, norm: undefined };
  const kl = tf.div(tf.mul(tf.sum(tf.sub(tf.add(bb, tf.square(half)), 1)), 0.5), Math.max(B, 1)) as tf.Scalar;

  const gradScale = 1 / Math.max(B, 1);
  const dec = decoder(
    {
      z: zs.y,
      h: hs.y,
      concepts: K,
      c,
      cT,
      scale: 1 / tau,
      bound: cosine ? 1 / tau : undefined,
      gradScale,
    },
    bt,
    step.sampled,
  );

  // Head backward.
  const g = cosine ? l2nBackward(zs.y, zs.norm as tf.Tensor2D, dec.dz) : dec.dz;
  const da = l2nBackward(mu.y, mu.norm, g);
  const klScale = step.beta * gradScale;
  const db = tf.add(
    tf.mul(tf.mul(tf.mul(g, eps), half), -0.5 * sigma0),
    tf.mul(tf.sub(1, tf.square(half)), 0.5 * klScale),
  );
  let dy = tf.concat([da, db], 1) as tf.Tensor2D;
  const grads = new Map<string, tf.Tensor>();
  for (let j = layers - 1; j >= 0; j--) {
    const last = j + 1 === layers;
    const r = denseBackward(
      inputs[j],
      v(`fnn.${j}.weight`) as tf.Tensor2D,
      outputs[j],
      last ? undefined : masks[j],
      !last,
      dy,
    );
    grads.set(`fnn.${j}.weight`, r.dw);
    grads.set(`fnn.${j}.bias`, r.db);
    dy = r.dx as tf.Tensor2D;
  }
  // in0 = tanh(out + bias); out = S / n with S = (A ⊙ c)·T.
  const dpre = tf.mul(dy, tf.sub(1, tf.square(in0))) as tf.Tensor2D;
  grads.set('context_bias', tf.sum(dpre, 0));
  const dS = tf.div(dpre, norms) as tf.Tensor2D;
  const dnOverN = tf.div(tf.neg(tf.sum(tf.mul(dpre, out), 1, true)), tf.square(norms));
  grads.set('context', mmTN(ac, dS));
  const u3 = tf.reshape(mmNT(dS, t), [B, K, M]);
  const dcEncoder = tf.add(tf.transpose(tf.sum(tf.mul(a3, u3), 0)), tf.mul(c, mmTN(bt.x, tf.reshape(dnOverN, [B, K]))));
  // c = softmax(s), s = hn·pnᵀ/τ (+ noise).
  const dc = tf.add(dec.dc as tf.Tensor2D, dcEncoder);
  const ds = tf.div(tf.mul(c, tf.sub(dc, tf.sum(tf.mul(c, dc), 1, true))), tau) as tf.Tensor2D;
  const dhn = tf.add(dec.dh, tf.matMul(ds, ps.y)) as tf.Tensor2D;
  const dpn = mmTN(ds, hs.y);
  grads.set('items', cosine ? l2nBackward(hs.y, hs.norm as tf.Tensor2D, dhn) : dhn);
  grads.set('prototypes', cosine ? l2nBackward(ps.y, ps.norm as tf.Tensor2D, dpn as tf.Tensor2D) : dpn);
  const penalized = ['items', 'context', 'prototypes', ...Array.from({ length: layers }, (_, j) => `fnn.${j}.weight`)];
  const l2 = l2Penalty(model.variables, penalized, step.l2, grads);
  return { nll: tf.mean(dec.loss) as tf.Scalar, kl, l2, grads };
}
