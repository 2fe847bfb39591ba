/**
 * macridvae — the public API (the one barrel). See README.md for a tour.
 *
 * Importing it loads no TensorFlow.js, Vega, Vega-Lite or resvg (test/unit/imports.test.ts checks):
 * `trainModel`, `tune` and `selectBackend` here load TensorFlow.js when called (ts/lazy.ts), figures load
 * Vega and resvg when rendered. The model classes and other synchronous TensorFlow.js code are in the
 * subpath entries (ts/entry/): `macridvae/models`, `macridvae/train`, `macridvae/tune`, `macridvae/serve`;
 * `macridvae/kernels`, `macridvae/analysis` and `macridvae/data` are light subsets of this one.
 */
// The analysis subpath (`macridvae/analysis`) and the data subpath (`macridvae/data`) are subsets of this entry.
export * from './entry/analysis.js';
export * from './entry/config.js';
export * from './entry/data.js';
export * from './entry/search.js';
export * from './errors.js';
export type { EvaluateOptions } from './eval/evaluator.js';
export { DEFAULT_EVAL_BATCH, DEFAULT_KS, evaluate, metricTable } from './eval/evaluator.js';
export type { BatchScorer, EvalResult, MetricSummary, PerUserMetrics } from './eval/types.js';
export type {
  PublishedDataset,
  PublishedRow,
} from './experiments/paper.js';
export { ML_LATEST_SMALL, publishedFor } from './experiments/paper.js';
export type { ReproduceModel, ReproduceOptions, ReproduceTable, RunResult, TableRow } from './experiments/reproduce.js';
export type { BootstrapOptions, PairedTTest } from './experiments/significance.js';
export { bootstrapCi, pairedTTest, studentTwoSidedP } from './experiments/significance.js';
export type {
  BatchArgs,
  CorrelationResult,
  DenseBatch,
  IndependenceResult,
  NegativeSamples,
  Normalization,
  ProposalArgs,
  RankingMetricsArgs,
  RankingMetricsResult,
  SampleNegativesArgs,
  SparseBatch,
  TopKArgs,
  TopKResult,
  VectorsArgs,
} from './kernels.js';
export {
  correlationMatrix,
  denseBatch,
  independenceScore,
  rankingMetrics,
  sampleNegatives,
  samplingLogProbs,
  sparseBatch,
  topk,
} from './kernels.js';
export { recommendSharded, reproduce, selectBackend, trainModel, tune } from './lazy.js';
export type { ScoringModel } from './models/baselines.js';
export { baselineFromWeights, EaseModel, ItemKnnModel, PopularityModel } from './models/baselines.js';
export type { CreateModelOptions } from './models/index.js';
export type { Matrix } from './models/inspect.js';
export type { Phase } from './models/profile.js';
export { PHASES, profileTimes, setProfiling } from './models/profile.js';
export type { ShardedRecommendOptions, ShardedRecommendResult } from './queue/coordinator.js';
export type { OpArgs, OpName, OpResult } from './runtime/kernels.js';
export { KERNELS, kernels } from './runtime/kernels.js';
export type { Merge, MergeSpec, RuntimeLike, RuntimeOptions } from './runtime/runtime.js';
export { mergeSlices, Runtime } from './runtime/runtime.js';
// Serving by item ids without TensorFlow.js (also the lighter entry `macridvae/serve`).
export { buildServer, openRecommender, ServingRecommender, scoreTopK, scoringModel } from './serve/index.js';
export type { OpenRecommenderOptions, RecommendOptions, UserRecommendations } from './serve/recommender.js';
export type { BackendInfo, BackendName, BackendOptions } from './tf/backend.js';
export { CATALOG_FILE, type ItemCatalog, loadCatalog } from './train/catalog.js';
// Output ownership, one writer per output, crash-safe model directories (issue 11).
export type {
  Checkpoint,
  CheckpointState,
  EpochCommit,
  LoadedModel,
  Manifest as ModelManifest,
  MetricTable,
  ModelDirOptions,
  ResumePoint,
  TensorFile,
} from './train/checkpoint.js';
export {
  datasetFingerprint,
  decodeTensorFile,
  encodeTensorFile,
  loadModel,
  ModelDirWriter,
  readManifest as readModelManifest,
  readTensorFile,
  sameDatasetFingerprint,
  writeContentAddressed,
} from './train/checkpoint.js';
export type { Candidate, FitBaselineOptions, FitBaselineResult } from './train/fit-baseline.js';
export { checkEaseMemory, fitBaseline } from './train/fit-baseline.js';
export type { AdamOptions, AdamState } from './train/optimizer.js';
export { betaAt } from './train/schedule.js';
export type { EpochRecord, EpochTraining, EpochValidation, TrainOptions, TrainResult } from './train/trainer.js';
export type { LockInfo, OutputCheck, OutputKind, OutputLock } from './util/output.js';
export {
  checkOutput,
  lockOutput,
  MARKER_FILE,
  OUTPUT_KINDS,
  outputKind,
  requireReplaceable,
  writeMarker,
  writeOutputDir,
} from './util/output.js';
export { Rng } from './util/rng.js';
export { VERSION } from './version.js';
export type {
  Alignment,
  AlignmentArgs,
  AssignConceptsArgs,
  ColumnStats,
  ConceptAssignment,
  KmeansArgs,
  KmeansResult,
  MatrixArgs,
  Similarity,
  TsneArgs,
  TsneResult,
  UserConceptConfidenceArgs,
} from './wasm/analysis.js';
export type { ReaderOptions, ReaderStats, SplitOptions, SplitStats } from './wasm/data.js';
export type { EasePrecision } from './wasm/itemsim.js';
export { easeMemory } from './wasm/itemsim.js';
export { wasmModule, wasmPath } from './wasm/loader.js';
export { threadInstance, WasmInstance } from './wasm/raw.js';
export type { PoolOptions } from './workers/pool.js';
export { closeSharedPool, KernelPool, sharedPool } from './workers/pool.js';
