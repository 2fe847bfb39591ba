/**
 * Files of a trained model and of a training run (layouts in `docs/model-format.md`):
 *
 * - the tensor file (`*.mvt`): a self-describing little-endian container of named float32 tensors plus
 *   string metadata, readable without a JSON parser (the Rust reader is `macrid_core::tensorfile`);
 * - the model directory: `manifest.json` (config, dataset fingerprint, versions, best epoch, metrics)
 *   and `weights-<sha8>.mvt` (the best epoch's weights, named by the first 8 hex digits of their
 *   SHA-256; its metadata repeats the model config as key/values);
 * - the training checkpoint `checkpoint.mvt` in the same directory: the latest epoch's weights, Adam's
 *   step and moments, and the trainer's state as JSON metadata (including which weights file holds
 *   the best epoch), in one file so one rename commits it.
 *
 * **Crash safety** ({@link ModelDirWriter}; the protocol of git's objects and refs): files are never
 * rewritten in place. Each epoch writes a new content-addressed weights file (when the epoch is the
 * best), then the checkpoint, the log and last `manifest.json`, each to a temporary file that is
 * fsync'd and renamed. Renaming the manifest is the commit point of a loadable model: it names a
 * weights file that is already complete, and weights files are deleted only once neither the manifest
 * nor the checkpoint names them. A new directory is built as a temporary sibling and renamed into
 * place at its first commit. So whenever a run is killed, the directory is absent (nothing committed
 * yet), or loadable (the manifest's weights verify) and resumable (`checkpoint.mvt`); temporaries a
 * killed run left are removed by the next writer.
 */

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Csr, csrRows } from '../csr.js';
import type { SplitData } from '../data/types.js';
import { InvalidArgumentError, ParseError } from '../errors.js';
import type { MetricTable } from '../eval/evaluator.js';
import {
  type AnyModelConfig,
  type BaselineConfig,
  type ModelConfig,
  resolveAnyModelConfig,
  type TrainConfig,
} from '../models/config.js';
import type { Weight, Weights } from '../models/types.js';
import {
  fileError,
  makeStagingDir,
  removeStaleTempsIn,
  replaceDirSync,
  withFileErrors,
  writeFileAtomicSync,
} from '../util/fs.js';
import { checkOutput, lockOutput, type OutputLock, writeMarker } from '../util/output.js';
import { checkArray, checkObject, checkPath } from '../validate.js';
import type { ProductionInfo } from './production.js';

export const TENSOR_MAGIC = 'MVTENSOR';
export const TENSOR_END = 'MVTEND\0\0';
export const TENSOR_FORMAT_VERSION = 1;
/** dtype code of float32 tensors (the only one written today). */
export const DTYPE_F32 = 1;

export const MANIFEST_FILE = 'manifest.json';
/** The weights file of directories written before content-addressed names (still read). */
export const WEIGHTS_FILE = 'weights.mvt';
export const CHECKPOINT_FILE = 'checkpoint.mvt';
export const LOG_FILE = 'train.jsonl';
/** Weights files this package writes into a model directory: `weights.mvt` or `weights-<sha8>.mvt`. */
const WEIGHTS_RE = /^weights(?:-[0-9a-f]{8})?\.mvt$/;

/** A tensor file's content: string metadata and named tensors, both in file order. */
export interface TensorFile {
  meta: Record<string, string>;
  tensors: Weights;
}

/** Writes `bytes` to `path` atomically (temporary file, fsync, rename). */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  writeFileAtomicSync(path, bytes);
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

/** Whether this machine stores float32 little-endian (then tensor data is copied in bulk). */
const LITTLE_ENDIAN = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;

