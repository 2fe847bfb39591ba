/**
 * `macridvae/models`: the models (TensorFlow.js variables, Rust kernels) — construction, the classes, the
 * inspection of a trained model, and backend selection. Importing this loads TensorFlow.js.
 */

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
export type { BackendInfo, BackendName, BackendOptions } from '../tf/backend.js';
export { BACKENDS, selectBackend } from '../tf/backend.js';
export * from './config.js';
