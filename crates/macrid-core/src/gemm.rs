//! Dense `f32` matrix products for the training kernels, written for WASM SIMD (4-lane `f32`, no FMA).
//!
//! One entry, [`sgemm`], in the style of bluss/matrixmultiply: `C (m×n) (+)= A (m×k) · B (k×n)` where
//! every operand is a [`Strided`] view — element `(i, j)` at `data[i·rs + j·cs]` — so a transpose is
//! only a swap of strides (`Aᵀ` of a row-major `k×m` array is `rs = 1, cs = m`), and a leading
//! dimension is a row stride.
//!
//! The driver splits `k` into blocks of [`KC`] and the columns into blocks of [`NC`] so the active block
//! of `B` stays in the L1/L2 cache, and runs one register-blocked micro-kernel: 4 rows × 8 columns of
//! `C` in 8 vector accumulators, `A` elements broadcast from memory, `B` rows loaded 4 lanes at a
//! time. The micro-kernel wants unit column stride in `B` and `C` and unit row-to-row steps in `A`'s
//! columns; operands that are not laid out so are packed, per block, into a small contiguous panel:
//! `A` with `cs ≠ 1` per 4-row tile (`kb × 4`), `B` with `cs ≠ 1` per block (`kb × nb`). `C` with
//! `cs ≠ 1` and `rs = 1` is computed as `Cᵀ = Bᵀ·Aᵀ` (strides swapped); any other `C` layout is an
//! error (no kernel needs it).

use crate::error::{Error, Result};
use crate::vec4::F4;

/// Depth of one block of the inner dimension.
pub const KC: usize = 128;
/// Columns of `B` in one block.
pub const NC: usize = 64;

/// A `B` whose rows are more than this many floats apart is packed (see the driver), when at least
/// [`PACK_B_MIN_ROWS`] rows of `A` reuse each packed block.
const PACK_B_ROW_STRIDE: usize = 512;
const PACK_B_MIN_ROWS: usize = 16;

/// A read-only strided matrix: element `(i, j)` is `data[i·rs + j·cs]`.
#[derive(Clone, Copy)]
pub struct Strided<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