/** Serializes a tensor file (layout: `docs/model-format.md`). */
export function encodeTensorFile(file: TensorFile): Uint8Array {
  checkObject('encodeTensorFile', 'file', file, '{meta, tensors}');
  checkObject('encodeTensorFile', 'file.meta', file.meta);
  checkObject('encodeTensorFile', 'file.tensors', file.tensors);
  const enc = new TextEncoder();
  const metaEntries = Object.entries(file.meta).map(([k, v]) => [enc.encode(k), enc.encode(v)] as const);
  const tensors = Object.entries(file.tensors).map(([name, w]) => {
    const size = w.shape.reduce((a, b) => a * b, 1);
    if (size !== w.data.length) {
      throw new InvalidArgumentError(`tensor '${name}' has shape [${w.shape}] but ${w.data.length} values`);
    }
    return { name: enc.encode(name), w };
  });
  let size = 8 + 4 + 4 + 4;
  for (const [k, v] of metaEntries) size += 4 + k.length + pad4(k.length) + 4 + v.length + pad4(v.length);
  for (const t of tensors)
    size += 4 + t.name.length + pad4(t.name.length) + 4 + 4 + 4 * t.w.shape.length + 4 * t.w.data.length;
  size += 8;
  const buf = new Uint8Array(size);
  const dv = new DataView(buf.buffer);
  let o = 0;
  const u32 = (v: number) => {
    dv.setUint32(o, v, true);
    o += 4;
  };
  const bytes = (b: Uint8Array) => {
    u32(b.length);
    buf.set(b, o);
    o += b.length + pad4(b.length);
  };
  buf.set(enc.encode(TENSOR_MAGIC), 0);
  o = 8;
  u32(TENSOR_FORMAT_VERSION);
  u32(metaEntries.length);
  for (const [k, v] of metaEntries) {
    bytes(k);
    bytes(v);
  }
  u32(tensors.length);
  for (const t of tensors) {
    bytes(t.name);
    u32(DTYPE_F32);
    u32(t.w.shape.length);
    for (const s of t.w.shape) u32(s);
    if (LITTLE_ENDIAN) buf.set(new Uint8Array(t.w.data.buffer, t.w.data.byteOffset, t.w.data.byteLength), o);
    else for (let i = 0; i < t.w.data.length; i++) dv.setFloat32(o + 4 * i, t.w.data[i], true);
    o += 4 * t.w.data.length;
  }
  buf.set(enc.encode(TENSOR_END), o);
  return buf;
}

/** Parses a tensor file; `source` names it in errors (which give the byte offset). */
export function decodeTensorFile(buf: Uint8Array, source: string): TensorFile {
  checkArray<Uint8Array>('decodeTensorFile', 'buf', buf, Uint8Array);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dec = new TextDecoder('utf-8', { fatal: true });
  let o = 0;
  const fail = (msg: string): never => {
    throw new ParseError(`${source}: ${msg} at byte ${o}`);
  };
  const need = (n: number) => {
    if (o + n > buf.length) fail(`truncated file (needs ${n} more bytes, ${buf.length - o} left)`);
  };
  const u32 = () => {
    need(4);
    const v = dv.getUint32(o, true);
    o += 4;
    return v;
  };
  const str = () => {
    const n = u32();
    need(n + pad4(n));
    let s = '';
    try {
      s = dec.decode(buf.subarray(o, o + n));
    } catch {
      fail('invalid UTF-8 in a name');
    }
    o += n + pad4(n);
    return s;
  };
  need(8);
  if (dec.decode(buf.subarray(0, 8)) !== TENSOR_MAGIC)
    fail(`not a macridvae tensor file (magic is not '${TENSOR_MAGIC}')`);
  o = 8;
  const version = u32();
  if (version !== TENSOR_FORMAT_VERSION)
    fail(`unsupported format version ${version} (this build reads ${TENSOR_FORMAT_VERSION})`);
  const meta: Record<string, string> = {};
  const nMeta = u32();
  for (let i = 0; i < nMeta; i++) {
    const k = str();
    meta[k] = str();
  }
  const tensors: Weights = {};
  const nTensors = u32();
  for (let i = 0; i < nTensors; i++) {
    const name = str();
    const dtype = u32();
    if (dtype !== DTYPE_F32) fail(`tensor '${name}' has unknown dtype ${dtype}`);
    const ndim = u32();
    const shape: number[] = [];
    for (let j = 0; j < ndim; j++) shape.push(u32());
    const n = shape.reduce((a, b) => a * b, 1);
    need(4 * n);
    let data: Float32Array;
    if (LITTLE_ENDIAN) data = new Float32Array(buf.slice(o, o + 4 * n).buffer);
    else {
      data = new Float32Array(n);
      for (let j = 0; j < n; j++) data[j] = dv.getFloat32(o + 4 * j, true);
    }
    o += 4 * n;
    tensors[name] = { shape, data };
  }
  need(8);
  if (dec.decode(buf.subarray(o, o + 8)) !== TENSOR_END) fail('missing end marker');
  o += 8;
  if (o !== buf.length) fail(`${buf.length - o} unexpected bytes after the end marker`);
  return { meta, tensors };
}

