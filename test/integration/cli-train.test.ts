/**
 * `macridvae train`, `eval` and `demo`, by spawning the built CLI on the bundled ml-latest-small:
 * the JSON-lines contract, a `kill -9` in the middle of training followed by `--resume` finishing the
 * run exactly as an uninterrupted one, and usage errors naming the flag.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { prepareDataset } from '../../ts/data/prepare.js';
import { BIN, cli } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'macridvae-cli-train-'));
const data = join(root, 'data');
test.before(async () => {
  await prepareDataset({ input: 'data/ml-latest-small', out: data, heldoutUsers: 50 });
});
test.after.always(() => rmSync(root, { recursive: true, force: true }));

/** Small and fast: the decoder's d and K shrink, the protocol stays. */
const SMALL = ['--d', '16', '--concepts', '3', '--threads', '1'];

function lines(s: string): Record<string, unknown>[] {
  return s
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

test.serial('train --json prints one line per epoch and a summary; eval --json reports the three metrics', (t) => {
  const out = join(root, 'json');
  const r = cli(['train', '--data', data, '--out', out, '--epochs', '3', ...SMALL, '--json']);
  t.is(r.code, 0, r.stderr);
  const ls = lines(r.stdout);
  t.is(ls.length, 4);
  for (const [i, l] of ls.slice(0, 3).entries()) {
    t.is(l.epoch, i + 1);
    for (const k of ['seconds', 'evalSeconds', 'loss', 'ndcg@100']) t.is(typeof l[k], 'number', k);
  }
  const summary = ls[3] as { bestEpoch: number; test: Record<string, { mean: number; se: number }> };
  t.true(summary.bestEpoch >= 1 && summary.bestEpoch <= 3);
  const e = cli(['eval', '--model', out, '--data', data, '--json', '--threads', '1']);
  t.is(e.code, 0, e.stderr);
  const ev = JSON.parse(e.stdout) as { users: number; metrics: Record<string, { mean: number; se: number }> };
  t.is(ev.users, 49);
  t.deepEqual(Object.keys(ev.metrics), ['ndcg@100', 'recall@20', 'recall@50']);
  // eval reproduces the test metrics train stored for the same (best) weights.
  t.is(ev.metrics['ndcg@100'].mean, summary.test['ndcg@100'].mean);
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  t.is(manifest.metrics.test['ndcg@100'].mean, summary.test['ndcg@100'].mean);
  const v = cli(['eval', '--model', out, '--data', data, '--split', 'validation', '--json', '--threads', '1']);
  t.is(JSON.parse(v.stdout).users, 50);
});

test.serial('kill -9 in the middle of training, then --resume, finishes the same run', async (t) => {
  const args = ['--data', data, '--epochs', '6', ...SMALL, '--json'];
  const whole = cli(['train', ...args, '--out', join(root, 'whole')]);
  t.is(whole.code, 0, whole.stderr);
  const out = join(root, 'killed');
  const child = spawn(process.execPath, [BIN, 'train', ...args, '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => {
      seen += b.toString();
      // Kill after the second epoch is reported: the third is then under way.
      if (lines(seen).length >= 2 && !child.killed) child.kill('SIGKILL');
    });
    child.on('exit', () => resolve());
    child.on('error', reject);
  });
  t.is(child.signalCode, 'SIGKILL');
  const before = lines(seen).length;
  t.true(before >= 2 && before < 6, `killed after ${before} epochs`);
  const resumed = cli(['train', ...args, '--out', out, '--resume']);
  t.is(resumed.code, 0, resumed.stderr);
  const after = lines(resumed.stdout);
  const firstEpoch = after[0].epoch as number;
  t.true(firstEpoch > 1 && firstEpoch <= before + 1, `resumed at epoch ${firstEpoch}`);
  t.is(after[after.length - 2].epoch, 6);
  const strip = (l: Record<string, unknown>) => ({ ...l, seconds: 0, evalSeconds: 0 });
  t.deepEqual(
    after.slice(0, -1).map(strip),
    lines(whole.stdout)
      .slice(firstEpoch - 1, -1)
      .map(strip),
  );
  const m1 = JSON.parse(readFileSync(join(root, 'whole', 'manifest.json'), 'utf8'));
  const m2 = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  t.is(m2.weights.sha256, m1.weights.sha256);
  t.deepEqual(m2.metrics, m1.metrics);
});

