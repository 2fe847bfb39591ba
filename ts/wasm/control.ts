/**
 * Typed wrappers of the controllable-retrieval kernels (paper §2.4; `crates/macrid-core/src/beam.rs`).
 * Arguments are validated here, at the edge.
 */
import { InvalidArgumentError } from '../errors.js';
import { checkArray, checkInt, checkNumber } from '../validate.js';
import type { WasmInstance } from './raw.js';

/** Item representations and concept prototypes of a trained model. */
export interface ConceptSpace {
  /** `items × d` item representations `h`, row-major. */
  h: Float32Array;
  /** `concepts × d` prototypes `m`, row-major. */
  prototypes: Float32Array;
  items: number;
  /** Dimension `d` of `h` and of each prototype (>= 2 for a traversal). */
  d: number;
  concepts: number;
}

export interface TraverseKernelArgs extends ConceptSpace {
  /** The start representation `h_*` (`d` values): an item's `h` or one concept component of a user's `z`. */
  start: Float32Array;
  /** The dimension `j` to vary, `0 <= dim < d`. */
  dim: number;
  /** `B`, the number of steps (items returned), >= 1. */
  steps: number;
  /** `W`, the beam width, >= 1 (1 = greedy selection). */
  beam: number;
  /** `γ >= 0`, the weight of the pairwise-similarity term. */
  gamma: number;
  /** `τ` in [0.01, 100], the model's temperature. */
  tau: number;
}

export interface TraverseResult {
  /** `k*`, the prototype nearest (by cosine) to the start. */
  concept: number;
  /** `[a, b]`: the range of `h_{*,j}` in which `k*` stays nearest (clipped to the items' extent on `j`). */
  range: [number, number];
  /** `B + 1` subrange bounds `a = a_0 < … < a_B = b`; subrange `t` holds about equally many items of `k*`. */
  bounds: Float64Array;
  /** Candidate items of concept `k*` in each subrange. */
  counts: Uint32Array;
  /** The `B` chosen item ids, one per subrange, values increasing. */
  items: Uint32Array;
  /** Their values `h_{i,j}` on dimension `j`. */
  values: Float32Array;
  /** Each item's similarity to the start, `exp(cos(h_{i,−j}, h_{*,−j})/τ)`. */
  scores: Float64Array;
  /** The maximized objective `Σ_t exp(cos(h_{i_t,−j}, h_{*,−j})/τ) + γ Σ_{t<t'} exp(cos(h_{i_t,−j}, h_{i_t',−j})/τ)`. */
  objective: number;
}

/** Checks the shapes of a {@link ConceptSpace}. */
export function checkConceptSpace(fn: string, s: ConceptSpace, minD = 1): void {
  checkInt(fn, 'items', s.items, 0);
  checkInt(fn, 'd', s.d, minD);
  checkInt(fn, 'concepts', s.concepts, 1);
  checkArray(fn, 'h', s.h, Float32Array, s.items * s.d);
  checkArray(fn, 'prototypes', s.prototypes, Float32Array, s.concepts * s.d);
}

/** One traversal by beam search; see {@link TraverseResult}. */
export function traverse(inst: WasmInstance, args: TraverseKernelArgs): TraverseResult {
  const fn = 'traverse';
  checkConceptSpace(fn, args, 2);
  const { items, d, concepts } = args;
  checkArray(fn, 'start', args.start, Float32Array, d);
  const dim = checkInt(fn, 'dim', args.dim, 0, d - 1);
  const steps = checkInt(fn, 'steps', args.steps, 1, 1 << 16);
  const beam = checkInt(fn, 'beam', args.beam, 1, 1 << 16);
  const gamma = checkNumber(fn, 'gamma', args.gamma, 0);
  const tau = checkNumber(fn, 'tau', args.tau, 0.01, 100);
  if (!Number.isFinite(gamma)) throw new InvalidArgumentError(`'gamma' passed to ${fn}() must be finite`);
  return inst.call(fn, (a, x) => {
    const pH = a.input(args.h);
    const pM = a.input(args.prototypes);
    const pS = a.input(args.start);
    const pItems = a.output(Uint32Array, steps);
    const pValues = a.output(Float32Array, steps);
    const pScores = a.output(Float64Array, steps);
    const pBounds = a.output(Float64Array, steps + 1);
    const pCounts = a.output(Uint32Array, steps);
    const pMeta = a.output(Float64Array, 4);
    inst.check(
      fn,
      x.mv_traverse(
        pH,
        items,
        d,
        pM,
        concepts,
        pS,
        dim,
        steps,
        beam,
        gamma,
        tau,
        pItems,
        pValues,
        pScores,
        pBounds,
        pCounts,
        pMeta,
      ),
    );
    const meta = a.read(Float64Array, pMeta, 4);
    return {
      concept: meta[0],
      range: [meta[1], meta[2]],
      bounds: a.read(Float64Array, pBounds, steps + 1),
      counts: a.read(Uint32Array, pCounts, steps),
      items: a.read(Uint32Array, pItems, steps),
      values: a.read(Float32Array, pValues, steps),
      scores: a.read(Float64Array, pScores, steps),
      objective: meta[3],
    };
  });
}

export interface TraverseObjectiveArgs {
  h: Float32Array;
  items: number;
  d: number;
  start: Float32Array;
  dim: number;
  /** The chosen item ids. */
  chosen: Uint32Array;
  gamma: number;
  tau: number;
}

/** The traversal objective of given items, computed in f64 (for checks and comparisons). */
export function traverseObjective(inst: WasmInstance, args: TraverseObjectiveArgs): number {
  const fn = 'traverseObjective';
  const items = checkInt(fn, 'items', args.items, 0);
  const d = checkInt(fn, 'd', args.d, 1);
  checkArray(fn, 'h', args.h, Float32Array, items * d);
  checkArray(fn, 'start', args.start, Float32Array, d);
  checkArray(fn, 'chosen', args.chosen, Uint32Array);
  const dim = checkInt(fn, 'dim', args.dim, 0, d - 1);
  const gamma = checkNumber(fn, 'gamma', args.gamma, 0);
  const tau = checkNumber(fn, 'tau', args.tau, 0.01, 100);
  return inst.call(fn, (a, x) => {
    const pH = a.input(args.h);
    const pS = a.input(args.start);
    const pC = a.input(args.chosen);
    const pOut = a.output(Float64Array, 1);
    inst.check(fn, x.mv_traverse_objective(pH, items, d, pS, dim, pC, args.chosen.length, gamma, tau, pOut));
    return a.read(Float64Array, pOut, 1)[0];
  });
}
