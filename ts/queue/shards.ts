/**
 * Batch recommendation in shards (`recommend --input FILE --output FILE --queue URL --shards N`): the
 * pieces the coordinator and the workers share with the one-process `recommend --output`.
 *
 * - {@link userRecord}: the JSON line of one user (the one-process path writes the same).
 * - {@link scanUsers} (coordinator): one pass over the input's bytes for user boundaries, without
 *   parsing records: the byte offset and line of each user's first line ({@link fileLines} splits lines
 *   as readline does).
 * - {@link usersOf} (worker): the users of an input file from such a position, with `recommend`'s reader
 *   (`readUsers`) and CSV header rule; line numbers stay the whole file's.
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

/** Where a user's lines start in its input file: the byte offset and the (1-based) line number. */
export interface InputPosition {
  offset: number;
  line: number;
}

export const INPUT_START: InputPosition = { offset: 0, line: 1 };

/**
 * The lines of `path` from byte `from.offset` (numbered from `from.line`), split as `readline` splits
 * them (`\n`, `\r\n` or a lone `\r`); `at` is set to each line's position before it is yielded.
 * Closes the file when the loop stops early.
 */
export async function* fileLines(path: string, from: InputPosition, at?: InputPosition): AsyncGenerator<string> {
  for await (const bytes of fileLineBytes(path, from, at)) yield bytes.toString('utf8');
}

/** {@link fileLines} as undecoded bytes. */
async function* fileLineBytes(path: string, from: InputPosition, at?: InputPosition): AsyncGenerator<Buffer> {
  const file = createReadStream(path, { start: from.offset });
  let offset = from.offset;
  let line = from.line;
  let carry: Buffer | undefined;
  let pendingCr = false;
  try {
    for await (const chunk of file as AsyncIterable<Buffer>) {
      let start = 0;
      if (pendingCr) {
        pendingCr = false;
        if (chunk[0] === 10) {
          start = 1;
          offset++;
        }
      }
      for (let i = start; i < chunk.length; i++) {
        const b = chunk[i];
        if (b !== 10 && b !== 13) continue;
        const bytes = carry ? Buffer.concat([carry, chunk.subarray(start, i)]) : chunk.subarray(start, i);
        carry = undefined;
        if (at) {
          at.offset = offset;
          at.line = line;
        }
        yield bytes;
        let next = i + 1;
        if (b === 13) {
          if (next === chunk.length) pendingCr = true;
          else if (chunk[next] === 10) next++;
        }
        offset += bytes.length + next - i;
        line++;
        start = next;
        i = next - 1;
      }
      if (start < chunk.length) carry = carry ? Buffer.concat([carry, chunk.subarray(start)]) : chunk.subarray(start);
    }
    if (carry && carry.length > 0) {
      if (at) {
        at.offset = offset;
        at.line = line;
      }
      yield carry;
    }
  } finally {
    file.destroy();
  }
}

/**
 * The users of `input` (JSON lines or CSV, see `readUsers`) from position `from` (a user's first line;
 * line numbers in errors and the names of unnamed JSON-lines users stay those of the whole file).
 */
export async function* usersOf(
  rec: ServingRecommender,
  input: string,
  from: InputPosition = INPUT_START,
): AsyncGenerator<StreamUser> {
  // readline (what the one-process reader uses; 2-3× faster than fileLines) from the user's first line;
  // readUsers numbers the lines it is given, so blank ones (skipped) stand for the lines before `from`.
  const file = createReadStream(input, { encoding: 'utf8', start: from.offset });
  const rl = createInterface({ input: file, crlfDelay: Number.POSITIVE_INFINITY });
  const it = rl[Symbol.asyncIterator]();
  let pad = from.line - 1;
  const close = () => {
    rl.close();
    file.destroy();
  };
  const lines: AsyncIterable<string> = {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        if (pad === 0) return it.next();
        pad--;
        return Promise.resolve({ value: '', done: false });
      },
      return: async () => {
        close();
        return { value: undefined, done: true };
      },
    }),
  };
  try {
    yield* readUsers(lines, { format: usersFormat(input), name: input, isHeader: csvHeader(rec) });
  } finally {
    close();
  }
}

