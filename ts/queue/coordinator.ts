/**
 * The coordinator's side of the queue (see queue.ts): `QueueTrialExecutor` runs tune's trials as `trial`
 * jobs (`tune --queue URL --parallel N`: N jobs outstanding, TPE counting the running ones as in a local
 * parallel search), and `recommendSharded` scores users in ranges, one `recommend` job per range, writes
 * each range's output as it arrives and merges them, in user order, into the final file atomically.
 *
 * Job ids carry a random run id and the trial / shard index, so a job is added once per run; a trial
 * whose job fails for good (bad payload, or retries exhausted) is recorded as a failed trial.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Queue } from 'bullmq';
import type { EpochRecord } from '../train/trainer.js';
import { failedOutcome, type TrialExecutor, type TrialJob, type TrialOutcome } from '../tune/tune.js';
import { writeFileAtomicSync } from '../util/fs.js';
import { checkInt } from '../validate.js';
import { openQueue, type QueueConnection, runJob } from './queue.js';
import type { RecommendJobResult } from './worker.js';

export interface QueueExecutorOptions {
  connection: QueueConnection;
  /** Jobs outstanding at once (the number of workers you run). */
  slots: number;
  /** The dataset directory as the workers see it. */
  dataDir: string;
  fingerprint: string;
}

export class QueueTrialExecutor implements TrialExecutor {
  readonly slots: number;
  private readonly queue: Queue;
  private readonly runId = randomBytes(4).toString('hex');
  constructor(private readonly opts: QueueExecutorOptions) {
    this.slots = checkInt('QueueTrialExecutor', 'slots', opts.slots, 1, 10000);
    this.queue = openQueue(opts.connection);
    this.queue.on('error', () => undefined);
  }

  async run(job: TrialJob, _onEpoch?: (e: EpochRecord) => void): Promise<TrialOutcome> {
    const t0 = performance.now();
    try {
      return await runJob<TrialOutcome>(this.queue, 'trial', `tune-${this.runId}-${job.trial}`, {
        dataDir: resolve(this.opts.dataDir),
        fingerprint: this.opts.fingerprint,
        job,
      });
    } catch (e) {
      return failedOutcome(e, (performance.now() - t0) / 1000);
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

export interface ShardedRecommendOptions {
  connection: QueueConnection;
  modelDir: string;
  users: number[][];
  k: number;
  includeSeen?: boolean;
  explain?: boolean;
  shards: number;
  /** Final file; shard outputs go to `<out>.shards/` until the merge. */
  out: string;
  /** One output line per user (the user's index in `users` and the job's result for it). */
  format: (u: number, r: RecommendJobResult) => string;
  onShard?: (shard: number, users: number, seconds: number) => void;
}

/** `n` contiguous ranges `[lo, hi)` of `users`, as even as possible. */
export function shardRanges(users: number, n: number): Array<[number, number]> {
  return Array.from({ length: n }, (_, p) => [Math.floor((p * users) / n), Math.floor(((p + 1) * users) / n)]);
}

/**
 * Scores `users` in `shards` ranges on the queue's workers; each range's lines are written to
 * `<out>.shards/shard-<i>.jsonl` when its job completes (and checked to hold one line per user), then the
 * shards are concatenated in order into `<out>` (temp file, then rename) and the shard folder removed.
 */
export async function recommendSharded(o: ShardedRecommendOptions): Promise<{ users: number; shards: number }> {
  const fn = 'recommendSharded';
  const shards = checkInt(fn, 'shards', o.shards, 1, Math.max(1, o.users.length));
  const queue = openQueue(o.connection);
  queue.on('error', () => undefined);
  const run = randomBytes(4).toString('hex');
  const dir = `${o.out}.shards`;
  mkdirSync(dir, { recursive: true });
  const ranges = shardRanges(o.users.length, shards);
  try {
    await Promise.all(
      ranges.map(async ([lo, hi], i) => {
        const t0 = performance.now();
        const res = await runJob<RecommendJobResult[]>(queue, 'recommend', `rec-${run}-${i}`, {
          modelDir: resolve(o.modelDir),
          k: o.k,
          includeSeen: o.includeSeen ?? false,
          explain: o.explain ?? false,
          users: o.users.slice(lo, hi),
        });
        if (!Array.isArray(res) || res.length !== hi - lo) {
          throw new Error(
            `shard ${i}: expected ${hi - lo} users but the job returned ${Array.isArray(res) ? res.length : typeof res}`,
          );
        }
        const text = res.map((r, j) => `${o.format(lo + j, r)}\n`).join('');
        writeFileAtomicSync(join(dir, `shard-${i}.jsonl`), text);
        o.onShard?.(i, hi - lo, (performance.now() - t0) / 1000);
      }),
    );
    const merged = ranges.map((_, i) => readFileSync(join(dir, `shard-${i}.jsonl`), 'utf8')).join('');
    writeFileAtomicSync(o.out, merged);
    rmSync(dir, { recursive: true, force: true });
    return { users: o.users.length, shards };
  } finally {
    await queue.close();
  }
}
