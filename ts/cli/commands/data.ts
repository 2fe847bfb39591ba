/**
 * `macridvae data …`: prepare, inspect, synthesize, export and download datasets. A thin layer over
 * `ts/data/` (the same functions a library user calls).
 *
 *   data prepare --input PATH --out DIR [--format auto|movielens|netflix|csv] [--min-rating 3.5]
 *                [--min-user-items 5] [--min-item-users 0] [--heldout-users N|auto]
 *                [--split reference|seeded] [--seed 98765] [--columns USER,ITEM[,RATING[,TIME]]]
 *                [--separator S] [--header auto|yes|no] [--items PATH|none] [--skip-invalid] [--force]
 *   data stats DIR
 *   data synth --preset tiny|ml-1m|ml-20m|netflix [--seed S] --out DIR [--force]
 *   data export --format reference DIR --out DIR
 *   data download NAME [--out DIR] [--base-url URL] [--md5 HEX] [--keep-archive]
 *
 * `--min-rating R` keeps ratings strictly greater than R (the MultVAE protocol: > 3.5). `--columns`
 * names or 0-based indices (generic CSV); two columns mean implicit data. `--heldout-users` defaults to
 * ⌊users / 12⌋ (the paper's ML-100k 50 and ML-1M 500 are close to it; pass the paper's value to
 * reproduce it). An existing `--out` is reused only when identical (options and source checksum);
 * otherwise the command fails saying what differs, and `--force` replaces it.
 */

import { DOWNLOADS, downloadDataset } from '../../data/download.js';
import { type PrepareOptions, prepareDataset } from '../../data/prepare.js';
import { exportReference } from '../../data/reference.js';
import { loadDataset } from '../../data/store.js';
import { SYNTH_PRESETS, synthesize } from '../../data/synth.js';
import {
  type Command,
  intOption,
  numberOption,
  parse,
  printJson,
  runSubcommand,
  suggestion,
  UsageError,
} from '../args.js';
import { type Progress, progress } from '../progress.js';

export const PREPARE_OPTIONS = {
  input: {
    type: 'string',
    value: 'PATH',
    required: true,
    description: 'ratings file or a directory holding one (MovieLens, Netflix, CSV)',
  },
  out: { type: 'string', value: 'DIR', required: true, description: 'the dataset directory to write' },
  format: {
    type: 'string',
    value: 'auto|movielens|netflix|csv',
    default: 'auto',
    description: 'input format (auto: from the file names)',
  },
  'min-rating': {
    type: 'string',
    value: 'R',
    default: '3.5',
    description: 'keep ratings strictly greater than R (the MultVAE protocol)',
  },
  'min-user-items': { type: 'string', value: 'N', default: '5', description: 'drop users with fewer kept items' },
  'min-item-users': { type: 'string', value: 'N', default: '0', description: 'drop items with fewer users' },
  'heldout-users': {
    type: 'string',
    value: 'N|auto',
    default: 'auto',
    description: 'validation and test users each (auto: ⌊users / 12⌋)',
  },
  split: {
    type: 'string',
    value: 'reference|seeded',
    default: 'reference',
    description: 'reference: the numpy MultVAE split bit for bit; seeded: our own RNG',
  },
  seed: { type: 'string', value: 'S', default: '98765', description: 'split seed' },
  columns: {
    type: 'string',
    value: 'USER,ITEM[,RATING[,TIME]]',
    description: 'CSV columns by name or 0-based index (two columns: implicit data)',
  },
  separator: { type: 'string', value: 'S', defaultText: 'detected', description: 'CSV field separator' },
  header: { type: 'string', value: 'auto|yes|no', default: 'auto', description: 'whether the CSV has a header line' },
  items: {
    type: 'string',
    value: 'PATH|none',
    defaultText: 'found next to the input',
    description: 'item metadata (titles, genres), or none',
  },
  'skip-invalid': {
    type: 'boolean',
    default: false,
    description: 'skip bad lines (counted, with examples) instead of failing on the first',
  },
  force: { type: 'boolean', default: false, description: 'replace an existing --out that differs' },
} as const;

