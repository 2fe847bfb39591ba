/**
 * The dataset directory: a prepared split stored so that loading it takes milliseconds (no re-parse).
 *
 * Layout (format version 1), every binary integer little-endian:
 *
 * ```
 * DIR/manifest.json             format, version, source (files, bytes, sha256, detected format), options,
 *                               counts, parse report, item metadata source, and bytes + sha256 of each file
 * DIR/user_ids.txt              raw user id of dataset user k on line k (training users first, then
 *                               validation, then test users: the reference's pro_sg numbering)
 * DIR/item_ids.txt              raw item id of column j on line j (first appearance among training rows)
 * DIR/train.csr                 training users × items
 * DIR/validation_fold_in.csr    every validation user (raw id order) × items: the model's input
 * DIR/validation_target.csr     the same rows: the held-out 20 % (empty for users with < 5 items)
 * DIR/test_fold_in.csr, DIR/test_target.csr
 * DIR/<matrix>.order            file order of each matrix's entries (for the reference export)
 * DIR/item_meta.json            optional: { "titles": [...], "genres": [[...], ...] } by column
 *
 * .csr:   0  "MVCSR01\n"   8 u32 version (1)   12 u32 reserved (0)
 *        16 u64 rows      24 u64 cols          32 u64 nnz
 *        40 u32 indptr[rows + 1], u32 indices[nnz] (sorted ascending within a row, no repeats),
 *           u32 users[rows] (dataset user index of each row)
 * .order: 0  "MVORD01\n"   8 u32 version (1)   12 u32 reserved (0)   16 u64 n
 *        24 u32 order[n]: order[t] = position in `indices` of the t-th entry in file order
 * ```
 *
 * Writes go to a temporary sibling directory renamed into place (see `ts/util/fs.ts`).
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Csr } from '../csr.js';
import { InvalidArgumentError, MacridError, ParseError } from '../errors.js';
import { checkPath } from '../validate.js';
import { u32FromLE } from '../wasm/data.js';
import type { HeldOut, SplitData } from './types.js';

export const DATASET_FORMAT = 'macridvae-dataset';
export const DATASET_VERSION = 1;
const CSR_MAGIC = 'MVCSR01\n';
const ORDER_MAGIC = 'MVORD01\n';
const CSR_HEADER = 40;
const ORDER_HEADER = 24;

/** The matrices of a dataset directory, by file stem. */
export const MATRICES = ['train', 'validation_fold_in', 'validation_target', 'test_fold_in', 'test_target'] as const;
export type MatrixName = (typeof MATRICES)[number];

/** A stored matrix: CSR plus the dataset user of each row. */
export interface StoredMatrix {
  indptr: Uint32Array;
  indices: Uint32Array;
  cols: number;
  /** Dataset user index of each row. */
  users: Uint32Array;
}

export interface DatasetCounts {
  /** Users after filtering (training + validation + test). */
  users: number;
  /** Item columns (items of training users). */
  items: number;
  /** Interactions in the five matrices (the paper's Table 2 count). */
  interactions: number;
  /** Interactions after the filters, before items were restricted to training users' items. */
  positives: number;
  trainUsers: number;
  validationUsers: number;
  testUsers: number;
  /** Held-out users with a non-empty target (the rows of `validation` / `test`). */
  validationScored: number;
  testScored: number;
  trainInteractions: number;
  validationFoldIn: number;
  validationTarget: number;
  testFoldIn: number;
  testTarget: number;
  duplicates: number;
  droppedByItemFilter: number;
  droppedByUserFilter: number;
  heldoutDropped: number;
}

export interface SourceInfo {
  /** The input as given (absolute). */
  path: string;
  /** Files read, in order, relative to `path` when it is a directory. */
  files: string[];
  bytes: number;
  /** SHA-256 of the files' bytes concatenated in order. */
  sha256: string;
  /** Detected format: movielens, netflix, csv or reference (a pro_sg directory). */
  format: string;
}

export interface MetadataInfo {
  path: string;
  bytes: number;
  sha256: string;
  format: string;
  /** Columns that found a metadata record. */
  matched: number;
}

export interface DatasetManifest {
  format: typeof DATASET_FORMAT;
  version: number;
  createdAt: string;
  createdBy: string;
  source: SourceInfo;
  metadata: MetadataInfo | null;
  /** The options that define the result (see `ts/data/prepare.ts`). */
  options: Record<string, unknown>;
  counts: DatasetCounts;
  /** Reader counts: lines, rows, kept, invalid, … and examples of skipped lines. */
  parse: Record<string, unknown>;
  files: Record<string, { bytes: number; sha256: string }>;
}

