/**
 * `prepareDataset`: ratings file(s) → MultVAE split → dataset directory, or the reuse of an existing
 * one.
 *
 * Reuse rule: when `out` already holds a dataset, it is reused only if it was prepared with the same
 * options (every field of {@link PreparedOptions}) from a source with the same SHA-256 (ratings files and
 * item metadata, by content, wherever they now are) and its files are intact. Anything else is an
 * error that says what differs; `force: true` (CLI `--force`) rebuilds and replaces it atomically. An
 * interrupted run leaves the previous directory (or nothing) in place.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { writeDirAtomic } from '../util/fs.js';
import { checkOutput, lockOutput, writeMarker } from '../util/output.js';
import { checkInt, checkNumber } from '../validate.js';
import { VERSION } from '../version.js';
import {
  type ItemMetaFormat,
  prepareSplit,
  type ReaderOptions,
  type ReaderStats,
  type SplitMatrix,
  type SplitOptions,
  type SplitParts,
} from '../wasm/data.js';
import { WasmInstance } from '../wasm/raw.js';
import { alignItemMetadata, readItemMetadata } from './metadata.js';
import { hashFiles, type InputFiles, readRatingsFiles, resolveInput } from './read.js';
import { importReference } from './reference.js';
import { type RatingRows, readRatingsRows } from './rows.js';
import {
  DATASET_FORMAT,
  DATASET_VERSION,
  type DatasetCounts,
  type DatasetManifest,
  encodeCsr,
  encodeOrder,
  loadDatasetSync,
  type MatrixName,
  type MetadataInfo,
  readManifest,
} from './store.js';

export interface PrepareOptions extends ReaderOptions, SplitOptions {
  /** A ratings file, or a directory (see `resolveInput`). Exactly one of `input` and `rows`. */
  input?: string;
  /**
   * Ratings in memory instead of a file: an array or an (async) iterable of `{ user, item, rating?,
   * timestamp? }` (e.g. a database cursor); see `rows.ts`. `format`, `separator`, `header` and `columns`
   * do not apply; the other options do, with the same validation (errors name the row and field).
   */
  rows?: RatingRows;
  /** The dataset directory to write. */
  out: string;
  /** An item metadata file; default: found next to the input (`findItemMetadata`); `false`: none. */
  items?: string | false;
  itemsFormat?: ItemMetaFormat;
  /** Replace an existing dataset that differs (or is damaged). */
  force?: boolean;
  /** Read chunk size in bytes (default 16 MiB). */
  chunkBytes?: number;
  onProgress?: (done: number, total: number) => void;
}

/** The options that define a prepared dataset (recorded in the manifest; defaults filled in). */
export interface PreparedOptions {
  format: string;
  separator: string | null;
  header: string;
  columns: ReaderOptions['columns'] | null;
  implicit: boolean;
  minRating: number;
  skipInvalid: boolean;
  minUserItems: number;
  minItemUsers: number;
  heldoutUsers: number | 'auto';
  split: 'reference' | 'seeded';
  seed: number;
  testProp: number;
  itemsFormat: string;
}

export interface PrepareResult {
  dir: string;
  manifest: DatasetManifest;
  /** The directory was already up to date and was not rewritten. */
  reused: boolean;
  seconds: { read: number; split: number; write: number; total: number };
}

const FORMATS = ['auto', 'movielens', 'netflix', 'csv'];

