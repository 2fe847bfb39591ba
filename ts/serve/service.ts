/**
 * Serving a trained model by the dataset's item ids, without TensorFlow.js (`macridvae/serve`).
 *
 * ```ts
 * import { openRecommender } from 'macridvae/serve';
 * const rec = await openRecommender('model/');           // a model directory written by train/tune
 * const [alice] = await rec.recommend([['1', '50', '260']], { k: 5, explain: true });
 * // alice.items: [{ id: '2571', score: -5.9, title: 'Matrix, The (1999)', concept: 2, share: 0.93 }, …]
 * const sim = await rec.similarItems(['1'], { k: 5 });     // item-to-item, from the learned h_i
 * const why = await rec.explain(['1', '50']);              // the user's concept shares, per-item concepts
 * const steered = await rec.control(['1', '50'], { mute: [2] });             // without concept 2
 * const walk = await rec.control(['1', '50'], { traverse: { concept: 2, dimension: 7 } });
 * for await (const r of rec.stream(users)) console.log(r.user, r.items);  // users: (async) iterable
 * await rec.close();
 * ```
 *
 * Scoring runs on the Rust kernels ({@link scoreTopK}, `ts/serve/engine.ts`): one call per group of
 * users, split across the worker pool when one is given. The formulas (decoder, concept weights,
 * explanations) are in the engine's module doc; explanations follow the paper: item `i`'s concept is
 * `argmax_k w_k c_ik exp(cos(z_k, h_i)/τ)` and its share that term over their sum; the user's concept
 * shares are `Σ_{i∈history} c_ik / |history|`.
 *
 * The reference models (`train --model ease|pop|itemknn`) serve `recommend` (scores: EASE `x_u·B`,
 * ItemKNN `Σ_{r ∈ x_u ∩ N(c)} s_rc`, popularity the training counts — what `eval` ranks by) and, for
 * EASE and ItemKNN, `similarItems`; what needs concepts (`explain`, `control`, `traverse`, concept
 * weights) throws a {@link ModelKindError} naming the model kind.
 *
 * Unknown ids: `onUnknown: 'error'` (the default) throws an {@link UnknownItemError} naming the id and
 * the user; `'skip'` drops them and reports them in each result's `unknown`. A history with no known
 * item gets the most popular items (training clicks, `items.json`), marked `fallback: 'popularity'`.
 */

import { TRAVERSE_DEFAULTS, traverseArgs } from '../control/traverse.js';
import { type Csr, csrFromRows, csrRows, csrSliceRows } from '../csr.js';
import { InvalidArgumentError, UnknownItemError } from '../errors.js';
import { kernels } from '../runtime/kernels.js';
import { Runtime } from '../runtime/runtime.js';
import { type CatalogSource, type ItemCatalog, loadCatalog } from '../train/catalog.js';
import { loadModel, type Manifest } from '../train/checkpoint.js';
import { checkInt, checkNumber } from '../validate.js';
import type { KernelPool } from '../workers/pool.js';
import {
  conceptsOf,
  isItemItem,
  type MacridScoring,
  type ScoreTopKResult,
  type ScoringModel,
  workOf,
} from './engine.js';
import { scoringModel } from './scoring-model.js';
import { recommendStream, type StreamOptions, type StreamUser } from './stream.js';

/** Groups of users `recommend` keeps in flight on the pool (see `ServingRecommender.run`). */
const GROUPS_IN_FLIGHT = 2;

/** What to do with an id the model does not know. */
export type OnUnknown = 'error' | 'skip';

export interface RecommendOptions {
  /** Items per user, 1 … items. Default 10. */
  k?: number;
  /** Ids never recommended (unknown ones are ignored). */
  exclude?: string[];
  /** Rank only these ids (unknown ones are ignored). */
  candidates?: string[];
  /** Allow the history's own items. Default false. */
  includeSeen?: boolean;
  /** MacridVAE: each item's concept and share, and the user's concept shares. Default false. */
  explain?: boolean;
  /** MacridVAE: weight `w_k ≥ 0` of each concept's term in the decoder (length K, not all 0); 0 mutes. */
  conceptWeights?: number[];
  /** Default `'error'`. */
  onUnknown?: OnUnknown;
}

