/** `macridvae/tune`: TPE hyperparameter search and the paper's search space. Importing this loads TensorFlow.js. */
export { checkModelSpace, configsOf, paperSpace, tunableNames } from '../tune/space.js';
export type { Observation, Param, ParamValue, Point, Space, TpeOptions } from '../tune/tpe.js';
export { checkSpace, samplePrior, suggest, TPE_DEFAULTS } from '../tune/tpe.js';
export type { TrialRecord, TuneOptions, TuneResult } from '../tune/tune.js';
export { BEST_DIR, RUNS_FILE, runPoints, TRIALS_FILE, TUNE_FILE, tune } from '../tune/tune.js';
