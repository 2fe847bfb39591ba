/**
 * The trainer: model directory and checkpoint files, a resumed run identical to an uninterrupted one,
 * early stopping, and refusing to resume with other data or settings.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import test from 'ava';
import { InvalidArgumentError } from '../../ts/errors.js';
import { type MacridVaeConfig, resolveModelConfig } from '../../ts/models/config.js';
import { selectBackend } from '../../ts/tf/backend.js';
import { loadCheckpoint, loadModel, readManifest } from '../../ts/train/checkpoint.js';
import { epochOrder, prototypeEpoch, trainModel } from '../../ts/train/trainer.js';
import { syntheticSplit } from '../helpers/synthetic-split.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'macridvae-trainer-'));
  dirs.push(d);
  return d;
}

test.before(async () => {
  await selectBackend('wasm');
});
test.after.always(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const data = syntheticSplit(11);
const model = resolveModelConfig('macridvae', { concepts: 3, d: 8 }) as MacridVaeConfig;
const train = { epochs: 4, batchSize: 40, seed: 5, lr: 3e-3 };

test.serial(
  'writes manifest, best weights, checkpoint and a JSON-lines log; the model ends at the best epoch',
  async (t) => {
    const out = tmp();
    const r = await trainModel({ model, train, data, out });
    t.is(r.history.length, 4);
    const best = r.history.reduce((a, b) => (b['ndcg@100'] > a['ndcg@100'] ? b : a));
    t.is(r.bestEpoch, best.epoch);
    const m = readManifest(out);
    t.regex(m.weights.file, /^weights-[0-9a-f]{8}\.mvt$/);
    t.deepEqual(readdirSync(out).sort(), [
      '.macridvae',
      'checkpoint.mvt',
      'items.json',
      'manifest.json',
      'train.jsonl',
      m.weights.file,
    ]);
    t.like(m, { format: 'macridvae-model', bestEpoch: r.bestEpoch, epochs: 4, items: data.items, model });
    t.is(m.train.seed, 5);
    t.is(m.dataset.users, 120);
    t.is(m.metrics.validation?.['ndcg@100'].mean, best['ndcg@100']);
    t.regex(m.dataset.fingerprint, /^[0-9a-f]{64}$/);
    const loaded = loadModel(out);
    t.deepEqual(loaded.weights, r.model.getWeights());
    const log = readFileSync(join(out, 'train.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    t.deepEqual(
      log.map((l) => l.epoch),
      [1, 2, 3, 4],
    );
    t.true(
      log.every(
        (l) => typeof l.seconds === 'number' && typeof l.evalSeconds === 'number' && 'ndcg@100' in l && 'loss' in l,
      ),
    );
    const ck = loadCheckpoint(out);
    t.like(ck.state, { epoch: 4, step: 12, bestEpoch: r.bestEpoch });
    t.is(ck.adam.step, 12);
    t.truthy(ck.adam.moments['m/items']);
    r.model.dispose();
    t.is(tf.memory().numTensors, 0);
  },
);

test.serial('a run resumed from its checkpoint equals the uninterrupted run, bit for bit', async (t) => {
  const whole = await trainModel({ model, train, data, out: tmp() });
  const out = tmp();
  const first = await trainModel({ model, train: { ...train, epochs: 2 }, data, out });
  first.model.dispose();
  const rest = await trainModel({ model, train, data, out, resume: true });
  t.deepEqual(
    rest.history.map((h) => [h.epoch, h.loss, h['ndcg@100'], h.best]),
    whole.history.map((h) => [h.epoch, h.loss, h['ndcg@100'], h.best]),
  );
  t.deepEqual(rest.model.getWeights(), whole.model.getWeights());
  t.deepEqual(loadCheckpoint(out).weights, loadCheckpoint(dirs[dirs.length - 2]).weights);
  whole.model.dispose();
  rest.model.dispose();
});

test.serial('patience stops a run that no longer improves', async (t) => {
  // A learning rate this small leaves the validation metric unchanged, so epoch 1 stays the best.
  const r = await trainModel({ model, train: { ...train, epochs: 10, patience: 2, lr: 1e-30 }, data });
  t.true(r.stoppedEarly);
  t.is(r.bestEpoch, 1);
  t.is(r.history.length, 3);
  r.model.dispose();
});

test.serial('resume refuses other data, other settings, or a missing checkpoint', async (t) => {
  const out = tmp();
  const r = await trainModel({ model, train: { ...train, epochs: 1 }, data, out });
  r.model.dispose();
  await t.throwsAsync(trainModel({ model, train, data: syntheticSplit(12), out, resume: true }), {
    instanceOf: InvalidArgumentError,
    message: /trained on another dataset/,
  });
  await t.throwsAsync(trainModel({ model, train: { ...train, lr: 0.1 }, data, out, resume: true }), {
    message: /training settings differ/,
  });
  await t.throwsAsync(trainModel({ model: { ...model, d: 9 }, train, data, out, resume: true }), {
    message: /model config differs/,
  });
  await t.throwsAsync(trainModel({ model, train, data, out: tmp(), resume: true }), {
    message: /checkpoint.mvt does not exist/,
  });
  // A longer run may continue (epochs and patience can change on resume).
  const more = await trainModel({ model, train: { ...train, epochs: 2 }, data, out, resume: true });
  t.is(more.history.length, 2);
  more.model.dispose();
});

test('batch order is a seeded permutation per epoch', (t) => {
  const a = epochOrder(50, 1, 1);
  t.deepEqual(
    [...a].sort((x, y) => x - y),
    Array.from({ length: 50 }, (_, i) => i),
  );
  t.deepEqual(epochOrder(50, 1, 1), a);
  t.notDeepEqual(epochOrder(50, 1, 2), a);
  t.notDeepEqual(epochOrder(50, 2, 1), a);
});

test.serial('sampled softmax is in use (its loss runs over fewer candidates) and resumes bit for bit', async (t) => {
  const sampledTrain = { ...train, epochs: 3, softmax: 'sampled' as const, negatives: 20 };
  const whole = await trainModel({ model, train: sampledTrain, data, out: tmp() });
  t.true(whole.history.every((h) => Number.isFinite(h.loss) && h.loss > 0));
  // Same seed and weights at step 0: the sampled NLL (clicks + ≤ 20 negatives) is below the full one (80 items).
  const full = await trainModel({ model, train: { ...sampledTrain, epochs: 1, softmax: 'full' }, data });
  t.true(whole.history[0].nll < full.history[0].nll, `${whole.history[0].nll} vs ${full.history[0].nll}`);
  full.model.dispose();
  const out = tmp();
  (await trainModel({ model, train: { ...sampledTrain, epochs: 2 }, data, out })).model.dispose();
  const rest = await trainModel({ model, train: sampledTrain, data, out, resume: true });
  t.deepEqual(rest.model.getWeights(), whole.model.getWeights());
  whole.model.dispose();
  rest.model.dispose();
});

test.serial(
  "prototypeInit 'kmeans': prototypes placed on the item clusters after the warm-up, warm-up never best, resume exact",
  async (t) => {
    // 120 users, batch 40: 3 steps per epoch; a 4-step warm-up places the prototypes at the start of epoch 3.
    const km = { ...model, prototypeInit: 'kmeans', prototypeWarmup: 4 } as MacridVaeConfig;
    t.is(prototypeEpoch(km, 3), 3);
    t.is(prototypeEpoch({ ...km, prototypeWarmup: 3 }, 3), 2);
    t.is(prototypeEpoch({ ...km, prototypeWarmup: 0 }, 3), 1);
    t.is(prototypeEpoch(model, 3), 1);
    const lr = { ...train, epochs: 5 };
    const whole = await trainModel({ model: km, train: lr, data, out: tmp() });
    t.deepEqual(
      whole.history.map((h) => h.warmup === true),
      [true, true, false, false, false],
    );
    t.true(whole.bestEpoch >= 3);
    t.deepEqual(
      whole.history.map((h) => h.prototypes !== undefined),
      [false, false, true, false, false],
    );
    const placed = whole.history[2].prototypes!;
    t.is(
      placed.sizes.reduce((a, b) => a + b, 0),
      data.items,
    );
    t.true(placed.objective > 0 && placed.objective <= data.items);
    // The run without placement starts from the same weights and differs from epoch 3 on.
    const plain = await trainModel({ model, train: lr, data });
    t.deepEqual(
      plain.history.slice(0, 2).map((h) => h.loss),
      whole.history.slice(0, 2).map((h) => h.loss),
    );
    t.notDeepEqual(plain.history[2].loss, whole.history[2].loss);
    plain.model.dispose();
    // Stopped in the middle (after the placement epoch), resumed: the same run.
    const out = tmp();
    await t.throwsAsync(trainModel({ model: km, train: { ...lr, epochs: 1 }, data, out }));
    t.false(existsSync(join(out, 'checkpoint.mvt')));
    const first = await trainModel({ model: km, train: { ...lr, epochs: 3 }, data, out });
    first.model.dispose();
    const rest = await trainModel({ model: km, train: lr, data, out, resume: true });
    t.deepEqual(rest.model.getWeights(), whole.model.getWeights());
    t.deepEqual(
      rest.history.map((h) => [h.loss, h.best, h.warmup, h.prototypes]),
      whole.history.map((h) => [h.loss, h.best, h.warmup, h.prototypes]),
    );
    rest.model.dispose();
    whole.model.dispose();
  },
);

test.serial("prototypeInit 'kmeans' refuses a run that would end before the placement", async (t) => {
  const km = { ...model, prototypeInit: 'kmeans', prototypeWarmup: 4 } as MacridVaeConfig;
  await t.throwsAsync(trainModel({ model: km, train: { ...train, epochs: 2 }, data }), {
    instanceOf: InvalidArgumentError,
    message: /'epochs' is 2 but prototypeInit 'kmeans' places the prototypes at the start of epoch 3/,
  });
  t.throws(() => resolveModelConfig('macridvae', { prototypeInit: 'spectral' } as never), {
    message: /'prototypeInit' passed to resolveModelConfig\(\) must be one of random, kmeans/,
  });
  t.throws(() => resolveModelConfig('macridvae', { prototypeWarmup: -1 }), { message: /'prototypeWarmup'/ });
});
