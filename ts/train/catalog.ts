/**
 * The item catalogue of a model directory (`items.json`, layout in `docs/model-format.md`): what makes
 * a model directory self-contained for serving by the dataset's own item ids.
 *
 * ```jsonc
 * { "format": "macridvae-items", "formatVersion": 1, "items": 9724,
 *   "ids": ["1", "2", …],                 // the dataset's item id of each column
 *   "titles": ["Toy Story (1995)", …],    // when the dataset has titles ("" where one is missing)
 *   "categories": [["Adventure", …], …],  // when the dataset has genres
 *   "popularity": [215, 110, …] }         // training clicks per item (the fallback for an empty history)
 * ```
 *
 * `train` (and `tune`, whose `best/` is a trial's directory) writes it when the model directory is
 * created. A directory written before it existed has none: {@link loadCatalog} then reads the ids,
 * titles and genres from the dataset directory (`--data DIR`), or falls back to column numbers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Csr } from '../csr.js';
import { InvalidArgumentError, ParseError } from '../errors.js';

export const CATALOG_FILE = 'items.json';

/** Item ids and metadata by column. */
export interface ItemCatalog {
  /** The dataset's item id of each column. */
  ids: string[];
  /** Titles by column (`''` where missing), when the dataset has them. */
  titles?: string[];
  /** Categories (genres) by column, when the dataset has them. */
  categories?: string[][];
  /** Training clicks per column. */
  popularity: number[];
}

/** What a dataset offers for a catalogue (a `Dataset` of `ts/data/store.ts` fits). */
export interface CatalogSource {
  items: number;
  train: Csr;
  itemIds?: string[];
  itemTitles?: string[];
  itemGenres?: string[][];
}

/** Column numbers as ids (for data without ids). */
export function columnIds(items: number): string[] {
  return Array.from({ length: items }, (_, i) => String(i));
}

/** The catalogue of a dataset: its ids (column numbers when it has none), titles, genres and training clicks. */
export function catalogOf(data: CatalogSource): ItemCatalog {
  const popularity = new Array<number>(data.items).fill(0);
  for (const i of data.train.indices) popularity[i]++;
  const cat: ItemCatalog = { ids: data.itemIds ?? columnIds(data.items), popularity };
  if (data.itemTitles) cat.titles = data.itemTitles;
  if (data.itemGenres) cat.categories = data.itemGenres;
  return cat;
}

/** The text of `items.json` (model directories get it through `ModelDirWriter.open`'s `files`). */
export function catalogJson(cat: ItemCatalog): string {
  return `${JSON.stringify({ format: 'macridvae-items', formatVersion: 1, items: cat.ids.length, ...cat })}\n`;
}

/** Reads `items.json` of a model directory, checking it against the model's `items`; undefined when absent. */
export function readCatalog(dir: string, items: number): ItemCatalog | undefined {
  const path = join(dir, CATALOG_FILE);
  if (!existsSync(path)) return undefined;
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ParseError(`${path}: invalid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (j.format !== 'macridvae-items') throw new ParseError(`${path}: 'format' must be 'macridvae-items'`);
  const ids = j.ids;
  if (!Array.isArray(ids) || ids.length !== items || !ids.every((s) => typeof s === 'string')) {
    throw new ParseError(`${path}: 'ids' must be ${items} strings (the model's items)`);
  }
  const popularity = j.popularity;
  if (!Array.isArray(popularity) || popularity.length !== items || !popularity.every((p) => Number.isFinite(p))) {
    throw new ParseError(`${path}: 'popularity' must be ${items} numbers`);
  }
  const cat: ItemCatalog = { ids: ids as string[], popularity: popularity as number[] };
  for (const key of ['titles', 'categories'] as const) {
    const v = j[key];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.length !== items) throw new ParseError(`${path}: '${key}' must have ${items} entries`);
    (cat as unknown as Record<string, unknown>)[key] = v;
  }
  return cat;
}

/**
 * The catalogue of a model directory: its `items.json`, else one built from `data` (the model's
 * dataset, for directories written before `items.json` existed), else column numbers with no
 * popularity. `data` must have the model's item count.
 */
export function loadCatalog(dir: string, items: number, data?: CatalogSource): ItemCatalog {
  const own = readCatalog(dir, items);
  if (own) return own;
  if (data) {
    if (data.items !== items) {
      throw new InvalidArgumentError(
        `the model in ${dir} scores ${items} items but the dataset has ${data.items}: not the model's dataset`,
      );
    }
    return catalogOf(data);
  }
  return { ids: columnIds(items), popularity: new Array<number>(items).fill(0) };
}
