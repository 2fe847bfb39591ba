/**
 * Typed wrappers of the models' training kernels (`crates/macrid-core/src/nn.rs`). Arguments are
 * validated here, at the edge; every argument object is structured-clone-safe, so the same call runs on
 * the worker pool (`KernelPool.run('mixDecoderTrain', args)`).
 *
 * Layouts (row-major float32): user concept vectors `z` are `(users·K) × d` with row `b·K + k`; item
 * matrices (`h`, `t`) are `items × d`; concept assignments `c` are `items × K`.
 */
import { type Csr, checkCsr, csrRows } from '../csr.js';
import { InvalidArgumentError } from '../errors.js';
import { checkArray, checkInt, checkNumber } from '../validate.js';
import type { Arena, WasmInstance } from './raw.js';

export interface SparseMixArgs {
  /** Clicks, `users × items` CSR. */
  x: Csr;
  /** Concepts `K` (1 for MultVAE/MultDAE). */
  concepts: number;
  d: number;
  /** Dropout multipliers per click and concept (`nnz × K`, 0 or 1/keep); omitted: all ones. */
  mask?: Float32Array;
  /** Concept assignment `items × K`; omitted only when `concepts` is 1 (then `c ≡ 1`). */
  c?: Float32Array;
  /** Context embeddings `items × d`. */
  t: Float32Array;
  /** Added under the square root of each norm (default 1e-8, as the reference). */
  eps?: number;
  /**
   * Keep `t` and `c` resident under `<key>/t`, `<key>/c` (`WasmInstance.residents`; serving, where
   * they never change under one key); omitted: copied for this call.
   */
  key?: string;
}

export interface SparseMixResult {
  /** `users × K × d`: `Σ_{i∈x_b} mask·c_ik·t_i / sqrt(Σ_{i∈x_b} c_ik² + eps)`. */
  out: Float32Array;
  /** `users × K`, the denominators. */
  norms: Float32Array;
}

export interface SparseMixBackwardArgs extends SparseMixArgs {
  norms: Float32Array;
  out: Float32Array;
  /** Gradient of `out`. */
  dout: Float32Array;
}

export interface SparseMixGrads {
  /** `items × K`, present when `c` was given. */
  dc?: Float32Array;
  /** `items × d`. */
  dt: Float32Array;
}

interface SparseChecked {
  users: number;
  items: number;
  nnz: number;
  K: number;
  d: number;
}

function checkSparse(fn: string, a: SparseMixArgs): SparseChecked {
  const x = checkCsr(fn, 'x', a.x);
  const users = csrRows(x);
  const items = x.cols;
  const K = checkInt(fn, 'concepts', a.concepts, 1, 1 << 16);
  const d = checkInt(fn, 'd', a.d, 1, 1 << 20);
  const nnz = x.indices.length;
  if (a.mask !== undefined) checkArray(fn, 'mask', a.mask, Float32Array, nnz * K);
  if (a.c !== undefined) checkArray(fn, 'c', a.c, Float32Array, items * K);
  else if (K !== 1) throw new InvalidArgumentError(`'c' passed to ${fn}() is required when concepts = ${K}`);
  checkArray(fn, 't', a.t, Float32Array, items * d);
  if (a.eps !== undefined) checkNumber(fn, 'eps', a.eps, 0);
  return { users, items, nnz, K, d };
}

/** The arguments both sparse-layer exports begin with: sizes, the CSR batch, mask, c and t. */
function sparseInputs(ar: Arena, a: SparseMixArgs, dims: ReturnType<typeof checkSparse>) {
  const { users, items, nnz, K, d } = dims;
  return [
    users,
    items,
    K,
    d,
    ar.input(a.x.indptr),
    ar.input(a.x.indices),
    nnz,
    optional(ar, a.mask),
    a.c === undefined ? 0 : ar.put(a.c, a.key === undefined ? undefined : `${a.key}/c`),
    ar.put(a.t, a.key === undefined ? undefined : `${a.key}/t`),
  ] as const;
}

/** The pointer of an optional input: 0 (null) when absent. */
export function optional(arena: Arena, v: Float32Array | undefined): number {
  return v === undefined ? 0 : arena.input(v);
}

