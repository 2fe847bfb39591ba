/**
 * TPE (ts/tune/tpe.ts): space validation, prior draws, determinism, the Parzen densities against closed
 * forms and quadrature, and a known-answer optimisation where TPE must beat random search.
 */
import test from 'ava';
import { InvalidArgumentError } from '../../ts/errors.js';
import { mixSeed } from '../../ts/models/noise.js';
import {
  _internal,
  checkSpace,
  type Observation,
  type Point,
  parzen,
  type Space,
  samplePrior,
  suggest,
} from '../../ts/tune/tpe.js';
import { Rng } from '../../ts/util/rng.js';

const {
  forgettingWeights,
  logMixturePdf,
  logKernelSum,
  logMixtureMass,
  sampleMixture,
  categorical,
  logNormalMass,
  logErfc,
} = _internal;

const SPACE: Space = [
  { name: 'x', kind: 'uniform', low: -2, high: 2 },
  { name: 'y', kind: 'loguniform', low: 1e-6, high: 1 },
  { name: 'k', kind: 'choice', values: ['a', 'b', 'c'] },
  { name: 'n', kind: 'int', low: 1, high: 20 },
];

/** The known-answer objective: minimum 0 at x = 0.3, y = 1e-3, k = 'b', n = 7. */
function objective(p: Point): number {
  const x = p.x as number;
  const y = p.y as number;
  const n = p.n as number;
  return (x - 0.3) ** 2 + (Math.log10(y) + 3) ** 2 + (p.k === 'b' ? 0 : 0.5) + ((n - 7) / 10) ** 2;
}

/** Runs `budget` trials of suggest on `objective` and returns the history. */
function run(seed: number, budget: number, startup: number, f: (p: Point) => number | null = objective): Observation[] {
  const history: Observation[] = [];
  for (let t = 0; t < budget; t++) {
    const point = suggest(SPACE, history, t, { seed, startup });
    history.push({ point, loss: f(point) });
  }
  return history;
}

function assertInDomain(t: import('ava').ExecutionContext, space: Space, p: Point) {
  t.deepEqual(Object.keys(p).sort(), space.map((q) => q.name).sort());
  for (const q of space) {
    const v = p[q.name];
    if (q.kind === 'choice') {
      t.true(q.values.includes(v), `${q.name} = ${v}`);
      continue;
    }
    if (typeof v !== 'number' || v < q.low || v > q.high || (q.kind === 'int' && !Number.isInteger(v))) {
      t.fail(`${q.name} = ${v} outside its domain`);
    }
    t.false(Object.is(v, -0), `${q.name} is −0`);
  }
}

// ---------------------------------------------------------------------------------------------------
// checkSpace

test('checkSpace accepts a valid space and returns a copy without unknown fields', (t) => {
  const input = [...SPACE, { name: 'w', kind: 'choice', values: [1, '1', 2.5], extra: true }];
  const s = checkSpace('tune', input);
  t.deepEqual(s, [...SPACE, { name: 'w', kind: 'choice', values: [1, '1', 2.5] }]);
  t.not(s[0], input[0]);
  t.deepEqual(checkSpace('tune', [{ name: 'one', kind: 'int', low: 3, high: 3 }]), [
    { name: 'one', kind: 'int', low: 3, high: 3 },
  ]);
});

