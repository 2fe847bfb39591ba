/**
 * Past one machine on a real redis-server (started here on a free port; the test fails if it cannot
 * start): `tune --queue` with a coordinator and 2 worker processes, one killed with -9 in the middle of
 * a trial (its job is taken over by the other: every trial once) and Redis restarted mid-run (the
 * coordinator reconnects and finishes); a bad payload failed at once with a clear error.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { openQueue, parseQueueUrl, runJob } from '../../ts/queue/queue.js';
import { BIN, cli } from '../helpers/cli.js';
import { jsonLines } from '../helpers/jsonl.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const root = mkdtempSync(join(tmpdir(), 'macridvae-queue-'));
const data = join(root, 'ds');
const raw = join(root, 'raw');
let redis: TestRedis;
const workers: ChildProcess[] = [];
/** Every worker's job events, for checks across workers. */
const events: Array<{ state: string; name: string; id: string }> = [];

test.before(async () => {
  redis = await startRedis(root);
  for (const args of [
    ['data', 'synth', '--preset', 'tiny', '--out', raw],
    ['data', 'prepare', '--input', raw, '--out', data],
  ]) {
    const r = cli(args);
    if (r.code !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  }
});
test.after.always(async () => {
  for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
  await redis?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** A worker process; `log` collects its JSON job events. */
function worker() {
  const log: Array<{ state: string; name: string; id: string }> = [];
  const p = spawn(
    process.execPath,
    [BIN, 'worker', '--queue', redis.url, '--lock-ms', '10000', '--stalled-ms', '2000', '--json'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let buf = '';
  p.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) {
      if (!l.trim()) continue;
      log.push(JSON.parse(l));
      events.push(JSON.parse(l));
    }
  });
  workers.push(p);
  return { p, log };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ok: () => boolean, ms = 120_000) {
  for (let waited = 0; !ok(); waited += 100) {
    if (waited > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test.serial(
  'tune --queue: 2 workers, one killed -9 mid-trial, Redis restarted mid-run; every trial once',
  async (t) => {
    const a = worker();
    const b = worker();
    const out = join(root, 'search');
    const coord = spawn(
      process.execPath,
      [
        BIN,
        'tune',
        '--data',
        data,
        '--out',
        out,
        '--trials',
        '5',
        '--parallel',
        '2',
        '--startup',
        '2',
        '--epochs',
        '3',
        '--d',
        '16',
        '--queue',
        redis.url,
        '--json',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let stdout = '';
    coord.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const exited = new Promise<number | null>((r) => coord.once('exit', (c) => r(c)));
    // Kill worker a in the middle of its first trial.
    await until('worker a to start a trial', () => a.log.some((e) => e.state === 'active'));
    const killedJob = a.log.find((e) => e.state === 'active')?.id as string;
    a.p.kill('SIGKILL');
    // Restart Redis once a trial has finished.
    await until('a finished trial', () => jsonLines(join(out, 'trials.jsonl')).length >= 1);
    await redis.restart(1500);
    const code = await exited;
    t.is(code, 0, stdout);
    const trials = jsonLines(join(out, 'trials.jsonl'));
    t.deepEqual(
      trials.map((r) => r.trial).sort((x, y) => x - y),
      [0, 1, 2, 3, 4],
    );
    for (const r of trials) t.true(r['ndcg@100'] > 0, r.error);
    // The killed worker's job was taken over by worker b.
    t.true(
      b.log.some((e) => e.state === 'completed' && e.id === killedJob),
      `job ${killedJob} not taken over`,
    );
    // The weights file is named in the manifest (weights-<sha8>.mvt, docs/model-format.md).
    const manifest = JSON.parse(readFileSync(join(out, 'best', 'manifest.json'), 'utf8'));
    t.true(existsSync(join(out, 'best', manifest.weights.file)));
    b.p.kill('SIGTERM');
  },
);

test.serial('a bad payload fails at once with a clear error, not retried', async (t) => {
  const w = worker();
  const queue = openQueue(parseQueueUrl('test', redis.url));
  try {
    await t.throwsAsync(
      runJob(queue, 'trial', 'bad-1', { dataDir: join(root, 'nowhere'), fingerprint: 'x', job: {} }),
      {
        message:
          /failed after 1 attempt\(s\): bad job payload: 'dataDir' must be a dataset directory that exists on this worker/,
      },
    );
    await t.throwsAsync(runJob(queue, 'frobnicate', 'bad-2', {}), { message: /unknown job name 'frobnicate'/ });
  } finally {
    await queue.close();
    w.p.kill('SIGTERM');
  }
});
