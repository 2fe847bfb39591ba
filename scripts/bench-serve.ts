/**
 * bench-serve: throughput of TF.js-free serving (`ServingRecommender.recommend`: fold-in encoding,
 * scores over all items and top 20 per user, own history skipped, one `serveTopK` kernel call per group
 * of users split over the pool) for a MacridVAE (K = 7, d = 100; weights as initialized: the cost does
 * not depend on their values) over ML-1M-shaped (3,706 items) and ML-20M-shaped (20,108 items)
 * catalogues, USERS users with 50 random clicks each, on the calling thread and on a pool of THREADS
 * workers (all cores by default).
 *
 * Scoring is a GEMM of `2·K·d·M` FLOP per user (28 MFLOP at M = 20,108), so next to users/s the bench
 * prints the GFLOP/s this reaches and, measured in the same run on the same threads, the GEMM kernel's
 * own rate (`gemmPeak`: the kernel alone, operands already in WASM memory, one product per thread at
 * once, the better of the decoder's shape and the fused kernel's cache-resident block; the mean of a
 * measurement just before and one just after), and the ratio of the two: the median over ROUNDS such
 * timed runs, with their range (a shared machine's load drifts within seconds). Scoring is the fused
 * `mixTopK` kernel (decoder GEMM per item tile + top k, `crates/macrid-core/src/serve.rs`).
 *
 * Usage: tsx scripts/bench-serve.ts   (env: USERS, default 3000; THREADS, default all cores; BATCH, default 256;
 *        ROUNDS, default 5)
 */
import { availableParallelism } from 'node:os';
import { resolveModelConfig } from '../ts/models/config.js';
import { createModel } from '../ts/models/index.js';
import { Runtime } from '../ts/runtime/runtime.js';
import { scoringModel } from '../ts/serve/scoring-model.js';
import { ServingRecommender } from '../ts/serve/service.js';
import { selectBackend } from '../ts/tf/backend.js';
import { columnIds } from '../ts/train/catalog.js';
import { Rng } from '../ts/util/rng.js';
import { KernelPool } from '../ts/workers/pool.js';

const users = Number(process.env.USERS ?? 3000);
const threads = Number(process.env.THREADS ?? availableParallelism());
const batchSize = Number(process.env.BATCH ?? 256);
const rounds = Number(process.env.ROUNDS ?? 5);
const K = 7;
const d = 100;

function histories(items: number, seed: number, n: number): string[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const s = new Set<number>();
    while (s.size < 50) s.add(rng.int(items));
    return [...s].map(String);
  });
}

/**
 * The GEMM kernel's rate on `n` threads at once (pool workers, or this thread when n = 1): the higher of
 * two shapes — the decoder's whole product for a chunk of users (8·K rows × d against d × items) and
 * the fused kernel's own block (126 rows × d against one tile of 256 items, cache-resident), the same
 * FLOP each — so the peak is the kernel's best, not a memory-bound shape the fused kernel avoids.
 */
async function gemmRate(runtime: Runtime, n: number, items: number): Promise<number> {
  const whole = { m: 8 * K, n: items, k: d, reps: 20 };
  const tile = { m: 126, n: 256, k: d, reps: Math.ceil((20 * 8 * K * items) / (126 * 256)) };
  let best = 0;
  for (const args of [whole, tile]) {
    const runs = await Promise.all(Array.from({ length: n }, () => runtime.run('gemmPeak', args)));
    best = Math.max(
      best,
      runs.reduce((a, r) => a + r.gflops, 0),
    );
  }
  return best;
}

async function main(): Promise<void> {
  await selectBackend('wasm');
  const pool = threads > 1 ? new KernelPool({ threads }) : undefined;
  console.log(
    `bench:serve — ${users} users × 50 clicks, top 20, MacridVAE K=${K} d=${d}, groups of ${batchSize} users, no TF.js at scoring (shared machine: ratios, not absolutes)`,
  );
  for (const items of [3706, 20108]) {
    const model = createModel(resolveModelConfig('macridvae', { concepts: K, d }), items, { seed: 1 });
    const m = scoringModel({ config: model.config, items, weights: model.getWeights() });
    model.dispose();
    const flopPerUser = 2 * K * d * items;
    const x = histories(items, items, users);
    for (const [label, n, p] of [
      ['1 thread', 1, undefined],
      ...(pool ? [[`pool of ${threads}`, threads, pool] as const] : []),
    ] as const) {
      const rec = new ServingRecommender(
        m,
        { ids: columnIds(items), popularity: new Array(items).fill(1) },
        {
          pool: p,
          batchSize,
        },
      );
      await rec.recommend(histories(items, 7, Math.min(users, batchSize)), { k: 20 });
      // The GEMM kernel's rate just before and just after each timed run (the load of a shared machine
      // drifts): their mean is that run's peak. ROUNDS such runs; the line shows the median ratio.
      const runtime = p ? rec.runtime : new Runtime();
      const runs: { rate: number; peak: number; ratio: number }[] = [];
      for (let r = 0; r < rounds; r++) {
        const before = await gemmRate(runtime, n, items);
        const t0 = performance.now();
        await rec.recommend(x, { k: 20 });
        const s = (performance.now() - t0) / 1000;
        const after = await gemmRate(runtime, n, items);
        const peak = (before + after) / 2;
        const rate = users / s;
        runs.push({ rate, peak, ratio: (rate * flopPerUser) / 1e9 / peak });
      }
      runs.sort((a, b) => a.ratio - b.ratio);
      const mid = runs[runs.length >> 1];
      const gflops = (mid.rate * flopPerUser) / 1e9;
      const pct = (v: number) => `${(100 * v).toFixed(0)}%`;
      console.log(
        `  ${String(items).padStart(6)} items  ${label.padEnd(10)} ${mid.rate.toFixed(0).padStart(6)} users/s  ${gflops.toFixed(1).padStart(5)} GFLOP/s  GEMM kernel ${mid.peak.toFixed(1).padStart(5)} GFLOP/s  → ${pct(mid.ratio)} of it (median of ${rounds} rounds; ${pct(runs[0].ratio)}–${pct(runs[runs.length - 1].ratio)})`,
      );
    }
  }
  await pool?.close();
}

await main();