/** Forward pass of the per-concept sparse encoder layer (one call for the whole batch). */
export function sparseMixForward(inst: WasmInstance, a: SparseMixArgs): SparseMixResult {
  const fn = 'sparseMixForward';
  const dims = checkSparse(fn, a);
  const { users, K, d } = dims;
  return inst.call(fn, (ar, x) => {
    const pOut = ar.output(Float32Array, users * K * d);
    const pNorms = ar.output(Float32Array, users * K);
    inst.check(fn, x.mv_sparse_mix_forward(...sparseInputs(ar, a, dims), a.eps ?? 1e-8, pOut, pNorms));
    return { out: ar.read(Float32Array, pOut, users * K * d), norms: ar.read(Float32Array, pNorms, users * K) };
  });
}

/** Backward pass of {@link sparseMixForward}: gradients of `t` and (when given) `c`. */
export function sparseMixBackward(inst: WasmInstance, a: SparseMixBackwardArgs): SparseMixGrads {
  const fn = 'sparseMixBackward';
  const dims = checkSparse(fn, a);
  const { users, items, K, d } = dims;
  checkArray(fn, 'norms', a.norms, Float32Array, users * K);
  checkArray(fn, 'out', a.out, Float32Array, users * K * d);
  checkArray(fn, 'dout', a.dout, Float32Array, users * K * d);
  return inst.call(fn, (ar, x) => {
    const pDc = a.c === undefined ? 0 : ar.output(Float32Array, items * K);
    const pDt = ar.output(Float32Array, items * d);
    inst.check(
      fn,
      x.mv_sparse_mix_backward(
        ...sparseInputs(ar, a, dims),
        ar.input(a.norms),
        ar.input(a.out),
        ar.input(a.dout),
        pDc,
        pDt,
      ),
    );
    const dt = ar.read(Float32Array, pDt, items * d);
    return pDc === 0 ? { dt } : { dt, dc: ar.read(Float32Array, pDc, items * K) };
  });
}

export interface MixDecoderArgs {
  users: number;
  /** Concepts `K` (1 for MultVAE/MultDAE). */
  concepts: number;
  d: number;
  items: number;
  /** User concept vectors, `(users·K) × d`. */
  z: Float32Array;
  /** Item embeddings, `items × d`. */
  h: Float32Array;
  /** Concept assignment `items × K`; omitted only when `concepts` is 1. */
  c?: Float32Array;
  /** Per-item bias added to the logits (`items`). */
  bias?: Float32Array;
  /** Multiplies the dot products (`1/τ` for MacridVAE, 1 for MultVAE). */
  scale: number;
  /** An upper bound on every logit (`1/τ` for unit vectors); omitted: each user's maximum is used. */
  bound?: number;
}

export interface MixDecoderTrainArgs extends MixDecoderArgs {
  /** Clicks to reconstruct, `users × items` CSR. */
  x: Csr;
  /** Gradients are those of `gradScale · Σ_b loss_b` (e.g. `1/batchSize` for the mean). */
  gradScale: number;
}

export interface MixDecoderGrads {
  /** Per-user loss `−Σ_{i∈x_b} log p(i | b)` (unscaled). */
  loss: Float32Array;
  /** `(users·K) × d`. */
  dz: Float32Array;
  /** `items × d`. */
  dh: Float32Array;
  /** `items × K`, present when `c` was given. */
  dc?: Float32Array;
  /** `items`, present when `bias` was given. */
  dbias?: Float32Array;
}

export function checkDecoder(fn: string, a: MixDecoderArgs): void {
  const users = checkInt(fn, 'users', a.users, 0);
  const K = checkInt(fn, 'concepts', a.concepts, 1, 1 << 16);
  const d = checkInt(fn, 'd', a.d, 1, 1 << 20);
  const items = checkInt(fn, 'items', a.items, 0);
  checkArray(fn, 'z', a.z, Float32Array, users * K * d);
  checkArray(fn, 'h', a.h, Float32Array, items * d);
  if (a.c !== undefined) checkArray(fn, 'c', a.c, Float32Array, items * K);
  else if (K !== 1) throw new InvalidArgumentError(`'c' passed to ${fn}() is required when concepts = ${K}`);
  if (a.bias !== undefined) checkArray(fn, 'bias', a.bias, Float32Array, items);
  checkNumber(fn, 'scale', a.scale);
  if (!Number.isFinite(a.scale)) throw new InvalidArgumentError(`'scale' passed to ${fn}() must be finite`);
  if (a.bound !== undefined && !Number.isFinite(a.bound)) {
    throw new InvalidArgumentError(`'bound' passed to ${fn}() must be finite but got ${a.bound}`);
  }
}

