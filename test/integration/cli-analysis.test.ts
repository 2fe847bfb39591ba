/**
 * `macridvae traverse` and `macridvae analyze`, by spawning the built CLI (run `npm run build:ts`
 * first) on a synthetic dataset with planted concepts and a briefly trained MacridVAE.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { cli, cliModel } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'macridvae-cli-analysis-'));
const { data, model } = cliModel(root, ['--epochs', '5', '--concepts', '4', '--d', '16']);
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
  const bad = cli(['traverse', '--model', model, '--column-ids', '--item', '1', '--dim', '99']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--dim must be < 16/);
  // Without --data, ids are never silently taken as column numbers (issue 11, rule 4).
  const noData = cli(['traverse', '--model', model, '--item', '1', '--dim', '1']);
  t.is(noData.code, 2);
  t.regex(noData.stderr, /--data DIR \(the model's dataset\) is needed to read item ids; pass --column-ids/);
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
  t.regex(report, /K = 4 concepts, τ = 0\.1\. Prototypes from a random start \(the released code\)\./);
  for (const f of j.figures as { png: string; svg: string }[]) {
    t.true(report.includes(`](${f.png})`), f.png);
    t.true(existsSync(join(out, f.png)) && existsSync(join(out, f.svg)));
  }
  t.true(j.figures.length >= 6);
  const missing = cli(['analyze', '--model', model, '--out', out]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /--data DIR is required/);
});

test('recommend: --items and --input FILE, titles, --explain, JSON, and errors named', (t) => {
  const r = cli(['recommend', '--model', model, '--data', data, '--items', '1,2,3', '--k', '5', '--explain', '--json']);
  t.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  t.is(j.items.length, 5);
  t.is(j.historyItems, 3);
  t.false(j.items.some((it: { id: string }) => ['1', '2', '3'].includes(it.id)));
  t.true(
    j.items.every(
      (it: { title?: string; concept: number; share: number }) => it.title && it.concept < 4 && it.share > 0,
    ),
  );
  t.is(j.concepts.length, 4);
  const scores = j.items.map((it: { score: number }) => it.score);
  t.deepEqual(
    scores,
    [...scores].sort((a: number, b: number) => b - a),
  );
  const input = join(root, 'histories.csv');
  writeFileSync(input, 'user,item\nu1,1\nu1,5\nu1,no-such-item\nu2,7\n');
  const many = cli(['recommend', '--model', model, '--data', data, '--input', input, '--k', '3']);
  t.is(many.code, 0, many.stderr);
  t.regex(many.stdout, /^u1 \(2 known items; 1 unknown skipped\)\n {4}1 /);
  t.regex(many.stdout, /\nu2 \(1 known items\)\n/);
  t.regex(many.stdout, /Item \d+/);
  const unknown = cli(['recommend', '--model', model, '--data', data, '--items', '1,nope']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /--items: item 'nope' is not an item of the model/);
  const both = cli(['recommend', '--model', model, '--items', '1', '--input', input]);
  t.is(both.code, 2);
  t.regex(both.stderr, /exactly one of --items/);
  // Streamed to a file: JSON lines in, JSON lines out in input order, a summary on stdout.
  const jsonl = join(root, 'users.jsonl');
  const output = join(root, 'recs.jsonl');
  writeFileSync(
    jsonl,
    '{"user": "a", "items": ["1", "2"]}\n{"user": "b", "items": ["nope"]}\n{"user": "c", "items": ["3"]}\n',
  );
  const streamed = cli(['recommend', '--model', model, '--input', jsonl, '--output', output, '--k', '2', '--json']);
  t.is(streamed.code, 0, streamed.stderr);
  t.like(JSON.parse(streamed.stdout), { users: 3, unknownItems: 1, popularityFallback: 1 });
  const lines = readFileSync(output, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.deepEqual(
    lines.map((l) => [l.user, l.historyItems, l.items.length]),
    [
      ['a', 2, 2],
      ['b', 0, 2],
      ['c', 1, 2],
    ],
  );
  t.is(lines[1].fallback, 'popularity');
  writeFileSync(input, 'u1,1\nu2,2\nu1,3\n');
  const scattered = cli(['recommend', '--model', model, '--input', input]);
  t.is(scattered.code, 1);
  t.regex(scattered.stderr, /histories\.csv:3: user 'u1' appears again after other users/);
  writeFileSync(input, 'u1,1\nu2\n');
  const bad = cli(['recommend', '--model', model, '--data', data, '--input', input]);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /histories\.csv:2: expected 'user,item'/);
});