test('checkSpace rejects bad spaces with messages naming the entry', (t) => {
  const bad = (space: unknown, message: RegExp | string) =>
    t.throws(() => checkSpace('tune', space), { instanceOf: InvalidArgumentError, message });
  bad({ name: 'x' }, "'space' passed to tune() must be an array of parameters but got object");
  bad(null, /'space' passed to tune\(\) must be an array.*null/);
  bad([], /'space' passed to tune\(\) must have at least one parameter/);
  bad([42], "'space[0]' passed to tune() must be a parameter object but got number");
  bad(
    [{ kind: 'uniform', low: 0, high: 1 }],
    "'space[0].name' passed to tune() must be a non-empty string but got undefined",
  );
  bad([{ name: '', kind: 'uniform', low: 0, high: 1 }], /'space\[0\]\.name'.*non-empty string but got ''/);
  bad(
    [
      { name: 'a', kind: 'uniform', low: 0, high: 1 },
      { name: 'b', kind: 'uniform', low: 0, high: 1 },
      { name: 'a', kind: 'int', low: 0, high: 1 },
    ],
    "'space[2].name' passed to tune() must be unique but 'a' is also space[0].name",
  );
  bad(
    [{ name: 'a', kind: 'normal', low: 0, high: 1 }],
    "'space[0].kind' passed to tune() must be one of 'uniform', 'loguniform', 'int', 'choice' but got 'normal'",
  );
  bad(
    [
      { name: 'a', kind: 'uniform', low: 0, high: 1 },
      { name: 'b', kind: 'uniform', low: 0, high: 1 },
      { name: 'c', kind: 'uniform', low: 0.5, high: 0.1 },
    ],
    "'space[2].high' passed to tune() must be > low (0.5) but got 0.1",
  );
  bad(
    [{ name: 'a', kind: 'uniform', low: 1, high: 1 }],
    "'space[0].high' passed to tune() must be > low (1) but got 1",
  );
  bad(
    [{ name: 'a', kind: 'uniform', low: '0', high: 1 }],
    "'space[0].low' passed to tune() must be a finite number but got '0'",
  );
  bad([{ name: 'a', kind: 'uniform', low: 0, high: Number.NaN }], /'space\[0\]\.high'.*finite number but got NaN/);
  bad([{ name: 'a', kind: 'loguniform', low: 0, high: 1 }], "'space[0].low' passed to tune() must be > 0 but got 0");
  bad([{ name: 'a', kind: 'loguniform', low: -1, high: 1 }], "'space[0].low' passed to tune() must be > 0 but got -1");
  bad(
    [{ name: 'a', kind: 'int', low: 0.5, high: 3 }],
    "'space[0].low' passed to tune() must be an integer but got 0.5",
  );
  bad(
    [{ name: 'a', kind: 'int', low: 0, high: 2.5 }],
    "'space[0].high' passed to tune() must be an integer but got 2.5",
  );
  bad([{ name: 'a', kind: 'int', low: 3, high: 2 }], "'space[0].high' passed to tune() must be >= low (3) but got 2");
  bad(
    [{ name: 'a', kind: 'choice', values: [] }],
    "'space[0].values' passed to tune() must be a non-empty array but got []",
  );
  bad([{ name: 'a', kind: 'choice' }], /'space\[0\]\.values'.*non-empty array but got undefined/);
  bad(
    [{ name: 'a', kind: 'choice', values: ['x', 'y', 'x'] }],
    "'space[0].values[2]' passed to tune() must be distinct but equals values[0] ('x')",
  );
  bad(
    [{ name: 'a', kind: 'choice', values: [1, null] }],
    /'space\[0\]\.values\[1\]'.*finite number or a string but got null/,
  );
});

// ---------------------------------------------------------------------------------------------------
// Prior draws and suggest

test('samplePrior draws every value inside its domain and covers it', (t) => {
  const rng = new Rng(7);
  const seen = { k: new Set<unknown>(), n: new Set<unknown>() };
  let yBelow1e3 = 0;
  const draws = 3000;
  for (let i = 0; i < draws; i++) {
    const p = samplePrior(SPACE, rng);
    assertInDomain(t, SPACE, p);
    seen.k.add(p.k);
    seen.n.add(p.n);
    if ((p.y as number) < 1e-3) yBelow1e3++;
  }
  t.deepEqual([...seen.k].sort(), ['a', 'b', 'c']);
  t.is(seen.n.size, 20);
  // log-uniform: P(y < 1e-3) = 3/6.
  t.true(Math.abs(yBelow1e3 / draws - 0.5) < 0.04, `${yBelow1e3 / draws}`);
});

