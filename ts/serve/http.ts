/**
 * The HTTP service over a {@link ServingRecommender} (fastify): the routes, schemas, limits and error
 * codes of `docs/http-api.md`. {@link buildServer} returns the fastify instance before `listen`, so tests
 * use `inject` and other code may `register` plugins (e.g. the explorer page).
 *
 * Concurrent `/recommend` requests are micro-batched ({@link MicroBatcher}): requests that arrive
 * within `maxWaitMs` of each other (and share concept weights) are scored in one kernel call per group
 * of users, split across the worker pool; each request gets its own k, exclusions and candidates back.
 */
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { InvalidArgumentError, MacridError, UnknownItemError } from '../errors.js';
import { checkInt } from '../validate.js';
import { ModelKindError, type Recommendation, type RecommendOptions, type ServingRecommender } from './service.js';

export interface ServerLimits {
  /** Largest `k` (also capped by the item count). Default 1000. */
  maxK?: number;
  /** Longest history (and exclude/candidates list). Default 10,000 ids. */
  maxHistory?: number;
  /** Most ids in one `/similar` request. Default 100. */
  maxIds?: number;
  /** Largest request body in bytes (413 beyond). Default 1 MiB. */
  bodyLimit?: number;
}

export interface BatchOptions {
  /** Users per batch at most. Default 256. */
  maxUsers?: number;
  /** How long the first request of a batch waits for others, ms. Default 2. */
  maxWaitMs?: number;
}

export interface ServerOptions {
  service: ServingRecommender;
  limits?: ServerLimits;
  batch?: BatchOptions;
  /** fastify's logger option (default false). */
  logger?: boolean;
}

interface Pending {
  user: ReturnType<ServingRecommender['prepare']>;
  explain: boolean;
  resolve: (r: Recommendation) => void;
  reject: (e: unknown) => void;
}

/** Collects single-user requests for a short while and scores them together (see the module doc). */
export class MicroBatcher {
  private readonly queues = new Map<string, { weights?: Float32Array; items: Pending[]; timer?: NodeJS.Timeout }>();
  private readonly maxUsers: number;
  private readonly maxWaitMs: number;
  /** Batches scored so far and users in them (for tests and /health). */
  readonly stats = { batches: 0, users: 0 };

  constructor(
    private readonly service: ServingRecommender,
    options: BatchOptions = {},
  ) {
    this.maxUsers = checkInt('MicroBatcher', 'maxUsers', options.maxUsers ?? 256, 1);
    this.maxWaitMs = checkInt('MicroBatcher', 'maxWaitMs', options.maxWaitMs ?? 2, 0);
  }

  submit(user: Pending['user'], explain: boolean, weights?: Float32Array): Promise<Recommendation> {
    const key = weights ? Array.from(weights).join(',') : '';
    let q = this.queues.get(key);
    if (!q) {
      q = { weights, items: [] };
      this.queues.set(key, q);
    }
    const queue = q;
    const p = new Promise<Recommendation>((resolve, reject) => queue.items.push({ user, explain, resolve, reject }));
    if (queue.items.length >= this.maxUsers) this.flush(key);
    else if (!queue.timer) queue.timer = setTimeout(() => this.flush(key), this.maxWaitMs);
    return p;
  }

  private flush(key: string): void {
    const q = this.queues.get(key);
    if (!q) return;
    this.queues.delete(key);
    if (q.timer) clearTimeout(q.timer);
    const items = q.items;
    this.stats.batches++;
    this.stats.users += items.length;
    const explain = items.some((p) => p.explain);
    this.service
      .run(
        items.map((p) => p.user),
        { explain, weights: q.weights },
      )
      .then(
        (recs) =>
          items.forEach((p, j) => {
            const r = recs[j];
            if (!p.explain) {
              delete r.concepts;
              for (const it of r.items) {
                delete it.concept;
                delete it.share;
              }
            }
            p.resolve(r);
          }),
        (e) => {
          for (const p of items) p.reject(e);
        },
      );
  }
}

const ID = { type: 'string', minLength: 1, maxLength: 256 } as const;
const ON_UNKNOWN = { type: 'string', enum: ['error', 'skip'] } as const;

/** A 400 with our own code. */
function badRequest(code: string, message: string): FastifyError {
  const e = new Error(message) as FastifyError;
  e.statusCode = 400;
  e.code = code;
  return e;
}

/**
 * Builds the fastify app (not listening). Routes: `POST /recommend`, `/similar`, `/explain`,
 * `/traverse`, `GET /items`, `/concepts`, `/health` (see `docs/http-api.md`).
 */
