/**
 * Reading ratings files: finding the files of a dataset, and streaming them through the WASM parser in
 * large chunks (16 MiB by default, read ahead while the previous chunk is parsed) while hashing them.
 * No file is ever held whole in memory or turned into a JS string, so multi-GB files (Netflix Prize)
 * work.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { InvalidArgumentError, MacridError, ParseError } from '../errors.js';
import { withFileErrors } from '../util/fs.js';
import { RatingsReader, type ReaderOptions, type ReaderStats } from '../wasm/data.js';
import type { WasmInstance } from '../wasm/raw.js';

/** Default chunk size of the streaming reader. */
export const CHUNK_BYTES = 16 << 20;

/** The files of one input, in reading order. */
export interface InputFiles {
  /** The input as given, absolute. */
  path: string;
  /** Absolute paths of the files to read, in order. */
  files: string[];
  /** `reference` for a pro_sg directory, else the format to ask the parser for. */
  kind: 'ratings' | 'reference';
  /** Item metadata found next to the ratings (see {@link findItemMetadata}), if any. */
  metadata?: { path: string; format: string; uGenre?: string };
}

const REFERENCE_FILES = [
  'unique_sid.txt',
  'train.csv',
  'validation_tr.csv',
  'validation_te.csv',
  'test_tr.csv',
  'test_te.csv',
];

function sortedMatching(dir: string, re: RegExp): string[] {
  return readdirSync(dir)
    .filter((f) => re.test(f))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((f) => join(dir, f));
}

/**
 * The files of an input path: a file is read as is; a directory may be a pro_sg export
 * (`unique_sid.txt` + `train.csv` …), a Netflix Prize folder (`combined_data_*.txt`, or
 * `training_set/mv_*.txt`, or `mv_*.txt`), or a MovieLens/synthetic folder (`ratings.csv`,
 * `ratings.dat` or `u.data`).
 */
export function resolveInput(input: string): InputFiles {
  const found = withFileErrors('read', input, () => findInput(input));
  for (const f of found.files) checkTextFile(f, f === found.path ? input : f);
  return found;
}

/** Compressed or binary formats recognized by their first bytes (what to do instead is in the message). */
const SIGNATURES: Array<[number[], string, string]> = [
  [[0x1f, 0x8b], 'gzip', 'decompress it first (gunzip FILE)'],
  [[0x50, 0x4b, 0x03, 0x04], 'zip archive', "extract it first (unzip FILE), or use 'macridvae data download'"],
  [[0x42, 0x5a, 0x68], 'bzip2', 'decompress it first (bunzip2 FILE)'],
  [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'xz', 'decompress it first (unxz FILE)'],
  [[0x28, 0xb5, 0x2f, 0xfd], 'zstd', 'decompress it first (unzstd FILE)'],
  [[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], '7-zip archive', 'extract it first'],
  [[0xff, 0xfe], 'UTF-16 text', 'convert it to UTF-8 first (iconv -f UTF-16 -t UTF-8 FILE)'],
  [[0xfe, 0xff], 'UTF-16 text', 'convert it to UTF-8 first (iconv -f UTF-16 -t UTF-8 FILE)'],
];

/**
 * Refuses a ratings file that is compressed or binary (the text parser would report a confusing
 * line error, or count every line invalid): looks at its first 4 KiB. `shown` names it as the user did.
 */