function need(cmd: string, name: string, v: string | undefined): string {
  if (v === undefined || v === '') throw new UsageError(`macridvae ${cmd}: --${name} is required`);
  return v;
}

function oneOf<T extends string>(
  cmd: string,
  name: string,
  v: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new UsageError(`macridvae ${cmd}: --${name} must be one of ${allowed.join(', ')} but got '${v}'`);
  }
  return v as T;
}

function columnsOption(cmd: string, v: string | undefined): Pick<PrepareOptions, 'columns' | 'implicit'> {
  if (v === undefined) return {};
  const parts = v.split(',').map((s) => s.trim());
  if (parts.length < 2 || parts.length > 4 || parts.some((p) => p === '')) {
    throw new UsageError(
      `macridvae ${cmd}: --columns must be USER,ITEM[,RATING[,TIME]] (names or indices) but got '${v}'`,
    );
  }
  const col = (s: string | undefined) => (s === undefined ? undefined : /^\d+$/.test(s) ? Number(s) : s);
  const [user, item, rating, timestamp] = parts.map(col);
  return { columns: { user, item, rating, timestamp }, implicit: parts.length === 2 };
}

/** A progress bar on stderr for `(done, total)` callbacks, created on the first call; none with --json. */
function bar(label: string, json: boolean) {
  let p: Progress | undefined;
  let last = 0;
  return {
    onProgress(done: number, total: number | undefined) {
      if (json || total === undefined) return;
      p ??= progress(label, total);
      p.tick(done - last);
      last = done;
    },
    done() {
      p?.done();
    },
  };
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

async function prepareCmd(argv: string[]): Promise<number> {
  const cmd = 'data prepare';
  const { values } = parse(cmd, argv, PREPARE_OPTIONS);
  const heldout = values['heldout-users'];
  const b = bar('reading', values.json);
  const opts: PrepareOptions = {
    input: need(cmd, 'input', values.input),
    out: need(cmd, 'out', values.out),
    format: oneOf(cmd, 'format', values.format, ['auto', 'movielens', 'netflix', 'csv'] as const),
    minRating: numberOption(cmd, 'min-rating', values['min-rating'], 3.5),
    minUserItems: intOption(cmd, 'min-user-items', values['min-user-items'], 5, 1),
    minItemUsers: intOption(cmd, 'min-item-users', values['min-item-users'], 0, 0),
    heldoutUsers: heldout === undefined || heldout === 'auto' ? 'auto' : intOption(cmd, 'heldout-users', heldout, 0, 0),
    split: oneOf(cmd, 'split', values.split, ['reference', 'seeded'] as const),
    seed: intOption(cmd, 'seed', values.seed, 98765, 0),
    separator: values.separator,
    header: oneOf(cmd, 'header', values.header, ['auto', 'yes', 'no'] as const),
    items: values.items === 'none' ? false : values.items,
    skipInvalid: values['skip-invalid'],
    force: values.force,
    ...columnsOption(cmd, values.columns),
    onProgress: b.onProgress,
  };
  const r = await prepareDataset(opts);
  b.done();
  const c = r.manifest.counts;
  const p = r.manifest.parse as { rows?: number; kept?: number; invalid?: number; examples?: unknown[] };
  const result = {
    dir: r.dir,
    reused: r.reused,
    users: c.users,
    items: c.items,
    interactions: c.interactions,
    positives: c.positives,
    trainUsers: c.trainUsers,
    validationUsers: c.validationUsers,
    testUsers: c.testUsers,
    validationScored: c.validationScored,
    testScored: c.testScored,
    duplicates: c.duplicates,
    rows: p.rows ?? null,
    kept: p.kept ?? null,
    invalid: p.invalid ?? 0,
    invalidExamples: p.examples ?? [],
    source: { format: r.manifest.source.format, bytes: r.manifest.source.bytes, sha256: r.manifest.source.sha256 },
    metadata: r.manifest.metadata ? { path: r.manifest.metadata.path, matched: r.manifest.metadata.matched } : null,
    split: r.manifest.options.split,
    seconds: r.seconds,
  };
  if (values.json) printJson(result);
  else {
    console.log(`${r.reused ? 'up to date (reused)' : 'prepared'}: ${r.dir}`);
    console.log(
      `  source          ${r.manifest.source.path} (${r.manifest.source.format}, ${fmt(r.manifest.source.bytes)} bytes)`,
    );
    if (p.rows !== undefined) console.log(`  rows            ${fmt(p.rows)} read, ${fmt(p.kept ?? 0)} kept`);
    if (result.invalid > 0) {
      console.log(`  invalid lines   ${fmt(result.invalid)} skipped, e.g.:`);
      for (const e of (p.examples ?? []) as Array<{ file: string; line: number; message: string }>) {
        console.log(`    ${e.file}: ${e.message}`);
      }
    }
    if (c.duplicates > 0) console.log(`  duplicates      ${fmt(c.duplicates)} repeated (user, item) pairs dropped`);
    console.log(
      `  users           ${fmt(c.users)} (train ${fmt(c.trainUsers)}, validation ${fmt(c.validationUsers)}, test ${fmt(c.testUsers)})`,
    );
    console.log(`  items           ${fmt(c.items)}`);
    console.log(`  interactions    ${fmt(c.interactions)}`);
    if (r.manifest.metadata)
      console.log(`  item metadata   ${r.manifest.metadata.path} (${fmt(r.manifest.metadata.matched)} items matched)`);
    console.log(`  time            ${r.seconds.total.toFixed(2)} s`);
  }
  return 0;
}

function quantiles(rows: Uint32Array): { min: number; median: number; mean: number; max: number } {
  const n = rows.length - 1;
  if (n <= 0) return { min: 0, median: 0, mean: 0, max: 0 };
  const len = new Uint32Array(n);
  for (let r = 0; r < n; r++) len[r] = rows[r + 1] - rows[r];
  len.sort();
  return { min: len[0], median: len[n >> 1], mean: rows[n] / n, max: len[n - 1] };
}

export const STATS_OPTIONS = {} as const;

async function statsCmd(argv: string[]): Promise<number> {
  const cmd = 'data stats';
  const { values, positionals } = parse(cmd, argv, STATS_OPTIONS, true);
  if (positionals.length !== 1) throw new UsageError(`macridvae ${cmd}: expected one dataset directory`);
  const t0 = performance.now();
  const ds = await loadDataset(positionals[0]);
  const loadMs = performance.now() - t0;
  const c = ds.manifest.counts;
  const trainRows = ds.train.indptr.length - 1;
  const itemCounts = new Uint32Array(ds.items + 1);
  for (const i of ds.train.indices) itemCounts[i + 1]++;
  let cold = 0;
  for (let i = 1; i <= ds.items; i++) if (itemCounts[i] === 0) cold++;
  const sorted = itemCounts.subarray(1).slice().sort();
  const result = {
    dir: ds.dir,
    counts: c,
    density: c.trainInteractions / Math.max(1, trainRows * ds.items),
    trainItemsPerUser: quantiles(ds.train.indptr),
    trainUsersPerItem: {
      min: sorted[0] ?? 0,
      median: sorted[sorted.length >> 1] ?? 0,
      mean: c.trainInteractions / Math.max(1, ds.items),
      max: sorted[sorted.length - 1] ?? 0,
    },
    validationFoldInPerUser: quantiles(ds.validation.foldIn.indptr),
    validationTargetPerUser: quantiles(ds.validation.target.indptr),
    testFoldInPerUser: quantiles(ds.test.foldIn.indptr),
    testTargetPerUser: quantiles(ds.test.target.indptr),
    itemsWithoutTrainingUsers: cold,
    source: ds.manifest.source,
    metadata: ds.manifest.metadata,
    options: ds.manifest.options,
    createdAt: ds.manifest.createdAt,
    loadMs: Number(loadMs.toFixed(2)),
  };
  if (values.json) printJson(result);
  else {
    const q = (x: { min: number; median: number; mean: number; max: number }) =>
      `min ${x.min}, median ${x.median}, mean ${x.mean.toFixed(1)}, max ${x.max}`;
    console.log(`dataset ${ds.dir} (loaded in ${result.loadMs} ms)`);
    console.log(
      `  source            ${ds.manifest.source.path} (${ds.manifest.source.format}, sha256 ${ds.manifest.source.sha256.slice(0, 12)}…)`,
    );
    console.log(`  split             ${String(ds.manifest.options.split)}, seed ${String(ds.manifest.options.seed)}`);
    console.log(
      `  users             ${fmt(c.users)}: train ${fmt(c.trainUsers)}, validation ${fmt(c.validationUsers)} (${fmt(c.validationScored)} scored), test ${fmt(c.testUsers)} (${fmt(c.testScored)} scored)`,
    );
    console.log(`  items             ${fmt(c.items)}`);
    console.log(
      `  interactions      ${fmt(c.interactions)} (train ${fmt(c.trainInteractions)}, density ${(result.density * 100).toFixed(3)} %)`,
    );
    console.log(`  train items/user  ${q(result.trainItemsPerUser)}`);
    console.log(`  train users/item  ${q(result.trainUsersPerItem)}`);
    console.log(`  val fold-in/user  ${q(result.validationFoldInPerUser)}`);
    console.log(`  val target/user   ${q(result.validationTargetPerUser)}`);
    if (ds.manifest.metadata) {
      console.log(
        `  item metadata     ${ds.manifest.metadata.path} (${fmt(ds.manifest.metadata.matched)} of ${fmt(c.items)} items)`,
      );
    }
  }
  return 0;
}

export const SYNTH_OPTIONS = {
  preset: {
    type: 'string',
    value: SYNTH_PRESETS.join('|'),
    required: true,
    description: 'the size and shape of the synthetic dataset',
  },
  seed: { type: 'string', value: 'S', default: '98765', description: 'generator seed' },
  out: { type: 'string', value: 'DIR', required: true, description: 'the directory to write (ratings.csv, concepts)' },
  force: { type: 'boolean', default: false, description: 'replace an existing --out that differs' },
} as const;

async function synthCmd(argv: string[]): Promise<number> {
  const cmd = 'data synth';
  const { values } = parse(cmd, argv, SYNTH_OPTIONS);
  const preset = oneOf(cmd, 'preset', need(cmd, 'preset', values.preset), SYNTH_PRESETS)!;
  const b = bar('generating', values.json);
  const r = await synthesize({
    preset,
    seed: intOption(cmd, 'seed', values.seed, 98765, 0),
    out: need(cmd, 'out', values.out),
    force: values.force,
    onProgress: b.onProgress,
  });
  b.done();
  const s = r.summary;
  if (values.json)
    printJson({ dir: r.dir, reused: r.reused, seconds: Number(r.seconds.toFixed(3)), bytes: r.bytes, ...s });
  else {
    console.log(`${r.reused ? 'up to date (reused)' : 'generated'}: ${r.dir}`);
    console.log(
      `  preset ${s.preset}, seed ${s.seed}: ${fmt(s.users)} users × ${fmt(s.items)} items, ${s.concepts} concepts`,
    );
    console.log(
      `  ratings ${fmt(s.ratings)} (${fmt(s.highRatings)} ≥ 4)${r.reused ? '' : `, ${(r.bytes / 1e6).toFixed(1)} MB in ${r.seconds.toFixed(1)} s`}`,
    );
  }
  return 0;
}

export const EXPORT_OPTIONS = {
  format: {
    type: 'string',
    value: 'reference',
    required: true,
    description: "the export format (reference: the MultVAE code's pro_sg files)",
  },
  out: { type: 'string', value: 'DIR', required: true, description: 'the directory to write' },
} as const;

async function exportCmd(argv: string[]): Promise<number> {
  const cmd = 'data export';
  const { values, positionals } = parse(cmd, argv, EXPORT_OPTIONS, true);
  oneOf(cmd, 'format', need(cmd, 'format', values.format), ['reference'] as const);
  if (positionals.length !== 1) throw new UsageError(`macridvae ${cmd}: expected one dataset directory`);
  const r = await exportReference(positionals[0], need(cmd, 'out', values.out));
  if (values.json) printJson({ dir: r.dir, format: 'reference', files: r.files });
  else console.log(`wrote the reference pro_sg files (${r.files.join(', ')}) to ${r.dir}`);
  return 0;
}

export const DOWNLOAD_OPTIONS = {
  out: { type: 'string', value: 'DIR', default: 'data', description: 'the folder receiving NAME/' },
  'base-url': {
    type: 'string',
    value: 'URL',
    defaultText: '$MACRIDVAE_DATA_BASE_URL or GroupLens',
    description: 'where the archives are served',
  },
  md5: {
    type: 'string',
    value: 'HEX',
    defaultText: 'the published checksum',
    description: "the archive's expected MD5",
  },
  'keep-archive': { type: 'boolean', default: false, description: 'keep the downloaded .zip next to the files' },
} as const;

async function downloadCmd(argv: string[]): Promise<number> {
  const cmd = 'data download';
  const { values, positionals } = parse(cmd, argv, DOWNLOAD_OPTIONS, true);
  if (positionals.length !== 1) {
    throw new UsageError(`macridvae ${cmd}: expected one dataset name (${Object.keys(DOWNLOADS).join(', ')})`);
  }
  const names = Object.keys(DOWNLOADS);
  if (!names.includes(positionals[0])) {
    throw new UsageError(
      `macridvae ${cmd}: NAME must be one of ${names.join(', ')} but got '${positionals[0]}'${suggestion(positionals[0], names)}`,
    );
  }
  const name = positionals[0];
  const b = bar('downloading', values.json);
  const r = await downloadDataset({
    name,
    out: values.out,
    baseUrl: values['base-url'],
    md5: values.md5,
    keepArchive: values['keep-archive'],
    onProgress: b.onProgress,
  });
  b.done();
  if (values.json) printJson(r);
  else if (r.reused) console.log(`already downloaded: ${r.dir}`);
  else console.log(`downloaded ${r.url} (${fmt(r.bytes)} bytes, MD5 verified) → ${r.dir} (${r.files.length} files)`);
  return 0;
}

const SUBCOMMANDS: Command[] = [
  {
    name: 'prepare',
    summary: 'ratings file → the MultVAE split → a dataset directory (reused when identical)',
    options: PREPARE_OPTIONS,
    run: prepareCmd,
  },
  {
    name: 'stats',
    summary: "a prepared dataset's counts and distributions",
    options: STATS_OPTIONS,
    positionals: 'DIR',
    run: statsCmd,
  },
  { name: 'synth', summary: 'generate a synthetic dataset with known concepts', options: SYNTH_OPTIONS, run: synthCmd },
  {
    name: 'export',
    summary: "write a prepared dataset as the reference code's pro_sg files",
    options: EXPORT_OPTIONS,
    positionals: 'DIR',
    run: exportCmd,
  },
  {
    name: 'download',
    summary: 'download and verify a GroupLens dataset',
    options: DOWNLOAD_OPTIONS,
    positionals: Object.keys(DOWNLOADS).join('|'),
    run: downloadCmd,
  },
];

export const data: Command = {
  name: 'data',
  summary: 'prepare (MultVAE split), inspect, synthesize, export (reference pro_sg) and download datasets',
  subcommands: SUBCOMMANDS,
  run(argv) {
    return runSubcommand(data, argv);
  },
};
