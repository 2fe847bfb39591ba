/**
 * bench-ease: EASE's `items × items` solve in the Rust core (WASM, one thread) next to the project's
 * reference numpy EASE (`../shared/reference/torch/baselines.py`, `ease()`: `np.linalg.inv` in float64)
 * on the same training matrix, in one run, for `npm run bench:ease`.
 *
 * Why: EASE is the strongest reference model and its cost is the `O(items³)` solve; the machine is
 * shared, so only the ratio within one run means anything.
 *
 * What: the training matrix of a prepared split (`--data DIR`; default: ml-latest-small with the
 * reference split and 50 held-out users, prepared into a temporary directory) is written for numpy,
 * which fits `B` with the reference's own function and saves it; then ours fits `B` in f32 (the default:
 * SIMD GEMM path) and f64 (left-looking SIMD Cholesky). Reported: seconds of each (ours: Gram matrix
 * and solve), the ratio numpy / ours, the largest difference of each `B` from numpy's relative to
 * numpy's largest entry, and the validation NDCG@100 of each `B` (our evaluator), at one λ.
 *
 * Usage: npm run bench:ease [-- --data DIR] [--lambda 100] [--numpy-threads 1] [--json]
 * (needs /usr/bin/python3 with numpy and scipy: apt-get install python3-numpy python3-scipy)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { csrRows } from '../ts/csr.js';
import { prepareDataset } from '../ts/data/prepare.js';
import { loadDataset } from '../ts/data/store.js';
import { evaluate } from '../ts/eval/evaluator.js';
import { EaseModel } from '../ts/models/baselines.js';
import { easeWeights, gram } from '../ts/wasm/itemsim.js';
import { threadInstance } from '../ts/wasm/raw.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}
const json = process.argv.includes('--json');
const lambda = Number(arg('lambda') ?? 100);
const numpyThreads = arg('numpy-threads') ?? '1';
const reference = resolve('../shared/reference/torch');

const tmp = mkdtempSync(join(tmpdir(), 'macridvae-bench-ease-'));
try {
  let dataDir = arg('data');
  if (!dataDir) {
    dataDir = join(tmp, 'data');
    await prepareDataset({ input: 'data/ml-latest-small', out: dataDir, heldoutUsers: 50 });
  }
  const data = await loadDataset(dataDir);
  const m = data.items;
  const x = data.train;
  writeFileSync(join(tmp, 'indptr.u32'), x.indptr);
  writeFileSync(join(tmp, 'indices.u32'), x.indices);
  const py = `
import sys, time, json
import numpy as np, scipy.sparse as sp
sys.path.insert(0, ${JSON.stringify(reference)})
from baselines import ease
d = ${JSON.stringify(tmp)}
indptr = np.fromfile(d + '/indptr.u32', dtype=np.uint32).astype(np.int64)
indices = np.fromfile(d + '/indices.u32', dtype=np.uint32).astype(np.int64)
X = sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(indptr) - 1, ${m}))
t = time.perf_counter()
B = ease(X, ${lambda})
s = time.perf_counter() - t
B.astype(np.float64).tofile(d + '/B.f64')
print(json.dumps({'seconds': s, 'numpy': np.__version__}))
`;
  const env = {
    ...process.env,
    OPENBLAS_NUM_THREADS: numpyThreads,
    OMP_NUM_THREADS: numpyThreads,
    MKL_NUM_THREADS: numpyThreads,
  };
  const r = spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`numpy EASE failed (install python3-numpy python3-scipy): ${r.stderr}`);
  const np = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { seconds: number; numpy: string };
  const bNp = new Float64Array(readFileSync(join(tmp, 'B.f64')).buffer.slice(0));

  const inst = threadInstance();
  let t = performance.now();
  const g = gram(inst, { x });
  const gramS = (performance.now() - t) / 1000;
  const ours: Record<string, { seconds: number; relErr: number; ndcg: number }> = {};
  const ndcgOf = async (b: Float32Array) => {
    const model = new EaseModel({ kind: 'ease', lambda, precision: 'f32' }, m, b);
    return (await evaluate((f) => model.score(f), data.validation)).metrics['ndcg@100'].mean;
  };
  let scale = 0;
  for (const v of bNp) scale = Math.max(scale, Math.abs(v));
  for (const precision of ['f32', 'f64'] as const) {
    t = performance.now();
    const b = easeWeights(inst, { gram: g, items: m, lambda, precision });
    const seconds = (performance.now() - t) / 1000 + gramS;
    let err = 0;
    for (let i = 0; i < b.length; i++) err = Math.max(err, Math.abs(b[i] - bNp[i]));
    ours[precision] = { seconds, relErr: err / scale, ndcg: await ndcgOf(b) };
  }
  const npNdcg = await ndcgOf(Float32Array.from(bNp));
  const result = {
    items: m,
    trainUsers: csrRows(x),
    lambda,
    numpy: { seconds: np.seconds, version: np.numpy, threads: numpyThreads, ndcg: npNdcg },
    ours: { gramSeconds: gramS, ...ours },
    ratio: { f32: np.seconds / ours.f32.seconds, f64: np.seconds / ours.f64.seconds },
    note: 'shared machine: only ratios within this run are meaningful',
  };
  if (json) console.log(JSON.stringify(result));
  else {
    console.log(`EASE on ${m} items (${csrRows(x)} training users), λ = ${lambda}; shared machine, one run`);
    console.log(
      `  numpy ${np.numpy} (inv, float64, ${numpyThreads} BLAS thread(s)): ${np.seconds.toFixed(2)} s, val NDCG@100 ${npNdcg.toFixed(4)}`,
    );
    for (const p of ['f32', 'f64'] as const) {
      console.log(
        `  ours ${p} (WASM, 1 thread, Gram ${gramS.toFixed(2)} s incl.): ${ours[p].seconds.toFixed(2)} s = ${(np.seconds / ours[p].seconds).toFixed(2)}× numpy's speed, max |B − B_numpy| / max |B_numpy| = ${ours[p].relErr.toExponential(2)}, val NDCG@100 ${ours[p].ndcg.toFixed(4)}`,
      );
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
