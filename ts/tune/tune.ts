/**
 * Hyperparameter search: TPE (`tpe.ts`) over a search space (`space.ts`, by default the paper's),
 * each trial a full training run (`trainModel`) scored by its best validation NDCG@100 (the loss TPE
 * minimizes is its negative).
 *
 * Every trial also records the independence score (paper §3.4, Figure 4) of the validation users'
 * representations — MacridVAE's K components concatenated (K·d dimensions), the baselines' latent `μ` —
 * and, for MacridVAE, of the item representations. `runs.json` holds these as Figure 4's points
 * (`analyze --runs`).
 *
 * Trial 0 is the default configuration (the base configs as a point of the space, `defaultPoint`), then
 * the given `points` (hyperopt's `points_to_evaluate`), then TPE's proposals, so a search never ends worse
 * than the defaults (up to the noise of training again with the same seed).
 *
 * Crash safety: a new search directory appears whole (built in a temporary sibling); a trial that
 * beats the best replaces `best/` (a model directory, renamed into place) before its line is appended
 * to `trials.jsonl`, so after a crash `best/` is the best recorded trial or an unrecorded one, which the
 * resumed search reruns (with its proposed point, deterministically) and installs again; a resume also
 * puts back a `best/` that a crash left moved aside. One process writes a search at a time
 * (`ts/util/output.ts`); an existing search is replaced only with `force`.
 *
 * Trials run through a `TrialExecutor`: by default one at a time in this process; `ProcessTrialExecutor`
 * (parallel.ts, `tune --parallel N`) runs N at once in child processes. Then a proposal is made while
 * other trials still run: TPE takes them into account as optuna's `constant_liar` does — a running trial
 * counts as the worst result (in the "above" group, so l(x)/g(x) is low where it runs) but not in n (the
 * split and the start-up count use finished trials only). We chose that over hyperopt's way: hyperopt's
 * `tpe.suggest` leaves running trials out of both groups, so N proposals made from the same history differ
 * only by their random candidates and can land on the same spot.
 *
 * With an output directory (marked as a `search`, see ts/util/output.ts):
 * - `tune.json`: the search's settings (kind, space, seed, TPE options, base configs, dataset fingerprint,
 *   the points evaluated first);
 * - `proposals.jsonl`: one line `{ trial, point }` per proposed trial, in trial order, appended before it runs;
 * - `trials.jsonl`: one line per finished trial, appended when it ends (completion order, `trial` = its index);
 * - `runs.json`: Figure 4's points, rewritten atomically after every trial;
 * - `best/`: the model directory (see docs/model-format.md) of the best trial so far; trial t trains into
 *   `trial-<t>-<run>/`, which replaces `best/` only when it is better.
 *
 * Resuming (`resume: true`) reads both files (a last line cut short by a crash is dropped), runs again the
 * proposed trials that have no record (they were running), with their proposed points, and continues with
 * the next trial; a finished trial never runs again. One at a time, trial t's point depends only on the
 * seed, t and the finished trials, so a resumed search is the same search. In parallel, a proposal also
 * depends on which trials had finished when it was made (timing), so two parallel runs with one seed
 * share the fixed points and the random start-up points (trial t's prior draw depends on seed and t
 * only) but not, in general, the TPE proposals after them. A trial that fails (an exception, or no finite
 * validation NDCG@100, e.g. a diverging learning rate) is recorded with its error and a null loss, which
 * TPE ignores; the search goes on.
 */

