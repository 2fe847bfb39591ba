import { readFileSync } from 'node:fs';
import test from 'ava';
import wabtInit from 'wabt';
import { wasmModule, wasmPath } from '../../ts/wasm/loader.js';

const REQUIRED_EXPORTS = [
  'memory',
  'mv_abi_version',
  'mv_alloc',
  'mv_free',
  'mv_last_error_ptr',
  'mv_last_error_len',
  'mv_buf_ptr',
  'mv_buf_len',
  'mv_buf_free',
  'mv_topk',
  'mv_traverse',
  'mv_traverse_objective',
  'mv_assign_concepts',
  'mv_user_concept_confidence',
  'mv_alignment',
  'mv_column_stats',
  'mv_tsne',
  'mv_spherical_kmeans',
  'mv_macrid_slice_train',
  'mv_macrid_encode',
  'mv_mult_slice_train',
];

test('the built module has its exports and no imports', (t) => {
  const m = wasmModule();
  const names = WebAssembly.Module.exports(m).map((e) => e.name);
  for (const name of REQUIRED_EXPORTS) t.true(names.includes(name), `missing export ${name}`);
  t.deepEqual(WebAssembly.Module.imports(m), []);
});

test('the built module uses SIMD (v128 / f32x4 / i32x4 opcodes in its code)', async (t) => {
  const wabt = await wabtInit();
  const mod = wabt.readWasm(readFileSync(wasmPath()), { readDebugNames: false, simd: true });
  const text = mod.toText({});
  mod.destroy();
  const simdOps = text.match(/\b(v128\.\w+|f32x4\.\w+|i32x4\.\w+)/g) ?? [];
  t.true(simdOps.length > 10, `expected SIMD instructions, found ${simdOps.length}`);
  // Arithmetic from the explicit simd128 loops (simd::first_not_below, simd::dot_f64), not only the
  // v128 loads/stores that memcpy lowering produces.
  t.true(text.includes('f32x4.lt'), 'expected f32x4.lt from simd::first_not_below');
  t.true(/f64x2\.(mul|add)/.test(text), 'expected f64x2 arithmetic from simd::dot_f64');
});
