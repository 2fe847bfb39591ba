/**
 * The paper's Table 1 in one call: for each model, its configuration (tuned with `tune` when
 * `trials > 0`, else the defaults of `ts/models/config.ts`, which cite the papers), a run per seed,
 * evaluation on the test users, and the table with means and standard errors over the seeds, the
 * published numbers beside the rows when the data is one of the paper's datasets (`paper.ts`), and
 * paired significance of MacridVAE against every other model over the test users (`significance.ts`).
 *
 * Output directory (every file written atomically: temporary file, then rename):
 *
 * - `reproduce.json`: the settings (models, seeds, trials, epochs, patience, dataset fingerprint); `resume`
 *   refuses other settings;
 * - `tune/<model>/`: the `tune` search of a VAE (when `trials > 0`);
 * - `runs/<model>/seed-<s>/`: the model directory of one run (VAEs: trained with `train.seed = s`);
 *   `runs/<model>/fit/` for the reference models, which are deterministic (fitted once; every seed
 *   reports that fit, so their standard error over seeds is 0);
 * - `runs/<model>/seed-<s>.json`: that run's test metrics and per-user values (written last: a run
 *   with this file is finished and never redone by `resume`; a VAE run without it continues from its
 *   training checkpoint);
 * - `table.json`, `table.md`, `table.svg` / `table.png` (means with error bars of ± one standard error).
 *
 * Statistics: a row's `mean` is the mean over seeds of the run's test mean; `se` is the standard error
 * over seeds (sample sd / √seeds; 0 for one seed). The paired tests compare per-user values averaged
 * over the seeds of each model, over the users both models evaluate.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { PALETTE, writeFigure } from '../analysis/figures.js';
import type { SplitData } from '../data/types.js';
import { InvalidArgumentError } from '../errors.js';
import { evaluate } from '../eval/evaluator.js';
import type { ScoringModel } from '../models/baselines.js';
import {
  type BaselineKind,
  isBaselineKind,
  type ModelConfig,
  type ModelKind,
  resolveModelConfig,
  resolveTrainConfig,
  type TrainConfig,
} from '../models/config.js';
import { openModel } from '../models/inspect.js';
import { Runtime, type RuntimeLike } from '../runtime/runtime.js';
import { CHECKPOINT_FILE, datasetFingerprint, loadModel, MANIFEST_FILE } from '../train/checkpoint.js';
import { fitBaseline } from '../train/fit-baseline.js';
import { trainModel } from '../train/trainer.js';
import { TUNE_FILE, tune } from '../tune/tune.js';
import { writeFileAtomicSync } from '../util/fs.js';
import { checkInt } from '../validate.js';
import { type PublishedDataset, publishedFor } from './paper.js';
import { bootstrapCi, pairedTTest } from './significance.js';

export const REPRODUCE_MODELS = ['macridvae', 'multvae', 'multdae', 'ease', 'pop', 'itemknn'] as const;
export type ReproduceModel = (typeof REPRODUCE_MODELS)[number];
/** The name of each model's row (as in the paper's Table 1 where it appears there). */
export const ROW_NAMES: Record<ReproduceModel, string> = {
  macridvae: 'MacridVAE',
  multvae: 'β-MultVAE',
  multdae: 'MultDAE',
  ease: 'EASE',
  pop: 'popularity',
  itemknn: 'ItemKNN',
};
export const TABLE_METRICS = ['ndcg@100', 'recall@20', 'recall@50'] as const;
type Metric = (typeof TABLE_METRICS)[number];

export const SETTINGS_FILE = 'reproduce.json';

export interface ReproduceOptions {
  data: SplitData;
  /** Shown in the table's title (e.g. the dataset directory). */
  dataName?: string;
  out: string;
  /** Default: all of {@link REPRODUCE_MODELS}. */
  models?: readonly ReproduceModel[];
  /** Default [1, 2, 3, 4, 5]. */
  seeds?: readonly number[];
  /** TPE trials per VAE before the seeded runs; 0 uses the defaults. Default 0. */
  trials?: number;
  /** Epochs of every VAE run (and tune trial); default each kind's default (500 / 200). */
  epochs?: number;
  /** Early stopping of every VAE run (and tune trial): epochs without a better validation NDCG@100; default each kind's default (0: never). */
  patience?: number;
  /**
   * The reference models' validation grids (`fitBaseline`'s `lambdas`, `ks`, `shrinks`); each left out
   * uses its default grid (EASE_LAMBDAS, KNN_KS, KNN_SHRINKS).
   */
  grids?: ReproduceGrids;
  /** Continue a run in `out` (same settings), skipping finished runs. */
  resume?: boolean;
  /** Bootstrap resamples of the paired intervals. Default 10,000. */
  bootstrap?: number;
  runtime?: RuntimeLike;
  /** Called after each run is finished (or found finished, with `reused`). */
  onRun?: (r: RunResult & { reused: boolean }) => void;
  /** Called after every epoch of a VAE run. */
  onEpoch?: (model: ReproduceModel, seed: number, epoch: number, validationNdcg: number) => void;
}