import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { SplitData } from '../data/types.js';
import { InvalidArgumentError } from '../errors.js';
import type { ModelConfig, ModelKind, TrainConfig } from '../models/config.js';
import type { Compute } from '../models/tfjs/index.js';
import type { Model, Representation } from '../models/types.js';
import { kernels } from '../runtime/kernels.js';
import type { RuntimeLike } from '../runtime/runtime.js';
import { datasetFingerprint, sameDatasetFingerprint } from '../train/checkpoint.js';
import { type EpochRecord, trainModel } from '../train/trainer.js';
import {
  makeStagingDir,
  removeStaleTemps,
  removeStaleTempsIn,
  replaceDirSync,
  writeFileAtomicSync,
} from '../util/fs.js';
import { checkOutput, lockOutput, writeMarker } from '../util/output.js';
import { checkInt, checkObject } from '../validate.js';
import { checkModelSpace, checkPoints, configsOf, defaultPoint, paperSpace } from './space.js';
import { type Observation, type Point, type Space, suggest, TPE_DEFAULTS, type TpeOptions } from './tpe.js';

export const TUNE_FILE = 'tune.json';
export const TRIALS_FILE = 'trials.jsonl';
export const RUNS_FILE = 'runs.json';
export const PROPOSALS_FILE = 'proposals.jsonl';
export const BEST_DIR = 'best';
const TRIAL_DIR = 'trial';

export interface TuneOptions {
  kind: ModelKind;
  data: SplitData;
  /** Number of trials in all (a resumed search counts the finished ones). Default 200 (the paper). */
  trials?: number;
  /** Default: `paperSpace(kind)`. */
  space?: Space;
  /** TPE's seed and settings (`seed` default 98765; see `TpeOptions`). */
  tpe?: Partial<TpeOptions>;
  /** Model settings every trial starts from (the point's values override them). */
  model?: Partial<ModelConfig>;
  /** Training settings every trial starts from (epochs, patience, seed, …). */
  train?: Partial<TrainConfig>;
  runtime?: RuntimeLike;
  /** Where each trial's training steps run (`trainModel`'s `compute`; default `auto`). */
  compute?: Compute;
  /** Output directory (see the module doc); without one nothing is written and the best model is returned. */
  out?: string;
  /** Continue the search in `out`. */
  resume?: boolean;
  /** Replace a search already in `out` (without it, an existing one is refused). */
  force?: boolean;
  /** Default true: trial 0 is the default configuration (the base configs as a point, see `defaultPoint`). */
  defaults?: boolean;
  /** Points evaluated next, before TPE proposes (hyperopt's `points_to_evaluate`); missing parameters take the defaults' values. */
  points?: Point[];
  /** Who runs the trials (default: this process, one at a time); see `TrialExecutor`. Not closed by `tune`. */
  executor?: TrialExecutor;
  onTrial?: (t: TrialRecord) => void;
  onEpoch?: (trial: number, e: EpochRecord) => void;
}

export interface TrialRecord {
  trial: number;
  point: Point;
  /** −(best validation NDCG@100); null when the trial failed. */
  loss: number | null;
  'ndcg@100': number | null;
  bestEpoch: number;
  epochs: number;
  /** Independence of the validation users' representations (K·d or latent dims) and, for MacridVAE, of the items'. */
  independence: { users: number | null; items: number | null };
  seconds: number;
  error?: string;
  model: ModelConfig;
  train: TrainConfig;
}

export interface TuneResult {
  trials: TrialRecord[];
  /** The best finished trial (undefined when every trial failed). */
  best?: TrialRecord;
  /** The best trial's model (only when no `out` was given; the caller disposes it). */
  model?: Model;
  /** `out/best` when an output directory was given and a trial succeeded. */
  bestDir?: string;
}

/** One point of Figure 4 per successful trial (`analyze --runs`). */
export function runPoints(kind: ModelKind, trials: readonly TrialRecord[]) {
  return trials
    .filter((t) => t['ndcg@100'] !== null && t.independence.users !== null)
    .map((t) => ({
      // As in the paper's Figure 4, K = 1 (no macro disentanglement) is told apart from K > 1.
      method:
        kind === 'macridvae'
          ? `MacridVAE (K${(t.model as { concepts: number }).concepts === 1 ? '=1' : '>1'})`
          : kind === 'multvae'
            ? 'β-MultVAE'
            : 'MultDAE',
      independence: t.independence.users as number,
      ndcg100: t['ndcg@100'] as number,
      label:
        kind === 'macridvae' ? `trial ${t.trial}, K=${(t.model as { concepts: number }).concepts}` : `trial ${t.trial}`,
    }));
}

