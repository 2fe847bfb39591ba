/**
 * Argument checks for the TS edge. Each names the argument and the allowed range, in the style of
 * tfjs (`'k' passed to topk() must be <= 3706 but got 5000`).
 */
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
