/**
 * bench-train: training speed of the three models on the embedded backend, with the PyTorch reference
 * (../shared/reference/torch, `/usr/bin/python3` with python3-torch) run in the same invocation on the same
 * ratings and printed as ratios (the machine is shared, so only same-run ratios mean anything):
 * - ML-1M-shaped: the reference's `macridvae.py` trains `--epochs` epochs on the preset's ratings.csv
 *   (same 500 held-out users, same thread count); ratio = our median s/epoch ÷ the reference's median
 *   training s/epoch. `--repeat R` alternates ours and the reference R times and prints each ratio.
 * - ML-20M-shaped: a reference epoch is hours on 2 cores, so both sides time training steps on the SAME
 *   batch of 500 users × 20,108 items (`scripts/reference-steps.py` for the reference, full softmax) and the
 *   epoch is extrapolated as steps × ⌈116,677 training users / 500⌉ = 234 steps; ours is timed with the
 *   full softmax and with the sampled one (S = 1000 shared negatives).
 *
 * Prints (human-readable, or one JSON object per line with --json):
 * - s/epoch (training only) and the validation evaluation time per model and backend on the data
 *   pipeline's ML-1M-shaped synthetic preset (`data synth --preset ml-1m`: 6,040 users, 3,706 items,
 *   1M ratings, ~575k clicks after the > 3.5 filter; reference split with 500 validation + 500 test
 *   users), with the share of time in concepts / encoder / decoder / optimizer / evaluation;
 * - one MacridVAE training step of 500 users on 20,000 items (K = 7, d = 100);
 * - peak RSS of the process.
 * - the tfjs training path (`--compute tfjs`, `ts/models/tfjs/`) next to the Rust path, per model and per
 *   tfjs backend in --tfjs-backends (default `wasm,cpu`, the backends this machine has; a GPU backend
 *   such as `webgpu` or `tensorflow-gpu` is measured when named and available): seconds per step over
 *   the preset's first --tfjs-steps batches (after one warm-up step), times the steps per epoch, for both
 *   paths in the same process — a whole tfjs epoch on a CPU backend takes minutes, hence per step.
 * With --ml20m instead: the ML-20M-shaped preset (prepared by a child process, so its memory does not
 * count), a few MacridVAE steps and a validation batch, and the training process's peak RSS.
 *
 * Datasets are cached under --cache (default: <tmpdir>/macridvae-bench) and reused when identical.
 *
 * Usage: tsx scripts/bench-train.ts [--epochs 3] [--threads 2] [--models macridvae,multvae,multdae]
 *        [--backends wasm,cpu] [--tfjs-backends wasm,cpu] [--tfjs-steps 3] [--ml20m] [--cache DIR] [--json]
 *        [--repeat 1] [--no-reference] [--reference ../shared/reference/torch] [--python /usr/bin/python3]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { csrGatherRows, csrRows } from '../ts/csr.js';
import { prepareDataset } from '../ts/data/prepare.js';
import { type Dataset, loadDataset } from '../ts/data/store.js';
import { synthesize } from '../ts/data/synth.js';
import { type ModelKind, resolveModelConfig, resolveTrainConfig } from '../ts/models/config.js';
import { createModel } from '../ts/models/index.js';
import { PHASES, profileTimes, setProfiling } from '../ts/models/profile.js';
import { type BackendName, selectBackend } from '../ts/tf/backend.js';
import { createStepRunner } from '../ts/train/compute.js';
import { Adam } from '../ts/train/optimizer.js';
import { drawNegatives, epochOrder, stepNoiseSeed, trainModel } from '../ts/train/trainer.js';
import { KernelPool } from '../ts/workers/pool.js';

const { values: opt } = parseArgs({
  options: {
    epochs: { type: 'string', default: '3' },
    threads: { type: 'string', default: String(Math.min(2, availableParallelism())) },
    models: { type: 'string', default: 'macridvae,multvae,multdae' },
    backends: { type: 'string', default: 'wasm' },
    'tfjs-backends': { type: 'string', default: 'wasm,cpu' },
    'tfjs-steps': { type: 'string', default: '3' },
    ml20m: { type: 'boolean', default: false },
    cache: { type: 'string', default: join(tmpdir(), 'macridvae-bench') },
    json: { type: 'boolean', default: false },
    reference: { type: 'string', default: join(process.cwd(), '..', 'shared', 'reference', 'torch') },
    'no-reference': { type: 'boolean', default: false },
    repeat: { type: 'string', default: '1' },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const repeat = Number(opt.repeat);
const withReference = !opt['no-reference'];
const epochs = Number(opt.epochs);
const cache = opt.cache;
const threads = Number(opt.threads);

function out(obj: Record<string, unknown>, text: string): void {
  if (opt.json) console.log(JSON.stringify(obj));
  else console.log(text);
}

/** A synthetic preset, synthesized and prepared (reference split) under the cache, reused when identical. */
async function preset(name: string, heldout: number, overrides: Record<string, number> = {}): Promise<Dataset> {
  const tag = [name, ...Object.entries(overrides).map(([k, v]) => `${k}${v}`)].join('-');
  const raw = join(cache, `${tag}-ratings`);
  const dir = join(cache, `${tag}-h${heldout}`);
  await synthesize({ preset: name, out: raw, ...overrides });
  await prepareDataset({ input: join(raw, 'ratings.csv'), out: dir, heldoutUsers: heldout, items: false });
  return loadDataset(dir);
}

