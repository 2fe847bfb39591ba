/**
 * Light imports: importing the main entry (and the light subpath entries) in a fresh process loads no
 * TensorFlow.js, Vega, Vega-Lite or resvg — they load when a function needs them. Checks the built dist/
 * (what users import) through scripts/import-probe.mjs, which records every package resolved.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';

const HEAVY = /^(@tensorflow\/|vega$|vega-lite$|vega-|@resvg\/)/;

function probe(entry: string): { ms: number; packages: string[] } {
  const out = execFileSync(process.execPath, ['scripts/import-probe.mjs', pathToFileURL(resolve(entry)).href], {
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').pop() as string);
}

const exportsMap = JSON.parse(readFileSync('package.json', 'utf8')).exports as Record<string, { import?: string }>;

test('the main entry and the light subpath entries load none of tfjs, vega, vega-lite, resvg', (t) => {
  for (const key of ['.', './kernels', './analysis', './data']) {
    const entry = exportsMap[key]?.import;
    t.truthy(entry, `package.json exports '${key}'`);
    const heavy = probe(entry as string).packages.filter((p) => HEAVY.test(p));
    t.deepEqual(heavy, [], `importing '${key}' loads ${heavy.join(', ')}`);
  }
});

test('the probe sees what an entry loads (the models entry loads TensorFlow.js)', (t) => {
  const models = probe(exportsMap['./models'].import as string);
  t.true(models.packages.includes('@tensorflow/tfjs-core'), models.packages.join(', '));
});

test('every subpath export resolves to a built module that exports something', async (t) => {
  for (const [key, v] of Object.entries(exportsMap)) {
    if (typeof v !== 'object' || !v.import) continue;
    const mod = await import(pathToFileURL(resolve(v.import)).href);
    t.true(Object.keys(mod).length > 0, key);
  }
});

test('the main entry loads TensorFlow.js on first use: selectBackend, then figures render', async (t) => {
  const api = await import('../../ts/index.js');
  const info = await api.selectBackend('cpu');
  t.is(info.name, 'cpu');
  const svg = await api.renderSvg(api.independenceSpec([{ method: 'm', independence: 0.5, ndcg100: 0.3 }], 'x'));
  t.regex(svg, /^<svg/);
  const png = api.svgToPng(svg, 1);
  t.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
});
