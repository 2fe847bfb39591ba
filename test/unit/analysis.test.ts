import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { analyzeMacro, NO_CATEGORY } from '../../ts/analysis/macro.js';
import { analyzeMicro } from '../../ts/analysis/micro.js';
import { analyze, writeAnalysis } from '../../ts/analysis/report.js';
import { csrFromRows } from '../../ts/csr.js';
import { InvalidArgumentError, OutOfRangeError } from '../../ts/errors.js';
import * as wa from '../../ts/wasm/analysis.js';
import { threadInstance } from '../../ts/wasm/raw.js';
import { bruteForceMatching, userConceptConfidenceOracle } from '../helpers/analysis-oracle.js';
import { closeTestPool, testPool } from '../helpers/implementations.js';
import { Rng, randomCsr } from '../helpers/random.js';
import { syntheticModel } from '../helpers/synthetic-model.js';

test.after.always(closeTestPool);

/** The analysis kernels on the main thread and on the pool. */
const IMPLS = [
  {
    name: 'wasm',
    alignment: async (a: wa.AlignmentArgs) => wa.alignment(threadInstance(), a),
    confidence: async (a: wa.UserConceptConfidenceArgs) => wa.userConceptConfidence(threadInstance(), a),
    stats: async (a: wa.MatrixArgs) => wa.columnStats(threadInstance(), a),
    assign: async (a: wa.AssignConceptsArgs) => wa.assignConcepts(threadInstance(), a),
  },
  {
    name: 'pool',
    alignment: (a: wa.AlignmentArgs) => testPool().run('alignment', a),
    confidence: (a: wa.UserConceptConfidenceArgs) => testPool().run('userConceptConfidence', a),
    stats: (a: wa.MatrixArgs) => testPool().run('columnStats', a),
    assign: (a: wa.AssignConceptsArgs) => testPool().run('assignConcepts', a),
  },
];

const near = (a: number, b: number, eps = 1e-12) => Math.abs(a - b) <= eps;

for (const impl of IMPLS) {
  test(`${impl.name}: NMI, ARI and matched accuracy on hand-computed cases`, async (t) => {
    // a = [0,0,1,1], b = [0,0,1,2]: I = ln 2, H(a) = ln 2, H(b) = 1.5 ln 2 → NMI = 0.8;
    // ARI = (1 − 1/3)/(1.5 − 1/3) = 4/7; matching 0→0, 1→1 or 2 → accuracy 3/4.
    const r = await impl.alignment({
      a: new Uint32Array([0, 0, 1, 1]),
      na: 2,
      b: new Uint32Array([0, 0, 1, 2]),
      nb: 3,
    });
    t.deepEqual([...r.table], [2, 0, 0, 0, 1, 1]);
    t.true(near(r.nmi, 0.8) && near(r.ari, 4 / 7) && near(r.accuracy, 0.75));
    t.is(r.match[0], 0);
    // a relabeling: everything perfect, match is the relabeling
    const p = await impl.alignment({
      a: new Uint32Array([0, 0, 1, 2]),
      na: 3,
      b: new Uint32Array([2, 2, 0, 1]),
      nb: 3,
    });
    t.true(near(p.nmi, 1) && near(p.ari, 1) && near(p.accuracy, 1));
    t.deepEqual([...p.match], [2, 0, 1]);
    // independent labelings: NMI 0, ARI −1/2, accuracy 1/2
    const q = await impl.alignment({
      a: new Uint32Array([0, 0, 1, 1]),
      na: 2,
      b: new Uint32Array([0, 1, 0, 1]),
      nb: 2,
    });
    t.true(near(q.nmi, 0) && near(q.ari, -0.5) && near(q.accuracy, 0.5));
    await t.throwsAsync(impl.alignment({ a: new Uint32Array([0, 3]), na: 2, b: new Uint32Array([0, 1]), nb: 2 }), {
      instanceOf: OutOfRangeError,
      message: /'a\[1\]' = 3/,
    });
  });

  test(`${impl.name}: matched accuracy equals brute force over all matchings`, async (t) => {
    const rng = new Rng(77);
    for (let trial = 0; trial < 20; trial++) {
      const k = 2 + rng.int(4);
      const n = 10 + rng.int(60);
      const a = Uint32Array.from({ length: n }, () => rng.int(k));
      const b = Uint32Array.from({ length: n }, () => rng.int(k));
      const r = await impl.alignment({ a, na: k, b, nb: k });
      const w = Array.from({ length: k }, (_, x) => Array.from({ length: k }, (_, y) => r.table[x * k + y]));
      t.true(near(r.accuracy, bruteForceMatching(w) / n), `trial ${trial}`);
    }
  });

  test(`${impl.name}: users' concept confidence matches the oracle`, async (t) => {
    const rng = new Rng(5);
    const items = 40;
    const K = 5;
    const c = new Float32Array(items * K).map(() => rng.next());
    const x = randomCsr(rng, 13, items, 0.2);
    const got = await impl.confidence({ c, items, concepts: K, x });
    const want = userConceptConfidenceOracle(c, K, x);
    t.is(got.length, want.length);
    for (let p = 0; p < got.length; p++) t.true(near(got[p], want[p], 1e-5 * Math.max(1, want[p])), `entry ${p}`);
    await t.throwsAsync(impl.confidence({ c, items, concepts: K, x: csrFromRows([[40]], 40) }), {
      instanceOf: OutOfRangeError,
    });
  });

  test(`${impl.name}: per-dimension statistics match the oracle`, async (t) => {
    const rng = new Rng(11);
    const n = 37;
    const d = 5;
    const x = new Float32Array(n * d).map(() => rng.next() * 4 - 2);
    const got = await impl.stats({ x, n, d });
    for (let l = 0; l < d; l++) {
      const col = Array.from({ length: n }, (_, r) => x[r * d + l]);
      const mean = col.reduce((a, b) => a + b, 0) / n;
      const std = Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
      t.true(near(got.mean[l], mean, 1e-12) && near(got.std[l], std, 1e-12), `dim ${l}`);
      t.is(got.min[l], Math.min(...col));
      t.is(got.max[l], Math.max(...col));
    }
  });

  test(`${impl.name}: concept assignment, cosine vs inner product on a hand case`, async (t) => {
    // prototypes: e0 with norm 10, e1 with norm 1; item (1, 2) is closer in angle to e1 but its inner
    // product with the long prototype is larger.
    const space = {
      h: new Float32Array([1, 2]),
      prototypes: new Float32Array([10, 0, 0, 1]),
      items: 1,
      d: 2,
      concepts: 2,
    };
    const cos = await impl.assign({ ...space, tau: 0.1 });
    const inner = await impl.assign({ ...space, tau: 0.1, similarity: 'inner' });
    t.is(cos.concept[0], 1);
    t.is(inner.concept[0], 0);
    // cosine: s = (1/√5, 2/√5)/τ → c_1 = 1/(1 + e^{−10/√5})
    t.true(near(cos.confidence[0], 1 / (1 + Math.exp(-10 / Math.sqrt(5))), 1e-6));
  });
}

