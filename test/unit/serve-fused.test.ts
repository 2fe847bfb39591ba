/**
 * The fused decoder + top-k serving kernel (`mixTopK`, crates/macrid-core/src/serve.rs) against the
 * unfused path it replaces in `scoreTopK`: `mixDecoderLogProbs` (the whole `users × items` block) then
 * a TS top-k oracle — same items, scores to 1e-5 — on this thread and on the pool, bounded (MacridVAE's
 * cosine) and unbounded with a bias (MultVAE), over more items than one tile.
 */
import test from 'ava';
import { csrFromRows } from '../../ts/csr.js';
import { kernels } from '../../ts/runtime/kernels.js';
import { Rng } from '../../ts/util/rng.js';
import type { MixTopKArgs } from '../../ts/wasm/serve.js';
import { closeTestPool, testPool } from '../helpers/implementations.js';
import { topkOracle } from '../helpers/oracle.js';

test.after.always(closeTestPool);

function unit(v: Float32Array, d: number): Float32Array {
  for (let r = 0; r < v.length / d; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += v[r * d + j] ** 2;
    for (let j = 0; j < d; j++) v[r * d + j] /= Math.sqrt(s);
  }
  return v;
}

for (const bounded of [true, false]) {
  test(`mixTopK = log-probabilities then top k (${bounded ? 'bounded, K = 4' : 'running maximum, bias, K = 1'})`, async (t) => {
    const rng = new Rng(bounded ? 3 : 4);
    const users = 37;
    const concepts = bounded ? 4 : 1;
    const d = 9;
    const items = 700;
    const rand = (n: number, s = 1) => Float32Array.from({ length: n }, () => s * (rng.next() - 0.5));
    const z = bounded ? unit(rand(users * concepts * d), d) : rand(users * d, 3);
    const h = bounded ? unit(rand(items * d), d) : rand(items * d, 3);
    const exclude = csrFromRows(
      Array.from({ length: users }, (_, u) => [u, 2 * u + 1, 600 + u]),
      items,
    );
    const args: MixTopKArgs = {
      users,
      concepts,
      d,
      items,
      z,
      h,
      ...(bounded ? { c: Float32Array.from({ length: items * concepts }, () => rng.next()) } : {}),
      ...(bounded ? {} : { bias: rand(items, 2) }),
      scale: bounded ? 5 : 1,
      bound: bounded ? 5 : undefined,
      exclude,
      k: 12,
    };
    const want = topkOracle({ scores: kernels.mixDecoderLogProbs(args), users, items, exclude, k: 12 });
    for (const [name, got] of [
      ['thread', kernels.mixTopK(args)],
      ['pool', await testPool().run('mixTopK', args)],
    ] as const) {
      t.deepEqual(Array.from(got.items), Array.from(want.items), name);
      t.deepEqual(Array.from(got.counts), Array.from(want.counts), name);
      got.scores.forEach((s, j) => {
        t.true(Math.abs(s - want.scores[j]) <= 1e-5 * Math.max(1, Math.abs(want.scores[j])), `${name} ${j}`);
      });
    }
  });
}
