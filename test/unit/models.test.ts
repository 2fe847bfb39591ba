/**
 * The three models: hand-written gradients against finite differences, evaluation scores as
 * log-probabilities, seeded determinism, weights round trip, flat tensor counts, config validation.
 */
import * as tf from '@tensorflow/tfjs-core';
import test from 'ava';
import { type Csr, csrFromRows } from '../../ts/csr.js';
import { InvalidArgumentError } from '../../ts/errors.js';
import {
  type ModelConfig,
  type ModelKind,
  resolveModelConfig,
  resolveTrainConfig,
  trainDefaults,
} from '../../ts/models/config.js';
import { createModel } from '../../ts/models/index.js';
import type { Model, StepOptions } from '../../ts/models/types.js';
import { selectBackend } from '../../ts/tf/backend.js';
import { Adam } from '../../ts/train/optimizer.js';
import { betaAt } from '../../ts/train/schedule.js';
import { closeTestPool, testPool } from '../helpers/implementations.js';
import { Rng } from '../helpers/random.js';

test.before(async () => {
  await selectBackend('wasm');
});
test.after.always(closeTestPool);

const ITEMS = 30;

function clicks(seed: number, users: number, items = ITEMS): Csr {
  const rng = new Rng(seed);
  const rows: number[][] = [];
  for (let u = 0; u < users; u++) {
    const s = new Set<number>();
    while (s.size < 2 + rng.int(6)) s.add(rng.int(items));
    rows.push([...s].sort((a, b) => a - b));
  }
  return csrFromRows(rows, items);
}

const TINY: Record<string, ModelConfig> = {
  'macridvae cosine': resolveModelConfig('macridvae', { concepts: 3, d: 6, tau: 0.5 }),
  'macridvae inner, hidden layer': resolveModelConfig('macridvae', {
    concepts: 2,
    d: 5,
    tau: 0.5,
    hidden: [4],
    similarity: 'inner',
  }),
  multvae: resolveModelConfig('multvae', { hidden: [7], latent: 4 }),
  'multvae, no hidden layer': resolveModelConfig('multvae', { hidden: [], latent: 3 }),
  multdae: resolveModelConfig('multdae', { hidden: [7, 5], latent: 4 }),
};

async function lossAt(m: Model, x: Csr, step: StepOptions): Promise<number> {
  const g = await m.gradients(x, step);
  for (const t of g.grads.values()) t.dispose();
  return g.terms.loss;
}

for (const [name, cfg] of Object.entries(TINY)) {
  test.serial(`${name}: gradients match central finite differences`, async (t) => {
    const m = createModel(cfg, ITEMS, { seed: 1 });
    const x = clicks(3, 6);
    // Noise is a function of noiseSeed, so the loss is a deterministic function of the weights.
    const step = { beta: 0.7, l2: 0.01, noiseSeed: 42 };
    const { grads } = await m.gradients(x, step);
    const w0 = m.getWeights();
    const eps = 1e-4;
    for (const [v, g] of grads) {
      const gd = g.dataSync();
      for (const idx of [0, Math.floor(gd.length / 2), gd.length - 1]) {
        const w = m.getWeights();
        w[v].data[idx] = w0[v].data[idx] + eps;
        m.setWeights(w);
        const up = await lossAt(m, x, step);
        w[v].data[idx] = w0[v].data[idx] - eps;
        m.setWeights(w);
        const down = await lossAt(m, x, step);
        m.setWeights(w0);
        const fd = (up - down) / (2 * eps);
        t.true(
          Math.abs(fd - gd[idx]) <= 2e-2 * Math.max(1, Math.abs(fd)),
          `${v}[${idx}]: analytic ${gd[idx]} vs ${fd}`,
        );
      }
      g.dispose();
    }
    m.dispose();
    t.is(tf.memory().numTensors, 0);
  });

  test.serial(`${name}: scores are log-probabilities, deterministic, one row per fold-in user`, async (t) => {
    const m = createModel(cfg, ITEMS, { seed: 2 });
    const x = clicks(5, 4);
    const s = await m.score(x);
    t.is(s.length, 4 * ITEMS);
    for (let u = 0; u < 4; u++) {
      let z = 0;
      for (let i = 0; i < ITEMS; i++) z += Math.exp(s[u * ITEMS + i]);
      t.true(Math.abs(z - 1) < 1e-4, `row ${u} sums to ${z}`);
    }
    t.deepEqual(await m.score(x), s);
    // Scoring users one at a time gives the same rows as one batch.
    const one = await m.score(csrFromRows([[...x.indices.subarray(x.indptr[2], x.indptr[3])]], ITEMS));
    for (let i = 0; i < ITEMS; i++) t.true(Math.abs(one[i] - s[2 * ITEMS + i]) < 1e-5);
    m.dispose();
  });
}

