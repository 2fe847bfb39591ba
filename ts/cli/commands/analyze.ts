/**
 * `macridvae analyze`: macro and micro disentanglement of a trained model on its dataset's training
 * users, written into `--out DIR`: `report.md` embedding the figures (PNG, with SVG beside them),
 * `analysis.json`, `item-concepts.tsv`. Categories for the alignment come from `--categories FILE`
 * (MovieLens `movies.csv` or an `item,category` file), else from the dataset's genres when it has them.
 * `--runs FILE[,FILE…]` adds Figure 4 from JSON lists of `{method, independence, ndcg100}` (`tune` writes
 * them as OUT/runs.json); `--inner-model DIR`
 * gives Figure 2e a model trained with inner-product similarity. Users beyond `--max-users` (5000) are
 * sampled, seeded, for the users' statistics, the map and the users' independence.
 */
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { readCategories } from '../../analysis/categories.js';
import type { RunPoint } from '../../analysis/figures.js';
import { checkMapSize, mapPointsBound } from '../../analysis/map.js';
import { analysisSummary, analyze, writeAnalysis } from '../../analysis/report.js';
import { type Csr, csrFromRows, csrRow, csrRows } from '../../csr.js';
import { ParseError } from '../../errors.js';
import { requireReplaceable, writeOutputDir } from '../../util/output.js';
import { Rng } from '../../util/rng.js';
import { checkMemory } from '../../validate.js';
import { type Command, intOption, parse, printJson, UsageError } from '../args.js';
import { ALLOW_OTHER_DATA, checkSameDataset, type OpenData, type OpenModel } from '../model-view.js';

export const ANALYZE_OPTIONS = {
  model: { type: 'string', value: 'DIR', required: true, description: 'the trained model directory' },
  data: {
    type: 'string',
    value: 'DIR',
    required: true,
    description: "the model's dataset (its training users are analysed)",
  },
  categories: {
    type: 'string',
    value: 'FILE',
    defaultText: "the dataset's genres",
    description: "item categories: MovieLens movies.csv or 'item,category' lines",
  },
  out: {
    type: 'string',
    value: 'DIR',
    required: true,
    description: 'where report.md, figures and analysis.json are written',
  },
  runs: {
    type: 'string',
    value: 'FILE[,FILE…]',
    description: 'Figure 4 points: JSON lists of {method, independence, ndcg100} (tune writes runs.json)',
  },
  'inner-model': {
    type: 'string',
    value: 'DIR',
    description: 'a model trained with --similarity inner, for Figure 2e',
  },
  'map-items': { type: 'string', value: 'N', default: '1500', description: 'items on the t-SNE map' },
  'map-users': { type: 'string', value: 'N', default: '200', description: 'users on the t-SNE map' },
  seed: { type: 'string', value: 'S', default: '98765', description: 'seed of the samples and the map' },
  'max-users': {
    type: 'string',
    value: 'N',
    default: '5000',
    description: "users beyond this are sampled for the users' statistics",
  },
  force: { type: 'boolean', default: false, description: 'replace an earlier report in --out (only a report)' },
  ...ALLOW_OTHER_DATA,
} as const;

