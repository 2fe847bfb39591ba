/**
 * File-system helpers for outputs that must never be seen half-written: a file is written to a
 * temporary sibling and renamed; a directory is built as a hidden temporary sibling and renamed into
 * place (an existing one is moved aside first and removed after).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

function tempName(path: string, tag: string): string {
  return join(dirname(path), `.${basename(path)}.${tag}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Writes a file atomically (temporary sibling + rename). */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  const tmp = tempName(path, 'tmp');
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
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
    throw e;
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temporary siblings of `path` left by interrupted runs (`.NAME.partial-PID-…` whose process is
 * gone).
 */
export function removeStaleTemps(path: string): void {
  const dir = dirname(path);
  if (!existsSync(dir)) return;
  const prefix = `.${basename(path)}.`;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    const m = /\.(?:partial|tmp|old)-(\d+)-[0-9a-f]{8}$/.exec(name);
    if (m && !processAlive(Number(m[1]))) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

/**
 * Builds directory `path` atomically: `build(tmp)` fills a temporary sibling, which then replaces
 * `path` (an existing `path` is moved aside, then deleted). On failure nothing changes at `path`.
 */
export async function writeDirAtomic<T>(path: string, build: (tmp: string) => Promise<T>): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  removeStaleTemps(path);
  const tmp = tempName(path, 'partial');
  await mkdir(tmp);
  let result: T;
  try {
    result = await build(tmp);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  try {
    replaceDirSync(tmp, path);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return result;
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
  if (old) rmSync(old, { recursive: true, force: true });
}
