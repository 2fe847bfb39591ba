/**
 * Arrays resident in a WASM instance across calls (`WasmInstance.residents`, ts/wasm/raw.ts): a key is
 * filled once and reused, the least recently used model is evicted past MAX_RESIDENT_GROUPS, a trap
 * forgets everything; and the serving kernels give the same answers with their item arrays resident as
 * copied per call — including a re-weighted `c`, which must never be read from a stale resident copy.
 */
import test from 'ava';
import { csrFromRows } from '../../ts/csr.js';
import { resolveModelConfig } from '../../ts/models/config.js';
import { createModel } from '../../ts/models/index.js';
import { kernels } from '../../ts/runtime/kernels.js';
import type { MacridScoring } from '../../ts/serve/engine.js';
import { scoringModel } from '../../ts/serve/scoring-model.js';
import { ServingRecommender } from '../../ts/serve/service.js';
import { selectBackend } from '../../ts/tf/backend.js';
import { columnIds } from '../../ts/train/catalog.js';
import { Rng } from '../../ts/util/rng.js';
import { debugTrap } from '../../ts/wasm/ranking.js';
import { MAX_RESIDENT_GROUPS, WasmInstance } from '../../ts/wasm/raw.js';
import { mixTopK } from '../../ts/wasm/serve.js';
import { closeTestPool, testPool } from '../helpers/implementations.js';

// TensorFlow.js only builds the models' initial weights here; one backend for the file.
test.before(() => selectBackend('wasm'));
test.after.always(closeTestPool);

test('a resident key is filled once, evicted least recently used first, and forgotten after a trap', (t) => {
  const inst = new WasmInstance();
  const cache = inst.residents;
  let fills = 0;
  const get = (key: string) =>
    inst.call('t', (ar) =>
      ar.putWith(
        64,
        (p) => {
          fills++;
          new Float32Array(inst.exports.memory.buffer, p, 16).fill(fills);
        },
        key,
      ),
    );
  const p = get('m0/a');
  t.is(get('m0/a'), p);
  t.is(fills, 1);
  t.is(new Float32Array(inst.exports.memory.buffer, p, 16)[3], 1, 'the arena did not free a resident array');
  t.is(cache.bytes(), 64);
  // Touch m0 last, then fill past the limit: m1 (least recently used) goes, m0 stays.
  for (let g = 1; g < MAX_RESIDENT_GROUPS; g++) get(`m${g}/a`);
  get('m0/a');
  t.is(fills, MAX_RESIDENT_GROUPS);
  get('mNew/a');
  t.is(cache.bytes(), 64 * MAX_RESIDENT_GROUPS);
  get('m0/a');
  t.is(fills, MAX_RESIDENT_GROUPS + 1, 'm0 was kept');
  get('m1/a');
  t.is(fills, MAX_RESIDENT_GROUPS + 2, 'm1 was evicted and filled again');
  // The same key with another size is a bug in the caller, not a silent reuse.
  t.throws(() => inst.call('t', (ar) => ar.putWith(128, () => undefined, 'm1/a')), { message: /64 bytes but 128/ });
  cache.release('m1');
  t.is(cache.bytes(), 64 * (MAX_RESIDENT_GROUPS - 1));
  t.throws(() => debugTrap(inst));
  t.is(cache.bytes(), 0, 'a rebuilt instance has no resident arrays');
  get('m0/a');
  t.is(fills, MAX_RESIDENT_GROUPS + 3);
  // Without a key, an array is the call's own: filled every time.
  inst.call('t', (ar) => ar.putWith(64, () => fills++));
  inst.call('t', (ar) => ar.putWith(64, () => fills++));
  t.is(fills, MAX_RESIDENT_GROUPS + 5);
});

test('mixTopK with resident item arrays equals the copied ones, and a changed c under no key is used', (t) => {
  const rng = new Rng(11);
  const [users, K, d, items] = [9, 3, 5, 300];
  const rand = (n: number) => Float32Array.from({ length: n }, () => rng.next() - 0.5);
  const h = rand(items * d);
  const c = Float32Array.from({ length: items * K }, () => rng.next());
  const z = rand(users * K * d);
  const exclude = csrFromRows(
    Array.from({ length: users }, (_, u) => [u]),
    items,
  );
  const args = { users, concepts: K, d, items, z, h, c, scale: 2, exclude, k: 7 };
  const inst = new WasmInstance();
  const plain = mixTopK(inst, args);
  const keys = { h: 'model/h', c: 'model/c' };
  t.deepEqual(mixTopK(inst, { ...args, keys }), plain);
  t.deepEqual(mixTopK(inst, { ...args, keys }), plain, 'second call, from the resident copies');
  // Concept weights change c: passed without its key, the new c is read, not the resident one.
  const c2 = c.map((v, j) => (j % K === 1 ? 0 : v));
  const muted = mixTopK(inst, { ...args, c: c2, keys: { h: keys.h } });
  t.deepEqual(muted, mixTopK(new WasmInstance(), { ...args, c: c2 }));
  t.notDeepEqual(muted.items, plain.items);
});

