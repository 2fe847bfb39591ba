/**
 * Production training (ts/train/production.ts, `trainModel({ allUsers })`): every user's whole history in
 * `train` with empty held-out splits, the epoch count given or taken from a validated run's manifest
 * (refusing a production run or another dataset), no validation/early stopping/test, the manifest's
 * `production` block, and resume. The CLI (`train --all-users`) is tested in test/integration/cli-train.test.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { csrFromRows, csrRow, csrRows } from '../../ts/csr.js';
import { type MacridVaeConfig, resolveModelConfig } from '../../ts/models/config.js';
import { selectBackend } from '../../ts/tf/backend.js';
import { datasetFingerprint, loadModel, readManifest } from '../../ts/train/checkpoint.js';
import { allUsersData, epochsFromRun } from '../../ts/train/production.js';
import { Trainer, trainModel } from '../../ts/train/trainer.js';
import { syntheticSplit } from '../helpers/synthetic-split.js';
import { tempDir } from '../helpers/tmp.js';

test.before(async () => {
  await selectBackend('wasm');
});

test('allUsersData: training users, then validation and test users with fold-in ∪ target, nothing held out', (t) => {
  const items = 6;
  const data = {
    items,
    train: csrFromRows([[0, 1], [2]], items),
    validation: { foldIn: csrFromRows([[3, 5]], items), target: csrFromRows([[4]], items) },
    test: { foldIn: csrFromRows([[1], [0]], items), target: csrFromRows([[0, 2], [5]], items) },
  };
  const all = allUsersData(data);
  t.is(csrRows(all.train), 5);
  t.deepEqual(
    Array.from({ length: 5 }, (_, r) => [...csrRow(all.train, r)]),
    [[0, 1], [2], [3, 4, 5], [0, 1, 2], [0, 5]],
  );
  for (const h of [all.validation, all.test]) {
    t.is(csrRows(h.foldIn), 0);
    t.is(csrRows(h.target), 0);
  }
});

test('epochsFromRun: the best epoch of a validated run; a production run or another dataset is refused', (t) => {
  const dir = tempDir(t);
  const manifest = { format: 'macridvae-model', formatVersion: 1, bestEpoch: 37, dataset: { fingerprint: 'abc' } };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  t.deepEqual(epochsFromRun(dir, 'abc'), { dir, bestEpoch: 37, datasetFingerprint: 'abc' });
  t.throws(() => epochsFromRun(dir, 'xyz'), { message: /was trained on another dataset/ });
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, production: { allUsers: true } }));
  t.throws(() => epochsFromRun(dir), { message: /is a production run \(nothing was validated\)/ });
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, bestEpoch: 0 }));
  t.throws(() => epochsFromRun(dir), { message: /has no best epoch/ });
});

const data = syntheticSplit(11);
const model = resolveModelConfig('macridvae', { concepts: 3, d: 8 }) as MacridVaeConfig;
const train = { batchSize: 40, seed: 5, lr: 3e-3 };

test.serial(
  'trainModel({ allUsers }): every user, the epochs given, nothing validated or tested; the manifest says so',
  async (t) => {
    const out = join(tempDir(t, 'prod'), 'model');
    const r = await trainModel({ model, train: { ...train, epochs: 3, patience: 1 }, data, out, allUsers: true });
    // patience does not apply: nothing is validated, every epoch is trained.
    t.is(r.history.length, 3);
    t.false(r.stoppedEarly);
    t.is(r.bestEpoch, 3);
    t.is(r.test, undefined);
    t.deepEqual(r.bestValidation, {});
    for (const h of r.history) {
      t.true(Number.isNaN(h['ndcg@100']));
      t.deepEqual(h.validation, {});
    }
    const users = 120 + 20 + 20;
    t.deepEqual(r.production, { allUsers: true, users, epochs: 3 });
    const m = readManifest(out) as ReturnType<typeof readManifest>;
    t.deepEqual(m.production, { allUsers: true, users, epochs: 3 });
    t.like(m, { bestEpoch: 3, epochs: 3 });
    t.deepEqual(m.metrics, {});
    t.is(m.train?.patience, 0);
    // The fingerprint is the dataset's as given, so recommend/serve --data accept that dataset.
    t.is(m.dataset.fingerprint, datasetFingerprint(data));
    t.like(m.dataset, { users, validationUsers: 0, testUsers: 0 });
    // The directory holds the last epoch's weights.
    t.deepEqual(loadModel(out).weights, r.model.getWeights());
    r.model.dispose();
    // A production run cannot give its epoch count to another one.
    t.throws(() => epochsFromRun(out), { message: /is a production run/ });
  },
);

test.serial(
  'trainModel({ allUsers, epochsFrom }): as many epochs as the validated run chose; resume continues it exactly',
  async (t) => {
    const dir = tempDir(t, 'prod');
    const validated = await trainModel({
      model,
      train: { ...train, epochs: 3 },
      data,
      out: join(dir, 'validated'),
      test: false,
    });
    validated.model.dispose();
    const from = join(dir, 'validated');
    const r = await trainModel({ model, train, data, out: join(dir, 'prod'), allUsers: true, epochsFrom: from });
    t.is(r.history.length, validated.bestEpoch);
    t.deepEqual(r.production?.epochsFrom, {
      dir: from,
      bestEpoch: validated.bestEpoch,
      datasetFingerprint: datasetFingerprint(data),
    });
    t.deepEqual(readManifest(join(dir, 'prod')).production, r.production);
    r.model.dispose();
    // Two epochs, then resumed to three: the same weights as three in one go.
    const whole = await trainModel({
      model,
      train: { ...train, epochs: 3 },
      data,
      out: join(dir, 'whole'),
      allUsers: true,
    });
    const part = await trainModel({
      model,
      train: { ...train, epochs: 2 },
      data,
      out: join(dir, 'part'),
      allUsers: true,
    });
    part.model.dispose();
    const resumed = await trainModel({
      model,
      train: { ...train, epochs: 3 },
      data,
      out: join(dir, 'part'),
      allUsers: true,
      resume: true,
    });
    t.is(resumed.history.length, 3);
    t.deepEqual(resumed.model.getWeights(), whole.model.getWeights());
    resumed.model.dispose();
    whole.model.dispose();
    // A validated checkpoint is not resumed as a production run, nor the other way round.
    await t.throwsAsync(
      trainModel({ model, train: { ...train, epochs: 4 }, data, out: from, allUsers: true, resume: true }),
      { message: /the checkpoint is a validated run/ },
    );
    await t.throwsAsync(
      trainModel({ model, train: { ...train, epochs: 4 }, data, out: join(dir, 'part'), resume: true }),
      {
        message: /the checkpoint is a production run/,
      },
    );
  },
);

test('trainModel({ allUsers }) refuses a missing or doubled epoch count, and epochsFrom without allUsers', (t) => {
  const dir = tempDir(t, 'prod');
  t.throws(() => new Trainer({ model, train, data, allUsers: true }), {
    message: /holds nothing out to choose the epoch on; give 'train.epochs' or 'epochsFrom'/,
  });
  t.throws(() => new Trainer({ model, train: { ...train, epochs: 2 }, data, allUsers: true, epochsFrom: dir }), {
    message: /either 'train.epochs' or 'epochsFrom'/,
  });
  t.throws(() => new Trainer({ model, train, data, epochsFrom: dir }), {
    message: /'epochsFrom' applies to production training/,
  });
  // Another dataset's validated run is refused by fingerprint.
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      format: 'macridvae-model',
      formatVersion: 1,
      bestEpoch: 2,
      dataset: { fingerprint: 'f'.repeat(64) },
    }),
  );
  t.throws(() => new Trainer({ model, train, data, allUsers: true, epochsFrom: dir }), {
    message: /was trained on another dataset/,
  });
});
