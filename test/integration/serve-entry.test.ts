/**
 * The serving entry `macridvae/serve` (package.json "exports", the built dist/) is light: importing it
 * loads neither TensorFlow.js nor vega/resvg (checked in a child process that records every module
 * resolved), while the main entry does load TensorFlow.js (so the check can fail).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const root = fileURLToPath(new URL('../..', import.meta.url));
const HEAVY = /@tensorflow|\/vega|@resvg/;

function resolvedBy(entry: string): string[] {
  const script = `await import(${JSON.stringify(entry)}); await new Promise((r) => setTimeout(r, 200)); process.stdout.write(JSON.stringify(globalThis.__resolved));`;
  const r = spawnSync(
    process.execPath,
    ['--import', './test/helpers/trace-modules.mjs', '--input-type=module', '-e', script],
    { cwd: root, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as string[];
}

test('macridvae/serve loads neither tfjs nor vega/resvg; the main entry loads tfjs', (t) => {
  const serve = resolvedBy('macridvae/serve');
  t.true(
    serve.some((u) => u.includes('/dist/serve/index.js')),
    'the subpath resolves to dist/serve',
  );
  t.true(
    serve.some((u) => u.includes('fastify')),
    'fastify is loaded (the check sees packages)',
  );
  t.deepEqual(
    serve.filter((u) => HEAVY.test(u)),
    [],
  );
  const main = resolvedBy('macridvae');
  t.true(main.some((u) => u.includes('@tensorflow/tfjs-core')));
});
