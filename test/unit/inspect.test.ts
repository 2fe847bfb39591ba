/** The analysis helpers agree with the trained model: rebuilding its scores from them gives the same scores. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { csrSliceRows } from '../../ts/csr.js';
import { InvalidArgumentError } from '../../ts/errors.js';
import { type MacridVaeConfig, resolveModelConfig } from '../../ts/models/config.js';
import { conceptAssignment, itemEmbeddings, normalizeRows, prototypes, userConcepts } from '../../ts/models/inspect.js';
import { selectBackend } from '../../ts/tf/backend.js';
import { loadModel } from '../../ts/train/checkpoint.js';
import { trainModel } from '../../ts/train/trainer.js';
import { mixDecoderLogProbsOracle } from '../helpers/nn-oracle.js';
import { syntheticSplit } from '../helpers/synthetic-split.js';

const dir = mkdtempSync(join(tmpdir(), 'macridvae-inspect-'));
test.before(async () => {
  await selectBackend('wasm');
});
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('item embeddings, prototypes, concept assignment and user concepts reproduce the model scores', async (t) => {
  const data = syntheticSplit(3);
  const cfg = resolveModelConfig('macridvae', { concepts: 4, d: 6 }) as MacridVaeConfig;
  const r = await trainModel({ model: cfg, train: { epochs: 2, batchSize: 50 }, data, out: dir });
  const m = loadModel(dir);
  const h = itemEmbeddings(m);
  t.deepEqual([h.rows, h.cols], [data.items, 6]);
  t.deepEqual(h.data, m.weights.items.data);
  const p = prototypes(m);
  t.deepEqual([p.rows, p.cols], [4, 6]);
  const c = conceptAssignment(m);
  t.deepEqual([c.rows, c.cols], [data.items, 4]);
  for (let i = 0; i < c.rows; i++) {
    const row = c.data.subarray(i * 4, i * 4 + 4);
    t.true(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  }
  const foldIn = csrSliceRows(data.validation.foldIn, 0, 5);
  const u = userConcepts(m, foldIn);
  t.deepEqual([u.users, u.concepts, u.d], [5, 4, 6]);
  for (let r2 = 0; r2 < 5 * 4; r2++) {
    const norm = Math.hypot(...u.data.subarray(r2 * 6, r2 * 6 + 6));
    t.true(Math.abs(norm - 1) < 1e-5, `row ${r2} has norm ${norm}`);
  }
  const rebuilt = mixDecoderLogProbsOracle({
    users: 5,
    concepts: 4,
    d: 6,
    items: data.items,
    z: u.data,
    h: normalizeRows(h).data,
    c: c.data,
    scale: 1 / cfg.tau,
  });
  const scores = await r.model.score(foldIn);
  let worst = 0;
  for (let i = 0; i < scores.length; i++) worst = Math.max(worst, Math.abs(scores[i] - rebuilt[i]));
  t.true(worst < 1e-3, `worst difference ${worst}`);
  r.model.dispose();
});

test('the helpers refuse a model that is not a MacridVAE', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'macridvae-inspect-'));
  try {
    const r = await trainModel({
      model: resolveModelConfig('multdae', { hidden: [], latent: 3 }),
      train: { epochs: 1 },
      data: syntheticSplit(4),
      out,
    });
    r.model.dispose();
    t.throws(() => conceptAssignment(loadModel(out)), {
      instanceOf: InvalidArgumentError,
      message: "conceptAssignment() needs a MacridVAE model but got a 'multdae' model",
    });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