/** Log-probabilities `log p(i | b)` of every item for every user, `users × items`. */
export function mixDecoderLogProbs(inst: WasmInstance, a: MixDecoderArgs): Float32Array {
  const fn = 'mixDecoderLogProbs';
  checkDecoder(fn, a);
  return inst.call(fn, (ar, x) => {
    const pOut = ar.output(Float32Array, a.users * a.items);
    inst.check(
      fn,
      x.mv_mix_decoder_log_probs(
        a.users,
        a.items,
        a.concepts,
        a.d,
        ar.input(a.z),
        ar.input(a.h),
        optional(ar, a.c),
        optional(ar, a.bias),
        a.scale,
        a.bound ?? Number.NaN,
        pOut,
      ),
    );
    return ar.read(Float32Array, pOut, a.users * a.items);
  });
}

/** Shared negatives of a sampled-softmax step. */
export interface SampledNegatives {
  /** Item ids drawn for the batch (repeats allowed; a draw that is a user's own click is dropped for that user). */
  items: Uint32Array;
  /** Per draw, the log weight of its term in the normalizer: `−ln(S·Q(j))` for a proposal `Q`. */
  logWeight: Float32Array;
}

/**
 * Multinomial reconstruction loss of a batch and its gradients, fused (see the module doc of the kernel).
 * With `sampled`, each user's softmax runs over its own clicks and the shared negatives instead of all items.
 */
export function mixDecoderTrain(
  inst: WasmInstance,
  a: MixDecoderTrainArgs & { sampled?: SampledNegatives },
): MixDecoderGrads {
  const fn = 'mixDecoderTrain';
  checkDecoder(fn, a);
  checkCsr(fn, 'x', a.x, a.users, a.items);
  checkNumber(fn, 'gradScale', a.gradScale);
  if (a.sampled) {
    checkArray(fn, 'sampled.items', a.sampled.items, Uint32Array);
    checkArray(fn, 'sampled.logWeight', a.sampled.logWeight, Float32Array, a.sampled.items.length);
  }
  const { users, items, concepts: K, d } = a;
  return inst.call(fn, (ar, x) => {
    const pLoss = ar.output(Float32Array, users);
    const pDz = ar.output(Float32Array, users * K * d);
    const pDh = ar.output(Float32Array, items * d);
    const pDc = a.c === undefined ? 0 : ar.output(Float32Array, items * K);
    const pDb = a.bias === undefined ? 0 : ar.output(Float32Array, items);
    const common = [
      users,
      items,
      K,
      d,
      ar.input(a.z),
      ar.input(a.h),
      optional(ar, a.c),
      optional(ar, a.bias),
      a.scale,
      a.bound ?? Number.NaN,
      ar.input(a.x.indptr),
      ar.input(a.x.indices),
      a.x.indices.length,
    ] as const;
    const outputs = [pLoss, pDz, pDh, pDc, pDb] as const;
    const status = x.mv_mix_decoder_train(
      ...common,
      a.sampled ? ar.input(a.sampled.items) : 0,
      a.sampled ? ar.input(a.sampled.logWeight) : 0,
      a.sampled ? a.sampled.items.length : 0,
      a.gradScale,
      ...outputs,
    );
    inst.check(fn, status);
    const out: MixDecoderGrads = {
      loss: ar.read(Float32Array, pLoss, users),
      dz: ar.read(Float32Array, pDz, users * K * d),
      dh: ar.read(Float32Array, pDh, items * d),
    };
    if (pDc !== 0) out.dc = ar.read(Float32Array, pDc, items * K);
    if (pDb !== 0) out.dbias = ar.read(Float32Array, pDb, items);
    return out;
  });
}

export interface GemmArgs {
  /** `m × k` row-major, or `k × m` when `transA`. */
  a: Float32Array;
  /** `k × n` row-major, or `n × k` when `transB`. */
  b: Float32Array;
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
}

/** `op(A) · op(B)` (`m × n`, row-major) with the kernels' SIMD micro-kernel; no layout needs a transposed product. */
export function gemm(inst: WasmInstance, g: GemmArgs): Float32Array {
  const fn = 'gemm';
  const m = checkInt(fn, 'm', g.m, 0);
  const n = checkInt(fn, 'n', g.n, 0);
  const k = checkInt(fn, 'k', g.k, 0);
  checkArray(fn, 'a', g.a, Float32Array, m * k);
  checkArray(fn, 'b', g.b, Float32Array, k * n);
  return inst.call(fn, (ar, x) => {
    const pC = ar.output(Float32Array, m * n);
    inst.check(fn, x.mv_gemm(g.transA ? 1 : 0, g.transB ? 1 : 0, m, n, k, ar.input(g.a), ar.input(g.b), pC));
    return ar.read(Float32Array, pC, m * n);
  });
}

