import test from 'ava';
import { csrFromRows } from '../../ts/csr.js';
import { InvalidArgumentError, MacridError, OutOfRangeError, WasmTrapError } from '../../ts/errors.js';
import { topk } from '../../ts/kernels.js';
import { debugTrap } from '../../ts/wasm/ranking.js';
import { WasmInstance } from '../../ts/wasm/raw.js';
import { KernelPool } from '../../ts/workers/pool.js';

const scores = new Float32Array([1, 2, 3, 4]);
const badExclude = csrFromRows([[7]], 4);
const goodExclude = csrFromRows([[3]], 4);

test('an out-of-range index is a typed error naming the position (main thread)', (t) => {
  const e = t.throws(() => topk({ scores, users: 1, items: 4, exclude: badExclude, k: 2 }), {
    instanceOf: OutOfRangeError,
  });
  t.true(e instanceof InvalidArgumentError && e instanceof MacridError);
  t.is(e.message, "topk: 'exclude.indices[0]' = 7 (row 0) is out of range for 4 columns");
});

test('an out-of-range index is a typed error naming the position (worker)', async (t) => {
  const pool = new KernelPool({ threads: 1 });
  try {
    const e = await t.throwsAsync(pool.run('topk', { scores, users: 1, items: 4, exclude: badExclude, k: 2 }), {
      instanceOf: OutOfRangeError,
    });
    t.regex(e.message, /'exclude\.indices\[0\]' = 7 \(row 0\) is out of range for 4 columns/);
  } finally {
    await pool.close();
  }
});

test('arguments are validated at the TS edge, naming the argument', (t) => {
  t.throws(() => topk({ scores, users: 1, items: 4, exclude: goodExclude, k: -1 }), {
    instanceOf: InvalidArgumentError,
    message: "'k' passed to topk() must be >= 0 but got -1",
  });
  t.throws(() => topk({ scores: new Float32Array(3), users: 1, items: 4, exclude: goodExclude, k: 1 }), {
    message: "'scores' passed to topk() must have 4 elements but has 3",
  });
  t.throws(
    () => topk({ scores: [1, 2, 3, 4] as unknown as Float32Array, users: 1, items: 4, exclude: goodExclude, k: 1 }),
    {
      message: "'scores' passed to topk() must be a Float32Array but got Array",
    },
  );
  t.throws(() => topk({ scores, users: 1, items: 4, exclude: csrFromRows([[1]], 5), k: 1 }), {
    message: "'exclude.cols' passed to topk() must be 4 but got 5",
  });
  t.throws(
    () => topk({ scores: new Float32Array([0, Number.NaN]), users: 1, items: 2, exclude: csrFromRows([[]], 2), k: 1 }),
    {
      message: "topk: 'scores' contains NaN at user row 0, item 1",
    },
  );
});

test('a trap is a WasmTrapError and the instance is rebuilt (main thread)', (t) => {
  const inst = new WasmInstance();
  t.throws(() => debugTrap(inst), { instanceOf: WasmTrapError, message: /trapped.*rebuilt/ });
  t.is(inst.rebuilds, 1);
  // the rebuilt instance works
  const r = inst.call('after', () => 0);
  t.is(r, 0);
});

test('a trap in a worker is a WasmTrapError and the worker keeps serving', async (t) => {
  const pool = new KernelPool({ threads: 1 });
  try {
    await t.throwsAsync(pool.run('debugTrap', {}), { instanceOf: WasmTrapError });
    const r = await pool.run('topk', { scores, users: 1, items: 4, exclude: goodExclude, k: 2 });
    t.deepEqual([...r.items], [2, 1]);
  } finally {
    await pool.close();
  }
});

test('a closed pool refuses work with a clear error', async (t) => {
  const pool = new KernelPool({ threads: 1 });
  await pool.close();
  await t.throwsAsync(pool.run('topk', { scores, users: 1, items: 4, exclude: goodExclude, k: 2 }), {
    message: 'the kernel pool is closed',
  });
});

test('the pool option is validated', (t) => {
  t.throws(() => new KernelPool({ threads: 0 }), {
    message: "'threads' passed to KernelPool() must be >= 1 but got 0",
  });
});
