/**
 * Serving a trained model to users it has never seen (strong generalization, as in the evaluation
 * protocol): given each user's history (item columns), the model's scores `log p(i | history)` over
 * the catalogue and the top k, one batched call per group of users.
 *
 * `explain` asks the model to explain its recommendations (`Model.explain`; MacridVAE attributes every
 * recommended item to the concept contributing most to its probability, see `MacridVae.explain`).
 */
import { type Csr, checkCsr, csrFromRows, csrRows, csrSliceRows } from '../csr.js';
import { InvalidArgumentError } from '../errors.js';
import { instantiate } from '../models/inspect.js';
import type { Model } from '../models/types.js';
import { Runtime, type RuntimeLike } from '../runtime/runtime.js';
import { type BackendName, selectBackend } from '../tf/backend.js';
import { type LoadedModel, loadModel } from '../train/checkpoint.js';
import { checkInt } from '../validate.js';

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
  runtime?: RuntimeLike;
  /** TensorFlow.js backend (default `auto`, see `selectBackend`). */
  backend?: BackendName;
}

/**
 * A trained model ready to recommend. Built from a model directory (`Recommender.open`), a loaded
 * model (`loadModel`), or a model in memory (e.g. `trainModel(...).model`, which it then owns);
 * `dispose()` frees the model's tensors.
 */
export class Recommender {
  readonly model: Model;
  private readonly runtime: Runtime;

  constructor(model: Model | LoadedModel, runtime?: RuntimeLike) {
    this.runtime = Runtime.from(runtime);
    this.model = 'weights' in model ? instantiate(model, this.runtime) : model;
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
    if (explain && !this.model.explain) {
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
      const top = await this.runtime.run('topk', args);
      const recs: UserRecommendations[] = [];
      for (let u = 0; u < n; u++) {
        const c = top.counts[u];
        recs.push({
          items: Array.from(top.items.subarray(u * k, u * k + c)),
          scores: Array.from(top.scores.subarray(u * k, u * k + c)),
        });
      }
      if (explain && this.model.explain) {
        const why = this.model.explain(
          batch,
          recs.map((r) => r.items),
        );
        recs.forEach((r, u) => {
          Object.assign(r, why[u]);
        });
      }
      out.push(...recs);
    }
    return out;
  }

  dispose(): void {
    this.model.dispose();
  }
}
