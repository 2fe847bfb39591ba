/**
 * Argument parsing shared by the CLI commands: node:util parseArgs (strict; errors name the option),
 * driven by one option spec per command. The same spec generates the usage line, `--help` and the
 * README's CLI reference (`npm run docs:cli`), so parser and documentation cannot drift; unknown options
 * and commands get "did you mean …".
 *
 * An option spec entry is parseArgs' own (`type`, `short`, `default`) plus:
 *   description  one line for --help (required; test/unit/cli-spec.test.ts checks every command's options)
 *   value        the value's name in usage/help, e.g. `DIR`, `N`, `cosine|inner` (string options;
 *                default: the option name upper-cased)
 *   defaultText  the default as documented when the command applies it rather than the parser, e.g.
 *                `min(2, cores)`; a string option's parser `default` is shown as is
 *   required     shown without brackets in the usage line (the command checks it and names it)
 */
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../errors.js';

/** A usage error: exit code 2 and the command's usage line. */
export class UsageError extends InvalidArgumentError {}

export interface CliOption {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  default?: string | boolean | string[] | boolean[];
  /** One line for --help. */
  description: string;
  /** The value's name in usage and help (string options). */
  value?: string;
  /** The documented default when the command, not the parser, applies it. */
  defaultText?: string;
  /** Shown without brackets in the usage line. */
  required?: boolean;
}

export type OptionSpec = Record<string, CliOption>;

export interface Command {
  name: string;
  /** One line for `macridvae --help`. */
  summary: string;
  /** The options run() parses (COMMON_OPTIONS are added); usage and --help are generated from it. */
  options?: OptionSpec;
  /** The positional arguments in the usage line, e.g. `DIR`. */
  positionals?: string;
  /** Subcommands (`data prepare`, …): run() dispatches to them; `--help` lists them. */
  subcommands?: Command[];
  /** Further paragraphs for `--help` after the options. */
  notes?: string;
  /** A hand-written usage text; only for a command without an option spec (the spec test fails on it). */
  usage?: string;
  run(argv: string[]): Promise<number>;
}

export const COMMON_OPTIONS = {
  json: { type: 'boolean', default: false, description: 'machine-readable output: one JSON object per line on stdout' },
  help: { type: 'boolean', short: 'h', default: false, description: 'show this help' },
} as const satisfies OptionSpec;

/** `--threads N`, shared by the commands that run kernels on the worker pool. */
export const THREADS_OPTION = {
  type: 'string',
  value: 'N',
  defaultText: 'min(2, cores)',
  description: 'worker threads for the Rust kernels (1 = no pool)',
} as const satisfies CliOption;

/** `--backend NAME`, shared by the commands that select a TensorFlow.js backend. */
export const BACKEND_OPTION = {
  type: 'string',
  value: 'auto|tensorflow-gpu|tensorflow|wasm|cpu',
  defaultText: 'auto',
  description: 'TensorFlow.js backend (auto: the first of tensorflow-gpu, tensorflow, wasm, cpu that loads)',
} as const satisfies CliOption;

/** Edit distance (insert, delete, substitute, swap adjacent), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidates closest to `word`: those it is a prefix of, else those within edit distance
 * max(1, ⌊len/3⌋) (at most 3), nearest first, ties in the given order.
 */
export function didYouMean(word: string, candidates: readonly string[]): string[] {
  if (word === '') return [];
  const prefixed = candidates.filter((c) => c.startsWith(word) && c !== word);
  if (prefixed.length > 0) return prefixed.slice(0, 3);
  const limit = Math.max(1, Math.floor(word.length / 3));
  return candidates
    .map((c, i) => ({ c, i, d: editDistance(word, c) }))
    .filter((x) => x.d <= limit)
    .sort((x, y) => x.d - y.d || x.i - y.i)
    .slice(0, 3)
    .map((x) => x.c);
}

/** ` (did you mean 'a' or 'b'?)`, or '' when nothing is close. */
export function suggestion(word: string, candidates: readonly string[], prefix = ''): string {
  const near = didYouMean(word, candidates).map((c) => `'${prefix}${c}'`);
  if (near.length === 0) return '';
  return `; did you mean ${near.length === 1 ? near[0] : `${near.slice(0, -1).join(', ')} or ${near[near.length - 1]}`}?`;
}

export function parse<O extends OptionSpec>(command: string, argv: string[], options: O, allowPositionals = false) {
  const all = { ...COMMON_OPTIONS, ...options };
  // parseArgs gets only its own fields of each option.
  const parserOptions = Object.fromEntries(
    Object.entries(all as OptionSpec).map(([name, o]) => [
      name,
      {
        type: o.type,
        ...(o.short === undefined ? {} : { short: o.short }),
        ...(o.multiple === undefined ? {} : { multiple: o.multiple }),
        ...(o.default === undefined ? {} : { default: o.default }),
      },
    ]),
  ) as unknown as typeof all;
  try {
    return parseArgs({ args: argv, options: parserOptions, strict: true, allowPositionals });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const unknown = /^Unknown option '(-{1,2})([^'=]*)'/.exec(message);
    if (unknown) {
      const [, dashes, name] = unknown;
      const near = dashes === '--' ? suggestion(name, Object.keys(all), '--') : '';
      throw new UsageError(
        `macridvae ${command}: Unknown option '${dashes}${name}'${near || `; run 'macridvae ${command} --help' for the options`}`,
      );
    }
    throw new UsageError(`macridvae ${command}: ${message}`);
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

