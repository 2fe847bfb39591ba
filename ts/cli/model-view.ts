/**
 * What the `traverse` and `analyze` commands need from a trained model and from its dataset. The
 * commands are built over {@link OpenModel} and {@link OpenData} (tests pass in-memory ones); the
 * registry (`commands/index.ts`) passes {@link openModel} and {@link openData}, which read model and
 * dataset directories.
 */

import { basename, resolve } from 'node:path';
import { categoriesFromGenres } from '../analysis/categories.js';
import type { Categories } from '../analysis/macro.js';
import type { UserComponents } from '../analysis/micro.js';
import { type Csr, csrRows, csrSliceRows } from '../csr.js';
import { loadDataset } from '../data/store.js';
import { InvalidArgumentError } from '../errors.js';
import { itemEmbeddings, prototypes, userConcepts } from '../models/inspect.js';
import { type BackendName, selectBackend } from '../tf/backend.js';
import { loadModel } from '../train/checkpoint.js';
import type { Similarity } from '../wasm/analysis.js';
import type { ConceptSpace } from '../wasm/control.js';

export interface ModelView {
  /** A name for reports (e.g. the model directory's base name). */
  name: string;
  /** Item representations `h` and prototypes `m`. */
  space: ConceptSpace;
  /** The model's temperature τ. */
  tau: number;
  /** How the model compares items with prototypes (default `'cosine'`). */
  similarity?: Similarity;
  /** How the prototypes were initialized, when known. */
  prototypeInit?: 'random' | 'kmeans';
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

/** Users per `userConcepts` call when encoding (bounds the tfjs tensors of one call). */
const ENCODE_BATCH = 500;

/**
 * A MacridVAE model directory written by `macridvae train` (`ts/train/checkpoint.ts`): `h`, `m` and τ
 * from its weights and config; `encode` computes `μ` with the model (tfjs; the backend is selected on
 * first use with `backend`, default `auto`).
 */
export async function openModel(dir: string, backend: BackendName = 'auto'): Promise<ModelView> {
  const stored = loadModel(dir);
  if (stored.config.kind !== 'macridvae') {
    throw new InvalidArgumentError(`${dir} holds a '${stored.config.kind}' model; concepts need a MacridVAE model`);
  }
  const h = itemEmbeddings(stored);
  const m = prototypes(stored);
  let ready: Promise<unknown> | undefined;
  return {
    name: basename(resolve(dir)),
    space: { h: h.data, prototypes: m.data, items: h.rows, d: h.cols, concepts: m.rows },
    tau: stored.config.tau,
    similarity: stored.config.similarity,
    prototypeInit: stored.config.prototypeInit,
    async encode(x: Csr): Promise<UserComponents> {
      if (!ready) ready = selectBackend(backend);
      await ready;
      const users = csrRows(x);
      const { concepts, d } = { concepts: m.rows, d: h.cols };
      const mu = new Float32Array(users * concepts * d);
      for (let lo = 0; lo < users; lo += ENCODE_BATCH) {
        const hi = Math.min(users, lo + ENCODE_BATCH);
        const u = userConcepts(stored, csrSliceRows(x, lo, hi));
        mu.set(u.data, lo * concepts * d);
      }
      return { mu, users, concepts, d };
    },
  };
}
