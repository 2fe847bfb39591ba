/**
 * Serving a trained model to users it has never seen (strong generalization, as in the evaluation
 * protocol): given each user's history (item columns), the model's scores `log p(i | history)` over
 * the catalogue and the top k, one batched call per group of users.
 *
 * For MacridVAE, `explain` attributes every recommended item to a concept: the decoder's probability is
 * `p_ui ∝ Σ_k c_ik · exp(cos(z_k, h_i)/τ)`, so the term of concept k is its contribution; the item's
 * concept is the largest term and its share the term over the sum. The user's concept shares are the
 * paper's confidence `Σ_{i∈x_u} c_ik`, divided by the history's length.
 */
import { type Csr, checkCsr, csrFromRows, csrRows, csrSliceRows } from '../csr.js';
import { InvalidArgumentError } from '../errors.js';
import type { ScoringModel } from '../models/baselines.js';
import type { Runtime } from '../models/decoder.js';
import { openModel } from '../models/inspect.js';
import { MacridVae } from '../models/macridvae.js';
import { disposeSaved, values } from '../models/ops.js';
import { type BackendName, selectBackend } from '../tf/backend.js';
import { type LoadedModel, loadModel } from '../train/checkpoint.js';
import { checkInt } from '../validate.js';
import { topk } from '../wasm/ranking.js';
import { threadInstance } from '../wasm/raw.js';

export interface RecommendOptions {
  /** Items per user, ≥ 1. Default 10. */
  k?: number;
  /** Recommend items of the user's own history too. Default false (they are skipped). */
  includeSeen?: boolean;
  /** MacridVAE only: each item's concept and share, and the user's concept shares. Default false. */
  explain?: boolean;
  /** Users scored per model call, ≥ 1. Default 500. */
  batchSize?: number;
}

export interface UserRecommendations {
  /** Item columns, best first (fewer than k when the catalogue runs out). */
  items: number[];
  /** Their scores `log p(i | history)`. */
  scores: number[];
  /** explain: the concept contributing most to each item's probability. */
  concepts?: number[];
  /** explain: that concept's share of the item's probability, in (0, 1]. */
  shares?: number[];
  /** explain: the user's concept shares `Σ_{i∈history} c_ik / |history|` (all 0 for an empty history). */
  userConcepts?: number[];
}

export interface OpenRecommenderOptions {
  /** Where the decoder and top-k run (default: the calling thread). */
  runtime?: Runtime;
  /** TensorFlow.js backend (default `auto`, see `selectBackend`). */
  backend?: BackendName;
}

/** Dot product of row `a` of `x` and row `b` of `y` (both `· × d`). */
function dot(x: Float32Array, a: number, y: Float32Array, b: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += x[a * d + j] * y[b * d + j];
  return s;
}

/**
 * A trained model ready to recommend. Built from a model directory (`Recommender.open`), a loaded
 * model (`loadModel`), or a model in memory (e.g. `trainModel(...).model`, which it then owns);
 * `dispose()` frees the model's tensors.
 */
export class Recommender {
  readonly model: ScoringModel;
  private readonly runtime?: Runtime;

  constructor(model: ScoringModel | LoadedModel, runtime?: Runtime) {
    this.runtime = runtime;
    this.model = 'weights' in model && 'manifest' in model ? openModel(model, runtime) : (model as ScoringModel);
  }

  /** Loads a model directory written by `train` (or `tune`'s `best/`) and selects a tfjs backend. */
  static async open(dir: string, options: OpenRecommenderOptions = {}): Promise<Recommender> {
    const loaded = loadModel(dir);
    await selectBackend(options.backend ?? 'auto');
    return new Recommender(loaded, options.runtime);
  }

  /** Number of item columns. */
  get items(): number {
    return this.model.items;
  }

