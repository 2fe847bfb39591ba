/**
 * `macridvae train`: trains a model on a prepared dataset directory (`macridvae data prepare`) and writes
 * the model directory (see docs/model-format.md). A thin layer over `trainModel`.
 *
 * Options (defaults and their sources: ts/models/config.ts):
 *   --data DIR --out MODEL_DIR [--model macridvae|multvae|multdae] [--resume | --force]
 *             (an existing model directory is continued with --resume, replaced with --force, else refused)
 *   model:    --concepts K --d D --tau T --sigma0 S --hidden W,W,… --similarity cosine|inner
 *             --no-gumbel --prototype-init random|kmeans --prototype-warmup STEPS --latent L --keep P
 *   training: --epochs N --batch-size B --lr R --l2 L --beta B --beta-schedule reference|multvae|constant
 *             --anneal-steps N --patience N --seed S --eval-batch-size B
 *             --softmax full|sampled --negatives S --proposal popularity|uniform
 *   runtime:  --threads N (worker threads for the decoder and evaluation; default min(2, cores))
 *             --backend auto|tensorflow-gpu|tensorflow|wasm|cpu
 *             --compute auto|wasm|tfjs (where steps run: Rust/WASM kernels or tfjs ops; auto: tfjs on a GPU backend)
 *
 * Production training (--all-users, with --epochs N or --epochs-from MODEL_DIR): every user trained on,
 * nothing held out, validated or tested; the summary is `{ production, epochs, out }`.
 *
 * With --json: one JSON object per epoch (`epoch`, `seconds` (training only), `evalSeconds`, `loss`,
 * `nll`, `kl`, `beta`, `ndcg@100`, `validation`, `best`; `warmup` and `prototypes` with --prototype-init
 * kmeans), then a summary (`bestEpoch`, validation and test
 * metrics of the best epoch, `out`). Otherwise a progress bar on a TTY and one line per epoch.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset } from '../../data/store.js';
import type { HeldOut } from '../../data/types.js';
import { InvalidArgumentError, ParseError } from '../../errors.js';
import { evaluate, type MetricTable } from '../../eval/evaluator.js';
import type { ScoringModel } from '../../models/baselines.js';
import {
  BASELINE_KINDS,
  type BaselineKind,
  BETA_SCHEDULES,
  type BetaSchedule,
  EASE_LAMBDAS,
  isBaselineKind,
  KNN_KS,
  KNN_SHRINKS,
  MODEL_KINDS,
  type ModelConfig,
  type ModelKind,
  resolveModelConfig,
  resolveTrainConfig,
  type TrainConfig,
  trainDefaults,
} from '../../models/config.js';
import { selectBackend } from '../../tf/backend.js';
import { CHECKPOINT_FILE, MANIFEST_FILE, readManifest, writeManifest } from '../../train/checkpoint.js';
import { computeInfo } from '../../train/compute.js';
import { type FitBaselineOptions, fitBaseline } from '../../train/fit-baseline.js';
import { EVAL_KS, trainModel } from '../../train/trainer.js';
import { checkOutput } from '../../util/output.js';
import { KernelPool } from '../../workers/pool.js';
import {
  BACKEND_OPTION,
  type Command,
  intOption,
  numberOption,
  parse,
  printJson,
  THREADS_OPTION,
  threadsOption,
  UsageError,
} from '../args.js';
import { progress } from '../progress.js';
import { backendOption, COMPUTE_OPTION, computeOption } from './backend.js';

/** A default as documented per model kind: `500 (macridvae), 200 (multvae, multdae)`, or one value for all. */
function byKind(f: (kind: ModelKind) => unknown, kinds: readonly ModelKind[] = MODEL_KINDS): string {
  const groups = new Map<string, ModelKind[]>();
  for (const k of kinds) {
    const v = f(k);
    const s = Array.isArray(v) ? (v.length === 0 ? 'none' : v.join(',')) : String(v);
    groups.set(s, [...(groups.get(s) ?? []), k]);
  }
  if (groups.size === 1) return [...groups.keys()][0];
  return [...groups].map(([v, ks]) => `${v} (${ks.join(', ')})`).join(', ');
}
const md = (f: (c: ModelConfig & Record<string, unknown>) => unknown) =>
  byKind((k) => f(resolveModelConfig(k) as ModelConfig & Record<string, unknown>));