test('suggest: values stay in their domains through a TPE run, also with failed trials', (t) => {
  const history = run(3, 60, 10, (p) => ((p.n as number) % 5 === 0 ? null : objective(p)));
  t.true(history.some((o) => o.loss === null));
  for (const o of history) assertInDomain(t, SPACE, o.point);
  // A one-value int and a one-value choice are always that value.
  const tiny: Space = [
    { name: 'i', kind: 'int', low: -3, high: -3 },
    { name: 'c', kind: 'choice', values: [5] },
    { name: 'u', kind: 'uniform', low: -1, high: 0 },
  ];
  const h: Observation[] = [];
  for (let i = 0; i < 30; i++) {
    const p = suggest(tiny, h, i, { seed: 1, startup: 5 });
    t.is(p.i, -3);
    t.is(p.c, 5);
    h.push({ point: p, loss: (p.u as number) ** 2 });
  }
});

test('suggest is deterministic, differs between trials and seeds, and draws from the prior during startup', (t) => {
  const opts = { seed: 42, startup: 20 };
  const history = run(42, 30, 20);
  t.deepEqual(suggest(SPACE, history, 30, opts), suggest(SPACE, history, 30, { ...opts }));
  t.notDeepEqual(suggest(SPACE, history, 30, opts), suggest(SPACE, history, 31, opts));
  t.notDeepEqual(suggest(SPACE, history, 30, opts), suggest(SPACE, history, 30, { ...opts, seed: 43 }));
  // Startup: trial t is samplePrior with trial t's generator, whatever the (short) history.
  const prior = (trial: number) => samplePrior(SPACE, new Rng(mixSeed(42, 0x7e9e, trial)));
  for (let i = 0; i < 20; i++) t.deepEqual(history[i].point, prior(i));
  // Failed or non-finite losses do not count towards startup.
  const failed = history.map((o, i) => ({ point: o.point, loss: i < 19 ? o.loss : i % 2 ? null : Number.NaN }));
  t.deepEqual(suggest(SPACE, failed, 30, opts), prior(30));
  // With 20 finite losses TPE takes over: not the prior draw any more.
  t.notDeepEqual(suggest(SPACE, history.slice(0, 20), 20, opts), prior(20));
  t.deepEqual(history[20].point, suggest(SPACE, history.slice(0, 20), 20, opts));
});

test('suggest validates its options and the history against the space', (t) => {
  const h = run(1, 25, 20);
  const bad = (f: () => unknown, message: RegExp | string) =>
    t.throws(f, { instanceOf: InvalidArgumentError, message });
  bad(() => suggest(SPACE, h, 25, { seed: -1 }), /'options\.seed' passed to suggest\(\) must be an integer/);
  bad(
    () => suggest(SPACE, h, 25, { seed: 1, gamma: 0 }),
    "'options.gamma' passed to suggest() must be in (0, 1] but got 0",
  );
  bad(() => suggest(SPACE, h, 25, { seed: 1, candidates: 0 }), /'options\.candidates'.*integer >= 1 but got 0/);
  bad(() => suggest(SPACE, h, 25, { seed: 1, priorWeight: 0 }), /'options\.priorWeight'.*> 0 but got 0/);
  bad(() => suggest(SPACE, h, 25, { seed: 1, startup: 1.5 }), /'options\.startup'.*integer >= 0 but got 1.5/);
  bad(() => suggest(SPACE, h, -1, { seed: 1 }), /'trial' passed to suggest\(\) must be an integer >= 0 but got -1/);
  const wrong = h.map((o, i) => (i === 3 ? { point: { ...o.point, n: 21 }, loss: o.loss } : o));
  bad(
    () => suggest(SPACE, wrong, 25, { seed: 1 }),
    "'history[3].point.n' passed to suggest() must be an integer in [1, 20] but got 21",
  );
  const wrongK = h.map((o, i) => (i === 4 ? { point: { ...o.point, k: 'd' }, loss: o.loss } : o));
  bad(
    () => suggest(SPACE, wrongK, 25, { seed: 1 }),
    "'history[4].point.k' passed to suggest() must be one of 'a', 'b', 'c' but got 'd'",
  );
  const wrongLoss = h.map((o, i) => (i === 2 ? { point: o.point, loss: '1' as unknown as number } : o));
  bad(() => suggest(SPACE, wrongLoss, 25, { seed: 1 }), /'history\[2\]\.loss'.*number or null but got '1'/);
});

