/**
 * Macro disentanglement (paper §3.3): which concept each item belongs to and how confidently, how the
 * items spread over the concepts, each user's per-concept confidence `Σ_{i∈x_u} c_ik`, and — when the
 * items' true categories are known — how well the learned concepts align with them (NMI, ARI, accuracy
 * after the best one-to-one matching, confusion table).
 */
import type { Csr } from '../csr.js';
import { InvalidArgumentError } from '../errors.js';
import { kernels } from '../runtime/kernels.js';
import { checkArray, checkInt, checkObject } from '../validate.js';
import type { Alignment, Similarity } from '../wasm/analysis.js';
import type { ConceptSpace } from '../wasm/control.js';

/** Label of an item whose category is unknown (left out of the alignment). */
export const NO_CATEGORY = 0xffffffff;

/** Known item categories: one label per item (`NO_CATEGORY` when unknown) and the label names. */
export interface Categories {
  labels: Uint32Array;
  names: string[];
}

export interface MacroInput {
  space: ConceptSpace;
  /** The model's temperature τ. */
  tau: number;
  /** Users × items interactions (e.g. the training users) for the users' concept confidence. */
  x?: Csr;
  categories?: Categories;
  /** Default `'cosine'`; `'inner'` for the inner-product ablation. */
  similarity?: Similarity;
}

export interface AlignmentReport extends Omit<Alignment, 'table' | 'match'> {
  /** Items with a known category (the points the metrics are computed on). */
  labelledItems: number;
  categoryNames: string[];
  /** `concepts × categories` counts. */
  table: number[][];
  /** The category matched to each concept (Hungarian), or null. */
  match: (number | null)[];
}

export interface UserConceptSummary {
  users: number;
  /** `users × concepts`: `Σ_{i∈x_u} c_ik`. */
  confidence: Float32Array;
  /** Per concept: mean over users with items of `confidence_uk / |x_u|`. */
  meanShare: number[];
  /** Mean number of concepts holding at least 10 % of a user's confidence. */
  meanActiveConcepts: number;
}

export interface MacroAnalysis {
  concepts: number;
  similarity: Similarity;
  /** `items × concepts` assignment `c`. */
  c: Float32Array;
  itemConcept: Uint32Array;
  itemConfidence: Float32Array;
  itemsPerConcept: number[];
  /** Mean `max_k c_ik` of the items of each concept (NaN for an empty concept). */
  meanConfidence: number[];
  /** Share of the items in the largest concept (1/K = perfectly balanced, 1 = total collapse). */
  largestShare: number;
  users?: UserConceptSummary;
  alignment?: AlignmentReport;
}

/** Alignment of item concepts with known categories, on the items whose category is known. */
export function conceptAlignment(itemConcept: Uint32Array, concepts: number, categories: Categories): AlignmentReport {
  const fn = 'conceptAlignment';
  checkArray(fn, 'itemConcept', itemConcept, Uint32Array);
  checkInt(fn, 'concepts', concepts, 1);
  checkObject(fn, 'categories', categories, '{labels, names}');
  checkArray(fn, 'categories.labels', categories.labels, Uint32Array);
  checkArray(fn, 'categories.names', categories.names, Array);
  const { labels, names } = categories;
  if (labels.length !== itemConcept.length) {
    throw new InvalidArgumentError(
      `'categories.labels' must have ${itemConcept.length} elements (one per item) but has ${labels.length}`,
    );
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === NO_CATEGORY) continue;
    if (labels[i] >= names.length) {
      throw new InvalidArgumentError(`'categories.labels[${i}]' = ${labels[i]} has no name (${names.length} names)`);
    }
    a.push(itemConcept[i]);
    b.push(labels[i]);
  }
  const nb = Math.max(names.length, 1);
  const r = kernels.alignment({ a: Uint32Array.from(a), na: concepts, b: Uint32Array.from(b), nb });
  const table: number[][] = [];
  for (let k = 0; k < concepts; k++) table.push([...r.table.subarray(k * nb, (k + 1) * nb)]);
  return {
    nmi: r.nmi,
    ari: r.ari,
    accuracy: r.accuracy,
    labelledItems: a.length,
    categoryNames: names,
    table,
    match: [...r.match].map((m) => (m === 0xffffffff ? null : m)),
  };
}

export function analyzeMacro(input: MacroInput): MacroAnalysis {
  checkObject('analyzeMacro', 'input', input);
  checkObject('analyzeMacro', 'input.space', input.space, 'a concept space {h, prototypes, items, d, concepts}');
  const { space, tau } = input;
  const similarity = input.similarity ?? 'cosine';
  const asg = kernels.assignConcepts({ ...space, tau, similarity });
  const K = space.concepts;
  const itemsPerConcept = new Array<number>(K).fill(0);
  const confSum = new Array<number>(K).fill(0);
  for (let i = 0; i < space.items; i++) {
    itemsPerConcept[asg.concept[i]]++;
    confSum[asg.concept[i]] += asg.confidence[i];
  }
  const out: MacroAnalysis = {
    concepts: K,
    similarity,
    c: asg.c,
    itemConcept: asg.concept,
    itemConfidence: asg.confidence,
    itemsPerConcept,
    meanConfidence: confSum.map((s, k) => (itemsPerConcept[k] ? s / itemsPerConcept[k] : Number.NaN)),
    largestShare: space.items ? Math.max(...itemsPerConcept) / space.items : 0,
  };
  if (input.x) {
    const conf = kernels.userConceptConfidence({ c: asg.c, items: space.items, concepts: K, x: input.x });
    const users = input.x.indptr.length - 1;
    const share = new Array<number>(K).fill(0);
    let active = 0;
    let withItems = 0;
    for (let u = 0; u < users; u++) {
      const n = input.x.indptr[u + 1] - input.x.indptr[u];
      if (n === 0) continue;
      withItems++;
      for (let k = 0; k < K; k++) {
        const s = conf[u * K + k] / n;
        share[k] += s;
        if (s >= 0.1) active++;
      }
    }
    out.users = {
      users,
      confidence: conf,
      meanShare: share.map((s) => (withItems ? s / withItems : 0)),
      meanActiveConcepts: withItems ? active / withItems : 0,
    };
  }
  if (input.categories) out.alignment = conceptAlignment(asg.concept, K, input.categories);
  return out;
}
