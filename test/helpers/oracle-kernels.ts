/**
 * Slow, obviously correct TypeScript versions of the evaluation, batch, sampling and correlation
 * kernels: every definition written out directly (full sorts, sets, two-pass f64 sums).
 */
import { type Csr, csrRow, csrRows } from '../../ts/csr.js';
import type {
  BatchArgs,
  CorrelationResult,
  DenseBatch,
  IndependenceResult,
  RankingMetricsArgs,
  RankingMetricsResult,
  SparseBatch,
  VectorsArgs,
} from '../../ts/kernels.js';

/** Ranks every non-fold-in item by sorting (higher score first, ties to the lower id), then applies the formulas. */
export function rankingMetricsOracle(args: RankingMetricsArgs): RankingMetricsResult {
  const { scores, users, items, foldIn, target } = args;
  const ks = [...args.ks];
  const nk = ks.length;
  const out: RankingMetricsResult = {
    ks,
    ndcg: new Float64Array(users * nk),
    recall: new Float64Array(users * nk),
    hits: new Uint32Array(users * nk),
    targetSize: new Uint32Array(users),
  };
  for (let u = 0; u < users; u++) {
    const wanted = new Set(csrRow(target, u));
    const t = wanted.size;
    out.targetSize[u] = t;
    if (t === 0) {
      for (let j = 0; j < nk; j++) {
        out.ndcg[u * nk + j] = Number.NaN;
        out.recall[u * nk + j] = Number.NaN;
      }
      continue;
    }
    const seen = new Set(csrRow(foldIn, u));
    const ranked: number[] = [];
    for (let i = 0; i < items; i++) if (!seen.has(i)) ranked.push(i);
    ranked.sort((a, b) => scores[u * items + b] - scores[u * items + a] || a - b);
    ks.forEach((k, j) => {
      let dcg = 0;
      let hits = 0;
      for (let r = 0; r < Math.min(k, ranked.length); r++) {
        if (wanted.has(ranked[r])) {
          dcg += 1 / Math.log2(r + 2);
          hits++;
        }
      }
      let idcg = 0;
      for (let r = 0; r < Math.min(t, k); r++) idcg += 1 / Math.log2(r + 2);
      out.ndcg[u * nk + j] = dcg / idcg;
      out.recall[u * nk + j] = hits / Math.min(k, t);
      out.hits[u * nk + j] = hits;
    });
  }
  return out;
}

function rowValue(normalize: BatchArgs['normalize'], n: number): number {
  return normalize === 'binary' ? 1 : Math.fround(1 / Math.sqrt(n));
}

export function denseBatchOracle(args: BatchArgs): DenseBatch {
  const m = args.rows;
  const rows = csrRows(m);
  const data = new Float32Array(rows * m.cols);
  for (let r = 0; r < rows; r++) {
    const row = csrRow(m, r);
    for (const i of row) data[r * m.cols + i] = rowValue(args.normalize, row.length);
  }
  return { data, rows, cols: m.cols };
}

export function sparseBatchOracle(args: BatchArgs): SparseBatch {
  const m = args.rows;
  const rows = csrRows(m);
  const segmentIds: number[] = [];
  const values: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = csrRow(m, r);
    for (let j = 0; j < row.length; j++) {
      segmentIds.push(r);
      values.push(rowValue(args.normalize, row.length));
    }
  }
  return {
    indices: m.indices.slice(),
    offsets: m.indptr.slice(),
    segmentIds: Uint32Array.from(segmentIds),
    values: Float32Array.from(values),
    rows,
    cols: m.cols,
  };
}

/** The proposal's probability of every item: uniform, or popularity^alpha normalized (0^0 = 1). */
export function proposalOracle(items: number, popularity?: Float32Array, alpha = 0.75): Float64Array {
  const p = new Float64Array(items);
  let total = 0;
  for (let i = 0; i < items; i++) {
    p[i] = popularity ? popularity[i] ** alpha : 1;
    total += p[i];
  }
  for (let i = 0; i < items; i++) p[i] /= total;
  return p;
}

/** `ln q(i)` for a row with positives `positives`: the proposal, renormalized without them when excluded. */
export function logQOracle(p: Float64Array, item: number, positives: ArrayLike<number>, exclude: boolean): number {
  if (!exclude) return Math.log(p[item]);
  const pos = new Set(Array.from(positives));
  let allowed = 0;
  for (let i = 0; i < p.length; i++) if (!pos.has(i)) allowed += p[i];
  return Math.log(p[item] / allowed);
}

/** Two-pass f64 Pearson correlations; constant dimensions get 0 off the diagonal and 1 on it. */
export function correlationOracle(args: VectorsArgs): CorrelationResult {
  const { vectors: x, n, d } = args;
  const mean = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) mean[j] += x[r * d + j] / n;
  const constantDims: number[] = [];
  for (let j = 0; j < d; j++) {
    let same = true;
    for (let r = 1; r < n; r++) same &&= x[r * d + j] === x[j];
    if (same) constantDims.push(j);
  }
  const matrix = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      if (i === j) {
        matrix[i * d + j] = 1;
        continue;
      }
      if (constantDims.includes(i) || constantDims.includes(j)) continue;
      let sij = 0;
      let sii = 0;
      let sjj = 0;
      for (let r = 0; r < n; r++) {
        const a = x[r * d + i] - mean[i];
        const b = x[r * d + j] - mean[j];
        sij += a * b;
        sii += a * a;
        sjj += b * b;
      }
      matrix[i * d + j] = sij / Math.sqrt(sii * sjj);
    }
  }
  return { matrix, d, constantDims };
}

export function independenceOracle(args: VectorsArgs): IndependenceResult {
  const c = correlationOracle(args);
  const d = args.d;
  let sum = 0;
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) sum += Math.abs(c.matrix[i * d + j]);
  return { score: 1 - (2 * sum) / (d * (d - 1)), constantDims: c.constantDims };
}

/** Mean and population-std standard error over the users with a non-empty target. */
export function summaryOracle(values: ArrayLike<number>, targetSize: ArrayLike<number>): { mean: number; se: number } {
  const xs: number[] = [];
  for (let u = 0; u < targetSize.length; u++) if (targetSize[u] > 0) xs.push(values[u]);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
  return { mean, se: Math.sqrt(variance / xs.length) };
}

export type { Csr };
