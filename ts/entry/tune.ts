/** `macridvae/tune`: TPE hyperparameter search and the paper's search space. Importing this loads TensorFlow.js. */
export type { ProcessExecutorOptions } from '../tune/parallel.js';
export { ProcessTrialExecutor } from '../tune/parallel.js';
export {
  BEST_DIR,
  failedOutcome,
  localExecutor,
  RUNS_FILE,
  runPoints,
  runTrial,
  TRIALS_FILE,
  TUNE_FILE,
  tune,
} from '../tune/tune.js';
export * from './search.js';
