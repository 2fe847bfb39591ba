/**
 * The synthetic generator (Rust core, `crates/macrid-core/src/synth.rs`) streamed to disk: a batch of
 * users at a time goes from WASM memory to the output files, so even the Netflix-shaped preset (100M
 * ratings, ≈2.6 GB of CSV) never sits in memory.
 *
 * Output directory (written atomically): `ratings.csv` (MovieLens format, `userId,movieId,rating,
 * timestamp`), `movies.csv` (title `Item N`, genre = the planted concept `conceptK`), `item_concepts.csv`
 * (`movieId,concept`), `user_intentions.csv` (`userId,concepts,weights`, `|`-separated) and `synth.json`
 * (the parameters and counts). Re-running with the same preset, seed and sizes reuses the directory; a
 * different request is refused unless `force`.
 */
import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { writeDirAtomic } from '../util/fs.js';
import { checkOutput, lockOutput, writeMarker } from '../util/output.js';
import { checkInt, checkObject, checkPath } from '../validate.js';
import { SynthGenerator, type SynthOptions } from '../wasm/data.js';
import { WasmInstance } from '../wasm/raw.js';

/** The presets (see `SynthOptions::preset` in the Rust core for their shapes). */
export const SYNTH_PRESETS = ['tiny', 'ml-1m', 'ml-20m', 'netflix'] as const;

export interface SynthesizeOptions extends Partial<SynthOptions> {
  preset: string;
  out: string;
  force?: boolean;
  /** Users generated per WASM call (default 2000). */
  batchUsers?: number;
  onProgress?: (usersDone: number, users: number) => void;
}

export interface SynthSummary {
  users: number;
  items: number;
  concepts: number;
  ratings: number;
  highRatings: number;
  seed: number;
  preset: string;
  [key: string]: unknown;
}

export interface SynthesizeResult {
  dir: string;
  summary: SynthSummary;
  reused: boolean;
  seconds: number;
  bytes: number;
}

class Sink {
  private readonly ws;
  private readonly failed: Promise<never>;
  bytes = 0;
  constructor(path: string) {
    this.ws = createWriteStream(path);
    this.failed = once(this.ws, 'error').then(([e]) => {
      throw e;
    });
    this.failed.catch(() => undefined);
  }
  async write(b: Uint8Array): Promise<void> {
    if (b.length === 0) return;
    this.bytes += b.length;
    if (!this.ws.write(b)) await Promise.race([once(this.ws, 'drain'), this.failed]);
  }
  async close(): Promise<void> {
    this.ws.end();
    await Promise.race([once(this.ws, 'finish'), this.failed]);
  }
}

function request(o: SynthesizeOptions): Record<string, unknown> {
  return {
    preset: o.preset,
    seed: o.seed ?? 98765,
    users: o.users ?? null,
    items: o.items ?? null,
    ratings: o.ratings ?? null,
    concepts: o.concepts ?? null,
    minUserRatings: o.minUserRatings ?? null,
  };
}

/** Generates a synthetic dataset directory (or reuses an identical one). */
export async function synthesize(options: SynthesizeOptions): Promise<SynthesizeResult> {
  checkObject('synthesize', 'options', options);
  checkPath('synthesize', 'out', options.out);
  const t0 = performance.now();
  const fn = 'synthesize';
  if (!(SYNTH_PRESETS as readonly string[]).includes(options.preset)) {
    throw new InvalidArgumentError(
      `'preset' passed to ${fn}() must be one of ${SYNTH_PRESETS.join(', ')} but got '${options.preset}'`,
    );
  }
  checkInt(fn, 'seed', options.seed ?? 98765, 0);
  const batch = checkInt(fn, 'batchUsers', options.batchUsers ?? 2000, 1, 1 << 20);
  const out = resolve(options.out);
  const req = request(options);
  const metaPath = join(out, 'synth.json');
  const lock = lockOutput(out);
  try {
    return await generate(options, out, req, metaPath, batch, t0);
  } finally {
    lock.release();
  }
}

async function generate(
  options: SynthesizeOptions,
  out: string,
  req: ReturnType<typeof request>,
  metaPath: string,
  batch: number,
  t0: number,
): Promise<SynthesizeResult> {
  const state = checkOutput(options.out, 'synthetic', { option: 'output', force: options.force });
  if (state === 'owned' && !options.force) {
    let prev: { request?: unknown; summary?: SynthSummary } | undefined;
    try {
      prev = JSON.parse(readFileSync(metaPath, 'utf8'));
    } catch {
      prev = undefined;
    }
    if (!prev?.summary || JSON.stringify(prev.request) !== JSON.stringify(req)) {
      throw new InvalidArgumentError(
        `${options.out} exists and is not the same synthetic dataset (wanted ${JSON.stringify(req)}, found ${
          prev ? JSON.stringify(prev.request) : 'no synth.json'
        }); pass --force (force: true) to replace it`,
      );
    }
    return { dir: out, summary: prev.summary, reused: true, seconds: (performance.now() - t0) / 1000, bytes: 0 };
  }
  const inst = new WasmInstance();
  const gen = new SynthGenerator(inst, { ...options, seed: options.seed ?? 98765 });
  try {
    return await writeDirAtomic(out, async (tmp) => {
      writeMarker(tmp, 'synthetic');
      const ratings = new Sink(join(tmp, 'ratings.csv'));
      const intentions = new Sink(join(tmp, 'user_intentions.csv'));
      await ratings.write(Buffer.from('userId,movieId,rating,timestamp\n'));
      await intentions.write(Buffer.from('userId,concepts,weights\n'));
      let done = 0;
      const total = JSON.parse(Buffer.from(gen.part('summary')).toString('utf8')).users as number;
      for (;;) {
        const b = gen.next(batch);
        if (b.ratings.length === 0 && b.intentions.length === 0) break;
        await ratings.write(b.ratings);
        await intentions.write(b.intentions);
        done = Math.min(total, done + batch);
        options.onProgress?.(done, total);
      }
      await ratings.close();
      await intentions.close();
      await writeFile(join(tmp, 'item_concepts.csv'), gen.part('itemConcepts'));
      await writeFile(join(tmp, 'movies.csv'), gen.part('movies'));
      const summary = {
        preset: options.preset,
        ...JSON.parse(Buffer.from(gen.part('summary')).toString('utf8')),
      } as SynthSummary;
      await writeFile(join(tmp, 'synth.json'), `${JSON.stringify({ request: req, summary }, null, 2)}\n`);
      return { dir: out, summary, reused: false, seconds: (performance.now() - t0) / 1000, bytes: ratings.bytes };
    });
  } finally {
    gen.free();
  }
}
