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
 * With an output directory:
 * - `tune.json`: the search's settings (kind, space, seed, TPE options, base configs, dataset fingerprint);
 * - `trials.jsonl`: one line per finished trial (appended when it ends);
 * - `runs.json`: Figure 4's points, rewritten atomically after every trial;
 * - `best/`: the model directory (see docs/model-format.md) of the best trial so far; a trial trains into
 *   `trial/` and replaces `best/` only when it is better.
 *
 * Crash safety: a new search directory appears whole (built in a temporary sibling); a trial that
 * beats the best replaces `best/` (a model directory, renamed into place) before its line is appended
 * to `trials.jsonl`, so after a crash `best/` is the best recorded trial or the unrecorded next one,
 * which the resumed search reruns (deterministically) and installs again; a resume also puts back a
 * `best/` that a crash left moved aside. One process writes a search at a time (`ts/util/output.ts`).
 *
 * Resuming (`resume: true`) reads `trials.jsonl` (a last line cut short by a crash is dropped) and
 * continues with the next trial; since trial t's point depends only on the seed, t and the finished
 * trials, a resumed search is the same search. A trial that fails (an exception, or no finite
 * validation NDCG@100, e.g. a diverging learning rate) is recorded with its error and a null loss, which
 * TPE ignores; the search goes on.
 */
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { SplitData } from '../data/types.js';
import { InvalidArgumentError } from '../errors.js';
import type { ModelConfig, ModelKind, TrainConfig } from '../models/config.js';
import type { Model, Representation } from '../models/types.js';
import { kernels } from '../runtime/kernels.js';
import type { RuntimeLike } from '../runtime/runtime.js';
import { datasetFingerprint } from '../train/checkpoint.js';
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
import { checkModelSpace, configsOf, paperSpace } from './space.js';
import { type Observation, type Point, type Space, suggest, type TpeOptions } from './tpe.js';

export const TUNE_FILE = 'tune.json';
export const TRIALS_FILE = 'trials.jsonl';
export const RUNS_FILE = 'runs.json';
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
  /** Output directory (see the module doc); without one nothing is written and the best model is returned. */
  out?: string;
  /** Continue the search in `out`. */
  resume?: boolean;
  /** Replace a search already in `out` (without it, an existing one is refused). */
  force?: boolean;
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