test.serial('usage errors name the flag (exit 2)', (t) => {
  const a = cli(['train', '--out', join(root, 'x'), '--json']);
  t.is(a.code, 2);
  t.is(JSON.parse(a.stdout).error.message, 'macridvae train: --data is required');
  const b = cli(['train', '--data', data, '--out', join(root, 'x'), '--model', 'vae']);
  t.is(b.code, 2);
  t.regex(b.stderr, /--model must be one of macridvae, multvae, multdae, ease, pop, itemknn but got 'vae'/);
  const c = cli(['train', '--data', data, '--out', join(root, 'x'), '--model', 'multvae', '--tau', '0.2']);
  t.is(c.code, 2);
  t.regex(c.stderr, /--tau does not apply to --model multvae/);
  const d = cli(['train', '--data', data, '--out', join(root, 'x'), '--keep', '1.5']);
  t.is(d.code, 2);
  t.regex(d.stderr, /'keep' passed to resolveModelConfig\(\) must be <= 1 but got 1.5/);
  const g = cli(['train', '--data', data, '--out', join(root, 'x'), '--softmax', 'approx']);
  t.is(g.code, 2);
  t.regex(g.stderr, /'softmax' passed to resolveTrainConfig\(\) must be one of full, sampled but got 'approx'/);
  mkdirSync(join(root, 'exists'), { recursive: true });
  writeFileSync(join(root, 'exists', 'manifest.json'), '{}');
  // A manifest.json that macridvae did not write is not a model to continue or replace (issue 11, rule 1).
  const f = cli(['train', '--data', data, '--out', join(root, 'exists'), ...SMALL, '--force']);
  t.is(f.code, 1);
  t.regex(f.stderr, /was not written by macridvae as a model directory \(it holds 1 entry: manifest\.json\)/);
  const e = cli(['eval', '--model', join(root, 'nothing'), '--data', data]);
  t.is(e.code, 1);
  t.regex(e.stderr, /is not a model directory/);
});

test.serial('demo --json trains MacridVAE on the bundled ml-latest-small and reports the paper next to it', (t) => {
  const r = cli(['demo', '--out', join(root, 'demo'), '--epochs', '2', '--threads', '2', '--json']);
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() as string);
  t.like(out, { dataset: 'ml-latest-small', users: 603, items: 5697, testUsers: 49, epochs: 2 });
  t.is(out.paper.macridvae['ndcg@100'], 0.28895);
  t.is(typeof out.test['ndcg@100'].mean, 'number');
});

test.serial('train --config MODEL_DIR/manifest.json replays a run exactly; flags override the file', (t) => {
  const a = join(root, 'cfg-a');
  const first = cli([
    'train',
    '--data',
    data,
    '--out',
    a,
    '--epochs',
    '2',
    ...SMALL,
    '--tau',
    '0.2',
    '--seed',
    '7',
    '--json',
  ]);
  t.is(first.code, 0, first.stderr);
  const ma = JSON.parse(readFileSync(join(a, 'manifest.json'), 'utf8'));
  const b = join(root, 'cfg-b');
  const replay = cli([
    'train',
    '--data',
    data,
    '--out',
    b,
    '--config',
    join(a, 'manifest.json'),
    '--threads',
    '1',
    '--json',
  ]);
  t.is(replay.code, 0, replay.stderr);
  const mb = JSON.parse(readFileSync(join(b, 'manifest.json'), 'utf8'));
  t.deepEqual(mb.model, ma.model);
  t.deepEqual(mb.train, ma.train);
  t.is(mb.weights.sha256, ma.weights.sha256, 'the same weights, bit for bit');
  // A plain {model, train} file with a flag over it.
  const file = join(root, 'cfg.json');
  writeFileSync(file, JSON.stringify({ model: ma.model, train: ma.train }));
  const c = join(root, 'cfg-c');
  const over = cli([
    'train',
    '--data',
    data,
    '--out',
    c,
    '--config',
    file,
    '--epochs',
    '1',
    '--threads',
    '1',
    '--json',
  ]);
  t.is(over.code, 0, over.stderr);
  const mc = JSON.parse(readFileSync(join(c, 'manifest.json'), 'utf8'));
  t.deepEqual(mc.model, ma.model);
  t.deepEqual({ ...mc.train, epochs: 2 }, ma.train);
  t.is(mc.train.epochs, 1);
  writeFileSync(file, JSON.stringify({ model: ma.model, trian: {} }));
  const bad = cli(['train', '--data', data, '--out', join(root, 'cfg-d'), '--config', file]);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /cfg\.json: unknown key 'trian' \(expected 'model' and 'train'\)/);
  writeFileSync(file, JSON.stringify({ model: { ...ma.model, concepts: 0 } }));
  const invalid = cli(['train', '--data', data, '--out', join(root, 'cfg-e'), '--config', file, '--json']);
  t.is(invalid.code, 2);
  t.regex(JSON.parse(invalid.stdout).error.message, /cfg\.json with the flags: 'concepts' .* must be >= 1 but got 0/);
});

