/**
 * Typed wrappers of the data pipeline's exports (`crates/macrid-wasm/src/data.rs`): the streaming
 * ratings parser, the MultVAE split, the synthetic generator and item metadata. The stateful objects
 * own WASM memory: call `free()` (or use the instance only for this job and drop it).
 */
import { InvalidArgumentError } from '../errors.js';
import type { Arena, RawExports, WasmInstance } from './raw.js';

const HOST_LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Reads little-endian `u32`s (WASM memory order) from a fresh byte array, swapping on big-endian hosts. */
export function u32FromLE(bytes: Uint8Array): Uint32Array {
  if (bytes.byteLength % 4 !== 0) throw new InvalidArgumentError(`a u32 buffer has ${bytes.byteLength} bytes`);
  const out =
    bytes.byteOffset % 4 === 0
      ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
      : new Uint32Array(bytes.slice().buffer);
  if (!HOST_LE) {
    const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = dv.getUint32(i * 4, true);
  }
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Splits one-per-line text (every line ends with `\n`). */
export function lines(bytes: Uint8Array): string[] {
  if (bytes.length === 0) return [];
  const text = decoder.decode(bytes);
  const out = text.split('\n');
  out.pop();
  return out;
}

function optionText(opts: Record<string, string | number | boolean | undefined>): Uint8Array {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(opts)) {
    if (v === undefined) continue;
    const s = typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
    if (s.includes('\n')) throw new InvalidArgumentError(`option '${k}' must not contain a line break`);
    parts.push(`${k}=${s}`);
  }
  return encoder.encode(parts.join('\n'));
}

/** Reads the `u32` the export wrote at `ptr`. */
function outU32(a: Arena, ptr: number): number {
  return a.read(Uint32Array, ptr, 1)[0];
}

/** Calls a `*_new(opts, len, outHandle)` export with option text and returns the new handle. */
function newHandle(
  inst: WasmInstance,
  fn: string,
  text: Uint8Array,
  create: (x: RawExports, opts: number, len: number, out: number) => number,
): number {
  return inst.call(fn, (a, x) => {
    const out = a.output(Uint32Array, 1);
    inst.check(fn, create(x, a.input(text), text.length, out));
    return outU32(a, out);
  });
}

/** Options of the ratings reader; see `crates/macrid-core/src/parse.rs` for the formats. */
export interface ReaderOptions {
  /** `auto` (default) detects MovieLens, Netflix or generic CSV from the first line. */
  format?: 'auto' | 'movielens' | 'netflix' | 'csv';
  /** Field separator for CSV: one character, `tab` or `::`; detected when omitted. */
  separator?: string;
  /** Whether the first line of each file is a header; `auto` (default): a line without any number. */
  header?: 'auto' | 'yes' | 'no';
  /** Columns by 0-based index or by header name (generic CSV). */
  columns?: { user?: number | string; item?: number | string; rating?: number | string; timestamp?: number | string };
  /** Treat every row as an interaction (no rating column). */
  implicit?: boolean;
  /** Keep rows with rating strictly greater than this (default 3.5, the MultVAE protocol). */
  minRating?: number;
  /** Count malformed lines instead of failing on the first. */
  skipInvalid?: boolean;
}

/** Counts and detected layout of a parse. */
export interface ReaderStats {
  format: 'movielens' | 'netflix' | 'csv' | 'undecided';
  files: number;
  lines: number;
  blank: number;
  headers: number;
  /** Valid data rows. */
  rows: number;
  /** Rows above the rating threshold (or every row of implicit data). */
  kept: number;
  invalid: number;
  /** Distinct users / items among kept rows. */
  users: number;
  items: number;
  separator?: string;
  columns?: { user: number; item: number; rating: number | null; timestamp: number | null };
  implicit: boolean;
  /** The first skipped lines (`file` is the index of the file in the order fed). */
  examples: Array<{ file: number; line: number; message: string }>;
}

function columnSpec(v: number | string | undefined): string | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'number' ? `i:${v}` : `n:${v}`;
}

/** A streaming ratings parser living in one WASM instance. Feed chunks, end each file, then prepare. */
export class RatingsReader {
  private handle: number;
  private stage = 0;
  private stageBytes = 0;
  private freed = false;

  constructor(
    private readonly inst: WasmInstance,
    options: ReaderOptions = {},
  ) {
    const text = optionText({
      format: options.format,
      sep: options.separator === '\t' ? 'tab' : options.separator,
      header: options.header,
      user: columnSpec(options.columns?.user),
      item: columnSpec(options.columns?.item),
      rating: columnSpec(options.columns?.rating),
      timestamp: columnSpec(options.columns?.timestamp),
      implicit: options.implicit,
      min_rating: options.minRating,
      skip_invalid: options.skipInvalid,
    });
    this.handle = newHandle(inst, 'readRatings', text, (x, p, n, out) => x.mv_ratings_new(p, n, out));
  }

