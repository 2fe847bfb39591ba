//! Exports of the ranking kernels (top-k; metrics are added by the evaluation work).

use crate::abi::{csr, slice, slice_mut, status};
use macrid_core::topk::topk_batch;

/// Top-k per user with exclusions; see `macrid_core::topk::topk_batch` for the layout.
///
/// # Safety
/// Pointers must reference the documented number of elements: `scores` users·items,
/// `indptr` users+1, `indices` nnz, `out_items`/`out_scores` users·k, `out_count` users.
#[no_mangle]
pub unsafe extern "C" fn mv_topk(
    scores: *const f32,
    users: usize,
    items: usize,
    indptr: *const u32,
    indices: *const u32,
    nnz: usize,
    k: usize,
    out_items: *mut u32,
    out_scores: *mut f32,
    out_count: *mut u32,
) -> i32 {
    status((|| {
        let ex = csr("exclude", indptr, users, indices, nnz, items)?;
        topk_batch(
            slice(scores, users * items),
            users,
            items,
            &ex,
            k,
            slice_mut(out_items, users * k),
            slice_mut(out_scores, users * k),
            slice_mut(out_count, users),
        )
    })())
}