test('t-SNE is seeded and keeps planted clusters apart', (t) => {
  const m = syntheticModel(3, 150, 12, 3, 0, 0.5);
  const args = { x: m.space.h, n: 150, d: 12, perplexity: 15, iterations: 300, seed: 7 };
  const a = wa.tsne(threadInstance(), args);
  const b = wa.tsne(threadInstance(), args);
  t.deepEqual(a.y, b.y);
  let sameCluster = 0;
  for (let i = 0; i < 150; i++) {
    let best = -1;
    let bd = Number.POSITIVE_INFINITY;
    for (let j = 0; j < 150; j++) {
      const dd = (a.y[2 * i] - a.y[2 * j]) ** 2 + (a.y[2 * i + 1] - a.y[2 * j + 1]) ** 2;
      if (j !== i && dd < bd) {
        bd = dd;
        best = j;
      }
    }
    if (best % 3 === i % 3) sameCluster++;
  }
  t.true(sameCluster >= 135, `${sameCluster}/150`); // a random map would give about 50
  t.throws(() => wa.tsne(threadInstance(), { ...args, n: 1, x: new Float32Array(12) }), {
    instanceOf: InvalidArgumentError,
  });
});

test('macro and micro analysis of a planted model: concepts recovered, inner product scored, users summarized', (t) => {
  const m = syntheticModel(8, 700, 16, 5, 80, 1.0);
  m.categories.labels[0] = NO_CATEGORY;
  const macro = analyzeMacro({ space: m.space, tau: 0.1, x: m.x, categories: m.categories });
  t.is(
    macro.itemsPerConcept.reduce((a, b) => a + b, 0),
    700,
  );
  t.true(macro.alignment!.nmi >= 0.8, `NMI ${macro.alignment!.nmi}`);
  t.is(macro.alignment!.labelledItems, 699);
  t.is(new Set(macro.alignment!.match).size, 5);
  const users = macro.users!;
  t.is(users.users, 80);
  // every user's confidence sums to its number of items (each c_i sums to 1)
  for (let u = 0; u < 80; u++) {
    const s = users.confidence.subarray(u * 5, u * 5 + 5).reduce((a, b) => a + b, 0);
    t.true(near(s, m.x.indptr[u + 1] - m.x.indptr[u], 1e-4));
  }
  t.true(users.meanActiveConcepts >= 1.5 && users.meanActiveConcepts <= 2.5, `${users.meanActiveConcepts}`);
  const micro = analyzeMicro({ space: m.space, users: m.users });
  t.true(micro.items.independence > 0 && micro.items.independence <= 1);
  t.is(micro.users!.d, 5 * 16);
  t.is(micro.dims.std.length, 16);
  t.throws(() => analyzeMacro({ space: m.space, tau: 0.1, categories: { labels: new Uint32Array(3), names: ['a'] } }), {
    instanceOf: InvalidArgumentError,
    message: /'categories.labels' must have 700 elements/,
  });
});