  /**
   * The top `k` items for each history (a CSR of users × item columns, or one array of columns per
   * user). Users are scored `batchSize` at a time.
   */
  async recommend(
    histories: Csr | ArrayLike<number>[],
    options: RecommendOptions = {},
  ): Promise<UserRecommendations[]> {
    const fn = 'Recommender.recommend';
    const k = checkInt(fn, 'k', options.k ?? 10, 1, this.items);
    const batchSize = checkInt(fn, 'batchSize', options.batchSize ?? 500, 1);
    const explain = options.explain ?? false;
    if (explain && !(this.model instanceof MacridVae)) {
      throw new InvalidArgumentError(
        `'explain' passed to ${fn}() needs a MacridVAE model, not '${this.model.config.kind}'`,
      );
    }
    let x: Csr;
    if (Array.isArray(histories)) {
      histories.forEach((h, u) => {
        for (let j = 0; j < h.length; j++) {
          const i = h[j];
          if (!Number.isInteger(i) || i < 0 || i >= this.items) {
            throw new InvalidArgumentError(
              `'histories[${u}][${j}]' passed to ${fn}() must be an item column in [0, ${this.items}) but got ${i}`,
            );
          }
        }
      });
      x = csrFromRows(
        histories.map((h) => [...new Set(Array.from(h))].sort((a, b) => a - b)),
        this.items,
      );
    } else x = checkCsr(fn, 'histories', histories as Csr, undefined, this.items);
    const users = csrRows(x);
    const out: UserRecommendations[] = [];
    for (let lo = 0; lo < users; lo += batchSize) {
      const batch = csrSliceRows(x, lo, Math.min(users, lo + batchSize));
      const n = csrRows(batch);
      const scores = await this.model.score(batch);
      const exclude = options.includeSeen ? csrFromRows(new Array(n).fill([]), this.items) : batch;
      const args = { scores, users: n, items: this.items, exclude, k };
      const top = this.runtime?.pool ? await this.runtime.pool.run('topk', args) : topk(threadInstance(), args);
      const recs: UserRecommendations[] = [];
      for (let u = 0; u < n; u++) {
        const c = top.counts[u];
        recs.push({
          items: Array.from(top.items.subarray(u * k, u * k + c)),
          scores: Array.from(top.scores.subarray(u * k, u * k + c)),
        });
      }
      if (explain) this.explain(batch, recs);
      out.push(...recs);
    }
    return out;
  }

  /** Adds concepts, shares and the users' concept shares (see the module doc). */
  private explain(x: Csr, recs: UserRecommendations[]): void {
    const model = this.model as MacridVae;
    const { concepts: K, d, tau } = model.config;
    const state = model.evalItems();
    try {
      const z = model.evalMu(x, state);
      const h = values(state.hn);
      const c = values(state.c);
      // The decoder's own inputs: z, and h normalized for cosine (raw for the inner-product ablation).
      recs.forEach((r, u) => {
        r.concepts = [];
        r.shares = [];
        for (const i of r.items) {
          const logits = Array.from({ length: K }, (_, kk) => dot(z, u * K + kk, h, i, d) / tau);
          const top = Math.max(...logits);
          const terms = logits.map((l, kk) => c[i * K + kk] * Math.exp(l - top));
          const total = terms.reduce((a, b) => a + b, 0);
          let best = 0;
          for (let kk = 1; kk < K; kk++) if (terms[kk] > terms[best]) best = kk;
          r.concepts.push(best);
          r.shares.push(total > 0 ? terms[best] / total : 0);
        }
        const shares = new Array<number>(K).fill(0);
        const from = x.indptr[u];
        const to = x.indptr[u + 1];
        for (let p = from; p < to; p++) for (let kk = 0; kk < K; kk++) shares[kk] += c[x.indices[p] * K + kk];
        r.userConcepts = shares.map((s) => (to > from ? s / (to - from) : 0));
      });
    } finally {
      disposeSaved(state as unknown as Record<string, unknown>);
    }
  }

  dispose(): void {
    this.model.dispose();
  }
}
