/**
 * bench-tpe: our TPE (ts/tune/tpe.ts) against an independent implementation — optuna's TPESampler with
 * `TPESampler.hyperopt_parameters()` (Debian python3-optuna, run by scripts/bench-tpe-optuna.py in the
 * same run) — and random search, on standard continuous test functions of 2–6 dimensions: Branin (2-D),
 * Hartmann-3, Hartmann-6, Rosenbrock (4-D, [-2.048, 2.048]) and Levy (5-D, [-10, 10]). TRIALS trials per
 * search (20 random start-up trials, hyperopt's default), SEEDS seeds; prints the mean best value ± SE
 * over seeds for ours with both scores (`TpeOptions.score`: 'height', the default, and 'density', exactly
 * hyperopt's), optuna and random search, and the difference ours (default) − optuna with its SE and z
 * (negative = ours better). Before comparing,
 * both sides evaluate each function on fixed points and must agree (the formulas are written twice).
 *
 * Usage: tsx scripts/bench-tpe.ts   (env: TRIALS, default 100; SEEDS, default 60; FUNCTIONS, comma list;
 *        PYTHON, default /usr/bin/python3; OPTUNA_RESULTS=FILE reuses a saved Python output instead of running
 *        it, for iterating only; --json for one JSON object)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Observation, type Point, type Space, suggest } from '../ts/tune/tpe.js';

const TRIALS = Number(process.env.TRIALS ?? 100);
const SEEDS = Number(process.env.SEEDS ?? 60);
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const json = process.argv.includes('--json');

type Fn = (x: number[]) => number;
const branin: Fn = ([x1, x2]) => {
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * Math.cos(x1) + 10;
};
const ALPHA = [1.0, 1.2, 3.0, 3.2];
const hartmann =
  (A: number[][], P: number[][]): Fn =>
  (x) =>
    -A.reduce((s, a, i) => s + ALPHA[i] * Math.exp(-x.reduce((q, v, j) => q + a[j] * (v - P[i][j]) ** 2, 0)), 0);
const H3A = [
  [3.0, 10, 30],
  [0.1, 10, 35],
  [3.0, 10, 30],
  [0.1, 10, 35],
];
const H3P = [
  [0.3689, 0.117, 0.2673],
  [0.4699, 0.4387, 0.747],
  [0.1091, 0.8732, 0.5547],
  [0.0381, 0.5743, 0.8828],
];
const H6A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const H6P = [
  [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
  [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
  [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.665],
  [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
];
const rosenbrock: Fn = (x) => {
  let s = 0;
  for (let i = 0; i < x.length - 1; i++) s += 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2;
  return s;
};
const levy: Fn = (x) => {
  const w = x.map((v) => 1 + (v - 1) / 4);
  let s = Math.sin(Math.PI * w[0]) ** 2;
  for (let i = 0; i < x.length - 1; i++) s += (w[i] - 1) ** 2 * (1 + 10 * Math.sin(Math.PI * w[i] + 1) ** 2);
  const l = w[w.length - 1];
  return s + (l - 1) ** 2 * (1 + Math.sin(2 * Math.PI * l) ** 2);
};
const rep = (n: number, b: [number, number]) => Array.from({ length: n }, () => b);
const FUNCTIONS: Record<string, { f: Fn; bounds: [number, number][]; min: number }> = {
  branin: {
    f: branin,
    bounds: [
      [-5, 10],
      [0, 15],
    ],
    min: 0.397887,
  },
  hartmann3: { f: hartmann(H3A, H3P), bounds: rep(3, [0, 1]), min: -3.86278 },
  hartmann6: { f: hartmann(H6A, H6P), bounds: rep(6, [0, 1]), min: -3.32237 },
  rosenbrock4: { f: rosenbrock, bounds: rep(4, [-2.048, 2.048]), min: 0 },
  levy5: { f: levy, bounds: rep(5, [-10, 10]), min: 0 },
};
const names = (process.env.FUNCTIONS ?? Object.keys(FUNCTIONS).join(',')).split(',');

/** The fixed points both sides evaluate (scripts/bench-tpe-optuna.py `check_points`). */
const checkPoints = (b: [number, number][]) => [
  b.map(([lo]) => lo),
  b.map(([lo, hi]) => (lo + hi) / 2),
  b.map(([lo, hi], j) => lo + (hi - lo) * (j % 2 === 0 ? 0.3 : 0.7)),
];

