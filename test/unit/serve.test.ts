/**
 * Serving without TensorFlow.js (ts/serve/): the engine's scores equal the training model's `score`
 * (tfjs) to 1e-4 for every model kind; top k by ids equals a TS ranking of those scores; pool = thread;
 * the model directory carries ids, titles and popularity; unknown ids, the popularity fallback, concept
 * weights, explanations, similar items and traversal by ids.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { csrFromRows } from '../../ts/csr.js';
import { InvalidArgumentError, UnknownItemError } from '../../ts/errors.js';
import { type ModelConfig, resolveModelConfig } from '../../ts/models/config.js';
import { instantiate } from '../../ts/models/inspect.js';
import { decodeUsers, encodeUsers, type MacridScoring, type MultScoring } from '../../ts/serve/engine.js';
import { scoringModel } from '../../ts/serve/scoring-model.js';
import { openRecommender } from '../../ts/serve/service.js';
import { selectBackend } from '../../ts/tf/backend.js';
import { CATALOG_FILE, readCatalog } from '../../ts/train/catalog.js';
import { loadModel } from '../../ts/train/checkpoint.js';
import { trainModel } from '../../ts/train/trainer.js';
import { threadInstance } from '../../ts/wasm/raw.js';
import { closeTestPool, testPool } from '../helpers/implementations.js';
import { topkOracle } from '../helpers/oracle.js';
import { syntheticSplit } from '../helpers/synthetic-split.js';

const base = syntheticSplit(31);
const data = {
  ...base,
  itemIds: Array.from({ length: base.items }, (_, i) => `m${100 + i}`),
  itemTitles: Array.from({ length: base.items }, (_, i) => (i % 10 === 3 ? '' : `Movie ${i}`)),
};
const histories = [[0, 5, 9], [1, 2, 3, 4, 40, 41], [79], [10, 20, 30, 50, 60, 70]];
const ids = (cols: number[]) => cols.map((c) => data.itemIds[c]);

const root = mkdtempSync(join(tmpdir(), 'macridvae-serve-'));
test.after.always(async () => {
  rmSync(root, { recursive: true, force: true });
  await closeTestPool();
});

const dirs = new Map<string, Promise<string>>();
function trained(kind: ModelConfig['kind']): Promise<string> {
  let p = dirs.get(kind);
  if (!p) {
    p = (async () => {
      await selectBackend('wasm');
      const out = join(root, kind);
      const model =
        kind === 'macridvae'
          ? resolveModelConfig(kind, { concepts: 3, d: 8 })
          : resolveModelConfig(kind, { hidden: [12], latent: 6 });
      const r = await trainModel({ model, train: { epochs: 2, batchSize: 40, seed: 3, lr: 3e-3 }, data, out });
      r.model.dispose();
      return out;
    })();
    dirs.set(kind, p);
  }
  return p;
}

for (const kind of ['macridvae', 'multvae', 'multdae'] as const) {
  test.serial(`${kind}: engine scores equal the training model's score to 1e-4`, async (t) => {
    const dir = await trained(kind);
    const stored = loadModel(dir);
    const x = csrFromRows(histories, data.items);
    const model = instantiate(stored);
    const want = await model.score(x);
    model.dispose();
    const m = scoringModel(stored) as MacridScoring | MultScoring;
    const inst = threadInstance();
    const got = decodeUsers(inst, m, histories.length, encodeUsers(inst, m, x));
    t.is(got.length, want.length);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    t.true(worst <= 1e-4, `max |Δ| = ${worst}`);
    // Top k by ids: the model's scores ranked in TS (ties to the lower column), history excluded.
    const rec = await openRecommender(dir);
    const k = 6;
    const recs = await rec.recommend(histories.map(ids), { k });
    const oracle = topkOracle({ scores: want, users: histories.length, items: data.items, exclude: x, k });
    histories.forEach((_, u) => {
      t.deepEqual(
        recs[u].items.map((it) => it.id),
        ids(Array.from(oracle.items.subarray(u * k, u * k + oracle.counts[u]))),
      );
      recs[u].items.forEach((it, j) => {
        t.true(Math.abs(it.score - oracle.scores[u * k + j]) <= 1e-4);
      });
    });
    // On the pool, in groups of one user: the same answers.
    const onPool = await openRecommender(dir, { pool: testPool(), minWork: 0, batchSize: 1 });
    t.deepEqual(await onPool.recommend(histories.map(ids), { k }), recs);
    const pooled = await openRecommender(dir, { pool: testPool(), minWork: 0 });
    t.deepEqual(await pooled.recommend(histories.map(ids), { k }), recs);
  });
}

test.serial('the model directory is self-contained: ids, titles, popularity', async (t) => {
  const dir = await trained('macridvae');
  const cat = readCatalog(dir, data.items);
  t.truthy(cat, `${CATALOG_FILE} written by train`);
  t.deepEqual(cat?.ids, data.itemIds);
  t.deepEqual(cat?.titles, data.itemTitles);
  const clicks = new Array<number>(data.items).fill(0);
  for (const i of data.train.indices) clicks[i]++;
  t.deepEqual(cat?.popularity, clicks);
  const rec = await openRecommender(dir);
  const [r] = await rec.recommend([['m100', 'm105']], { k: data.items });
  for (const it of r.items) {
    const c = Number(it.id.slice(1)) - 100;
    t.is(it.title, data.itemTitles[c] || undefined);
  }
});

test.serial('unknown ids: an error naming the id and the user, or skipped and reported', async (t) => {
  const rec = await openRecommender(await trained('macridvae'));
  const e = await t.throwsAsync(rec.recommend([['m100'], { user: 'alice', items: ['m101', 'nope'] }]), {
    instanceOf: UnknownItemError,
    message: /item 'nope' of user 'alice' is not an item of the model/,
  });
  t.is(e?.id, 'nope');
  t.is(e?.user, 'alice');
  await t.throwsAsync(rec.recommend([['x1']]), { message: /item 'x1' of user 0/ });
  const [a, b] = await rec.recommend([['m100', 'zz', 'm101'], ['zz']], { onUnknown: 'skip', k: 4 });
  t.deepEqual(a.unknown, ['zz']);
  t.is(a.fallback, undefined);
  t.deepEqual(await rec.recommend([['m100', 'm101']], { k: 4 }), [{ ...a, unknown: [] }]);
  // No known item: the most popular items, by training clicks.
  t.is(b.fallback, 'popularity');
  const cat = readCatalog(await trained('macridvae'), data.items);
  const pop = cat?.popularity ?? [];
  const order = pop
    .map((p, i) => [p, i] as const)
    .sort((x, y) => y[0] - x[0] || x[1] - y[1])
    .slice(0, 4);
  t.deepEqual(
    b.items.map((it) => it.id),
    order.map(([, i]) => data.itemIds[i]),
  );
  await t.throwsAsync(rec.recommend([['m100']], { k: 0 }), { instanceOf: InvalidArgumentError, message: /'k'/ });
});

test.serial('exclude, candidates, includeSeen', async (t) => {
  const rec = await openRecommender(await trained('macridvae'));
  const h = ['m100', 'm105'];
  const [all] = await rec.recommend([h], { k: data.items });
  t.is(all.items.length, data.items - 2);
  const [ex] = await rec.recommend([h], { k: 5, exclude: [all.items[0].id, 'unknown-is-ignored'] });
  t.deepEqual(
    ex.items.map((i) => i.id),
    all.items.slice(1, 6).map((i) => i.id),
  );
  const cands = [all.items[7].id, all.items[3].id, 'm100', 'nope'];
  const [cd] = await rec.recommend([h], { k: 5, candidates: cands });
  t.deepEqual(
    cd.items.map((i) => i.id),
    [all.items[3].id, all.items[7].id],
  );
  const [seen] = await rec.recommend([h], { k: data.items, includeSeen: true });
  t.is(seen.items.length, data.items);
});

test.serial('concept weights: all ones is the model; muting re-weights the decoder; explain', async (t) => {
  const rec = await openRecommender(await trained('macridvae'));
  const h = ids(histories[1]);
  const [plain] = await rec.recommend([h], { k: 8, explain: true });
  const [ones] = await rec.recommend([h], { k: 8, explain: true, conceptWeights: [1, 1, 1] });
  t.deepEqual(ones, plain);
  t.is(plain.concepts?.length, 3);
  t.true(Math.abs((plain.concepts ?? []).reduce((a, b) => a + b, 0) - 1) < 1e-5);
  for (const it of plain.items) {
    t.true(it.concept !== undefined && it.concept >= 0 && it.concept < 3);
    t.true(it.share !== undefined && it.share > 0 && it.share <= 1);
  }
  // Mute the concept that explains most items: none of the new items is explained by it.
  const counts = [0, 0, 0];
  for (const it of plain.items) counts[it.concept as number]++;
  const top = counts.indexOf(Math.max(...counts));
  const muted = await rec.control(h, { mute: [top], k: 8, explain: true });
  for (const it of muted.items) t.not(it.concept, top);
  t.notDeepEqual(
    muted.items.map((i) => i.id),
    plain.items.map((i) => i.id),
  );
  await t.throwsAsync(rec.recommend([h], { conceptWeights: [1, 1] }), { message: /'conceptWeights'.*3 entries/ });
  await t.throwsAsync(rec.recommend([h], { conceptWeights: [0, 0, 0] }), { message: /not be all 0/ });
  await t.throwsAsync(rec.recommend([h], { conceptWeights: [1, -1, 1] }), { message: /conceptWeights\[1\]/ });
  const e = await rec.explain([...h, 'nope'], { onUnknown: 'skip' });
  t.deepEqual(e.concepts, plain.concepts);
  t.deepEqual(e.unknown, ['nope']);
  t.deepEqual(
    e.items.map((i) => i.id),
    h,
  );
  const multvae = await openRecommender(await trained('multvae'));
  await t.throwsAsync(multvae.recommend([h], { explain: true }), { message: /needs a MacridVAE model/ });
});

test.serial('similar items: cosine of the item vectors, self excluded, per concept', async (t) => {
  const dir = await trained('macridvae');
  const rec = await openRecommender(dir);
  const m = rec.model;
  if (m.kind !== 'macridvae') throw new Error('unreachable');
  const { results, unknown } = await rec.similarItems(['m103', 'nope'], { k: 5, onUnknown: 'skip' });
  t.deepEqual(unknown, ['nope']);
  const q = 3;
  const cos = (i: number) => {
    let s = 0;
    for (let l = 0; l < m.d; l++) s += m.hn[q * m.d + l] * m.hn[i * m.d + l];
    return s;
  };
  const order = Array.from({ length: data.items }, (_, i) => i)
    .filter((i) => i !== q)
    .sort((a, b) => cos(b) - cos(a) || a - b);
  t.deepEqual(
    results[0].items.map((i) => i.id),
    ids(order.slice(0, 5)),
  );
  const dom = rec.dominantConcepts();
  const [byConcept] = (await rec.similarItems(['m103'], { k: 5, concept: 1 })).results;
  t.deepEqual(
    byConcept.items.map((i) => i.id),
    ids(order.filter((i) => dom[i] === 1).slice(0, 5)),
  );
  await t.throwsAsync(rec.similarItems(['nope']), { instanceOf: UnknownItemError, message: /'nope'/ });
});

test.serial('traverse by ids: from an item or a user concept component, values increasing', async (t) => {
  const rec = await openRecommender(await trained('macridvae'), { pool: testPool(), minWork: 0 });
  const fromItem = await rec.traverse({ item: 'm103' }, { dimension: 2, steps: 4, beam: 5 });
  t.true(fromItem.items.length > 0);
  for (let j = 1; j < fromItem.items.length; j++) t.true(fromItem.items[j].value > fromItem.items[j - 1].value);
  const fromUser = await rec.control(ids(histories[1]), { traverse: { concept: 1, dimension: 3, steps: 4 } });
  t.true(fromUser.items.length > 0);
  for (let j = 1; j < fromUser.items.length; j++) t.true(fromUser.items[j].value > fromUser.items[j - 1].value);
  await t.throwsAsync(rec.traverse({ item: 'm103' }, { dimension: 8 }), { message: /'dimension'/ });
});
