//! Exports of the reference models' serving kernel (`macrid_core::serve`): scores and top k per user
//! in one call per group of users.

use crate::abi::{csr, opt, slice, slice_mut, status};
use macrid_core::serve::{item_topk, mix_topk, tile_major, ItemScores, ServeItems};
use macrid_core::Error;

/// Top `k` per history of `x` (`users × items` CSR) under item–item weights: `mode` 0 = dense
/// `w` (`items × items`), 1 = sparse by rows (`w_indptr`/`w_indices`/`w`, `w_nnz` entries),
/// 2 = constant (`w`: `items`). `cand_indptr` 0 = no candidates.
///
/// # Safety
/// Every pointer must hold the element count its length argument implies (`*_indptr` users+1 or
/// items+1, `w` per `mode`, outputs users·k and users).
#[no_mangle]
pub unsafe extern "C" fn mv_item_topk(
    mode: u32,
    x_indptr: *const u32,
    users: usize,
    x_indices: *const u32,
    x_nnz: usize,
    items: usize,
    w: *const f32,
    w_indptr: *const u32,
    w_indices: *const u32,
    w_nnz: usize,
    ex_indptr: *const u32,
    ex_indices: *const u32,
    ex_nnz: usize,
    cand_indptr: *const u32,
    cand_indices: *const u32,
    cand_nnz: usize,
    k: usize,
    out_items: *mut u32,
    out_scores: *mut f32,
    out_count: *mut u32,
) -> i32 {
    status((|| {
        let x = csr("x", x_indptr, users, x_indices, x_nnz, items)?;
        let weights = match mode {
            0 => ItemScores::Dense(slice(w, items * items)),
            1 => ItemScores::Sparse(
                csr("weights", w_indptr, items, w_indices, w_nnz, items)?,
                slice(w, w_nnz),
            ),
            2 => ItemScores::Constant(slice(w, items)),
            _ => {
                return Err(Error::invalid(format!(
                    "'mode' must be 0 (dense), 1 (sparse) or 2 (constant) but is {}",
                    mode
                )))
            }
        };
        let ex = csr("exclude", ex_indptr, users, ex_indices, ex_nnz, items)?;
        let cand = if cand_indptr.is_null() {
            None
        } else {
            Some(csr(
                "candidates",
                cand_indptr,
                users,
                cand_indices,
                cand_nnz,
                items,
            )?)
        };
        item_topk(
            &x,
            &weights,
            &ex,
            cand.as_ref(),
            k,
            slice_mut(out_items, users * k),
            slice_mut(out_scores, users * k),
            slice_mut(out_count, users),
        )
    })())
}

/// `dst` = `src` (`items × cols` row-major) in the serving kernel's tile-major layout
/// (`macrid_core::serve::tile_major`): [`mv_mix_topk`]'s `ht`/`ct`, made once per model.
///
/// # Safety
/// `src` and `dst` must hold `items·cols` elements.
#[no_mangle]
pub unsafe extern "C" fn mv_tile_major(
    src: *const f32,
    items: usize,
    cols: usize,
    dst: *mut f32,
) -> i32 {
    status(tile_major(
        slice(src, items * cols),
        items,
        cols,
        slice_mut(dst, items * cols),
    ))
}

/// The VAEs' decoder and top `k` per user fused (`macrid_core::serve::mix_topk`): `z` (users·K × d),
/// `ht` (the item vectors, tile-major: [`mv_tile_major`]), `ct` (the concept assignment, tile-major; 0 = none when K = 1), `bias`
/// (items, 0 = none), `has_bound` 0 = running maximum.
///
/// # Safety
/// Every pointer must hold the element count its length arguments imply.
#[no_mangle]
pub unsafe extern "C" fn mv_mix_topk(
    users: usize,
    concepts: usize,
    d: usize,
    items: usize,
    z: *const f32,
    ht: *const f32,
    ct: *const f32,
    bias: *const f32,
    scale: f32,
    has_bound: u32,
    bound: f32,
    ex_indptr: *const u32,
    ex_indices: *const u32,
    ex_nnz: usize,
    k: usize,
    out_items: *mut u32,
    out_scores: *mut f32,
    out_count: *mut u32,
) -> i32 {
    status((|| {
        let ex = csr("exclude", ex_indptr, users, ex_indices, ex_nnz, items)?;
        let dec = ServeItems {
            concepts,
            d,
            items,
            ht: slice(ht, d * items),
            ct: opt(ct, concepts * items),
            bias: opt(bias, items),
            scale,
            bound: if has_bound != 0 { Some(bound) } else { None },
        };
        mix_topk(
            &dec,
            users,
            slice(z, users * concepts * d),
            &ex,
            k,
            slice_mut(out_items, users * k),
            slice_mut(out_scores, users * k),
            slice_mut(out_count, users),
        )
    })())
}
