//! Exports of the correlation kernels (correlation matrix, independence score).

use crate::abi::{slice, slice_mut, status};
use macrid_core::stats::{correlation_matrix, independence_score};

/// Pearson correlations (`d × d` f64) and constant-dimension flags (`d` bytes) of `n × d` vectors.
///
/// # Safety
/// `x` n·d, `out` d·d, `out_constant` d elements.
#[no_mangle]
pub unsafe extern "C" fn mv_correlation_matrix(
    x: *const f32,
    n: usize,
    d: usize,
    out: *mut f64,
    out_constant: *mut u8,
) -> i32 {
    status(
        correlation_matrix(
            slice(x, n * d),
            n,
            d,
            slice_mut(out, d * d),
            slice_mut(out_constant, d),
        )
        .map(|_| ()),
    )
}

/// The independence score `1 − 2/(d(d−1)) Σ_{i<j} |corr_ij|` into `out_score` (one f64) and the
/// constant-dimension flags (`d` bytes).
///
/// # Safety
/// `x` n·d elements, `out_score` one, `out_constant` d.
#[no_mangle]
pub unsafe extern "C" fn mv_independence_score(
    x: *const f32,
    n: usize,
    d: usize,
    out_score: *mut f64,
    out_constant: *mut u8,
) -> i32 {
    status((|| {
        let score = independence_score(slice(x, n * d), n, d, slice_mut(out_constant, d))?;
        slice_mut(out_score, 1)[0] = score;
        Ok(())
    })())
}
