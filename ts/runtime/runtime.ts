/**
 * Where kernels run: the calling thread, or a pool of worker threads each holding an instance of the
 * one compiled module. A {@link Runtime} is the one object that decides; models, the evaluator, the
 * recommender and the analysis helpers call `runtime.run(name, args)` or, for a batch of users that
 * may be split over the pool, {@link Runtime.splitUsers} — never `pool ? pool.run(…) : kernel(…)`.
 *
 * `splitUsers` cuts a batch into contiguous slices of users, runs the kernel on each slice (on the
 * pool; one slice runs on the calling thread) and merges the slices' results field by field: per-user
 * arrays are concatenated in slice order, partial sums (gradients of shared weights) are added.
 */
import { InvalidArgumentError } from '../errors.js';
import { checkInt, checkNumber } from '../validate.js';
import type { KernelPool } from '../workers/pool.js';
import { kernels, type OpArgs, type OpName, type OpResult } from './kernels.js';

export interface RuntimeOptions {
  /** The worker pool; absent: everything runs on the calling thread. */
  pool?: KernelPool;
  /** Into how many slices a batch of users may be split (at most the pool's threads). Default: the pool's threads, 1 without a pool. */
  threads?: number;
  /** Below this many multiply-adds of a batch, one thread does the work (a split costs copies and messages). Default 2e7. */
  minWork?: number;
}

/** A runtime, or the options to build one (`{ pool, threads }`). */
export type RuntimeLike = Runtime | RuntimeOptions;

/** How one field of a sliced result is merged: concatenated in slice order, added element-wise, or taken from the first slice. */
export type Merge = 'concat' | 'sum' | 'first';

type Typed = Float32Array | Float64Array | Uint32Array | Int32Array;

/** A merge rule for every field of a result (or one rule when the result is itself an array). */
export type MergeSpec<R> = R extends Typed ? Merge : { readonly [F in keyof R]-?: Merge };

const MIN_SPLIT_WORK = 2e7;

/** `n` contiguous slices `[lo, hi)` of `users` rows, as even as possible. */
export function bounds(users: number, n: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let p = 0; p < n; p++) out.push([Math.floor((p * users) / n), Math.floor(((p + 1) * users) / n)]);
  return out;
}

function concat(parts: Typed[]): Typed {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new (parts[0].constructor as new (n: number) => Typed)(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Adds every part into the first (they are fresh arrays owned by this merge); arrays of arrays index by index. */
function sumInto(parts: unknown[]): unknown {
  const first = parts[0];
  if (first === undefined) return undefined;
  if (Array.isArray(first)) return first.map((_, j) => sumInto(parts.map((p) => (p as unknown[])[j])));
  const into = first as Typed;
  for (let p = 1; p < parts.length; p++) {
    const add = parts[p] as Typed;
    for (let i = 0; i < into.length; i++) into[i] += add[i];
  }
  return into;
}

function mergeField(rule: Merge, parts: unknown[]): unknown {
  if (rule === 'first' || parts[0] === undefined) return parts[0];
  return rule === 'concat' ? concat(parts as Typed[]) : sumInto(parts);
}

/** Merges the results of consecutive slices by `spec` (see {@link MergeSpec}). */
export function mergeSlices<R>(parts: R[], spec: MergeSpec<R>): R {
  if (parts.length === 1) return parts[0];
  if (typeof spec === 'string') return mergeField(spec as Merge, parts) as R;
  const out: Record<string, unknown> = {};
  for (const [field, rule] of Object.entries(spec as Record<string, Merge>)) {
    out[field] = mergeField(
      rule,
      parts.map((p) => (p as Record<string, unknown>)[field]),
    );
  }
  return out as R;
}

export class Runtime {
  readonly pool?: KernelPool;
  /** Most slices a batch is split into. */
  readonly threads: number;
  readonly minWork: number;

  constructor(options: RuntimeOptions = {}) {
    this.pool = options.pool;
    this.threads = checkInt('Runtime', 'threads', options.threads ?? options.pool?.threads ?? 1, 1, 1024);
    this.minWork = checkNumber('Runtime', 'minWork', options.minWork ?? MIN_SPLIT_WORK, 0);
  }

  /** `r` itself, or a runtime built from options (absent: the calling thread). */
  static from(r?: RuntimeLike): Runtime {
    return r instanceof Runtime ? r : new Runtime(r ?? {});
  }

  /** Runs kernel `op` on a pool worker when there is a pool, else on the calling thread. `transfer`: buffers of `args` moved to the worker. */
  async run<K extends OpName>(op: K, args: OpArgs<K>, transfer: ArrayBuffer[] = []): Promise<OpResult<K>> {
    if (this.pool) return this.pool.run(op, args, transfer);
    return (kernels[op] as (a: OpArgs<K>) => OpResult<K>)(args);
  }

  /** Into how many slices a batch of `users` with `work` multiply-adds is split: 1 without a pool or below `minWork`. */
  slices(users: number, work: number): number {
    if (!this.pool || this.threads <= 1 || work < this.minWork) return 1;
    return Math.max(1, Math.min(this.threads, this.pool.threads, users));
  }

  /**
   * Runs `op` over `users` users split into slices (see {@link slices}): `args(lo, hi)` gives the
   * arguments of the users `[lo, hi)`; the results are merged by `merge`. One slice runs on the calling
   * thread.
   */
  async splitUsers<K extends OpName>(
    op: K,
    users: number,
    work: number,
    args: (lo: number, hi: number) => OpArgs<K>,
    merge: MergeSpec<OpResult<K>>,
  ): Promise<OpResult<K>> {
    if (!Number.isInteger(users) || users < 0) {
      throw new InvalidArgumentError(`'users' passed to Runtime.splitUsers() must be an integer >= 0 but got ${users}`);
    }
    const n = this.slices(users, work);
    if (n === 1 || !this.pool) return (kernels[op] as (a: OpArgs<K>) => OpResult<K>)(args(0, users));
    const pool = this.pool;
    const parts = await Promise.all(bounds(users, n).map(([lo, hi]) => pool.run(op, args(lo, hi))));
    return mergeSlices(parts, merge);
  }
}
