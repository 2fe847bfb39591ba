/**
 * Known item categories for the alignment analysis, read from a file:
 *
 * - MovieLens `movies.csv` (header `movieId,title,genres`): an item's category is its first listed
 *   genre (`(no genres listed)` = unknown); the titles come along;
 * - any other `item<sep>category` file, `<sep>` a tab or a comma, with an optional header line whose
 *   first field is `item`, `itemId`, `item_id` or `movieId`.
 *
 * Items are matched by their external id (`itemIds`, the model's item columns in order); lines for ids
 * the model does not have are ignored, model items without a line are unknown. Errors name the file
 * and line.
 */
import { readFileSync } from 'node:fs';
import { ParseError } from '../errors.js';
import { type Categories, NO_CATEGORY } from './macro.js';

export interface CategoryFile extends Categories {
  /** Titles by item column, when the file has them (MovieLens). */
  titles?: (string | undefined)[];
  /** Model items that got a category. */
  matched: number;
}

/** Splits one CSV line (RFC 4180 quoting: `"a, b"`, `""` for a quote). */
export function splitCsvLine(line: string, where: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let p = 0; p < line.length; p++) {
    const ch = line[p];
    if (quoted) {
      if (ch === '"') {
        if (line[p + 1] === '"') {
          field += '"';
          p++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      out.push(field);
      field = '';
    } else field += ch;
  }
  if (quoted) throw new ParseError(`${where}: unterminated quoted field`);
  out.push(field);
  return out;
}

const HEADER_FIRST = new Set(['item', 'itemid', 'item_id', 'movieid']);

/** Parses category text (see the module doc); `name` is used in error messages. */
export function parseCategories(text: string, name: string, itemIds: string[]): CategoryFile {
  const column = new Map<string, number>();
  itemIds.forEach((id, c) => {
    column.set(id, c);
  });
  const labels = new Uint32Array(itemIds.length).fill(NO_CATEGORY);
  const names: string[] = [];
  const nameIndex = new Map<string, number>();
  const lines = text.split(/\r?\n/);
  const first = lines[0] ?? '';
  const movieLens = /^movieId,title,genres$/i.test(first.trim());
  const titles: (string | undefined)[] | undefined = movieLens ? new Array(itemIds.length) : undefined;
  const seen = new Set<number>();
  let matched = 0;
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln];
    if (line.trim() === '') continue;
    const where = `${name}:${ln + 1}`;
    let id: string;
    let category: string | undefined;
    let title: string | undefined;
    if (movieLens) {
      if (ln === 0) continue;
      const f = splitCsvLine(line, where);
      if (f.length !== 3)
        throw new ParseError(`${where}: expected 3 fields (movieId,title,genres) but found ${f.length}`);
      id = f[0];
      title = f[1];
      const g = f[2].split('|')[0];
      category = g === '(no genres listed)' || g === '' ? undefined : g;
    } else {
      const f = line.includes('\t') ? line.split('\t') : splitCsvLine(line, where);
      if (f.length < 2) throw new ParseError(`${where}: expected 'item<tab or comma>category' but found '${line}'`);
      if (ln === 0 && HEADER_FIRST.has(f[0].trim().toLowerCase())) continue;
      id = f[0].trim();
      category = f[1].trim() === '' ? undefined : f[1].trim();
    }
    const c = column.get(id);
    if (c === undefined) continue;
    if (seen.has(c)) throw new ParseError(`${where}: item '${id}' is listed twice`);
    seen.add(c);
    if (titles) titles[c] = title;
    if (category === undefined) continue;
    let k = nameIndex.get(category);
    if (k === undefined) {
      k = names.length;
      names.push(category);
      nameIndex.set(category, k);
    }
    labels[c] = k;
    matched++;
  }
  return { labels, names, titles, matched };
}

export function readCategories(path: string, itemIds: string[]): CategoryFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ParseError(`cannot read categories file ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parseCategories(text, path, itemIds);
}

/**
 * Categories from per-item genre lists (e.g. a dataset's MovieLens genres): each item's category is its
 * first genre; an item without genres is unknown. Names are in order of first appearance.
 */
export function categoriesFromGenres(genres: string[][]): Categories {
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
