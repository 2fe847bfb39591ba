import test from 'ava';
import { csrFromRows } from '../../ts/csr.js';
import { topk } from '../../ts/wasm/ranking.js';
import { WasmInstance } from '../../ts/wasm/raw.js';

test('a kernel run 10,000 times leaves WASM memory flat (every allocation is freed)', (t) => {
  const inst = new WasmInstance();
  const args = {
    scores: new Float32Array(64 * 50).fill(0.5),
    users: 64,
    items: 50,
    exclude: csrFromRows(
      Array.from({ length: 64 }, () => [1, 2]),
      50,
    ),
    k: 10,
  };
  for (let i = 0; i < 100; i++) topk(inst, args);
  const before = inst.memoryBytes();
  for (let i = 0; i < 10_000; i++) topk(inst, args);
  t.is(inst.memoryBytes(), before);
});
