/** Seeded generators of test inputs (never Math.random: every failure must be reproducible). */
import { type Csr, csrFromRows } from '../../ts/csr.js';
import { Rng } from '../../ts/util/rng.js';

export { Rng };

/** A `rows × cols` block of scores drawn from `levels` distinct values (so ties happen). */
export function randomScores(rng: Rng, rows: number, cols: number, levels = 8): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < out.length; i++) out[i] = rng.int(levels) / levels;
  return out;
}

/** A random CSR matrix where each cell is set with probability `p` (rows may be empty or full). */
export function randomCsr(rng: Rng, rows: number, cols: number, p: number): Csr {
  const r: number[][] = [];
  for (let u = 0; u < rows; u++) {
    const row: number[] = [];
    for (let i = 0; i < cols; i++) if (rng.next() < p) row.push(i);
    r.push(row);
  }
  return csrFromRows(r, cols);
}
