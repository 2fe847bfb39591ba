/**
 * The tfjs training path end to end on the bundled ml-latest-small: 20 epochs on the `wasm` tfjs backend
 * reach the Rust path's validation NDCG@100 within 0.01 (MacridVAE and MultVAE at small widths, to keep
 * `npm test` lean: `npm run parity:tfjs` runs the default architectures); a checkpoint written by one
 * path resumes on the other; `train --compute tfjs` records the path in the manifest.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { prepareDataset } from '../../ts/data/prepare.js';
import { type Dataset, loadDataset } from '../../ts/data/store.js';
import { type ModelConfig, resolveModelConfig } from '../../ts/models/config.js';
import { selectBackend } from '../../ts/tf/backend.js';
import { trainModel } from '../../ts/train/trainer.js';
import { cli } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'macridvae-tfjs-train-'));
const dataDir = join(root, 'data');
let data: Dataset;
test.before(async () => {
  await prepareDataset({ input: 'data/ml-latest-small', out: dataDir, heldoutUsers: 50 });
  data = await loadDataset(dataDir);
  await selectBackend('wasm');
});
test.after.always(() => rmSync(root, { recursive: true, force: true }));

const SMALL: Record<string, ModelConfig> = {
  macridvae: resolveModelConfig('macridvae', { concepts: 2, d: 16 }),
  multvae: resolveModelConfig('multvae', { hidden: [32], latent: 16 }),
};

for (const [label, model] of Object.entries(SMALL)) {
  test.serial(
    `${label}: 20 epochs on the tfjs path reach the Rust path's validation NDCG@100 within 0.01`,
    async (t) => {
      const run = async (compute: 'wasm' | 'tfjs') => {
        const r = await trainModel({ model, train: { epochs: 20 }, data, compute });
        t.is(r.compute.path, compute);
        r.model.dispose();
        return r.history.map((h) => h['ndcg@100']);
      };
      const rust = await run('wasm');
      const tfjs = await run('tfjs');
      t.log(`best validation NDCG@100: Rust ${Math.max(...rust).toFixed(4)}, tfjs ${Math.max(...tfjs).toFixed(4)}`);
      t.true(Math.abs(Math.max(...rust) - Math.max(...tfjs)) <= 0.01);
      t.true(Math.abs(rust[19] - tfjs[19]) <= 0.01, `epoch 20: Rust ${rust[19]}, tfjs ${tfjs[19]}`);
    },
  );
}

test.serial('a checkpoint written on the Rust path resumes on the tfjs path (Adam state converts)', async (t) => {
  const model = SMALL.macridvae;
  const out = join(root, 'resume');
  await trainModel({ model, train: { epochs: 2 }, data, out, compute: 'wasm' }).then((r) => r.model.dispose());
  const resumed = await trainModel({ model, train: { epochs: 4 }, data, out, resume: true, compute: 'tfjs' });
  const straight = await trainModel({ model, train: { epochs: 4 }, data, compute: 'wasm' });
  t.is(resumed.compute.path, 'tfjs');
  t.is(resumed.history.length, 4);
  for (let e = 2; e < 4; e++) {
    t.true(Math.abs(resumed.history[e]['ndcg@100'] - straight.history[e]['ndcg@100']) <= 0.005, `epoch ${e + 1}`);
  }
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  t.is(manifest.compute.path, 'tfjs');
  resumed.model.dispose();
  straight.model.dispose();
});

test.serial('train --compute tfjs records the compute path in the manifest; a bad value names the flag', (t) => {
  const out = join(root, 'cli');
  const r = cli([
    'train',
    '--data',
    dataDir,
    '--out',
    out,
    '--d',
    '8',
    '--concepts',
    '2',
    '--epochs',
    '1',
    '--threads',
    '1',
    '--backend',
    'wasm',
    '--compute',
    'tfjs',
    '--json',
  ]);
  t.is(r.code, 0, r.stderr);
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  t.like(manifest.compute, { requested: 'tfjs', path: 'tfjs', tfBackend: 'wasm' });
  const bad = cli(['train', '--data', dataDir, '--out', join(root, 'bad'), '--compute', 'gpu']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--compute must be one of auto, wasm, tfjs but got 'gpu'/);
  const b = cli(['backend', '--backend', 'wasm', '--json']);
  t.like(JSON.parse(b.stdout), { device: 'cpu', compute: { requested: 'auto', path: 'wasm' } });
});
