/**
 * The HTTP service (ts/serve/http.ts, docs/http-api.md) through fastify's `inject` and one real socket:
 * answers equal the library's, concurrent requests are micro-batched with unchanged answers, and a
 * malformed-input suite where every request gets the right 4xx and the server keeps serving.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { FastifyInstance } from 'fastify';
import { resolveModelConfig } from '../../ts/models/config.js';
import { buildServer } from '../../ts/serve/http.js';
import { openRecommender, type ServingRecommender } from '../../ts/serve/service.js';
import { selectBackend } from '../../ts/tf/backend.js';
import { trainModel } from '../../ts/train/trainer.js';
import { closeTestPool, testPool } from '../helpers/implementations.js';
import { syntheticSplit } from '../helpers/synthetic-split.js';

const base = syntheticSplit(32);
const data = {
  ...base,
  itemIds: Array.from({ length: base.items }, (_, i) => String(1000 + i)),
  itemTitles: Array.from({ length: base.items }, (_, i) => `Film ${i}`),
};
const root = mkdtempSync(join(tmpdir(), 'macridvae-http-'));
let rec: ServingRecommender;
let app: FastifyInstance;

test.before(async () => {
  await selectBackend('wasm');
  const out = join(root, 'model');
  const r = await trainModel({
    model: resolveModelConfig('macridvae', { concepts: 3, d: 8 }),
    train: { epochs: 2, batchSize: 40, seed: 4, lr: 3e-3 },
    data,
    out,
  });
  r.model.dispose();
  rec = await openRecommender(out, { pool: testPool(), minWork: 0 });
  app = await buildServer({ service: rec, limits: { maxK: 50 } });
});

test.after.always(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
  await closeTestPool();
});

const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object });

test.serial('POST /recommend answers what the library answers; explain; unknown ids skipped', async (t) => {
  const history = ['1000', '1004', '1013', 'nope'];
  const res = await post('/recommend', { history, k: 5, explain: true });
  t.is(res.statusCode, 200);
  const body = res.json();
  const [want] = await rec.recommend([history], { k: 5, explain: true, onUnknown: 'skip' });
  t.deepEqual(body, JSON.parse(JSON.stringify(want)));
  t.deepEqual(body.unknown, ['nope']);
  t.is(body.items[0].title.startsWith('Film '), true);
  const strict = await post('/recommend', { history, onUnknown: 'error' });
  t.is(strict.statusCode, 400);
  t.is(strict.json().code, 'MV_UNKNOWN_ITEM');
  t.regex(strict.json().message, /'nope'/);
  const empty = await post('/recommend', { history: [] });
  t.is(empty.json().fallback, 'popularity');
  t.is(empty.json().items.length, 10);
  const weighted = await post('/recommend', { history, conceptWeights: [1, 0, 1], k: 3 });
  t.is(weighted.statusCode, 200);
  const [w] = await rec.recommend([history], { k: 3, conceptWeights: [1, 0, 1], onUnknown: 'skip' });
  t.deepEqual(weighted.json(), JSON.parse(JSON.stringify(w)));
});

test.serial('concurrent requests are micro-batched, each with its own answer', async (t) => {
  const users = Array.from({ length: 24 }, (_, u) =>
    Array.from({ length: 3 + (u % 5) }, (_, j) => String(1000 + ((u * 7 + j * 11) % base.items))),
  );
  const want = await rec.recommend(users, { k: 4 });
  const before = { ...app.batcher.stats };
  const answers = await Promise.all(
    users.map((history, u) => post('/recommend', { history, k: 4 + (u % 3), explain: u % 2 === 0 })),
  );
  const batches = app.batcher.stats.batches - before.batches;
  t.true(batches < users.length, `${batches} batches for ${users.length} requests`);
  answers.forEach((res, u) => {
    t.is(res.statusCode, 200);
    const got = res.json();
    t.deepEqual(
      got.items.slice(0, 4).map((i: { id: string }) => i.id),
      want[u].items.map((i) => i.id),
    );
    t.is(got.items.length, 4 + (u % 3));
    t.is(got.concepts !== undefined, u % 2 === 0);
  });
});

test.serial('POST /similar, /explain, /traverse; GET /items, /concepts, /health', async (t) => {
  const sim = await post('/similar', { ids: ['1003', 'x'], k: 3 });
  t.is(sim.statusCode, 200);
  t.deepEqual(
    sim.json(),
    JSON.parse(JSON.stringify(await rec.similarItems(['1003', 'x'], { k: 3, onUnknown: 'skip' }))),
  );
  const ex = await post('/explain', { history: ['1000', '1001'] });
  t.is(ex.json().concepts.length, 3);
  const tr = await post('/traverse', { history: ['1000', '1001', '1002'], concept: 1, dimension: 2, steps: 4 });
  t.is(tr.statusCode, 200);
  const values = tr.json().items.map((i: { value: number }) => i.value);
  for (let j = 1; j < values.length; j++) t.true(values[j] > values[j - 1]);
  const fromItem = await post('/traverse', { item: '1003', dimension: 2, steps: 3 });
  t.is(fromItem.statusCode, 200);
  const both = await post('/traverse', { item: '1003', history: ['1000'], concept: 0, dimension: 2 });
  t.is(both.statusCode, 400);
  const items = await app.inject({ method: 'GET', url: '/items?q=film 1&limit=5' });
  t.is(items.statusCode, 200);
  t.true(items.json().items.every((i: { title: string }) => i.title.includes('Film 1')));
  const concepts = await app.inject({ method: 'GET', url: '/concepts?k=2' });
  t.is(concepts.json().concepts.length, 3);
  const health = await app.inject({ method: 'GET', url: '/health' });
  t.like(health.json(), { status: 'ok', model: { kind: 'macridvae', items: base.items, concepts: 3, titles: true } });
});

/** [name, request, status, message pattern] */
const MALFORMED: Array<
  [string, { url?: string; method?: 'GET' | 'POST'; body: string; type?: string }, number, RegExp]
