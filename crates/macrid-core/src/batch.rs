//! Model input from CSR rows: the dense `rows × items` block a dense encoder multiplies, and the sparse
//! form (indices, segment offsets/ids, values) a sparse encoder gathers and segment-sums.
//!
//! The rows are binary interaction sets. Values are either `1` ([`Normalize::Binary`]) or
//! `1/√n_r` for a row of `n_r` items ([`Normalize::L2`], the unit-L2 rows MultVAE and MacridVAE feed
//! their encoders, computed in `f64` and rounded once to `f32`). An empty row stays all zero (it has
//! no norm to divide by). A row listing the same item twice is rejected: its binary meaning would be
//! ambiguous and its L2 norm wrong.

use crate::csr::CsrRef;
use crate::error::{check_len, Error, Result};
use crate::topk::ItemMask;

/// How the values of a row are scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalize {
    /// Every listed item is 1.
    Binary,
    /// Every listed item is `1/√n` for a row of `n` items, so each non-empty row has unit L2 norm.
    L2,
}

impl Normalize {
    /// The ABI code: 0 = binary, 1 = L2.
    pub fn from_code(code: u32) -> Result<Normalize> {
        match code {
            0 => Ok(Normalize::Binary),
            1 => Ok(Normalize::L2),
            _ => Err(Error::invalid(format!(
                "'normalize' must be 0 (binary) or 1 (l2) but is {}",
                code
            ))),
        }
    }

    /// The value of each item of a row of `n` items.
    pub fn value(self, n: usize) -> f32 {
        match self {
            Normalize::Binary => 1.0,
            Normalize::L2 => (1.0 / (n as f64).sqrt()) as f32,
        }
    }
}

/// Fails on the first item listed twice in a row, naming its position.
fn check_no_duplicates(m: &CsrRef<'_>) -> Result<()> {
    let mut seen = ItemMask::new(m.cols);
    for r in 0..m.rows() {
        let row = m.row(r);
        for (j, &i) in row.iter().enumerate() {
            if seen.contains(i as usize) {
                seen.clear_all(row);
                return Err(Error::invalid(format!(
                    "'rows.indices[{}]' = {} (row {}) repeats an item of its row",
                    m.indptr[r] as usize + j,
                    i,
                    r
                )));
            }
            seen.set_all(&[i]);
        }
        seen.clear_all(row);
    }
    Ok(())
}

/// The dense block: `out` is `rows × cols` row-major, overwritten.
pub fn dense_batch(m: &CsrRef<'_>, normalize: Normalize, out: &mut [f32]) -> Result<()> {
    check_len("out", out, m.rows() * m.cols)?;
    check_no_duplicates(m)?;
    for v in out.iter_mut() {
        *v = 0.0;
    }
    for r in 0..m.rows() {
        let row = m.row(r);
        let v = normalize.value(row.len());
        let o = &mut out[r * m.cols..(r + 1) * m.cols];
        for &i in row {
            o[i as usize] = v;
        }
    }
    Ok(())
}

/// The sparse form, in the CSR's order:
/// - `out_indices[p]` (nnz): the item of entry `p`;
/// - `out_offsets` (rows + 1): row `r` is entries `out_offsets[r]..out_offsets[r + 1]`;
/// - `out_segment_ids[p]` (nnz): the row of entry `p` (what a segment sum takes);
/// - `out_values[p]` (nnz): the entry's value.
pub fn sparse_batch(
    m: &CsrRef<'_>,
    normalize: Normalize,
    out_indices: &mut [u32],
    out_offsets: &mut [u32],
    out_segment_ids: &mut [u32],
    out_values: &mut [f32],
) -> Result<()> {
    let nnz = m.indices.len();
    check_len("outIndices", out_indices, nnz)?;
    check_len("outOffsets", out_offsets, m.rows() + 1)?;
    check_len("outSegmentIds", out_segment_ids, nnz)?;
    check_len("outValues", out_values, nnz)?;
    check_no_duplicates(m)?;
    out_indices.copy_from_slice(m.indices);
    out_offsets.copy_from_slice(m.indptr);
    for r in 0..m.rows() {
        let (lo, hi) = (m.indptr[r] as usize, m.indptr[r + 1] as usize);
        let v = normalize.value(hi - lo);
        for p in lo..hi {
            out_segment_ids[p] = r as u32;
            out_values[p] = v;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_binary_and_l2() {
        let indptr = [0u32, 2, 2, 6];
        let indices = [3u32, 0, 1, 2, 3, 0];
        let m = CsrRef::new("rows", &indptr, &indices, 4).unwrap();
        let mut out = vec![9f32; 12];
        dense_batch(&m, Normalize::Binary, &mut out).unwrap();
        assert_eq!(out, vec![1., 0., 0., 1., 0., 0., 0., 0., 1., 1., 1., 1.]);
        dense_batch(&m, Normalize::L2, &mut out).unwrap();
        let h = (0.5f64).sqrt() as f32;
        assert_eq!(out, vec![h, 0., 0., h, 0., 0., 0., 0., 0.5, 0.5, 0.5, 0.5]);
        for r in [0usize, 2] {
            let n: f32 = out[r * 4..r * 4 + 4].iter().map(|x| x * x).sum();
            assert!((n - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn sparse_form() {
        let indptr = [0u32, 0, 3, 4];
        let indices = [5u32, 1, 2, 0];
        let m = CsrRef::new("rows", &indptr, &indices, 6).unwrap();
        let (mut i, mut o, mut s, mut v) = (vec![0; 4], vec![0; 4], vec![0; 4], vec![0f32; 4]);
        sparse_batch(&m, Normalize::L2, &mut i, &mut o, &mut s, &mut v).unwrap();
        assert_eq!(i, indices);
        assert_eq!(o, indptr);
        assert_eq!(s, vec![1, 1, 1, 2]);
        let t = (1.0 / 3f64.sqrt()) as f32;
        assert_eq!(v, vec![t, t, t, 1.0]);
    }

    #[test]
    fn duplicates_and_bad_codes_are_errors() {
        let m = CsrRef::new("rows", &[0, 1, 3], &[2, 1, 1], 3).unwrap();
        let mut out = vec![0f32; 6];
        let e = dense_batch(&m, Normalize::Binary, &mut out).unwrap_err();
        assert!(
            e.message.contains("'rows.indices[2]' = 1 (row 1)"),
            "{}",
            e.message
        );
        assert!(Normalize::from_code(2).is_err());
        let e = dense_batch(&m, Normalize::Binary, &mut out[..5]).unwrap_err();
        assert!(e.message.contains("'out'"));
    }
}