/** The reference models' validation grids of a reproduction (each absent: the default grid). */
export interface ReproduceGrids {
  /** EASE's candidate λ. */
  lambdas?: readonly number[];
  /** ItemKNN's candidate neighbour counts. */
  ks?: readonly number[];
  /** ItemKNN's candidate shrinkages. */
  shrinks?: readonly number[];
}

/** One run's results (`runs/<model>/seed-<s>.json`). */
export interface RunResult {
  model: ReproduceModel;
  seed: number;
  /** The configuration trained or fitted. */
  config: unknown;
  /** Test means and standard errors over users. */
  test: Record<string, { mean: number; se: number }>;
  /** Per test user (row order; null for a user with an empty target). */
  perUser: Record<Metric, (number | null)[]>;
  bestEpoch: number;
  seconds: number;
}

export interface Cell {
  mean: number;
  se: number;
}

export interface Significance {
  /** Model compared with MacridVAE (row name). */
  against: string;
  metric: Metric;
  users: number;
  /** `mean(MacridVAE − other)` over users. */
  meanDiff: number;
  t: number;
  p: number;
  /** 95% percentile bootstrap interval of `meanDiff`. */
  ci95: [number, number];
}

export interface TableRow {
  model: string;
  kind: ReproduceModel;
  'ndcg@100': Cell;
  'recall@20': Cell;
  'recall@50': Cell;
  runs: { seed: number; 'ndcg@100': number; 'recall@20': number; 'recall@50': number; bestEpoch: number }[];
  /** The paper's (or the reference's) number for this row, when the dataset is one of the paper's. */
  published?: PublishedDataset['rows'][string];
  /** MacridVAE against this row (absent on MacridVAE's own row). */
  significance?: Significance[];
  config: unknown;
}

export interface ReproduceTable {
  dataset: { name: string; fingerprint: string; items: number; testUsers: number; published?: string };
  seeds: number[];
  trials: number;
  epochs: number | null;
  patience: number | null;
  rows: TableRow[];
}

function checkModels(models: readonly string[]): ReproduceModel[] {
  if (models.length === 0)
    throw new InvalidArgumentError(`'models' passed to reproduce() must name at least one model`);
  for (const m of models) {
    if (!(REPRODUCE_MODELS as readonly string[]).includes(m)) {
      throw new InvalidArgumentError(
        `'models' passed to reproduce() must be among ${REPRODUCE_MODELS.join(', ')} but has '${m}'`,
      );
    }
  }
  return [...new Set(models)] as ReproduceModel[];
}

/** The given grids, each a non-empty list of finite numbers (the values' ranges are fitBaseline's to check). */
function checkGrids(fn: string, g: ReproduceGrids): ReproduceGrids {
  const out: ReproduceGrids = {};
  for (const k of ['lambdas', 'ks', 'shrinks'] as const) {
    const v = g[k];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new InvalidArgumentError(
        `'grids.${k}' passed to ${fn}() must be a non-empty array of finite numbers but got ${JSON.stringify(v)}`,
      );
    }
    out[k] = [...v];
  }
  return out;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const writeJson = (path: string, v: unknown) => writeFileAtomicSync(path, `${JSON.stringify(v, null, 1)}\n`);

async function scoreRun(
  model: ScoringModel,
  data: SplitData,
  runtime: Runtime,
): Promise<Pick<RunResult, 'test' | 'perUser'>> {
  const r = await evaluate((f) => model.score(f), data.test, {
    ks: [20, 50, 100],
    pool: runtime.pool,
    perUser: true,
  });
  const test = Object.fromEntries(TABLE_METRICS.map((k) => [k, { mean: r.metrics[k].mean, se: r.metrics[k].se }]));
  const perUser = Object.fromEntries(
    TABLE_METRICS.map((k) => [k, Array.from(r.perUser?.values[k] ?? [], (v) => (Number.isFinite(v) ? v : null))]),
  ) as RunResult['perUser'];
  return { test, perUser };
}

