//! Item–item models: the Gram matrix of the training clicks, EASE and ItemKNN weights, and batched
//! scoring of fold-in rows against them.
//!
//! - [`gram`]: `G = XᵀX` (`items × items`, `f32`; exact integer co-occurrence counts up to 2²⁴) from
//!   the CSR of binary clicks, one pass over every row's pairs.
//! - [`ease_weights`] (Steck, "Embarrassingly Shallow Autoencoders", WWW 2019, eq. 8):
//!   `P = (G + λI)⁻¹`, `B_ij = −P_ij / P_jj` for `i ≠ j`, `B_ii = 0`; the solve is
//!   [`crate::linalg::spd_inverse`] in `f64` or `f32`.
//! - [`knn_weights`] (ItemKNN as in RecBole's `ComputeSimilarity`): cosine similarity with shrinkage
//!   `s_rc = G_rc / (√G_rr·√G_cc + shrink + 1e-6)`, `s_cc = 0`; for every item `c` its `k` most similar
//!   items `r` (ties to the lower index), zero similarities dropped. The score of item `c` for a user
//!   is `Σ_{r ∈ x_u ∩ N(c)} s_rc`.
//! - [`score_dense`] / [`score_sparse`]: `scores = X_foldin · W` for binary fold-in rows, with `W`
//!   dense (EASE) or sparse by rows (ItemKNN): each user's row is the sum of `W`'s rows of its items.

use crate::csr::CsrRef;
use crate::error::{check_len, Error, Result};
use crate::linalg::{spd_inverse, spd_inverse_f32, Real};
use crate::simd;
use crate::topk::TopK;

/// `out = XᵀX` (`cols × cols` row-major) for the binary CSR `x`; `out` is overwritten.
pub fn gram(x: &CsrRef, out: &mut [f32]) -> Result<()> {
    let m = x.cols;
    check_len("out", out, m * m)?;
    for v in out.iter_mut() {
        *v = 0.0;
    }
    for u in 0..x.rows() {
        let row = x.row(u);
        for &a in row {
            let base = a as usize * m;
            for &b in row {
                out[base + b as usize] += 1.0;
            }
        }
    }
    Ok(())
}

/// EASE's `B` (`m × m` row-major `f32`, zero diagonal) from the Gram matrix `g` and `λ > 0`, solving
/// in `f64` (`double = true`) or `f32`.
pub fn ease_weights(g: &[f32], m: usize, lambda: f64, double: bool, out: &mut [f32]) -> Result<()> {
    if !(lambda.is_finite() && lambda > 0.0) {
        return Err(Error::invalid(format!(
            "'lambda' must be a finite number > 0 but is {}",
            lambda
        )));
    }
    check_len("gram", g, m * m)?;
    check_len("out", out, m * m)?;
    if double {
        let p = spd_inverse::<f64>(g, m, lambda)?;
        finish_ease(&p, m, out);
    } else {
        // P goes straight into `out`, then becomes B in place (the diagonal read first).
        spd_inverse_f32(g, m, lambda, out)?;
        let diag: Vec<f32> = (0..m).map(|j| out[j * m + j]).collect();
        for i in 0..m {
            for j in 0..m {
                out[i * m + j] = if i == j {
                    0.0
                } else {
                    (-(out[i * m + j] as f64 / diag[j] as f64)) as f32
                };
            }
        }
    }
    Ok(())
}

fn finish_ease<T: Real>(p: &[T], m: usize, out: &mut [f32]) {
    for i in 0..m {
        for j in 0..m {
            out[i * m + j] = if i == j {
                0.0
            } else {
                (-(p[i * m + j].to_f64() / p[j * m + j].to_f64())) as f32
            };
        }
    }
}

