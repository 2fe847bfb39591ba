/**
 * The Tree-structured Parzen Estimator (TPE) of Bergstra, Bardenet, Bengio & Kégl, "Algorithms for
 * Hyper-Parameter Optimization", NeurIPS 2011, following hyperopt's `tpe.suggest` (hyperopt/tpe.py).
 *
 * TPE models p(x | y) instead of p(y | x). The finished trials with a finite loss are sorted by loss
 * (ties by trial order) and split into the best `n_below = min(ceil(γ·√n), 25)` ("below") and the rest
 * ("above"). For every parameter two densities are fitted: l(x) on the below values and g(x) on the
 * above values. Maximising expected improvement amounts to maximising l(x)/g(x), so each parameter draws
 * `candidates` samples from l and keeps the one with the largest log l(x) − log g(x) (first on ties).
 * Parameters are modelled independently (the space here is flat, so the "tree" has one level).
 *
 * Densities (hyperopt's adaptive Parzen estimators):
 * - `uniform` on [a, b]: a mixture of normals, one per observation plus a prior component
 *   (μ = (a+b)/2, σ = b − a, weight `priorWeight`), truncated to [a, b] as a whole:
 *   p(x) = Σ_j w_j N(x; μ_j, σ_j) / Σ_j w_j (Φ((b−μ_j)/σ_j) − Φ((a−μ_j)/σ_j)).
 *   Bandwidths (`adaptive_parzen_normal`): with the prior inserted among the sorted observations, an
 *   observation's σ is the larger of the gaps to its neighbours (an end uses its one gap; a lone
 *   observation gets σ_prior / 2), clipped to [σ_prior / min(100, 1 + n + 1), σ_prior] where n + 1 counts
 *   the prior too; the prior keeps σ_prior. Weights: 1 per observation, except hyperopt's linear forgetting
 *   when n > 25: in trial order, the oldest n − 25 get weights rising linearly from 1/n to 1.
 * - `loguniform` on [a, b]: the same in y = ln x on [ln a, ln b]; the Jacobian 1/x appears in both l and g,
 *   so candidates are scored in log space.
 * - `int` on {a..b}: the same on [a − ½, b + ½], samples rounded to integers; an integer v is scored by the
 *   mixture's probability mass on [v − ½, v + ½] (hyperopt's quantized `GMM1_lpdf` with q = 1).
 * - `choice` of m values: categorical, P(v) = (c_v + priorWeight/m) / (Σ_v c_v + priorWeight), c_v the
 *   (forgetting-weighted) count of v in the group.
 *
 * Scoring a continuous candidate (`score`). hyperopt ranks candidates by log l(x) − log g(x) with the
 * normalized densities above ('density'). optuna 3.1's TPESampler — the peer of `npm run bench:tpe`,
 * with `TPESampler.hyperopt_parameters()` — scores each kernel as φ((x − μ_j)/σ_j) / (its mass on the
 * range), without the 1/σ_j of a normal density (optuna issue #5109, changed in optuna 3.5), so every kernel
 * is as tall as its weight whatever its width. That is not a density, but it ranks better: g's kernels
 * on the crowded region TPE has been sampling are narrow (σ ≥ range/(n+2)), so the normalized g(x) is
 * tall exactly where the best points are and l/g pushes candidates away from them; with equal heights
 * g stays flat there and the search exploits. Measured over 30 seeds × 100 trials (`npm run bench:tpe`,
 * numbers in the README): with the density score the mean best value on Hartmann-6 is −2.58 ± 0.06, with
 * the height score −2.89 ± 0.04 (Rosenbrock-4: 20.3 → 8.8, Levy-5: 2.75 → 1.91). So 'height' is the
 * default: log Σ_j w_j exp(−z_j²/2), z_j = (x − μ_j)/σ_j (sampling still draws from the truncated
 * mixture; per-kernel truncation masses are left out, as hyperopt truncates the mixture as a whole, and a
 * constant per mixture does not change the ranking). Integer candidates are always scored by their mass
 * on [v − ½, v + ½], which has no such choice.
 *
 * Pending trials (`pending: true`: proposed and still running, in parallel searches) are optuna's
 * "constant liar": each enters the "above" group as if it had the worst loss, so g(x) is raised where a
 * trial already runs, but n (the split, the start-up count) counts finished trials only.
 *
 * Before `startup` finite losses exist, points are drawn from the prior (uniform, log-uniform, uniform
 * integer, uniform choice). All randomness of trial t comes from `new Rng(mixSeed(seed, 0x7e9e, t))`, so a
 * resumed search suggests exactly what an uninterrupted one would.
 *
 * Differences from hyperopt: failed trials (loss null or not finite) are left out of the model (hyperopt
 * gives them loss +∞, which puts them in "above"); the split is stable on loss ties; `int` covers
 * [a − ½, b + ½] so the end values are as likely as the others (hyperopt's `quniform` gives them half
 * mass); the categorical prior adds `priorWeight` pseudo-counts in total, as the continuous prior
 * component does (newer hyperopt adds `priorWeight` per category); truncated sampling rejects at most
 * {@link MAX_REJECTIONS} times and then clamps (hyperopt retries without bound; with σ ≤ b − a and means
 * inside [a, b] a draw is accepted with probability > 1/3, so the clamp is never reached in practice).
 */
