/**
 * bench-http: a bounded load test of `macridvae serve` on loopback with autocannon. Starts the real
 * CLI server in a child process (all cores for the pool), drives `POST /recommend` (k = 20, histories
 * of 5–50 real item ids drawn from the model's catalogue, a different one per request) with
 * CONNECTIONS connections for DURATION seconds, and prints req/s, latency p50/p99, errors and non-2xx
 * answers, the server's RSS before, every SAMPLE_S seconds during and after the load (from /proc),
 * and the mean micro-batch size
 * (`GET /health`). Then SIGTERM, which must exit 0.
 *
 * The model: MODEL, or one trained once on the bundled ml-latest-small (`.tmp/bench-http/model`,
 * `data prepare` + `train --epochs 10`, reused afterwards).
 *
 * Usage: npm run bench:http   (env: MODEL, CONNECTIONS default 50, DURATION default 30 s, THREADS default all cores,
 * SAMPLE_S default 5)
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../ts/util/rng.js';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const BIN = 'dist/cli/main.js';
const connections = Number(process.env.CONNECTIONS ?? 50);
const duration = Number(process.env.DURATION ?? 30);
const threads = Number(process.env.THREADS ?? availableParallelism());

function cli(args: string[]): void {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`macridvae ${args.join(' ')} failed: ${r.stderr}`);
}

function model(): string {
  if (process.env.MODEL) return process.env.MODEL;
  const root = '.tmp/bench-http';
  const dir = join(root, 'model');
  if (!existsSync(join(dir, 'items.json'))) {
    console.log('bench:http: training the benchmark model once (ml-latest-small, 10 epochs)…');
    cli([
      'data',
      'prepare',
      '--input',
      'data/ml-latest-small/ratings.csv',
      '--heldout-users',
      '50',
      '--out',
      join(root, 'ds'),
    ]);
    cli(['train', '--data', join(root, 'ds'), '--out', dir, '--epochs', '10']);
  }
  return dir;
}

/** The server's resident set, MB (Linux /proc). */
function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function start(dir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--model', dir, '--port', '0', '--threads', String(threads), '--json'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (b) => {
      out += b;
      if (out.includes('\n')) resolve((JSON.parse(out.split('\n')[0]) as { listening: string }).listening);
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}`)));
  });
  return { child, url };
}

async function main(): Promise<void> {
  const dir = model();
  const ids = (JSON.parse(readFileSync(join(dir, 'items.json'), 'utf8')) as { ids: string[] }).ids;
  const rng = new Rng(7);
  const bodies = Array.from({ length: 500 }, () => {
    const n = 5 + rng.int(46);
    const h = new Set<string>();
    while (h.size < n) h.add(ids[rng.int(ids.length)]);
    return JSON.stringify({ history: [...h], k: 20 });
  });
  const { child, url } = await start(dir);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const pid = child.pid as number;
  // Warm-up (pool workers started, JIT) before the "before" reading.
  await autocannon({
    url: `${url}/recommend`,
    connections: 4,
    amount: 200,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: bodies[0],
  });
  const before = rssMB(pid);
  // The server's RSS every SAMPLE_S seconds (default 5) while the load runs.
  const t0 = performance.now();
  const samples: Array<[number, number]> = [];
  const timer = setInterval(
    () => samples.push([(performance.now() - t0) / 1000, rssMB(pid)]),
    Number(process.env.SAMPLE_S ?? 5) * 1000,
  );
  let next = 0;
  const r = await autocannon({
    url,
    connections,
    duration,
    requests: [
      {
        method: 'POST',
        path: '/recommend',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req: Record<string, unknown>) => ({ ...req, body: bodies[next++ % bodies.length] }),
      },
    ],
  });
  clearInterval(timer);
  const after = rssMB(pid);
  const health = (await (await fetch(`${url}/health`)).json()) as { batches: { batches: number; users: number } };
  child.kill('SIGTERM');
  const code = await exited;
  console.log(
    `bench:http — POST /recommend (k=20, 5–50 ids), ${connections} connections × ${duration} s, loopback, pool of ${threads}, ${ids.length} items (shared machine: noisy)`,
  );
  console.log(`  requests     ${r.requests.total} (${r.requests.average.toFixed(0)} req/s)`);
  console.log(`  latency      p50 ${r.latency.p50} ms   p99 ${r.latency.p99} ms   max ${r.latency.max} ms`);
  console.log(`  errors       ${r.errors} (timeouts ${r.timeouts}), non-2xx ${r.non2xx}`);
  console.log(`  server RSS   ${before.toFixed(0)} MB before → ${after.toFixed(0)} MB after`);
  console.log(`  RSS samples  ${samples.map(([t, mb]) => `${t.toFixed(0)} s ${mb.toFixed(0)} MB`).join(', ')}`);
  console.log(
    `  micro-batches ${health.batches.batches}, ${(health.batches.users / Math.max(1, health.batches.batches)).toFixed(1)} users each on average`,
  );
  console.log(`  SIGTERM      exit code ${code}`);
  if (r.errors > 0 || r.non2xx > 0 || code !== 0) process.exitCode = 1;
}

await main();