impl<'a> Strided<'a> {
    /// A row-major matrix with `cols` columns (leading dimension `cols`).
    pub fn rows(data: &'a [f32], cols: usize) -> Strided<'a> {
        Strided {
            data,
            rs: cols,
            cs: 1,
        }
    }
    /// A row-major matrix with leading dimension `ld`.
    pub fn ld(data: &'a [f32], ld: usize) -> Strided<'a> {
        Strided {
            data,
            rs: ld,
            cs: 1,
        }
    }
    /// The same data read transposed (strides swapped).
    pub fn transposed(self) -> Strided<'a> {
        Strided {
            data: self.data,
            rs: self.cs,
            cs: self.rs,
        }
    }
    /// The transpose of a row-major matrix with leading dimension `ld` (i.e. `data` holds `Mᵀ`).
    pub fn t(data: &'a [f32], ld: usize) -> Strided<'a> {
        Strided {
            data,
            rs: 1,
            cs: ld,
        }
    }
}

/// A writable strided matrix (see [`Strided`]).
pub struct StridedMut<'a> {
    pub data: &'a mut [f32],
    pub rs: usize,
    pub cs: usize,
}

impl<'a> StridedMut<'a> {
    /// A row-major matrix with leading dimension `ld`.
    pub fn ld(data: &'a mut [f32], ld: usize) -> StridedMut<'a> {
        StridedMut {
            data,
            rs: ld,
            cs: 1,
        }
    }
}

/// The arguments of one [`sgemm`]: shapes, operands, and whether `C` accumulates (`C += A·B`) or is
/// overwritten (`C = A·B`).
pub struct Gemm<'a, 'b, 'c> {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub a: Strided<'a>,
    pub b: Strided<'b>,
    pub c: StridedMut<'c>,
    pub accumulate: bool,
}

/// Checks that every element `(i, j)`, `i < rows`, `j < cols` of a strided operand is inside `len`.
fn check_operand(
    name: &str,
    len: usize,
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
) -> Result<()> {
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    let last = (rows - 1)
        .checked_mul(rs)
        .and_then(|x| (cols - 1).checked_mul(cs).and_then(|y| x.checked_add(y)))
        .ok_or_else(|| Error::invalid(format!("'{}': size overflows", name)))?;
    if len <= last {
        return Err(Error::invalid(format!(
            "'{}' must have at least {} elements for {}×{} (row stride {}, column stride {}) but has {}",
            name,
            last + 1,
            rows,
            cols,
            rs,
            cs,
            len
        )));
    }
    Ok(())
}

/// `C (m×n) = A (m×k) · B (k×n)`, or `C += A·B` when `accumulate` (see the module doc for layouts).
pub fn sgemm(g: Gemm) -> Result<()> {
    let Gemm {
        m,
        k,
        n,
        a,
        b,
        c,
        accumulate,
    } = g;
    check_operand("a", a.data.len(), m, k, a.rs, a.cs)?;
    check_operand("b", b.data.len(), k, n, b.rs, b.cs)?;
    check_operand("c", c.data.len(), m, n, c.rs, c.cs)?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    // The driver writes C with unit column stride; a C with unit row stride is Cᵀ (n×m) = Bᵀ · Aᵀ.
    let (m, n, a, b, ldc) = if c.cs == 1 || n == 1 {
        (m, n, a, b, c.rs)
    } else if c.rs == 1 || m == 1 {
        (n, m, b.transposed(), a.transposed(), c.cs)
    } else {
        return Err(Error::invalid(format!(
            "'c' needs a unit row or column stride but has row stride {} and column stride {}",
            c.rs, c.cs
        )));
    };
    // SAFETY: every operand's extent was checked above (swapping the roles keeps every element in bounds).
    unsafe {
        driver(
            m,
            n,
            k,
            a.data.as_ptr(),
            a.rs,
            a.cs,
            b.data.as_ptr(),
            b.rs,
            b.cs,
            c.data.as_mut_ptr(),
            ldc,
            accumulate,
        )
    };
    Ok(())
}

/// `dst (cols×rows) = srcᵀ` for a row-major `rows × cols` `src`.
pub fn transpose(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) -> Result<()> {
    check_operand("src", src.len(), rows, cols, cols, 1)?;
    check_operand("dst", dst.len(), cols, rows, rows, 1)?;
    const T: usize = 32;
    for r0 in (0..rows).step_by(T) {
        for c0 in (0..cols).step_by(T) {
            for r in r0..(r0 + T).min(rows) {
                for c in c0..(c0 + T).min(cols) {
                    dst[c * rows + r] = src[r * cols + c];
                }
            }
        }
    }
    Ok(())
}

/// An operand as the micro-kernel reads it: element `(r, p)` at `ptr + r·rs + p·cs`.
#[derive(Clone, Copy)]
struct Panel {
    ptr: *const f32,
    rs: usize,
    cs: usize,
}

/// The blocked driver: `C(i, j) = c + i·ldc + j` (unit column stride), `A(i, p) = a + i·ars + p·acs`,
/// `B(p, j) = b + p·brs + j·bcs`.
///
/// # Safety
/// Every `A(i, p)`, `B(p, j)` and `C(i, j)` with `i < m`, `j < n`, `p < k` must be in bounds.
#[allow(clippy::too_many_arguments)]
unsafe fn driver(
    m: usize,
    n: usize,
    k: usize,
    a: *const f32,
    ars: usize,
    acs: usize,
    b: *const f32,
    brs: usize,
    bcs: usize,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
) {
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                for j in 0..n {
                    *c.add(i * ldc + j) = 0.0;
                }
            }
        }
        return;
    }
    // A with non-unit column stride (a transposed A) is packed per 4-row tile into a `kb × 4` panel;
    // B with non-unit column stride (a transposed B) per block into a `kb × nb` panel — and so is a B
    // whose rows lie far apart (the decoder's `Hᵀ`, `items` floats per row) when enough rows of A
    // reuse the panel: the micro-kernel walks `kb` rows of B per tile, each on another page (TLB
    // misses) and in another cache set; packed, they are one contiguous block.
    let pack_a = acs != 1;
    let pack_b = bcs != 1 || (brs > PACK_B_ROW_STRIDE && m >= PACK_B_MIN_ROWS);
    let mut a_panel = if pack_a {
        vec![0f32; KC * 4]
    } else {
        Vec::new()
    };
    let mut b_panel = if pack_b {
        vec![0f32; KC * NC]
    } else {
        Vec::new()
    };
    let mut p0 = 0;
    while p0 < k {
        let kb = KC.min(k - p0);
        let acc = accumulate || p0 > 0;
        let ap = a.add(p0 * acs);
        let mut j0 = 0;
        while j0 < n {
            let nb = NC.min(n - j0);
            let bb = if pack_b {
                let src = b.add(p0 * brs + j0 * bcs);
                for p in 0..kb {
                    for j in 0..nb {
                        *b_panel.get_unchecked_mut(p * nb + j) = *src.add(p * brs + j * bcs);
                    }
                }
                Panel {
                    ptr: b_panel.as_ptr(),
                    rs: nb,
                    cs: 1,
                }
            } else {
                Panel {
                    ptr: b.add(p0 * brs + j0),
                    rs: brs,
                    cs: 1,
                }
            };
            let mut i = 0;
            while i < m {
                let mr = 4.min(m - i);
                let at = if pack_a {
                    let src = ap.add(i * ars);
                    for p in 0..kb {
                        for r in 0..mr {
                            *a_panel.get_unchecked_mut(p * 4 + r) = *src.add(r * ars + p * acs);
                        }
                    }
                    Panel {
                        ptr: a_panel.as_ptr(),
                        rs: 1,
                        cs: 4,
                    }
                } else {
                    Panel {
                        ptr: ap.add(i * ars),
                        rs: ars,
                        cs: acs,
                    }
                };
                let c_i = c.add(i * ldc + j0);
                let mut j = 0;
                while j + 8 <= nb {
                    tile::<2>(mr, kb, at, bb.ptr.add(j), bb.rs, c_i.add(j), ldc, acc);
                    j += 8;
                }
                if j + 4 <= nb {
                    tile::<1>(mr, kb, at, bb.ptr.add(j), bb.rs, c_i.add(j), ldc, acc);
                    j += 4;
                }
                while j < nb {
                    scalar_col(mr, kb, at, bb.ptr.add(j), bb.rs, c_i.add(j), ldc, acc);
                    j += 1;
                }
                i += 4;
            }
            j0 += nb;
        }
        p0 += kb;
    }
}