/** Independence of the validation users' representations and (MacridVAE) of the items'. */
function independenceOf(model: Model, data: SplitData): TrialRecord['independence'] {
  const score = (r: Representation | undefined) =>
    r && r.rows >= 2 && r.width >= 2 && r.data.every(Number.isFinite)
      ? kernels.independenceScore({ vectors: r.data, n: r.rows, d: r.width }).score
      : null;
  return { users: score(model.represent(data.validation.foldIn)), items: score(model.representItems?.()) };
}

/** Reads `trials.jsonl` (completion order; a last line cut short by a crash is dropped); trial indices must be unique. */
function readTrials(path: string): TrialRecord[] {
  const out = readJsonLines<TrialRecord>(path, 'a trial record');
  const seen = new Set<number>();
  out.forEach((t, i) => {
    if (!Number.isSafeInteger(t.trial) || t.trial < 0 || seen.has(t.trial)) {
      throw new InvalidArgumentError(`${path}:${i + 1}: trial ${t.trial} is not a new trial index`);
    }
    seen.add(t.trial);
  });
  return out;
}

/** Reads `proposals.jsonl` (trial order 0, 1, …; a last line cut short by a crash is dropped). */
function readProposals(path: string): Proposal[] {
  const out = readJsonLines<Proposal>(path, 'a proposal');
  out.forEach((p, i) => {
    if (p.trial !== i) throw new InvalidArgumentError(`${path}:${i + 1}: expected trial ${i} but found ${p.trial}`);
  });
  return out;
}

function readJsonLines<T>(path: string, what: string): T[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  const out: T[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === '') continue;
    try {
      out.push(JSON.parse(lines[i]) as T);
    } catch (e) {
      // Only the last line can be cut short (by a crash while appending).
      if (i === lines.length - 1) break;
      throw new InvalidArgumentError(`${path}:${i + 1}: not ${what} (${(e as Error).message})`);
    }
  }
  return out;
}

/** A proposed trial (`proposals.jsonl`): written before the trial starts, so a resumed search re-runs it as it was. */
export interface Proposal {
  trial: number;
  point: Point;
}

/** One trial to run: the point, its resolved configs, and where to write its model directory (absent: keep it in memory). */
export interface TrialJob {
  trial: number;
  point: Point;
  model: ModelConfig;
  train: TrainConfig;
  dir?: string;
  /** Where the trial's training steps run (`trainModel`'s `compute`). */
  compute?: Compute;
}

/** What a finished trial reports (its record without the job's fields); `model` only from in-process runs without `dir`. */
export type TrialOutcome = Pick<
  TrialRecord,
  'loss' | 'ndcg@100' | 'bestEpoch' | 'epochs' | 'independence' | 'seconds'
> & {
  error?: string;
  model?: Model;
};

/**
 * Runs trials: in this process (the default), in child processes (`ProcessTrialExecutor`, `tune --parallel`),
 * or elsewhere. `run` resolves with the outcome, a failed trial included (its `error` set); it rejects only
 * when the executor itself cannot go on, which ends the search.
 */
export interface TrialExecutor {
  /** Trials run at once. */
  readonly slots: number;
  run(job: TrialJob, onEpoch?: (e: EpochRecord) => void): Promise<TrialOutcome>;
  close?(): Promise<void>;
}

/** A failed trial's outcome. */
export function failedOutcome(error: unknown, seconds = 0): TrialOutcome {
  return {
    loss: null,
    'ndcg@100': null,
    bestEpoch: 0,
    epochs: 0,
    independence: { users: null, items: null },
    seconds,
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  };
}

/**
 * Trains one trial here: `trainModel` into `job.dir` (when given), scored by the best validation
 * NDCG@100, plus the independence scores. Never throws: a failure is an outcome with `error`. The model is
 * returned when `job.dir` is absent (the caller disposes it), else disposed.
 */
