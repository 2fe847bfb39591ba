import { createRequire } from 'node:module';
import test from 'ava';
import { BackendUnavailableError, InvalidArgumentError } from '../../ts/errors.js';
import { selectBackend } from '../../ts/tf/backend.js';

function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

test.serial('auto reports why it skipped the native backends that are not installed', async (t) => {
  const info = await selectBackend('auto');
  if (!installed('@tensorflow/tfjs-node-gpu')) {
    t.true(info.skipped.some((s) => s.name === 'tensorflow-gpu' && s.reason.includes('@tensorflow/tfjs-node-gpu')));
  }
  t.is(info.requested, 'auto');
  t.truthy(info.tfBackend);
});

test.serial('forcing an unavailable backend fails with a message saying what to install', async (t) => {
  if (installed('@tensorflow/tfjs-node')) {
    t.pass('tfjs-node is installed here');
    return;
  }
  await t.throwsAsync(selectBackend('tensorflow'), {
    instanceOf: BackendUnavailableError,
    message: /npm install @tensorflow\/tfjs-node/,
  });
});

test.serial('wasm and cpu backends load and report threads', async (t) => {
  const w = await selectBackend('wasm');
  t.is(w.tfBackend, 'wasm');
  t.true((w.threads ?? 0) >= 1);
  const c = await selectBackend('cpu');
  t.is(c.tfBackend, 'cpu');
  t.is(c.threads, 1);
});

test('bad names and thread counts are rejected naming the argument', async (t) => {
  await t.throwsAsync(selectBackend('tpu' as never), {
    instanceOf: InvalidArgumentError,
    message: /'backend' must be one of/,
  });
  await t.throwsAsync(selectBackend('wasm', { threads: 0 }), {
    message: "'threads' must be an integer >= 1 but got 0",
  });
});
