/**
 * The GEMM kernel's own speed, for benchmarks that report a fraction of it (bench:serve): `reps`
 * products `C (m×n) = A (m×k) · B (k×n)` on operands copied into WASM memory once, timed around the
 * export calls only (no copies, no allocation), on whichever thread runs it (a pool worker or this one).
 */
import { checkInt } from '../validate.js';
import type { WasmInstance } from './raw.js';

export interface GemmPeakArgs {
  m: number;
  n: number;
  k: number;
  /** Products timed (after one untimed warm-up). */
  reps: number;
}

/** Seconds of the timed products and their rate in GFLOP/s (`2·m·n·k` FLOP each). */
export function gemmPeak(inst: WasmInstance, a: GemmPeakArgs): { seconds: number; gflops: number } {
  const fn = 'gemmPeak';
  const m = checkInt(fn, 'm', a.m, 1);
  const n = checkInt(fn, 'n', a.n, 1);
  const k = checkInt(fn, 'k', a.k, 1);
  const reps = checkInt(fn, 'reps', a.reps, 1);
  const fill = (len: number) => Float32Array.from({ length: len }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  return inst.call(fn, (ar, x) => {
    const pA = ar.input(fill(m * k));
    const pB = ar.input(fill(k * n));
    const pC = ar.output(Float32Array, m * n);
    inst.check(fn, x.mv_gemm(0, 0, m, n, k, pA, pB, pC));
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) inst.check(fn, x.mv_gemm(0, 0, m, n, k, pA, pB, pC));
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, gflops: (2 * m * n * k * reps) / seconds / 1e9 };
  });
}