/** Reads Figure 4's runs: a JSON array of `{method, independence, ndcg100, label?}`. */
export function readRuns(path: string): RunPoint[] {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ParseError(`${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!Array.isArray(data)) throw new ParseError(`${path}: expected a JSON array of runs`);
  return data.map((r, i) => {
    const o = r as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || typeof o.independence !== 'number' || typeof o.ndcg100 !== 'number') {
      throw new ParseError(`${path}: run [${i}] must have numeric 'independence' and 'ndcg100'`);
    }
    return {
      method: typeof o.method === 'string' ? o.method : 'run',
      independence: o.independence,
      ndcg100: o.ndcg100,
      ...(typeof o.label === 'string' ? { label: o.label } : {}),
    };
  });
}

/** At most `max` rows of `m`, chosen with seed `seed` and kept in their order (all rows when fewer). */
export function sampleRows(m: Csr, max: number, seed: number): Csr {
  const n = m.indptr.length - 1;
  if (n <= max) return m;
  const rows = Array.from({ length: n }, (_, r) => r);
  new Rng(seed).shuffle(rows);
  const keep = rows.slice(0, max).sort((a, b) => a - b);
  return csrFromRows(
    keep.map((r) => csrRow(m, r)),
    m.cols,
  );
}

/**
 * Refuses, before the long analysis, option values whose allocations would not fit (rule 5 of issue 11):
 * the users' components of `--max-users` sampled users (users × K × d floats, in WASM memory for the
 * kernels) and the t-SNE map of `--map-items` items and `--map-users` users (`checkMapSize`).
 */
export function checkAnalysisMemory(
  cmd: string,
  space: { items: number; concepts: number; d: number },
  users: number,
  maxEncode: number,
  maxItems: number,
  maxUsers: number,
): void {
  const encoded = Math.min(users, maxEncode);
  checkMemory(
    cmd,
    '--max-users',
    maxEncode,
    encoded * space.concepts * space.d * 4 * 2,
    `the components of ${encoded} users × ${space.concepts} concepts × ${space.d} (and their copy for the kernels)`,
    true,
  );
  const points = mapPointsBound(space, encoded, maxItems, maxUsers);
  if (maxItems + maxUsers >= 2) checkMapSize(cmd, '--map-items, --map-users', points, space.d);
}

export function analyzeCommand(openModel: OpenModel, openData: OpenData): Command {
  return {
    name: 'analyze',
    summary: 'disentanglement analysis with figures and report.md (paper §3.3–3.4)',
    options: ANALYZE_OPTIONS,
    async run(argv) {
      const cmd = 'analyze';
      const { values } = parse(cmd, argv, ANALYZE_OPTIONS);
      for (const o of ['model', 'data', 'out'] as const) {
        if (!values[o]) throw new UsageError(`macridvae ${cmd}: --${o} DIR is required`);
      }
      const outCheck = {
        option: '--out',
        force: values.force,
        inputs: [
          values.model,
          values.data,
          values.categories,
          values['inner-model'],
          ...(values.runs?.split(',') ?? []),
        ],
      };
      // Checked before the (long) analysis too, so a refusal comes at once.
      requireReplaceable(values.out!, 'report', outCheck);
      const maxItems = intOption(cmd, 'map-items', values['map-items'], 1500, 0);
      const maxUsers = intOption(cmd, 'map-users', values['map-users'], 200, 0);
      const seed = intOption(cmd, 'seed', values.seed, 98765);
      const maxEncode = intOption(cmd, 'max-users', values['max-users'], 5000, 2);
      const view = await openModel(values.model!);
      const data = await openData(values.data!);
      const warnings = checkSameDataset(
        cmd,
        { dir: values.model!, fingerprint: view.datasetFingerprint, items: view.space.items },
        { dir: values.data!, fingerprint: data.fingerprint, items: data.itemIds.length },
        values['allow-other-data'],
      );
      checkAnalysisMemory(cmd, view.space, csrRows(data.train), maxEncode, maxItems, maxUsers);
      const file = values.categories ? readCategories(values.categories, data.itemIds) : undefined;
      const cats = file ?? data.categories;
      const inner = values['inner-model'] ? await openModel(values['inner-model']) : undefined;
      if (inner && inner.similarity !== 'inner') {
        throw new UsageError(`macridvae ${cmd}: --inner-model must be a model trained with --similarity inner`);
      }
      if (inner && inner.space.items !== view.space.items) {
        throw new UsageError(
          `macridvae ${cmd}: --inner-model scores ${inner.space.items} items but --model ${view.space.items}`,
        );
      }
      // Several files (e.g. one `tune` search per model kind) are comma-separated.
      const runs = values.runs ? values.runs.split(',').flatMap((f) => readRuns(f)) : undefined;
      // Users' components for the map and the users' independence: a seeded sample of at most
      // --max-users training users (the confidence statistics are computed on the same users).
      const x = sampleRows(data.train, maxEncode, seed);
      const users = await view.encode(x);
      const titles = data.titles ?? file?.titles;
      const t0 = performance.now();
      const r = await analyze({
        space: view.space,
        tau: view.tau,
        similarity: view.similarity,
        x,
        users,
        categories: cats,
        itemIds: data.itemIds,
        titles,
        inner: inner && { space: inner.space, tau: inner.tau },
        runs,
        map: maxItems + maxUsers >= 2 ? { maxItems, maxUsers, seed } : false,
        name: view.name || basename(resolve(values.model!)),
        prototypeInit: view.prototypeInit,
      });
      const figures = await writeOutputDir(values.out!, 'report', outCheck, (tmp) =>
        writeAnalysis(r, tmp, { categories: cats, itemIds: data.itemIds, titles }),
      );
      const seconds = (performance.now() - t0) / 1000;
      if (values.json) {
        printJson({
          out: values.out,
          report: `${values.out}/report.md`,
          figures,
          seconds,
          ...analysisSummary(r),
          ...(warnings.length > 0 ? { warnings } : {}),
        });
      } else {
        console.log(`wrote ${values.out}/report.md with ${figures.length} figures (${seconds.toFixed(1)} s)`);
        const al = r.macro.alignment;
        console.log(
          `concepts: ${r.macro.itemsPerConcept.join(' / ')} items; largest ${(100 * r.macro.largestShare).toFixed(1)} %`,
        );
        if (al)
          console.log(
            `alignment with ${al.categoryNames.length} categories: NMI ${al.nmi.toFixed(4)}, ARI ${al.ari.toFixed(4)}, accuracy ${al.accuracy.toFixed(4)}`,
          );
        console.log(
          `independence: items ${r.micro.items.independence.toFixed(4)}${r.micro.users ? `, users ${r.micro.users.independence.toFixed(4)}` : ''}`,
        );
      }
      return 0;
    },
  };
}
