/**
 * The operations a pool worker can run: the same typed kernel wrappers the main thread calls, keyed by
 * name. Each takes `(instance, args)` with one structured-clone-safe `args` object.
 */

import { macridSliceTrain } from '../models/macrid-slice.js';
import * as analysis from '../wasm/analysis.js';
import * as batch from '../wasm/batch.js';
import * as control from '../wasm/control.js';
import * as evaluation from '../wasm/eval.js';
import * as itemsim from '../wasm/itemsim.js';
import * as nn from '../wasm/nn.js';
import * as ranking from '../wasm/ranking.js';
import * as sampling from '../wasm/sampling.js';
import * as stats from '../wasm/stats.js';

export const OPS = {
  topk: ranking.topk,
  debugTrap: ranking.debugTrap,
  traverse: control.traverse,
  traverseObjective: control.traverseObjective,
  assignConcepts: analysis.assignConcepts,
  userConceptConfidence: analysis.userConceptConfidence,
  alignment: analysis.alignment,
  columnStats: analysis.columnStats,
  tsne: analysis.tsne,
  sphericalKmeans: analysis.sphericalKmeans,
  mixDecoderTrain: nn.mixDecoderTrain,
  mixDecoderLogProbs: nn.mixDecoderLogProbs,
  macridSliceTrain,
  rankingMetrics: evaluation.rankingMetrics,
  denseBatch: batch.denseBatch,
  sparseBatch: batch.sparseBatch,
  sampleNegatives: sampling.sampleNegatives,
  samplingLogProbs: sampling.samplingLogProbs,
  correlationMatrix: stats.correlationMatrix,
  independenceScore: stats.independenceScore,
  gram: itemsim.gram,
  easeWeights: itemsim.easeWeights,
  knnWeights: itemsim.knnWeights,
} as const;

export type Ops = typeof OPS;
export type OpName = keyof Ops;
export type OpArgs<K extends OpName> = Parameters<Ops[K]>[1];
export type OpResult<K extends OpName> = ReturnType<Ops[K]>;

/** A task as posted to a worker. */
export interface Task {
  op: OpName;
  args: unknown;
}

/** What a worker answers: a value, or a serialized typed error (errors never cross as thrown values). */
export type TaskReply = { ok: true; value: unknown } | { ok: false; error: { name: string; message: string } };