export async function runTrial(
  job: TrialJob,
  data: SplitData,
  runtime?: RuntimeLike,
  onEpoch?: (e: EpochRecord) => void,
): Promise<TrialOutcome> {
  const t0 = performance.now();
  const seconds = () => Number(((performance.now() - t0) / 1000).toFixed(3));
  let trained: Model | undefined;
  try {
    const r = await trainModel({
      model: job.model,
      train: job.train,
      data,
      runtime,
      compute: job.compute,
      test: false,
      out: job.dir,
      onEpoch,
    });
    trained = r.model;
    const ndcg = r.bestValidation['ndcg@100']?.mean;
    const ok = ndcg !== undefined && Number.isFinite(ndcg);
    const outcome: TrialOutcome = {
      loss: ok ? -ndcg : null,
      'ndcg@100': ok ? ndcg : null,
      bestEpoch: r.bestEpoch,
      epochs: r.history.length,
      independence: ok ? independenceOf(r.model, data) : { users: null, items: null },
      seconds: 0,
      ...(ok ? {} : { error: 'no epoch had a finite validation NDCG@100' }),
    };
    outcome.seconds = seconds();
    if (job.dir === undefined) {
      outcome.model = trained;
      trained = undefined;
    }
    return outcome;
  } catch (e) {
    return failedOutcome(e, seconds());
  } finally {
    trained?.dispose();
  }
}

/** The default executor: one trial at a time in this process. */
export function localExecutor(data: SplitData, runtime?: RuntimeLike): TrialExecutor {
  return { slots: 1, run: (job, onEpoch) => runTrial(job, data, runtime, onEpoch) };
}

/**
 * The directory trial t trains into in this run of `tune` (replaces `best/` when better, else removed).
 * `run` is random per call, so a trial of a killed run that some worker still finishes cannot write into
 * the directory of its re-run.
 */
const trialDir = (out: string, t: number, run: string) => join(out, `${TRIAL_DIR}-${t}-${run}`);

/** Removes trial directories left by a killed search (`trial/` of older versions, `trial-<t>[-<run>]/`). */
function removeTrialDirs(out: string): void {
  for (const name of readdirSync(out)) {
    if (name === TRIAL_DIR || /^trial-\d+(-[0-9a-f]+)?(\.attempt-\d+-\d+)?$/.test(name)) {
      rmSync(join(out, name), { recursive: true, force: true });
    }
  }
}

/**
 * The history TPE sees when proposing: every proposed trial in trial order, finished ones with their loss,
 * running ones as pending (the constant liar, see `suggest`).
 */
function historyOf(proposals: readonly Proposal[], done: ReadonlyMap<number, TrialRecord>): Observation[] {
  return proposals.map((p) => {
    const r = done.get(p.trial);
    return r ? { point: r.point, loss: r.loss } : { point: p.point, loss: null, pending: true };
  });
}

/** Runs (or resumes) a TPE search; see the module doc. */
export async function tune(opts: TuneOptions): Promise<TuneResult> {
  checkObject('tune', 'opts', opts);
  checkObject('tune', 'opts.data', opts.data, 'split data {items, train, validation, test}');
  // One writer per search directory, for the whole search.
  const lock = opts.out ? lockOutput(opts.out) : undefined;
  try {
    return await search(opts);
  } finally {
    lock?.release();
  }
}

