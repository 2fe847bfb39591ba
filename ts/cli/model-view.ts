/**
 * What the `traverse` and `analyze` commands need from a trained model and from its dataset. The
 * commands are built over {@link OpenModel} and {@link OpenData}; the registry (`commands/index.ts`)
 * passes the functions that read model and dataset directories.
 */
import { categoriesFromGenres } from '../analysis/categories.js';
import type { Categories } from '../analysis/macro.js';
import type { UserComponents } from '../analysis/micro.js';
import type { Csr } from '../csr.js';
import { loadDataset } from '../data/store.js';
import type { ConceptSpace } from '../wasm/control.js';

export interface ModelView {
  /** A name for reports (e.g. the model directory's base name). */
  name: string;
  /** Item representations `h` and prototypes `m`. */
  space: ConceptSpace;
  /** The model's temperature τ. */
  tau: number;
  /** Users' concept components `μ_u^(k)` (evaluation mode) for a batch of users over the item columns. */
  encode(x: Csr): Promise<UserComponents>;
}

export interface DatasetView {
  /** Training users × item columns. */
  train: Csr;
  /** Raw item id of each column. */
  itemIds: string[];
  /** Item titles by column, when the dataset has them. */
  titles?: (string | undefined)[];
  /** Item categories (first genre) when the dataset has genres. */
  categories?: Categories;
}

export type OpenModel = (modelDir: string) => Promise<ModelView>;
export type OpenData = (dataDir: string) => Promise<DatasetView>;

/** A dataset directory written by `macridvae data prepare` (`ts/data/store.ts`). */
export async function openData(dir: string): Promise<DatasetView> {
  const ds = await loadDataset(dir);
  return {
    train: ds.train,
    itemIds: ds.itemIds,
    titles: ds.itemTitles?.map((x) => (x === '' ? undefined : x)),
    categories: ds.itemGenres ? categoriesFromGenres(ds.itemGenres) : undefined,
  };
}

/** Item ids when no dataset is given: the column numbers. */
export function columnIds(items: number): string[] {
  return Array.from({ length: items }, (_, i) => String(i));
}
