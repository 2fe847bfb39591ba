/**
 * Parallel search without training (a fake executor scores points on a known function): TPE's constant
 * liar for running trials, the defaults and given points first, trials.jsonl in completion order, and a
 * search killed with trials running resumed without re-running finished ones.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { mixSeed } from '../../ts/models/noise.js';
import { defaultPoint } from '../../ts/tune/space.js';
import { type Observation, type Point, type Space, samplePrior, suggest } from '../../ts/tune/tpe.js';
import { failedOutcome, type TrialExecutor, type TrialJob, type TrialRecord, tune } from '../../ts/tune/tune.js';
import { Rng } from '../../ts/util/rng.js';
import { syntheticSplit } from '../helpers/synthetic-split.js';
import { tempDir } from '../helpers/tmp.js';

const SPACE: Space = [
  { name: 'lr', kind: 'loguniform', low: 1e-4, high: 1e-1 },
  { name: 'sigma0', kind: 'uniform', low: 0.075, high: 0.5 },
  { name: 'concepts', kind: 'int', low: 1, high: 8 },
];
const data = syntheticSplit(11);
const BASE = { model: { d: 8 }, train: { epochs: 2, batchSize: 40, seed: 5 } };
/** The "validation NDCG" of a point: best at lr = 1e-2, sigma0 = 0.2, concepts = 4. */
const score = (p: Point) =>
  1 /
  (1 +
    (Math.log10(p.lr as number) + 2) ** 2 +
    10 * ((p.sigma0 as number) - 0.2) ** 2 +
    0.05 * ((p.concepts as number) - 4) ** 2);

/**
 * An executor with `slots` trials at once; trial t takes `delay(t)` ms. At each `run` it checks that the
 * proposed point is what TPE gives for the trials finished and running at that moment (pending ones
 * included), and it can reject after `failAfter` completions (a crash of the search).
 */
function fakeExecutor(slots: number, opts: { failAfter?: number; startup: number; seed: number; fixed: number }) {
  const finished = new Map<number, number>();
  const running = new Set<number>();
  const proposals: Point[] = [];
  const jobs: TrialJob[] = [];
  const mismatches: number[] = [];
  const ex: TrialExecutor & { jobs: TrialJob[]; mismatches: number[]; finished: Map<number, number> } = {
    slots,
    jobs,
    mismatches,
    finished,
    async run(job) {
      jobs.push(job);
      if (job.trial === proposals.length) {
        if (job.trial >= opts.fixed) {
          const history: Observation[] = proposals.map((point, i) =>
            finished.has(i) ? { point, loss: finished.get(i) as number } : { point, loss: null, pending: true },
          );
          const expect = suggest(SPACE, history, job.trial, { seed: opts.seed, startup: opts.startup });
          if (JSON.stringify(expect) !== JSON.stringify(job.point)) mismatches.push(job.trial);
        }
        proposals.push(job.point);
      }
      running.add(job.trial);
      await new Promise((r) => setTimeout(r, job.trial % 3 === 0 ? 30 : 5));
      running.delete(job.trial);
      if (opts.failAfter !== undefined && finished.size >= opts.failAfter) throw new Error('executor crashed');
      const ndcg = score(job.point);
      finished.set(job.trial, -ndcg);
      return {
        loss: -ndcg,
        'ndcg@100': ndcg,
        bestEpoch: 1,
        epochs: 2,
        independence: { users: 0.5, items: 0.5 },
        seconds: 0.01,
      };
    },
  };
  return ex;
}

test('pending trials are the constant liar: above with the worst loss, not counted in n', (t) => {
  const rng = new Rng(9);
  const hist: Observation[] = Array.from({ length: 22 }, () => {
    const point = samplePrior(SPACE, rng);
    return { point, loss: -score(point) };
  });
  // n = 22 and 23 give the same n_below (⌈0.25·√n⌉ = 2), so a pending trial equals a finished one with a
  // loss worse than every other; and the point it runs is repelled (not proposed again).
  for (const trial of [22, 23, 40]) {
    const pend = suggest(SPACE, hist, trial, { seed: 4 });
    const withPending = suggest(SPACE, [...hist, { point: pend, loss: null, pending: true }], trial, { seed: 4 });
    const withWorst = suggest(SPACE, [...hist, { point: pend, loss: 1e300 }], trial, { seed: 4 });
    t.deepEqual(withPending, withWorst);
    t.notDeepEqual(withPending, pend);
  }
  const pend = samplePrior(SPACE, rng);
  // … and it does not count towards startup: 22 finished + 1 pending with startup 23 is still random.
  const prior = samplePrior(SPACE, new Rng(mixSeed(4, 0x7e9e, 23)));
  t.deepEqual(
    suggest(SPACE, [...hist, { point: pend, loss: null, pending: true }], 23, { seed: 4, startup: 23 }),
    prior,
  );
});

