/**
 * A small seeded `SplitData` with planted structure (items in `groups` categories, users preferring a
 * few), for model and trainer tests that must run in seconds.
 */
import { csrFromRows } from '../../ts/csr.js';
import type { SplitData } from '../../ts/data/types.js';
import { Rng } from '../../ts/util/rng.js';

export function syntheticSplit(seed: number, users = 120, items = 80, heldout = 20, groups = 4): SplitData {
  const rng = new Rng(seed);
  const group = Array.from({ length: items }, (_, i) => i % groups);
  const user = () => {
    const likes = new Set([rng.int(groups), rng.int(groups)]);
    const row = new Set<number>();
    const n = 6 + rng.int(10);
    while (row.size < n) {
      const i = rng.int(items);
      if (likes.has(group[i]) || rng.next() < 0.1) row.add(i);
    }
    return [...row].sort((a, b) => a - b);
  };
  const train = Array.from({ length: users }, user);
  const held = (n: number) => {
    const foldIn: number[][] = [];
    const target: number[][] = [];
    for (let u = 0; u < n; u++) {
      const row = user();
      const cut = Math.max(1, Math.floor(row.length * 0.2));
      target.push(row.slice(0, cut));
      foldIn.push(row.slice(cut));
    }
    return { foldIn: csrFromRows(foldIn, items), target: csrFromRows(target, items) };
  };
  return { items, train: csrFromRows(train, items), validation: held(heldout), test: held(heldout) };
}