  private live(fn: string): RawExports {
    if (this.freed) throw new InvalidArgumentError(`${fn}: the ratings reader was freed`);
    return this.inst.exports;
  }

  /** Parses the complete lines of `bytes` (copied into WASM memory; any size). */
  feed(bytes: Uint8Array): void {
    const x = this.live('feed');
    if (bytes.length > this.stageBytes) {
      if (this.stage) x.mv_free(this.stage, this.stageBytes);
      this.stage = 0;
      const ptr = x.mv_alloc(bytes.length) >>> 0;
      if (ptr === 0) throw new InvalidArgumentError(`cannot allocate ${bytes.length} bytes of WASM memory`);
      this.stage = ptr;
      this.stageBytes = bytes.length;
    }
    this.inst.call('readRatings', (_a, ex) => {
      new Uint8Array(ex.memory.buffer, this.stage, bytes.length).set(bytes);
      this.inst.check('readRatings', ex.mv_ratings_feed(this.handle, this.stage, bytes.length));
    });
  }

  /** Ends the current file (an unterminated last line is parsed; line numbers restart). */
  endFile(): void {
    this.live('endFile');
    this.inst.call('readRatings', (_a, x) => this.inst.check('readRatings', x.mv_ratings_end_file(this.handle)));
  }

  stats(): ReaderStats {
    this.live('stats');
    return JSON.parse(decoder.decode(this.takeOut((x, out) => x.mv_ratings_stats(this.handle, out)))) as ReaderStats;
  }

  /** Kept rows as indices into {@link RatingsReader.ids}, in file order. */
  rows(): { users: Uint32Array; items: Uint32Array } {
    this.live('rows');
    return this.inst.call('readRatings', (a, x) => {
      const out = a.output(Uint32Array, 2);
      this.inst.check('readRatings', x.mv_ratings_rows(this.handle, out, out + 4));
      const [hu, hi] = a.read(Uint32Array, out, 2);
      return { users: u32FromLE(this.inst.takeBuffer(hu)), items: u32FromLE(this.inst.takeBuffer(hi)) };
    });
  }

  /** Raw ids of the parser's users or items, by index. */
  ids(which: 'users' | 'items'): string[] {
    this.live('ids');
    return lines(this.takeOut((x, out) => x.mv_ratings_ids(this.handle, which === 'users' ? 0 : 1, out)));
  }

  private takeOut(f: (x: RawExports, out: number) => number): Uint8Array {
    return this.inst.call('readRatings', (a, x) => {
      const out = a.output(Uint32Array, 1);
      this.inst.check('readRatings', f(x, out));
      return this.inst.takeBuffer(outU32(a, out));
    });
  }

  /** The handle, for {@link prepareSplit}. */
  get rawHandle(): number {
    this.live('prepare');
    return this.handle;
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    const x = this.inst.exports;
    if (this.stage) x.mv_free(this.stage, this.stageBytes);
    x.mv_ratings_free(this.handle);
  }
}

/** Options of the MultVAE split (`crates/macrid-core/src/split.rs`). */
export interface SplitOptions {
  /** Users with fewer positives are dropped (default 5). */
  minUserItems?: number;
  /** Items with fewer positives are dropped first (default 0: none). */
  minItemUsers?: number;
  /** Held-out users for validation and again for test; `auto` (default): ⌊users / 12⌋. */
  heldoutUsers?: number | 'auto';
  /** `reference` (numpy-identical, default) or `seeded` (xoshiro). */
  split?: 'reference' | 'seeded';
  /** Default 98765 (the reference's); the reference split takes [0, 2^32). */
  seed?: number;
  /** Share of a held-out user's items that becomes the target (default 0.2). */
  testProp?: number;
}

/** Counts of a split (`Prepared::stats_json`). */
export interface SplitStats {
  inputRows: number;
  duplicates: number;
  droppedByItemFilter: number;
  droppedByUserFilter: number;
  positives: number;
  users: number;
  items: number;
  interactions: number;
  trainUsers: number;
  validationUsers: number;
  testUsers: number;
  validationScored: number;
  testScored: number;
  heldoutDropped: number;
  heldout: number;
}

/** One matrix of a split: sorted CSR, the file order of its entries and the dataset user of each row. */
export interface SplitMatrix {
  indptr: Uint32Array;
  indices: Uint32Array;
  /** `order[t]` = position in `indices` of the t-th entry in file order. */
  order: Uint32Array;
  /** Dataset user index of each row. */
  rows: Uint32Array;
}

export interface SplitParts {
  stats: SplitStats;
  userIds: string[];
  itemIds: string[];
  train: SplitMatrix;
  validationFoldIn: SplitMatrix;
  validationTarget: SplitMatrix;
  testFoldIn: SplitMatrix;
  testTarget: SplitMatrix;
}

