/** Typed wrappers of the ranking kernels. Arguments are validated here, at the edge. */
import { type Csr, checkCsr } from '../csr.js';
import { checkArray, checkInt } from '../validate.js';
import type { WasmInstance } from './raw.js';

export interface TopKArgs {
  /** `users × items` scores, row-major. */
  scores: Float32Array;
  users: number;
  items: number;
  /** Items to skip per user (e.g. the fold-in items): CSR with `users` rows over `items` columns. */
  exclude: Csr;
  /** How many items to return per user. */
  k: number;
}

export interface TopKResult {
  /** `users × k` item ids in ranking order (higher score first, ties to the lower id); unused slots hold 2^32−1. */
  items: Uint32Array;
  /** `users × k` scores matching `items`; unused slots hold −Infinity. */
  scores: Float32Array;
  /** How many slots of each user's row are used (less than `k` when fewer items remain). */
  counts: Uint32Array;
}

/** Top-k items per user with exclusions; one call for the whole batch of users. */
export function topk(inst: WasmInstance, args: TopKArgs): TopKResult {
  const fn = 'topk';
  const users = checkInt(fn, 'users', args.users, 0);
  const items = checkInt(fn, 'items', args.items, 0);
  const k = checkInt(fn, 'k', args.k, 0, 1 << 20);
  checkArray(fn, 'scores', args.scores, Float32Array, users * items);
  const ex = checkCsr(fn, 'exclude', args.exclude, users, items);
  return inst.call(fn, (a, x) => {
    const pScores = a.input(args.scores);
    const pIndptr = a.input(ex.indptr);
    const pIndices = a.input(ex.indices);
    const pItems = a.output(Uint32Array, users * k);
    const pOut = a.output(Float32Array, users * k);
    const pCount = a.output(Uint32Array, users);
    inst.check('topk', x.mv_topk(pScores, users, items, pIndptr, pIndices, ex.indices.length, k, pItems, pOut, pCount));
    return {
      items: a.read(Uint32Array, pItems, users * k),
      scores: a.read(Float32Array, pOut, users * k),
      counts: a.read(Uint32Array, pCount, users),
    };
  });
}

/** Makes the module trap on purpose (tests of trap handling). */
export function debugTrap(inst: WasmInstance, _args: Record<string, never> = {}): void {
  inst.call('debugTrap', (_a, x) => x.mv_debug_trap());
}
