/**
 * The CLI reference generated from the commands' option specs: the README's CLI section (the command
 * table) and docs/cli.md (every command's `--help`). `npm run docs:cli` writes both;
 * test/unit/cli-spec.test.ts fails when either differs from what the specs generate.
 */
import { type Command, commandLines, helpOf } from './args.js';

export const README_BEGIN =
  '<!-- cli:begin — generated from the option specs by `npm run docs:cli`; test/unit/cli-spec.test.ts checks it -->';
export const README_END = '<!-- cli:end -->';

function flatten(c: Command, path = `macridvae ${c.name}`): Array<{ command: Command; path: string }> {
  return [{ command: c, path }, ...(c.subcommands ?? []).flatMap((s) => flatten(s, `${path} ${s.name}`))];
}

/** The README's CLI section, between the markers. */
export function readmeSection(commands: readonly Command[]): string {
  return [
    README_BEGIN,
    '```',
    'macridvae <command> [options] [--json]',
    ...commandLines(commands),
    '```',
    '',
    'Every option of every command, with its default: [docs/cli.md](docs/cli.md) (the same text as',
    '`macridvae <command> --help`). An unknown option or command gets "did you mean …"; `macridvae --version`',
    'prints the version.',
    README_END,
  ].join('\n');
}

/** docs/cli.md: each command's (and subcommand's) `--help`. */
export function cliReference(commands: readonly Command[]): string {
  const out = [
    '# macridvae command line',
    '',
    '<!-- generated from the option specs (ts/cli/commands/*.ts) by `npm run docs:cli`; do not edit -->',
    '',
    'Every command takes `--json` (one JSON object per line on stdout). Exit codes: 0 ok, 1 failure, 2 usage.',
  ];
  for (const { command, path } of commands.flatMap((c) => flatten(c))) {
    out.push('', `## ${path.replace(/^macridvae /, '')}`, '', '```', helpOf(command, path), '```');
  }
  return `${out.join('\n')}\n`;
}

/** `readme` with its CLI section replaced by the generated one (an error when the markers are missing). */
export function replaceReadmeSection(readme: string, commands: readonly Command[]): string {
  const a = readme.indexOf(README_BEGIN.slice(0, 14));
  const b = readme.indexOf(README_END);
  if (a < 0 || b < a)
    throw new Error(`README.md: the markers ${README_BEGIN.slice(0, 14)}… and ${README_END} are missing`);
  return readme.slice(0, a) + readmeSection(commands) + readme.slice(b + README_END.length);
}
