/**
 * The three implementations the evaluation / batch / correlation contract tests run against: the TS
 * oracle, the WASM kernel on the main thread, and the same kernel on the worker pool (the pool of
 * `implementations.ts`, closed by `closeTestPool`).
 */
import * as k from '../../ts/kernels.js';
import { testPool } from './implementations.js';
import {
  correlationOracle,
  denseBatchOracle,
  independenceOracle,
  rankingMetricsOracle,
  sparseBatchOracle,
} from './oracle-kernels.js';

export interface KernelImpl {
  name: string;
  rankingMetrics(args: k.RankingMetricsArgs): Promise<k.RankingMetricsResult>;
  denseBatch(args: k.BatchArgs): Promise<k.DenseBatch>;
  sparseBatch(args: k.BatchArgs): Promise<k.SparseBatch>;
  correlationMatrix(args: k.VectorsArgs): Promise<k.CorrelationResult>;
  independenceScore(args: k.VectorsArgs): Promise<k.IndependenceResult>;
}

export const KERNEL_IMPLS: KernelImpl[] = [
  {
    name: 'oracle',
    rankingMetrics: async (a) => rankingMetricsOracle(a),
    denseBatch: async (a) => denseBatchOracle(a),
    sparseBatch: async (a) => sparseBatchOracle(a),
    correlationMatrix: async (a) => correlationOracle(a),
    independenceScore: async (a) => independenceOracle(a),
  },
  {
    name: 'wasm',
    rankingMetrics: async (a) => k.rankingMetrics(a),
    denseBatch: async (a) => k.denseBatch(a),
    sparseBatch: async (a) => k.sparseBatch(a),
    correlationMatrix: async (a) => k.correlationMatrix(a),
    independenceScore: async (a) => k.independenceScore(a),
  },
  {
    name: 'pool',
    rankingMetrics: (a) => testPool().run('rankingMetrics', a),
    denseBatch: (a) => testPool().run('denseBatch', a),
    sparseBatch: (a) => testPool().run('sparseBatch', a),
    correlationMatrix: (a) => testPool().run('correlationMatrix', a),
    independenceScore: (a) => testPool().run('independenceScore', a),
  },
];