// ---------------------------------------------------------------------------------------------------
// Densities

test('normal tails: erfc and interval masses match reference values', (t) => {
  const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
  t.true(rel(Math.exp(logErfc(1)), 0.15729920705028513) < 2e-7);
  t.true(rel(Math.exp(logErfc(3)), 2.209049699858544e-5) < 2e-7);
  t.true(rel(Math.exp(logNormalMass(-1, 1)), 0.6826894921370859) < 1e-7);
  t.true(rel(Math.exp(logNormalMass(5, Number.POSITIVE_INFINITY)), 2.866515718791939e-7) < 1e-6);
  t.true(rel(Math.exp(logNormalMass(Number.NEGATIVE_INFINITY, -10)), 7.619853024160527e-24) < 1e-6);
  // Q(30) = 4.906713927148187e-198: still finite and right in logs.
  t.true(Math.abs(logNormalMass(30, Number.POSITIVE_INFINITY) - Math.log(4.906713927148187e-198)) < 1e-6);
  // A narrow interval: Φ(1e-4) − Φ(0) = φ(0)·1e-4·(1 − 1e-8/6).
  t.true(rel(Math.exp(logNormalMass(0, 1e-4)), 0.3989422804014327e-4 * (1 - 1e-8 / 6)) < 1e-9);
  t.is(logNormalMass(1, 1), Number.NEGATIVE_INFINITY);
});

test('parzen with no observations is the prior: a normal of the range centred in it, truncated', (t) => {
  const m = parzen([], -2, 2, 1);
  t.deepEqual({ w: m.w, mu: m.mu, sigma: m.sigma }, { w: [1], mu: [0], sigma: [4] });
  // p(0) = φ(0)/σ / (Φ(½) − Φ(−½)), Φ(½) − Φ(−½) = 0.38292492254802624; p(2) = φ(½)/σ / (same).
  const z = 0.38292492254802624;
  const p0 = 1 / (4 * Math.sqrt(2 * Math.PI) * z);
  const p2 = Math.exp(-0.125) / (4 * Math.sqrt(2 * Math.PI) * z);
  // Φ comes from a fit with relative error < 1.2e-7 in the tails, hence the tolerance.
  t.true(Math.abs(Math.exp(logMixturePdf(m, 0)) / p0 - 1) < 5e-7, `${Math.exp(logMixturePdf(m, 0))} vs ${p0}`);
  t.true(Math.abs(Math.exp(logMixturePdf(m, 2)) / p2 - 1) < 5e-7);
});

test('parzen bandwidths and weights follow hyperopt adaptive_parzen_normal', (t) => {
  const close = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) < 1e-12);
  // [1, 2, 9] on [0, 10]: prior (5, 10) goes between 2 and 9; gaps give σ = 1, 3, ·, 4; the floor is
  // 10 / min(100, 1 + 4) = 2, so σ = 2, 3, 10, 4.
  const m = parzen([9, 1, 2], 0, 10, 1);
  t.deepEqual(m.mu, [1, 2, 5, 9]);
  t.deepEqual(m.sigma, [2, 3, 10, 4]);
  t.deepEqual(m.w, [0.25, 0.25, 0.25, 0.25]);
  // One observation: σ = σ_prior / 2; prior weight 2 of 3.
  const one = parzen([8], 0, 10, 2);
  t.deepEqual(one.mu, [5, 8]);
  t.deepEqual(one.sigma, [10, 5]);
  t.true(close(one.w, [2 / 3, 1 / 3]));
  // Linear forgetting: all 1 up to 25; then linspace(1/n, 1, n − 25) for the oldest.
  t.deepEqual(forgettingWeights(25), new Array(25).fill(1));
  t.true(close(forgettingWeights(27), [1 / 27, ...new Array(26).fill(1)]));
  const w30 = forgettingWeights(30);
  t.true(close(w30.slice(0, 5), [1 / 30, 1 / 30 + 29 / 30 / 4, 1 / 30 + 29 / 30 / 2, 1 / 30 + (3 * 29) / 120, 1]));
  // The oldest observation (value 0.5, first) carries the smallest weight in the mixture.
  const obs = Array.from({ length: 30 }, (_, i) => (i === 0 ? 0.5 : (i * 0.37) % 1));
  const mix = parzen(obs, 0, 1, 1);
  const k = mix.mu.indexOf(0.5, mix.mu.indexOf(0.5) + 1); // the prior (mean 0.5) comes first
  t.true(Math.abs(mix.w[k] / mix.w[mix.w.length - 1] - 1 / 30) < 1e-12);
});