/** Checks the options (naming the bad one) and fills in the defaults. */
export function preparedOptions(o: PrepareOptions): PreparedOptions {
  const fn = 'prepareDataset';
  if (o.format !== undefined && !FORMATS.includes(o.format)) {
    throw new InvalidArgumentError(
      `'format' passed to ${fn}() must be one of ${FORMATS.join(', ')} but got '${o.format}'`,
    );
  }
  if (o.split !== undefined && o.split !== 'reference' && o.split !== 'seeded') {
    throw new InvalidArgumentError(`'split' passed to ${fn}() must be 'reference' or 'seeded' but got '${o.split}'`);
  }
  const split = o.split ?? 'reference';
  const seed = checkInt(fn, 'seed', o.seed ?? 98765, 0, split === 'reference' ? 0xffffffff : Number.MAX_SAFE_INTEGER);
  const testProp = checkNumber(fn, 'testProp', o.testProp ?? 0.2, 0, 1);
  if (testProp <= 0 || testProp >= 1) {
    throw new InvalidArgumentError(`'testProp' passed to ${fn}() must be > 0 and < 1 but got ${testProp}`);
  }
  const heldout = o.heldoutUsers ?? 'auto';
  return {
    format: o.format ?? 'auto',
    separator: o.separator ?? null,
    header: o.header ?? 'auto',
    columns: o.columns ?? null,
    implicit: o.implicit ?? false,
    minRating: checkNumber(fn, 'minRating', o.minRating ?? 3.5),
    skipInvalid: o.skipInvalid ?? false,
    minUserItems: checkInt(fn, 'minUserItems', o.minUserItems ?? 5, 1),
    minItemUsers: checkInt(fn, 'minItemUsers', o.minItemUsers ?? 0, 0),
    heldoutUsers: heldout === 'auto' ? 'auto' : checkInt(fn, 'heldoutUsers', heldout, 1),
    split,
    seed,
    testProp,
    itemsFormat: o.itemsFormat ?? 'auto',
  };
}

/** The MultVAE split of what a reader holds, with the dataset's options; the reader is freed either way. */
function splitAndFree(
  inst: WasmInstance,
  reader: Parameters<typeof prepareSplit>[1],
  opts: PreparedOptions,
): SplitParts {
  try {
    return prepareSplit(inst, reader, {
      minUserItems: opts.minUserItems,
      minItemUsers: opts.minItemUsers,
      heldoutUsers: opts.heldoutUsers,
      split: opts.split,
      seed: opts.seed,
      testProp: opts.testProp,
    });
  } finally {
    reader.free();
  }
}

function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}

/** `name: old → new` for each option that differs. */
function diffOptions(old: Record<string, unknown>, now: PreparedOptions): string[] {
  const out: string[] = [];
  const keys = new Set([...Object.keys(old), ...Object.keys(now)]);
  for (const k of [...keys].sort()) {
    const a = canonical(old[k]);
    const b = canonical((now as unknown as Record<string, unknown>)[k]);
    if (a !== b) out.push(`${k}: ${a} → ${b}`);
  }
  return out;
}

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

type MetaSpec = { path: string; format: string; uGenre?: string } | undefined;

function metadataSpec(o: PrepareOptions, inputs: InputFiles): MetaSpec {
  if (o.items === false) return undefined;
  if (typeof o.items === 'string') {
    const path = resolve(o.items);
    if (!existsSync(path)) throw new InvalidArgumentError(`item metadata file '${o.items}' does not exist`);
    return { path, format: o.itemsFormat ?? 'auto' };
  }
  return inputs.metadata;
}

function metaHash(spec: MetaSpec): string | null {
  if (!spec) return null;
  const h = createHash('sha256').update(readFileSync(spec.path));
  if (spec.uGenre) h.update(readFileSync(spec.uGenre));
  return h.digest('hex');
}