import { InvalidArgumentError } from '../errors.js';
import { mixSeed } from '../models/noise.js';
import { Rng } from '../util/rng.js';

export type ParamValue = number | string;
export type Param =
  | { name: string; kind: 'uniform'; low: number; high: number }
  /** 0 < low < high; sampled uniformly in log space. */
  | { name: string; kind: 'loguniform'; low: number; high: number }
  /** Integers low..high inclusive (low <= high, both integers). */
  | { name: string; kind: 'int'; low: number; high: number }
  /** >= 1 distinct values, unordered categories. */
  | { name: string; kind: 'choice'; values: ParamValue[] };
export type Space = readonly Param[];
export type Point = Record<string, ParamValue>;
/**
 * A trial: finished with a loss (lower is better), failed (loss null: ignored by the density model but
 * still counted as a trial), or `pending` (proposed, still running: the constant liar, see `suggest`).
 */
export interface Observation {
  point: Point;
  loss: number | null;
  /** Still running: modelled as the worst possible result (in "above", not counted in n). Its loss is ignored. */
  pending?: boolean;
}
export interface TpeOptions {
  /** uint32 seed of the whole search. */
  seed: number;
  /** Default 20: trials are drawn from the prior until this many finite losses exist (hyperopt `n_startup_jobs`). */
  startup?: number;
  /** Default 0.25 (hyperopt): n_below = ceil(γ·√n), capped at 25. In (0, 1]. */
  gamma?: number;
  /** Default 24 (hyperopt `n_EI_candidates`): draws from l(x) scored per parameter. */
  candidates?: number;
  /** Default 1.0 (hyperopt): weight of the prior component / total categorical pseudo-count. > 0. */
  priorWeight?: number;
  /**
   * How a continuous candidate is scored (see the module doc): 'height' (default) compares kernel sums
   * Σ_j w_j φ((x − μ_j)/σ_j), each kernel as tall as its weight whatever its width (as optuna 3.1's TPE
   * scores); 'density' compares the normalized densities l(x)/g(x), exactly as hyperopt.
   */
  score?: 'height' | 'density';
}

/** hyperopt's defaults (`tpe.py`: `_default_n_startup_jobs`, `_default_gamma`, `_default_n_EI_candidates`, `_default_prior_weight`). */
export const TPE_DEFAULTS = { startup: 20, gamma: 0.25, candidates: 24, priorWeight: 1.0, score: 'height' } as const;

