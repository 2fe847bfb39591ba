/**
 * The whole analysis of a trained model in one call — macro and micro disentanglement, the 2-D map,
 * the figures, an example traversal — and its written form: a folder with `report.md` (embedding the
 * figures as PNG, with SVG beside them), `analysis.json` and `item-concepts.tsv`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { traverse } from '../control/traverse.js';
import type { Csr } from '../csr.js';
import { MacridError } from '../errors.js';
import { writeFileAtomicSync } from '../util/fs.js';
import { checkObject, checkPath } from '../validate.js';
import type { Similarity } from '../wasm/analysis.js';
import type { ConceptSpace, TraverseResult } from '../wasm/control.js';
import type { KernelPool } from '../workers/pool.js';
import {
  assignmentSpec,
  correlationSpec,
  independenceSpec,
  type LabelledPoint,
  mapSpec,
  type RunPoint,
  writeFigure,
} from './figures.js';
import { analyzeMacro, type Categories, type MacroAnalysis, NO_CATEGORY } from './macro.js';
import { type ConceptMap, conceptMap } from './map.js';
import { analyzeMicro, type MicroAnalysis, type UserComponents } from './micro.js';

export interface AnalyzeInput {
  /** The model's item representations and prototypes. */
  space: ConceptSpace;
  /** The model's temperature τ. */
  tau: number;
  /** How the model compares items with prototypes (default `'cosine'`). */
  similarity?: Similarity;
  /** Users × items interactions (training users) for the users' concept confidence. */
  x?: Csr;
  /** The same users' components μ (rows aligned with `x`). */
  users?: UserComponents;
  /** Known item categories, for the alignment and Figure 2b/2d. */
  categories?: Categories;
  /** External item ids and titles, for the tables and the example traversal. */
  itemIds?: string[];
  titles?: (string | undefined)[];
  /**
   * A model trained with inner-product similarity (Figure 2e). Without it, Figure 2e compares this
   * model's own weights scored by cosine and by inner product — not the paper's experiment, and the
   * report says so.
   */
  inner?: { space: ConceptSpace; tau: number };
  /** Runs for Figure 4 (e.g. from hyper-parameter tuning). */
  runs?: RunPoint[];
  /** Options of the 2-D map; `false` skips it. */
  map?: false | { maxItems?: number; maxUsers?: number; perplexity?: number; iterations?: number; seed?: number };
  /** Run t-SNE on this pool. */
  pool?: KernelPool;
  /** A name for the report's title. */
  name?: string;
  /** How the model's prototypes were initialized (`MacridVaeConfig.prototypeInit`), for the report. */
  prototypeInit?: 'random' | 'kmeans';
}

export interface FigureRef {
  name: string;
  title: string;
  svg: string;
  png: string;
}

export interface AnalysisResult {
  name: string;
  model: { items: number; d: number; concepts: number; tau: number; prototypeInit?: 'random' | 'kmeans' };
  macro: MacroAnalysis;
  innerProduct: { source: 'model' | 'same-weights'; itemsPerConcept: number[]; largestShare: number };
  micro: MicroAnalysis;
  map?: ConceptMap;
  example?: { startItem: number; dim: number; result: TraverseResult };
  runs?: RunPoint[];
}