// ---- usage and help, generated from the spec ----

function optionToken(name: string, o: CliOption): string {
  return o.type === 'boolean' ? `--${name}` : `--${name} ${o.value ?? name.toUpperCase()}`;
}

function wrap(first: string, words: string[], indent: string, width = 100): string {
  const lines: string[] = [];
  let line = first;
  for (const w of words) {
    if (line.length + 1 + w.length > width && line.trim() !== '') {
      lines.push(line);
      line = indent + w;
    } else line = line === '' ? w : `${line} ${w}`;
  }
  lines.push(line);
  return lines.join('\n');
}

/** The usage line(s) of a command, e.g. `macridvae train --data DIR --out DIR [--model …] … [--json]`. */
export function usageOf(c: Command, path = `macridvae ${c.name}`): string {
  if (c.subcommands) {
    return `${path} <${c.subcommands.map((s) => s.name).join('|')}> [options] [--json]`;
  }
  if (!c.options) return c.usage ?? path;
  const tokens = Object.entries(c.options).map(([n, o]) => (o.required ? optionToken(n, o) : `[${optionToken(n, o)}]`));
  if (c.positionals) tokens.splice(0, 0, c.positionals);
  tokens.push('[--json]');
  return wrap(path, tokens, '    ');
}

/** The documented default of an option, or undefined. */
export function defaultOf(o: CliOption): string | undefined {
  if (o.defaultText !== undefined) return o.defaultText;
  if (o.type === 'string' && o.default !== undefined) return String(o.default);
  return undefined;
}

/** The option table: `  --name VALUE   description (default: X)`. */
export function optionLines(options: OptionSpec): string[] {
  const rows = Object.entries({ ...options, ...COMMON_OPTIONS } as OptionSpec).map(([n, o]) => {
    const d = defaultOf(o);
    const head = `${o.short ? `-${o.short}, ` : ''}${optionToken(n, o)}`;
    const tail = o.required ? ' (required)' : d === undefined ? '' : ` (default: ${d})`;
    return [head, `${o.description}${tail}`] as const;
  });
  const width = Math.min(28, Math.max(...rows.map(([h]) => h.length)));
  return rows.map(([h, d]) =>
    h.length > width ? `  ${h}\n  ${''.padEnd(width)}  ${d}` : `  ${h.padEnd(width)}  ${d}`,
  );
}

/** The command table of `macridvae --help`: `  name  summary`. */
export function commandLines(commands: readonly Command[]): string[] {
  const w = Math.max(...commands.map((c) => c.name.length));
  return commands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`);
}

/**
 * What is wrong with a command's spec, as messages (empty when nothing): a command without an option spec,
 * an option without a one-line description. test/unit/cli-spec.test.ts runs it over every command.
 */
export function specProblems(c: Command, path = `macridvae ${c.name}`): string[] {
  if (c.subcommands) return c.subcommands.flatMap((s) => specProblems(s, `${path} ${s.name}`));
  if (!c.options) return [`${path}: no option spec (Command.options)`];
  const problems: string[] = [];
  for (const [n, o] of Object.entries({ ...c.options, ...COMMON_OPTIONS } as OptionSpec)) {
    const d = (o as Partial<CliOption>).description;
    if (typeof d !== 'string' || d.trim() === '') problems.push(`${path} --${n}: no description`);
    else if (d.includes('\n')) problems.push(`${path} --${n}: the description is not one line`);
  }
  return problems;
}

/** `macridvae NAME --help`. */
export function helpOf(c: Command, path = `macridvae ${c.name}`): string {
  const out = [`${path} — ${c.summary}`, '', `usage: ${usageOf(c, path)}`];
  if (c.subcommands) {
    out.push('', 'subcommands:', ...commandLines(c.subcommands));
    out.push('', `run '${path} <subcommand> --help' for a subcommand's options`);
  } else if (c.options) {
    out.push('', 'options:', ...optionLines(c.options));
  }
  if (c.notes) out.push('', c.notes);
  return out.join('\n');
}

/** The subcommand (or the command itself) that `argv` names, with its path: `data prepare …` → prepare. */
export function resolveCommand(
  c: Command,
  argv: string[],
  path = `macridvae ${c.name}`,
): { command: Command; path: string } {
  const sub = c.subcommands?.find((s) => s.name === argv[0]);
  return sub ? resolveCommand(sub, argv.slice(1), `${path} ${sub.name}`) : { command: c, path };
}

/** Dispatches to a subcommand; an unknown one is a usage error with "did you mean". */
export function runSubcommand(c: Command, argv: string[]): Promise<number> {
  const subs = c.subcommands ?? [];
  const [name, ...rest] = argv;
  const sub = subs.find((s) => s.name === name);
  if (!sub) {
    const names = subs.map((s) => s.name);
    throw new UsageError(
      `macridvae ${c.name}: ${name === undefined ? 'a subcommand is required' : `unknown subcommand '${name}'${suggestion(name, names)}`} (${names.join(', ')})`,
    );
  }
  return sub.run(rest);
}
