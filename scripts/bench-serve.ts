/**
 * bench-serve: throughput of `Recommender.recommend` (top 20 per user, own history skipped) for a
 * MacridVAE (K = 7, d = 100, weights as initialized: the cost does not depend on their values) over
 * ML-1M-shaped (3,706 items) and ML-20M-shaped (20,108 items) catalogues, for USERS users with 50
 * random clicks each, on the calling thread and on a pool of THREADS workers; with `--explain` too.
 *
 * Usage: tsx scripts/bench-serve.ts   (env: USERS, default 5000; THREADS, default min(2, cores))
 */
import { availableParallelism } from 'node:os';
import { csrFromRows } from '../ts/csr.js';
import { resolveModelConfig } from '../ts/models/config.js';
import { createModel } from '../ts/models/index.js';
import { Recommender } from '../ts/serve/recommender.js';
import { selectBackend } from '../ts/tf/backend.js';
import { Rng } from '../ts/util/rng.js';
import { KernelPool } from '../ts/workers/pool.js';

const users = Number(process.env.USERS ?? 5000);
const threads = Number(process.env.THREADS ?? Math.min(2, availableParallelism()));

function histories(items: number, seed: number) {
  const rng = new Rng(seed);
  return Array.from({ length: users }, () => {
    const s = new Set<number>();
    while (s.size < 50) s.add(rng.int(items));
    return [...s].sort((a, b) => a - b);
  });
}

async function main(): Promise<void> {
  await selectBackend('wasm');
  const pool = threads > 1 ? new KernelPool({ threads }) : undefined;
  console.log(`recommend: ${users} users × 50 clicks, top 20, MacridVAE K=7 d=100, backend wasm`);
  for (const items of [3706, 20108]) {
    const x = csrFromRows(histories(items, items), items);
    for (const [label, runtime] of [
      ['1 thread', { threads: 1 }],
      ...(pool ? [[`pool of ${threads}`, { pool, threads }] as const] : []),
    ] as const) {
      const model = createModel(resolveModelConfig('macridvae'), items, { seed: 1, runtime });
      const rec = new Recommender(model, runtime);
      for (const explain of [false, true]) {
        await rec.recommend(csrFromRows(histories(items, 7).slice(0, 500), items), { k: 20, explain });
        const t0 = performance.now();
        await rec.recommend(x, { k: 20, explain });
        const s = (performance.now() - t0) / 1000;
        console.log(
          `  ${String(items).padStart(6)} items  ${label.padEnd(10)} ${explain ? 'explain' : '       '}  ${(users / s).toFixed(0).padStart(6)} users/s  (${s.toFixed(2)} s)`,
        );
      }
      rec.dispose();
    }
  }
  await pool?.close();
}

await main();
