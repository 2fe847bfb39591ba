/** The CLI, tested by spawning the real built binary (dist/cli/main.js). */
import { readFileSync } from 'node:fs';
import test from 'ava';
import { cli } from '../helpers/cli.js';

test('--version prints the package version', (t) => {
  const r = cli(['--version']);
  t.is(r.code, 0);
  t.is(r.stdout.trim(), JSON.parse(readFileSync('package.json', 'utf8')).version);
});

test('--help lists the commands', (t) => {
  const r = cli(['--help']);
  t.is(r.code, 0);
  t.regex(r.stdout, /usage: macridvae <command>/);
  t.regex(r.stdout, /\bdemo\b/);
  t.regex(r.stdout, /\bbackend\b/);
});

test('an unknown command and a bad option are usage errors (exit 2) naming the problem', (t) => {
  const a = cli(['frobnicate']);
  t.is(a.code, 2);
  t.regex(a.stderr, /unknown command 'frobnicate'/);
  const b = cli(['demo', '--epochs', 'abc', '--json']);
  t.is(b.code, 2);
  t.deepEqual(JSON.parse(b.stdout), {
    error: { name: 'UsageError', message: "macridvae demo: --epochs must be an integer >= 1 but got 'abc'" },
  });
  const c = cli(['demo', '--nope']);
  t.is(c.code, 2);
  t.regex(c.stderr, /Unknown option '--nope'/);
});

test('--help of a command and a subcommand is generated from its option spec; did you mean', (t) => {
  const train = cli(['train', '--help']);
  t.is(train.code, 0, train.stderr);
  t.regex(train.stdout, /^macridvae train — /);
  t.regex(
    train.stdout,
    /usage: macridvae train --data DIR --out MODEL_DIR \[--model macridvae\|multvae\|multdae\|ease\|pop\|itemknn\]/,
  );
  t.regex(
    train.stdout,
    /--epochs N\s+maximum training epochs.*\(default: 500 \(macridvae\), 200 \(multvae, multdae\)\)/,
  );
  const prepare = cli(['help', 'data', 'prepare']);
  t.is(prepare.code, 0, prepare.stderr);
  t.regex(prepare.stdout, /usage: macridvae data prepare --input PATH --out DIR/);
  const typo = cli(['trian']);
  t.is(typo.code, 2);
  t.regex(typo.stderr, /unknown command 'trian'; did you mean 'train'\?/);
  const sub = cli(['data', 'prepar', '--json']);
  t.is(sub.code, 2);
  t.regex(JSON.parse(sub.stdout).error.message, /unknown subcommand 'prepar'; did you mean 'prepare'\?/);
  const opt = cli(['demo', '--epoch', '2']);
  t.is(opt.code, 2);
  t.regex(opt.stderr, /Unknown option '--epoch'; did you mean '--epochs'\?\nusage: macridvae demo \[--out DIR\]/);
});

test('backend --json reports auto selection; a forced unavailable backend fails clearly', (t) => {
  const r = cli(['backend', '--json']);
  t.is(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  t.is(info.requested, 'auto');
  t.true(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'].includes(info.name));
  t.true(info.threads === null || info.threads >= 1);
  const forced = cli(['backend', '--backend', 'cpu', '--json']);
  t.is(JSON.parse(forced.stdout).name, 'cpu');
  const bad = cli(['backend', '--backend', 'tpu']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--backend must be one of auto, tensorflow-gpu, tensorflow, wasm, cpu but got 'tpu'/);
});
