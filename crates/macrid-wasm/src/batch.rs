//! Exports of batch construction (dense and sparse model input from CSR rows).

use crate::abi::{csr, slice_mut, status};
use macrid_core::batch::{dense_batch, sparse_batch, Normalize};

/// The dense `rows × cols` block; `normalize`: 0 binary, 1 L2. See `macrid_core::batch`.
///
/// # Safety
/// `indptr` rows+1, `indices` nnz, `out` rows·cols elements.
#[no_mangle]
pub unsafe extern "C" fn mv_dense_batch(
    indptr: *const u32,
    indices: *const u32,
    rows: usize,
    nnz: usize,
    cols: usize,
    normalize: u32,
    out: *mut f32,
) -> i32 {
    status((|| {
        let m = csr("rows", indptr, rows, indices, nnz, cols)?;
        dense_batch(
            &m,
            Normalize::from_code(normalize)?,
            slice_mut(out, rows * cols),
        )
    })())
}

/// The sparse form: indices, offsets (rows+1), segment ids and values (nnz each).
///
/// # Safety
/// `indptr`/`out_offsets` rows+1, `indices`/`out_indices`/`out_segment_ids`/`out_values` nnz.
#[no_mangle]
pub unsafe extern "C" fn mv_sparse_batch(
    indptr: *const u32,
    indices: *const u32,
    rows: usize,
    nnz: usize,
    cols: usize,
    normalize: u32,
    out_indices: *mut u32,
    out_offsets: *mut u32,
    out_segment_ids: *mut u32,
    out_values: *mut f32,
) -> i32 {
    status((|| {
        let m = csr("rows", indptr, rows, indices, nnz, cols)?;
        sparse_batch(
            &m,
            Normalize::from_code(normalize)?,
            slice_mut(out_indices, nnz),
            slice_mut(out_offsets, rows + 1),
            slice_mut(out_segment_ids, nnz),
            slice_mut(out_values, nnz),
        )
    })())
}