/** hyperopt's `DEFAULT_LF`: observations beyond the newest 25 are linearly forgotten; also caps n_below. */
const LINEAR_FORGETTING = 25;
/** Draws tried by truncated sampling before the last one is clamped into the bounds. */
const MAX_REJECTIONS = 100;
/** Stream tag of suggest's per-trial generator. */
const TPE_STREAM = 0x7e9e;
const KINDS = ['uniform', 'loguniform', 'int', 'choice'] as const;

const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : String(v));

/**
 * Validates an unknown value as a Space and returns a fresh copy holding only the known fields; throws
 * InvalidArgumentError naming `fn` and the bad entry, e.g.
 * `'space[2].high' passed to tune() must be > low (0.5) but got 0.1`. Names must be unique non-empty strings.
 */
export function checkSpace(fn: string, space: unknown): Space {
  const bad = (what: string, msg: string) => new InvalidArgumentError(`'${what}' passed to ${fn}() ${msg}`);
  if (!Array.isArray(space)) {
    throw bad('space', `must be an array of parameters but got ${space === null ? 'null' : typeof space}`);
  }
  if (space.length === 0) throw bad('space', 'must have at least one parameter but is empty');
  const out: Param[] = [];
  const seen = new Map<string, number>();
  space.forEach((p: unknown, i: number) => {
    const at = `space[${i}]`;
    if (typeof p !== 'object' || p === null || Array.isArray(p)) {
      throw bad(
        at,
        `must be a parameter object but got ${p === null ? 'null' : Array.isArray(p) ? 'array' : typeof p}`,
      );
    }
    const r = p as Record<string, unknown>;
    const name = r.name;
    if (typeof name !== 'string' || name.length === 0) {
      throw bad(`${at}.name`, `must be a non-empty string but got ${show(name)}`);
    }
    if (name === '__proto__') throw bad(`${at}.name`, `must not be '__proto__'`);
    const prev = seen.get(name);
    if (prev !== undefined) throw bad(`${at}.name`, `must be unique but '${name}' is also space[${prev}].name`);
    seen.set(name, i);
    const kind = r.kind;
    if (!(KINDS as readonly unknown[]).includes(kind)) {
      throw bad(`${at}.kind`, `must be one of ${KINDS.map((k) => `'${k}'`).join(', ')} but got ${show(kind)}`);
    }
    if (kind === 'choice') {
      const values = r.values;
      if (!Array.isArray(values) || values.length === 0) {
        throw bad(`${at}.values`, `must be a non-empty array but got ${Array.isArray(values) ? '[]' : show(values)}`);
      }
      values.forEach((v: unknown, j: number) => {
        if (!(typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)))) {
          throw bad(`${at}.values[${j}]`, `must be a finite number or a string but got ${show(v)}`);
        }
        const k = values.indexOf(v);
        if (k < j) throw bad(`${at}.values[${j}]`, `must be distinct but equals values[${k}] (${show(v)})`);
      });
      out.push({ name, kind, values: [...(values as ParamValue[])] });
      return;
    }
    const { low, high } = r;
    if (typeof low !== 'number' || !Number.isFinite(low)) {
      throw bad(`${at}.low`, `must be a finite number but got ${show(low)}`);
    }
    if (typeof high !== 'number' || !Number.isFinite(high)) {
      throw bad(`${at}.high`, `must be a finite number but got ${show(high)}`);
    }
    if (kind === 'int') {
      if (!Number.isSafeInteger(low)) throw bad(`${at}.low`, `must be an integer but got ${low}`);
      if (!Number.isSafeInteger(high)) throw bad(`${at}.high`, `must be an integer but got ${high}`);
      if (high < low) throw bad(`${at}.high`, `must be >= low (${low}) but got ${high}`);
    } else {
      if (kind === 'loguniform' && low <= 0) throw bad(`${at}.low`, `must be > 0 but got ${low}`);
      if (high <= low) throw bad(`${at}.high`, `must be > low (${low}) but got ${high}`);
      if (!Number.isFinite(high - low))
        throw bad(`${at}.high`, `must be within a finite distance of low but got ${high}`);
    }
    out.push({ name, kind: kind as 'uniform' | 'loguniform' | 'int', low, high });
  });
  return out;
}

