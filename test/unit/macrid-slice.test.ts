/**
 * The fused MacridVAE slice step (one Rust call, `ts/models/macrid-slice.ts`) against its oracle composed
 * from the single kernels (test/helpers/macrid-slice-oracle.ts): loss, KL and every gradient, for cosine
 * and inner similarity, with and without hidden layers, full and sampled softmax, on the calling thread
 * and on the pool; the evaluation encoder likewise; bad arguments named.
 */
import test from 'ava';
import { type Csr, csrFromRows, csrRows } from '../../ts/csr.js';
import { type MacridSliceArgs, macridEncode, macridSliceTrain } from '../../ts/models/macrid-slice.js';
import { threadInstance } from '../../ts/wasm/raw.js';
import { closeTestPool, testPool } from '../helpers/implementations.js';
import { macridEncodeOracle, macridSliceOracle } from '../helpers/macrid-slice-oracle.js';
import { Rng } from '../helpers/random.js';

test.after.always(closeTestPool);

const ITEMS = 25;

function clicks(rng: Rng, users: number): Csr {
  const rows: number[][] = [];
  for (let u = 0; u < users; u++) {
    const s = new Set<number>();
    while (s.size < 2 + rng.int(5)) s.add(rng.int(ITEMS));
    rows.push([...s].sort((a, b) => a - b));
  }
  return csrFromRows(rows, ITEMS);
}

function normal(rng: Rng, n: number, s: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * s);
}

function args(seed: number, hidden: number[], cosine: boolean, sampled: boolean): MacridSliceArgs {
  const rng = new Rng(seed);
  const K = 3;
  const d = 4;
  const x = clicks(rng, 6);
  const rows = csrRows(x) * K;
  const dims = [d, ...hidden, 2 * d];
  const c = normal(rng, ITEMS * K, 1).map((v) => Math.abs(v) + 0.1);
  const h = normal(rng, ITEMS * d, 0.5);
  return {
    x,
    concepts: K,
    d,
    sigma0: 0.1,
    cosine,
    layerDims: dims,
    c,
    t: normal(rng, ITEMS * d, 0.5),
    bias: normal(rng, d, 0.1),
    weights: dims.slice(1).map((w, j) => normal(rng, dims[j] * w, 0.5)),
    biases: dims.slice(1).map((w) => normal(rng, w, 0.1)),
    mask: Float32Array.from({ length: x.indices.length * K }, (_, i) => (i % 4 === 0 ? 0 : 2)),
    hiddenMasks: hidden.map((w) => Float32Array.from({ length: rows * w }, (_, i) => (i % 3 === 0 ? 0 : 1.5))),
    eps: normal(rng, rows * d, 1),
    items: ITEMS,
    h,
    scale: 2,
    bound: cosine ? 2 : undefined,
    gradScale: 1 / 6,
    klScale: 0.2 / 6,
    sampled: sampled
      ? {
          items: Uint32Array.from({ length: 9 }, (_, j) => (j * 7 + 1) % ITEMS),
          logWeight: Float32Array.from({ length: 9 }, (_, j) => -Math.log(9) + 0.01 * j),
        }
      : undefined,
  };
}

function close(t: import('ava').ExecutionContext, name: string, a: Float32Array, b: Float32Array): void {
  t.is(a.length, b.length, name);
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < a.length; i++)
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-3 * scale, 1e-30));
  t.true(worst < 1e-4, `${name}: relative ${worst}`);
}

for (const [label, hidden, cosine, sampled] of [
  ['cosine, two hidden layers, full softmax', [5, 4], true, false],
  ['inner, no hidden layer, sampled softmax', [], false, true],
  ['cosine, one hidden layer, sampled softmax', [6], true, true],
] as const) {
  test(`fused slice step equals the composed kernels: ${label}`, async (t) => {
    const a = args(label.length, [...hidden], cosine, sampled);
    const want = macridSliceOracle(threadInstance(), a);
    for (const [where, got] of [
      ['thread', macridSliceTrain(threadInstance(), a)],
      ['pool', await testPool().run('macridSliceTrain', a)],
    ] as const) {
      for (const k of ['loss', 'kl', 'dbias', 'dt', 'dh', 'dcEncoder', 'dcDecoder'] as const)
        close(t, `${where} ${k}`, got[k], want[k]);
      for (let j = 0; j < want.dW.length; j++) {
        close(t, `${where} dW[${j}]`, got.dW[j], want.dW[j]);
        close(t, `${where} db[${j}]`, got.db[j], want.db[j]);
      }
    }
    const ev = { ...a, mask: undefined, hiddenMasks: undefined, eps: undefined };
    close(t, 'encode z', macridEncode(threadInstance(), ev), macridEncodeOracle(threadInstance(), ev).z);
  });
}

test('bad arguments are named', (t) => {
  const a = args(1, [5], true, false);
  t.throws(() => macridSliceTrain(threadInstance(), { ...a, layerDims: [4, 5, 4] }), { message: /'layerDims'/ });
  t.throws(() => macridSliceTrain(threadInstance(), { ...a, t: a.t.subarray(1) }), { message: /'t'/ });
  t.throws(() => macridSliceTrain(threadInstance(), { ...a, hiddenMasks: [new Float32Array(3)] }), {
    message: /'hiddenMasks\[0\]'/,
  });
});
