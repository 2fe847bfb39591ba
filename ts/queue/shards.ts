/**
 * Batch recommendation in shards (`recommend --input FILE --output FILE --queue URL --shards N`): the
 * pieces the coordinator and the workers share with the one-process `recommend --output`.
 *
 * - {@link userRecord}: the JSON line of one user (the one-process path writes the same).
 * - {@link usersOf}: the users of an input file, with the CSV header rule of `recommend`.
 * - {@link shardRanges}: N contiguous ranges `[lo, hi)` of user indices (input order).
 * - {@link writeUserRange} (worker): scores users `[lo, hi)` of the input, streamed, into a temporary
 *   file beside the shard file, renamed onto it at the end: a shard file is whole or absent, and a
 *   second attempt (a killed worker's job taken over) rewrites it whole with the same bytes.
 * - {@link mergeShards} (coordinator): concatenates the shard files in order into the final file
 *   (temporary sibling, fsync, rename), checking each holds one line per user of its range.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  fsyncSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { ParseError } from '../errors.js';
import type { Recommendation, ServingRecommender } from '../serve/service.js';
import { readUsers, type StreamUser, usersFormat } from '../serve/stream.js';
import { fileError } from '../util/fs.js';

/** The JSON record of one user (`recommend --json` and `--output` lines); `history`: its known distinct ids. */
export function userRecord(r: Recommendation & { user: string }, history: number) {
  return {
    user: r.user,
    historyItems: history,
    unknownItems: r.unknown.length,
    items: r.items,
    ...(r.concepts ? { concepts: r.concepts } : {}),
    ...(r.fallback ? { fallback: r.fallback } : {}),
  };
}

/** `recommend`'s CSV header rule: a first line whose item field is no item id and starts like a word. */
export function csvHeader(rec: ServingRecommender): (fields: string[]) => boolean {
  return (f) => rec.columnOf(f[1]) === undefined && /^[A-Za-z_]/.test(f[1]);
}

/**
 * The users of `input` (JSON lines or CSV, see `readUsers`), read from a stream this function owns:
 * breaking out of the loop closes the file.
 */
export async function* usersOf(rec: ServingRecommender, input: string): AsyncGenerator<StreamUser> {
  const file = createReadStream(input, 'utf8');
  const lines = createInterface({ input: file, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    yield* readUsers(lines, { format: usersFormat(input), name: input, isHeader: csvHeader(rec) });
  } finally {
    lines.close();
    file.destroy();
  }
}

/** Users in `input` (parse errors name the file and line). */
export async function countUsers(rec: ServingRecommender, input: string): Promise<number> {
  let n = 0;
  for await (const _ of usersOf(rec, input)) n++;
  return n;
}

/** `n` contiguous ranges `[lo, hi)` of `users` indices, as even as possible. */
export function shardRanges(users: number, n: number): Array<[number, number]> {
  return Array.from({ length: n }, (_, p) => [Math.floor((p * users) / n), Math.floor(((p + 1) * users) / n)]);
}

export interface RangeOptions {
  input: string;
  lo: number;
  hi: number;
  /** The shard file written (whole, by rename). */
  out: string;
  k: number;
  includeSeen: boolean;
  explain: boolean;
  batchSize: number;
}

export interface RangeResult {
  users: number;
  bytes: number;
  unknownItems: number;
  popularityFallback: number;
}

/**
 * Scores users `[lo, hi)` of `o.input` (unknown ids skipped, as `recommend --input` does) and writes
 * their lines to `o.out` through a temporary sibling. Throws a ParseError when the input holds fewer
 * users than `hi` (it is not the file the coordinator counted).
 */
export async function writeUserRange(rec: ServingRecommender, o: RangeOptions): Promise<RangeResult> {
  // Known distinct ids per user of the range, in order (results come back in the same order).
  const known: number[] = [];
  let next = 0;
  let index = 0;
  const range = (async function* () {
    for await (const u of usersOf(rec, o.input)) {
      const i = index++;
      if (i < o.lo) continue;
      if (i >= o.hi) break;
      let n = 0;
      for (const id of new Set(u.items)) if (rec.columnOf(id) !== undefined) n++;
      known.push(n);
      yield u;
    }
  })();
  const recs = rec.stream(range, {
    k: o.k,
    includeSeen: o.includeSeen,
    explain: o.explain,
    onUnknown: 'skip',
    batchSize: o.batchSize,
    inFlight: 2,
  });
  const result: RangeResult = { users: 0, bytes: 0, unknownItems: 0, popularityFallback: 0 };
  const tmp = join(dirname(o.out), `.${basename(o.out)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await pipeline(
      recs,
      async function* (src: AsyncIterable<Recommendation & { user: string }>) {
        for await (const r of src) {
          result.users++;
          result.unknownItems += r.unknown.length;
          if (r.fallback) result.popularityFallback++;
          const line = `${JSON.stringify(userRecord(r, known[next]))}\n`;
          // Drop what was consumed now and then, so the queue stays as short as the batches in flight.
          if (++next >= 4096) {
            known.splice(0, next);
            next = 0;
          }
          result.bytes += Buffer.byteLength(line);
          yield line;
        }
      },
      createWriteStream(tmp),
    );
    if (result.users !== o.hi - o.lo) {
      throw new ParseError(
        `${o.input}: has ${index} users, fewer than the ${o.hi} this range needs (not the file the coordinator counted)`,
      );
    }
    renameSync(tmp, o.out);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw fileError(e, 'write', o.out);
  }
  return result;
}

/**
 * Concatenates `shards` (files and the users each must hold) in order into `out` (temporary sibling,
 * fsync, rename). Throws, leaving `out` untouched, when a shard does not hold one line per user.
 */
export function mergeShards(shards: Array<{ path: string; users: number }>, out: string): void {
  const tmp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const buf = Buffer.allocUnsafe(1 << 20);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    for (const s of shards) {
      const src = openSync(s.path, 'r');
      let lines = 0;
      try {
        for (let n = readSync(src, buf); n > 0; n = readSync(src, buf)) {
          for (let i = 0; i < n; i++) if (buf[i] === 10) lines++;
          for (let off = 0; off < n; ) off += writeSync(fd, buf, off, n - off);
        }
      } finally {
        closeSync(src);
      }
      if (lines !== s.users) throw new Error(`shard ${s.path} holds ${lines} lines but its range has ${s.users} users`);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, out);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw fileError(e, 'write', out);
  }
}