/// Dispatches to the micro-kernel specialised for `mr` rows and `NV` vectors of columns.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<const NV: usize>(
    mr: usize,
    k: usize,
    a: Panel,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    acc: bool,
) {
    match mr {
        4 => micro::<4, NV>(k, a, b, ldb, c, ldc, acc),
        3 => micro::<3, NV>(k, a, b, ldb, c, ldc, acc),
        2 => micro::<2, NV>(k, a, b, ldb, c, ldc, acc),
        _ => micro::<1, NV>(k, a, b, ldb, c, ldc, acc),
    }
}

/// `MR × 4·NV` block of `C` (+)= `A[MR × k] · B[k × 4·NV]`, accumulators held in registers.
#[inline(always)]
unsafe fn micro<const MR: usize, const NV: usize>(
    k: usize,
    a: Panel,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    acc: bool,
) {
    let mut s = [[F4::zero(); NV]; MR];
    let mut bp = b;
    let mut ap = a.ptr;
    for _ in 0..k {
        let mut bv = [F4::zero(); NV];
        for v in 0..NV {
            bv[v] = F4::load_ptr(bp.add(4 * v));
        }
        for r in 0..MR {
            let av = F4::splat_ptr(ap.add(r * a.rs));
            for v in 0..NV {
                s[r][v] = s[r][v].add(av.mul(bv[v]));
            }
        }
        bp = bp.add(ldb);
        ap = ap.add(a.cs);
    }
    for r in 0..MR {
        for v in 0..NV {
            let p = c.add(r * ldc + 4 * v);
            let x = if acc {
                F4::load_ptr(p).add(s[r][v])
            } else {
                s[r][v]
            };
            x.store_ptr(p);
        }
    }
}

