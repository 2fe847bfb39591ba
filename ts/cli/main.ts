#!/usr/bin/env node
/**
 * The `macridvae` command line: a thin layer over the public API. Every command takes `--json` for
 * machine-readable output (one JSON object per line on stdout); people get tables and, on a TTY,
 * progress bars on stderr. Exit codes: 0 success, 1 failure, 2 usage error.
 */
import { MacridError } from '../errors.js';
import { VERSION } from '../version.js';
import { type Command, commandLines, helpOf, resolveCommand, suggestion, UsageError, usageOf } from './args.js';
import { COMMANDS } from './commands/index.js';

export function help(): string {
  return [
    `macridvae ${VERSION} — disentangled recommendation (MacridVAE) with Rust/WASM kernels`,
    '',
    'usage: macridvae <command> [options] [--json]',
    '',
    'commands:',
    ...commandLines(COMMANDS),
    '',
    "run 'macridvae <command> --help' for a command's options",
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' && rest.length > 0) return main([...rest, '--help']);
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    console.log(VERSION);
    return 0;
  }
  const command: Command | undefined = COMMANDS.find((c) => c.name === name);
  const json = rest.includes('--json');
  if (!command) {
    const near = suggestion(
      name,
      COMMANDS.map((c) => c.name),
    );
    console.error(`macridvae: unknown command '${name}'${near}\n\n${help()}`);
    return 2;
  }
  const target = resolveCommand(command, rest);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(helpOf(target.command, target.path));
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    if (json) process.stdout.write(`${JSON.stringify({ error: { name: err.name, message: err.message } })}\n`);
    if (e instanceof UsageError) {
      console.error(
        `${err.message}\nusage: ${usageOf(target.command, target.path)}\nrun '${target.path} --help' for the options`,
      );
      return 2;
    }
    console.error(e instanceof MacridError ? `macridvae ${name}: ${err.message}` : (err.stack ?? err.message));
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(e);
    process.exitCode = 1;
  },
);
