/**
 * Who owns an output path, and who may write it now.
 *
 * **Ownership.** Every directory this package creates as an output carries a marker file
 * `.macridvae` (`{"kind": …, "createdBy": …, "createdAt": …}`) written into it before it appears at its
 * final path. A command may replace or add to an existing output directory only when it carries the
 * marker of the same kind (`dataset`, `model`, `export`, `search`, `synthetic`, `download`, `report`);
 * replacing also needs `force` (`--force`). A directory without the marker, or with another kind's, is
 * refused with a list of what it holds — whatever `force` says. Directories written before markers
 * existed are recognized by their own signature file (a dataset's or model's `manifest.json` format,
 * `tune.json`, `synth.json`, `.macridvae-download.json`). An empty directory may be used as an output.
 * An output may never be an input of the same call, nor contain one (`--out .` next to `ratings.csv`).
 *
 * **One writer per output.** {@link lockOutput} creates `.NAME.lock` beside the output with
 * `O_CREAT|O_EXCL` holding `{pid, host, started, command}`; a second writer is refused with a
 * {@link LockedError} saying who holds it. A lock whose process is gone (same host, pid not running)
 * is taken over, so a crashed holder leaves nothing stuck. A lock from another host is never broken
 * automatically (the message says which file to remove once that host's run is known to be over).
 * A process may take the same lock more than once (nested library calls); it is released when the
 * last holder releases it, and at exit.
 */
import {
  closeSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { InvalidArgumentError, LockedError, OutputConflictError } from '../errors.js';
import { checkObject, checkPath } from '../validate.js';
import { VERSION } from '../version.js';
import { fileError, processAlive, withFileErrors, writeDirAtomic, writeFileAtomicSync } from './fs.js';

export const MARKER_FILE = '.macridvae';

/** The kinds of output directories this package creates. */
export const OUTPUT_KINDS = ['dataset', 'model', 'export', 'search', 'synthetic', 'download', 'report'] as const;
export type OutputKind = (typeof OUTPUT_KINDS)[number];

const KIND_WORDS: Record<OutputKind, string> = {
  dataset: 'a prepared dataset',
  model: 'a model directory',
  export: 'a reference export',
  search: 'a hyperparameter search',
  synthetic: 'a synthetic dataset',
  download: 'a downloaded dataset',
  report: 'an analysis report',
};

function checkKind(fn: string, kind: unknown): void {
  if (!(OUTPUT_KINDS as readonly unknown[]).includes(kind)) {
    throw new InvalidArgumentError(
      `'kind' passed to ${fn}() must be one of ${OUTPUT_KINDS.join(', ')} but got ${String(kind)}`,
    );
  }
}

/** Writes the ownership marker of `kind` into directory `dir` (atomically). */
export function writeMarker(dir: string, kind: OutputKind): void {
  checkPath('writeMarker', 'dir', dir);
  checkKind('writeMarker', kind);
  writeFileAtomicSync(
    join(dir, MARKER_FILE),
    `${JSON.stringify({ kind, createdBy: `macridvae ${VERSION}`, createdAt: new Date().toISOString() })}\n`,
  );
}

function jsonField(path: string, field: string): unknown {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>)[field];
  } catch {
    return undefined;
  }
}

/** The kind of output directory `dir` is, by its marker (or an older build's signature); undefined if none. */
export function outputKind(dir: string): OutputKind | undefined {
  checkPath('outputKind', 'dir', dir);
  const kind = jsonField(join(dir, MARKER_FILE), 'kind');
  if (typeof kind === 'string' && (OUTPUT_KINDS as readonly string[]).includes(kind)) return kind as OutputKind;
  const format = jsonField(join(dir, 'manifest.json'), 'format');
  if (format === 'macridvae-dataset') return 'dataset';
  if (format === 'macridvae-model') return 'model';
  if (existsSync(join(dir, 'tune.json')) && existsSync(join(dir, 'trials.jsonl'))) return 'search';
  if (jsonField(join(dir, 'synth.json'), 'summary') !== undefined) return 'synthetic';
  if (existsSync(join(dir, '.macridvae-download.json'))) return 'download';
  return undefined;
}

