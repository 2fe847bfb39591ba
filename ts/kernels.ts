/**
 * The Rust/WASM kernels on the calling thread (one lazily created instance per thread). The same
 * operations run on the worker pool through `KernelPool.run(name, args)`.
 */
import * as ranking from './wasm/ranking.js';
import { threadInstance } from './wasm/raw.js';

export type { TopKArgs, TopKResult } from './wasm/ranking.js';

/** Top-k items per user, skipping each user's excluded items; ties go to the lower item id. */
export function topk(args: ranking.TopKArgs): ranking.TopKResult {
  return ranking.topk(threadInstance(), args);
}
