/**
 * The `traverse` and `analyze` commands' logic over an in-memory model (the registry wires them to
 * model directories; the spawned-CLI tests live in test/integration once that is done).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { analyzeCommand, sampleRows } from '../../ts/cli/commands/analyze.js';
import { traverseCommand } from '../../ts/cli/commands/traverse.js';
import { type DatasetView, type ModelView, openData } from '../../ts/cli/model-view.js';
import { type Csr, csrRow } from '../../ts/csr.js';
import { prepareDataset } from '../../ts/data/prepare.js';
import { synthesize } from '../../ts/data/synth.js';
import { InvalidArgumentError } from '../../ts/errors.js';
import { nearestOracle } from '../helpers/analysis-oracle.js';
import { syntheticModel } from '../helpers/synthetic-model.js';

const m = syntheticModel(21, 420, 12, 4, 60, 1.0);
const concept = nearestOracle(m.space);

/** μ_u^(k): the normalized mean of the user's items of concept k (the prototype when none). */
function encode(x: Csr) {
  const { d, concepts: K } = m.space;
  const users = x.indptr.length - 1;
  const mu = new Float32Array(users * K * d);
  for (let u = 0; u < users; u++) {
    for (const i of csrRow(x, u)) for (let l = 0; l < d; l++) mu[(u * K + concept[i]) * d + l] += m.space.h[i * d + l];
    for (let k = 0; k < K; k++) {
      const o = (u * K + k) * d;
      let s = 0;
      for (let l = 0; l < d; l++) s += mu[o + l] ** 2;
      if (s === 0) for (let l = 0; l < d; l++) mu[o + l] = m.space.prototypes[k * d + l];
      s = 0;
      for (let l = 0; l < d; l++) s += mu[o + l] ** 2;
      for (let l = 0; l < d; l++) mu[o + l] /= Math.sqrt(s);
    }
  }
  return { mu, users, concepts: K, d };
}

const view: ModelView = {
  name: 'synthetic',
  space: m.space,
  tau: 0.1,
  encode: async (x) => encode(x),
};
const data: DatasetView = {
  train: m.x,
  itemIds: Array.from({ length: 420 }, (_, i) => `m${i}`),
  titles: Array.from({ length: 420 }, (_, i) => `Title ${i}`),
};
const open = async () => view;
const openTestData = async () => data;

async function capture(run: () => Promise<number>): Promise<{ code: number; out: string }> {
  const write = process.stdout.write.bind(process.stdout);
  const log = console.log;
  let out = '';
  process.stdout.write = ((s: string) => {
    out += s;
    return true;
  }) as typeof process.stdout.write;
  console.log = (...a: unknown[]) => {
    out += `${a.join(' ')}\n`;
  };
  try {
    return { code: await run(), out };
  } finally {
    process.stdout.write = write;
    console.log = log;
  }
}

test.serial('traverse --item --json: B distinct items of the start concept, values increasing, titles', async (t) => {
  const cmd = traverseCommand(open, openTestData);
  const { code, out } = await capture(() =>
    cmd.run(['--model', 'x', '--data', 'y', '--item', 'm17', '--dim', '3', '--steps', '6', '--json']),
  );
  t.is(code, 0);
  const r = JSON.parse(out);
  t.is(r.concept, concept[17]);
  t.is(r.range.length, 2);
  t.true(r.range[0] < r.range[1]);
  t.is(r.items.length, 6);
  t.is(new Set(r.items.map((x: { id: string }) => x.id)).size, 6);
  for (let s = 0; s < 6; s++) {
    const col = Number(r.items[s].id.slice(1));
    t.is(concept[col], r.concept);
    t.is(r.items[s].title, `Title ${col}`);
    t.is(typeof r.items[s].score, 'number');
    if (s > 0) t.true(r.items[s].value > r.items[s - 1].value);
  }
});

