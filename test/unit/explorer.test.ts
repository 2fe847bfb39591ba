/**
 * The explorer plugin's own routes (the page's files, concept labels, the 2-D map) on a bare fastify
 * instance, over a planted concept space: item i belongs to concept i % K, carries the category `G<k>`
 * and `Drama` (every item), and has `M − i` training clicks.
 */
import test from 'ava';
import Fastify from 'fastify';
import { PALETTE } from '../../ts/analysis/palette.js';
import { conceptLabels, conceptState, type ExplorerCatalog } from '../../ts/serve/explorer/concepts.js';
import { explorerMap, mapItems } from '../../ts/serve/explorer/map.js';
import { type ExplorerSource, explorerPlugin } from '../../ts/serve/explorer/plugin.js';
import { plantedSpace } from '../helpers/concepts.js';

const M = 240;
const K = 4;
const D = 8;
const space = plantedSpace(7, M, D, K, 0.25);
const catalog: ExplorerCatalog = {
  ids: Array.from({ length: M }, (_, i) => String(1000 + i)),
  titles: Array.from({ length: M }, (_, i) => `Item ${i}`),
  categories: Array.from({ length: M }, (_, i) => [`G${i % K}`, 'Drama']),
  popularity: Array.from({ length: M }, (_, i) => M - i),
};
const model = { ...space, kind: 'macridvae', tau: 0.1, cosine: true };
const source: ExplorerSource = { model, catalog };
const MAP = { maxItems: 80, iterations: 500, seed: 3 };

async function app(src: ExplorerSource = source) {
  const a = Fastify();
  await a.register(explorerPlugin, { source: src, map: MAP });
  await a.ready();
  return a;
}

test('the planted items fall into their concepts (the fixture the other tests rely on)', (t) => {
  const s = conceptState(model);
  for (let i = 0; i < M; i++) t.is(s.concept[i], i % K, `item ${i}`);
});

test('GET / is the page; its files are served with their types; nothing else is', async (t) => {
  const a = await app();
  t.teardown(() => a.close());
  const page = await a.inject({ url: '/' });
  t.is(page.statusCode, 200);
  t.regex(page.headers['content-type'] as string, /^text\/html/);
  t.regex(page.body, /<script type="module" src="\/explorer\/app\.js">/);
  for (const [file, type] of [
    ['app.js', /^text\/javascript/],
    ['map.js', /^text\/javascript/],
    ['style.css', /^text\/css/],
  ] as const) {
    const r = await a.inject({ url: `/explorer/${file}` });
    t.is(r.statusCode, 200, file);
    t.regex(r.headers['content-type'] as string, type);
  }
  for (const url of ['/explorer/../package.json', '/explorer/%2e%2e%2fpackage.json', '/explorer/nope.js']) {
    t.is((await a.inject({ url })).statusCode, 404, url);
  }
});

test('GET /explorer/concepts: sizes, typical items by c_ik·ln(1+clicks), dominant and distinctive category', async (t) => {
  const a = await app();
  t.teardown(() => a.close());
  const r = await a.inject({ url: '/explorer/concepts?top=3' });
  t.is(r.statusCode, 200, r.body);
  const { concepts } = r.json() as { concepts: ReturnType<typeof conceptLabels> };
  t.is(concepts.length, K);
  const s = conceptState(model);
  concepts.forEach((l, k) => {
    t.is(l.concept, k);
    t.is(l.colour, PALETTE[k]);
    t.is(l.size, M / K);
    // clicks of items k, k+K, …: Σ (M − i)
    let clicks = 0;
    for (let i = k; i < M; i += K) clicks += M - i;
    t.true(Math.abs(l.clicks - clicks / ((M * (M + 1)) / 2)) < 1e-12);
    const expected = Array.from({ length: M / K }, (_, j) => k + j * K)
      .sort((x, y) => s.confidence[y] * Math.log1p(M - y) - s.confidence[x] * Math.log1p(M - x) || x - y)
      .slice(0, 3);
    t.deepEqual(
      l.items.map((x) => x.id),
      expected.map((i) => String(1000 + i)),
    );
    t.is(l.items[0].title, `Item ${expected[0]}`);
    t.is(l.items[0].popularity, M - expected[0]);
    // Every item is Drama (share 1, lift 1); G<k> is a quarter of the catalogue and all of the concept.
    t.deepEqual(l.category, { name: 'Drama', share: 1, lift: 1 });
    t.deepEqual(l.distinctive, { name: `G${k}`, share: 1, lift: K });
  });
  t.is((await a.inject({ url: '/explorer/concepts?top=0' })).statusCode, 400);
});

