/**
 * `macridvae worker --queue redis://HOST:PORT[/DB]`: takes `trial` and `recommend` jobs (see queue.ts)
 * from the BullMQ queue and runs them on this machine's kernel pool, one at a time.
 *
 * - A payload that does not check out (a missing field, a data directory that does not exist here or
 *   holds another dataset, a model directory that cannot be opened) fails its job with
 *   `UnrecoverableError` naming the field: BullMQ fails it at once, it is not retried.
 * - A worker killed mid-job (`kill -9`) stops renewing the job's lock; after `lockMs` another worker's
 *   stalled-job check (every `stalledMs`) moves the job back to the queue and it runs again there. A job
 *   that stalls more than `maxStalled` times fails.
 * - Datasets and models are loaded once per directory and kept while the worker runs.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { basename } from 'node:path';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Dataset } from '../data/store.js';
import { loadDataset } from '../data/store.js';
import { Recommender } from '../serve/recommender.js';
import { type BackendName, selectBackend } from '../tf/backend.js';
import { datasetFingerprint } from '../train/checkpoint.js';
import type { TrialJob } from '../tune/tune.js';
import { runTrial } from '../tune/tune.js';
import { KernelPool } from '../workers/pool.js';
import { QUEUE_NAME, type QueueConnection } from './queue.js';

export interface WorkerOptions {
  connection: QueueConnection;
  /** Kernel pool threads (default 1). */
  threads?: number;
  backend?: BackendName;
  /** BullMQ lock duration: a job whose worker stopped renewing it for this long is stalled. Default 30000. */
  lockMs?: number;
  /** How often this worker looks for stalled jobs. Default 30000. */
  stalledMs?: number;
  /** Times a job may stall before it fails. Default 3. */
  maxStalled?: number;
  /** Called when a job starts and ends (for logs). */
  onJob?: (e: { id: string; name: string; state: 'active' | 'completed' | 'failed'; error?: string }) => void;
}

export interface RecommendJobResult {
  items: number[];
  scores: number[];
  concepts?: number[];
  shares?: number[];
  userConcepts?: number[];
}

const bad = (msg: string) => new UnrecoverableError(`bad job payload: ${msg}`);
const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function checkTrialPayload(d: unknown): { dataDir: string; fingerprint: string; job: TrialJob } {
  if (!isObj(d)) throw bad('a trial job needs an object { dataDir, fingerprint, job }');
  if (typeof d.dataDir !== 'string' || !existsSync(d.dataDir)) {
    throw bad(`'dataDir' must be a dataset directory that exists on this worker but got ${JSON.stringify(d.dataDir)}`);
  }
  if (typeof d.fingerprint !== 'string')
    throw bad(`'fingerprint' must be a string but got ${JSON.stringify(d.fingerprint)}`);
  const j = d.job;
  if (!isObj(j) || !Number.isSafeInteger(j.trial) || !isObj(j.point) || !isObj(j.model) || !isObj(j.train)) {
    throw bad(`'job' must be { trial, point, model, train, dir } but got ${JSON.stringify(j)?.slice(0, 200)}`);
  }
  if (j.dir !== undefined && (typeof j.dir !== 'string' || !/^trial-\d+-[0-9a-f]+$/.test(basename(j.dir)))) {
    throw bad(`'job.dir' must be a trial directory (…/trial-<t>-<run>) but got ${JSON.stringify(j.dir)}`);
  }
  return { dataDir: d.dataDir, fingerprint: d.fingerprint, job: j as unknown as TrialJob };
}

function checkRecommendPayload(d: unknown) {
  if (!isObj(d)) throw bad('a recommend job needs an object { modelDir, k, includeSeen, explain, users }');
  if (typeof d.modelDir !== 'string' || !existsSync(d.modelDir)) {
    throw bad(`'modelDir' must be a model directory that exists on this worker but got ${JSON.stringify(d.modelDir)}`);
  }
  if (!Number.isSafeInteger(d.k) || (d.k as number) < 1)
    throw bad(`'k' must be an integer >= 1 but got ${JSON.stringify(d.k)}`);
  if (
    !Array.isArray(d.users) ||
    !d.users.every((u) => Array.isArray(u) && u.every((c) => Number.isSafeInteger(c) && c >= 0))
  ) {
    throw bad(`'users' must be an array of item-column arrays`);
  }
  return {
    modelDir: d.modelDir,
    k: d.k as number,
    includeSeen: d.includeSeen === true,
    explain: d.explain === true,
    users: d.users as number[][],
  };
}

