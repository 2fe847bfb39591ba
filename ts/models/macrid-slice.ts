/**
 * MacridVAE's user-side work for a slice of a batch's users, on the Rust kernels only (no tfjs), so
 * that it runs on the calling thread or inside a pool worker (`KernelPool.run('macridSliceTrain', …)`):
 * the encoder forward (sparse per-concept layer, f_nn, VAE head), the fused decoder with its loss and
 * gradient, and the encoder backward. A batch split into slices gives per-user results (loss, KL) and
 * partial gradients that the caller concatenates or sums.
 *
 * Encoder, per concept k (paper Algorithm 1 with the released code's details): `x_k = x ⊙ c_·k`,
 * L2-normalized, dropout (`mask`, one per click and concept), times the context embeddings `T`, plus a
 * bias, tanh, then f_nn (`d → hidden… → 2d`, tanh and dropout between layers) giving `[a, b]`; the head
 * gives `z = a/‖a‖ + ε ⊙ σ0·exp(−b/2)` (normalized for cosine; `ε` absent at evaluation) and the KL terms.
 */
import type { Csr } from '../csr.js';
import { csrRows } from '../csr.js';
import {
  denseBackward,
  denseForward,
  headBackward,
  headForward,
  mixDecoderTrain,
  type SampledNegatives,
  sparseMixBackward,
  sparseMixForward,
} from '../wasm/nn.js';
import type { WasmInstance } from '../wasm/raw.js';

/** The encoder's weights and settings (arrays: this runs without tfjs). */
export interface MacridEncoderArgs {
  /** The slice's clicks, `users × items`. */
  x: Csr;
  concepts: number;
  d: number;
  sigma0: number;
  /** Cosine (normalized z) or the inner-product ablation. */
  cosine: boolean;
  /** `[d, hidden…, 2d]`. */
  layerDims: number[];
  /** Concept assignment `items × K`. */
  c: Float32Array;
  /** Context embeddings `items × d` and their bias `d`. */
  t: Float32Array;
  bias: Float32Array;
  /** f_nn's weights (`in × out` each) and biases, layer by layer. */
  weights: Float32Array[];
  biases: Float32Array[];
  /** Training noise of the slice: input dropout (`nnz × K`), hidden dropout per hidden layer (`rows × width`), ε (`rows × d`). */
  mask?: Float32Array;
  hiddenMasks?: Array<Float32Array | undefined>;
  eps?: Float32Array;
}

/** What the encoder's backward pass needs. */
export interface EncoderState {
  out: Float32Array;
  norms: Float32Array;
  /** Input of each f_nn layer (`users·K × width`); the first is `tanh(x T / n + bias)`. */
  inputs: Float32Array[];
  /** Output of each f_nn layer (after its tanh for hidden layers; `[a | b]` for the last). */
  outputs: Float32Array[];
  /** The decoder's input `z`, `users·K × d`. */
  z: Float32Array;
  /** Per-row KL terms. */
  kl: Float32Array;
}

/** The encoder forward pass (see the module doc). */
export function macridEncode(inst: WasmInstance, a: MacridEncoderArgs): EncoderState {
  const { concepts: K, d } = a;
  const rows = csrRows(a.x) * K;
  const layers = a.layerDims.length - 1;
  const enc = sparseMixForward(inst, { x: a.x, concepts: K, d, mask: a.mask, c: a.c, t: a.t });
  const in0 = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) in0[r * d + j] = Math.tanh(enc.out[r * d + j] + a.bias[j]);
  const inputs: Float32Array[] = [in0];
  const outputs: Float32Array[] = [];
  for (let j = 0; j < layers; j++) {
    const last = j + 1 === layers;
    const y = denseForward(inst, {
      rows,
      din: a.layerDims[j],
      dout: a.layerDims[j + 1],
      x: inputs[j],
      w: a.weights[j],
      b: a.biases[j],
      mask: last ? undefined : a.hiddenMasks?.[j],
      tanh: !last,
    });
    outputs.push(y);
    if (!last) inputs.push(y);
  }
  const head = { kind: 'macrid', sigma0: a.sigma0, normalize: a.cosine } as const;
  const { z, kl } = headForward(inst, { rows, d, y: outputs[layers - 1], eps: a.eps, head });
  return { out: enc.out, norms: enc.norms, inputs, outputs, z, kl };
}