test('conceptLabels without categories has no category; a catalogue of the wrong size is refused', (t) => {
  const s = conceptState(model);
  const plain = conceptLabels(s, { ids: catalog.ids, popularity: catalog.popularity });
  t.is(plain[0].category, undefined);
  t.is(plain[0].items.length, 5);
  t.throws(() => conceptLabels(s, { ids: ['1'], popularity: [1] }), { message: /must describe the model's 240 items/ });
});

test('the map embeds the most popular items of each concept and places the rest beside their neighbours', async (t) => {
  const s = conceptState(model);
  const chosen = mapItems(s, catalog.popularity, MAP.maxItems);
  // 20 per concept (a quarter of 80), the most clicked: the lowest columns of each concept.
  t.deepEqual(
    chosen,
    Array.from({ length: 80 }, (_, i) => i),
  );
  const a = await app();
  t.teardown(() => a.close());
  const r = await a.inject({ url: '/explorer/map' });
  t.is(r.statusCode, 200, r.body);
  const m = r.json() as Awaited<ReturnType<typeof explorerMap>>;
  t.deepEqual(m.ids, catalog.ids);
  t.deepEqual(m.titles, catalog.titles);
  t.is(m.x.length, M);
  t.is(
    m.embedded.reduce((x, y) => x + y, 0),
    80,
  );
  t.deepEqual(
    m.concept,
    Array.from({ length: M }, (_, i) => i % K),
  );
  for (let i = 0; i < M; i++) {
    t.true(m.x[i] >= 0 && m.x[i] <= 1 && m.y[i] >= 0 && m.y[i] <= 1, `item ${i}`);
    t.is(m.embedded[i], i < 80 ? 1 : 0);
  }
  t.true(Math.max(...m.x) === 1 || Math.max(...m.y) === 1);
  // The concepts are separated on the map: each item's nearest other item is of its concept.
  let same = 0;
  for (let i = 0; i < M; i++) {
    let best = -1;
    let bd = Number.POSITIVE_INFINITY;
    for (let j = 0; j < M; j++) {
      const dd = (m.x[i] - m.x[j]) ** 2 + (m.y[i] - m.y[j]) ** 2;
      if (j !== i && dd < bd) {
        bd = dd;
        best = j;
      }
    }
    if (best % K === i % K) same++;
  }
  t.true(same / M > 0.95, `${same} of ${M}`);
  // Kept: the second request answers the same map; the same options give the same map (seeded).
  t.deepEqual((await a.inject({ url: '/explorer/map' })).json(), m);
  const again = await explorerMap(conceptState(model), catalog, MAP);
  t.deepEqual(again.x, m.x);
  t.deepEqual(again.y, m.y);
});

test('a model without concepts: the page still loads; concepts and map answer 400 MV_NOT_MACRID', async (t) => {
  const a = await app({ model: { kind: 'multvae', items: M }, catalog });
  t.teardown(() => a.close());
  t.is((await a.inject({ url: '/' })).statusCode, 200);
  for (const url of ['/explorer/concepts', '/explorer/map']) {
    const r = await a.inject({ url });
    t.is(r.statusCode, 400, url);
    t.is(r.json().code, 'MV_NOT_MACRID');
    t.regex(r.json().message, /need a MacridVAE model, not 'multvae'/);
  }
});
