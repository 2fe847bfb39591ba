/**
 * The training loop shared by the three models: Adam over shuffled minibatches of training users, β
 * from the schedule, validation NDCG@100 after every epoch (the evaluator of `ts/eval/`), the best epoch
 * kept, early stopping after `patience` epochs without improvement, and — when a model directory is
 * given — the best weights (`weights.mvt` + `manifest.json`) and the latest state (`checkpoint.mvt`:
 * weights, Adam moments, step, epoch, history) written atomically after every epoch, so `resume`
 * continues a run killed at any point exactly as if it had not stopped.
 *
 * MacridVAE with `prototypeInit: 'kmeans'`: the prototypes are placed on the spherical k-means
 * centroids of the item embeddings at the start of epoch `prototypeEpoch(...)`; the epochs before it are
 * a warm-up that is evaluated and logged but never chosen as the best and not counted by `patience`.
 *
 * Randomness is counter-based: epoch e's batch order is drawn from `(seed, e)` and step t's noise from
 * `(seed, t)`, so the checkpoint needs no generator state and a resumed run is bit-for-bit the same run.
 */
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type Csr, csrGatherRows, csrRows } from '../csr.js';
import type { SplitData } from '../data/types.js';
import { InvalidArgumentError } from '../errors.js';
import { evaluate } from '../eval/evaluator.js';
import type { EvalResult } from '../eval/types.js';
import {
  type MacridVaeConfig,
  type ModelConfig,
  resolveModelConfig,
  resolveTrainConfig,
  type TrainConfig,
} from '../models/config.js';
import type { Runtime } from '../models/decoder.js';
import { createModel } from '../models/index.js';
import { MacridVae } from '../models/macridvae.js';
import { mixSeed } from '../models/noise.js';
import { lap } from '../models/profile.js';
import type { Compute } from '../models/tfjs/index.js';
import type { LossTerms, Model } from '../models/types.js';
import { Rng } from '../util/rng.js';
import { VERSION } from '../version.js';
import type { SampledNegatives } from '../wasm/nn.js';
import { threadInstance } from '../wasm/raw.js';
import { DEFAULT_ALPHA, sampleNegatives } from '../wasm/sampling.js';
import {
  CHECKPOINT_FILE,
  type CheckpointState,
  datasetFingerprint,
  LOG_FILE,
  loadCheckpoint,
  loadModel,
  type Manifest,
  type MetricTable,
  saveCheckpoint,
  saveWeights,
  writeManifest,
} from './checkpoint.js';
import { type ComputeInfo, createStepRunner } from './compute.js';
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
  /** Validation NDCG@100 (mean). */
  'ndcg@100': number;
  /** Every validation metric, `{mean, se}`. */
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
  runtime?: Runtime;
  /** Model directory: best weights, manifest, checkpoint and the JSON-lines log are written there. */
  out?: string;
  /** Continue from `out`'s checkpoint (its configs and dataset fingerprint must match). */
  resume?: boolean;
  /** Called after every epoch (after the checkpoint is written). */
  onEpoch?: (record: EpochRecord) => void;
  /** Called after every step with (steps done this epoch, steps per epoch). */
  onStep?: (done: number, total: number, terms: LossTerms) => void;
  /** Where steps run: the Rust/WASM kernels, tfjs ops, or `auto` (tfjs on a GPU backend); see `./compute.ts`. Default `auto`. */
  compute?: Compute;
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
  /** The manifest written (when `out` was given). */
  manifest?: Manifest;
  /** The compute path the steps took. */
  compute: ComputeInfo;
}

/** Stream ids of the trainer's counter-based randomness. */
const ORDER_STREAM = 0x0bde;
const NOISE_STREAM = 0x5eed;
const SAMPLE_STREAM = 0x5a3e;
const KMEANS_STREAM = 0xc1a5;

/**
 * The epoch at whose start `prototypeInit: 'kmeans'` places the prototypes: the first epoch starting
 * after at least `warmup` steps, `⌈warmup / batchesPerEpoch⌉ + 1`. 1 (no warm-up) otherwise.
 */
