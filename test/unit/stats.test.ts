import test from 'ava';
import { InvalidArgumentError } from '../../ts/errors.js';
import { closeTestPool } from '../helpers/implementations.js';
import { KERNEL_IMPLS } from '../helpers/kernel-impls.js';
import { correlationOracle, independenceOracle } from '../helpers/oracle-kernels.js';
import { Rng } from '../helpers/random.js';

test.after.always(closeTestPool);

/** 4 vectors: dim1 = 2·dim0 (corr 1), dim2 = −dim0 (corr −1), dim3 constant. */
const HAND = new Float32Array([1, 2, -1, 5, 2, 4, -2, 5, 3, 6, -3, 5, 4, 8, -4, 5]);

/** Random vectors with some correlated and some constant dimensions. */
function randomVectors(rng: Rng, n: number, d: number): Float32Array {
  const x = new Float32Array(n * d);
  const constant = rng.int(d + 1);
  for (let r = 0; r < n; r++) {
    const shared = rng.next();
    for (let j = 0; j < d; j++) {
      x[r * d + j] = j === constant ? 0.5 : shared * (j % 3) + rng.next() * (1 + j);
    }
  }
  return x;
}

for (const impl of KERNEL_IMPLS) {
  test(`${impl.name}: hand-computed correlations and independence score (constant dimension)`, async (t) => {
    const c = await impl.correlationMatrix({ vectors: HAND, n: 4, d: 4 });
    const want = [1, 1, -1, 0, 1, 1, -1, 0, -1, -1, 1, 0, 0, 0, 0, 1];
    t.true(
      want.every((w, i) => Math.abs(c.matrix[i] - w) < 1e-12),
      String(c.matrix),
    );
    t.deepEqual(c.constantDims, [3]);
    // |1| + |−1| + |−1| over 6 pairs → 1 − 2·3/12 = 0.5
    const s = await impl.independenceScore({ vectors: HAND, n: 4, d: 4 });
    t.true(Math.abs(s.score - 0.5) < 1e-12, String(s.score));
    t.deepEqual(s.constantDims, [3]);
  });

  if (impl.name === 'oracle') continue;

  test(`${impl.name}: matches the oracle on seeded random vectors`, async (t) => {
    const rng = new Rng(99);
    for (let trial = 0; trial < 15; trial++) {
      const n = 1 + rng.int(400);
      const d = 2 + rng.int(12);
      const args = { vectors: randomVectors(rng, n, d), n, d };
      const got = await impl.correlationMatrix(args);
      const want = correlationOracle(args);
      t.deepEqual(got.constantDims, want.constantDims, `trial ${trial}`);
      t.true(
        got.matrix.every((v, i) => Math.abs(v - want.matrix[i]) < 1e-6),
        `trial ${trial}`,
      );
      const s = await impl.independenceScore(args);
      t.true(Math.abs(s.score - independenceOracle(args).score) < 1e-6, `trial ${trial}`);
    }
  });

  test(`${impl.name}: bad input is named`, async (t) => {
    await t.throwsAsync(impl.independenceScore({ vectors: new Float32Array(3), n: 3, d: 1 }), {
      instanceOf: InvalidArgumentError,
      message: /'d' passed to independenceScore\(\) must be >= 2 but got 1/,
    });
    await t.throwsAsync(
      impl.correlationMatrix({ vectors: new Float32Array([1, Number.POSITIVE_INFINITY]), n: 1, d: 2 }),
      {
        instanceOf: InvalidArgumentError,
        message: /'vectors' must be finite but row 0, dimension 1 is inf/,
      },
    );
    await t.throwsAsync(impl.correlationMatrix({ vectors: new Float32Array(5), n: 2, d: 2 }), {
      message: /'vectors' passed to correlationMatrix\(\) must have 4 elements but has 5/,
    });
  });
}
