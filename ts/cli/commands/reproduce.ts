/**
 * `macridvae reproduce --data DIR --out DIR [--models M,M,…] [--trials N] [--seeds S,S,…] [--epochs N]
 * [--patience N] [--ease-lambdas L,L,…] [--knn-neighbours N,N,…] [--knn-shrinks S,S,…] [--resume | --force] [--bootstrap N] [--threads N] [--backend NAME] [--json]`: the paper's Table 1 on
 * a prepared dataset (a thin layer over `reproduce()`, `ts/experiments/reproduce.ts`, whose module doc
 * lists the files written). With --json: one JSON object per finished run (`model`, `seed`, `test`,
 * `bestEpoch`, `seconds`, `reused`), then the table (`table.json`'s content).
 */
import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { loadDataset } from '../../data/store.js';
import {
  REPRODUCE_MODELS,
  type ReproduceModel,
  reproduce,
  SETTINGS_FILE,
  tableMarkdown,
} from '../../experiments/reproduce.js';
import { EASE_LAMBDAS, KNN_KS, KNN_SHRINKS } from '../../models/config.js';
import { selectBackend } from '../../tf/backend.js';
import { KernelPool } from '../../workers/pool.js';
import { BACKEND_OPTION, type Command, intOption, parse, printJson, THREADS_OPTION, UsageError } from '../args.js';
import { backendOption } from './backend.js';
import { numberList } from './train.js';

/** `reproduce`'s options. */
export const REPRODUCE_OPTIONS = {
  data: { type: 'string', value: 'DIR', required: true, description: 'the prepared dataset (macridvae data prepare)' },
  out: {
    type: 'string',
    value: 'DIR',
    required: true,
    description: 'output directory: table.md, table.json, table.svg/png, runs/ (one model directory per run)',
  },
  models: {
    type: 'string',
    value: 'M,M,…',
    defaultText: REPRODUCE_MODELS.join(','),
    description: 'the models, each a row of the table',
  },
  trials: {
    type: 'string',
    value: 'N',
    defaultText: '0',
    description: 'TPE trials per VAE (tune) before the seeded runs; 0 uses the documented defaults',
  },
  seeds: { type: 'string', value: 'S,S,…', defaultText: '1,2,3,4,5', description: 'training seeds, one run each' },
  epochs: {
    type: 'string',
    value: 'N',
    defaultText: 'each model’s own (500 MacridVAE, 200 β-MultVAE/MultDAE)',
    description: 'epochs of every VAE run and tune trial',
  },
  patience: {
    type: 'string',
    value: 'N',
    defaultText: '0, never',
    description: 'stop a VAE run (and tune trial) after N epochs without a better validation NDCG@100',
  },
  'ease-lambdas': {
    type: 'string',
    value: 'L,L,…',
    defaultText: EASE_LAMBDAS.join(','),
    description: 'EASE: the λ grid chosen from on validation NDCG@100',
  },
  'knn-neighbours': {
    type: 'string',
    value: 'N,N,…',
    defaultText: KNN_KS.join(','),
    description: 'ItemKNN: the neighbour counts chosen from on validation NDCG@100',
  },
  'knn-shrinks': {
    type: 'string',
    value: 'S,S,…',
    defaultText: KNN_SHRINKS.join(','),
    description: 'ItemKNN: the shrinkages chosen from on validation NDCG@100',
  },
  resume: { type: 'boolean', default: false, description: 'continue a reproduction in --out, skipping finished runs' },
  force: { type: 'boolean', default: false, description: 'start over in an --out that is not empty' },
  bootstrap: {
    type: 'string',
    value: 'N',
    defaultText: '10000',
    description: 'bootstrap resamples of the paired 95% intervals',
  },
  threads: THREADS_OPTION,
  backend: BACKEND_OPTION,
} as const;

