/** Argument parsing shared by the CLI commands (node:util parseArgs, strict, errors name the option). */
import { availableParallelism } from 'node:os';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { InvalidArgumentError } from '../errors.js';

/** A usage error: exit code 2 and the command's usage line. */
export class UsageError extends InvalidArgumentError {}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  name: string;
  /** One line for `macridvae --help`. */
  summary: string;
  /** The full usage text for `macridvae NAME --help`. */
  usage: string;
  run(argv: string[]): Promise<number>;
}

export const COMMON_OPTIONS = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies OptionSpec;

export function parse<O extends OptionSpec>(command: string, argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...options }, strict: true, allowPositionals });
  } catch (e) {
    throw new UsageError(`macridvae ${command}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Parses an integer option, naming it when it is not one. */
export function intOption(command: string, name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`macridvae ${command}: --${name} must be an integer >= ${min} but got '${value}'`);
  }
  return n;
}

/**
 * `--threads N`: worker threads, default min(2, cores). More threads than the machine has cores only
 * add memory (one WASM instance each) and contention, so a larger value is capped at the core count,
 * with a note on stderr (rule: options that size resources are checked against the machine).
 */
export function threadsOption(command: string, value: string | undefined): number {
  const cores = availableParallelism();
  const n = intOption(command, 'threads', value, Math.min(2, cores), 1);
  if (n > cores) {
    console.error(`macridvae ${command}: --threads ${n} capped at ${cores}, the number of cores of this machine`);
    return cores;
  }
  return n;
}

/** Parses a number option, naming it when it is not one. */
export function numberOption(command: string, name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) {
    throw new UsageError(`macridvae ${command}: --${name} must be a number but got '${value}'`);
  }
  return n;
}

/** Prints one JSON object as a line on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
