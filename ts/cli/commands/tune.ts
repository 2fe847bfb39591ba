/**
 * `macridvae tune`: TPE hyperparameter search (a thin layer over `tune`, ts/tune/tune.ts).
 *
 *   --data DIR --out DIR [--model macridvae|multvae|multdae] [--trials N] [--space paper|FILE]
 *   [--tpe-seed S] [--tpe-score height|density] [--startup N] [--points FILE] [--no-defaults] [--parallel N]
 *   [--queue redis://HOST:PORT[/DB]] [--resume | --force] [--threads N] [--backend NAME] [--json]
 *   plus any `train` model/training flag, which sets what every trial starts from (e.g. --epochs 150
 *   --patience 30 --prototype-init kmeans); the searched parameters override it.
 *
 * Trial 0 is the default configuration (unless --no-defaults), then the points of --points FILE (a JSON
 * array of objects, parameters left out take the defaults' values), then TPE. --parallel N runs N trials at
 * once in child processes (ProcessTrialExecutor), TPE taking the running ones into account; with
 * --queue URL they run as jobs on `macridvae worker` processes anywhere (QueueTrialExecutor, N jobs at once).
 *
 * Writes OUT/tune.json, OUT/proposals.jsonl, OUT/trials.jsonl (completion order), OUT/runs.json (Figure 4's points, for `analyze --runs`) and
 * OUT/best/ (the best trial's model directory). With --json: one JSON object per trial (the trial
 * record), then a summary with the best trial and its test metrics.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { loadDataset } from '../../data/store.js';
import { InvalidArgumentError, ParseError } from '../../errors.js';
import { evaluate } from '../../eval/evaluator.js';
import { instantiate } from '../../models/inspect.js';
import { QueueTrialExecutor } from '../../queue/coordinator.js';
import { selectBackend } from '../../tf/backend.js';
import { datasetFingerprint, loadModel } from '../../train/checkpoint.js';
import { EVAL_KS } from '../../train/trainer.js';
import { ProcessTrialExecutor } from '../../tune/parallel.js';
import { checkModelSpace, checkPoints, defaultPoint, paperSpace } from '../../tune/space.js';
import type { Point, Space } from '../../tune/tpe.js';
import { RUNS_FILE, TRIALS_FILE, type TrialRecord, tune } from '../../tune/tune.js';
import { checkOutput } from '../../util/output.js';
import { KernelPool } from '../../workers/pool.js';
import { type Command, intOption, parse, printJson, threadsOption, UsageError } from '../args.js';
import { backendOption, computeOption } from './backend.js';
import { configsFromArgs, TRAIN_OPTIONS } from './train.js';
import { queueConnection } from './worker.js';

/** `train`'s options but production training (a search validates every trial). */
const { 'all-users': _allUsers, 'epochs-from': _epochsFrom, ...TRIAL_OPTIONS } = TRAIN_OPTIONS;

/** `tune`'s options: its own, then every `train` model/training option (what every trial starts from). */
export const TUNE_OPTIONS = {
  ...TRIAL_OPTIONS,
  out: {
    type: 'string',
    value: 'DIR',
    required: true,
    description: 'the search directory (tune.json, trials.jsonl, runs.json, best/)',
  },
  resume: { type: 'boolean', default: false, description: 'continue the search in --out' },
  force: { type: 'boolean', default: false, description: 'start over a search in --out' },
  trials: { type: 'string', value: 'N', defaultText: '200', description: 'trials to run' },
  space: {
    type: 'string',
    value: 'paper|FILE',
    defaultText: 'paper',
    description: "the search space: the paper's, or a JSON file",
  },
  'tpe-seed': { type: 'string', value: 'S', defaultText: '98765', description: "seed of TPE's proposals" },
  startup: { type: 'string', value: 'N', defaultText: '20', description: 'random trials before TPE proposes' },
  'tpe-score': {
    type: 'string',
    value: 'height|density',
    defaultText: 'height',
    description: "TPE's candidate score: kernel heights (as optuna 3.1) or hyperopt's densities",
  },
  points: {
    type: 'string',
    value: 'FILE',
    description: 'JSON array of points evaluated first, after the defaults (left-out parameters: the defaults)',
  },
  'no-defaults': { type: 'boolean', default: false, description: 'do not evaluate the default configuration first' },
  parallel: {
    type: 'string',
    value: 'N',
    defaultText: '1',
    description: 'trials at once: child processes, or jobs on the --queue',
  },
  queue: {
    type: 'string',
    value: 'redis://HOST:PORT[/DB]',
    description: 'run the trials as jobs for `macridvae worker`s on this BullMQ/Redis queue',
  },
} as const;

