/**
 * Serving the reference models (EASE, popularity, ItemKNN) by ids without TensorFlow.js (issue 18):
 * the `itemTopK` kernel against a slow oracle on the thread and the pool; `openRecommender` on a model
 * directory written by `fitBaseline` ranks by the very scores `eval` uses (`baselineFromWeights(…).score`,
 * 1e-5) with exclusions, candidates and k; similar items from the item–item weights; what needs
 * concepts refused with a `ModelKindError` naming the kind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { type Csr, csrFromRows, csrRow, csrRows } from '../../ts/csr.js';
import { baselineFromWeights } from '../../ts/models/baselines.js';
import type { BaselineConfig } from '../../ts/models/config.js';
import { kernels } from '../../ts/runtime/kernels.js';
import { type ItemItemScoring, scoreTopK } from '../../ts/serve/engine.js';
import { scoringModel } from '../../ts/serve/scoring-model.js';
import { ModelKindError, openRecommender } from '../../ts/serve/service.js';
import { loadModel } from '../../ts/train/checkpoint.js';
import { fitBaseline } from '../../ts/train/fit-baseline.js';
import type { TopKResult } from '../../ts/wasm/ranking.js';
import { threadInstance } from '../../ts/wasm/raw.js';
import type { ItemTopKArgs } from '../../ts/wasm/serve.js';
import { closeTestPool, testPool } from '../helpers/implementations.js';
import { syntheticSplit } from '../helpers/synthetic-split.js';

const base = syntheticSplit(23, 150, 70, 20);
const data = {
  ...base,
  itemIds: Array.from({ length: base.items }, (_, i) => `i${500 + i}`),
  itemTitles: Array.from({ length: base.items }, (_, i) => `Item ${i}`),
};
const M = data.items;
const histories = [[0, 5, 9], [1, 2, 3, 4, 40, 41], [69], [10, 20, 30, 50, 60], [7, 8]];
const ids = (cols: number[]) => cols.map((c) => data.itemIds[c]);
const col = (id: string) => Number(id.slice(1)) - 500;

const root = mkdtempSync(join(tmpdir(), 'macridvae-serve-baselines-'));
test.after.always(async () => {
  rmSync(root, { recursive: true, force: true });
  await closeTestPool();
});

/** The slow oracle: per user, scores as float64 sums of `W` rows, then a full sort (ties to the lower column). */
function itemTopKOracle(a: ItemTopKArgs): TopKResult {
  const users = csrRows(a.x);
  const w = a.weights;
  const out = {
    items: new Uint32Array(users * a.k).fill(0xffffffff),
    scores: new Float32Array(users * a.k).fill(Number.NEGATIVE_INFINITY),
    counts: new Uint32Array(users),
  };
  for (let u = 0; u < users; u++) {
    const s = new Float64Array(M);
    if (w.kind === 'constant') s.set(w.v);
    for (const r of csrRow(a.x, u)) {
      if (w.kind === 'dense') for (let c = 0; c < M; c++) s[c] += w.w[r * M + c];
      if (w.kind === 'sparse') {
        for (let p = w.w.indptr[r]; p < w.w.indptr[r + 1]; p++) s[w.w.indices[p]] += w.values[p];
      }
    }
    const ex = new Set(csrRow(a.exclude, u));
    const pool = a.candidates ? [...new Set(csrRow(a.candidates, u))] : Array.from({ length: M }, (_, i) => i);
    const ranked = pool.filter((i) => !ex.has(i)).sort((p, q) => s[q] - s[p] || p - q);
    const n = Math.min(a.k, ranked.length);
    out.counts[u] = n;
    for (let j = 0; j < n; j++) {
      out.items[u * a.k + j] = ranked[j];
      out.scores[u * a.k + j] = s[ranked[j]];
    }
  }
  return out;
}

const dirs = new Map<string, Promise<string>>();
function fitted(kind: BaselineConfig['kind']): Promise<string> {
  let p = dirs.get(kind);
  if (!p) {
    const out = join(root, kind);
    p = fitBaseline({ kind, data, out, lambdas: [50], ks: [8], shrinks: [2] }).then(() => out);
    dirs.set(kind, p);
  }
  return p;
}

