/**
 * `macridvae tune` by spawning the built CLI (run `npm run build:ts` first): a short TPE search on the
 * tiny synthetic preset, its files, resuming it, refusing to overwrite, and a bad space file named.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { BIN, cli } from '../helpers/cli.js';
import { jsonLines } from '../helpers/jsonl.js';

const root = mkdtempSync(join(tmpdir(), 'macridvae-cli-tune-'));
const raw = join(root, 'raw');
const data = join(root, 'ds');
const space = join(root, 'space.json');

test.before(() => {
  for (const args of [
    ['data', 'synth', '--preset', 'tiny', '--out', raw],
    ['data', 'prepare', '--input', raw, '--out', data],
  ]) {
    const r = cli(args);
    if (r.code !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  }
  writeFileSync(
    space,
    JSON.stringify([
      { name: 'lr', kind: 'loguniform', low: 1e-3, high: 1e-2 },
      { name: 'concepts', kind: 'int', low: 2, high: 5 },
      { name: 'sigma0', kind: 'uniform', low: 0.075, high: 0.5 },
    ]),
  );
});
test.after.always(() => rmSync(root, { recursive: true, force: true }));

const base = ['--data', data, '--space', space, '--startup', '2', '--epochs', '2', '--d', '16'];

test.serial('tune --json: one record per trial, then the best trial with test metrics; --resume continues', (t) => {
  const out = join(root, 'search');
  const r = cli(['tune', ...base, '--out', out, '--trials', '3', '--json']);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.is(lines.length, 4);
  t.deepEqual(
    lines.slice(0, 3).map((l) => l.trial),
    [0, 1, 2],
  );
  for (const l of lines.slice(0, 3)) {
    t.true(l['ndcg@100'] > 0 && l['ndcg@100'] <= 1);
    t.true(l.point.concepts >= 2 && l.point.concepts <= 5);
    t.is(l.model.d, 16);
    t.is(l.train.epochs, 2);
  }
  const summary = lines[3];
  t.is(summary.trials, 3);
  t.is(summary.best['ndcg@100'], Math.max(...lines.slice(0, 3).map((l) => l['ndcg@100'])));
  t.true(summary.test['ndcg@100'].mean >= 0);
  t.true(
    existsSync(join(out, 'best', JSON.parse(readFileSync(join(out, 'best', 'manifest.json'), 'utf8')).weights.file)),
  );
  const runs = JSON.parse(readFileSync(join(out, 'runs.json'), 'utf8'));
  t.is(runs.length, 3);
  t.regex(runs[0].method, /^MacridVAE \(K(=1|>1)\)$/);

  const again = cli(['tune', ...base, '--out', out, '--trials', '3']);
  t.is(again.code, 2);
  t.regex(again.stderr, /already holds a search; pass --resume/);
  const more = cli(['tune', ...base, '--out', out, '--trials', '4', '--resume', '--json']);
  t.is(more.code, 0, more.stderr);
  const moreLines = more.stdout.trim().split('\n');
  t.is(moreLines.length, 2);
  t.is(JSON.parse(moreLines[0]).trial, 3);
  t.is(readFileSync(join(out, 'trials.jsonl'), 'utf8').trim().split('\n').length, 4);
  const other = cli(['tune', ...base, '--out', out, '--trials', '5', '--resume', '--tpe-seed', '7']);
  t.is(other.code, 1);
  t.regex(other.stderr, /cannot resume: the search in .* has other settings/);
});

test('tune: a bad space file is named; text output names the best trial', (t) => {
  const bad = join(root, 'bad-space.json');
  writeFileSync(bad, JSON.stringify([{ name: 'beta', kind: 'uniform', low: 1, high: 0 }]));
  const r = cli(['tune', ...base.slice(0, 2), '--space', bad, '--out', join(root, 'x'), '--model', 'multdae']);
  t.not(r.code, 0);
  t.regex(r.stderr, /bad-space\.json: .*'space\[0\]/);
  const out = join(root, 'text');
  const ok = cli(['tune', ...base, '--out', out, '--trials', '2']);
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /trial {3}0 {2}val ndcg@100 0\.\d{4} {2}independence 0\.\d{4} {2}lr=/);
  t.regex(ok.stdout, /best: trial [01] \(0 of 2 failed\)/);
  t.regex(ok.stdout, /ndcg@100 {3}test 0\.\d{4} ± 0\.\d{4}/);
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test.serial(
  'tune --parallel 2 killed (-9) with trials running resumes: running trials re-run, finished never',
  async (t) => {
    const out = join(root, 'parallel');
    const args = ['tune', ...base, '--epochs', '4', '--out', out, '--trials', '6', '--parallel', '2', '--json'];
    const child = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore' });
    const pid = child.pid as number;
    // Kill the coordinator once a trial has finished while another runs.
    let workers: number[] = [];
    for (let i = 0; i < 1200; i++) {
      const done = jsonLines(join(out, 'trials.jsonl')).length;
      const proposed = jsonLines(join(out, 'proposals.jsonl')).length;
      if (done >= 1 && proposed > done) {
        workers = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
          .stdout.split('\n')
          .filter((x) => x.trim())
          .map(Number);
        child.kill('SIGKILL');
        break;
      }
      await sleep(100);
    }
    await new Promise((r) => child.once('exit', r));
    t.is(child.signalCode, 'SIGKILL', 'the search ended before it could be killed mid-run');
    t.is(workers.length, 2);
    // The trial processes notice the coordinator is gone and exit.
    for (let i = 0; i < 200 && workers.some(alive); i++) await sleep(100);
    t.false(workers.some(alive));
    const before = readFileSync(join(out, 'trials.jsonl'), 'utf8');
    const finished = jsonLines(join(out, 'trials.jsonl')).map((r) => r.trial as number);
    const proposals = jsonLines(join(out, 'proposals.jsonl'));
    const pending = proposals.filter((p) => !finished.includes(p.trial));
    t.true(pending.length >= 1);

    const r = cli([
      'tune',
      ...base,
      '--epochs',
      '4',
      '--out',
      out,
      '--trials',
      '6',
      '--parallel',
      '2',
      '--json',
      '--resume',
    ]);
    t.is(r.code, 0, r.stderr);
    const resumed = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .slice(0, -1);
    t.false(
      resumed.some((x) => finished.includes(x.trial)),
      'a finished trial ran again',
    );
    for (const p of pending) t.deepEqual(resumed.find((x) => x.trial === p.trial)?.point, p.point);
    const all = jsonLines(join(out, 'trials.jsonl'));
    t.true(readFileSync(join(out, 'trials.jsonl'), 'utf8').startsWith(before));
    t.deepEqual(
      all.map((x) => x.trial).sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5],
    );
    t.deepEqual(all[all.findIndex((x) => x.trial === 0)].point, { lr: 1e-3, concepts: 5, sigma0: 0.075 });
    t.deepEqual(
      readdirSync(out).filter((n) => /^trial(-\d+(-[0-9a-f]+)?)?$/.test(n)),
      [],
    );
  },
);

test('tune --points: a bad point is named with its file', (t) => {
  const pts = join(root, 'points.json');
  writeFileSync(pts, JSON.stringify([{ lr: 0.005 }, { lr: 5 }]));
  const r = cli(['tune', ...base, '--out', join(root, 'pts'), '--trials', '2', '--points', pts]);
  t.is(r.code, 1);
  t.regex(
    r.stderr,
    /points\.json: 'points\[1\]\.lr' passed to tune\(\) must be a number in \[0\.001, 0\.01\] but got 5/,
  );
});

// biome-ignore lint/suspicious/noExplicitAny: trial records and the summary
const records = (stdout: string): any[] =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

test.serial(
  'tune --config FILE: every trial starts from the file, flags override it; a manifest is a valid file',
  (t) => {
    const file = join(root, 'tune-config.json');
    writeFileSync(file, JSON.stringify({ model: { d: 16, tau: 0.2 }, train: { epochs: 3, seed: 7 } }));
    const first = join(root, 'cfg-search');
    const args = ['--data', data, '--space', space, '--startup', '1', '--trials', '2', '--json'];
    const r = cli(['tune', ...args, '--out', first, '--config', file, '--epochs', '2']);
    t.is(r.code, 0, r.stderr);
    const trials = records(r.stdout).filter((l) => l.trial !== undefined);
    t.is(trials.length, 2);
    for (const l of trials) {
      t.like(l.model, { d: 16, tau: 0.2 }, 'from the file');
      t.like(l.train, { epochs: 2, seed: 7 }, '--epochs over the file, the seed from it');
    }
    // The best model's manifest replays the same starting point; so does a { config: { model, train } } file.
    const manifest = join(first, 'best', 'manifest.json');
    t.true(existsSync(manifest));
    const m = JSON.parse(readFileSync(manifest, 'utf8'));
    const wrapped = join(root, 'tune-config-block.json');
    writeFileSync(wrapped, JSON.stringify({ config: { model: m.model, train: m.train } }));
    for (const [i, cfg] of [manifest, wrapped].entries()) {
      const again = cli(['tune', ...args, '--trials', '1', '--out', join(root, `cfg-search-${i}`), '--config', cfg]);
      t.is(again.code, 0, again.stderr);
      const [trial] = records(again.stdout);
      t.like(trial.model, { d: 16, tau: 0.2 });
      t.like(trial.train, { epochs: 2, seed: 7 });
    }
    writeFileSync(file, JSON.stringify({ model: { d: 16 }, trian: {} }));
    const bad = cli(['tune', ...args, '--out', join(root, 'cfg-search-bad'), '--config', file]);
    t.is(bad.code, 1);
    t.regex(
      JSON.parse(bad.stdout).error.message,
      /tune-config\.json: unknown key 'trian' \(expected 'model' and 'train'\)/,
    );
    t.false(existsSync(join(root, 'cfg-search-bad')));
  },
);

test('tune --parallel beyond the cores is capped at them, saying so (rule 5 of issue 11)', (t) => {
  const out = join(root, 'parallel-capped');
  const r = cli(['tune', ...base, '--out', out, '--trials', '1', '--epochs', '1', '--parallel', '4096', '--json']);
  t.is(r.code, 0, r.stderr);
  t.regex(
    r.stderr,
    /--parallel 4096 capped at \d+, the number of cores of this machine \(one trial process per core\)/,
  );
  t.is(records(r.stdout).filter((l) => l.trial !== undefined).length, 1);
});
