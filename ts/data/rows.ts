/**
 * Ratings from memory: an array or an (async) iterable of `{ user, item, rating?, timestamp? }` rows
 * (e.g. a database cursor), for `prepareDataset({ rows, out, … })`. The rows are written as
 * tab-separated lines (`user \t item [\t rating] [\t timestamp]`) and fed, in chunks, to the same Rust
 * reader as the files, so the same options (`minRating`, `minUserItems`, the split, …) apply with the
 * same results; the source checksum is the SHA-256 of those lines, so preparing the same rows again
 * reuses the dataset. Errors name the row index and the field: `rows[12].rating must be a finite number
 * but got 'x'`. The first row decides whether the data has ratings (none: implicit, every row kept) and
 * timestamps; every other row must agree.
 */
import { createHash } from 'node:crypto';
import { MacridError, ParseError } from '../errors.js';
import { RatingsReader, type ReaderStats } from '../wasm/data.js';
import type { WasmInstance } from '../wasm/raw.js';
import type { ReadResult } from './read.js';

export interface RatingRow {
  /** The user's id: a non-empty string (no tab or line break) or a finite number. */
  user: string | number;
  /** The item's id, as `user`. */
  item: string | number;
  /** The rating; omitted on every row for implicit data (every row is an interaction). */
  rating?: number;
  /** Seconds since the epoch, or a Date; optional (on every row or on none). */
  timestamp?: number | Date;
}

export type RatingRows = Iterable<RatingRow> | AsyncIterable<RatingRow>;

/** Rows per chunk fed to the parser. */
const CHUNK_ROWS = 1 << 16;
const MAX_EXAMPLES = 5;

function shown(v: unknown): string {
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 40)}…` : v}'`;
  if (v instanceof Date) return `Date(${v.toString()})`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** `readRatings: line 13: bad rating: 'x'` → `rows[12]: bad rating: 'x'`. */
function atRow(message: string): string {
  const m = /line (\d+): (.*)$/s.exec(message);
  return m ? `rows[${Number(m[1]) - 1}]: ${m[2]}` : message;
}

function id(i: number, field: 'user' | 'item', v: unknown): string {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'string' && v !== '' && !/[\t\r\n]/.test(v)) return v;
  throw new ParseError(
    `rows[${i}].${field} must be a non-empty string without tabs or line breaks, or a finite number, but got ${shown(v)}`,
  );
}

/** Whether `rows` is async-iterable (a cursor, a stream) rather than a plain iterable. */
function isAsync(rows: RatingRows): rows is AsyncIterable<RatingRow> {
  return typeof (rows as AsyncIterable<RatingRow>)[Symbol.asyncIterator] === 'function';
}

/**
 * Parses `rows` into a {@link RatingsReader} of `inst` (the caller frees it). `skipInvalid` counts and
 * skips bad rows (with the first few as examples) instead of failing on the first.
 */
export async function readRatingsRows(
  inst: WasmInstance,
  rows: RatingRows,
  options: { minRating?: number; skipInvalid?: boolean } = {},
  extra: { onProgress?: (done: number, total: number) => void; chunkRows?: number } = {},
): Promise<ReadResult & { examples: Array<{ row: number; message: string }> }> {
  if (rows === null || typeof rows !== 'object' || (!isAsync(rows) && typeof rows[Symbol.iterator] !== 'function')) {
    throw new ParseError(`'rows' passed to prepareDataset() must be an array or an (async) iterable of rows`);
  }
  const total = Array.isArray(rows) ? rows.length : 0;
  const chunkRows = extra.chunkRows ?? CHUNK_ROWS;
  const hash = createHash('sha256');
  const encoder = new TextEncoder();
  let reader: RatingsReader | undefined;
  let layout: { rating: boolean; timestamp: boolean } | undefined;
  // Line n of the text is rows[n - 1]: a row skipped here (skipInvalid) becomes a blank line.
  let lines: string[] = [];
  let bytes = 0;
  let i = -1;
  let invalid = 0;
  const examples: Array<{ row: number; message: string }> = [];
  const flush = () => {
    if (lines.length === 0 || !reader) return;
    const chunk = encoder.encode(`${lines.join('\n')}\n`);
    hash.update(chunk);
    bytes += chunk.length;
    lines = [];
    try {
      reader.feed(chunk);
    } catch (e) {
      throw e instanceof ParseError ? new ParseError(atRow(e.message), { cause: e }) : e;
    }
  };
  const take = (row: RatingRow) => {
    i++;
    try {
      if (row === null || typeof row !== 'object') {
        throw new ParseError(`rows[${i}] must be an object { user, item, rating?, timestamp? } but got ${shown(row)}`);
      }
      const user = id(i, 'user', row.user);
      const item = id(i, 'item', row.item);
      if (!layout) {
        layout = { rating: row.rating !== undefined, timestamp: row.timestamp !== undefined };
        const columns = { user: 0, item: 1, ...(layout.rating ? { rating: 2 } : {}) };
        reader = new RatingsReader(inst, {
          format: 'csv',
          separator: '\t',
          header: 'no',
          columns: layout.timestamp ? { ...columns, timestamp: layout.rating ? 3 : 2 } : columns,
          implicit: !layout.rating,
          minRating: options.minRating,
          skipInvalid: options.skipInvalid,
        });
      }
      const fields = [user, item];
      for (const f of ['rating', 'timestamp'] as const) {
        const v = row[f];
        if (!layout[f]) {
          if (v !== undefined)
            throw new ParseError(`rows[${i}].${f} is given but rows[0] has none (on every row or on none)`);
          continue;
        }
        if (v === undefined)
          throw new ParseError(`rows[${i}].${f} is missing but rows[0] has one (on every row or on none)`);
        const n = v instanceof Date ? Math.floor(v.getTime() / 1000) : v;
        if (typeof n !== 'number' || !Number.isFinite(n)) {
          throw new ParseError(
            `rows[${i}].${f} must be a finite number${f === 'timestamp' ? ' or a Date' : ''} but got ${shown(v)}`,
          );
        }
        fields.push(String(n));
      }
      lines.push(fields.join('\t'));
    } catch (e) {
      if (!(e instanceof ParseError) || !options.skipInvalid) throw e;
      lines.push('');
      invalid++;
      if (examples.length < MAX_EXAMPLES) examples.push({ row: i, message: e.message });
    }
    if (lines.length >= chunkRows) {
      flush();
      extra.onProgress?.(i + 1, total);
    }
  };
  try {
    if (isAsync(rows)) for await (const row of rows) take(row);
    else for (const row of rows) take(row);
    flush();
    extra.onProgress?.(i + 1, total);
    if (!reader) throw new MacridError('rows: no data rows');
    reader.endFile();
    const parsed = reader.stats();
    const stats: ReaderStats = { ...parsed, blank: parsed.blank - invalid, invalid: parsed.invalid + invalid };
    for (const e of parsed.examples) {
      if (examples.length < MAX_EXAMPLES) examples.push({ row: e.line - 1, message: atRow(e.message) });
    }
    examples.sort((a, b) => a.row - b.row);
    if (stats.rows === 0) throw new MacridError('rows: no valid data rows');
    return { reader, stats, sha256: hash.digest('hex'), bytes, examples };
  } catch (e) {
    reader?.free();
    throw e;
  }
}
