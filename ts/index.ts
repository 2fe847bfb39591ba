/**
 * macridvae — the public API (the one barrel). See README.md for a tour.
 *
 * Importing it loads no TensorFlow.js, Vega, Vega-Lite or resvg (test/unit/imports.test.ts checks):
 * `trainModel`, `tune` and `selectBackend` here load TensorFlow.js when called (ts/lazy.ts), figures load
 * Vega and resvg when rendered. The model classes and other synchronous TensorFlow.js code are in the
 * subpath entries (ts/entry/): `macridvae/models`, `macridvae/train`, `macridvae/tune`, `macridvae/serve`;
 * `macridvae/kernels`, `macridvae/analysis` and `macridvae/data` are light subsets of this one.
 */
export type { CategoryFile } from './analysis/categories.js';
export { categoriesFromGenres, readCategories } from './analysis/categories.js';
export type { LabelledPoint, RunPoint } from './analysis/figures.js';
export {
  assignmentSpec,
  correlationSpec,
  independenceSpec,
  mapSpec,
  renderSvg,
  svgToPng,
  writeFigure,
} from './analysis/figures.js';
export {
  alignment,
  assignConcepts,
  dimensionStats,
  sphericalKmeans,
  tsne,
  userConceptConfidence,
} from './analysis/kernels.js';
export type { AlignmentReport, Categories, MacroAnalysis, MacroInput, UserConceptSummary } from './analysis/macro.js';
export { analyzeMacro, conceptAlignment, NO_CATEGORY } from './analysis/macro.js';
export type { ConceptMap, MapInput, MapPoint } from './analysis/map.js';
export { conceptMap } from './analysis/map.js';
export type { DimensionStats, MicroAnalysis, MicroInput, UserComponents } from './analysis/micro.js';
export { analyzeMicro } from './analysis/micro.js';
export type { AnalysisResult, AnalyzeInput, FigureRef } from './analysis/report.js';
export { analysisSummary, analyze, writeAnalysis } from './analysis/report.js';
export type {
  ConceptSpace,
  TraverseKernelArgs,
  TraverseOptions,
  TraverseResult,
  TraverseStart,
} from './control/traverse.js';
export { TRAVERSE_DEFAULTS, traverse, traverseArgs, traverseObjective } from './control/traverse.js';
export type { Csr } from './csr.js';
export { checkCsr, csrFromRows, csrGatherRows, csrRow, csrRows, csrSliceRows } from './csr.js';
export type { DownloadOptions, DownloadResult } from './data/download.js';
export { DOWNLOADS, downloadDataset } from './data/download.js';
export type { ItemMeta } from './data/metadata.js';
export { alignItemMetadata, readItemMetadata } from './data/metadata.js';
export type { PreparedOptions, PrepareOptions, PrepareResult } from './data/prepare.js';
export { prepareDataset } from './data/prepare.js';
export { exportReference, importReference } from './data/reference.js';
export type { Dataset, DatasetCounts, DatasetManifest } from './data/store.js';
export { indexOf, loadDataset, loadDatasetSync, readManifest } from './data/store.js';
export type { SynthesizeOptions, SynthesizeResult, SynthSummary } from './data/synth.js';
export { SYNTH_PRESETS, synthesize } from './data/synth.js';
export type { HeldOut, SplitData } from './data/types.js';
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
export { reproduce, selectBackend, trainModel, tune } from './lazy.js';
export type { ScoringModel } from './models/baselines.js';
export { baselineFromWeights, EaseModel, ItemKnnModel, PopularityModel } from './models/baselines.js';
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
} from './models/config.js';
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
} from './models/config.js';
export type { CreateModelOptions } from './models/index.js';
export type { Matrix } from './models/inspect.js';
export type { Phase } from './models/profile.js';
export { PHASES, profileTimes, setProfiling } from './models/profile.js';
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
} from './models/types.js';
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
export { checkModelSpace, checkPoints, configsOf, defaultPoint, paperSpace, tunableNames } from './tune/space.js';
export type { Observation, Param, ParamValue, Point, Space, TpeOptions } from './tune/tpe.js';
export { checkSpace, samplePrior, suggest, TPE_DEFAULTS } from './tune/tpe.js';
export type {
  Proposal,
  TrialExecutor,
  TrialJob,
  TrialOutcome,
  TrialRecord,
  TuneOptions,
  TuneResult,
} from './tune/tune.js';
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
