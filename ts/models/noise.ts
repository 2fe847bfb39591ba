/**
 * Seeded noise for training steps. Every step draws from its own stream, derived from the run seed and
 * the step number, so a resumed run draws exactly what an uninterrupted one would (no generator state
 * has to be saved beyond the step counter).
 */

import { kernels } from '../runtime/kernels.js';
import { Rng } from '../util/rng.js';

/** Mixes 32-bit integers into one seed (murmur3's finalizer over a running hash). */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    let k = Math.imul(p >>> 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Streams of one step, named so that adding a stream never shifts another. */
export const STREAM = { dropout: 1, gumbel: 2, epsilon: 3, hidden: 4 } as const;

/** A seeded source of the noise kinds the models use (bulk draws in the Rust core; `uniform` in TS for initializers). */
export class Noise {
  private readonly rng: Rng;
  constructor(
    private readonly seed: number,
    private readonly stream: number,
  ) {
    this.rng = new Rng(mixSeed(seed, stream));
  }

  /** Uniform on `[lo, hi)`. */
  uniform(n: number, lo = 0, hi = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * this.rng.next();
    return out;
  }

  private draws = 0;

  /** The 64-bit seed of this stream's next bulk draw (each draw gets its own generator). */
  private next(): { seedHi: number; seedLo: number } {
    const d = this.draws++;
    return { seedHi: mixSeed(this.seed, this.stream, d, 1), seedLo: mixSeed(this.seed, this.stream, d, 2) };
  }

  /** Standard normals (ziggurat, in the Rust core). */
  normal(n: number): Float32Array {
    return kernels.noise({ kind: 'normal', n, ...this.next() });
  }

  /** Standard Gumbel noise `−log(−log u)`, `u` clamped to `[1e-10, 1 − 1e-7]` as the reference does. */
  gumbel(n: number): Float32Array {
    return kernels.noise({ kind: 'gumbel', n, ...this.next() });
  }

  /** Inverted-dropout multipliers: `1/keep` with probability `keep`, else 0 (all ones when `keep` is 1). */
  dropout(n: number, keep: number): Float32Array {
    return kernels.noise({ kind: 'dropout', n, keep, ...this.next() });
  }
}
