/**
 * Production-training helpers (ts/train/production.ts): every user's whole history in `train` with empty
 * held-out splits, and the epoch count taken from a validated run's manifest (refusing a production run
 * or another dataset). The trainer and CLI wiring (`train --all-users`) is not there yet.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { csrFromRows, csrRow, csrRows } from '../../ts/csr.js';
import { allUsersData, epochsFromRun } from '../../ts/train/production.js';
import { tempDir } from '../helpers/tmp.js';

test('allUsersData: training users, then validation and test users with fold-in ∪ target, nothing held out', (t) => {
  const items = 6;
  const data = {
    items,
    train: csrFromRows([[0, 1], [2]], items),
    validation: { foldIn: csrFromRows([[3, 5]], items), target: csrFromRows([[4]], items) },
    test: { foldIn: csrFromRows([[1], [0]], items), target: csrFromRows([[0, 2], [5]], items) },
  };
  const all = allUsersData(data);
  t.is(csrRows(all.train), 5);
  t.deepEqual(
    Array.from({ length: 5 }, (_, r) => [...csrRow(all.train, r)]),
    [[0, 1], [2], [3, 4, 5], [0, 1, 2], [0, 5]],
  );
  for (const h of [all.validation, all.test]) {
    t.is(csrRows(h.foldIn), 0);
    t.is(csrRows(h.target), 0);
  }
});

test('epochsFromRun: the best epoch of a validated run; a production run or another dataset is refused', (t) => {
  const dir = tempDir(t);
  const manifest = { format: 'macridvae-model', formatVersion: 1, bestEpoch: 37, dataset: { fingerprint: 'abc' } };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  t.deepEqual(epochsFromRun(dir, 'abc'), { dir, bestEpoch: 37, datasetFingerprint: 'abc' });
  t.throws(() => epochsFromRun(dir, 'xyz'), { message: /was trained on another dataset/ });
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, production: { allUsers: true } }));
  t.throws(() => epochsFromRun(dir), { message: /is a production run \(nothing was validated\)/ });
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, bestEpoch: 0 }));
  t.throws(() => epochsFromRun(dir), { message: /has no best epoch/ });
});
