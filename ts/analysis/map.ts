/**
 * The 2-D map of paper Figure 2: item representations and user components embedded together by t-SNE
 * (exact, seeded, in the Rust core — see `crates/macrid-core/src/tsne.rs` for why). As in §3.3, each
 * user contributes the two components with the highest confidence `Σ_{i∈x_u} c_ik`. Vectors are
 * L2-normalized first (the model compares them by cosine). Items are sampled per concept in proportion
 * to the concept's size, users uniformly; both seeded.
 */
import { InvalidArgumentError } from '../errors.js';
import { Runtime } from '../runtime/runtime.js';
import { Rng } from '../util/rng.js';
import { checkArray, checkMemory, checkObject } from '../validate.js';
import { TSNE_MAX_POINTS } from '../wasm/analysis.js';
import type { ConceptSpace } from '../wasm/control.js';
import type { KernelPool } from '../workers/pool.js';
import type { UserComponents } from './micro.js';

export interface MapInput {
  space: ConceptSpace;
  itemConcept: Uint32Array;
  users?: UserComponents;
  /** `users × concepts` confidence (rows aligned with `users.mu`). */
  userConfidence?: Float32Array;
  /** Default 1500. */
  maxItems?: number;
  /** Embed exactly these items (columns, ascending) instead of the per-concept sample of `maxItems`. */
  items?: number[];
  /** Default 200 (each gives 2 points). */
  maxUsers?: number;
  /** Default 30. */
  perplexity?: number;
  /** Default 1000. */
  iterations?: number;
  /** Default 98765. */
  seed?: number;
  /** Run t-SNE on this pool instead of the calling thread. */
  pool?: KernelPool;
}

export interface MapPoint {
  x: number;
  y: number;
  kind: 'item' | 'user';
  /** Item id, or user row. */
  id: number;
  /** The item's concept, or the component's index k. */
  concept: number;
}

export interface ConceptMap {
  points: MapPoint[];
  kl: number;
  perplexity: number;
  iterations: number;
  seed: number;
}

function sample(rng: Rng, ids: number[], n: number): number[] {
  if (ids.length <= n) return ids;
  const a = ids.slice();
  rng.shuffle(a);
  return a.slice(0, n).sort((x, y) => x - y);
}

/**
 * The most points a map of these settings embeds: each concept's item sample rounds to at least one item
 * (so up to `maxItems + concepts`, at most every item), and each sampled user gives up to two components.
 */
export function mapPointsBound(
  space: Pick<ConceptSpace, 'items' | 'concepts'>,
  users: number,
  maxItems: number,
  maxUsers: number,
): number {
  checkObject('mapPointsBound', 'space', space, '{items, concepts}');
  return Math.min(space.items, maxItems + space.concepts) + 2 * Math.min(users, maxUsers);
}

/**
 * Refuses a map of `points` points of dimension `d` the exact t-SNE cannot hold: more than
 * {@link TSNE_MAX_POINTS}, or an `n × n` affinity matrix over the machine's memory budget (`checkMemory`).
 * `name` is the option(s) that sized it, as the caller spells them.
 */
export function checkMapSize(fn: string, name: string, points: number, d: number): void {
  if (points > TSNE_MAX_POINTS) {
    throw new InvalidArgumentError(
      `'${name}' passed to ${fn}() give up to ${points} map points, more than the ${TSNE_MAX_POINTS} the exact t-SNE embeds (its n × n affinities); lower them`,
    );
  }
  checkMemory(
    fn,
    name,
    points,
    points * points * 4 + points * (d + 8) * 8,
    `the exact t-SNE of ${points} points (n × n affinities)`,
    true,
  );
}

export async function conceptMap(input: MapInput): Promise<ConceptMap> {
  checkObject('conceptMap', 'input', input);
  checkObject('conceptMap', 'input.space', input.space, 'a concept space {h, prototypes, items, d, concepts}');
  checkArray('conceptMap', 'input.itemConcept', input.itemConcept, Uint32Array, input.space.items);
  const { space, itemConcept } = input;
  const { d, concepts } = space;
  const seed = input.seed ?? 98765;
  const rng = new Rng(seed);
  const maxItems = input.maxItems ?? 1500;
  const byConcept: number[][] = Array.from({ length: concepts }, () => []);
  for (let i = 0; i < space.items; i++) byConcept[itemConcept[i]].push(i);
  const items: number[] = input.items ? input.items.slice() : [];
  items.forEach((i, j) => {
    if (!Number.isInteger(i) || i < 0 || i >= space.items) {
      throw new InvalidArgumentError(
        `'items[${j}]' passed to conceptMap() must be an item column in [0, ${space.items}) but got ${i}`,
      );
    }
  });
  if (!input.items) {
    for (const ids of byConcept) {
      items.push(...sample(rng, ids, Math.max(1, Math.round((ids.length / Math.max(space.items, 1)) * maxItems))));
    }
  }
  const meta: Omit<MapPoint, 'x' | 'y'>[] = items.map((i) => ({ kind: 'item', id: i, concept: itemConcept[i] }));
  const vectors: Float32Array[] = items.map((i) => space.h.subarray(i * d, (i + 1) * d));
  const u = input.users;
  if (u && input.userConfidence) {
    const K = u.concepts;
    const rows = sample(
      rng,
      Array.from({ length: u.users }, (_, r) => r),
      input.maxUsers ?? 200,
    );
    for (const r of rows) {
      const conf = input.userConfidence.subarray(r * K, (r + 1) * K);
      const order = [...conf.keys()].sort((a, b) => conf[b] - conf[a] || a - b);
      for (const k of order.slice(0, Math.min(2, K))) {
        if (conf[k] <= 0) continue;
        meta.push({ kind: 'user', id: r, concept: k });
        vectors.push(u.mu.subarray((r * K + k) * u.d, (r * K + k + 1) * u.d));
      }
    }
  }
  const n = vectors.length;
  checkMapSize('conceptMap', input.items ? 'items' : 'maxItems, maxUsers', n, d);
  const x = new Float32Array(n * d);
  vectors.forEach((v, p) => {
    let s = 0;
    for (let l = 0; l < d; l++) s += v[l] * v[l];
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let l = 0; l < d; l++) x[p * d + l] = v[l] * inv;
  });
  const args = { x, n, d, perplexity: input.perplexity ?? 30, iterations: input.iterations ?? 1000, seed };
  const r = await Runtime.from({ pool: input.pool }).run('tsne', args);
  return {
    points: meta.map((m, p) => ({ ...m, x: r.y[2 * p], y: r.y[2 * p + 1] })),
    kl: r.kl,
    perplexity: args.perplexity,
    iterations: args.iterations,
    seed,
  };
}
