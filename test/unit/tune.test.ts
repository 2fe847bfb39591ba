/**
 * Hyperparameter search: the paper's space, points → configs, and `tune()` on a small planted dataset —
 * its files, the best model kept, failed trials recorded, and a resumed search equal to an uninterrupted one.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { InvalidArgumentError } from '../../ts/errors.js';
import { selectBackend } from '../../ts/tf/backend.js';
import { readManifest } from '../../ts/train/checkpoint.js';
import { checkModelSpace, configsOf, paperSpace, tunableNames } from '../../ts/tune/space.js';
import type { Space } from '../../ts/tune/tpe.js';
import { runPoints, type TrialRecord, tune } from '../../ts/tune/tune.js';
import { syntheticSplit } from '../helpers/synthetic-split.js';
import { tempDir } from '../helpers/tmp.js';

test.before(async () => {
  await selectBackend('wasm');
});

const data = syntheticSplit(11);
const SPACE: Space = [
  { name: 'lr', kind: 'loguniform', low: 1e-3, high: 3e-2 },
  { name: 'concepts', kind: 'int', low: 1, high: 4 },
  { name: 'dropout', kind: 'uniform', low: 0.1, high: 0.6 },
  { name: 'similarity', kind: 'choice', values: ['cosine', 'inner'] },
];
const BASE = { model: { d: 8 }, train: { epochs: 2, batchSize: 40, seed: 5 } };

test("the paper's search space (appendix), per model kind", (t) => {
  const byName = Object.fromEntries(paperSpace('macridvae').map((p) => [p.name, p]));
  t.deepEqual(byName.sigma0, { name: 'sigma0', kind: 'uniform', low: 0.075, high: 0.5 });
  t.deepEqual(byName.beta, { name: 'beta', kind: 'uniform', low: 0, high: 100 });
  t.deepEqual(byName.concepts, { name: 'concepts', kind: 'int', low: 1, high: 20 });
  t.deepEqual(byName.lr, { name: 'lr', kind: 'loguniform', low: 1e-8, high: 1 });
  t.deepEqual(byName.l2, { name: 'l2', kind: 'loguniform', low: 1e-12, high: 1 });
  t.deepEqual(byName.layers, { name: 'layers', kind: 'int', low: 0, high: 3 });
  t.deepEqual(
    (byName.width as { values: number[] }).values,
    [50, 100, 150, 200, 250, 300, 350, 400, 450, 500, 550, 600, 650, 700],
  );
  t.deepEqual(
    paperSpace('multvae').map((p) => p.name),
    ['beta', 'lr', 'l2', 'dropout', 'layers', 'width'],
  );
  t.deepEqual(
    paperSpace('multdae').map((p) => p.name),
    ['lr', 'l2', 'dropout', 'layers', 'width'],
  );
  for (const kind of ['macridvae', 'multvae', 'multdae'] as const) {
    t.notThrows(() => checkModelSpace('test', kind, paperSpace(kind)));
  }
  t.false(tunableNames('multdae').includes('beta'));
});

test('a point becomes validated model and training configs', (t) => {
  const c = configsOf('macridvae', { dropout: 0.25, layers: 2, width: 300, lr: 0.01, beta: 3, concepts: 5 }, BASE);
  t.like(c.model, { kind: 'macridvae', keep: 0.75, hidden: [300, 300], concepts: 5, d: 8 });
  t.like(c.train, { lr: 0.01, beta: 3, epochs: 2, seed: 5 });
  t.deepEqual(configsOf('multvae', { layers: 0, width: 50 }).model, {
    kind: 'multvae',
    hidden: [],
    latent: 200,
    keep: 0.5,
  });
  t.throws(() => configsOf('macridvae', { concepts: 0 }), { instanceOf: InvalidArgumentError, message: /'concepts'/ });
  t.throws(() => checkModelSpace('tune', 'multdae', [{ name: 'beta', kind: 'uniform', low: 0, high: 1 }]), {
    message: /'space\[0\]\.name' passed to tune\(\) is 'beta', which multdae cannot tune/,
  });
  t.throws(
    () =>
      checkModelSpace('tune', 'macridvae', [
        { name: 'keep', kind: 'uniform', low: 0.1, high: 0.9 },
        { name: 'dropout', kind: 'uniform', low: 0.1, high: 0.9 },
      ]),
    { message: /both 'dropout' and 'keep'/ },
  );
  t.throws(() => checkModelSpace('tune', 'macridvae', [{ name: 'width', kind: 'choice', values: [50] }]), {
    message: /'width' without 'layers'/,
  });
});

const strip = (r: TrialRecord) => ({ ...r, seconds: 0 });

test.serial('tune() writes its files, keeps the best model, and resumes into the same search', async (t) => {
  const out = tempDir(t, 'tune');
  const opts = { kind: 'macridvae' as const, data, space: SPACE, tpe: { seed: 3, startup: 3 }, ...BASE };
  const whole = await tune({ ...opts, trials: 5, out });
  t.is(whole.trials.length, 5);
  t.deepEqual(
    whole.trials.map((r) => r.trial),
    [0, 1, 2, 3, 4],
  );
  for (const r of whole.trials) {
    t.true(r.loss !== null && r['ndcg@100'] !== null, r.error);
    t.is(r.loss, -(r['ndcg@100'] as number));
    t.true((r.point.lr as number) >= 1e-3 && (r.point.lr as number) <= 3e-2);
    t.true(Number.isInteger(r.point.concepts));
    t.is((r.model as { concepts: number }).concepts, r.point.concepts as number);
    t.true(r.independence.users! > 0 && r.independence.users! <= 1);
    t.true(r.independence.items! > 0 && r.independence.items! <= 1);
  }
  const best = whole.trials.reduce((a, b) => ((b.loss as number) < (a.loss as number) ? b : a));
  t.is(whole.best?.trial, best.trial);
  t.is(whole.bestDir, join(out, 'best'));
  const m = readManifest(join(out, 'best'));
  t.deepEqual(m.model, best.model);
  t.is(m.metrics.validation?.['ndcg@100'].mean, best['ndcg@100'] as number);
  t.false(existsSync(join(out, 'trial')));
  const lines = readFileSync(join(out, 'trials.jsonl'), 'utf8').trim().split('\n');
  t.deepEqual(
    lines.map((l) => strip(JSON.parse(l))),
    whole.trials.map(strip),
  );
  t.deepEqual(JSON.parse(readFileSync(join(out, 'runs.json'), 'utf8')), runPoints('macridvae', whole.trials));
  t.regex(runPoints('macridvae', whole.trials)[0].method, /^MacridVAE \(K(=1|>1)\)$/);
  t.regex(runPoints('macridvae', whole.trials)[0].label ?? '', /^trial 0, K=\d$/);

  // Stopped after 3 trials (the last line cut short by the crash), then resumed: the same search.
  const part = tempDir(t, 'tune');
  await tune({ ...opts, trials: 3, out: part });
  const text = readFileSync(join(part, 'trials.jsonl'), 'utf8');
  writeFileSync(join(part, 'trials.jsonl'), text.slice(0, text.length - 40));
  const resumed = await tune({ ...opts, trials: 5, out: part, resume: true });
  t.deepEqual(resumed.trials.map(strip), whole.trials.map(strip));
  t.deepEqual(readManifest(join(part, 'best')).model, best.model);

  await t.throwsAsync(tune({ ...opts, tpe: { seed: 4, startup: 3 }, trials: 5, out: part, resume: true }), {
    instanceOf: InvalidArgumentError,
    message: /cannot resume: the search in .* has other settings/,
  });
  await t.throwsAsync(tune({ ...opts, trials: 5, out: tempDir(t, 'tune'), resume: true }), {
    message: /tune\.json does not exist/,
  });
});

test.serial(
  'a trial that throws is recorded as failed and the search goes on; in memory the best model is returned',
  async (t) => {
    // A 1,000-step warm-up cannot end within one epoch: trainModel refuses those trials.
    const space: Space = [{ name: 'prototypeWarmup', kind: 'choice', values: [1000, 0] }];
    const r = await tune({
      kind: 'macridvae',
      data,
      space,
      trials: 6,
      tpe: { seed: 1, startup: 6 },
      model: { d: 8, prototypeInit: 'kmeans' },
      train: { epochs: 1, batchSize: 40 },
    });
    const failed = r.trials.filter((x) => x.loss === null);
    const ok = r.trials.filter((x) => x.loss !== null);
    t.true(failed.length > 0 && ok.length > 0, `${failed.length} failed, ${ok.length} ok`);
    for (const f of failed) {
      t.is(f.point.prototypeWarmup, 1000);
      t.regex(f.error ?? '', /^InvalidArgumentError: .*'epochs' is 1 but prototypeInit 'kmeans'/);
      t.deepEqual(f.independence, { users: null, items: null });
    }
    t.is(r.best?.point.prototypeWarmup, 0);
    t.truthy(r.model);
    const scores = await r.model!.score(data.validation.foldIn);
    t.true(scores.every(Number.isFinite));
    r.model!.dispose();
    t.is(runPoints('macridvae', r.trials).length, ok.length);
  },
);

test.serial(
  'tune() resumes a search begun before the fingerprint covered the ids; other ids are refused',
  async (t) => {
    const withIds = {
      ...data,
      itemIds: Array.from({ length: data.items }, (_, i) => `m${i}`),
      userIds: Array.from({ length: 160 }, (_, u) => `u${u}`),
    };
    const opts = { kind: 'macridvae' as const, space: SPACE, tpe: { seed: 3, startup: 3 }, ...BASE };
    const out = tempDir(t, 'tune');
    await tune({ ...opts, data: withIds, trials: 1, out });
    const path = join(out, 'tune.json');
    const settings = JSON.parse(readFileSync(path, 'utf8'));
    t.regex(settings.dataset, /^[0-9a-f]{64}\.[0-9a-f]{64}$/);
    // As an older build wrote it: the matrices' part alone.
    writeFileSync(path, `${JSON.stringify({ ...settings, dataset: settings.dataset.split('.')[0] })}\n`);
    const resumed = await tune({ ...opts, data: withIds, trials: 2, out, resume: true });
    t.is(resumed.trials.length, 2);
    const renamed = { ...withIds, itemIds: withIds.itemIds.map((x) => `${x}x`) };
    writeFileSync(path, `${JSON.stringify(settings)}\n`);
    await t.throwsAsync(tune({ ...opts, data: renamed, trials: 3, out, resume: true }), {
      instanceOf: InvalidArgumentError,
      message: /cannot resume: the search in .* has other settings/,
    });
  },
);
