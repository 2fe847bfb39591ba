/**
 * `tune --parallel N`: trials in N child processes at once (`ProcessTrialExecutor`). Each child
 * (`trial-worker.ts`) loads the dataset from its directory once — refusing one whose fingerprint differs
 * from the coordinator's — and then trains the trials it is sent with `runTrial`, writing each model
 * directory where the coordinator says; epochs and the outcome come back over the IPC channel.
 *
 * A child that dies during a trial (killed, out of memory) fails that trial with the exit code or signal
 * in its error and is replaced for the next one. A child that cannot start (bad data directory, other
 * dataset) rejects `run`, which ends the search. Children exit when the coordinator's channel closes, so
 * a killed coordinator leaves no trainers behind; `tune --resume` then re-runs the trials that were
 * running (see tune.ts).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EpochRecord } from '../train/trainer.js';
import { checkInt } from '../validate.js';
import { failedOutcome, type TrialExecutor, type TrialJob, type TrialOutcome } from './tune.js';

export interface ProcessExecutorOptions {
  /** Child processes, i.e. trials at once (>= 1). */
  processes: number;
  /** The dataset directory (`prepare`'s output) every child loads. */
  dataDir: string;
  /** `datasetFingerprint` of the data the search was set up with; a child with other data refuses to run. */
  fingerprint: string;
  /** Worker threads of each child's kernel pool (default 1: the cores go to the processes). */
  threads?: number;
  /** TensorFlow.js backend each child selects (default 'wasm'). */
  backend?: string;
}

/** Messages from the coordinator to a child. */
export type ToWorker =
  | { type: 'init'; dataDir: string; fingerprint: string; threads: number; backend: string }
  | { type: 'run'; job: TrialJob };
/** Messages from a child to the coordinator. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'init-error'; error: string }
  | { type: 'epoch'; record: EpochRecord }
  | { type: 'done'; outcome: TrialOutcome };

/** The child entry next to this file: `trial-worker.ts` under tsx, `trial-worker.js` in the built package. */
function workerEntry(): { file: string; execArgv: string[] } {
  const ext = extname(fileURLToPath(import.meta.url));
  const file = fileURLToPath(new URL(`./trial-worker${ext}`, import.meta.url));
  const execArgv = [...process.execArgv];
  if (ext === '.ts' && !execArgv.some((a) => a.includes('tsx'))) execArgv.push('--import', 'tsx');
  return { file, execArgv };
}

interface Child {
  proc: ChildProcess;
  ready: Promise<void>;
}

export class ProcessTrialExecutor implements TrialExecutor {
  readonly slots: number;
  private readonly opts: Required<ProcessExecutorOptions>;
  private readonly idle: Child[] = [];
  private readonly live = new Set<ChildProcess>();
  private closed = false;

  constructor(opts: ProcessExecutorOptions) {
    const fn = 'ProcessTrialExecutor';
    this.slots = checkInt(fn, 'processes', opts.processes, 1, 256);
    this.opts = {
      threads: checkInt(fn, 'threads', opts.threads ?? 1, 1, 256),
      backend: opts.backend ?? 'wasm',
      processes: this.slots,
      dataDir: opts.dataDir,
      fingerprint: opts.fingerprint,
    };
  }

  private spawn(): Child {
    const { file, execArgv } = workerEntry();
    const proc = fork(file, [], { execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.live.add(proc);
    proc.once('exit', () => this.live.delete(proc));
    const ready = new Promise<void>((resolve, reject) => {
      const onMsg = (m: FromWorker) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'init-error') reject(new Error(m.error));
        else return;
        proc.off('message', onMsg);
        proc.off('exit', onExit);
      };
      const onExit = (code: number | null, signal: string | null) =>
        reject(new Error(`tune worker process exited while starting (${signal ?? `code ${code}`})`));
      proc.on('message', onMsg);
      proc.once('exit', onExit);
    });
    ready.catch(() => undefined);
    const { dataDir, fingerprint, threads, backend } = this.opts;
    proc.send({ type: 'init', dataDir, fingerprint, threads, backend } satisfies ToWorker);
    return { proc, ready };
  }

  async run(job: TrialJob, onEpoch?: (e: EpochRecord) => void): Promise<TrialOutcome> {
    if (this.closed) throw new Error('ProcessTrialExecutor: run() after close()');
    const child = this.idle.pop() ?? this.spawn();
    try {
      await child.ready;
    } catch (e) {
      child.proc.kill('SIGKILL');
      throw e;
    }
    const t0 = performance.now();
    const outcome = await new Promise<TrialOutcome | undefined>((resolve) => {
      const onMsg = (m: FromWorker) => {
        if (m.type === 'epoch') onEpoch?.(m.record);
        else if (m.type === 'done') {
          cleanup();
          resolve(m.outcome);
        }
      };
      const onExit = (code: number | null, signal: string | null) => {
        cleanup();
        const s = (performance.now() - t0) / 1000;
        resolve(failedOutcome(`tune worker process exited during trial ${job.trial} (${signal ?? `code ${code}`})`, s));
      };
      const cleanup = () => {
        child.proc.off('message', onMsg);
        child.proc.off('exit', onExit);
      };
      child.proc.on('message', onMsg);
      child.proc.once('exit', onExit);
      child.proc.send({ type: 'run', job } satisfies ToWorker);
    });
    const result = outcome as TrialOutcome;
    if (child.proc.exitCode === null && child.proc.signalCode === null && !this.closed) this.idle.push(child);
    return result;
  }

  /** Ends every child (SIGTERM) and waits for them to exit. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.live];
    await Promise.all(
      all.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            p.once('exit', () => resolve());
            p.kill('SIGTERM');
          }),
      ),
    );
    this.idle.length = 0;
  }
}
