/**
 * File-system helpers for outputs that must never be seen half-written: a file is written to a
 * temporary sibling, fsync'd and renamed; a directory is built as a hidden temporary sibling and
 * renamed into place (an existing one is moved aside first and removed after).
 *
 * Temporary siblings are named `.NAME.{tmp|partial|old}-PID-HEX8`; {@link removeStaleTemps} removes
 * those whose process is gone (and puts back a directory that a crash left moved aside), so a killed
 * run leaves nothing behind for long. Errors on these paths are reported as {@link FileAccessError}s
 * that name the path the caller gave, never the temporary one.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { FileAccessError, MacridError } from '../errors.js';

function tempName(path: string, tag: string): string {
  return join(dirname(path), `.${basename(path)}.${tag}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

const TEMP_RE = /^\.(.+)\.(partial|tmp|old)-(\d+)-[0-9a-f]{8}$/;

/** What each system error code means, in words for the user. */
const FS_CODES: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  EISDIR: 'it is a directory, not a file',
  ENOTDIR: 'a part of the path is not a directory',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EEXIST: 'it already exists',
  ENOTEMPTY: 'the directory is not empty',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
  EBUSY: 'the resource is busy',
  EXDEV: 'it is on another file system',
};

/** What a system error means for the user (`mkdir` over a file says EEXIST: the path has a file in it). */
function meaning(err: NodeJS.ErrnoException): string {
  if (err.code === 'EEXIST' && err.syscall === 'mkdir') return 'it exists and is not a directory';
  return FS_CODES[err.code as string];
}

const SYSCALL_VERBS: Record<string, string> = {
  open: 'open',
  read: 'read',
  write: 'write',
  mkdir: 'create',
  rename: 'replace',
  rmdir: 'remove',
  unlink: 'remove',
  scandir: 'list',
  stat: 'read',
  lstat: 'read',
  copyfile: 'copy',
};

/** The part of `p` up to (without) its first temporary segment, or undefined when it has none. */
function beforeTemp(p: string): string | undefined {
  const parts = resolve(p).split('/');
  const i = parts.findIndex((x) => TEMP_RE.test(x));
  if (i < 0) return undefined;
  return [...parts.slice(0, i), TEMP_RE.exec(parts[i])![1]].join('/');
}

/**
 * The typed error for a failed file-system call, naming the path the user gave: `path` (with
 * `action`: "read", "write", "create", …) when the call failed on it or on a temporary sibling of it,
 * else the other user path the call failed on. Returns `e` unchanged when it is not a system error.
 */
export function fileError(e: unknown, action: string, path: string): unknown {
  if (e instanceof MacridError) return e;
  const err = e as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof err.code !== 'string' || !(err.code in FS_CODES)) return e;
  let where = `'${path}'`;
  let shown = path;
  let verb = action;
  if (err.path && beforeTemp(err.path) === undefined && resolve(err.path) !== resolve(path)) {
    const p = resolve(err.path);
    if (p.startsWith(`${resolve(path)}/`) || resolve(path).startsWith(`${p}/`)) where = `'${path}' (at ${err.path})`;
    else {
      where = `'${err.path}'`;
      shown = err.path;
      verb = SYSCALL_VERBS[err.syscall ?? ''] ?? action;
    }
  }
  return new FileAccessError(`cannot ${verb} ${where}: ${meaning(err)} (${err.code})`, shown, err.code, {
    cause: e,
  });
}

/**
 * A system error that escaped to the top (a path error from anywhere) as a {@link FileAccessError}
 * naming the path it failed on; `undefined` when `e` is not one.
 */
export function systemErrorOf(e: unknown): FileAccessError | undefined {
  if (e instanceof FileAccessError) return e;
  const err = e as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof err.code !== 'string' || !(err.code in FS_CODES) || !err.path) return undefined;
  const shown = beforeTemp(err.path) ?? err.path;
  const verb = SYSCALL_VERBS[err.syscall ?? ''] ?? 'use';
  return new FileAccessError(`cannot ${verb} '${shown}': ${meaning(err)} (${err.code})`, shown, err.code, {
    cause: e,
  });
}

/** Runs `f`, turning system errors into {@link fileError}s naming `path`. */
export function withFileErrors<T>(action: string, path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw fileError(e, action, path);
  }
}

/** Writes a file atomically and durably (temporary sibling, fsync, rename). Errors name `path`. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  const tmp = tempName(path, 'tmp');
  try {
    const fd = openSync(tmp, 'w');
    try {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw fileError(e, 'write', path);
  }
}

/** fsyncs a directory (so a rename in it survives a power loss); best effort where unsupported. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some platforms (Windows) cannot open a directory; the rename is still atomic there.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Async {@link writeFileAtomicSync}. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempName(path, 'tmp');
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw fileError(e, 'write', path);
  }
}

/** Whether process `pid` (on this host) is running. */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Cleans up after interrupted runs in folder `dir`: removes the temporary entries (`.NAME.tmp-PID-…`,
 * `.NAME.partial-PID-…`) whose process is gone; an entry moved aside for replacement
 * (`.NAME.old-PID-…`) is put back when `NAME` is missing (the run died between the two renames of
 * {@link replaceDirSync}), else removed. `only` restricts this to temporaries of that one name.
 */
export function removeStaleTempsIn(dir: string, only?: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = TEMP_RE.exec(name);
    if (!m || (only !== undefined && m[1] !== only) || processAlive(Number(m[3]))) continue;
    const target = join(dir, m[1]);
    try {
      if (m[2] === 'old' && !existsSync(target)) renameSync(join(dir, name), target);
      else rmSync(join(dir, name), { recursive: true, force: true });
    } catch {
      // Another process cleaned it first.
    }
  }
}

/** Removes the stale temporary siblings of `path` (see {@link removeStaleTempsIn}). */
export function removeStaleTemps(path: string): void {
  removeStaleTempsIn(dirname(path), basename(path));
}

/**
 * Builds directory `path` atomically: `build(tmp)` fills a temporary sibling, which then replaces
 * `path` (an existing `path` is moved aside, then deleted). On failure nothing changes at `path`.
 */
export async function writeDirAtomic<T>(path: string, build: (tmp: string) => Promise<T>): Promise<T> {
  const tmp = tempName(path, 'partial');
  try {
    await mkdir(dirname(path), { recursive: true });
    removeStaleTemps(path);
    await mkdir(tmp);
  } catch (e) {
    throw fileError(e, 'create', path);
  }
  let result: T;
  try {
    result = await build(tmp);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw fileError(e, 'write', path);
  }
  try {
    replaceDirSync(tmp, path);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw fileError(e, 'replace', path);
  }
  return result;
}

/** A temporary sibling directory of `path` (created) in which a new `path` can be built. */
export function makeStagingDir(path: string): string {
  const tmp = tempName(path, 'partial');
  withFileErrors('create', path, () => {
    mkdirSync(dirname(path), { recursive: true });
    removeStaleTemps(path);
    mkdirSync(tmp);
  });
  return tmp;
}

/**
 * Moves the complete directory `src` to `path`, replacing what is there: an existing `path` is moved
 * aside first and removed after, and put back if the move fails.
 */
export function replaceDirSync(src: string, path: string): void {
  let old: string | undefined;
  try {
    if (existsSync(path)) {
      old = tempName(path, 'old');
      renameSync(path, old);
    }
    renameSync(src, path);
  } catch (e) {
    if (old && !existsSync(path)) renameSync(old, path);
    throw e;
  }
  fsyncDir(dirname(path));
  if (old) rmSync(old, { recursive: true, force: true });
}
