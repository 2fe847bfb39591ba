/**
 * Model configuration (typed defaults with their sources) and the `Model` interface's types: light (no
 * TensorFlow.js), shared by the main entry and `macridvae/models`.
 */
export type {
  AnyModelConfig,
  BaselineConfig,
  BaselineKind,
  BetaSchedule,
  EaseConfig,
  ItemKnnConfig,
  MacridVaeConfig,
  ModelConfig,
  ModelKind,
  MultConfig,
  PopularityConfig,
  TrainConfig,
} from '../models/config.js';
export {
  BASELINE_KINDS,
  BETA_SCHEDULES,
  EASE_LAMBDAS,
  KNN_KS,
  KNN_SHRINKS,
  MACRIDVAE_DEFAULTS,
  MODEL_KINDS,
  MULTDAE_DEFAULTS,
  MULTVAE_DEFAULTS,
  resolveBaselineConfig,
  resolveModelConfig,
  resolveTrainConfig,
  trainDefaults,
} from '../models/config.js';
export type {
  EpochContext,
  EpochNote,
  Explanation,
  LossTerms,
  Model,
  Representation,
  StepGradients,
  StepOptions,
  Weight,
  Weights,
} from '../models/types.js';