test.serial('traverse --user-items --concept prints a Figure-3-like table; usage errors name the option', async (t) => {
  const cmd = traverseCommand(open, openTestData);
  const { code, out } = await capture(() =>
    cmd.run([
      '--model',
      'x',
      '--data',
      'y',
      '--user-items',
      'm0,m4,m8,m1',
      '--concept',
      '0',
      '--dim',
      '2',
      '--steps',
      '4',
    ]),
  );
  t.is(code, 0);
  t.regex(out, /^start: component 0 of a user with 4 items; concept \d/);
  t.is(out.trim().split('\n').length, 2 + 4);
  t.regex(out, /Title \d+/);
  await t.throwsAsync(cmd.run(['--model', 'x', '--data', 'y', '--item', 'nope', '--dim', '1']), {
    message: /--item: item 'nope'/,
  });
  // without --data, ids are never taken as column numbers unless asked for (issue 11, rule 4)
  await t.throwsAsync(cmd.run(['--model', 'x', '--item', '17', '--dim', '3']), { message: /--column-ids/ });
  // with --column-ids, items are named by column number and no titles are printed
  const plain = await capture(() =>
    cmd.run(['--model', 'x', '--column-ids', '--item', '17', '--dim', '3', '--steps', '3', '--json']),
  );
  const pj = JSON.parse(plain.out);
  t.is(pj.items.length, 3);
  t.true(pj.items.every((x: { id: string; title?: string }) => /^\d+$/.test(x.id) && x.title === undefined));
  await t.throwsAsync(cmd.run(['--model', 'x', '--column-ids', '--item', 'm1', '--dim', '12']), {
    message: /--dim must be < 12/,
  });
  await t.throwsAsync(cmd.run(['--model', 'x', '--user-items', 'm1', '--dim', '1']), { message: /needs --concept/ });
  await t.throwsAsync(cmd.run(['--model', 'x', '--column-ids', '--item', '1', '--dim', '1', '--steps', '500']), {
    instanceOf: InvalidArgumentError,
    message: /'steps' must be <=/,
  });
});

test.serial('analyze writes report.md with figures, categories from a file, runs for Figure 4', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'macrid-analyze-'));
  try {
    const cats = join(dir, 'cats.tsv');
    writeFileSync(cats, `item\tcategory\n${data.itemIds.map((id, i) => `${id}\tgenre${i % 4}`).join('\n')}\n`);
    const runs = join(dir, 'runs.json');
    writeFileSync(runs, JSON.stringify([{ method: 'MacridVAE', independence: 0.7, ndcg100: 0.3 }]));
    const cmd = analyzeCommand(open, openTestData);
    const out = join(dir, 'out');
    const r = await capture(() =>
      cmd.run([
        '--model',
        'x',
        '--data',
        'y',
        '--categories',
        cats,
        '--runs',
        runs,
        '--out',
        out,
        '--map-items',
        '150',
        '--map-users',
        '10',
        '--json',
      ]),
    );
    t.is(r.code, 0);
    const j = JSON.parse(r.out);
    t.true(j.macro.alignment.nmi >= 0.8, `NMI ${j.macro.alignment.nmi}`);
    t.is(j.figures.length, 7); // 2a–2e, Figure 4, |corr| heatmap
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    t.regex(report, /!\[Independence vs NDCG@100/);
    t.regex(report, /\| concept \| matched \| genre0/);
    t.regex(report, /Title \d+/); // the example traversal names items by title
    await t.throwsAsync(cmd.run(['--model', 'x', '--data', 'y']), { message: /--out DIR is required/ });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sampleRows keeps at most max rows, in order, the same for the same seed', (t) => {
  const s = sampleRows(m.x, 10, 3);
  t.is(s.indptr.length - 1, 10);
  t.deepEqual(sampleRows(m.x, 10, 3), s);
  const all = Array.from({ length: 60 }, (_, r) => [...csrRow(m.x, r)].join(','));
  let last = -1;
  for (let r = 0; r < 10; r++) {
    const at = all.indexOf([...csrRow(s, r)].join(','), last + 1);
    t.true(at > last);
    last = at;
  }
  t.is(sampleRows(m.x, 100, 3), m.x);
});

test.serial(
  'openData: a prepared synthetic dataset gives ids, titles and its planted concepts as categories',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'macrid-opendata-'));
    try {
      await synthesize({ preset: 'tiny', out: join(dir, 'raw') });
      await prepareDataset({ input: join(dir, 'raw'), out: join(dir, 'ds') });
      const d = await openData(join(dir, 'ds'));
      t.is(d.itemIds.length, d.train.cols);
      t.is(d.categories!.names.length, 4);
      t.deepEqual([...d.categories!.names].sort(), ['concept0', 'concept1', 'concept2', 'concept3']);
      t.is(d.titles![0], `Item ${d.itemIds[0]}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