/** Kinds of {@link noise}. */
export const NOISE_KINDS = { normal: 0, dropout: 1, gumbel: 2 } as const;

export interface NoiseArgs {
  kind: keyof typeof NOISE_KINDS;
  /** 64-bit seed as two 32-bit halves. */
  seedHi: number;
  seedLo: number;
  n: number;
  /** Keep probability for `dropout`. */
  keep?: number;
}

/** `n` seeded draws: standard normals (ziggurat), inverted-dropout multipliers (`1/keep` or 0), or standard Gumbel. */
export function noise(inst: WasmInstance, a: NoiseArgs): Float32Array {
  const fn = 'noise';
  const n = checkInt(fn, 'n', a.n, 0);
  const kind = NOISE_KINDS[a.kind];
  if (kind === undefined) throw new InvalidArgumentError(`'kind' passed to ${fn}() must be normal, dropout or gumbel`);
  checkInt(fn, 'seedHi', a.seedHi, 0, 0xffffffff);
  checkInt(fn, 'seedLo', a.seedLo, 0, 0xffffffff);
  return inst.call(fn, (ar, x) => {
    const p = ar.output(Float32Array, n);
    inst.check(fn, x.mv_noise(kind, a.seedHi, a.seedLo, a.keep ?? 1, n, p));
    return ar.read(Float32Array, p, n);
  });
}

export interface DenseArgs {
  rows: number;
  din: number;
  dout: number;
  /** `rows × din`. */
  x: Float32Array;
  /** `din × dout`. */
  w: Float32Array;
  /** `dout`. */
  b: Float32Array;
  /** Dropout multipliers `rows × dout`, applied before the activation. */
  mask?: Float32Array;
  tanh: boolean;
}

function checkDense(fn: string, a: DenseArgs): void {
  const rows = checkInt(fn, 'rows', a.rows, 0);
  const din = checkInt(fn, 'din', a.din, 1);
  const dout = checkInt(fn, 'dout', a.dout, 1);
  checkArray(fn, 'x', a.x, Float32Array, rows * din);
  checkArray(fn, 'w', a.w, Float32Array, din * dout);
  checkArray(fn, 'b', a.b, Float32Array, dout);
  if (a.mask !== undefined) checkArray(fn, 'mask', a.mask, Float32Array, rows * dout);
}

/** `y = act((x·W + b) ⊙ mask)` for a batch (`rows × dout`). */
export function denseForward(inst: WasmInstance, a: DenseArgs): Float32Array {
  const fn = 'denseForward';
  checkDense(fn, a);
  return inst.call(fn, (ar, x) => {
    const pY = ar.output(Float32Array, a.rows * a.dout);
    inst.check(
      fn,
      x.mv_dense_forward(
        a.rows,
        a.din,
        a.dout,
        ar.input(a.x),
        ar.input(a.w),
        ar.input(a.b),
        optional(ar, a.mask),
        a.tanh ? 1 : 0,
        pY,
      ),
    );
    return ar.read(Float32Array, pY, a.rows * a.dout);
  });
}

export interface DenseBackwardArgs extends DenseArgs {
  /** The forward output. */
  y: Float32Array;
  /** Gradient of `y`. */
  dy: Float32Array;
  /** Also compute the input's gradient (default true). */
  wantDx?: boolean;
}

/** Gradients of a dense layer: `dw` (`din × dout`), `db` (`dout`), and `dx` (`rows × din`) unless `wantDx` is false. */
export function denseBackward(
  inst: WasmInstance,
  a: DenseBackwardArgs,
): { dx?: Float32Array; dw: Float32Array; db: Float32Array } {
  const fn = 'denseBackward';
  checkDense(fn, a);
  checkArray(fn, 'y', a.y, Float32Array, a.rows * a.dout);
  checkArray(fn, 'dy', a.dy, Float32Array, a.rows * a.dout);
  const wantDx = a.wantDx ?? true;
  return inst.call(fn, (ar, x) => {
    const pDx = wantDx ? ar.output(Float32Array, a.rows * a.din) : 0;
    const pDw = ar.output(Float32Array, a.din * a.dout);
    const pDb = ar.output(Float32Array, a.dout);
    inst.check(
      fn,
      x.mv_dense_backward(
        a.rows,
        a.din,
        a.dout,
        ar.input(a.x),
        ar.input(a.w),
        ar.input(a.y),
        optional(ar, a.mask),
        a.tanh ? 1 : 0,
        ar.input(a.dy),
        pDx,
        pDw,
        pDb,
      ),
    );
    const out: { dx?: Float32Array; dw: Float32Array; db: Float32Array } = {
      dw: ar.read(Float32Array, pDw, a.din * a.dout),
      db: ar.read(Float32Array, pDb, a.dout),
    };
    if (wantDx) out.dx = ar.read(Float32Array, pDx, a.rows * a.din);
    return out;
  });
}

