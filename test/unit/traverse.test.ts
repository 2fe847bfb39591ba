import test from 'ava';
import { traverse, traverseArgs } from '../../ts/control/traverse.js';
import { InvalidArgumentError, OutOfRangeError } from '../../ts/errors.js';
import type { TraverseKernelArgs, TraverseResult } from '../../ts/wasm/control.js';
import * as control from '../../ts/wasm/control.js';
import { threadInstance, WasmInstance } from '../../ts/wasm/raw.js';
import { greedyTraverseOracle, nearestOracle, traverseObjectiveOracle } from '../helpers/analysis-oracle.js';
import { plantedSpace } from '../helpers/concepts.js';
import { closeTestPool, testPool } from '../helpers/implementations.js';

test.after.always(closeTestPool);

interface TraverseImpl {
  name: string;
  run(args: TraverseKernelArgs): Promise<TraverseResult>;
}

const IMPLS: TraverseImpl[] = [
  { name: 'wasm', run: async (a) => control.traverse(threadInstance(), a) },
  { name: 'pool', run: (a) => testPool().run('traverse', a) },
];

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

for (const impl of IMPLS) {
  test(`${impl.name}: greedy selection matches the oracle (closed-form range, f64)`, async (t) => {
    let checked = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const space = plantedSpace(seed, 300, 12, 4, 0.9);
      const args = traverseArgs(space, { item: (seed * 37) % 300 }, { dim: seed % 12, steps: 5, beam: 1, gamma: 0.3 });
      const want = greedyTraverseOracle(args);
      const got = await impl.run(args);
      t.is(got.concept, want.concept, `seed ${seed}`);
      t.true(rel(got.range[0], want.range[0]) < 1e-6 && rel(got.range[1], want.range[1]) < 1e-6, `seed ${seed}`);
      t.deepEqual([...got.items], want.items, `seed ${seed}`);
      t.true(rel(got.objective, want.objective) < 1e-5, `seed ${seed}: ${got.objective} vs ${want.objective}`);
      checked++;
    }
    t.is(checked, 12);
  });

  test(`${impl.name}: beam search returns B distinct items of the start concept, monotone, objective >= greedy`, async (t) => {
    let strictlyBetter = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const space = plantedSpace(100 + seed, 500, 16, 5, 1.0);
      const concept = nearestOracle(space);
      const opts = { dim: (seed * 3) % 16, steps: 6, gamma: 1.0 };
      const start = { item: (seed * 53) % 500 };
      const beam = await impl.run(traverseArgs(space, start, { ...opts, beam: 25 }));
      const greedy = await impl.run(traverseArgs(space, start, { ...opts, beam: 1 }));
      t.true(beam.objective >= greedy.objective, `seed ${seed}`);
      if (beam.objective > greedy.objective * (1 + 1e-9)) strictlyBetter++;
      t.is(new Set(beam.items).size, 6);
      t.is(beam.concept, concept[start.item]);
      for (let s = 0; s < 6; s++) {
        const i = beam.items[s];
        t.is(concept[i], beam.concept);
        t.is(beam.values[s], space.h[i * space.d + opts.dim]);
        t.true(beam.bounds[s] < beam.values[s] && beam.values[s] <= beam.bounds[s + 1]);
        if (s > 0) t.true(beam.values[s] > beam.values[s - 1]);
      }
      const counts = [...beam.counts];
      t.true(Math.max(...counts) - Math.min(...counts) <= 1);
      const args = traverseArgs(space, start, opts);
      const obj = traverseObjectiveOracle(space.h, space.d, args.start, opts.dim, beam.items, 1.0, 0.1);
      t.true(rel(beam.objective, obj) < 1e-5);
      for (let s = 0; s < 6; s++) {
        const one = traverseObjectiveOracle(space.h, space.d, args.start, opts.dim, [beam.items[s]], 0, 0.1);
        t.true(rel(beam.scores[s], one) < 1e-5);
      }
    }
    // The beam is not just greedy under another name: on some of these instances it finds better.
    t.true(strictlyBetter > 0);
  });

  test(`${impl.name}: bad arguments are named (typed errors cross the pool)`, async (t) => {
    const space = plantedSpace(3, 60, 6, 3, 0.5);
    const base = traverseArgs(space, { item: 0 }, { dim: 0, steps: 3 });
    await t.throwsAsync(impl.run({ ...base, dim: 6 }), { instanceOf: InvalidArgumentError, message: /'dim'/ });
    await t.throwsAsync(impl.run({ ...base, steps: 60 }), {
      instanceOf: InvalidArgumentError,
      message: /'steps' must be <=/,
    });
    await t.throwsAsync(impl.run({ ...base, prototypes: new Float32Array(18) }), {
      instanceOf: InvalidArgumentError,
      message: /'prototypes' row 0/,
    });
  });
}

test('traverse() from a user component vector: rescaled start, same concept as its nearest prototype', (t) => {
  const space = plantedSpace(9, 400, 10, 4, 0.7);
  // a unit vector near prototype 2
  const v = new Float32Array(10);
  let n = 0;
  for (let l = 0; l < 10; l++) n += space.prototypes[20 + l] ** 2;
  for (let l = 0; l < 10; l++) v[l] = space.prototypes[20 + l] / Math.sqrt(n);
  const r = traverse(space, { vector: v }, { dim: 4, steps: 5 });
  t.is(r.concept, 2);
  t.is(r.items.length, 5);
  const plain = traverse(space, { vector: v, rescale: false }, { dim: 4, steps: 5 });
  t.is(plain.concept, 2);
  t.throws(() => traverse(space, { item: 400 }, { dim: 0 }), {
    instanceOf: InvalidArgumentError,
    message: /start\.item/,
  });
  t.throws(() => traverse(space, { vector: new Float32Array(3) }, { dim: 0 }), { message: /10 elements/ });
});

test('traverseObjective (WASM, f64) equals the oracle', (t) => {
  const space = plantedSpace(5, 50, 8, 3, 0.5);
  const start = space.h.slice(0, 8);
  const chosen = new Uint32Array([3, 7, 11, 20]);
  const got = control.traverseObjective(threadInstance(), { ...space, start, dim: 2, chosen, gamma: 0.5, tau: 0.1 });
  const want = traverseObjectiveOracle(space.h, 8, start, 2, chosen, 0.5, 0.1);
  t.true(rel(got, want) < 1e-12);
  t.throws(
    () =>
      control.traverseObjective(threadInstance(), {
        ...space,
        start,
        dim: 2,
        chosen: new Uint32Array([50]),
        gamma: 0.5,
        tau: 0.1,
      }),
    { instanceOf: OutOfRangeError },
  );
});

test('traverse run 2,000 times leaves WASM memory flat', (t) => {
  const inst = new WasmInstance();
  const args = traverseArgs(plantedSpace(2, 200, 8, 3, 0.6), { item: 5 }, { dim: 1, steps: 4, beam: 8 });
  for (let i = 0; i < 50; i++) control.traverse(inst, args);
  const before = inst.memoryBytes();
  for (let i = 0; i < 2000; i++) control.traverse(inst, args);
  t.is(inst.memoryBytes(), before);
});