const fmt = (x: number | null) => (x === null ? '—' : x.toFixed(4));

function short(v: number | string): string {
  if (typeof v === 'string') return v;
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) < 1e-2 || Math.abs(v) >= 1e3 ? v.toExponential(2) : v.toPrecision(3);
}

function readJsonFile(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ParseError(`${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function readSpace(cmd: string, kind: Parameters<typeof checkModelSpace>[1], path: string): Space {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ParseError(`${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    return checkModelSpace(cmd, kind, raw);
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw new ParseError(`${path}: ${e.message}`);
    throw e;
  }
}

export const tuneCommand: Command = {
  name: 'tune',
  summary: 'search hyperparameters with TPE (the paper’s space by default); keeps the best model',
  options: TUNE_OPTIONS,
  notes: 'Every train model/training flag sets what every trial starts from; the searched parameters override it.',
  async run(argv) {
    const cmd = 'tune';
    const { values } = parse(cmd, argv, TUNE_OPTIONS);
    for (const o of ['data', 'out'] as const) {
      if (!values[o]) throw new UsageError(`macridvae ${cmd}: --${o} DIR is required`);
    }
    const dataDir = values.data as string;
    const out = values.out as string;
    const cfg = configsFromArgs(cmd, values);
    const trials = intOption(cmd, 'trials', values.trials, 200, 1);
    const tpeSeed = intOption(cmd, 'tpe-seed', values['tpe-seed'], 98765);
    const startup = intOption(cmd, 'startup', values.startup, 20, 1);
    const asked = intOption(cmd, 'parallel', values.parallel, 1, 1);
    // Trial processes on this machine: at most one per core (each runs a whole training); jobs on a queue
    // run on the workers' machines.
    const parallel = values.queue ? asked : Math.min(asked, availableParallelism());
    if (parallel < asked) {
      console.error(
        `macridvae ${cmd}: --parallel ${asked} capped at ${parallel}, the number of cores of this machine (one trial process per core)`,
      );
    }
    const score = (values['tpe-score'] ?? 'height') as 'height' | 'density';
    if (score !== 'height' && score !== 'density') {
      throw new UsageError(`macridvae ${cmd}: --tpe-score must be height or density but got '${score}'`);
    }
    // Default: the cores shared among the trial processes (at most 2 each); a given --threads is capped at the cores.
    const threads =
      values.threads !== undefined
        ? threadsOption(cmd, values.threads)
        : Math.max(1, Math.min(2, Math.floor(availableParallelism() / (values.queue ? 1 : parallel))));
    const space = values.space && values.space !== 'paper' ? readSpace(cmd, cfg.kind, values.space) : undefined;
    let points: Point[] | undefined;
    if (values.points) {
      const sp = space ?? paperSpace(cfg.kind);
      try {
        points = checkPoints(cmd, sp, readJsonFile(values.points), defaultPoint(cfg.kind, sp, cfg));
      } catch (e) {
        if (e instanceof InvalidArgumentError) throw new ParseError(`${values.points}: ${e.message}`);
        throw e;
      }
    }
    if (values.resume && values.force)
      throw new UsageError(`macridvae ${cmd}: --resume and --force exclude each other`);
    const state = checkOutput(out, 'search', { option: '--out', force: values.force, inputs: [dataDir] });
    if (state === 'owned' && !values.resume && !values.force) {
      throw new UsageError(
        `macridvae ${cmd}: ${out} already holds a search; pass --resume to continue it or --force to start over`,
      );
    }
    const data = await loadDataset(dataDir);
    const backend = await selectBackend(backendOption(values.backend));
    const pool = threads > 1 ? new KernelPool({ threads }) : undefined;
    const executor = values.queue
      ? new QueueTrialExecutor({
          connection: queueConnection(cmd, values.queue),
          slots: parallel,
          dataDir,
          fingerprint: datasetFingerprint(data),
        })
      : parallel > 1
        ? new ProcessTrialExecutor({
            processes: parallel,
            dataDir,
            fingerprint: datasetFingerprint(data),
            threads,
            backend: backend.name,
          })
        : undefined;
    const json = values.json;
    if (!json) {
      const where = values.queue
        ? `${parallel} job(s) at once on ${values.queue}`
        : `${parallel > 1 ? `${parallel} processes × ` : ''}${threads} thread(s)`;
      console.log(
        `tuning ${cfg.kind} on ${dataDir}: ${trials} trials (TPE, ${startup} random first), backend ${backend.name}, ${where} → ${out}`,
      );
    }
    try {
      const r = await tune({
        kind: cfg.kind,
        data,
        trials,
        space,
        tpe: { seed: tpeSeed, startup, score },
        model: cfg.model,
        train: cfg.train,
        runtime: { pool, threads },
        compute: computeOption(cmd, values.compute),
        out,
        resume: values.resume,
        force: values.force,
        defaults: !values['no-defaults'],
        points,
        executor,
        onTrial: (t: TrialRecord) => {
          if (json) printJson(t);
          else {
            const params = Object.entries(t.point)
              .map(([k, v]) => `${k}=${short(v)}`)
              .join(' ');
            console.log(
              `trial ${String(t.trial).padStart(3)}  val ndcg@100 ${fmt(t['ndcg@100'])}  independence ${fmt(t.independence.users)}  ` +
                `${params}  ${t.seconds.toFixed(1)} s${t.error ? `  failed: ${t.error}` : ''}`,
            );
          }
        },
      });
      let test: Record<string, { mean: number; se: number }> | undefined;
      let testUsers = 0;
      if (r.bestDir) {
        const model = instantiate(loadModel(r.bestDir), { pool, threads });
        try {
          const e = await evaluate((f) => model.score(f), data.test, { ks: EVAL_KS, pool });
          test = Object.fromEntries(Object.entries(e.metrics).map(([k, m]) => [k, { mean: m.mean, se: m.se }]));
          testUsers = e.users;
        } finally {
          model.dispose();
        }
      }
      const failed = r.trials.filter((t) => t.loss === null).length;
      const summary = {
        trials: r.trials.length,
        failed,
        best: r.best ? { trial: r.best.trial, point: r.best.point, 'ndcg@100': r.best['ndcg@100'] } : null,
        test,
        testUsers,
        bestDir: r.bestDir ?? null,
        trialsFile: join(out, TRIALS_FILE),
        runsFile: join(out, RUNS_FILE),
      };
      if (json) printJson(summary);
      else if (r.best && test) {
        console.log(
          `best: trial ${r.best.trial} (${failed} of ${r.trials.length} failed), validation NDCG@100 ${fmt(r.best['ndcg@100'])}`,
        );
        console.log(
          `  ${Object.entries(r.best.point)
            .map(([k, v]) => `${k}=${short(v)}`)
            .join(' ')}`,
        );
        for (const k of ['ndcg@100', 'recall@20', 'recall@50']) {
          console.log(`  ${k.padEnd(10)} test ${fmt(test[k].mean)} ± ${fmt(test[k].se)}`);
        }
        console.log(`model of the best trial: ${r.bestDir}; Figure 4 points: ${join(out, RUNS_FILE)}`);
      } else {
        console.log(`every trial failed (${r.trials.length}); see ${join(out, TRIALS_FILE)}`);
      }
      return r.best ? 0 : 1;
    } finally {
      await executor?.close();
      await pool?.close();
    }
  },
};
