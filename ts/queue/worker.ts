/**
 * `macridvae worker --queue redis://HOST:PORT[/DB]`: takes `trial` and `recommend` jobs (see queue.ts)
 * from the BullMQ queue and runs them on this machine's kernel pool, one at a time.
 *
 * - A payload that does not check out (a missing field, a data directory that does not exist here or
 *   holds another dataset, a model directory that cannot be opened or holds other weights, an input
 *   file of another size or that does not parse) fails its job with
 *   `UnrecoverableError` naming the field: BullMQ fails it at once, it is not retried.
 * - A worker killed mid-job (`kill -9`) stops renewing the job's lock; after `lockMs` another worker's
 *   stalled-job check (every `stalledMs`) moves the job back to the queue and it runs again there. A job
 *   that stalls more than `maxStalled` times fails.
 * - Datasets and models are loaded once per directory and kept while the worker runs (a model is opened
 *   again when the job names other weights).
 * - A recommend job writes its range to a temporary file beside its shard file and renames it at the
 *   end, so an attempt taken over from a killed worker rewrites the shard whole, with the same bytes.
 */
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Dataset } from '../data/store.js';
import { loadDataset } from '../data/store.js';
import { ParseError } from '../errors.js';
import { openRecommender, type ServingRecommender } from '../serve/service.js';
import { type BackendName, selectBackend } from '../tf/backend.js';
import { datasetFingerprint } from '../train/checkpoint.js';
import type { TrialJob } from '../tune/tune.js';
import { runTrial } from '../tune/tune.js';
import { KernelPool } from '../workers/pool.js';
import { QUEUE_NAME, type QueueConnection } from './queue.js';
import { type RangeOptions, writeUserRange } from './shards.js';

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

interface RecommendPayload extends RangeOptions {
  modelDir: string;
  dataDir?: string;
  weights: string | null;
  inputBytes: number;
}

function checkRecommendPayload(d: unknown): RecommendPayload {
  if (!isObj(d)) {
    throw bad('a recommend job needs an object { modelDir, weights, input, inputBytes, lo, hi, out, k, batchSize, … }');
  }
  const dir = (field: string) => {
    if (typeof d[field] !== 'string' || !existsSync(d[field] as string)) {
      throw bad(`'${field}' must be a directory that exists on this worker but got ${JSON.stringify(d[field])}`);
    }
  };
  dir('modelDir');
  if (d.dataDir !== undefined) dir('dataDir');
  if (d.weights !== null && typeof d.weights !== 'string') {
    throw bad(`'weights' must be the sha256 of the model's weights (or null) but got ${JSON.stringify(d.weights)}`);
  }
  if (typeof d.input !== 'string' || !existsSync(d.input)) {
    throw bad(`'input' must be a users file that exists on this worker but got ${JSON.stringify(d.input)}`);
  }
  const int = (field: string, min: number) => {
    const v = d[field];
    if (!Number.isSafeInteger(v) || (v as number) < min) {
      throw bad(`'${field}' must be an integer >= ${min} but got ${JSON.stringify(v)}`);
    }
    return v as number;
  };
  for (const [f, min] of [
    ['inputBytes', 0],
    ['lo', 0],
    ['hi', 0],
    ['k', 1],
    ['batchSize', 1],
  ] as const)
    int(f, min);
  if ((d.hi as number) < (d.lo as number)) throw bad(`'hi' (${d.hi}) must be >= 'lo' (${d.lo})`);
  const from = d.from as Record<string, unknown> | undefined;
  if (
    from !== undefined &&
    (!isObj(from) ||
      !Number.isSafeInteger(from.offset) ||
      !Number.isSafeInteger(from.line) ||
      (from.offset as number) < 0 ||
      (from.offset as number) > (d.inputBytes as number) ||
      (from.line as number) < 1)
  ) {
    throw bad(`'from' must be { offset: 0…inputBytes, line: >= 1 } but got ${JSON.stringify(from)}`);
  }
  const size = statSync(d.input).size;
  if (size !== d.inputBytes) {
    throw bad(
      `'input' ${d.input} has ${size} bytes on this worker, not the coordinator's ${d.inputBytes}: another file`,
    );
  }
  if (typeof d.out !== 'string' || !existsSync(dirname(d.out))) {
    throw bad(`'out' must be a file in a directory that exists on this worker but got ${JSON.stringify(d.out)}`);
  }
  return { ...(d as unknown as RecommendPayload), includeSeen: d.includeSeen === true, explain: d.explain === true };
}

/** Starts a worker; `close()` lets the running job finish, then disconnects. */
export async function startWorker(opts: WorkerOptions): Promise<{ close(): Promise<void>; worker: Worker }> {
  const threads = opts.threads ?? 1;
  await selectBackend(opts.backend ?? 'wasm');
  const pool = threads > 1 ? new KernelPool({ threads }) : undefined;
  const runtime = { pool, threads };
  const datasets = new Map<string, Dataset>();
  const models = new Map<string, ServingRecommender>();
  /** The model of a recommend job, opened once per (directory, dataset, batch size) and its weights. */
  const openModel = async (p: RecommendPayload): Promise<ServingRecommender> => {
    const key = JSON.stringify([p.modelDir, p.dataDir ?? null, p.batchSize]);
    const fresh = (r: ServingRecommender | undefined) =>
      r !== undefined && (p.weights === null || r.manifest?.weights.sha256 === p.weights);
    let rec = models.get(key);
    if (fresh(rec)) return rec as ServingRecommender;
    try {
      const data = p.dataDir === undefined ? undefined : await loadDataset(p.dataDir);
      rec = await openRecommender(p.modelDir, { pool, data, batchSize: p.batchSize });
    } catch (e) {
      throw bad(`'modelDir' ${p.modelDir}: ${(e as Error).message}`);
    }
    if (!fresh(rec)) {
      throw bad(
        `'modelDir' ${p.modelDir} holds other weights on this worker (sha256 ${rec.manifest?.weights.sha256}) than the coordinator's (${p.weights})`,
      );
    }
    models.set(key, rec);
    return rec;
  };

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
      const rec = await openModel(p);
      if (p.k > rec.items) throw bad(`'k' (${p.k}) must be <= the model's ${rec.items} items`);
      if (p.explain && rec.model.kind !== 'macridvae') {
        throw bad(`'explain' needs a MacridVAE model, not '${rec.model.kind}'`);
      }
      try {
        return await writeUserRange(rec, p);
      } catch (e) {
        // The input does not parse, or holds fewer users than the range: the same on every attempt.
        if (e instanceof ParseError) throw bad(`'input' ${e.message}`);
        throw e;
      }
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
      await pool?.close();
    },
  };
}
