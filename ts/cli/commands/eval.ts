/**
 * `macridvae eval --model MODEL_DIR --data DIR [--split test|validation] [--json]`: scores the held-out
 * users of a prepared dataset with a trained model and reports NDCG@100, Recall@20 and Recall@50 (mean
 * and standard error), the paper's Table 1 metrics. With --json: `{ "users", "skippedUsers", "split",
 * "metrics": { "ndcg@100": { "mean", "se" }, "recall@20": …, "recall@50": … }, "datasetMatches" }`.
 * A dataset other than the model's (by fingerprint) is refused; `--allow-other-data` uses it with a
 * warning (stderr, and `warnings` in the JSON). A production model (`train --all-users`) is refused: it
 * was trained on every user, so no held-out user is left to evaluate it on.
 */
import { loadDataset } from '../../data/store.js';
import { InvalidArgumentError } from '../../errors.js';
import { evaluate } from '../../eval/evaluator.js';
import { openModel } from '../../models/inspect.js';
import { selectBackend } from '../../tf/backend.js';
import { datasetFingerprint, loadModel } from '../../train/checkpoint.js';
import { KernelPool } from '../../workers/pool.js';
import {
  BACKEND_OPTION,
  type Command,
  intOption,
  parse,
  printJson,
  THREADS_OPTION,
  threadsOption,
  UsageError,
} from '../args.js';
import { ALLOW_OTHER_DATA, checkSameDataset } from '../model-view.js';
import { backendOption } from './backend.js';

export const REPORTED = ['ndcg@100', 'recall@20', 'recall@50'] as const;

export const EVAL_OPTIONS = {
  model: { type: 'string', value: 'MODEL_DIR', required: true, description: 'the trained model directory' },
  data: { type: 'string', value: 'DIR', required: true, description: 'the prepared dataset (macridvae data prepare)' },
  split: { type: 'string', value: 'test|validation', default: 'test', description: 'which held-out users to score' },
  'batch-size': { type: 'string', value: 'B', default: '500', description: 'users scored per batch' },
  threads: THREADS_OPTION,
  backend: BACKEND_OPTION,
  ...ALLOW_OTHER_DATA,
} as const;

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate a trained model on the held-out users of a dataset (NDCG@100, Recall@20, Recall@50)',
  options: EVAL_OPTIONS,
  async run(argv) {
    const cmd = 'eval';
    const { values } = parse(cmd, argv, EVAL_OPTIONS);
    if (!values.model) throw new UsageError(`macridvae ${cmd}: --model is required`);
    if (!values.data) throw new UsageError(`macridvae ${cmd}: --data is required`);
    const split = values.split ?? 'test';
    if (split !== 'test' && split !== 'validation') {
      throw new UsageError(`macridvae ${cmd}: --split must be test or validation but got '${split}'`);
    }
    const batchSize = intOption(cmd, 'batch-size', values['batch-size'], 500, 1);
    const threads = threadsOption(cmd, values.threads);
    const stored = loadModel(values.model);
    const production = stored.manifest.production;
    if (production) {
      throw new InvalidArgumentError(
        `${values.model} is a production model (trained on all ${production.users} users, nothing held out): it has no held-out users to be evaluated on${production.epochsFrom ? `; evaluate the validated run its epoch count came from, ${production.epochsFrom.dir}` : ''}`,
      );
    }
    const data = await loadDataset(values.data);
    const warnings = checkSameDataset(
      cmd,
      { dir: values.model, fingerprint: stored.manifest.dataset?.fingerprint, items: stored.items },
      { dir: values.data, fingerprint: datasetFingerprint(data), items: data.items },
      values['allow-other-data'],
    );
    const datasetMatches = warnings.length === 0;
    await selectBackend(backendOption(values.backend));
    const pool = threads > 1 ? new KernelPool({ threads }) : undefined;
    const model = openModel(stored, { pool, threads });
    try {
      const r = await evaluate((f) => model.score(f), data[split], { ks: [20, 50, 100], batchSize, pool });
      const metrics = Object.fromEntries(REPORTED.map((k) => [k, { mean: r.metrics[k].mean, se: r.metrics[k].se }]));
      if (values.json) {
        printJson({
          users: r.users,
          skippedUsers: r.skippedUsers,
          split,
          metrics,
          datasetMatches,
          bestEpoch: stored.manifest.bestEpoch,
          ...(warnings.length > 0 ? { warnings } : {}),
        });
      } else {
        console.log(
          `${stored.config.kind} (epoch ${stored.manifest.bestEpoch}) on ${split}: ${r.users} users (${r.skippedUsers} without target skipped)`,
        );
        for (const k of REPORTED)
          console.log(`  ${k.padEnd(10)} ${metrics[k].mean.toFixed(4)} ± ${metrics[k].se.toFixed(4)}`);
      }
      return 0;
    } finally {
      model.dispose();
      await pool?.close();
    }
  },
};
