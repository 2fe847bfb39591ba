/**
 * Issue 11, rule 2: a model directory is usable after a crash at any instant. The real CLI `train` is
 * killed with SIGKILL again and again at seeded random instants (tiny data, tiny model, many epochs,
 * so kills land in every phase: start-up, training, the commit's writes and renames); after every kill
 * the directory must be absent, or loadable (its manifest's weights verify), or resumable (its
 * checkpoint reads) — never a manifest that names missing or different weights. Each next run resumes
 * it (or starts it when absent), and the last one finishes; `eval` then loads the result. The same for
 * `tune`'s directory: absent or resumable, `best/` loadable whenever it exists.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { loadCheckpoint, loadModel, MANIFEST_FILE } from '../../ts/train/checkpoint.js';
import { BIN, cli } from '../helpers/cli.js';
import { Rng } from '../helpers/random.js';
import { tempDir } from '../helpers/tmp.js';

const SMALL = ['--d', '8', '--concepts', '2', '--threads', '1', '--batch-size', '60'];

function tinyData(dir: string): string {
  const raw = join(dir, 'raw');
  const ds = join(dir, 'ds');
  if (cli(['data', 'synth', '--preset', 'tiny', '--out', raw]).code !== 0) throw new Error('synth failed');
  if (cli(['data', 'prepare', '--input', raw, '--out', ds]).code !== 0) throw new Error('prepare failed');
  return ds;
}

/** Runs the CLI and kills it with SIGKILL `delayMs` after its first stdout line (or after start when `early`). */
function runAndKill(
  args: string[],
  delayMs: number,
  early: boolean,
): Promise<{ killed: boolean; code: number | null }> {
  const child: ChildProcess = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    if (!timer) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
  };
  if (early) arm();
  else child.stdout?.once('data', arm);
  child.stderr?.resume();
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ killed: signal === 'SIGKILL', code });
    });
  });
}

type State = 'absent' | 'loadable' | 'resumable';

/** What a killed run left; throws when it is none of the three allowed states. */
function modelState(dir: string): State {
  if (!existsSync(dir)) return 'absent';
  if (existsSync(join(dir, MANIFEST_FILE))) {
    loadModel(dir); // a manifest must always name complete, matching weights
    loadCheckpoint(dir); // and the checkpoint is committed before it
    return 'loadable';
  }
  loadCheckpoint(dir);
  return 'resumable';
}

test('train killed with SIGKILL at 14 random instants: the directory is always absent, loadable or resumable', async (t) => {
  const dir = tempDir(t, 'kill-train');
  const ds = tinyData(dir);
  const out = join(dir, 'model');
  const rng = new Rng(20261201);
  const seen: Record<State, number> = { absent: 0, loadable: 0, resumable: 0 };
  const base = ['train', '--data', ds, '--out', out, ...SMALL, '--json'];
  for (let i = 0; i < 14; i++) {
    const before = existsSync(out) ? modelState(out) : 'absent';
    const args = [...base, '--epochs', '400', ...(before === 'absent' ? [] : ['--resume'])];
    // Half the kills land at any instant from the start (start-up, the first commit), half while epochs
    // are being committed.
    const early = rng.next() < 0.5;
    const r = await runAndKill(args, Math.floor(rng.next() * (early ? 2500 : 600)), early);
    t.true(r.killed || r.code === 0, `run ${i} exited with ${r.code}`);
    let state: State;
    try {
      state = modelState(out);
    } catch (e) {
      t.fail(`after kill ${i} the model directory is unusable: ${(e as Error).message}`);
      return;
    }
    seen[state]++;
  }
  t.log(`states after the kills: ${JSON.stringify(seen)}`);
  t.true(seen.loadable + seen.resumable > 0, 'some kills came after a commit');
  // The last run resumes (or starts) and finishes; eval loads the result.
  const fin = cli([...base, '--epochs', '2', ...(existsSync(out) ? ['--resume'] : [])]);
  t.is(fin.code, 0, fin.stderr);
  t.deepEqual(
    readdirSync(out).filter((n) => /\.(tmp|partial|old)-\d+-/.test(n)),
    [],
    'stale temporaries are cleaned',
  );
  t.is(readdirSync(out).filter((n) => n.startsWith('weights')).length, 1, 'one weights file (the best)');
  const e = cli(['eval', '--model', out, '--data', ds, '--json', '--threads', '1']);
  t.is(e.code, 0, e.stderr);
  t.true(JSON.parse(e.stdout).metrics['ndcg@100'].mean >= 0);
});

test('tune killed with SIGKILL at random instants: its directory is absent or resumable, best/ loadable', async (t) => {
  const dir = tempDir(t, 'kill-tune');
  const ds = tinyData(dir);
  const out = join(dir, 'search');
  const rng = new Rng(7);
  const base = ['tune', '--data', ds, '--out', out, ...SMALL, '--epochs', '2', '--startup', '2', '--json'];
  for (let i = 0; i < 5; i++) {
    const resumable = existsSync(join(out, 'tune.json'));
    const r = await runAndKill(
      [...base, '--trials', '50', ...(resumable ? ['--resume'] : [])],
      Math.floor(rng.next() * 1500),
      rng.next() < 0.3,
    );
    t.true(r.killed || r.code === 0, `run ${i} exited with ${r.code}`);
    if (!existsSync(out)) continue;
    t.true(existsSync(join(out, 'tune.json')), `after kill ${i}: a search directory without tune.json`);
    if (existsSync(join(out, 'best'))) t.notThrows(() => loadModel(join(out, 'best')), `after kill ${i}`);
  }
  const fin = cli([...base, '--trials', '1', ...(existsSync(out) ? ['--resume'] : [])]);
  t.is(fin.code, 0, fin.stderr);
  t.notThrows(() => loadModel(join(out, 'best')));
});