test('a served MacridVAE answers the same with resident arrays (pool and thread), muted concepts included', async (t) => {
  const items = 400;
  const model = createModel(resolveModelConfig('macridvae', { concepts: 4, d: 8 }), items, { seed: 3 });
  const m = scoringModel({ config: model.config, items, weights: model.getWeights() }) as MacridScoring;
  model.dispose();
  t.is(typeof m.key, 'string');
  const { key: _, ...unkeyed } = m;
  const catalog = { ids: columnIds(items), popularity: new Array(items).fill(1) };
  const rng = new Rng(5);
  const histories = Array.from({ length: 40 }, () => Array.from({ length: 6 }, () => String(rng.int(items))));
  const want = await new ServingRecommender(unkeyed, catalog).recommend(histories, { k: 10 });
  const wantMuted = await new ServingRecommender(unkeyed, catalog).recommend(histories, {
    k: 10,
    conceptWeights: [1, 0, 1, 1],
  });
  for (const [name, options] of [
    ['thread', {}],
    ['pool', { pool: testPool(), minWork: 1, batchSize: 8 }],
  ] as const) {
    const rec = new ServingRecommender(m, catalog, options);
    for (let r = 0; r < 2; r++) {
      t.deepEqual(await rec.recommend(histories, { k: 10 }), want, `${name} round ${r}`);
      t.deepEqual(await rec.recommend(histories, { k: 10, conceptWeights: [1, 0, 1, 1] }), wantMuted, name);
    }
  }
  t.notDeepEqual(wantMuted, want);
});

test('the kernel table runs keyed serving on the pool like on this thread', async (t) => {
  const rng = new Rng(2);
  const [items, users] = [50, 6];
  const w = Float32Array.from({ length: items * items }, () => rng.next());
  const x = csrFromRows(
    Array.from({ length: users }, (_, u) => [u, u + 7]),
    items,
  );
  const args = { x, weights: { kind: 'dense' as const, w }, exclude: x, k: 5, key: 'ease-test' };
  const plain = kernels.itemTopK({ ...args, key: undefined });
  t.deepEqual(kernels.itemTopK(args), plain);
  t.deepEqual(kernels.itemTopK(args), plain);
  t.deepEqual(await testPool().run('itemTopK', args), plain);
  t.deepEqual(await testPool().run('itemTopK', args), plain);
});

test('recommend with groups in flight on the pool: a failing group rejects the call, nothing is left unhandled', async (t) => {
  const items = 300;
  const model = createModel(resolveModelConfig('macridvae', { concepts: 3, d: 8 }), items, { seed: 4 });
  const m = scoringModel({ config: model.config, items, weights: model.getWeights() }) as MacridScoring;
  model.dispose();
  // NaN item vectors: every group's scores are NaN, so every group in flight fails.
  m.hn.fill(Number.NaN);
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    const rec = new ServingRecommender(
      m,
      { ids: columnIds(items), popularity: new Array(items).fill(1) },
      { pool: testPool(), minWork: 1, batchSize: 2 },
    );
    const histories = Array.from({ length: 9 }, (_, u) => [String(u), String(u + 10)]);
    await t.throwsAsync(rec.recommend(histories, { k: 5 }), { message: /NaN/ });
    // Let the groups still in flight settle.
    await new Promise((r) => setTimeout(r, 300));
    t.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('a served β-MultVAE answers the same with its first layer and output layer resident (pool and thread)', async (t) => {
  const items = 350;
  const model = createModel(resolveModelConfig('multvae', { hidden: [20], latent: 8 }), items, { seed: 6 });
  const m = scoringModel({ config: model.config, items, weights: model.getWeights() });
  model.dispose();
  const { key: _, ...unkeyed } = m;
  const catalog = { ids: columnIds(items), popularity: new Array(items).fill(1) };
  const rng = new Rng(8);
  const histories = Array.from({ length: 30 }, () => Array.from({ length: 5 }, () => String(rng.int(items))));
  const want = await new ServingRecommender(unkeyed, catalog).recommend(histories, { k: 7 });
  for (const options of [{}, { pool: testPool(), minWork: 1, batchSize: 4 }]) {
    const rec = new ServingRecommender(m, catalog, options);
    t.deepEqual(await rec.recommend(histories, { k: 7 }), want);
    t.deepEqual(await rec.recommend(histories, { k: 7 }), want);
  }
});