export async function analyze(input: AnalyzeInput): Promise<AnalysisResult> {
  checkObject('analyze', 'input', input);
  const { space, tau } = input;
  const macro = analyzeMacro({ space, tau, x: input.x, categories: input.categories, similarity: input.similarity });
  const innerMacro = input.inner
    ? analyzeMacro({ space: input.inner.space, tau: input.inner.tau, similarity: 'inner' })
    : analyzeMacro({ space, tau, similarity: 'inner' });
  const micro = analyzeMicro({ space, users: input.users });
  let map: ConceptMap | undefined;
  if (input.map !== false && space.items >= 2) {
    map = await conceptMap({
      space,
      itemConcept: macro.itemConcept,
      users: input.users,
      userConfidence: macro.users?.confidence,
      pool: input.pool,
      ...(input.map ?? {}),
    });
  }
  // Example traversal (Figure 3 as text): the most popular item, along its least correlated dimension.
  let example: AnalysisResult['example'];
  if (space.d >= 2) {
    let startItem = 0;
    if (input.x) {
      const pop = new Uint32Array(space.items);
      for (const i of input.x.indices) pop[i]++;
      for (let i = 1; i < space.items; i++) if (pop[i] > pop[startItem]) startItem = i;
    }
    const corr = micro.dims.meanAbsCorr;
    let dim = 0;
    for (let l = 1; l < corr.length; l++) if (corr[l] < corr[dim]) dim = l;
    try {
      example = { startItem, dim, result: traverse(space, { item: startItem }, { dim, steps: 8, tau }) };
    } catch (e) {
      if (!(e instanceof MacridError)) throw e;
      example = undefined; // too few items of the concept in range: the report simply has no example
    }
  }
  return {
    name: input.name ?? 'model',
    model: {
      items: space.items,
      d: space.d,
      concepts: space.concepts,
      tau,
      ...(input.prototypeInit ? { prototypeInit: input.prototypeInit } : {}),
    },
    macro,
    innerProduct: {
      source: input.inner ? 'model' : 'same-weights',
      itemsPerConcept: innerMacro.itemsPerConcept,
      largestShare: innerMacro.largestShare,
    },
    micro,
    map,
    example,
    runs: input.runs,
  };
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '–');
const f4 = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : '–');

