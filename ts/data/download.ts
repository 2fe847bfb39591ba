/**
 * `downloadDataset`: fetches an official GroupLens MovieLens archive, verifies it and extracts it.
 *
 * - Checksum: the MD5 that GroupLens publishes next to each archive (`NAME.zip.md5`) is fetched from
 *   the same server and checked; `md5` overrides it (for a mirror without `.md5` files). Every entry's
 *   CRC-32 and size are checked while extracting.
 * - Resumable: bytes go to `NAME.zip.part`; an interrupted transfer is resumed with an HTTP `Range`
 *   request (retried within the run, and on the next run), or restarted when the server ignores ranges.
 * - Safe: see `zip.ts` (no path escapes, no links); the extracted folder appears atomically at
 *   `OUT/NAME` with a `.macridvae-download.json` record; a later call finds it and does nothing.
 * - Base URL: `baseUrl`, else `$MACRIDVAE_DATA_BASE_URL`, else https://files.grouplens.org/datasets/movielens/.
 * - Proxies: `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` from the environment, as curl reads them (`proxy.ts`).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, MacridError, OutputConflictError } from '../errors.js';
import { fileError, writeDirAtomic } from '../util/fs.js';
import { describeContents, lockOutput } from '../util/output.js';
import { proxyFor, viaProxy } from './proxy.js';
import { extractZip } from './zip.js';

export const DEFAULT_BASE_URL = 'https://files.grouplens.org/datasets/movielens/';

/** The GroupLens archives `downloadDataset` knows. */
export const DOWNLOADS: Record<string, { file: string; about: string }> = {
  'ml-latest-small': { file: 'ml-latest-small.zip', about: 'MovieLens latest-small (100k ratings, 610 users)' },
  'ml-100k': { file: 'ml-100k.zip', about: 'MovieLens 100K (1998)' },
  'ml-1m': { file: 'ml-1m.zip', about: 'MovieLens 1M (2003)' },
  'ml-10m': { file: 'ml-10m.zip', about: 'MovieLens 10M (2009; extracts to ml-10M100K/)' },
  'ml-20m': { file: 'ml-20m.zip', about: 'MovieLens 20M (2015)' },
  'ml-25m': { file: 'ml-25m.zip', about: 'MovieLens 25M (2019)' },
};

export interface DownloadOptions {
  name: string;
  /** Folder receiving `NAME/` (default `data`). */
  out?: string;
  baseUrl?: string;
  /** Expected MD5 (hex); default: the published `NAME.zip.md5`. */
  md5?: string;
  /** Attempts per transfer (each resumes where the last stopped; default 4). */
  attempts?: number;
  /** Keep the archive after extraction (default false). */
  keepArchive?: boolean;
  /** CA certificates (PEM) to trust besides Node's, for a mirror with a private CA. */
  ca?: string | Buffer;
  onProgress?: (done: number, total: number | undefined) => void;
}

export interface DownloadResult {
  name: string;
  dir: string;
  url: string;
  md5: string;
  sha256: string;
  bytes: number;
  files: string[];
  /** Already present: nothing was downloaded. */
  reused: boolean;
  /** Bytes fetched by this call, and how many transfers resumed a partial file. */
  fetched: number;
  resumed: number;
}

const MARKER = '.macridvae-download.json';

function client(url: URL) {
  if (url.protocol === 'https:') return https;
  if (url.protocol === 'http:') return http;
  throw new InvalidArgumentError(`unsupported URL scheme '${url.protocol}' (http or https)`);
}

/** Connection settings of one download: the extra CAs. */
interface Net {
  ca?: string | Buffer;
}

