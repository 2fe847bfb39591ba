/**
 * Typed wrappers of the item–item kernels (`crates/macrid-core/src/itemsim.rs`, `linalg.rs`):
 *
 * - {@link gram}: `G = XᵀX` (`items × items`, exact co-occurrence counts) of binary clicks;
 * - {@link easeWeights}: EASE (Steck 2019) `B = I − P·diag(1/diag(P))`, `P = (G + λI)⁻¹`, zero diagonal,
 *   by a blocked Cholesky solve in `f64` or `f32`;
 * - {@link knnWeights}: ItemKNN (RecBole's `ComputeSimilarity`) neighbourhoods: for each item `c` the
 *   `k` items `r ≠ c` with the largest `G_rc / (√G_rr·√G_cc + shrink + 1e-6)`, zeros dropped;
 * - {@link scoreDense} / {@link scoreSparse}: `X_foldIn · W` with `W` dense or sparse by rows.
 *
 * {@link easeMemory} is the figure the memory guard of EASE compares with what it may use.
 */
import { type Csr, checkCsr, csrRows } from '../csr.js';
import { InvalidArgumentError } from '../errors.js';
import { checkArray, checkInt, checkNumber } from '../validate.js';
import type { WasmInstance } from './raw.js';

export type EasePrecision = 'f64' | 'f32';

/** The largest item count the kernels take (`items²` must index a wasm32 memory). */
export const MAX_GRAM_ITEMS = 32_767;

/**
 * Bytes EASE needs for `items` columns: in WASM the Gram matrix and `B` (`f32`) plus the solve's two
 * work matrices (`f64` or `f32`); in JS the Gram matrix and `B` copied out. `wasm` must also fit the
 * 4 GiB a wasm32 memory can address.
 */
export function easeMemory(items: number, precision: EasePrecision): { wasm: number; js: number; total: number } {
  const m2 = items * items;
  const wasm = m2 * (4 + 4 + 2 * (precision === 'f64' ? 8 : 4));
  const js = m2 * (4 + 4);
  return { wasm, js, total: wasm + js };
}

/** `XᵀX` of the binary CSR `x` (`items × items` row-major, float32). */
export function gram(inst: WasmInstance, args: { x: Csr }): Float32Array {
  const fn = 'gram';
  const x = checkCsr(fn, 'x', args.x);
  const m = checkInt(fn, 'x.cols', x.cols, 0, MAX_GRAM_ITEMS);
  return inst.call(fn, (a, e) => {
    const pP = a.input(x.indptr);
    const pI = a.input(x.indices);
    const pOut = a.output(Float32Array, m * m);
    inst.check(fn, e.mv_gram(pP, csrRows(x), pI, x.indices.length, m, pOut));
    return a.read(Float32Array, pOut, m * m);
  });
}

export interface EaseWeightsArgs {
  /** `items × items` Gram matrix (from {@link gram}). */
  gram: Float32Array;
  items: number;
  /** L2 weight `λ > 0`. */
  lambda: number;
  /** Working precision of the solve; default `f64`. */
  precision?: EasePrecision;
}

/** EASE's `B` (`items × items` row-major float32, zero diagonal). */
export function easeWeights(inst: WasmInstance, args: EaseWeightsArgs): Float32Array {
  const fn = 'easeWeights';
  const m = checkInt(fn, 'items', args.items, 1, MAX_GRAM_ITEMS);
  checkArray(fn, 'gram', args.gram, Float32Array, m * m);
  const lambda = checkNumber(fn, 'lambda', args.lambda, Number.MIN_VALUE, Number.MAX_VALUE);
  const precision = args.precision ?? 'f64';
  if (precision !== 'f64' && precision !== 'f32') {
    throw new InvalidArgumentError(`'precision' passed to ${fn}() must be f64 or f32 but got '${String(precision)}'`);
  }
  return inst.call(fn, (a, e) => {
    const pG = a.input(args.gram);
    const pOut = a.output(Float32Array, m * m);
    inst.check(fn, e.mv_ease_weights(pG, m, lambda, precision === 'f64' ? 1 : 0, pOut));
    return a.read(Float32Array, pOut, m * m);
  });
}