const isSpace = (b: number) => b === 32 || b === 9 || b === 11 || b === 12;
const isSeparator = (b: number) => b === 44 || b === 9 || b === 59;
/** `readUsers`' blank-line rule (`line.trim() === ''`) on bytes; non-ASCII lines decoded. */
const blank = (line: Buffer) => {
  let ascii = true;
  for (const b of line) {
    if (b >= 128) ascii = false;
    else if (!isSpace(b)) return false;
  }
  return ascii || line.toString('utf8').trim() === '';
};
/** `readUsers`' CSV field rule: trimmed, one pair of surrounding quotes removed. */
const field = (s: string) => s.trim().replace(/^"(.*)"$/, '$1');

/**
 * Reads `input` once without parsing its records: its users, and where user `i` starts (`offsets[i]`,
 * `lines[i]`), so a range is read from its first user without the lines before it. The boundaries are
 * `readUsers`' — JSON lines: one user per non-blank line; CSV: a user per run of lines with the same first
 * field, a header line skipped, a user seen again after others an error naming the line — but records are
 * parsed (and their errors, naming file and line, raised) by the workers reading them.
 */
export async function scanUsers(
  rec: ServingRecommender,
  input: string,
): Promise<{ users: number; offsets: number[]; lines: number[] }> {
  const csv = usersFormat(input) === 'csv';
  const isHeader = csvHeader(rec);
  const at = { ...INPUT_START };
  const offsets: number[] = [];
  const lines: number[] = [];
  const seen = new Set<string>();
  let raw: Buffer | undefined;
  let name = '';
  for await (const line of fileLineBytes(input, INPUT_START, at)) {
    if (blank(line)) continue;
    if (csv) {
      let end = 0;
      while (end < line.length && !isSeparator(line[end])) end++;
      const first = line.subarray(0, end);
      if (raw?.equals(first)) continue;
      if (
        at.line === 1 &&
        isHeader(
          line
            .toString('utf8')
            .split(/[,\t;]/)
            .map(field),
        )
      )
        continue;
      const user = field(first.toString('utf8'));
      if (end === line.length || user === '') {
        throw new ParseError(`${input}:${at.line}: expected 'user,item' but got '${line.toString('utf8')}'`);
      }
      raw = first;
      if (offsets.length > 0 && user === name) continue;
      if (seen.has(user)) {
        throw new ParseError(
          `${input}:${at.line}: user '${user}' appears again after other users; a user's lines must be contiguous (sort the file by user)`,
        );
      }
      seen.add(user);
      name = user;
    }
    offsets.push(at.offset);
    lines.push(at.line);
  }
  if (csv && offsets.length > 0) {
    // The first user starts at the top (a header line stays with it).
    offsets[0] = 0;
    lines[0] = 1;
  }
  return { users: offsets.length, offsets, lines };
}

/** `n` contiguous ranges `[lo, hi)` of `users` indices, as even as possible. */
export function shardRanges(users: number, n: number): Array<[number, number]> {
  return Array.from({ length: n }, (_, p) => [Math.floor((p * users) / n), Math.floor(((p + 1) * users) / n)]);
}

export interface RangeOptions {
  input: string;
  lo: number;
  hi: number;
  /** Where user `lo` starts in `input` (default: the top, read through). */
  from?: InputPosition;
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
  const from = o.from ?? INPUT_START;
  let index = o.from ? o.lo : 0;
  const range = (async function* () {
    for await (const u of usersOf(rec, o.input, from)) {
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
        `${o.input}: holds fewer users than the ${o.hi} this range needs (not the file the coordinator counted)`,
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
