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
        for r in 0..indptr.len() - 1 {
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
        for r in 0..indptr.len() - 1 {
            for p in indptr[r] as usize..indptr[r + 1] as usize {
                if indices[p] as usize >= cols {
                    return Err(Error::out_of_range(format!(
                        "'{}.indices[{}]' = {} (row {}) is out of range for {} columns",
                        name, p, indices[p], r, cols
                    )));
                }
            }
        }
        Ok(CsrRef {
            indptr,
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

#[cfg(test)]
mod tests {
    use super::*;

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
