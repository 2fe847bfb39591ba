/**
 * Issue 11, rules 1, 3 and 6, by spawning the real CLI on a tiny synthetic dataset:
 * - rule 1: a command replaces only an output of its own kind that carries macridvae's marker, and
 *   only with --force; anything else (user files, the input itself, a folder holding the input, an
 *   output of another kind) is refused with what is there, and nothing is touched;
 * - rule 3: one writer per output — a second `train` (or `data prepare`) on the same --out is refused
 *   naming the holder while the first runs, and a holder killed with SIGKILL leaves no stuck lock;
 * - rule 6: `--heldout-users 0` is refused up front by `data prepare`, and `trainModel` refuses a
 *   dataset without validation users before writing anything.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { csrFromRows } from '../../ts/csr.js';
import { InvalidArgumentError, LockedError, OutputConflictError } from '../../ts/errors.js';
import { resolveModelConfig } from '../../ts/models/config.js';
import { loadModel } from '../../ts/train/checkpoint.js';
import { trainModel } from '../../ts/train/trainer.js';
import { lockOutput, lockPath, MARKER_FILE } from '../../ts/util/output.js';
import { BIN, cli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const SMALL = ['--d', '8', '--concepts', '2', '--threads', '1'];

/** A tiny synthetic ratings folder and its prepared dataset, in `dir`. */
function tinyData(dir: string): { raw: string; ds: string } {
  const raw = join(dir, 'raw');
  const ds = join(dir, 'ds');
  const s = cli(['data', 'synth', '--preset', 'tiny', '--out', raw, '--json']);
  if (s.code !== 0) throw new Error(s.stderr);
  const p = cli(['data', 'prepare', '--input', raw, '--out', ds, '--json']);
  if (p.code !== 0) throw new Error(p.stderr);
  return { raw, ds };
}