export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const fn = 'buildServer';
  const svc = options.service;
  const lim = options.limits ?? {};
  const maxK = Math.min(checkInt(fn, 'limits.maxK', lim.maxK ?? 1000, 1), svc.items);
  const maxHistory = checkInt(fn, 'limits.maxHistory', lim.maxHistory ?? 10_000, 1);
  const maxIds = checkInt(fn, 'limits.maxIds', lim.maxIds ?? 100, 1);
  const bodyLimit = checkInt(fn, 'limits.bodyLimit', lim.bodyLimit ?? 1 << 20, 1024);
  const K = svc.concepts;
  const macrid = svc.model.kind === 'macridvae';
  const d = svc.model.kind === 'macridvae' ? svc.model.d : 0;
  const batcher = new MicroBatcher(svc, options.batch);

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit,
    // Reject what the schema does not allow instead of coercing or dropping it.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false } },
  });
  app.decorate('batcher', batcher);
  // JSON only: any other content type (fastify also parses text/plain by default) answers 415.
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((err: FastifyError, _req, reply) => {
    if (err.validation) {
      return reply
        .status(400)
        .send({ statusCode: 400, code: 'FST_ERR_VALIDATION', error: 'Bad Request', message: err.message });
    }
    if ((err as Error) instanceof UnknownItemError) {
      const e = err as unknown as UnknownItemError;
      return reply
        .status(400)
        .send({ statusCode: 400, code: 'MV_UNKNOWN_ITEM', error: 'Bad Request', message: e.message, id: e.id });
    }
    if ((err as Error) instanceof ModelKindError) {
      const e = err as unknown as ModelKindError;
      return reply
        .status(400)
        .send({ statusCode: 400, code: 'MV_MODEL_KIND', error: 'Bad Request', message: e.message, kind: e.kind });
    }
    if ((err as Error) instanceof InvalidArgumentError) {
      return reply
        .status(400)
        .send({ statusCode: 400, code: 'MV_BAD_REQUEST', error: 'Bad Request', message: err.message });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500 && !((err as Error) instanceof MacridError)) app.log.error(err);
    return reply.status(status).send({
      statusCode: status,
      code: err.code ?? (status === 500 ? 'MV_INTERNAL' : 'FST_ERR'),
      error: status === 500 ? 'Internal Server Error' : (err.name ?? 'Error'),
      message: err.message,
    });
  });

  const needMacrid = (what: string) => {
    if (!macrid) throw badRequest('MV_NOT_MACRID', `${what} needs a MacridVAE model, not '${svc.model.kind}'`);
  };

  app.post<{ Body: RecommendOptions & { history: string[] } }>(
    '/recommend',
    {
      schema: {
        body: {
          type: 'object',
          required: ['history'],
          additionalProperties: false,
          properties: {
            history: { type: 'array', items: ID, maxItems: maxHistory },
            k: { type: 'integer', minimum: 1, maximum: maxK },
            exclude: { type: 'array', items: ID, maxItems: maxHistory },
            candidates: { type: 'array', items: ID, maxItems: maxHistory },
            includeSeen: { type: 'boolean' },
            explain: { type: 'boolean' },
            conceptWeights: { type: 'array', items: { type: 'number', minimum: 0 }, maxItems: 1024 },
            onUnknown: ON_UNKNOWN,
          },
        },
      },
    },
    async (req) => {
      const b = req.body;
      if (b.explain) needMacrid("'explain'");
      let weights: Float32Array | undefined;
      if (b.conceptWeights !== undefined) {
        needMacrid("'conceptWeights'");
        if (b.conceptWeights.length !== K) {
          throw badRequest('MV_BAD_REQUEST', `body/conceptWeights must have ${K} entries (one per concept)`);
        }
        if (b.conceptWeights.every((w) => w === 0)) {
          throw badRequest('MV_BAD_REQUEST', 'body/conceptWeights must not be all 0');
        }
        weights = Float32Array.from(b.conceptWeights);
      }
      const user = svc.prepare('recommend', b.history, 0, { ...b, onUnknown: b.onUnknown ?? 'skip' });
      const r = await batcher.submit(user, b.explain ?? false, weights);
      return r;
    },
  );

  app.post<{ Body: { ids: string[]; k?: number; concept?: number; onUnknown?: 'error' | 'skip' } }>(
    '/similar',
    {
      schema: {
        body: {
          type: 'object',
          required: ['ids'],
          additionalProperties: false,
          properties: {
            ids: { type: 'array', items: ID, minItems: 1, maxItems: maxIds },
            k: { type: 'integer', minimum: 1, maximum: maxK },
            concept: { type: 'integer', minimum: 0, maximum: Math.max(0, K - 1) },
            onUnknown: ON_UNKNOWN,
          },
        },
      },
    },
    async (req) => {
      const b = req.body;
      if (b.concept !== undefined) needMacrid("'concept'");
      return svc.similarItems(b.ids, { k: b.k, concept: b.concept, onUnknown: b.onUnknown ?? 'skip' });
    },
  );

  app.post<{ Body: { history: string[]; onUnknown?: 'error' | 'skip' } }>(
    '/explain',
    {
      schema: {
        body: {
          type: 'object',
          required: ['history'],
          additionalProperties: false,
          properties: { history: { type: 'array', items: ID, maxItems: maxHistory }, onUnknown: ON_UNKNOWN },
        },
      },
    },
    async (req) => {
      needMacrid('/explain');
      return svc.explain(req.body.history, { onUnknown: req.body.onUnknown ?? 'skip' });
    },
  );

  app.post<{
    Body: {
      history?: string[];
      item?: string;
      concept?: number;
      dimension: number;
      steps?: number;
      beam?: number;
      gamma?: number;
      onUnknown?: 'error' | 'skip';
    };
  }>(
    '/traverse',
    {
      schema: {
        body: {
          type: 'object',
          required: ['dimension'],
          additionalProperties: false,
          properties: {
            history: { type: 'array', items: ID, maxItems: maxHistory },
            item: ID,
            concept: { type: 'integer', minimum: 0, maximum: Math.max(0, K - 1) },
            dimension: { type: 'integer', minimum: 0, maximum: Math.max(0, d - 1) },
            steps: { type: 'integer', minimum: 1, maximum: 50 },
            beam: { type: 'integer', minimum: 1, maximum: 500 },
            gamma: { type: 'number', minimum: 0, maximum: 1e6 },
            onUnknown: ON_UNKNOWN,
          },
        },
      },
    },
    async (req) => {
      needMacrid('/traverse');
      const b = req.body;
      if ((b.history === undefined) === (b.item === undefined)) {
        throw badRequest('MV_BAD_REQUEST', "body must have exactly one of 'history' (with 'concept') or 'item'");
      }
      if (b.history !== undefined && b.concept === undefined) {
        throw badRequest('MV_BAD_REQUEST', "body/concept is required with 'history'");
      }
      const start = b.item !== undefined ? { item: b.item } : { history: b.history as string[] };
      return svc.traverse(start, {
        concept: b.concept,
        dimension: b.dimension,
        steps: b.steps,
        beam: b.beam,
        gamma: b.gamma,
        onUnknown: b.onUnknown ?? 'skip',
      });
    },
  );

  app.get<{ Querystring: { q?: string; limit?: number } }>(
    '/items',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { q: { type: 'string', maxLength: 256 }, limit: { type: 'string', pattern: '^[0-9]{1,4}$' } },
        },
      },
    },
    async (req) => {
      const limit = req.query.limit === undefined ? 20 : Number(req.query.limit);
      if (limit < 1 || limit > 1000) throw badRequest('FST_ERR_VALIDATION', 'querystring/limit must be in 1 … 1000');
      return { items: svc.searchItems(req.query.q, limit) };
    },
  );

  app.get<{ Querystring: { k?: string } }>(
    '/concepts',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { k: { type: 'string', pattern: '^[0-9]{1,3}$' } },
        },
      },
    },
    async (req) => {
      needMacrid('/concepts');
      const k = req.query.k === undefined ? 10 : Number(req.query.k);
      if (k < 1 || k > 100) throw badRequest('FST_ERR_VALIDATION', 'querystring/k must be in 1 … 100');
      return { concepts: svc.conceptItems(k) };
    },
  );

  app.get('/health', async () => ({
    status: 'ok',
    model: {
      kind: svc.model.kind,
      items: svc.items,
      concepts: K,
      ...(macrid ? { d } : {}),
      titles: svc.catalog.titles !== undefined,
      ...(svc.manifest ? { bestEpoch: svc.manifest.bestEpoch } : {}),
    },
    limits: { maxK, maxHistory, maxIds, bodyLimit },
    batches: batcher.stats,
  }));

  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    batcher: MicroBatcher;
  }
}