/** One draw from the prior: uniform, log-uniform, uniform integer or uniform choice (expects a checked space). */
export function samplePrior(space: Space, rng: Rng): Point {
  const point: Point = {};
  for (const p of space) point[p.name] = priorValue(p, rng);
  return point;
}

function priorValue(p: Param, rng: Rng): ParamValue {
  switch (p.kind) {
    case 'uniform':
      return p.low + (p.high - p.low) * rng.next();
    case 'loguniform': {
      const [a, b] = [Math.log(p.low), Math.log(p.high)];
      return clamp(Math.exp(a + (b - a) * rng.next()), p.low, p.high);
    }
    case 'int':
      return p.low + rng.int(p.high - p.low + 1);
    case 'choice':
      return p.values[rng.int(p.values.length)];
  }
}

/**
 * The point to evaluate as trial number `trial` (0-based) given the finished trials `history` (in trial
 * order). Deterministic: all randomness of trial t comes from `new Rng(mixSeed(options.seed, 0x7e9e, trial))`.
 * While fewer than `startup` observations with a finite loss exist → {@link samplePrior}; otherwise TPE
 * (see the module doc).
 */
export function suggest(space: Space, history: readonly Observation[], trial: number, options: TpeOptions): Point {
  const fn = 'suggest';
  space = checkSpace(fn, space);
  const opts = checkOptions(fn, options);
  if (typeof trial !== 'number' || !Number.isSafeInteger(trial) || trial < 0) {
    throw new InvalidArgumentError(`'trial' passed to ${fn}() must be an integer >= 0 but got ${show(trial)}`);
  }
  if (!Array.isArray(history)) {
    throw new InvalidArgumentError(`'history' passed to ${fn}() must be an array but got ${typeof history}`);
  }
  // Finite-loss observations, in trial order; pending ones apart.
  const done: { point: Point; loss: number; i: number }[] = [];
  const pending: { point: Point; loss: number; i: number }[] = [];
  history.forEach((o, i) => {
    if (o?.pending === true) {
      if (typeof o.point !== 'object' || o.point === null) {
        throw new InvalidArgumentError(
          `'history[${i}].point' passed to ${fn}() must be an object but got ${show(o.point)}`,
        );
      }
      pending.push({ point: o.point, loss: Number.POSITIVE_INFINITY, i });
      return;
    }
    const loss = o?.loss;
    if (loss !== null && typeof loss !== 'number') {
      throw new InvalidArgumentError(
        `'history[${i}].loss' passed to ${fn}() must be a number or null but got ${show(loss)}`,
      );
    }
    if (loss === null || !Number.isFinite(loss)) return;
    if (typeof o.point !== 'object' || o.point === null) {
      throw new InvalidArgumentError(
        `'history[${i}].point' passed to ${fn}() must be an object but got ${show(o.point)}`,
      );
    }
    done.push({ point: o.point, loss, i });
  });
  const rng = new Rng(mixSeed(opts.seed, TPE_STREAM, trial));
  if (done.length < opts.startup) return samplePrior(space, rng);

  const n = done.length;
  const nBelow = Math.min(n, Math.max(1, Math.ceil(opts.gamma * Math.sqrt(n))), LINEAR_FORGETTING);
  const ranked = [...done].sort((a, b) => a.loss - b.loss || a.i - b.i);
  const isBelow = new Set(ranked.slice(0, nBelow).map((o) => o.i));
  // Both groups in trial order, so linear forgetting down-weights the oldest; pending trials are "above".
  const below = done.filter((o) => isBelow.has(o.i));
  const above = [...done.filter((o) => !isBelow.has(o.i)), ...pending].sort((a, b) => a.i - b.i);

  const point: Point = {};
  for (const p of space) {
    const values = (group: typeof done) => group.map((o) => observedValue(fn, p, o.point, o.i));
    const b = values(below);
    const a = values(above);
    point[p.name] =
      p.kind === 'choice' ? bestChoice(p, b, a, opts, rng) : bestNumber(p, b as number[], a as number[], opts, rng);
  }
  return point;
}