/** GET with redirects, through the environment's proxy; resolves to the response once its headers arrive. */
async function get(url: URL, headers: Record<string, string>, net: Net, redirects = 5): Promise<http.IncomingMessage> {
  const tlsOptions = net.ca === undefined ? {} : { ca: net.ca };
  const proxy = proxyFor(url);
  const via = proxy ? await viaProxy(proxy, url, tlsOptions) : undefined;
  return new Promise((ok, fail) => {
    const options: http.RequestOptions = via
      ? { ...via, headers: { ...via.headers, ...headers }, timeout: 60_000 }
      : { headers, timeout: 60_000, ...tlsOptions };
    const onResponse = (res: http.IncomingMessage) => {
      const code = res.statusCode ?? 0;
      if (code >= 300 && code < 400 && res.headers.location) {
        res.resume();
        if (redirects === 0) {
          fail(new MacridError(`${url}: too many redirects`));
          return;
        }
        get(new URL(res.headers.location, url), headers, net, redirects - 1).then(ok, fail);
        return;
      }
      ok(res);
    };
    // Through an http proxy the request goes to the proxy (absolute-form path); else to the URL.
    const req =
      via && url.protocol === 'http:'
        ? http.get(options, onResponse)
        : client(url).get(url, options as https.RequestOptions, onResponse);
    req.on('timeout', () => req.destroy(new MacridError(`${url}: no response for 60 s`)));
    req.on('error', (e: NodeJS.ErrnoException) =>
      fail(
        e instanceof MacridError
          ? e
          : new MacridError(`cannot reach ${url}: ${e.code ? `${e.code} ` : ''}${e.message}`, { cause: e }),
      ),
    );
  });
}

async function fetchText(url: URL, net: Net): Promise<{ status: number; text: string }> {
  const res = await get(url, {}, net);
  const chunks: Buffer[] = [];
  try {
    for await (const c of res) chunks.push(c as Buffer);
  } catch (e) {
    throw new MacridError(`${url}: the connection broke (${(e as Error).message})`, { cause: e });
  }
  return { status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') };
}

async function fileDigest(path: string, algo: 'md5' | 'sha256'): Promise<string> {
  const h = createHash(algo);
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

/** Downloads `url` into `part`, resuming from its current size; returns bytes fetched and whether it resumed. */
async function transfer(
  url: URL,
  part: string,
  net: Net,
  onProgress?: (done: number, total: number | undefined) => void,
): Promise<{ fetched: number; resumed: boolean }> {
  const have = existsSync(part) ? statSync(part).size : 0;
  const res = await get(url, have > 0 ? { Range: `bytes=${have}-` } : {}, net);
  const code = res.statusCode ?? 0;
  if (code === 416) {
    res.resume();
    return { fetched: 0, resumed: true };
  }
  if (code !== 200 && code !== 206) {
    res.resume();
    throw new MacridError(`${url}: HTTP ${code}`);
  }
  const resumed = code === 206 && have > 0;
  if (code === 206) {
    const m = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''));
    if (!m || Number(m[1]) !== have) {
      res.resume();
      rmSync(part, { force: true });
      throw new MacridError(`${url}: the server resumed at the wrong offset; restarting`);
    }
  }
  const length = res.headers['content-length'] === undefined ? undefined : Number(res.headers['content-length']);
  const start = resumed ? have : 0;
  const total = length === undefined ? undefined : start + length;
  let fetched = 0;
  // Every chunk received is on disk before the next is read, so a broken connection loses nothing.
  const out = await open(part, resumed ? 'a' : 'w');
  try {
    for await (const c of res as AsyncIterable<Buffer>) {
      await out.write(c);
      fetched += c.length;
      onProgress?.(start + fetched, total);
    }
  } finally {
    await out.close();
  }
  if (length !== undefined && fetched !== length) {
    throw new MacridError(`${url}: the transfer stopped after ${fetched} of ${length} bytes`);
  }
  return { fetched, resumed };
}

/** Downloads, verifies and extracts one GroupLens archive (see the module doc). */
export async function downloadDataset(options: DownloadOptions): Promise<DownloadResult> {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError(
      `'options' passed to downloadDataset() must be an object but got ${String(options)}`,
    );
  }
  const info = DOWNLOADS[options.name];
  if (!info) {
    throw new InvalidArgumentError(
      `'name' passed to downloadDataset() must be one of ${Object.keys(DOWNLOADS).join(', ')} but got '${options.name}'`,
    );
  }
  const md5 = options.md5?.toLowerCase();
  if (md5 !== undefined && !/^[0-9a-f]{32}$/.test(md5)) {
    throw new InvalidArgumentError(`'md5' passed to downloadDataset() must be 32 hex digits but got '${options.md5}'`);
  }
  const base = options.baseUrl ?? process.env.MACRIDVAE_DATA_BASE_URL ?? DEFAULT_BASE_URL;
  let url: URL;
  try {
    url = new URL(info.file, base.endsWith('/') ? base : `${base}/`);
  } catch {
    throw new InvalidArgumentError(`'baseUrl' passed to downloadDataset() is not a URL: '${base}'`);
  }
  client(url);
  const outDir = resolve(options.out ?? 'data');
  const dest = join(outDir, options.name);
  if (existsSync(join(dest, MARKER))) {
    const rec = JSON.parse(await readFile(join(dest, MARKER), 'utf8')) as DownloadResult;
    return { ...rec, dir: dest, reused: true, fetched: 0, resumed: 0 };
  }
  if (existsSync(dest)) {
    throw new OutputConflictError(
      `${dest} exists but was not made by 'data download' (it holds ${describeContents(dest)}); move it away first`,
    );
  }
  try {
    await mkdir(outDir, { recursive: true });
  } catch (e) {
    throw fileError(e, 'create', outDir);
  }
  const lock = lockOutput(dest);
  try {
    return await fetchAndExtract(options, info, url, md5, outDir, dest);
  } finally {
    lock.release();
  }
}

