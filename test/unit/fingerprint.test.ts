/**
 * Issue 11, rule 4: the dataset fingerprint covers the matrices and, when the data carries them, the item
 * and user id strings — the same ratings under other ids are another dataset — while fingerprints
 * written before the ids were covered (the matrices' part alone) still match their dataset.
 */
import test from 'ava';
import { datasetFingerprint, sameDatasetFingerprint } from '../../ts/train/checkpoint.js';
import { syntheticSplit } from '../helpers/synthetic-split.js';

const data = syntheticSplit(4);
const itemIds = Array.from({ length: data.items }, (_, i) => `m${i}`);
const userIds = Array.from({ length: 160 }, (_, u) => `u${u}`);

test('datasetFingerprint: the matrices, then the ids when the data has them', (t) => {
  const bare = datasetFingerprint(data);
  t.regex(bare, /^[0-9a-f]{64}$/, 'in-memory data without ids: the matrices alone, as before');
  const withIds = datasetFingerprint({ ...data, itemIds, userIds } as typeof data);
  t.regex(withIds, /^[0-9a-f]{64}\.[0-9a-f]{64}$/);
  t.is(withIds.split('.')[0], bare, 'the same matrices part');
  t.is(datasetFingerprint({ ...data, itemIds: [...itemIds], userIds: [...userIds] } as typeof data), withIds);
  // Same shape and matrices, other item ids (other items behind the columns), or other user ids.
  const otherItems = datasetFingerprint({ ...data, itemIds: itemIds.map((x) => `${x}x`), userIds } as typeof data);
  const swapped = [...itemIds];
  [swapped[0], swapped[1]] = [swapped[1], swapped[0]];
  const swappedItems = datasetFingerprint({ ...data, itemIds: swapped, userIds } as typeof data);
  const otherUsers = datasetFingerprint({ ...data, itemIds, userIds: userIds.map((x) => `${x}x`) } as typeof data);
  for (const other of [otherItems, swappedItems, otherUsers]) {
    t.not(other, withIds);
    t.false(sameDatasetFingerprint(withIds, other));
  }
  // Ids that would collide if joined without a separator.
  t.not(
    datasetFingerprint({ ...data, itemIds: ['a', 'bc', ...itemIds.slice(2)] } as typeof data),
    datasetFingerprint({ ...data, itemIds: ['ab', 'c', ...itemIds.slice(2)] } as typeof data),
  );
});

test('sameDatasetFingerprint: an older model (matrices only) matches its dataset; other matrices never do', (t) => {
  const bare = datasetFingerprint(data);
  const withIds = datasetFingerprint({ ...data, itemIds, userIds } as typeof data);
  t.true(sameDatasetFingerprint(withIds, withIds));
  t.true(sameDatasetFingerprint(bare, withIds), 'a model written before ids were fingerprinted');
  t.true(sameDatasetFingerprint(withIds, bare), 'in-memory data without ids');
  const other = datasetFingerprint({ ...syntheticSplit(5), itemIds, userIds } as typeof data);
  t.false(sameDatasetFingerprint(withIds, other));
  t.false(sameDatasetFingerprint(bare, other));
});
