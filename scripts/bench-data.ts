/**
 * bench-data: how fast the data pipeline reads and prepares an ML-20M-sized ratings file, for
 * `npm run bench:data` (issue 4).
 *
 * Why: preparing ML-20M (20M ratings, 533 MB) or Netflix (100M ratings, 2.6 GB) is the first thing a
 * user waits for; the Rust/WASM streaming parser exists to make that fast and memory-bounded. The
 * baseline is the obvious TypeScript reader (readline, `split(',')`, `Number`, `Map` interning) of the
 * same file, doing the same work (rating filter, ids to dense indices).
 *
 * What: the ML-20M-shaped synthetic `ratings.csv` (`data synth --preset ml-20m`, seed 98765; generated
 * once into .tmp/bench-data and reused), then, each in its own child process so that peak memory is
 * per job: (1) the WASM streaming parser alone, (2) `prepareDataset` end to end (parse + SHA-256 of the
 * source, the reference split with the paper's held-out users: 10,000 for ML-20M, writing the dataset
 * directory), (3) the plain
 * TypeScript reader; then `loadDataset` of the result. Prints seconds, MB/s, peak RSS and the
 * TypeScript / WASM ratio.
 *
 * Usage: npm run bench:data [-- --json] [--preset ml-20m|ml-1m|tiny]
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { prepareDataset } from '../ts/data/prepare.js';
import { CHUNK_BYTES, streamFiles } from '../ts/data/read.js';
import { loadDataset } from '../ts/data/store.js';
import { synthesize } from '../ts/data/synth.js';
import { RatingsReader } from '../ts/wasm/data.js';
import { WasmInstance } from '../ts/wasm/raw.js';

const WORK = resolve('.tmp/bench-data');
const SELF = fileURLToPath(import.meta.url);

interface Measure {
  seconds: number;
  mbPerSecond: number;
  peakRssMiB: number;
  rows: number;
  kept: number;
  users: number;
  items: number;
  extra?: Record<string, unknown>;
}

const peakMiB = () => process.resourceUsage().maxRSS / 1024;

/** The plain TypeScript reader: what one writes without a native parser. */
async function tsReader(file: string) {
  const userIndex = new Map<string, number>();
  const itemIndex = new Map<string, number>();
  let users = new Uint32Array(1 << 20);
  let items = new Uint32Array(1 << 20);
  let kept = 0;
  let rows = 0;
  let first = true;
  const rl = createInterface({
    input: createReadStream(file, { highWaterMark: 1 << 20 }),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  rl.on('line', (line) => {
    if (first) {
      first = false;
      if (line.startsWith('userId')) return;
    }
    if (line === '') return;
    const f = line.split(',');
    if (f.length !== 4) throw new Error(`bad line: ${line}`);
    const rating = Number(f[2]);
    if (Number.isNaN(rating)) throw new Error(`bad rating: ${line}`);
    rows++;
    if (rating > 3.5) {
      let u = userIndex.get(f[0]);
      if (u === undefined) userIndex.set(f[0], (u = userIndex.size));
      let i = itemIndex.get(f[1]);
      if (i === undefined) itemIndex.set(f[1], (i = itemIndex.size));
      if (kept === users.length) {
        const nu = new Uint32Array(users.length * 2);
        nu.set(users);
        users = nu;
        const ni = new Uint32Array(items.length * 2);
        ni.set(items);
        items = ni;
      }
      users[kept] = u;
      items[kept] = i;
      kept++;
    }
  });
  await once(rl, 'close');
  return { rows, kept, users: userIndex.size, items: itemIndex.size };
}

/** The paper's held-out users per split for the dataset each preset imitates. */
const HELDOUT: Record<string, number | 'auto'> = { 'ml-20m': 10_000, netflix: 40_000, 'ml-1m': 500, tiny: 'auto' };

async function child(mode: string, file: string, preset: string): Promise<Measure> {
  const bytes = statSync(file).size;
  const t0 = performance.now();
  if (mode === 'wasm-parse') {
    const inst = new WasmInstance();
    const reader = new RatingsReader(inst, {});
    await streamFiles(
      [file],
      (b) => reader.feed(b),
      () => reader.endFile(),
      CHUNK_BYTES,
    );
    const s = reader.stats();
    const seconds = (performance.now() - t0) / 1000;
    reader.free();
    return { seconds, mbPerSecond: bytes / 1e6 / seconds, peakRssMiB: peakMiB(), ...s };
  }
  if (mode === 'prepare') {
    const r = await prepareDataset({
      input: file,
      out: join(WORK, 'dataset'),
      heldoutUsers: HELDOUT[preset] ?? 'auto',
      force: true,
      items: false,
    });
    const seconds = (performance.now() - t0) / 1000;
    const p = r.manifest.parse as { rows: number; kept: number };
    const t1 = performance.now();
    const ds = await loadDataset(r.dir);
    const loadMs = performance.now() - t1;
    return {
      seconds,
      mbPerSecond: bytes / 1e6 / seconds,
      peakRssMiB: peakMiB(),
      rows: p.rows,
      kept: p.kept,
      users: r.manifest.counts.users,
      items: ds.items,
      extra: { phases: r.seconds, loadMs, counts: r.manifest.counts },
    };
  }
  if (mode === 'ts') {
    const s = await tsReader(file);
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, mbPerSecond: bytes / 1e6 / seconds, peakRssMiB: peakMiB(), ...s };
  }
  throw new Error(`unknown mode ${mode}`);
}

function runChild(mode: string, file: string, preset: string): Measure {
  const r = spawnSync(process.execPath, ['--import=tsx', SELF, '--child', mode, file, preset], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`bench child '${mode}' failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Measure;
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    console.log(JSON.stringify(await child(argv[1], argv[2], argv[3])));
    return;
  }
  const json = argv.includes('--json');
  const pi = argv.indexOf('--preset');
  const preset = pi >= 0 ? argv[pi + 1] : 'ml-20m';
  const log = (s: string) => {
    if (!json) console.log(s);
  };
  log(`bench:data — ${preset}-shaped synthetic ratings.csv (seed 98765) in ${WORK}`);
  const syn = await synthesize({ preset, seed: 98765, out: join(WORK, `${preset}-synth`) });
  const file = join(syn.dir, 'ratings.csv');
  const bytes = statSync(file).size;
  log(
    `data: ${syn.summary.ratings.toLocaleString('en-US')} ratings, ${(bytes / 1e6).toFixed(0)} MB${
      syn.reused
        ? ' (reused)'
        : `, generated in ${syn.seconds.toFixed(1)} s (${(bytes / 1e6 / syn.seconds).toFixed(0)} MB/s)`
    }`,
  );
  const parse = runChild('wasm-parse', file, preset);
  const prep = runChild('prepare', file, preset);
  const ts = runChild('ts', file, preset);
  if (parse.kept !== ts.kept || parse.users !== ts.users || parse.items !== ts.items) {
    throw new Error(`the readers disagree: wasm ${JSON.stringify(parse)} vs ts ${JSON.stringify(ts)}`);
  }
  const result = {
    preset,
    bytes,
    ratings: parse.rows,
    kept: parse.kept,
    generateSeconds: syn.reused ? null : syn.seconds,
    wasmParse: parse,
    prepare: prep,
    tsReader: ts,
    ratioTsOverWasmParse: ts.seconds / parse.seconds,
    ratioTsOverPrepare: ts.seconds / prep.seconds,
  };
  if (json) {
    console.log(JSON.stringify(result));
    return;
  }
  const row = (name: string, m: Measure) =>
    `  ${name.padEnd(40)} ${m.seconds.toFixed(2).padStart(7)} s ${m.mbPerSecond.toFixed(0).padStart(6)} MB/s ${m.peakRssMiB.toFixed(0).padStart(6)} MiB peak RSS`;
  log(
    `rows ${parse.rows.toLocaleString('en-US')}, kept (> 3.5) ${parse.kept.toLocaleString('en-US')}, ${parse.users} users, ${parse.items} items`,
  );
  log(row('WASM streaming parser', parse));
  log(row('prepareDataset (parse+sha+split+write)', prep));
  log(row('plain TypeScript reader (baseline)', ts));
  const { phases: ph, loadMs } = prep.extra as {
    phases: { read: number; split: number; write: number };
    loadMs: number;
  };
  log(
    `  prepare phases: read+hash ${ph.read.toFixed(2)} s, split ${ph.split.toFixed(2)} s, write ${ph.write.toFixed(2)} s; loadDataset ${loadMs.toFixed(1)} ms`,
  );
  log(
    `ratio TypeScript / WASM parser: ${result.ratioTsOverWasmParse.toFixed(1)}×; TypeScript reader / full prepare: ${result.ratioTsOverPrepare.toFixed(1)}×`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
