//! Exports of the item–item kernels (Gram matrix, EASE and ItemKNN weights, scoring); see
//! `macrid_core::itemsim` for the formulas.

use crate::abi::{csr, slice, slice_mut, status};
use macrid_core::itemsim::{gram, knn_weights, score_dense, score_sparse};

/// `XᵀX` of the binary CSR `x` (`rows × cols`) into `out` (`cols × cols` f32).
///
/// # Safety
/// `indptr` rows+1, `indices` nnz, `out` cols·cols elements.
#[no_mangle]
pub unsafe extern "C" fn mv_gram(
    indptr: *const u32,
    rows: usize,
    indices: *const u32,
    nnz: usize,
    cols: usize,
    out: *mut f32,
) -> i32 {
    status((|| {
        let x = csr("x", indptr, rows, indices, nnz, cols)?;
        gram(&x, slice_mut(out, cols * cols))
    })())
}

/// EASE's `B` from the Gram matrix (`m × m`) and `λ`; `double != 0` solves in f64.
///
/// # Safety
/// `g` and `out` m·m elements.
#[no_mangle]
pub unsafe extern "C" fn mv_ease_weights(
    g: *const f32,
    m: usize,
    lambda: f64,
    double: u32,
    out: *mut f32,
) -> i32 {
    status(macrid_core::itemsim::ease_weights(
        slice(g, m * m),
        m,
        lambda,
        double != 0,
        slice_mut(out, m * m),
    ))
}

/// ItemKNN neighbourhoods (`k` per item) from the Gram matrix.
///
/// # Safety
/// `g` m·m, `out_nbr` and `out_sim` m·k, `out_count` m elements.
#[no_mangle]
pub unsafe extern "C" fn mv_knn_weights(
    g: *const f32,
    m: usize,
    k: usize,
    shrink: f64,
    out_nbr: *mut u32,
    out_sim: *mut f32,
    out_count: *mut u32,
) -> i32 {
    status(knn_weights(
        slice(g, m * m),
        m,
        k,
        shrink,
        slice_mut(out_nbr, m * k),
        slice_mut(out_sim, m * k),
        slice_mut(out_count, m),
    ))
}

/// `out = X · W` for binary fold-in rows `x` (`rows × m`) and dense `w` (`m × n`).
///
/// # Safety
/// `indptr` rows+1, `indices` nnz, `w` m·n, `out` rows·n elements.
#[no_mangle]
pub unsafe extern "C" fn mv_score_dense(
    indptr: *const u32,
    rows: usize,
    indices: *const u32,
    nnz: usize,
    m: usize,
    w: *const f32,
    n: usize,
    out: *mut f32,
) -> i32 {
    status((|| {
        let x = csr("foldIn", indptr, rows, indices, nnz, m)?;
        score_dense(&x, slice(w, m * n), n, slice_mut(out, rows * n))
    })())
}

/// `out = X · W` for binary fold-in rows `x` (`rows × m`) and `W` sparse by rows (`m × n` CSR with
/// values).
///
/// # Safety
/// `indptr` rows+1, `indices` nnz, `w_indptr` m+1, `w_indices` and `w_values` w_nnz, `out` rows·n.
#[no_mangle]
pub unsafe extern "C" fn mv_score_sparse(
    indptr: *const u32,
    rows: usize,
    indices: *const u32,
    nnz: usize,
    m: usize,
    w_indptr: *const u32,
    w_indices: *const u32,
    w_values: *const f32,
    w_nnz: usize,
    n: usize,
    out: *mut f32,
) -> i32 {
    status((|| {
        let x = csr("foldIn", indptr, rows, indices, nnz, m)?;
        let w = csr("weights", w_indptr, m, w_indices, w_nnz, n)?;
        score_sparse(&x, &w, slice(w_values, w_nnz), slice_mut(out, rows * n))
    })())
}
