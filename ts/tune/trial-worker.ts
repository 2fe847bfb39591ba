/**
 * The child process of `tune --parallel` (see parallel.ts): loads the dataset once, then trains the
 * trials it is sent. Exits when the coordinator's IPC channel closes.
 */
import { loadDataset } from '../data/store.js';
import type { SplitData } from '../data/types.js';
import type { RuntimeLike } from '../runtime/runtime.js';
import { type BackendName, selectBackend } from '../tf/backend.js';
import { datasetFingerprint } from '../train/checkpoint.js';
import { KernelPool } from '../workers/pool.js';
import type { FromWorker, ToWorker } from './parallel.js';
import { failedOutcome, runTrial } from './tune.js';

const send = (m: FromWorker) => process.send?.(m);
let data: SplitData | undefined;
let runtime: RuntimeLike | undefined;

process.on('disconnect', () => process.exit(0));
process.on('message', (m: ToWorker) => {
  if (m.type === 'init') {
    (async () => {
      const d = await loadDataset(m.dataDir);
      const fp = datasetFingerprint(d);
      if (fp !== m.fingerprint) {
        throw new Error(`${m.dataDir} holds another dataset (fingerprint ${fp}) than the search (${m.fingerprint})`);
      }
      await selectBackend(m.backend as BackendName);
      const pool = m.threads > 1 ? new KernelPool({ threads: m.threads }) : undefined;
      runtime = { pool, threads: m.threads };
      data = d;
      send({ type: 'ready' });
    })().catch((e) => send({ type: 'init-error', error: e instanceof Error ? e.message : String(e) }));
  } else if (m.type === 'run') {
    const d = data;
    if (!d) {
      send({ type: 'done', outcome: failedOutcome(new Error('tune worker: run before init')) });
      return;
    }
    runTrial(m.job, d, runtime, (record) => send({ type: 'epoch', record })).then((outcome) => {
      const { model, ...o } = outcome;
      model?.dispose();
      send({ type: 'done', outcome: o });
    });
  }
});
