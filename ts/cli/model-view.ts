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
import { datasetFingerprint, loadModel, sameDatasetFingerprint } from '../train/checkpoint.js';
import type { Similarity } from '../wasm/analysis.js';
import type { ConceptSpace } from '../wasm/control.js';
import { UsageError } from './args.js';

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
  /** Fingerprint of the dataset the model was trained on (`datasetFingerprint`), when known. */
  datasetFingerprint?: string;
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
  /** The dataset's fingerprint (`datasetFingerprint`), when known. */
  fingerprint?: string;
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
    fingerprint: datasetFingerprint(ds),
  };
}

/** The option that lets a command use a model with a dataset other than its own (then with a warning). */
export const ALLOW_OTHER_DATA = {
  'allow-other-data': {
    type: 'boolean',
    default: false,
    description: "use --data even when it is not the model's dataset (a warning instead of an error)",
  },
} as const;

/** `--column-ids`: without `--data`, item ids are column numbers (asked for, never implied). */
export const COLUMN_IDS_OPTION = {
  'column-ids': {
    type: 'boolean',
    default: false,
    description: 'without --data: item ids are the column numbers',
  },
} as const;

/**
 * Rule: a model is used only with the data it was trained on. Compares the dataset fingerprint the
 * model stores with the given dataset's: a different one is refused (its columns may be other items),
 * unless `allow` (`--allow-other-data`), which turns it into a warning, returned for the output (`--json`
 * carries it as `warnings`) and printed on stderr.
 */
export function checkSameDataset(
  cmd: string,
  model: { dir: string; fingerprint?: string; items: number },
  data: { dir: string; fingerprint?: string; items: number },
  allow: boolean,
): string[] {
  const problems: string[] = [];
  if (model.items !== data.items) {
    problems.push(
      `the model in ${model.dir} scores ${model.items} items but the dataset ${data.dir} has ${data.items}`,
    );
  } else if (
    model.fingerprint !== undefined &&
    data.fingerprint !== undefined &&
    !sameDatasetFingerprint(model.fingerprint, data.fingerprint)
  ) {
    problems.push(
      `${data.dir} is not the dataset the model in ${model.dir} was trained on (dataset fingerprint ${data.fingerprint.slice(0, 12)}… ≠ the model's ${model.fingerprint.slice(0, 12)}…): its item columns may stand for other items`,
    );
  }
  if (problems.length === 0) return [];
  if (!allow || model.items !== data.items) {
    const hint = model.items !== data.items ? '' : '; pass --allow-other-data to use it anyway';
    throw new InvalidArgumentError(`macridvae ${cmd}: ${problems[0]}${hint}`);
  }
  const warnings = problems.map((p) => `${p} (used anyway: --allow-other-data)`);
  for (const w of warnings) console.error(`warning: ${w}`);
  return warnings;
}

/**
 * Rule: ids are never silently reinterpreted. Without `--data`, item ids can only be column numbers,
 * which the user must ask for with `--column-ids`.
 */
export function requireIdSource(cmd: string, data: string | undefined, columnIds: boolean): void {
  if (data === undefined && !columnIds) {
    throw new UsageError(
      `macridvae ${cmd}: --data DIR (the model's dataset) is needed to read item ids; pass --column-ids to give column numbers instead`,
    );
  }
  if (data !== undefined && columnIds) {
    throw new UsageError(`macridvae ${cmd}: --column-ids and --data exclude each other`);
  }
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
    datasetFingerprint: stored.manifest.dataset?.fingerprint,
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
