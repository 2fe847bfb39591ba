//! Serving the reference models (EASE, ItemKNN, popularity): each user's scores over all items and
//! its top k in one pass, one user at a time into a reused row — never a `users × items` block.
//!
//! The scores are computed exactly as [`crate::itemsim::score_dense`] / [`crate::itemsim::score_sparse`]
//! compute them for evaluation (same operations in the same order), so serving ranks what `eval`
//! measured. Selection is [`crate::topk`]'s: higher score first, ties to the lower item index.

use crate::csr::CsrRef;
use crate::error::{check_len, Error, Result};
use crate::gemm::{sgemm, transpose, Gemm, Strided, StridedMut};
use crate::itemsim::{dense_row, sparse_row};
use crate::nn::MixDecoder;
use crate::topk::{ItemMask, TopK};
use crate::vec4::{exp1, exp2_1, Exp2, F4};
use std::f32::consts::LOG2_E;

/// What a user's score row is made of.
pub enum ItemScores<'a> {
    /// EASE: `s_u = Σ_{r ∈ x_u} W[r]`, `W` dense `items × items` row-major.
    Dense(&'a [f32]),
    /// ItemKNN: `s_u = Σ_{r ∈ x_u} W[r]`, `W` sparse by rows (`items × items` CSR, `values` aligned
    /// with its indices).
    Sparse(CsrRef<'a>, &'a [f32]),
    /// Popularity: every user's scores are the same vector (`items`).
    Constant(&'a [f32]),
}

fn check_rows(name: &str, m: &CsrRef, rows: usize, items: usize) -> Result<()> {
    if m.rows() != rows || m.cols != items {
        return Err(Error::invalid(format!(
            "'{}' must be {} × {} (users × items) but is {} × {}",
            name,
            rows,
            items,
            m.rows(),
            m.cols
        )));
    }
    Ok(())
}

/// Top-k per user of the scores `weights` gives for the histories `x` (`users × items` CSR).
///
/// - `exclude`: per user, items never returned (`users × items` CSR);
/// - `candidates`: when given, per user the only items ranked (`users × items` CSR; duplicates
///   count once; an empty row ranks nothing);
/// - `out_items`, `out_scores`: `users × k`, best first; row `u` holds `out_count[u]` items, unused
///   slots `u32::MAX` and `-inf`.
pub fn item_topk(
    x: &CsrRef,
    weights: &ItemScores,
    exclude: &CsrRef,
    candidates: Option<&CsrRef>,
    k: usize,
    out_items: &mut [u32],
    out_scores: &mut [f32],
    out_count: &mut [u32],
) -> Result<()> {
    let items = x.cols;
    let users = x.rows();
    match weights {
        ItemScores::Dense(w) => check_len("weights", w, items * items)?,
        ItemScores::Sparse(w, values) => {
            check_rows("weights", w, items, items)?;
            check_len("values", values, w.indices.len())?;
        }
        ItemScores::Constant(v) => check_len("weights", v, items)?,
    }
    check_rows("exclude", exclude, users, items)?;
    if let Some(c) = candidates {
        check_rows("candidates", c, users, items)?;
    }
    check_len("outItems", out_items, users * k)?;
    check_len("outScores", out_scores, users * k)?;
    check_len("outCount", out_count, users)?;
    let mut row = vec![0f32; items];
    let mut heap = TopK::new(k);
    let mut mask = ItemMask::new(items);
    for u in 0..users {
        match weights {
            ItemScores::Dense(w) => dense_row(x.row(u), w, items, &mut row),
            ItemScores::Sparse(w, values) => sparse_row(x.row(u), w, values, &mut row),
            ItemScores::Constant(v) => row.copy_from_slice(v),
        }
        let ex = exclude.row(u);
        mask.set_all(ex);
        let result = match candidates {
            None => select(&row, 0..items, &mut mask, &mut heap, false),
            Some(c) => {
                let cand = c.row(u);
                let r = select(
                    &row,
                    cand.iter().map(|&i| i as usize),
                    &mut mask,
                    &mut heap,
                    true,
                );
                mask.clear_all(cand);
                r
            }
        };
        mask.clear_all(ex);
        if let Err(i) = result {
            return Err(Error::invalid(format!(
                "the score of user row {}, item {} is NaN: the weights hold NaN",
                u, i
            )));
        }
        out_count[u] = heap.drain_row(u, out_items, out_scores);
    }
    Ok(())
}

/// Offers `which` items of `row` not in `mask` to `heap`; with `once`, marks each offered item so a
/// duplicate is offered once. `Err(item)` on a NaN score.
fn select(
    row: &[f32],
    which: impl Iterator<Item = usize>,
    mask: &mut ItemMask,
    heap: &mut TopK,
    once: bool,
) -> std::result::Result<(), usize> {
    for i in which {
        let s = row[i];
        if s.is_nan() {
            heap.clear();
            return Err(i);
        }
        if mask.contains(i) {
            continue;
        }
        if once {
            mask.set_all(&[i as u32]);
        }
        if s < heap.threshold() {
            continue;
        }
        heap.push(s, i as u32);
    }
    Ok(())
}

/// `ln` floor of a probability term, as the decoder's (`nn/decoder.rs`).
const TINY: f32 = 1e-30;
/// Items per tile: the `(users·K) × TILE` logits of a chunk stay in cache.
const TILE: usize = 256;
/// Logit rows (`users·K`) per chunk of users.
const CHUNK_ROWS: usize = 128;

/// The decoder's item side in the layout [`mix_topk`] reads, made once per model by [`ServeItems::prepare`]
/// (or by the WASM binding into resident memory): item vectors and concept assignment transposed tile
/// by tile ([`tile_major`]), so the GEMM of one tile of items reads one contiguous block.
pub struct ServeItems<'a> {
    /// Concepts `K` (1 for MultVAE/MultDAE).
    pub concepts: usize,
    pub d: usize,
    pub items: usize,
    /// `h` in [`tile_major`] layout (`d × items`, tile by tile).
    pub ht: &'a [f32],
    /// `c` in [`tile_major`] layout (`K × items`); `None` only when `K == 1` (then `c ≡ 1`).
    pub ct: Option<&'a [f32]>,
    /// `items`, added to every logit of the item.
    pub bias: Option<&'a [f32]>,
    /// As [`MixDecoder`]'s.
    pub scale: f32,
    pub bound: Option<f32>,
}

