//! Exports of the evaluation kernels (ranking metrics; top-k is in `kernels.rs`).

use crate::abi::{csr, slice, slice_mut, status};
use macrid_core::metrics::{ranking_metrics, MetricsOut};

/// NDCG@k, Recall@k and hits@k for every k of `ks`, per user; see `macrid_core::metrics`.
///
/// # Safety
/// Pointers must reference the documented number of elements: `scores` users·items, `fold_indptr`
/// and `target_indptr` users+1, `fold_indices` fold_nnz, `target_indices` target_nnz, `ks` nks,
/// `out_ndcg`/`out_recall` (f64) and `out_hits` (u32) users·nks, `out_target_size` users.
#[no_mangle]
pub unsafe extern "C" fn mv_ranking_metrics(
    scores: *const f32,
    users: usize,
    items: usize,
    fold_indptr: *const u32,
    fold_indices: *const u32,
    fold_nnz: usize,
    target_indptr: *const u32,
    target_indices: *const u32,
    target_nnz: usize,
    ks: *const u32,
    nks: usize,
    out_ndcg: *mut f64,
    out_recall: *mut f64,
    out_hits: *mut u32,
    out_target_size: *mut u32,
) -> i32 {
    status((|| {
        let fold = csr("foldIn", fold_indptr, users, fold_indices, fold_nnz, items)?;
        let target = csr(
            "target",
            target_indptr,
            users,
            target_indices,
            target_nnz,
            items,
        )?;
        ranking_metrics(
            slice(scores, users * items),
            users,
            items,
            &fold,
            &target,
            slice(ks, nks),
            MetricsOut {
                ndcg: slice_mut(out_ndcg, users * nks),
                recall: slice_mut(out_recall, users * nks),
                hits: slice_mut(out_hits, users * nks),
                target_size: slice_mut(out_target_size, users),
            },
        )
    })())
}