test.serial('the same seed gives the same weights and loss; another seed does not', async (t) => {
  const cfg = TINY['macridvae cosine'];
  const a = createModel(cfg, ITEMS, { seed: 7 });
  const b = createModel(cfg, ITEMS, { seed: 7 });
  const c = createModel(cfg, ITEMS, { seed: 8 });
  t.deepEqual(a.getWeights(), b.getWeights());
  t.notDeepEqual(a.getWeights().items.data, c.getWeights().items.data);
  const x = clicks(1, 5);
  const step = { beta: 0.2, l2: 0, noiseSeed: 9 };
  t.is(await lossAt(a, x, step), await lossAt(b, x, step));
  t.not(await lossAt(a, x, step), await lossAt(a, x, { ...step, noiseSeed: 10 }));
  for (const m of [a, b, c]) m.dispose();
});

test.serial('tf.memory().numTensors stays flat over training steps and scoring', async (t) => {
  for (const cfg of [TINY['macridvae cosine'], TINY.multvae]) {
    const m = createModel(cfg, ITEMS, { seed: 3 });
    const adam = new Adam({ lr: 1e-2 });
    const x = clicks(4, 8);
    const counts: number[] = [];
    for (let s = 0; s < 25; s++) {
      const { grads } = await m.gradients(x, { beta: 0.2, l2: 1e-3, noiseSeed: s });
      adam.apply(m.variables, grads);
      for (const g of grads.values()) g.dispose();
      await m.score(x);
      counts.push(tf.memory().numTensors);
    }
    // Adam's moments appear after the first step; from then on nothing accumulates.
    t.true(
      counts.slice(1).every((c) => c === counts[1]),
      `${cfg.kind}: ${counts.join(',')}`,
    );
    adam.dispose();
    m.dispose();
  }
  t.is(tf.memory().numTensors, 0);
});

test.serial('setWeights rejects a missing, unknown or misshapen weight by name', (t) => {
  const m = createModel(TINY.multdae, ITEMS, { seed: 1 });
  const w = m.getWeights();
  const missing = { ...w };
  delete missing['decoder.out.bias'];
  t.throws(() => m.setWeights(missing), {
    instanceOf: InvalidArgumentError,
    message: /weight 'decoder.out.bias' is missing/,
  });
  t.throws(() => m.setWeights({ ...w, extra: { shape: [1], data: new Float32Array(1) } }), {
    message: /unknown weight 'extra'/,
  });
  t.throws(() => m.setWeights({ ...w, 'encoder.0.bias': { shape: [3], data: new Float32Array(3) } }), {
    message: /weight 'encoder.0.bias' has shape \[3\] but the model needs \[7\]/,
  });
  m.dispose();
});

test.serial('configs: documented defaults, and invalid fields named', (t) => {
  const m = resolveModelConfig('macridvae');
  t.like(m, { concepts: 7, d: 100, tau: 0.1, sigma0: 0.075, keep: 0.5, similarity: 'cosine', gumbel: true });
  t.like(resolveModelConfig('multvae'), { hidden: [600], latent: 200, keep: 0.5 });
  t.like(trainDefaults('macridvae'), { lr: 1e-3, batchSize: 500, beta: 0.2, betaSchedule: 'reference', seed: 98765 });
  t.like(trainDefaults('multvae'), { betaSchedule: 'multvae', annealSteps: 200000 });
  t.throws(() => resolveModelConfig('macridvae', { tau: 0 } as Partial<ModelConfig>), {
    message: "'tau' passed to resolveModelConfig() must be > 0 but got 0",
  });
  t.throws(() => resolveModelConfig('multvae', { hidden: [600, 0] } as Partial<ModelConfig>), {
    message: /'hidden\[1\]'.*>= 1/,
  });
  t.throws(() => resolveModelConfig('nope' as ModelKind), {
    message: /'kind'.*must be one of macridvae, multvae, multdae/,
  });
  t.throws(() => resolveTrainConfig('multdae', { betaSchedule: 'cosine' as 'constant' }), {
    message: /'betaSchedule'/,
  });
  t.throws(() => resolveTrainConfig('multdae', { batchSize: 0 }), { message: /'batchSize'.*>= 1/ });
});

