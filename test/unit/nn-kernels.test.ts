/**
 * Contract tests of the training kernels: the WASM kernels (main thread, worker pool, and the decoder
 * split over users across the pool) against the float64 TS oracle, on seeded random inputs.
 */
import test, { type ExecutionContext } from 'ava';
import { type Csr, csrFromRows } from '../../ts/csr.js';
import { InvalidArgumentError } from '../../ts/errors.js';
import { decoderLogProbs, decoderTrain } from '../../ts/models/decoder.js';
import * as nn from '../../ts/wasm/nn.js';
import { threadInstance } from '../../ts/wasm/raw.js';
import { closeTestPool, testPool } from '../helpers/implementations.js';
import {
  gemmOracle,
  mixDecoderLogProbsOracle,
  mixDecoderTrainOracle,
  mixDecoderTrainSampledOracle,
  sparseMixBackwardOracle,
  sparseMixForwardOracle,
} from '../helpers/nn-oracle.js';
import { Rng, randomCsr } from '../helpers/random.js';

test.after.always(closeTestPool);

function rand(rng: Rng, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng.next() * 2 - 1) * scale;
  return out;
}

/** Softmax rows of random logits: a valid concept assignment `items × K`. */
function assignment(rng: Rng, items: number, K: number): Float32Array {
  const c = rand(rng, items * K, 3);
  for (let i = 0; i < items; i++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += c[i * K + k] = Math.exp(c[i * K + k]);
    for (let k = 0; k < K; k++) c[i * K + k] /= s;
  }
  return c;
}

