//! Compressed sparse rows: the layout every batched kernel takes for user–item sets.

use crate::error::{Error, Result};

/// A borrowed CSR matrix of `u32` column ids (binary values unless a kernel says otherwise).
///
/// Layout: `indptr.len() == rows + 1`, `indptr[0] == 0`, non-decreasing,
/// `indptr[rows] == indices.len()`; row `r` holds `indices[indptr[r]..indptr[r + 1]]`;
/// every index is `< cols`.
#[derive(Debug, Clone, Copy)]
pub struct CsrRef<'a> {
    pub indptr: &'a [u32],
    pub indices: &'a [u32],
    pub cols: usize,
}

impl<'a> CsrRef<'a> {
    /// Builds a view after checking the whole layout; `name` is used in error messages.
    pub fn new(
        name: &str,
        indptr: &'a [u32],
        indices: &'a [u32],
        cols: usize,
    ) -> Result<CsrRef<'a>> {
        if indptr.is_empty() {
            return Err(Error::invalid(format!(
                "'{}.indptr' must have rows + 1 >= 1 elements but is empty",
                name
            )));
        }
        if indptr[0] != 0 {
            return Err(Error::invalid(format!(
                "'{}.indptr[0]' must be 0 but is {}",
                name, indptr[0]
            )));
        }
        check_non_decreasing(name, indptr, 0, indptr.len() - 1)?;
        let nnz = indptr[indptr.len() - 1] as usize;
        if nnz != indices.len() {
            return Err(Error::invalid(format!(
                "'{}.indptr' ends at {} but '{}.indices' has {} elements",
                name,
                nnz,
                name,
                indices.len()
            )));
        }
        check_indices(name, indptr, indices, cols, 0, indptr.len() - 1)?;
        Ok(CsrRef {
            indptr,
            indices,
            cols,
        })
    }

    /// Rows `lo..hi` of a CSR matrix (`indptr` with one entry per row plus one, over all of
    /// `indices`), checked on those rows only — so a caller that walks a large matrix in chunks of
    /// rows checks each entry once. The view's `indptr` is `indptr[lo..=hi]` (its first entry need
    /// not be 0) and its `indices` the whole array; [`CsrRef::row`] reads it like any other. Errors
    /// name rows and positions of the whole matrix.
    pub fn row_range(
        name: &str,
        indptr: &'a [u32],
        indices: &'a [u32],
        cols: usize,
        lo: usize,
        hi: usize,
    ) -> Result<CsrRef<'a>> {
        if lo > hi || hi >= indptr.len() {
            return Err(Error::invalid(format!(
                "rows {}..{} of '{}' are out of range for {} rows",
                lo,
                hi,
                name,
                indptr.len().saturating_sub(1)
            )));
        }
        check_non_decreasing(name, indptr, lo, hi)?;
        if indptr[hi] as usize > indices.len() {
            return Err(Error::invalid(format!(
                "'{}.indptr[{}]' = {} is past the {} elements of '{}.indices'",
                name,
                hi,
                indptr[hi],
                indices.len(),
                name
            )));
        }
        check_indices(name, indptr, indices, cols, lo, hi)?;
        Ok(CsrRef {
            indptr: &indptr[lo..=hi],
            indices,
            cols,
        })
    }

    pub fn rows(&self) -> usize {
        self.indptr.len() - 1
    }

    pub fn row(&self, r: usize) -> &'a [u32] {
        &self.indices[self.indptr[r] as usize..self.indptr[r + 1] as usize]
    }
}

/// `indptr[lo..=hi]` never decreases (`Err` names the first pair that does).
fn check_non_decreasing(name: &str, indptr: &[u32], lo: usize, hi: usize) -> Result<()> {
    for r in lo..hi {
        if indptr[r + 1] < indptr[r] {
            return Err(Error::invalid(format!(
                "'{}.indptr' must be non-decreasing but indptr[{}] = {} > indptr[{}] = {}",
                name,
                r,
                indptr[r],
                r + 1,
                indptr[r + 1]
            )));
        }
    }
    Ok(())
}

/// Every index of rows `lo..hi` is `< cols` (`indptr` checked non-decreasing, `indptr[hi]` within
/// `indices`).
fn check_indices(
    name: &str,
    indptr: &[u32],
    indices: &[u32],
    cols: usize,
    lo: usize,
    hi: usize,
) -> Result<()> {
    for r in lo..hi {
        for p in indptr[r] as usize..indptr[r + 1] as usize {
            if indices[p] as usize >= cols {
                return Err(Error::out_of_range(format!(
                    "'{}.indices[{}]' = {} (row {}) is out of range for {} columns",
                    name, p, indices[p], r, cols
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_range_reads_and_checks_only_its_rows() {
        // rows: [0, 2], [1], [], [3, 9 (bad for 4 columns)]
        let indptr = [0u32, 2, 3, 3, 5];
        let indices = [0u32, 2, 1, 3, 9];
        let v = CsrRef::row_range("m", &indptr, &indices, 4, 1, 3).unwrap();
        assert_eq!(v.rows(), 2);
        assert_eq!(v.row(0), &[1]);
        assert!(v.row(1).is_empty());
        let e = CsrRef::row_range("m", &indptr, &indices, 4, 2, 4).unwrap_err();
        assert!(
            e.message.contains("'m.indices[4]' = 9 (row 3)"),
            "{}",
            e.message
        );
        assert!(CsrRef::row_range("m", &indptr, &indices, 4, 3, 5).is_err());
        let short = [0u32, 2, 9];
        let e = CsrRef::row_range("m", &short, &indices, 4, 1, 2).unwrap_err();
        assert!(e.message.contains("past the 5 elements"), "{}", e.message);
    }

    #[test]
    fn accepts_valid_and_names_bad_index() {
        let indptr = [0u32, 2, 2, 3];
        let indices = [0u32, 4, 1];
        let m = CsrRef::new("x", &indptr, &indices, 5).unwrap();
        assert_eq!(m.rows(), 3);
        assert_eq!(m.row(0), &[0, 4]);
        assert!(m.row(1).is_empty());
        let err = CsrRef::new("x", &indptr, &indices, 4).unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::OutOfRange);
        assert!(
            err.message.contains("'x.indices[1]' = 4 (row 0)"),
            "{}",
            err.message
        );
    }

    #[test]
    fn rejects_bad_indptr() {
        assert!(CsrRef::new("x", &[], &[], 3).is_err());
        assert!(CsrRef::new("x", &[1, 1], &[0], 3).is_err());
        assert!(CsrRef::new("x", &[0, 2, 1], &[0, 1], 3).is_err());
        assert!(CsrRef::new("x", &[0, 3], &[0, 1], 3).is_err());
    }
}