test('analyze + writeAnalysis: report.md embeds the figures it writes; JSON and TSV written', async (t) => {
  const m = syntheticModel(4, 400, 12, 4, 40, 1.0);
  const dir = mkdtempSync(join(tmpdir(), 'macrid-analysis-'));
  try {
    const r = await analyze({
      space: m.space,
      tau: 0.1,
      x: m.x,
      users: m.users,
      categories: m.categories,
      runs: [
        { method: 'MacridVAE', independence: 0.8, ndcg100: 0.3 },
        { method: 'β-MultVAE', independence: 0.5, ndcg100: 0.27 },
      ],
      map: { maxItems: 200, maxUsers: 20, iterations: 250 },
      name: 'planted',
    });
    const figs = await writeAnalysis(r, dir, { categories: m.categories });
    const report = readFileSync(join(dir, 'report.md'), 'utf8');
    for (const f of [
      'fig2a-map-concepts',
      'fig2b-map-categories',
      'fig2c-items-concepts',
      'fig2d-items-categories',
      'fig2e-assignment',
      'fig4-independence-ndcg',
    ]) {
      t.true(
        figs.some((x) => x.name === f),
        f,
      );
      t.true(report.includes(`](figures/${f}.png)`), f);
      const png = readFileSync(join(dir, 'figures', `${f}.png`));
      t.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
      t.true(readFileSync(join(dir, 'figures', `${f}.svg`), 'utf8').startsWith('<svg'));
    }
    const json = JSON.parse(readFileSync(join(dir, 'analysis.json'), 'utf8'));
    t.is(json.model.concepts, 4);
    t.true(json.macro.alignment.nmi >= 0.8);
    t.is(json.map.userComponents, 40);
    t.true(existsSync(join(dir, 'item-concepts.tsv')));
    t.is(readFileSync(join(dir, 'item-concepts.tsv'), 'utf8').trim().split('\n').length, 401);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('spherical k-means: a Lloyd fixed point (checked in TS), planted concepts found, seeded, same on the pool', async (t) => {
  const K = 5;
  const d = 12;
  const n = 300;
  const m = syntheticModel(9, n, d, K, 0, 0.5);
  const args = { x: m.space.h, n, d, k: K, seed: 3 };
  const r = wa.sphericalKmeans(threadInstance(), args);
  // Oracle: every label is the centroid of largest cosine, every centroid the normalized sum of its
  // members, and the objective the sum of the members' cosines.
  const unit = (v: Float32Array | number[]) => {
    const s = Math.hypot(...v);
    return Array.from(v, (x) => x / s);
  };
  const rows = Array.from({ length: n }, (_, i) => unit(m.space.h.subarray(i * d, (i + 1) * d)));
  const cents = Array.from({ length: K }, (_, k) => Array.from(r.centroids.subarray(k * d, (k + 1) * d)));
  const dot = (a: number[], b: number[]) => a.reduce((s, x, j) => s + x * b[j], 0);
  let objective = 0;
  for (let i = 0; i < n; i++) {
    const sims = cents.map((c) => dot(rows[i], c));
    t.is(r.labels[i], sims.indexOf(Math.max(...sims)));
    objective += sims[r.labels[i]];
  }
  t.true(Math.abs(objective - r.objective) < 1e-3, `${objective} vs ${r.objective}`);
  for (let k = 0; k < K; k++) {
    const sum = new Array<number>(d).fill(0);
    for (let i = 0; i < n; i++) if (r.labels[i] === k) for (let j = 0; j < d; j++) sum[j] += rows[i][j];
    const mean = unit(sum);
    for (let j = 0; j < d; j++) t.true(Math.abs(mean[j] - cents[k][j]) < 1e-4);
  }
  const al = wa.alignment(threadInstance(), { a: r.labels, na: K, b: m.categories.labels, nb: K });
  t.true(al.nmi > 0.95, `NMI ${al.nmi}`);
  t.deepEqual(wa.sphericalKmeans(threadInstance(), args), r);
  t.deepEqual(await testPool().run('sphericalKmeans', args), r);
  t.throws(() => wa.sphericalKmeans(threadInstance(), { ...args, k: 0 }), {
    instanceOf: InvalidArgumentError,
    message: /'k' passed to sphericalKmeans\(\)/,
  });
  t.throws(() => wa.sphericalKmeans(threadInstance(), { ...args, x: new Float32Array(5) }), {
    instanceOf: InvalidArgumentError,
    message: /'x'/,
  });
  t.throws(() => wa.sphericalKmeans(threadInstance(), { x: new Float32Array(6), n: 3, d: 2, k: 2 }), {
    instanceOf: InvalidArgumentError,
    message: /only 0 of the 3 vectors are non-zero/,
  });
});
