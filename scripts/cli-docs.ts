/**
 * Writes the CLI reference generated from the commands' option specs: README.md's CLI section and
 * docs/cli.md (see ts/cli/reference.ts). Run after adding or changing a command or option:
 * `npm run docs:cli`; test/unit/cli-spec.test.ts fails until it has been run.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { COMMANDS } from '../ts/cli/commands/index.js';
import { cliReference, replaceReadmeSection } from '../ts/cli/reference.js';

function write(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

write('README.md', replaceReadmeSection(readFileSync('README.md', 'utf8'), COMMANDS));
write('docs/cli.md', cliReference(COMMANDS));
console.log('wrote README.md (CLI section) and docs/cli.md');