export function readTensorFile(path: string): TensorFile {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    const f = fileError(e, 'read', path);
    throw f instanceof Error && f !== e ? f : new InvalidArgumentError(`cannot read ${path}: ${String(e)}`);
  }
  return decodeTensorFile(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path);
}

/**
 * The dataset's fingerprint: a hex SHA-256 over the split's matrices, then, when the data carries its id
 * strings (a dataset from `loadDataset` does: `itemIds`, `userIds`), `.` and a hex SHA-256 over them —
 * so the same ratings under other ids (other items behind the same columns) give another fingerprint.
 * Fingerprints written before the ids were covered are the first part alone; compare with
 * {@link sameDatasetFingerprint}, which checks the parts both sides have.
 */
export function datasetFingerprint(data: SplitData): string {
  const matrices = matricesFingerprint(data);
  const { itemIds, userIds } = data as { itemIds?: unknown; userIds?: unknown };
  if (!Array.isArray(itemIds) && !Array.isArray(userIds)) return matrices;
  const h = createHash('sha256');
  for (const [name, ids] of [
    ['items', itemIds],
    ['users', userIds],
  ] as const) {
    if (!Array.isArray(ids)) continue;
    h.update(`${name}:${ids.length}:`);
    for (const id of ids) h.update(`${JSON.stringify(String(id))}\n`);
  }
  return `${matrices}.${h.digest('hex')}`;
}

/**
 * Whether a stored fingerprint and a dataset's are the same dataset: the matrices' parts are equal, and
 * so are the ids' parts when both have one (a model directory written before ids were fingerprinted
 * is checked on its matrices, as it was then).
 */
export function sameDatasetFingerprint(stored: string, current: string): boolean {
  const [a, aIds] = stored.split('.');
  const [b, bIds] = current.split('.');
  return a === b && (aIds === undefined || bIds === undefined || aIds === bIds);
}

/** The hex SHA-256 over the split's matrices (all a fingerprint was before the ids were covered). */
function matricesFingerprint(data: SplitData): string {
  checkObject('datasetFingerprint', 'data', data, 'split data {items, train, validation, test}');
  const h = createHash('sha256');
  const add = (name: string, m: Csr) => {
    h.update(`${name}:${csrRows(m)}x${m.cols}:`);
    h.update(new Uint8Array(m.indptr.buffer, m.indptr.byteOffset, m.indptr.byteLength));
    h.update(new Uint8Array(m.indices.buffer, m.indices.byteOffset, m.indices.byteLength));
  };
  h.update(`items:${data.items};`);
  add('train', data.train);
  add('validation.foldIn', data.validation.foldIn);
  add('validation.target', data.validation.target);
  add('test.foldIn', data.test.foldIn);
  add('test.target', data.test.target);
  return h.digest('hex');
}

/** `{mean, se}` per metric, as stored in the manifest (made by `metricTable` of the evaluator). */
export type { MetricTable };