test.serial('parallel: defaults and given points first, pending-aware proposals, completion order', async (t) => {
  const out = tempDir(t, 'tune-par');
  const tpe = { seed: 7, startup: 4 };
  const ex = fakeExecutor(3, { ...tpe, fixed: 2 });
  const seen: number[] = [];
  const r = await tune({
    kind: 'macridvae',
    data,
    space: SPACE,
    tpe,
    ...BASE,
    trials: 14,
    points: [{ lr: 0.01 }],
    executor: ex,
    out,
    onTrial: (rec) => seen.push(rec.trial),
  });
  t.deepEqual(ex.mismatches, []);
  t.is(r.trials.length, 14);
  t.deepEqual(
    [...seen].sort((a, b) => a - b),
    Array.from({ length: 14 }, (_, i) => i),
  );
  t.notDeepEqual(
    seen,
    [...seen].sort((a, b) => a - b),
    'completion order differs from trial order',
  );
  const lines = readFileSync(join(out, 'trials.jsonl'), 'utf8').trim().split('\n');
  t.deepEqual(
    lines.map((l) => JSON.parse(l).trial),
    seen,
  );
  const defaults = defaultPoint('macridvae', SPACE, BASE);
  t.deepEqual(defaults, { lr: 1e-3, sigma0: 0.075, concepts: 7 });
  t.deepEqual(ex.jobs[0].point, defaults);
  t.deepEqual(ex.jobs[1].point, { ...defaults, lr: 0.01 });
  t.is(r.best?.['ndcg@100'], Math.max(...r.trials.map((x) => x['ndcg@100'] as number)));
  t.true((r.best?.['ndcg@100'] as number) >= (r.trials.find((x) => x.trial === 0)?.['ndcg@100'] as number));
});

test.serial('a parallel search killed with trials running resumes: running ones re-run, finished never', async (t) => {
  const out = tempDir(t, 'tune-par');
  const tpe = { seed: 8, startup: 3 };
  const opts = { kind: 'macridvae' as const, data, space: SPACE, tpe, ...BASE, trials: 10, out };
  const crash = fakeExecutor(3, { ...tpe, fixed: 1, failAfter: 5 });
  await t.throwsAsync(tune({ ...opts, executor: crash }), { message: 'executor crashed' });
  const before = readFileSync(join(out, 'trials.jsonl'), 'utf8').trim().split('\n');
  const finished = before.map((l) => (JSON.parse(l) as TrialRecord).trial);
  t.is(finished.length, 5);
  const proposed = readFileSync(join(out, 'proposals.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { trial: number; point: Point });
  const pending = proposed.filter((p) => !finished.includes(p.trial));
  t.true(pending.length > 0);

  const again = fakeExecutor(3, { ...tpe, fixed: Number.POSITIVE_INFINITY });
  const r = await tune({ ...opts, executor: again, resume: true });
  // The pending trials run first with their proposed points; no finished trial runs again.
  t.deepEqual(
    again.jobs.slice(0, pending.length).map((j) => ({ trial: j.trial, point: j.point })),
    pending,
  );
  t.false(again.jobs.some((j) => finished.includes(j.trial)));
  t.deepEqual(
    r.trials.map((x) => x.trial).sort((a, b) => a - b),
    Array.from({ length: 10 }, (_, i) => i),
  );
  const after = readFileSync(join(out, 'trials.jsonl'), 'utf8').trim().split('\n');
  t.deepEqual(after.slice(0, 5), before);
  t.is(after.length, 10);
});

test('failedOutcome names the error', (t) => {
  t.is(failedOutcome(new RangeError('bad')).error, 'RangeError: bad');
});
