/**
 * ml20m-shaped: a seeded generator of held-out users shaped like the MultVAE ML-20M test split, for
 * benchmarks (`scripts/bench-eval.ts`). Written here because the `data` branch's synthetic generator
 * (with its ML-20M preset) had not landed on main; switch to it once it has.
 *
 * Shape: 20,108 items (ML-20M after preprocessing, paper Table 2) with Zipf popularity
 * `p_i ∝ 1/(i + 10)`; per user a truncated power-law activity `P(n) ∝ n^−1.7` on `[5, 3000]` (mean ≈ 69,
 * close to ML-20M's ≈ 73 interactions per user); items drawn by popularity without replacement;
 * 20% of each user's items (chosen at random) are the target, the rest the fold-in input (the MultVAE
 * split). Scores mimic a model: `0.5·ln p_i + U(0, 2)`, plus 1.5 on target items, so that NDCG@100
 * lands in a realistic range and rankings are not trivial.
 */
import { type Csr, csrFromRows } from '../ts/csr.js';
import { Rng } from '../ts/util/rng.js';

export const ML20M_ITEMS = 20_108;

export interface ShapedHeldOut {
  foldIn: Csr;
  target: Csr;
  /** Interactions per item over fold-in and target (a popularity for negative sampling). */
  popularity: Float32Array;
  /** Normalized item probabilities used to draw interactions. */
  itemProb: Float64Array;
}

/** Draws the held-out users' fold-in and target rows. */
export function shapedHeldOut(users: number, items: number, seed: number): ShapedHeldOut {
  const rng = new Rng(seed);
  const itemProb = new Float64Array(items);
  let total = 0;
  for (let i = 0; i < items; i++) total += itemProb[i] = 1 / (i + 10);
  const cumulative = new Float64Array(items);
  let acc = 0;
  for (let i = 0; i < items; i++) {
    itemProb[i] /= total;
    cumulative[i] = acc += itemProb[i];
  }
  const drawItem = (): number => {
    const x = rng.next() * acc;
    let lo = 0;
    let hi = items - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  // truncated power law by inverse CDF: x = (a − u·(a − b))^(1/(1−s)), a = lo^(1−s), b = hi^(1−s)
  const s = 1.7;
  const [nLo, nHi] = [5, Math.min(3000, items)];
  const a = nLo ** (1 - s);
  const b = nHi ** (1 - s);
  const fold: number[][] = [];
  const tgt: number[][] = [];
  const popularity = new Float32Array(items);
  for (let u = 0; u < users; u++) {
    const n = Math.min(nHi, Math.floor((a - rng.next() * (a - b)) ** (1 / (1 - s))));
    const chosen = new Set<number>();
    while (chosen.size < n) chosen.add(drawItem());
    const row = [...chosen];
    rng.shuffle(row);
    const t = Math.floor(0.2 * n);
    tgt.push(row.slice(0, t).sort((x, y) => x - y));
    fold.push(row.slice(t).sort((x, y) => x - y));
    for (const i of row) popularity[i]++;
  }
  return { foldIn: csrFromRows(fold, items), target: csrFromRows(tgt, items), popularity, itemProb };
}

/**
 * Fills `out` (users × items, row-major) with model-like scores for the users `lo..lo+users` of `h`.
 */
export function shapedScores(h: ShapedHeldOut, lo: number, users: number, seed: number, out: Float32Array): void {
  const items = h.foldIn.cols;
  const rng = new Rng(seed ^ (lo * 0x9e3779b1));
  const base = new Float32Array(items);
  for (let i = 0; i < items; i++) base[i] = 0.5 * Math.log(h.itemProb[i]);
  for (let u = 0; u < users; u++) {
    const o = u * items;
    for (let i = 0; i < items; i++) out[o + i] = base[i] + 2 * rng.next();
    const r = lo + u;
    for (let p = h.target.indptr[r]; p < h.target.indptr[r + 1]; p++) out[o + h.target.indices[p]] += 1.5;
  }
}
