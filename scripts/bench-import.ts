/**
 * bench:import — how long importing each package entry takes in a fresh Node process (the median of
 * several runs, each a child process), next to importing TensorFlow.js, Vega and Vega-Lite on their own
 * in the same run (what the main entry no longer loads). Needs the built dist/ (`npm run build:ts`).
 *
 *   npm run bench:import [-- --runs 7] [-- --baseline OTHER_CHECKOUT/dist/index.js]
 *
 * `--baseline` adds another build's main entry (e.g. before a change) to the same run.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 7;
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, { import?: string }> };

const targets: Array<[string, string]> = Object.entries(pkg.exports)
  .filter(([, v]) => typeof v === 'object' && v.import)
  .map(([k, v]) => [
    k === '.' ? 'macridvae' : `macridvae/${k.slice(2)}`,
    pathToFileURL(resolve(v.import as string)).href,
  ]);
const baselineArg = process.argv.indexOf('--baseline');
if (baselineArg > 0)
  targets.push([
    '(baseline) ' + process.argv[baselineArg + 1],
    pathToFileURL(resolve(process.argv[baselineArg + 1])).href,
  ]);
for (const dep of ['@tensorflow/tfjs-core', 'vega', 'vega-lite']) {
  const url = import.meta.resolve(dep);
  targets.push([`(reference) ${dep}`, url]);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

console.log(`import time, median of ${runs} fresh processes (node ${process.version})`);
for (const [name, url] of targets) {
  const times: number[] = [];
  let packages: string[] = [];
  for (let r = 0; r < runs; r++) {
    const out = JSON.parse(
      execFileSync(process.execPath, ['scripts/import-probe.mjs', url], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .pop() as string,
    ) as { ms: number; packages: string[] };
    times.push(out.ms);
    packages = out.packages;
  }
  const heavy = packages.filter((p) => /^(@tensorflow\/|vega$|vega-lite$|@resvg\/)/.test(p));
  console.log(
    `${name.padEnd(34)} ${median(times).toFixed(0).padStart(6)} ms   (min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)})   heavy: ${heavy.join(', ') || 'none'}`,
  );
}
