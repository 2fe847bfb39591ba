/**
 * TensorFlow.js backend selection.
 *
 * `auto` tries, in order: `@tensorflow/tfjs-node-gpu` (CUDA), `@tensorflow/tfjs-node` (native CPU),
 * `@tensorflow/tfjs-backend-wasm` (embedded default, with its thread count), then `cpu` (pure JS).
 * The native packages are optional peer dependencies loaded by dynamic import; they are not required
 * to install this package. A forced backend that cannot load fails with a {@link BackendUnavailableError}
 * saying what to install.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError, InvalidArgumentError } from '../errors.js';

export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendInfo {
  /** What was asked for. */
  requested: BackendName;
  /** The backend in use (`tensorflow-gpu` and `tensorflow` both register tfjs's `tensorflow`). */
  name: Exclude<BackendName, 'auto'>;
  /** tfjs's name of the active backend. */
  tfBackend: string;
  /** Threads the backend computes with (1 for `cpu`; the WASM backend's thread count; `null` when the native library decides). */
  threads: number | null;
  /** Why each earlier candidate of `auto` was skipped. */
  skipped: Array<{ name: string; reason: string }>;
}

export interface BackendOptions {
  /** Threads for the WASM backend (honoured only where its threaded build can run). */
  threads?: number;
}

const require = createRequire(import.meta.url);

async function importOptional(spec: string): Promise<void> {
  // A variable specifier keeps TypeScript from requiring the optional package's types.
  const name: string = spec;
  await import(name);
}

async function tryBackend(name: Exclude<BackendName, 'auto'>, options: BackendOptions): Promise<number | null> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      const pkg = name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      try {
        await importOptional(pkg);
      } catch (e) {
        throw new BackendUnavailableError(
          `backend '${name}' needs the optional package ${pkg}, which cannot be loaded here ` +
            `(${e instanceof Error ? e.message.split('\n')[0] : String(e)}). Install it with 'npm install ${pkg}' ` +
            `(it downloads libtensorflow at install time${name === 'tensorflow-gpu' ? ' and needs CUDA' : ''}).`,
        );
      }
      if (!(await tf.setBackend('tensorflow'))) {
        throw new BackendUnavailableError(
          `backend '${name}': ${pkg} loaded but its 'tensorflow' backend failed to initialize`,
        );
      }
      return null;
    }
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const dir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
      wasm.setWasmPaths(`${join(dir, '/')}`);
      if (options.threads !== undefined) wasm.setThreadsCount(options.threads);
      if (!(await tf.setBackend('wasm'))) {
        throw new BackendUnavailableError("backend 'wasm' failed to initialize (see the warning above)");
      }
      return wasm.getThreadsCount();
    }
    case 'cpu': {
      await import('@tensorflow/tfjs-backend-cpu');
      if (!(await tf.setBackend('cpu'))) throw new BackendUnavailableError("backend 'cpu' failed to initialize");
      return 1;
    }
  }
}

/** Selects and initializes a backend; see the module doc for the order `auto` tries. */
export async function selectBackend(
  requested: BackendName = 'auto',
  options: BackendOptions = {},
): Promise<BackendInfo> {
  if (!(BACKENDS as readonly string[]).includes(requested)) {
    throw new InvalidArgumentError(`'backend' must be one of ${BACKENDS.join(', ')} but got '${String(requested)}'`);
  }
  if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1)) {
    throw new InvalidArgumentError(`'threads' must be an integer >= 1 but got ${options.threads}`);
  }
  const candidates: Array<Exclude<BackendName, 'auto'>> =
    requested === 'auto' ? ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] : [requested];
  const skipped: BackendInfo['skipped'] = [];
  for (const name of candidates) {
    try {
      const threads = await tryBackend(name, options);
      return { requested, name, tfBackend: tf.getBackend(), threads, skipped };
    } catch (e) {
      if (requested !== 'auto') throw e;
      skipped.push({ name, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  throw new BackendUnavailableError(
    `no TensorFlow.js backend could be initialized: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`,
  );
}