export interface MacridSliceArgs extends MacridEncoderArgs {
  items: number;
  /** Decoder item vectors `items × d` (normalized for cosine), and `1/τ`. */
  h: Float32Array;
  scale: number;
  /** Bound of `scale · z·h` (`1/τ` for cosine), see `mixDecoderTrain`. */
  bound?: number;
  /** `1 / users of the whole batch` (the loss is a mean over the batch). */
  gradScale: number;
  /** `β / users of the whole batch`. */
  klScale: number;
  sampled?: SampledNegatives;
}

export interface MacridSliceGrads {
  /** Per user of the slice: `−Σ_i x_ui log p_ui`. */
  loss: Float32Array;
  /** Per row (user, concept): the KL terms. */
  kl: Float32Array;
  /** Partial gradients over the slice's users (sum them over slices). */
  dW: Float32Array[];
  db: Float32Array[];
  dbias: Float32Array;
  dt: Float32Array;
  dh: Float32Array;
  /** `∂loss/∂c` through the encoder and through the decoder, `items × K` each. */
  dcEncoder: Float32Array;
  dcDecoder: Float32Array;
}

/** Forward, decoder and backward for one slice of users (see the module doc). */
export function macridSliceTrain(inst: WasmInstance, a: MacridSliceArgs): MacridSliceGrads {
  const { concepts: K, d } = a;
  const users = csrRows(a.x);
  const rows = users * K;
  const layers = a.layerDims.length - 1;
  const enc = macridEncode(inst, a);
  const dec = mixDecoderTrain(inst, {
    users,
    concepts: K,
    d,
    items: a.items,
    z: enc.z,
    h: a.h,
    c: a.c,
    scale: a.scale,
    bound: a.bound,
    x: a.x,
    gradScale: a.gradScale,
    sampled: a.sampled,
  });
  const head = { kind: 'macrid', sigma0: a.sigma0, normalize: a.cosine } as const;
  let dy = headBackward(inst, {
    rows,
    d,
    y: enc.outputs[layers - 1],
    eps: a.eps,
    head,
    dz: dec.dz,
    klScale: a.klScale,
  });
  const dW: Float32Array[] = new Array(layers);
  const db: Float32Array[] = new Array(layers);
  for (let j = layers - 1; j >= 0; j--) {
    const last = j + 1 === layers;
    const g = denseBackward(inst, {
      rows,
      din: a.layerDims[j],
      dout: a.layerDims[j + 1],
      x: enc.inputs[j],
      w: a.weights[j],
      b: a.biases[j],
      mask: last ? undefined : a.hiddenMasks?.[j],
      tanh: !last,
      y: enc.outputs[j],
      dy,
    });
    dW[j] = g.dw;
    db[j] = g.db;
    dy = g.dx as Float32Array;
  }
  // inputs[0] = tanh(out + bias).
  const dpre = new Float32Array(rows * d);
  const dbias = new Float32Array(d);
  const in0 = enc.inputs[0];
  for (let i = 0; i < rows * d; i++) dpre[i] = dy[i] * (1 - in0[i] * in0[i]);
  for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) dbias[j] += dpre[r * d + j];
  const back = sparseMixBackward(inst, {
    x: a.x,
    concepts: K,
    d,
    mask: a.mask,
    c: a.c,
    t: a.t,
    norms: enc.norms,
    out: enc.out,
    dout: dpre,
  });
  return {
    loss: dec.loss,
    kl: enc.kl,
    dW,
    db,
    dbias,
    dt: back.dt,
    dh: dec.dh,
    dcEncoder: back.dc as Float32Array,
    dcDecoder: dec.dc as Float32Array,
  };
}
