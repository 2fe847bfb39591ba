import test from 'ava';
import { csrFromRows, csrGatherRows } from '../../ts/csr.js';
import { InvalidArgumentError, OutOfRangeError } from '../../ts/errors.js';
import { closeTestPool } from '../helpers/implementations.js';
import { KERNEL_IMPLS } from '../helpers/kernel-impls.js';
import { denseBatchOracle, sparseBatchOracle } from '../helpers/oracle-kernels.js';
import { Rng, randomCsr } from '../helpers/random.js';

test.after.always(closeTestPool);

const h = Math.fround(Math.SQRT1_2);

for (const impl of KERNEL_IMPLS) {
  test(`${impl.name}: hand-computed dense and sparse batches (binary, l2, empty row)`, async (t) => {
    const rows = csrFromRows([[3, 0], [], [0, 1, 2, 3]], 4);
    const bin = await impl.denseBatch({ rows, normalize: 'binary' });
    t.deepEqual([...bin.data], [1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1]);
    t.is(bin.rows, 3);
    t.is(bin.cols, 4);
    const l2 = await impl.denseBatch({ rows, normalize: 'l2' });
    t.deepEqual([...l2.data], [h, 0, 0, h, 0, 0, 0, 0, 0.5, 0.5, 0.5, 0.5]);
    const sp = await impl.sparseBatch({ rows, normalize: 'l2' });
    t.deepEqual([...sp.indices], [3, 0, 0, 1, 2, 3]);
    t.deepEqual([...sp.offsets], [0, 2, 2, 6]);
    t.deepEqual([...sp.segmentIds], [0, 0, 2, 2, 2, 2]);
    t.deepEqual([...sp.values], [h, h, 0.5, 0.5, 0.5, 0.5]);
  });

  if (impl.name === 'oracle') continue;

  test(`${impl.name}: matches the oracle on seeded random rows`, async (t) => {
    const rng = new Rng(4242);
    for (let trial = 0; trial < 20; trial++) {
      const rows = randomCsr(rng, rng.int(8), 1 + rng.int(120), rng.next() * 0.5);
      for (const normalize of ['binary', 'l2'] as const) {
        t.deepEqual(
          await impl.denseBatch({ rows, normalize }),
          denseBatchOracle({ rows, normalize }),
          `trial ${trial}`,
        );
        t.deepEqual(
          await impl.sparseBatch({ rows, normalize }),
          sparseBatchOracle({ rows, normalize }),
          `trial ${trial}`,
        );
      }
    }
  });

  test(`${impl.name}: a repeated item, an out-of-range item or a bad mode is named`, async (t) => {
    const dup = await t.throwsAsync(impl.denseBatch({ rows: csrFromRows([[2], [1, 0, 1]], 3), normalize: 'l2' }), {
      instanceOf: InvalidArgumentError,
    });
    t.regex(dup.message, /denseBatch: 'rows.indices\[3\]' = 1 \(row 1\) repeats an item of its row/);
    await t.throwsAsync(impl.sparseBatch({ rows: csrFromRows([[5]], 3), normalize: 'binary' }), {
      instanceOf: OutOfRangeError,
      message: /'rows.indices\[0\]' = 5 \(row 0\) is out of range for 3 columns/,
    });
    await t.throwsAsync(impl.sparseBatch({ rows: csrFromRows([[1]], 3), normalize: 'max' as 'l2' }), {
      instanceOf: InvalidArgumentError,
      message: /'normalize' passed to sparseBatch\(\) must be 'binary' or 'l2' but got max/,
    });
  });
}

test('csrGatherRows cuts a batch out of a matrix, in the given order, repeats allowed', (t) => {
  const m = csrFromRows([[0], [1, 2], [], [3]], 4);
  const g = csrGatherRows(m, [3, 1, 1, 2]);
  t.deepEqual([...g.indptr], [0, 1, 3, 5, 5]);
  t.deepEqual([...g.indices], [3, 1, 2, 1, 2]);
  t.is(g.cols, 4);
  t.throws(() => csrGatherRows(m, [0, 4]), { instanceOf: OutOfRangeError, message: /'rows\[1\]' = 4/ });
});
