/**
 * `macridvae recommend`: top-k items for new users from a trained model (a thin layer over
 * `Recommender`, ts/serve/recommender.ts).
 *
 *   --model DIR [--data DIR] (--items ID,ID,… | --input FILE) [--k N] [--include-seen] [--explain]
 *   [--threads N] [--backend NAME] [--json]
 *
 * `--items` is one user's history. `--input FILE` holds many users, one `user,item` pair per line
 * (comma, tab or semicolon separated; further columns ignored; a header line is skipped); users come out
 * in order of first appearance, and items the model does not know are counted and skipped. With
 * `--data DIR` (the model's dataset) ids are the dataset's raw item ids and titles are printed; without
 * it ids are column numbers. `--explain` (MacridVAE) adds each item's concept and share and the user's
 * concept shares. `--json`: one object per user `{user, items: [{id, score, title?, concept?, share?}],
 * concepts?, unknownItems}`.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { loadDataset } from '../../data/store.js';
import { ParseError } from '../../errors.js';
import { recommendSharded } from '../../queue/coordinator.js';
import { Recommender } from '../../serve/recommender.js';
import { loadModel } from '../../train/checkpoint.js';
import { KernelPool } from '../../workers/pool.js';
import { BACKEND_OPTION, type Command, intOption, parse, printJson, THREADS_OPTION, UsageError } from '../args.js';
import { columnIds } from '../model-view.js';
import { backendOption } from './backend.js';
import { columnIndex, ITEM_IDS_OPTION, itemColumns } from './traverse.js';
import { queueConnection } from './worker.js';

export const RECOMMEND_OPTIONS = {
  model: { type: 'string', value: 'DIR', required: true, description: 'the trained model directory' },
  data: ITEM_IDS_OPTION,
  items: { type: 'string', value: 'ID,ID,…', description: "one user's history (or --input)" },
  input: {
    type: 'string',
    value: 'FILE',
    description: "many users' histories, one 'user,item' pair per line (or --items)",
  },
  k: { type: 'string', value: 'N', default: '10', description: 'items recommended per user' },
  'include-seen': { type: 'boolean', default: false, description: "allow items already in the user's history" },
  explain: {
    type: 'boolean',
    default: false,
    description: "each item's concept and share, and the user's concept shares (MacridVAE)",
  },
  threads: THREADS_OPTION,
  backend: BACKEND_OPTION,
  queue: {
    type: 'string',
    value: 'redis://HOST:PORT[/DB]',
    description: 'score --input on `macridvae worker`s through this BullMQ/Redis queue (with --out)',
  },
  shards: {
    type: 'string',
    value: 'N',
    defaultText: '1 per 1,000 users',
    description: 'with --queue: user ranges, one job each',
  },
  out: { type: 'string', value: 'FILE', description: 'with --queue: where the JSON lines go (written atomically)' },
} as const;

interface UserInput {
  user: string;
  columns: number[];
  unknown: number;
}

/** Reads `user,item` lines; see the module doc. */
export function readHistories(path: string, itemIds: string[]): UserInput[] {
  const col = columnIndex(itemIds);
  const users = new Map<string, UserInput>();
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  lines.forEach((line, n) => {
    if (line.trim() === '') return;
    const f = line.split(/[,\t;]/).map((s) => s.trim().replace(/^"(.*)"$/, '$1'));
    if (f.length < 2 || f[0] === '' || f[1] === '') {
      throw new ParseError(`${path}:${n + 1}: expected 'user,item' but got '${line}'`);
    }
    if (n === 0 && !col.has(f[1]) && /^[A-Za-z_]/.test(f[1])) return; // header
    let u = users.get(f[0]);
    if (!u) {
      u = { user: f[0], columns: [], unknown: 0 };
      users.set(f[0], u);
    }
    const c = col.get(f[1]);
    if (c === undefined) u.unknown++;
    else u.columns.push(c);
  });
  return [...users.values()];
}

/** The `--json` object of one user (also the line `--queue` writes). */
function jsonRecord(
  input: UserInput,
  r: {
    items: ArrayLike<number>;
    scores: ArrayLike<number>;
    concepts?: ArrayLike<number>;
    shares?: ArrayLike<number>;
    userConcepts?: ArrayLike<number>;
  },
  itemIds: string[],
  titles: Array<string | undefined> | undefined,
) {
  const items = Array.from(r.items, (c, j) => ({
    id: itemIds[c],
    score: r.scores[j],
    ...(titles?.[c] ? { title: titles[c] } : {}),
    ...(r.concepts ? { concept: r.concepts[j], share: r.shares?.[j] } : {}),
  }));
  return {
    user: input.user,
    historyItems: new Set(input.columns).size,
    unknownItems: input.unknown,
    items,
    ...(r.userConcepts ? { concepts: Array.from(r.userConcepts) } : {}),
  };
}

/**
 * `--queue URL --shards N --out FILE`: the users of `--input` in N ranges, one `recommend` job per range
 * on `macridvae worker`s (which need the model directory at the same path), merged in user order into
 * FILE (the same lines `--json` prints).
 */
