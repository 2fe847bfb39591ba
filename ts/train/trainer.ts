/**
 * The training loop shared by every model, in the shape of RecBole's trainer: {@link Trainer.fit} runs
 * {@link Trainer.resume} (when asked), then per epoch the model's `beforeEpoch` hook,
 * {@link Trainer.trainEpoch} (Adam over shuffled minibatches of training users, β from the schedule),
 * {@link Trainer.validateEpoch} (validation NDCG@100 by the evaluator of `ts/eval/`; the best epoch
 * kept, early stopping after `patience` epochs without improvement) and {@link Trainer.saveCheckpoint}
 * (when a model directory is given: the best weights `weights-<sha8>.mvt` + `manifest.json` and the
 * latest state `checkpoint.mvt` — weights, Adam moments, step, epoch, history — committed by
 * `ModelDirWriter` (`checkpoint.ts`: crash-safe, one writer, never over what it did not create), so
 * `resume` continues a run killed at any point exactly as if it had not stopped), and at the end
 * {@link Trainer.test}: the best weights on the test users, written into the manifest once.
 *
 * Models change the loop only through their hooks (`ts/models/types.ts`): `trainingPlan` checks the
 * schedule and names the warm-up epochs (evaluated and logged, never chosen as the best, not counted by
 * `patience`); `beforeEpoch` runs at the start of each epoch — MacridVAE with `prototypeInit: 'kmeans'`
 * places its prototypes on the spherical k-means centroids of the item embeddings at the start of epoch
 * `prototypeEpoch(...)` there.
 *
 * Randomness is counter-based: epoch e's batch order is drawn from `(seed, e)` and step t's noise from
 * `(seed, t)`, so the checkpoint needs no generator state and a resumed run is bit-for-bit the same run.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type Csr, csrGatherRows, csrRows } from '../csr.js';
import type { SplitData } from '../data/types.js';
import { InvalidArgumentError } from '../errors.js';
import { evaluate, metricTable } from '../eval/evaluator.js';
import { type ModelConfig, resolveModelConfig, resolveTrainConfig, type TrainConfig } from '../models/config.js';
import { createModel } from '../models/index.js';
import { mixSeed } from '../models/noise.js';
import { lap } from '../models/profile.js';
import type { Compute } from '../models/tfjs/index.js';
import type { EpochNote, LossTerms, Model, Weights } from '../models/types.js';
import { kernels } from '../runtime/kernels.js';
import { Runtime, type RuntimeLike } from '../runtime/runtime.js';
import { checkOutput } from '../util/output.js';
import { Rng } from '../util/rng.js';
import { checkMemory, checkObject } from '../validate.js';
import { VERSION } from '../version.js';
import type { SampledNegatives } from '../wasm/nn.js';
import { DEFAULT_ALPHA } from '../wasm/sampling.js';
import { CATALOG_FILE, catalogJson, catalogOf } from './catalog.js';
import {
  type CheckpointState,
  datasetFingerprint,
  type EpochCommit,
  type Manifest,
  type MetricTable,
  ModelDirWriter,
  sameDatasetFingerprint,
} from './checkpoint.js';
import { type ComputeInfo, createStepRunner, type StepRunner } from './compute.js';
import { allUsersData, epochsFromRun, type ProductionInfo } from './production.js';
import { betaAt } from './schedule.js';

/** Cutoffs evaluated after each epoch (the paper's NDCG@100, Recall@20, Recall@50 and their siblings). */
export const EVAL_KS = [20, 50, 100] as const;

/** The metric that selects the best epoch. */
export const SELECTION_METRIC = 'ndcg@100';

