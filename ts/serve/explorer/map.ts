/**
 * The explorer's 2-D item map: `analyze`'s t-SNE map (paper Figure 2, `ts/analysis/map.ts`) of a set of
 * well-known items, with every other item placed beside its nearest embedded items, so that any history
 * or recommendation can be marked on it.
 *
 * - **Embedded items**: per concept, its most popular items (training clicks, ties to the lower column),
 *   as many as the concept's share of the catalogue gives out of `maxItems` (at least one per non-empty
 *   concept). Exact t-SNE costs O(n²) per iteration, so n stays about 1000 (≈ 6 s on one shared core).
 * - **Placed items**: each other item `i` goes to the mean of the positions of its 3 most similar
 *   embedded items (cosine of the `h`), weighted by `max(cos, 0) + 1e-3`. This is the usual
 *   out-of-sample approximation, not a t-SNE position; the answer says which items were embedded.
 *
 * Coordinates are scaled into [0, 1] keeping the aspect ratio. Seeded: the same model and options give
 * the same map.
 */
import { conceptMap } from '../../analysis/map.js';
import { Runtime } from '../../runtime/runtime.js';
import { checkInt } from '../../validate.js';
import type { KernelPool } from '../../workers/pool.js';
import type { ConceptState } from './concepts.js';

export interface ExplorerMapOptions {
  /** Items embedded by t-SNE (the others are placed). Default 1000. */
  maxItems?: number;
  /** t-SNE iterations. Default 1000. */
  iterations?: number;
  /** t-SNE perplexity. Default 30. */
  perplexity?: number;
  /** Default 98765. */
  seed?: number;
  /** Run t-SNE (seconds) and the placement there instead of on the calling thread. */
  pool?: KernelPool;
}

export interface ExplorerMap {
  /** Item ids, all items. */
  ids: string[];
  /** Their titles, when the catalogue has them (`''` where one is missing). */
  titles?: string[];
  /** Positions in [0, 1], aligned with `ids` (rounded to 1e-4). */
  x: number[];
  y: number[];
  /** Each item's concept. */
  concept: number[];
  /** 1 when the item was embedded by t-SNE, 0 when placed beside its neighbours. */
  embedded: number[];
  kl: number;
  perplexity: number;
  iterations: number;
  seed: number;
}

/** Neighbours used to place an item that was not embedded. */
const PLACE_NEIGHBOURS = 3;
/** Rows of the similarity block computed at once (bounds memory: rows × embedded floats). */
const CHUNK = 1024;

/** The embedded items (see the module doc), ascending. */
export function mapItems(state: ConceptState, popularity: number[], maxItems: number): number[] {
  const byConcept: number[][] = Array.from({ length: state.concepts }, () => []);
  for (let i = 0; i < state.items; i++) byConcept[state.concept[i]].push(i);
  const chosen: number[] = [];
  for (const ids of byConcept) {
    if (ids.length === 0) continue;
    const n = Math.max(1, Math.round((ids.length / state.items) * maxItems));
    ids.sort((a, b) => popularity[b] - popularity[a] || a - b);
    chosen.push(...ids.slice(0, n));
  }
  return chosen.sort((a, b) => a - b);
}

function unitRows(h: Float32Array, rows: number[] | number, d: number): Float32Array {
  const list = typeof rows === 'number' ? Array.from({ length: rows }, (_, i) => i) : rows;
  const out = new Float32Array(list.length * d);
  list.forEach((r, p) => {
    let s = 0;
    for (let l = 0; l < d; l++) s += h[r * d + l] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let l = 0; l < d; l++) out[p * d + l] = h[r * d + l] * inv;
  });
  return out;
}

/** Builds the map (see the module doc). */
export async function explorerMap(
  state: ConceptState,
  catalog: { ids: string[]; titles?: string[]; popularity: number[] },
  options: ExplorerMapOptions = {},
): Promise<ExplorerMap> {
  const fn = 'explorerMap';
  const { items: M, d } = state;
  const maxItems = Math.min(checkInt(fn, 'maxItems', options.maxItems ?? 1000, 2), M);
  const iterations = checkInt(fn, 'iterations', options.iterations ?? 1000, 1);
  const seed = options.seed ?? 98765;
  const chosen = mapItems(state, catalog.popularity, maxItems);
  const map = await conceptMap({
    space: state,
    itemConcept: state.concept,
    items: chosen,
    perplexity: options.perplexity,
    iterations,
    seed,
    pool: options.pool,
  });
  const x = new Float64Array(M);
  const y = new Float64Array(M);
  const embedded = new Array<number>(M).fill(0);
  map.points.forEach((p, j) => {
    const i = chosen[j];
    x[i] = p.x;
    y[i] = p.y;
    embedded[i] = 1;
  });
  // Place the others: cosines against the embedded items, a block of rows at a time.
  const n = chosen.length;
  const e = unitRows(state.h, chosen, d);
  const rest = Array.from({ length: M }, (_, i) => i).filter((i) => embedded[i] === 0);
  const runtime = Runtime.from({ pool: options.pool });
  for (let lo = 0; lo < rest.length; lo += CHUNK) {
    const rows = rest.slice(lo, lo + CHUNK);
    const sims = await runtime.run('gemm', {
      a: unitRows(state.h, rows, d),
      b: e,
      m: rows.length,
      n,
      k: d,
      transB: true,
    });
    rows.forEach((i, r) => {
      const best: Array<[number, number]> = [];
      for (let j = 0; j < n; j++) {
        const s = sims[r * n + j];
        if (best.length < PLACE_NEIGHBOURS) best.push([s, j]);
        else if (s > best[PLACE_NEIGHBOURS - 1][0]) best[PLACE_NEIGHBOURS - 1] = [s, j];
        else continue;
        best.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
      }
      let wx = 0;
      let wy = 0;
      let w = 0;
      for (const [s, j] of best) {
        const weight = Math.max(s, 0) + 1e-3;
        wx += weight * x[chosen[j]];
        wy += weight * y[chosen[j]];
        w += weight;
      }
      x[i] = wx / w;
      y[i] = wy / w;
    });
  }
  // Into [0, 1], keeping the aspect ratio.
  let x0 = Number.POSITIVE_INFINITY;
  let y0 = Number.POSITIVE_INFINITY;
  let x1 = Number.NEGATIVE_INFINITY;
  let y1 = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < M; i++) {
    x0 = Math.min(x0, x[i]);
    x1 = Math.max(x1, x[i]);
    y0 = Math.min(y0, y[i]);
    y1 = Math.max(y1, y[i]);
  }
  const span = Math.max(x1 - x0, y1 - y0) || 1;
  const round = (v: number) => Math.round(v * 1e4) / 1e4;
  return {
    ids: catalog.ids,
    ...(catalog.titles ? { titles: catalog.titles } : {}),
    x: Array.from(x, (v) => round((v - x0) / span)),
    y: Array.from(y, (v) => round((v - y0) / span)),
    concept: Array.from(state.concept),
    embedded,
    kl: map.kl,
    perplexity: map.perplexity,
    iterations: map.iterations,
    seed,
  };
}
