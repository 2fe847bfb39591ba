/**
 * Compressed sparse rows, the layout of every user–item set handed to the kernels.
 *
 * `indptr` has `rows + 1` entries starting at 0 and never decreasing; row `r` holds the column ids
 * `indices[indptr[r] .. indptr[r + 1])`, each `< cols`. Values are implicit ones (binary data).
 */
import { InvalidArgumentError, OutOfRangeError } from './errors.js';
import { checkArray, checkInt } from './validate.js';

export interface Csr {
  indptr: Uint32Array;
  indices: Uint32Array;
  cols: number;
}

export function csrRows(m: Csr): number {
  return m.indptr.length - 1;
}

/** Builds a CSR matrix from one array of column ids per row. */
export function csrFromRows(rows: ArrayLike<number>[], cols: number): Csr {
  const indptr = new Uint32Array(rows.length + 1);
  let nnz = 0;
  for (let r = 0; r < rows.length; r++) {
    nnz += rows[r].length;
    indptr[r + 1] = nnz;
  }
  const indices = new Uint32Array(nnz);
  let p = 0;
  for (const row of rows) for (let j = 0; j < row.length; j++) indices[p++] = row[j];
  return { indptr, indices, cols };
}

/** Rows `[lo, hi)` as a new CSR matrix (indices copied, indptr rebased to 0). */
export function csrSliceRows(m: Csr, lo: number, hi: number): Csr {
  const start = m.indptr[lo];
  const indptr = new Uint32Array(hi - lo + 1);
  for (let r = lo; r <= hi; r++) indptr[r - lo] = m.indptr[r] - start;
  return { indptr, indices: m.indices.slice(start, m.indptr[hi]), cols: m.cols };
}

/**
 * The rows `rows` (in that order, repeats allowed) as a new CSR matrix: how a batch of users is cut
 * out of a large matrix before it goes to a kernel or a worker.
 */
export function csrGatherRows(m: Csr, rows: ArrayLike<number>): Csr {
  const n = csrRows(m);
  const indptr = new Uint32Array(rows.length + 1);
  for (let j = 0; j < rows.length; j++) {
    const r = rows[j];
    if (!Number.isInteger(r) || r < 0 || r >= n) {
      throw new OutOfRangeError(`'rows[${j}]' = ${r} passed to csrGatherRows() is out of range for ${n} rows`);
    }
    indptr[j + 1] = indptr[j] + (m.indptr[r + 1] - m.indptr[r]);
  }
  const indices = new Uint32Array(indptr[rows.length]);
  for (let j = 0; j < rows.length; j++) {
    const r = rows[j];
    indices.set(m.indices.subarray(m.indptr[r], m.indptr[r + 1]), indptr[j]);
  }
  return { indptr, indices, cols: m.cols };
}

/** Row `r` as a subarray view (no copy). */
export function csrRow(m: Csr, r: number): Uint32Array {
  return m.indices.subarray(m.indptr[r], m.indptr[r + 1]);
}

/**
 * Checks the shape of a CSR argument at the TS edge (types, lengths, `rows`); index ranges are
 * checked by the kernels, which name the offending position.
 */
export function checkCsr(fn: string, name: string, m: unknown, rows?: number, cols?: number): Csr {
  if (typeof m !== 'object' || m === null) {
    throw new InvalidArgumentError(`'${name}' passed to ${fn}() must be a CSR matrix {indptr, indices, cols}`);
  }
  const c = m as Csr;
  checkArray(fn, `${name}.indptr`, c.indptr, Uint32Array, rows === undefined ? undefined : rows + 1);
  checkArray(fn, `${name}.indices`, c.indices, Uint32Array);
  checkInt(fn, `${name}.cols`, c.cols, 0);
  if (c.indptr.length < 1) throw new InvalidArgumentError(`'${name}.indptr' passed to ${fn}() must not be empty`);
  if (cols !== undefined && c.cols !== cols) {
    throw new InvalidArgumentError(`'${name}.cols' passed to ${fn}() must be ${cols} but got ${c.cols}`);
  }
  return c;
}
