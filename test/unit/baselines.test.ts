/**
 * The reference models (EASE, popularity, ItemKNN) through the same paths as the VAEs: fitted and
 * chosen on validation, written as a model directory, read back (`loadModel` + `openModel`) with the
 * same scores; each model's scores by definition on a tiny fixture.
 */
import test from 'ava';
import { csrFromRows } from '../../ts/csr.js';
import { evaluate } from '../../ts/eval/evaluator.js';
import { EaseModel, ItemKnnModel, PopularityModel } from '../../ts/models/baselines.js';
import { openModel } from '../../ts/models/inspect.js';
import { loadModel } from '../../ts/train/checkpoint.js';
import { fitBaseline } from '../../ts/train/fit-baseline.js';
import { easeOracle, gramOracle, scoreOracle } from '../helpers/itemsim-oracle.js';
import { syntheticSplit } from '../helpers/synthetic-split.js';
import { tempDir } from '../helpers/tmp.js';

const data = syntheticSplit(11, 120, 60, 20);

test('popularity scores every row with the training counts', async (t) => {
  const r = await fitBaseline({ kind: 'pop', data });
  const counts = new Float32Array(60);
  for (const i of data.train.indices) counts[i]++;
  const s = await r.model.score(data.test.foldIn);
  t.deepEqual(Array.from(s.subarray(0, 60)), Array.from(counts));
  t.deepEqual(Array.from(s.subarray(60, 120)), Array.from(counts));
  t.true(r.model instanceof PopularityModel);
});

test('EASE: λ chosen as the best validation NDCG@100 of the grid; scores are x·B of the oracle', async (t) => {
  const lambdas = [1, 30, 1000];
  const r = await fitBaseline({ kind: 'ease', data, lambdas, precision: 'f64' });
  t.is(r.candidates.length, 3);
  const best = Math.max(...r.candidates.map((c) => c.validation['ndcg@100'].mean));
  t.is(r.validation['ndcg@100'].mean, best);
  t.true(r.model instanceof EaseModel);
  const lambda = (r.config as { lambda: number }).lambda;
  t.is(r.candidates.find((c) => c.validation['ndcg@100'].mean === best)?.config, r.config);
  const b = easeOracle(gramOracle(data.train), 60, lambda);
  const want = scoreOracle(data.test.foldIn, b, 60);
  const got = await r.model.score(data.test.foldIn);
  for (let i = 0; i < want.length; i++) t.true(Math.abs(want[i] - got[i]) < 1e-5, `score ${i}`);
});

test('ItemKNN: a user scores item c by the similarities of its items among c’s neighbours', async (t) => {
  // Items 0..3; neighbourhoods given directly: N(2) = {0: 0.5, 1: 0.25}, N(3) = {0: 1}.
  const neighbours = Float32Array.from([-1, -1, -1, -1, 0, 1, 0, -1]);
  const similarity = Float32Array.from([0, 0, 0, 0, 0.5, 0.25, 1, 0]);
  const m = new ItemKnnModel({ kind: 'itemknn', k: 2, shrink: 0 }, 4, neighbours, similarity);
  const s = await m.score(csrFromRows([[0, 1], [1], []], 4));
  t.deepEqual(Array.from(s), [0, 0, 0.75, 1, 0, 0, 0.25, 0, 0, 0, 0, 0]);
});

for (const kind of ['ease', 'pop', 'itemknn'] as const) {
  test(`${kind}: the model directory reads back with the same scores and metrics`, async (t) => {
    const out = tempDir(t, kind);
    const r = await fitBaseline({ kind, data, out, lambdas: [20, 200], ks: [5, 20], shrinks: [0, 10] });
    const stored = loadModel(out);
    t.is(stored.config.kind, kind);
    t.deepEqual(stored.config, r.config);
    t.is(stored.manifest.fit?.candidates.length, r.candidates.length);
    const m = openModel(stored);
    t.deepEqual(Array.from(await m.score(data.test.foldIn)), Array.from(await r.model.score(data.test.foldIn)));
    const v = await evaluate((f) => m.score(f), data.validation);
    t.is(v.metrics['ndcg@100'].mean, r.validation['ndcg@100'].mean);
  });
}