/** One line of the epoch log. */
export interface EpochRecord {
  epoch: number;
  /** Seconds spent training this epoch (excluding evaluation and checkpoints). */
  seconds: number;
  /** Seconds spent on the validation evaluation. */
  evalSeconds: number;
  /** Mean loss terms over the epoch's batches. */
  loss: number;
  nll: number;
  kl: number;
  l2: number;
  /** β of the epoch's last step. */
  beta: number;
  steps: number;
  /** Validation NDCG@100 (mean); NaN (JSON null) in production training, which validates nothing. */
  'ndcg@100': number;
  /** Every validation metric, `{mean, se}` (empty in production training). */
  validation: MetricTable;
  /** Whether this epoch is the best so far. */
  best: boolean;
  /** MacridVAE with `prototypeInit: 'kmeans'`: true for the warm-up epochs (never chosen as best). */
  warmup?: boolean;
  /** The k-means placement of the prototypes done at the start of this epoch: its objective and cluster sizes. */
  prototypes?: { objective: number; sizes: number[] };
}

export interface TrainOptions {
  model: ModelConfig;
  /** Partial training settings; the rest come from the model kind's defaults. */
  train?: Partial<TrainConfig>;
  data: SplitData;
  /** Where the kernels run (a `Runtime` or `{ pool, threads }`); default the calling thread. */
  runtime?: RuntimeLike;
  /** Model directory: best weights, manifest, checkpoint and the JSON-lines log are written there. */
  out?: string;
  /** Continue from `out`'s checkpoint (its configs and dataset fingerprint must match). */
  resume?: boolean;
  /** Replace a model directory already at `out` (without it, an existing one is refused). */
  force?: boolean;
  /** Called after every epoch (after the checkpoint is written). */
  onEpoch?: (record: EpochRecord) => void;
  /**
   * Evaluate the best weights on `data.test` after training and write the metrics into the manifest
   * (default true; tuning turns it off, its trials must not look at the test users).
   */
  test?: boolean;
  /** Called after every step with (steps done this epoch, steps per epoch). */
  onStep?: (done: number, total: number, terms: LossTerms) => void;
  /** Where steps run: the Rust/WASM kernels, tfjs ops, or `auto` (tfjs on a GPU backend); see `./compute.ts`. Default `auto`. */
  compute?: Compute;
  /**
   * Production training (`./production.ts`): train on every user of `data` — training users and the
   * held-out users' whole histories — with nothing held out, so no validation, early stopping or test,
   * for a fixed number of epochs: `train.epochs` (then required) or the best epoch of `epochsFrom`. The
   * manifest records it in `production`; the stored dataset fingerprint is `data`'s, so the model is used
   * with the dataset it came from.
   */
  allUsers?: boolean;
  /** With `allUsers`: a validated model directory (trained on the same dataset) whose best epoch is the epoch count. */
  epochsFrom?: string;
}

export interface TrainResult {
  /** The model, holding the best epoch's weights. */
  model: Model;
  train: TrainConfig;
  bestEpoch: number;
  /** Validation metrics of the best epoch. */
  bestValidation: MetricTable;
  history: EpochRecord[];
  /** Whether patience ended the run before `epochs`. */
  stoppedEarly: boolean;
  /** Test metrics of the best weights (absent with `test: false`). */
  test?: MetricTable;
  /** Test users evaluated (non-empty target). */
  testUsers?: number;
  /** The manifest written (when `out` was given). */
  manifest?: Manifest;
  /** The compute path the steps took. */
  compute: ComputeInfo;
  /** Production training (`allUsers`): what the manifest's `production` block records. */
  production?: ProductionInfo;
}

/** Stream ids of the trainer's counter-based randomness. */
const ORDER_STREAM = 0x0bde;
const NOISE_STREAM = 0x5eed;
const SAMPLE_STREAM = 0x5a3e;

export { prototypeEpoch } from '../models/macridvae.js';

/** The order of the training users in epoch `epoch` (1-based) of a run seeded with `seed`. */
export function epochOrder(users: number, seed: number, epoch: number): Uint32Array {
  const order = new Uint32Array(users);
  for (let i = 0; i < users; i++) order[i] = i;
  new Rng(mixSeed(seed, ORDER_STREAM, epoch)).shuffle(order);
  return order;
}

/**
 * The sampled-softmax negatives of step `step`: `negatives` draws shared by the batch from the proposal
 * `Q`, with log weights `−ln(S·Q(j))` (the decoder drops, per user, the draws that are its own clicks, so
 * each user's weighted sum estimates its normalizer over the other items without bias).
 */
