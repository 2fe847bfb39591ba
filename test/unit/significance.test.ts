/** Paired t-test and bootstrap interval against values computed by scipy 1.10 (`scipy.stats.ttest_rel`, `t.sf`). */
import test from 'ava';
import { bootstrapCi, incompleteBeta, pairedTTest, studentTwoSidedP } from '../../ts/experiments/significance.js';

const close = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

test('Student t two-sided p-values match scipy', (t) => {
  t.true(close(studentTwoSidedP(2.228138852, 10), 0.04999999999883648, 1e-9));
  t.true(close(studentTwoSidedP(0.5, 3), 0.651447964848151, 1e-9));
  t.true(close(studentTwoSidedP(10, 30), 4.5752514082296097e-11, 1e-6));
  t.is(studentTwoSidedP(0, 5), 1);
  // I_x(1, 1) = x.
  t.true(close(incompleteBeta(0.3, 1, 1), 0.3, 1e-12));
});

test('paired t-test matches scipy.stats.ttest_rel', (t) => {
  const r = pairedTTest([1, 2, 3, 4, 5], [0, 0, 0, 0, 0]);
  t.is(r.df, 4);
  t.true(close(r.t, 4.242640687119285, 1e-12));
  t.true(close(r.p, 0.013235599563682695, 1e-9));
  const a = [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.6];
  const b = [0.2, 0.2, 0.1, 0.2, 0.5, 0.3, 0.1, 0.4];
  const s = pairedTTest(a, b);
  t.true(close(s.t, 1.7837651700316897, 1e-12));
  t.true(close(s.p, 0.11764555596144656, 1e-9));
  // Users with a NaN on either side are left out.
  const n = pairedTTest([...a, Number.NaN, 1], [...b, 0, Number.NaN]);
  t.is(n.n, 8);
  t.is(n.p, s.p);
  // Identical values: no difference.
  t.like(pairedTTest([1, 2, 3], [1, 2, 3]), { meanDiff: 0, p: 1 });
  t.throws(() => pairedTTest([1, 2], [1]), { message: /one value per user/ });
});

test('bootstrap interval: seeded, brackets the mean difference, degenerate when constant', (t) => {
  const a = [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.6];
  const b = [0.2, 0.2, 0.1, 0.2, 0.5, 0.3, 0.1, 0.4];
  const ci = bootstrapCi(a, b, { resamples: 2000, seed: 3 });
  t.deepEqual(ci, bootstrapCi(a, b, { resamples: 2000, seed: 3 }));
  t.true(ci[0] < 0.1375 && 0.1375 < ci[1], `${ci}`);
  t.true(ci[0] > -0.1 && ci[1] < 0.35, `${ci}`);
  const c = bootstrapCi([1, 2, 3], [0.5, 1.5, 2.5], { resamples: 100 });
  t.deepEqual(c, [0.5, 0.5]);
  t.throws(() => bootstrapCi(a, b, { level: 1 }), { message: /'level'/ });
});
