/**
 * `macridvae/serve`: serving a trained model by item ids, without TensorFlow.js (nor vega/resvg):
 * {@link openRecommender} (library: recommend, similarItems, explain, control, stream), {@link buildServer}
 * (the fastify HTTP service of `docs/http-api.md`), the worker pool to score on, and the engine
 * ({@link scoringModel}, {@link scoreTopK}) for custom setups such as user-made worker threads.
 */
export { type Csr, csrFromRows } from '../csr.js';
export {
  InvalidArgumentError,
  MacridError,
  ParseError,
  UnknownItemError,
  WasmTrapError,
  WorkerError,
} from '../errors.js';
export { kernels } from '../runtime/kernels.js';
export { Runtime, type RuntimeOptions } from '../runtime/runtime.js';
export { CATALOG_FILE, type CatalogSource, type ItemCatalog, loadCatalog } from '../train/catalog.js';
export { loadModel } from '../train/checkpoint.js';
export { KernelPool, type PoolOptions } from '../workers/pool.js';
export {
  type ItemItemScoring,
  type MacridScoring,
  type MultScoring,
  type ScoreTopKArgs,
  type ScoreTopKResult,
  type ScoringModel,
  scoreTopK,
} from './engine.js';
export { type BatchOptions, buildServer, MicroBatcher, type ServerLimits, type ServerOptions } from './http.js';
export { scoringModel } from './scoring-model.js';
export {
  type ControlOptions,
  type Explanation,
  ModelKindError,
  type OnUnknown,
  type OpenRecommenderOptions,
  openRecommender,
  type Recommendation,
  type RecommendedItem,
  type RecommendOptions,
  ServingRecommender,
  type SimilarOptions,
  type SimilarResult,
  type TraverseAnswer,
  type TraverseRequest,
  type UserInput,
} from './service.js';
export {
  readUsers,
  recommendStream,
  type StreamOptions,
  type StreamUser,
  type UsersFormat,
  usersFormat,
} from './stream.js';
