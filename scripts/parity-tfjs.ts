/**
 * parity-tfjs: the tfjs training path against the Rust path over a whole run, at the default
 * architectures (the test in `test/integration/tfjs-train.test.ts` does the same at small widths to keep
 * `npm test` lean). Trains each model for --epochs on the bundled ml-latest-small (the MultVAE protocol,
 * 50 + 50 held-out users) once per path on the tfjs --backend, and prints the best and last validation
 * NDCG@100 of both and their difference (the bar: within 0.01) and the seconds per epoch.
 *
 * Usage: tsx scripts/parity-tfjs.ts [--epochs 20] [--models macridvae,multvae,multdae] [--backend wasm] [--json]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { prepareDataset } from '../ts/data/prepare.js';
import { loadDataset } from '../ts/data/store.js';
import { type ModelKind, resolveModelConfig } from '../ts/models/config.js';
import { type BackendName, selectBackend } from '../ts/tf/backend.js';
import { trainModel } from '../ts/train/trainer.js';

const { values: opt } = parseArgs({
  options: {
    epochs: { type: 'string', default: '20' },
    models: { type: 'string', default: 'macridvae,multvae,multdae' },
    backend: { type: 'string', default: 'wasm' },
    json: { type: 'boolean', default: false },
  },
});

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'macridvae-parity-'));
  try {
    const dir = join(root, 'data');
    await prepareDataset({ input: 'data/ml-latest-small', out: dir, heldoutUsers: 50 });
    const data = await loadDataset(dir);
    await selectBackend(opt.backend as BackendName);
    let worst = 0;
    for (const kind of opt.models.split(',') as ModelKind[]) {
      const res: Record<string, { best: number; last: number; secondsPerEpoch: number }> = {};
      for (const compute of ['wasm', 'tfjs'] as const) {
        const r = await trainModel({
          model: resolveModelConfig(kind),
          train: { epochs: Number(opt.epochs) },
          data,
          compute,
          test: false,
        });
        r.model.dispose();
        const ndcg = r.history.map((h) => h['ndcg@100']);
        res[compute] = {
          best: Math.max(...ndcg),
          last: ndcg[ndcg.length - 1],
          secondsPerEpoch: r.history.reduce((s, h) => s + h.seconds, 0) / r.history.length,
        };
      }
      const diff = Math.abs(res.tfjs.best - res.wasm.best);
      worst = Math.max(worst, diff);
      if (opt.json)
        console.log(JSON.stringify({ model: kind, backend: opt.backend, epochs: Number(opt.epochs), ...res, diff }));
      else
        console.log(
          `${kind.padEnd(10)} best validation NDCG@100: Rust ${res.wasm.best.toFixed(4)}, tfjs/${opt.backend} ${res.tfjs.best.toFixed(4)} (difference ${diff.toFixed(4)}); last epoch ${res.wasm.last.toFixed(4)} vs ${res.tfjs.last.toFixed(4)}; ${res.wasm.secondsPerEpoch.toFixed(1)} vs ${res.tfjs.secondsPerEpoch.toFixed(1)} s/epoch`,
        );
    }
    if (worst > 0.01) process.exitCode = 1;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