function close(
  t: ExecutionContext,
  got: Float32Array | undefined,
  want: Float32Array | undefined,
  what: string,
  tol = 2e-4,
): void {
  t.truthy(got, `${what} missing`);
  t.truthy(want, `${what} missing in the oracle`);
  if (!got || !want) return;
  t.is(got.length, want.length, `${what} length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i]));
    if (!(e <= worst)) {
      worst = e;
      at = i;
    }
  }
  t.true(worst <= tol, `${what}: worst relative error ${worst} at ${at} (${got[at]} vs ${want[at]})`);
}

interface DecoderCase {
  args: nn.MixDecoderTrainArgs;
}

function decoderCase(rng: Rng, kind: 'macrid' | 'mult', users: number, items: number): DecoderCase {
  const K = kind === 'macrid' ? 1 + rng.int(5) : 1;
  const d = 1 + rng.int(40);
  const unit = (n: number) => {
    const v = rand(rng, n * d);
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += v[r * d + j] ** 2;
      for (let j = 0; j < d; j++) v[r * d + j] /= Math.sqrt(s) || 1;
    }
    return v;
  };
  const x = randomCsr(rng, users, items, rng.next() * 0.3);
  if (kind === 'macrid') {
    const tau = 0.1 + rng.next() * 0.4;
    return {
      args: {
        users,
        concepts: K,
        d,
        items,
        z: unit(users * K),
        h: unit(items),
        c: assignment(rng, items, K),
        scale: 1 / tau,
        bound: rng.next() < 0.5 ? 1 / tau : undefined,
        x,
        gradScale: 1 / Math.max(1, users),
      },
    };
  }
  return {
    args: {
      users,
      concepts: 1,
      d,
      items,
      z: rand(rng, users * d),
      h: rand(rng, items * d, 0.5),
      bias: rand(rng, items, 0.5),
      scale: 1,
      x,
      gradScale: 0.5,
    },
  };
}

const DECODER_IMPLS = [
  {
    name: 'wasm',
    train: async (a: nn.MixDecoderTrainArgs & { sampled?: nn.SampledNegatives }) =>
      nn.mixDecoderTrain(threadInstance(), a),
    logp: async (a: nn.MixDecoderArgs) => nn.mixDecoderLogProbs(threadInstance(), a),
  },
  {
    name: 'pool',
    train: (a: nn.MixDecoderTrainArgs & { sampled?: nn.SampledNegatives }) => testPool().run('mixDecoderTrain', a),
    logp: (a: nn.MixDecoderArgs) => testPool().run('mixDecoderLogProbs', a),
  },
  // The users split over two workers, partial dh/dc/dbias summed (forced even for small work).
  {
    name: 'split',
    train: (a: nn.MixDecoderTrainArgs & { sampled?: nn.SampledNegatives }) =>
      decoderTrain({ pool: testPool(), threads: 2, minWork: 0 }, a),
    logp: (a: nn.MixDecoderArgs) => decoderLogProbs({ pool: testPool(), threads: 2, minWork: 0 }, a),
  },
];

for (const impl of DECODER_IMPLS) {
  test(`${impl.name}: fused decoder loss, gradients and log-probabilities match the oracle`, async (t) => {
    const rng = new Rng(20261130);
    for (let trial = 0; trial < 12; trial++) {
      const kind = trial % 2 === 0 ? 'macrid' : 'mult';
      const { args } = decoderCase(rng, kind, 1 + rng.int(9), 1 + rng.int(70));
      const want = mixDecoderTrainOracle(args);
      const got = await impl.train(args);
      const what = `trial ${trial} (${kind}, K=${args.concepts}, d=${args.d}, ${args.users}×${args.items})`;
      close(t, got.loss, want.loss, `${what} loss`);
      close(t, got.dz, want.dz, `${what} dz`);
      close(t, got.dh, want.dh, `${what} dh`);
      if (kind === 'macrid') close(t, got.dc, want.dc, `${what} dc`);
      else close(t, got.dbias, want.dbias, `${what} dbias`);
      close(t, await impl.logp(args), mixDecoderLogProbsOracle(args), `${what} log p`);
    }
  });
}

for (const impl of DECODER_IMPLS) {
  test(`${impl.name}: sampled-softmax loss and gradients match the oracle`, async (t) => {
    const rng = new Rng(424242);
    for (let trial = 0; trial < 10; trial++) {
      const kind = trial % 2 === 0 ? 'macrid' : 'mult';
      const { args } = decoderCase(rng, kind, 1 + rng.int(7), 2 + rng.int(60));
      // Negative draws over all items (repeats, and clicks of some users), with arbitrary log weights.
      const draws = Array.from({ length: 1 + rng.int(12) }, () => rng.int(args.items));
      const sampled = {
        items: Uint32Array.from(draws),
        logWeight: Float32Array.from(draws, () => rng.next() * 2 - 1.5),
      };
      const a = { ...args, sampled };
      const want = mixDecoderTrainSampledOracle(a);
      const got = await impl.train(a);
      const what = `trial ${trial} (${kind}, K=${args.concepts}, ${args.users}×${args.items}, ${draws.length} draws)`;
      close(t, got.loss, want.loss, `${what} loss`);
      close(t, got.dz, want.dz, `${what} dz`);
      close(t, got.dh, want.dh, `${what} dh`);
      if (kind === 'macrid') close(t, got.dc, want.dc, `${what} dc`);
      else close(t, got.dbias, want.dbias, `${what} dbias`);
    }
  });
}

test('wasm: the decoder handles users without clicks, one item, and chunks of many users', async (t) => {
  const rng = new Rng(7);
  // 3000 users × 700 items × K=3 exceeds one chunk of the kernel's scratch (2^21 floats), so chunking is exercised.
  const users = 3000;
  const items = 700;
  const { args } = decoderCase(rng, 'macrid', users, items);
  const rows: number[][] = [];
  for (let u = 0; u < users; u++) rows.push(u % 7 === 0 ? [] : [rng.int(items)]);
  const a = { ...args, concepts: 3, d: 4, x: csrFromRows(rows, items) };
  a.z = rand(rng, users * 3 * 4);
  a.h = rand(rng, items * 4);
  a.c = assignment(rng, items, 3);
  a.bound = undefined;
  const got = nn.mixDecoderTrain(threadInstance(), a);
  const sub = { ...a, users: 40, z: a.z.slice(0, 40 * 12), x: csrFromRows(rows.slice(0, 40), items) };
  const want = mixDecoderTrainOracle(sub);
  close(t, got.loss.slice(0, 40), want.loss, 'loss of the first users');
  t.is(got.loss[0], 0, 'a user without clicks has zero loss');
  close(
    t,
    got.dz.slice(0, 40 * 12),
    want.dz.map((v) => v * 1),
    'dz of the first users',
    1e-3,
  );
  const one = nn.mixDecoderLogProbs(threadInstance(), {
    ...a,
    items: 1,
    h: a.h.slice(0, 4),
    c: a.c.slice(0, 3),
    users: 2,
    z: a.z.slice(0, 24),
  });
  t.deepEqual([...one], [0, 0], 'a single item has probability 1');
});

test('wasm: sparse encoder forward and backward match the oracle (with and without c and mask)', (t) => {
  const rng = new Rng(99);
  for (let trial = 0; trial < 16; trial++) {
    const users = rng.int(7);
    const items = 1 + rng.int(50);
    const K = trial % 2 === 0 ? 1 : 1 + rng.int(6);
    const d = 1 + rng.int(30);
    const x = randomCsr(rng, users, items, rng.next() * 0.5);
    const nnz = x.indices.length;
    const args: nn.SparseMixArgs = {
      x,
      concepts: K,
      d,
      t: rand(rng, items * d),
      c: K > 1 || rng.next() < 0.5 ? assignment(rng, items, K) : undefined,
      mask: rng.next() < 0.7 ? Float32Array.from({ length: nnz * K }, () => (rng.next() < 0.5 ? 0 : 2)) : undefined,
    };
    const want = sparseMixForwardOracle(args);
    const got = nn.sparseMixForward(threadInstance(), args);
    close(t, got.out, want.out, `trial ${trial} out`);
    close(t, got.norms, want.norms, `trial ${trial} norms`);
    const bargs = { ...args, norms: got.norms, out: got.out, dout: rand(rng, users * K * d) };
    const gb = nn.sparseMixBackward(threadInstance(), bargs);
    const wb = sparseMixBackwardOracle(bargs);
    close(t, gb.dt, wb.dt, `trial ${trial} dt`, 5e-4);
    if (args.c) close(t, gb.dc, wb.dc, `trial ${trial} dc`, 5e-4);
    else t.is(gb.dc, undefined);
  }
});

test('wasm: gemm in all four layouts matches the oracle', (t) => {
  const rng = new Rng(5);
  for (let trial = 0; trial < 24; trial++) {
    const m = rng.int(20);
    const n = rng.int(40);
    const k = rng.int(300);
    const g = { a: rand(rng, m * k), b: rand(rng, k * n), m, n, k, transA: trial % 2 === 1, transB: trial % 4 >= 2 };
    close(t, nn.gemm(threadInstance(), g), gemmOracle(g), `trial ${trial} ${m}×${n}×${k}`, 1e-4);
  }
});

test('bad arguments are typed errors naming the argument', (t) => {
  const x: Csr = csrFromRows([[0, 5]], 3);
  const inst = threadInstance();
  const e1 = t.throws(() => nn.sparseMixForward(inst, { x, concepts: 2, d: 2, t: new Float32Array(6) }), {
    instanceOf: InvalidArgumentError,
  });
  t.regex(e1.message, /'c' passed to sparseMixForward\(\) is required when concepts = 2/);
  const e2 = t.throws(() => nn.sparseMixForward(inst, { x, concepts: 1, d: 2, t: new Float32Array(6) }), {
    instanceOf: InvalidArgumentError,
  });
  t.regex(e2.message, /'x.indices\[1\]' = 5 \(row 0\) is out of range for 3 columns/);
  const e3 = t.throws(() =>
    nn.mixDecoderTrain(inst, {
      users: 1,
      concepts: 1,
      d: 2,
      items: 3,
      z: new Float32Array(2),
      h: new Float32Array(5),
      scale: 1,
      x: csrFromRows([[0]], 3),
      gradScale: 1,
    }),
  );
  t.regex(e3.message, /'h' passed to mixDecoderTrain\(\) must have 6 elements but has 5/);
  t.throws(() => nn.gemm(inst, { a: new Float32Array(4), b: new Float32Array(3), m: 2, n: 2, k: 2 }), {
    message: /'b' passed to gemm\(\) must have 4 elements but has 3/,
  });
});