/**
 * A VAE head: MacridVAE's (`μ = a/‖a‖`, `σ = σ0·e^{−b/2}`, KL to `N(0, σ0²)` without its constant, `z`
 * normalized when `normalize`) or MultVAE's (`μ`, `log σ²`, KL to `N(0, I)`).
 */
export type HeadSpec = { kind: 'macrid'; sigma0: number; normalize: boolean } | { kind: 'mult' };

export interface HeadArgs {
  rows: number;
  d: number;
  /** Encoder output `[a | b]`, `rows × 2d`. */
  y: Float32Array;
  /** Standard normals `rows × d` (training); omitted: `z = μ`. */
  eps?: Float32Array;
  head: HeadSpec;
}

function headCodes(h: HeadSpec): [number, number, number] {
  return h.kind === 'macrid' ? [0, h.sigma0, h.normalize ? 1 : 0] : [1, 0, 0];
}

function checkHead(fn: string, a: HeadArgs): void {
  const rows = checkInt(fn, 'rows', a.rows, 0);
  const d = checkInt(fn, 'd', a.d, 1);
  checkArray(fn, 'y', a.y, Float32Array, rows * 2 * d);
  if (a.eps !== undefined) checkArray(fn, 'eps', a.eps, Float32Array, rows * d);
}

/** `z` (`rows × d`, the decoder's input) and each row's KL term (`rows`). */
export function headForward(inst: WasmInstance, a: HeadArgs): { z: Float32Array; kl: Float32Array } {
  const fn = 'headForward';
  checkHead(fn, a);
  const [kind, sigma0, normalize] = headCodes(a.head);
  return inst.call(fn, (ar, x) => {
    const pZ = ar.output(Float32Array, a.rows * a.d);
    const pKl = ar.output(Float32Array, a.rows);
    inst.check(
      fn,
      x.mv_head_forward(a.rows, a.d, ar.input(a.y), optional(ar, a.eps), kind, sigma0, normalize, pZ, pKl),
    );
    return { z: ar.read(Float32Array, pZ, a.rows * a.d), kl: ar.read(Float32Array, pKl, a.rows) };
  });
}

/** Gradient of `y` given `dz` and the weight `klScale` of the summed KL terms in the loss. */
export function headBackward(inst: WasmInstance, a: HeadArgs & { dz: Float32Array; klScale: number }): Float32Array {
  const fn = 'headBackward';
  checkHead(fn, a);
  checkArray(fn, 'dz', a.dz, Float32Array, a.rows * a.d);
  checkNumber(fn, 'klScale', a.klScale);
  const [kind, sigma0, normalize] = headCodes(a.head);
  return inst.call(fn, (ar, x) => {
    const pDy = ar.output(Float32Array, a.rows * 2 * a.d);
    inst.check(
      fn,
      x.mv_head_backward(
        a.rows,
        a.d,
        ar.input(a.y),
        optional(ar, a.eps),
        kind,
        sigma0,
        normalize,
        ar.input(a.dz),
        a.klScale,
        pDy,
      ),
    );
    return ar.read(Float32Array, pDy, a.rows * 2 * a.d);
  });
}

export interface MultSliceArgs {
  /** The slice's clicks, `users × items`. */
  x: Csr;
  items: number;
  /** `[in, out]` of every layer: the sparse input layer (`in = items`), dense layers, the output layer (`out = items`). */
  shapes: Array<[number, number]>;
  /** β-MultVAE: the layer whose output is `[μ | log σ²]`; absent for MultDAE. */
  latent?: number;
  /** Per layer: the weight (item-major `items × width` for the first and last layers, `in × out` otherwise) and the bias (`out`). */
  weights: Float32Array[];
  biases: Float32Array[];
  /** Input dropout multipliers (`nnz`), and the head's noise `ε` (`users × latent width`); absent: none. */
  mask?: Float32Array;
  eps?: Float32Array;
  sampled?: SampledNegatives;
  /** `1 / users of the whole batch`, and `β / users of the whole batch`. */
  gradScale: number;
  klScale: number;
}

