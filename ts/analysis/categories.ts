/**
 * Known item categories for the alignment analysis: from a metadata file (read by the dataset's
 * metadata reader) or from a dataset's genre lists. An item's category is its first genre; an item
 * without one is unknown (left out of the alignment).
 */
import { alignItemMetadata, readItemMetadata } from '../data/metadata.js';
import { InvalidArgumentError } from '../errors.js';
import { checkArray, checkPath } from '../validate.js';
import { type Categories, NO_CATEGORY } from './macro.js';

export interface CategoryFile extends Categories {
  /** Titles by item column, when the file has them (MovieLens). */
  titles?: (string | undefined)[];
  /** Model items that got a category. */
  matched: number;
}

/**
 * Reads item categories (and titles, when the file has them) for the model's item columns; the file
 * formats are those of the dataset metadata reader (`readItemMetadata`: MovieLens `movies.csv`,
 * `movies.dat`, `u.item`, Netflix titles, generic `item<sep>category`). An item's category is its
 * first genre or category.
 */
export function readCategories(path: string, itemIds: string[]): CategoryFile {
  checkPath('readCategories', 'path', path);
  checkArray('readCategories', 'itemIds', itemIds, Array);
  const meta = alignItemMetadata(itemIds, readItemMetadata(path));
  const cats = categoriesFromGenres(meta.genres);
  const hasTitles = meta.titles.some((x) => x !== '');
  let matched = 0;
  for (const l of cats.labels) if (l !== NO_CATEGORY) matched++;
  return { ...cats, matched, ...(hasTitles ? { titles: meta.titles.map((x) => (x === '' ? undefined : x)) } : {}) };
}

/**
 * Categories from per-item genre lists (e.g. a dataset's MovieLens genres): each item's category is its
 * first genre; an item without genres is unknown. Names are in order of first appearance.
 */
export function categoriesFromGenres(genres: string[][]): Categories {
  if (!Array.isArray(genres))
    throw new InvalidArgumentError(`'genres' passed to categoriesFromGenres() must be an array`);
  const labels = new Uint32Array(genres.length).fill(NO_CATEGORY);
  const names: string[] = [];
  const index = new Map<string, number>();
  genres.forEach((g, i) => {
    const first = g.find((x) => x !== '' && x !== '(no genres listed)');
    if (first === undefined) return;
    let k = index.get(first);
    if (k === undefined) {
      k = names.length;
      names.push(first);
      index.set(first, k);
    }
    labels[i] = k;
  });
  return { labels, names };
}
