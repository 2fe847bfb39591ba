/**
 * Issue 11, rule 8: a null or undefined argument gets the package's typed error naming it, never a
 * TypeError from deep inside — for every kernel of the one kernel table (on the calling thread and on the
 * pool), every public kernel wrapper (ts/kernels.ts, ts/analysis/kernels.ts) and every function of the
 * analysis helpers (ts/analysis/*). Functions are enumerated, so a new one is covered without editing this.
 */
import test from 'ava';
import * as categories from '../../ts/analysis/categories.js';
import * as figures from '../../ts/analysis/figures.js';
import * as analysisKernels from '../../ts/analysis/kernels.js';
import * as macro from '../../ts/analysis/macro.js';
import * as map from '../../ts/analysis/map.js';
import * as micro from '../../ts/analysis/micro.js';
import * as report from '../../ts/analysis/report.js';
import { InvalidArgumentError, MacridError } from '../../ts/errors.js';
import * as publicKernels from '../../ts/kernels.js';
import { kernels, type OpName } from '../../ts/runtime/kernels.js';
import { KernelPool } from '../../ts/workers/pool.js';

type Fn = (...args: unknown[]) => unknown;

function functionsOf(prefix: string, mod: Record<string, unknown>): [string, Fn][] {
  return Object.entries(mod)
    .filter(([, v]) => typeof v === 'function')
    .map(([k, v]) => [`${prefix}.${k}`, v as Fn]);
}

const FUNCTIONS: [string, Fn][] = [
  ...functionsOf('kernels', kernels as unknown as Record<string, unknown>),
  ...functionsOf('ts/kernels', publicKernels),
  ...functionsOf('ts/analysis/kernels', analysisKernels),
  ...functionsOf('macro', macro),
  ...functionsOf('micro', micro),
  ...functionsOf('map', map),
  ...functionsOf('report', report),
  ...functionsOf('categories', categories),
  ...functionsOf('figures', figures),
];

test('every kernel and analysis helper refuses null and undefined with the typed error, and {} never with a TypeError', async (t) => {
  t.true(FUNCTIONS.length >= 60, `only ${FUNCTIONS.length} functions enumerated`);
  for (const [name, f] of FUNCTIONS) {
    for (const arg of [null, undefined]) {
      const e = await t.throwsAsync(
        async () => f(arg, arg, arg),
        { instanceOf: InvalidArgumentError },
        `${name}(${String(arg)})`,
      );
      if (e) t.regex(e.message, /passed to \w+\(\)|must be/, `${name}(${String(arg)}): ${e.message}`);
    }
    try {
      await f({}, {}, {});
    } catch (e) {
      t.true(e instanceof MacridError, `${name}({}): ${(e as Error).name}: ${(e as Error).message}`);
    }
  }
});

test('the pool: a null argument object comes back as the typed error from the worker', async (t) => {
  const pool = new KernelPool({ threads: 1 });
  t.teardown(() => pool.close());
  for (const op of ['topk', 'tsne', 'rankingMetrics'] as OpName[]) {
    await t.throwsAsync(pool.run(op, null as never), {
      instanceOf: InvalidArgumentError,
      message: new RegExp(`'args' passed to ${op}\\(\\) must be an arguments object but got null`),
    });
  }
});