export interface MultSliceGrads {
  /** Per user: `−Σ_i x_ui log p_ui`, and the KL term (0 for MultDAE). */
  loss: Float32Array;
  kl: Float32Array;
  /** Partial gradients per layer (sum them over slices). */
  dW: Float32Array[];
  db: Float32Array[];
}

/**
 * β-MultVAE's / MultDAE's whole training step for a slice of users in ONE call (`mv_mult_slice_train`,
 * `crates/macrid-core/src/nn/mult.rs`): sparse input layer, dense stack and head, the fused output layer
 * with its loss, and the backward pass.
 */
export function multSliceTrain(inst: WasmInstance, a: MultSliceArgs): MultSliceGrads {
  const fn = 'multSliceTrain';
  const items = checkInt(fn, 'items', a.items, 1);
  const x = checkCsr(fn, 'x', a.x, undefined, items);
  const users = csrRows(x);
  const n = a.shapes.length;
  if (n < 2) throw new InvalidArgumentError(`'shapes' passed to ${fn}() must have at least 2 layers but has ${n}`);
  if (a.weights.length !== n || a.biases.length !== n) {
    throw new InvalidArgumentError(`'weights' and 'biases' passed to ${fn}() must have ${n} layers each`);
  }
  a.shapes.forEach(([i, o], j) => {
    checkInt(fn, `shapes[${j}][0]`, i, 1);
    checkInt(fn, `shapes[${j}][1]`, o, 1);
    checkArray(fn, `weights[${j}]`, a.weights[j], Float32Array, i * o);
    checkArray(fn, `biases[${j}]`, a.biases[j], Float32Array, o);
  });
  if (a.latent !== undefined) checkInt(fn, 'latent', a.latent, 0, n - 2);
  if (a.mask !== undefined) checkArray(fn, 'mask', a.mask, Float32Array, x.indices.length);
  if (a.eps !== undefined) {
    if (a.latent === undefined) throw new InvalidArgumentError(`'eps' passed to ${fn}() needs 'latent'`);
    checkArray(fn, 'eps', a.eps, Float32Array, (users * a.shapes[a.latent][1]) / 2);
  }
  checkNumber(fn, 'gradScale', a.gradScale);
  checkNumber(fn, 'klScale', a.klScale);
  const s = a.sampled;
  if (s) {
    checkArray(fn, 'sampled.items', s.items, Uint32Array);
    checkArray(fn, 'sampled.logWeight', s.logWeight, Float32Array, s.items.length);
  }
  const wSizes = a.shapes.map(([i, o]) => i * o);
  const bSizes = a.shapes.map(([, o]) => o);
  const cat = (parts: Float32Array[]) => {
    const out = new Float32Array(parts.reduce((p, q) => p + q.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  const cut = (flat: Float32Array, sizes: number[]) => {
    let at = 0;
    return sizes.map((k) => flat.slice(at, (at += k)));
  };
  const nw = wSizes.reduce((p, q) => p + q, 0);
  const nb = bSizes.reduce((p, q) => p + q, 0);
  return inst.call(fn, (ar, e) => {
    const pLoss = ar.output(Float32Array, users);
    const pKl = ar.output(Float32Array, users);
    const pDw = ar.output(Float32Array, nw);
    const pDb = ar.output(Float32Array, nb);
    inst.check(
      fn,
      e.mv_mult_slice_train(
        ar.input(Uint32Array.from(a.shapes.flat())),
        n,
        a.latent ?? -1,
        users,
        items,
        ar.input(x.indptr),
        ar.input(x.indices),
        x.indices.length,
        ar.input(cat(a.weights)),
        ar.input(cat(a.biases)),
        optional(ar, a.mask),
        optional(ar, a.eps),
        s ? ar.input(s.items) : 0,
        s ? ar.input(s.logWeight) : 0,
        s ? s.items.length : 0,
        a.gradScale,
        a.klScale,
        pLoss,
        pKl,
        pDw,
        pDb,
      ),
    );
    return {
      loss: ar.read(Float32Array, pLoss, users),
      kl: ar.read(Float32Array, pKl, users),
      dW: cut(ar.read(Float32Array, pDw, nw), wSizes),
      db: cut(ar.read(Float32Array, pDb, nb), bSizes),
    };
  });
}
