/**
 * Seeded concept spaces with planted structure: `concepts` random prototype directions and items
 * scattered around them (item `i` belongs to concept `i % concepts`). Used by tests and benchmarks.
 */
import type { ConceptSpace } from '../../ts/wasm/control.js';
import { Rng } from './random.js';

/** Standard normal draws from a seeded {@link Rng} (Box–Muller). */
export function gaussian(rng: Rng): () => number {
  return () => {
    const u1 = Math.max(rng.next(), 1e-12);
    const u2 = rng.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  };
}

export function plantedSpace(seed: number, items: number, d: number, concepts: number, noise: number): ConceptSpace {
  const g = gaussian(new Rng(seed));
  const prototypes = new Float32Array(concepts * d);
  for (let i = 0; i < prototypes.length; i++) prototypes[i] = g();
  const h = new Float32Array(items * d);
  for (let i = 0; i < items; i++) {
    const k = i % concepts;
    for (let l = 0; l < d; l++) h[i * d + l] = prototypes[k * d + l] + noise * g();
  }
  return { h, prototypes, items, d, concepts };
}