export interface RecommendedItem {
  id: string;
  /**
   * `log p(i | history)` for the VAEs (with concept weights: of the re-weighted decoder); the raw score
   * for the reference models (EASE `x_u·B`, ItemKNN `Σ s_rc`, popularity the training count).
   */
  score: number;
  title?: string;
  /** explain: the concept contributing most to the item's probability, and its share of it. */
  concept?: number;
  share?: number;
}

export interface Recommendation {
  /** The user's name, when the input gave one (`{ user, items }`). */
  user?: string;
  items: RecommendedItem[];
  /** explain: the user's concept shares (length K). */
  concepts?: number[];
  /** History ids the model does not know (skipped). */
  unknown: string[];
  /** Set when the history had no known item: the most popular items were returned. */
  fallback?: 'popularity';
}

/** A user of a batch: a bare history, or a named one (what streams carry). */
export type UserInput = string[] | { user?: string; items: string[] };

export interface SimilarOptions {
  /** Neighbours per item, 1 … items − 1. Default 10. */
  k?: number;
  /** MacridVAE: only items whose dominant concept is this one. */
  concept?: number;
  /** Default `'error'`. */
  onUnknown?: OnUnknown;
}

export interface SimilarResult {
  id: string;
  items: Array<{ id: string; score: number; title?: string }>;
}

export interface Explanation {
  /** The user's concept shares `Σ_{i∈history} c_ik / |history|` (all 0 when no item is known). */
  concepts: number[];
  /** Each known history item's dominant concept `argmax_k c_ik` and `c_ik`. */
  items: Array<{ id: string; concept: number; share: number; title?: string }>;
  unknown: string[];
}

export interface TraverseRequest {
  /** Which concept component of the user to start from (with a history). */
  concept?: number;
  /** The dimension to vary, 0 … d − 1. */
  dimension: number;
  /** `B`, items returned (default 10). */
  steps?: number;
  /** `W`, the beam width (default 50). */
  beam?: number;
  /** `γ`, the pairwise-similarity weight (default 0.1). */
  gamma?: number;
}

export interface TraverseAnswer {
  /** The prototype nearest the start (the concept whose items are retrieved). */
  concept: number;
  range: [number, number];
  /** Values on the dimension increasing. */
  items: Array<{ id: string; value: number; score: number; title?: string }>;
  unknown: string[];
}

export interface ControlOptions extends Omit<RecommendOptions, 'conceptWeights'> {
  /** Concept weights (see {@link RecommendOptions.conceptWeights}). */
  conceptWeights?: number[];
  /** Concepts to mute (weight 0; the others 1). */
  mute?: number[];
  /** Instead of recommending: a traversal from one of the user's concept components. */
  traverse?: TraverseRequest;
}

export interface OpenRecommenderOptions {
  /** A worker pool to score on (`new KernelPool({ threads })`); absent: the calling thread. Not closed by `close()`. */
  pool?: KernelPool;
  /** Below this many multiply-adds (users·K·items·d) a group is scored on one thread (default: the runtime's, 2e7). */
  minWork?: number;
  /** The model's dataset, for model directories written before `items.json` (ids, titles, popularity). */
  data?: CatalogSource;
  /** Users per kernel call (a group is split across the pool's threads). Default 256. */
  batchSize?: number;
}

/** One user, resolved to columns. */
interface Resolved {
  user?: string;
  columns: number[];
  unknown: string[];
  exclude: number[];
  candidates?: number[];
  k: number;
  includeSeen: boolean;
}

/** An operation the served model's kind cannot do (e.g. `explain` on EASE): names the operation and the kind. */
export class ModelKindError extends InvalidArgumentError {
  constructor(
    readonly operation: string,
    readonly kind: string,
    needs: string,
  ) {
    super(`${operation} needs ${needs}, and this is a '${kind}' model`);
  }
}

const name = (u: number, user?: string) => (user !== undefined ? `user '${user}'` : `user ${u}`);

/** A trained model served by item ids (see the module doc). */
export class ServingRecommender {
  readonly model: ScoringModel;
  readonly catalog: ItemCatalog;
  readonly manifest?: Manifest;
  readonly runtime: Runtime;
  readonly batchSize: number;
  private readonly column: Map<string, number>;
  private readonly byPopularity: Uint32Array;
  private readonly totalClicks: number;
  private dominant?: Uint32Array;

