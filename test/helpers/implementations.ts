/**
 * The implementations every kernel contract test runs against: the TS oracle, the WASM kernel on the
 * main thread, and the same kernel on the worker pool.
 */
import type { TopKArgs, TopKResult } from '../../ts/kernels.js';
import { topk } from '../../ts/kernels.js';
import { KernelPool } from '../../ts/workers/pool.js';
import { topkOracle } from './oracle.js';

export interface Impl {
  name: string;
  topk(args: TopKArgs): Promise<TopKResult>;
}

let pool: KernelPool | undefined;
export function testPool(): KernelPool {
  if (!pool) pool = new KernelPool({ threads: 2 });
  return pool;
}

export async function closeTestPool(): Promise<void> {
  const p = pool;
  pool = undefined;
  if (p) await p.close();
}

export const IMPLEMENTATIONS: Impl[] = [
  { name: 'oracle', topk: async (a) => topkOracle(a) },
  { name: 'wasm', topk: async (a) => topk(a) },
  { name: 'pool', topk: (a) => testPool().run('topk', a) },
];
