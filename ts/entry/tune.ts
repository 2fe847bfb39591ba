/** `macridvae/tune`: TPE hyperparameter search and the paper's search space. Importing this loads TensorFlow.js. */
export type { ProcessExecutorOptions } from '../tune/parallel.js';
export { ProcessTrialExecutor } from '../tune/parallel.js';
export { checkModelSpace, checkPoints, configsOf, defaultPoint, paperSpace, tunableNames } from '../tune/space.js';
export type { Observation, Param, ParamValue, Point, Space, TpeOptions } from '../tune/tpe.js';
export { checkSpace, samplePrior, suggest, TPE_DEFAULTS } from '../tune/tpe.js';
export type {
  Proposal,
  TrialExecutor,
  TrialJob,
  TrialOutcome,
  TrialRecord,
  TuneOptions,
  TuneResult,
} from '../tune/tune.js';
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