/** Runs (or resumes) the reproduction; see the module doc. */
export async function reproduce(opts: ReproduceOptions): Promise<ReproduceTable> {
  const fn = 'reproduce';
  const models = checkModels(opts.models ?? REPRODUCE_MODELS);
  const seeds = [...(opts.seeds ?? [1, 2, 3, 4, 5])].map((s, i) => checkInt(fn, `seeds[${i}]`, s, 0, 0xffffffff));
  if (seeds.length === 0 || new Set(seeds).size !== seeds.length) {
    throw new InvalidArgumentError(`'seeds' passed to ${fn}() must be distinct and at least one`);
  }
  const trials = checkInt(fn, 'trials', opts.trials ?? 0, 0);
  const epochs = opts.epochs === undefined ? undefined : checkInt(fn, 'epochs', opts.epochs, 1);
  const patience = opts.patience === undefined ? undefined : checkInt(fn, 'patience', opts.patience, 0);
  const grids = checkGrids(fn, opts.grids ?? {});
  const { data, out } = opts;
  const runtime = Runtime.from(opts.runtime);
  const settings = {
    models,
    seeds,
    trials,
    epochs: epochs ?? null,
    ...(patience === undefined ? {} : { patience }),
    ...(Object.keys(grids).length === 0 ? {} : { grids }),
    dataset: datasetFingerprint(data),
  };
  mkdirSync(out, { recursive: true });
  const settingsPath = join(out, SETTINGS_FILE);
  if (opts.resume) {
    if (!existsSync(settingsPath)) throw new InvalidArgumentError(`cannot resume: ${settingsPath} does not exist`);
    const saved = readJson<unknown>(settingsPath);
    if (JSON.stringify(saved) !== JSON.stringify(settings)) {
      throw new InvalidArgumentError(
        `cannot resume: ${out} holds a reproduction with other settings (${settingsPath}: ${JSON.stringify(saved)}; now ${JSON.stringify(settings)})`,
      );
    }
  } else {
    for (const d of ['runs', 'tune']) rmSync(join(out, d), { recursive: true, force: true });
    writeJson(settingsPath, settings);
  }

  const results = new Map<ReproduceModel, RunResult[]>();
  for (const kind of models) {
    const runsDir = join(out, 'runs', kind);
    mkdirSync(runsDir, { recursive: true });
    const done = (seed: number) => join(runsDir, `seed-${seed}.json`);
    const list: RunResult[] = [];
    const finish = (r: RunResult, reused: boolean) => {
      list.push(r);
      opts.onRun?.({ ...r, reused });
    };
    if (isBaselineKind(kind)) {
      // Deterministic: one fit (its grid search on validation is its tuning), reported for every seed.
      const pending = seeds.filter((s) => !existsSync(done(s)));
      let fitted: Omit<RunResult, 'seed'> | undefined;
      if (pending.length > 0) {
        const fitDir = join(runsDir, 'fit');
        const fitFile = join(runsDir, 'fit.json');
        if (existsSync(fitFile)) fitted = readJson<Omit<RunResult, 'seed'>>(fitFile);
        else {
          rmSync(fitDir, { recursive: true, force: true });
          const t0 = performance.now();
          const r = await fitBaseline({ kind: kind as BaselineKind, data, out: fitDir, pool: runtime.pool, ...grids });
          const scored = await scoreRun(r.model, data, runtime);
          r.model.dispose();
          fitted = { model: kind, config: r.config, ...scored, bestEpoch: 0, seconds: (performance.now() - t0) / 1000 };
          writeJson(fitFile, fitted);
        }
      }
      for (const seed of seeds) {
        if (existsSync(done(seed))) finish(readJson<RunResult>(done(seed)), true);
        else {
          const r = { ...(fitted as Omit<RunResult, 'seed'>), seed };
          writeJson(done(seed), r);
          finish(r, false);
        }
      }
    } else {
      const vae = kind as ModelKind;
      let model: ModelConfig = resolveModelConfig(vae);
      let train: Partial<TrainConfig> = {
        ...(epochs === undefined ? {} : { epochs }),
        ...(patience === undefined ? {} : { patience }),
      };
      if (trials > 0) {
        const tuneDir = join(out, 'tune', kind);
        const t = await tune({
          kind: vae,
          data,
          trials,
          train,
          runtime,
          out: tuneDir,
          resume: existsSync(join(tuneDir, TUNE_FILE)),
        });
        if (t.best === undefined) throw new InvalidArgumentError(`reproduce(): every tune trial of ${kind} failed`);
        model = t.best.model;
        train = { ...t.best.train };
      }
      for (const seed of seeds) {
        if (existsSync(done(seed))) {
          finish(readJson<RunResult>(done(seed)), true);
          continue;
        }
        const dir = join(runsDir, `seed-${seed}`);
        const trainCfg = resolveTrainConfig(vae, { ...train, seed });
        const t0 = performance.now();
        let scoring: ScoringModel;
        let bestEpoch: number;
        const stored = existsSync(join(dir, MANIFEST_FILE)) ? loadModel(dir) : undefined;
        if (stored && stored.manifest.epochs >= trainCfg.epochs) {
          // Trained to the end but not scored (a crash in between): score the stored best epoch.
          scoring = openModel(stored, runtime);
          bestEpoch = stored.manifest.bestEpoch;
        } else {
          const resume = existsSync(join(dir, CHECKPOINT_FILE));
          if (!resume) rmSync(dir, { recursive: true, force: true });
          const r = await trainModel({
            model,
            train: trainCfg,
            data,
            out: dir,
            resume,
            runtime,
            onEpoch: (e) => opts.onEpoch?.(kind, seed, e.epoch, e['ndcg@100']),
          });
          scoring = r.model;
          bestEpoch = r.bestEpoch;
        }
        const scored = await scoreRun(scoring, data, runtime);
        scoring.dispose();
        const r: RunResult = {
          model: kind,
          seed,
          config: { model, train: trainCfg },
          ...scored,
          bestEpoch,
          seconds: (performance.now() - t0) / 1000,
        };
        writeJson(done(seed), r);
        finish(r, false);
      }
    }
    results.set(kind, list);
  }
  const table = buildTable(results, seeds, {
    name: opts.dataName ?? 'dataset',
    fingerprint: settings.dataset,
    items: data.items,
    published: publishedFor(data),
    trials,
    epochs: epochs ?? null,
    patience: patience ?? null,
    bootstrap: opts.bootstrap ?? 10_000,
  });
  writeJson(join(out, 'table.json'), table);
  writeFileAtomicSync(join(out, 'table.md'), tableMarkdown(table));
  await writeFigure(tableSpec(table), join(out, 'table'));
  return table;
}