function realOrResolved(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

const inside = (child: string, parent: string) =>
  child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);

/** A short listing of what `dir` holds (for refusals). */
export function describeContents(dir: string, max = 6): string {
  let names: string[] = [];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return 'unreadable';
  }
  const shown = names.slice(0, max).join(', ');
  return `${names.length} entr${names.length === 1 ? 'y' : 'ies'}: ${shown}${names.length > max ? ', …' : ''}`;
}

export interface OutputCheck {
  /** The option or argument naming the output, for messages (e.g. `--out`). */
  option?: string;
  /** Replace an existing output of the same kind. */
  force?: boolean;
  /** Paths this call reads: the output may not be one of them nor contain one. */
  inputs?: Array<string | undefined>;
  /** What the caller offers instead of replacing (e.g. "pass --resume to continue it"). */
  hint?: string;
}

/**
 * What is at output path `out` and whether a `kind` output may be written there (see the module doc):
 * `'absent'` (nothing there, or an empty directory) or `'owned'` (a directory of the same kind, which
 * the caller may reuse, resume or — with `force` — replace). Anything else throws an
 * {@link OutputConflictError} saying what is there. `'owned'` without `force` is returned, not refused:
 * reusing an identical output or resuming is the caller's decision; {@link requireReplaceable} refuses.
 */
export function checkOutput(out: string, kind: OutputKind, opts: OutputCheck = {}): 'absent' | 'owned' {
  checkPath('checkOutput', 'out', out);
  checkKind('checkOutput', kind);
  checkObject('checkOutput', 'opts', opts);
  const name = opts.option ? `${opts.option} ${out}` : out;
  const real = realOrResolved(out);
  for (const input of opts.inputs ?? []) {
    if (input === undefined) continue;
    const inp = realOrResolved(input);
    if (inp === real)
      throw new OutputConflictError(`${name} is also an input of this command (${input}); choose another output`);
    if (inside(inp, real)) {
      throw new OutputConflictError(
        `${name} contains the input ${input}: writing it would destroy it; choose another output`,
      );
    }
  }
  if (!existsSync(out)) return 'absent';
  const st = withFileErrors('read', out, () => statSync(out));
  if (!st.isDirectory()) {
    throw new OutputConflictError(`${name} exists and is a file, not ${KIND_WORDS[kind]}; choose another output`);
  }
  const names = withFileErrors('read', out, () => readdirSync(out));
  if (names.length === 0) return 'absent';
  const have = outputKind(out);
  if (have === kind) return 'owned';
  if (have !== undefined) {
    throw new OutputConflictError(
      `${name} is ${KIND_WORDS[have]}, not ${KIND_WORDS[kind]}: macridvae will not replace it${opts.force ? ' (not even with --force)' : ''}; choose another output`,
    );
  }
  throw new OutputConflictError(
    `${name} exists and was not written by macridvae as ${KIND_WORDS[kind]} (it holds ${describeContents(out)}); macridvae only replaces its own outputs${opts.force ? ', not even with --force' : ''}: choose another output or move it away`,
  );
}

/** {@link checkOutput}, refusing an existing output unless `force` (the message says how to go on). */
export function requireReplaceable(out: string, kind: OutputKind, opts: OutputCheck = {}): 'absent' | 'owned' {
  const state = checkOutput(out, kind, opts);
  if (state === 'owned' && !opts.force) {
    const name = opts.option ? `${opts.option} ${out}` : out;
    throw new OutputConflictError(
      `${name} already holds ${KIND_WORDS[kind]}; ${opts.hint ? `${opts.hint}, or ` : ''}pass --force (force: true) to replace it`,
    );
  }
  return state;
}

/** The content of a lock file. */
export interface LockInfo {
  pid: number;
  host: string;
  started: string;
  command: string;
}

/** The path of the lock of output `out`. */
export function lockPath(out: string): string {
  checkPath('lockPath', 'out', out);
  const abs = resolve(out);
  return join(dirname(abs), `.${basename(abs)}.lock`);
}

