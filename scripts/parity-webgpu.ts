/**
 * parity-webgpu: the tfjs training step on TensorFlow.js's WebGPU backend in Node, against the Rust path.
 * WebGPU comes from Dawn (npm `webgpu`, prebuilt `dawn.node`) and `@tensorflow/tfjs-backend-webgpu`,
 * neither a dependency of this package: install them without saving, with a Vulkan or GL driver
 * (without a GPU: Mesa's software drivers), then run this script:
 *
 *   apt-get install mesa-vulkan-drivers libvulkan1 libegl-mesa0 libgles2
 *   npm install --no-save webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0
 *   EGL_PLATFORM=surfaceless XDG_RUNTIME_DIR=/tmp npx tsx scripts/parity-webgpu.ts [--dawn backend=opengles]
 *
 * `--dawn` passes Dawn options (space-separated); `--compat` asks for a compatibility-mode adapter (needed by
 * Dawn's OpenGL ES backend, and by Mesa 22's lavapipe, which lacks a Vulkan feature Dawn's core mode needs).
 * Prints, per model and softmax, the largest relative difference of the loss and every gradient
 * (`max|tfjs − rust| / max|rust|`), the time of one step on each path, and the tensor count over 200 tfjs
 * steps. The Rust path runs on the `cpu` tfjs backend: it reads weights synchronously (`dataSync`), which
 * tfjs's WebGPU backend cannot do in Node (it needs `OffscreenCanvas`).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { csrFromRows } from '../ts/csr.js';
import { type ModelConfig, resolveModelConfig } from '../ts/models/config.js';
import { createModel } from '../ts/models/index.js';
import { TfjsAdam, tfjsGradients, tfjsTrainStep } from '../ts/models/tfjs/index.js';
import { computeInfo } from '../ts/train/compute.js';
import { Rng } from '../ts/util/rng.js';
import type { SampledNegatives } from '../ts/wasm/nn.js';

const { values: opt } = parseArgs({
  options: { dawn: { type: 'string', default: '' }, compat: { type: 'boolean', default: false } },
});

async function load(spec: string): Promise<Record<string, unknown>> {
  const name: string = spec; // a variable keeps TypeScript from requiring the optional package's types
  try {
    return (await import(name)) as Record<string, unknown>;
  } catch (e) {
    throw new Error(
      `cannot load '${spec}' (${e instanceof Error ? e.message.split('\n')[0] : String(e)}): run 'npm install --no-save webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0' first`,
    );
  }
}

async function main(): Promise<void> {
  const dawn = (await load('webgpu')) as {
    create: (o: string[]) => { requestAdapter: (o?: Record<string, unknown>) => Promise<unknown> };
    globals: object;
  };
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create(opt.dawn.split(' ').filter((s) => s !== ''));
  if (opt.compat) {
    const request = gpu.requestAdapter.bind(gpu);
    gpu.requestAdapter = (o = {}) => request({ ...o, featureLevel: 'compatibility' });
  }
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
  const adapter = (await gpu.requestAdapter()) as { info?: { device?: string; description?: string } } | null;
  if (!adapter)
    throw new Error('Dawn found no WebGPU adapter (see the warnings above; try --dawn backend=opengles --compat)');
  console.log(`adapter: ${adapter.info?.device ?? '?'} (${adapter.info?.description ?? ''})`);
  await load('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error("tfjs backend 'webgpu' failed to initialize");
  console.log(`compute auto on webgpu: ${JSON.stringify(computeInfo('auto'))}`);

  const ITEMS = 120;
  const rng = new Rng(1);
  const rows = Array.from({ length: 25 }, () => {
    const s = new Set<number>();
    const n = 2 + Math.floor(rng.next() * 12);
    while (s.size < n) s.add(Math.floor(rng.next() * ITEMS));
    return [...s].sort((a, b) => a - b);
  });
  const x = csrFromRows(rows, ITEMS);
  const S = 60;
  const neg: SampledNegatives = {
    items: Uint32Array.from({ length: S }, () => Math.floor(rng.next() * ITEMS)),
    logWeight: new Float32Array(S).fill(-Math.log(S / ITEMS)),
  };
  const rel = (a: Float32Array, b: Float32Array) => {
    let d = 0;
    let s = 0;
    for (let i = 0; i < b.length; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
      s = Math.max(s, Math.abs(b[i]));
    }
    return s ? d / s : d;
  };
  const configs: Record<string, ModelConfig> = {
    macridvae: resolveModelConfig('macridvae', { concepts: 4, d: 16, tau: 0.2 }),
    multvae: resolveModelConfig('multvae', { hidden: [24], latent: 8 }),
    multdae: resolveModelConfig('multdae', { hidden: [20], latent: 6 }),
  };
  let failed = false;
  for (const [label, cfg] of Object.entries(configs)) {
    for (const sampled of [undefined, neg]) {
      const step = { beta: 0.3, l2: 1e-3, noiseSeed: 12345, sampled };
      await tf.setBackend('cpu');
      const a = createModel(cfg, ITEMS, { seed: 7 });
      const t0 = performance.now();
      const r = await a.gradients(x, step);
      const rustMs = performance.now() - t0;
      const rust = new Map([...r.grads].map(([n, v]) => [n, (v.dataSync() as Float32Array).slice()]));
      for (const v of r.grads.values()) v.dispose();
      a.dispose();
      await tf.setBackend('webgpu');
      const model = createModel(cfg, ITEMS, { seed: 7 });
      const warm = await tfjsGradients(model, x, step); // compiles the shaders
      for (const v of warm.grads.values()) v.dispose();
      const t1 = performance.now();
      const g = await tfjsGradients(model, x, step);
      const got = new Map<string, Float32Array>();
      for (const [n, v] of g.grads) got.set(n, (await v.data()) as Float32Array);
      const tfjsMs = performance.now() - t1;
      let worst = Math.abs(g.terms.loss - r.terms.loss) / Math.abs(r.terms.loss);
      let where = 'loss';
      for (const [n, v] of rust) {
        const e = rel(got.get(n) as Float32Array, v);
        if (!(e <= worst)) {
          worst = e;
          where = n;
        }
      }
      if (!(worst <= 1e-4)) failed = true;
      console.log(
        `${label} ${sampled ? 'sampled' : 'full'}: worst relative difference ${worst.toExponential(2)} (${where}); one step: Rust ${rustMs.toFixed(0)} ms, tfjs on webgpu ${tfjsMs.toFixed(0)} ms`,
      );
      for (const v of g.grads.values()) v.dispose();
      model.dispose();
    }
  }
  const model = createModel(configs.macridvae, ITEMS, { seed: 2 });
  const adam = new TfjsAdam({ lr: 1e-3 });
  let after10 = 0;
  for (let s = 0; s < 200; s++) {
    await tfjsTrainStep(model, adam, x, { beta: 0.2, l2: 1e-4, noiseSeed: s, sampled: s % 2 ? neg : undefined });
    if (s === 9) after10 = tf.memory().numTensors;
  }
  const after200 = tf.memory().numTensors;
  console.log(`tensors after 10 and 200 tfjs steps: ${after10}, ${after200}`);
  if (after200 !== after10 || failed) process.exit(1);
  process.exit(0);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
