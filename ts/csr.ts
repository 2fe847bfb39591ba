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
  if (m === null || typeof m !== 'object' || !(m.indptr instanceof Uint32Array)) checkCsr('csrRows', 'm', m);
  return m.indptr.length - 1;
}

/**
 * Builds a CSR matrix from one array of column ids per row. Every id must be an integer in
 * `[0, cols)`: NaN, fractions, negatives and ids past `cols` are refused naming the row and position
 * (never truncated into another column, as a typed array would).
 */
export function csrFromRows(rows: ArrayLike<number>[], cols: number): Csr {
  const fn = 'csrFromRows';
  if (!Array.isArray(rows)) {
    throw new InvalidArgumentError(
      `'rows' passed to ${fn}() must be an array of rows (arrays of column ids) but got ${describe(rows)}`,
    );
  }
  checkInt(fn, 'cols', cols, 0, 0xffffffff);
  const indptr = new Uint32Array(rows.length + 1);
  let nnz = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (row === null || typeof row !== 'object' || typeof row.length !== 'number') {
      throw new InvalidArgumentError(
        `'rows[${r}]' passed to ${fn}() must be an array of column ids but got ${describe(row)}`,
      );
    }
    nnz += row.length;
    indptr[r + 1] = nnz;
  }
  const indices = new Uint32Array(nnz);
  let p = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    for (let j = 0; j < row.length; j++) {
      const c = row[j];
      if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c > 0xffffffff) {
        const why =
          typeof c === 'number' && Number.isInteger(c) ? 'must be in [0, 2^32)' : 'must be an integer column id';
        throw new OutOfRangeError(`'rows[${r}][${j}]' passed to ${fn}() ${why} but got ${String(c)}`);
      }
      indices[p++] = c;
    }
  }
  return { indptr, indices, cols };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return `${typeof v} ${String(v)}`;
}

/** Rows `[lo, hi)` as a new CSR matrix (indices copied, indptr rebased to 0). */
export function csrSliceRows(m: Csr, lo: number, hi: number): Csr {
  checkCsr('csrSliceRows', 'm', m);
  checkInt('csrSliceRows', 'lo', lo, 0, csrRows(m));
  checkInt('csrSliceRows', 'hi', hi, lo, csrRows(m));
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
  checkCsr('csrGatherRows', 'm', m);
  if (rows === null || typeof rows !== 'object' || typeof rows.length !== 'number') {
    throw new InvalidArgumentError(
      `'rows' passed to csrGatherRows() must be an array of row numbers but got ${describe(rows)}`,
    );
  }
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
  checkCsr('csrRow', 'm', m);
  if (!Number.isInteger(r) || r < 0 || r >= m.indptr.length - 1) {
    throw new OutOfRangeError(
      `'r' passed to csrRow() must be a row in [0, ${m.indptr.length - 1}) but got ${String(r)}`,
    );
  }
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
