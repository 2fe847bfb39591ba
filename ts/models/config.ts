/**
 * Typed, documented configuration of the models and of their training.
 *
 * Sources of the defaults: the MacridVAE paper (Ma et al., NeurIPS 2019) and its authors' released code
 * (summarized in `docs/paper.md` of the shared docs), and MultVAE/MultDAE (Liang et al., WWW 2018) and
 * their released notebook. Where the project's PyTorch reference (`reference/torch/macridvae.py`) uses a
 * different value the field says so.
 */
import { InvalidArgumentError } from '../errors.js';

export const MODEL_KINDS = ['macridvae', 'multvae', 'multdae'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];
export const PROTOTYPE_INITS = ['random', 'kmeans'] as const;

/** MacridVAE's architecture (paper Algorithm 1). */
export interface MacridVaeConfig {
  kind: 'macridvae';
  /** Number of concepts (macro factors) `K`, ≥ 1. Default 7 (released code). */
  concepts: number;
  /** Dimension `d` of item, context, prototype and per-concept user vectors, ≥ 1. Default 100 (paper §3: "we set d = 100"). */
  d: number;
  /** Temperature `τ` of the cosine similarities, > 0. Default 0.1 (paper eq. 6: "we set τ = 0.1"). */
  tau: number;
  /**
   * `σ0`, the prior's standard deviation and the scale of the posterior's (`σ = σ0·exp(−b/2)`), > 0.
   * Default 0.075 (released code; the PyTorch reference uses 0.1; the paper: "around 0.1").
   */
  sigma0: number;
  /** Widths of extra hidden layers of `f_nn` (`d → hidden… → 2d`, tanh between). Default `[]` (released code: one layer). */
  hidden: number[];
  /** `cosine` (the paper) or `inner` (the ablation of paper Fig. 2e, which collapses the concepts). Default `cosine`. */
  similarity: 'cosine' | 'inner';
  /** Training samples the concept assignment with Gumbel-softmax (temperature 1); false uses `softmax(s)`. Default true (Algorithm 1). */
  gumbel: boolean;
  /** Keep probability of the dropout on the masked, L2-normalized input (one mask per concept), in (0, 1]. Default 0.5 (released code). */
  keep: number;
  /**
   * How the prototypes `m_k` start. `random`: Xavier-normal, as in the released code. `kmeans`: after
   * `prototypeWarmup` optimizer steps, at the next epoch boundary, each prototype's direction is set to
   * a centroid of the spherical k-means of the item embeddings `h` (its norm is kept); the warm-up
   * epochs are never chosen as the best epoch. Random prototypes sit on a nearly flat symmetric start:
   * concepts then emerge over hundreds of steps, and often as mixtures of the item clusters; placing
   * them on the clusters that `h` already forms after a few dozen steps gives one prototype per
   * cluster (see README, "Concept recovery"). Default `random`.
   */
  prototypeInit: 'random' | 'kmeans';
  /** Optimizer steps before the k-means placement of `prototypeInit: 'kmeans'`, ≥ 0. Default 30. */
  prototypeWarmup: number;
}

/** β-MultVAE and MultDAE (Liang et al. 2018): encoder `[items → hidden… → latent]`, decoder its mirror. */
export interface MultConfig {
  kind: 'multvae' | 'multdae';
  /** Widths of the hidden layers between the items and the latent layer (tanh). Default `[600]` (Liang et al.). */
  hidden: number[];
  /** Latent dimension, ≥ 1. Default 200 (Liang et al.). */
  latent: number;
  /** Keep probability of the dropout on the L2-normalized input, in (0, 1]. Default 0.5 (Liang et al.). */
  keep: number;
}

export type ModelConfig = MacridVaeConfig | MultConfig;

export const BETA_SCHEDULES = ['reference', 'multvae', 'constant'] as const;
/**
 * How β grows with the optimizer step `t` (see `ts/train/schedule.ts`):
 * - `reference`: `min(β, t / (5 · batchesPerEpoch))`, MacridVAE's released code (the cap 0.2 is reached after one epoch);
 * - `multvae`: `min(β, t / annealSteps)`, MultVAE's annealing;
 * - `constant`: `β` from the first step.
 */
export type BetaSchedule = (typeof BETA_SCHEDULES)[number];