function checkOptions(fn: string, o: TpeOptions): Required<TpeOptions> {
  if (typeof o !== 'object' || o === null) {
    throw new InvalidArgumentError(`'options' passed to ${fn}() must be an object but got ${show(o)}`);
  }
  const seed = o.seed;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new InvalidArgumentError(
      `'options.seed' passed to ${fn}() must be an integer in [0, 4294967295] but got ${show(seed)}`,
    );
  }
  const startup = o.startup ?? TPE_DEFAULTS.startup;
  if (typeof startup !== 'number' || !Number.isSafeInteger(startup) || startup < 0) {
    throw new InvalidArgumentError(
      `'options.startup' passed to ${fn}() must be an integer >= 0 but got ${show(startup)}`,
    );
  }
  const gamma = o.gamma ?? TPE_DEFAULTS.gamma;
  if (typeof gamma !== 'number' || !(gamma > 0 && gamma <= 1)) {
    throw new InvalidArgumentError(`'options.gamma' passed to ${fn}() must be in (0, 1] but got ${show(gamma)}`);
  }
  const candidates = o.candidates ?? TPE_DEFAULTS.candidates;
  if (typeof candidates !== 'number' || !Number.isSafeInteger(candidates) || candidates < 1) {
    throw new InvalidArgumentError(
      `'options.candidates' passed to ${fn}() must be an integer >= 1 but got ${show(candidates)}`,
    );
  }
  const priorWeight = o.priorWeight ?? TPE_DEFAULTS.priorWeight;
  if (typeof priorWeight !== 'number' || !(priorWeight > 0 && Number.isFinite(priorWeight))) {
    throw new InvalidArgumentError(
      `'options.priorWeight' passed to ${fn}() must be a finite number > 0 but got ${show(priorWeight)}`,
    );
  }
  const score = o.score ?? TPE_DEFAULTS.score;
  if (score !== 'height' && score !== 'density') {
    throw new InvalidArgumentError(
      `'options.score' passed to ${fn}() must be 'height' or 'density' but got ${show(score)}`,
    );
  }
  return { seed, startup, gamma, candidates, priorWeight, score };
}

/** A history value of `p`, checked against its domain (a mismatch means the space changed under the history). */
function observedValue(fn: string, p: Param, point: Point, i: number): ParamValue {
  const v = point[p.name];
  const at = `history[${i}].point.${p.name}`;
  if (p.kind === 'choice') {
    if (!p.values.includes(v)) {
      throw new InvalidArgumentError(
        `'${at}' passed to ${fn}() must be one of ${p.values.map(show).join(', ')} but got ${show(v)}`,
      );
    }
    return v;
  }
  const ok = typeof v === 'number' && v >= p.low && v <= p.high && (p.kind !== 'int' || Number.isInteger(v));
  if (!ok) {
    const what = p.kind === 'int' ? 'an integer' : 'a number';
    throw new InvalidArgumentError(
      `'${at}' passed to ${fn}() must be ${what} in [${p.low}, ${p.high}] but got ${show(v)}`,
    );
  }
  return v;
}