/// ItemKNN neighbourhoods: for every item `c`, up to `k` items `r ≠ c` with the largest non-zero
/// shrunk cosine `s_rc` (descending, ties to the lower index), into `nbr` / `sim` (`m × k` row-major,
/// row `c`; unused slots hold `u32::MAX` and 0) and their count into `count` (`m`).
pub fn knn_weights(
    g: &[f32],
    m: usize,
    k: usize,
    shrink: f64,
    nbr: &mut [u32],
    sim: &mut [f32],
    count: &mut [u32],
) -> Result<()> {
    if !(shrink.is_finite() && shrink >= 0.0) {
        return Err(Error::invalid(format!(
            "'shrink' must be a finite number >= 0 but is {}",
            shrink
        )));
    }
    if k == 0 {
        return Err(Error::invalid("'k' must be >= 1 but is 0"));
    }
    check_len("gram", g, m * m)?;
    check_len("outNeighbours", nbr, m * k)?;
    check_len("outSimilarity", sim, m * k)?;
    check_len("outCount", count, m)?;
    let norm: Vec<f64> = (0..m).map(|i| (g[i * m + i] as f64).sqrt()).collect();
    let mut top = TopK::new(k);
    let mut items = vec![0u32; k];
    let mut scores = vec![0f32; k];
    for c in 0..m {
        top.clear();
        for r in 0..m {
            let v = g[r * m + c];
            if r == c || v == 0.0 {
                continue;
            }
            let s = (v as f64 / (norm[r] * norm[c] + shrink + 1e-6)) as f32;
            top.push(s, r as u32);
        }
        let n = top.drain_sorted(&mut items, &mut scores);
        count[c] = n as u32;
        for t in 0..k {
            nbr[c * k + t] = if t < n { items[t] } else { u32::MAX };
            sim[c * k + t] = if t < n { scores[t] } else { 0.0 };
        }
    }
    Ok(())
}

/// `out[u] = Σ_{r ∈ x_u} w[r]` (`rows × n`) for binary fold-in rows `x` (`cols == m`) and a dense
/// `m × n` row-major `w`.
pub fn score_dense(x: &CsrRef, w: &[f32], n: usize, out: &mut [f32]) -> Result<()> {
    check_len("weights", w, x.cols * n)?;
    check_len("out", out, x.rows() * n)?;
    for u in 0..x.rows() {
        dense_row(x.row(u), w, n, &mut out[u * n..(u + 1) * n]);
    }
    Ok(())
}

/// One fold-in row of [`score_dense`]: `o = Σ_{r ∈ row} w[r]` (also what serving computes).
pub(crate) fn dense_row(row: &[u32], w: &[f32], n: usize, o: &mut [f32]) {
    for v in o.iter_mut() {
        *v = 0.0;
    }
    for &r in row {
        simd::axpy(1.0, &w[r as usize * n..(r as usize + 1) * n], o);
    }
}

/// One fold-in row of [`score_sparse`]: `o = Σ_{r ∈ row} W[r]`, `W` sparse by rows (also what serving
/// computes).
pub(crate) fn sparse_row(row: &[u32], w: &CsrRef, values: &[f32], o: &mut [f32]) {
    for v in o.iter_mut() {
        *v = 0.0;
    }
    for &r in row {
        let (a, b) = (
            w.indptr[r as usize] as usize,
            w.indptr[r as usize + 1] as usize,
        );
        for p in a..b {
            o[w.indices[p] as usize] += values[p];
        }
    }
}

