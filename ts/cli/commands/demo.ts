/**
 * `macridvae demo`: the main job of the quick start. For now it proves the pieces that everything
 * else stands on: the WASM kernels run on the main thread and on the worker pool and agree exactly,
 * and the TensorFlow.js backend loads.
 */
import { availableParallelism } from 'node:os';
import { csrFromRows } from '../../csr.js';
import { topk } from '../../kernels.js';
import { selectBackend } from '../../tf/backend.js';
import { Rng } from '../../util/rng.js';
import { KernelPool } from '../../workers/pool.js';
import { type Command, intOption, parse, printJson } from '../args.js';
import { backendOption } from './backend.js';

export const demo: Command = {
  name: 'demo',
  summary: 'run the quick-start job: kernels on the main thread and the worker pool, backend check',
  usage: 'macridvae demo [--users N] [--items N] [--k K] [--threads N] [--seed S] [--backend NAME] [--json]',
  async run(argv) {
    const cmd = 'demo';
    const { values } = parse(cmd, argv, {
      users: { type: 'string' },
      items: { type: 'string' },
      k: { type: 'string' },
      threads: { type: 'string' },
      seed: { type: 'string' },
      backend: { type: 'string' },
    });
    const users = intOption(cmd, 'users', values.users, 2000, 1);
    const items = intOption(cmd, 'items', values.items, 5000, 1);
    const k = intOption(cmd, 'k', values.k, 100, 1);
    const threads = intOption(cmd, 'threads', values.threads, availableParallelism(), 1);
    const seed = intOption(cmd, 'seed', values.seed, 98765);

    const rng = new Rng(seed);
    const scores = new Float32Array(users * items);
    for (let i = 0; i < scores.length; i++) scores[i] = rng.next();
    const rows: number[][] = [];
    for (let u = 0; u < users; u++) {
      const row = new Set<number>();
      const n = 1 + rng.int(50);
      while (row.size < Math.min(n, items)) row.add(rng.int(items));
      rows.push([...row]);
    }
    const exclude = csrFromRows(rows, items);

    let t0 = performance.now();
    const main = topk({ scores, users, items, exclude, k });
    const mainMs = performance.now() - t0;

    const pool = new KernelPool({ threads });
    try {
      t0 = performance.now();
      const chunk = Math.ceil(users / threads);
      const parts = await Promise.all(
        Array.from({ length: threads }, (_, t) => {
          const lo = Math.min(users, t * chunk);
          const hi = Math.min(users, lo + chunk);
          const sub = csrFromRows(rows.slice(lo, hi), items);
          return pool.run('topk', {
            scores: scores.slice(lo * items, hi * items),
            users: hi - lo,
            items,
            exclude: sub,
            k,
          });
        }),
      );
      const poolMs = performance.now() - t0;
      let same = true;
      let off = 0;
      for (const p of parts) {
        for (let i = 0; i < p.items.length; i++) if (p.items[i] !== main.items[off + i]) same = false;
        off += p.items.length;
      }
      const info = await selectBackend(backendOption(values.backend));
      const result = {
        users,
        items,
        k,
        threads,
        mainThreadMs: Number(mainMs.toFixed(1)),
        poolMs: Number(poolMs.toFixed(1)),
        identical: same && off === main.items.length,
        backend: info.name,
        backendThreads: info.threads,
      };
      if (values.json) printJson(result);
      else {
        console.log(`top-${k} of ${users} users × ${items} items (seed ${seed})`);
        console.log(`  WASM kernel, main thread : ${result.mainThreadMs} ms`);
        console.log(`  WASM kernel, ${threads} workers   : ${result.poolMs} ms (incl. worker start-up)`);
        console.log(`  identical results       : ${result.identical ? 'yes' : 'NO'}`);
        console.log(`  TensorFlow.js backend   : ${info.name}, ${info.threads ?? 'native'} thread(s)`);
      }
      return result.identical ? 0 : 1;
    } finally {
      await pool.close();
    }
  },
};
