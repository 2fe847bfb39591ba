/**
 * `macridvae recommend`: top-k items for new users from a trained model, by the dataset's item ids,
 * without TensorFlow.js (a thin layer over `openRecommender` and `rec.stream`, ts/serve/).
 *
 *   --model DIR [--data DIR] (--items ID,ID,… | --input FILE) [--output FILE] [--k N] [--include-seen]
 *   [--explain] [--threads N] [--batch-size N] [--queue URL --shards N] [--json]
 *
 * `--items` is one user's history (an unknown id is an error). `--input FILE` holds many users and is
 * streamed (memory stays flat whatever its size): JSON lines (`.jsonl`/`.ndjson`: `{"user": …, "items":
 * [ids]}`) or CSV (`user,item` per line, comma, tab or semicolon separated, further columns ignored, a
 * header line skipped; a user's lines must be contiguous); ids the model does not know are counted and
 * skipped. `--output FILE` writes one JSON object per user to FILE (atomically: a temporary file renamed
 * at the end) and prints a summary (users, users/s). The model directory's `items.json` gives ids,
 * titles and popularity; `--data DIR` (the model's dataset) gives them to directories written before it.
 * `--explain` (MacridVAE) adds each item's concept and share and the user's concept shares.
 * `--queue URL --shards N` (with `--input` and `--output`): the input's users in N contiguous ranges, one
 * job each on the `macridvae worker`s of that queue (ts/queue/coordinator.ts `recommendSharded`); the
 * output has the same bytes as without it.
 * `--json`: one object per user `{user, historyItems, unknownItems, items: [{id, score, title?, concept?,
 * share?}], concepts?, fallback?}`.
 */