/** The model directory's `manifest.json`. */
export interface Manifest {
  format: 'macridvae-model';
  formatVersion: 1;
  model: AnyModelConfig;
  /** The VAEs' training config (absent for the reference models, which are fitted: see `fit`). */
  train?: TrainConfig;
  /** Reference models: every candidate of the validation search (`ts/train/fit-baseline.ts`). */
  fit?: { criterion: string; candidates: { config: BaselineConfig; validation: MetricTable; seconds: number }[] };
  /** Item columns the model scores. */
  items: number;
  dataset: { fingerprint: string; users: number; items: number; validationUsers: number; testUsers: number };
  versions: { macridvae: string; tfjs: string; node: string };
  /** Epoch of the weights in `weights.mvt` (1-based), chosen on validation NDCG@100; 0 for the reference models. */
  bestEpoch: number;
  /** Epochs trained so far. */
  epochs: number;
  metrics: { validation?: MetricTable; test?: MetricTable };
  weights: { file: string; bytes: number; sha256: string };
  /** Where the training steps ran (`--compute`): the path, what was asked for, the tfjs backend. */
  compute?: { requested: string; path: 'wasm' | 'tfjs'; tfBackend: string; reason: string };
  /** Production training (`train --all-users`): every user trained on, nothing held out or validated. */
  production?: ProductionInfo;
  /** ISO time of the last write. */
  updated: string;
}

/** Flattens a model config into the tensor file's string metadata (so Rust can read it without JSON). */
export function configMeta(model: AnyModelConfig, items: number): Record<string, string> {
  const meta: Record<string, string> = { format: 'macridvae-weights', items: String(items) };
  for (const [k, v] of Object.entries(model)) meta[`model.${k}`] = Array.isArray(v) ? v.join(',') : String(v);
  return meta;
}

/** The SHA-256 (hex) of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Writes `bytes` as `STEM-<sha8>EXT` in `dir` (atomically; skipped when that file already exists) and
 * returns its manifest entry. Content-addressed names let a new version be written beside the one the
 * manifest names, so the manifest's rename commits the switch (see the module doc). Model-directory
 * files that change over a run (weights; any other per-epoch file) go through this.
 */
export function writeContentAddressed(
  dir: string,
  stem: string,
  ext: string,
  bytes: Uint8Array,
): { file: string; bytes: number; sha256: string } {
  checkPath('writeContentAddressed', 'dir', dir);
  checkArray<Uint8Array>('writeContentAddressed', 'bytes', bytes, Uint8Array);
  const sha256 = sha256Hex(bytes);
  const file = `${stem}-${sha256.slice(0, 8)}${ext}`;
  const path = join(dir, file);
  if (!existsSync(path) || sha256Hex(readFileSync(path)) !== sha256) writeFileAtomicSync(path, bytes);
  return { file, bytes: bytes.length, sha256 };
}

/** Writes a model's weights file (content-addressed, atomically); returns the manifest's `weights` entry. */
export function saveWeights(
  dir: string,
  model: AnyModelConfig,
  items: number,
  epoch: number,
  weights: Weights,
): Manifest['weights'] {
  const bytes = encodeTensorFile({ meta: { ...configMeta(model, items), epoch: String(epoch) }, tensors: weights });
  return writeContentAddressed(dir, 'weights', '.mvt', bytes);
}

/** Writes `manifest.json` atomically (stamping `updated`): the commit point of a model directory. */
export function writeManifest(dir: string, manifest: Omit<Manifest, 'updated'>): Manifest {
  const full: Manifest = { ...manifest, updated: new Date().toISOString() };
  writeFileAtomicSync(join(dir, MANIFEST_FILE), `${JSON.stringify(full, null, 2)}\n`);
  return full;
}

