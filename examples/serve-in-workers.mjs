// The serving API inside your own worker_threads (no pool of ours): each worker opens the model once
// and answers batches of users; the main thread reads users (JSON lines), sends batches round-robin
// and prints the recommendations as JSON lines in input order.
//
//   node examples/serve-in-workers.mjs MODEL_DIR USERS.jsonl [THREADS] [K]
//
// Each worker holds its own copy of the model's arrays and its own WASM instance; for one process
// with one shared copy use `openRecommender(dir, { pool: new KernelPool({ threads }) })` instead.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { openRecommender, readUsers } from 'macridvae/serve';

const BATCH = 64;

if (isMainThread) {
  const [dir, input, threads = '2', k = '10'] = process.argv.slice(2);
  if (!dir || !input) {
    console.error('usage: node examples/serve-in-workers.mjs MODEL_DIR USERS.jsonl [THREADS] [K]');
    process.exit(2);
  }
  const workers = Array.from(
    { length: Number(threads) },
    () => new Worker(new URL(import.meta.url), { workerData: { dir, k: Number(k) } }),
  );
  const waiting = new Map(); // batch number → resolve
  for (const w of workers) {
    w.on('message', ({ batch, recs, error }) => waiting.get(batch)(error ? Promise.reject(new Error(error)) : recs));
    w.on('error', (e) => {
      console.error(e);
      process.exit(1);
    });
  }
  const send = (batch, users) =>
    new Promise((resolve) => {
      waiting.set(batch, resolve);
      workers[batch % workers.length].postMessage({ batch, users });
    });
  // Keep at most 2 batches per worker in flight; print in input order.
  const inFlight = [];
  let users = [];
  let n = 0;
  const drain = async (limit) => {
    while (inFlight.length > limit) {
      for (const r of await inFlight.shift()) process.stdout.write(`${JSON.stringify(r)}\n`);
    }
  };
  for await (const u of readUsers(input)) {
    users.push(u);
    if (users.length === BATCH) {
      inFlight.push(send(n++, users));
      users = [];
      await drain(2 * workers.length);
    }
  }
  if (users.length > 0) inFlight.push(send(n++, users));
  await drain(0);
  await Promise.all(workers.map((w) => w.terminate()));
} else {
  const rec = await openRecommender(workerData.dir);
  parentPort.on('message', async ({ batch, users }) => {
    try {
      const recs = await rec.recommend(users, { k: workerData.k, onUnknown: 'skip' });
      parentPort.postMessage({ batch, recs });
    } catch (e) {
      parentPort.postMessage({ batch, error: e instanceof Error ? e.message : String(e) });
    }
  });
}