async function fetchAndExtract(
  options: DownloadOptions,
  info: { file: string },
  url: URL,
  md5In: string | undefined,
  outDir: string,
  dest: string,
): Promise<DownloadResult> {
  let md5 = md5In;
  if (md5 === undefined) {
    const md5Url = new URL(`${info.file}.md5`, url);
    const r = await fetchText(md5Url, { ca: options.ca });
    const m = /\b([0-9a-fA-F]{32})\b/.exec(r.text);
    if (r.status !== 200 || !m) {
      throw new MacridError(
        `cannot get the published checksum ${md5Url} (HTTP ${r.status}); pass the archive's MD5 with --md5 to verify it yourself`,
      );
    }
    md5 = m[1].toLowerCase();
  }
  const archive = join(outDir, info.file);
  const part = `${archive}.part`;
  let fetched = 0;
  let resumedCount = 0;
  // An archive already there is the user's (or an earlier --keep-archive): used when it verifies,
  // never deleted.
  const preExisting = existsSync(archive);
  if (preExisting && (await fileDigest(archive, 'md5')) !== md5) {
    throw new OutputConflictError(
      `${archive} exists but its MD5 is not the expected ${md5}; move it away (macridvae does not delete files it did not write)`,
    );
  }
  if (!preExisting) {
    const attempts = Math.max(1, options.attempts ?? 4);
    let lastError: unknown;
    for (let a = 0; a < attempts; a++) {
      try {
        const t = await transfer(url, part, { ca: options.ca }, options.onProgress);
        fetched += t.fetched;
        if (t.resumed) resumedCount++;
        lastError = undefined;
        break;
      } catch (e) {
        lastError = e;
      }
    }
    if (lastError !== undefined) {
      throw new MacridError(
        `downloading ${url} failed after ${attempts} attempts (${(lastError as Error).message}); run again to resume from ${part}`,
        { cause: lastError },
      );
    }
    const got = await fileDigest(part, 'md5');
    if (got !== md5) {
      rmSync(part, { force: true });
      throw new MacridError(`${url}: MD5 ${got} does not match the expected ${md5}; the partial file was removed`);
    }
    renameSync(part, archive);
  }
  const sha256 = await fileDigest(archive, 'sha256');
  const bytes = statSync(archive).size;
  const result: DownloadResult = {
    name: options.name,
    dir: dest,
    url: url.toString(),
    md5: md5!,
    sha256,
    bytes,
    files: [],
    reused: false,
    fetched,
    resumed: resumedCount,
  };
  await writeDirAtomic(dest, async (tmp) => {
    const stage = join(tmp, '.extract');
    await mkdir(stage);
    result.files = await extractZip(archive, stage);
    // Archives hold one top folder (ml-20m/, ml-10M100K/ …): its contents become OUT/NAME.
    const top = readdirSync(stage);
    const inner = top.length === 1 && statSync(join(stage, top[0])).isDirectory() ? join(stage, top[0]) : stage;
    for (const f of readdirSync(inner)) await rename(join(inner, f), join(tmp, f));
    await rm(stage, { recursive: true, force: true });
    await writeFile(join(tmp, MARKER), `${JSON.stringify(result, null, 2)}\n`);
  });
  if (!options.keepArchive && !preExisting) rmSync(archive, { force: true });
  return result;
}
