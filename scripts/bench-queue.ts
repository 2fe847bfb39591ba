/**
 * bench-queue.ts: the per-job overhead of the BullMQ queue (run by scripts/bench-queue against its
 * workers). Sends JOBS sequential 1-user `recommend` jobs (users [0, 1) of INPUT; the workers keep the
 * model open after the first) and times each round trip — add, a worker takes it, scores one user,
 * writes its shard file by rename, completes, the coordinator's poll sees it and reads the result —
 * with the coordinator's poll interval (250 ms, what `recommend --queue` and `tune --queue` use) and with
 * a 5 ms one (the queue's own cost); beside it the same 1-user range written in this process, the work
 * inside the job. Prints one JSON line.
 *
 * Usage: tsx scripts/bench-queue.ts redis://HOST:PORT MODEL_DIR INPUT [JOBS=20]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openQueue, parseQueueUrl, runJob } from '../ts/queue/queue.js';
import { type RangeResult, writeUserRange } from '../ts/queue/shards.js';
import { openRecommender } from '../ts/serve/service.js';

const [url, modelArg, inputArg, jobsArg] = process.argv.slice(2);
if (!url || !modelArg || !inputArg) {
  console.error('usage: tsx scripts/bench-queue.ts redis://HOST:PORT MODEL_DIR INPUT [JOBS=20]');
  process.exit(2);
}
const jobs = Number(jobsArg ?? 20);
const model = resolve(modelArg);
const input = resolve(inputArg);
const dir = mkdtempSync(join(tmpdir(), 'bench-queue-'));
const rec = await openRecommender(model);
const range = { input, lo: 0, hi: 1, k: 20, includeSeen: false, explain: false, batchSize: 256 };
const payload = (i: number) => ({
  ...range,
  modelDir: model,
  weights: rec.manifest?.weights.sha256 ?? null,
  inputBytes: statSync(input).size,
  out: join(dir, `job-${i}`),
});
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x: number) => Number(x.toFixed(1));

const local: number[] = [];
for (let i = 0; i < jobs; i++) {
  const t0 = performance.now();
  await writeUserRange(rec, { ...range, out: join(dir, `local-${i}`) });
  local.push(performance.now() - t0);
}
const queue = openQueue(parseQueueUrl('bench-queue', url));
const run = Date.now().toString(36);
const trip = async (pollMs: number) => {
  const times: number[] = [];
  // One untimed job first: the worker opens the model.
  await runJob<RangeResult>(queue, 'recommend', `bench-${run}-${pollMs}-warm`, payload(-1), pollMs);
  for (let i = 0; i < jobs; i++) {
    const t0 = performance.now();
    const r = await runJob<RangeResult>(queue, 'recommend', `bench-${run}-${pollMs}-${i}`, payload(i), pollMs);
    if (r.users !== 1) throw new Error(`job ${i} scored ${r.users} users, not 1`);
    times.push(performance.now() - t0);
  }
  return times;
};
const poll250 = await trip(250);
const poll5 = await trip(5);
await queue.close();
rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    jobs,
    inProcessMs: ms(median(local)),
    roundTripMs: { poll250: ms(median(poll250)), poll5: ms(median(poll5)) },
    overheadMs: { poll250: ms(median(poll250) - median(local)), poll5: ms(median(poll5) - median(local)) },
  }),
);