/** A loaded dataset: the {@link SplitData} training and evaluation consume, plus ids and metadata. */
export interface Dataset extends SplitData {
  dir: string;
  manifest: DatasetManifest;
  /** Raw user id of each dataset user (training users are rows 0..train rows − 1 of `train`). */
  userIds: string[];
  /** Raw item id of each column. */
  itemIds: string[];
  /** Dataset user index of each row of `validation` (scored users only, raw id order). */
  validationUsers: Uint32Array;
  /** Dataset user index of each row of `test`. */
  testUsers: Uint32Array;
  itemTitles?: string[];
  itemGenres?: string[][];
}

const HOST_LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function le(a: Uint32Array): Uint8Array {
  if (HOST_LE) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setUint32(i * 4, a[i], true);
  return out;
}

function header(magic: string, size: number, nums: number[]): Uint8Array {
  const h = new Uint8Array(size);
  const dv = new DataView(h.buffer);
  for (let i = 0; i < 8; i++) h[i] = magic.charCodeAt(i);
  dv.setUint32(8, 1, true);
  dv.setUint32(12, 0, true);
  for (let k = 0; k < nums.length; k++) dv.setBigUint64(16 + 8 * k, BigInt(nums[k]), true);
  return h;
}

/** Encodes a `.csr` file (see the module doc). */
export function encodeCsr(m: StoredMatrix): Uint8Array[] {
  const rows = m.indptr.length - 1;
  return [header(CSR_MAGIC, CSR_HEADER, [rows, m.cols, m.indices.length]), le(m.indptr), le(m.indices), le(m.users)];
}

/** Encodes an `.order` file. */
export function encodeOrder(order: Uint32Array): Uint8Array[] {
  return [header(ORDER_MAGIC, ORDER_HEADER, [order.length]), le(order)];
}

/** Reads a whole file into a fresh, 8-aligned ArrayBuffer. */
function readAligned(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const out = new Uint8Array(new ArrayBuffer(size));
    let off = 0;
    while (off < size) {
      const n = readSync(fd, out, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    if (off !== size) throw new ParseError(`${path}: short read (${off} of ${size} bytes)`);
    return out;
  } finally {
    closeSync(fd);
  }
}

function checkMagic(path: string, b: Uint8Array, magic: string, minSize: number): DataView {
  if (b.length < minSize) throw new ParseError(`${path}: truncated (${b.length} bytes)`);
  for (let i = 0; i < 8; i++) {
    if (b[i] !== magic.charCodeAt(i)) throw new ParseError(`${path}: not a ${magic.trim()} file (bad magic)`);
  }
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== 1) throw new ParseError(`${path}: unsupported version ${version} (this build reads 1)`);
  return dv;
}

function u64(dv: DataView, off: number, path: string): number {
  const v = dv.getBigUint64(off, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ParseError(`${path}: a count is too large (${v})`);
  return Number(v);
}

/** Reads a `.csr` file; views share one buffer (no copies). Checks sizes and the CSR layout. */
export function readCsrFile(path: string): StoredMatrix {
  const b = readAligned(path);
  const dv = checkMagic(path, b, CSR_MAGIC, CSR_HEADER);
  const rows = u64(dv, 16, path);
  const cols = u64(dv, 24, path);
  const nnz = u64(dv, 32, path);
  const want = CSR_HEADER + 4 * (rows + 1 + nnz + rows);
  if (b.length !== want) throw new ParseError(`${path}: ${b.length} bytes but the header implies ${want}`);
  const at = (off: number, n: number) => u32FromLE(b.subarray(off, off + 4 * n));
  const indptr = at(CSR_HEADER, rows + 1);
  const indices = at(CSR_HEADER + 4 * (rows + 1), nnz);
  const users = at(CSR_HEADER + 4 * (rows + 1 + nnz), rows);
  if (indptr[0] !== 0 || indptr[rows] !== nnz) {
    throw new ParseError(`${path}: indptr must run from 0 to ${nnz} but runs from ${indptr[0]} to ${indptr[rows]}`);
  }
  return { indptr, indices, cols, users };
}

/** Reads an `.order` file. */
export function readOrderFile(path: string): Uint32Array {
  const b = readAligned(path);
  const dv = checkMagic(path, b, ORDER_MAGIC, ORDER_HEADER);
  const n = u64(dv, 16, path);
  if (b.length !== ORDER_HEADER + 4 * n) throw new ParseError(`${path}: size does not match its header`);
  return u32FromLE(b.subarray(ORDER_HEADER));
}

/** Reads and checks `manifest.json`. */
export function readManifest(dir: string): DatasetManifest {
  checkPath('readManifest', 'dir', dir);
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) throw new InvalidArgumentError(`${dir} is not a dataset directory (no manifest.json)`);
  let m: DatasetManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as DatasetManifest;
  } catch (e) {
    throw new ParseError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (m.format !== DATASET_FORMAT) throw new ParseError(`${path}: not a macridvae dataset manifest`);
  if (m.version !== DATASET_VERSION) {
    throw new ParseError(`${path}: dataset format version ${m.version}; this build reads ${DATASET_VERSION}`);
  }
  return m;
}

