/**
 * User-controllable retrieval (paper §2.4): start from an item's representation, or from one concept
 * component of a user's representation, vary one dimension `j`, and retrieve `B` items of the start's
 * concept whose values on `j` increase step by step while staying similar on the other dimensions.
 *
 * ```ts
 * const r = traverse(space, { item: 42 }, { dim: 7 });              // main thread
 * const r2 = await pool.run('traverse', traverseArgs(space, { item: 42 }, { dim: 7 })); // a worker
 * ```
 *
 * The method (range by binary search, `B` subranges with about equally many items of the concept,
 * beam search over one item per subrange) is documented in `crates/macrid-core/src/beam.rs`.
 */
import { InvalidArgumentError } from '../errors.js';
import { kernels } from '../runtime/kernels.js';
import { checkInt } from '../validate.js';
import * as control from '../wasm/control.js';

export type { ConceptSpace, TraverseKernelArgs, TraverseResult } from '../wasm/control.js';

/** Options of a traversal, with their defaults. */
export interface TraverseOptions {
  /** The dimension `j` to vary, `0 <= dim < d`. */
  dim: number;
  /** `B`, the number of steps (items returned). Default 10 (the latency target; the paper shows 5–10). */
  steps?: number;
  /** `W`, the beam width. Default 50. 1 is greedy selection. */
  beam?: number;
  /** `γ`, weight of the pairwise-similarity term. Default 0.1 (the paper does not give its value). */
  gamma?: number;
  /** `τ`, the model's temperature. Default 0.1 (paper §2.3). */
  tau?: number;
}

/**
 * Where a traversal starts: an item (its representation `h_i`), or a vector such as one concept
 * component `μ_u^(k)` of a user. A user component is unit-norm while items are not, and the range
 * `(a, b)` is in the start's units; `rescale` (default true for vectors) scales the vector to the mean
 * norm of the items first, which changes no cosine and so neither the concept nor the objective.
 */
export type TraverseStart = { item: number } | { vector: Float32Array; rescale?: boolean };

export const TRAVERSE_DEFAULTS = { steps: 10, beam: 50, gamma: 0.1, tau: 0.1 } as const;

/** Resolves a start and options into the kernel's arguments (for `KernelPool.run('traverse', …)`). */
export function traverseArgs(
  space: control.ConceptSpace,
  start: TraverseStart,
  options: TraverseOptions,
): control.TraverseKernelArgs {
  const fn = 'traverse';
  control.checkConceptSpace(fn, space, 2);
  const { h, items, d } = space;
  let vector: Float32Array;
  if ('item' in start) {
    const i = checkInt(fn, 'start.item', start.item, 0, items - 1);
    vector = h.slice(i * d, (i + 1) * d);
  } else if ('vector' in start && start.vector instanceof Float32Array) {
    if (start.vector.length !== d) {
      throw new InvalidArgumentError(
        `'start.vector' passed to ${fn}() must have ${d} elements but has ${start.vector.length}`,
      );
    }
    vector = start.vector.slice();
    if (start.rescale ?? true) {
      let norm = 0;
      for (const v of vector) norm += v * v;
      norm = Math.sqrt(norm);
      let mean = 0;
      for (let i = 0; i < items; i++) {
        let s = 0;
        for (let l = 0; l < d; l++) s += h[i * d + l] ** 2;
        mean += Math.sqrt(s);
      }
      mean /= Math.max(items, 1);
      if (norm > 0 && mean > 0) for (let l = 0; l < d; l++) vector[l] *= mean / norm;
    }
  } else {
    throw new InvalidArgumentError(`'start' passed to ${fn}() must be {item} or {vector: Float32Array}`);
  }
  return {
    ...space,
    start: vector,
    dim: options.dim,
    steps: options.steps ?? TRAVERSE_DEFAULTS.steps,
    beam: options.beam ?? TRAVERSE_DEFAULTS.beam,
    gamma: options.gamma ?? TRAVERSE_DEFAULTS.gamma,
    tau: options.tau ?? TRAVERSE_DEFAULTS.tau,
  };
}

/** One traversal on the calling thread (WASM). */
export function traverse(
  space: control.ConceptSpace,
  start: TraverseStart,
  options: TraverseOptions,
): control.TraverseResult {
  return kernels.traverse(traverseArgs(space, start, options));
}

/** The objective `Σ_t exp(cos(h_{i_t,−j}, h_{*,−j})/τ) + γ Σ_{t<t'} exp(cos(h_{i_t,−j}, h_{i_t',−j})/τ)` of given items. */
export function traverseObjective(args: control.TraverseObjectiveArgs): number {
  return kernels.traverseObjective(args);
}