/** Best value of one search: TPE with `startup` random trials (startup = trials gives random search). */
function search(
  f: Fn,
  bounds: [number, number][],
  seed: number,
  startup: number,
  score: 'height' | 'density' = 'height',
): number {
  const space: Space = bounds.map(([low, high], j) => ({ name: `x${j}`, kind: 'uniform', low, high }));
  const history: Observation[] = [];
  let best = Number.POSITIVE_INFINITY;
  for (let t = 0; t < TRIALS; t++) {
    const p: Point = suggest(space, history, t, { seed, startup, score });
    const y = f(bounds.map((_, j) => p[`x${j}`] as number));
    history.push({ point: p, loss: y });
    best = Math.min(best, y);
  }
  return best;
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const se = (xs: number[]) => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1) / xs.length);
};

function main(): void {
  const t0 = performance.now();
  const script = join(dirname(fileURLToPath(import.meta.url)), 'bench-tpe-optuna.py');
  // OPTUNA_RESULTS=FILE reuses a saved output of the Python side (for iterating on ours; not for reported numbers).
  const saved = process.env.OPTUNA_RESULTS;
  const py = JSON.parse(
    saved
      ? readFileSync(saved, 'utf8')
      : execFileSync(PYTHON, [script, String(TRIALS), String(SEEDS), names.join(',')], {
          encoding: 'utf8',
          maxBuffer: 1 << 26,
        }),
  ) as { check: Record<string, number[]>; best: Record<string, number[]>; optuna: string };
  const pySeconds = (performance.now() - t0) / 1000;
  const rows = names.map((name) => {
    const fn = FUNCTIONS[name];
    if (!fn) throw new Error(`unknown function '${name}' (one of ${Object.keys(FUNCTIONS).join(', ')})`);
    checkPoints(fn.bounds).forEach((p, i) => {
      const a = fn.f(p);
      const b = py.check[name][i];
      if (Math.abs(a - b) > 1e-9 * Math.max(1, Math.abs(a))) {
        throw new Error(`${name}: TS and Python disagree at check point ${i}: ${a} vs ${b}`);
      }
    });
    const seeds = Array.from({ length: SEEDS }, (_, s) => s);
    const ours = seeds.map((s) => search(fn.f, fn.bounds, s, 20));
    const density = seeds.map((s) => search(fn.f, fn.bounds, s, 20, 'density'));
    const random = seeds.map((s) => search(fn.f, fn.bounds, s, TRIALS));
    const opt = py.best[name];
    const diff = mean(ours) - mean(opt);
    const diffSe = Math.hypot(se(ours), se(opt));
    return {
      function: name,
      dims: fn.bounds.length,
      min: fn.min,
      ours: { mean: mean(ours), se: se(ours) },
      density: { mean: mean(density), se: se(density) },
      optuna: { mean: mean(opt), se: se(opt) },
      random: { mean: mean(random), se: se(random) },
      diff: { mean: diff, se: diffSe, z: diff / diffSe },
    };
  });
  const seconds = (performance.now() - t0) / 1000;
  if (json) {
    console.log(JSON.stringify({ trials: TRIALS, seeds: SEEDS, optuna: py.optuna, rows, seconds }));
    return;
  }
  const f = (m: { mean: number; se: number }) => `${m.mean.toFixed(4)} ± ${m.se.toFixed(4)}`;
  console.log(
    `best value after ${TRIALS} trials, mean ± SE over ${SEEDS} seeds (lower is better); optuna ${py.optuna} TPESampler(hyperopt_parameters())`,
  );
  console.log(
    '| function | dims | minimum | ours (score: height, default) | ours (score: density = hyperopt) | optuna TPE | random | ours − optuna (z) |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(
      `| ${r.function} | ${r.dims} | ${r.min} | ${f(r.ours)} | ${f(r.density)} | ${f(r.optuna)} | ${f(r.random)} | ${r.diff.mean.toFixed(4)} ± ${r.diff.se.toFixed(4)} (${r.diff.z.toFixed(2)}) |`,
    );
  }
  console.log(`${seconds.toFixed(1)} s (optuna side ${pySeconds.toFixed(1)} s)`);
}

main();