export function prototypeEpoch(model: ModelConfig, batchesPerEpoch: number): number {
  if (model.kind !== 'macridvae' || model.prototypeInit !== 'kmeans') return 1;
  return Math.ceil(model.prototypeWarmup / batchesPerEpoch) + 1;
}

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
  const s = sampleNegatives(threadInstance(), {
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

function table(r: EvalResult): MetricTable {
  const out: MetricTable = {};
  for (const [k, v] of Object.entries(r.metrics)) out[k] = { mean: v.mean, se: v.se };
  return out;
}

function tfVersion(): string {
  return tf.version_core;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Trains a model on `data.train`, choosing the epoch by validation NDCG@100 (see the module doc). */
export async function trainModel(opts: TrainOptions): Promise<TrainResult> {
  const kind = opts.model.kind;
  const cfg = resolveTrainConfig(kind, opts.train);
  const data = opts.data;
  const trainUsers = csrRows(data.train);
  if (trainUsers === 0) throw new InvalidArgumentError("trainModel(): 'data.train' has no users");
  const fingerprint = datasetFingerprint(data);
  const batchesPerEpoch = Math.ceil(trainUsers / cfg.batchSize);
  const placeEpoch = prototypeEpoch(opts.model, batchesPerEpoch);
  const placing = opts.model.kind === 'macridvae' && opts.model.prototypeInit === 'kmeans';
  if (placing && cfg.epochs < placeEpoch) {
    throw new InvalidArgumentError(
      `trainModel(): 'epochs' is ${cfg.epochs} but prototypeInit 'kmeans' places the prototypes at the start of epoch ${placeEpoch} (the warm-up is ${(opts.model as MacridVaeConfig).prototypeWarmup} steps, ${batchesPerEpoch} per epoch): train longer or lower 'prototypeWarmup'`,
    );
  }
  const model = createModel(opts.model, data.items, { seed: cfg.seed, runtime: opts.runtime });
  const adam = createStepRunner(model, cfg.lr, opts.compute);
  // Sampled softmax: the proposal's weights (training clicks per item; all ones for uniform).
  let popularity: Float32Array | undefined;
  if (cfg.softmax === 'sampled') {
    popularity = new Float32Array(data.items);
    if (cfg.proposal === 'popularity') for (const i of data.train.indices) popularity[i]++;
    else popularity.fill(1);
  }
  let epoch = 0;
  let step = 0;
  let bestEpoch = 0;
  let bestScore = Number.NEGATIVE_INFINITY;
  let sinceBest = 0;
  let history: EpochRecord[] = [];
  let bestWeights = model.getWeights();
  let manifest: Manifest | undefined;
  let weightsInfo: Manifest['weights'] | undefined;

  if (opts.out) mkdirSync(opts.out, { recursive: true });
  if (opts.resume) {
    if (!opts.out) throw new InvalidArgumentError("trainModel(): 'resume' needs 'out' (the model directory)");
    if (!existsSync(join(opts.out, CHECKPOINT_FILE))) {
      throw new InvalidArgumentError(`cannot resume: ${join(opts.out, CHECKPOINT_FILE)} does not exist`);
    }
    const ck = loadCheckpoint(opts.out);
    const s = ck.state;
    if (s.datasetFingerprint !== fingerprint) {
      throw new InvalidArgumentError(
        `cannot resume: the checkpoint was trained on another dataset (fingerprint ${s.datasetFingerprint.slice(0, 12)}…, this data ${fingerprint.slice(0, 12)}…)`,
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
    model.setWeights(ck.weights);
    adam.setState(ck.adam);
    ({ epoch, step, bestEpoch, bestScore, sinceBest } = s);
    history = s.history as EpochRecord[];
    if (bestEpoch > 0) {
      // weights.mvt holds the best epoch's weights; if the run died after writing it but before the
      // checkpoint, it is one epoch ahead, and replaying that epoch (deterministic) rewrites it.
      const stored = loadModel(opts.out);
      bestWeights = stored.weights;
      weightsInfo = stored.manifest.weights;
    }
  } else if (opts.out) {
    writeFileSync(join(opts.out, LOG_FILE), '');
  }

  let stoppedEarly = false;
  try {
    while (epoch < cfg.epochs) {
      if (cfg.patience > 0 && sinceBest >= cfg.patience) {
        stoppedEarly = true;
        break;
      }
      const e = epoch + 1;
      const t0 = performance.now();
      let placed: EpochRecord['prototypes'];
      if (placing && e === placeEpoch && model instanceof MacridVae) {
        placed = model.placePrototypes(mixSeed(cfg.seed, KMEANS_STREAM));
      }
      const order = epochOrder(trainUsers, cfg.seed, e);
      const sums = { loss: 0, nll: 0, kl: 0, l2: 0 };
      let beta = 0;
      for (let b = 0; b < batchesPerEpoch; b++) {
        const rows = order.subarray(b * cfg.batchSize, Math.min(trainUsers, (b + 1) * cfg.batchSize));
        const batch = csrGatherRows(data.train, rows);
        beta =
          kind === 'multdae'
            ? 0
            : betaAt(cfg.betaSchedule, cfg.beta, step, { batchesPerEpoch, annealSteps: cfg.annealSteps });
        const sampled = popularity ? drawNegatives(batch, cfg, popularity, step) : undefined;
        const terms = await adam.step(batch, { beta, l2: cfg.l2, noiseSeed: stepNoiseSeed(cfg.seed, step), sampled });
        step++;
        sums.loss += terms.loss;
        sums.nll += terms.nll;
        sums.kl += terms.kl;
        sums.l2 += terms.l2;
        opts.onStep?.(b + 1, batchesPerEpoch, terms);
      }
      const seconds = (performance.now() - t0) / 1000;
      const t1 = performance.now();
      const val = await evaluate((foldIn) => model.score(foldIn), data.validation, {
        ks: EVAL_KS,
        batchSize: cfg.evalBatchSize,
        pool: opts.runtime?.pool,
      });
      const evalSeconds = (performance.now() - t1) / 1000;
      lap('evaluation', t1);
      const metric = val.metrics[SELECTION_METRIC]?.mean;
      if (metric === undefined) throw new InvalidArgumentError(`the evaluator returned no '${SELECTION_METRIC}'`);
      const warmup = e < placeEpoch;
      const best = !warmup && metric > bestScore;
      if (best) {
        bestScore = metric;
        bestEpoch = e;
        sinceBest = 0;
        bestWeights = model.getWeights();
      } else if (!warmup) sinceBest++;
      epoch = e;
      const rec: EpochRecord = {
        epoch: e,
        seconds: Number(seconds.toFixed(3)),
        evalSeconds: Number(evalSeconds.toFixed(3)),
        loss: sums.loss / batchesPerEpoch,
        nll: sums.nll / batchesPerEpoch,
        kl: sums.kl / batchesPerEpoch,
        l2: sums.l2 / batchesPerEpoch,
        beta,
        steps: batchesPerEpoch,
        'ndcg@100': metric,
        validation: table(val),
        best,
        ...(warmup ? { warmup } : {}),
        ...(placed ? { prototypes: placed } : {}),
      };
      history.push(rec);
      if (opts.out) {
        if (best) weightsInfo = saveWeights(opts.out, opts.model, data.items, bestEpoch, bestWeights);
        const bestVal = history.find((h) => h.epoch === bestEpoch)?.validation ?? {};
        manifest = writeManifest(opts.out, {
          format: 'macridvae-model',
          formatVersion: 1,
          model: opts.model,
          train: cfg,
          items: data.items,
          dataset: {
            fingerprint,
            users: trainUsers,
            items: data.items,
            validationUsers: csrRows(data.validation.foldIn),
            testUsers: csrRows(data.test.foldIn),
          },
          versions: { macridvae: VERSION, tfjs: tfVersion(), node: process.version },
          bestEpoch,
          epochs: epoch,
          metrics: { validation: bestVal },
          weights: weightsInfo as Manifest['weights'],
          compute: adam.info,
        });
        const state: CheckpointState = {
          epoch,
          step,
          model: opts.model,
          train: cfg,
          items: data.items,
          datasetFingerprint: fingerprint,
          bestEpoch,
          bestScore,
          sinceBest,
          history,
          rng: { seed: cfg.seed, scheme: 'counter-v1' },
        };
        saveCheckpoint(opts.out, state, model.getWeights(), adam.getState());
        appendFileSync(join(opts.out, LOG_FILE), `${JSON.stringify(rec)}\n`);
      }
      opts.onEpoch?.(rec);
    }
  } finally {
    adam.dispose();
  }
  model.setWeights(bestWeights);
  const bestRec = history.find((h) => h.epoch === bestEpoch);
  return {
    model,
    train: cfg,
    bestEpoch,
    bestValidation: bestRec?.validation ?? {},
    history,
    stoppedEarly,
    manifest,
    compute: adam.info,
  };
}