/** Mean of per-user values over runs (null where any run has none). */
function userMeans(runs: RunResult[], metric: Metric): number[] {
  const n = runs[0].perUser[metric].length;
  const out = new Array<number>(n).fill(0);
  for (let u = 0; u < n; u++) {
    for (const r of runs) {
      const v = r.perUser[metric][u];
      out[u] = v === null || Number.isNaN(out[u]) ? Number.NaN : out[u] + v / runs.length;
    }
  }
  return out;
}

function cell(values: number[]): Cell {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, se: 0 };
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, se: Math.sqrt(ss / (n - 1)) / Math.sqrt(n) };
}

/** The table from the runs (exported for tests). */
export function buildTable(
  results: Map<ReproduceModel, RunResult[]>,
  seeds: number[],
  meta: {
    name: string;
    fingerprint: string;
    items: number;
    published?: PublishedDataset;
    trials: number;
    epochs: number | null;
    patience: number | null;
    bootstrap: number;
  },
): ReproduceTable {
  const macrid = results.get('macridvae');
  const rows: TableRow[] = [];
  let testUsers = 0;
  for (const [kind, runs] of results) {
    testUsers = runs[0].perUser['ndcg@100'].filter((v) => v !== null).length;
    const row: TableRow = {
      model: ROW_NAMES[kind],
      kind,
      'ndcg@100': cell(runs.map((r) => r.test['ndcg@100'].mean)),
      'recall@20': cell(runs.map((r) => r.test['recall@20'].mean)),
      'recall@50': cell(runs.map((r) => r.test['recall@50'].mean)),
      runs: runs.map((r) => ({
        seed: r.seed,
        'ndcg@100': r.test['ndcg@100'].mean,
        'recall@20': r.test['recall@20'].mean,
        'recall@50': r.test['recall@50'].mean,
        bestEpoch: r.bestEpoch,
      })),
      config: runs[0].config,
    };
    const pub = meta.published?.rows[ROW_NAMES[kind]];
    if (pub) row.published = pub;
    if (macrid && kind !== 'macridvae') {
      row.significance = TABLE_METRICS.map((metric) => {
        const a = userMeans(macrid, metric);
        const b = userMeans(runs, metric);
        const tt = pairedTTest(a, b);
        return {
          against: ROW_NAMES[kind],
          metric,
          users: tt.n,
          meanDiff: tt.meanDiff,
          t: tt.t,
          p: tt.p,
          ci95: bootstrapCi(a, b, { resamples: meta.bootstrap, seed: 98765 }),
        };
      });
    }
    rows.push(row);
  }
  return {
    dataset: {
      name: meta.name,
      fingerprint: meta.fingerprint,
      items: meta.items,
      testUsers,
      published: meta.published?.name,
    },
    seeds,
    trials: meta.trials,
    epochs: meta.epochs,
    patience: meta.patience,
    rows,
  };
}

