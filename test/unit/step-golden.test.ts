/**
 * One training step of each model equals the values recorded before issue 12's refactor
 * (test/fixtures/step-golden.json, written by scripts/record-step-golden.ts): loss terms and every
 * gradient within 1e-5 relative. Summation order may change, so each element is compared relative to
 * max(|recorded|, 1e-3·max|recorded of that gradient|) — an element a thousand times smaller than the
 * largest of its tensor is compared at the tensor's scale, not its own.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import test from 'ava';
import { selectBackend } from '../../ts/tf/backend.js';
import { type RecordedStep, runStepCase, STEP_CASES } from '../helpers/step-golden.js';

const REL = 1e-5;
const recorded = JSON.parse(readFileSync(new URL('../fixtures/step-golden.json', import.meta.url), 'utf8')) as Record<
  string,
  RecordedStep
>;

test.before(async () => {
  await selectBackend('wasm');
});

for (const c of STEP_CASES) {
  test.serial(`${c.name}: loss and gradients equal the recorded step`, async (t) => {
    const want = recorded[c.name];
    t.truthy(want, `no recorded values for '${c.name}'`);
    const got = await runStepCase(c);
    for (const k of ['loss', 'nll', 'kl', 'l2'] as const) {
      const a = got.terms[k];
      const b = want.terms[k];
      t.true(Math.abs(a - b) <= REL * Math.max(Math.abs(b), 1e-6), `${k}: ${a} vs recorded ${b}`);
    }
    t.deepEqual(Object.keys(got.grads), Object.keys(want.grads));
    for (const [name, w] of Object.entries(want.grads)) {
      const g = got.grads[name];
      t.is(g.length, w.length, name);
      let scale = 0;
      for (const v of w) scale = Math.max(scale, Math.abs(v));
      let worst = 0;
      let at = -1;
      for (let i = 0; i < w.length; i++) {
        const r = Math.abs(g[i] - w[i]) / Math.max(Math.abs(w[i]), 1e-3 * scale, 1e-30);
        if (r > worst) {
          worst = r;
          at = i;
        }
      }
      t.true(worst <= REL, `${name}[${at}]: ${g[at]} vs recorded ${w[at]} (relative ${worst})`);
    }
    t.is(tf.memory().numTensors, 0);
  });
}