function table(head: string[], rows: (string | number)[][]): string {
  const esc = (s: string | number) => String(s).replace(/\|/g, '\\|');
  return [
    `| ${head.map(esc).join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

/** The numbers of an analysis without its per-item and per-user arrays (for JSON output). */
export function analysisSummary(r: AnalysisResult) {
  checkObject('analysisSummary', 'r', r, 'an analysis (the result of analyze())');
  checkObject('analysisSummary', 'r.macro', r.macro, 'an analysis (the result of analyze())');
  const { c: _c, itemConcept: _k, itemConfidence: _conf, users, ...macro } = r.macro;
  return {
    name: r.name,
    model: r.model,
    macro: {
      ...macro,
      users: users && { users: users.users, meanShare: users.meanShare, meanActiveConcepts: users.meanActiveConcepts },
    },
    innerProduct: r.innerProduct,
    micro: { ...r.micro, items: { ...r.micro.items, corr: undefined } },
    map: r.map && {
      points: r.map.points.length,
      items: r.map.points.filter((p) => p.kind === 'item').length,
      userComponents: r.map.points.filter((p) => p.kind === 'user').length,
      kl: r.map.kl,
      perplexity: r.map.perplexity,
      iterations: r.map.iterations,
      seed: r.map.seed,
    },
    example: r.example && {
      startItem: r.example.startItem,
      dim: r.example.dim,
      concept: r.example.result.concept,
      range: r.example.result.range,
      items: [...r.example.result.items],
      values: [...r.example.result.values],
    },
    runs: r.runs,
  };
}

/**
 * Writes the analysis into `outDir`: `report.md`, `analysis.json`, `item-concepts.tsv` and
 * `figures/*.{svg,png}`. Returns the figures written.
 */
export async function writeAnalysis(
  r: AnalysisResult,
  outDir: string,
  extra: { categories?: Categories; itemIds?: string[]; titles?: (string | undefined)[] } = {},
): Promise<FigureRef[]> {
  checkObject('writeAnalysis', 'r', r, 'an analysis (the result of analyze())');
  for (const k of ['macro', 'micro', 'innerProduct'] as const) {
    checkObject('writeAnalysis', `r.${k}`, r[k], 'an analysis (the result of analyze())');
  }
  checkPath('writeAnalysis', 'outDir', outDir);
  checkObject('writeAnalysis', 'extra', extra);
  const figures: FigureRef[] = [];
  const fig = async (name: string, title: string, spec: Parameters<typeof writeFigure>[0]) => {
    const paths = await writeFigure(spec, join(outDir, 'figures', name));
    figures.push({ name, title, svg: `figures/${name}.svg`, png: `figures/${name}.png` });
    return paths;
  };
  const K = r.model.concepts;
  const conceptNames = Array.from({ length: K }, (_, k) => `concept ${k}`);
  const al = r.macro.alignment;
  // Category colours follow the concept each category is matched to (as in the paper's Figure 2d).
  let catOrder: string[] = [];
  if (al) {
    const matched = al.match.filter((m): m is number => m !== null);
    const rest = al.categoryNames.map((_, c) => c).filter((c) => !matched.includes(c));
    catOrder = [
      ...al.match.map((m) => (m === null ? null : al.categoryNames[m])),
      ...rest.map((c) => al.categoryNames[c]),
    ].filter((x): x is string => x !== null);
  }
  const idOf = (i: number) => extra.itemIds?.[i] ?? String(i);
  const titleOf = (i: number) => extra.titles?.[i];
  if (r.map) {
    const pts = r.map.points;
    const byConcept: LabelledPoint[] = pts.map((p) => ({ ...p, label: conceptNames[p.concept] }));
    await fig(
      'fig2a-map-concepts',
      'Items and user components by learned concept (Figure 2a)',
      mapSpec(byConcept, conceptNames, 'Items and user components, coloured by learned concept', 'learned concept'),
    );
    await fig(
      'fig2c-items-concepts',
      'Items by learned concept (Figure 2c)',
      mapSpec(
        byConcept.filter((p) => p.kind === 'item'),
        conceptNames,
        'Items, coloured by learned concept',
        'learned concept',
      ),
    );
    if (al && extra.categories) {
      const labels = extra.categories.labels;
      const unknown = 'unknown';
      const byCat: LabelledPoint[] = pts.map((p) => {
        let label = unknown;
        if (p.kind === 'item') label = labels[p.id] === NO_CATEGORY ? unknown : al.categoryNames[labels[p.id]];
        else {
          const m = al.match[p.concept];
          label = m === null ? unknown : al.categoryNames[m];
        }
        return { ...p, label };
      });
      const order = byCat.some((p) => p.label === unknown) ? [...catOrder, unknown] : catOrder;
      await fig(
        'fig2b-map-categories',
        'Items and user components by true category (Figure 2b)',
        mapSpec(byCat, order, 'Items (true category) and user components (matched category)', 'category'),
      );
      await fig(
        'fig2d-items-categories',
        'Items by true category (Figure 2d)',
        mapSpec(
          byCat.filter((p) => p.kind === 'item'),
          order,
          'Items, coloured by true category',
          'category',
        ),
      );
    }
  }
  const rows: { concept: number; similarity: string; items: number }[] = [];
  for (let k = 0; k < K; k++) {
    rows.push({ concept: k, similarity: 'cosine', items: r.macro.itemsPerConcept[k] });
    rows.push({ concept: k, similarity: 'inner product', items: r.innerProduct.itemsPerConcept[k] ?? 0 });
  }
  await fig(
    'fig2e-assignment',
    'Items per concept, cosine vs inner product (Figure 2e)',
    assignmentSpec(
      rows,
      r.innerProduct.source === 'model'
        ? 'Items per concept: cosine model vs inner-product model'
        : 'Items per concept: cosine vs inner-product scoring (same weights)',
    ),
  );
  if (r.runs && r.runs.length > 0) {
    await fig(
      'fig4-independence-ndcg',
      'Independence vs NDCG@100 across runs (Figure 4)',
      independenceSpec(r.runs, 'Micro disentanglement vs recommendation performance'),
    );
  }

  // report.md
  const L: string[] = [];
  const imgOf = (name: string) => {
    const f = figures.find((x) => x.name === name);
    return f ? `![${f.title}](${f.png})\n\n[SVG](${f.svg})` : '';
  };
  L.push(`# Disentanglement analysis: ${r.name}`, '');
  const init = r.model.prototypeInit;
  const initText =
    init === 'kmeans'
      ? ' Prototypes placed on the spherical k-means clusters of the item embeddings after a warm-up.'
      : init === 'random'
        ? ' Prototypes from a random start (the released code).'
        : '';
  L.push(`${r.model.items} items, d = ${r.model.d}, K = ${K} concepts, τ = ${r.model.tau}.${initText}`, '');
  L.push('## Macro disentanglement (concepts)', '');
  L.push(
    'Each item belongs to the concept of highest `c_ik = softmax_k(cos(h_i, m_k)/τ)`; its confidence is that `c_ik`.',
    '',
  );
  L.push(
    table(
      ['concept', 'items', 'share', 'mean confidence', ...(r.macro.users ? ['mean user share'] : [])],
      r.macro.itemsPerConcept.map((n, k) => [
        k,
        n,
        f3(n / Math.max(r.model.items, 1)),
        f3(r.macro.meanConfidence[k]),
        ...(r.macro.users ? [f3(r.macro.users.meanShare[k])] : []),
      ]),
    ),
    '',
  );
  L.push(`Largest concept: ${f3(r.macro.largestShare)} of the items (1/K = ${f3(1 / K)}).`, '');
  if (r.macro.users) {
    L.push(
      `Users (${r.macro.users.users}): per-concept confidence \`Σ_{i∈x_u} c_ik\`; on average ${f3(r.macro.users.meanActiveConcepts)} concepts hold at least 10 % of a user's items.`,
      '',
    );
  }
  if (al) {
    L.push('### Alignment with known categories', '');
    L.push(`On the ${al.labelledItems} items with a known category:`, '');
    L.push(table(['NMI', 'ARI', 'accuracy (Hungarian matching)'], [[f4(al.nmi), f4(al.ari), f4(al.accuracy)]]), '');
    if (init === 'random' && al.nmi < 0.5) {
      L.push(
        'Concepts grown from random prototypes emerge slowly and often as mixtures of item clusters; training with `--prototype-init kmeans` places one prototype per cluster (README, "Concept recovery").',
        '',
      );
    }
    L.push('Confusion table (rows: learned concepts, with the category matched to each; columns: categories):', '');
    L.push(
      table(
        ['concept', 'matched', ...al.categoryNames],
        al.table.map((row, k) => [k, al.match[k] === null ? '–' : al.categoryNames[al.match[k]!], ...row]),
      ),
      '',
    );
  }
  if (r.map) {
    L.push('### 2-D map (Figure 2a–d)', '');
    L.push(
      `Exact t-SNE (seed ${r.map.seed}, perplexity ${r.map.perplexity}, ${r.map.iterations} iterations, final KL ${f3(r.map.kl)}) of ${r.map.points.filter((p) => p.kind === 'item').length} sampled items and the two most confident components of ${new Set(r.map.points.filter((p) => p.kind === 'user').map((p) => p.id)).size} sampled users (crosses), all L2-normalized.`,
      '',
    );
    for (const n of ['fig2a-map-concepts', 'fig2b-map-categories', 'fig2c-items-concepts', 'fig2d-items-categories']) {
      const s = imgOf(n);
      if (s) L.push(s, '');
    }
  }
  L.push('### Cosine vs inner product (Figure 2e)', '');
  L.push(
    r.innerProduct.source === 'model'
      ? `The inner-product model puts ${f3(r.innerProduct.largestShare)} of its items in its largest concept; the cosine model ${f3(r.macro.largestShare)}.`
      : `No inner-product model was given: the bars compare this model's own weights scored by cosine and by inner product (largest concept ${f3(r.macro.largestShare)} vs ${f3(r.innerProduct.largestShare)}). The paper's Figure 2e trains a separate inner-product model.`,
    '',
  );
  L.push(imgOf('fig2e-assignment'), '');
  L.push('## Micro disentanglement (dimensions)', '');
  L.push('Independence `1 − 2/(d(d−1)) Σ_{i<j} |corr_ij|` (1 = no two dimensions correlated):', '');
  L.push(
    table(
      ['representation', 'dimensions', 'vectors', 'independence'],
      [
        ['items h', r.micro.items.d, r.micro.items.n, f4(r.micro.items.independence)],
        ...(r.micro.users
          ? [
              [
                `users z (K·d${r.micro.users.sampled ? ', sampled' : ''})`,
                r.micro.users.d,
                r.micro.users.n,
                f4(r.micro.users.independence),
              ],
            ]
          : []),
      ],
    ),
    '',
  );
  const dims = r.micro.dims;
  L.push('Per-dimension statistics of the item representations (all dimensions in `analysis.json`):', '');
  const show = Math.min(dims.mean.length, 12);
  L.push(
    table(
      ['dim', 'mean', 'std', 'min', 'max', 'mean |corr|'],
      Array.from({ length: show }, (_, l) => [
        l,
        f3(dims.mean[l]),
        f3(dims.std[l]),
        f3(dims.min[l]),
        f3(dims.max[l]),
        f3(dims.meanAbsCorr[l]),
      ]),
    ),
    '',
  );
  if (r.model.d <= 200) {
    await fig(
      'dims-correlation',
      '|corr| between the dimensions of the item representations',
      correlationSpec(r.micro.items.corr, r.model.d, '|corr| between item dimensions'),
    );
    L.push(imgOf('dims-correlation'), '');
  }
  if (r.runs && r.runs.length > 0) {
    L.push('### Independence vs NDCG@100 (Figure 4)', '', imgOf('fig4-independence-ndcg'), '');
  }
  if (r.example) {
    const ex = r.example.result;
    L.push('## Controllable retrieval (Figure 3 as text)', '');
    L.push(
      `Start: item ${idOf(r.example.startItem)}${titleOf(r.example.startItem) ? ` (${titleOf(r.example.startItem)})` : ''}, concept ${ex.concept}; dimension ${r.example.dim} varied over (${f3(ex.range[0])}, ${f3(ex.range[1])}) in ${ex.items.length} steps, beam width 50.`,
      '',
    );
    L.push(
      table(
        ['step', 'value', 'item', ...(extra.titles ? ['title'] : []), 'score'],
        [...ex.items].map((i, t) => [
          t + 1,
          f3(ex.values[t]),
          idOf(i),
          ...(extra.titles ? [titleOf(i) ?? ''] : []),
          ex.scores[t].toPrecision(4),
        ]),
      ),
      '',
    );
  }
  mkdirSync(outDir, { recursive: true });
  writeFileAtomicSync(join(outDir, 'report.md'), `${L.join('\n')}\n`);
  writeFileAtomicSync(
    join(outDir, 'analysis.json'),
    `${JSON.stringify({ ...analysisSummary(r), figures }, null, 2)}\n`,
  );
  const tsv = ['item\tconcept\tconfidence\tcategory'];
  for (let i = 0; i < r.model.items; i++) {
    const cat =
      extra.categories && extra.categories.labels[i] !== NO_CATEGORY
        ? extra.categories.names[extra.categories.labels[i]]
        : '';
    tsv.push(`${idOf(i)}\t${r.macro.itemConcept[i]}\t${r.macro.itemConfidence[i].toFixed(4)}\t${cat}`);
  }
  writeFileAtomicSync(join(outDir, 'item-concepts.tsv'), `${tsv.join('\n')}\n`);
  return figures;
}
