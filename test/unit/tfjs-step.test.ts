/**
 * The tfjs training path against the Rust path: one step's loss terms and every gradient equal to
 * 1e-4 (relative, `max|tfjs − rust| / max|rust|` per variable) for each model, full and sampled softmax,
 * on the `cpu` and `wasm` tfjs backends; Adam in tfjs ops equals the Float32Array Adam; tensor counts stay
 * flat over 1,000 steps; `auto` picks the path by backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import test from 'ava';
import { type Csr, csrFromRows } from '../../ts/csr.js';
import { type ModelConfig, resolveModelConfig } from '../../ts/models/config.js';
import { createModel } from '../../ts/models/index.js';
import { resolveCompute, TfjsAdam, tfjsGradients, tfjsTrainStep } from '../../ts/models/tfjs/index.js';
import type { Model, StepOptions } from '../../ts/models/types.js';
import { selectBackend } from '../../ts/tf/backend.js';
import { Adam } from '../../ts/train/optimizer.js';
import type { SampledNegatives } from '../../ts/wasm/nn.js';
import { Rng } from '../helpers/random.js';

const ITEMS = 120;

function clicks(seed: number, users: number, items = ITEMS): Csr {
  const rng = new Rng(seed);
  const rows: number[][] = [];
  for (let u = 0; u < users; u++) {
    const s = new Set<number>();
    const n = 2 + rng.int(12);
    while (s.size < n) s.add(rng.int(items));
    rows.push([...s].sort((a, b) => a - b));
  }
  return csrFromRows(rows, items);
}

/** Shared draws (repeats, and items that are some users' clicks) with log weights `−ln(S·Q)`, Q uniform. */
function negatives(seed: number, s: number, items = ITEMS): SampledNegatives {
  const rng = new Rng(seed);
  const it = new Uint32Array(s);
  for (let j = 0; j < s; j++) it[j] = rng.int(items);
  return { items: it, logWeight: new Float32Array(s).fill(-Math.log(s / items)) };
}

const MODELS: Record<string, ModelConfig> = {
  'macridvae cosine': resolveModelConfig('macridvae', { concepts: 4, d: 16, tau: 0.2 }),
  'macridvae inner, hidden layer': resolveModelConfig('macridvae', {
    concepts: 3,
    d: 8,
    tau: 0.5,
    hidden: [12],
    similarity: 'inner',
  }),
  'macridvae no gumbel': resolveModelConfig('macridvae', { concepts: 2, d: 8, tau: 0.1, gumbel: false }),
  multvae: resolveModelConfig('multvae', { hidden: [24], latent: 8 }),
  'multvae, no hidden layer': resolveModelConfig('multvae', { hidden: [], latent: 6 }),
  multdae: resolveModelConfig('multdae', { hidden: [20, 10], latent: 6 }),
};

