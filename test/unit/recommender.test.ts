/**
 * Serving: `Recommender` returns, per user, the top k of the model's own scores without the user's
 * history (checked against a TS ranking of `model.score`), the same in any batch size and on the pool,
 * and explanations that match a TS recomputation of the decoder's per-concept terms.
 */
import test from 'ava';
import { csrFromRows } from '../../ts/csr.js';
import { InvalidArgumentError } from '../../ts/errors.js';
import { type MacridVaeConfig, resolveModelConfig } from '../../ts/models/config.js';
import { conceptAssignment, instantiate, userConcepts } from '../../ts/models/inspect.js';
import { Recommender } from '../../ts/serve/recommender.js';
import { selectBackend } from '../../ts/tf/backend.js';
import { loadModel } from '../../ts/train/checkpoint.js';
import { trainModel } from '../../ts/train/trainer.js';
import { closeTestPool, testPool } from '../helpers/implementations.js';
import { syntheticSplit } from '../helpers/synthetic-split.js';
import { tempDir } from '../helpers/tmp.js';

test.after.always(closeTestPool);

const data = syntheticSplit(21);
const config = resolveModelConfig('macridvae', { concepts: 3, d: 8 }) as MacridVaeConfig;
const histories = [[0, 5, 9], [], [1, 2, 3, 4, 40, 41], [79], [10, 20, 30, 50, 60, 70]];

async function trained(t: Parameters<typeof tempDir>[0]) {
  await selectBackend('wasm');
  const out = tempDir(t, 'recommender');
  const r = await trainModel({ model: config, train: { epochs: 3, batchSize: 40, seed: 2, lr: 3e-3 }, data, out });
  return { dir: out, model: r.model };
}

test.serial('top k of the model scores, history excluded, any batch size, pool or not', async (t) => {
  const { dir, model: inMemory } = await trained(t);
  const rec = await Recommender.open(dir, { backend: 'wasm' });
  const k = 7;
  const got = await rec.recommend(histories, { k });
  // The trained model in memory (best epoch's weights) recommends the same as its directory.
  const fromMemory = new Recommender(inMemory);
  t.deepEqual(await fromMemory.recommend(histories, { k }), got);
  fromMemory.dispose();
  // Oracle: the model's scores ranked in TS (ties to the lower column), history skipped.
  const model = instantiate(loadModel(dir));
  const scores = await model.score(csrFromRows(histories, data.items));
  model.dispose();
  histories.forEach((h, u) => {
    const row = Array.from(scores.subarray(u * data.items, (u + 1) * data.items));
    const order = row
      .map((s, i) => [s, i] as const)
      .filter(([, i]) => !h.includes(i))
      .sort((a, b) => b[0] - a[0] || a[1] - b[1])
      .slice(0, k);
    t.deepEqual(
      got[u].items,
      order.map(([, i]) => i),
    );
    t.deepEqual(
      got[u].scores,
      order.map(([s]) => s),
    );
  });
  t.deepEqual(await rec.recommend(histories, { k, batchSize: 2 }), got);
  const onPool = new Recommender(loadModel(dir), { pool: testPool(), threads: 2 });
  t.deepEqual(await onPool.recommend(csrFromRows(histories, data.items), { k }), got);
  onPool.dispose();
  // includeSeen: the history may come back; duplicates in a history count once.
  const seen = await rec.recommend([[0, 0, 5]], { k: data.items, includeSeen: true });
  t.is(seen[0].items.length, data.items);
  const rest = await rec.recommend([[0, 5]], { k: data.items });
  t.is(rest[0].items.length, data.items - 2);
  await t.throwsAsync(rec.recommend([[data.items]]), {
    instanceOf: InvalidArgumentError,
    message:
      /'histories\[0\]\[0\]' passed to Recommender\.recommend\(\) must be an item column in \[0, 80\) but got 80/,
  });
  await t.throwsAsync(rec.recommend(histories, { k: 0 }), { message: /'k'/ });
  rec.dispose();
});

test.serial("explain: each item's concept is the decoder's largest term; users' shares are their mean c", async (t) => {
  const { dir, model: inMemory } = await trained(t);
  inMemory.dispose();
  const loaded = loadModel(dir);
  const rec = new Recommender(loaded);
  const got = await rec.recommend(histories, { k: 5, explain: true });
  const c = conceptAssignment(loaded).data;
  const x = csrFromRows(histories, data.items);
  const z = userConcepts(loaded, x).data;
  const h = loaded.weights.items.data;
  const { concepts: K, d, tau } = config;
  histories.forEach((hist, u) => {
    got[u].items.forEach((i, j) => {
      const hn = Math.hypot(...h.subarray(i * d, (i + 1) * d));
      const terms = Array.from({ length: K }, (_, k) => {
        let s = 0;
        for (let q = 0; q < d; q++) s += z[(u * K + k) * d + q] * h[i * d + q];
        return c[i * K + k] * Math.exp(s / hn / tau);
      });
      const total = terms.reduce((a, b) => a + b, 0);
      const best = terms.indexOf(Math.max(...terms));
      t.is(got[u].concepts?.[j], best);
      t.true(Math.abs((got[u].shares?.[j] ?? 0) - terms[best] / total) < 1e-4);
    });
    const shares = got[u].userConcepts as number[];
    t.is(shares.length, K);
    if (hist.length === 0) t.deepEqual(shares, [0, 0, 0]);
    else t.true(Math.abs(shares.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    for (let k = 0; k < K; k++) {
      const mean = hist.reduce((s, i) => s + c[i * K + k], 0) / Math.max(hist.length, 1);
      t.true(Math.abs(shares[k] - mean) < 1e-5);
    }
  });
  rec.dispose();
  // A baseline recommends too, but has no concepts to explain with.
  const vaeDir = tempDir(t, 'recommender');
  const vae = await trainModel({
    model: resolveModelConfig('multvae', { latent: 4, hidden: [8] }),
    train: { epochs: 1 },
    data,
    out: vaeDir,
  });
  vae.model.dispose();
  const baseline = await Recommender.open(vaeDir, { backend: 'wasm' });
  t.is((await baseline.recommend(histories, { k: 3 }))[2].items.length, 3);
  await t.throwsAsync(baseline.recommend(histories, { explain: true }), {
    instanceOf: InvalidArgumentError,
    message: /'explain' passed to Recommender\.recommend\(\) needs a MacridVAE model, not 'multvae'/,
  });
  baseline.dispose();
});