export function checkTextFile(path: string, shown = path): void {
  const head = Buffer.alloc(4096);
  const n = withFileErrors('read', shown, () => {
    const fd = openSync(path, 'r');
    try {
      return readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  });
  const b = head.subarray(0, n);
  for (const [sig, what, todo] of SIGNATURES) {
    if (b.length >= sig.length && sig.every((x, i) => b[i] === x)) {
      throw new ParseError(
        `${shown}: this looks like ${what} data, not a text ratings file: ${todo.replace('FILE', shown)}`,
      );
    }
  }
  if (b.includes(0)) {
    throw new ParseError(`${shown}: this looks like a binary file (it holds NUL bytes), not a text ratings file`);
  }
}

function findInput(input: string): InputFiles {
  const path = resolve(input);
  if (!existsSync(path)) throw new InvalidArgumentError(`input '${input}' does not exist`);
  const st = statSync(path);
  if (st.isFile()) return { path, files: [path], kind: 'ratings', metadata: findItemMetadata(path) };
  if (!st.isDirectory()) throw new InvalidArgumentError(`input '${input}' is neither a file nor a directory`);
  if (REFERENCE_FILES.every((f) => existsSync(join(path, f)))) {
    return { path, files: REFERENCE_FILES.map((f) => join(path, f)), kind: 'reference' };
  }
  const combined = sortedMatching(path, /^combined_data_\d+\.txt$/);
  if (combined.length > 0) return { path, files: combined, kind: 'ratings', metadata: findItemMetadata(combined[0]) };
  const ts = existsSync(join(path, 'training_set')) ? join(path, 'training_set') : path;
  const mv = sortedMatching(ts, /^mv_\d+\.txt$/);
  if (mv.length > 0) {
    return { path, files: mv, kind: 'ratings', metadata: findItemMetadata(join(path, 'movie_titles.txt')) };
  }
  for (const f of ['ratings.csv', 'ratings.dat', 'u.data']) {
    const p = join(path, f);
    if (existsSync(p)) return { path, files: [p], kind: 'ratings', metadata: findItemMetadata(p) };
  }
  throw new InvalidArgumentError(
    `input directory '${input}' holds no ratings file (ratings.csv, ratings.dat, u.data, combined_data_*.txt, training_set/mv_*.txt) and is not a pro_sg export`,
  );
}

/**
 * Item metadata next to a ratings file, by the datasets' own names: `movies.csv` (MovieLens 20M/25M/
 * latest and synthetic data), `movies.dat` (1M/10M), `u.item` (+ `u.genre`, 100K), `movie_titles.txt`
 * or `movie_titles.csv` (Netflix Prize), `item_concepts.csv` / `item_categories.csv` (generic).
 */
export function findItemMetadata(ratingsFile: string): InputFiles['metadata'] {
  const dir = dirname(ratingsFile);
  const candidates: Array<[string, string]> = [
    ['movies.csv', 'movies-csv'],
    ['movies.dat', 'movies-dat'],
    ['u.item', 'u-item'],
    ['movie_titles.txt', 'netflix-titles'],
    ['movie_titles.csv', 'netflix-titles'],
    ['item_concepts.csv', 'categories'],
    ['item_categories.csv', 'categories'],
  ];
  const base = basename(ratingsFile);
  const preferred =
    base === 'ratings.dat' ? 'movies.dat' : base === 'u.data' ? 'u.item' : base === 'ratings.csv' ? 'movies.csv' : '';
  candidates.sort((a, b) => Number(b[0] === preferred) - Number(a[0] === preferred));
  for (const [name, format] of candidates) {
    const p = join(dir, name);
    if (existsSync(p) && statSync(p).isFile()) {
      const g = join(dir, 'u.genre');
      return { path: p, format, uGenre: format === 'u-item' && existsSync(g) ? g : undefined };
    }
  }
  return undefined;
}

/** Total bytes of some files. */
export function totalBytes(files: string[]): number {
  return files.reduce((s, f) => s + statSync(f).size, 0);
}

/**
 * Streams each file's bytes to `onChunk` in chunks of `chunkBytes`, reading the next chunk while the
 * current one is processed, and calls `onEnd(index)` after each file.
 */
export async function streamFiles(
  files: string[],
  onChunk: (bytes: Uint8Array, fileIndex: number) => void,
  onEnd: (fileIndex: number) => void,
  chunkBytes = CHUNK_BYTES,
): Promise<void> {
  const bufs = [Buffer.allocUnsafeSlow(chunkBytes), Buffer.allocUnsafeSlow(chunkBytes)];
  for (let f = 0; f < files.length; f++) {
    const fh = await open(files[f], 'r');
    try {
      let k = 0;
      let pending = fh.read(bufs[k], 0, chunkBytes, null);
      try {
        for (;;) {
          const { bytesRead } = await pending;
          if (bytesRead === 0) break;
          const cur = bufs[k];
          k ^= 1;
          pending = fh.read(bufs[k], 0, chunkBytes, null);
          onChunk(cur.subarray(0, bytesRead), f);
        }
      } catch (e) {
        await pending.catch(() => undefined);
        throw e;
      }
    } finally {
      await fh.close();
    }
    onEnd(f);
  }
}

/** SHA-256 of the files' bytes concatenated in order (streamed). */
export async function hashFiles(files: string[], chunkBytes = CHUNK_BYTES): Promise<string> {
  const h = createHash('sha256');
  await streamFiles(
    files,
    (b) => h.update(b),
    () => {},
    chunkBytes,
  );
  return h.digest('hex');
}

export interface ReadResult {
  reader: RatingsReader;
  stats: ReaderStats;
  sha256: string;
  bytes: number;
}

/** Prefixes a parser error with the file it happened in. */
function inFile(e: unknown, file: string): unknown {
  if (e instanceof ParseError) {
    const msg = e.message.replace(/^readRatings: /, '');
    return new ParseError(`${file}: ${msg}`, { cause: e });
  }
  return e;
}

/**
 * Parses `files` in order into a {@link RatingsReader} of `inst` (the caller frees it), hashing the
 * bytes on the way. Errors name the file and line.
 */
export async function readRatingsFiles(
  inst: WasmInstance,
  files: string[],
  options: ReaderOptions = {},
  extra: {
    chunkBytes?: number;
    onProgress?: (done: number, total: number) => void;
    /** Accept files without any data row (default: an error). */
    allowEmpty?: boolean;
  } = {},
): Promise<ReadResult> {
  const total = totalBytes(files);
  const reader = new RatingsReader(inst, options);
  const hash = createHash('sha256');
  let done = 0;
  try {
    await streamFiles(
      files,
      (bytes, f) => {
        hash.update(bytes);
        try {
          reader.feed(bytes);
        } catch (e) {
          throw inFile(e, files[f]);
        }
        done += bytes.length;
        extra.onProgress?.(done, total);
      },
      (f) => {
        try {
          reader.endFile();
        } catch (e) {
          throw inFile(e, files[f]);
        }
      },
      extra.chunkBytes ?? CHUNK_BYTES,
    );
    const stats = reader.stats();
    if (stats.rows === 0 && stats.invalid === 0 && !extra.allowEmpty) {
      throw new MacridError(`${files.length === 1 ? files[0] : `${files.length} files`}: no data rows found`);
    }
    return { reader, stats, sha256: hash.digest('hex'), bytes: total };
  } catch (e) {
    reader.free();
    throw e;
  }
}
