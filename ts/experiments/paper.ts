/**
 * Published numbers to print beside `reproduce`'s rows, with where they come from.
 *
 * - The MacridVAE paper's Table 1 (Ma et al., NeurIPS 2019) on its "ML-100k", which is MovieLens
 *   latest-small after its preprocessing (603 users, 5,697 items, 47,922 interactions; paper Table 2;
 *   `shared/docs/paper.md`, `shared/data/README.md`), 50 held-out users: MultDAE, β-MultVAE, MacridVAE.
 * - The project's PyTorch reference (`reference/torch/README.md`, "Numbers it gave") on the same split:
 *   EASE (λ chosen on validation: 100) and popularity.
 *
 * A dataset is recognized by its split's counts.
 */
import { csrRows } from '../csr.js';
import type { SplitData } from '../data/types.js';

export interface PublishedRow {
  'ndcg@100': number;
  'recall@20': number;
  'recall@50': number;
  /** Standard errors where published. */
  se?: { 'ndcg@100': number; 'recall@20': number; 'recall@50': number };
  source: string;
}

export interface PublishedDataset {
  name: string;
  /** Keyed by the row names of `reproduce` (`MacridVAE`, `β-MultVAE`, `MultDAE`, `EASE`, `popularity`, …). */
  rows: Record<string, PublishedRow>;
}

const PAPER = 'Ma et al. 2019, Table 1';
const REFERENCE = 'reference/torch README (PyTorch/numpy, same split)';

export const ML_LATEST_SMALL: PublishedDataset = {
  name: 'ml-latest-small (the paper\'s "ML-100k"), 50 held-out users',
  rows: {
    MultDAE: {
      'ndcg@100': 0.24487,
      'recall@20': 0.23794,
      'recall@50': 0.32279,
      se: { 'ndcg@100': 0.02738, 'recall@20': 0.03605, 'recall@50': 0.0407 },
      source: PAPER,
    },
    'β-MultVAE': {
      'ndcg@100': 0.27484,
      'recall@20': 0.24838,
      'recall@50': 0.3527,
      se: { 'ndcg@100': 0.02883, 'recall@20': 0.03294, 'recall@50': 0.03927 },
      source: PAPER,
    },
    MacridVAE: {
      'ndcg@100': 0.28895,
      'recall@20': 0.30951,
      'recall@50': 0.41309,
      se: { 'ndcg@100': 0.02739, 'recall@20': 0.03808, 'recall@50': 0.04503 },
      source: PAPER,
    },
    EASE: { 'ndcg@100': 0.341, 'recall@20': 0.334, 'recall@50': 0.458, source: REFERENCE },
    popularity: { 'ndcg@100': 0.188, 'recall@20': 0.167, 'recall@50': 0.251, source: REFERENCE },
  },
};

/**
 * The published numbers for this split, when it is one of the paper's datasets: ml-latest-small under
 * the reference split with 50 held-out users has 5,697 items, 503 training users and 50 validation
 * users (and 49 test users: one test user's items all fall outside the training items).
 */
export function publishedFor(data: SplitData): PublishedDataset | undefined {
  if (data.items === 5697 && csrRows(data.train) === 503 && csrRows(data.validation.foldIn) === 50) {
    return ML_LATEST_SMALL;
  }
  return undefined;
}
