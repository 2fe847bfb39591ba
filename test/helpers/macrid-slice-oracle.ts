/**
 * The oracle of the fused MacridVAE slice step (`ts/models/macrid-slice.ts`, one Rust call): the same
 * step composed from the single kernels (sparse layer, dense layers, head, fused decoder) with tanh, its
 * backward and the bias sum in JS between them — what the models ran before issue 12. The contract
 * test (test/unit/macrid-slice.test.ts) checks that both give the same loss, KL and gradients.
 */
import { csrRows } from '../../ts/csr.js';
import type { MacridEncoderArgs, MacridSliceArgs, MacridSliceGrads } from '../../ts/models/macrid-slice.js';
import {
  denseBackward,
  denseForward,
  headBackward,
  headForward,
  mixDecoderTrain,
  sparseMixBackward,
  sparseMixForward,
} from '../../ts/wasm/nn.js';
import type { WasmInstance } from '../../ts/wasm/raw.js';

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
export function macridEncodeOracle(inst: WasmInstance, a: MacridEncoderArgs): EncoderState {
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

/** Forward, decoder and backward for one slice of users (see the module doc). */
export function macridSliceOracle(inst: WasmInstance, a: MacridSliceArgs): MacridSliceGrads {
  const { concepts: K, d } = a;
  const users = csrRows(a.x);
  const rows = users * K;
  const layers = a.layerDims.length - 1;
  const enc = macridEncodeOracle(inst, a);
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
