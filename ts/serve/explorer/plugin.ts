/**
 * The explorer page (paper §2.4: a person steers the recommendations by concept) as a fastify plugin:
 * `macridvae serve` registers it next to the HTTP API of `docs/http-api.md`, which the page calls.
 *
 * ```ts
 * const app = await buildServer({ service });
 * await app.register(explorerPlugin, { source: service });   // GET / is the page
 * ```
 *
 * Routes (documented in `docs/explorer.md`):
 * - `GET /` the page, `GET /explorer/<file>` its scripts and styles (plain HTML/CSS/ES modules shipped in
 *   the package's `web/explorer/`, no build step);
 * - `GET /explorer/concepts?top=5` each concept's label (`concepts.ts`);
 * - `GET /explorer/map` the 2-D item map (`map.ts`), computed on first request (t-SNE, seconds, on
 *   the source's worker pool or a one-thread pool of the plugin's own) and kept.
 *
 * MultVAE/MultDAE models have no concepts: the two data routes answer 400 `MV_NOT_MACRID` and the page
 * shows plain recommendations.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { InvalidArgumentError } from '../../errors.js';
import { packageRoot } from '../../wasm/loader.js';
import { KernelPool } from '../../workers/pool.js';
import {
  type ConceptState,
  conceptLabels,
  conceptState,
  type ExplorerCatalog,
  type ExplorerModel,
} from './concepts.js';
import { type ExplorerMap, type ExplorerMapOptions, explorerMap } from './map.js';

/** What the plugin reads; a `ServingRecommender` (`openRecommender`) fits. */
export interface ExplorerSource {
  model: ExplorerModel;
  catalog: ExplorerCatalog;
  /** The pool the map's t-SNE runs on (else the plugin starts a one-thread pool for it). */
  pool?: KernelPool;
}

export interface ExplorerPluginOptions {
  source: ExplorerSource;
  /** The map's options (items embedded, iterations, perplexity, seed). */
  map?: Omit<ExplorerMapOptions, 'pool'>;
  /** Where the page's files are. Default: `web/explorer` of the package. */
  root?: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** The page's files, read once: name → body and type (only these names are served). */
function readPage(root: string): Map<string, { body: Buffer; type: string }> {
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(root)) {
    const type = TYPES[extname(name)];
    if (type) files.set(name, { body: readFileSync(join(root, name)), type });
  }
  if (!files.has('index.html'))
    throw new InvalidArgumentError(`the explorer page is missing: no index.html in ${root}`);
  return files;
}

function notMacrid(kind: string): FastifyError {
  const e = new Error(`the explorer's concepts and map need a MacridVAE model, not '${kind}'`) as FastifyError;
  e.statusCode = 400;
  e.code = 'MV_NOT_MACRID';
  return e;
}

/** The explorer plugin (see the module doc). */
export async function explorerPlugin(app: FastifyInstance, options: ExplorerPluginOptions): Promise<void> {
  const { source } = options;
  const files = readPage(options.root ?? join(packageRoot(), 'web', 'explorer'));
  const macrid = source.model.kind === 'macridvae';
  let state: ConceptState | undefined;
  const concepts = (): ConceptState => {
    if (!macrid) throw notMacrid(source.model.kind);
    state ??= conceptState(source.model);
    return state;
  };
  let ownPool: KernelPool | undefined;
  let map: Promise<ExplorerMap> | undefined;
  app.addHook('onClose', async () => {
    // A map still being computed finishes on the pool before the pool closes.
    await map?.catch(() => undefined);
    await ownPool?.close();
  });

  const send = (name: string) => {
    const f = files.get(name)!;
    return (_req: unknown, reply: FastifyReply) => reply.type(f.type).send(f.body);
  };
  app.get('/', send('index.html'));
  for (const name of files.keys()) app.get(`/explorer/${name}`, send(name));

  app.get<{ Querystring: { top?: string } }>(
    '/explorer/concepts',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { top: { type: 'string', pattern: '^[1-9][0-9]?$' } },
        },
      },
    },
    async (req) => {
      const s = concepts();
      return { concepts: conceptLabels(s, source.catalog, req.query.top === undefined ? 5 : Number(req.query.top)) };
    },
  );

  app.get('/explorer/map', async () => {
    const s = concepts();
    if (!map) {
      const pool = source.pool ?? (ownPool ??= new KernelPool({ threads: 1, idleTimeoutMs: 1000 }));
      map = explorerMap(s, source.catalog, { ...options.map, pool });
      // A failed map is not kept: the next request tries again.
      map.catch(() => {
        map = undefined;
      });
    }
    return map;
  });
}
