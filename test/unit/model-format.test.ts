/** The tensor file format: the TS writer reproduces the fixture the Rust reader is tested on; round trips; corruption detected. */
import { readFileSync } from 'node:fs';
import test from 'ava';
import { ParseError } from '../../ts/errors.js';
import type { MacridVaeConfig } from '../../ts/models/config.js';
import { configMeta, decodeTensorFile, encodeTensorFile } from '../../ts/train/checkpoint.js';

// A config as written before `prototypeInit`/`prototypeWarmup` existed: the fixture keeps that shape
// (readers resolve the missing fields to their defaults).
const TINY_CONFIG = {
  kind: 'macridvae',
  concepts: 2,
  d: 2,
  tau: 0.1,
  sigma0: 0.075,
  hidden: [3, 2],
  similarity: 'cosine',
  gumbel: true,
  keep: 0.5,
} as MacridVaeConfig;
const TINY = {
  meta: configMeta(TINY_CONFIG, 3),
  tensors: {
    items: { shape: [3, 2], data: new Float32Array([1, -2.5, 3.25, 0, 1e-3, -7]) },
    context_bias: { shape: [2], data: new Float32Array([0.5, 0.125]) },
  },
};

test('the writer produces exactly the fixture that crates/macrid-core/src/tensorfile.rs reads', (t) => {
  const fixture = new Uint8Array(readFileSync('test/fixtures/tiny.mvt'));
  t.deepEqual(encodeTensorFile(TINY), fixture);
  t.deepEqual(decodeTensorFile(fixture, 'tiny.mvt'), TINY);
});

test('round trip of odd names, scalars and empty tensors', (t) => {
  const f = {
    meta: { 'ünïcode key': 'v', empty: '' },
    tensors: {
      a: { shape: [], data: new Float32Array([3]) },
      'b/c.d': { shape: [0, 4], data: new Float32Array(0) },
      e: { shape: [2, 1, 3], data: Float32Array.from({ length: 6 }, (_, i) => i - 2.5) },
    },
  };
  t.deepEqual(decodeTensorFile(encodeTensorFile(f), 'x'), f);
});

test('truncation, a bad magic and trailing bytes are parse errors naming the file and offset', (t) => {
  const bytes = encodeTensorFile(TINY);
  t.throws(() => decodeTensorFile(bytes.subarray(0, bytes.length - 5), 'w.mvt'), {
    instanceOf: ParseError,
    message: /^w\.mvt: truncated file .* at byte \d+$/,
  });
  const bad = bytes.slice();
  bad[1] = 0;
  t.throws(() => decodeTensorFile(bad, 'w.mvt'), { message: /not a macridvae tensor file/ });
  const extra = new Uint8Array(bytes.length + 4);
  extra.set(bytes);
  t.throws(() => decodeTensorFile(extra, 'w.mvt'), { message: /4 unexpected bytes after the end marker/ });
});