test.serial(
  'train --all-users: production training with --epochs or --epochs-from; eval refuses it, recommend works by ids',
  (t) => {
    const validated = join(root, 'prod-validated');
    const v = cli(['train', '--data', data, '--out', validated, '--epochs', '2', ...SMALL, '--json']);
    t.is(v.code, 0, v.stderr);
    const bestEpoch = (lines(v.stdout).pop() as { bestEpoch: number }).bestEpoch;
    const out = join(root, 'prod');
    const p = cli([
      'train',
      '--data',
      data,
      '--out',
      out,
      '--all-users',
      '--epochs-from',
      validated,
      ...SMALL,
      '--json',
    ]);
    t.is(p.code, 0, p.stderr);
    const ls = lines(p.stdout);
    t.is(ls.length, bestEpoch + 1, 'one line per epoch of the validated run, then the summary');
    for (const l of ls.slice(0, -1)) t.like(l, { 'ndcg@100': null, validation: {}, evalSeconds: 0 });
    const summary = ls.pop() as { production: Record<string, unknown>; epochs: number };
    // 503 training users + 50 validation + 49 test users (one test user's items are all outside the training items).
    const users = 602;
    t.like(summary, { epochs: bestEpoch, production: { allUsers: true, users, epochs: bestEpoch } });
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    const vm = JSON.parse(readFileSync(join(validated, 'manifest.json'), 'utf8'));
    t.deepEqual(manifest.production, {
      allUsers: true,
      users,
      epochs: bestEpoch,
      epochsFrom: { dir: validated, bestEpoch, datasetFingerprint: vm.dataset.fingerprint },
    });
    t.deepEqual(manifest.metrics, {}, 'nothing held out, nothing measured');
    t.is(manifest.dataset.fingerprint, vm.dataset.fingerprint, 'the dataset it came from');
    // eval refuses (no held-out users), naming the validated run.
    const e = cli(['eval', '--model', out, '--data', data, '--threads', '1']);
    t.is(e.code, 1);
    t.regex(e.stderr, /is a production model \(trained on all 602 users, nothing held out\): it has no held-out users/);
    t.true(e.stderr.includes(validated));
    // recommend by the dataset's ids, on its own and with --data (the fingerprint matches).
    const ids = readFileSync(join(data, 'item_ids.txt'), 'utf8').trim().split('\n');
    for (const extra of [[], ['--data', data]]) {
      const r = cli([
        'recommend',
        '--model',
        out,
        '--items',
        ids.slice(0, 3).join(','),
        '--k',
        '5',
        '--json',
        ...extra,
      ]);
      t.is(r.code, 0, r.stderr);
      const items = JSON.parse(r.stdout).items as { id: string }[];
      t.is(items.length, 5);
      t.true(items.every((x) => ids.includes(x.id) && !ids.slice(0, 3).includes(x.id)));
    }
    // A fixed --epochs, in human output.
    const fixed = cli([
      'train',
      '--data',
      data,
      '--out',
      join(root, 'prod-fixed'),
      '--all-users',
      '--epochs',
      '1',
      ...SMALL,
    ]);
    t.is(fixed.code, 0, fixed.stderr);
    t.regex(fixed.stdout, /trained on all 602 users for 1 epoch\(s\); nothing held out, so nothing evaluated/);
    // Usage errors: no epoch count, both, --epochs-from without --all-users, a production run as the source.
    const none = cli(['train', '--data', data, '--out', join(root, 'prod-x'), '--all-users', ...SMALL]);
    t.is(none.code, 2);
    t.regex(none.stderr, /--all-users holds nothing out to choose the epoch on; give --epochs N or --epochs-from/);
    const both = cli([
      'train',
      '--data',
      data,
      '--out',
      join(root, 'prod-x'),
      '--all-users',
      '--epochs',
      '2',
      '--epochs-from',
      validated,
    ]);
    t.is(both.code, 2);
    t.regex(both.stderr, /give --epochs or --epochs-from, not both/);
    const stray = cli(['train', '--data', data, '--out', join(root, 'prod-x'), '--epochs-from', validated]);
    t.is(stray.code, 2);
    t.regex(stray.stderr, /--epochs-from applies to production training \(--all-users\)/);
    const chain = cli([
      'train',
      '--data',
      data,
      '--out',
      join(root, 'prod-x'),
      '--all-users',
      '--epochs-from',
      out,
      ...SMALL,
    ]);
    t.is(chain.code, 1);
    t.regex(chain.stderr, /is a production run \(nothing was validated\)/);
  },
);