/** Checks an existing dataset against the request; returns its manifest when it can be reused. */
async function checkExisting(out: string, opts: PreparedOptions, sha: string, sourcePath: string, meta: MetaSpec) {
  const again = 'pass --force (force: true) to replace it, or choose another output directory';
  let prev: DatasetManifest;
  try {
    prev = readManifest(out);
  } catch (e) {
    throw new InvalidArgumentError(`${out} exists but is not a readable dataset (${(e as Error).message}); ${again}`);
  }
  const diffs = diffOptions(prev.options, opts);
  if (diffs.length > 0) {
    throw new InvalidArgumentError(`${out} was prepared with different options (${diffs.join('; ')}); ${again}`);
  }
  if (sha !== prev.source.sha256) {
    throw new InvalidArgumentError(
      `${out} was prepared from a different source: ${prev.source.path} had sha256 ${prev.source.sha256.slice(0, 12)}…, ${sourcePath} has ${sha.slice(0, 12)}…; ${again}`,
    );
  }
  const mh = metaHash(meta);
  if (mh !== (prev.metadata?.sha256 ?? null)) {
    throw new InvalidArgumentError(
      `${out} was prepared with different item metadata (${prev.metadata?.path ?? 'none'} → ${meta?.path ?? 'none'}); ${again}`,
    );
  }
  try {
    loadDatasetSync(out);
  } catch (e) {
    throw new InvalidArgumentError(`${out} is damaged (${(e as Error).message}); ${again}`);
  }
  return prev;
}

const MATRIX_PARTS: Array<[MatrixName, keyof SplitParts]> = [
  ['train', 'train'],
  ['validation_fold_in', 'validationFoldIn'],
  ['validation_target', 'validationTarget'],
  ['test_fold_in', 'testFoldIn'],
  ['test_target', 'testTarget'],
];

function countsOf(parts: SplitParts): DatasetCounts {
  const s = parts.stats;
  return {
    users: s.users,
    items: s.items,
    interactions: s.interactions,
    positives: s.positives,
    trainUsers: s.trainUsers,
    validationUsers: s.validationUsers,
    testUsers: s.testUsers,
    validationScored: s.validationScored,
    testScored: s.testScored,
    trainInteractions: parts.train.indices.length,
    validationFoldIn: parts.validationFoldIn.indices.length,
    validationTarget: parts.validationTarget.indices.length,
    testFoldIn: parts.testFoldIn.indices.length,
    testTarget: parts.testTarget.indices.length,
    duplicates: s.duplicates,
    droppedByItemFilter: s.droppedByItemFilter,
    droppedByUserFilter: s.droppedByUserFilter,
    heldoutDropped: s.heldoutDropped,
  };
}

/** Writes a split into a new dataset directory (atomically). */
export async function writeDataset(
  out: string,
  parts: SplitParts,
  info: Omit<DatasetManifest, 'files' | 'counts' | 'format' | 'version' | 'createdAt' | 'createdBy'>,
  meta?: { titles: string[]; genres: string[][] },
): Promise<DatasetManifest> {
  return writeDirAtomic(out, async (tmp) => {
    writeMarker(tmp, 'dataset');
    const files: DatasetManifest['files'] = {};
    const put = async (name: string, chunks: Uint8Array[]) => {
      const h = createHash('sha256');
      let bytes = 0;
      for (const c of chunks) {
        h.update(c);
        bytes += c.byteLength;
      }
      await writeFile(join(tmp, name), chunks);
      files[name] = { bytes, sha256: h.digest('hex') };
    };
    const text = (lines: string[]) => [Buffer.from(lines.length === 0 ? '' : `${lines.join('\n')}\n`)];
    await put('user_ids.txt', text(parts.userIds));
    await put('item_ids.txt', text(parts.itemIds));
    for (const [name, key] of MATRIX_PARTS) {
      const m = parts[key] as SplitMatrix;
      await put(
        `${name}.csr`,
        encodeCsr({ indptr: m.indptr, indices: m.indices, cols: parts.itemIds.length, users: m.rows }),
      );
      await put(`${name}.order`, encodeOrder(m.order));
    }
    if (meta) await put('item_meta.json', [Buffer.from(JSON.stringify(meta))]);
    const manifest: DatasetManifest = {
      format: DATASET_FORMAT,
      version: DATASET_VERSION,
      createdAt: new Date().toISOString(),
      createdBy: `macridvae ${VERSION}`,
      ...info,
      counts: countsOf(parts),
      files,
    };
    await writeFile(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  });
}

/**
 * Reads ratings, applies the MultVAE protocol and writes a dataset directory (or reuses an identical
 * one: see the module doc). Returns the manifest, whether it was reused, and timings.
 */
export async function prepareDataset(options: PrepareOptions): Promise<PrepareResult> {
  const t0 = performance.now();
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError(`'options' passed to prepareDataset() must be an object but got ${String(options)}`);
  }
  if (options.rows !== undefined) return prepareRows(options);
  if (typeof options.input !== 'string' || options.input === '') {
    throw new InvalidArgumentError(`'input' passed to prepareDataset() must be a path (or give 'rows')`);
  }
  if (typeof options.out !== 'string' || options.out === '') {
    throw new InvalidArgumentError(`'out' passed to prepareDataset() must be a path`);
  }
  const opts = preparedOptions(options);
  const inputs = resolveInput(options.input);
  const meta = metadataSpec(options, inputs);
  const out = resolve(options.out);
  const lock = lockOutput(out);
  try {
    const state = checkOutput(options.out, 'dataset', {
      option: 'output',
      force: options.force,
      inputs: [options.input, ...inputs.files, meta?.path, meta?.uGenre],
    });
    if (state === 'owned' && !options.force) {
      const manifest = await checkExisting(out, opts, await hashFiles(inputs.files), inputs.path, meta);
      const s = (performance.now() - t0) / 1000;
      return { dir: out, manifest, reused: true, seconds: { read: s, split: 0, write: 0, total: s } };
    }
    return await build(options, opts, inputs, meta, out, t0);
  } finally {
    lock.release();
  }
}

