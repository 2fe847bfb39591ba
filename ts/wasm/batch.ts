/**
 * Typed wrappers of batch construction (`crates/macrid-core/src/batch.rs`): the model input of a
 * batch of users from their CSR rows. Gather the batch's rows first (`csrGatherRows`) so that only
 * those rows cross into WASM memory or to a worker.
 *
 * Values: `'binary'` sets every listed item to 1; `'l2'` to `1/√n` for a row of `n` items (unit-L2
 * rows, the input MultVAE and MacridVAE feed their encoders). Empty rows stay zero. A row listing an
 * item twice is an error.
 */
import { type Csr, checkCsr, csrRows } from '../csr.js';
import { InvalidArgumentError } from '../errors.js';
import type { WasmInstance } from './raw.js';

export type Normalization = 'binary' | 'l2';

export interface BatchArgs {
  /** The batch's rows (one per user) over the item columns. */
  rows: Csr;
  normalize: Normalization;
}

export interface DenseBatch {
  /** `rows × cols` row-major. */
  data: Float32Array;
  rows: number;
  cols: number;
}

export interface SparseBatch {
  /** The item of each entry (nnz), in the CSR's order. */
  indices: Uint32Array;
  /** `rows + 1` offsets: row `r` is entries `offsets[r] .. offsets[r + 1]`. */
  offsets: Uint32Array;
  /** The row of each entry (nnz): the segment ids a segment sum takes. */
  segmentIds: Uint32Array;
  /** The value of each entry (nnz). */
  values: Float32Array;
  rows: number;
  cols: number;
}

function normalizeCode(fn: string, v: unknown): number {
  if (v === 'binary') return 0;
  if (v === 'l2') return 1;
  throw new InvalidArgumentError(`'normalize' passed to ${fn}() must be 'binary' or 'l2' but got ${String(v)}`);
}

/** The dense input block of a batch. */
export function denseBatch(inst: WasmInstance, args: BatchArgs): DenseBatch {
  const fn = 'denseBatch';
  const m = checkCsr(fn, 'rows', args.rows);
  const code = normalizeCode(fn, args.normalize);
  const rows = csrRows(m);
  const cols = m.cols;
  return inst.call(fn, (a, x) => {
    const pIndptr = a.input(m.indptr);
    const pIndices = a.input(m.indices);
    const pOut = a.output(Float32Array, rows * cols);
    inst.check(fn, x.mv_dense_batch(pIndptr, pIndices, rows, m.indices.length, cols, code, pOut));
    return { data: a.read(Float32Array, pOut, rows * cols), rows, cols };
  });
}

/** The sparse form of a batch (what a gather + segment-sum encoder consumes). */
export function sparseBatch(inst: WasmInstance, args: BatchArgs): SparseBatch {
  const fn = 'sparseBatch';
  const m = checkCsr(fn, 'rows', args.rows);
  const code = normalizeCode(fn, args.normalize);
  const rows = csrRows(m);
  const nnz = m.indices.length;
  return inst.call(fn, (a, x) => {
    const pIndptr = a.input(m.indptr);
    const pIndices = a.input(m.indices);
    const pI = a.output(Uint32Array, nnz);
    const pO = a.output(Uint32Array, rows + 1);
    const pS = a.output(Uint32Array, nnz);
    const pV = a.output(Float32Array, nnz);
    inst.check(fn, x.mv_sparse_batch(pIndptr, pIndices, rows, nnz, m.cols, code, pI, pO, pS, pV));
    return {
      indices: a.read(Uint32Array, pI, nnz),
      offsets: a.read(Uint32Array, pO, rows + 1),
      segmentIds: a.read(Uint32Array, pS, nnz),
      values: a.read(Float32Array, pV, nnz),
      rows,
      cols: m.cols,
    };
  });
}
