/**
 * Streaming (ts/serve/stream.ts): `rec.stream` yields what `recommend` answers, in input order, for any
 * batch size and number of batches in flight, from sync and async sources and inside
 * `stream.pipeline`; it reads the source only a bounded distance ahead of the consumer
 * (backpressure); `readUsers` parses JSON lines and CSV naming the line of an error; and the
 * documented worker_threads example (examples/serve-in-workers.mjs, through `macridvae/serve` in
 * dist/) answers the same.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { ParseError } from '../../ts/errors.js';
import { resolveModelConfig } from '../../ts/models/config.js';
import { openRecommender, type Recommendation, type ServingRecommender } from '../../ts/serve/service.js';
import { readUsers, type StreamUser } from '../../ts/serve/stream.js';
import { selectBackend } from '../../ts/tf/backend.js';
import { trainModel } from '../../ts/train/trainer.js';
import { closeTestPool, testPool } from '../helpers/implementations.js';
import { syntheticSplit } from '../helpers/synthetic-split.js';

const base = syntheticSplit(33);
const data = { ...base, itemIds: Array.from({ length: base.items }, (_, i) => `i${i}`) };
const root = mkdtempSync(join(tmpdir(), 'macridvae-stream-'));
const modelDir = join(root, 'model');
let rec: ServingRecommender;

const users: StreamUser[] = Array.from({ length: 23 }, (_, u) => ({
  user: `u${u}`,
  items: u === 5 ? ['nope'] : Array.from({ length: 2 + (u % 4) }, (_, j) => `i${(u * 13 + j * 7) % base.items}`),
}));

test.before(async () => {
  await selectBackend('wasm');
  const r = await trainModel({
    model: resolveModelConfig('macridvae', { concepts: 3, d: 8 }),
    train: { epochs: 2, batchSize: 40, seed: 5, lr: 3e-3 },
    data,
    out: modelDir,
  });
  r.model.dispose();
  rec = await openRecommender(modelDir, { pool: testPool(), minWork: 0 });
});
test.after.always(async () => {
  rmSync(root, { recursive: true, force: true });
  await closeTestPool();
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test.serial('stream = recommend, in input order, any batch size and in-flight count', async (t) => {
  const want = await rec.recommend(users, { k: 4, onUnknown: 'skip' });
  for (const [batchSize, inFlight] of [
    [1, 1],
    [3, 2],
    [7, 3],
    [100, 2],
  ]) {
    t.deepEqual(await collect(rec.stream(users, { k: 4, onUnknown: 'skip', batchSize, inFlight })), want);
    t.deepEqual(
      await collect(rec.stream(Readable.from(users), { k: 4, onUnknown: 'skip', batchSize, inFlight })),
      want,
    );
  }
  t.deepEqual(
    want.map((r) => r.user),
    users.map((u) => u.user),
  );
  t.is(want[5].fallback, 'popularity');
  // A bad user fails the stream with an error naming it.
  await t.throwsAsync(collect(rec.stream(users, { k: 4 })), { message: /item 'nope' of user 'u5'/ });
});

test.serial('backpressure: the source is read at most batchSize × (inFlight + 1) ahead', async (t) => {
  let pulled = 0;
  const source = (function* () {
    for (let u = 0; u < 10_000; u++) {
      pulled++;
      yield { user: `u${u}`, items: [`i${u % base.items}`] };
    }
  })();
  const it = rec.stream(source, { k: 2, batchSize: 4, inFlight: 2 });
  let taken = 0;
  for await (const _ of it) {
    taken++;
    t.true(pulled - taken <= 4 * 3, `pulled ${pulled}, consumed ${taken}`);
    if (taken === 40) break;
  }
  t.true(pulled < 60);
});

test.serial('inside stream.pipeline: users in, JSON lines out', async (t) => {
  const lines: string[] = [];
  await pipeline(
    Readable.from(users),
    (src: AsyncIterable<StreamUser>) => rec.stream(src, { k: 3, onUnknown: 'skip', batchSize: 5 }),
    async function* (recs: AsyncIterable<Recommendation>) {
      for await (const r of recs) yield `${JSON.stringify(r)}\n`;
    },
    new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );
  t.deepEqual(
    lines.map((l) => JSON.parse(l).user),
    users.map((u) => u.user),
  );
});

test.serial('readUsers: JSON lines and contiguous CSV; errors name the line', async (t) => {
  const jsonl = join(root, 'u.jsonl');
  writeFileSync(jsonl, '{"user": "a", "items": ["1", 2]}\n\n{"items": []}\n');
  t.deepEqual(await collect(readUsers(jsonl)), [
    { user: 'a', items: ['1', '2'] },
    { user: '3', items: [] },
  ]);
  writeFileSync(jsonl, '{"user": "a", "items": ["1"]}\n{"user": "b", "items": ["1"\n');
  await t.throwsAsync(collect(readUsers(jsonl)), { instanceOf: ParseError, message: /u\.jsonl:2: invalid JSON/ });
  const csv = join(root, 'u.csv');
  writeFileSync(csv, 'userId,movieId,rating\n1,10,4\n1,11,5\n2,10,3\n');
  t.deepEqual(await collect(readUsers(csv)), [
    { user: '1', items: ['10', '11'] },
    { user: '2', items: ['10'] },
  ]);
  writeFileSync(csv, '1,10\n2,10\n1,11\n');
  await t.throwsAsync(collect(readUsers(csv)), { message: /u\.csv:3: user '1' appears again/ });
  writeFileSync(csv, '1,10\n2\n');
  await t.throwsAsync(collect(readUsers(csv)), { message: /u\.csv:2: expected 'user,item'/ });
});

test.serial('the worker_threads example answers what recommend answers', async (t) => {
  const input = join(root, 'users.jsonl');
  writeFileSync(input, users.map((u) => JSON.stringify(u)).join('\n'));
  const cwd = fileURLToPath(new URL('../..', import.meta.url));
  const r = spawnSync(process.execPath, ['examples/serve-in-workers.mjs', modelDir, input, '2', '4'], {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
  });
  t.is(r.status, 0, r.stderr);
  const got = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.deepEqual(got, JSON.parse(JSON.stringify(await rec.recommend(users, { k: 4, onUnknown: 'skip' }))));
});
