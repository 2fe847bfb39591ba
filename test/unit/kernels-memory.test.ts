import test from 'ava';
import { csrFromRows } from '../../ts/csr.js';
import { denseBatch, sparseBatch } from '../../ts/wasm/batch.js';
import { rankingMetrics } from '../../ts/wasm/eval.js';
import { wasmModule } from '../../ts/wasm/loader.js';
import { WasmInstance } from '../../ts/wasm/raw.js';
import { sampleNegatives, samplingLogProbs } from '../../ts/wasm/sampling.js';
import { correlationMatrix, independenceScore } from '../../ts/wasm/stats.js';
import { Rng, randomCsr, randomScores } from '../helpers/random.js';

test('the module exports the evaluation, batch, sampling and correlation kernels', (t) => {
  const names = WebAssembly.Module.exports(wasmModule()).map((e) => e.name);
  for (const name of [
    'mv_ranking_metrics',
    'mv_dense_batch',
    'mv_sparse_batch',
    'mv_sample_negatives',
    'mv_sampling_log_probs',
    'mv_correlation_matrix',
    'mv_independence_score',
  ]) {
    t.true(names.includes(name), `missing export ${name}`);
  }
});

const rng = new Rng(10_000);
const rows = randomCsr(rng, 32, 120, 0.1);
const vectors = new Float32Array(Array.from({ length: 50 * 6 }, () => rng.next()));
const scores = randomScores(rng, 32, 120);
const target = randomCsr(rng, 32, 120, 0.05);
const RUNS: Array<[string, (inst: WasmInstance) => unknown]> = [
  [
    'rankingMetrics',
    (inst) =>
      rankingMetrics(inst, {
        scores,
        users: 32,
        items: 120,
        foldIn: rows,
        target,
        ks: [5, 20, 50],
      }),
  ],
  ['denseBatch', (inst) => denseBatch(inst, { rows, normalize: 'l2' })],
  ['sparseBatch', (inst) => sparseBatch(inst, { rows, normalize: 'binary' })],
  [
    'sampleNegatives',
    (inst) =>
      sampleNegatives(inst, {
        positives: rows,
        items: 120,
        popularity: new Float32Array(120).fill(2),
        samples: 16,
        excludePositives: true,
        seed: 1,
      }),
  ],
  ['samplingLogProbs', (inst) => samplingLogProbs(inst, { items: 120, popularity: new Float32Array(120).fill(1) })],
  ['correlationMatrix', (inst) => correlationMatrix(inst, { vectors, n: 50, d: 6 })],
  ['independenceScore', (inst) => independenceScore(inst, { vectors, n: 50, d: 6 })],
];

for (const [name, run] of RUNS) {
  test(`${name} run 10,000 times leaves WASM memory flat`, (t) => {
    const inst = new WasmInstance();
    for (let i = 0; i < 100; i++) run(inst);
    const before = inst.memoryBytes();
    for (let i = 0; i < 10_000; i++) run(inst);
    t.is(inst.memoryBytes(), before);
  });
}

test('a failing call frees its memory too (error path)', (t) => {
  const inst = new WasmInstance();
  const bad = () =>
    t.throws(() =>
      rankingMetrics(inst, {
        scores: new Float32Array(240).fill(Number.NaN),
        users: 2,
        items: 120,
        foldIn: csrFromRows([[], []], 120),
        target: csrFromRows([[1], [2]], 120),
        ks: [10],
      }),
    );
  for (let i = 0; i < 100; i++) bad();
  const before = inst.memoryBytes();
  for (let i = 0; i < 5_000; i++) bad();
  t.is(inst.memoryBytes(), before);
});