async function recommendOnQueue(cmd: string, values: Record<string, unknown>, k: number) {
  if (!values.input || !values.out) throw new UsageError(`macridvae ${cmd}: --queue needs --input FILE and --out FILE`);
  const items = loadModel(values.model as string).items;
  const data = values.data ? await loadDataset(values.data as string) : undefined;
  const itemIds = data?.itemIds ?? columnIds(items);
  const titles = data?.itemTitles;
  const inputs = readHistories(values.input as string, itemIds);
  const shards = intOption(
    cmd,
    'shards',
    values.shards as string | undefined,
    Math.max(1, Math.ceil(inputs.length / 1000)),
    1,
  );
  const t0 = performance.now();
  const r = await recommendSharded({
    connection: queueConnection(cmd, values.queue as string),
    modelDir: values.model as string,
    users: inputs.map((u) => u.columns),
    k,
    includeSeen: values['include-seen'] === true,
    explain: values.explain === true,
    shards: Math.min(shards, Math.max(1, inputs.length)),
    out: values.out as string,
    format: (u, res) => JSON.stringify(jsonRecord(inputs[u], res, itemIds, titles)),
  });
  const line = {
    users: r.users,
    shards: r.shards,
    out: values.out,
    seconds: Number(((performance.now() - t0) / 1000).toFixed(3)),
  };
  if (values.json) printJson(line);
  else console.log(`${r.users} users in ${r.shards} shards → ${values.out} (${line.seconds} s)`);
  return 0;
}

export const recommendCommand: Command = {
  name: 'recommend',
  summary: 'top-k items for new users from their histories (optionally explained by concept)',
  options: RECOMMEND_OPTIONS,
  async run(argv) {
    const cmd = 'recommend';
    const { values } = parse(cmd, argv, RECOMMEND_OPTIONS);
    if (!values.model) throw new UsageError(`macridvae ${cmd}: --model DIR is required`);
    if ((values.items === undefined) === (values.input === undefined)) {
      throw new UsageError(`macridvae ${cmd}: give exactly one of --items ID,ID,… or --input FILE`);
    }
    const k = intOption(cmd, 'k', values.k, 10, 1);
    if (values.queue) return recommendOnQueue(cmd, values, k);
    if (values.shards || values.out) throw new UsageError(`macridvae ${cmd}: --shards and --out go with --queue URL`);
    const threads = intOption(cmd, 'threads', values.threads, Math.min(2, availableParallelism()), 1);
    const pool = threads > 1 ? new KernelPool({ threads }) : undefined;
    try {
      const rec = await Recommender.open(values.model, {
        runtime: { pool, threads },
        backend: backendOption(values.backend),
      });
      try {
        if (values.explain && rec.model.config.kind !== 'macridvae') {
          throw new UsageError(`macridvae ${cmd}: --explain needs a MacridVAE model, not '${rec.model.config.kind}'`);
        }
        if (k > rec.items) throw new UsageError(`macridvae ${cmd}: --k must be <= ${rec.items} (the model's items)`);
        const data = values.data ? await loadDataset(values.data) : undefined;
        if (data && data.itemIds.length !== rec.items) {
          throw new UsageError(
            `macridvae ${cmd}: the model scores ${rec.items} items but the dataset ${values.data} has ${data.itemIds.length}: not the model's dataset`,
          );
        }
        const itemIds = data?.itemIds ?? columnIds(rec.items);
        const titles = data?.itemTitles;
        const inputs: UserInput[] =
          values.items !== undefined
            ? [
                {
                  user: 'user',
                  columns: itemColumns(
                    cmd,
                    'items',
                    itemIds,
                    values.items.split(',').map((s) => s.trim()),
                  ),
                  unknown: 0,
                },
              ]
            : readHistories(values.input as string, itemIds);
        const recs = await rec.recommend(
          inputs.map((u) => u.columns),
          { k, includeSeen: values['include-seen'], explain: values.explain },
        );
        recs.forEach((r, u) => {
          const items = r.items.map((c, j) => ({
            id: itemIds[c],
            score: r.scores[j],
            ...(titles?.[c] ? { title: titles[c] } : {}),
            ...(r.concepts ? { concept: r.concepts[j], share: r.shares?.[j] } : {}),
          }));
          if (values.json) {
            printJson(jsonRecord(inputs[u], r, itemIds, titles));
            return;
          }
          const notes = [`${new Set(inputs[u].columns).size} known items`];
          if (inputs[u].unknown) notes.push(`${inputs[u].unknown} unknown skipped`);
          if (r.userConcepts) {
            notes.push(
              `concepts ${r.userConcepts
                .map((s, kk) => [kk, s] as const)
                .filter(([, s]) => s >= 0.05)
                .sort((a, b) => b[1] - a[1])
                .map(([kk, s]) => `${kk}:${(100 * s).toFixed(0)}%`)
                .join(' ')}`,
            );
          }
          console.log(`${inputs[u].user} (${notes.join('; ')})`);
          items.forEach((it, j) => {
            const why =
              it.concept !== undefined ? `  concept ${it.concept} (${(100 * (it.share ?? 0)).toFixed(0)}%)` : '';
            console.log(
              `  ${String(j + 1).padStart(3)}  ${it.score.toFixed(3).padStart(8)}  ${it.id.padEnd(8)} ${it.title ?? ''}${why}`,
            );
          });
        });
        return 0;
      } finally {
        rec.dispose();
      }
    } finally {
      await pool?.close();
    }
  },
};