function relErr(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

async function compare(model: Model, x: Csr, step: StepOptions): Promise<{ worst: number; where: string }> {
  const rust = await model.gradients(x, step);
  const tfjs = await tfjsGradients(model, x, step);
  let worst = 0;
  let where = '';
  const note = (e: number, name: string) => {
    if (!(e <= worst)) {
      worst = Number.isNaN(e) ? Number.POSITIVE_INFINITY : e;
      where = name;
    }
  };
  for (const k of ['loss', 'nll', 'kl', 'l2'] as const) {
    note(Math.abs(tfjs.terms[k] - rust.terms[k]) / Math.max(Math.abs(rust.terms[k]), 1e-12), k);
  }
  for (const [name, g] of rust.grads) {
    const t = tfjs.grads.get(name);
    if (!t) throw new Error(`tfjs path has no gradient for '${name}'`);
    note(relErr(t.dataSync() as Float32Array, g.dataSync() as Float32Array), name);
  }
  for (const g of rust.grads.values()) g.dispose();
  for (const g of tfjs.grads.values()) g.dispose();
  return { worst, where };
}

for (const backend of ['cpu', 'wasm'] as const) {
  for (const [label, config] of Object.entries(MODELS)) {
    for (const softmax of ['full', 'sampled'] as const) {
      test.serial(
        `${backend}: ${label}, ${softmax} softmax: loss and every gradient equal the Rust path's`,
        async (t) => {
          await selectBackend(backend);
          const model = createModel(config, ITEMS, { seed: 7 });
          try {
            const x = clicks(3, 25);
            // A few Adam steps first, so the weights are not at their symmetric start.
            const adam = new Adam({ lr: 0.01 });
            for (let s = 0; s < 3; s++) {
              const g = await model.gradients(clicks(10 + s, 25), { beta: 0.3, l2: 1e-3, noiseSeed: 100 + s });
              adam.apply(model.variables, g.grads);
              for (const v of g.grads.values()) v.dispose();
            }
            const step: StepOptions = {
              beta: 0.3,
              l2: 1e-3,
              noiseSeed: 12345,
              sampled: softmax === 'sampled' ? negatives(5, 60) : undefined,
            };
            const { worst, where } = await compare(model, x, step);
            t.log(`worst relative difference ${worst.toExponential(2)} (${where})`);
            t.true(worst <= 1e-4, `worst relative difference ${worst} (in ${where})`);
          } finally {
            model.dispose();
          }
        },
      );
    }
  }
}

test.serial('TfjsAdam: one update equals Adam, and its state round-trips', async (t) => {
  await selectBackend('cpu');
  const a = createModel(MODELS.multvae, ITEMS, { seed: 1 });
  const b = createModel(MODELS.multvae, ITEMS, { seed: 1 });
  const ref = new Adam({ lr: 0.01 });
  const adam = new TfjsAdam({ lr: 0.01 });
  try {
    for (let s = 0; s < 3; s++) {
      const step = { beta: 0.2, l2: 0, noiseSeed: s };
      const g = await a.gradients(clicks(s, 20), step);
      ref.apply(a.variables, g.grads);
      adam.apply(b.variables, g.grads);
      for (const v of g.grads.values()) v.dispose();
    }
    const wa = a.getWeights();
    const wb = b.getWeights();
    for (const name of Object.keys(wa)) t.true(relErr(wb[name].data, wa[name].data) < 1e-5, name);
    const state = adam.getState();
    t.is(state.step, ref.getState().step);
    for (const [k, m] of Object.entries(ref.getState().moments))
      t.true(relErr(state.moments[k].data, m.data) < 1e-5, k);
    const back = new TfjsAdam({ lr: 0.01 });
    back.setState(state);
    t.deepEqual(back.getState(), state);
    back.dispose();
  } finally {
    a.dispose();
    b.dispose();
    adam.dispose();
  }
});

test.serial(
  'tf.memory().numTensors is flat over 1,000 tfjs steps (MacridVAE, full and sampled; MultVAE)',
  async (t) => {
    await selectBackend('cpu');
    const cases: Array<[ModelConfig, number]> = [
      [resolveModelConfig('macridvae', { concepts: 2, d: 4 }), 1000],
      [resolveModelConfig('multvae', { hidden: [6], latent: 3 }), 200],
    ];
    for (const [config, steps] of cases) {
      const model = createModel(config, 40, { seed: 2 });
      const adam = new TfjsAdam({ lr: 1e-3 });
      const batch = clicks(4, 8, 40);
      let after10 = 0;
      for (let s = 0; s < steps; s++) {
        const terms = await tfjsTrainStep(model, adam, batch, {
          beta: 0.2,
          l2: 1e-4,
          noiseSeed: s,
          sampled: s % 2 ? negatives(s, 10, 40) : undefined,
        });
        if (!Number.isFinite(terms.loss)) t.fail(`step ${s}: loss ${terms.loss}`);
        if (s === 9) after10 = tf.memory().numTensors;
      }
      t.is(tf.memory().numTensors, after10, `${config.kind}: tensors after ${steps} steps`);
      adam.dispose();
      model.dispose();
    }
  },
);

test('resolveCompute: auto is tfjs on GPU backends only; names the bad value', (t) => {
  t.is(resolveCompute('auto', { tfBackend: 'webgpu', gpu: false }).compute, 'tfjs');
  t.is(resolveCompute('auto', { tfBackend: 'webgl', gpu: false }).compute, 'tfjs');
  t.is(resolveCompute('auto', { tfBackend: 'tensorflow', gpu: true }).compute, 'tfjs');
  t.is(resolveCompute('auto', { tfBackend: 'tensorflow', gpu: false }).compute, 'wasm');
  t.is(resolveCompute('auto', { tfBackend: 'wasm', gpu: false }).compute, 'wasm');
  t.is(resolveCompute('tfjs', { tfBackend: 'cpu', gpu: false }).compute, 'tfjs');
  t.is(resolveCompute('wasm', { tfBackend: 'webgpu', gpu: false }).compute, 'wasm');
  t.throws(() => resolveCompute('gpu' as never), {
    message: /'compute' must be one of auto, wasm, tfjs but got 'gpu'/,
  });
});
