/**
 * Issue 11, rule 5 (bounded resources): option values that size an allocation are checked against what
 * the machine has (`checkMemory`, `memoryBudget`; `MACRIDVAE_MAX_MEMORY` plays a small machine) and
 * refused up front, naming the option, its value and the figure: `analyze --max-users`, `--map-items` and
 * `--map-users` (the exact t-SNE's n × n affinities), `conceptMap`'s items, and the sampled softmax's
 * `negatives`. The batch sizes of train/eval are held in test/integration/trust-cli.test.ts.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { conceptMap, mapPointsBound } from '../../ts/analysis/map.js';
import { analyzeCommand } from '../../ts/cli/commands/analyze.js';
import type { DatasetView, ModelView } from '../../ts/cli/model-view.js';
import { InvalidArgumentError } from '../../ts/errors.js';
import { type MacridVaeConfig, resolveModelConfig } from '../../ts/models/config.js';
import { Trainer } from '../../ts/train/trainer.js';
import { TSNE_MAX_POINTS } from '../../ts/wasm/analysis.js';
import { syntheticModel } from '../helpers/synthetic-model.js';
import { syntheticSplit } from '../helpers/synthetic-split.js';

const m = syntheticModel(21, 420, 12, 4, 60, 1.0);
let encoded = 0;
const view: ModelView = {
  name: 'synthetic',
  space: m.space,
  tau: 0.1,
  encode: async (x) => {
    encoded++;
    const users = x.indptr.length - 1;
    return { mu: new Float32Array(users * 4 * 12), users, concepts: 4, d: 12 };
  },
};
const data: DatasetView = { train: m.x, itemIds: Array.from({ length: 420 }, (_, i) => `m${i}`) };
const analyze = analyzeCommand(
  async () => view,
  async () => data,
);

/** Runs with MACRIDVAE_MAX_MEMORY set to `bytes` (tests using it are serial). */
async function withBudget<T>(bytes: number, run: () => Promise<T>): Promise<T> {
  const before = process.env.MACRIDVAE_MAX_MEMORY;
  process.env.MACRIDVAE_MAX_MEMORY = String(bytes);
  try {
    return await run();
  } finally {
    if (before === undefined) delete process.env.MACRIDVAE_MAX_MEMORY;
    else process.env.MACRIDVAE_MAX_MEMORY = before;
  }
}

test.serial('analyze: --max-users, --map-items and --map-users are refused up front with the figure', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'macridvae-bounds-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'report');
  const args = ['--model', 'm', '--data', 'd', '--out', out];
  // More map points than the exact t-SNE embeds, whatever the memory: 420 items + 2 × 60 users at most,
  // so the users' side needs many users; --map-items alone is capped by the items there are.
  t.is(mapPointsBound(m.space, 60, 100_000, 100_000), 420 + 2 * 60);
  t.is(mapPointsBound({ items: 50_000, concepts: 4 }, 60, 30_000, 200), 30_004 + 120);
  // A budget of 1 MiB: 420 + 120 points need 540² × 4 B ≈ 1.1 MiB of affinities.
  const map = await withBudget(1024 * 1024, () =>
    t.throwsAsync(analyze.run([...args, '--map-items', '100000']), { instanceOf: InvalidArgumentError }),
  );
  t.regex(
    map?.message ?? '',
    /'--map-items, --map-users' passed to analyze\(\) is 540, which needs 1\.2 MiB for the exact t-SNE of 540 points \(n × n affinities\): more than the 1\.0 MiB this machine allows \(MACRIDVAE_MAX_MEMORY\); lower it/,
  );
  // The users' components: 60 users × 4 × 12 floats, twice, against a 10 kB budget.
  const users = await withBudget(10_000, () =>
    t.throwsAsync(analyze.run([...args, '--max-users', '1000000']), { instanceOf: InvalidArgumentError }),
  );
  t.regex(
    users?.message ?? '',
    /'--max-users' passed to analyze\(\) is 1000000, which needs 23 KiB for the components of 60 users × 4 concepts × 12/,
  );
  t.is(encoded, 0, 'refused before any user was encoded');
  t.false(existsSync(out), 'nothing written');
});

test('conceptMap: more items than the exact t-SNE embeds are refused, naming the argument', async (t) => {
  const items = Array.from({ length: TSNE_MAX_POINTS + 1 }, (_, i) => i % 420);
  const itemConcept = new Uint32Array(420);
  await t.throwsAsync(conceptMap({ space: m.space, itemConcept, items }), {
    instanceOf: InvalidArgumentError,
    message: /'items' passed to conceptMap\(\) give up to 20001 map points, more than the 20000 the exact t-SNE embeds/,
  });
});

test('trainModel: a sampled softmax with more negatives than memory holds is refused with the figure', (t) => {
  const model = resolveModelConfig('macridvae', { concepts: 3, d: 8 }) as MacridVaeConfig;
  const e = t.throws(
    () =>
      new Trainer({
        model,
        train: { softmax: 'sampled', negatives: 2_000_000_000, batchSize: 40, epochs: 1 },
        data: syntheticSplit(3),
      }),
    { instanceOf: InvalidArgumentError },
  );
  t.regex(
    e?.message ?? '',
    /'negatives' passed to trainModel\(\) is 2000000000, which needs 1512\.5 GiB for the draws and 5 blocks of 40 users × 2000000000 negatives per batch/,
  );
});
