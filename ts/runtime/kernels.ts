/**
 * The one table of kernels. Every entry is a typed wrapper `(instance, args) => result` of
 * `ts/wasm/*.ts` with one structured-clone-safe `args` object, so each runs unchanged
 *
 * - on a pool worker (`ts/workers/worker.ts` looks the name up here; `KernelPool.run(name, args)`),
 * - on the calling thread ({@link kernels}: the same entries bound to this thread's instance),
 * - wherever a {@link Runtime} (`./runtime.ts`) decides (`runtime.run(name, args)`).
 *
 * The public calling-thread functions (`ts/kernels.ts`, `ts/analysis/kernels.ts`) are entries of
 * {@link kernels}; nothing else lists kernels. Adding a kernel: its typed wrapper in `ts/wasm/<area>.ts`,
 * one line here.
 */

import { macridEncode, macridSliceTrain } from '../models/macrid-slice.js';
import { scoreTopK } from '../serve/engine.js';
import { checkObject } from '../validate.js';
import * as analysis from '../wasm/analysis.js';
import * as batch from '../wasm/batch.js';
import * as control from '../wasm/control.js';
import * as evaluation from '../wasm/eval.js';
import * as itemsim from '../wasm/itemsim.js';
import * as nn from '../wasm/nn.js';
import { gemmPeak } from '../wasm/peak.js';
import * as ranking from '../wasm/ranking.js';
import { threadInstance, type WasmInstance } from '../wasm/raw.js';
import * as sampling from '../wasm/sampling.js';
import * as serving from '../wasm/serve.js';
import * as stats from '../wasm/stats.js';

export const KERNELS = {
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
  gemm: nn.gemm,
  gemmPeak,
  noise: nn.noise,
  sparseMixForward: nn.sparseMixForward,
  sparseMixBackward: nn.sparseMixBackward,
  denseForward: nn.denseForward,
  denseBackward: nn.denseBackward,
  headForward: nn.headForward,
  headBackward: nn.headBackward,
  mixDecoderTrain: nn.mixDecoderTrain,
  mixDecoderLogProbs: nn.mixDecoderLogProbs,
  multSliceTrain: nn.multSliceTrain,
  macridEncode,
  macridSliceTrain,
  serveTopK: scoreTopK,
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
  scoreDense: itemsim.scoreDense,
  scoreSparse: itemsim.scoreSparse,
  itemTopK: serving.itemTopK,
  mixTopK: serving.mixTopK,
} as const;

export type Kernels = typeof KERNELS;
export type OpName = keyof Kernels;
export type OpArgs<K extends OpName> = Parameters<Kernels[K]>[1];
export type OpResult<K extends OpName> = ReturnType<Kernels[K]>;

/** The kernels bound to one instance: `(args) => result`. */
export type BoundKernels = { readonly [K in OpName]: (args: OpArgs<K>) => OpResult<K> };

/** Runs kernel `op` on `inst`. */
export function runKernel<K extends OpName>(inst: WasmInstance, op: K, args: OpArgs<K>): OpResult<K> {
  const f = KERNELS[op] as unknown as ((i: WasmInstance, a: OpArgs<K>) => OpResult<K>) | undefined;
  if (typeof f !== 'function') throw new Error(`unknown kernel '${String(op)}'`);
  // One check for every kernel: null/undefined arguments get the typed error, not a TypeError.
  checkObject(String(op), 'args', args, 'an arguments object');
  return f(inst, args);
}

/** Every kernel bound to the calling thread's instance (created on first use). */
export const kernels: BoundKernels = Object.fromEntries(
  (Object.keys(KERNELS) as OpName[]).map((op) => [op, (args: never) => runKernel(threadInstance(), op, args)]),
) as unknown as BoundKernels;

/** A task as posted to a worker. */
export interface Task {
  op: OpName;
  args: unknown;
}

/** What a worker answers: a value, or a serialized typed error (errors never cross as thrown values). */
export type TaskReply = { ok: true; value: unknown } | { ok: false; error: { name: string; message: string } };