function readLock(path: string): LockInfo | undefined {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
    return typeof v.pid === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** A held output lock; `release()` removes it (when this process holds it no more). */
export interface OutputLock {
  path: string;
  release(): void;
}

const held = new Map<string, { count: number; content: string }>();
let exitHook = false;

function releaseAll(): void {
  for (const [path, h] of held) {
    try {
      if (readFileSync(path, 'utf8') === h.content) rmSync(path, { force: true });
    } catch {
      // Already gone.
    }
  }
  held.clear();
}

function describeHolder(info: LockInfo | undefined, path: string): string {
  if (!info) return `an unreadable lock ${path}`;
  return `process ${info.pid} on ${info.host} since ${info.started} (${info.command})`;
}

/**
 * Takes the write lock of output `out` (see the module doc); throws {@link LockedError} naming the
 * holder when a live process has it.
 */
export function lockOutput(out: string, command = process.argv.slice(2).join(' ') || 'macridvae'): OutputLock {
  const path = lockPath(out);
  const mine = held.get(path);
  if (mine) {
    mine.count++;
    return { path, release: () => release(path) };
  }
  const info: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command };
  const content = `${JSON.stringify(info)}\n`;
  withFileErrors('create', dirname(path), () => mkdirSync(dirname(path), { recursive: true }));
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number | undefined;
    try {
      fd = openSync(path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw fileError(e, 'lock', out);
    }
    if (fd !== undefined) {
      try {
        writeSync(fd, content);
      } finally {
        closeSync(fd);
      }
      held.set(path, { count: 1, content });
      if (!exitHook) {
        exitHook = true;
        process.on('exit', releaseAll);
      }
      return { path, release: () => release(path) };
    }
    const other = readLock(path);
    if (other === undefined) {
      // Being written this instant (created, not yet filled) or garbage: look again shortly.
      const age = (() => {
        try {
          return Date.now() - statSync(path).mtimeMs;
        } catch {
          return 0;
        }
      })();
      if (age < 2000) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
        continue;
      }
      throw new LockedError(
        `${out} is locked by ${describeHolder(other, path)}; remove ${path} if no macridvae run is writing it`,
      );
    }
    if (other.host !== hostname() || processAlive(other.pid)) {
      const how =
        other.host !== hostname() ? `; if that run is over, remove ${path}` : '; wait for it to finish or stop it';
      throw new LockedError(`${out} is being written by ${describeHolder(other, path)}${how}`);
    }
    // The holder died: take the lock over. Move the stale file aside (atomic: one taker wins), then
    // check it was the stale one; if a live lock was moved by mistake, put it back.
    const aside = `${path}.stale-${process.pid}`;
    try {
      renameSync(path, aside);
    } catch {
      continue;
    }
    const moved = readLock(aside);
    if (moved && (moved.pid !== other.pid || moved.started !== other.started)) {
      try {
        linkSync(aside, path);
      } catch {
        // Someone else holds it now; the next attempt reports them.
      }
    }
    rmSync(aside, { force: true });
  }
  throw new LockedError(`${out}: could not take the lock ${path} (contended)`);
}

function release(path: string): void {
  const h = held.get(path);
  if (!h) return;
  if (--h.count > 0) return;
  held.delete(path);
  try {
    if (readFileSync(path, 'utf8') === h.content) rmSync(path, { force: true });
  } catch {
    // Already gone.
  }
}

/** Runs `f` holding the write lock of `out`. */
export async function withOutputLock<T>(out: string, f: () => Promise<T>): Promise<T> {
  const lock = lockOutput(out);
  try {
    return await f();
  } finally {
    lock.release();
  }
}

/**
 * Writes output directory `out` of `kind` whole: under its lock, refused as {@link requireReplaceable}
 * says, built by `build(tmp)` in a temporary sibling that carries the marker, then renamed into place
 * (see `writeDirAtomic`).
 */
export async function writeOutputDir<T>(
  out: string,
  kind: OutputKind,
  opts: OutputCheck,
  build: (tmp: string) => Promise<T>,
): Promise<T> {
  return withOutputLock(out, async () => {
    requireReplaceable(out, kind, opts);
    return writeDirAtomic(out, async (tmp) => {
      writeMarker(tmp, kind);
      return build(tmp);
    });
  });
}
