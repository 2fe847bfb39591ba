/**
 * `macridvae reproduce` through the real CLI on a tiny synthetic dataset: the files and the table's
 * rows (means over seeds, per-run values, MacridVAE's paired tests), and a run killed with SIGKILL in
 * the middle that `--resume` completes without redoing the finished runs.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { BIN, cli, prepareTiny } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

test('reproduce writes the table; a killed run resumes without redoing finished runs', async (t) => {
  const dir = tempDir(t, 'reproduce');
  const data = prepareTiny(dir);
  const out = join(dir, 'table');
  const args = [BIN, 'reproduce', '--data', data, '--out', out, '--models', 'pop,multdae,macridvae'];
  args.push('--seeds', '1,2', '--epochs', '3', '--threads', '1', '--bootstrap', '200', '--json');
  // Start, and kill the process (SIGKILL: no cleanup) once the first VAE run is finished.
  const first = join(out, 'runs', 'multdae', 'seed-1.json');
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let killed = false;
  while (child.exitCode === null) {
    if (existsSync(first)) {
      child.kill('SIGKILL');
      killed = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await exited;
  t.true(killed, 'the run ended before it could be killed');
  t.false(existsSync(join(out, 'table.json')));
  const finished = ['pop/seed-1.json', 'pop/seed-2.json', 'multdae/seed-1.json'].map((f) => join(out, 'runs', f));
  const mtimes = finished.map((f) => statSync(f).mtimeMs);

  // Without --resume the directory is refused.
  const refused = cli(args.slice(1));
  t.is(refused.code, 2);
  t.regex(refused.stderr, /pass --resume to continue it or --force/);

  const r = cli([...args.slice(1), '--resume']);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const runs = lines.slice(0, -1);
  t.deepEqual(
    runs.map((x) => `${x.model}/${x.seed}/${x.reused}`),
    ['pop/1/true', 'pop/2/true', 'multdae/1/true', 'multdae/2/false', 'macridvae/1/false', 'macridvae/2/false'],
  );
  t.deepEqual(
    finished.map((f) => statSync(f).mtimeMs),
    mtimes,
  );
  const table = JSON.parse(readFileSync(join(out, 'table.json'), 'utf8'));
  t.deepEqual(table, lines[lines.length - 1]);
  t.deepEqual(
    table.rows.map((x: { model: string }) => x.model),
    ['popularity', 'MultDAE', 'MacridVAE'],
  );
  for (const row of table.rows) {
    t.is(row.runs.length, 2);
    for (const m of ['ndcg@100', 'recall@20', 'recall@50']) {
      const mean = (row.runs[0][m] + row.runs[1][m]) / 2;
      t.true(Math.abs(row[m].mean - mean) < 1e-12);
      t.true(row[m].se >= 0);
    }
  }
  t.is(table.rows[0]['ndcg@100'].se, 0); // popularity is deterministic
  t.is(table.rows[0].significance.length, 3);
  t.is(table.rows[2].significance, undefined);
  const sig = table.rows[1].significance[0];
  t.true(sig.ci95[0] <= sig.meanDiff && sig.meanDiff <= sig.ci95[1]);
  t.true(sig.p >= 0 && sig.p <= 1);
  for (const f of ['table.md', 'table.svg', 'table.png']) t.true(existsSync(join(out, f)), f);
  t.regex(readFileSync(join(out, 'table.md'), 'utf8'), /\| MacridVAE \| 0\.\d{4} ± 0\.\d{4} \|/);
});

// Serial: its synchronous CLI calls would block the event loop that polls the other test's child.
test.serial(
  'reproduce: --ease-lambdas / --knn-neighbours / --knn-shrinks are the grids searched, --patience reaches every VAE run; both are settings of the reproduction',
  (t) => {
    const dir = tempDir(t, 'reproduce-grids');
    const data = prepareTiny(dir);
    const out = join(dir, 'table');
    const base = ['reproduce', '--data', data, '--out', out, '--models', 'ease,itemknn,multdae', '--seeds', '1'];
    base.push('--epochs', '4', '--threads', '1', '--bootstrap', '100', '--json');
    const grids = ['--ease-lambdas', '5,50', '--knn-neighbours', '3', '--knn-shrinks', '0,10', '--patience', '2'];
    const r = cli([...base, ...grids]);
    t.is(r.code, 0, r.stderr);
    const candidates = (model: string) =>
      JSON.parse(readFileSync(join(out, 'runs', model, 'fit', 'manifest.json'), 'utf8')).fit.candidates.map(
        (c: { config: Record<string, unknown> }) => c.config,
      );
    t.deepEqual(
      candidates('ease').map((c: { lambda: number }) => c.lambda),
      [5, 50],
    );
    t.deepEqual(
      candidates('itemknn').map((c: { k: number; shrink: number }) => `${c.k}/${c.shrink}`),
      ['3/0', '3/10'],
    );
    const settings = JSON.parse(readFileSync(join(out, 'reproduce.json'), 'utf8'));
    t.deepEqual(settings.grids, { lambdas: [5, 50], ks: [3], shrinks: [0, 10] });
    t.is(settings.patience, 2);
    const run = JSON.parse(readFileSync(join(out, 'runs', 'multdae', 'seed-1.json'), 'utf8'));
    t.is(run.config.train.patience, 2);
    t.is(run.config.train.epochs, 4);
    const table = JSON.parse(readFileSync(join(out, 'table.json'), 'utf8'));
    t.is(table.patience, 2);
    t.true([5, 50].includes(table.rows[0].config.lambda));
    t.regex(readFileSync(join(out, 'table.md'), 'utf8'), /stopped after 2 epochs without a better validation NDCG@100/);

    // Other grids are other settings: resume refuses them, naming both.
    const other = cli([...base, ...grids.map((a) => (a === '5,50' ? '5,500' : a)), '--resume']);
    t.is(other.code, 1, other.stderr);
    t.regex(other.stderr, /other settings.*"lambdas":\[5,50\].*"lambdas":\[5,500\]/);
    // Bad grid values are refused naming the option.
    const bad = cli([...base, '--ease-lambdas', '5,0', '--force']);
    t.is(bad.code, 2);
    t.regex(bad.stderr, /--ease-lambdas must be a comma-separated list of numbers > 0 but got '5,0'/);
    const badK = cli([...base, '--knn-neighbours', '2.5', '--force']);
    t.is(badK.code, 2);
    t.regex(badK.stderr, /--knn-neighbours must be a comma-separated list of integers > 0/);
  },
);
