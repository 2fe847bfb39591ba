/**
 * The interface every model (MacridVAE, β-MultVAE, MultDAE) implements, and the named-weights format
 * shared by checkpoints, the model directory and the analysis helpers.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { Csr } from '../csr.js';
import type { SampledNegatives } from '../wasm/nn.js';
import type { ModelConfig } from './config.js';

/** One weight: its shape and its row-major float32 values. */
export interface Weight {
  shape: number[];
  data: Float32Array;
}

/** Weights by name, in a fixed order (see each model's `weightNames`). */
export type Weights = Record<string, Weight>;

/** The terms of one minibatch's loss (means over the batch's users). */
export interface LossTerms {
  /** `nll + beta·kl + l2`. */
  loss: number;
  /** Multinomial negative log-likelihood `−Σ_i x_ui log p_ui`. */
  nll: number;
  /** KL divergence of the posterior to the prior (0 for MultDAE). */
  kl: number;
  /** `λ·Σ‖W‖²`. */
  l2: number;
  /** The β this step used. */
  beta: number;
}

/** What one training step needs besides the batch. */
export interface StepOptions {
  /** KL weight of this step (from the schedule). */
  beta: number;
  /** L2 weight `λ`. */
  l2: number;
  /** Seed of this step's noise (dropout masks, Gumbel noise, ε); the trainer derives it from the run seed and the step. */
  noiseSeed: number;
  /** Sampled softmax: the batch's negative draws and their log weights (absent: full softmax). */
  sampled?: SampledNegatives;
}

/** What the trainer tells a model's {@link Model.beforeEpoch} hook. */
export interface EpochContext {
  /** The epoch about to start (1-based). */
  epoch: number;
  /** The run's seed (hooks derive their own streams from it). */
  seed: number;
  batchesPerEpoch: number;
}

/** What a {@link Model.beforeEpoch} hook did, logged in the epoch's record. */
export interface EpochNote {
  /** MacridVAE `prototypeInit: 'kmeans'`: the placement's objective `Σ_i cos(h_i, centroid)` and cluster sizes. */
  prototypes?: { objective: number; sizes: number[] };
}

/** A model's per-item explanation of recommendations (MacridVAE: concepts). */
export interface Explanation {
  /** Per recommended item: the concept contributing most to its probability. */
  concepts: number[];
  /** Per recommended item: that concept's share of the item's probability, in (0, 1]. */
  shares: number[];
  /** The user's concept shares `Σ_{i∈history} c_ik / |history|` (all 0 for an empty history). */
  userConcepts: number[];
}

/** Representations in evaluation mode: `rows × width`, row-major. */
export interface Representation {
  data: Float32Array;
  rows: number;
  width: number;
}

/** Loss terms and the gradient of the loss for every variable (same keys as `variables`); the caller disposes the gradients. */
export interface StepGradients {
  terms: LossTerms;
  grads: Map<string, tf.Tensor>;
}

export interface Model {
  readonly config: ModelConfig;
  /** Number of item columns. */
  readonly items: number;
  /** The trainable variables by name, in `weightNames` order. */
  readonly variables: ReadonlyMap<string, tf.Variable>;
  /** Loss and gradients of one minibatch (`batch`: users × items clicks); weights are not changed. */
  gradients(batch: Csr, step: StepOptions): Promise<StepGradients>;
  /**
   * Scores of every item for each row of `foldIn` (`rows × items`, row-major; higher is better): the
   * model's log-probabilities `log p(i | fold-in)` in evaluation mode (no dropout, no noise).
   */
  score(foldIn: Csr): Promise<Float32Array>;
  /**
   * Users' representations in evaluation mode (MacridVAE: `μ`, `K·d` per user, concept by concept;
   * β-MultVAE: `μ`; MultDAE: the bottleneck).
   */
  represent(foldIn: Csr): Representation;
  /** Items' representations, when the model has them (MacridVAE: the item embeddings `h`). */
  representItems?(): Representation;
  /**
   * Explains the recommended `items` of each fold-in row (`items[u]` for row u), when the model can
   * (MacridVAE: by concept).
   */
  explain?(foldIn: Csr, items: ArrayLike<number>[]): Explanation[];
  /**
   * Trainer hook, before the first epoch: checks the schedule fits the model (throws a named error if
   * not) and returns how many leading epochs are a warm-up (evaluated and logged, never chosen as the
   * best, not counted by patience).
   */
  trainingPlan?(ctx: { epochs: number; batchesPerEpoch: number }): { warmupEpochs: number };
  /** Trainer hook, at the start of every epoch (MacridVAE: the k-means placement of the prototypes). */
  beforeEpoch?(ctx: EpochContext): EpochNote | undefined;
  /** Copies of the current weights. */
  getWeights(): Weights;
  /** Replaces the weights (names and shapes must match). */
  setWeights(weights: Weights): void;
  /** Frees the variables. */
  dispose(): void;
}