export function readManifest(dir: string): Manifest {
  checkPath('readManifest', 'dir', dir);
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InvalidArgumentError(
      `${dir} is not a model directory: cannot read ${MANIFEST_FILE} (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch (e) {
    throw new ParseError(`${path}: invalid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (m.format !== 'macridvae-model')
    throw new ParseError(`${path}: 'format' must be 'macridvae-model' but is '${String(m.format)}'`);
  if (m.formatVersion !== 1) throw new ParseError(`${path}: unsupported formatVersion ${String(m.formatVersion)}`);
  return m;
}

/** A trained model as stored: its manifest and its named weights (no tfjs needed). */
export interface LoadedModel {
  manifest: Manifest;
  config: AnyModelConfig;
  items: number;
  weights: Weights;
}

/** Says how to recover a model directory whose weights cannot be used, when its checkpoint can. */
function recoveryHint(dir: string): string {
  if (!existsSync(join(dir, CHECKPOINT_FILE))) return '';
  try {
    loadCheckpoint(dir);
  } catch {
    return '';
  }
  return `; its training checkpoint ${CHECKPOINT_FILE} is intact: run 'macridvae train --resume --data DATA --out ${dir}' with the run's options to finish it`;
}

/** Reads a model directory written by `macridvae train` (see `docs/model-format.md`); verifies the weights. */
export function loadModel(dir: string): LoadedModel {
  if (typeof dir !== 'string' || dir === '') {
    throw new InvalidArgumentError(`'dir' passed to loadModel() must be a path but got ${String(dir)}`);
  }
  let manifest: Manifest;
  try {
    manifest = readManifest(dir);
  } catch (e) {
    const hint = recoveryHint(dir);
    if (!hint) throw e;
    throw new InvalidArgumentError(`${(e as Error).message}${hint}`);
  }
  const path = join(dir, manifest.weights.file);
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    const f = fileError(e, 'read', path);
    throw new ParseError(`${(f as Error).message}${recoveryHint(dir)}`, { cause: e });
  }
  const sha = sha256Hex(buf);
  if (sha !== manifest.weights.sha256) {
    throw new ParseError(
      `${path}: SHA-256 ${sha} does not match the manifest's ${manifest.weights.sha256} (a partial write?)${recoveryHint(dir)}`,
    );
  }
  const file = decodeTensorFile(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path);
  // Resolved: a model written before a config field existed reads as that field's default.
  let config: AnyModelConfig;
  try {
    config = resolveAnyModelConfig(manifest.model.kind, manifest.model);
  } catch (e) {
    throw new ParseError(`${join(dir, MANIFEST_FILE)}: bad 'model': ${(e as Error).message}`);
  }
  return { manifest, config, items: manifest.items, weights: file.tensors };
}

/** The trainer's state in a checkpoint (everything but tensors). */
export interface CheckpointState {
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps completed (also the noise stream position). */
  step: number;
  model: ModelConfig;
  train: TrainConfig;
  items: number;
  datasetFingerprint: string;
  bestEpoch: number;
  bestScore: number;
  /** Epochs since the best one (for patience). */
  sinceBest: number;
  /** Per-epoch records so far. */
  history: unknown[];
  /** How batch order and noise are drawn: a function of (seed, epoch) and (seed, step), so no generator state is stored. */
  rng: { seed: number; scheme: 'counter-v1' };
  /** The weights file holding the best epoch (absent in checkpoints of older builds and before a best epoch). */
  bestWeights?: Manifest['weights'];
  /** Production training: as in the manifest. */
  production?: ProductionInfo;
}

const ADAM_PREFIX = 'adam.';

/** Writes the training checkpoint (latest weights, Adam state, trainer state) atomically. */
export function saveCheckpoint(
  dir: string,
  state: CheckpointState,
  weights: Weights,
  adam: { step: number; moments: Weights },
): void {
  const tensors: Weights = { ...weights };
  for (const [k, w] of Object.entries(adam.moments)) tensors[`${ADAM_PREFIX}${k}`] = w;
  const meta = { format: 'macridvae-checkpoint', state: JSON.stringify(state), 'adam.step': String(adam.step) };
  writeFileAtomicSync(join(dir, CHECKPOINT_FILE), encodeTensorFile({ meta, tensors }));
}

export interface Checkpoint {
  state: CheckpointState;
  weights: Weights;
  adam: { step: number; moments: Weights };
}