const mac = (f: (c: ModelConfig & Record<string, unknown>) => unknown) =>
  byKind((k) => f(resolveModelConfig(k) as ModelConfig & Record<string, unknown>), ['macridvae']);
const mult = (f: (c: ModelConfig & Record<string, unknown>) => unknown) =>
  byKind((k) => f(resolveModelConfig(k) as ModelConfig & Record<string, unknown>), ['multvae', 'multdae']);
const td = (f: (c: TrainConfig) => unknown) => byKind((k) => f(trainDefaults(k)));

/** `train`'s options; defaults (and their sources) are those of ts/models/config.ts. */
export const TRAIN_OPTIONS = {
  data: { type: 'string', value: 'DIR', required: true, description: 'the prepared dataset (macridvae data prepare)' },
  out: { type: 'string', value: 'MODEL_DIR', required: true, description: 'the model directory to write' },
  model: {
    type: 'string',
    value: [...MODEL_KINDS, ...BASELINE_KINDS].join('|'),
    defaultText: 'macridvae',
    description: 'the model to train (ease, pop, itemknn: the fitted reference models)',
  },
  config: {
    type: 'string',
    value: 'FILE',
    description: "JSON {model, train} (a model directory's manifest.json is one) to replay; flags override it",
  },
  'all-users': {
    type: 'boolean',
    default: false,
    description:
      'production training: every user trained on, nothing held out or validated; needs --epochs or --epochs-from',
  },
  'epochs-from': {
    type: 'string',
    value: 'MODEL_DIR',
    description: 'with --all-users: train as many epochs as the best epoch of this validated model (same dataset)',
  },
  resume: { type: 'boolean', default: false, description: 'continue the model in --out from its last checkpoint' },
  force: { type: 'boolean', default: false, description: 'train a new model over an existing one in --out' },
  concepts: {
    type: 'string',
    value: 'K',
    defaultText: mac((c) => c.concepts),
    description: 'MacridVAE: number of concepts K',
  },
  d: {
    type: 'string',
    value: 'D',
    defaultText: mac((c) => c.d),
    description: 'MacridVAE: dimension d of items, prototypes and user components',
  },
  tau: {
    type: 'string',
    value: 'T',
    defaultText: mac((c) => c.tau),
    description: 'MacridVAE: temperature τ of the cosine similarities',
  },
  sigma0: {
    type: 'string',
    value: 'S',
    defaultText: mac((c) => c.sigma0),
    description: 'MacridVAE: prior standard deviation σ0',
  },
  hidden: {
    type: 'string',
    value: 'W,W,…',
    defaultText: md((c) => c.hidden),
    description: 'widths of the hidden layers (empty string: none)',
  },
  similarity: {
    type: 'string',
    value: 'cosine|inner',
    defaultText: mac((c) => c.similarity),
    description: 'MacridVAE: cosine (the paper) or inner product (the ablation of Fig. 2e)',
  },
  'no-gumbel': {
    type: 'boolean',
    default: false,
    description: 'MacridVAE: softmax instead of Gumbel-softmax concept assignment in training',
  },
  'prototype-init': {
    type: 'string',
    value: 'random|kmeans',
    defaultText: mac((c) => c.prototypeInit),
    description: 'MacridVAE: prototypes random, or placed by k-means of the items after a warm-up',
  },
  'prototype-warmup': {
    type: 'string',
    value: 'STEPS',
    defaultText: mac((c) => c.prototypeWarmup),
    description: 'MacridVAE: optimizer steps before the k-means placement',
  },
  latent: {
    type: 'string',
    value: 'L',
    defaultText: mult((c) => c.latent),
    description: 'MultVAE/MultDAE: latent dimension',
  },
  keep: {
    type: 'string',
    value: 'P',
    defaultText: md((c) => c.keep),
    description: 'keep probability of the input dropout, in (0, 1]',
  },
  epochs: {
    type: 'string',
    value: 'N',
    defaultText: td((c) => c.epochs),
    description: 'maximum training epochs (the best validated one is kept); with --all-users, the epochs trained',
  },
  'batch-size': { type: 'string', value: 'B', defaultText: td((c) => c.batchSize), description: 'users per minibatch' },
  lr: { type: 'string', value: 'R', defaultText: td((c) => c.lr), description: 'Adam learning rate' },
  l2: {
    type: 'string',
    value: 'L',
    defaultText: td((c) => c.l2),
    description: 'weight λ of the L2 penalty on weights, embeddings and prototypes',
  },
  beta: {
    type: 'string',
    value: 'B',
    defaultText: td((c) => c.beta),
    description: 'cap of the KL weight β (unused by MultDAE)',
  },
  'beta-schedule': {
    type: 'string',
    value: BETA_SCHEDULES.join('|'),
    defaultText: td((c) => c.betaSchedule),
    description: 'how β grows to its cap',
  },
  'anneal-steps': {
    type: 'string',
    value: 'N',
    defaultText: td((c) => c.annealSteps),
    description: 'steps of the multvae schedule to reach β',
  },
  patience: {
    type: 'string',
    value: 'N',
    defaultText: td((c) => c.patience),
    description: 'stop after N epochs without a better validation NDCG@100 (0: never)',
  },
  seed: {
    type: 'string',
    value: 'S',
    defaultText: td((c) => c.seed),
    description: 'seed of the initialization, batch order and noise',
  },
  'eval-batch-size': {
    type: 'string',
    value: 'B',
    defaultText: td((c) => c.evalBatchSize),
    description: 'held-out users scored per batch',
  },
  softmax: {
    type: 'string',
    value: 'full|sampled',
    defaultText: td((c) => c.softmax),
    description: 'full softmax over all items, or sampled (log-Q corrected)',
  },
  negatives: {
    type: 'string',
    value: 'S',
    defaultText: td((c) => c.negatives),
    description: 'negatives drawn per batch with --softmax sampled',
  },
  proposal: {
    type: 'string',
    value: 'popularity|uniform',
    defaultText: td((c) => c.proposal),
    description: 'proposal of the sampled softmax',
  },
  threads: THREADS_OPTION,
  backend: BACKEND_OPTION,
  compute: COMPUTE_OPTION,
  lambda: {
    type: 'string',
    value: 'L,L,…',
    defaultText: EASE_LAMBDAS.join(','),
    description: 'EASE: the L2 weight λ, or a grid chosen on validation NDCG@100',
  },
  precision: {
    type: 'string',
    value: 'f32|f64',
    defaultText: 'f32',
    description: 'EASE: precision of the items × items solve',
  },
  'max-memory': {
    type: 'string',
    value: 'BYTES',
    defaultText: 'half the machine memory',
    description: 'EASE: memory it may use; refused with both figures when items² does not fit',
  },
  neighbours: {
    type: 'string',
    value: 'N,N,…',
    defaultText: KNN_KS.join(','),
    description: 'ItemKNN: neighbours per item, or a grid chosen on validation NDCG@100',
  },
  shrink: {
    type: 'string',
    value: 'S,S,…',
    defaultText: KNN_SHRINKS.join(','),
    description: 'ItemKNN: shrinkage of the cosine, or a grid chosen on validation NDCG@100',
  },
} as const;

