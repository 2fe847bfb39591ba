/**
 * What the `traverse` and `analyze` commands need from a trained model and its dataset, independent
 * of how the model directory is stored: the commands are built over an {@link OpenModel} function, and
 * the registry (`commands/index.ts`) passes the one that reads model directories.
 */
import type { UserComponents } from '../analysis/micro.js';
import type { Csr } from '../csr.js';
import type { ConceptSpace } from '../wasm/control.js';

export interface ModelView {
  /** A name for reports (e.g. the model directory's base name). */
  name: string;
  /** Item representations `h` and prototypes `m`. */
  space: ConceptSpace;
  /** The model's temperature τ. */
  tau: number;
  /** External item id (e.g. MovieLens movieId) of each item column. */
  itemIds: string[];
  /** Item titles by column, when the dataset has them. */
  titles?: (string | undefined)[];
  /** Users' concept components `μ_u^(k)` (evaluation mode) for a batch of users over the item columns. */
  encode(x: Csr): Promise<UserComponents>;
}

export interface DataView {
  /** Training users × item columns (the same columns as the model's). */
  train: Csr;
  /** A file the categories can be read from by default (e.g. MovieLens `movies.csv`), if the dataset has one. */
  categoriesFile?: string;
}

export type OpenModel = (modelDir: string) => Promise<ModelView>;
export type OpenData = (dataDir: string, model: ModelView) => Promise<DataView>;