import { createWriteStream, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { recommendSharded, type ShardedRecommendOptions } from '../../queue/coordinator.js';
import { csvHeader, userRecord } from '../../queue/shards.js';
import type { Recommendation } from '../../serve/service.js';
import { openRecommender } from '../../serve/service.js';
import { readUsers } from '../../serve/stream.js';
import { fileError } from '../../util/fs.js';
import { KernelPool } from '../../workers/pool.js';
import { type Command, intOption, parse, printJson, THREADS_OPTION, threadsOption, UsageError } from '../args.js';
import { ALLOW_OTHER_DATA, COLUMN_IDS_OPTION } from '../model-view.js';
import { CATALOG_DATA_OPTION, openCatalogData } from './serve.js';
import { queueConnection } from './worker.js';

export const RECOMMEND_OPTIONS = {
  model: { type: 'string', value: 'DIR', required: true, description: 'the trained model directory' },
  data: CATALOG_DATA_OPTION,
  items: { type: 'string', value: 'ID,ID,…', description: "one user's history (or --input)" },
  input: {
    type: 'string',
    value: 'FILE',
    description: "many users, streamed: JSON lines {user, items} (.jsonl) or 'user,item' lines (or --items)",
  },
  output: {
    type: 'string',
    value: 'FILE',
    description: 'write one JSON line per user there (atomically) and print a summary (with --input)',
  },
  k: { type: 'string', value: 'N', default: '10', description: 'items recommended per user' },
  'include-seen': { type: 'boolean', default: false, description: "allow items already in the user's history" },
  explain: {
    type: 'boolean',
    default: false,
    description: "each item's concept and share, and the user's concept shares (MacridVAE)",
  },
  threads: THREADS_OPTION,
  'batch-size': { type: 'string', value: 'N', default: '256', description: 'users scored per kernel call' },
  queue: {
    type: 'string',
    value: 'redis://HOST:PORT[/DB]',
    description: 'score --input in shards on `macridvae worker`s of this queue (needs --output, --shards)',
  },
  shards: {
    type: 'string',
    value: 'N',
    description: "with --queue: contiguous ranges of the input's users, one job each",
  },
  ...COLUMN_IDS_OPTION,
  ...ALLOW_OTHER_DATA,
} as const;

/** The people's view of one user. */
function print(r: Recommendation & { user: string }, history: number): void {
  const notes = [`${history} known items`];
  if (r.unknown.length) notes.push(`${r.unknown.length} unknown skipped`);
  if (r.fallback) notes.push('most popular items');
  if (r.concepts) {
    notes.push(
      `concepts ${r.concepts
        .map((s, kk) => [kk, s] as const)
        .filter(([, s]) => s >= 0.05)
        .sort((a, b) => b[1] - a[1])
        .map(([kk, s]) => `${kk}:${(100 * s).toFixed(0)}%`)
        .join(' ')}`,
    );
  }
  console.log(`${r.user} (${notes.join('; ')})`);
  r.items.forEach((it, j) => {
    const why = it.concept !== undefined ? `  concept ${it.concept} (${(100 * (it.share ?? 0)).toFixed(0)}%)` : '';
    console.log(
      `  ${String(j + 1).padStart(3)}  ${it.score.toFixed(3).padStart(8)}  ${it.id.padEnd(8)} ${it.title ?? ''}${why}`,
    );
  });
}

export const recommendCommand: Command = {
  name: 'recommend',
  summary: 'top-k items for new users by item ids (streamed, explained by concept; no TensorFlow.js)',
  options: RECOMMEND_OPTIONS,
  async run(argv) {
    const cmd = 'recommend';
    const { values } = parse(cmd, argv, RECOMMEND_OPTIONS);
    if (!values.model) throw new UsageError(`macridvae ${cmd}: --model DIR is required`);
    if ((values.items === undefined) === (values.input === undefined)) {
      throw new UsageError(`macridvae ${cmd}: give exactly one of --items ID,ID,… or --input FILE`);
    }
    if (values.output !== undefined && values.input === undefined) {
      throw new UsageError(`macridvae ${cmd}: --output needs --input FILE`);
    }
    if (values.queue !== undefined && (values.output === undefined || values.shards === undefined)) {
      throw new UsageError(`macridvae ${cmd}: --queue needs --input FILE, --output FILE and --shards N`);
    }
    if (values.shards !== undefined && values.queue === undefined) {
      throw new UsageError(`macridvae ${cmd}: --shards needs --queue redis://HOST:PORT[/DB]`);
    }
    const k = intOption(cmd, 'k', values.k, 10, 1);
    const threads = threadsOption(cmd, values.threads);
    const batchSize = intOption(cmd, 'batch-size', values['batch-size'], 256, 1);
    const pool = threads > 1 ? new KernelPool({ threads }) : undefined;
    try {
      const warnings: string[] = [];
      const data = await openCatalogData(
        cmd,
        values.model,
        values.data,
        values['column-ids'],
        values['allow-other-data'],
        warnings,
      );
      const rec = await openRecommender(values.model, { pool, data, batchSize });
      if (values.explain && rec.model.kind !== 'macridvae') {
        throw new UsageError(`macridvae ${cmd}: --explain needs a MacridVAE model, not '${rec.model.kind}'`);
      }
      if (k > rec.items) throw new UsageError(`macridvae ${cmd}: --k must be <= ${rec.items} (the model's items)`);
      const options = { k, includeSeen: values['include-seen'], explain: values.explain };
      if (values.items !== undefined) {
        const ids = values.items.split(',').map((s) => s.trim());
        for (const id of ids) {
          if (rec.columnOf(id) === undefined) {
            throw new UsageError(`macridvae ${cmd}: --items: item '${id}' is not an item of the model`);
          }
        }
        const [r] = await rec.recommend([{ user: 'user', items: ids }], options);
        const out = r as Recommendation & { user: string };
        const known = new Set(ids).size;
        if (values.json) printJson({ ...userRecord(out, known), ...(warnings.length > 0 ? { warnings } : {}) });
        else print(out, known);
        return 0;
      }
      const input = values.input as string;
      try {
        // Name the user's path for a folder or a missing file, before the stream starts.
        if (statSync(input).isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR', path: input });
      } catch (e) {
        throw fileError(e, 'read', input);
      }
      // A CSV header: a first line whose item field is no item id and starts like a word.
      if (values.queue !== undefined) {
        return await sharded(values.queue, values.shards, {
          modelDir: values.model,
          dataDir: data === undefined ? undefined : values.data,
          input,
          output: values.output as string,
          k,
          includeSeen: values['include-seen'],
          explain: values.explain,
          batchSize,
          rec,
          json: values.json,
        });
      }
      const users = readUsers(input, { isHeader: csvHeader(rec) });
      // Known distinct ids per user, in input order (results come back in the same order).
      const known: number[] = [];
      let next = 0;
      const counted = (async function* () {
        for await (const u of users) {
          let n = 0;
          const distinct = new Set(u.items);
          for (const id of distinct) if (rec.columnOf(id) !== undefined) n++;
          known.push(n);
          yield u;
        }
      })();
      const recs = rec.stream(counted, { ...options, onUnknown: 'skip', batchSize, inFlight: 2 });
      const history = () => {
        const n = known[next];
        // Drop what was consumed now and then, so the queue stays as short as the batches in flight.
        if (++next >= 4096) {
          known.splice(0, next);
          next = 0;
        }
        return n;
      };
      if (values.output === undefined) {
        for await (const r of recs) {
          if (values.json) printJson(userRecord(r, history()));
          else print(r, history());
        }
        return 0;
      }
      const output = values.output;
      const tmp = join(dirname(output), `.${basename(output)}.${process.pid}.tmp`);
      const t0 = performance.now();
      let count = 0;
      let unknown = 0;
      let fallback = 0;
      try {
        await pipeline(
          recs,
          async function* (src: AsyncIterable<Recommendation & { user: string }>) {
            for await (const r of src) {
              count++;
              unknown += r.unknown.length;
              if (r.fallback) fallback++;
              yield `${JSON.stringify(userRecord(r, history()))}\n`;
            }
          },
          createWriteStream(tmp),
        );
        renameSync(tmp, output);
      } catch (e) {
        rmSync(tmp, { force: true });
        throw e;
      }
      const seconds = (performance.now() - t0) / 1000;
      const summary = {
        output,
        users: count,
        seconds: Number(seconds.toFixed(3)),
        usersPerSecond: Math.round(count / Math.max(seconds, 1e-9)),
        unknownItems: unknown,
        popularityFallback: fallback,
        maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      };
      if (values.json) printJson(summary);
      else {
        console.log(
          `wrote ${count} users to ${output} in ${summary.seconds} s (${summary.usersPerSecond} users/s; ${unknown} unknown ids skipped; ${fallback} most-popular fallbacks; peak RSS ${summary.maxRssMB} MB)`,
        );
      }
      return 0;
    } finally {
      await pool?.close();
    }
  },
};

/** `--queue URL --shards N`: the ranges scored by the queue's workers, merged into `--output`. */
async function sharded(
  url: string,
  shardsText: string | undefined,
  o: Omit<ShardedRecommendOptions, 'connection' | 'shards'> & { json: boolean },
): Promise<number> {
  const cmd = 'recommend';
  const connection = queueConnection(cmd, url);
  const shards = intOption(cmd, 'shards', shardsText, 1, 1);
  const t0 = performance.now();
  const r = await recommendSharded({
    ...o,
    connection,
    shards,
    onShard: (i, s) => {
      if (!o.json) console.log(`shard ${i}: ${s.users} users in ${s.seconds.toFixed(3)} s`);
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const summary = {
    output: r.output,
    users: r.users,
    shards: r.shards,
    seconds: Number(seconds.toFixed(3)),
    usersPerSecond: Math.round(r.users / Math.max(seconds, 1e-9)),
    unknownItems: r.unknownItems,
    popularityFallback: r.popularityFallback,
    scanSeconds: Number(r.scanSeconds.toFixed(3)),
    mergeSeconds: Number(r.mergeSeconds.toFixed(3)),
  };
  if (o.json) printJson(summary);
  else {
    console.log(
      `wrote ${r.users} users to ${r.output} from ${r.shards} shards in ${summary.seconds} s (${summary.usersPerSecond} users/s; input scan ${summary.scanSeconds} s, merge ${summary.mergeSeconds} s; ${r.unknownItems} unknown ids skipped; ${r.popularityFallback} most-popular fallbacks)`,
    );
  }
  return 0;
}