/** Optimization and protocol settings, shared by the three models. */
export interface TrainConfig {
  /** Adam learning rate, > 0. Default 1e-3 (both papers' code). */
  lr: number;
  /**
   * Weight `λ` of the L2 penalty `λ·Σ‖W‖²` on weights, embeddings and prototypes (not biases), ≥ 0.
   * Default 0, except MultDAE: 2e-5 (Liang et al.: `lam = 0.01 / batch_size` with the loss `+ 2·lam·½‖W‖²`).
   */
  l2: number;
  /** Users per minibatch, ≥ 1. Default 500 (both papers' code). */
  batchSize: number;
  /** Maximum number of epochs, ≥ 1. Default 500 for MacridVAE (released code), 200 for MultVAE/MultDAE (Liang et al.). */
  epochs: number;
  /** Cap of the KL weight β, ≥ 0. Default 0.2 (both papers' code). Unused by MultDAE. */
  beta: number;
  /** Default `reference` for MacridVAE, `multvae` for MultVAE. */
  betaSchedule: BetaSchedule;
  /** Steps of the `multvae` schedule to reach β, ≥ 1. Default 200,000 (Liang et al.). */
  annealSteps: number;
  /** Stop after this many epochs without a better validation NDCG@100; 0 never stops early. Default 0. */
  patience: number;
  /** Seed of the initialization, the batch order and the noise (dropout, Gumbel, ε). Default 98765 (released code). */
  seed: number;
  /** Held-out users scored per batch during evaluation, ≥ 1. Default 500. */
  evalBatchSize: number;
  /**
   * `full`: the softmax over all items (both papers). `sampled`: each user's softmax over its own clicks
   * and `negatives` items drawn for the whole batch from `proposal` (draws of the user's own clicks
   * dropped), each weighted by `1/(S·Q(j))` — an unbiased estimate of the full normalizer (sampled softmax
   * with the log-Q correction; Jean et al. 2015). Evaluation always uses the full softmax. Default `full`.
   */
  softmax: 'full' | 'sampled';
  /** Negative draws `S` per batch for `sampled`, ≥ 1. Default 1000. */
  negatives: number;
  /** Proposal of `sampled`: training-click popularity^0.75 (word2vec's unigram^0.75) or `uniform`. Default `popularity`. */
  proposal: 'popularity' | 'uniform';
}

export const MACRIDVAE_DEFAULTS: Readonly<MacridVaeConfig> = Object.freeze({
  kind: 'macridvae',
  concepts: 7,
  d: 100,
  tau: 0.1,
  sigma0: 0.075,
  hidden: [],
  similarity: 'cosine',
  gumbel: true,
  keep: 0.5,
  prototypeInit: 'random',
  prototypeWarmup: 30,
});

export const MULTVAE_DEFAULTS: Readonly<MultConfig> = Object.freeze({
  kind: 'multvae',
  hidden: [600],
  latent: 200,
  keep: 0.5,
});
export const MULTDAE_DEFAULTS: Readonly<MultConfig> = Object.freeze({
  kind: 'multdae',
  hidden: [600],
  latent: 200,
  keep: 0.5,
});

const TRAIN_BASE: Omit<TrainConfig, 'epochs' | 'betaSchedule' | 'l2'> = {
  lr: 1e-3,
  batchSize: 500,
  beta: 0.2,
  annealSteps: 200_000,
  patience: 0,
  seed: 98765,
  evalBatchSize: 500,
  softmax: 'full',
  negatives: 1000,
  proposal: 'popularity',
};

/** The training defaults of a model kind. */
export function trainDefaults(kind: ModelKind): TrainConfig {
  switch (kind) {
    case 'macridvae':
      return { ...TRAIN_BASE, epochs: 500, betaSchedule: 'reference', l2: 0 };
    case 'multvae':
      return { ...TRAIN_BASE, epochs: 200, betaSchedule: 'multvae', l2: 0 };
    case 'multdae':
      return { ...TRAIN_BASE, epochs: 200, betaSchedule: 'constant', l2: 2e-5 };
  }
}

function fail(fn: string, name: string, msg: string): never {
  throw new InvalidArgumentError(`'${name}' passed to ${fn}() ${msg}`);
}

function int(fn: string, name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(fn, name, `must be an integer but got ${String(v)}`);
  if (v < min) fail(fn, name, `must be >= ${min} but got ${v}`);
  return v;
}

function num(fn: string, name: string, v: unknown, min: number, max: number, open = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(fn, name, `must be a finite number but got ${String(v)}`);
  if (open ? v <= min : v < min) fail(fn, name, `must be ${open ? '>' : '>='} ${min} but got ${v}`);
  if (v > max) fail(fn, name, `must be <= ${max} but got ${v}`);
  return v;
}

