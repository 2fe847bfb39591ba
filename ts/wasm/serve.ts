/**
 * Typed wrappers of the serving kernels (`crates/macrid-core/src/serve.rs`).
 *
 * {@link mixTopK}: the VAEs' decoder log-probabilities (as `mixDecoderLogProbs`) and each user's top k
 * fused, tile by tile over the items, so the `users × items` block is never written.
 *
 * {@link itemTopK}: the reference models' scores and top k: for a
 * group of users, each user's scores over all items — `Σ_{r ∈ x_u} W[r]` with `W` dense (EASE's `B`)
 * or sparse by rows (ItemKNN's neighbourhoods regrouped by neighbour), or one constant vector
 * (popularity's counts) — and its top k, in one call, one reused row per user (never a
 * `users × items` block). The scores are the ones `scoreDense` / `scoreSparse` give `eval`.
 */
import { type Csr, checkCsr, csrRows } from '../csr.js';
import { InvalidArgumentError } from '../errors.js';
import { checkArray, checkInt } from '../validate.js';
import { checkDecoder, type MixDecoderArgs } from './nn.js';
import { type TopKResult, topkOutputs } from './ranking.js';
import type { WasmInstance } from './raw.js';

/** The item–item weights: EASE's dense `B`, ItemKNN's sparse rows, or popularity's counts. */
export type ItemWeights =
  | { kind: 'dense'; w: Float32Array }
  | { kind: 'sparse'; w: Csr; values: Float32Array }
  | { kind: 'constant'; v: Float32Array };

export interface ItemTopKArgs {
  /** Histories, `users × items`. */
  x: Csr;
  weights: ItemWeights;
  /** Items never returned per user (`users × items`). */
  exclude: Csr;
  /** When given: per user, the only items ranked (`users × items`). */
  candidates?: Csr;
  /** Items per user, ≥ 0. */
  k: number;
  /** Keep `weights` resident under this group key (`WasmInstance.residents`); the key must always name the same weights. */
  key?: string;
}

/** Top-k per user of the reference models' scores (see the module doc); ties to the lower column. */
export function itemTopK(inst: WasmInstance, args: ItemTopKArgs): TopKResult {
  const fn = 'itemTopK';
  const x = checkCsr(fn, 'x', args.x);
  const users = csrRows(x);
  const items = x.cols;
  const k = checkInt(fn, 'k', args.k, 0, 1 << 20);
  const ex = checkCsr(fn, 'exclude', args.exclude, users, items);
  const cand = args.candidates ? checkCsr(fn, 'candidates', args.candidates, users, items) : undefined;
  const w = args.weights;
  let mode: number;
  if (w?.kind === 'dense') {
    mode = 0;
    checkArray(fn, 'weights.w', w.w, Float32Array, items * items);
  } else if (w?.kind === 'sparse') {
    mode = 1;
    checkCsr(fn, 'weights.w', w.w, items, items);
    checkArray(fn, 'weights.values', w.values, Float32Array, w.w.indices.length);
  } else if (w?.kind === 'constant') {
    mode = 2;
    checkArray(fn, 'weights.v', w.v, Float32Array, items);
  } else {
    throw new InvalidArgumentError(`'weights.kind' passed to ${fn}() must be 'dense', 'sparse' or 'constant'`);
  }
  return inst.call(fn, (a, e) => {
    const pXp = a.input(x.indptr);
    const pXi = a.input(x.indices);
    const key = (name: string) => (args.key === undefined ? undefined : `${args.key}/${name}`);
    const pW = a.put(w.kind === 'dense' ? w.w : w.kind === 'sparse' ? w.values : w.v, key('w'));
    const pWp = w.kind === 'sparse' ? a.put(w.w.indptr, key('w.indptr')) : 0;
    const pWi = w.kind === 'sparse' ? a.put(w.w.indices, key('w.indices')) : 0;
    const wNnz = w.kind === 'sparse' ? w.w.indices.length : 0;
    const pEp = a.input(ex.indptr);
    const pEi = a.input(ex.indices);
    const pCp = cand ? a.input(cand.indptr) : 0;
    const pCi = cand ? a.input(cand.indices) : 0;
    const out = topkOutputs(a, users, k);
    inst.check(
      fn,
      e.mv_item_topk(
        mode,
        pXp,
        users,
        pXi,
        x.indices.length,
        items,
        pW,
        pWp,
        pWi,
        wNnz,
        pEp,
        pEi,
        ex.indices.length,
        pCp,
        pCi,
        cand ? cand.indices.length : 0,
        k,
        ...out.pointers,
      ),
    );
    return out.read();
  });
}

/** The decoder's inputs (as {@link MixDecoderArgs}) plus exclusions and `k`. */
export interface MixTopKArgs extends MixDecoderArgs {
  /** Items never returned per user (`users × items`). */
  exclude: Csr;
  /** Items per user, ≥ 0. */
  k: number;
  /**
   * Resident-copy keys (`WasmInstance.residents`) of the item side: `h` (kept tile-major), `c` (kept
   * tile-major) and `bias`, each under its key; an absent key copies that array for this call. A key
   * must always name the same array contents.
   */
  keys?: { h?: string; c?: string; bias?: string };
}

/**
 * Top-k per user of the decoder's log-probabilities, fused with the decoder (see the module doc).
 * The kernel reads the item side transposed tile by tile (`tile_major` in serve.rs): made per call, or
 * once per instance under `keys`.
 */
export function mixTopK(inst: WasmInstance, a: MixTopKArgs): TopKResult {
  const fn = 'mixTopK';
  checkDecoder(fn, a);
  const ex = checkCsr(fn, 'exclude', a.exclude, a.users, a.items);
  const k = checkInt(fn, 'k', a.k, 0, 1 << 20);
  const { users, items, d, concepts: K } = a;
  const keys = a.keys ?? {};
  return inst.call(fn, (ar, e) => {
    const tiled = (m: Float32Array, cols: number, key: string | undefined) =>
      ar.putWith(m.byteLength, (dst) => inst.check(fn, e.mv_tile_major(ar.input(m), items, cols, dst)), key);
    const ht = tiled(a.h, d, keys.h);
    const ct = a.c === undefined ? 0 : tiled(a.c, K, keys.c);
    const bias = a.bias === undefined ? 0 : ar.put(a.bias, keys.bias);
    const out = topkOutputs(ar, users, k);
    inst.check(
      fn,
      e.mv_mix_topk(
        users,
        K,
        d,
        items,
        ar.input(a.z),
        ht,
        ct,
        bias,
        a.scale,
        a.bound === undefined ? 0 : 1,
        a.bound ?? 0,
        ar.input(ex.indptr),
        ar.input(ex.indices),
        ex.indices.length,
        k,
        ...out.pointers,
      ),
    );
    return out.read();
  });
}
