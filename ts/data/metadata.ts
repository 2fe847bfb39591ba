/**
 * Item metadata (titles and genres or categories) for the columns of a dataset. Parsing is in Rust
 * (`crates/macrid-core/src/meta.rs`: MovieLens `movies.csv`/`movies.dat`/`u.item`, Netflix
 * `movie_titles.txt`, generic item → category files; Latin-1 files are decoded); metadata files are
 * small, so each is read whole (as bytes).
 */
import { readFileSync } from 'node:fs';
import { ParseError } from '../errors.js';
import { type ItemMetaFormat, lines, parseItemMeta } from '../wasm/data.js';
import { threadInstance, type WasmInstance } from '../wasm/raw.js';

export interface ItemMeta {
  title: string;
  genres: string[];
}

/** Reads an item metadata file into raw item id → {title, genres}. */
export function readItemMetadata(
  path: string,
  options: { format?: ItemMetaFormat; uGenre?: string; instance?: WasmInstance } = {},
): Map<string, ItemMeta> {
  const data = readFileSync(path);
  const uGenre = options.uGenre ? readFileSync(options.uGenre) : undefined;
  let out: Uint8Array;
  try {
    out = parseItemMeta(options.instance ?? threadInstance(), { data, format: options.format, uGenre });
  } catch (e) {
    if (e instanceof ParseError) throw new ParseError(`${path}: ${e.message.replace(/^parseItemMeta: /, '')}`);
    throw e;
  }
  const map = new Map<string, ItemMeta>();
  for (const line of lines(out)) {
    const [id, title, genres] = line.split('\t');
    map.set(id, { title, genres: genres === '' ? [] : genres.split('|') });
  }
  return map;
}

/** Titles and genres aligned with `itemIds` (missing items get `''` and `[]`), and how many matched. */
export function alignItemMetadata(
  itemIds: string[],
  meta: Map<string, ItemMeta>,
): { titles: string[]; genres: string[][]; matched: number } {
  const titles: string[] = [];
  const genres: string[][] = [];
  let matched = 0;
  for (const id of itemIds) {
    const m = meta.get(id);
    if (m) matched++;
    titles.push(m?.title ?? '');
    genres.push(m?.genres ?? []);
  }
  return { titles, genres, matched };
}
