/**
 * Packaging: `npm pack`, install the tarball into an empty project with Rust unavailable (a PATH of
 * every program on this one but cargo, rustc and the rest of the toolchain), import the package by name
 * and run one kernel on the main thread and one on a worker, and run `npx macridvae demo --epochs 2` —
 * what a user of the published package does. Bounded: each step has a timeout.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import test from 'ava';

/** Programs of the Rust toolchain (rustup's proxies included). */
const RUST = /^(cargo|rustc|rustdoc|rustup|rust-|clippy-driver|rls)/;

/**
 * An environment whose PATH is one folder of links to every program on this PATH but Rust's (the first
 * of each name, as the shell would find it), and without rustup/cargo's variables.
 */
function envWithoutRust(dir: string): NodeJS.ProcessEnv {
  const bin = join(dir, 'bin-without-rust');
  mkdirSync(bin);
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    if (d === '' || !existsSync(d)) continue;
    for (const name of readdirSync(d)) {
      if (RUST.test(name) || existsSync(join(bin, name))) continue;
      symlinkSync(join(d, name), join(bin, name));
    }
  }
  const { CARGO_HOME: _c, RUSTUP_HOME: _r, RUSTUP_TOOLCHAIN: _t, ...env } = process.env;
  return { ...env, PATH: bin };
}

test('the packed tarball installs and works in an empty project without Rust: a library import and npx macridvae demo', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'macridvae-pack-'));
  try {
    const env = envWithoutRust(dir);
    for (const tool of ['cargo', 'rustc']) {
      const r = spawnSync(tool, ['--version'], { env });
      t.is((r.error as NodeJS.ErrnoException | undefined)?.code, 'ENOENT', `${tool} is still reachable`);
    }
    execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    t.truthy(tgz, 'npm pack wrote no tarball');
    const proj = join(dir, 'proj');
    execFileSync('mkdir', ['-p', proj]);
    writeFileSync(
      join(proj, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module', private: true }),
    );
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', resolve(dir, tgz!)], {
      cwd: proj,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    });
    writeFileSync(
      join(proj, 'check.mjs'),
      `import { topk, csrFromRows, KernelPool, OutOfRangeError, VERSION } from 'macridvae';
const args = { scores: new Float32Array([0.1, 0.9, 0.5]), users: 1, items: 3, exclude: csrFromRows([[1]], 3), k: 2 };
const main = topk(args);
const pool = new KernelPool({ threads: 1 });
const viaWorker = await pool.run('topk', args);
let typed = false;
try { await pool.run('topk', { ...args, exclude: csrFromRows([[9]], 3) }); } catch (e) { typed = e instanceof OutOfRangeError; }
await pool.close();
console.log(JSON.stringify({ version: VERSION, main: [...main.items], worker: [...viaWorker.items], typed }));
`,
    );
    const out = JSON.parse(
      execFileSync(process.execPath, ['check.mjs'], { cwd: proj, env, encoding: 'utf8', timeout: 60_000 }),
    );
    t.deepEqual(out.main, [2, 0]);
    t.deepEqual(out.worker, [2, 0]);
    t.true(out.typed);
    const bin = execFileSync(join(proj, 'node_modules', '.bin', 'macridvae'), ['--version'], { env, encoding: 'utf8' });
    t.is(bin.trim(), out.version);
    // The quick start, as the README gives it, into a temporary folder: the bundled data, 2 epochs.
    const demoOut = join(dir, 'demo');
    const demo = spawnSync(
      'npx',
      ['--offline', 'macridvae', 'demo', '--epochs', '2', '--threads', '1', '--out', demoOut, '--json'],
      {
        cwd: proj,
        env,
        encoding: 'utf8',
        timeout: 300_000,
      },
    );
    t.is(demo.status, 0, demo.stderr);
    const summary = JSON.parse(demo.stdout.trim().split('\n').pop() as string);
    t.like(summary, { dataset: 'ml-latest-small', users: 603, items: 5697, epochs: 2 });
    t.true(summary.test['ndcg@100'].mean > 0 && summary.test['ndcg@100'].mean <= 1);
    t.is(JSON.parse(readFileSync(join(demoOut, 'model', 'manifest.json'), 'utf8')).epochs, 2);
    // The explorer page `macridvae serve` shows (web/explorer) ships in the tarball.
    t.true(existsSync(join(proj, 'node_modules', 'macridvae', 'web', 'explorer', 'index.html')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
