/** Typed wrappers of the ranking kernels. Arguments are validated here, at the edge. */
import { type Csr, checkCsr } from '../csr.js';
import { checkArray, checkInt } from '../validate.js';
import type { Arena, WasmInstance } from './raw.js';

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

/**
 * The three outputs every top-k export writes (`users × k` items and scores, `users` counts): their
 * pointers, in the exports' order, and the read-back into a {@link TopKResult}.
 */
export function topkOutputs(a: Arena, users: number, k: number) {
  const items = a.output(Uint32Array, users * k);
  const scores = a.output(Float32Array, users * k);
  const counts = a.output(Uint32Array, users);
  return {
    pointers: [items, scores, counts] as const,
    read: (): TopKResult => ({
      items: a.read(Uint32Array, items, users * k),
      scores: a.read(Float32Array, scores, users * k),
      counts: a.read(Uint32Array, counts, users),
    }),
  };
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
    const out = topkOutputs(a, users, k);
    inst.check('topk', x.mv_topk(pScores, users, items, pIndptr, pIndices, ex.indices.length, k, ...out.pointers));
    return out.read();
  });
}

/** Makes the module trap on purpose (tests of trap handling). */
export function debugTrap(inst: WasmInstance, _args: Record<string, never> = {}): void {
  inst.call('debugTrap', (_a, x) => x.mv_debug_trap());
}