async function build(
  options: PrepareOptions,
  opts: PreparedOptions,
  inputs: InputFiles,
  meta: MetaSpec,
  out: string,
  t0: number,
): Promise<PrepareResult> {
  // A dedicated instance: its memory (hundreds of MB for large inputs) is released with it.
  const inst = new WasmInstance();
  let parts: SplitParts;
  let parse: ReaderStats | Record<string, unknown>;
  let sha: string;
  let bytes: number;
  let detected: string;
  const t1 = performance.now();
  let t2: number;
  if (inputs.kind === 'reference') {
    parts = await importReference(inst, inputs.path);
    sha = await hashFiles(inputs.files);
    bytes = inputs.files.reduce((s, f) => s + statSync(f).size, 0);
    detected = 'reference';
    parse = { rows: parts.stats.interactions, kept: parts.stats.interactions, invalid: 0, examples: [] };
    t2 = performance.now();
  } else {
    const reader: ReaderOptions = {
      format: opts.format as ReaderOptions['format'],
      separator: opts.separator ?? undefined,
      header: opts.header as ReaderOptions['header'],
      columns: opts.columns ?? undefined,
      implicit: opts.implicit,
      minRating: opts.minRating,
      skipInvalid: opts.skipInvalid,
    };
    const r = await readRatingsFiles(inst, inputs.files, reader, {
      chunkBytes: options.chunkBytes,
      onProgress: options.onProgress,
    });
    t2 = performance.now();
    parts = splitAndFree(inst, r.reader, opts);
    sha = r.sha256;
    bytes = r.bytes;
    detected = r.stats.format;
    const { users: _u, items: _i, ...rest } = r.stats;
    parse = {
      ...rest,
      examples: r.stats.examples.map((e) => ({ ...e, file: inputs.files[e.file] ?? String(e.file) })),
    };
  }
  const t3 = performance.now();
  let metadata: MetadataInfo | null = null;
  let aligned: { titles: string[]; genres: string[][] } | undefined;
  if (meta) {
    const m = readItemMetadata(meta.path, {
      format: (opts.itemsFormat !== 'auto' ? opts.itemsFormat : meta.format) as ItemMetaFormat,
      uGenre: meta.uGenre,
      instance: inst,
    });
    const a = alignItemMetadata(parts.itemIds, m);
    aligned = { titles: a.titles, genres: a.genres };
    metadata = {
      path: meta.path,
      bytes: statSync(meta.path).size,
      sha256: metaHash(meta) ?? sha256(''),
      format: meta.format,
      matched: a.matched,
    };
  }
  const manifest = await writeDataset(
    out,
    parts,
    {
      source: {
        path: inputs.path,
        files: inputs.files.map((f) => (f === inputs.path ? f : relative(inputs.path, f))),
        bytes,
        sha256: sha,
        format: detected,
      },
      metadata,
      options: opts as unknown as Record<string, unknown>,
      parse: parse as Record<string, unknown>,
    },
    aligned,
  );
  const t4 = performance.now();
  return {
    dir: out,
    manifest,
    reused: false,
    seconds: { read: (t2 - t1) / 1000, split: (t3 - t2) / 1000, write: (t4 - t3) / 1000, total: (t4 - t0) / 1000 },
  };
}