function widths(fn: string, name: string, v: unknown): number[] {
  if (!Array.isArray(v)) fail(fn, name, `must be an array of layer widths but got ${String(v)}`);
  return v.map((w, i) => int(fn, `${name}[${i}]`, w, 1));
}

function oneOf<T extends string>(fn: string, name: string, v: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) fail(fn, name, `must be one of ${allowed.join(', ')} but got '${String(v)}'`);
  return v as T;
}

/** Fills a model config from its kind's defaults and validates every field (errors name the field). */
export function resolveModelConfig(kind: ModelKind, partial: Partial<ModelConfig> = {}): ModelConfig {
  const fn = 'resolveModelConfig';
  oneOf(fn, 'kind', kind, MODEL_KINDS);
  if (partial.kind !== undefined && partial.kind !== kind)
    fail(fn, 'kind', `must be '${kind}' but got '${partial.kind}'`);
  if (kind === 'macridvae') {
    const c = { ...MACRIDVAE_DEFAULTS, ...(partial as Partial<MacridVaeConfig>), kind } as MacridVaeConfig;
    return {
      kind,
      concepts: int(fn, 'concepts', c.concepts, 1),
      d: int(fn, 'd', c.d, 1),
      tau: num(fn, 'tau', c.tau, 0, Number.MAX_VALUE, true),
      sigma0: num(fn, 'sigma0', c.sigma0, 0, Number.MAX_VALUE, true),
      hidden: widths(fn, 'hidden', c.hidden),
      similarity: oneOf(fn, 'similarity', c.similarity, ['cosine', 'inner'] as const),
      gumbel:
        typeof c.gumbel === 'boolean' ? c.gumbel : fail(fn, 'gumbel', `must be a boolean but got ${String(c.gumbel)}`),
      keep: num(fn, 'keep', c.keep, 0, 1, true),
      prototypeInit: oneOf(fn, 'prototypeInit', c.prototypeInit, PROTOTYPE_INITS),
      prototypeWarmup: int(fn, 'prototypeWarmup', c.prototypeWarmup, 0),
    };
  }
  const base = kind === 'multvae' ? MULTVAE_DEFAULTS : MULTDAE_DEFAULTS;
  const c = { ...base, ...(partial as Partial<MultConfig>), kind } as MultConfig;
  return {
    kind,
    hidden: widths(fn, 'hidden', c.hidden),
    latent: int(fn, 'latent', c.latent, 1),
    keep: num(fn, 'keep', c.keep, 0, 1, true),
  };
}

/** Fills a training config from the kind's defaults and validates every field. */
export function resolveTrainConfig(kind: ModelKind, partial: Partial<TrainConfig> = {}): TrainConfig {
  const fn = 'resolveTrainConfig';
  const c = { ...trainDefaults(kind), ...partial };
  return {
    lr: num(fn, 'lr', c.lr, 0, Number.MAX_VALUE, true),
    l2: num(fn, 'l2', c.l2, 0, Number.MAX_VALUE),
    batchSize: int(fn, 'batchSize', c.batchSize, 1),
    epochs: int(fn, 'epochs', c.epochs, 1),
    beta: num(fn, 'beta', c.beta, 0, Number.MAX_VALUE),
    betaSchedule: oneOf(fn, 'betaSchedule', c.betaSchedule, BETA_SCHEDULES),
    annealSteps: int(fn, 'annealSteps', c.annealSteps, 1),
    patience: int(fn, 'patience', c.patience, 0),
    seed: int(fn, 'seed', c.seed, 0),
    evalBatchSize: int(fn, 'evalBatchSize', c.evalBatchSize, 1),
    softmax: oneOf(fn, 'softmax', c.softmax, ['full', 'sampled'] as const),
    negatives: int(fn, 'negatives', c.negatives, 1),
    proposal: oneOf(fn, 'proposal', c.proposal, ['popularity', 'uniform'] as const),
  };
}

// ---------------------------------------------------------------------------------------------------
// Reference models (closed-form / counting): EASE, popularity, ItemKNN. They are fitted, not trained
// by gradient, and have no training config; `macridvae train --model ease|pop|itemknn` fits them
// (`ts/train/fit-baseline.ts`) and writes the same model directory as the VAEs.

