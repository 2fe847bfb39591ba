/**
 * Files of a trained model and of a training run (layouts in `docs/model-format.md`):
 *
 * - the tensor file (`*.mvt`): a self-describing little-endian container of named float32 tensors plus
 *   string metadata, readable without a JSON parser (the Rust reader is `macrid_core::tensorfile`);
 * - the model directory: `manifest.json` (config, dataset fingerprint, versions, best epoch, metrics)
 *   and `weights.mvt` (the best epoch's weights; its metadata repeats the model config as key/values);
 * - the training checkpoint `checkpoint.mvt` in the same directory: the latest epoch's weights, Adam's
 *   step and moments, and the trainer's state as JSON metadata, in one file so one rename commits it.
 *
 * Every file is written atomically: to a temporary file in the same directory, fsync'd, then renamed.
 */

import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type Csr, csrRows } from '../csr.js';
import type { SplitData } from '../data/types.js';
import { InvalidArgumentError, ParseError } from '../errors.js';
import type { MetricTable } from '../eval/evaluator.js';
import { type ModelConfig, resolveModelConfig, type TrainConfig } from '../models/config.js';
import type { Weight, Weights } from '../models/types.js';

export const TENSOR_MAGIC = 'MVTENSOR';
export const TENSOR_END = 'MVTEND\0\0';
export const TENSOR_FORMAT_VERSION = 1;
/** dtype code of float32 tensors (the only one written today). */
export const DTYPE_F32 = 1;

export const MANIFEST_FILE = 'manifest.json';
export const WEIGHTS_FILE = 'weights.mvt';
export const CHECKPOINT_FILE = 'checkpoint.mvt';
export const LOG_FILE = 'train.jsonl';

/** A tensor file's content: string metadata and named tensors, both in file order. */
export interface TensorFile {
  meta: Record<string, string>;
  tensors: Weights;
}

/** Writes `bytes` to `path` atomically (temporary file, fsync, rename). */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

/** Whether this machine stores float32 little-endian (then tensor data is copied in bulk). */
const LITTLE_ENDIAN = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;

/** Serializes a tensor file (layout: `docs/model-format.md`). */
export function encodeTensorFile(file: TensorFile): Uint8Array {
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
    throw new InvalidArgumentError(`cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return decodeTensorFile(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path);
}

/** A hex SHA-256 over the split's matrices: the same data gives the same fingerprint, any change another. */
export function datasetFingerprint(data: SplitData): string {
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
  model: ModelConfig;
  train: TrainConfig;
  /** Item columns the model scores. */
  items: number;
  dataset: { fingerprint: string; users: number; items: number; validationUsers: number; testUsers: number };
  versions: { macridvae: string; tfjs: string; node: string };
  /** Epoch of the weights in `weights.mvt` (1-based), chosen on validation NDCG@100. */
  bestEpoch: number;
  /** Epochs trained so far. */
  epochs: number;
  metrics: { validation?: MetricTable; test?: MetricTable };
  weights: { file: string; bytes: number; sha256: string };
  /** ISO time of the last write. */
  updated: string;
}

/** Flattens a model config into the tensor file's string metadata (so Rust can read it without JSON). */
export function configMeta(model: ModelConfig, items: number): Record<string, string> {
  const meta: Record<string, string> = { format: 'macridvae-weights', items: String(items) };
  for (const [k, v] of Object.entries(model)) meta[`model.${k}`] = Array.isArray(v) ? v.join(',') : String(v);
  return meta;
}

/** Writes a model's weights file atomically; returns the manifest's `weights` entry for it. */
export function saveWeights(
  dir: string,
  model: ModelConfig,
  items: number,
  epoch: number,
  weights: Weights,
): Manifest['weights'] {
  const bytes = encodeTensorFile({ meta: { ...configMeta(model, items), epoch: String(epoch) }, tensors: weights });
  writeFileAtomic(join(dir, WEIGHTS_FILE), bytes);
  return { file: WEIGHTS_FILE, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Writes `manifest.json` atomically (stamping `updated`). */
export function writeManifest(dir: string, manifest: Omit<Manifest, 'updated'>): Manifest {
  const full: Manifest = { ...manifest, updated: new Date().toISOString() };
  writeFileAtomic(join(dir, MANIFEST_FILE), `${JSON.stringify(full, null, 2)}\n`);
  return full;
}

export function readManifest(dir: string): Manifest {
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
  config: ModelConfig;
  items: number;
  weights: Weights;
}

/** Reads a model directory written by `macridvae train` (see `docs/model-format.md`). */
export function loadModel(dir: string): LoadedModel {
  const manifest = readManifest(dir);
  const path = join(dir, manifest.weights.file);
  const buf = readFileSync(path);
  const sha = createHash('sha256').update(buf).digest('hex');
  if (sha !== manifest.weights.sha256) {
    throw new ParseError(
      `${path}: SHA-256 ${sha} does not match the manifest's ${manifest.weights.sha256} (a partial write?)`,
    );
  }
  const file = decodeTensorFile(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path);
  // Resolved: a model written before a config field existed reads as that field's default.
  let config: ModelConfig;
  try {
    config = resolveModelConfig(manifest.model.kind, manifest.model);
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
  writeFileAtomic(join(dir, CHECKPOINT_FILE), encodeTensorFile({ meta, tensors }));
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