test("the 'height' score is the kernel sum with every kernel as tall as its weight (optuna 3.1's score)", (t) => {
  const m = parzen([9, 1, 2, 2.5, 7], 0, 10, 1);
  for (const x of [0, 0.7, 2.2, 5, 9.9]) {
    // Σ_j w_j σ_j N(x; μ_j, σ_j) = Σ_j w_j φ(z_j) = Σ_j w_j exp(−z_j²/2) / √(2π)
    const direct = m.w.reduce(
      (s, w, j) =>
        s +
        (w * m.sigma[j] * Math.exp(-0.5 * ((x - m.mu[j]) / m.sigma[j]) ** 2)) / (m.sigma[j] * Math.sqrt(2 * Math.PI)),
      0,
    );
    t.true(Math.abs(logKernelSum(m, x) - 0.5 * Math.log(2 * Math.PI) - Math.log(direct)) < 1e-12);
  }
  // The two scores rank differently: the density favours narrow kernels, the height score does not.
  const narrow = parzen([5, 5.1, 5.2, 5.3], 0, 10, 1);
  t.true(logMixturePdf(narrow, 5.15) - logMixturePdf(narrow, 1) > logKernelSum(narrow, 5.15) - logKernelSum(narrow, 1));
  const rng = new Rng(2);
  const hist: Observation[] = Array.from({ length: 30 }, () => {
    const point = samplePrior(SPACE, rng);
    return { point, loss: rng.next() };
  });
  const h = suggest(SPACE, hist, 30, { seed: 1 });
  t.deepEqual(h, suggest(SPACE, hist, 30, { seed: 1, score: 'height' }));
  const differ = [30, 31, 32, 33, 34].filter(
    (trial) =>
      JSON.stringify(suggest(SPACE, hist, trial, { seed: 1 })) !==
      JSON.stringify(suggest(SPACE, hist, trial, { seed: 1, score: 'density' })),
  );
  t.true(differ.length > 0);
  t.throws(() => suggest(SPACE, hist, 30, { seed: 1, score: 'pdf' as 'height' }), {
    instanceOf: InvalidArgumentError,
    message: "'options.score' passed to suggest() must be 'height' or 'density' but got 'pdf'",
  });
});

/** Observations for the density tests: 30 (so forgetting applies), clustered and spread. */
function someObs(rng: Rng, lo: number, hi: number, n = 30): number[] {
  return Array.from({ length: n }, (_, i) => {
    const u = i % 3 === 0 ? rng.next() : 0.2 + 0.05 * rng.next();
    return lo + (hi - lo) * u;
  });
}

