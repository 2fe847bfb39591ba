/**
 * bench-stream: `macridvae recommend --input users.jsonl --output recs.jsonl` on USERS users (default
 * 1,000,000), to show that streaming keeps memory flat whatever the input's size: prints users/s and
 * the CLI process's peak RSS (VmHWM) and its RSS sampled every SAMPLE_S seconds (from /proc: Linux),
 * for USERS/10 and for USERS (the peak should not grow).
 *
 * The model is a MacridVAE (K = 7, d = 64) over ITEMS items (default 2,000) trained for one epoch on
 * seeded synthetic clicks (the cost per user is `2·K·d·M` FLOP whatever the weights; a larger catalogue
 * only scales users/s down, see bench:serve); each input user has 5–30 random item ids, 1% of them
 * unknown. Files live in .tmp/bench-stream (the input is reused between runs).
 *
 * Usage: npm run bench:stream   (env: USERS, ITEMS, THREADS default all cores, SAMPLE_S default 5)
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { csrFromRows } from '../ts/csr.js';
import { resolveModelConfig } from '../ts/models/config.js';
import { selectBackend } from '../ts/tf/backend.js';
import { trainModel } from '../ts/train/trainer.js';
import { Rng } from '../ts/util/rng.js';

const users = Number(process.env.USERS ?? 1_000_000);
const items = Number(process.env.ITEMS ?? 2000);
const threads = Number(process.env.THREADS ?? availableParallelism());
const root = '.tmp/bench-stream';

async function trainSmall(dir: string): Promise<void> {
  await selectBackend('wasm');
  const rng = new Rng(1);
  const rows = (n: number) =>
    Array.from({ length: n }, () => {
      const s = new Set<number>();
      while (s.size < 10) s.add(rng.int(items));
      return [...s].sort((a, b) => a - b);
    });
  const held = () => ({ foldIn: csrFromRows(rows(20), items), target: csrFromRows(rows(20), items) });
  const data = { items, train: csrFromRows(rows(400), items), validation: held(), test: held() };
  const r = await trainModel({
    model: resolveModelConfig('macridvae', { concepts: 7, d: 64 }),
    train: { epochs: 1, batchSize: 200, seed: 1 },
    data,
    out: dir,
  });
  r.model.dispose();
}

async function writeUsers(path: string, n: number): Promise<void> {
  if (existsSync(path)) return;
  const rng = new Rng(n);
  const out = createWriteStream(path);
  for (let u = 0; u < n; u++) {
    const len = 5 + rng.int(26);
    const ids: string[] = [];
    for (let j = 0; j < len; j++) ids.push(rng.next() < 0.01 ? `x${rng.int(1000)}` : String(rng.int(items)));
    if (!out.write(`${JSON.stringify({ user: `u${u}`, items: ids })}\n`)) {
      await new Promise<void>((r) => out.once('drain', () => r()));
    }
  }
  await new Promise<void>((r) => out.end(r));
}

/** VmRSS and VmHWM (peak) of a process in MB, from /proc (Linux); undefined once it has exited. */
function memory(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** Runs the CLI, sampling its RSS every SAMPLE_S seconds (default 5). */
async function run(
  input: string,
  output: string,
): Promise<{ seconds: number; peakMB: number; samples: Array<[number, number]>; summary: Record<string, number> }> {
  const every = Number(process.env.SAMPLE_S ?? 5) * 1000;
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [
      'dist/cli/main.js',
      'recommend',
      '--model',
      join(root, 'model'),
      '--input',
      input,
      '--output',
      output,
      '--k',
      '10',
      '--threads',
      String(threads),
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b) => {
    stdout += b;
  });
  child.stderr.on('data', (b) => {
    stderr += b;
  });
  const samples: Array<[number, number]> = [];
  let peakMB = 0;
  const sample = () => {
    const m = child.pid === undefined ? undefined : memory(child.pid);
    if (m && Number.isFinite(m.rss)) {
      samples.push([(performance.now() - t0) / 1000, m.rss]);
      peakMB = Math.max(peakMB, m.peak);
    }
  };
  const timer = setInterval(sample, every);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(timer);
  if (code !== 0) throw new Error(`recommend failed (${code}): ${stderr}`);
  return { seconds: (performance.now() - t0) / 1000, peakMB, samples, summary: JSON.parse(stdout) };
}

async function main(): Promise<void> {
  mkdirSync(root, { recursive: true });
  if (!existsSync(join(root, 'model', 'items.json'))) await trainSmall(join(root, 'model'));
  console.log(
    `bench:stream — recommend --input users.jsonl --output recs.jsonl, MacridVAE K=7 d=64 over ${items} items, k=10, ${threads} threads (shared machine)`,
  );
  for (const n of [Math.max(1, Math.floor(users / 10)), users]) {
    const input = join(root, `users-${n}.jsonl`);
    await writeUsers(input, n);
    const output = join(root, 'recs.jsonl');
    const r = await run(input, output);
    console.log(
      `  ${String(n).padStart(9)} users  input ${(statSync(input).size / 1e6).toFixed(0).padStart(4)} MB  output ${(statSync(output).size / 1e6).toFixed(0).padStart(4)} MB  ${r.seconds.toFixed(0).padStart(5)} s  ${(n / r.seconds).toFixed(0).padStart(6)} users/s  peak RSS ${r.peakMB.toFixed(0)} MB (VmHWM)`,
    );
    // RSS over the run: about ten samples, evenly spaced.
    const step = Math.max(1, Math.ceil(r.samples.length / 10));
    const shown = r.samples.filter((_, j) => j % step === 0 || j === r.samples.length - 1);
    console.log(
      `             RSS over time: ${shown.map(([t, mb]) => `${t.toFixed(0)} s ${mb.toFixed(0)} MB`).join(', ')}`,
    );
    rmSync(output, { force: true });
  }
}

await main();
