/** The search space and the TPE sampler (light: no TensorFlow.js), shared by the main entry and `macridvae/tune`. */
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
