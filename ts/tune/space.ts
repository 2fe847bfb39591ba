/**
 * Hyperparameter search spaces and how a sampled point becomes model and training configs.
 *
 * The default is the paper's space (Ma et al. 2019, appendix "Hyper-parameter search", searched with
 * hyperopt's TPE, 200 trials; d = 100 and τ = 0.1 fixed):
 *
 * | name | domain | sets |
 * | --- | --- | --- |
 * | `sigma0` | uniform [0.075, 0.5] | MacridVAE's σ0 |
 * | `beta` | uniform [0, 100] | the KL weight's cap β (MacridVAE, β-MultVAE) |
 * | `concepts` | integer 1…20 | MacridVAE's K |
 * | `lr` | log-uniform [1e-8, 1] | Adam's learning rate |
 * | `l2` | log-uniform [1e-12, 1] | the L2 weight λ |
 * | `dropout` | uniform [0.05, 0.95] | dropout rate, keep = 1 − rate (the paper's upper end, 1, drops everything) |
 * | `layers` | integer 0…3 | hidden layers (of f_nn for MacridVAE; of the encoder for the baselines) |
 * | `width` | one of 50, 100, …, 700 | their width |
 *
 * MultDAE has no `beta`; the baselines have no `sigma0` or `concepts`. A custom space (a JSON array of
 * parameters, see `Param` in `tpe.ts`) may use these names and also `d`, `tau`, `keep`, `latent`,
 * `similarity`, `prototypeInit`, `prototypeWarmup`, `batchSize`, `annealSteps`, `betaSchedule`.
 */
import { InvalidArgumentError } from '../errors.js';
import type { MacridVaeConfig, ModelConfig, ModelKind, MultConfig, TrainConfig } from '../models/config.js';
import { resolveModelConfig, resolveTrainConfig } from '../models/config.js';
import { checkSpace, type Param, type Point, type Space } from './tpe.js';

const WIDTHS = Array.from({ length: 14 }, (_, i) => 50 * (i + 1));

/** The paper's search space for a model kind (see the module doc). */
export function paperSpace(kind: ModelKind): Space {
  const common: Param[] = [
    { name: 'lr', kind: 'loguniform', low: 1e-8, high: 1 },
    { name: 'l2', kind: 'loguniform', low: 1e-12, high: 1 },
    { name: 'dropout', kind: 'uniform', low: 0.05, high: 0.95 },
    { name: 'layers', kind: 'int', low: 0, high: 3 },
    { name: 'width', kind: 'choice', values: WIDTHS },
  ];
  switch (kind) {
    case 'macridvae':
      return [
        { name: 'sigma0', kind: 'uniform', low: 0.075, high: 0.5 },
        { name: 'beta', kind: 'uniform', low: 0, high: 100 },
        { name: 'concepts', kind: 'int', low: 1, high: 20 },
        ...common,
      ];
    case 'multvae':
      return [{ name: 'beta', kind: 'uniform', low: 0, high: 100 }, ...common];
    case 'multdae':
      return common;
  }
}

const MODEL_NAMES: Record<ModelKind, readonly string[]> = {
  macridvae: [
    'concepts',
    'd',
    'tau',
    'sigma0',
    'keep',
    'dropout',
    'layers',
    'width',
    'similarity',
    'prototypeInit',
    'prototypeWarmup',
  ],
  multvae: ['keep', 'dropout', 'layers', 'width', 'latent'],
  multdae: ['keep', 'dropout', 'layers', 'width', 'latent'],
};
const TRAIN_NAMES = ['lr', 'l2', 'beta', 'batchSize', 'annealSteps', 'betaSchedule'] as const;

/** The parameter names a space may use for `kind`. */
export function tunableNames(kind: ModelKind): string[] {
  return [...MODEL_NAMES[kind], ...TRAIN_NAMES.filter((n) => !(kind === 'multdae' && n === 'beta'))];
}

/** Validates a space for `kind`: a valid `Space` (see `checkSpace`) using only names `kind` can tune, `dropout` and `keep` not both, `width` only with `layers`. */
export function checkModelSpace(fn: string, kind: ModelKind, space: unknown): Space {
  const s = checkSpace(fn, space);
  const allowed = tunableNames(kind);
  const names = new Set(s.map((p) => p.name));
  s.forEach((p, i) => {
    if (!allowed.includes(p.name)) {
      throw new InvalidArgumentError(
        `'space[${i}].name' passed to ${fn}() is '${p.name}', which ${kind} cannot tune (one of ${allowed.join(', ')})`,
      );
    }
  });
  if (names.has('dropout') && names.has('keep')) {
    throw new InvalidArgumentError(`'space' passed to ${fn}() has both 'dropout' and 'keep' (keep = 1 − dropout)`);
  }
  if (names.has('width') && !names.has('layers')) {
    throw new InvalidArgumentError(`'space' passed to ${fn}() has 'width' without 'layers'`);
  }
  return s;
}

/**
 * The model and training configs of a point: `base` configs with the point's values applied (`dropout`
 * → `keep = 1 − dropout`; `layers`, `width` → `hidden = layers × [width]`, width 100 when not searched),
 * then resolved (validated) by `resolveModelConfig` / `resolveTrainConfig`.
 */