  constructor(
    model: ScoringModel,
    catalog: ItemCatalog,
    options: { pool?: KernelPool; minWork?: number; batchSize?: number; manifest?: Manifest } = {},
  ) {
    if (catalog.ids.length !== model.items) {
      throw new InvalidArgumentError(`the catalogue has ${catalog.ids.length} ids but the model ${model.items} items`);
    }
    this.model = model;
    this.catalog = catalog;
    this.manifest = options.manifest;
    this.runtime = new Runtime({ pool: options.pool, minWork: options.minWork });
    this.batchSize = checkInt('ServingRecommender', 'batchSize', options.batchSize ?? 256, 1);
    this.column = new Map(catalog.ids.map((id, c) => [id, c]));
    if (this.column.size !== catalog.ids.length) throw new InvalidArgumentError('the catalogue has duplicate ids');
    const order = Array.from({ length: model.items }, (_, i) => i).sort(
      (a, b) => catalog.popularity[b] - catalog.popularity[a] || a - b,
    );
    this.byPopularity = Uint32Array.from(order);
    this.totalClicks = catalog.popularity.reduce((a, b) => a + b, 0);
  }

  /** Items the model scores. */
  get items(): number {
    return this.model.items;
  }

  /** Concepts (1 for MultVAE/MultDAE). */
  get concepts(): number {
    return conceptsOf(this.model);
  }

  /** The column of an id, or undefined. */
  columnOf(id: string): number | undefined {
    return this.column.get(id);
  }

  /** The title of a column, when the catalogue has one. */
  titleOf(c: number): string | undefined {
    const t = this.catalog.titles?.[c];
    return t ? t : undefined;
  }

  private macrid(fn: string): MacridScoring {
    if (this.model.kind !== 'macridvae') throw new ModelKindError(`${fn}()`, this.model.kind, 'a MacridVAE model');
    return this.model;
  }

