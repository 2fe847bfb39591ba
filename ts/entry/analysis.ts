/**
 * `macridvae/analysis`: disentanglement analysis (paper §3.3–3.4), figures and controllable retrieval
 * (§2.4). Light: Vega, Vega-Lite and resvg load when a figure is first rendered.
 */
export type { CategoryFile } from '../analysis/categories.js';
export { categoriesFromGenres, readCategories } from '../analysis/categories.js';
export type { LabelledPoint, RunPoint } from '../analysis/figures.js';
export {
  assignmentSpec,
  correlationSpec,
  independenceSpec,
  mapSpec,
  renderSvg,
  svgToPng,
  writeFigure,
} from '../analysis/figures.js';
export {
  alignment,
  assignConcepts,
  dimensionStats,
  sphericalKmeans,
  tsne,
  userConceptConfidence,
} from '../analysis/kernels.js';
export type { AlignmentReport, Categories, MacroAnalysis, MacroInput, UserConceptSummary } from '../analysis/macro.js';
export { analyzeMacro, conceptAlignment, NO_CATEGORY } from '../analysis/macro.js';
export type { ConceptMap, MapInput, MapPoint } from '../analysis/map.js';
export { conceptMap } from '../analysis/map.js';
export type { DimensionStats, MicroAnalysis, MicroInput, UserComponents } from '../analysis/micro.js';
export { analyzeMicro } from '../analysis/micro.js';
export type { AnalysisResult, AnalyzeInput, FigureRef } from '../analysis/report.js';
export { analysisSummary, analyze, writeAnalysis } from '../analysis/report.js';
export type {
  ConceptSpace,
  TraverseKernelArgs,
  TraverseOptions,
  TraverseResult,
  TraverseStart,
} from '../control/traverse.js';
export { TRAVERSE_DEFAULTS, traverse, traverseArgs, traverseObjective } from '../control/traverse.js';
