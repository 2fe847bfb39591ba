/**
 * The recorded-step cases of issue 12: one training step of MacridVAE (full and sampled softmax),
 * β-MultVAE and MultDAE on a small seeded input. `scripts/record-step-golden.ts` wrote their loss terms
 * and every gradient to `test/fixtures/step-golden.json` before the architecture change;
 * `test/unit/step-golden.test.ts` recomputes them and compares (1e-5 relative), so a refactor that
 * changes what a step computes (not merely its summation order) fails.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { type Csr, csrFromRows } from '../../ts/csr.js';
import { type ModelConfig, resolveModelConfig } from '../../ts/models/config.js';
import { createModel } from '../../ts/models/index.js';
import type { StepOptions } from '../../ts/models/types.js';
import { Rng } from './random.js';

export const GOLDEN_ITEMS = 40;

export interface StepCase {
  name: string;
  config: ModelConfig;
  step: StepOptions;
}

/** 12 users with 3–10 clicks each over 40 items (seeded). */
export function goldenBatch(): Csr {
  const rng = new Rng(2024);
  const rows: number[][] = [];
  for (let u = 0; u < 12; u++) {
    const s = new Set<number>();
    const n = 3 + rng.int(8);
    while (s.size < n) s.add(rng.int(GOLDEN_ITEMS));
    rows.push([...s].sort((a, b) => a - b));
  }
  return csrFromRows(rows, GOLDEN_ITEMS);
}

const macrid = resolveModelConfig('macridvae', { concepts: 3, d: 8, tau: 0.2, hidden: [6] });

/** 15 shared negatives with their log weights `−ln(S·Q)` (hand-made, so the case does not depend on the sampler). */
const sampled = {
  items: Uint32Array.from({ length: 15 }, (_, j) => (j * 11 + 3) % GOLDEN_ITEMS),
  logWeight: Float32Array.from({ length: 15 }, (_, j) => -Math.log(15) + 0.02 * (j % 5)),
};

export const STEP_CASES: StepCase[] = [
  { name: 'macridvae full softmax', config: macrid, step: { beta: 0.3, l2: 0.01, noiseSeed: 77 } },
  { name: 'macridvae sampled softmax', config: macrid, step: { beta: 0.3, l2: 0.01, noiseSeed: 78, sampled } },
  {
    name: 'multvae',
    config: resolveModelConfig('multvae', { hidden: [9], latent: 5 }),
    step: { beta: 0.2, l2: 0.01, noiseSeed: 79 },
  },
  {
    name: 'multdae',
    config: resolveModelConfig('multdae', { hidden: [9], latent: 5 }),
    step: { beta: 0, l2: 0.01, noiseSeed: 80 },
  },
];

export interface RecordedStep {
  terms: { loss: number; nll: number; kl: number; l2: number };
  grads: Record<string, number[]>;
}

/** One step of `c` from weights seeded with 11 on {@link goldenBatch}. */
export async function runStepCase(c: StepCase): Promise<RecordedStep> {
  const m = createModel(c.config, GOLDEN_ITEMS, { seed: 11 });
  try {
    const g = await m.gradients(goldenBatch(), c.step);
    const grads: Record<string, number[]> = {};
    for (const [name, t] of g.grads) {
      grads[name] = Array.from((t as tf.Tensor).dataSync());
      t.dispose();
    }
    const { loss, nll, kl, l2 } = g.terms;
    return { terms: { loss, nll, kl, l2 }, grads };
  } finally {
    m.dispose();
  }
}