function readTrials(path: string): TrialRecord[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  const out: TrialRecord[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === '') continue;
    try {
      out.push(JSON.parse(lines[i]) as TrialRecord);
    } catch (e) {
      // Only the last line can be cut short (by a crash while appending).
      if (i === lines.length - 1) break;
      throw new InvalidArgumentError(`${path}:${i + 1}: not a trial record (${(e as Error).message})`);
    }
  }
  out.forEach((t, i) => {
    if (t.trial !== i) throw new InvalidArgumentError(`${path}:${i + 1}: expected trial ${i} but found ${t.trial}`);
  });
  return out;
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
  const tpe: TpeOptions = { seed: 98765, ...opts.tpe };
  checkInt(fn, 'tpe.seed', tpe.seed, 0, 0xffffffff);
  // Fail on bad base settings before the first trial.
  configsOf(kind, {}, { model: opts.model, train: opts.train });
  const settings = {
    kind,
    space,
    tpe,
    model: opts.model ?? {},
    train: opts.train ?? {},
    dataset: datasetFingerprint(opts.data),
  };
  const out = opts.out;
  let trials: TrialRecord[] = [];
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
      if (JSON.stringify(saved) !== JSON.stringify(settings)) {
        throw new InvalidArgumentError(
          `cannot resume: the search in ${out} has other settings (${tunePath}: ${JSON.stringify(saved)})`,
        );
      }
      trials = readTrials(join(out, TRIALS_FILE));
      // Rewritten without a last line a crash cut short, so the next append starts a clean line.
      writeFileAtomicSync(join(out, TRIALS_FILE), trials.map((r) => `${JSON.stringify(r)}\n`).join(''));
    } else {
      if (state === 'owned' && !opts.force) {
        throw new InvalidArgumentError(
          `${out} already holds a search; pass --resume (resume: true) to continue it or --force (force: true) to start over`,
        );
      }
      // A new search directory appears whole (settings, empty trial list) or not at all.
      const staging = makeStagingDir(out);
      try {
        writeMarker(staging, 'search');
        writeFileAtomicSync(join(staging, TRIALS_FILE), '');
        writeFileAtomicSync(join(staging, RUNS_FILE), '[]\n');
        writeFileAtomicSync(join(staging, TUNE_FILE), `${JSON.stringify(settings)}\n`);
        replaceDirSync(staging, out);
      } catch (e) {
        rmSync(staging, { recursive: true, force: true });
        throw e;
      }
    }
    rmSync(join(out, TRIAL_DIR), { recursive: true, force: true });
  }
  const better = (t: TrialRecord, than: TrialRecord | undefined) =>
    t.loss !== null && (than === undefined || (than.loss as number) > t.loss);
  let best = trials.reduce<TrialRecord | undefined>((b, t) => (better(t, b) ? t : b), undefined);
  let bestModel: Model | undefined;
  for (let t = trials.length; t < total; t++) {
    const history: Observation[] = trials.map((r) => ({ point: r.point, loss: r.loss }));
    const point = suggest(space, history, t, tpe);
    const { model: modelCfg, train: trainCfg } = configsOf(kind, point, { model: opts.model, train: opts.train });
    const t0 = performance.now();
    const trialDir = out ? join(out, TRIAL_DIR) : undefined;
    let rec: TrialRecord;
    let trained: Model | undefined;
    try {
      const r = await trainModel({
        model: modelCfg,
        train: trainCfg,
        data: opts.data,
        runtime: opts.runtime,
        test: false,
        out: trialDir,
        onEpoch: opts.onEpoch ? (e) => opts.onEpoch?.(t, e) : undefined,
      });
      trained = r.model;
      const ndcg = r.bestValidation['ndcg@100']?.mean;
      const ok = ndcg !== undefined && Number.isFinite(ndcg);
      rec = {
        trial: t,
        point,
        loss: ok ? -ndcg : null,
        'ndcg@100': ok ? ndcg : null,
        bestEpoch: r.bestEpoch,
        epochs: r.history.length,
        independence: ok ? independenceOf(r.model, opts.data) : { users: null, items: null },
        seconds: 0,
        ...(ok ? {} : { error: 'no epoch had a finite validation NDCG@100' }),
        model: modelCfg,
        train: trainCfg,
      };
    } catch (e) {
      rec = {
        trial: t,
        point,
        loss: null,
        'ndcg@100': null,
        bestEpoch: 0,
        epochs: 0,
        independence: { users: null, items: null },
        seconds: 0,
        error: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
        model: modelCfg,
        train: trainCfg,
      };
    }
    rec.seconds = Number(((performance.now() - t0) / 1000).toFixed(3));
    const isBest = better(rec, best);
    if (isBest) best = rec;
    if (out && trialDir) {
      if (isBest) {
        removeStaleTemps(join(out, BEST_DIR));
        replaceDirSync(trialDir, join(out, BEST_DIR));
      } else rmSync(trialDir, { recursive: true, force: true });
      appendFileSync(join(out, TRIALS_FILE), `${JSON.stringify(rec)}\n`);
    }
    trials.push(rec);
    if (out) writeFileAtomicSync(join(out, RUNS_FILE), `${JSON.stringify(runPoints(kind, trials), null, 1)}\n`);
    if (!out && isBest) {
      bestModel?.dispose();
      bestModel = trained;
    } else trained?.dispose();
    opts.onTrial?.(rec);
  }
  return {
    trials,
    best,
    ...(bestModel ? { model: bestModel } : {}),
    ...(out && best ? { bestDir: join(out, BEST_DIR) } : {}),
  };
}
