//! Exports of the evaluation kernels (ranking metrics; top-k is in `kernels.rs`).

use crate::abi::{slice, slice_mut, status};
use macrid_core::csr::CsrRef;
use macrid_core::metrics::{ranking_metrics, MetricsOut};

/// NDCG@k, Recall@k and hits@k for every k of `ks`, for rows `lo .. lo + users` of a batch of `rows`
/// users; see `macrid_core::metrics`. The caller ranks a large batch in chunks of rows, copying each
/// chunk's scores into one small buffer so they are still in cache when ranked: `scores` holds the
/// chunk (users·items), the CSR arrays and outputs are the whole batch's (checked on the chunk's rows).
///
/// # Safety
/// Pointers must reference the documented number of elements: `scores` users·items, `fold_indptr`
/// and `target_indptr` rows+1, `fold_indices` fold_nnz, `target_indices` target_nnz, `ks` nks,
/// `out_ndcg`/`out_recall` (f64) and `out_hits` (u32) rows·nks, `out_target_size` rows.
#[no_mangle]
pub unsafe extern "C" fn mv_ranking_metrics(
    scores: *const f32,
    lo: usize,
    users: usize,
    rows: usize,
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
        let hi = lo + users;
        let range = |name: &str, indptr: *const u32, indices: *const u32, nnz: usize| {
            CsrRef::row_range(
                name,
                slice(indptr, rows + 1),
                slice(indices, nnz),
                items,
                lo,
                hi,
            )
        };
        let fold = range("foldIn", fold_indptr, fold_indices, fold_nnz)?;
        let target = range("target", target_indptr, target_indices, target_nnz)?;
        let (o, n) = (lo * nks, users * nks);
        ranking_metrics(
            lo,
            slice(scores, users * items),
            users,
            items,
            &fold,
            &target,
            slice(ks, nks),
            MetricsOut {
                ndcg: &mut slice_mut(out_ndcg, rows * nks)[o..o + n],
                recall: &mut slice_mut(out_recall, rows * nks)[o..o + n],
                hits: &mut slice_mut(out_hits, rows * nks)[o..o + n],
                target_size: &mut slice_mut(out_target_size, rows)[lo..hi],
            },
        )
    })())
}
