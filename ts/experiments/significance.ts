/**
 * Paired significance of one model against another over the same test users (per-user metric values
 * in the same user order; users with a NaN on either side — an empty target — are left out):
 *
 * - {@link pairedTTest}: Student's paired t-test on the differences `d_u = a_u − b_u`:
 *   `t = mean(d) / (sd(d)/√n)` (sd with n − 1), `df = n − 1`, two-sided `p = I_{df/(df+t²)}(df/2, 1/2)`
 *   (the regularized incomplete beta function; Numerical Recipes §6.4 continued fraction);
 * - {@link bootstrapCi}: the percentile bootstrap interval of `mean(d)`: users resampled with
 *   replacement `resamples` times from a seeded generator (Efron & Tibshirani 1993, §13.3).
 */
import { InvalidArgumentError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { checkInt, checkNumber } from '../validate.js';

/** The differences `a_u − b_u` of the users where both are finite. */
export function pairedDifferences(fn: string, a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  if (a.length !== b.length) {
    throw new InvalidArgumentError(
      `${fn}(): 'a' and 'b' must hold one value per user each but have ${a.length} and ${b.length}`,
    );
  }
  const d: number[] = [];
  for (let u = 0; u < a.length; u++) if (Number.isFinite(a[u]) && Number.isFinite(b[u])) d.push(a[u] - b[u]);
  return Float64Array.from(d);
}

/** `ln Γ(x)` for x > 0 (Lanczos, g = 7, n = 9). */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let s = c[0];
  for (let i = 1; i < 9; i++) s += c[i] / (y + i);
  const t = y + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(s);
}

function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** The regularized incomplete beta function `I_x(a, b)`. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2)
    ? (front * betaContinuedFraction(a, b, x)) / a
    : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** Two-sided p-value of Student's t with `df` degrees of freedom. */
export function studentTwoSidedP(t: number, df: number): number {
  if (!Number.isFinite(t)) return Number.isNaN(t) ? Number.NaN : 0;
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

export interface PairedTTest {
  /** Users compared. */
  n: number;
  /** `mean(a − b)`. */
  meanDiff: number;
  t: number;
  df: number;
  /** Two-sided p-value (NaN with fewer than 2 users; 1 when every difference is 0). */
  p: number;
}

/** Student's paired t-test of `a` against `b` (see the module doc). */
export function pairedTTest(a: ArrayLike<number>, b: ArrayLike<number>): PairedTTest {
  const d = pairedDifferences('pairedTTest', a, b);
  const n = d.length;
  let mean = 0;
  for (const v of d) mean += v;
  mean /= Math.max(n, 1);
  if (n < 2) return { n, meanDiff: n ? mean : Number.NaN, t: Number.NaN, df: n - 1, p: Number.NaN };
  let ss = 0;
  for (const v of d) ss += (v - mean) ** 2;
  const se = Math.sqrt(ss / (n - 1)) / Math.sqrt(n);
  if (se === 0)
    return { n, meanDiff: mean, t: mean === 0 ? 0 : Math.sign(mean) * Infinity, df: n - 1, p: mean === 0 ? 1 : 0 };
  const t = mean / se;
  return { n, meanDiff: mean, t, df: n - 1, p: studentTwoSidedP(t, n - 1) };
}

export interface BootstrapOptions {
  /** Resamples, ≥ 1. Default 10,000. */
  resamples?: number;
  /** Coverage of the interval, in (0, 1). Default 0.95. */
  level?: number;
  /** Seed of the resampling. Default 98765. */
  seed?: number;
}

/** The percentile bootstrap interval `[lo, hi]` of `mean(a − b)` over users. */
export function bootstrapCi(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  options: BootstrapOptions = {},
): [number, number] {
  const fn = 'bootstrapCi';
  const resamples = checkInt(fn, 'resamples', options.resamples ?? 10_000, 1);
  const level = checkNumber(fn, 'level', options.level ?? 0.95, Number.MIN_VALUE, 1 - Number.EPSILON);
  const seed = checkInt(fn, 'seed', options.seed ?? 98765, 0, 0xffffffff);
  const d = pairedDifferences(fn, a, b);
  const n = d.length;
  if (n === 0) return [Number.NaN, Number.NaN];
  const rng = new Rng(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += d[rng.int(n)];
    means[r] = s / n;
  }
  means.sort();
  const q = (p: number) => means[Math.min(resamples - 1, Math.max(0, Math.floor(p * resamples)))];
  return [q((1 - level) / 2), q(1 - (1 - level) / 2)];
}