/// `src` (`items × cols`, row-major) transposed a tile of [`TILE`] items at a time: tile `i0..i0+t`
/// becomes the contiguous `cols × t` block at offset `i0·cols` (row `l` of it: column `l` of those
/// items). One tile of the decoder's GEMM then reads one block of `cols·t` floats — a transpose of the
/// whole matrix would make it read `cols` rows `items` apart (a page or more each: TLB misses).
pub fn tile_major(src: &[f32], items: usize, cols: usize, dst: &mut [f32]) -> Result<()> {
    check_len("src", src, items * cols)?;
    check_len("dst", dst, items * cols)?;
    let mut i0 = 0;
    while i0 < items {
        let t = TILE.min(items - i0);
        transpose(
            &src[i0 * cols..(i0 + t) * cols],
            t,
            cols,
            &mut dst[i0 * cols..(i0 + t) * cols],
        )?;
        i0 += t;
    }
    Ok(())
}

/// `h` and `c` of a decoder in [`tile_major`] layout, owned (see [`ServeItems`]).
pub struct PreparedItems {
    pub ht: Vec<f32>,
    pub ct: Option<Vec<f32>>,
}

impl<'a> ServeItems<'a> {
    /// `dec`'s `h` and `c` in [`tile_major`] layout (its `z` is not read).
    pub fn prepare(dec: &MixDecoder) -> Result<PreparedItems> {
        let (kk, d, m) = (dec.concepts, dec.d, dec.items);
        check_len("h", dec.h, m * d)?;
        let mut ht = vec![0f32; d * m];
        tile_major(dec.h, m, d, &mut ht)?;
        let ct = match dec.c {
            Some(c) => {
                check_len("c", c, m * kk)?;
                let mut ct = vec![0f32; kk * m];
                tile_major(c, m, kk, &mut ct)?;
                Some(ct)
            }
            None => None,
        };
        Ok(PreparedItems { ht, ct })
    }

