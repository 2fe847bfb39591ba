//! Serving the reference models (EASE, ItemKNN, popularity): each user's scores over all items and
//! its top k in one pass, one user at a time into a reused row — never a `users × items` block.
//!
//! The scores are computed exactly as [`crate::itemsim::score_dense`] / [`crate::itemsim::score_sparse`]
//! compute them for evaluation (same operations in the same order), so serving ranks what `eval`
//! measured. Selection is [`crate::topk`]'s: higher score first, ties to the lower item index.

use crate::csr::CsrRef;
use crate::error::{check_len, Error, Result};
use crate::itemsim::{dense_row, sparse_row};
use crate::topk::{ItemMask, TopK};

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
}
