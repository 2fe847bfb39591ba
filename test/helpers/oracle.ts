/**
 * Slow, obviously correct TypeScript versions of the kernels. Tests compare every WASM kernel with
 * these on seeded random inputs.
 */
import { type Csr, csrRow } from '../../ts/csr.js';
import type { TopKArgs, TopKResult } from '../../ts/kernels.js';

/** Top-k by sorting every candidate: higher score first, ties to the lower item id. */
export function topkOracle(args: TopKArgs): TopKResult {
  const { scores, users, items, exclude, k } = args;
  const outItems = new Uint32Array(users * k).fill(0xffffffff);
  const outScores = new Float32Array(users * k).fill(Number.NEGATIVE_INFINITY);
  const counts = new Uint32Array(users);
  for (let u = 0; u < users; u++) {
    const ex = new Set(csrRow(exclude as Csr, u));
    const cand: number[] = [];
    for (let i = 0; i < items; i++) if (!ex.has(i)) cand.push(i);
    cand.sort((a, b) => scores[u * items + b] - scores[u * items + a] || a - b);
    const n = Math.min(k, cand.length);
    for (let j = 0; j < n; j++) {
      outItems[u * k + j] = cand[j];
      outScores[u * k + j] = scores[u * items + cand[j]];
    }
    counts[u] = n;
  }
  return { items: outItems, scores: outScores, counts };
}
