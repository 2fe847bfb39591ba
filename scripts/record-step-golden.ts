/**
 * record-step-golden: writes test/fixtures/step-golden.json, one training step's loss terms and every
 * gradient for the cases of test/helpers/step-golden.ts (MacridVAE full and sampled softmax, β-MultVAE,
 * MultDAE) on the wasm backend. Recorded once before issue 12's architecture change; rerun it only when
 * a step is meant to compute something else, and say why in the commit.
 *
 * Usage: tsx scripts/record-step-golden.ts
 */
import { execFileSync } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { type RecordedStep, runStepCase, STEP_CASES } from '../test/helpers/step-golden.js';
import { selectBackend } from '../ts/tf/backend.js';

await selectBackend('wasm');
const out: Record<string, RecordedStep> = {};
for (const c of STEP_CASES) out[c.name] = await runStepCase(c);
const file = new URL('../test/fixtures/step-golden.json', import.meta.url);
writeFileSync(`${file.pathname}.tmp`, `${JSON.stringify(out)}\n`);
renameSync(`${file.pathname}.tmp`, file.pathname);
// The repository's formatter lays the JSON out (the lint step checks fixtures too).
execFileSync('npx', ['biome', 'format', '--write', file.pathname], { stdio: 'ignore' });
console.log(`wrote ${file.pathname}: ${Object.keys(out).join(', ')}`);
