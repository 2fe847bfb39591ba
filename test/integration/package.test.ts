/**
 * Packaging: `npm pack`, install the tarball into an empty project, import the package by name and run
 * one kernel on the main thread and one on a worker — what a user of the published package does.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import test from 'ava';

test('the packed tarball installs and works in an empty project', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'macridvae-pack-'));
  try {
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
    const out = JSON.parse(execFileSync(process.execPath, ['check.mjs'], { cwd: proj, encoding: 'utf8' }));
    t.deepEqual(out.main, [2, 0]);
    t.deepEqual(out.worker, [2, 0]);
    t.true(out.typed);
    const bin = execFileSync(join(proj, 'node_modules', '.bin', 'macridvae'), ['--version'], { encoding: 'utf8' });
    t.is(bin.trim(), out.version);
    // The explorer page `macridvae serve` shows (web/explorer) ships in the tarball.
    t.true(existsSync(join(proj, 'node_modules', 'macridvae', 'web', 'explorer', 'index.html')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