> = [
  ['truncated JSON', { body: '{"history": ["1000"' }, 400, /JSON|Unexpected end/],
  ['not an object', { body: '[1, 2]' }, 400, /body must be object/],
  ['history not an array', { body: '{"history": "1000"}' }, 400, /body\/history must be array/],
  ['an id not a string', { body: '{"history": [1000]}' }, 400, /body\/history\/0 must be string/],
  ['k as a string', { body: '{"history": [], "k": "10"}' }, 400, /body\/k must be integer/],
  ['k NaN', { body: '{"history": [], "k": NaN}' }, 400, /JSON|Unexpected token/],
  ['k negative', { body: '{"history": [], "k": -3}' }, 400, /body\/k must be >= 1/],
  ['k huge', { body: '{"history": [], "k": 1e12}' }, 400, /body\/k must be <= 50/],
  ['k fractional', { body: '{"history": [], "k": 2.5}' }, 400, /body\/k must be integer/],
  ['history missing', { body: '{"k": 3}' }, 400, /must have required property 'history'/],
  ['unknown field', { body: '{"history": [], "kk": 3}' }, 400, /must NOT have additional properties/],
  [
    'conceptWeights wrong length',
    { body: '{"history": ["1000"], "conceptWeights": [1]}' },
    400,
    /conceptWeights must have 3/,
  ],
  [
    'conceptWeights negative',
    { body: '{"history": ["1000"], "conceptWeights": [1, -1, 1]}' },
    400,
    /conceptWeights\/1 must be >= 0/,
  ],
  [
    'onUnknown invalid',
    { body: '{"history": [], "onUnknown": "ignore"}' },
    400,
    /body\/onUnknown must be equal to one of/,
  ],
  [
    '100k-item history',
    { body: JSON.stringify({ history: Array.from({ length: 100_000 }, (_, i) => String(i)) }) },
    400,
    /body\/history must NOT have more than 10000 items/,
  ],
  ['unknown ids with onUnknown error', { body: '{"history": ["zzz"], "onUnknown": "error"}' }, 400, /item 'zzz'/],
  ['wrong content-type', { body: 'history=1000', type: 'text/plain' }, 415, /Unsupported Media Type/],
  [
    'form content-type',
    { body: 'history=1000', type: 'application/x-www-form-urlencoded' },
    415,
    /Unsupported Media Type/,
  ],
  ['oversize body', { body: JSON.stringify({ history: ['1000'], pad: 'x'.repeat(2 << 20) }) }, 413, /too large/],
  ['empty body', { body: '' }, 400, /empty|Body/i],
  ['unknown route', { url: '/recommendations', body: '{}' }, 404, /not found/],
  ['wrong method', { url: '/recommend', method: 'GET', body: '' }, 404, /not found/],
  ['similar without ids', { url: '/similar', body: '{"ids": []}' }, 400, /body\/ids must NOT have fewer than 1/],
  [
    'traverse dimension too large',
    { url: '/traverse', body: '{"item": "1000", "dimension": 99}' },
    400,
    /body\/dimension must be <= 7/,
  ],
  ['items limit not a number', { url: '/items?limit=abc', method: 'GET', body: '' }, 400, /querystring\/limit/],
];

for (const [name, req, status, message] of MALFORMED) {
  test(`malformed: ${name} → ${status}, and the server keeps serving`, async (t) => {
    const method = req.method ?? 'POST';
    const res = await app.inject({
      method,
      url: req.url ?? '/recommend',
      ...(method === 'POST' ? { payload: req.body, headers: { 'content-type': req.type ?? 'application/json' } } : {}),
    });
    t.is(res.statusCode, status, res.body.slice(0, 300));
    t.regex(res.json().message, message);
    const ok = await post('/recommend', { history: ['1000'], k: 2 });
    t.is(ok.statusCode, 200);
  });
}

test.serial('a real socket: listens on 127.0.0.1 and answers over HTTP', async (t) => {
  const server = await buildServer({ service: rec });
  const url = await server.listen({ port: 0 });
  t.regex(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  try {
    const res = await fetch(`${url}/recommend`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ history: ['1000', '1001'], k: 3 }),
    });
    t.is(res.status, 200);
    t.is(((await res.json()) as { items: unknown[] }).items.length, 3);
    const big = await fetch(`${url}/recommend`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ history: [], pad: 'y'.repeat(3 << 20) }),
    });
    t.is(big.status, 413);
    const after = await fetch(`${url}/health`);
    t.is(after.status, 200);
  } finally {
    await server.close();
  }
});
