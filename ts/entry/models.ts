/**
 * `macridvae/models`: the models (TensorFlow.js variables, Rust kernels) — construction, the classes, the
 * inspection of a trained model, and backend selection. Importing this loads TensorFlow.js.
 */
export type {
  BetaSchedule,
  MacridVaeConfig,
  ModelConfig,
  ModelKind,
  MultConfig,
  TrainConfig,
} from '../models/config.js';
export {
  BETA_SCHEDULES,
  MACRIDVAE_DEFAULTS,
  MODEL_KINDS,
  MULTDAE_DEFAULTS,
  MULTVAE_DEFAULTS,
  resolveModelConfig,
  resolveTrainConfig,
  trainDefaults,
} from '../models/config.js';
export type { CreateModelOptions } from '../models/index.js';
export { createModel } from '../models/index.js';
export type { Matrix } from '../models/inspect.js';
export {
  conceptAssignment,
  instantiate,
  itemEmbeddings,
  normalizeRows,
  prototypes,
  userConcepts,
} from '../models/inspect.js';
export { ItemState, MacridVae } from '../models/macridvae.js';
export { MultDae } from '../models/multdae.js';
export { MultModel } from '../models/multvae.js';
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
export type { BackendInfo, BackendName, BackendOptions } from '../tf/backend.js';
export { BACKENDS, selectBackend } from '../tf/backend.js';
