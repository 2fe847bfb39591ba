/**
 * The fused decoder (`mixDecoderTrain` / `mixDecoderLogProbs` of `ts/wasm/nn.ts`) split over users
 * across the worker pool: each worker gets a contiguous slice of the batch's users with the shared item
 * matrices, computes its users' loss, `dz` rows and its partial `dh`/`dc`/`dbias`, and the partials are
 * summed here. With one thread (or a small batch) it runs on the calling thread.
 */
import { csrSliceRows } from '../csr.js';
import type { MixDecoderArgs, MixDecoderGrads, MixDecoderTrainArgs, SampledNegatives } from '../wasm/nn.js';
import { mixDecoderLogProbs, mixDecoderTrain } from '../wasm/nn.js';
import { threadInstance } from '../wasm/raw.js';
import type { KernelPool } from '../workers/pool.js';

/** Where the heavy kernels run. */
export interface Runtime {
  /** The worker pool; absent: everything runs on the calling thread. */
  pool?: KernelPool;
  /** How many parts a batch is split into (at most the pool's threads). */
  threads: number;
  /** Below this many multiply-adds (users·K·items·d) one thread does the work; default 2e7. */
  minWork?: number;
}

const MIN_SPLIT_WORK = 2e7;

/** Into how many slices of users a batch is split: 1 without a pool or below `minWork` multiply-adds. */
export function sliceCount(rt: Runtime, users: number, work: number): number {
  if (!rt.pool || rt.threads <= 1) return 1;
  if (work < (rt.minWork ?? MIN_SPLIT_WORK)) return 1;
  return Math.max(1, Math.min(rt.threads, rt.pool.threads, users));
}

function parts(rt: Runtime, a: MixDecoderArgs): number {
  return sliceCount(rt, a.users, a.users * a.concepts * a.items * a.d);
}

/** `n` contiguous slices `[lo, hi)` of `users` rows, as even as possible. */
export function bounds(users: number, n: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let p = 0; p < n; p++) out.push([Math.floor((p * users) / n), Math.floor(((p + 1) * users) / n)]);
  return out;
}

/** `into += add`, element-wise. */
export function sum(into: Float32Array, add: Float32Array): void {
  for (let i = 0; i < into.length; i++) into[i] += add[i];
}

/** Loss and gradients of the fused decoder (optionally sampled softmax), users split across the pool. */
export async function decoderTrain(
  rt: Runtime,
  a: MixDecoderTrainArgs & { sampled?: SampledNegatives },
): Promise<MixDecoderGrads> {
  const n = parts(
    rt,
    a.sampled ? { ...a, items: a.sampled.items.length + a.x.indices.length / Math.max(1, a.users) } : a,
  );
  if (n === 1 || !rt.pool) return mixDecoderTrain(threadInstance(), a);
  const pool = rt.pool;
  const row = a.concepts * a.d;
  const results = await Promise.all(
    bounds(a.users, n).map(([lo, hi]) =>
      pool.run('mixDecoderTrain', {
        ...a,
        users: hi - lo,
        z: a.z.slice(lo * row, hi * row),
        x: csrSliceRows(a.x, lo, hi),
      }),
    ),
  );
  const out: MixDecoderGrads = {
    loss: new Float32Array(a.users),
    dz: new Float32Array(a.users * row),
    dh: results[0].dh,
    dc: results[0].dc,
    dbias: results[0].dbias,
  };
  bounds(a.users, n).forEach(([lo], p) => {
    out.loss.set(results[p].loss, lo);
    out.dz.set(results[p].dz, lo * row);
    if (p > 0) {
      sum(out.dh, results[p].dh);
      if (out.dc && results[p].dc) sum(out.dc, results[p].dc as Float32Array);
      if (out.dbias && results[p].dbias) sum(out.dbias, results[p].dbias as Float32Array);
    }
  });
  return out;
}

/** Log-probabilities of every item for every user (`users × items`), users split across the pool. */
export async function decoderLogProbs(rt: Runtime, a: MixDecoderArgs): Promise<Float32Array> {
  const n = parts(rt, a);
  if (n === 1 || !rt.pool) return mixDecoderLogProbs(threadInstance(), a);
  const pool = rt.pool;
  const row = a.concepts * a.d;
  const b = bounds(a.users, n);
  const results = await Promise.all(
    b.map(([lo, hi]) => pool.run('mixDecoderLogProbs', { ...a, users: hi - lo, z: a.z.slice(lo * row, hi * row) })),
  );
  const out = new Float32Array(a.users * a.items);
  b.forEach(([lo], p) => {
    out.set(results[p], lo * a.items);
  });
  return out;
}