/** `prepareDataset({ rows, … })`: the same protocol and reuse rule, with the rows as the source. */
async function prepareRows(options: PrepareOptions): Promise<PrepareResult> {
  const fn = 'prepareDataset';
  const t0 = performance.now();
  if (options.input !== undefined) {
    throw new InvalidArgumentError(`'input' and 'rows' passed to ${fn}() exclude each other; give one`);
  }
  for (const k of ['format', 'separator', 'header', 'columns', 'implicit'] as const) {
    if (options[k] !== undefined) {
      throw new InvalidArgumentError(
        `'${k}' passed to ${fn}() does not apply to 'rows' (fields are named; no rating on any row means implicit)`,
      );
    }
  }
  if (typeof options.out !== 'string' || options.out === '') {
    throw new InvalidArgumentError(`'out' passed to ${fn}() must be a path`);
  }
  const opts = preparedOptions(options);
  const out = resolve(options.out);
  if (typeof options.items === 'string') {
    throw new InvalidArgumentError(`'items' (a metadata file) passed to ${fn}() is not supported with 'rows' yet`);
  }
  const lock = lockOutput(out);
  try {
    return await buildFromRows(options, opts, out, t0);
  } finally {
    lock.release();
  }
}

async function buildFromRows(
  options: PrepareOptions,
  opts: PreparedOptions,
  out: string,
  t0: number,
): Promise<PrepareResult> {
  const state = checkOutput(options.out as string, 'dataset', { option: 'output', force: options.force, inputs: [] });
  const inst = new WasmInstance();
  const t1 = performance.now();
  const r = await readRatingsRows(inst, options.rows as RatingRows, opts, { onProgress: options.onProgress });
  const source = { path: '(rows)', files: [] as string[], bytes: r.bytes, sha256: r.sha256, format: 'rows' };
  if (state === 'owned' && !options.force) {
    r.reader.free();
    const manifest = await checkExisting(out, opts, source.sha256, source.path, undefined);
    const s = (performance.now() - t0) / 1000;
    return { dir: out, manifest, reused: true, seconds: { read: s, split: 0, write: 0, total: s } };
  }
  const t2 = performance.now();
  const parts = splitAndFree(inst, r.reader, opts);
  const t3 = performance.now();
  const { users: _u, items: _i, examples: _e, ...rest } = r.stats;
  const manifest = await writeDataset(
    out,
    parts,
    {
      source,
      metadata: null,
      options: opts as unknown as Record<string, unknown>,
      parse: { ...rest, examples: r.examples.map((e) => ({ file: 'rows', line: e.row, message: e.message })) },
    },
    undefined,
  );
  const t4 = performance.now();
  return {
    dir: out,
    manifest,
    reused: false,
    seconds: { read: (t2 - t1) / 1000, split: (t3 - t2) / 1000, write: (t4 - t3) / 1000, total: (t4 - t0) / 1000 },
  };
}