/// `out[u][c] = Σ_{r ∈ x_u} W[r][c]` for binary fold-in rows `x` and a sparse `W` given by rows
/// (`w`: CSR with `x.cols` rows and `n` columns, values `values` aligned with `w.indices`).
pub fn score_sparse(x: &CsrRef, w: &CsrRef, values: &[f32], out: &mut [f32]) -> Result<()> {
    let n = w.cols;
    if w.rows() != x.cols {
        return Err(Error::invalid(format!(
            "the weights have {} rows but the fold-in rows have {} columns",
            w.rows(),
            x.cols
        )));
    }
    check_len("values", values, w.indices.len())?;
    check_len("out", out, x.rows() * n)?;
    for u in 0..x.rows() {
        sparse_row(x.row(u), w, values, &mut out[u * n..(u + 1) * n]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csr<'a>(indptr: &'a [u32], indices: &'a [u32], cols: usize) -> CsrRef<'a> {
        CsrRef::new("x", indptr, indices, cols).unwrap()
    }

    // Users {0,1}, {1,2}, {0,1,2}, {3}.
    const IP: [u32; 5] = [0, 2, 4, 7, 8];
    const IX: [u32; 8] = [0, 1, 1, 2, 0, 1, 2, 3];

    #[test]
    fn gram_counts_co_occurrences() {
        let x = csr(&IP, &IX, 4);
        let mut g = vec![0f32; 16];
        gram(&x, &mut g).unwrap();
        assert_eq!(
            g,
            vec![2., 2., 1., 0., 2., 3., 2., 0., 1., 2., 2., 0., 0., 0., 0., 1.]
        );
    }

    #[test]
    fn ease_one_item_pair_closed_form() {
        // G = [[a, b], [b, a]]: P ∝ [[a+λ, −b], [−b, a+λ]], so B_01 = b / (a + λ).
        let g = [3f32, 2.0, 2.0, 3.0];
        let mut b = vec![0f32; 4];
        ease_weights(&g, 2, 1.0, true, &mut b).unwrap();
        let mut b32 = vec![0f32; 4];
        ease_weights(&g, 2, 1.0, false, &mut b32).unwrap();
        assert!((b32[1] - 0.5).abs() < 1e-6, "{:?}", b32);
        assert_eq!(b[0], 0.0);
        assert_eq!(b[3], 0.0);
        assert!(
            (b[1] - 0.5).abs() < 1e-7 && (b[2] - 0.5).abs() < 1e-7,
            "{:?}",
            b
        );
        assert!(ease_weights(&g, 2, 0.0, true, &mut b).is_err());
    }

    #[test]
    fn knn_cosine_with_shrink_and_topk() {
        let x = csr(&IP, &IX, 4);
        let mut g = vec![0f32; 16];
        gram(&x, &mut g).unwrap();
        let (mut nbr, mut sim, mut cnt) = (vec![0u32; 8], vec![0f32; 8], vec![0u32; 4]);
        knn_weights(&g, 4, 2, 1.0, &mut nbr, &mut sim, &mut cnt).unwrap();
        // Item 0: s_10 = 2/(√3·√2 + 1 + 1e-6), s_20 = 1/(√2·√2 + 1 + 1e-6).
        assert_eq!(cnt, vec![2, 2, 2, 0]);
        assert_eq!(&nbr[0..2], &[1, 2]);
        let s10 = (2.0 / (3f64.sqrt() * 2f64.sqrt() + 1.0 + 1e-6)) as f32;
        assert!((sim[0] - s10).abs() < 1e-7);
        assert!((sim[1] - (1.0 / (2.0 + 1.0 + 1e-6)) as f32).abs() < 1e-7);
        assert_eq!(&nbr[6..8], &[u32::MAX, u32::MAX]);
        // k = 1 keeps the best only.
        let (mut n1, mut s1, mut c1) = (vec![0u32; 4], vec![0f32; 4], vec![0u32; 4]);
        knn_weights(&g, 4, 1, 0.0, &mut n1, &mut s1, &mut c1).unwrap();
        assert_eq!(n1, vec![1, 0, 1, u32::MAX]);
    }

    #[test]
    fn scoring_dense_and_sparse_agree() {
        let x = csr(&IP, &IX, 4);
        let w: Vec<f32> = (0..16).map(|v| v as f32 * 0.5).collect();
        let mut out = vec![0f32; 16];
        score_dense(&x, &w, 4, &mut out).unwrap();
        // Row 0 = w[0] + w[1].
        assert_eq!(&out[0..4], &[2.0, 3.0, 4.0, 5.0]);
        // The same W as a sparse matrix by rows (every entry stored).
        let ip: Vec<u32> = (0..=4).map(|r| r * 4).collect();
        let ix: Vec<u32> = (0..16).map(|p| p % 4).collect();
        let wr = csr(&ip, &ix, 4);
        let mut out2 = vec![0f32; 16];
        score_sparse(&x, &wr, &w, &mut out2).unwrap();
        assert_eq!(out, out2);
    }
}
