import test from 'ava';
import { type Csr, csrFromRows, csrRow } from '../../ts/csr.js';
import { InvalidArgumentError } from '../../ts/errors.js';
import { type NegativeSamples, type SampleNegativesArgs, sampleNegatives, samplingLogProbs } from '../../ts/kernels.js';
import { closeTestPool, testPool } from '../helpers/implementations.js';
import { logQOracle, proposalOracle } from '../helpers/oracle-kernels.js';
import { Rng, randomCsr } from '../helpers/random.js';

test.after.always(closeTestPool);

/** Pearson chi-square of observed item counts against probabilities `p` (cells with p = 0 must be empty). */
function chiSquare(items: Uint32Array, p: ArrayLike<number>): { x2: number; df: number; impossible: number } {
  const counts = new Float64Array(p.length);
  for (const i of items) counts[i]++;
  let x2 = 0;
  let df = -1;
  let impossible = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === 0) {
      impossible += counts[i];
      continue;
    }
    const e = p[i] * items.length;
    x2 += (counts[i] - e) ** 2 / e;
    df++;
  }
  return { x2, df, impossible };
}

/** A generous fixed bound: df + 6·√(2·df) (about 6 standard deviations of the chi-square). */
const bound = (df: number) => df + 6 * Math.sqrt(2 * df);

const POPULARITY = Float32Array.from({ length: 60 }, (_, i) => (i % 11 === 4 ? 0 : 1000 / (i + 1)));

const IMPLS: Array<{ name: string; run(a: SampleNegativesArgs): Promise<NegativeSamples> }> = [
  { name: 'wasm', run: async (a) => sampleNegatives(a) },
  { name: 'pool', run: (a) => testPool().run('sampleNegatives', a) },
];

for (const impl of IMPLS) {
  test(`${impl.name}: uniform and popularity^alpha draws follow their distribution, with correct log-probabilities`, async (t) => {
    const positives = csrFromRows([[]], 60);
    for (const [popularity, alpha] of [
      [undefined, undefined],
      [POPULARITY, 0.75],
      [POPULARITY, 1],
      [POPULARITY, 0],
    ] as const) {
      const r = await impl.run({ positives, items: 60, popularity, alpha, samples: 120_000, seed: 7 });
      const p = proposalOracle(60, popularity, alpha ?? 0.75);
      const { x2, df, impossible } = chiSquare(r.items, p);
      t.is(impossible, 0, 'an item of probability 0 was drawn');
      t.true(x2 < bound(df), `alpha ${alpha}: chi2 ${x2.toFixed(1)} over ${df} df`);
      t.true(
        r.items.every((i, j) => Math.abs(r.logQ[j] - Math.log(p[i])) < 1e-5),
        'logQ',
      );
    }
  });

  test(`${impl.name}: excluded positives are never drawn; logQ is the renormalized proposal`, async (t) => {
    // rows with 10%, 50% and 95% of the items as positives (never item 7, so a negative exists):
    // the last kind takes the complement path
    const rng = new Rng(31);
    const rows = Array.from({ length: 40 }, (_, u) => {
      const density = [0.1, 0.5, 0.95][u % 3];
      return Array.from({ length: 60 }, (_, i) => i).filter((i) => i !== 7 && rng.next() < density);
    });
    const positives = csrFromRows(rows, 60);
    for (const popularity of [undefined, POPULARITY]) {
      const args = { positives, items: 60, popularity, samples: 200, excludePositives: true, seed: 3, stream: 9 };
      const r = await impl.run(args);
      const p = proposalOracle(60, popularity);
      for (let u = 0; u < 40; u++) {
        const pos = csrRow(positives, u);
        const set = new Set(pos);
        for (let j = 0; j < 200; j++) {
          const i = r.items[u * 200 + j];
          t.false(set.has(i), `row ${u} drew its positive ${i}`);
          t.true(p[i] > 0);
          const want = logQOracle(p, i, pos, true);
          if (Math.abs(r.logQ[u * 200 + j] - want) > 1e-5) t.fail(`row ${u}: logQ ${r.logQ[u * 200 + j]} != ${want}`);
        }
      }
    }
  });

  test(`${impl.name}: the complement path (positives hold most of the mass) follows the restricted distribution`, async (t) => {
    // positives: the 50 most popular items, well over 80% of the popularity mass
    const pos = Array.from({ length: 50 }, (_, i) => i);
    const positives: Csr = csrFromRows([pos], 60);
    const p = proposalOracle(60, POPULARITY, 1);
    const posMass = pos.reduce((a, i) => a + p[i], 0);
    t.true(posMass > 0.8, `positives hold ${posMass}`);
    const r = await impl.run({
      positives,
      items: 60,
      popularity: POPULARITY,
      alpha: 1,
      samples: 60_000,
      excludePositives: true,
      seed: 1,
    });
    const restricted = Array.from(p, (q, i) => (i < 50 ? 0 : q / (1 - posMass)));
    const { x2, df, impossible } = chiSquare(r.items, restricted);
    t.is(impossible, 0);
    t.true(x2 < bound(df), `chi2 ${x2.toFixed(1)} over ${df} df`);
    t.true(r.items.every((i, j) => Math.abs(r.logQ[j] - Math.log(restricted[i])) < 1e-5));
  });

  test(`${impl.name}: shared negatives avoid every row's positives`, async (t) => {
    const positives = csrFromRows([[0, 1], [2], [59]], 60);
    const r = await impl.run({ positives, items: 60, samples: 500, shared: true, excludePositives: true, seed: 2 });
    t.is(r.rows, 1);
    t.is(r.items.length, 500);
    t.false(r.items.some((i) => i <= 2 || i === 59));
    t.true(r.logQ.every((q) => Math.abs(q - Math.log(1 / 56)) < 1e-6));
  });
}