export interface KnnWeightsArgs {
  gram: Float32Array;
  items: number;
  /** Neighbours kept per item, ≥ 1. */
  k: number;
  /** Shrinkage added to the cosine's denominator, ≥ 0. */
  shrink: number;
}

export interface KnnWeights {
  /** Per item `c`, `k` neighbour ids (row `c` of `items × k`), most similar first; `count[c]` are used. */
  neighbours: Uint32Array;
  /** Their similarities `s_rc` (0 in unused slots). */
  similarity: Float32Array;
  count: Uint32Array;
  k: number;
}

/** ItemKNN neighbourhoods from the Gram matrix. */
export function knnWeights(inst: WasmInstance, args: KnnWeightsArgs): KnnWeights {
  const fn = 'knnWeights';
  const m = checkInt(fn, 'items', args.items, 1, MAX_GRAM_ITEMS);
  checkArray(fn, 'gram', args.gram, Float32Array, m * m);
  const k = checkInt(fn, 'k', args.k, 1, m);
  const shrink = checkNumber(fn, 'shrink', args.shrink, 0, Number.MAX_VALUE);
  return inst.call(fn, (a, e) => {
    const pG = a.input(args.gram);
    const pN = a.output(Uint32Array, m * k);
    const pS = a.output(Float32Array, m * k);
    const pC = a.output(Uint32Array, m);
    inst.check(fn, e.mv_knn_weights(pG, m, k, shrink, pN, pS, pC));
    return {
      neighbours: a.read(Uint32Array, pN, m * k),
      similarity: a.read(Float32Array, pS, m * k),
      count: a.read(Uint32Array, pC, m),
      k,
    };
  });
}

/** `foldIn · W` for binary fold-in rows and a dense `W` (`foldIn.cols × n`); `rows × n` scores. */
export function scoreDense(inst: WasmInstance, args: { foldIn: Csr; weights: Float32Array; n: number }): Float32Array {
  const fn = 'scoreDense';
  const x = checkCsr(fn, 'foldIn', args.foldIn);
  const n = checkInt(fn, 'n', args.n, 0);
  checkArray(fn, 'weights', args.weights, Float32Array, x.cols * n);
  const rows = csrRows(x);
  return inst.call(fn, (a, e) => {
    const pP = a.input(x.indptr);
    const pI = a.input(x.indices);
    const pW = a.input(args.weights);
    const pOut = a.output(Float32Array, rows * n);
    inst.check(fn, e.mv_score_dense(pP, rows, pI, x.indices.length, x.cols, pW, n, pOut));
    return a.read(Float32Array, pOut, rows * n);
  });
}

/** `foldIn · W` for binary fold-in rows and `W` sparse by rows (`weights`: `foldIn.cols` rows, values aligned with its indices). */
export function scoreSparse(
  inst: WasmInstance,
  args: { foldIn: Csr; weights: Csr; values: Float32Array },
): Float32Array {
  const fn = 'scoreSparse';
  const x = checkCsr(fn, 'foldIn', args.foldIn);
  const w = checkCsr(fn, 'weights', args.weights, x.cols);
  checkArray(fn, 'values', args.values, Float32Array, w.indices.length);
  const rows = csrRows(x);
  const n = w.cols;
  return inst.call(fn, (a, e) => {
    const pP = a.input(x.indptr);
    const pI = a.input(x.indices);
    const pWp = a.input(w.indptr);
    const pWi = a.input(w.indices);
    const pWv = a.input(args.values);
    const pOut = a.output(Float32Array, rows * n);
    inst.check(fn, e.mv_score_sparse(pP, rows, pI, x.indices.length, x.cols, pWp, pWi, pWv, w.indices.length, n, pOut));
    return a.read(Float32Array, pOut, rows * n);
  });
}
