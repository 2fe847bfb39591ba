/**
 * `macridvae traverse`: user-controllable retrieval (paper §2.4, Figure 3 as text). Starts from an item
 * (`--item ID`) or from concept component K of a user given by their items (`--user-items ID,ID,...
 * --concept K`), varies dimension J, and prints the B items retrieved along it with their value on J
 * and their score. `--json` prints `{concept, range: [a, b], items: [{id, value, score, title?}], …}`.
 * With `--data DIR` (the model's dataset) item ids are the dataset's raw ids (e.g. MovieLens movieId)
 * and titles are printed when the dataset has them; without it, item ids are column numbers.
 */
import { TRAVERSE_DEFAULTS, type TraverseStart, traverse } from '../../control/traverse.js';
import { csrFromRows } from '../../csr.js';
import { type Command, intOption, numberOption, parse, printJson, UsageError } from '../args.js';
import { columnIds, type OpenData, type OpenModel } from '../model-view.js';

/** `--data DIR` of the commands that print items: the model's dataset gives raw ids and titles. */
export const ITEM_IDS_OPTION = {
  type: 'string',
  value: 'DIR',
  description: "the model's dataset: raw item ids and titles (else column numbers)",
} as const;

export const TRAVERSE_OPTIONS = {
  model: { type: 'string', value: 'DIR', required: true, description: 'the trained MacridVAE model directory' },
  data: ITEM_IDS_OPTION,
  item: { type: 'string', value: 'ID', description: 'start from this item (or --user-items)' },
  'user-items': {
    type: 'string',
    value: 'ID,ID,…',
    description: 'start from a user given by these items (needs --concept)',
  },
  concept: { type: 'string', value: 'K', description: 'which concept component of the user to start from' },
  dim: { type: 'string', value: 'J', required: true, description: 'the dimension to vary (0 ≤ J < d)' },
  steps: {
    type: 'string',
    value: 'B',
    default: String(TRAVERSE_DEFAULTS.steps),
    description: 'items retrieved along the dimension',
  },
  beam: {
    type: 'string',
    value: 'W',
    default: String(TRAVERSE_DEFAULTS.beam),
    description: 'beam width of the search',
  },
  gamma: {
    type: 'string',
    value: 'G',
    default: String(TRAVERSE_DEFAULTS.gamma),
    description: 'γ, weight of the pairwise-similarity term of the beam search (paper §2.4)',
  },
} as const;

/** External item id → column. */
export function columnIndex(itemIds: string[]): Map<string, number> {
  return new Map(itemIds.map((id, c) => [id, c]));
}

/** Resolves external item ids to columns, naming the first unknown one. */
export function itemColumns(cmd: string, option: string, itemIds: string[], ids: string[]): number[] {
  const col = columnIndex(itemIds);
  return ids.map((id) => {
    const c = col.get(id);
    if (c === undefined)
      throw new UsageError(`macridvae ${cmd}: --${option}: item '${id}' is not an item of the model`);
    return c;
  });
}

export function traverseCommand(open: OpenModel, openData: OpenData): Command {
  return {
    name: 'traverse',
    summary: 'vary one dimension of an item or user component and retrieve items along it (paper §2.4)',
    options: TRAVERSE_OPTIONS,
    async run(argv) {
      const cmd = 'traverse';
      const { values } = parse(cmd, argv, TRAVERSE_OPTIONS);
      if (!values.model) throw new UsageError(`macridvae ${cmd}: --model DIR is required`);
      if (values.dim === undefined) throw new UsageError(`macridvae ${cmd}: --dim J is required`);
      if ((values.item === undefined) === (values['user-items'] === undefined)) {
        throw new UsageError(`macridvae ${cmd}: give exactly one of --item ID or --user-items ID,ID,...`);
      }
      if (values['user-items'] !== undefined && values.concept === undefined) {
        throw new UsageError(
          `macridvae ${cmd}: --user-items needs --concept K (which component of the user to start from)`,
        );
      }
      const dim = intOption(cmd, 'dim', values.dim, 0);
      const steps = intOption(cmd, 'steps', values.steps, TRAVERSE_DEFAULTS.steps, 1);
      const beam = intOption(cmd, 'beam', values.beam, TRAVERSE_DEFAULTS.beam, 1);
      const gamma = numberOption(cmd, 'gamma', values.gamma, TRAVERSE_DEFAULTS.gamma);
      const view = await open(values.model);
      const data = values.data ? await openData(values.data) : undefined;
      const { d, concepts, items: nItems } = view.space;
      if (data && data.itemIds.length !== nItems) {
        throw new UsageError(
          `macridvae ${cmd}: the model scores ${nItems} items but the dataset ${values.data} has ${data.itemIds.length}: not the model's dataset`,
        );
      }
      const itemIds = data?.itemIds ?? columnIds(nItems);
      const titles = data?.titles;
      if (dim >= d) throw new UsageError(`macridvae ${cmd}: --dim must be < ${d} (the model's d) but got ${dim}`);
      let start: TraverseStart;
      let from: Record<string, unknown>;
      if (values.item !== undefined) {
        const [c] = itemColumns(cmd, 'item', itemIds, [values.item]);
        start = { item: c };
        from = { item: values.item, ...(titles?.[c] ? { title: titles[c] } : {}) };
      } else {
        const ids = values['user-items']!.split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
        if (ids.length === 0) throw new UsageError(`macridvae ${cmd}: --user-items must list at least one item id`);
        const cols = [...new Set(itemColumns(cmd, 'user-items', itemIds, ids))].sort((a, b) => a - b);
        const k = intOption(cmd, 'concept', values.concept, 0);
        if (k >= concepts) throw new UsageError(`macridvae ${cmd}: --concept must be < ${concepts} but got ${k}`);
        const u = await view.encode(csrFromRows([cols], view.space.items));
        start = { vector: u.mu.slice(k * d, (k + 1) * d) };
        from = { userItems: ids, component: k };
      }
      const r = traverse(view.space, start, { dim, steps, beam, gamma, tau: view.tau });
      const items = [...r.items].map((c, t) => ({
        id: itemIds[c],
        value: r.values[t],
        score: r.scores[t],
        ...(titles?.[c] ? { title: titles[c] } : {}),
      }));
      if (values.json) {
        printJson({
          start: from,
          dim,
          concept: r.concept,
          range: r.range,
          bounds: [...r.bounds],
          steps,
          beam,
          gamma,
          objective: r.objective,
          items,
        });
      } else {
        const what =
          'item' in from
            ? `item ${from.item}${from.title ? ` (${from.title})` : ''}`
            : `component ${from.component} of a user with ${(from.userItems as string[]).length} items`;
        console.log(`start: ${what}; concept ${r.concept}`);
        console.log(
          `dimension ${dim} over (${r.range[0].toFixed(4)}, ${r.range[1].toFixed(4)}), ${steps} steps, beam ${beam}, γ ${gamma}`,
        );
        const w = Math.max(4, ...items.map((x) => x.id.length));
        for (let t = 0; t < items.length; t++) {
          const x = items[t];
          console.log(
            `  ${String(t + 1).padStart(2)}  ${x.value.toFixed(4).padStart(9)}  ${x.id.padEnd(w)}  ${x.title ?? ''}`.trimEnd(),
          );
        }
      }
      return 0;
    },
  };
}