/// One column of `C` for up to 4 rows (the tail when `n` is not a multiple of 4).
#[inline(never)]
#[allow(clippy::too_many_arguments)]
unsafe fn scalar_col(
    mr: usize,
    k: usize,
    a: Panel,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    acc: bool,
) {
    for r in 0..mr {
        let mut s = 0f32;
        for p in 0..k {
            s += *a.ptr.add(r * a.rs + p * a.cs) * *b.add(p * ldb);
        }
        let dst = c.add(r * ldc);
        *dst = if acc { *dst + s } else { s };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Xoshiro256;

    fn rand(rng: &mut Xoshiro256, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.next_f64() as f32 * 2.0 - 1.0).collect()
    }

    /// `A·B` in f64 from element accessors.
    fn naive(
        m: usize,
        n: usize,
        k: usize,
        a: impl Fn(usize, usize) -> f32,
        b: impl Fn(usize, usize) -> f32,
    ) -> Vec<f64> {
        let mut c = vec![0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    c[i * n + j] += a(i, p) as f64 * b(p, j) as f64;
                }
            }
        }
        c
    }

    /// Every combination of transposed / padded A, B and C (row- or column-major) against the naive product.
    #[test]
    fn every_stride_layout_matches_naive_on_awkward_shapes() {
        let mut rng = Xoshiro256::new(11);
        for &(m, n, k) in &[
            (1, 1, 1),
            (5, 13, 7),
            (9, 8, 300),
            (4, 101, 129),
            (7, 3, 2),
            (3, 70, 0),
            (17, 65, 33),
            (6, 130, 9),
            // B's rows over 512 floats apart and ≥ 16 rows of A: B packed although unit-stride.
            (20, 600, 140),
        ] {
            for &(ta, tb, tc) in &[
                (false, false, false),
                (true, false, false),
                (false, true, false),
                (true, true, false),
                (false, false, true),
                (true, true, true),
            ] {
                // Padded leading dimensions: A is m×k (or k×m stored), B k×n (or n×k), C m×n (or n×m).
                let (lda, ldb) = (if ta { m } else { k } + 3, if tb { k } else { n } + 1);
                let ldc = if tc { m } else { n } + 2;
                let a = rand(&mut rng, (if ta { k } else { m }).max(1) * lda);
                let b = rand(&mut rng, (if tb { n } else { k }).max(1) * ldb);
                let c0 = rand(&mut rng, (if tc { n } else { m }).max(1) * ldc);
                let sa = if ta {
                    Strided::t(&a, lda)
                } else {
                    Strided::ld(&a, lda)
                };
                let sb = if tb {
                    Strided::t(&b, ldb)
                } else {
                    Strided::ld(&b, ldb)
                };
                let (crs, ccs) = if tc { (1, ldc) } else { (ldc, 1) };
                let want = naive(
                    m,
                    n,
                    k,
                    |i, p| a[i * sa.rs + p * sa.cs],
                    |p, j| b[p * sb.rs + j * sb.cs],
                );
                for &accumulate in &[false, true] {
                    let mut c = c0.clone();
                    sgemm(Gemm {
                        m,
                        k,
                        n,
                        a: sa,
                        b: sb,
                        c: StridedMut {
                            data: &mut c,
                            rs: crs,
                            cs: ccs,
                        },
                        accumulate,
                    })
                    .unwrap();
                    let tol = 1e-4 * (1.0 + k as f64).sqrt();
                    for i in 0..m {
                        for j in 0..n {
                            let at = i * crs + j * ccs;
                            let base = if accumulate { c0[at] as f64 } else { 0.0 };
                            assert!(
                                (c[at] as f64 - base - want[i * n + j]).abs() < tol,
                                "{m}x{n}x{k} ta {ta} tb {tb} tc {tc}"
                            );
                        }
                    }
                    // Padding is never written.
                    let (outer, inner) = if tc { (n, m) } else { (m, n) };
                    for o in 0..outer {
                        for x in inner..ldc {
                            assert_eq!(c[o * ldc + x], c0[o * ldc + x]);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn bad_operands_are_errors() {
        let a = vec![0f32; 6];
        let mut c = vec![0f32; 4];
        let e = sgemm(Gemm {
            m: 2,
            k: 3,
            n: 2,
            a: Strided::rows(&a, 3),
            b: Strided::rows(&a[..5], 2),
            c: StridedMut::ld(&mut c, 2),
            accumulate: false,
        })
        .unwrap_err();
        assert!(
            e.message.contains("'b' must have at least 6 elements"),
            "{}",
            e.message
        );
        let mut c9 = vec![0f32; 9];
        let e = sgemm(Gemm {
            m: 2,
            k: 1,
            n: 2,
            a: Strided::rows(&a, 1),
            b: Strided::rows(&a, 2),
            c: StridedMut {
                data: &mut c9,
                rs: 4,
                cs: 2,
            },
            accumulate: false,
        })
        .unwrap_err();
        assert!(
            e.message.contains("unit row or column stride"),
            "{}",
            e.message
        );
    }

    #[test]
    fn transpose_round_trips() {
        let src: Vec<f32> = (0..35 * 67).map(|x| x as f32).collect();
        let mut t = vec![0f32; src.len()];
        transpose(&src, 35, 67, &mut t).unwrap();
        assert_eq!(t[5 * 35 + 3], src[3 * 67 + 5]);
        let mut back = vec![0f32; src.len()];
        transpose(&t, 67, 35, &mut back).unwrap();
        assert_eq!(back, src);
    }
}