export const reproduceCommand: Command = {
  name: 'reproduce',
  summary: "the paper's Table 1: every model over several seeds, test metrics, paired significance, figure",
  options: REPRODUCE_OPTIONS,
  async run(argv) {
    const cmd = 'reproduce';
    const { values } = parse(cmd, argv, REPRODUCE_OPTIONS);
    if (!values.data) throw new UsageError(`macridvae ${cmd}: --data is required`);
    if (!values.out) throw new UsageError(`macridvae ${cmd}: --out is required`);
    const models = (values.models ?? REPRODUCE_MODELS.join(',')).split(',').map((m) => m.trim());
    for (const m of models) {
      if (!(REPRODUCE_MODELS as readonly string[]).includes(m)) {
        throw new UsageError(`macridvae ${cmd}: --models must be among ${REPRODUCE_MODELS.join(', ')} but has '${m}'`);
      }
    }
    const seeds = values.seeds === undefined ? [1, 2, 3, 4, 5] : numberList(cmd, 'seeds', values.seeds, true, true);
    const trials = intOption(cmd, 'trials', values.trials, 0, 0);
    const epochs = values.epochs === undefined ? undefined : intOption(cmd, 'epochs', values.epochs, 0, 1);
    const patience = values.patience === undefined ? undefined : intOption(cmd, 'patience', values.patience, 0, 0);
    const list = (name: 'ease-lambdas' | 'knn-neighbours' | 'knn-shrinks', zero: boolean, integer: boolean) => {
      const v = values[name];
      return v === undefined ? undefined : numberList(cmd, name, v, zero, integer);
    };
    const grids = {
      lambdas: list('ease-lambdas', false, false),
      ks: list('knn-neighbours', false, true),
      shrinks: list('knn-shrinks', true, false),
    };
    const bootstrap = intOption(cmd, 'bootstrap', values.bootstrap, 10_000, 1);
    const threads = intOption(cmd, 'threads', values.threads, Math.min(2, availableParallelism()), 1);
    if (values.resume && values.force)
      throw new UsageError(`macridvae ${cmd}: --resume and --force exclude each other`);
    if (!values.resume && !values.force && existsSync(values.out) && readdirSync(values.out).length > 0) {
      throw new UsageError(
        `macridvae ${cmd}: ${values.out} is not empty${existsSync(`${values.out}/${SETTINGS_FILE}`) ? ' (it holds a reproduction)' : ''}; pass --resume to continue it or --force to start over`,
      );
    }
    const data = await loadDataset(values.data);
    await selectBackend(backendOption(values.backend));
    const pool = threads > 1 ? new KernelPool({ threads }) : undefined;
    const json = values.json;
    if (!json) {
      console.log(
        `reproducing Table 1 on ${values.data}: ${models.join(', ')}; seeds ${seeds.join(',')}; ${trials} trials; epochs ${epochs ?? 'default'}${patience ? `, patience ${patience}` : ''} → ${values.out}`,
      );
    }
    try {
      const table = await reproduce({
        data,
        dataName: values.data,
        out: values.out,
        models: models as ReproduceModel[],
        seeds,
        trials,
        epochs,
        patience,
        grids: Object.fromEntries(Object.entries(grids).filter(([, v]) => v !== undefined)),
        bootstrap,
        resume: values.resume,
        runtime: { pool, threads },
        onRun: (r) => {
          const { perUser: _, config: __, ...rest } = r;
          if (json) printJson(rest);
          else {
            console.log(
              `${r.model.padEnd(10)} seed ${String(r.seed).padEnd(4)} test ndcg@100 ${r.test['ndcg@100'].mean.toFixed(4)}  recall@20 ${r.test['recall@20'].mean.toFixed(4)}  recall@50 ${r.test['recall@50'].mean.toFixed(4)}${r.reused ? '  (finished earlier)' : `  ${r.seconds.toFixed(1)} s`}`,
            );
          }
        },
      });
      if (json) printJson(table);
      else console.log(`\n${tableMarkdown(table)}\nwritten: ${values.out}/table.md, table.json, table.svg, table.png`);
      return 0;
    } finally {
      await pool?.close();
    }
  },
};
