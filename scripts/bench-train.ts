/**
 * bench-train: training speed of the three models on the embedded backend, against the PyTorch
 * reference's numbers on this machine (2 threads: 4.2 s per ML-1M-shaped epoch, 4.5 s per 500 × 20,000 step).
 *
 * Prints (human-readable, or one JSON object per line with --json):
 * - s/epoch (training only) and the validation evaluation time per model and backend on an ML-1M-shaped
 *   synthetic set (6,038 users, 3,533 items, ~575k clicks; 500 validation + 500 test users), with the
 *   share of time in concepts / encoder / decoder / optimizer / evaluation;
 * - one MacridVAE training step of 500 users on 20,000 items (K = 7, d = 100);
 * - peak RSS of the process; with --ml20m, also a few steps on an ML-20M-shaped set (136,677 users,
 *   20,108 items, ~10M clicks) and its peak RSS.
 *
 * Usage: tsx scripts/bench-train.ts [--epochs 3] [--threads 2] [--models macridvae,multvae,multdae]
 *        [--backends wasm,cpu] [--ml20m] [--json]
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { csrFromRows, csrGatherRows } from '../ts/csr.js';
import type { SplitData } from '../ts/data/types.js';
import { type ModelKind, resolveModelConfig } from '../ts/models/config.js';
import { createModel } from '../ts/models/index.js';
import { PHASES, profileTimes, setProfiling } from '../ts/models/profile.js';
import { type BackendName, selectBackend } from '../ts/tf/backend.js';
import { Adam } from '../ts/train/optimizer.js';
import { trainModel } from '../ts/train/trainer.js';
import { Rng } from '../ts/util/rng.js';
import { KernelPool } from '../ts/workers/pool.js';

const { values: opt } = parseArgs({
  options: {
    epochs: { type: 'string', default: '3' },
    threads: { type: 'string', default: String(Math.min(2, availableParallelism())) },
    models: { type: 'string', default: 'macridvae,multvae,multdae' },
    backends: { type: 'string', default: 'wasm' },
    ml20m: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const epochs = Number(opt.epochs);
const threads = Number(opt.threads);

function out(obj: Record<string, unknown>, text: string): void {
  if (opt.json) console.log(JSON.stringify(obj));
  else console.log(text);
}

/** Normal(0,1) by Box–Muller. */
function gauss(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

/**
 * Users prefer 2–3 of 7 planted item categories; clicks per user ~ lognormal(logMu, 0.7) clipped to
 * [8, min(400, items/4)], 90% from the preferred categories by Pareto(1.5) popularity, 10% from overall
 * popularity (the PyTorch reference's `make_synthetic`).
 */
function synthesize(users: number, items: number, logMu: number, seed: number): number[][] {
  const rng = new Rng(seed);
  const cats = 7;
  const cat = Array.from({ length: items }, () => rng.int(cats));
  const pop = Array.from({ length: items }, () => (1 - rng.next()) ** (-1 / 1.5));
  const cum = (w: number[]) => {
    const c = new Float64Array(w.length);
    let s = 0;
    for (let i = 0; i < w.length; i++) c[i] = s += w[i];
    return c;
  };
  const draw = (c: Float64Array) => {
    const x = rng.next() * c[c.length - 1];
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (c[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const all = cum(pop);
  const byCat = Array.from({ length: cats }, (_, k) => {
    const ids = pop.map((_, i) => i).filter((i) => cat[i] === k);
    return { ids, c: cum(ids.map((i) => pop[i])) };
  });
  const rows: number[][] = [];
  for (let u = 0; u < users; u++) {
    const prefs = new Set<number>();
    const np = 2 + rng.int(2);
    while (prefs.size < np) prefs.add(rng.int(cats));
    const pl = [...prefs];
    const n = Math.round(Math.min(Math.max(Math.exp(logMu + 0.7 * gauss(rng)), 8), Math.min(400, items / 4)));
    const row = new Set<number>();
    let guard = 0;
    while (row.size < n && guard++ < 50 * n) {
      if (rng.next() < 0.1) row.add(draw(all));
      else {
        const g = byCat[pl[rng.int(pl.length)]];
        row.add(g.ids[draw(g.c)]);
      }
    }
    rows.push([...row].sort((a, b) => a - b));
  }
  return rows;
}

/** Strong-generalization split of synthetic rows: the last 2·heldout users held out, 20% of their clicks as target. */
function split(rows: number[][], items: number, heldout: number, seed: number): SplitData {
  const rng = new Rng(seed);
  const n = rows.length - 2 * heldout;
  const held = (rs: number[][]) => {
    const foldIn: number[][] = [];
    const target: number[][] = [];
    for (const r of rs) {
      const s = [...r];
      rng.shuffle(s);
      const k = Math.max(1, Math.floor(0.2 * s.length));
      target.push(s.slice(0, k).sort((a, b) => a - b));
      foldIn.push(s.slice(k).sort((a, b) => a - b));
    }
    return { foldIn: csrFromRows(foldIn, items), target: csrFromRows(target, items) };
  };
  return {
    items,
    train: csrFromRows(rows.slice(0, n), items),
    validation: held(rows.slice(n, n + heldout)),
    test: held(rows.slice(n + heldout)),
  };
}

function peakRssMiB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

async function main(): Promise<void> {
  const pool = threads > 1 ? new KernelPool({ threads }) : undefined;
  const runtime = { pool, threads };
  let t0 = performance.now();
  const ml1m = split(synthesize(6038, 3533, 4.4, 1), 3533, 500, 2);
  const clicks = ml1m.train.indices.length + ml1m.validation.foldIn.indices.length + ml1m.validation.target.indices.length;
  out(
    { dataset: 'ml-1m-shaped', users: 6038, items: 3533, trainClicks: ml1m.train.indices.length, seconds: (performance.now() - t0) / 1000 },
    `ML-1M-shaped synthetic set: 6038 users × 3533 items, ${ml1m.train.indices.length} training clicks (+${clicks - ml1m.train.indices.length} held out), generated in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${threads} thread(s)`,
  );
  for (const backend of opt.backends.split(',') as BackendName[]) {
    await selectBackend(backend);
    for (const kind of opt.models.split(',') as ModelKind[]) {
      const perEpoch: number[] = [];
      const evalS: number[] = [];
      setProfiling(true);
      const r = await trainModel({
        model: resolveModelConfig(kind),
        train: { epochs },
        data: ml1m,
        runtime,
        onEpoch: (e) => {
          perEpoch.push(e.seconds);
          evalS.push(e.evalSeconds);
        },
      });
      const prof = profileTimes();
      setProfiling(false);
      r.model.dispose();
      const total = PHASES.reduce((s, p) => s + prof[p], 0);
      // The first epoch includes worker start-up and WASM memory growth; report the median of the rest.
      const steady = perEpoch.length > 1 ? perEpoch.slice(1) : perEpoch;
      const median = [...steady].sort((a, b) => a - b)[Math.floor(steady.length / 2)];
      const shares = Object.fromEntries(PHASES.map((p) => [p, Number((prof[p] / total).toFixed(3))]));
      out(
        { bench: 'epoch', backend, model: kind, threads, secondsPerEpoch: median, epochs: perEpoch, evalSeconds: evalS, shares, peakRssMiB: peakRssMiB() },
        `  ${backend.padEnd(5)} ${kind.padEnd(10)} ${median.toFixed(2)} s/epoch (epochs: ${perEpoch.map((s) => s.toFixed(2)).join(', ')}), validation ${evalS[evalS.length - 1].toFixed(2)} s; ` +
          PHASES.map((p) => `${p} ${(100 * shares[p]).toFixed(0)}%`).join(', '),
      );
    }
  }

  await selectBackend('wasm');
  t0 = performance.now();
  const M = 20000;
  const big = synthesize(500, M, 4.2, 3);
  const batch = csrFromRows(big, M);
  const model = createModel(resolveModelConfig('macridvae'), M, { seed: 1, runtime });
  const adam = new Adam({ lr: 1e-3 });
  const steps: number[] = [];
  setProfiling(true);
  for (let s = 0; s < 4; s++) {
    const ts = performance.now();
    const { grads } = await model.gradients(batch, { beta: 0.2, l2: 0, noiseSeed: s });
    adam.apply(model.variables, grads);
    for (const g of grads.values()) g.dispose();
    steps.push((performance.now() - ts) / 1000);
  }
  const prof = profileTimes();
  setProfiling(false);
  adam.dispose();
  model.dispose();
  const steady = steps.slice(1).sort((a, b) => a - b);
  const total = PHASES.reduce((s, p) => s + prof[p], 0);
  out(
    { bench: 'step', model: 'macridvae', users: 500, items: M, clicks: batch.indices.length, threads, seconds: steady[1], steps, shares: Object.fromEntries(PHASES.map((p) => [p, Number((prof[p] / total).toFixed(3))])), peakRssMiB: peakRssMiB() },
    `one MacridVAE step, 500 users × ${M} items (K=7, d=100, ${batch.indices.length} clicks): ${steady[1].toFixed(2)} s (steps: ${steps.map((s) => s.toFixed(2)).join(', ')}); ` +
      PHASES.filter((p) => p !== 'evaluation').map((p) => `${p} ${((100 * prof[p]) / total).toFixed(0)}%`).join(', '),
  );

  if (opt.ml20m) {
    t0 = performance.now();
    const rows = synthesize(136677, 20108, 3.9, 4);
    const data = split(rows, 20108, 10000, 5);
    const genS = (performance.now() - t0) / 1000;
    const m = createModel(resolveModelConfig('macridvae'), 20108, { seed: 1, runtime });
    const a = new Adam({ lr: 1e-3 });
    const order = Array.from({ length: 500 * 5 }, (_, i) => i);
    const ts = performance.now();
    for (let s = 0; s < 5; s++) {
      const { grads } = await m.gradients(csrGatherRows(data.train, order.slice(s * 500, (s + 1) * 500)), { beta: 0.2, l2: 0, noiseSeed: s });
      a.apply(m.variables, grads);
      for (const g of grads.values()) g.dispose();
    }
    const perStep = (performance.now() - ts) / 5000;
    await m.score(csrGatherRows(data.validation.foldIn, order.slice(0, 500)));
    a.dispose();
    m.dispose();
    out(
      { bench: 'ml-20m', users: 136677, items: 20108, trainClicks: data.train.indices.length, generateSeconds: genS, secondsPerStep: perStep, stepsPerEpoch: Math.ceil(116677 / 500), peakRssMiB: peakRssMiB() },
      `ML-20M-shaped (136,677 × 20,108, ${data.train.indices.length} training clicks): ${perStep.toFixed(2)} s/step, ~${((perStep * Math.ceil(116677 / 500)) / 60).toFixed(1)} min/epoch; peak RSS ${peakRssMiB()} MiB`,
    );
  }
  out({ peakRssMiB: peakRssMiB(), tensors: tf.memory().numTensors }, `peak RSS ${peakRssMiB()} MiB`);
  await pool?.close();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