/** TPE's choice for a numeric parameter: the best of `candidates` draws from l by log l − log g. */
function bestNumber(
  p: Extract<Param, { low: number }>,
  below: number[],
  above: number[],
  o: Required<TpeOptions>,
  rng: Rng,
): number {
  if (p.kind === 'int' && p.low === p.high) return p.low;
  const log = p.kind === 'loguniform';
  const [lo, hi] =
    p.kind === 'int' ? [p.low - 0.5, p.high + 0.5] : log ? [Math.log(p.low), Math.log(p.high)] : [p.low, p.high];
  const tr = log ? (xs: number[]) => xs.map(Math.log) : (xs: number[]) => xs;
  const l = parzen(tr(below), lo, hi, o.priorWeight);
  const g = parzen(tr(above), lo, hi, o.priorWeight);
  let best = 0;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < o.candidates; c++) {
    let y = sampleMixture(l, rng);
    let score: number;
    if (p.kind === 'int') {
      y = clamp(Math.round(y), p.low, p.high) + 0; // + 0 turns −0 into 0
      score = logMixtureMass(l, y - 0.5, y + 0.5) - logMixtureMass(g, y - 0.5, y + 0.5);
    } else if (o.score === 'height') score = logKernelSum(l, y) - logKernelSum(g, y);
    else score = logMixturePdf(l, y) - logMixturePdf(g, y);
    if (c === 0) best = y; // kept if every score were NaN
    if (score > bestScore) [best, bestScore] = [y, score];
  }
  return log ? clamp(Math.exp(best), p.low, p.high) : best;
}

/** TPE's choice for a categorical parameter. */
function bestChoice(
  p: Extract<Param, { kind: 'choice' }>,
  below: ParamValue[],
  above: ParamValue[],
  o: Required<TpeOptions>,
  rng: Rng,
): ParamValue {
  const l = categorical(
    below.map((v) => p.values.indexOf(v)),
    p.values.length,
    o.priorWeight,
  );
  const g = categorical(
    above.map((v) => p.values.indexOf(v)),
    p.values.length,
    o.priorWeight,
  );
  let best = 0;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < o.candidates; c++) {
    const k = pick(l, rng);
    const score = Math.log(l[k]) - Math.log(g[k]);
    if (c === 0) best = k;
    if (score > bestScore) [best, bestScore] = [k, score];
  }
  return p.values[best];
}

// ---------------------------------------------------------------------------------------------------
// Densities

/**
 * A mixture of normals truncated (as a whole) to [low, high]: weights `w` (summing to 1), means `mu`,
 * standard deviations `sigma`; `logZ = log Σ_j w_j (Φ((high−μ_j)/σ_j) − Φ((low−μ_j)/σ_j))`, the mass the
 * untruncated mixture puts on [low, high].
 */
export interface Mixture {
  w: number[];
  mu: number[];
  sigma: number[];
  low: number;
  high: number;
  logZ: number;
}

/**
 * hyperopt's `linear_forgetting_weights(n, 25)`: all 1 when n <= 25; otherwise the oldest n − 25 get
 * `linspace(1/n, 1, n − 25)` and the newest 25 get 1 (`obs` in trial order).
 */
function forgettingWeights(n: number, lf = LINEAR_FORGETTING): number[] {
  const w = new Array<number>(n).fill(1);
  const ramp = n - lf;
  if (ramp <= 0) return w;
  const first = 1 / n;
  for (let i = 0; i < ramp; i++) w[i] = ramp === 1 ? first : first + ((1 - first) * i) / (ramp - 1);
  return w;
}

/**
 * hyperopt's adaptive Parzen estimator (`adaptive_parzen_normal`) on [low, high] for observations `obs`
 * (trial order): see the module doc for the bandwidth rule. Components are returned sorted by mean, the
 * prior at its place (before observations equal to its mean).
 */
