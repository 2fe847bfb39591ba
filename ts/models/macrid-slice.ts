/**
 * MacridVAE's user-side work for a slice of a batch's users as ONE Rust call (`mv_macrid_slice_train`,
 * `crates/macrid-core/src/nn/slice.rs`), so that it runs on the calling thread or inside a pool worker
 * (`runtime.splitUsers('macridSliceTrain', …)`) without data bouncing between JS and WASM: the encoder
 * forward (sparse per-concept layer, `tanh(· + b)`, f_nn, VAE head), the fused decoder with its loss and
 * gradient, and the encoder backward. The item matrices (`c`, `t`, `h`) are copied into the instance's
 * memory once per call — once per step per worker — and read in place by every part. A batch split into
 * slices gives per-user results (loss, KL) and partial gradients that the caller concatenates or sums.
 *
 * Encoder, per concept k (paper Algorithm 1 with the released code's details): `x_k = x ⊙ c_·k`,
 * L2-normalized, dropout (`mask`, one per click and concept), times the context embeddings `T`, plus a
 * bias, tanh, then f_nn (`d → hidden… → 2d`, tanh and dropout between layers) giving `[a, b]`; the head
 * gives `z = a/‖a‖ + ε ⊙ σ0·exp(−b/2)` (normalized for cosine; `ε` absent at evaluation) and the KL terms.
 * `test/helpers/macrid-slice-oracle.ts` composes the same step from the single kernels (the contract
 * test compares them).
 */
import { type Csr, checkCsr, csrRows } from '../csr.js';
import { InvalidArgumentError } from '../errors.js';
import { checkArray, checkInt, checkNumber } from '../validate.js';
import type { SampledNegatives } from '../wasm/nn.js';
import type { Arena, RawExports, WasmInstance } from '../wasm/raw.js';

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

/**
 * `parts` one after another in WASM memory (as one concatenated array), resident under `key` when
 * given (see `Arena.putWith`), else for this call.
 */
function putParts(ar: Arena, parts: Float32Array[], key?: string): number {
  let bytes = 0;
  for (const p of parts) bytes += p.byteLength;
  return ar.putWith(
    bytes,
    (ptr) => {
      let at = ptr;
      for (const p of parts) {
        ar.write(at, p);
        at += p.byteLength;
      }
    },
    key,
  );
}

/** Cuts `flat` into consecutive pieces of the given sizes. */
function split(flat: Float32Array, sizes: number[]): Float32Array[] {
  const out: Float32Array[] = [];
  let at = 0;
  for (const n of sizes) {
    out.push(flat.slice(at, at + n));
    at += n;
  }
  return out;
}

/** Checks the encoder's arguments (naming the bad one) and returns the slice's shape. */
function checkEncoder(fn: string, a: MacridEncoderArgs, items: number) {
  const x = checkCsr(fn, 'x', a.x, undefined, items);
  const users = csrRows(x);
  const K = checkInt(fn, 'concepts', a.concepts, 1, 1 << 16);
  const d = checkInt(fn, 'd', a.d, 1, 1 << 20);
  checkNumber(fn, 'sigma0', a.sigma0, 0);
  const dims = a.layerDims;
  if (dims.length < 2 || dims[0] !== d || dims[dims.length - 1] !== 2 * d) {
    throw new InvalidArgumentError(
      `'layerDims' passed to ${fn}() must run from d = ${d} to 2d = ${2 * d} but is [${dims.join(', ')}]`,
    );
  }
  for (let j = 0; j < dims.length; j++) checkInt(fn, `layerDims[${j}]`, dims[j], 1, 1 << 20);
  const layers = dims.length - 1;
  const rows = users * K;
  checkArray(fn, 'c', a.c, Float32Array, items * K);
  checkArray(fn, 't', a.t, Float32Array, items * d);
  checkArray(fn, 'bias', a.bias, Float32Array, d);
  if (a.weights.length !== layers || a.biases.length !== layers) {
    throw new InvalidArgumentError(`'weights' and 'biases' passed to ${fn}() must have ${layers} layers each`);
  }
  for (let j = 0; j < layers; j++) {
    checkArray(fn, `weights[${j}]`, a.weights[j], Float32Array, dims[j] * dims[j + 1]);
    checkArray(fn, `biases[${j}]`, a.biases[j], Float32Array, dims[j + 1]);
  }
  if (a.mask !== undefined) checkArray(fn, 'mask', a.mask, Float32Array, x.indices.length * K);
  const hidden = (a.hiddenMasks ?? []).filter((m) => m !== undefined);
  if (hidden.length > 0 && hidden.length !== layers - 1) {
    throw new InvalidArgumentError(`'hiddenMasks' passed to ${fn}() must have one mask per hidden layer or none`);
  }
  for (let j = 0; j < hidden.length; j++) {
    checkArray(fn, `hiddenMasks[${j}]`, hidden[j], Float32Array, rows * dims[j + 1]);
  }
  if (a.eps !== undefined) checkArray(fn, 'eps', a.eps, Float32Array, rows * d);
  return { x, users, K, d, rows, layers, hidden };
}