export function configsOf(
  kind: ModelKind,
  point: Point,
  base: { model?: Partial<ModelConfig>; train?: Partial<TrainConfig> } = {},
): { model: ModelConfig; train: TrainConfig } {
  const model: Record<string, unknown> = { ...(base.model ?? {}) };
  const train: Record<string, unknown> = { ...(base.train ?? {}) };
  for (const [name, v] of Object.entries(point)) {
    if (name === 'dropout') model.keep = 1 - (v as number);
    else if (name === 'layers') {
      const width = (point.width as number | undefined) ?? 100;
      model.hidden = Array.from({ length: v as number }, () => width);
    } else if (name === 'width') {
      // applied with 'layers'
    } else if ((TRAIN_NAMES as readonly string[]).includes(name)) train[name] = v;
    else model[name] = v;
  }
  return {
    model: resolveModelConfig(kind, model as Partial<MacridVaeConfig | MultConfig>),
    train: resolveTrainConfig(kind, train as Partial<TrainConfig>),
  };
}

/**
 * The point of `space` that stands for the base configs (the kind's defaults with `base` applied), so a
 * search can evaluate the defaults first (as hyperopt's `points_to_evaluate` / optuna's `enqueue_trial`):
 * each parameter takes the value the resolved configs have (`dropout` = 1 − keep, `layers` = hidden
 * layers, `width` = the first hidden width), moved into its domain when the default lies outside
 * (e.g. l2 = 0 on log-uniform [1e-12, 1] becomes 1e-12; an integer is rounded; a choice the default is
 * not among becomes the nearest numeric value, else the first). `width` without hidden layers takes 100
 * when allowed (what `configsOf` uses when width is not searched).
 */
export function defaultPoint(
  kind: ModelKind,
  space: Space,
  base: { model?: Partial<ModelConfig>; train?: Partial<TrainConfig> } = {},
): Point {
  const { model, train } = configsOf(kind, {}, base);
  const m = model as unknown as Record<string, unknown>;
  const tr = train as unknown as Record<string, unknown>;
  const point: Point = {};
  for (const p of space) {
    let v: unknown;
    if (p.name === 'dropout') v = 1 - (m.keep as number);
    else if (p.name === 'layers') v = (m.hidden as number[]).length;
    else if (p.name === 'width') v = (m.hidden as number[])[0] ?? 100;
    else if ((TRAIN_NAMES as readonly string[]).includes(p.name)) v = tr[p.name];
    else v = m[p.name];
    point[p.name] = intoDomain(p, v);
  }
  return point;
}

function intoDomain(p: Param, v: unknown): number | string {
  if (p.kind === 'choice') {
    if (p.values.includes(v as number | string)) return v as number | string;
    if (typeof v === 'number') {
      const nums = p.values.filter((x): x is number => typeof x === 'number');
      if (nums.length > 0) return nums.reduce((b, x) => (Math.abs(x - v) < Math.abs(b - v) ? x : b));
    }
    return p.values[0];
  }
  const x = typeof v === 'number' && Number.isFinite(v) ? v : (p.low + p.high) / 2;
  const c = Math.min(p.high, Math.max(p.low, x));
  return p.kind === 'int' ? Math.round(c) : c;
}

/**
 * Validates points given to evaluate first (a JSON array of objects): every name must be a parameter of
 * `space` and every value inside its domain; a point may leave parameters out, which then take the
 * values of `fill` (the default point). Errors name the entry, e.g. `'points[1].lr' passed to tune() …`.
 */
export function checkPoints(fn: string, space: Space, points: unknown, fill: Point): Point[] {
  const bad = (what: string, msg: string) => new InvalidArgumentError(`'${what}' passed to ${fn}() ${msg}`);
  if (!Array.isArray(points)) throw bad('points', `must be an array of objects but got ${typeof points}`);
  return points.map((raw: unknown, i: number) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw bad(`points[${i}]`, `must be an object of parameter values but got ${JSON.stringify(raw)}`);
    }
    const r = raw as Record<string, unknown>;
    for (const k of Object.keys(r)) {
      if (!space.some((p) => p.name === k)) {
        throw bad(`points[${i}].${k}`, `is not a parameter of the space (${space.map((p) => p.name).join(', ')})`);
      }
    }
    const point: Point = {};
    for (const p of space) {
      const v = r[p.name] === undefined ? fill[p.name] : r[p.name];
      const ok =
        p.kind === 'choice'
          ? p.values.includes(v as number | string)
          : typeof v === 'number' && v >= p.low && v <= p.high && (p.kind !== 'int' || Number.isInteger(v));
      if (!ok) {
        const domain =
          p.kind === 'choice'
            ? `one of ${p.values.map((x) => JSON.stringify(x)).join(', ')}`
            : `${p.kind === 'int' ? 'an integer' : 'a number'} in [${p.low}, ${p.high}]`;
        throw bad(`points[${i}].${p.name}`, `must be ${domain} but got ${JSON.stringify(v)}`);
      }
      point[p.name] = v as number | string;
    }
    return point;
  });
}