export function parzen(obs: readonly number[], low: number, high: number, priorWeight: number): Mixture {
  const n = obs.length;
  const priorMu = 0.5 * (low + high);
  const priorSigma = high - low;
  const ow = forgettingWeights(n);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => obs[a] - obs[b] || a - b);
  let pos = 0;
  while (pos < n && obs[order[pos]] < priorMu) pos++;
  const mu: number[] = [];
  const w: number[] = [];
  for (let k = 0; k <= n; k++) {
    if (k === pos) {
      mu.push(priorMu);
      w.push(priorWeight);
    }
    if (k < n) {
      mu.push(obs[order[k]]);
      w.push(ow[order[k]]);
    }
  }
  const m = n + 1;
  let sigma: number[];
  if (n === 0) sigma = [priorSigma];
  else if (n === 1) sigma = mu.map((_, k) => (k === pos ? priorSigma : 0.5 * priorSigma));
  else {
    sigma = mu.map((x, k) => Math.max(k > 0 ? x - mu[k - 1] : 0, k < m - 1 ? mu[k + 1] - x : 0));
  }
  const minSigma = priorSigma / Math.min(100, 1 + m);
  sigma = sigma.map((s, k) => (k === pos ? priorSigma : clamp(s, minSigma, priorSigma)));
  const total = w.reduce((s, x) => s + x, 0);
  const wn = w.map((x) => x / total);
  const logZ = logSumExp(
    wn.map((x, k) => Math.log(x) + logNormalMass((low - mu[k]) / sigma[k], (high - mu[k]) / sigma[k])),
  );
  return { w: wn, mu, sigma, low, high, logZ };
}

/** log p(x) of the truncated mixture, for x in [low, high]: log Σ_j w_j N(x; μ_j, σ_j) − logZ. */
function logMixturePdf(m: Mixture, x: number): number {
  const terms = m.w.map((w, j) => {
    const z = (x - m.mu[j]) / m.sigma[j];
    return Math.log(w) + logStdNormalPdf(z) - Math.log(m.sigma[j]);
  });
  return logSumExp(terms) - m.logZ;
}

/**
 * log Σ_j w_j φ((x − μ_j)/σ_j): the mixture with every kernel as tall as its weight, i.e. w_j σ_j-weighted
 * normals (the 'height' score; the ½ log 2π constant is left out, it cancels in l − g).
 */
function logKernelSum(m: Mixture, x: number): number {
  const terms = m.w.map((w, j) => {
    const z = (x - m.mu[j]) / m.sigma[j];
    return Math.log(w) - 0.5 * z * z;
  });
  return logSumExp(terms);
}

/** log of the truncated mixture's mass on [a, b] ⊆ [low, high]: log Σ_j w_j (Φ(b; j) − Φ(a; j)) − logZ. */
function logMixtureMass(m: Mixture, a: number, b: number): number {
  const terms = m.w.map((w, j) => Math.log(w) + logNormalMass((a - m.mu[j]) / m.sigma[j], (b - m.mu[j]) / m.sigma[j]));
  return logSumExp(terms) - m.logZ;
}

/**
 * One draw from the truncated mixture, as hyperopt's `GMM1`: pick a component by weight, draw from its
 * normal, and start over (component included) when the draw falls outside [low, high] — which samples
 * exactly the whole-mixture truncation above. After {@link MAX_REJECTIONS} misses the last draw is clamped.
 */
function sampleMixture(m: Mixture, rng: Rng): number {
  let x = m.mu[0];
  for (let t = 0; t < MAX_REJECTIONS; t++) {
    const j = pick(m.w, rng);
    x = m.mu[j] + m.sigma[j] * standardNormal(rng);
    if (x >= m.low && x <= m.high) return x;
  }
  return clamp(x, m.low, m.high);
}

/** The categorical estimator: P(k) = (Σ forgetting weights of obs equal to k + priorWeight/size) / (Σ weights + priorWeight). */
function categorical(obs: readonly number[], size: number, priorWeight: number): number[] {
  const ow = forgettingWeights(obs.length);
  const counts = new Array<number>(size).fill(priorWeight / size);
  obs.forEach((k, i) => {
    counts[k] += ow[i];
  });
  const total = counts.reduce((s, x) => s + x, 0);
  return counts.map((c) => c / total);
}

