//! Exports of negative sampling.

use crate::abi::{csr, slice, slice_mut, status};
use macrid_core::sampling::{log_probabilities, sample_negatives, Distribution};
use macrid_core::{Error, Result};

/// Uniform over `items` when `pop_len` is 0, else proportional to `popularity^alpha`.
unsafe fn distribution(
    items: usize,
    popularity: *const f32,
    pop_len: usize,
    alpha: f64,
) -> Result<Distribution> {
    if pop_len == 0 {
        return Distribution::uniform(items);
    }
    if pop_len != items {
        return Err(Error::invalid(format!(
            "'popularity' must have {} entries (one per item) but has {}",
            items, pop_len
        )));
    }
    Distribution::popularity(slice(popularity, pop_len), alpha)
}

/// `s` negatives per row of `positives` with their log-probabilities; see
/// `macrid_core::sampling::sample_negatives`. `exclude` is 0 or 1.
///
/// # Safety
/// `indptr` rows+1, `indices` nnz, `popularity` pop_len, `out_items`/`out_log_q` rows·s elements.
#[no_mangle]
pub unsafe extern "C" fn mv_sample_negatives(
    indptr: *const u32,
    indices: *const u32,
    rows: usize,
    nnz: usize,
    items: usize,
    popularity: *const f32,
    pop_len: usize,
    alpha: f64,
    s: usize,
    exclude: u32,
    seed: u32,
    stream: u32,
    out_items: *mut u32,
    out_log_q: *mut f32,
) -> i32 {
    status((|| {
        let dist = distribution(items, popularity, pop_len, alpha)?;
        let m = csr("positives", indptr, rows, indices, nnz, items)?;
        sample_negatives(
            &m,
            s,
            &dist,
            exclude != 0,
            seed as u64,
            stream as u64,
            slice_mut(out_items, rows * s),
            slice_mut(out_log_q, rows * s),
        )
    })())
}

/// `ln p(i)` of the sampling distribution for every item.
///
/// # Safety
/// `popularity` pop_len elements, `out` items elements.
#[no_mangle]
pub unsafe extern "C" fn mv_sampling_log_probs(
    items: usize,
    popularity: *const f32,
    pop_len: usize,
    alpha: f64,
    out: *mut f32,
) -> i32 {
    status((|| {
        let dist = distribution(items, popularity, pop_len, alpha)?;
        log_probabilities(&dist, slice_mut(out, items))
    })())
}
