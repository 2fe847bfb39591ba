/**
 * Fitting the reference models (EASE, popularity, ItemKNN) on a prepared split, the counterpart of
 * `trainModel` for the VAEs: the hyperparameters are chosen on validation NDCG@100 over a grid (the
 * epoch plays no part: each candidate is a closed-form fit), and the chosen model is written as a model
 * directory (`manifest.json` + `weights.mvt`, `docs/model-format.md`) that `eval`, `recommend` and
 * `reproduce` read like a VAE's. The manifest's `fit` lists every candidate with its validation metrics;
 * `bestEpoch` and `epochs` are 0.
 *
 * EASE refuses, before allocating anything, when the `items × items` solve does not fit the memory it
 * may use ({@link checkEaseMemory}).
 */
import { mkdirSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { csrRows } from '../csr.js';
import type { SplitData } from '../data/types.js';
import { InvalidArgumentError, MemoryLimitError } from '../errors.js';
import { evaluate } from '../eval/evaluator.js';
import { baselineFromWeights, type ScoringModel } from '../models/baselines.js';
import {
  type BaselineConfig,
  type BaselineKind,
  EASE_DEFAULTS,
  EASE_LAMBDAS,
  type EaseConfig,
  isBaselineKind,
  KNN_KS,
  KNN_SHRINKS,
  resolveBaselineConfig,
} from '../models/config.js';
import type { Weights } from '../models/types.js';
import { kernels } from '../runtime/kernels.js';
import { checkInt } from '../validate.js';
import { VERSION } from '../version.js';
import { easeMemory } from '../wasm/itemsim.js';
import type { KernelPool } from '../workers/pool.js';
import { CATALOG_FILE, catalogJson, catalogOf } from './catalog.js';
import { datasetFingerprint, type MetricTable, saveWeights, writeFileAtomic, writeManifest } from './checkpoint.js';

/** The 4 GiB a wasm32 memory can address. */
export const WASM32_MEMORY_BYTES = 4 * 1024 ** 3;

export interface FitBaselineOptions {
  kind: BaselineKind;
  data: SplitData;
  /** Write the chosen model's directory here (created if missing). */
  out?: string;
  /** EASE: candidate λ (default {@link EASE_LAMBDAS}); one value fits without a search. */
  lambdas?: readonly number[];
  /** EASE: precision of the solve (default `f32`, see `EaseConfig.precision`). */
  precision?: EaseConfig['precision'];
  /** ItemKNN: candidate neighbour counts (default {@link KNN_KS}, capped at items − 1). */
  ks?: readonly number[];
  /** ItemKNN: candidate shrinkages (default {@link KNN_SHRINKS}). */
  shrinks?: readonly number[];
  /** Bytes EASE may use (default: half the machine's memory). */
  maxMemoryBytes?: number;
  /** Held-out users per evaluation batch (default 500). */
  evalBatchSize?: number;
  /** Ranking metrics on this pool. */
  pool?: KernelPool;
  /** Called after each candidate is evaluated. */
  onCandidate?: (c: Candidate) => void;
}

export interface Candidate {
  config: BaselineConfig;
  validation: MetricTable;
  /** Seconds to fit this candidate (its share of the Gram matrix not included). */
  seconds: number;
}

export interface FitBaselineResult {
  model: ScoringModel;
  config: BaselineConfig;
  /** Validation metrics of the chosen candidate. */
  validation: MetricTable;
  candidates: Candidate[];
  /** Seconds in all (Gram matrix, every candidate, evaluation). */
  seconds: number;
}

const gb = (b: number) => `${(b / 1e9).toFixed(2)} GB`;

/**
 * Throws a {@link MemoryLimitError} with both figures when EASE on `items` columns would need more than
 * `maxBytes` (or than a wasm32 memory addresses); returns the figure otherwise.
 */
export function checkEaseMemory(items: number, precision: EaseConfig['precision'], maxBytes: number): number {
  const need = easeMemory(items, precision);
  if (need.total > maxBytes) {
    throw new MemoryLimitError(
      `EASE on ${items.toLocaleString('en-US')} items needs ${gb(need.total)} (${need.total} bytes: items² × ${need.total / (items * items)} bytes for the Gram matrix, B and the ${precision} solve) but may use ${gb(maxBytes)} (${maxBytes} bytes; --max-memory / maxMemoryBytes): not started`,
    );
  }
  if (need.wasm > WASM32_MEMORY_BYTES) {
    throw new MemoryLimitError(
      `EASE on ${items.toLocaleString('en-US')} items needs ${gb(need.wasm)} (${need.wasm} bytes) of WASM memory but a wasm32 memory addresses at most ${gb(WASM32_MEMORY_BYTES)} (${WASM32_MEMORY_BYTES} bytes): not started`,
    );
  }
  return need.total;
}

function table(metrics: Record<string, { mean: number; se: number }>): MetricTable {
  const out: MetricTable = {};
  for (const [k, v] of Object.entries(metrics)) out[k] = { mean: v.mean, se: v.se };
  return out;
}

function grid(fn: string, name: string, v: readonly number[] | undefined, fallback: readonly number[]): number[] {
  const g = [...(v ?? fallback)];
  if (g.length === 0) throw new InvalidArgumentError(`'${name}' passed to ${fn}() must hold at least one value`);
  return g;
}

/** Stored form of the weights (ItemKNN's ids as exact float32 integers, −1 for an unused slot). */
function knnStored(items: number, k: number, nbr: Uint32Array, sim: Float32Array): Weights {
  const n = new Float32Array(nbr.length);
  for (let p = 0; p < nbr.length; p++) n[p] = nbr[p] === 0xffffffff ? -1 : nbr[p];
  return { neighbours: { shape: [items, k], data: n }, similarity: { shape: [items, k], data: sim } };
}

/** Fits a reference model, choosing its hyperparameters on validation NDCG@100 (see the module doc). */
export async function fitBaseline(opts: FitBaselineOptions): Promise<FitBaselineResult> {
  const fn = 'fitBaseline';
  if (!isBaselineKind(opts.kind)) {
    throw new InvalidArgumentError(`'kind' passed to ${fn}() must be one of ease, pop, itemknn but got '${opts.kind}'`);
  }
  const { data } = opts;
  const items = data.items;
  const batchSize = checkInt(fn, 'evalBatchSize', opts.evalBatchSize ?? 500, 1);
  const t0 = performance.now();
  const candidates: Candidate[] = [];
  let best: { config: BaselineConfig; weights: Weights; model: ScoringModel; validation: MetricTable } | undefined;
  const consider = async (config: BaselineConfig, weights: Weights, seconds: number) => {
    const model = baselineFromWeights(config, items, weights);
    const r = await evaluate((f) => model.score(f), data.validation, { batchSize, pool: opts.pool });
    const c: Candidate = { config, validation: table(r.metrics), seconds };
    candidates.push(c);
    opts.onCandidate?.(c);
    // Ties keep the earlier candidate (grid order).
    if (best === undefined || c.validation['ndcg@100'].mean > best.validation['ndcg@100'].mean) {
      best = { config, weights, model, validation: c.validation };
    }
  };

  if (opts.kind === 'pop') {
    const counts = new Float32Array(items);
    for (const i of data.train.indices) counts[i]++;
    await consider({ kind: 'pop' }, { counts: { shape: [items], data: counts } }, 0);
  } else if (opts.kind === 'ease') {
    const precision = opts.precision ?? EASE_DEFAULTS.precision;
    const lambdas = grid(fn, 'lambdas', opts.lambdas, EASE_LAMBDAS);
    const configs = lambdas.map((lambda) => resolveBaselineConfig('ease', { lambda, precision }) as EaseConfig);
    checkEaseMemory(items, precision, opts.maxMemoryBytes ?? Math.floor(totalmem() / 2));
    const g = kernels.gram({ x: data.train });
    for (const config of configs) {
      const t = performance.now();
      const b = kernels.easeWeights({ gram: g, items, lambda: config.lambda, precision });
      await consider(config, { B: { shape: [items, items], data: b } }, (performance.now() - t) / 1000);
      // Only the best B is kept alive.
      if (best?.config !== config) b.fill(0);
    }
  } else {
    const ks = grid(fn, 'ks', opts.ks, KNN_KS).map((k) => Math.min(k, Math.max(1, items - 1)));
    const shrinks = grid(fn, 'shrinks', opts.shrinks, KNN_SHRINKS);
    const g = kernels.gram({ x: data.train });
    const seen = new Set<string>();
    for (const k of ks) {
      for (const shrink of shrinks) {
        const config = resolveBaselineConfig('itemknn', { k, shrink });
        const key = JSON.stringify(config);
        if (seen.has(key)) continue;
        seen.add(key);
        const t = performance.now();
        const w = kernels.knnWeights({ gram: g, items, k, shrink });
        await consider(config, knnStored(items, k, w.neighbours, w.similarity), (performance.now() - t) / 1000);
      }
    }
  }
  const chosen = best as NonNullable<typeof best>;
  if (opts.out) {
    mkdirSync(opts.out, { recursive: true });
    const weightsInfo = saveWeights(opts.out, chosen.config, items, 0, chosen.weights);
    // Item ids, titles and popularity, so the directory serves by the dataset's ids on its own (as the VAEs').
    writeFileAtomic(join(opts.out, CATALOG_FILE), catalogJson(catalogOf(data)));
    writeManifest(opts.out, {
      format: 'macridvae-model',
      formatVersion: 1,
      model: chosen.config,
      items,
      dataset: {
        fingerprint: datasetFingerprint(data),
        users: csrRows(data.train),
        items,
        validationUsers: csrRows(data.validation.foldIn),
        testUsers: csrRows(data.test.foldIn),
      },
      versions: { macridvae: VERSION, tfjs: 'not used', node: process.version },
      bestEpoch: 0,
      epochs: 0,
      metrics: { validation: chosen.validation },
      fit: { criterion: 'validation ndcg@100', candidates },
      weights: weightsInfo,
    });
  }
  return {
    model: chosen.model,
    config: chosen.config,
    validation: chosen.validation,
    candidates,
    seconds: (performance.now() - t0) / 1000,
  };
}