async function search(opts: TuneOptions): Promise<TuneResult> {
  const fn = 'tune';
  const kind = opts.kind;
  const total = checkInt(fn, 'trials', opts.trials ?? 200, 1);
  const space = opts.space ? checkModelSpace(fn, kind, opts.space) : paperSpace(kind);
  // The score is written into tune.json, so a search started with another default is not resumed with this one.
  const tpe: TpeOptions = { seed: 98765, score: TPE_DEFAULTS.score, ...opts.tpe };
  checkInt(fn, 'tpe.seed', tpe.seed, 0, 0xffffffff);
  // Fail on bad base settings before the first trial.
  const base = { model: opts.model, train: opts.train };
  configsOf(kind, {}, base);
  const defaults = defaultPoint(kind, space, base);
  const fixed = [
    ...(opts.defaults === false ? [] : [defaults]),
    ...checkPoints(fn, space, opts.points ?? [], defaults),
  ];
  const settings = {
    kind,
    space,
    tpe,
    model: opts.model ?? {},
    train: opts.train ?? {},
    dataset: datasetFingerprint(opts.data),
    ...(fixed.length > 0 ? { points: fixed } : {}),
  };
  const out = opts.out;
  let trials: TrialRecord[] = [];
  let proposals: Proposal[] = [];
  if (out) {
    const state = checkOutput(out, 'search', {
      option: 'output',
      force: opts.force,
      inputs: [(opts.data as { dir?: unknown }).dir as string | undefined],
    });
    const tunePath = join(out, TUNE_FILE);
    if (opts.resume) {
      if (state !== 'owned' || !existsSync(tunePath)) {
        throw new InvalidArgumentError(`cannot resume: ${tunePath} does not exist`);
      }
      // Puts back best/ if a crash came between the two renames of its replacement.
      removeStaleTempsIn(out);
      const saved = JSON.parse(readFileSync(tunePath, 'utf8'));
      // A search begun before the fingerprint covered the ids stores the matrices' part alone (sameDatasetFingerprint).
      const sameData = typeof saved?.dataset === 'string' && sameDatasetFingerprint(saved.dataset, settings.dataset);
      if (!sameData || JSON.stringify({ ...saved, dataset: 0 }) !== JSON.stringify({ ...settings, dataset: 0 })) {
        throw new InvalidArgumentError(
          `cannot resume: the search in ${out} has other settings (${tunePath}: ${JSON.stringify(saved)})`,
        );
      }
      trials = readTrials(join(out, TRIALS_FILE));
      proposals = readProposals(join(out, PROPOSALS_FILE));
      // Trials finished but not proposed (a search written before proposals.jsonl existed) are proposals too.
      const proposed = new Set(proposals.map((p) => p.trial));
      for (const r of [...trials].sort((a, b) => a.trial - b.trial)) {
        if (r.trial === proposals.length && !proposed.has(r.trial)) proposals.push({ trial: r.trial, point: r.point });
      }
      for (const r of trials) {
        if (r.trial >= proposals.length) {
          throw new InvalidArgumentError(
            `cannot resume: ${join(out, TRIALS_FILE)} has trial ${r.trial}, never proposed`,
          );
        }
      }
      // Rewritten without a last line a crash cut short, so the next append starts a clean line.
      writeFileAtomicSync(join(out, TRIALS_FILE), trials.map((r) => `${JSON.stringify(r)}\n`).join(''));
      writeFileAtomicSync(join(out, PROPOSALS_FILE), proposals.map((p) => `${JSON.stringify(p)}\n`).join(''));
    } else {
      if (state === 'owned' && !opts.force) {
        throw new InvalidArgumentError(
          `${out} already holds a search; pass --resume (resume: true) to continue it or --force (force: true) to start over`,
        );
      }
      // A new search directory appears whole (settings, empty trial and proposal lists) or not at all.
      const staging = makeStagingDir(out);
      try {
        writeMarker(staging, 'search');
        writeFileAtomicSync(join(staging, TRIALS_FILE), '');
        writeFileAtomicSync(join(staging, PROPOSALS_FILE), '');
        writeFileAtomicSync(join(staging, RUNS_FILE), '[]\n');
        writeFileAtomicSync(join(staging, TUNE_FILE), `${JSON.stringify(settings)}\n`);
        replaceDirSync(staging, out);
      } catch (e) {
        rmSync(staging, { recursive: true, force: true });
        throw e;
      }
    }
    removeTrialDirs(out);
  }
  const executor = opts.executor ?? localExecutor(opts.data, opts.runtime);
  const better = (t: TrialRecord, than: TrialRecord | undefined) =>
    t.loss !== null && (than === undefined || (than.loss as number) > t.loss);
  let best = trials.reduce<TrialRecord | undefined>((b, t) => (better(t, b) ? t : b), undefined);
  let bestModel: Model | undefined;
  const done = new Map(trials.map((r) => [r.trial, r]));
  // Proposed but unfinished (running when a search was killed): run again first, with the same point.
  const rerun = proposals.filter((p) => !done.has(p.trial)).map((p) => p.trial);
  const running = new Map<number, Promise<{ t: number; outcome: TrialOutcome }>>();
  const run = randomBytes(4).toString('hex');

  const start = (t: number) => {
    const point = proposals[t].point;
    const { model, train } = configsOf(kind, point, base);
    const job: TrialJob = {
      trial: t,
      point,
      model,
      train,
      ...(opts.compute ? { compute: opts.compute } : {}),
      ...(out ? { dir: trialDir(resolve(out), t, run) } : {}),
    };
    const onEpoch = opts.onEpoch ? (e: EpochRecord) => opts.onEpoch?.(t, e) : undefined;
    running.set(
      t,
      executor.run(job, onEpoch).then((outcome) => ({ t, outcome })),
    );
  };
  const propose = (): number => {
    const t = proposals.length;
    const point = t < fixed.length ? fixed[t] : suggest(space, historyOf(proposals, done), t, tpe);
    proposals.push({ trial: t, point });
    if (out) appendFileSync(join(out, PROPOSALS_FILE), `${JSON.stringify({ trial: t, point })}\n`);
    return t;
  };
  const finish = (t: number, outcome: TrialOutcome) => {
    const { model: trained, ...o } = outcome;
    const { model: modelCfg, train: trainCfg } = configsOf(kind, proposals[t].point, base);
    const rec: TrialRecord = { trial: t, point: proposals[t].point, ...o, model: modelCfg, train: trainCfg };
    if (rec.error === undefined) delete rec.error;
    const isBest = better(rec, best);
    if (isBest) best = rec;
    if (out) {
      const dir = trialDir(resolve(out), t, run);
      if (isBest && existsSync(dir)) {
        removeStaleTemps(join(out, BEST_DIR));
        replaceDirSync(dir, join(out, BEST_DIR));
      } else rmSync(dir, { recursive: true, force: true });
      // What a queue worker killed during this trial left (see ts/queue/worker.ts).
      for (const name of readdirSync(resolve(out))) {
        if (name.startsWith(`${basename(dir)}.attempt-`))
          rmSync(join(resolve(out), name), { recursive: true, force: true });
      }
      appendFileSync(join(out, TRIALS_FILE), `${JSON.stringify(rec)}\n`);
    }
    trials.push(rec);
    done.set(t, rec);
    if (out) writeFileAtomicSync(join(out, RUNS_FILE), `${JSON.stringify(runPoints(kind, trials), null, 1)}\n`);
    if (!out && isBest) {
      bestModel?.dispose();
      bestModel = trained;
    } else trained?.dispose();
    opts.onTrial?.(rec);
  };

  try {
    for (;;) {
      while (running.size < executor.slots) {
        const t = rerun.length > 0 ? rerun.shift() : proposals.length < total ? propose() : undefined;
        if (t === undefined) break;
        start(t);
      }
      if (running.size === 0) break;
      const { t, outcome } = await Promise.race(running.values());
      running.delete(t);
      finish(t, outcome);
    }
  } catch (e) {
    bestModel?.dispose();
    throw e;
  } finally {
    if (running.size > 0) await Promise.allSettled(running.values());
    if (!opts.executor) await executor.close?.();
  }
  return {
    trials,
    best,
    ...(bestModel ? { model: bestModel } : {}),
    ...(out && best ? { bestDir: join(out, BEST_DIR) } : {}),
  };
}
