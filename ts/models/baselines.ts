/**
 * The reference models beside the VAEs — EASE, popularity, ItemKNN (formulas in `config.ts` and
 * `ts/wasm/itemsim.ts`) — as {@link ScoringModel}s: what `eval`, `recommend`, `tune`'s evaluation and
 * `reproduce` use of any model. Their weights live in the same model directory as the VAEs':
 *
 * - `ease`: `B` (`items × items`, zero diagonal); scores `x_u·B`;
 * - `pop`: `counts` (`items`), training clicks per item; every user's scores are the counts;
 * - `itemknn`: `neighbours` and `similarity` (`items × k`): row `c` lists the item ids `r` (as exact
 *   float32 integers, −1 for an unused slot) of item `c`'s neighbourhood and `s_rc`; scores
 *   `Σ_{r ∈ x_u ∩ N(c)} s_rc`.
 *
 * Scores are computed by one Rust call per batch of users (`scoreDense` / `scoreSparse`).
 */
import { type Csr, checkCsr, csrRows } from '../csr.js';
import { InvalidArgumentError } from '../errors.js';
import { kernels } from '../runtime/kernels.js';
import type { AnyModelConfig, BaselineConfig, EaseConfig, ItemKnnConfig, PopularityConfig } from './config.js';
import type { Weight, Weights } from './types.js';

/** What every trained model offers (the VAEs' `Model` has all of it too). */
export interface ScoringModel {
  readonly config: AnyModelConfig;
  /** Number of item columns. */
  readonly items: number;
  /** Scores of every item for each fold-in row (`rows × items`, row-major; higher is better). */
  score(foldIn: Csr): Promise<Float32Array>;
  /** The model's weights by name (copies for the VAEs; the held arrays for the reference models). */
  getWeights(): Weights;
  /** Frees what the model holds. */
  dispose(): void;
}

function weight(kind: string, weights: Weights, name: string, shape: number[]): Weight {
  const w = weights[name];
  if (w === undefined) throw new InvalidArgumentError(`a '${kind}' model needs the weight '${name}'`);
  if (w.shape.length !== shape.length || w.shape.some((s, i) => s !== shape[i])) {
    throw new InvalidArgumentError(`the '${kind}' weight '${name}' must have shape [${shape}] but has [${w.shape}]`);
  }
  return w;
}

/** Popularity: every row's scores are the training click counts. */
export class PopularityModel implements ScoringModel {
  readonly config: PopularityConfig = { kind: 'pop' };
  constructor(
    readonly items: number,
    private readonly counts: Float32Array,
  ) {}
  async score(foldIn: Csr): Promise<Float32Array> {
    const x = checkCsr('pop.score', 'foldIn', foldIn, undefined, this.items);
    const rows = csrRows(x);
    const out = new Float32Array(rows * this.items);
    for (let u = 0; u < rows; u++) out.set(this.counts, u * this.items);
    return out;
  }
  getWeights(): Weights {
    return { counts: { shape: [this.items], data: this.counts } };
  }
  dispose(): void {}
}

/** EASE: scores `x_u · B`. */
export class EaseModel implements ScoringModel {
  constructor(
    readonly config: EaseConfig,
    readonly items: number,
    private readonly b: Float32Array,
  ) {}
  async score(foldIn: Csr): Promise<Float32Array> {
    const x = checkCsr('ease.score', 'foldIn', foldIn, undefined, this.items);
    return kernels.scoreDense({ foldIn: x, weights: this.b, n: this.items });
  }
  getWeights(): Weights {
    return { B: { shape: [this.items, this.items], data: this.b } };
  }
  dispose(): void {}
}

/** ItemKNN: scores `Σ_{r ∈ x_u ∩ N(c)} s_rc`, from the neighbourhoods regrouped by neighbour `r`. */
export class ItemKnnModel implements ScoringModel {
  private readonly byNeighbour: { w: Csr; values: Float32Array };
  constructor(
    readonly config: ItemKnnConfig,
    readonly items: number,
    private readonly neighbours: Float32Array,
    private readonly similarity: Float32Array,
  ) {
    const { k } = config;
    const counts = new Uint32Array(items + 1);
    for (let p = 0; p < neighbours.length; p++) if (neighbours[p] >= 0) counts[neighbours[p] + 1]++;
    for (let r = 0; r < items; r++) counts[r + 1] += counts[r];
    const indices = new Uint32Array(counts[items]);
    const values = new Float32Array(counts[items]);
    const fill = counts.slice(0, items);
    for (let c = 0; c < items; c++) {
      for (let t = 0; t < k; t++) {
        const r = neighbours[c * k + t];
        if (r < 0) continue;
        const p = fill[r]++;
        indices[p] = c;
        values[p] = similarity[c * k + t];
      }
    }
    this.byNeighbour = { w: { indptr: counts, indices, cols: items }, values };
  }
  /** The neighbourhoods regrouped by neighbour (row `r`: the items `c` with `r ∈ N(c)`, values `s_rc`), what scoring reads. */
  get rows(): { w: Csr; values: Float32Array } {
    return this.byNeighbour;
  }
  async score(foldIn: Csr): Promise<Float32Array> {
    const x = checkCsr('itemknn.score', 'foldIn', foldIn, undefined, this.items);
    return kernels.scoreSparse({ foldIn: x, weights: this.byNeighbour.w, values: this.byNeighbour.values });
  }
  getWeights(): Weights {
    const shape = [this.items, this.config.k];
    return { neighbours: { shape, data: this.neighbours }, similarity: { shape, data: this.similarity } };
  }
  dispose(): void {}
}

/** A reference model from its config and stored weights (shapes checked, errors name the weight). */
export function baselineFromWeights(config: BaselineConfig, items: number, weights: Weights): ScoringModel {
  switch (config.kind) {
    case 'pop':
      return new PopularityModel(items, weight('pop', weights, 'counts', [items]).data);
    case 'ease':
      return new EaseModel(config, items, weight('ease', weights, 'B', [items, items]).data);
    case 'itemknn': {
      const n = weight('itemknn', weights, 'neighbours', [items, config.k]).data;
      for (let p = 0; p < n.length; p++) {
        if (!(Number.isInteger(n[p]) && n[p] >= -1 && n[p] < items)) {
          throw new InvalidArgumentError(
            `the 'itemknn' weight 'neighbours' holds ${n[p]} at [${Math.floor(p / config.k)}, ${p % config.k}]: not an item column or −1`,
          );
        }
      }
      return new ItemKnnModel(config, items, n, weight('itemknn', weights, 'similarity', [items, config.k]).data);
    }
  }
}