function peakRssMiB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** The reference's JSON lines (one per epoch, then a result line) from running `script args…`. */
function reference(script: string, args: string[]): Array<Record<string, unknown>> {
  const text = execFileSync(opt.python, [join(opt.reference, script), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 26,
  });
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The reference's median training seconds per epoch on `ratings` (all but the first epoch when there are several). */
function referenceEpochs(ratings: string): { median: number; epochs: number[] } {
  const lines = reference('macridvae.py', [
    '--data',
    ratings,
    '--n_heldout',
    '500',
    '--epochs',
    String(epochs),
    '--threads',
    String(threads),
  ]);
  const train = lines.filter((l) => typeof l.train_s === 'number').map((l) => l.train_s as number);
  if (train.length === 0) throw new Error(`the reference printed no epochs (${JSON.stringify(lines.slice(-1))})`);
  return { median: median(train.length > 1 ? train.slice(1) : train), epochs: train };
}

async function main(): Promise<void> {
  const pool = threads > 1 ? new KernelPool({ threads }) : undefined;
  const runtime = { pool, threads };
  if (opt.ml20m) return ml20m(runtime);
  const t0 = performance.now();
  const ml1m = await preset('ml-1m', 500);
  const c = ml1m.manifest.counts;
  out(
    {
      dataset: 'ml-1m',
      users: c.users,
      items: c.items,
      trainClicks: c.trainInteractions,
      seconds: (performance.now() - t0) / 1000,
    },
    `ML-1M-shaped synthetic preset: ${c.users} users × ${c.items} items, ${c.trainInteractions} training clicks (${c.trainUsers} training users), ready in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${threads} thread(s)`,
  );
  const ratios: number[] = [];
  for (let rep = 0; rep < repeat; rep++)
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
          {
            bench: 'epoch',
            backend,
            model: kind,
            threads,
            secondsPerEpoch: median,
            epochs: perEpoch,
            evalSeconds: evalS,
            shares,
            peakRssMiB: peakRssMiB(),
          },
          `  ${backend.padEnd(5)} ${kind.padEnd(10)} ${median.toFixed(2)} s/epoch (epochs: ${perEpoch.map((s) => s.toFixed(2)).join(', ')}), validation ${evalS[evalS.length - 1].toFixed(2)} s; ` +
            PHASES.map((p) => `${p} ${(100 * shares[p]).toFixed(0)}%`).join(', '),
        );
        if (kind === 'macridvae' && withReference) {
          const ref = referenceEpochs(join(cache, 'ml-1m-ratings', 'ratings.csv'));
          const ratio = median / ref.median;
          ratios.push(ratio);
          out(
            {
              bench: 'epoch-vs-reference',
              backend,
              model: kind,
              threads,
              ours: median,
              reference: ref.median,
              referenceEpochs: ref.epochs,
              ratio,
            },
            `  reference  macridvae ${ref.median.toFixed(2)} s/epoch (epochs: ${ref.epochs.map((s) => s.toFixed(2)).join(', ')}) → ours/reference ${ratio.toFixed(2)}×`,
          );
        }
      }
    }
  if (ratios.length > 1) {
    out(
      { bench: 'epoch-vs-reference-summary', ratios, median: median(ratios) },
      `ML-1M-shaped MacridVAE epoch, ours/reference over ${ratios.length} runs: ${ratios.map((r) => r.toFixed(2)).join(', ')} (median ${median(ratios).toFixed(2)}×)`,
    );
  }

  await tfjsPath(ml1m, runtime);

  await selectBackend('wasm');
  // 500 users over 20,108 item columns (ML-20M's), with ML-20M's clicks per user; the same batch for the reference.
  const M = 20108;
  const STEPS_PER_EPOCH = Math.ceil(116_677 / 500);
  // One held-out user (a dataset must have validation users since issue 11's rule 6); only training rows are used.
  const pool20 = await preset('ml-20m', 1, { users: 2000, items: M, ratings: 290_000 });
  const b = csrGatherRows(
    pool20.train,
    Array.from({ length: 500 }, (_, i) => i),
  );
  const batch = { ...b, cols: M };
  const cfg = resolveTrainConfig('macridvae', { softmax: 'sampled', negatives: 1000 });
  const popularity = new Float32Array(M).fill(1);
  for (const i of pool20.train.indices) popularity[i]++;
  const timeSteps = async (sampled: boolean) => {
    const model = createModel(resolveModelConfig('macridvae'), M, { seed: 1, runtime });
    const adam = new Adam({ lr: 1e-3 });
    const steps: number[] = [];
    setProfiling(true);
    for (let s = 0; s < 4; s++) {
      const ts = performance.now();
      const neg = sampled ? drawNegatives(batch, cfg, popularity, s) : undefined;
      const { grads } = await model.gradients(batch, { beta: 0.2, l2: 0, noiseSeed: s, sampled: neg });
      adam.apply(model.variables, grads);
      for (const g of grads.values()) g.dispose();
      steps.push((performance.now() - ts) / 1000);
    }
    const prof = profileTimes();
    setProfiling(false);
    adam.dispose();
    model.dispose();
    const total = PHASES.reduce((s, p) => s + prof[p], 0);
    return { seconds: median(steps.slice(1)), steps, prof, total };
  };
  const stepLine = (label: string, r: Awaited<ReturnType<typeof timeSteps>>) =>
    `one MacridVAE step (${label}), 500 users × ${M} items (K=7, d=100, ${batch.indices.length} clicks): ${r.seconds.toFixed(2)} s (steps: ${r.steps.map((s) => s.toFixed(2)).join(', ')}); ` +
    PHASES.filter((p) => p !== 'evaluation')
      .map((p) => `${p} ${((100 * r.prof[p]) / r.total).toFixed(0)}%`)
      .join(', ');
  for (let rep = 0; rep < repeat; rep++) {
    const full = await timeSteps(false);
    out(
      { bench: 'step', softmax: 'full', users: 500, items: M, threads, seconds: full.seconds, steps: full.steps },
      stepLine('full softmax', full),
    );
    const samp = await timeSteps(true);
    out(
      {
        bench: 'step',
        softmax: 'sampled',
        negatives: 1000,
        users: 500,
        items: M,
        threads,
        seconds: samp.seconds,
        steps: samp.steps,
      },
      stepLine('sampled softmax, S = 1000', samp),
    );
    if (withReference) {
      const file = join(cache, 'ml-20m-step-batch.json');
      mkdirSync(cache, { recursive: true });
      writeFileSync(
        file,
        JSON.stringify({ items: M, indptr: Array.from(batch.indptr), indices: Array.from(batch.indices) }),
      );
      const r = execFileSync(
        opt.python,
        [
          join(process.cwd(), 'scripts', 'reference-steps.py'),
          '--batch',
          file,
          '--steps',
          '4',
          '--threads',
          String(threads),
          '--reference',
          opt.reference,
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const steps = (JSON.parse(r.trim().split('\n').pop() as string) as { steps: number[] }).steps;
      const ref = median(steps.slice(1));
      const epoch = (s: number) => (s * STEPS_PER_EPOCH).toFixed(0);
      out(
        {
          bench: 'step-vs-reference',
          items: M,
          threads,
          reference: ref,
          referenceSteps: steps,
          full: full.seconds,
          sampled: samp.seconds,
          fullRatio: full.seconds / ref,
          sampledRatio: samp.seconds / ref,
          stepsPerEpoch: STEPS_PER_EPOCH,
        },
        `  reference full-softmax step ${ref.toFixed(2)} s (steps: ${steps.map((s) => s.toFixed(2)).join(', ')}); ours/reference: full ${(full.seconds / ref).toFixed(2)}×, sampled ${(samp.seconds / ref).toFixed(2)}×; ` +
          `an ML-20M epoch (${STEPS_PER_EPOCH} steps, extrapolated): reference ${epoch(ref)} s, ours full ${epoch(full.seconds)} s, sampled ${epoch(samp.seconds)} s`,
      );
    }
  }

  out({ peakRssMiB: peakRssMiB(), tensors: tf.memory().numTensors }, `peak RSS ${peakRssMiB()} MiB`);
  await pool?.close();
}

/**
 * The tfjs path next to the Rust path on the same batches: seconds per optimizer step (median of
 * --tfjs-steps after a warm-up) and the implied seconds per epoch, per tfjs backend and model.
 */
async function tfjsPath(data: Dataset, runtime: { pool?: KernelPool; threads: number }): Promise<void> {
  const stepsPerEpoch = Math.ceil(csrRows(data.train) / 500);
  const order = epochOrder(csrRows(data.train), 1, 1);
  const n = Number(opt['tfjs-steps']);
  for (const backend of opt['tfjs-backends'].split(',').filter((b) => b !== '') as BackendName[]) {
    try {
      await selectBackend(backend);
    } catch (e) {
      out(
        { bench: 'tfjs-step', backend, unavailable: e instanceof Error ? e.message : String(e) },
        `  tfjs path on '${backend}': not measured (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`,
      );
      continue;
    }
    for (const kind of opt.models.split(',') as ModelKind[]) {
      const perStep: Record<'wasm' | 'tfjs', number> = { wasm: 0, tfjs: 0 };
      for (const compute of ['wasm', 'tfjs'] as const) {
        const model = createModel(resolveModelConfig(kind), data.items, { seed: 1, runtime });
        const runner = createStepRunner(model, 1e-3, compute);
        const times: number[] = [];
        for (let s = 0; s <= n; s++) {
          const batch = csrGatherRows(data.train, order.subarray(s * 500, (s + 1) * 500));
          const t = performance.now();
          await runner.step(batch, { beta: 0.2, l2: 0, noiseSeed: stepNoiseSeed(1, s) });
          if (s > 0) times.push((performance.now() - t) / 1000);
        }
        runner.dispose();
        model.dispose();
        perStep[compute] = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
      }
      const epoch = (c: 'wasm' | 'tfjs') => perStep[c] * stepsPerEpoch;
      out(
        {
          bench: 'tfjs-step',
          backend,
          tfBackend: tf.getBackend(),
          model: kind,
          steps: n,
          stepsPerEpoch,
          tfjsSecondsPerStep: perStep.tfjs,
          rustSecondsPerStep: perStep.wasm,
          tfjsSecondsPerEpoch: epoch('tfjs'),
          rustSecondsPerEpoch: epoch('wasm'),
          ratio: perStep.tfjs / perStep.wasm,
        },
        `  tfjs path on ${backend.padEnd(5)} ${kind.padEnd(10)} ${epoch('tfjs').toFixed(1)} s/epoch (${perStep.tfjs.toFixed(2)} s/step) vs Rust path ${epoch('wasm').toFixed(1)} s/epoch (${perStep.wasm.toFixed(2)} s/step): ${(perStep.tfjs / perStep.wasm).toFixed(1)}× the Rust path's time`,
      );
    }
  }
}

/** ML-20M-shaped memory: the dataset is prepared by the CLI in a child process, then a few steps here. */
async function ml20m(runtime: { pool?: KernelPool; threads: number }): Promise<void> {
  const raw = join(cache, 'ml-20m-ratings');
  const dir = join(cache, 'ml-20m-h10000');
  const t0 = performance.now();
  const bin = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
  execFileSync(process.execPath, [bin, 'data', 'synth', '--preset', 'ml-20m', '--out', raw], { stdio: 'ignore' });
  execFileSync(
    process.execPath,
    [
      bin,
      'data',
      'prepare',
      '--input',
      join(raw, 'ratings.csv'),
      '--out',
      dir,
      '--heldout-users',
      '10000',
      '--items',
      'none',
    ],
    { stdio: 'ignore' },
  );
  const prepS = (performance.now() - t0) / 1000;
  const rss0 = peakRssMiB();
  const data = await loadDataset(dir);
  const c = data.manifest.counts;
  await selectBackend('wasm');
  const m = createModel(resolveModelConfig('macridvae'), data.items, { seed: 1, runtime });
  const a = new Adam({ lr: 1e-3 });
  const order = Array.from({ length: 500 * 5 }, (_, i) => i);
  const ts = performance.now();
  for (let s = 0; s < 5; s++) {
    const { grads } = await m.gradients(csrGatherRows(data.train, order.slice(s * 500, (s + 1) * 500)), {
      beta: 0.2,
      l2: 0,
      noiseSeed: s,
    });
    a.apply(m.variables, grads);
    for (const g of grads.values()) g.dispose();
  }
  const perStep = (performance.now() - ts) / 5000;
  await m.score(csrGatherRows(data.validation.foldIn, order.slice(0, 500)));
  a.dispose();
  m.dispose();
  const steps = Math.ceil(csrRows(data.train) / 500);
  out(
    {
      bench: 'ml-20m',
      users: c.users,
      items: c.items,
      trainClicks: c.trainInteractions,
      prepareSeconds: prepS,
      secondsPerStep: perStep,
      stepsPerEpoch: steps,
      rssBeforeMiB: rss0,
      peakRssMiB: peakRssMiB(),
    },
    `ML-20M-shaped preset (${c.users} users × ${c.items} items, ${c.trainInteractions} training clicks): ${perStep.toFixed(2)} s/step, ~${((perStep * steps) / 60).toFixed(1)} min/epoch (${steps} steps); peak RSS ${peakRssMiB()} MiB (${rss0} MiB before training)`,
  );
  await runtime.pool?.close();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
