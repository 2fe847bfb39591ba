/**
 * Issue 11, rule 8 (library edges) and the pieces behind rules 1, 3 and 7, in-process:
 * - `csrFromRows` and the other CSR builders refuse NaN, fractions, negatives and ids past `cols`
 *   (never truncated into another column) and non-arrays; public entry points given `null` throw the
 *   typed error (an `InvalidArgumentError` naming the argument), never a `TypeError`;
 * - ownership (`checkOutput`), locks (`lockOutput`: refusal, re-entry, stale take-over, another host's
 *   lock), the clean-up of a crash's temporaries (`removeStaleTempsIn` puts back a directory moved
 *   aside), and `fileError` naming the user's path, never a temporary one.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { analyze } from '../../ts/analysis/report.js';
import { csrFromRows, csrGatherRows, csrRow, csrSliceRows } from '../../ts/csr.js';
import { prepareDataset } from '../../ts/data/prepare.js';
import { loadDataset } from '../../ts/data/store.js';
import { synthesize } from '../../ts/data/synth.js';
import { FileAccessError, InvalidArgumentError, LockedError, OutputConflictError } from '../../ts/errors.js';
import { evaluate } from '../../ts/eval/evaluator.js';
import { instantiate } from '../../ts/models/inspect.js';
import { Recommender } from '../../ts/serve/recommender.js';
import {
  datasetFingerprint,
  decodeTensorFile,
  encodeTensorFile,
  loadModel,
  readManifest,
} from '../../ts/train/checkpoint.js';
import { trainModel } from '../../ts/train/trainer.js';
import { tune } from '../../ts/tune/tune.js';
import { fileError, removeStaleTempsIn } from '../../ts/util/fs.js';
import { checkOutput, lockOutput, lockPath, MARKER_FILE, writeMarker, writeOutputDir } from '../../ts/util/output.js';
import { tempDir } from '../helpers/tmp.js';

test('csrFromRows refuses NaN, fractions, negatives, ids past cols and non-arrays, naming the position', (t) => {
  t.deepEqual(csrFromRows([[0, 2], [], [1]], 3), {
    indptr: Uint32Array.from([0, 2, 2, 3]),
    indices: Uint32Array.from([0, 2, 1]),
    cols: 3,
  });
  for (const [bad, where] of [
    [Number.NaN, /rows\[1\]\[0\].*integer column id but got NaN/],
    [1.5, /rows\[1\]\[0\].*integer column id but got 1\.5/],
    [-1, /rows\[1\]\[0\].*must be in \[0, 2\^32\) but got -1/],
    [2 ** 32 + 1, /must be in \[0, 2\^32\)/],
  ] as const) {
    t.throws(() => csrFromRows([[0], [bad]], 3), { instanceOf: InvalidArgumentError, message: where });
  }
  t.throws(() => csrFromRows(null as never, 3), { instanceOf: InvalidArgumentError, message: /'rows'.*null/ });
  t.throws(() => csrFromRows([[0], null as never], 3), { instanceOf: InvalidArgumentError, message: /'rows\[1\]'/ });
  t.throws(() => csrFromRows([[0]], -1), { instanceOf: InvalidArgumentError, message: /'cols'/ });
  t.throws(() => csrFromRows([[0]], 2.5), { instanceOf: InvalidArgumentError, message: /'cols'/ });
  const m = csrFromRows([[0], [1, 2]], 3);
  t.throws(() => csrSliceRows(m, 1, 5), { instanceOf: InvalidArgumentError, message: /'hi'/ });
  t.throws(() => csrSliceRows(m, -1, 1), { instanceOf: InvalidArgumentError, message: /'lo'/ });
  t.throws(() => csrGatherRows(m, [0, 1.5]), { instanceOf: InvalidArgumentError, message: /rows\[1\]/ });
  t.throws(() => csrGatherRows(null as never, [0]), { instanceOf: InvalidArgumentError });
  t.throws(() => csrRow(m, 2), { instanceOf: InvalidArgumentError, message: /'r'/ });
  t.throws(() => csrRow(null as never, 0), { instanceOf: InvalidArgumentError });
});

test('null arguments to the public entry points get the typed error, not a TypeError', async (t) => {
  const sync: Array<[string, () => unknown]> = [
    ['loadModel', () => loadModel(null as never)],
    ['readManifest', () => readManifest(null as never)],
    ['datasetFingerprint', () => datasetFingerprint(null as never)],
    ['encodeTensorFile', () => encodeTensorFile(null as never)],
    ['decodeTensorFile', () => decodeTensorFile(null as never, 'x')],
    ['instantiate', () => instantiate(null as never)],
    ['Recommender', () => new Recommender(null as never)],
    ['checkOutput', () => checkOutput(null as never, 'model')],
    ['checkOutput kind', () => checkOutput('x', 'nonsense' as never)],
    ['lockOutput', () => lockOutput(null as never)],
    ['writeMarker', () => writeMarker(null as never, 'model')],
  ];
  for (const [name, f] of sync) t.throws(f, { instanceOf: InvalidArgumentError }, name);
  const asyncCalls: Array<[string, () => Promise<unknown>]> = [
    ['trainModel', () => trainModel(null as never)],
    ['trainModel data', () => trainModel({ model: { kind: 'multdae' } as never, data: null as never })],
    ['tune', () => tune(null as never)],
    ['synthesize', () => synthesize(null as never)],
    ['prepareDataset', () => prepareDataset(null as never)],
    ['loadDataset', () => loadDataset(null as never)],
    ['evaluate', () => evaluate(() => Promise.resolve(new Float32Array()), null as never)],
    ['analyze', () => analyze(null as never)],
  ];
  for (const [name, f] of asyncCalls) await t.throwsAsync(f, { instanceOf: InvalidArgumentError }, name);
});

test('checkOutput: absent, empty, owned; refuses user folders, other kinds, files and inputs', (t) => {
  const dir = tempDir(t, 'check-output');
  t.is(checkOutput(join(dir, 'new'), 'model'), 'absent');
  mkdirSync(join(dir, 'empty'));
  t.is(checkOutput(join(dir, 'empty'), 'model'), 'absent');
  mkdirSync(join(dir, 'mine'));
  writeMarker(join(dir, 'mine'), 'model');
  t.is(checkOutput(join(dir, 'mine'), 'model'), 'owned');
  t.throws(() => checkOutput(join(dir, 'mine'), 'dataset', { force: true }), {
    instanceOf: OutputConflictError,
    message: /is a model directory, not a prepared dataset.*not even with --force/,
  });
  mkdirSync(join(dir, 'user'));
  writeFileSync(join(dir, 'user', 'a.txt'), 'x');
  t.throws(() => checkOutput(join(dir, 'user'), 'report', { force: true }), {
    instanceOf: OutputConflictError,
    message: /was not written by macridvae.*1 entry: a\.txt/,
  });
  writeFileSync(join(dir, 'file'), 'x');
  t.throws(() => checkOutput(join(dir, 'file'), 'export'), { message: /exists and is a file/ });
  t.throws(() => checkOutput(join(dir, 'user'), 'dataset', { inputs: [join(dir, 'user', 'a.txt')] }), {
    message: /contains the input/,
  });
  t.throws(() => checkOutput(join(dir, 'mine'), 'model', { inputs: [join(dir, 'mine')] }), {
    message: /also an input/,
  });
  // An older build's model directory (no marker) is still recognized as a model.
  mkdirSync(join(dir, 'old'));
  writeFileSync(join(dir, 'old', 'manifest.json'), JSON.stringify({ format: 'macridvae-model' }));
  t.is(checkOutput(join(dir, 'old'), 'model'), 'owned');
  t.true(existsSync(join(dir, 'mine', MARKER_FILE)));
});

test('lockOutput: a live holder is named, re-entry counts, a dead holder is taken over, another host is not', (t) => {
  const dir = tempDir(t, 'locks');
  const out = join(dir, 'out');
  const a = lockOutput(out);
  const b = lockOutput(out);
  b.release();
  t.true(existsSync(lockPath(out)), 'still held by the first');
  a.release();
  t.false(existsSync(lockPath(out)));
  // A live process (this test's parent, pid 1 is always alive) holds it.
  writeFileSync(
    lockPath(out),
    JSON.stringify({ pid: 1, host: hostname(), started: '2026-01-01T00:00:00Z', command: 'train' }),
  );
  t.throws(() => lockOutput(out), { instanceOf: LockedError, message: /being written by process 1 on .* \(train\)/ });
  // A dead holder: the pid of a process that has exited.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  }).stdout;
  writeFileSync(
    lockPath(out),
    JSON.stringify({ pid: Number(dead), host: hostname(), started: 'then', command: 'train' }),
  );
  const c = lockOutput(out);
  t.is(JSON.parse(readFileSync(lockPath(out), 'utf8')).pid, process.pid);
  c.release();
  writeFileSync(lockPath(out), JSON.stringify({ pid: 12345, host: 'elsewhere', started: 'then', command: 'tune' }));
  t.throws(() => lockOutput(out), { instanceOf: LockedError, message: /on elsewhere .*remove .*\.out\.lock/ });
});

test("removeStaleTempsIn: a dead run's temporaries go, a directory it moved aside comes back", (t) => {
  const dir = tempDir(t, 'stale');
  const dead = Number(
    spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout,
  );
  mkdirSync(join(dir, `.best.old-${dead}-0badc0de`));
  writeFileSync(join(dir, `.best.old-${dead}-0badc0de`, 'manifest.json'), '{}');
  writeFileSync(join(dir, `.manifest.json.tmp-${dead}-12345678`), 'partial');
  mkdirSync(join(dir, `.model.partial-${dead}-abcdef01`));
  writeFileSync(join(dir, `.live.tmp-${process.pid}-12345678`), 'mine');
  removeStaleTempsIn(dir);
  t.true(existsSync(join(dir, 'best', 'manifest.json')), 'moved-aside directory restored');
  t.false(existsSync(join(dir, `.manifest.json.tmp-${dead}-12345678`)));
  t.false(existsSync(join(dir, `.model.partial-${dead}-abcdef01`)));
  t.true(existsSync(join(dir, `.live.tmp-${process.pid}-12345678`)), 'a live process keeps its temporaries');
});

test('fileError names the path the user gave, never the temporary one', (t) => {
  const err = (code: string, path: string, syscall = 'open') =>
    Object.assign(new Error(`${code}: x, ${syscall} '${path}'`), { code, path, syscall });
  const e1 = fileError(err('EACCES', '/data/.model.partial-123-abcdef01/weights.mvt'), 'write', '/data/model');
  t.true(e1 instanceof FileAccessError);
  t.is((e1 as Error).message, "cannot write '/data/model': permission denied (EACCES)");
  const e2 = fileError(err('ENOSPC', '/data/.manifest.json.tmp-9-12345678'), 'write', '/data/manifest.json');
  t.is((e2 as Error).message, "cannot write '/data/manifest.json': no space left on the device (ENOSPC)");
  const e3 = fileError(err('EACCES', '/readonly', 'mkdir'), 'create', '/readonly/out');
  t.regex((e3 as Error).message, /^cannot create '\/readonly\/out' \(at \/readonly\): permission denied/);
  const e4 = fileError(err('ENOENT', '/inputs/ratings.csv'), 'write', '/out');
  t.is((e4 as Error).message, "cannot open '/inputs/ratings.csv': no such file or directory (ENOENT)");
  const other = new TypeError('a bug');
  t.is(fileError(other, 'write', '/out'), other, 'not a path error: unchanged');
});

test('writeOutputDir (analyze --out, data export --out): own kind only, and only with force; a failed build changes nothing', async (t) => {
  const dir = tempDir(t, 'write-output');
  const out = join(dir, 'report');
  const build = (text: string) => async (tmp: string) => writeFileSync(join(tmp, 'report.md'), text);
  await writeOutputDir(out, 'report', {}, build('one'));
  t.is(readFileSync(join(out, 'report.md'), 'utf8'), 'one');
  await t.throwsAsync(writeOutputDir(out, 'report', {}, build('two')), {
    instanceOf: OutputConflictError,
    message: /already holds an analysis report; pass --force/,
  });
  await writeOutputDir(out, 'report', { force: true }, build('two'));
  t.is(readFileSync(join(out, 'report.md'), 'utf8'), 'two');
  await t.throwsAsync(
    writeOutputDir(out, 'report', { force: true }, async () => {
      throw new Error('the analysis failed');
    }),
    { message: 'the analysis failed' },
  );
  t.is(readFileSync(join(out, 'report.md'), 'utf8'), 'two', 'the previous report is intact');
  await t.throwsAsync(writeOutputDir(out, 'export', { force: true }, build('x')), {
    instanceOf: OutputConflictError,
    message: /is an analysis report, not a reference export/,
  });
  t.false(existsSync(lockPath(out)), 'no lock left');
});