const f4 = (x: number) => x.toFixed(4);
const pm = (c: Cell) => `${f4(c.mean)} ± ${f4(c.se)}`;

/** `table.md`: one row per model, the published numbers beside it, MacridVAE's paired tests. */
export function tableMarkdown(t: ReproduceTable): string {
  const lines: string[] = [];
  lines.push(`# Table 1 on ${t.dataset.name}`);
  lines.push('');
  lines.push(
    `${t.dataset.testUsers} test users, ${t.dataset.items} items; seeds ${t.seeds.join(', ')}; ` +
      `${t.trials > 0 ? `${t.trials} TPE trials per VAE` : 'default configurations'}; ` +
      `VAE epochs: ${t.epochs ?? 'each model’s default (MacridVAE 500, β-MultVAE/MultDAE 200)'}` +
      `${t.patience ? `, stopped after ${t.patience} epochs without a better validation NDCG@100 (best epoch kept)` : ''}. ` +
      'Mean ± standard error over seeds (the reference models are deterministic: one fit, SE 0).',
  );
  lines.push('');
  const hasPub = t.rows.some((r) => r.published);
  const hasSig = t.rows.some((r) => r.significance);
  const head = ['model', 'NDCG@100', 'Recall@20', 'Recall@50'];
  if (hasPub) head.push('published NDCG@100 / R@20 / R@50');
  if (hasSig) head.push('MacridVAE − model, NDCG@100 [95% bootstrap CI]', 'paired t p (N@100 / R@20 / R@50)');
  lines.push(`| ${head.join(' | ')} |`);
  lines.push(`| ${head.map(() => '---').join(' | ')} |`);
  for (const r of t.rows) {
    const cells = [r.model, pm(r['ndcg@100']), pm(r['recall@20']), pm(r['recall@50'])];
    if (hasPub) {
      cells.push(
        r.published
          ? `${r.published['ndcg@100']} / ${r.published['recall@20']} / ${r.published['recall@50']} (${r.published.source})`
          : '—',
      );
    }
    if (hasSig) {
      const s = r.significance;
      if (s) {
        const n = s[0];
        const fp = (p: number) => (Number.isNaN(p) ? '—' : p < 1e-4 ? p.toExponential(1) : p.toFixed(4));
        cells.push(`${n.meanDiff >= 0 ? '+' : ''}${f4(n.meanDiff)} [${f4(n.ci95[0])}, ${f4(n.ci95[1])}]`);
        cells.push(s.map((x) => fp(x.p)).join(' / '));
      } else cells.push('—', '—');
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  lines.push('');
  lines.push('Per run (test means):');
  lines.push('');
  for (const r of t.rows) {
    lines.push(
      `- ${r.model}: ${r.runs.map((x) => `seed ${x.seed}: ${f4(x['ndcg@100'])} / ${f4(x['recall@20'])} / ${f4(x['recall@50'])}${x.bestEpoch ? ` (epoch ${x.bestEpoch})` : ''}`).join('; ')}`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

/** The figure: each metric's mean per model with ± one standard error (over seeds) as error bars. */
export function tableSpec(t: ReproduceTable): TopLevelSpec {
  const values = t.rows.flatMap((r) =>
    TABLE_METRICS.map((metric) => ({
      model: r.model,
      metric,
      mean: r[metric].mean,
      lo: r[metric].mean - r[metric].se,
      hi: r[metric].mean + r[metric].se,
    })),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Table 1 on ${t.dataset.name} (mean ± SE over ${t.seeds.length} seed${t.seeds.length > 1 ? 's' : ''})`,
    data: { values },
    facet: { column: { field: 'metric', type: 'nominal', title: null, sort: [...TABLE_METRICS] } },
    spec: {
      width: 200,
      height: 220,
      layer: [
        {
          mark: 'bar',
          encoding: {
            x: { field: 'model', type: 'nominal', title: null, sort: t.rows.map((r) => r.model) },
            y: { field: 'mean', type: 'quantitative', title: 'test value' },
            color: { field: 'model', type: 'nominal', legend: null, scale: { range: PALETTE } },
          },
        },
        {
          mark: { type: 'rule', color: 'black' },
          encoding: {
            x: { field: 'model', type: 'nominal', sort: t.rows.map((r) => r.model) },
            y: { field: 'lo', type: 'quantitative' },
            y2: { field: 'hi' },
          },
        },
      ],
    },
  } as TopLevelSpec;
}
