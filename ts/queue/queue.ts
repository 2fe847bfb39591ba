/**
 * Past one machine on BullMQ (Redis): the queue every `macridvae worker` takes jobs from, the job kinds
 * and their payloads (checked at the worker's edge), and waiting for a job by polling its state.
 *
 * Jobs (queue `macridvae`):
 * - `trial` `{ dataDir, fingerprint, job: TrialJob }`: train one tune trial on the worker's data copy
 *   (`dataDir` must exist there and hold the search's dataset) into `job.dir` (a path the coordinator
 *   reads: the search's output directory on storage both see); returns the `TrialOutcome`.
 * - `recommend` `{ modelDir, dataDir?, weights, input, inputBytes, lo, hi, from?, out, k, includeSeen,
 *   explain, batchSize }`: users `[lo, hi)` of the input file (JSON lines or CSV, `inputBytes` long; paths
 *   that exist on the worker; user `lo` starting at `from` = `{ offset, line }`, else read through) scored by the model (its weights' sha256 `weights`) and written to `out` whole
 *   (temporary sibling, rename; ts/queue/shards.ts); returns `{ users, bytes, unknownItems,
 *   popularityFallback }`.
 *
 * Waiting polls the job's state (`Job.fromId` + `getState`) rather than listening to events: a poll is an
 * ordinary command, which ioredis queues while Redis is away and sends after it reconnects, so a
 * coordinator outlives a Redis restart; a job Redis lost (restarted without persistence) is added again.
 */
import { Job, Queue } from 'bullmq';
import { InvalidArgumentError } from '../errors.js';

export const QUEUE_NAME = 'macridvae';

export interface QueueConnection {
  host: string;
  port: number;
  db: number;
  /** BullMQ's workers need blocking commands retried without limit. */
  maxRetriesPerRequest: null;
}

/** Parses `redis://HOST:PORT[/DB]`; errors name the argument. */
export function parseQueueUrl(fn: string, url: string): QueueConnection {
  const m = /^redis:\/\/([^:/\s]+):(\d{1,5})(?:\/(\d{1,2}))?\/?$/.exec(url);
  if (!m) {
    throw new InvalidArgumentError(`'queue' passed to ${fn}() must look like redis://HOST:PORT[/DB] but got '${url}'`);
  }
  const port = Number(m[2]);
  if (port < 1 || port > 65535) {
    throw new InvalidArgumentError(`'queue' passed to ${fn}() has port ${port}, not in 1…65535`);
  }
  return { host: m[1], port, db: m[3] === undefined ? 0 : Number(m[3]), maxRetriesPerRequest: null };
}

export function openQueue(connection: QueueConnection): Queue {
  return new Queue(QUEUE_NAME, { connection });
}

/** Retries of a job that failed by an ordinary error (a bad payload fails at once, see worker.ts). */
export const JOB_ATTEMPTS = 3;

/**
 * Adds job `id` (unless it exists) and waits until it completed (its return value) or failed for good
 * (throws an Error with BullMQ's `failedReason`). Polls every `pollMs`; a job that vanished is added again.
 */
export async function runJob<R>(
  queue: Queue,
  name: string,
  id: string,
  data: unknown,
  pollMs = 250,
  /** Stops waiting (throws) once it aborts; the job is removed unless a worker holds it. */
  signal?: AbortSignal,
): Promise<R> {
  const add = () =>
    queue.add(name, data, {
      jobId: id,
      attempts: JOB_ATTEMPTS,
      backoff: { type: 'fixed', delay: 500 },
      removeOnComplete: false,
      removeOnFail: false,
    });
  await add();
  for (;;) {
    await new Promise((r) => setTimeout(r, pollMs));
    if (signal?.aborted) {
      await queue.remove(id).catch(() => undefined);
      throw new Error(`job ${name} ${id}: no longer waited for (${String(signal.reason)})`);
    }
    const job = await Job.fromId(queue, id);
    if (!job) {
      await add();
      continue;
    }
    const state = await job.getState();
    if (state !== 'completed' && state !== 'failed') continue;
    // Read the job again: the copy above may predate its completion (no return value yet).
    const fin = (await Job.fromId(queue, id)) ?? job;
    await fin.remove().catch(() => undefined);
    if (state === 'completed') return fin.returnvalue as R;
    throw new Error(`job ${name} ${id} failed after ${fin.attemptsMade} attempt(s): ${fin.failedReason}`);
  }
}
