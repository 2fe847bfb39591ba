/**
 * Typed wrappers of negative sampling for sampled softmax (`crates/macrid-core/src/sampling.rs`).
 *
 * Each row of `positives` receives `samples` item ids drawn with replacement from the proposal —
 * uniform, or `popularity_i^alpha` normalized — and next to each `logQ`, the natural log of the
 * probability of that draw: `ln p(i)`, or with `excludePositives` `ln p(i) − ln(1 − p(P_u))`, the
 * proposal renormalized over the items that are not the row's positives `P_u` (which are then never
 * drawn). Subtract it from the sampled logits for the sampled-softmax correction. Seeded: the same
 * inputs, `seed` and `stream` give the same draws on every thread; use the batch number as `stream`.
 */
import { type Csr, checkCsr, csrRows } from '../csr.js';
import { OutOfRangeError } from '../errors.js';
import { checkArray, checkInt, checkNumber } from '../validate.js';
import type { WasmInstance } from './raw.js';

/** The default popularity exponent: word2vec's unigram^0.75 (Mikolov et al., 2013). */
export const DEFAULT_ALPHA = 0.75;

export interface ProposalArgs {
  /** Number of items (columns). */
  items: number;
  /** Per-item popularity (e.g. interaction counts, >= 0, `items` entries); absent = uniform proposal. */
  popularity?: Float32Array;
  /** Exponent applied to popularity; default {@link DEFAULT_ALPHA}. Ignored when uniform. */
  alpha?: number;
}

export interface SampleNegativesArgs extends ProposalArgs {
  /** One row per batch row (its positives) over `items` columns. */
  positives: Csr;
  /** Draws per row (S). */
  samples: number;
  /** Never draw a row's own positives (default false). */
  excludePositives?: boolean;
  /**
   * Draw one set of `samples` for the whole batch (result has one row): positives are the union of
   * the rows, so with `excludePositives` no row's positive is drawn. Default false.
   */
  shared?: boolean;
  /** Seed, an integer in `[0, 2^32)`. */
  seed: number;
  /** Stream (e.g. the batch number), an integer in `[0, 2^32)`; default 0. */
  stream?: number;
}

export interface NegativeSamples {
  /** `rows × samples` item ids, row-major. */
  items: Uint32Array;
  /** `rows × samples` natural-log probabilities of each draw. */
  logQ: Float32Array;
  /** Rows of the result (1 when `shared`). */
  rows: number;
  samples: number;
}

const U32_MAX = 0xffffffff;

interface Proposal {
  items: number;
  popularity: Float32Array;
  alpha: number;
}

function checkProposal(fn: string, args: ProposalArgs): Proposal {
  const items = checkInt(fn, 'items', args.items, 1);
  const alpha = checkNumber(fn, 'alpha', args.alpha ?? DEFAULT_ALPHA, 0, Number.MAX_VALUE);
  const popularity =
    args.popularity === undefined
      ? new Float32Array(0)
      : checkArray<Float32Array>(fn, 'popularity', args.popularity, Float32Array, items);
  return { items, popularity, alpha };
}

/** The union of all rows as a one-row CSR (ids ascending). */
function unionRow(fn: string, m: Csr): Csr {
  const seen = new Uint8Array(m.cols);
  for (let p = 0; p < m.indices.length; p++) {
    const i = m.indices[p];
    if (i >= m.cols) {
      throw new OutOfRangeError(`${fn}: 'positives.indices[${p}]' = ${i} is out of range for ${m.cols} columns`);
    }
    seen[i] = 1;
  }
  const ids: number[] = [];
  for (let i = 0; i < m.cols; i++) if (seen[i]) ids.push(i);
  return { indptr: Uint32Array.of(0, ids.length), indices: Uint32Array.from(ids), cols: m.cols };
}

/** Negatives for a batch with their log-probabilities; one call per batch. */
export function sampleNegatives(inst: WasmInstance, args: SampleNegativesArgs): NegativeSamples {
  const fn = 'sampleNegatives';
  const p = checkProposal(fn, args);
  let positives = checkCsr(fn, 'positives', args.positives, undefined, p.items);
  const samples = checkInt(fn, 'samples', args.samples, 0, 1 << 24);
  const seed = checkInt(fn, 'seed', args.seed, 0, U32_MAX);
  const stream = checkInt(fn, 'stream', args.stream ?? 0, 0, U32_MAX);
  if (args.shared) positives = unionRow(fn, positives);
  const rows = csrRows(positives);
  const exclude = args.excludePositives ? 1 : 0;
  return inst.call(fn, (a, x) => {
    const pIndptr = a.input(positives.indptr);
    const pIndices = a.input(positives.indices);
    const pPop = a.input(p.popularity);
    const pItems = a.output(Uint32Array, rows * samples);
    const pLogQ = a.output(Float32Array, rows * samples);
    inst.check(
      fn,
      x.mv_sample_negatives(
        pIndptr,
        pIndices,
        rows,
        positives.indices.length,
        p.items,
        pPop,
        p.popularity.length,
        p.alpha,
        samples,
        exclude,
        seed,
        stream,
        pItems,
        pLogQ,
      ),
    );
    return {
      items: a.read(Uint32Array, pItems, rows * samples),
      logQ: a.read(Float32Array, pLogQ, rows * samples),
      rows,
      samples,
    };
  });
}

/** `ln p(i)` of the proposal for every item (−Infinity for zero-popularity items), e.g. to correct the positives' logits. */
export function samplingLogProbs(inst: WasmInstance, args: ProposalArgs): Float32Array {
  const fn = 'samplingLogProbs';
  const p = checkProposal(fn, args);
  return inst.call(fn, (a, x) => {
    const pPop = a.input(p.popularity);
    const pOut = a.output(Float32Array, p.items);
    inst.check(fn, x.mv_sampling_log_probs(p.items, pPop, p.popularity.length, p.alpha, pOut));
    return a.read(Float32Array, pOut, p.items);
  });
}