/** The scores `eval` ranks by: the stored model's own `score`. */
async function evalScores(dir: string, x: Csr): Promise<Float32Array> {
  const stored = loadModel(dir);
  return baselineFromWeights(stored.config as BaselineConfig, stored.items, stored.weights).score(x);
}

function close(t: { true: (b: boolean, m?: string) => void }, a: number, b: number, what: string) {
  t.true(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
}

for (const kind of ['ease', 'itemknn', 'pop'] as const) {
  test.serial(`${kind}: itemTopK on the thread and the pool equals the oracle`, async (t) => {
    const m = scoringModel(loadModel(await fitted(kind))) as ItemItemScoring;
    t.is(m.kind, kind);
    const x = csrFromRows(histories, M);
    const exclude = csrFromRows(
      histories.map((h, u) => [...h, u]),
      M,
    );
    const candidates = csrFromRows(
      histories.map((_, u) => [3 * u, 3 * u + 1, 3 * u + 1, 40, 41, 60 + u, 0]),
      M,
    );
    for (const cand of [undefined, candidates]) {
      const args: ItemTopKArgs = { x, weights: m.weights, exclude, candidates: cand, k: 7 };
      const want = itemTopKOracle(args);
      for (const [name, got] of [
        ['thread', kernels.itemTopK(args)],
        ['pool', await testPool().run('itemTopK', args)],
      ] as const) {
        t.deepEqual(Array.from(got.counts), Array.from(want.counts), name);
        t.deepEqual(Array.from(got.items), Array.from(want.items), `${name}, candidates: ${!!cand}`);
        got.scores.forEach((s, j) => {
          if (Number.isFinite(want.scores[j])) close(t, s, want.scores[j], `${name} score ${j}`);
          else t.is(s, want.scores[j]);
        });
      }
    }
    t.throws(() => scoreTopK(threadInstance(), { model: m, x, exclude, k: 3, withZ: true }), {
      message: new RegExp(`'${kind}' model has no concepts`),
    });
  });

  test.serial(
    `${kind}: openRecommender ranks by the scores eval uses (1e-5), on the thread and the pool`,
    async (t) => {
      const dir = await fitted(kind);
      const x = csrFromRows(histories, M);
      const want = await evalScores(dir, x);
      const rec = await openRecommender(dir);
      t.is(rec.model.kind, kind);
      t.is(rec.concepts, 0);
      const k = 8;
      const exclude = ids([11, 12, 13]);
      const recs = await rec.recommend(histories.map(ids), { k, exclude });
      histories.forEach((h, u) => {
        const skip = new Set([...h, 11, 12, 13]);
        const ranked = Array.from({ length: M }, (_, i) => i)
          .filter((i) => !skip.has(i))
          .sort((p, q) => want[u * M + q] - want[u * M + p] || p - q)
          .slice(0, k);
        t.deepEqual(
          recs[u].items.map((it) => it.id),
          ids(ranked),
          `user ${u}`,
        );
        recs[u].items.forEach((it, j) => {
          close(t, it.score, want[u * M + ranked[j]], `user ${u} item ${j}`);
          t.is(it.title, `Item ${ranked[j]}`);
        });
      });
      // Candidates, includeSeen and a per-user k through the same path.
      const [r] = await rec.recommend([ids([1, 2])], { k: 3, candidates: ids([1, 2, 30, 31, 32]), includeSeen: true });
      const cand = [1, 2, 30, 31, 32];
      const w2 = await evalScores(dir, csrFromRows([[1, 2]], M));
      t.deepEqual(
        r.items.map((it) => col(it.id)),
        cand.sort((p, q) => w2[q] - w2[p] || p - q).slice(0, 3),
      );
      // The pool, in groups of one user and in one group: the same answers.
      const one = await openRecommender(dir, { pool: testPool(), minWork: 0, batchSize: 1 });
      t.deepEqual(await one.recommend(histories.map(ids), { k, exclude }), recs);
      const pooled = await openRecommender(dir, { pool: testPool(), minWork: 0 });
      t.deepEqual(await pooled.recommend(histories.map(ids), { k, exclude }), recs);
      // What needs concepts is refused with the kind named.
      const refused = async (p: () => Promise<unknown>, op: string) => {
        const e = await t.throwsAsync(p, { instanceOf: ModelKindError });
        t.is(e?.kind, kind);
        t.regex(e?.message ?? '', new RegExp(`^${op}.*'${kind}' model`));
      };
      await refused(() => rec.explain(ids([1])), 'explain');
      await refused(() => rec.control(ids([1]), { mute: [0] }), 'control');
      await refused(() => rec.traverse({ history: ids([1]) }, { concept: 0, dimension: 0 }), 'traverse');
      await refused(() => rec.recommend([ids([1])], { explain: true }), 'recommend');
      await refused(() => rec.recommend([ids([1])], { conceptWeights: [1] }), 'recommend');
    },
  );
}

test.serial(
  'similarItems: EASE ranks row c of B, ItemKNN the items having c as a neighbour; popularity refuses',
  async (t) => {
    const ease = await fitted('ease');
    const stored = loadModel(ease);
    const B = stored.weights.B.data;
    const rec = await openRecommender(ease);
    const { results, unknown } = await rec.similarItems([...ids([4, 17]), 'nope'], { k: 5, onUnknown: 'skip' });
    t.deepEqual(unknown, ['nope']);
    [4, 17].forEach((c, r) => {
      const want = Array.from({ length: M }, (_, i) => i)
        .filter((i) => i !== c)
        .sort((p, q) => B[c * M + q] - B[c * M + p] || p - q)
        .slice(0, 5);
      t.is(results[r].id, data.itemIds[c]);
      t.deepEqual(
        results[r].items.map((it) => col(it.id)),
        want,
      );
      results[r].items.forEach((it, j) => {
        close(t, it.score, B[c * M + want[j]], 'B');
      });
    });

    const knn = loadModel(await fitted('itemknn'));
    const kk = (knn.config as { k: number }).k;
    const nb = knn.weights.neighbours.data;
    const sim = knn.weights.similarity.data;
    const krec = await openRecommender(await fitted('itemknn'));
    const c = 6;
    // The items i with c ∈ N(i), by s_ci: only those, however large k.
    const having: Array<[number, number]> = [];
    for (let i = 0; i < M; i++)
      for (let s = 0; s < kk; s++) if (nb[i * kk + s] === c) having.push([i, sim[i * kk + s]]);
    having.sort((p, q) => q[1] - p[1] || p[0] - q[0]);
    t.true(having.length > 0);
    const [kr] = (await krec.similarItems(ids([c]), { k: M - 1 })).results;
    t.deepEqual(
      kr.items.map((it) => col(it.id)),
      having.map((p) => p[0]),
    );
    kr.items.forEach((it, j) => {
      close(t, it.score, having[j][1], 's');
    });

    const pop = await openRecommender(await fitted('pop'));
    const e = await t.throwsAsync(() => pop.similarItems(ids([1])), { instanceOf: ModelKindError });
    t.regex(e?.message ?? '', /^similarItems\(\) needs item–item weights.*'pop' model/);
    t.is(e?.kind, 'pop');
    // A known-empty query is refused too (the refusal does not depend on the ids).
    await t.throwsAsync(() => pop.similarItems(['nope'], { onUnknown: 'skip' }), { instanceOf: ModelKindError });
  },
);

test.serial(
  'the baseline model directory is self-contained (items.json) and a history of unknown ids falls back to popularity',
  async (t) => {
    const rec = await openRecommender(await fitted('ease'));
    t.deepEqual(rec.catalog.ids, data.itemIds);
    const [r] = await rec.recommend([['x', 'y']], { k: 3, onUnknown: 'skip' });
    t.is(r.fallback, 'popularity');
    t.deepEqual(r.unknown, ['x', 'y']);
    t.is(r.items.length, 3);
  },
);