function readLines(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  if (text.length === 0) return [];
  const out = text.split('\n');
  if (out[out.length - 1] === '') out.pop();
  return out;
}

/** Rows of `fold`/`target` whose target is non-empty (copies only when some rows are dropped). */
function scored(fold: StoredMatrix, target: StoredMatrix): { heldOut: HeldOut; users: Uint32Array } {
  const rows = target.indptr.length - 1;
  const keep: number[] = [];
  for (let r = 0; r < rows; r++) if (target.indptr[r + 1] > target.indptr[r]) keep.push(r);
  const pick = (m: StoredMatrix): Csr => {
    if (keep.length === rows) return { indptr: m.indptr, indices: m.indices, cols: m.cols };
    const indptr = new Uint32Array(keep.length + 1);
    let nnz = 0;
    keep.forEach((r, k) => {
      nnz += m.indptr[r + 1] - m.indptr[r];
      indptr[k + 1] = nnz;
    });
    const indices = new Uint32Array(nnz);
    keep.forEach((r, k) => {
      indices.set(m.indices.subarray(m.indptr[r], m.indptr[r + 1]), indptr[k]);
    });
    return { indptr, indices, cols: m.cols };
  };
  const users = keep.length === rows ? fold.users : Uint32Array.from(keep, (r) => fold.users[r]);
  return { heldOut: { foldIn: pick(fold), target: pick(target) }, users };
}

/** Loads every matrix of a dataset directory (all held-out users, scored or not). */
export function loadMatrices(dir: string): Record<MatrixName, StoredMatrix> {
  const manifest = readManifest(dir);
  const out = {} as Record<MatrixName, StoredMatrix>;
  for (const name of MATRICES) {
    const file = `${name}.csr`;
    const path = join(dir, file);
    if (!existsSync(path)) throw new MacridError(`${dir}: ${file} is missing; prepare the dataset again`);
    const m = readCsrFile(path);
    const want = manifest.files[file]?.bytes;
    const rows = m.indptr.length - 1;
    if (m.cols !== manifest.counts.items) {
      throw new ParseError(`${path}: ${m.cols} columns but the manifest says ${manifest.counts.items} items`);
    }
    if (want !== undefined && want !== CSR_HEADER + 4 * (2 * rows + 1 + m.indices.length)) {
      throw new ParseError(`${path}: size differs from the manifest's (${want} bytes); prepare the dataset again`);
    }
    out[name] = m;
  }
  return out;
}

/** Loads a dataset directory written by `prepareDataset` (milliseconds: no parsing, no copies of the big arrays). */
export async function loadDataset(dir: string): Promise<Dataset> {
  return loadDatasetSync(dir);
}

/** Synchronous {@link loadDataset}. */
export function loadDatasetSync(dir: string): Dataset {
  checkPath('loadDataset', 'dir', dir);
  const manifest = readManifest(dir);
  const m = loadMatrices(dir);
  const userIds = readLines(join(dir, 'user_ids.txt'));
  const itemIds = readLines(join(dir, 'item_ids.txt'));
  if (userIds.length !== manifest.counts.users || itemIds.length !== manifest.counts.items) {
    throw new ParseError(
      `${dir}: user_ids.txt/item_ids.txt have ${userIds.length}/${itemIds.length} lines but the manifest says ${manifest.counts.users}/${manifest.counts.items}`,
    );
  }
  const val = scored(m.validation_fold_in, m.validation_target);
  const test = scored(m.test_fold_in, m.test_target);
  const ds: Dataset = {
    dir,
    manifest,
    items: manifest.counts.items,
    train: { indptr: m.train.indptr, indices: m.train.indices, cols: m.train.cols },
    validation: val.heldOut,
    test: test.heldOut,
    userIds,
    itemIds,
    validationUsers: val.users,
    testUsers: test.users,
  };
  const metaPath = join(dir, 'item_meta.json');
  if (existsSync(metaPath)) {
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as { titles?: string[]; genres?: string[][] };
    if (meta.titles) ds.itemTitles = meta.titles;
    if (meta.genres) ds.itemGenres = meta.genres;
  }
  return ds;
}

const indexCache = new WeakMap<string[], Map<string, number>>();

/** The inverse of an id list (raw id → index), built once per list. */
export function indexOf(ids: string[]): Map<string, number> {
  if (!Array.isArray(ids)) throw new InvalidArgumentError(`'ids' passed to indexOf() must be an array of ids`);
  let m = indexCache.get(ids);
  if (!m) {
    m = new Map();
    for (let i = 0; i < ids.length; i++) m.set(ids[i], i);
    indexCache.set(ids, m);
  }
  return m;
}

/** Writes one binary file made of `parts` and returns its byte count. */
export async function writeParts(path: string, parts: Uint8Array[]): Promise<number> {
  await writeFile(path, parts);
  return parts.reduce((s, p) => s + p.byteLength, 0);
}