test.serial('β schedules follow their formulas', (t) => {
  const ctx = { batchesPerEpoch: 4, annealSteps: 100 };
  t.is(betaAt('reference', 0.2, 0, ctx), 0);
  t.is(betaAt('reference', 0.2, 2, ctx), 0.1); // 2 / (5·4)
  t.is(betaAt('reference', 0.2, 4, ctx), 0.2); // the cap after one epoch
  t.is(betaAt('reference', 0.2, 400, ctx), 0.2);
  t.is(betaAt('multvae', 0.2, 10, ctx), 0.1);
  t.is(betaAt('multvae', 0.2, 1000, ctx), 0.2);
  t.is(betaAt('constant', 0.3, 0, ctx), 0.3);
});

test.serial('Adam: one step by hand, and its state round-trips', (t) => {
  const w = tf.variable(tf.tensor1d([1, -2]));
  const vars = new Map([['w', w]]);
  const adam = new Adam({ lr: 0.1 });
  const g = tf.tensor1d([0.5, -4]);
  adam.apply(vars, new Map([['w', g]]));
  // First step: m̂ = g, v̂ = g², update = lr · g / (|g| + ε) = ±0.1.
  const after = [...w.dataSync()];
  t.true(Math.abs(after[0] - 0.9) < 1e-6 && Math.abs(after[1] + 1.9) < 1e-6, String(after));
  const state = adam.getState();
  t.is(state.step, 1);
  t.deepEqual(
    [...state.moments['m/w'].data].map((x) => Number(x.toFixed(6))),
    [0.05, -0.4],
  );
  const b = new Adam({ lr: 0.1 });
  b.setState(state);
  t.deepEqual(b.getState(), state);
  for (const x of [w, g]) x.dispose();
  adam.dispose();
  b.dispose();
});

for (const cfg of [
  resolveModelConfig('macridvae', { concepts: 3, d: 6, tau: 0.5, hidden: [5] }),
  resolveModelConfig('multvae', { hidden: [7], latent: 4 }),
]) {
  test.serial(`${cfg.kind} split over the pool (the whole step per slice of users) equals one thread`, async (t) => {
    // A hidden layer and dropout exercise every sliced noise array; minWork 0 forces the split.
    const one = createModel(cfg, ITEMS, { seed: 4 });
    const split = createModel(cfg, ITEMS, { seed: 4, runtime: { pool: testPool(), threads: 2, minWork: 0 } });
    const x = clicks(9, 11);
    const sampled = {
      items: Uint32Array.from({ length: 12 }, (_, j) => (j * 7) % ITEMS),
      logWeight: Float32Array.from({ length: 12 }, (_, j) => -Math.log(12) + 0.01 * j),
    };
    for (const step of [
      { beta: 0.3, l2: 0.001, noiseSeed: 17 },
      { beta: 0.3, l2: 0, noiseSeed: 18, sampled },
    ]) {
      const a = await one.gradients(x, step);
      const b = await split.gradients(x, step);
      for (const k of ['loss', 'nll', 'kl', 'l2'] as const) {
        t.true(Math.abs(a.terms[k] - b.terms[k]) <= 1e-5 * Math.max(1, Math.abs(a.terms[k])), k);
      }
      for (const [name, ga] of a.grads) {
        const va = ga.dataSync();
        const vb = (b.grads.get(name) as tf.Tensor).dataSync();
        let worst = 0;
        for (let i = 0; i < va.length; i++)
          worst = Math.max(worst, Math.abs(va[i] - vb[i]) / Math.max(1, Math.abs(va[i])));
        t.true(worst < 1e-5, `${name}: ${worst}`);
      }
      for (const g of [...a.grads.values(), ...b.grads.values()]) g.dispose();
    }
    one.dispose();
    split.dispose();
  });
}