/** Starts a worker; `close()` lets the running job finish, then disconnects. */
export async function startWorker(opts: WorkerOptions): Promise<{ close(): Promise<void>; worker: Worker }> {
  const threads = opts.threads ?? 1;
  await selectBackend(opts.backend ?? 'wasm');
  const pool = threads > 1 ? new KernelPool({ threads }) : undefined;
  const runtime = { pool, threads };
  const datasets = new Map<string, Dataset>();
  const models = new Map<string, Recommender>();

  const handle = async (job: Job) => {
    if (job.name === 'trial') {
      const p = checkTrialPayload(job.data);
      let data = datasets.get(p.dataDir);
      if (!data) {
        try {
          data = await loadDataset(p.dataDir);
        } catch (e) {
          throw bad(`'dataDir' ${p.dataDir}: ${(e as Error).message}`);
        }
        datasets.set(p.dataDir, data);
      }
      const fp = datasetFingerprint(data);
      if (fp !== p.fingerprint) {
        throw bad(
          `'dataDir' ${p.dataDir} holds another dataset (fingerprint ${fp}) than the search (${p.fingerprint})`,
        );
      }
      // Train into a directory of this attempt, renamed into place at the end: if BullMQ ever hands the
      // job to a second worker while this one still runs (a lock lost under load), they do not share files.
      const dir = p.job.dir;
      const tmp = dir === undefined ? undefined : `${dir}.attempt-${process.pid}-${job.attemptsStarted}`;
      const { model, ...outcome } = await runTrial({ ...p.job, ...(tmp ? { dir: tmp } : {}) }, data, runtime);
      model?.dispose();
      if (dir !== undefined && tmp !== undefined && existsSync(tmp)) {
        rmSync(dir, { recursive: true, force: true });
        renameSync(tmp, dir);
      }
      return outcome;
    }
    if (job.name === 'recommend') {
      const p = checkRecommendPayload(job.data);
      let rec = models.get(p.modelDir);
      if (!rec) {
        try {
          rec = await Recommender.open(p.modelDir, { runtime });
        } catch (e) {
          throw bad(`'modelDir' ${p.modelDir}: ${(e as Error).message}`);
        }
        models.set(p.modelDir, rec);
      }
      const tooBig = p.users.find((u) => u.some((c) => c >= (rec as Recommender).items));
      if (tooBig) throw bad(`'users' has an item column >= the model's ${rec.items} items`);
      const out = await rec.recommend(p.users, { k: p.k, includeSeen: p.includeSeen, explain: p.explain });
      return out.map(
        (r): RecommendJobResult => ({
          items: [...r.items],
          scores: [...r.scores],
          ...(r.concepts ? { concepts: [...r.concepts], shares: [...(r.shares ?? [])] } : {}),
          ...(r.userConcepts ? { userConcepts: [...r.userConcepts] } : {}),
        }),
      );
    }
    throw bad(`unknown job name '${job.name}' (one of trial, recommend)`);
  };

  const worker = new Worker(QUEUE_NAME, handle, {
    connection: opts.connection,
    concurrency: 1,
    lockDuration: opts.lockMs ?? 30000,
    stalledInterval: opts.stalledMs ?? 30000,
    maxStalledCount: opts.maxStalled ?? 3,
  });
  worker.on('active', (j) => opts.onJob?.({ id: String(j.id), name: j.name, state: 'active' }));
  worker.on('completed', (j) => opts.onJob?.({ id: String(j.id), name: j.name, state: 'completed' }));
  worker.on('failed', (j, e) =>
    opts.onJob?.({ id: String(j?.id), name: j?.name ?? '?', state: 'failed', error: e.message }),
  );
  // Connection errors are retried by ioredis; without a listener they would be unhandled.
  worker.on('error', () => undefined);
  await worker.waitUntilReady();
  return {
    worker,
    async close() {
      await worker.close();
      for (const r of models.values()) r.dispose();
      await pool?.close();
    },
  };
}
