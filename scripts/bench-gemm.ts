/**
 * bench-gemm: GFLOP/s of the WASM GEMM (`mv_gemm`, one thread) on the layouts the models use, for one or
 * more builds of the module side by side in the same run (interleaved rounds; medians), so a change of
 * the GEMM is measured against the build before it on a shared machine.
 *
 * Shapes (MacridVAE, ML-1M-sized: K = 7, d = 100, 3,706 items, a decoder chunk of 64 users = 448 rows):
 * - nn: `L = Z·Hᵀ` as `448×100 · 100×3706` (Hᵀ stored);
 * - tn: `dH += dLᵀ·Z` as `3706×448 · 448×100` (A transposed by strides);
 * - nt: f_nn backward `dX = dY·Wᵀ` as `3500×200 · 200×100` (B transposed by strides).
 *
 * Usage: tsx scripts/bench-gemm.ts [--rounds 7] [--json] [WASM_FILE …]  (default: wasm/macrid_wasm.wasm)
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { wasmPath } from '../ts/wasm/loader.js';
import { gemm } from '../ts/wasm/nn.js';
import { WasmInstance } from '../ts/wasm/raw.js';

const { values: opt, positionals } = parseArgs({
  options: { rounds: { type: 'string', default: '7' }, json: { type: 'boolean', default: false } },
  allowPositionals: true,
});
const files = positionals.length > 0 ? positionals : [wasmPath()];
const builds = files.map((f) => ({ file: f, inst: new WasmInstance(new WebAssembly.Module(readFileSync(f))) }));

function rand(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

const SHAPES = [
  { name: 'nn', m: 448, k: 100, n: 3706, transA: false, transB: false },
  { name: 'tn', m: 3706, k: 448, n: 100, transA: true, transB: false },
  { name: 'nt', m: 3500, k: 200, n: 100, transA: false, transB: true },
];

const rounds = Number(opt.rounds);
for (const s of SHAPES) {
  const a = rand(s.m * s.k, 1);
  const b = rand(s.k * s.n, 2);
  const flop = 2 * s.m * s.n * s.k;
  const reps = Math.max(1, Math.round(2e9 / flop));
  const times = builds.map(() => [] as number[]);
  let ref: Float32Array | undefined;
  for (let r = 0; r < rounds; r++) {
    builds.forEach((bld, i) => {
      const t0 = performance.now();
      let c: Float32Array | undefined;
      for (let q = 0; q < reps; q++) c = gemm(bld.inst, { a, b, ...s });
      times[i].push((performance.now() - t0) / reps);
      if (!ref) ref = c;
      else if (c?.some((v, j) => Math.abs(v - (ref as Float32Array)[j]) > 1e-3 * (1 + Math.abs(v)))) {
        throw new Error(`${s.name}: ${bld.file} disagrees with ${builds[0].file}`);
      }
    });
  }
  const med = times.map((t) => [...t].sort((x, y) => x - y)[Math.floor(t.length / 2)]);
  const row = {
    shape: `${s.name} ${s.m}×${s.k}·${s.k}×${s.n}`,
    builds: builds.map((bld, i) => ({
      file: bld.file,
      ms: Number(med[i].toFixed(3)),
      gflops: Number((flop / med[i] / 1e6).toFixed(2)),
    })),
    ratio: builds.length > 1 ? Number((med[1] / med[0]).toFixed(3)) : undefined,
  };
  if (opt.json) console.log(JSON.stringify(row));
  else
    console.log(
      `${row.shape.padEnd(26)} ${row.builds.map((x) => `${x.gflops.toFixed(2).padStart(6)} GFLOP/s (${x.ms} ms)`).join('  ')}${row.ratio ? `  time ratio ${row.ratio}` : ''}`,
    );
}
