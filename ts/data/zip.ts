/**
 * A small, careful ZIP reader for the GroupLens archives (Node has no zip reader built in). Supports
 * stored (0) and deflated (8) entries, streamed through `zlib.createInflateRaw` with CRC-32 and size
 * checks; refuses encrypted entries, ZIP64, symbolic links, duplicate names and any name that could
 * escape the destination (absolute paths, `..`, backslashes, drive letters, NUL).
 */
import { closeSync, createReadStream, createWriteStream, fstatSync, openSync, readSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw } from 'node:zlib';
import { InvalidArgumentError, ParseError } from '../errors.js';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  localHeaderOffset: number;
  directory: boolean;
}

function readAt(fd: number, pos: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  let off = 0;
  while (off < len) {
    const n = readSync(fd, b, off, len - off, pos + off);
    if (n === 0) break;
    off += n;
  }
  return b.subarray(0, off);
}

/** Lists the entries of a zip file from its central directory. */
export function listZip(path: string): ZipEntry[] {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const tailLen = Math.min(size, 22 + 0xffff);
    const tail = readAt(fd, size - tailLen, tailLen);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === 0x06054b50) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new ParseError(`${path}: not a zip file (no end of central directory)`);
    const disk = tail.readUInt16LE(eocd + 4);
    const count = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    if (disk !== 0) throw new ParseError(`${path}: multi-disk zip archives are not supported`);
    if (count === 0xffff || cdOffset === 0xffffffff || cdSize === 0xffffffff) {
      throw new ParseError(`${path}: ZIP64 archives are not supported`);
    }
    if (cdOffset + cdSize > size) throw new ParseError(`${path}: the central directory lies outside the file`);
    const cd = readAt(fd, cdOffset, cdSize);
    const entries: ZipEntry[] = [];
    const names = new Set<string>();
    let p = 0;
    for (let k = 0; k < count; k++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) {
        throw new ParseError(`${path}: central directory entry ${k} is damaged`);
      }
      const madeBy = cd.readUInt16LE(p + 4);
      const flags = cd.readUInt16LE(p + 8);
      const method = cd.readUInt16LE(p + 10);
      const crc = cd.readUInt32LE(p + 16);
      const csize = cd.readUInt32LE(p + 20);
      const usize = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      const extAttr = cd.readUInt32LE(p + 38);
      const local = cd.readUInt32LE(p + 42);
      const name = cd.subarray(p + 46, p + 46 + nameLen).toString(flags & 0x800 ? 'utf8' : 'latin1');
      p += 46 + nameLen + extraLen + commentLen;
      if (flags & 0x1) throw new ParseError(`${path}: entry '${name}' is encrypted`);
      if (csize === 0xffffffff || usize === 0xffffffff || local === 0xffffffff) {
        throw new ParseError(`${path}: entry '${name}' needs ZIP64, which is not supported`);
      }
      if (madeBy >> 8 === 3 && ((extAttr >>> 16) & 0o170000) === 0o120000) {
        throw new ParseError(`${path}: entry '${name}' is a symbolic link; refusing to extract it`);
      }
      if (method !== 0 && method !== 8) {
        throw new ParseError(`${path}: entry '${name}' uses compression method ${method} (only stored and deflate)`);
      }
      safeEntryPath(name);
      if (names.has(name)) throw new ParseError(`${path}: entry '${name}' occurs twice`);
      names.add(name);
      entries.push({
        name,
        method,
        compressedSize: csize,
        size: usize,
        crc32: crc,
        localHeaderOffset: local,
        directory: name.endsWith('/'),
      });
    }
    return entries;
  } finally {
    closeSync(fd);
  }
}

/** Checks that an entry name is a plain relative path; returns it without a trailing `/`. */
export function safeEntryPath(name: string): string {
  const bad = (why: string) => new InvalidArgumentError(`unsafe zip entry name '${name}': ${why}`);
  if (name.length === 0) throw bad('empty');
  if (name.includes('\0')) throw bad('contains NUL');
  if (name.includes('\\')) throw bad('contains a backslash');
  if (name.startsWith('/')) throw bad('absolute path');
  if (/^[A-Za-z]:/.test(name)) throw bad('drive letter');
  const parts = name.replace(/\/$/, '').split('/');
  for (const part of parts) {
    if (part === '..') throw bad("contains '..'");
    if (part === '' || part === '.') throw bad('empty or "." path segment');
  }
  return parts.join('/');
}

class Check extends Transform {
  private crc = 0;
  private n = 0;
  constructor(
    private readonly entry: ZipEntry,
    private readonly zip: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.n += chunk.length;
    if (this.n > this.entry.size) {
      cb(
        new ParseError(`${this.zip}: entry '${this.entry.name}' inflates beyond its declared ${this.entry.size} bytes`),
      );
      return;
    }
    this.crc = crc32(chunk, this.crc);
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    if (this.n !== this.entry.size) {
      cb(new ParseError(`${this.zip}: entry '${this.entry.name}' has ${this.n} bytes, not ${this.entry.size}`));
    } else if (this.crc >>> 0 !== this.entry.crc32 >>> 0) {
      cb(new ParseError(`${this.zip}: entry '${this.entry.name}' fails its CRC-32 check (damaged archive)`));
    } else cb();
  }
}

/** Extracts every entry of `zip` under `dest` (which must exist); returns the relative paths written. */
export async function extractZip(zip: string, dest: string): Promise<string[]> {
  const entries = listZip(zip);
  const root = resolve(dest);
  const fd = openSync(zip, 'r');
  const starts: number[] = [];
  try {
    for (const e of entries) {
      const h = readAt(fd, e.localHeaderOffset, 30);
      if (h.length < 30 || h.readUInt32LE(0) !== 0x04034b50) {
        throw new ParseError(`${zip}: the local header of '${e.name}' is damaged`);
      }
      starts.push(e.localHeaderOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28));
    }
  } finally {
    closeSync(fd);
  }
  const written: string[] = [];
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k];
    const rel = safeEntryPath(e.name);
    const target = resolve(join(root, rel));
    if (target !== root && !target.startsWith(root + sep)) {
      throw new InvalidArgumentError(`unsafe zip entry name '${e.name}': resolves outside the destination`);
    }
    if (e.directory) {
      await mkdir(target, { recursive: true });
      continue;
    }
    await mkdir(dirname(target), { recursive: true });
    const out = createWriteStream(target, { flags: 'wx' });
    const check = new Check(e, zip);
    if (e.compressedSize === 0) {
      await pipeline(Readable.from([]), check, out);
    } else {
      const src = createReadStream(zip, { start: starts[k], end: starts[k] + e.compressedSize - 1 });
      if (e.method === 8) await pipeline(src, createInflateRaw(), check, out);
      else await pipeline(src, check, out);
    }
    written.push(rel);
  }
  return written;
}
