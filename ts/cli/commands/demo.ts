/**
 * `macridvae demo`: the quick start. Prepares the bundled ml-latest-small (the paper's "ML-100k") with
 * the reference split (50 validation + 50 test users), trains MacridVAE with the released code's
 * settings for a short schedule, evaluates the best epoch on the test users, and prints the metrics next
 * to the paper's Table 1 row for that dataset. A thin layer over `prepareDataset`, `trainModel` and
 * `evaluate`; the files land in `--out` (default `macridvae-demo/`: `data/` and `model/`).
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { prepareDataset } from '../../data/prepare.js';
import { loadDataset } from '../../data/store.js';
import { resolveModelConfig } from '../../models/config.js';
import { selectBackend } from '../../tf/backend.js';
import { trainModel } from '../../train/trainer.js';
import { packageRoot } from '../../wasm/loader.js';
import { KernelPool } from '../../workers/pool.js';
import { BACKEND_OPTION, type Command, intOption, parse, printJson, THREADS_OPTION } from '../args.js';
import { progress } from '../progress.js';
import { backendOption } from './backend.js';

/** Paper Table 1, ML-100k (= ml-latest-small): NDCG@100, Recall@20, Recall@50 (see docs/paper.md). */
export const PAPER_ML100K = {
  macridvae: { 'ndcg@100': 0.28895, 'recall@20': 0.30951, 'recall@50': 0.41309 },
  multvae: { 'ndcg@100': 0.27484, 'recall@20': 0.24838, 'recall@50': 0.3527 },
  multdae: { 'ndcg@100': 0.24487, 'recall@20': 0.23794, 'recall@50': 0.32279 },
} as const;

const METRICS = ['ndcg@100', 'recall@20', 'recall@50'] as const;

export const DEMO_OPTIONS = {
  out: { type: 'string', value: 'DIR', default: 'macridvae-demo', description: 'where data/ and model/ are written' },
  epochs: { type: 'string', value: 'N', default: '150', description: 'training epochs (the best one is kept)' },
  seed: { type: 'string', value: 'S', default: '98765', description: 'training seed' },
  threads: THREADS_OPTION,
  backend: BACKEND_OPTION,
} as const;

export const demo: Command = {
  name: 'demo',
  summary: 'quick start: train MacridVAE on the bundled ml-latest-small and compare with the paper',
  options: DEMO_OPTIONS,
  async run(argv) {
    const cmd = 'demo';
    const { values } = parse(cmd, argv, DEMO_OPTIONS);
    const out = values.out ?? 'macridvae-demo';
    const epochs = intOption(cmd, 'epochs', values.epochs, 150, 1);
    const seed = intOption(cmd, 'seed', values.seed, 98765);
    const threads = intOption(cmd, 'threads', values.threads, Math.min(2, availableParallelism()), 1);
    const json = values.json;
    const say = (s: string) => {
      if (!json) console.log(s);
    };
    const t0 = performance.now();
    const source = join(packageRoot(), 'data', 'ml-latest-small');
    const prepared = await prepareDataset({ input: source, out: join(out, 'data'), heldoutUsers: 50 });
    const c = prepared.manifest.counts;
    say(
      `ml-latest-small (MovieLens, GroupLens): ${c.users} users, ${c.items} items, ${c.interactions} clicks (ratings > 3.5); ` +
        `reference split, ${c.validationUsers} validation + ${c.testUsers} test users${prepared.reused ? ' (reused)' : ''}`,
    );
    const backend = await selectBackend(backendOption(values.backend));
    const pool = threads > 1 ? new KernelPool({ threads }) : undefined;
    const data = await loadDataset(prepared.dir);
    const model = resolveModelConfig('macridvae');
    say(
      `training MacridVAE (K=7, d=100, τ=0.1, σ0=0.075, β=0.2) for ${epochs} epochs, backend ${backend.name}, ${threads} thread(s)…`,
    );
    const bar = progress('training', epochs, !json && process.stderr.isTTY === true);
    try {
      const tTrain = performance.now();
      const r = await trainModel({
        model,
        train: { epochs, seed },
        data,
        out: join(out, 'model'),
        runtime: { pool, threads },
        onEpoch: (e) => bar.tick(1, `val ndcg@100 ${e['ndcg@100'].toFixed(3)}`),
      });
      bar.done();
      const trainSeconds = (performance.now() - tTrain) / 1000;
      // trainModel evaluated the best weights on the test users and wrote them into the manifest.
      r.model.dispose();
      const testTable = r.test ?? {};
      const modelDir = join(out, 'model');
      const perEpoch = r.history.reduce((s, h) => s + h.seconds + h.evalSeconds, 0) / r.history.length;
      const result = {
        dataset: 'ml-latest-small',
        users: c.users,
        items: c.items,
        testUsers: r.testUsers ?? 0,
        epochs,
        bestEpoch: r.bestEpoch,
        secondsPerEpoch: Number(perEpoch.toFixed(3)),
        trainSeconds: Number(trainSeconds.toFixed(1)),
        totalSeconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
        backend: backend.name,
        threads,
        test: Object.fromEntries(METRICS.map((k) => [k, testTable[k]])),
        paper: PAPER_ML100K,
        model: modelDir,
      };
      if (json) printJson(result);
      else {
        say(
          `best epoch ${r.bestEpoch} of ${epochs} (validation NDCG@100 ${r.bestValidation['ndcg@100'].mean.toFixed(4)}); ${perEpoch.toFixed(2)} s/epoch`,
        );
        say('');
        const names: Record<(typeof METRICS)[number], string> = {
          'ndcg@100': 'NDCG@100',
          'recall@20': 'Recall@20',
          'recall@50': 'Recall@50',
        };
        say(
          `${`${r.testUsers ?? 0} test users`.padEnd(15)}${'this run'.padEnd(18)}paper: ${'MacridVAE'.padEnd(11)}${'β-MultVAE'.padEnd(11)}MultDAE`,
        );
        for (const k of METRICS) {
          const v = testTable[k];
          const p = PAPER_ML100K;
          say(
            `  ${names[k].padEnd(13)}${`${v.mean.toFixed(4)} ± ${v.se.toFixed(4)}`.padEnd(25)}${p.macridvae[k].toFixed(4).padEnd(11)}${p.multvae[k].toFixed(4).padEnd(11)}${p.multdae[k].toFixed(4)}`,
          );
        }
        say('');
        say(`model: ${modelDir}  (macridvae eval --model ${modelDir} --data ${join(out, 'data')})`);
        say(`total ${result.totalSeconds} s`);
      }
      return 0;
    } finally {
      await pool?.close();
    }
  },
};
