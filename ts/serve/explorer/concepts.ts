/**
 * What the explorer page needs to name MacridVAE's concepts: each item's concept (paper eq. 6 in
 * evaluation mode, `c_i = softmax_k(cos(h_i, m_k)/τ)`, the item's concept `argmax_k c_ik`), and for each
 * concept a label: its most typical items and, when the catalogue has categories (MovieLens genres),
 * its dominant and its most over-represented category.
 *
 * - **Typical items** of concept k: the items whose concept is k, ranked by `c_ik · ln(1 + clicks_i)`:
 *   confidently in the concept and well known (a person recognises them), ties to the lower column.
 * - **Dominant category**: the category carried by the largest share of the concept's items (an item
 *   counts once for each of its categories; `(no genres listed)` is ignored).
 * - **Distinctive category**: the largest lift `share in the concept / share in the catalogue` among
 *   categories held by at least 10 % of the concept's items (and at least 2 of them), so that a
 *   category shared by every concept (Drama) does not name them all.
 */
import { PALETTE } from '../../analysis/palette.js';
import { InvalidArgumentError } from '../../errors.js';
import { kernels } from '../../runtime/kernels.js';

/** The model side the explorer reads: MacridVAE's scoring form (`MacridScoring`) fits. */
export interface ExplorerModel {
  kind: string;
  items: number;
  concepts?: number;
  d?: number;
  tau?: number;
  /** Cosine similarity (the paper's) or the inner-product ablation. */
  cosine?: boolean;
  /** `items × d` item representations. */
  h?: Float32Array;
  /** `concepts × d` prototypes. */
  prototypes?: Float32Array;
}

/** The catalogue side (`ItemCatalog` of the model directory fits). */
export interface ExplorerCatalog {
  ids: string[];
  titles?: string[];
  categories?: string[][];
  /** Training clicks per item. */
  popularity: number[];
}

/** A MacridVAE's item space with each item's concept. */
export interface ConceptState {
  items: number;
  concepts: number;
  d: number;
  h: Float32Array;
  prototypes: Float32Array;
  /** `items × concepts` assignment `c`. */
  c: Float32Array;
  /** `argmax_k c_ik`. */
  concept: Uint32Array;
  /** `max_k c_ik`. */
  confidence: Float32Array;
}

export interface LabelItem {
  id: string;
  title?: string;
  /** `c_ik` of the item's own concept. */
  share: number;
  popularity: number;
}

export interface CategoryShare {
  name: string;
  /** Share of the concept's items carrying the category. */
  share: number;
  /** That share over the category's share of the whole catalogue. */
  lift: number;
}

export interface ConceptLabel {
  concept: number;
  /** Its colour in the page (and in `analyze`'s figures): `PALETTE[k mod 20]`. */
  colour: string;
  /** Items whose concept this is. */
  size: number;
  /** Share of all training clicks that go to the concept's items. */
  clicks: number;
  /** The most typical items (see the module doc), best first. */
  items: LabelItem[];
  /** When the catalogue has categories. */
  category?: CategoryShare;
  distinctive?: CategoryShare;
}

const NO_GENRE = '(no genres listed)';

/** Checks that the model is a MacridVAE with its item space, and assigns every item its concept. */
export function conceptState(model: ExplorerModel): ConceptState {
  const { h, prototypes, concepts, d, tau } = model;
  if (model.kind !== 'macridvae' || !h || !prototypes || !concepts || !d || !tau) {
    throw new InvalidArgumentError(`the explorer's concepts need a MacridVAE model, not '${model.kind}'`);
  }
  const a = kernels.assignConcepts({
    h,
    prototypes,
    items: model.items,
    d,
    concepts,
    tau,
    similarity: model.cosine === false ? 'inner' : 'cosine',
  });
  return { items: model.items, concepts, d, h, prototypes, ...a };
}

function categoryCounts(cats: string[][], keep: (i: number) => boolean): { counts: Map<string, number>; n: number } {
  const counts = new Map<string, number>();
  let n = 0;
  cats.forEach((g, i) => {
    if (!keep(i)) return;
    n++;
    for (const name of new Set(g)) {
      if (name === '' || name === NO_GENRE) continue;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
  });
  return { counts, n };
}

/** Each concept's label (see the module doc); `top` typical items per concept. */
export function conceptLabels(state: ConceptState, catalog: ExplorerCatalog, top = 5): ConceptLabel[] {
  const { items, concepts: K, concept, confidence } = state;
  if (catalog.ids.length !== items || catalog.popularity.length !== items) {
    throw new InvalidArgumentError(`the catalogue must describe the model's ${items} items`);
  }
  const totalClicks = catalog.popularity.reduce((a, b) => a + b, 0);
  const all = catalog.categories ? categoryCounts(catalog.categories, () => true) : undefined;
  const out: ConceptLabel[] = [];
  for (let k = 0; k < K; k++) {
    const members: number[] = [];
    let clicks = 0;
    for (let i = 0; i < items; i++) {
      if (concept[i] !== k) continue;
      members.push(i);
      clicks += catalog.popularity[i];
    }
    const typicality = (i: number) => confidence[i] * Math.log1p(catalog.popularity[i]);
    members.sort((a, b) => typicality(b) - typicality(a) || a - b);
    const label: ConceptLabel = {
      concept: k,
      colour: PALETTE[k % PALETTE.length],
      size: members.length,
      clicks: totalClicks > 0 ? clicks / totalClicks : 0,
      items: members.slice(0, top).map((i) => {
        const title = catalog.titles?.[i];
        return {
          id: catalog.ids[i],
          ...(title ? { title } : {}),
          share: confidence[i],
          popularity: catalog.popularity[i],
        };
      }),
    };
    if (catalog.categories && all && all.n > 0) {
      const mine = categoryCounts(catalog.categories, (i) => concept[i] === k);
      let dominant: CategoryShare | undefined;
      let distinctive: CategoryShare | undefined;
      // Names in sorted order so that ties go to the same category on every run.
      for (const name of [...mine.counts.keys()].sort()) {
        const count = mine.counts.get(name)!;
        const share = count / mine.n;
        const lift = share / ((all.counts.get(name) ?? count) / all.n);
        if (!dominant || share > dominant.share) dominant = { name, share, lift };
        if (count >= 2 && share >= 0.1 && (!distinctive || lift > distinctive.lift))
          distinctive = { name, share, lift };
      }
      if (dominant) label.category = dominant;
      if (distinctive) label.distinctive = distinctive;
    }
    out.push(label);
  }
  return out;
}