export function drawNegatives(batch: Csr, cfg: TrainConfig, popularity: Float32Array, step: number): SampledNegatives {
  const s = kernels.sampleNegatives({
    items: batch.cols,
    popularity,
    alpha: cfg.proposal === 'popularity' ? DEFAULT_ALPHA : 1,
    positives: batch,
    samples: cfg.negatives,
    shared: true,
    seed: mixSeed(cfg.seed, SAMPLE_STREAM),
    stream: step,
  });
  const logWeight = new Float32Array(s.items.length);
  const lnS = Math.log(cfg.negatives);
  for (let j = 0; j < logWeight.length; j++) logWeight[j] = -lnS - s.logQ[j];
  return { items: s.items, logWeight };
}

/** The noise seed of optimizer step `step` (0-based) of a run seeded with `seed`. */
export function stepNoiseSeed(seed: number, step: number): number {
  return mixSeed(seed, NOISE_STREAM, step);
}

function tfVersion(): string {
  return tf.version_core;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** What {@link Trainer.trainEpoch} returns: the epoch's training time, mean loss terms and last β. */
export interface EpochTraining {
  seconds: number;
  loss: number;
  nll: number;
  kl: number;
  l2: number;
  beta: number;
}

/** What {@link Trainer.validateEpoch} returns. */
export interface EpochValidation {
  /** The selection metric (validation NDCG@100, mean). */
  metric: number;
  table: MetricTable;
  seconds: number;
}

/**
 * One training run (see the module doc): construct it, then {@link fit}. The steps are public so a
 * caller can drive them itself (e.g. a test resuming by hand); `fit` is what `trainModel` runs.
 */
export class Trainer {
  readonly model: Model;
  readonly train: TrainConfig;
  readonly batchesPerEpoch: number;
  /** Leading epochs that are a warm-up (the model's `trainingPlan`; 0 without one). */
  readonly warmupEpochs: number;
  /** Epochs done, optimizer steps done, and the best epoch so far with its score. */
  epoch = 0;
  step = 0;
  bestEpoch = 0;
  bestScore = Number.NEGATIVE_INFINITY;
  sinceBest = 0;
  history: EpochRecord[] = [];
  manifest?: Manifest;

  private readonly opts: TrainOptions;
  private readonly data: SplitData;
  private readonly runtime: Runtime;
  /** The optimizer step (gradients + Adam) on the compute path `opts.compute` resolves to. */
  private readonly adam: StepRunner;
  private readonly fingerprint: string;
  private readonly trainUsers: number;
  /** Sampled softmax: the proposal's weights (training clicks per item; all ones for uniform). */
  private readonly popularity?: Float32Array;
  private bestWeights: Weights;
  /** Production training (`opts.allUsers`): users, epochs and where the epoch count came from. */
  readonly production?: ProductionInfo;
  /** The model directory being written (while `fit` runs with `out`). */
  private writer?: ModelDirWriter;

  constructor(opts: TrainOptions) {
    checkObject('trainModel', 'opts', opts);
    checkObject('trainModel', 'opts.model', opts.model, 'a model config');
    checkObject('trainModel', 'opts.data', opts.data, 'split data {items, train, validation, test}');
    this.opts = opts;
    // The fingerprint of the dataset as given (also in production training, which merges its splits),
    // so the model is used with the dataset it came from.
    this.fingerprint = datasetFingerprint(opts.data);
    if (opts.allUsers) {
      ({ train: this.train, data: this.data, production: this.production } = productionRun(opts, this.fingerprint));
    } else {
      if (opts.epochsFrom !== undefined) {
        throw new InvalidArgumentError("trainModel(): 'epochsFrom' applies to production training ('allUsers: true')");
      }
      this.train = resolveTrainConfig(opts.model.kind, opts.train);
      this.data = opts.data;
    }
    const cfg = this.train;
    this.trainUsers = csrRows(this.data.train);
    if (this.trainUsers === 0) throw new InvalidArgumentError("trainModel(): 'data.train' has no users");
    // Refused up front, before anything is written: validation chooses the epoch.
    if (!this.production && csrRows(this.data.validation.foldIn) === 0) {
      throw new InvalidArgumentError(
        'trainModel(): the dataset has no validation users with held-out items, and the best epoch is chosen on them; prepare it with --heldout-users >= 1 (and enough users)',
      );
    }
    if (opts.resume && !opts.out) {
      throw new InvalidArgumentError("trainModel(): 'resume' needs 'out' (the model directory)");
    }
    checkTrainingMemory(opts.model, cfg, this.data.items, this.trainUsers);
    // The output is checked before any work (fit checks again, holding its lock).
    if (opts.out) {
      checkOutput(opts.out, 'model', {
        option: 'output',
        force: opts.force,
        inputs: [(opts.data as { dir?: unknown }).dir as string | undefined],
      });
    }
    this.batchesPerEpoch = Math.ceil(this.trainUsers / cfg.batchSize);
    this.runtime = Runtime.from(opts.runtime);
    this.model = createModel(opts.model, this.data.items, { seed: cfg.seed, runtime: this.runtime });
    try {
      this.warmupEpochs =
        this.model.trainingPlan?.({ epochs: cfg.epochs, batchesPerEpoch: this.batchesPerEpoch }).warmupEpochs ?? 0;
    } catch (e) {
      this.model.dispose();
      throw e;
    }
    this.adam = createStepRunner(this.model, cfg.lr, opts.compute);
    if (cfg.softmax === 'sampled') {
      const popularity = new Float32Array(this.data.items);
      if (cfg.proposal === 'popularity') for (const i of this.data.train.indices) popularity[i]++;
      else popularity.fill(1);
      this.popularity = popularity;
    }
    this.bestWeights = this.model.getWeights();
  }

  /** Trains (resuming when asked), restores the best epoch's weights, evaluates them on the test users. */
  async fit(): Promise<TrainResult> {
    const { opts } = this;
    if (opts.out) {
      this.writer = ModelDirWriter.open(opts.out, {
        resume: opts.resume,
        force: opts.force,
        inputs: [(opts.data as { dir?: unknown }).dir as string | undefined],
        // Item ids, titles and popularity, so the directory serves by the dataset's ids on its own.
        files: { [CATALOG_FILE]: catalogJson(catalogOf(opts.data)) },
      });
    }
    try {
      return await this.run();
    } finally {
      this.writer?.close();
      this.writer = undefined;
    }
  }

  private async run(): Promise<TrainResult> {
    const { opts, train: cfg } = this;
    if (opts.resume) this.resume();
    let stoppedEarly = false;
    try {
      while (this.epoch < cfg.epochs) {
        if (!this.production && cfg.patience > 0 && this.sinceBest >= cfg.patience) {
          stoppedEarly = true;
          break;
        }
        const e = this.epoch + 1;
        const note = this.model.beforeEpoch?.({ epoch: e, seed: cfg.seed, batchesPerEpoch: this.batchesPerEpoch });
        const trained = await this.trainEpoch(e);
        const val = this.production ? NOT_VALIDATED : await this.validateEpoch();
        const rec = this.record(e, trained, val, note);
        this.saveCheckpoint(rec);
        opts.onEpoch?.(rec);
      }
      // A resumed run with nothing left to train still commits: a crash may have left the manifest (and
      // the log) one epoch behind the checkpoint.
      if (this.writer?.resumed && this.manifest === undefined && this.epoch > 0) {
        this.manifest = this.writer.commit(this.commitOf(false));
      }
    } finally {
      this.adam.dispose();
    }
    this.model.setWeights(this.bestWeights);
    const test = opts.test === false || this.production ? undefined : await this.test();
    if (test && this.writer?.hasBest) {
      this.manifest = this.writer.updateManifest(({ updated: _, ...m }) => ({
        ...m,
        metrics: { ...m.metrics, test: test.table },
      }));
    }
    const bestRec = this.history.find((h) => h.epoch === this.bestEpoch);
    return {
      model: this.model,
      train: cfg,
      bestEpoch: this.bestEpoch,
      bestValidation: bestRec?.validation ?? {},
      history: this.history,
      stoppedEarly,
      ...(test ? { test: test.table, testUsers: test.users } : {}),
      manifest: this.manifest,
      compute: this.adam.info,
      ...(this.production ? { production: this.production } : {}),
    };
  }

  /**
   * Continues from the model directory's checkpoint: its dataset fingerprint, model config and training
   * settings (but `epochs` and `patience`) must match; weights, Adam moments, counters and history are
   * restored.
   */
  resume(): void {
    const { opts, train: cfg } = this;
    const resumed = this.writer?.resumed;
    if (!resumed) throw new InvalidArgumentError("trainModel(): 'resume' needs 'out' (the model directory)");
    const ck = resumed.checkpoint;
    const s = ck.state;
    if (Boolean(s.production) !== Boolean(this.production)) {
      throw new InvalidArgumentError(
        s.production
          ? 'cannot resume: the checkpoint is a production run (all users); resume it with allUsers (train --all-users)'
          : 'cannot resume: the checkpoint is a validated run; production training (allUsers) starts a new model directory',
      );
    }
    if (!sameDatasetFingerprint(s.datasetFingerprint, this.fingerprint)) {
      throw new InvalidArgumentError(
        `cannot resume: the checkpoint was trained on another dataset (fingerprint ${s.datasetFingerprint.slice(0, 12)}…, this data ${this.fingerprint.slice(0, 12)}…)`,
      );
    }
    // Resolved, so a checkpoint written before a config field existed compares with its default.
    if (!sameJson(resolveModelConfig(s.model.kind, s.model), resolveModelConfig(opts.model.kind, opts.model))) {
      throw new InvalidArgumentError(
        `cannot resume: the model config differs from the checkpoint's ${JSON.stringify(s.model)}`,
      );
    }
    // Epochs and patience may be changed on resume; everything else must match.
    const fixed = (c: TrainConfig) => ({ ...c, epochs: 0, patience: 0 });
    if (!sameJson(fixed(s.train), fixed(cfg))) {
      throw new InvalidArgumentError(
        `cannot resume: the training settings differ from the checkpoint's ${JSON.stringify(s.train)}`,
      );
    }
    this.model.setWeights(ck.weights);
    this.adam.setState(ck.adam);
    ({ epoch: this.epoch, step: this.step, bestEpoch: this.bestEpoch, bestScore: this.bestScore } = s);
    this.sinceBest = s.sinceBest;
    this.history = s.history as EpochRecord[];
    // The best epoch's weights: the file the checkpoint names (see `ModelDirWriter.open`).
    if (resumed.best) this.bestWeights = resumed.best;
  }

  /** One pass over the training users in epoch `e`'s order (1-based): a step per minibatch. */
  async trainEpoch(e: number): Promise<EpochTraining> {
    const { opts, train: cfg, data, batchesPerEpoch } = this;
    const t0 = performance.now();
    const order = epochOrder(this.trainUsers, cfg.seed, e);
    const sums = { loss: 0, nll: 0, kl: 0, l2: 0 };
    let beta = 0;
    for (let b = 0; b < batchesPerEpoch; b++) {
      const rows = order.subarray(b * cfg.batchSize, Math.min(this.trainUsers, (b + 1) * cfg.batchSize));
      const batch = csrGatherRows(data.train, rows);
      beta =
        opts.model.kind === 'multdae'
          ? 0
          : betaAt(cfg.betaSchedule, cfg.beta, this.step, { batchesPerEpoch, annealSteps: cfg.annealSteps });
      const sampled = this.popularity ? drawNegatives(batch, cfg, this.popularity, this.step) : undefined;
      const terms = await this.adam.step(batch, {
        beta,
        l2: cfg.l2,
        noiseSeed: stepNoiseSeed(cfg.seed, this.step),
        sampled,
      });
      this.step++;
      sums.loss += terms.loss;
      sums.nll += terms.nll;
      sums.kl += terms.kl;
      sums.l2 += terms.l2;
      opts.onStep?.(b + 1, batchesPerEpoch, terms);
    }
    const n = batchesPerEpoch;
    return {
      seconds: (performance.now() - t0) / 1000,
      loss: sums.loss / n,
      nll: sums.nll / n,
      kl: sums.kl / n,
      l2: sums.l2 / n,
      beta,
    };
  }

  /** The current weights on the validation users: the selection metric and the metric table. */
  async validateEpoch(): Promise<EpochValidation> {
    const t1 = performance.now();
    const val = await evaluate((foldIn) => this.model.score(foldIn), this.data.validation, {
      ks: EVAL_KS,
      batchSize: this.train.evalBatchSize,
      pool: this.runtime.pool,
    });
    const seconds = (performance.now() - t1) / 1000;
    lap('evaluation', t1);
    const metric = val.metrics[SELECTION_METRIC]?.mean;
    if (metric === undefined) throw new InvalidArgumentError(`the evaluator returned no '${SELECTION_METRIC}'`);
    return { metric, table: metricTable(val), seconds };
  }

  /** Books epoch `e`'s results: best epoch, patience counter, history. */
  private record(e: number, trained: EpochTraining, val: EpochValidation, note: EpochNote | undefined): EpochRecord {
    const warmup = e <= this.warmupEpochs;
    // Production training validates nothing: the latest epoch is the model.
    const best = this.production ? true : !warmup && val.metric > this.bestScore;
    if (best) {
      this.bestScore = val.metric;
      this.bestEpoch = e;
      this.sinceBest = 0;
      this.bestWeights = this.model.getWeights();
    } else if (!warmup) this.sinceBest++;
    this.epoch = e;
    const rec: EpochRecord = {
      epoch: e,
      seconds: Number(trained.seconds.toFixed(3)),
      evalSeconds: Number(val.seconds.toFixed(3)),
      loss: trained.loss,
      nll: trained.nll,
      kl: trained.kl,
      l2: trained.l2,
      beta: trained.beta,
      steps: this.batchesPerEpoch,
      'ndcg@100': val.metric,
      validation: val.table,
      best,
      ...(warmup ? { warmup } : {}),
      ...(note?.prototypes ? { prototypes: note.prototypes } : {}),
    };
    this.history.push(rec);
    return rec;
  }

  /** Commits the model directory after epoch `rec` (see `ModelDirWriter.commit`). */
  saveCheckpoint(rec: EpochRecord): void {
    if (!this.writer) return;
    this.manifest = this.writer.commit(this.commitOf(rec.best));
  }

  /** What one commit writes: the manifest, the checkpoint state, the weights, the log. */
  private commitOf(isBest: boolean): EpochCommit {
    const { opts, train: cfg, data } = this;
    const state: CheckpointState = {
      epoch: this.epoch,
      step: this.step,
      model: opts.model,
      train: cfg,
      items: data.items,
      datasetFingerprint: this.fingerprint,
      bestEpoch: this.bestEpoch,
      bestScore: this.bestScore,
      sinceBest: this.sinceBest,
      history: this.history,
      rng: { seed: cfg.seed, scheme: 'counter-v1' },
      ...(this.production ? { production: this.production } : {}),
    };
    const bestVal = this.history.find((h) => h.epoch === this.bestEpoch)?.validation ?? {};
    return {
      manifest: {
        format: 'macridvae-model',
        formatVersion: 1,
        model: opts.model,
        train: cfg,
        items: data.items,
        dataset: {
          fingerprint: this.fingerprint,
          users: this.trainUsers,
          items: data.items,
          validationUsers: csrRows(data.validation.foldIn),
          testUsers: csrRows(data.test.foldIn),
        },
        versions: { macridvae: VERSION, tfjs: tfVersion(), node: process.version },
        bestEpoch: this.bestEpoch,
        epochs: this.epoch,
        metrics: this.production ? {} : { validation: bestVal },
        compute: this.adam.info,
        ...(this.production ? { production: this.production } : {}),
      },
      state,
      weights: this.model.getWeights(),
      adam: this.adam.getState(),
      best: this.bestEpoch > 0 && (isBest || !this.writer?.hasBest) ? this.bestWeights : undefined,
      log: this.history,
    };
  }

  /** The model's current weights on the test users (absent when there are none). */
  async test(): Promise<{ table: MetricTable; users: number } | undefined> {
    if (csrRows(this.data.test.foldIn) === 0) return undefined;
    const r = await evaluate((f) => this.model.score(f), this.data.test, {
      ks: EVAL_KS,
      batchSize: this.train.evalBatchSize,
      pool: this.runtime.pool,
    });
    return { table: metricTable(r), users: r.users };
  }
}

/** The validation of an epoch in production training: none (the record says NaN and an empty table). */
const NOT_VALIDATED: EpochValidation = { metric: Number.NaN, table: {}, seconds: 0 };

/**
 * Production training's settings (see `TrainOptions.allUsers`): the epoch count given or taken from
 * `epochsFrom` (one of the two, not both), patience off, and the data with every user in `train`.
 */
function productionRun(
  opts: TrainOptions,
  fingerprint: string,
): { train: TrainConfig; data: SplitData; production: ProductionInfo } {
  const given = opts.train?.epochs;
  if (opts.epochsFrom !== undefined && given !== undefined) {
    throw new InvalidArgumentError(
      "trainModel(): give either 'train.epochs' or 'epochsFrom' for production training, not both",
    );
  }
  if (opts.epochsFrom === undefined && given === undefined) {
    throw new InvalidArgumentError(
      "trainModel(): production training ('allUsers') holds nothing out to choose the epoch on; give 'train.epochs' or 'epochsFrom' (a validated model directory)",
    );
  }
  const from = opts.epochsFrom === undefined ? undefined : epochsFromRun(opts.epochsFrom, fingerprint);
  const train = resolveTrainConfig(opts.model.kind, {
    ...opts.train,
    epochs: from ? from.bestEpoch : given,
    patience: 0,
  });
  const data = allUsersData(opts.data);
  const production: ProductionInfo = {
    allUsers: true,
    users: csrRows(data.train),
    epochs: train.epochs,
    ...(from ? { epochsFrom: from } : {}),
  };
  return { train, data, production };
}

/**
 * Refuses settings whose memory would not fit this machine (`checkMemory`): a batch's dense
 * users × items blocks (the decoder's logits and gradients), the item-sized weights with their
 * Adam moments and the best epoch's copy, and with the sampled softmax the negatives' draws and blocks.
 */
function checkTrainingMemory(model: ModelConfig, cfg: TrainConfig, items: number, users: number): void {
  const b = Math.min(cfg.batchSize, users);
  const blocks = model.kind === 'macridvae' ? model.concepts + 2 : 3;
  checkMemory(
    'trainModel',
    'batchSize',
    cfg.batchSize,
    b * items * 4 * blocks,
    `${blocks} dense blocks of ${b} users × ${items} items per batch`,
    true,
  );
  const width =
    model.kind === 'macridvae' ? 2 * model.d : 2 * ((model.hidden[0] as number | undefined) ?? model.latent);
  checkMemory(
    'trainModel',
    model.kind === 'macridvae' ? 'd' : 'hidden',
    model.kind === 'macridvae' ? model.d : width / 2,
    items * width * 4 * 4,
    `the item-sized weights (${items} items × ${width}) with Adam's two moments and the best epoch's copy`,
  );
  if (cfg.softmax === 'sampled') {
    // The draws (item, log Q, weight) and, per batch, the blocks of users × negatives.
    checkMemory(
      'trainModel',
      'negatives',
      cfg.negatives,
      cfg.negatives * (12 + b * 4 * blocks),
      `the draws and ${blocks} blocks of ${b} users × ${cfg.negatives} negatives per batch`,
      true,
    );
  }
}

/** Trains a model on `data.train`, choosing the epoch by validation NDCG@100 (see the module doc). */
export async function trainModel(opts: TrainOptions): Promise<TrainResult> {
  return new Trainer(opts).fit();
}
