/**
 * Issue 11, rules 4, 5 and 7, by spawning the real CLI on a tiny synthetic dataset:
 * - rule 4: eval, recommend, traverse and analyze refuse a dataset other than the model's (same item
 *   count, other item order), `--allow-other-data` turns that into a warning that `--json` carries, and
 *   leaving out `--data` never makes ids column numbers unless `--column-ids` says so;
 * - rule 5: `--threads` above the core count is capped (said on stderr); batch sizes whose memory would
 *   not fit are refused before anything is written (`MACRIDVAE_MAX_MEMORY` plays a small machine);
 * - rule 7: gzip and binary inputs, a malformed `--md5`, an unreachable server, a directory given for a
 *   file, a missing file and a file where a folder must be: each a one-line error naming the user's
 *   path or URL, never a Node stack, never a temporary path, nothing left behind.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import test from 'ava';
import { cli } from '../helpers/cli.js';
import { Rng } from '../helpers/random.js';

const SMALL = ['--d', '8', '--concepts', '2', '--threads', '1'];
const NO_STACK = /\n\s+at .*\(.*:\d+:\d+\)/;

interface Fixture {
  dir: string;
  raw: string;
  ds: string;
  other: string;
  model: string;
}

let fixture: Fixture;
const root = mkdtempSync(join(tmpdir(), 'macridvae-trust-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));

/** A tiny dataset, the same ratings in another line order (same items, other column order), a model. */
test.before(() => {
  const dir = root;
  const raw = join(dir, 'raw');
  const ds = join(dir, 'ds');
  const run = (args: string[]) => {
    const r = cli(args);
    if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  run(['data', 'synth', '--preset', 'tiny', '--out', raw]);
  run(['data', 'prepare', '--input', raw, '--out', ds]);
  const lines = readFileSync(join(raw, 'ratings.csv'), 'utf8').trim().split('\n');
  const [header, ...rows] = lines;
  const rng = new Rng(3);
  for (let i = rows.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  const shuffled = join(dir, 'shuffled');
  mkdirSync(shuffled);
  writeFileSync(join(shuffled, 'ratings.csv'), `${[header, ...rows].join('\n')}\n`);
  const other = join(dir, 'other');
  run(['data', 'prepare', '--input', join(shuffled, 'ratings.csv'), '--out', other, '--items', 'none']);
  const model = join(dir, 'model');
  run(['train', '--data', ds, '--out', model, '--epochs', '1', ...SMALL]);
  fixture = { dir, raw, ds, other, model };
});

const setup = async (_t: unknown) => fixture;

test.serial(
  'rule 4: another dataset with the same item count is refused; --allow-other-data warns, in --json too',
  async (t) => {
    const f = await setup(t);
    const items = (d: string) => readFileSync(join(d, 'item_ids.txt'), 'utf8').trim().split('\n');
    t.is(items(f.other).length, items(f.ds).length, 'same item count');
    t.notDeepEqual(items(f.other), items(f.ds), 'other item order');

    const e = cli(['eval', '--model', f.model, '--data', f.other, '--threads', '1']);
    t.is(e.code, 1);
    t.regex(e.stderr, /is not the dataset the model in .* was trained on .*--allow-other-data/);
    const ea = cli(['eval', '--model', f.model, '--data', f.other, '--threads', '1', '--allow-other-data', '--json']);
    t.is(ea.code, 0, ea.stderr);
    const out = JSON.parse(ea.stdout);
    t.false(out.datasetMatches);
    t.regex(out.warnings[0], /is not the dataset the model/);
    t.regex(ea.stderr, /^warning: /m);
    const same = JSON.parse(cli(['eval', '--model', f.model, '--data', f.ds, '--threads', '1', '--json']).stdout);
    t.true(same.datasetMatches);
    t.is(same.warnings, undefined);

    const id = items(f.ds)[0];
    const r = cli(['recommend', '--model', f.model, '--data', f.other, '--items', id, '--threads', '1']);
    t.is(r.code, 1);
    t.regex(r.stderr, /is not the dataset the model/);
    const ra = cli(['recommend', '--model', f.model, '--data', f.other, '--items', id, '--allow-other-data', '--json']);
    t.is(ra.code, 0, ra.stderr);
    t.regex(JSON.parse(ra.stdout).warnings[0], /--allow-other-data/);
    const tr = cli(['traverse', '--model', f.model, '--data', f.other, '--item', id, '--dim', '1']);
    t.is(tr.code, 1);
    t.regex(tr.stderr, /is not the dataset the model/);
    const an = cli(['analyze', '--model', f.model, '--data', f.other, '--out', join(f.dir, 'report')]);
    t.is(an.code, 1);
    t.regex(an.stderr, /is not the dataset the model/);
    t.false(existsSync(join(f.dir, 'report')));
  },
);

test.serial('rule 4: without --data, ids are not silently column numbers', async (t) => {
  const f = await setup(t);
  // A self-contained model directory (items.json, issue 13) answers by the dataset's own ids.
  const ids = readFileSync(join(f.ds, 'item_ids.txt'), 'utf8').trim().split('\n');
  const own = cli(['recommend', '--model', f.model, '--items', ids.slice(0, 2).join(','), '--k', '3', '--json']);
  t.is(own.code, 0, own.stderr);
  t.true(JSON.parse(own.stdout).items.every((x: { id: string }) => ids.includes(x.id)));
  // A model directory written before items.json: ids need --data, or --column-ids asked for.
  const old = join(f.dir, 'old-model');
  cpSync(f.model, old, { recursive: true });
  rmSync(join(old, 'items.json'));
  const r = cli(['recommend', '--model', old, '--items', '1,2']);
  t.is(r.code, 2);
  t.regex(r.stderr, /--data DIR \(the model's dataset\) is needed to read item ids; pass --column-ids/);
  const c = cli(['recommend', '--model', old, '--items', '1,2', '--column-ids', '--k', '3', '--json']);
  t.is(c.code, 0, c.stderr);
  t.true(JSON.parse(c.stdout).items.every((x: { id: string }) => /^\d+$/.test(x.id)));
  const both = cli(['recommend', '--model', old, '--data', f.ds, '--items', '1', '--column-ids']);
  t.is(both.code, 2);
});

test.serial(
  'rule 5: --threads is capped at the cores; memory-sized options are refused before anything is written',
  async (t) => {
    const f = await setup(t);
    const cores = availableParallelism();
    const e = cli(['eval', '--model', f.model, '--data', f.ds, '--threads', String(cores + 7), '--json']);
    t.is(e.code, 0, e.stderr);
    t.regex(e.stderr, new RegExp(`--threads ${cores + 7} capped at ${cores}`));
    const small = { MACRIDVAE_MAX_MEMORY: '200000' };
    const out = join(f.dir, 'big');
    const tr = cli(['train', '--data', f.ds, '--out', out, '--epochs', '1', ...SMALL, '--batch-size', '500'], {
      env: small,
    });
    t.is(tr.code, 1, tr.stderr);
    t.regex(tr.stderr, /'batchSize' passed to trainModel\(\) is 500, which needs .*MACRIDVAE_MAX_MEMORY/);
    t.false(existsSync(out));
    const ev = cli(['eval', '--model', f.model, '--data', f.ds, '--batch-size', '100000', '--threads', '1'], {
      env: { MACRIDVAE_MAX_MEMORY: '10000' },
    });
    t.is(ev.code, 1);
    t.regex(ev.stderr, /'batchSize' passed to evaluate\(\) is 100000/);
    // Without the override: a batch larger than the users is only as large as the users.
    const huge = cli(['eval', '--model', f.model, '--data', f.ds, '--batch-size', '1000000000', '--threads', '1']);
    t.is(huge.code, 0, 'a batch larger than the users is only as large as the users');
  },
);

test.serial(
  'rule 7: gzip/binary input, malformed --md5, unreachable URL: one-line errors, nothing left behind',
  async (t) => {
    const f = await setup(t);
    const gz = join(f.dir, 'ratings.csv.gz');
    writeFileSync(gz, gzipSync(readFileSync(join(f.raw, 'ratings.csv'))));
    const out = join(f.dir, 'from-gz');
    const g = cli(['data', 'prepare', '--input', gz, '--out', out]);
    t.is(g.code, 1);
    t.regex(
      g.stderr,
      /ratings\.csv\.gz: this looks like gzip data, not a text ratings file: decompress it first \(gunzip /,
    );
    t.notRegex(g.stderr, NO_STACK);
    t.false(existsSync(out));
    const bin = join(f.dir, 'ratings.bin');
    writeFileSync(bin, Buffer.from([1, 2, 0, 0, 7, 44, 10, 0, 3]));
    const b = cli(['data', 'prepare', '--input', bin, '--out', out]);
    t.is(b.code, 1);
    t.regex(b.stderr, /ratings\.bin: this looks like a binary file/);

    const dl = join(f.dir, 'downloads');
    const m = cli(['data', 'download', 'ml-100k', '--out', dl, '--md5', 'xyz', '--base-url', 'http://127.0.0.1:9/']);
    t.is(m.code, 2);
    t.regex(m.stderr, /--md5 must be 32 hex digits but got 'xyz'/);
    t.false(existsSync(dl), 'nothing created');
    const n = cli(['data', 'download', 'ml-100k', '--out', dl, '--base-url', 'http://127.0.0.1:9/']);
    t.is(n.code, 1);
    t.regex(n.stderr, /cannot reach http:\/\/127\.0\.0\.1:9\/ml-100k\.zip\.md5: ECONNREFUSED/);
    t.notRegex(n.stderr, NO_STACK);
  },
);

test.serial(
  'rule 7: EISDIR, ENOENT and ENOTDIR name the path the user gave, without a stack or a temporary path',
  async (t) => {
    const f = await setup(t);
    const folder = join(f.dir, 'a-folder');
    mkdirSync(folder);
    const d = cli(['recommend', '--model', f.model, '--data', f.ds, '--input', folder]);
    t.is(d.code, 1);
    t.regex(d.stderr, new RegExp(`cannot read '${folder}': it is a directory, not a file \\(EISDIR\\)`));
    t.notRegex(d.stderr, NO_STACK);
    const missing = join(f.dir, 'missing.csv');
    const e = cli(['recommend', '--model', f.model, '--data', f.ds, '--input', missing]);
    t.is(e.code, 1);
    t.regex(e.stderr, new RegExp(`'${missing}': no such file or directory \\(ENOENT\\)`));
    t.notRegex(e.stderr, NO_STACK);
    const file = join(f.dir, 'a-file.txt');
    writeFileSync(file, 'x');
    const o = cli(['data', 'export', '--format', 'reference', f.ds, '--out', join(file, 'pro')]);
    t.is(o.code, 1);
    t.regex(o.stderr, /a-file\.txt.*(it exists and is not a directory \(EEXIST\)|is not a directory \(ENOTDIR\))/);
    t.notRegex(o.stderr, /\.partial-|\.tmp-/);
    t.notRegex(o.stderr, NO_STACK);
    const tm = cli(['train', '--data', f.ds, '--out', join(file, 'model'), '--epochs', '1', ...SMALL]);
    t.is(tm.code, 1);
    t.regex(tm.stderr, /a-file\.txt.*is not a directory \((ENOTDIR|EEXIST)\)/);
    t.notRegex(tm.stderr, /\.partial-|\.tmp-/);
    t.notRegex(tm.stderr, NO_STACK);
    t.deepEqual(
      readdirSync(f.dir).filter((x) => x.startsWith('.')),
      [],
      'no temporaries or locks left in the folder',
    );
    // The real binary's exit code for a path error is 1 (a failure, not a usage error).
    t.throws(() => execFileSync(process.execPath, ['dist/cli/main.js', 'data', 'stats', missing], { stdio: 'pipe' }));
  },
);

test.serial(
  'rule 4: the fingerprint covers the ids: the same ratings under other item ids are refused; an older model (matrices-only fingerprint) still loads',
  async (t) => {
    const f = await setup(t);
    // The same ratings, line for line, with every item id renamed (+ 1,000,000, so the columns keep their order).
    const [header, ...rows] = readFileSync(join(f.raw, 'ratings.csv'), 'utf8').trim().split('\n');
    const renamed = join(f.dir, 'renamed');
    mkdirSync(renamed);
    writeFileSync(
      join(renamed, 'ratings.csv'),
      `${[header, ...rows.map((l) => l.replace(/^([^,]*),([^,]*),/, (_, u, i) => `${u},${Number(i) + 1_000_000},`))].join('\n')}\n`,
    );
    const ds2 = join(f.dir, 'ds-renamed');
    const p = cli(['data', 'prepare', '--input', join(renamed, 'ratings.csv'), '--out', ds2, '--items', 'none']);
    t.is(p.code, 0, p.stderr);
    const { loadDataset } = await import('../../ts/data/store.js');
    const { datasetFingerprint } = await import('../../ts/train/checkpoint.js');
    const mine = datasetFingerprint(await loadDataset(f.ds));
    const theirs = datasetFingerprint(await loadDataset(ds2));
    t.is(theirs.split('.')[0], mine.split('.')[0], 'the same matrices');
    t.not(theirs, mine, 'other ids');
    const e = cli(['eval', '--model', f.model, '--data', ds2, '--threads', '1']);
    t.is(e.code, 1);
    t.regex(e.stderr, /is not the dataset the model in .* was trained on/);
    // A model directory written before the ids were fingerprinted stores the matrices' part alone: it
    // still loads with its dataset (checked on the matrices, as when it was written).
    const old = join(f.dir, 'model-old-fingerprint');
    cpSync(f.model, old, { recursive: true });
    const manifestPath = join(old, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    t.is(manifest.dataset.fingerprint, mine);
    manifest.dataset.fingerprint = mine.split('.')[0];
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const ok = cli(['eval', '--model', old, '--data', f.ds, '--threads', '1', '--json']);
    t.is(ok.code, 0, ok.stderr);
    t.true(JSON.parse(ok.stdout).datasetMatches);
  },
);
