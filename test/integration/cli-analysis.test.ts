/**
 * `macridvae traverse` and `macridvae analyze`, by spawning the built CLI (run `npm run build:ts`
 * first) on a synthetic dataset with planted concepts and a briefly trained MacridVAE.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { cli } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'macridvae-cli-analysis-'));
const raw = join(root, 'raw');
const data = join(root, 'ds');
const model = join(root, 'model');

test.before(() => {
  for (const args of [
    ['data', 'synth', '--preset', 'tiny', '--out', raw],
    ['data', 'prepare', '--input', raw, '--out', data],
    ['train', '--data', data, '--out', model, '--epochs', '5', '--concepts', '4', '--d', '16', '--json'],
  ]) {
    const r = cli(args);
    if (r.code !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  }
});
test.after.always(() => rmSync(root, { recursive: true, force: true }));

test('traverse --json: B distinct items of the start concept with increasing values, titles from the dataset', (t) => {
  const r = cli(['traverse', '--model', model, '--data', data, '--item', '1', '--dim', '2', '--steps', '4', '--json']);
  t.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  t.true(Number.isInteger(j.concept));
  t.is(j.range.length, 2);
  t.true(j.range[0] < j.range[1]);
  t.is(j.items.length, 4);
  t.is(new Set(j.items.map((x: { id: string }) => x.id)).size, 4);
  for (let s = 1; s < 4; s++) t.true(j.items[s].value > j.items[s - 1].value);
  for (const x of j.items) {
    t.is(typeof x.score, 'number');
    t.is(x.title, `Item ${x.id}`);
    t.true(x.value > j.range[0] && x.value < j.range[1]);
  }
  // from a user's component, and people's output
  const u = cli([
    'traverse',
    '--model',
    model,
    '--data',
    data,
    '--user-items',
    '1,2,3,4',
    '--concept',
    '0',
    '--dim',
    '1',
    '--steps',
    '3',
  ]);
  t.is(u.code, 0, u.stderr);
  t.regex(u.stdout, /^start: component 0 of a user with 4 items; concept \d/);
  t.regex(u.stdout, /Item \d+/);
  const bad = cli(['traverse', '--model', model, '--item', '1', '--dim', '99']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--dim must be < 16/);
});

test('analyze writes report.md embedding its figures; categories from the dataset genres', (t) => {
  const out = join(root, 'analysis');
  const r = cli([
    'analyze',
    '--model',
    model,
    '--data',
    data,
    '--out',
    out,
    '--map-items',
    '150',
    '--map-users',
    '20',
    '--json',
  ]);
  t.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  t.is(j.model.concepts, 4);
  t.is(j.macro.alignment.categoryNames.length, 4);
  t.true(j.macro.alignment.nmi >= 0 && j.macro.alignment.nmi <= 1);
  const report = readFileSync(join(out, 'report.md'), 'utf8');
  for (const f of j.figures as { png: string; svg: string }[]) {
    t.true(report.includes(`](${f.png})`), f.png);
    t.true(existsSync(join(out, f.png)) && existsSync(join(out, f.svg)));
  }
  t.true(j.figures.length >= 6);
  const missing = cli(['analyze', '--model', model, '--out', out]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /--data DIR is required/);
});