    /// The view of `p` with `dec`'s shape, bias, scale and bound.
    pub fn of(dec: &MixDecoder<'a>, p: &'a PreparedItems) -> ServeItems<'a> {
        ServeItems {
            concepts: dec.concepts,
            d: dec.d,
            items: dec.items,
            ht: &p.ht,
            ct: p.ct.as_deref(),
            bias: dec.bias,
            scale: dec.scale,
            bound: dec.bound,
        }
    }
}

/// The decoder's log-probabilities (`MixDecoder::log_probs`) and each user's top `k` in one pass over item tiles — per chunk
/// of users, `L = Z·Hᵀ` for one tile of items (a GEMM), the mixture term per item, the user's running
/// normalizer and a bounded heap — so no `users × items` block is ever written. `z` is `(users·K) × d`.
/// Exclusions, outputs and ties as [`crate::topk::topk_batch`]; the scores equal `MixDecoder::log_probs`
/// up to rounding.
pub fn mix_topk(
    dec: &ServeItems,
    users: usize,
    z: &[f32],
    exclude: &CsrRef,
    k: usize,
    out_items: &mut [u32],
    out_scores: &mut [f32],
    out_count: &mut [u32],
) -> Result<()> {
    let (kk, d, m) = (dec.concepts, dec.d, dec.items);
    if kk == 0 || d == 0 {
        return Err(Error::invalid("'concepts' and 'd' must be at least 1"));
    }
    check_len("z", z, users * kk * d)?;
    check_len("ht", dec.ht, m * d)?;
    let ones;
    let ct = match dec.ct {
        Some(c) => {
            check_len("ct", c, m * kk)?;
            c
        }
        None if kk != 1 => {
            return Err(Error::invalid(format!(
                "'c' is required when concepts = {}",
                kk
            )))
        }
        None => {
            ones = vec![1f32; m];
            &ones[..]
        }
    };
    if let Some(b) = dec.bias {
        check_len("bias", b, m)?;
    }
    check_rows("exclude", exclude, users, m)?;
    check_len("outItems", out_items, users * k)?;
    check_len("outScores", out_scores, users * k)?;
    check_len("outCount", out_count, users)?;
    if users == 0 {
        return Ok(());
    }
    let ht = dec.ht;
    let ub = (CHUNK_ROWS / kk).max(1).min(users);
    let mut logits = vec![0f32; ub * kk * TILE];
    let mut q = vec![0f32; TILE];
    let mut heaps: Vec<TopK> = (0..ub).map(|_| TopK::new(k)).collect();
    let mut masks: Vec<ItemMask> = (0..ub).map(|_| ItemMask::new(m)).collect();
    let mut shift = vec![0f32; ub];
    let mut total = vec![0f32; ub];
    let scale2s = dec.scale * LOG2_E;
    let scale2 = F4::splat(scale2s);
    let log2e = F4::splat(LOG2_E);
    let exp2 = Exp2::opaque();
    let mut b0 = 0;
    while b0 < users {
        let nb = ub.min(users - b0);
        for bl in 0..nb {
            masks[bl].set_all(exclude.row(b0 + bl));
            shift[bl] = dec.bound.unwrap_or(f32::NEG_INFINITY);
            total[bl] = 0.0;
        }
        let mut i0 = 0;
        while i0 < m {
            let t = TILE.min(m - i0);
            let rows = nb * kk;
            sgemm(Gemm {
                m: rows,
                k: d,
                n: t,
                a: Strided::rows(&z[b0 * kk * d..(b0 + nb) * kk * d], d),
                b: Strided::rows(&ht[i0 * d..(i0 + t) * d], t),
                c: StridedMut::ld(&mut logits[..rows * t], t),
                accumulate: false,
            })?;
            let t4 = t / 4 * 4;
            // The tile's concept weights: `K × t` from i0·K (a `c ≡ 1` row of ones when absent).
            let ctile = if dec.ct.is_some() {
                &ct[i0 * kk..(i0 + t) * kk]
            } else {
                &ct[..t]
            };
            for bl in 0..nb {
                let block = &logits[bl * kk * t..(bl + 1) * kk * t];
                if dec.bound.is_none() {
                    // Raise the user's shift to this tile's largest logit, rescaling what was summed.
                    let mut mx = f32::NEG_INFINITY;
                    for kc in 0..kk {
                        for j in 0..t {
                            let l =
                                dec.scale * block[kc * t + j] + dec.bias.map_or(0.0, |b| b[i0 + j]);
                            if l > mx {
                                mx = l;
                            }
                        }
                    }
                    if mx > shift[bl] {
                        if total[bl] > 0.0 {
                            total[bl] *= exp1(shift[bl] - mx);
                        }
                        shift[bl] = mx;
                    }
                }
                // q_j = Σ_k c_jk · 2^{(scale·L_kj + b_j − shift)·log2 e}: scale and log2 e folded into
                // one multiply, the bias and shift into one per item.
                let sh = shift[bl];
                let sv = F4::splat(sh);
                let mut acc = F4::zero();
                let mut j = 0;
                while j < t4 {
                    let bv = match dec.bias {
                        Some(b) => F4::load(&b[i0 + j..]).sub(sv),
                        None => F4::zero().sub(sv),
                    }
                    .mul(log2e);
                    let mut qv = F4::zero();
                    // SAFETY: j + 4 <= t, so lanes kc·t + j .. +4 of `block` (kk·t long) and of the
                    // tile's block of `ct` (kk·t long from i0·kk; i0 + t <= m) are in bounds for kc < kk.
                    unsafe {
                        let (mut pl, mut pc) = (block.as_ptr().add(j), ctile.as_ptr().add(j));
                        for _ in 0..kk {
                            let ev = exp2.eval(F4::load_ptr(pl).mul(scale2).add(bv));
                            qv = qv.add(F4::load_ptr(pc).mul(ev));
                            pl = pl.add(t);
                            pc = pc.add(t);
                        }
                    }
                    qv.store(&mut q[j..]);
                    acc = acc.add(qv);
                    j += 4;
                }
                let mut tail = 0f32;
                for j in t4..t {
                    let l0 = (dec.bias.map_or(0.0, |b| b[i0 + j]) - sh) * LOG2_E;
                    let mut qs = 0f32;
                    for kc in 0..kk {
                        qs += ctile[kc * t + j] * exp2_1(scale2s * block[kc * t + j] + l0);
                    }
                    q[j] = qs;
                    tail += qs;
                }
                total[bl] += acc.sum() + tail;
                // Offer the tile's items: a cheap bound in the q domain first, exact logs after.
                let heap = &mut heaps[bl];
                let mask = &masks[bl];
                let thr = heap.threshold();
                let qmin = if thr == f32::NEG_INFINITY {
                    f32::NEG_INFINITY
                } else {
                    exp1(thr - sh) * 0.999
                };
                for j in 0..t {
                    let v = q[j];
                    if v < qmin || mask.contains(i0 + j) {
                        continue;
                    }
                    if v.is_nan() {
                        return Err(Error::invalid(format!(
                            "the score of user row {}, item {} is NaN",
                            b0 + bl,
                            i0 + j
                        )));
                    }
                    heap.push(v.max(TINY).ln() + sh, (i0 + j) as u32);
                }
            }
            i0 += t;
        }
        for bl in 0..nb {
            let u = b0 + bl;
            masks[bl].clear_all(exclude.row(u));
            let lz = shift[bl] + total[bl].max(TINY).ln();
            let n = heaps[bl].drain_row(u, out_items, out_scores);
            for s in &mut out_scores[u * k..u * k + n as usize] {
                *s -= lz;
            }
            out_count[u] = n;
        }
        b0 += nb;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::itemsim::{score_dense, score_sparse};
    use crate::rng::Xoshiro256 as Rng;
    use crate::topk::topk_batch;

    fn csr<'a>(indptr: &'a [u32], indices: &'a [u32], cols: usize) -> CsrRef<'a> {
        CsrRef::new("m", indptr, indices, cols).unwrap()
    }

    fn random_rows(rng: &mut Rng, rows: usize, cols: usize, p: f64) -> (Vec<u32>, Vec<u32>) {
        let mut indptr = vec![0u32];
        let mut indices = Vec::new();
        for _ in 0..rows {
            for c in 0..cols {
                if rng.next_f64() < p {
                    indices.push(c as u32);
                }
            }
            indptr.push(indices.len() as u32);
        }
        (indptr, indices)
    }

    type Out = (Vec<u32>, Vec<f32>, Vec<u32>);

    fn run(x: &CsrRef, w: &ItemScores, ex: &CsrRef, cand: Option<&CsrRef>, k: usize) -> Out {
        let users = x.rows();
        let (mut oi, mut os, mut oc) = (vec![0; users * k], vec![0.0; users * k], vec![0; users]);
        item_topk(x, w, ex, cand, k, &mut oi, &mut os, &mut oc).unwrap();
        (oi, os, oc)
    }

    /// The scoring kernels of `eval` followed by the batched top-k: what serving must equal.
    fn reference(scores: &[f32], users: usize, items: usize, ex: &CsrRef, k: usize) -> Out {
        let (mut oi, mut os, mut oc) = (vec![0; users * k], vec![0.0; users * k], vec![0; users]);
        topk_batch(scores, users, items, ex, k, &mut oi, &mut os, &mut oc).unwrap();
        (oi, os, oc)
    }

    #[test]
    fn dense_sparse_and_constant_equal_eval_scoring_then_topk() {
        let mut rng = Rng::new(7);
        let (users, items, k) = (13, 37, 5);
        let (xp, xi) = random_rows(&mut rng, users, items, 0.15);
        let x = csr(&xp, &xi, items);
        let ex = x;
        let w: Vec<f32> = (0..items * items)
            .map(|_| (rng.next_f64() as f32 - 0.5).round() * 0.25)
            .collect();
        let mut dense = vec![0.0; users * items];
        score_dense(&x, &w, items, &mut dense).unwrap();
        assert_eq!(
            run(&x, &ItemScores::Dense(&w), &ex, None, k),
            reference(&dense, users, items, &ex, k)
        );
        let (wp, wi) = random_rows(&mut rng, items, items, 0.2);
        let wv: Vec<f32> = wi.iter().map(|_| rng.next_f64() as f32).collect();
        let ws = csr(&wp, &wi, items);
        let mut sparse = vec![0.0; users * items];
        score_sparse(&x, &ws, &wv, &mut sparse).unwrap();
        assert_eq!(
            run(&x, &ItemScores::Sparse(ws, &wv), &ex, None, k),
            reference(&sparse, users, items, &ex, k)
        );
        let counts: Vec<f32> = (0..items).map(|i| ((i * 7) % 5) as f32).collect();
        let constant: Vec<f32> = (0..users).flat_map(|_| counts.clone()).collect();
        assert_eq!(
            run(&x, &ItemScores::Constant(&counts), &ex, None, k),
            reference(&constant, users, items, &ex, k)
        );
    }

    #[test]
    fn candidates_restrict_dedupe_and_respect_exclusions() {
        // 2 users, 4 items; scores = counts [1, 4, 4, 2].
        let counts = [1.0f32, 4.0, 4.0, 2.0];
        let x = csr(&[0, 1, 2], &[0, 3], 4);
        let ex = csr(&[0, 1, 1], &[2], 4);
        let cand = csr(&[0, 4, 4], &[0, 2, 2, 3], 4);
        let (oi, os, oc) = run(&x, &ItemScores::Constant(&counts), &ex, Some(&cand), 3);
        // user 0: candidates {0, 2, 3}, 2 excluded → [3, 0]; user 1: an empty candidate row.
        assert_eq!(oc, vec![2, 0]);
        assert_eq!(&oi[0..3], &[3, 0, u32::MAX]);
        assert_eq!(&os[0..2], &[2.0, 1.0]);
        assert_eq!(&oi[3..6], &[u32::MAX; 3]);
        // The masks are clean between users: without candidates user 1 ties 1 and 2 to the lower.
        let (oi, _, _) = run(&x, &ItemScores::Constant(&counts), &ex, None, 2);
        assert_eq!(&oi[2..4], &[1, 2]);
    }

    #[test]
    fn bad_shapes_and_nan_are_errors() {
        let x = csr(&[0, 1], &[0], 3);
        let ex = csr(&[0, 0], &[], 3);
        let (mut oi, mut os, mut oc) = (vec![0; 2], vec![0.0; 2], vec![0; 1]);
        let short = [1.0f32; 8];
        let e = item_topk(
            &x,
            &ItemScores::Dense(&short),
            &ex,
            None,
            2,
            &mut oi,
            &mut os,
            &mut oc,
        );
        assert!(e
            .unwrap_err()
            .message
            .contains("'weights' must have 9 elements"));
        let bad_ex = csr(&[0, 0, 0], &[], 3);
        let v = [1.0f32, 2.0, 3.0];
        let e = item_topk(
            &x,
            &ItemScores::Constant(&v),
            &bad_ex,
            None,
            2,
            &mut oi,
            &mut os,
            &mut oc,
        );
        assert!(e.unwrap_err().message.contains("'exclude' must be 1 × 3"));
        let nan = [1.0f32, f32::NAN, 3.0];
        let e = item_topk(
            &x,
            &ItemScores::Constant(&nan),
            &ex,
            None,
            2,
            &mut oi,
            &mut os,
            &mut oc,
        );
        assert!(e.unwrap_err().message.contains("item 1 is NaN"));
    }

    #[test]
    fn mix_topk_equals_log_probs_then_topk() {
        let mut rng = Rng::new(5);
        for &(users, kk, d, m, bounded, bias) in &[
            (19usize, 3usize, 6usize, 601usize, true, false),
            (5, 1, 4, 523, false, true),
            (3, 2, 5, 7, false, false),
        ] {
            let mut z: Vec<f32> = (0..users * kk * d)
                .map(|_| rng.next_f64() as f32 - 0.5)
                .collect();
            let mut h: Vec<f32> = (0..m * d).map(|_| rng.next_f64() as f32 - 0.5).collect();
            if bounded {
                for v in z.chunks_mut(d).chain(h.chunks_mut(d)) {
                    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                    v.iter_mut().for_each(|x| *x /= n);
                }
            }
            let c: Vec<f32> = (0..m * kk).map(|_| rng.next_f64() as f32).collect();
            let b: Vec<f32> = (0..m).map(|_| 3.0 * rng.next_f64() as f32).collect();
            let scale = if bounded { 5.0 } else { 2.0 };
            let c = if kk > 1 { Some(&c[..]) } else { None };
            let bias = if bias { Some(&b[..]) } else { None };
            let bound = if bounded { Some(scale) } else { None };
            let dec = MixDecoder {
                users,
                concepts: kk,
                d,
                items: m,
                z: &z,
                h: &h,
                c,
                bias,
                scale,
                bound,
            };
            let mut lp = vec![0f32; users * m];
            dec.log_probs(&mut lp).unwrap();
            let (xp, xi) = random_rows(&mut rng, users, m, 0.05);
            let ex = csr(&xp, &xi, m);
            let k = 9;
            let want = reference(&lp, users, m, &ex, k);
            let (mut oi, mut os, mut oc) =
                (vec![0; users * k], vec![0.0; users * k], vec![0; users]);
            let prepared = ServeItems::prepare(&dec).unwrap();
            let items = ServeItems::of(&dec, &prepared);
            mix_topk(&items, users, &z, &ex, k, &mut oi, &mut os, &mut oc).unwrap();
            assert_eq!(oc, want.2);
            assert_eq!(oi, want.0, "users {} K {} items {}", users, kk, m);
            for (a, b) in os.iter().zip(want.1.iter()) {
                assert!(
                    a == b || (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                    "{} vs {}",
                    a,
                    b
                );
            }
        }
    }
}
