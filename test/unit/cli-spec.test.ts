/**
 * The CLI's option specs: every command's every option has a one-line description (so an option added
 * without one fails here), the usage line and --help are generated from the spec the parser uses, the
 * README's CLI section and docs/cli.md are what the specs generate, and "did you mean" suggestions.
 */
import { readFileSync } from 'node:fs';
import test from 'ava';
import {
  type Command,
  didYouMean,
  editDistance,
  helpOf,
  parse,
  resolveCommand,
  specProblems,
  UsageError,
  usageOf,
} from '../../ts/cli/args.js';
import { COMMANDS } from '../../ts/cli/commands/index.js';
import { TRAIN_OPTIONS } from '../../ts/cli/commands/train.js';
import { cliReference, README_BEGIN, README_END, readmeSection } from '../../ts/cli/reference.js';

function all(commands: readonly Command[], prefix = 'macridvae'): Array<{ c: Command; path: string }> {
  return commands.flatMap((c) => [
    { c, path: `${prefix} ${c.name}` },
    ...all(c.subcommands ?? [], `${prefix} ${c.name}`),
  ]);
}

test('every command has an option spec and every option a one-line description', (t) => {
  t.deepEqual(
    COMMANDS.flatMap((c) => specProblems(c)),
    [],
  );
  t.true(all(COMMANDS).length >= COMMANDS.length + 5);
});

test('specProblems catches a command without a spec and an option without a description', (t) => {
  const run = async () => 0;
  const noSpec: Command = { name: 'x', summary: 's', usage: 'macridvae x', run };
  t.deepEqual(specProblems(noSpec), ['macridvae x: no option spec (Command.options)']);
  const noDescription = { name: 'y', summary: 's', options: { n: { type: 'string' } }, run } as unknown as Command;
  t.deepEqual(specProblems(noDescription), ['macridvae y --n: no description']);
  const twoLines: Command = { name: 'z', summary: 's', options: { n: { type: 'string', description: 'a\nb' } }, run };
  t.deepEqual(specProblems(twoLines), ['macridvae z --n: the description is not one line']);
});

test('usage and --help list every option of the spec with its value name, description and default', (t) => {
  for (const { c, path } of all(COMMANDS)) {
    const help = helpOf(c, path);
    const usage = usageOf(c, path);
    t.true(help.includes(usage), path);
    for (const [name, o] of Object.entries(c.options ?? {})) {
      t.true(usage.includes(`--${name}`), `${path} usage lacks --${name}`);
      t.true(help.includes(`--${name}`) && help.includes(o.description), `${path} help lacks --${name}`);
      if (o.required) t.regex(usage, new RegExp(`(^|\\s)--${name} `), `${path} --${name} is required`);
    }
  }
  const train = helpOf(COMMANDS.find((c) => c.name === 'train')!);
  t.regex(train, /--epochs N\s+maximum training epochs .*\(default: 500 \(macridvae\), 200 \(multvae, multdae\)\)/);
  t.regex(train, /--data DIR\s+.*\(required\)/);
  t.regex(train, /-h, --help/);
  const prepare = resolveCommand(COMMANDS.find((c) => c.name === 'data')!, ['prepare']);
  t.is(prepare.path, 'macridvae data prepare');
  t.regex(helpOf(prepare.command, prepare.path), /--min-rating R\s+.*\(default: 3\.5\)/);
});

test('parse applies the spec: its defaults, its types, and unknown options with "did you mean"', (t) => {
  const spec = {
    epochs: { type: 'string', default: '150', description: 'e' },
    seed: { type: 'string', description: 's', defaultText: '1' },
    force: { type: 'boolean', default: false, description: 'f' },
  } as const;
  const { values } = parse('demo', ['--force'], spec);
  t.deepEqual({ ...values }, { json: false, help: false, epochs: '150', force: true });
  const e = t.throws(() => parse('demo', ['--epoch', '3'], spec), { instanceOf: UsageError });
  t.is(e.message, "macridvae demo: Unknown option '--epoch'; did you mean '--epochs'?");
  const f = t.throws(() => parse('demo', ['--sed=4'], spec));
  t.is(f.message, "macridvae demo: Unknown option '--sed'; did you mean '--seed'?");
  const g = t.throws(() => parse('demo', ['--zzzzzz'], spec));
  t.is(g.message, "macridvae demo: Unknown option '--zzzzzz'; run 'macridvae demo --help' for the options");
  const h = t.throws(() => parse('train', ['--beta-shedule', 'x'], TRAIN_OPTIONS));
  t.regex(h.message, /did you mean '--beta-schedule'\?$/);
});

test('didYouMean: prefixes first, then the nearest within a third of the length', (t) => {
  t.is(editDistance('kitten', 'sitting'), 3);
  t.is(editDistance('ab', 'ba'), 1);
  t.deepEqual(didYouMean('trian', ['train', 'tune', 'eval']), ['train']);
  t.deepEqual(didYouMean('bat', ['batch-size', 'beta', 'beam']), ['batch-size']);
  t.deepEqual(didYouMean('tun', ['train', 'tune']), ['tune']);
  t.deepEqual(didYouMean('xyz', ['train', 'tune']), []);
  t.deepEqual(didYouMean('be', ['beta', 'beam']), ['beta', 'beam']);
});

test("README's CLI section and docs/cli.md are what the specs generate (npm run docs:cli)", (t) => {
  const readme = readFileSync('README.md', 'utf8');
  const a = readme.indexOf(README_BEGIN);
  const b = readme.indexOf(README_END);
  t.true(a >= 0 && b > a, 'README.md lacks the generated CLI section markers');
  t.is(readme.slice(a, b + README_END.length), readmeSection(COMMANDS), 'README.md is stale: npm run docs:cli');
  t.is(readFileSync('docs/cli.md', 'utf8'), cliReference(COMMANDS), 'docs/cli.md is stale: npm run docs:cli');
});
