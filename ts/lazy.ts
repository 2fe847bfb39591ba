/**
 * The main entry's TensorFlow.js-backed functions, loaded on first call (a dynamic import at the point of
 * need) so that importing `macridvae` does not load TensorFlow.js. Same signatures as the modules they
 * forward to; the subpath entries (`macridvae/train`, `macridvae/tune`, `macridvae/models`) export those
 * modules directly.
 */

import type { ReproduceOptions, ReproduceTable } from './experiments/reproduce.js';
import type { ShardedRecommendOptions, ShardedRecommendResult } from './queue/coordinator.js';
import type { BackendInfo, BackendName, BackendOptions } from './tf/backend.js';
import type { TrainOptions, TrainResult } from './train/trainer.js';
import type { TuneOptions, TuneResult } from './tune/tune.js';

/** Trains a model (ts/train/trainer.ts `trainModel`; loads TensorFlow.js on first call). */
export async function trainModel(opts: TrainOptions): Promise<TrainResult> {
  const { trainModel: train } = await import('./train/trainer.js');
  return train(opts);
}

/** TPE hyperparameter search (ts/tune/tune.ts `tune`; loads TensorFlow.js on first call). */
export async function tune(opts: TuneOptions): Promise<TuneResult> {
  const { tune: run } = await import('./tune/tune.js');
  return run(opts);
}

/** Selects the TensorFlow.js backend (ts/tf/backend.ts `selectBackend`; loads TensorFlow.js on first call). */
export async function selectBackend(requested?: BackendName, options?: BackendOptions): Promise<BackendInfo> {
  const { selectBackend: select } = await import('./tf/backend.js');
  return select(requested, options);
}

/** Table 1 over seeds with paired significance (ts/experiments/reproduce.ts `reproduce`; loads TensorFlow.js on first call). */
export async function reproduce(opts: ReproduceOptions): Promise<ReproduceTable> {
  const { reproduce: run } = await import('./experiments/reproduce.js');
  return run(opts);
}

/**
 * Batch recommendation sharded over BullMQ workers (`macridvae worker`): one job per range of the input's
 * users, shards merged in user order atomically (ts/queue/coordinator.ts `recommendSharded`; loads BullMQ
 * on first call).
 */
export async function recommendSharded(o: ShardedRecommendOptions): Promise<ShardedRecommendResult> {
  const { recommendSharded: run } = await import('./queue/coordinator.js');
  return run(o);
}
