/**
 * Past one machine on a real redis-server (started here on a free port; the test fails if it cannot
 * start): `tune --queue` with a coordinator and 2 worker processes, one killed with -9 in the middle of
 * a trial (its job is taken over by the other: every trial once) and Redis restarted mid-run (the
 * coordinator reconnects and finishes); `recommend --queue --shards` with 2 worker processes, one killed
 * with -9 in the middle of a shard (taken over, the merged output byte for byte the one-process output);
 * a bad payload failed at once with a clear error.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import test from 'ava';
import { openQueue, parseQueueUrl, runJob } from '../../ts/queue/queue.js';
import { fileLines, INPUT_START, scanUsers, usersOf } from '../../ts/queue/shards.js';
import type { ServingRecommender } from '../../ts/serve/service.js';
import type { StreamUser } from '../../ts/serve/stream.js';
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

test.serial(
  'recommend --queue --shards: 2 workers, one killed -9 mid-shard; the merged output has the bytes of one process',
  async (t) => {
    const model = join(root, 'model');
    const trained = cli(['train', '--data', data, '--out', model, '--epochs', '2', '--threads', '1', '--json']);
    t.is(trained.code, 0, trained.stderr);
    // 1,800 users: the tiny preset's 300 six times under other names; a few with an unknown id, a few
    // unnamed (named by their line), one with no known item (the popularity fallback), blank lines.
    const byUser = new Map<string, string[]>();
    for (const line of readFileSync(join(raw, 'ratings.csv'), 'utf8').trim().split('\n').slice(1)) {
      const [u, i] = line.split(',');
      byUser.set(u, [...(byUser.get(u) ?? []), i]);
    }
    const lines: string[] = [];
    for (let rep = 0; rep < 6; rep++) {
      for (const [u, items] of byUser) {
        const n = lines.length;
        if (n % 97 === 0) lines.push(JSON.stringify({ items }));
        else if (n % 89 === 0) lines.push(JSON.stringify({ user: `r${rep}-${u}`, items: ['no-such-item'] }));
        else lines.push(JSON.stringify({ user: `r${rep}-${u}`, items: n % 7 === 0 ? [...items, `x${n}`] : items }));
        if (n % 500 === 0) lines.push('');
      }
    }
    const outDir = mkdtempSync(join(root, 'recs-'));
    const input = join(outDir, 'users.jsonl');
    writeFileSync(input, `${lines.join('\n')}\n`);
    const common = ['recommend', '--model', model, '--input', input, '--k', '20', '--explain'];
    const one = cli([...common, '--output', join(outDir, 'one.jsonl'), '--json']);
    t.is(one.code, 0, one.stderr);

    const a = worker();
    const b = worker();
    await until('both workers ready', () => [a, b].every((w) => w.log.some((e) => e.state === 'ready')));
    const sharded = join(outDir, 'sharded.jsonl');
    const coord = spawn(
      process.execPath,
      [BIN, ...common, '--output', sharded, '--queue', redis.url, '--shards', '3', '--batch-size', '100', '--json'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let stdout = '';
    coord.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const exited = new Promise<number | null>((r) => coord.once('exit', (c) => r(c)));
    await until('worker a to start a shard', () => a.log.some((e) => e.state === 'active' && e.name === 'recommend'));
    a.p.kill('SIGKILL');
    const killedJob = a.log.find((e) => e.state === 'active')?.id as string;
    t.is(await exited, 0, stdout);
    t.false(
      a.log.some((e) => e.state === 'completed'),
      'worker a finished its shard before the kill',
    );
    t.true(
      b.log.some((e) => e.state === 'completed' && e.id === killedJob),
      `job ${killedJob} not taken over`,
    );
    const summary = JSON.parse(stdout.trim().split('\n').pop() as string);
    t.like(summary, { users: 1800, shards: 3 });
    t.true(summary.popularityFallback > 0 && summary.unknownItems > 0, stdout);
    // Byte for byte the one-process output; nothing left beside it (shard files, killed attempts' temporaries).
    t.true(readFileSync(sharded).equals(readFileSync(join(outDir, 'one.jsonl'))), 'sharded output differs');
    t.deepEqual(readdirSync(outDir).sort(), ['one.jsonl', 'sharded.jsonl', 'users.jsonl']);
    b.p.kill('SIGTERM');
  },
);

test("a range read from its first user's position holds the users of a whole read (CSV, JSON lines)", async (t) => {
  // Item ids are numbers here (the header rule asks the model); \n, \r\n and lone \r endings, blank lines,
  // multibyte text, and a \r\n split across the reader's 64 KiB chunks.
  const rec = { columnOf: (id: string) => (/^\d+$/.test(id) ? 0 : undefined) } as unknown as ServingRecommender;
  const eol = ['\n', '\r\n', '\r'];
  let csv = 'user,item\r\n';
  let jsonl = '';
  for (let u = 0; u < 3000; u++) {
    for (let j = 0; j <= u % 4; j++) csv += `ü${u}€,${u * 7 + j}${eol[(u + j) % 3]}${u % 13 === 0 ? '\n' : ''}`;
    // Blank lines up to where user 'x''s line ends with \r at byte 65,535 and \n at 65,536.
    if (u === 1500) csv += `${'\n'.repeat(65_535 - 3 - Buffer.byteLength(csv))}x,1\r\n`;
    jsonl += `${JSON.stringify(u % 3 === 0 ? { items: ['1', `ß${u}`] } : { user: `€${u}`, items: [String(u)] })}${eol[u % 3]}`;
  }
  t.is(Buffer.from(csv).subarray(65_532, 65_537).toString(), 'x,1\r\n');
  for (const [name, text] of [
    ['users.csv', csv],
    ['users.jsonl', jsonl],
  ]) {
    const path = join(root, name);
    writeFileSync(path, text);
    // Split as readline splits (the one-process reader), so line numbers are the same.
    const lines: string[] = [];
    for await (const l of fileLines(path, INPUT_START)) lines.push(l);
    const byReadline: string[] = [];
    const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const l of rl) byReadline.push(l);
    t.deepEqual(lines, byReadline, name);
    const all: StreamUser[] = [];
    for await (const u of usersOf(rec, path)) all.push(u);
    const scan = await scanUsers(rec, path);
    t.is(scan.users, all.length);
    for (const lo of [0, 1, 13, 14, 1500, 1501, 2999]) {
      const got: StreamUser[] = [];
      for await (const u of usersOf(rec, path, { offset: scan.offsets[lo], line: scan.lines[lo] })) {
        got.push(u);
        if (got.length === 3) break;
      }
      t.deepEqual(got, all.slice(lo, lo + 3), `${name}: from user ${lo}`);
    }
  }
  // The scan finds what the reader refuses: a CSV user seen again after others, with the same message.
  const again = join(root, 'again.csv');
  writeFileSync(again, 'a,1\na,2\n\nb,3\n a ,4\n');
  const whole = async () => {
    for await (const _ of usersOf(rec, again));
  };
  const error = await t.throwsAsync(whole());
  await t.throwsAsync(scanUsers(rec, again), { message: error?.message });
  t.regex(error?.message ?? '', /again\.csv:5: user 'a' appears again after other users/);
});

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
    await t.throwsAsync(
      runJob(queue, 'recommend', 'bad-3', { modelDir: root, weights: null, input: join(root, 'nowhere.jsonl') }),
      {
        message:
          /failed after 1 attempt\(s\): bad job payload: 'input' must be a users file that exists on this worker/,
      },
    );
  } finally {
    await queue.close();
    w.p.kill('SIGTERM');
  }
});