export function loadCheckpoint(dir: string): Checkpoint {
  const path = join(dir, CHECKPOINT_FILE);
  const f = readTensorFile(path);
  if (f.meta.format !== 'macridvae-checkpoint') throw new ParseError(`${path}: not a training checkpoint`);
  let state: CheckpointState;
  try {
    state = JSON.parse(f.meta.state ?? '') as CheckpointState;
  } catch {
    throw new ParseError(`${path}: the 'state' metadata is not valid JSON`);
  }
  const weights: Weights = {};
  const moments: Weights = {};
  for (const [k, w] of Object.entries(f.tensors)) {
    if (k.startsWith(ADAM_PREFIX)) moments[k.slice(ADAM_PREFIX.length)] = w;
    else weights[k] = w as Weight;
  }
  return { state, weights, adam: { step: Number(f.meta['adam.step']), moments } };
}

/** What one epoch commits to a model directory (see {@link ModelDirWriter.commit}). */
export interface EpochCommit {
  /** The manifest without `weights` and `updated` (the writer fills them). */
  manifest: Omit<Manifest, 'weights' | 'updated'>;
  /** The trainer's state after the epoch (`bestWeights` is filled by the writer). */
  state: CheckpointState;
  /** The latest weights and Adam's state. */
  weights: Weights;
  adam: { step: number; moments: Weights };
  /** The best epoch's weights when this epoch is the new best. */
  best?: Weights;
  /** The per-epoch records so far: `train.jsonl` is rewritten from them (one JSON object a line). */
  log: unknown[];
}

/** What a resumed writer found in the directory. */
export interface ResumePoint {
  checkpoint: Checkpoint;
  /** The best epoch's weights (undefined before any best epoch). */
  best?: Weights;
}

export interface ModelDirOptions {
  /** Continue the run in `out` (its checkpoint must exist). */
  resume?: boolean;
  /** Replace an existing model directory at `out`. */
  force?: boolean;
  /** Paths the run reads (the dataset directory): `out` may not be one of them nor contain one. */
  inputs?: Array<string | undefined>;
  /**
   * Files to place in a new directory before it appears (`name → bytes`), e.g. item ids: written once,
   * they appear atomically with the first commit. Files that change per epoch go through
   * {@link writeContentAddressed} and the manifest instead.
   */
  files?: Record<string, string | Uint8Array>;
}

/**
 * Writes a model directory crash-safely (see the module doc): holds the output's lock, builds a new
 * directory in a temporary sibling until the first {@link commit}, then commits every epoch in place
 * in the order weights → checkpoint → log → manifest, and removes the weights files nobody names.
 */
export class ModelDirWriter {
  private dir: string;
  private staged: boolean;
  private bestRef: Manifest['weights'] | undefined;
  private closed = false;

  private constructor(
    readonly out: string,
    private readonly lock: OutputLock,
    dir: string,
    staged: boolean,
    readonly resumed?: ResumePoint,
  ) {
    this.dir = dir;
    this.staged = staged;
    this.bestRef = resumed?.checkpoint.state.bestWeights;
  }