/** The dims array and the model pointers shared by both exports (see `mv_macrid_slice_train`). */
function modelArgs(
  ar: Arena,
  a: MacridEncoderArgs & { h: Float32Array; scale: number; bound?: number; key?: string },
  items: number,
  negatives: number,
) {
  const users = csrRows(a.x);
  const dims = Uint32Array.from([
    users,
    items,
    a.concepts,
    a.d,
    a.x.indices.length,
    a.layerDims.length - 1,
    negatives,
    a.cosine ? 1 : 0,
    ...a.layerDims,
  ]);
  // The model pointer block: [indptr, indices, c, t, context_bias, weights, biases, h]; the model's
  // arrays resident under `a.key` when given (serving), else copied for this call.
  const key = (name: string) => (a.key === undefined ? undefined : `${a.key}/encoder.${name}`);
  const model = Uint32Array.from([
    ar.input(a.x.indptr),
    ar.input(a.x.indices),
    ar.put(a.c, key('c')),
    ar.put(a.t, key('t')),
    ar.put(a.bias, key('bias')),
    putParts(ar, a.weights, key('weights')),
    putParts(ar, a.biases, key('biases')),
    ar.put(a.h, key('h')),
  ]);
  return [ar.input(dims), dims.length, ar.input(model)] as const;
}

/**
 * `μ` (`users·K × d`, unit rows for cosine; `z = μ` at evaluation) of the rows of `a.x`, in one call.
 * `key`: keep the model's arrays resident in the instance under this group key (serving: the weights
 * never change under one key); absent, they are copied for this call.
 */
export function macridEncode(
  inst: WasmInstance,
  a: MacridEncoderArgs & { items: number; h: Float32Array; key?: string },
): Float32Array {
  const fn = 'macridEncode';
  const items = checkInt(fn, 'items', a.items, 1);
  const { rows, d } = checkEncoder(fn, a, items);
  checkArray(fn, 'h', a.h, Float32Array, items * a.d);
  return inst.call(fn, (ar, x: RawExports) => {
    const [dims, ndims, model] = modelArgs(ar, { ...a, scale: 1 }, items, 0);
    const pZ = ar.output(Float32Array, rows * d);
    const params = ar.input(Float32Array.from([a.sigma0, 1, Number.NaN]));
    inst.check(fn, x.mv_macrid_encode(dims, ndims, params, model, pZ));
    return ar.read(Float32Array, pZ, rows * d);
  });
}

/** Forward, decoder and backward for one slice of users in one call (see the module doc). */
export function macridSliceTrain(inst: WasmInstance, a: MacridSliceArgs): MacridSliceGrads {
  const fn = 'macridSliceTrain';
  const items = checkInt(fn, 'items', a.items, 1);
  const { users, K, d, rows, layers, hidden } = checkEncoder(fn, a, items);
  checkArray(fn, 'h', a.h, Float32Array, items * d);
  for (const k of ['scale', 'gradScale', 'klScale'] as const) checkNumber(fn, k, a[k]);
  if (a.bound !== undefined) checkNumber(fn, 'bound', a.bound);
  const s = a.sampled;
  if (s) {
    checkArray(fn, 'sampled.items', s.items, Uint32Array);
    checkArray(fn, 'sampled.logWeight', s.logWeight, Float32Array, s.items.length);
  }
  const dims = a.layerDims;
  const wSizes = Array.from({ length: layers }, (_, j) => dims[j] * dims[j + 1]);
  const bSizes = dims.slice(1);
  const nw = wSizes.reduce((p, q) => p + q, 0);
  const nb = bSizes.reduce((p, q) => p + q, 0);
  return inst.call(fn, (ar, x: RawExports) => {
    const [dimsP, ndims, model] = modelArgs(ar, a, items, s ? s.items.length : 0);
    const params = ar.input(Float32Array.from([a.sigma0, a.scale, a.bound ?? Number.NaN, a.gradScale, a.klScale]));
    const out = {
      loss: ar.output(Float32Array, users),
      kl: ar.output(Float32Array, rows),
      dw: ar.output(Float32Array, nw),
      db: ar.output(Float32Array, nb),
      dbias: ar.output(Float32Array, d),
      dt: ar.output(Float32Array, items * d),
      dh: ar.output(Float32Array, items * d),
      dcEncoder: ar.output(Float32Array, items * K),
      dcDecoder: ar.output(Float32Array, items * K),
    };
    const opt = (v: Float32Array | Uint32Array | undefined) => (v === undefined ? 0 : ar.input(v));
    inst.check(
      fn,
      x.mv_macrid_slice_train(
        dimsP,
        ndims,
        params,
        model,
        opt(a.mask),
        hidden.length > 0 ? putParts(ar, hidden as Float32Array[]) : 0,
        opt(a.eps),
        opt(s?.items),
        opt(s?.logWeight),
        // The output pointer block, in the order of `mv_macrid_slice_train`.
        ar.input(Uint32Array.from(Object.values(out))),
      ),
    );
    return {
      loss: ar.read(Float32Array, out.loss, users),
      kl: ar.read(Float32Array, out.kl, rows),
      dW: split(ar.read(Float32Array, out.dw, nw), wSizes),
      db: split(ar.read(Float32Array, out.db, nb), bSizes),
      dbias: ar.read(Float32Array, out.dbias, d),
      dt: ar.read(Float32Array, out.dt, items * d),
      dh: ar.read(Float32Array, out.dh, items * d),
      dcEncoder: ar.read(Float32Array, out.dcEncoder, items * K),
      dcDecoder: ar.read(Float32Array, out.dcDecoder, items * K),
    };
  });
}