const BASELINE_OPTIONS = ['lambda', 'precision', 'max-memory', 'neighbours', 'shrink'] as const;

type Values = Partial<Record<keyof typeof TRAIN_OPTIONS, string | boolean>>;

function str(v: Values, k: keyof typeof TRAIN_OPTIONS): string | undefined {
  const x = v[k];
  return typeof x === 'string' ? x : undefined;
}

function widths(cmd: string, v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  if (v.trim() === '') return [];
  return v.split(',').map((w) => {
    const n = Number(w);
    if (!Number.isInteger(n) || n < 1)
      throw new UsageError(`macridvae ${cmd}: --hidden must be comma-separated widths >= 1 but got '${v}'`);
    return n;
  });
}

/** A config file's `{ model, train }` (see readConfigFile). */
export interface ConfigFile {
  path: string;
  model: Partial<ModelConfig> & { kind?: ModelKind };
  train: Partial<TrainConfig>;
}

/**
 * Reads `--config FILE`: JSON `{ "model": {…}, "train": {…} }` (either may be left out), a model
 * directory's `manifest.json` (its `model` and `train` blocks; the rest is ignored), or `{ "config": {
 * "model", "train" } }`. Any other key is an error naming it.
 */
export function readConfigFile(path: string): ConfigFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ParseError(`${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const isObject = (x: unknown): x is Record<string, unknown> =>
    typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isObject(raw)) throw new ParseError(`${path}: expected a JSON object { "model": {…}, "train": {…} }`);
  let o: Record<string, unknown> = raw;
  if (raw.format === 'macridvae-model') o = { model: raw.model, train: raw.train };
  else if (isObject(raw.config)) o = raw.config;
  for (const k of Object.keys(o)) {
    if (k !== 'model' && k !== 'train')
      throw new ParseError(`${path}: unknown key '${k}' (expected 'model' and 'train')`);
  }
  for (const k of ['model', 'train'] as const) {
    if (o[k] !== undefined && !isObject(o[k])) throw new ParseError(`${path}: '${k}' must be an object`);
  }
  return { path, model: (o.model ?? {}) as ConfigFile['model'], train: (o.train ?? {}) as ConfigFile['train'] };
}

/** A comma-separated list of numbers for --name (each > 0, or >= 0 with `zero`), naming the flag. */
export function numberList(cmd: string, name: string, v: string, zero = false, integer = false): number[] {
  return v.split(',').map((w) => {
    const n = Number(w.trim());
    if (w.trim() === '' || !Number.isFinite(n) || (zero ? n < 0 : n <= 0) || (integer && !Number.isInteger(n))) {
      throw new UsageError(
        `macridvae ${cmd}: --${name} must be a comma-separated list of ${integer ? 'integers' : 'numbers'} ${zero ? '>= 0' : '> 0'} but got '${v}'`,
      );
    }
    return n;
  });
}

/** The reference-model fit options from the command line (`train --model ease|pop|itemknn`). */
export function baselineArgs(
  cmd: string,
  kind: BaselineKind,
  v: Values,
): Pick<FitBaselineOptions, 'lambdas' | 'precision' | 'maxMemoryBytes' | 'ks' | 'shrinks'> {
  for (const k of Object.keys(v) as (keyof typeof TRAIN_OPTIONS)[]) {
    if (v[k] === undefined || v[k] === false) continue;
    const general = ['data', 'out', 'model', 'force', 'threads', 'backend', 'eval-batch-size', 'seed'];
    const own =
      kind === 'ease' ? ['lambda', 'precision', 'max-memory'] : kind === 'itemknn' ? ['neighbours', 'shrink'] : [];
    if (!general.includes(k) && !own.includes(k) && (k in TRAIN_OPTIONS || k === 'resume')) {
      throw new UsageError(`macridvae ${cmd}: --${k} does not apply to --model ${kind}`);
    }
  }
  const precision = str(v, 'precision');
  if (precision !== undefined && precision !== 'f32' && precision !== 'f64') {
    throw new UsageError(`macridvae ${cmd}: --precision must be f32 or f64 but got '${precision}'`);
  }
  const mem = str(v, 'max-memory');
  const lambda = str(v, 'lambda');
  const neighbours = str(v, 'neighbours');
  const shrink = str(v, 'shrink');
  return {
    lambdas: lambda === undefined ? undefined : numberList(cmd, 'lambda', lambda),
    precision: precision as 'f32' | 'f64' | undefined,
    maxMemoryBytes: mem === undefined ? undefined : numberList(cmd, 'max-memory', mem, false, true)[0],
    ks: neighbours === undefined ? undefined : numberList(cmd, 'neighbours', neighbours, false, true),
    shrinks: shrink === undefined ? undefined : numberList(cmd, 'shrink', shrink, true),
  };
}

/**
 * The model and training configs from the command line over `--config FILE` when given (validated;
 * errors name the flag's field, or the file).
 */
export function configsFromArgs(cmd: string, v: Values): { kind: ModelKind; model: ModelConfig; train: TrainConfig } {
  const file = str(v, 'config') === undefined ? undefined : readConfigFile(str(v, 'config') as string);
  const kind = (str(v, 'model') ?? file?.model.kind ?? 'macridvae') as ModelKind;
  for (const k of BASELINE_OPTIONS) {
    if (str(v, k) !== undefined) throw new UsageError(`macridvae ${cmd}: --${k} does not apply to --model ${kind}`);
  }
  if (!MODEL_KINDS.includes(kind)) {
    throw new UsageError(
      `macridvae ${cmd}: --model must be one of ${[...MODEL_KINDS, ...BASELINE_KINDS].join(', ')} but got '${kind}'`,
    );
  }
  const num = (k: keyof typeof TRAIN_OPTIONS) => {
    const s = str(v, k);
    return s === undefined ? undefined : numberOption(cmd, k, s, 0);
  };
  const int = (k: keyof typeof TRAIN_OPTIONS, min = 0) => {
    const s = str(v, k);
    return s === undefined ? undefined : intOption(cmd, k, s, 0, min);
  };
  const drop = <T extends object>(o: T): Partial<T> =>
    Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as Partial<T>;
  const macridOnly = ['concepts', 'd', 'tau', 'sigma0', 'similarity', 'prototype-init', 'prototype-warmup'] as const;
  const multOnly = ['latent'] as const;
  for (const k of kind === 'macridvae' ? multOnly : macridOnly) {
    if (str(v, k) !== undefined) throw new UsageError(`macridvae ${cmd}: --${k} does not apply to --model ${kind}`);
  }
  if (kind !== 'macridvae' && v['no-gumbel'])
    throw new UsageError(`macridvae ${cmd}: --no-gumbel does not apply to --model ${kind}`);
  const modelPartial =
    kind === 'macridvae'
      ? drop({
          concepts: int('concepts', 1),
          d: int('d', 1),
          tau: num('tau'),
          sigma0: num('sigma0'),
          hidden: widths(cmd, str(v, 'hidden')),
          similarity: str(v, 'similarity') as 'cosine' | 'inner' | undefined,
          gumbel: v['no-gumbel'] ? false : undefined,
          keep: num('keep'),
          prototypeInit: str(v, 'prototype-init') as 'random' | 'kmeans' | undefined,
          prototypeWarmup: int('prototype-warmup'),
        })
      : drop({ hidden: widths(cmd, str(v, 'hidden')), latent: int('latent', 1), keep: num('keep') });
  const schedule = str(v, 'beta-schedule');
  if (schedule !== undefined && !(BETA_SCHEDULES as readonly string[]).includes(schedule)) {
    throw new UsageError(
      `macridvae ${cmd}: --beta-schedule must be one of ${BETA_SCHEDULES.join(', ')} but got '${schedule}'`,
    );
  }
  const trainPartial = drop({
    epochs: int('epochs', 1),
    batchSize: int('batch-size', 1),
    lr: num('lr'),
    l2: num('l2'),
    beta: num('beta'),
    betaSchedule: schedule as BetaSchedule | undefined,
    annealSteps: int('anneal-steps', 1),
    patience: int('patience'),
    seed: int('seed'),
    evalBatchSize: int('eval-batch-size', 1),
    softmax: str(v, 'softmax') as TrainConfig['softmax'] | undefined,
    negatives: int('negatives', 1),
    proposal: str(v, 'proposal') as TrainConfig['proposal'] | undefined,
  });
  const { kind: _k, ...fileModel } = file?.model ?? {};
  try {
    return {
      kind,
      model: resolveModelConfig(kind, { ...fileModel, ...modelPartial } as Partial<ModelConfig>),
      train: resolveTrainConfig(kind, { ...file?.train, ...trainPartial }),
    };
  } catch (e) {
    if (e instanceof InvalidArgumentError) {
      throw new UsageError(`macridvae ${cmd}: ${file ? `${file.path} with the flags: ` : ''}${e.message}`);
    }
    throw e;
  }
}

function withoutEpochs({ epochs: _, ...rest }: TrainConfig): Partial<TrainConfig> {
  return rest;
}

function need(cmd: string, name: string, v: string | undefined): string {
  if (v === undefined || v === '') throw new UsageError(`macridvae ${cmd}: --${name} is required`);
  return v;
}

const fmt = (x: number) => x.toFixed(4);

export const train: Command = {
  name: 'train',
  summary:
    'train MacridVAE, β-MultVAE or MultDAE (or fit EASE, popularity, ItemKNN) on a prepared dataset; writes a model directory',
  options: TRAIN_OPTIONS,
  async run(argv) {
    const cmd = 'train';
    const { values } = parse(cmd, argv, TRAIN_OPTIONS);
    const dataDir = need(cmd, 'data', values.data);
    const out = need(cmd, 'out', values.out);
    const threads = threadsOption(cmd, values.threads);
    if (isBaselineKind(values.model)) return fitCommand(cmd, values.model, values, dataDir, out, threads);
    const cfg = configsFromArgs(cmd, values);
    const allUsers = values['all-users'];
    const epochsFrom = values['epochs-from'];
    if (allUsers) {
      if (epochsFrom !== undefined && values.epochs !== undefined) {
        throw new UsageError(`macridvae ${cmd}: give --epochs or --epochs-from, not both`);
      }
      if (epochsFrom === undefined && values.epochs === undefined) {
        throw new UsageError(
          `macridvae ${cmd}: --all-users holds nothing out to choose the epoch on; give --epochs N or --epochs-from MODEL_DIR (a validated model on the same dataset)`,
        );
      }
    } else if (epochsFrom !== undefined) {
      throw new UsageError(`macridvae ${cmd}: --epochs-from applies to production training (--all-users)`);
    }
    if (values.resume && values.force)
      throw new UsageError(`macridvae ${cmd}: --resume and --force exclude each other`);
    // Checked before the data is read (fails fast); trainModel checks again holding the output's lock.
    const state = checkOutput(out, 'model', { option: '--out', force: values.force, inputs: [dataDir] });
    if (state === 'owned' && !values.resume && !values.force) {
      throw new UsageError(
        `macridvae ${cmd}: --out ${out} already holds a model; pass --resume to continue its run or --force to train a new one over it`,
      );
    }
    if (state === 'absent' && values.resume) {
      throw new UsageError(`macridvae ${cmd}: --resume: ${out} holds no model to resume`);
    }
    const data = await loadDataset(dataDir);
    const backend = await selectBackend(backendOption(values.backend));
    const compute = computeInfo(computeOption(cmd, values.compute));
    const pool = threads > 1 ? new KernelPool({ threads }) : undefined;
    const json = values.json;
    if (!json) {
      console.log(
        `training ${cfg.kind} on ${dataDir} (${data.items} items${allUsers ? '; all users, nothing held out' : ''}), backend ${backend.name}, compute ${compute.path}, ${threads} thread(s) → ${out}`,
      );
    }
    let bar = progress('', 0);
    let epochNo = 0;
    try {
      const r = await trainModel({
        model: cfg.model,
        train: cfg.train,
        data,
        out,
        resume: values.resume,
        force: values.force,
        runtime: { pool, threads },
        compute: compute.requested,
        // With --all-users, --epochs is the epoch count, or --epochs-from sets it (over a --config file's).
        ...(allUsers
          ? { allUsers, epochsFrom, train: epochsFrom === undefined ? cfg.train : withoutEpochs(cfg.train) }
          : {}),
        onStep: (done, total) => {
          if (done === 1) bar = progress(`epoch ${epochNo + 1}`, total, !json && process.stderr.isTTY === true);
          bar.tick();
          if (done === total) bar.done();
        },
        onEpoch: (e) => {
          epochNo = e.epoch;
          if (json) printJson(e);
          else {
            if (e.prototypes) {
              console.log(
                `prototypes placed by spherical k-means of the item embeddings (clusters ${e.prototypes.sizes.join('/')}, mean cos ${(e.prototypes.objective / e.prototypes.sizes.reduce((a, b) => a + b, 0)).toFixed(3)})`,
              );
            }
            const val = allUsers
              ? `${e.seconds.toFixed(2)} s`
              : `val ndcg@100 ${fmt(e['ndcg@100'])}${e.best ? ' *' : ''}${e.warmup ? ' (warm-up)' : ''}  ${e.seconds.toFixed(2)} s + eval ${e.evalSeconds.toFixed(2)} s`;
            console.log(
              `epoch ${String(e.epoch).padStart(4)}  loss ${e.loss.toFixed(2)} (nll ${e.nll.toFixed(2)}, kl ${e.kl.toFixed(3)}, β ${e.beta.toFixed(3)})  ${val}`,
            );
          }
        },
      });
      r.model.dispose();
      if (r.production) {
        const p = r.production;
        if (json) printJson({ production: p, epochs: r.history.length, out });
        else {
          console.log(
            `trained on all ${p.users} users for ${r.history.length} epoch(s)${p.epochsFrom ? ` (the best epoch of ${p.epochsFrom.dir})` : ''}; nothing held out, so nothing evaluated`,
          );
          console.log(`model written to ${out}`);
        }
        return 0;
      }
      // trainModel evaluated the best weights on the test users and wrote them into the manifest.
      const testTable = r.test ?? {};
      const summary = {
        bestEpoch: r.bestEpoch,
        epochs: r.history.length,
        stoppedEarly: r.stoppedEarly,
        validation: r.bestValidation,
        test: testTable,
        testUsers: r.testUsers ?? 0,
        out,
      };
      if (json) printJson(summary);
      else {
        console.log(`best epoch ${r.bestEpoch} of ${r.history.length}${r.stoppedEarly ? ' (stopped early)' : ''}`);
        for (const k of ['ndcg@100', 'recall@20', 'recall@50']) {
          const v = r.bestValidation[k];
          const t = testTable[k];
          console.log(
            `  ${k.padEnd(10)} validation ${fmt(v.mean)} ± ${fmt(v.se)}   test ${fmt(t.mean)} ± ${fmt(t.se)}`,
          );
        }
        console.log(`model written to ${out}`);
      }
      return 0;
    } finally {
      await pool?.close();
    }
  },
};

/** Scores the test users with the trained model, records the metrics in its manifest, disposes the model. */
async function recordTest(
  out: string,
  model: ScoringModel,
  heldout: HeldOut,
  batchSize: number,
  pool: KernelPool | undefined,
): Promise<{ table: MetricTable; users: number }> {
  const test = await evaluate((f) => model.score(f), heldout, { ks: EVAL_KS, batchSize, pool });
  const table: MetricTable = Object.fromEntries(
    Object.entries(test.metrics).map(([k, m]) => [k, { mean: m.mean, se: m.se }]),
  );
  const manifest = readManifest(out);
  const { updated: _, ...rest } = manifest;
  writeManifest(out, { ...rest, metrics: { ...manifest.metrics, test: table } });
  model.dispose();
  return { table, users: test.users };
}

function printMetrics(validation: MetricTable, test: MetricTable): void {
  for (const k of ['ndcg@100', 'recall@20', 'recall@50']) {
    const v = validation[k];
    const t = test[k];
    console.log(`  ${k.padEnd(10)} validation ${fmt(v.mean)} ± ${fmt(v.se)}   test ${fmt(t.mean)} ± ${fmt(t.se)}`);
  }
}

/** `train --model ease|pop|itemknn`: fit, choose on validation, write the model directory, score test. */
async function fitCommand(
  cmd: string,
  kind: BaselineKind,
  values: Values & { json?: boolean },
  dataDir: string,
  out: string,
  threads: number,
): Promise<number> {
  const fitArgs = baselineArgs(cmd, kind, values);
  const evalBatchSize = intOption(cmd, 'eval-batch-size', str(values, 'eval-batch-size'), 500, 1);
  if (!values.force && (existsSync(join(out, CHECKPOINT_FILE)) || existsSync(join(out, MANIFEST_FILE)))) {
    throw new UsageError(`macridvae ${cmd}: ${out} already holds a model; pass --force to fit a new one over it`);
  }
  const data = await loadDataset(dataDir);
  const json = values.json === true;
  if (!json) console.log(`fitting ${kind} on ${dataDir} (${data.items} items) → ${out}`);
  const pool = threads > 1 ? new KernelPool({ threads }) : undefined;
  try {
    const r = await fitBaseline({
      kind,
      data,
      out,
      pool,
      evalBatchSize,
      ...fitArgs,
      onCandidate: (c) => {
        if (json) printJson({ candidate: c.config, validation: c.validation, seconds: c.seconds });
        else {
          const { kind: _, ...params } = c.config as unknown as Record<string, unknown>;
          console.log(
            `  ${JSON.stringify(params).padEnd(32)} val ndcg@100 ${fmt(c.validation['ndcg@100'].mean)}  ${c.seconds.toFixed(2)} s`,
          );
        }
      },
    });
    const test = await recordTest(out, r.model, data.test, evalBatchSize, pool);
    const testTable = test.table;
    const summary = {
      model: r.config,
      validation: r.validation,
      test: testTable,
      testUsers: test.users,
      seconds: r.seconds,
      out,
    };
    if (json) printJson(summary);
    else {
      console.log(`chosen ${JSON.stringify(r.config)} (${r.seconds.toFixed(1)} s)`);
      printMetrics(r.validation, testTable);
      console.log(`model written to ${out}`);
    }
    return 0;
  } finally {
    await pool?.close();
  }
}
