/**
 * `macridvae serve`: the HTTP service of `docs/http-api.md` over a model directory (a thin layer over
 * `openRecommender` + `buildServer`, ts/serve/).
 *
 *   --model DIR [--data DIR] [--host 127.0.0.1] [--port 8080] [--threads N] [--max-k N]
 *   [--max-history N] [--body-limit BYTES] [--json]
 *
 * Binds to 127.0.0.1 unless `--host` says otherwise. Prints the address it listens on (`--json`:
 * `{"listening": "http://…"}`). SIGTERM or SIGINT: stops accepting connections, finishes the requests in
 * flight, closes the worker pool and exits 0. `--data DIR` (the model's dataset) gives ids, titles and
 * popularity to model directories written before `items.json`. The explorer page (docs/explorer.md) is at `/`.
 */

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { type Dataset, loadDataset } from '../../data/store.js';
import { explorerPlugin } from '../../serve/explorer/plugin.js';
import { buildServer } from '../../serve/http.js';
import { openRecommender } from '../../serve/service.js';
import { CATALOG_FILE } from '../../train/catalog.js';
import { datasetFingerprint, readManifest } from '../../train/checkpoint.js';
import { KernelPool } from '../../workers/pool.js';
import { type Command, intOption, parse, printJson, UsageError } from '../args.js';
import { ALLOW_OTHER_DATA, COLUMN_IDS_OPTION, checkSameDataset, requireIdSource } from '../model-view.js';

/** `--data DIR` of serve and recommend: only model directories written before items.json need it. */
export const CATALOG_DATA_OPTION = {
  type: 'string',
  value: 'DIR',
  description: "the model's dataset, for model directories without items.json (ids, titles, popularity)",
} as const;

/**
 * The dataset a model directory needs for its item ids: none when it has `items.json`; else `--data`
 * (checked to be the model's dataset by fingerprint) or, asked for, column numbers (`--column-ids`).
 */
export async function openCatalogData(
  cmd: string,
  model: string,
  data: string | undefined,
  columnIds: boolean,
  allowOther: boolean,
): Promise<Dataset | undefined> {
  const own = existsSync(join(model, CATALOG_FILE));
  if (!own) requireIdSource(cmd, data, columnIds);
  if (data === undefined) return undefined;
  const ds = await loadDataset(data);
  const m = readManifest(model);
  checkSameDataset(
    cmd,
    { dir: model, fingerprint: m.dataset?.fingerprint, items: m.items },
    { dir: data, fingerprint: datasetFingerprint(ds), items: ds.itemIds.length },
    allowOther,
  );
  return own ? undefined : ds;
}

export const SERVE_OPTIONS = {
  model: { type: 'string', value: 'DIR', required: true, description: 'the trained model directory' },
  data: CATALOG_DATA_OPTION,
  host: {
    type: 'string',
    value: 'HOST',
    default: '127.0.0.1',
    description: 'address to bind (loopback unless told otherwise)',
  },
  port: { type: 'string', value: 'N', default: '8080', description: 'TCP port (0: any free port)' },
  threads: {
    type: 'string',
    value: 'N',
    defaultText: 'cores',
    description: 'worker threads scoring the micro-batches (1 = no pool)',
  },
  'max-k': { type: 'string', value: 'N', default: '1000', description: 'largest k a request may ask' },
  'max-history': { type: 'string', value: 'N', default: '10000', description: 'longest history a request may send' },
  'body-limit': {
    type: 'string',
    value: 'BYTES',
    default: '1048576',
    description: 'largest request body (413 beyond)',
  },
  ...COLUMN_IDS_OPTION,
  ...ALLOW_OTHER_DATA,
} as const;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'HTTP service: recommend, similar, explain, traverse by item ids (docs/http-api.md)',
  options: SERVE_OPTIONS,
  async run(argv) {
    const cmd = 'serve';
    const { values } = parse(cmd, argv, SERVE_OPTIONS);
    if (!values.model) throw new UsageError(`macridvae ${cmd}: --model DIR is required`);
    const port = intOption(cmd, 'port', values.port, 8080, 0);
    if (port > 65535) throw new UsageError(`macridvae ${cmd}: --port must be <= 65535 but got ${port}`);
    const threads = intOption(cmd, 'threads', values.threads, availableParallelism(), 1);
    const limits = {
      maxK: intOption(cmd, 'max-k', values['max-k'], 1000, 1),
      maxHistory: intOption(cmd, 'max-history', values['max-history'], 10_000, 1),
      bodyLimit: intOption(cmd, 'body-limit', values['body-limit'], 1 << 20, 1024),
    };
    const pool = threads > 1 ? new KernelPool({ threads, idleTimeoutMs: 60_000 }) : undefined;
    try {
      const data = await openCatalogData(
        cmd,
        values.model,
        values.data,
        values['column-ids'],
        values['allow-other-data'],
      );
      const rec = await openRecommender(values.model, { pool, data });
      const app = await buildServer({ service: rec, limits });
      // The explorer page at / (docs/explorer.md).
      await app.register(explorerPlugin, { source: rec });
      const url = await app.listen({ host: values.host, port });
      if (values.json) printJson({ listening: url, items: rec.items, kind: rec.model.kind });
      else
        console.log(
          `macridvae serve: listening on ${url} (${rec.model.kind}, ${rec.items} items, ${threads} threads); the explorer page: ${url}/`,
        );
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          // close() stops accepting connections and waits for the requests in flight.
          app.close().then(resolve, resolve);
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
      });
      await rec.close();
      if (!values.json) console.log('macridvae serve: stopped');
      return 0;
    } finally {
      await pool?.close();
    }
  },
};
