/**
 * The figures of the analysis, as Vega-Lite specifications rendered to SVG by Vega (headless, no
 * canvas) and rasterized to PNG by resvg (`@resvg/resvg-js`, a prebuilt binary shipped in a platform
 * npm package). Text in the PNG uses the system's fonts (DejaVu Sans when present). Vega, Vega-Lite and
 * resvg are loaded when a figure is first rendered, not when this module (or the package) is imported.
 *
 * - {@link mapSpec}: Figure 2a–d, the 2-D map of items (dots) and user components (crosses) coloured
 *   by learned concept or by true category;
 * - {@link assignmentSpec}: Figure 2e, items per concept under cosine and inner-product assignment;
 * - {@link independenceSpec}: Figure 4, independence vs NDCG@100 across runs;
 * - {@link correlationSpec}: |corr| between the dimensions of the item representations.
 */

import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { InvalidArgumentError } from '../errors.js';
import { writeFileAtomicSync } from '../util/fs.js';
import { checkArray, checkInt, checkNumber, checkObject, checkPath } from '../validate.js';
import type { MapPoint } from './map.js';
import { PALETTE } from './palette.js';

export { PALETTE };

const CONFIG = {
  background: 'white',
  font: 'sans-serif',
  view: { stroke: '#ccc' },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14 },
};

export interface LabelledPoint extends MapPoint {
  /** The colour label shown in the legend. */
  label: string;
}

/**
 * Figure 2a–d: items as dots, user components as crosses, coloured by `label`. `labels` fixes the
 * legend order and so the colours (label `t` gets `PALETTE[t]`), which lets category colours follow
 * the concept they are matched to.
 */
export function mapSpec(points: LabelledPoint[], labels: string[], title: string, legendTitle: string): TopLevelSpec {
  checkArray('mapSpec', 'points', points, Array);
  checkArray('mapSpec', 'labels', labels, Array);
  const withUsers = points.some((p) => p.kind === 'user');
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 460,
    height: 420,
    config: CONFIG,
    data: {
      values: points.map((p) => ({ x: p.x, y: p.y, kind: p.kind, label: p.label, size: p.kind === 'user' ? 70 : 14 })),
    },
    mark: { type: 'point', filled: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', axis: null, scale: { zero: false } },
      y: { field: 'y', type: 'quantitative', axis: null, scale: { zero: false } },
      color: {
        field: 'label',
        type: 'nominal',
        title: legendTitle,
        scale: { domain: labels, range: labels.map((_, t) => PALETTE[t % PALETTE.length]) },
      },
      shape: withUsers
        ? {
            field: 'kind',
            type: 'nominal',
            title: 'point',
            scale: { domain: ['item', 'user'], range: ['circle', 'cross'] },
          }
        : { value: 'circle' },
      size: { field: 'size', type: 'quantitative', scale: null, legend: null },
      opacity: { field: 'opacity', type: 'quantitative', scale: null, legend: null },
    },
  };
}

/** Figure 2e: items per concept under cosine and under inner-product assignment. */
export function assignmentSpec(
  rows: { concept: number; similarity: string; items: number }[],
  title: string,
): TopLevelSpec {
  checkArray('assignmentSpec', 'rows', rows, Array);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 420,
    height: 260,
    config: CONFIG,
    data: { values: rows.map((r) => ({ ...r, concept: `k=${r.concept}` })) },
    mark: 'bar',
    encoding: {
      x: { field: 'concept', type: 'nominal', title: 'concept (prototype)', axis: { labelAngle: 0 } },
      xOffset: { field: 'similarity', type: 'nominal' },
      y: { field: 'items', type: 'quantitative', title: 'items assigned' },
      color: {
        field: 'similarity',
        type: 'nominal',
        title: 'similarity',
        scale: { domain: ['cosine', 'inner product'], range: [PALETTE[0], PALETTE[1]] },
      },
    },
  };
}

/** One run of Figure 4. */
export interface RunPoint {
  /** e.g. 'MacridVAE (K=7)', 'β-MultVAE'. */
  method: string;
  independence: number;
  ndcg100: number;
  label?: string;
}

/** Figure 4: independence of the representations vs NDCG@100, one point per run. */
export function independenceSpec(runs: RunPoint[], title: string): TopLevelSpec {
  checkArray('independenceSpec', 'runs', runs, Array);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 420,
    height: 300,
    config: CONFIG,
    data: { values: runs.map((r) => ({ ...r })) },
    mark: { type: 'point', filled: true, size: 50, opacity: 0.8 },
    encoding: {
      x: { field: 'independence', type: 'quantitative', title: 'independence', scale: { zero: false } },
      y: { field: 'ndcg100', type: 'quantitative', title: 'NDCG@100', scale: { zero: false } },
      color: { field: 'method', type: 'nominal', title: 'method', scale: { range: PALETTE } },
    },
  };
}

/** |corr| between the `d` dimensions (`corr` is `d × d`). */
export function correlationSpec(corr: ArrayLike<number>, d: number, title: string): TopLevelSpec {
  checkObject('correlationSpec', 'corr', corr, 'an array of d × d correlations');
  checkInt('correlationSpec', 'd', d, 1);
  if (corr.length !== d * d) {
    throw new InvalidArgumentError(
      `'corr' passed to correlationSpec() must have ${d * d} elements but has ${corr.length}`,
    );
  }
  const values: { i: number; j: number; v: number }[] = [];
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) values.push({ i, j, v: Math.abs(corr[i * d + j]) });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 360,
    height: 360,
    config: CONFIG,
    data: { values },
    mark: 'rect',
    encoding: {
      x: { field: 'i', type: 'ordinal', title: 'dimension', axis: d > 30 ? { values: [0, d - 1] } : {} },
      y: { field: 'j', type: 'ordinal', title: 'dimension', axis: d > 30 ? { values: [0, d - 1] } : {} },
      color: { field: 'v', type: 'quantitative', title: '|corr|', scale: { domain: [0, 1], scheme: 'blues' } },
    },
  };
}

/** Renders a Vega-Lite specification to an SVG document (Vega, headless). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  checkObject('renderSvg', 'spec', spec, 'a Vega-Lite specification');
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  let compiled: ReturnType<typeof compile>;
  try {
    compiled = compile(spec);
  } catch (e) {
    throw new InvalidArgumentError(
      `'spec' passed to renderSvg() is not a valid Vega-Lite specification: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const view = new vega.View(vega.parse(compiled.spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterizes an SVG document to PNG with resvg, at `scale` × its size. */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  if (typeof svg !== 'string') {
    throw new InvalidArgumentError(
      `'svg' passed to svgToPng() must be a string but got ${svg === null ? 'null' : typeof svg}`,
    );
  }
  checkNumber('svgToPng', 'scale', scale, 0.01, 100);
  // resvg-js is CommonJS (a native addon), so it loads synchronously here, at the first use.
  const { Resvg } = createRequire(import.meta.url)('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  const r = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
    background: 'white',
  });
  return r.render().asPng();
}

/** Writes `<base>.svg` and `<base>.png`; returns both paths. */
export async function writeFigure(spec: TopLevelSpec, base: string): Promise<{ svg: string; png: string }> {
  checkObject('writeFigure', 'spec', spec, 'a Vega-Lite specification');
  checkPath('writeFigure', 'base', base);
  const svg = await renderSvg(spec);
  mkdirSync(dirname(base), { recursive: true });
  writeFileAtomicSync(`${base}.svg`, svg);
  writeFileAtomicSync(`${base}.png`, svgToPng(svg));
  return { svg: `${base}.svg`, png: `${base}.png` };
}
