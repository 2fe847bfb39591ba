/**
 * The coordinator's side of the queue (see queue.ts): `QueueTrialExecutor` runs tune's trials as `trial`
 * jobs (`tune --queue URL --parallel N`: N jobs outstanding, TPE counting the running ones as in a local
 * parallel search), and `recommendSharded` scores an input file's users in ranges, one `recommend` job
 * per range (each worker writes its range's file), and merges them, in user order, into the final file
 * atomically (ts/queue/shards.ts).
 *
 * Job ids carry a random run id and the trial / shard index, so a job is added once per run; a trial
 * whose job fails for good (bad payload, or retries exhausted) is recorded as a failed trial.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Queue } from 'bullmq';
import { loadDataset } from '../data/store.js';
import { openRecommender, type ServingRecommender } from '../serve/service.js';
import type { EpochRecord } from '../train/trainer.js';
import { failedOutcome, type TrialExecutor, type TrialJob, type TrialOutcome } from '../tune/tune.js';
import { withFileErrors } from '../util/fs.js';
import { checkInt } from '../validate.js';
import { openQueue, type QueueConnection, runJob } from './queue.js';
import { INPUT_START, mergeShards, type RangeResult, scanUsers, shardRanges } from './shards.js';

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
  /** The model directory (a path that exists on the workers). */
  modelDir: string;
  /** The model's dataset directory, for model directories without `items.json` (as the workers see it). */
  dataDir?: string;
  /** JSON lines or CSV of users (see `readUsers`), at a path that exists on the workers. */
  input: string;
  /** The final file: one JSON line per user in input order, the bytes of one-process `recommend --output`. */
  output: string;
  shards: number;
  k: number;
  includeSeen?: boolean;
  explain?: boolean;
  /** Users per kernel call on the workers. Default 256. */
  batchSize?: number;
  /** The model opened here (to count the input's users by its header rule); opened from `modelDir` if absent. */
  rec?: ServingRecommender;
  onShard?: (shard: number, r: RangeResult & { seconds: number }) => void;
}

export interface ShardedRecommendResult {
  output: string;
  users: number;
  shards: number;
  unknownItems: number;
  popularityFallback: number;
  /** Reading the input once here (counting users, finding where each range starts). */
  scanSeconds: number;
  /** Concatenating the shard files into the output. */
  mergeSeconds: number;
}

/**
 * Scores the users of `input` in `shards` contiguous ranges, one `recommend` job per range: each worker
 * writes its range to `.<output>.<run>.shard-<i>` beside the output (whole, by rename); when all are
 * done they are concatenated in order into `output` (temporary file, then rename) and removed, with
 * what killed workers left behind. A job that fails for good (bad payload, retries spent) fails the run
 * and removes this run's shard files; `output` is untouched then.
 */
export async function recommendSharded(o: ShardedRecommendOptions): Promise<ShardedRecommendResult> {
  const fn = 'recommendSharded';
  const output = resolve(o.output);
  const input = resolve(o.input);
  const modelDir = resolve(o.modelDir);
  const dataDir = o.dataDir === undefined ? undefined : resolve(o.dataDir);
  const batchSize = checkInt(fn, 'batchSize', o.batchSize ?? 256, 1);
  checkInt(fn, 'k', o.k, 1);
  const rec =
    o.rec ??
    (await openRecommender(modelDir, { data: dataDir === undefined ? undefined : await loadDataset(dataDir) }));
  const inputBytes = withFileErrors('read', input, () => statSync(input).size);
  const t0 = performance.now();
  const { users, offsets, lines } = await scanUsers(rec, input);
  const scanSeconds = (performance.now() - t0) / 1000;
  const shards = checkInt(fn, 'shards', o.shards, 1, Math.max(1, users));
  const run = randomBytes(4).toString('hex');
  const shardBase = `.${basename(output)}.${run}.shard-`;
  const shardPath = (i: number) => join(dirname(output), `${shardBase}${i}`);
  const ranges = shardRanges(users, shards);
  const queue = openQueue(o.connection);
  queue.on('error', () => undefined);
  const total = { unknownItems: 0, popularityFallback: 0 };
  // The first shard that fails for good stops the others (their jobs are removed unless running).
  const failed = new AbortController();
  try {
    await Promise.all(
      ranges.map(async ([lo, hi], i) => {
        const t0 = performance.now();
        const job = {
          modelDir,
          ...(dataDir === undefined ? {} : { dataDir }),
          weights: rec.manifest?.weights.sha256 ?? null,
          input,
          inputBytes,
          lo,
          hi,
          from: lo < users ? { offset: offsets[lo], line: lines[lo] } : INPUT_START,
          out: shardPath(i),
          k: o.k,
          includeSeen: o.includeSeen ?? false,
          explain: o.explain ?? false,
          batchSize,
        };
        let r: RangeResult;
        try {
          r = await runJob<RangeResult>(queue, 'recommend', `rec-${run}-${i}`, job, 250, failed.signal);
        } catch (e) {
          failed.abort(`shard ${i} failed`);
          throw new Error(`shard ${i} (users ${lo}…${hi - 1} of ${input}): ${(e as Error).message}`, { cause: e });
        }
        total.unknownItems += r.unknownItems;
        total.popularityFallback += r.popularityFallback;
        o.onShard?.(i, { ...r, seconds: (performance.now() - t0) / 1000 });
      }),
    );
    const t1 = performance.now();
    mergeShards(
      ranges.map(([lo, hi], i) => ({ path: shardPath(i), users: hi - lo })),
      output,
    );
    const mergeSeconds = (performance.now() - t1) / 1000;
    return { output: o.output, users, shards, ...total, scanSeconds, mergeSeconds };
  } finally {
    await queue.close();
    // This run's shard files, and the temporaries of attempts whose worker was killed.
    for (const name of readdirSync(dirname(output))) {
      if (name.startsWith(shardBase) || name.startsWith(`.${shardBase}`)) {
        rmSync(join(dirname(output), name), { force: true });
      }
    }
  }
}
