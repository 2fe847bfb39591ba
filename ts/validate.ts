/**
 * Argument checks for the TS edge. Each names the argument and the allowed range, in the style of
 * tfjs (`'k' passed to topk() must be <= 3706 but got 5000`).
 */
import { totalmem } from 'node:os';
import { InvalidArgumentError } from './errors.js';

export function checkInt(fn: string, name: string, value: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new InvalidArgumentError(`'${name}' passed to ${fn}() must be an integer but got ${String(value)}`);
  }
  if (value < min) throw new InvalidArgumentError(`'${name}' passed to ${fn}() must be >= ${min} but got ${value}`);
  if (value > max) throw new InvalidArgumentError(`'${name}' passed to ${fn}() must be <= ${max} but got ${value}`);
  return value;
}

export function checkNumber(
  fn: string,
  name: string,
  value: unknown,
  min = Number.NEGATIVE_INFINITY,
  max = Number.POSITIVE_INFINITY,
): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new InvalidArgumentError(`'${name}' passed to ${fn}() must be a number but got ${String(value)}`);
  }
  if (value < min) throw new InvalidArgumentError(`'${name}' passed to ${fn}() must be >= ${min} but got ${value}`);
  if (value > max) throw new InvalidArgumentError(`'${name}' passed to ${fn}() must be <= ${max} but got ${value}`);
  return value;
}

type Ctor = { new (...args: never[]): unknown; name: string };

export function checkArray<T>(fn: string, name: string, value: unknown, ctor: Ctor, length?: number): T {
  if (!(value instanceof ctor)) {
    const got =
      value === null ? 'null' : typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value;
    throw new InvalidArgumentError(`'${name}' passed to ${fn}() must be a ${ctor.name} but got ${got}`);
  }
  const len = (value as unknown as { length: number }).length;
  if (length !== undefined && len !== length) {
    throw new InvalidArgumentError(`'${name}' passed to ${fn}() must have ${length} elements but has ${len}`);
  }
  return value as T;
}

const GiB = 1024 ** 3;

/** Bytes in words (e.g. `3.2 GiB`). */
export function formatBytes(n: number): string {
  if (n >= GiB) return `${(n / GiB).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${Math.ceil(n / 1024)} KiB`;
}

/**
 * The most memory one allocation sized by an option may take: 3/4 of this machine's memory, at most
 * 4 GiB when the buffer lives in WASM memory (wasm32 addresses 4 GiB in all), or the bytes in the
 * environment variable `MACRIDVAE_MAX_MEMORY` when set (lower or higher).
 */
export function memoryBudget(wasm = false): number {
  const env = Number(process.env.MACRIDVAE_MAX_MEMORY);
  if (Number.isFinite(env) && env > 0) return env;
  const machine = Math.floor(0.75 * totalmem());
  return wasm ? Math.min(machine, 4 * GiB) : machine;
}

/**
 * Refuses an option value whose allocation would not fit (see {@link memoryBudget}), naming the option,
 * its value, what it sizes and the limit: no option value makes the package allocate without bound.
 */
export function checkMemory(fn: string, name: string, value: number, bytes: number, what: string, wasm = false): void {
  const budget = memoryBudget(wasm);
  if (!(bytes <= budget)) {
    throw new InvalidArgumentError(
      `'${name}' passed to ${fn}() is ${value}, which needs ${formatBytes(bytes)} for ${what}: more than the ${formatBytes(budget)} this machine allows (${process.env.MACRIDVAE_MAX_MEMORY ? 'MACRIDVAE_MAX_MEMORY' : wasm ? '3/4 of its memory, at most the 4 GiB of WASM memory' : '3/4 of its memory'}); lower it`,
    );
  }
}

/** Refuses a non-object argument (null, undefined, a number …) with the typed error naming it. */
export function checkObject<T>(fn: string, name: string, value: T, what = 'an object'): NonNullable<T> {
  if (value === null || typeof value !== 'object') {
    throw new InvalidArgumentError(
      `'${name}' passed to ${fn}() must be ${what} but got ${value === null ? 'null' : typeof value}`,
    );
  }
  return value as NonNullable<T>;
}

/** Refuses a path argument that is not a non-empty string. */
export function checkPath(fn: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new InvalidArgumentError(
      `'${name}' passed to ${fn}() must be a path (a non-empty string) but got ${value === null ? 'null' : value === '' ? "''" : typeof value}`,
    );
  }
  return value;
}
