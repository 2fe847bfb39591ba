/**
 * `macridvae worker --queue redis://HOST:PORT[/DB] [--threads N] [--backend NAME] [--lock-ms MS]
 * [--stalled-ms MS] [--json]`: takes `tune --queue` trials and `recommend --queue` shards from the
 * BullMQ queue on Redis and runs them here (ts/queue/worker.ts). Runs until SIGINT/SIGTERM, then lets
 * the running job finish. One line per job start/end (JSON with --json).
 */
import { parseQueueUrl, type QueueConnection } from '../../queue/queue.js';
import { startWorker } from '../../queue/worker.js';
import { type Command, intOption, parse, printJson, UsageError } from '../args.js';
import { backendOption } from './backend.js';

/** `--queue URL` as a connection, a bad URL as a usage error. */
export function queueConnection(cmd: string, url: string): QueueConnection {
  try {
    return parseQueueUrl(cmd, url);
  } catch (e) {
    throw new UsageError(`macridvae ${cmd}: ${(e as Error).message}`);
  }
}

export const WORKER_OPTIONS = {
  queue: { type: 'string', value: 'redis://HOST:PORT[/DB]', required: true, description: 'the BullMQ/Redis queue' },
  threads: { type: 'string', value: 'N', defaultText: '1', description: "this worker's kernel pool threads" },
  backend: {
    type: 'string',
    value: 'auto|tensorflow-gpu|tensorflow|wasm|cpu',
    defaultText: 'wasm',
    description: 'TensorFlow.js backend for training trials',
  },
  'lock-ms': {
    type: 'string',
    value: 'MS',
    defaultText: '30000',
    description: 'job lock; a killed worker’s job is taken over after it',
  },
  'stalled-ms': {
    type: 'string',
    value: 'MS',
    defaultText: '30000',
    description: 'how often this worker looks for stalled jobs',
  },
} as const;

export const workerCommand: Command = {
  name: 'worker',
  summary: 'run tune trials and recommend shards from a BullMQ queue on Redis (past one machine)',
  options: WORKER_OPTIONS,
  async run(argv) {
    const cmd = 'worker';
    const { values } = parse(cmd, argv, WORKER_OPTIONS);
    if (!values.queue) throw new UsageError(`macridvae ${cmd}: --queue redis://HOST:PORT[/DB] is required`);
    const connection = queueConnection(cmd, values.queue);
    const w = await startWorker({
      connection,
      threads: intOption(cmd, 'threads', values.threads, 1, 1),
      backend: backendOption(values.backend ?? 'wasm'),
      lockMs: intOption(cmd, 'lock-ms', values['lock-ms'], 30000, 1000),
      stalledMs: intOption(cmd, 'stalled-ms', values['stalled-ms'], 30000, 500),
      onJob: (e) => {
        if (values.json) printJson({ ...e, pid: process.pid, time: new Date().toISOString() });
        else console.log(`${new Date().toISOString()} ${e.state} ${e.name} ${e.id}${e.error ? `: ${e.error}` : ''}`);
      },
    });
    if (!values.json) console.log(`worker ${process.pid} on ${values.queue}: waiting for jobs`);
    else printJson({ state: 'ready', pid: process.pid });
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    // A second signal exits at once: closing waits for the running job and for Redis, which may be gone.
    const now = (signal: NodeJS.Signals) => {
      console.error(
        `macridvae ${cmd}: ${signal} again: exiting without waiting (the running job, if any, is retried by another worker)`,
      );
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.once('SIGINT', now);
    process.once('SIGTERM', now);
    console.error(`macridvae ${cmd}: stopping after the running job (send the signal again to exit now)`);
    await w.close();
    return 0;
  },
};