/** Runs the split on the reader's rows (the reader is left empty) and copies the result out. */
export function prepareSplit(inst: WasmInstance, reader: RatingsReader, options: SplitOptions = {}): SplitParts {
  const text = optionText({
    min_user_items: options.minUserItems,
    min_item_users: options.minItemUsers,
    heldout: options.heldoutUsers,
    mode: options.split,
    seed: options.seed,
    test_prop: options.testProp,
  });
  const fn = 'prepareSplit';
  const handle = newHandle(inst, fn, text, (x, p, n, out) => x.mv_prepare(reader.rawHandle, p, n, out));
  try {
    const part = (k: number): Uint8Array =>
      inst.call(fn, (a, x) => {
        const out = a.output(Uint32Array, 1);
        inst.check(fn, x.mv_prepared_part(handle, k, out));
        return inst.takeBuffer(outU32(a, out));
      });
    const matrix = (m: number): SplitMatrix => ({
      indptr: u32FromLE(part(3 + 4 * m)),
      indices: u32FromLE(part(4 + 4 * m)),
      order: u32FromLE(part(5 + 4 * m)),
      rows: u32FromLE(part(6 + 4 * m)),
    });
    return {
      stats: JSON.parse(decoder.decode(part(0))) as SplitStats,
      userIds: lines(part(1)),
      itemIds: lines(part(2)),
      train: matrix(0),
      validationFoldIn: matrix(1),
      validationTarget: matrix(2),
      testFoldIn: matrix(3),
      testTarget: matrix(4),
    };
  } finally {
    inst.exports.mv_prepared_free(handle);
  }
}

/** Options of the synthetic generator: a preset plus optional size overrides. */
export interface SynthOptions {
  preset: string;
  seed?: number;
  users?: number;
  items?: number;
  ratings?: number;
  concepts?: number;
  minUserRatings?: number;
}

/** A synthetic generator living in one WASM instance. */
export class SynthGenerator {
  private handle: number;
  private freed = false;

  constructor(
    private readonly inst: WasmInstance,
    options: SynthOptions,
  ) {
    const text = optionText({
      preset: options.preset,
      seed: options.seed,
      users: options.users,
      items: options.items,
      ratings: options.ratings,
      concepts: options.concepts,
      min_user_ratings: options.minUserRatings,
    });
    this.handle = newHandle(inst, 'synthesize', text, (x, p, n, out) => x.mv_synth_new(p, n, out));
  }

  /** The next `maxUsers` users' `ratings.csv` lines and intention lines (both empty when done). */
  next(maxUsers: number): { ratings: Uint8Array; intentions: Uint8Array } {
    if (this.freed) throw new InvalidArgumentError('synthesize: the generator was freed');
    return this.inst.call('synthesize', (a, x) => {
      const out = a.output(Uint32Array, 2);
      this.inst.check('synthesize', x.mv_synth_next(this.handle, maxUsers, out, out + 4));
      const [hr, hi] = a.read(Uint32Array, out, 2);
      return { ratings: this.inst.takeBuffer(hr), intentions: this.inst.takeBuffer(hi) };
    });
  }

  /** `item_concepts.csv`, `movies.csv` or the summary JSON. */
  part(which: 'itemConcepts' | 'movies' | 'summary'): Uint8Array {
    if (this.freed) throw new InvalidArgumentError('synthesize: the generator was freed');
    const k = which === 'itemConcepts' ? 0 : which === 'movies' ? 1 : 2;
    return this.inst.call('synthesize', (a, x) => {
      const out = a.output(Uint32Array, 1);
      this.inst.check('synthesize', x.mv_synth_part(this.handle, k, out));
      return this.inst.takeBuffer(outU32(a, out));
    });
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.inst.exports.mv_synth_free(this.handle);
  }
}

/** Item metadata formats (`crates/macrid-core/src/meta.rs`). */
export type ItemMetaFormat = 'auto' | 'movies-csv' | 'movies-dat' | 'u-item' | 'netflix-titles' | 'categories';

/** Parses item metadata bytes into `id \t title \t genre|genre` lines (UTF-8). */
export function parseItemMeta(
  inst: WasmInstance,
  args: { data: Uint8Array; format?: ItemMetaFormat; uGenre?: Uint8Array },
): Uint8Array {
  const fmt = encoder.encode(args.format ?? 'auto');
  const genres = args.uGenre ?? new Uint8Array(0);
  return inst.call('parseItemMeta', (a, x) => {
    const out = a.output(Uint32Array, 1);
    inst.check(
      'parseItemMeta',
      x.mv_item_meta(
        a.input(args.data),
        args.data.length,
        a.input(fmt),
        fmt.length,
        a.input(genres),
        genres.length,
        out,
      ),
    );
    return inst.takeBuffer(outU32(a, out));
  });
}