  private checkWeights(fn: string, w: number[] | undefined): Float32Array | undefined {
    if (w === undefined) return undefined;
    const K = this.macrid(fn).concepts;
    if (!Array.isArray(w) || w.length !== K) {
      throw new InvalidArgumentError(`'conceptWeights' passed to ${fn}() must have ${K} entries (one per concept)`);
    }
    w.forEach((v, k) => {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
        throw new InvalidArgumentError(
          `'conceptWeights[${k}]' passed to ${fn}() must be a finite number >= 0 but got ${v}`,
        );
      }
    });
    if (w.every((v) => v === 0)) throw new InvalidArgumentError(`'conceptWeights' passed to ${fn}() must not be all 0`);
    return Float32Array.from(w);
  }

  /** Resolves ids to sorted distinct columns; unknown ids throw (naming id and user) or are collected. */
  resolve(fn: string, ids: unknown, u: number, user: string | undefined, onUnknown: OnUnknown) {
    if (!Array.isArray(ids))
      throw new InvalidArgumentError(`the history of ${name(u, user)} passed to ${fn}() must be an array of ids`);
    const cols = new Set<number>();
    const unknown: string[] = [];
    for (const id of ids) {
      if (typeof id !== 'string') {
        throw new InvalidArgumentError(
          `the history of ${name(u, user)} passed to ${fn}() holds ${JSON.stringify(id)}, not a string id`,
        );
      }
      const c = this.column.get(id);
      if (c !== undefined) cols.add(c);
      else if (onUnknown === 'error') {
        throw new UnknownItemError(`${fn}(): item '${id}' of ${name(u, user)} is not an item of the model`, {
          id,
          user: user ?? String(u),
        });
      } else unknown.push(id);
    }
    return { columns: [...cols].sort((a, b) => a - b), unknown };
  }

  private known(ids: string[] | undefined): number[] {
    const out: number[] = [];
    for (const id of ids ?? []) {
      const c = this.column.get(id);
      if (c !== undefined) out.push(c);
    }
    return out;
  }

  /** Resolves one user's input and options (exported for the HTTP batcher). */
  prepare(fn: string, input: UserInput, u: number, o: RecommendOptions): Resolved {
    const user = Array.isArray(input) ? undefined : input.user;
    const ids = Array.isArray(input) ? input : input?.items;
    const r = this.resolve(fn, ids, u, user, o.onUnknown ?? 'error');
    return {
      user,
      ...r,
      exclude: this.known(o.exclude),
      candidates: o.candidates ? this.known(o.candidates) : undefined,
      k: Math.min(checkInt(fn, 'k', o.k ?? 10, 1), this.items),
      includeSeen: o.includeSeen ?? false,
    };
  }

  /**
   * Top-k recommendations for each history (arrays of item ids, or `{ user, items }`). One kernel call
   * per `batchSize` users (split across the pool).
   *
   * @example
   * const [r] = await rec.recommend([['1', '50']], { k: 3 });
   * r.items.map((it) => it.id); // e.g. ['2571', '260', '1196']
   */
  async recommend(histories: UserInput[], options: RecommendOptions = {}): Promise<Recommendation[]> {
    const fn = 'recommend';
    if (!Array.isArray(histories)) throw new InvalidArgumentError(`'histories' passed to ${fn}() must be an array`);
    if (options.explain) this.macrid(fn);
    const weights = this.checkWeights(fn, options.conceptWeights);
    const users = histories.map((h, u) => this.prepare(fn, h, u, options));
    return this.run(users, { explain: options.explain ?? false, weights });
  }

  /** Scores resolved users (any mix of k, exclusions and candidates); one kernel call per group. */
  async run(users: Resolved[], o: { explain: boolean; weights?: Float32Array }): Promise<Recommendation[]> {
    const out: Recommendation[] = new Array(users.length);
    const scored: number[] = [];
    const restricted: number[] = [];
    users.forEach((r, u) => {
      if (r.columns.length === 0) out[u] = this.popular(r, o.explain);
      else (r.candidates ? restricted : scored).push(u);
    });
    // Up to GROUPS_IN_FLIGHT groups at once, so the pool computes one group while this thread builds
    // the next group's inputs and the last one's answers.
    const pending: Promise<void>[] = [];
    for (const group of [scored, restricted]) {
      for (let lo = 0; lo < group.length; lo += this.batchSize) {
        const part = group.slice(lo, lo + this.batchSize);
        const done = this.scoreGroup(
          part.map((u) => users[u]),
          o,
        ).then((recs) => {
          part.forEach((u, j) => {
            out[u] = recs[j];
          });
        });
        // Handled here so a failure of a group not yet awaited is not an unhandled rejection; awaiting
        // `done` below still throws it.
        done.catch(() => undefined);
        pending.push(done);
        if (pending.length >= GROUPS_IN_FLIGHT) await pending.shift();
      }
    }
    for (const p of pending) await p;
    return out;
  }

  private popular(r: Resolved, explain: boolean): Recommendation {
    const skip = new Set(r.exclude);
    const allow = r.candidates ? new Set(r.candidates) : undefined;
    const items: RecommendedItem[] = [];
    for (const c of this.byPopularity) {
      if (items.length >= r.k) break;
      if (skip.has(c) || (allow && !allow.has(c))) continue;
      const p = this.catalog.popularity[c];
      items.push(this.item(c, this.totalClicks > 0 ? Math.log(p / this.totalClicks) : Math.log(1 / this.items)));
    }
    return {
      ...(r.user !== undefined ? { user: r.user } : {}),
      items,
      ...(explain ? { concepts: new Array<number>(this.concepts).fill(0) } : {}),
      unknown: r.unknown,
      fallback: 'popularity',
    };
  }

  private item(c: number, score: number): RecommendedItem {
    const title = this.titleOf(c);
    return { id: this.catalog.ids[c], score, ...(title ? { title } : {}) };
  }

  private async scoreGroup(
    users: Resolved[],
    o: { explain: boolean; weights?: Float32Array },
  ): Promise<Recommendation[]> {
    const M = this.items;
    const k = Math.max(...users.map((r) => r.k));
    const x = csrFromRows(
      users.map((r) => r.columns),
      M,
    );
    const exclude = csrFromRows(
      users.map((r) => (r.includeSeen ? r.exclude : [...r.columns, ...r.exclude])),
      M,
    );
    const candidates = users[0].candidates
      ? csrFromRows(
          users.map((r) => r.candidates as number[]),
          M,
        )
      : undefined;
    const top = await this.topGroup(x, exclude, candidates, k, o.weights, o.explain);
    const K = this.concepts;
    return users.map((r, u) => {
      const n = Math.min(top.counts[u], r.k);
      const items: RecommendedItem[] = [];
      for (let j = 0; j < n; j++) items.push(this.item(top.items[u * k + j], top.scores[u * k + j]));
      const rec: Recommendation = { ...(r.user !== undefined ? { user: r.user } : {}), items, unknown: r.unknown };
      if (o.explain && top.z) {
        const m = this.model as MacridScoring;
        this.explainItems(m, top.z, u, items, top.items.subarray(u * k, u * k + n), o.weights);
        const shares = new Array<number>(K).fill(0);
        for (const c of r.columns) for (let kk = 0; kk < K; kk++) shares[kk] += m.c[c * K + kk];
        rec.concepts = shares.map((s) => s / r.columns.length);
      }
      return rec;
    });
  }

  /** Adds each item's dominant decoder term (concept) and its share. */
  private explainItems(
    m: MacridScoring,
    z: Float32Array,
    u: number,
    items: RecommendedItem[],
    cols: Uint32Array,
    weights?: Float32Array,
  ): void {
    const { concepts: K, d, tau } = m;
    items.forEach((it, j) => {
      const i = cols[j];
      const logits = new Array<number>(K);
      for (let kk = 0; kk < K; kk++) {
        let s = 0;
        for (let l = 0; l < d; l++) s += z[(u * K + kk) * d + l] * m.hn[i * d + l];
        logits[kk] = s / tau;
      }
      const top = Math.max(...logits);
      const terms = logits.map((l, kk) => (weights ? weights[kk] : 1) * m.c[i * K + kk] * Math.exp(l - top));
      const total = terms.reduce((a, b) => a + b, 0);
      let best = 0;
      for (let kk = 1; kk < K; kk++) if (terms[kk] > terms[best]) best = kk;
      it.concept = best;
      it.share = total > 0 ? terms[best] / total : 0;
    });
  }

  /** One group: split over the pool's threads when large enough (`Runtime.splitUsers`), else on this thread. */
  private async topGroup(
    x: Csr,
    exclude: Csr,
    candidates: Csr | undefined,
    k: number,
    conceptWeights: Float32Array | undefined,
    withZ: boolean,
  ): Promise<ScoreTopKResult> {
    const users = csrRows(x);
    const m = this.model;
    const work = workOf(m, users, x.indices.length);
    return this.runtime.splitUsers(
      'serveTopK',
      users,
      work,
      (lo, hi) => ({
        model: m,
        k,
        conceptWeights,
        withZ,
        x: csrSliceRows(x, lo, hi),
        exclude: csrSliceRows(exclude, lo, hi),
        candidates: candidates ? csrSliceRows(candidates, lo, hi) : undefined,
      }),
      { items: 'concat', scores: 'concat', counts: 'concat', z: 'concat' },
    );
  }

  /** The reference models' item–item weights (undefined for the VAEs); popularity has none and is refused. */
  private similarWeights(fn: string) {
    const m = this.model;
    if (!isItemItem(m)) return undefined;
    if (m.weights.kind === 'constant') {
      throw new ModelKindError(`${fn}()`, m.kind, 'item–item weights or item vectors (EASE, ItemKNN or a VAE)');
    }
    return m.weights;
  }

  /**
   * EASE / ItemKNN neighbours of each item `c`: the items whose score a history of `c` alone raises,
   * ranked by that score — row `c` of `B` (EASE), the items `i` with `c ∈ N(i)` by `s_ci` (ItemKNN;
   * only those) — one `serveTopK` call for all queried items.
   */
  private async similarByWeights(fn: string, cols: number[], known: string[], k: number): Promise<SimilarResult[]> {
    const m = this.model;
    const w = this.similarWeights(fn);
    if (!isItemItem(m) || !w) throw new ModelKindError(`${fn}()`, m.kind, 'item–item weights');
    const x = csrFromRows(
      cols.map((c) => [c]),
      m.items,
    );
    const candidates =
      w.kind === 'sparse'
        ? csrFromRows(
            cols.map((c) => Array.from(w.w.indices.subarray(w.w.indptr[c], w.w.indptr[c + 1]))),
            m.items,
          )
        : undefined;
    const top = await this.topGroup(x, x, candidates, k, undefined, false);
    return cols.map((_, r) => {
      const items: SimilarResult['items'] = [];
      for (let j = 0; j < top.counts[r]; j++) {
        const c = top.items[r * k + j];
        const title = this.titleOf(c);
        items.push({ id: this.catalog.ids[c], score: top.scores[r * k + j], ...(title ? { title } : {}) });
      }
      return { id: known[r], items };
    });
  }

  /** The decoder's item vectors (`items × width`, unit rows) for item-to-item similarity. */
  private itemVectors(): { v: Float32Array; d: number } {
    const m = this.model;
    if (m.kind === 'macridvae') return { v: m.hn, d: m.d };
    if (isItemItem(m)) throw new ModelKindError('itemVectors()', m.kind, 'learned item vectors');
    if (!this.unitOut) {
      const d = m.out.d;
      const v = new Float32Array(m.out.w.length);
      for (let i = 0; i < m.items; i++) {
        let s = 0;
        for (let l = 0; l < d; l++) s += m.out.w[i * d + l] ** 2;
        const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
        for (let l = 0; l < d; l++) v[i * d + l] = m.out.w[i * d + l] * inv;
      }
      this.unitOut = v;
    }
    return { v: this.unitOut, d: m.out.d };
  }
  private unitOut?: Float32Array;

  /** Each item's dominant concept `argmax_k c_ik` (MacridVAE). */
  dominantConcepts(): Uint32Array {
    const m = this.macrid('dominantConcepts');
    if (!this.dominant) {
      const K = m.concepts;
      const out = new Uint32Array(m.items);
      for (let i = 0; i < m.items; i++) {
        let best = 0;
        for (let kk = 1; kk < K; kk++) if (m.c[i * K + kk] > m.c[i * K + best]) best = kk;
        out[i] = best;
      }
      this.dominant = out;
    }
    return this.dominant;
  }

  /**
   * Item-to-item neighbours: the cosine of the decoder's item vectors; with `concept` (MacridVAE), only
   * items whose dominant concept it is; for EASE / ItemKNN the item–item weights (a history of the item
   * alone: row `c` of `B`, ItemKNN's `s_ci` for the items `i` with `c ∈ N(i)`); popularity has none and
   * throws a {@link ModelKindError}. The item itself is excluded.
   *
   * @example
   * const [r] = await rec.similarItems(['1'], { k: 3 });
   * r.items; // [{ id: '3114', score: 0.83, title: 'Toy Story 2 (1999)' }, …]
   */
  async similarItems(
    ids: string[],
    options: SimilarOptions = {},
  ): Promise<{ results: SimilarResult[]; unknown: string[] }> {
    const fn = 'similarItems';
    if (!Array.isArray(ids)) throw new InvalidArgumentError(`'ids' passed to ${fn}() must be an array of ids`);
    this.similarWeights(fn);
    const k = Math.min(checkInt(fn, 'k', options.k ?? 10, 1), Math.max(1, this.items - 1));
    let allowed: Uint8Array | undefined;
    if (options.concept !== undefined) {
      const K = this.macrid(fn).concepts;
      const concept = checkInt(fn, 'concept', options.concept, 0, K - 1);
      const dom = this.dominantConcepts();
      allowed = new Uint8Array(this.items);
      for (let i = 0; i < this.items; i++) allowed[i] = dom[i] === concept ? 1 : 0;
    }
    const onUnknown = options.onUnknown ?? 'error';
    const cols: number[] = [];
    const known: string[] = [];
    const unknown: string[] = [];
    for (const id of ids) {
      if (typeof id !== 'string')
        throw new InvalidArgumentError(`'ids' passed to ${fn}() holds ${JSON.stringify(id)}, not a string id`);
      const c = this.column.get(id);
      if (c !== undefined) {
        cols.push(c);
        known.push(id);
      } else if (onUnknown === 'error') {
        throw new UnknownItemError(`${fn}(): item '${id}' is not an item of the model`, { id });
      } else unknown.push(id);
    }
    if (cols.length === 0) return { results: [], unknown };
    if (isItemItem(this.model)) return { results: await this.similarByWeights(fn, cols, known, k), unknown };
    const { v, d } = this.itemVectors();
    const q = new Float32Array(cols.length * d);
    cols.forEach((c, r) => {
      q.set(v.subarray(c * d, (c + 1) * d), r * d);
    });
    const scores = kernels.gemm({ a: q, b: v, m: cols.length, n: this.items, k: d, transB: true });
    if (allowed) {
      for (let r = 0; r < cols.length; r++) {
        for (let i = 0; i < this.items; i++) if (!allowed[i]) scores[r * this.items + i] = Number.NEGATIVE_INFINITY;
      }
    }
    const top = kernels.topk({
      scores,
      users: cols.length,
      items: this.items,
      exclude: csrFromRows(
        cols.map((c) => [c]),
        this.items,
      ),
      k,
    });
    const results = cols.map((_, r) => {
      const items: SimilarResult['items'] = [];
      for (let j = 0; j < top.counts[r]; j++) {
        const s = top.scores[r * k + j];
        if (s === Number.NEGATIVE_INFINITY) break;
        const c = top.items[r * k + j];
        const title = this.titleOf(c);
        items.push({ id: this.catalog.ids[c], score: s, ...(title ? { title } : {}) });
      }
      return { id: known[r], items };
    });
    return { results, unknown };
  }

  /**
   * The user's concept shares and each history item's dominant concept (MacridVAE).
   *
   * @example
   * const e = await rec.explain(['1', '50']);
   * e.concepts; // e.g. [0.02, 0.71, 0.05, …] (length K)
   */
  async explain(history: string[], options: { onUnknown?: OnUnknown } = {}): Promise<Explanation> {
    const fn = 'explain';
    const m = this.macrid(fn);
    const K = m.concepts;
    const { columns, unknown } = this.resolve(fn, history, 0, undefined, options.onUnknown ?? 'error');
    const shares = new Array<number>(K).fill(0);
    const items = columns.map((c) => {
      let best = 0;
      for (let kk = 0; kk < K; kk++) {
        shares[kk] += m.c[c * K + kk];
        if (m.c[c * K + kk] > m.c[c * K + best]) best = kk;
      }
      const title = this.titleOf(c);
      return { id: this.catalog.ids[c], concept: best, share: m.c[c * K + best], ...(title ? { title } : {}) };
    });
    return { concepts: shares.map((s) => (columns.length > 0 ? s / columns.length : 0)), items, unknown };
  }

  /**
   * Steers recommendations by concept: re-weight (`conceptWeights`) or `mute` concepts, or, with
   * `traverse`, vary one dimension of the user's component of a concept and retrieve items along it
   * (paper §2.4).
   *
   * @example
   * await rec.control(['1', '50'], { mute: [2], k: 5 });                     // a Recommendation
   * await rec.control(['1', '50'], { traverse: { concept: 2, dimension: 7 } }); // a TraverseAnswer
   */
  async control(history: string[], options: ControlOptions & { traverse: TraverseRequest }): Promise<TraverseAnswer>;
  async control(history: string[], options: ControlOptions): Promise<Recommendation>;
  async control(history: string[], options: ControlOptions): Promise<Recommendation | TraverseAnswer> {
    const fn = 'control';
    const m = this.macrid(fn);
    if (options.traverse) return this.traverse({ history }, { ...options.traverse, onUnknown: options.onUnknown });
    if (options.mute && options.conceptWeights) {
      throw new InvalidArgumentError(`${fn}(): give 'conceptWeights' or 'mute', not both`);
    }
    let weights = options.conceptWeights;
    if (options.mute) {
      weights = new Array<number>(m.concepts).fill(1);
      for (const kk of options.mute) weights[checkInt(fn, 'mute[]', kk, 0, m.concepts - 1)] = 0;
    }
    const [r] = await this.recommend([history], { ...options, conceptWeights: weights });
    return r;
  }

  /**
   * A traversal (paper §2.4) from a user's concept component (`{ history }` + `concept`) or an item
   * (`{ item }`): items of the start's concept whose value on `dimension` increases step by step.
   */
  async traverse(
    start: { history: string[] } | { item: string },
    request: TraverseRequest & { onUnknown?: OnUnknown },
  ): Promise<TraverseAnswer> {
    const fn = 'traverse';
    const m = this.macrid(fn);
    const dim = checkInt(fn, 'dimension', request.dimension, 0, m.d - 1);
    const steps = checkInt(fn, 'steps', request.steps ?? TRAVERSE_DEFAULTS.steps, 1, 1000);
    const beam = checkInt(fn, 'beam', request.beam ?? TRAVERSE_DEFAULTS.beam, 1, 10_000);
    const gamma = checkNumber(fn, 'gamma', request.gamma ?? TRAVERSE_DEFAULTS.gamma, 0);
    const space = { h: m.h, prototypes: m.prototypes, items: m.items, d: m.d, concepts: m.concepts };
    let unknown: string[] = [];
    let args: ReturnType<typeof traverseArgs>;
    if ('item' in start) {
      const c = this.column.get(start.item);
      if (c === undefined)
        throw new UnknownItemError(`${fn}(): item '${start.item}' is not an item of the model`, { id: start.item });
      args = traverseArgs(space, { item: c }, { dim, steps, beam, gamma, tau: m.tau });
    } else {
      const concept = checkInt(fn, 'concept', request.concept, 0, m.concepts - 1);
      const r = this.resolve(fn, start.history, 0, undefined, request.onUnknown ?? 'error');
      unknown = r.unknown;
      if (r.columns.length === 0) {
        throw new InvalidArgumentError(`${fn}(): the history has no known item, so the user has no concept components`);
      }
      const x = csrFromRows([r.columns], m.items);
      const top = await this.topGroup(x, x, undefined, 1, undefined, true);
      const z = top.z as Float32Array;
      const vector = z.slice(concept * m.d, (concept + 1) * m.d);
      args = traverseArgs(space, { vector }, { dim, steps, beam, gamma, tau: m.tau });
    }
    const res = await this.runtime.run('traverse', args);
    const items = Array.from(res.items, (c, j) => {
      const title = this.titleOf(c);
      return { id: this.catalog.ids[c], value: res.values[j], score: res.scores[j], ...(title ? { title } : {}) };
    });
    return { concept: res.concept, range: res.range, items, unknown };
  }

  /** Items whose title or id contains `q` (case-insensitive), most popular first (all items without `q`). */
  searchItems(q: string | undefined, limit = 20): Array<{ id: string; title?: string; popularity: number }> {
    const needle = q?.toLowerCase();
    const out: Array<{ id: string; title?: string; popularity: number }> = [];
    for (const c of this.byPopularity) {
      if (out.length >= limit) break;
      const id = this.catalog.ids[c];
      const title = this.titleOf(c);
      if (needle && !id.toLowerCase().includes(needle) && !(title ?? '').toLowerCase().includes(needle)) continue;
      out.push({ id, ...(title ? { title } : {}), popularity: this.catalog.popularity[c] });
    }
    return out;
  }

  /** For each concept (MacridVAE), its `k` most popular items among those whose dominant concept it is. */
  conceptItems(
    k = 10,
  ): Array<{ concept: number; size: number; items: Array<{ id: string; title?: string; share: number }> }> {
    const m = this.macrid('conceptItems');
    const dom = this.dominantConcepts();
    const K = m.concepts;
    const out = Array.from({ length: K }, (_, concept) => ({
      concept,
      size: 0,
      items: [] as Array<{ id: string; title?: string; share: number }>,
    }));
    for (let i = 0; i < m.items; i++) out[dom[i]].size++;
    for (const c of this.byPopularity) {
      const e = out[dom[c]];
      if (e.items.length >= k) continue;
      const title = this.titleOf(c);
      e.items.push({ id: this.catalog.ids[c], ...(title ? { title } : {}), share: m.c[c * K + dom[c]] });
    }
    return out;
  }

  /**
   * Recommendations for an (async) iterable of `{ user, items }`, yielded in input order with bounded
   * batches in flight (backpressure); usable inside `stream.pipeline` (see `ts/serve/stream.ts`).
   *
   * @example
   * for await (const r of rec.stream(readUsers('users.jsonl'), { k: 20 })) console.log(r.user, r.items[0]);
   */
  stream(
    source: AsyncIterable<StreamUser> | Iterable<StreamUser>,
    options: StreamOptions = {},
  ): AsyncGenerator<Recommendation & { user: string }> {
    return recommendStream(this, source, options);
  }

  /** Nothing to free but the pool, which belongs to the caller; kept for symmetry with other handles. */
  async close(): Promise<void> {}
}

/**
 * Opens a model directory for serving (no TensorFlow.js): its weights, and its item catalogue
 * (`items.json`; for older directories pass `data`, the model's dataset).
 */
export async function openRecommender(dir: string, options: OpenRecommenderOptions = {}): Promise<ServingRecommender> {
  const stored = loadModel(dir);
  const catalog = loadCatalog(dir, stored.items, options.data);
  return new ServingRecommender(scoringModel(stored), catalog, {
    pool: options.pool,
    minWork: options.minWork,
    batchSize: options.batchSize,
    manifest: stored.manifest,
  });
}
