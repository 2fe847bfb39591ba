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
 *
 * With --json: one JSON object per epoch (`epoch`, `seconds` (training only), `evalSeconds`, `loss`,
 * `nll`, `kl`, `beta`, `ndcg@100`, `validation`, `best`; `warmup` and `prototypes` with --prototype-init
 * kmeans), then a summary (`bestEpoch`, validation and test
 * metrics of the best epoch, `out`). Otherwise a progress bar on a TTY and one line per epoch.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { loadDataset } from '../../data/store.js';
import { InvalidArgumentError } from '../../errors.js';
import {
  BETA_SCHEDULES,
  type BetaSchedule,
  MODEL_KINDS,
  type ModelConfig,
  type ModelKind,
  resolveModelConfig,
  resolveTrainConfig,
  type TrainConfig,
  trainDefaults,
} from '../../models/config.js';
import { selectBackend } from '../../tf/backend.js';
import { CHECKPOINT_FILE, MANIFEST_FILE } from '../../train/checkpoint.js';
import { trainModel } from '../../train/trainer.js';
import { KernelPool } from '../../workers/pool.js';
import {
  BACKEND_OPTION,
  type Command,
  intOption,
  numberOption,
  parse,
  printJson,
  THREADS_OPTION,
  UsageError,
} from '../args.js';
import { progress } from '../progress.js';
import { backendOption } from './backend.js';

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
  model: { type: 'string', value: MODEL_KINDS.join('|'), defaultText: 'macridvae', description: 'the model to train' },
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
    description: 'maximum training epochs (the best validated one is kept)',
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
} as const;

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

/** The model and training configs from the command line (validated; errors name the flag's field). */
export function configsFromArgs(cmd: string, v: Values): { kind: ModelKind; model: ModelConfig; train: TrainConfig } {
  const kind = (str(v, 'model') ?? 'macridvae') as ModelKind;
  if (!MODEL_KINDS.includes(kind)) {
    throw new UsageError(`macridvae ${cmd}: --model must be one of ${MODEL_KINDS.join(', ')} but got '${kind}'`);
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
  try {
    return {
      kind,
      model: resolveModelConfig(kind, modelPartial as Partial<ModelConfig>),
      train: resolveTrainConfig(kind, trainPartial),
    };
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw new UsageError(`macridvae ${cmd}: ${e.message}`);
    throw e;
  }
}

function need(cmd: string, name: string, v: string | undefined): string {
  if (v === undefined || v === '') throw new UsageError(`macridvae ${cmd}: --${name} is required`);
  return v;
}

const fmt = (x: number) => x.toFixed(4);

export const train: Command = {
  name: 'train',
  summary: 'train MacridVAE, β-MultVAE or MultDAE on a prepared dataset; writes a model directory',
  options: TRAIN_OPTIONS,
  async run(argv) {
    const cmd = 'train';
    const { values } = parse(cmd, argv, TRAIN_OPTIONS);
    const dataDir = need(cmd, 'data', values.data);
    const out = need(cmd, 'out', values.out);
    const threads = intOption(cmd, 'threads', values.threads, Math.min(2, availableParallelism()), 1);
    const cfg = configsFromArgs(cmd, values);
    if (
      !values.resume &&
      !values.force &&
      (existsSync(join(out, CHECKPOINT_FILE)) || existsSync(join(out, MANIFEST_FILE)))
    ) {
      throw new UsageError(
        `macridvae ${cmd}: ${out} already holds a model; pass --resume to continue it or --force to train a new one over it`,
      );
    }
    const data = await loadDataset(dataDir);
    const backend = await selectBackend(backendOption(values.backend));
    const pool = threads > 1 ? new KernelPool({ threads }) : undefined;
    const json = values.json;
    if (!json) {
      console.log(
        `training ${cfg.kind} on ${dataDir} (${data.items} items), backend ${backend.name}, ${threads} thread(s) → ${out}`,
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
        runtime: { pool, threads },
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
            console.log(
              `epoch ${String(e.epoch).padStart(4)}  loss ${e.loss.toFixed(2)} (nll ${e.nll.toFixed(2)}, kl ${e.kl.toFixed(3)}, β ${e.beta.toFixed(3)})  ` +
                `val ndcg@100 ${fmt(e['ndcg@100'])}${e.best ? ' *' : ''}${e.warmup ? ' (warm-up)' : ''}  ${e.seconds.toFixed(2)} s + eval ${e.evalSeconds.toFixed(2)} s`,
            );
          }
        },
      });
      // trainModel evaluated the best weights on the test users and wrote them into the manifest.
      const testTable = r.test ?? {};
      r.model.dispose();
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
