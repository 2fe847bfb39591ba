/**
 * The item–item kernels (Gram matrix, EASE, ItemKNN, scoring) against their float64 TS oracles, on the
 * main thread and on the pool; EASE's closed form on a tiny fixture and its memory guard.
 */
import test from 'ava';
import { csrFromRows } from '../../ts/csr.js';
import { MemoryLimitError } from '../../ts/errors.js';
import { checkEaseMemory, fitBaseline } from '../../ts/train/fit-baseline.js';
import { easeMemory, easeWeights, gram, knnWeights, scoreDense, scoreSparse } from '../../ts/wasm/itemsim.js';
import { threadInstance } from '../../ts/wasm/raw.js';
import { closeTestPool, testPool } from '../helpers/implementations.js';
import { easeOracle, gramOracle, knnOracle, scoreOracle } from '../helpers/itemsim-oracle.js';
import { Rng, randomCsr } from '../helpers/random.js';
import { syntheticSplit } from '../helpers/synthetic-split.js';

test.after.always(closeTestPool);

const IMPLS = [
  {
    name: 'wasm',
    gram: async (a: Parameters<typeof gram>[1]) => gram(threadInstance(), a),
    ease: async (a: Parameters<typeof easeWeights>[1]) => easeWeights(threadInstance(), a),
    knn: async (a: Parameters<typeof knnWeights>[1]) => knnWeights(threadInstance(), a),
  },
  {
    name: 'pool',
    gram: (a: Parameters<typeof gram>[1]) => testPool().run('gram', a),
    ease: (a: Parameters<typeof easeWeights>[1]) => testPool().run('easeWeights', a),
    knn: (a: Parameters<typeof knnWeights>[1]) => testPool().run('knnWeights', a),
  },
];

function maxRelErr(want: ArrayLike<number>, got: ArrayLike<number>): number {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    err = Math.max(err, Math.abs(want[i] - got[i]));
  }
  return err / Math.max(scale, 1e-300);
}

for (const impl of IMPLS) {
  test(`${impl.name}: gram equals XᵀX`, async (t) => {
    const x = randomCsr(new Rng(1), 40, 33, 0.2);
    t.deepEqual(Array.from(await impl.gram({ x })), Array.from(gramOracle(x)));
  });

  test(`${impl.name}: EASE weights match the Gauss–Jordan oracle across block edges (f64 and f32)`, async (t) => {
    for (const m of [1, 3, 64, 65, 130]) {
      const x = randomCsr(new Rng(m), m + 20, m, 0.25);
      const g = await impl.gram({ x });
      const want = easeOracle(g, m, 5);
      const b64 = await impl.ease({ gram: g, items: m, lambda: 5, precision: 'f64' });
      const b32 = await impl.ease({ gram: g, items: m, lambda: 5, precision: 'f32' });
      t.true(maxRelErr(want, b64) < 1e-6, `m=${m} f64 ${maxRelErr(want, b64)}`);
      t.true(maxRelErr(want, b32) < 1e-3, `m=${m} f32 ${maxRelErr(want, b32)}`);
      for (let i = 0; i < m; i++) t.is(b64[i * m + i], 0);
    }
  });

  test(`${impl.name}: ItemKNN neighbourhoods match the oracle`, async (t) => {
    const m = 30;
    const x = randomCsr(new Rng(5), 50, m, 0.15);
    const g = await impl.gram({ x });
    for (const [k, shrink] of [
      [3, 0],
      [10, 2.5],
    ]) {
      const got = await impl.knn({ gram: g, items: m, k, shrink });
      const want = knnOracle(g, m, k, shrink);
      for (let c = 0; c < m; c++) {
        t.is(got.count[c], want.neighbours[c].length);
        t.deepEqual(Array.from(got.neighbours.subarray(c * k, c * k + got.count[c])), want.neighbours[c]);
        const s = Array.from(got.similarity.subarray(c * k, c * k + got.count[c]));
        for (let j = 0; j < s.length; j++) t.true(Math.abs(s[j] - want.similarity[c][j]) < 1e-6);
      }
    }
  });
}

test('EASE closed form: two items, B_01 = G_01 / (G_00 + λ)', (t) => {
  // Users {0,1}, {0,1}, {0}: G = [[3,2],[2,2]]; P ∝ [[2+λ, −2], [−2, 3+λ]], so B_01 = 2/(3+λ), B_10 = 2/(2+λ).
  const x = csrFromRows([[0, 1], [0, 1], [0]], 2);
  const g = gram(threadInstance(), { x });
  t.deepEqual(Array.from(g), [3, 2, 2, 2]);
  const b = easeWeights(threadInstance(), { gram: g, items: 2, lambda: 1, precision: 'f64' });
  t.is(b[0], 0);
  t.true(Math.abs(b[1] - 2 / 4) < 1e-7);
  t.true(Math.abs(b[2] - 2 / 3) < 1e-7);
});

test('scoring: dense and sparse products equal X·W', (t) => {
  const rng = new Rng(9);
  const x = randomCsr(rng, 7, 12, 0.3);
  const w = Float32Array.from({ length: 12 * 12 }, () => (rng.int(9) - 4) / 4);
  const want = scoreOracle(x, w, 12);
  t.deepEqual(Array.from(scoreDense(threadInstance(), { foldIn: x, weights: w, n: 12 })), Array.from(want));
  const all = csrFromRows(
    Array.from({ length: 12 }, () => Array.from({ length: 12 }, (_, j) => j)),
    12,
  );
  t.deepEqual(Array.from(scoreSparse(threadInstance(), { foldIn: x, weights: all, values: w })), Array.from(want));
});

test('EASE memory guard: refuses with the figure before allocating', async (t) => {
  const need = easeMemory(80_000, 'f32');
  t.is(need.total, 80_000 * 80_000 * 24);
  const e = t.throws(() => checkEaseMemory(80_000, 'f32', 16e9), { instanceOf: MemoryLimitError });
  t.regex(
    e.message,
    /EASE on 80,000 items needs 153\.60 GB \(153600000000 bytes.*may use 16\.00 GB \(16000000000 bytes/,
  );
  // Under the caller's limit but past what a wasm32 memory addresses.
  t.throws(() => checkEaseMemory(20_000, 'f64', 1e13), { instanceOf: MemoryLimitError, message: /wasm32/ });
  t.is(checkEaseMemory(100, 'f32', 1e6), 240_000);
  // fitBaseline refuses before any work.
  const data = syntheticSplit(3, 60, 40, 10);
  await t.throwsAsync(fitBaseline({ kind: 'ease', data, lambdas: [10], maxMemoryBytes: 40 * 40 * 24 - 1 }), {
    instanceOf: MemoryLimitError,
    message: /needs 0\.00 GB \(38400 bytes.*may use 0\.00 GB \(38399 bytes/,
  });
});
