/**
 * A pool of Node worker threads (piscina), each holding its own instance of the one compiled WASM
 * module. Created lazily on the first task, sized by `threads` (default: available cores), and
 * closed with {@link KernelPool.close}; idle workers are unref'd, so an unclosed pool never keeps
 * the process alive.
 *
 * Why piscina: maintained, handles queueing, worker replacement on crash and transfer lists; it fits
 * as is. Errors do not cross as thrown values: workers answer `{ok:false, error}` and the pool
 * rebuilds the typed error here.
 */
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { deserializeError, WorkerError } from '../errors.js';
import type { OpArgs, OpName, OpResult, Task, TaskReply } from '../runtime/kernels.js';
import { checkInt } from '../validate.js';
import { wasmModule } from '../wasm/loader.js';

export interface PoolOptions {
  /** Number of worker threads; default `os.availableParallelism()`. */
  threads?: number;
  /** Milliseconds an idle worker lives before it exits; default 10 s. */
  idleTimeoutMs?: number;
}

/** The worker entry next to this file: `worker.ts` under tsx, `worker.js` in the built package. */
function workerFile(): string {
  const self = fileURLToPath(import.meta.url);
  return fileURLToPath(new URL(`./worker${extname(self)}`, import.meta.url));
}

export class KernelPool {
  readonly threads: number;
  private readonly idleTimeoutMs: number;
  private piscina: Piscina | undefined;
  private closed = false;

  constructor(options: PoolOptions = {}) {
    this.threads = checkInt('KernelPool', 'threads', options.threads ?? availableParallelism(), 1, 1024);
    this.idleTimeoutMs = checkInt('KernelPool', 'idleTimeoutMs', options.idleTimeoutMs ?? 10_000, 0);
  }

  private get pool(): Piscina {
    if (this.closed) throw new WorkerError('the kernel pool is closed');
    if (!this.piscina) {
      this.piscina = new Piscina({
        filename: workerFile(),
        minThreads: 0,
        maxThreads: this.threads,
        idleTimeout: this.idleTimeoutMs,
        workerData: { module: wasmModule() },
      });
    }
    return this.piscina;
  }

  /**
   * Runs kernel `op` on a worker. `transfer` lists buffers of `args` to move instead of copy (they are
   * unusable in this thread afterwards).
   */
  async run<K extends OpName>(op: K, args: OpArgs<K>, transfer: ArrayBuffer[] = []): Promise<OpResult<K>> {
    const pool = this.pool;
    let reply: TaskReply;
    try {
      const task: Task = { op, args };
      reply = (await pool.run(task, transfer.length > 0 ? { transferList: transfer } : {})) as TaskReply;
    } catch (e) {
      throw new WorkerError(`worker failed running '${op}': ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    }
    if (!reply.ok) throw deserializeError(reply.error);
    return reply.value as OpResult<K>;
  }

  /** Workers currently alive. */
  get liveThreads(): number {
    return this.piscina?.threads.length ?? 0;
  }

  /** Terminates all workers; later calls fail. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    const p = this.piscina;
    this.piscina = undefined;
    if (p) await p.destroy();
  }
}

let shared: KernelPool | undefined;

/** A process-wide pool sized to the available cores (created lazily; close with `closeSharedPool`). */
export function sharedPool(): KernelPool {
  if (!shared) shared = new KernelPool();
  return shared;
}

export async function closeSharedPool(): Promise<void> {
  const p = shared;
  shared = undefined;
  if (p) await p.close();
}
