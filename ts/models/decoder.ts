/**
 * The fused decoder (`mixDecoderTrain` / `mixDecoderLogProbs` of `ts/wasm/nn.ts`) split over users by
 * the runtime (`Runtime.splitUsers`): each slice of users gets the shared item matrices, computes its
 * users' loss, `dz` rows and its partial `dh`/`dc`/`dbias`; the partials are summed, the per-user rows
 * concatenated. With one thread (or a small batch) it runs on the calling thread.
 */
import { csrSliceRows } from '../csr.js';
import { type MergeSpec, Runtime, type RuntimeLike } from '../runtime/runtime.js';
import type { MixDecoderArgs, MixDecoderGrads, MixDecoderTrainArgs, SampledNegatives } from '../wasm/nn.js';

const TRAIN_MERGE: MergeSpec<MixDecoderGrads> = { loss: 'concat', dz: 'concat', dh: 'sum', dc: 'sum', dbias: 'sum' };

/** Loss and gradients of the fused decoder (optionally sampled softmax), users split across the pool. */
export function decoderTrain(
  rt: RuntimeLike,
  a: MixDecoderTrainArgs & { sampled?: SampledNegatives },
): Promise<MixDecoderGrads> {
  const items = a.sampled ? a.sampled.items.length + a.x.indices.length / Math.max(1, a.users) : a.items;
  const row = a.concepts * a.d;
  return Runtime.from(rt).splitUsers(
    'mixDecoderTrain',
    a.users,
    a.users * a.concepts * items * a.d,
    (lo, hi) =>
      lo === 0 && hi === a.users
        ? a
        : { ...a, users: hi - lo, z: a.z.slice(lo * row, hi * row), x: csrSliceRows(a.x, lo, hi) },
    TRAIN_MERGE,
  );
}

/** Log-probabilities of every item for every user (`users × items`), users split across the pool. */
export function decoderLogProbs(rt: RuntimeLike, a: MixDecoderArgs): Promise<Float32Array> {
  const row = a.concepts * a.d;
  return Runtime.from(rt).splitUsers(
    'mixDecoderLogProbs',
    a.users,
    a.users * a.concepts * a.items * a.d,
    (lo, hi) => (lo === 0 && hi === a.users ? a : { ...a, users: hi - lo, z: a.z.slice(lo * row, hi * row) }),
    'concat',
  );
}
