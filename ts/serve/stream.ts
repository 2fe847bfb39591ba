/**
 * Streaming recommendations: {@link recommendStream} (also `ServingRecommender.stream`) takes an
 * (async) iterable of users `{ user, items }` and yields their recommendations in input order, scoring
 * `batchSize` users per call and keeping at most `inFlight` batches scored at once (backpressure: the
 * source is not read further while that many are pending and the consumer has not taken their
 * results). Memory is bounded by `batchSize × inFlight` users whatever the input's length.
 *
 * Inside `stream.pipeline`:
 *
 * ```ts
 * import { pipeline } from 'node:stream/promises';
 * await pipeline(
 *   readUsers('users.jsonl'),                        // AsyncIterable<{ user, items }>
 *   (users) => rec.stream(users, { k: 20 }),         // AsyncIterable<Recommendation>
 *   async function* (recs) { for await (const r of recs) yield `${JSON.stringify(r)}\n`; },
 *   createWriteStream('recs.jsonl'),
 * );
 * ```
 *
 * {@link readUsers} reads JSON lines (`{"user": "u1", "items": ["1", "50"]}` per line) or CSV/TSV
 * (`user,item` per line; a header line is skipped; a user's lines must be contiguous — a user seen
 * again after another one is an error naming the line, since merging would need the whole file).
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { InvalidArgumentError, ParseError } from '../errors.js';
import { checkInt } from '../validate.js';
import type { Recommendation, RecommendOptions, ServingRecommender } from './service.js';

/** A user of a stream. */
export interface StreamUser {
  user: string;
  items: string[];
}

export interface StreamOptions extends RecommendOptions {
  /** Users per scoring call. Default 256. */
  batchSize?: number;
  /** Batches scored at once at most. Default 2 (one being scored while the next is read). */
  inFlight?: number;
}

/** Recommendations for a stream of users, in input order (see the module doc). */
export async function* recommendStream(
  rec: ServingRecommender,
  source: AsyncIterable<StreamUser> | Iterable<StreamUser>,
  options: StreamOptions = {},
): AsyncGenerator<Recommendation & { user: string }> {
  const fn = 'stream';
  const { batchSize: bs, inFlight: fl, ...opts } = options;
  const batchSize = checkInt(fn, 'batchSize', bs ?? 256, 1);
  const inFlight = checkInt(fn, 'inFlight', fl ?? 2, 1);
  const pending: Array<Promise<Recommendation[]>> = [];
  let batch: StreamUser[] = [];
  const start = () => {
    const p = rec.recommend(batch, opts);
    // Awaited in order below; this keeps a failure of a later batch from being unhandled meanwhile.
    p.catch(() => {});
    pending.push(p);
    batch = [];
  };
  let n = 0;
  for await (const u of source) {
    if (u === null || typeof u !== 'object' || typeof u.user !== 'string' || !Array.isArray(u.items)) {
      throw new InvalidArgumentError(`user ${n} of the stream must be { user: string, items: string[] }`);
    }
    n++;
    batch.push(u);
    if (batch.length >= batchSize) {
      start();
      while (pending.length >= inFlight) {
        for (const r of await (pending.shift() as Promise<Recommendation[]>))
          yield r as Recommendation & { user: string };
      }
    }
  }
  if (batch.length > 0) start();
  while (pending.length > 0) {
    for (const r of await (pending.shift() as Promise<Recommendation[]>)) yield r as Recommendation & { user: string };
  }
}

/** The input format of {@link readUsers}: by extension (`.jsonl`/`.ndjson` → JSON lines, else CSV). */
export type UsersFormat = 'jsonl' | 'csv';

export function usersFormat(path: string): UsersFormat {
  return /\.(jsonl|ndjson)$/i.test(path) ? 'jsonl' : 'csv';
}

/** Reads users from lines (a file path or any async iterable of lines); see the module doc. */
export async function* readUsers(
  input: string | AsyncIterable<string>,
  options: {
    format?: UsersFormat;
    name?: string;
    /** CSV: whether the first line is a header (default: its fields start 'user' and 'item'/'movie'). */
    isHeader?: (fields: string[]) => boolean;
  } = {},
): AsyncGenerator<StreamUser> {
  const name = options.name ?? (typeof input === 'string' ? input : 'input');
  const format = options.format ?? (typeof input === 'string' ? usersFormat(input) : 'jsonl');
  const lines =
    typeof input === 'string'
      ? createInterface({ input: createReadStream(input, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY })
      : input;
  let n = 0;
  if (format === 'jsonl') {
    for await (const line of lines) {
      n++;
      if (line.trim() === '') continue;
      let j: unknown;
      try {
        j = JSON.parse(line);
      } catch (e) {
        throw new ParseError(`${name}:${n}: invalid JSON (${e instanceof Error ? e.message : String(e)})`);
      }
      const o = j as { user?: unknown; items?: unknown };
      if (o === null || typeof o !== 'object' || !Array.isArray(o.items)) {
        throw new ParseError(`${name}:${n}: expected {"user": …, "items": [ids]}`);
      }
      if (!o.items.every((x) => typeof x === 'string' || typeof x === 'number')) {
        throw new ParseError(`${name}:${n}: 'items' must hold item ids (strings)`);
      }
      yield { user: o.user === undefined ? String(n) : String(o.user), items: o.items.map(String) };
    }
    return;
  }
  let current: StreamUser | undefined;
  const seen = new Set<string>();
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    const f = line.split(/[,\t;]/).map((s) => s.trim().replace(/^"(.*)"$/, '$1'));
    if (f.length < 2 || f[0] === '' || f[1] === '') {
      throw new ParseError(`${name}:${n}: expected 'user,item' but got '${line}'`);
    }
    const header = options.isHeader ?? ((h: string[]) => /^user/i.test(h[0]) && /^(item|movie)/i.test(h[1]));
    if (n === 1 && header(f)) continue;
    if (current && current.user === f[0]) {
      current.items.push(f[1]);
      continue;
    }
    if (current) yield current;
    if (seen.has(f[0])) {
      throw new ParseError(
        `${name}:${n}: user '${f[0]}' appears again after other users; a user's lines must be contiguous (sort the file by user)`,
      );
    }
    seen.add(f[0]);
    current = { user: f[0], items: [f[1]] };
  }
  if (current) yield current;
}