test('deterministic by seed and stream, identical on the main thread and on a worker', async (t) => {
  const rng = new Rng(5);
  const positives = randomCsr(rng, 20, 80, 0.3);
  const args: SampleNegativesArgs = {
    positives,
    items: 80,
    popularity: Float32Array.from({ length: 80 }, (_, i) => 1 + (i % 9)),
    samples: 64,
    excludePositives: true,
    seed: 11,
    stream: 4,
  };
  const a = sampleNegatives(args);
  t.deepEqual(sampleNegatives(args), a);
  t.deepEqual(await testPool().run('sampleNegatives', args), a);
  t.notDeepEqual(sampleNegatives({ ...args, stream: 5 }).items, a.items);
  t.notDeepEqual(sampleNegatives({ ...args, seed: 12 }).items, a.items);
});

test('samplingLogProbs gives ln p(i) of the proposal', (t) => {
  const lp = samplingLogProbs({ items: 60, popularity: POPULARITY, alpha: 0.5 });
  const p = proposalOracle(60, POPULARITY, 0.5);
  t.true(lp.every((v, i) => (p[i] === 0 ? v === Number.NEGATIVE_INFINITY : Math.abs(v - Math.log(p[i])) < 1e-6)));
  const uni = samplingLogProbs({ items: 8 });
  t.true(uni.every((v) => Math.abs(v - Math.log(1 / 8)) < 1e-7));
});

test('bad input is named', (t) => {
  const positives = csrFromRows([[0, 1, 2]], 3);
  t.throws(() => sampleNegatives({ positives, items: 3, samples: 1, excludePositives: true, seed: 0 }), {
    instanceOf: InvalidArgumentError,
    message: /'positives' row 0 covers every item of non-zero probability/,
  });
  t.throws(() => sampleNegatives({ positives, items: 3, samples: 1, seed: 2 ** 32 }), {
    message: /'seed' passed to sampleNegatives\(\) must be <= 4294967295/,
  });
  t.throws(
    () => sampleNegatives({ positives, items: 3, samples: 1, seed: 0, popularity: new Float32Array([1, -1, 1]) }),
    {
      message: /'popularity\[1\]' must be finite and >= 0 but is -1/,
    },
  );
  t.throws(() => sampleNegatives({ positives, items: 3, samples: 1, seed: 0, alpha: Number.NaN }), {
    message: /'alpha' passed to sampleNegatives\(\) must be a number/,
  });
  t.throws(() => sampleNegatives({ positives, items: 4, samples: 1, seed: 0 }), {
    message: /'positives.cols' passed to sampleNegatives\(\) must be 4 but got 3/,
  });
  // without exclusion the same row is fine
  t.is(sampleNegatives({ positives, items: 3, samples: 5, seed: 0 }).items.length, 5);
});