  /**
   * Opens `out` for a run: a fresh one (refused when `out` holds a model, unless `force`; refused
   * when it holds anything else) or, with `resume`, the continuation of the run whose checkpoint is
   * there. Takes `out`'s lock (a second writer is refused).
   */
  static open(out: string, opts: ModelDirOptions = {}): ModelDirWriter {
    if (typeof out !== 'string' || out === '') {
      throw new InvalidArgumentError(`'out' passed to trainModel() must be a path but got ${String(out)}`);
    }
    if (opts.resume && opts.force) throw new InvalidArgumentError("'resume' and 'force' exclude each other");
    const lock = lockOutput(out);
    try {
      const state = checkOutput(out, 'model', { option: 'output', force: opts.force, inputs: opts.inputs });
      if (opts.resume) {
        removeStaleTempsIn(out);
        const ck = join(out, CHECKPOINT_FILE);
        if (state !== 'owned' || !existsSync(ck)) throw new InvalidArgumentError(`cannot resume: ${ck} does not exist`);
        const checkpoint = loadCheckpoint(out);
        const w = new ModelDirWriter(out, lock, out, false, { checkpoint });
        (w.resumed as ResumePoint).best = w.readBest(checkpoint);
        return w;
      }
      if (state === 'owned' && !opts.force) {
        throw new InvalidArgumentError(
          `${out} already holds a model; pass --resume (resume: true) to continue its run or --force (force: true) to train a new one over it`,
        );
      }
      const staging = makeStagingDir(out);
      withFileErrors('write', out, () => {
        writeMarker(staging, 'model');
        for (const [name, bytes] of Object.entries(opts.files ?? {})) writeFileAtomicSync(join(staging, name), bytes);
      });
      return new ModelDirWriter(out, lock, staging, true);
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  /** The best weights named by the checkpoint (older checkpoints: the manifest's, if it verifies). */
  private readBest(ck: Checkpoint): Weights | undefined {
    const s = ck.state;
    if (s.bestEpoch <= 0) return undefined;
    const ref = s.bestWeights;
    if (ref) {
      const path = join(this.out, ref.file);
      const buf = withFileErrors('read', path, () => readFileSync(path));
      if (sha256Hex(buf) !== ref.sha256) {
        throw new ParseError(`${path}: SHA-256 does not match the checkpoint's; the model directory is damaged`);
      }
      return decodeTensorFile(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path).tensors;
    }
    try {
      const stored = loadModel(this.out);
      this.bestRef = stored.manifest.weights;
      return stored.weights;
    } catch {
      // An older build died between weights.mvt and manifest.json: its weights.mvt is the epoch after the
      // checkpoint, which the resumed run replays (deterministically) and rewrites; until then the
      // checkpoint's own weights stand in.
      return ck.weights;
    }
  }

  /** Where files of the run go now (a temporary sibling of `out` until the first commit). */
  get path(): string {
    return this.dir;
  }

  /** Whether a best epoch's weights are committed (else pass them as `best` to the next commit). */
  get hasBest(): boolean {
    return this.bestRef !== undefined;
  }

  /**
   * Commits one epoch (see the class doc); returns the manifest written. Before any best epoch (a
   * warm-up), only the checkpoint and the log are written: the directory is then resumable, and
   * loadable from the first best epoch on.
   */
  commit(c: EpochCommit): Manifest | undefined {
    if (this.closed) throw new InvalidArgumentError('ModelDirWriter.commit() after close()');
    const dir = this.dir;
    const manifest = withFileErrors('write', this.out, () => {
      if (c.best) {
        const m = c.manifest;
        this.bestRef = saveWeights(dir, m.model, m.items, m.bestEpoch, c.best);
      }
      const state: CheckpointState = this.bestRef ? { ...c.state, bestWeights: this.bestRef } : c.state;
      saveCheckpoint(dir, state, c.weights, c.adam);
      writeFileAtomicSync(join(dir, LOG_FILE), c.log.map((r) => `${JSON.stringify(r)}\n`).join(''));
      return this.bestRef ? writeManifest(dir, { ...c.manifest, weights: this.bestRef }) : undefined;
    });
    if (this.staged) {
      withFileErrors('create', this.out, () => replaceDirSync(dir, this.out));
      this.dir = this.out;
      this.staged = false;
    }
    this.collect();
    return manifest;
  }

  /** Rewrites `manifest.json` (e.g. adding test metrics) keeping the committed weights. */
  updateManifest(update: (m: Manifest) => Omit<Manifest, 'updated'>): Manifest {
    const m = readManifest(this.dir);
    return withFileErrors('write', this.out, () => writeManifest(this.dir, update(m)));
  }

  /** Removes weights files neither the manifest nor the checkpoint names, and stale temporaries. */
  private collect(): void {
    const keep = new Set<string>();
    if (this.bestRef) keep.add(this.bestRef.file);
    try {
      keep.add(readManifest(this.dir).weights.file);
    } catch {
      return;
    }
    for (const name of readdirSync(this.dir)) {
      if (WEIGHTS_RE.test(name) && !keep.has(name)) rmSync(join(this.dir, name), { force: true });
    }
    removeStaleTempsIn(this.dir);
  }

  /** Releases the lock; a directory never committed is removed (`out` is left as it was). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.staged) rmSync(this.dir, { recursive: true, force: true });
    this.lock.release();
  }
}