/** An index drawn with probabilities proportional to `w` (last index on round-off). */
function pick(w: readonly number[], rng: Rng): number {
  let total = 0;
  for (const x of w) total += x;
  let u = rng.next() * total;
  for (let k = 0; k < w.length - 1; k++) {
    u -= w[k];
    if (u < 0) return k;
  }
  return w.length - 1;
}

/** A standard normal by Box–Muller (cosine branch; 1 − u ∈ (0, 1] keeps the log finite). */
function standardNormal(rng: Rng): number {
  const u = 1 - rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

// ---------------------------------------------------------------------------------------------------
// The normal distribution, in logs

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** log φ(z) = −z²/2 − ½ log 2π. */
function logStdNormalPdf(z: number): number {
  return -0.5 * z * z - LOG_SQRT_2PI;
}

/** Coefficients of {@link logErfc}'s polynomial in t, constant term first. */
const ERFC_COEFFS = [
  -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223,
  0.17087277,
];

/**
 * log erfc(x) for x >= 0, by the Chebyshev fit of Numerical Recipes (`erfcc`, §6.2): relative error
 * < 1.2e-7 everywhere, and in logs it stays finite far into the tail where erfc itself underflows:
 * erfc(x) ≈ t·exp(−x² − 1.26551223 + t(1.00002368 + t(0.37409196 + …))), t = 1/(1 + x/2).
 */
function logErfc(x: number): number {
  const t = 1 / (1 + 0.5 * x);
  let poly = 0;
  for (let i = ERFC_COEFFS.length - 1; i >= 0; i--) poly = ERFC_COEFFS[i] + t * poly;
  return Math.log(t) - x * x + poly;
}

/** log Q(z) = log(1 − Φ(z)) = log(½ erfc(z/√2)), accurate in the upper tail. */
function logUpperTail(z: number): number {
  if (z >= 0) return logErfc(z / Math.SQRT2) - Math.LN2;
  return Math.log1p(-Math.exp(logErfc(-z / Math.SQRT2) - Math.LN2));
}

/** Q(z) = 1 − Φ(z). */
function upperTail(z: number): number {
  return Math.exp(logUpperTail(z));
}

/**
 * log(Φ(zb) − Φ(za)), the standard normal mass on [za, zb], without cancellation:
 * - a narrow interval (width·max(1, |mid|) < 0.05) by Simpson's rule on φ (relative error < 1e-8);
 * - both ends in the upper tail: log Q(za) + log(1 − Q(zb)/Q(za)); the lower tail by symmetry;
 * - an interval around 0: log(1 − Q(−za) − Q(zb)).
 */
function logNormalMass(za: number, zb: number): number {
  if (!(zb > za)) return Number.NEGATIVE_INFINITY;
  const h = zb - za;
  const mid = 0.5 * (za + zb);
  if (h * Math.max(1, Math.abs(mid)) < 0.05) {
    return Math.log(h / 6) + logSumExp([logStdNormalPdf(za), Math.log(4) + logStdNormalPdf(mid), logStdNormalPdf(zb)]);
  }
  if (za >= 0) {
    const qa = logUpperTail(za);
    return qa + Math.log1p(-Math.exp(logUpperTail(zb) - qa));
  }
  if (zb <= 0) return logNormalMass(-zb, -za);
  return Math.log1p(-(upperTail(-za) + upperTail(zb)));
}

/** log Σ exp(x_i), stable (−∞ for an empty list or all −∞). */
function logSumExp(xs: readonly number[]): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const x of xs) if (x > max) max = x;
  if (max === Number.NEGATIVE_INFINITY) return max;
  let s = 0;
  for (const x of xs) s += Math.exp(x - max);
  return max + Math.log(s);
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** Internal helpers, exported for tests only (not part of the API). */
export const _internal = {
  forgettingWeights,
  logMixturePdf,
  logKernelSum,
  logMixtureMass,
  sampleMixture,
  categorical,
  logNormalMass,
  logErfc,
  standardNormal,
};
