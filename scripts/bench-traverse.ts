/**
 * bench-traverse: latency of one beam-search traversal (paper §2.4) on an ML-20M-shaped concept space
 * (20,108 items, d = 100, K = 7; random prototypes with items planted around them), W = 50, B = 10,
 * through the WASM kernel on the main thread. Target: under 50 ms. Run: `npm run bench:traverse`.
 */

import { plantedSpace } from '../test/helpers/concepts.js';
import { traverse } from '../ts/control/traverse.js';

const items = Number(process.env.ITEMS ?? 20108);
const d = 100;
const concepts = 7;
const runs = Number(process.env.RUNS ?? 30);
const space = plantedSpace(98765, items, d, concepts, 1.0);
const times: number[] = [];
let candidates = 0;
for (let r = -3; r < runs; r++) {
  const item = (Math.abs(r) * 7919) % items;
  const t0 = performance.now();
  const res = traverse(space, { item }, { dim: Math.abs(r * 13) % d, steps: 10, beam: 50, gamma: 0.1 });
  const ms = performance.now() - t0;
  if (r >= 0) {
    times.push(ms);
    candidates += res.counts.reduce((a, b) => a + b, 0);
  }
}
times.sort((a, b) => a - b);
const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(1);
console.log(`traverse: ${items} items × d=${d}, K=${concepts}, W=50, B=10, ${runs} runs (WASM, main thread)`);
console.log(`  candidates per call (mean): ${(candidates / runs).toFixed(0)}`);
console.log(`  latency ms: median ${q(0.5)}, p90 ${q(0.9)}, max ${q(1)}  (target < 50 ms)`);