export const BASELINE_KINDS = ['ease', 'pop', 'itemknn'] as const;
export type BaselineKind = (typeof BASELINE_KINDS)[number];

/** EASE (Steck, WWW 2019): `B = I − P·diag(1/diag(P))`, `P = (XᵀX + λI)⁻¹`, zero diagonal. */
export interface EaseConfig {
  kind: 'ease';
  /** L2 weight `λ > 0`. Chosen on validation NDCG@100 over {@link EASE_LAMBDAS} unless given. */
  lambda: number;
  /**
   * Working precision of the `items × items` solve. Default `f32`: the SIMD GEMM path; measured against
   * the `f64` solve its weights differ by ~1e-6 relative and the metrics not at all (README, "EASE").
   */
  precision: 'f32' | 'f64';
}

/** Popularity: every user gets the items ranked by their training click count. */
export interface PopularityConfig {
  kind: 'pop';
}

/**
 * ItemKNN as in RecBole (`recbole/model/general_recommender/itemknn.py`, `ComputeSimilarity`):
 * `s_rc = x_r·x_c / (‖x_r‖‖x_c‖ + shrink + 1e-6)`, each item keeps its `k` most similar items, and a
 * user's score of `c` is the sum of `s_rc` over the user's items `r` among them.
 */
export interface ItemKnnConfig {
  kind: 'itemknn';
  /** Neighbours per item, ≥ 1. Default 100 (RecBole's `k`); chosen on validation over {@link KNN_KS}. */
  k: number;
  /** Shrinkage, ≥ 0. Default 0 (RecBole's `shrink`); chosen on validation over {@link KNN_SHRINKS}. */
  shrink: number;
}

export type BaselineConfig = EaseConfig | PopularityConfig | ItemKnnConfig;
/** Any model a model directory can hold. */
export type AnyModelConfig = ModelConfig | BaselineConfig;

/** EASE's λ grid: that of the project's PyTorch reference (`reference/torch/baselines.py`). */
export const EASE_LAMBDAS: readonly number[] = Object.freeze([
  10, 20, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000,
]);
/** ItemKNN's neighbour-count grid (RecBole's default 100 among them). */
export const KNN_KS: readonly number[] = Object.freeze([10, 20, 50, 100, 200, 500]);
/** ItemKNN's shrinkage grid (RecBole's default 0 among them). */
export const KNN_SHRINKS: readonly number[] = Object.freeze([0, 10, 50, 100]);

export const EASE_DEFAULTS: Readonly<EaseConfig> = Object.freeze({ kind: 'ease', lambda: 100, precision: 'f32' });
export const ITEMKNN_DEFAULTS: Readonly<ItemKnnConfig> = Object.freeze({ kind: 'itemknn', k: 100, shrink: 0 });

export function isBaselineKind(kind: unknown): kind is BaselineKind {
  return (BASELINE_KINDS as readonly unknown[]).includes(kind);
}

/** Fills a reference model's config from its defaults and validates every field (errors name the field). */
export function resolveBaselineConfig(kind: BaselineKind, partial: Partial<BaselineConfig> = {}): BaselineConfig {
  const fn = 'resolveBaselineConfig';
  oneOf(fn, 'kind', kind, BASELINE_KINDS);
  if (partial.kind !== undefined && partial.kind !== kind)
    fail(fn, 'kind', `must be '${kind}' but got '${partial.kind}'`);
  switch (kind) {
    case 'pop':
      return { kind };
    case 'ease': {
      const c = { ...EASE_DEFAULTS, ...(partial as Partial<EaseConfig>) };
      return {
        kind,
        lambda: num(fn, 'lambda', c.lambda, 0, Number.MAX_VALUE, true),
        precision: oneOf(fn, 'precision', c.precision, ['f32', 'f64'] as const),
      };
    }
    case 'itemknn': {
      const c = { ...ITEMKNN_DEFAULTS, ...(partial as Partial<ItemKnnConfig>) };
      return { kind, k: int(fn, 'k', c.k, 1), shrink: num(fn, 'shrink', c.shrink, 0, Number.MAX_VALUE) };
    }
  }
}

/** Resolves a stored config of any kind (VAE or reference model). */
export function resolveAnyModelConfig(kind: string, partial: object): AnyModelConfig {
  return isBaselineKind(kind)
    ? resolveBaselineConfig(kind, partial as Partial<BaselineConfig>)
    : resolveModelConfig(kind as ModelKind, partial as Partial<ModelConfig>);
}
