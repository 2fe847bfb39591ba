/**
 * Production training: the model to deploy is trained on every user of the dataset — the training users
 * and the validation and test users' whole histories (fold-in ∪ target) — with no held-out split, for a
 * fixed number of epochs: given, or the best epoch of an earlier validated run on the same dataset
 * (`epochsFrom`). Nothing is held out, so nothing is validated; the model directory's manifest says so
 * in its `production` block (docs/model-format.md).
 */
import { type Csr, csrFromRows, csrRow, csrRows } from '../csr.js';
import type { SplitData } from '../data/types.js';
import { InvalidArgumentError } from '../errors.js';
import { readManifest, sameDatasetFingerprint } from './checkpoint.js';

/** What `manifest.production` records. */
export interface ProductionInfo {
  /** Trained on every user, nothing held out. */
  allUsers: true;
  /** Users trained on (training + validation + test users). */
  users: number;
  /** The fixed number of epochs trained. */
  epochs: number;
  /** The validated run the epoch count came from (its best epoch), when it came from one. */
  epochsFrom?: { dir: string; bestEpoch: number; datasetFingerprint: string };
}

/** Sorted union of two sorted index lists. */
function union(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  return [...new Set([...Array.from(a), ...Array.from(b)])].sort((x, y) => x - y);
}

function empty(items: number): Csr {
  return csrFromRows([], items);
}

/**
 * The dataset with every user in `train` (training users first, then validation, then test users, each
 * held-out user's fold-in and target merged) and empty held-out splits.
 */
export function allUsersData(data: SplitData): SplitData {
  const rows: number[][] = [];
  for (let r = 0; r < csrRows(data.train); r++) rows.push(Array.from(csrRow(data.train, r)));
  for (const h of [data.validation, data.test]) {
    for (let r = 0; r < csrRows(h.foldIn); r++) rows.push(union(csrRow(h.foldIn, r), csrRow(h.target, r)));
  }
  const none = { foldIn: empty(data.items), target: empty(data.items) };
  return { items: data.items, train: csrFromRows(rows, data.items), validation: none, test: none };
}

/**
 * The epoch count of an earlier validated run: the best epoch in `dir`'s manifest. Refused when that run
 * was itself a production run (it chose nothing) or was trained on another dataset than
 * `datasetFingerprint` (the fingerprint of the split dataset, before merging), when given.
 */
export function epochsFromRun(dir: string, datasetFingerprint?: string): NonNullable<ProductionInfo['epochsFrom']> {
  const m = readManifest(dir) as ReturnType<typeof readManifest> & { production?: ProductionInfo };
  if (m.production) {
    throw new InvalidArgumentError(`${dir} is a production run (nothing was validated); give a validated run`);
  }
  if (!(Number.isInteger(m.bestEpoch) && m.bestEpoch >= 1)) {
    throw new InvalidArgumentError(`${dir}: the manifest has no best epoch (bestEpoch = ${String(m.bestEpoch)})`);
  }
  if (datasetFingerprint !== undefined && !sameDatasetFingerprint(m.dataset.fingerprint, datasetFingerprint)) {
    throw new InvalidArgumentError(
      `${dir} was trained on another dataset (fingerprint ${m.dataset.fingerprint.slice(0, 12)}…, this one ${datasetFingerprint.slice(0, 12)}…)`,
    );
  }
  return { dir, bestEpoch: m.bestEpoch, datasetFingerprint: m.dataset.fingerprint };
}