test('the truncated mixture density integrates to 1 over [low, high] and sampling follows it', (t) => {
  const rng = new Rng(11);
  for (const [lo, hi] of [
    [-2, 2],
    [Math.log(1e-6), 0],
  ]) {
    const m = parzen(someObs(rng, lo, hi), lo, hi, 1);
    t.true(Math.min(...m.sigma) < (hi - lo) / 20, 'some components are narrow');
    const steps = 20000;
    const h = (hi - lo) / steps;
    let integral = 0;
    for (let i = 0; i <= steps; i++) {
      const f = Math.exp(logMixturePdf(m, lo + i * h));
      integral += i === 0 || i === steps ? f / 2 : f;
    }
    integral *= h;
    t.true(Math.abs(integral - 1) < 1e-3, `∫ p = ${integral}`);
    // Masses over 10 equal bins sum to 1, and 20000 samples fall into them in proportion.
    const bins = 10;
    const mass = Array.from({ length: bins }, (_, b) =>
      Math.exp(logMixtureMass(m, lo + ((hi - lo) * b) / bins, lo + ((hi - lo) * (b + 1)) / bins)),
    );
    t.true(Math.abs(mass.reduce((s, x) => s + x, 0) - 1) < 1e-6);
    const counts = new Array(bins).fill(0);
    const draws = 20000;
    for (let i = 0; i < draws; i++) {
      const x = sampleMixture(m, rng);
      t.true(x >= lo && x <= hi);
      counts[Math.min(bins - 1, Math.floor(((x - lo) / (hi - lo)) * bins))]++;
    }
    for (let b = 0; b < bins; b++) {
      t.true(Math.abs(counts[b] / draws - mass[b]) < 0.015, `bin ${b}: ${counts[b] / draws} vs ${mass[b]}`);
    }
  }
});

test('integer masses sum to 1 over the integers; categorical probabilities sum to 1', (t) => {
  const rng = new Rng(5);
  const [low, high] = [1, 20];
  const obs = someObs(rng, low, high).map(Math.round);
  for (const group of [obs, obs.slice(0, 3), []]) {
    const m = parzen(group, low - 0.5, high + 0.5, 1);
    let total = 0;
    for (let v = low; v <= high; v++) total += Math.exp(logMixtureMass(m, v - 0.5, v + 0.5));
    t.true(Math.abs(total - 1) < 1e-6, `Σ mass = ${total}`);
  }
  // (count + priorWeight/m) / (n + priorWeight): obs [0, 0, 2] of 3 values → (2⅓, ⅓, 1⅓) / 4.
  const p = categorical([0, 0, 2], 3, 1);
  const want = [7 / 12, 1 / 12, 4 / 12];
  t.true(
    p.every((x, i) => Math.abs(x - want[i]) < 1e-12),
    `${p}`,
  );
  const q = categorical(someObs(rng, 0, 4.99).map(Math.floor), 5, 0.5);
  t.true(Math.abs(q.reduce((s, x) => s + x, 0) - 1) < 1e-12);
  t.deepEqual(categorical([], 4, 1), [0.25, 0.25, 0.25, 0.25]);
});

// ---------------------------------------------------------------------------------------------------
// Optimisation

/**
 * Seeds 1–20, not 5: with hyperopt's settings (n_below = ⌈0.25·√n⌉, so 2–3 "good" trials, and bandwidths
 * floored at range / (n_below + 2)) the best of 80 trials varies a lot between seeds (seeds 1–5 alone
 * once favoured random search with the density score). Over these 20 seeds the mean best loss is 0.14
 * with the default 'height' score, 0.25 with hyperopt's 'density' score and 0.48 for random search.
 */
test('TPE beats random search on a known-answer objective (80 trials, 20 seeds)', (t) => {
  const t0 = performance.now();
  const seeds = Array.from({ length: 20 }, (_, i) => i + 1);
  const best = (h: Observation[]) => Math.min(...h.map((o) => o.loss as number));
  const tpe = seeds.map((s) => best(run(s, 80, 20)));
  // Random search = the prior for all 80 trials, with the same per-trial generators.
  const random = seeds.map((s) => best(run(s, 80, 80)));
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const wins = tpe.filter((x, i) => x < random[i]).length;
  t.log(
    `mean best loss: TPE ${mean(tpe).toFixed(4)}, random ${mean(random).toFixed(4)}; TPE better on ${wins}/20 seeds`,
  );
  t.log(`TPE    ${tpe.map((x) => x.toFixed(3)).join(' ')}`);
  t.log(`random ${random.map((x) => x.toFixed(3)).join(' ')}`);
  t.log(`${((performance.now() - t0) / 1000).toFixed(2)} s`);
  t.true(mean(tpe) < mean(random));
});
