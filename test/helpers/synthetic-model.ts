/**
 * A seeded stand-in for a trained model with planted concepts, for analysis tests: item vectors around
 * K prototype directions (item i of true category i % K), users who each like two categories, and
 * user components μ_u^(k) = the normalized mean of the user's items of concept k.
 */

import type { Categories } from '../../ts/analysis/macro.js';
import type { UserComponents } from '../../ts/analysis/micro.js';
import type { Csr } from '../../ts/csr.js';
import { csrFromRows } from '../../ts/csr.js';
import type { ConceptSpace } from '../../ts/wasm/control.js';
import { plantedSpace } from './concepts.js';
import { Rng } from './random.js';

export interface SyntheticModel {
  space: ConceptSpace;
  x: Csr;
  users: UserComponents;
  categories: Categories;
}

export function syntheticModel(
  seed: number,
  items: number,
  d: number,
  K: number,
  nUsers: number,
  noise = 1.2,
): SyntheticModel {
  const space = plantedSpace(seed, items, d, K, noise);
  const rng = new Rng(seed + 1);
  const rows: number[][] = [];
  const mu = new Float32Array(nUsers * K * d);
  for (let u = 0; u < nUsers; u++) {
    const a = rng.int(K);
    const b = (a + 1 + rng.int(K - 1)) % K;
    const row = new Set<number>();
    for (let t = 0; t < 12; t++) {
      const k = t % 3 === 2 ? b : a;
      row.add(k + K * rng.int(Math.floor(items / K)));
    }
    const ids = [...row].sort((x, y) => x - y);
    rows.push(ids);
    for (const i of ids) {
      const k = i % K;
      for (let l = 0; l < d; l++) mu[(u * K + k) * d + l] += space.h[i * d + l];
    }
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let l = 0; l < d; l++) s += mu[(u * K + k) * d + l] ** 2;
      if (s === 0) for (let l = 0; l < d; l++) mu[(u * K + k) * d + l] = space.prototypes[k * d + l];
      s = 0;
      for (let l = 0; l < d; l++) s += mu[(u * K + k) * d + l] ** 2;
      for (let l = 0; l < d; l++) mu[(u * K + k) * d + l] /= Math.sqrt(s);
    }
  }
  const labels = new Uint32Array(items);
  for (let i = 0; i < items; i++) labels[i] = i % K;
  return {
    space,
    x: csrFromRows(rows, items),
    users: { mu, users: nUsers, concepts: K, d },
    categories: { labels, names: Array.from({ length: K }, (_, k) => `category ${String.fromCharCode(65 + k)}`) },
  };
}