/** Every file under `dir` with its content, to show nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) {
      const p = join(e.parentPath ?? e.path, e.name);
      out[p] = readFileSync(p).toString('base64');
    }
  }
  return out;
}

test('rule 1: data export never replaces a user folder or the dataset; its own export only with --force', (t) => {
  const dir = tempDir(t, 'own-export');
  const { ds } = tinyData(dir);
  const mine = join(dir, 'mine');
  mkdirSync(mine);
  writeFileSync(join(mine, 'notes.txt'), 'precious');
  const before = snapshot(mine);
  const r = cli(['data', 'export', '--format', 'reference', ds, '--out', mine, '--force']);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /was not written by macridvae.*notes\.txt/);
  t.deepEqual(snapshot(mine), before);

  const dsBefore = snapshot(ds);
  const self = cli(['data', 'export', '--format', 'reference', ds, '--out', ds, '--force']);
  t.is(self.code, 1);
  t.regex(self.stderr, /also an input/);
  t.deepEqual(snapshot(ds), dsBefore);

  const pro = join(dir, 'pro');
  t.is(cli(['data', 'export', '--format', 'reference', ds, '--out', pro]).code, 0);
  t.true(existsSync(join(pro, MARKER_FILE)));
  const again = cli(['data', 'export', '--format', 'reference', ds, '--out', pro]);
  t.is(again.code, 1);
  t.regex(again.stderr, /already holds a reference export.*--force/);
  t.is(cli(['data', 'export', '--format', 'reference', ds, '--out', pro, '--force']).code, 0);
  // An export is not a dataset: prepare refuses to replace it even with --force.
  const over = cli(['data', 'prepare', '--input', join(dir, 'raw'), '--out', pro, '--force']);
  t.is(over.code, 1);
  t.regex(over.stderr, /is a reference export, not a prepared dataset/);
});

test('rule 1: data prepare --out . next to ratings.csv is refused, with or without --force', (t) => {
  const dir = tempDir(t, 'own-prepare');
  const { raw } = tinyData(dir);
  writeFileSync(join(raw, 'mine.txt'), 'precious');
  const before = snapshot(raw);
  for (const force of [[], ['--force']]) {
    const r = cli(['data', 'prepare', '--input', 'ratings.csv', '--out', '.', ...force], { cwd: raw });
    t.is(r.code, 1, r.stderr);
    t.regex(r.stderr, /contains the input ratings\.csv/);
    t.deepEqual(snapshot(raw), before);
  }
  // A folder of user files (not holding the input) is refused too, listing what is there.
  const other = join(dir, 'other');
  mkdirSync(other);
  writeFileSync(join(other, 'a.csv'), '1,2\n');
  const r = cli(['data', 'prepare', '--input', join(raw, 'ratings.csv'), '--out', other, '--force']);
  t.is(r.code, 1);
  t.regex(r.stderr, /1 entry: a\.csv/);
  t.is(readFileSync(join(other, 'a.csv'), 'utf8'), '1,2\n');
});

test('rule 1: train --out DATASET is refused (the dataset is untouched); a model is replaced only with --force', (t) => {
  const dir = tempDir(t, 'own-train');
  const { ds } = tinyData(dir);
  const before = snapshot(ds);
  for (const extra of [[], ['--force'], ['--resume']]) {
    const r = cli(['train', '--data', ds, '--out', ds, '--epochs', '1', ...SMALL, ...extra]);
    t.not(r.code, 0);
    t.regex(r.stderr, /also an input|is a prepared dataset, not a model directory/);
    t.notRegex(r.stderr, /already holds a model/);
  }
  t.deepEqual(snapshot(ds), before);
  const m = join(dir, 'm');
  t.is(cli(['train', '--data', ds, '--out', m, '--epochs', '1', ...SMALL]).code, 0);
  const again = cli(['train', '--data', ds, '--out', m, '--epochs', '1', ...SMALL]);
  t.is(again.code, 2);
  t.regex(again.stderr, /already holds a model; pass --resume .* or --force/);
  t.is(cli(['train', '--data', ds, '--out', m, '--epochs', '1', ...SMALL, '--force']).code, 0);
  t.is(loadModel(m).manifest.epochs, 1);
  // A folder with user files is never trained over.
  const user = join(dir, 'user');
  mkdirSync(user);
  writeFileSync(join(user, 'thesis.tex'), 'x');
  const r = cli(['train', '--data', ds, '--out', user, '--epochs', '1', ...SMALL, '--force']);
  t.is(r.code, 1);
  t.regex(r.stderr, /thesis\.tex/);
  t.deepEqual(readdirSync(user), ['thesis.tex']);
});

/** Spawns the CLI and resolves once its stdout has `n` JSON lines. */
function spawnUntil(args: string[], n: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = '';
  let err = '';
  child.stderr?.on('data', (b: Buffer) => {
    err += b.toString();
  });
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (b: Buffer) => {
      seen += b.toString();
      if (seen.split('\n').filter((l) => l.startsWith('{')).length >= n) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`exited (${code}) before ${n} lines: ${err}`)));
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.on('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

test('rule 3: a second train on the same --out is refused naming the first; a killed holder leaves no stuck lock', async (t) => {
  const dir = tempDir(t, 'lock-train');
  const { ds } = tinyData(dir);
  const m = join(dir, 'm');
  const first = await spawnUntil(['train', '--data', ds, '--out', m, '--epochs', '100000', ...SMALL, '--json'], 1);
  try {
    for (const extra of [['--force'], ['--resume']]) {
      const second = cli(['train', '--data', ds, '--out', m, '--epochs', '2', ...SMALL, ...extra]);
      t.is(second.code, 1, second.stderr);
      t.regex(second.stderr, new RegExp(`being written by process ${first.pid} on .* since `));
    }
  } finally {
    await killed(first);
  }
  t.true(existsSync(lockPath(m)), 'the killed run left its lock file');
  // Its process is gone: the next writer takes the lock over and resumes the run.
  const resumed = cli(['train', '--data', ds, '--out', m, '--epochs', '1', ...SMALL, '--resume', '--json']);
  t.is(resumed.code, 0, resumed.stderr);
  t.false(existsSync(lockPath(m)), 'released at the end');
  t.true(loadModel(m).manifest.epochs >= 1);
});

test('rule 3: two data prepare on one --out: the second is refused while the first holds it', async (t) => {
  const dir = tempDir(t, 'lock-prepare');
  const { raw } = tinyData(dir);
  const out = join(dir, 'ds2');
  // The first writer: another process holding the output's lock (as a long prepare would).
  const holder = spawn(
    process.execPath,
    [
      '-e',
      `import('./dist/util/output.js').then((m) => { m.lockOutput(process.argv[1]); console.log('{}'); setInterval(() => {}, 1000); })`,
      out,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve) => holder.stdout?.once('data', () => resolve()));
  try {
    const r = cli(['data', 'prepare', '--input', raw, '--out', out]);
    t.is(r.code, 1, r.stderr);
    t.regex(r.stderr, new RegExp(`being written by process ${holder.pid}`));
    t.false(existsSync(out));
    // In-process too: the library refuses with the typed error.
    t.throws(() => lockOutput(out), { instanceOf: LockedError });
  } finally {
    await killed(holder);
  }
  const r = cli(['data', 'prepare', '--input', raw, '--out', out, '--json']);
  t.is(r.code, 0, r.stderr);
  t.false(existsSync(lockPath(out)));
});

test('rule 6: --heldout-users 0 is refused up front; trainModel refuses data without validation users, writing nothing', async (t) => {
  const dir = tempDir(t, 'degenerate');
  const { raw } = tinyData(dir);
  const out = join(dir, 'none');
  const r = cli(['data', 'prepare', '--input', raw, '--out', out, '--heldout-users', '0']);
  t.is(r.code, 2);
  t.regex(r.stderr, /--heldout-users must be an integer >= 1/);
  t.false(existsSync(out));
  const rows = Array.from({ length: 20 }, (_, u) => [u % 7, (u + 3) % 7]);
  const empty = csrFromRows([], 7);
  const data = {
    items: 7,
    train: csrFromRows(rows, 7),
    validation: { foldIn: empty, target: empty },
    test: { foldIn: empty, target: empty },
  };
  const m = join(dir, 'm');
  await t.throwsAsync(trainModel({ model: resolveModelConfig('multdae', {}), train: { epochs: 1 }, data, out: m }), {
    instanceOf: InvalidArgumentError,
    message: /no validation users/,
  });
  t.false(existsSync(m));
  // And the library refuses to write a model over the dataset directory it reads.
  const ds = join(dir, 'ds');
  const { loadDataset } = await import('../../ts/data/store.js');
  const d = await loadDataset(ds);
  await t.throwsAsync(
    trainModel({ model: resolveModelConfig('multdae', {}), train: { epochs: 1 }, data: d, out: ds, force: true }),
    { instanceOf: OutputConflictError },
  );
});
