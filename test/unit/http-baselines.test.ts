/**
 * The HTTP service over the reference models (EASE, ItemKNN, popularity; issue 18): `POST /recommend`
 * (single and micro-batched) and `POST /similar` answer what the library answers; what needs concepts
 * answers 400 `MV_NOT_MACRID`, `/similar` of popularity 400 `MV_MODEL_KIND` naming the kind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { buildServer } from '../../ts/serve/http.js';
import { openRecommender } from '../../ts/serve/service.js';
import { fitBaseline } from '../../ts/train/fit-baseline.js';
import { closeTestPool, testPool } from '../helpers/implementations.js';
import { syntheticSplit } from '../helpers/synthetic-split.js';

const base = syntheticSplit(41, 140, 60, 20);
const data = { ...base, itemIds: Array.from({ length: base.items }, (_, i) => String(2000 + i)) };
const root = mkdtempSync(join(tmpdir(), 'macridvae-http-baselines-'));

test.after.always(async () => {
  rmSync(root, { recursive: true, force: true });
  await closeTestPool();
});

async function serve(kind: 'ease' | 'itemknn' | 'pop') {
  const out = join(root, kind);
  await fitBaseline({ kind, data, out, lambdas: [40], ks: [6], shrinks: [1] });
  const rec = await openRecommender(out, { pool: testPool(), minWork: 0 });
  const app = await buildServer({ service: rec, limits: { maxK: 30 } });
  const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object });
  return { rec, app, post };
}

for (const kind of ['ease', 'itemknn', 'pop'] as const) {
  test.serial(`${kind}: POST /recommend and /similar answer what the library answers`, async (t) => {
    const { rec, app, post } = await serve(kind);
    try {
      const health = (await app.inject({ method: 'GET', url: '/health' })).json();
      t.is(health.model.kind, kind);
      t.is(health.model.concepts, 0);

      const history = ['2000', '2007', '2013', 'nope'];
      const res = await post('/recommend', { history, k: 6, exclude: ['2001'] });
      t.is(res.statusCode, 200, res.body);
      const [want] = await rec.recommend([history], { k: 6, exclude: ['2001'], onUnknown: 'skip' });
      t.deepEqual(res.json(), JSON.parse(JSON.stringify(want)));
      t.is(want.items.length, 6);
      t.deepEqual(want.unknown, ['nope']);

      // Concurrent requests are micro-batched into one kernel call per group, answers unchanged.
      const users = Array.from({ length: 12 }, (_, u) => [String(2000 + u), String(2020 + ((u * 7) % 40))]);
      const before = app.batcher.stats.batches;
      const answers = await Promise.all(users.map((h, u) => post('/recommend', { history: h, k: 1 + (u % 5) })));
      t.true(app.batcher.stats.batches - before < users.length, 'requests were batched');
      for (const [u, a] of answers.entries()) {
        const [w] = await rec.recommend([users[u]], { k: 1 + (u % 5) });
        t.deepEqual(a.json(), JSON.parse(JSON.stringify(w)));
      }

      const sim = await post('/similar', { ids: ['2003', 'zzz'], k: 4 });
      if (kind === 'pop') {
        t.is(sim.statusCode, 400);
        t.is(sim.json().code, 'MV_MODEL_KIND');
        t.is(sim.json().kind, 'pop');
        t.regex(sim.json().message, /'pop' model/);
      } else {
        t.is(sim.statusCode, 200, sim.body);
        const lib = await rec.similarItems(['2003', 'zzz'], { k: 4, onUnknown: 'skip' });
        t.deepEqual(sim.json(), JSON.parse(JSON.stringify(lib)));
        t.true(sim.json().results[0].items.length > 0);
      }

      for (const [url, body] of [
        ['/explain', { history }],
        ['/traverse', { history, concept: 0, dimension: 0 }],
        ['/recommend', { history, explain: true }],
        ['/recommend', { history, conceptWeights: [1] }],
      ] as const) {
        const r = await post(url, body);
        t.is(r.statusCode, 400, `${url} ${JSON.stringify(body)}`);
        t.is(r.json().code, 'MV_NOT_MACRID');
        t.regex(r.json().message, new RegExp(`'${kind}'`));
      }
      // Still serving.
      t.is((await post('/recommend', { history: ['2002'] })).statusCode, 200);
    } finally {
      await app.close();
    }
  });
}
