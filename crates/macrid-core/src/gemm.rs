//! Dense `f32` matrix products for the training kernels, written for WASM SIMD (4-lane `f32`, no FMA).
//!
//! Row-major throughout. Two entry points cover every layout the models need without a transposed
//! copy of a large operand:
//! - [`gemm_nn`]: `C (m×n) (+)= A (m×k) · B (k×n)`;
//! - [`gemm_tn`]: `C (m×n) (+)= Aᵀ · B` with `A` stored `k×m` (e.g. `dH += dLᵀ·Z` where `dL` is
//!   users×items).
//!
//! Both run the same register-blocked micro-kernel (4 rows × 8 columns of `C` in 8 vector
//! accumulators; `A` elements broadcast from memory, `B` rows loaded 4 lanes at a time); they differ
//! only in how `A` is addressed. `k` is split into blocks of [`KC`] and the columns into blocks of [`NC`]
//! so the active block of `B` stays in the L1/L2 cache.

use crate::error::{Error, Result};
use crate::vec4::F4;

/// Depth of one block of the inner dimension.
pub const KC: usize = 128;
/// Columns of `B` in one block.
pub const NC: usize = 64;

/// Checks that a row-major `rows × cols` operand with leading dimension `ld` fits in `len` elements.
fn check_operand(name: &str, len: usize, rows: usize, cols: usize, ld: usize) -> Result<()> {
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    if ld < cols {
        return Err(Error::invalid(format!(
            "'{}': leading dimension {} is smaller than its {} columns",
            name, ld, cols
        )));
    }
    let need = (rows - 1)
        .checked_mul(ld)
        .and_then(|x| x.checked_add(cols))
        .ok_or_else(|| Error::invalid(format!("'{}': size overflows", name)))?;
    if len < need {
        return Err(Error::invalid(format!(
            "'{}' must have at least {} elements for {}×{} (leading dimension {}) but has {}",
            name, need, rows, cols, ld, len
        )));
    }
    Ok(())
}

/// `C (m×n) = A (m×k) · B (k×n)`, or `C += A·B` when `accumulate`.
pub fn gemm_nn(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
) -> Result<()> {
    check_operand("a", a.len(), m, k, lda)?;
    check_operand("b", b.len(), k, n, ldb)?;
    check_operand("c", c.len(), m, n, ldc)?;
    // SAFETY: operand extents checked above; A(i, p) = a[i*lda + p].
    unsafe {
        gemm(
            m,
            n,
            k,
            a.as_ptr(),
            lda,
            1,
            b.as_ptr(),
            ldb,
            c.as_mut_ptr(),
            ldc,
            accumulate,
        )
    };
    Ok(())
}

/// `C (m×n) = Aᵀ · B` with `A` stored `k×m` (leading dimension `lda`) and `B` `k×n`, or `C += Aᵀ·B`
/// when `accumulate`.
pub fn gemm_tn(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
) -> Result<()> {
    check_operand("a", a.len(), k, m, lda)?;
    check_operand("b", b.len(), k, n, ldb)?;
    check_operand("c", c.len(), m, n, ldc)?;
    // SAFETY: operand extents checked above; A(i, p) = a[p*lda + i].
    unsafe {
        gemm(
            m,
            n,
            k,
            a.as_ptr(),
            1,
            lda,
            b.as_ptr(),
            ldb,
            c.as_mut_ptr(),
            ldc,
            accumulate,
        )
    };
    Ok(())
}

/// `C (m×n) = op(A) · op(B)` for packed row-major operands, where `op(A)` is `A` (`m×k`) or, when
/// `trans_a`, `Aᵀ` with `A` stored `k×m`; likewise `op(B)` is `B` (`k×n`) or `Bᵀ` with `B` stored `n×k`.
/// A transposed `B` is copied once into its `k×n` layout (`O(k·n)` moves against `O(m·n·k)` arithmetic),
/// so every case runs the same micro-kernel.
pub fn gemm_any(
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
) -> Result<()> {
    let bt;
    let b = if trans_b {
        crate::error::check_len("b", b, n * k)?;
        let mut t = vec![0f32; n * k];
        transpose(b, n, k, &mut t)?;
        bt = t;
        &bt[..]
    } else {
        b
    };
    if trans_a {
        gemm_tn(m, n, k, a, m, b, n, c, n, false)
    } else {
        gemm_nn(m, n, k, a, k, b, n, c, n, false)
    }
}

/// `dst (cols×rows) = srcᵀ` for a row-major `rows × cols` `src`.
pub fn transpose(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) -> Result<()> {
    check_operand("src", src.len(), rows, cols, cols)?;
    check_operand("dst", dst.len(), cols, rows, rows)?;
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

/// The blocked driver. `A(i, p)` is at `a + i*ars + p*acs`.
///
/// # Safety
/// Every `A(i, p)`, `B(p, j) = b + p*ldb + j` and `C(i, j) = c + i*ldc + j` with `i < m`, `j < n`,
/// `p < k` must be in bounds.
unsafe fn gemm(
    m: usize,
    n: usize,
    k: usize,
    a: *const f32,
    ars: usize,
    acs: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
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
    // A transposed A (column access, stride `acs`) is packed per 4-row tile into a `kb × 4` panel, so
    // the micro-kernel reads it sequentially; it is reused across every column tile of the block.
    let packed = acs != 1;
    let mut panel = if packed {
        vec![0f32; KC * 4]
    } else {
        Vec::new()
    };
    let mut p0 = 0;
    while p0 < k {
        let kb = KC.min(k - p0);
        let acc = accumulate || p0 > 0;
        let ap = a.add(p0 * acs);
        let bp = b.add(p0 * ldb);
        let mut j0 = 0;
        while j0 < n {
            let nb = NC.min(n - j0);
            let mut i = 0;
            while i < m {
                let mr = 4.min(m - i);
                let (a_i, ars_i, acs_i) = if packed {
                    let src = ap.add(i * ars);
                    for p in 0..kb {
                        for r in 0..mr {
                            *panel.get_unchecked_mut(p * 4 + r) = *src.add(r * ars + p * acs);
                        }
                    }
                    (panel.as_ptr(), 1, 4)
                } else {
                    (ap.add(i * ars), ars, acs)
                };
                let (ars, acs) = (ars_i, acs_i);
                let c_i = c.add(i * ldc);
                let mut j = j0;
                while j + 8 <= j0 + nb {
                    tile(
                        mr,
                        2,
                        kb,
                        a_i,
                        ars,
                        acs,
                        bp.add(j),
                        ldb,
                        c_i.add(j),
                        ldc,
                        acc,
                    );
                    j += 8;
                }
                if j + 4 <= j0 + nb {
                    tile(
                        mr,
                        1,
                        kb,
                        a_i,
                        ars,
                        acs,
                        bp.add(j),
                        ldb,
                        c_i.add(j),
                        ldc,
                        acc,
                    );
                    j += 4;
                }
                while j < j0 + nb {
                    scalar_col(mr, kb, a_i, ars, acs, bp.add(j), ldb, c_i.add(j), ldc, acc);
                    j += 1;
                }
                i += 4;
            }
            j0 += nb;
        }
        p0 += kb;
    }
}

/// Dispatches to the micro-kernel specialised for `mr` rows and `nv` vectors of columns.
#[inline(always)]
unsafe fn tile(
    mr: usize,
    nv: usize,
    k: usize,
    a: *const f32,
    ars: usize,
    acs: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    acc: bool,
) {
    match (mr, nv) {
        (4, 2) => micro::<4, 2>(k, a, ars, acs, b, ldb, c, ldc, acc),
        (3, 2) => micro::<3, 2>(k, a, ars, acs, b, ldb, c, ldc, acc),
        (2, 2) => micro::<2, 2>(k, a, ars, acs, b, ldb, c, ldc, acc),
        (1, 2) => micro::<1, 2>(k, a, ars, acs, b, ldb, c, ldc, acc),
        (4, _) => micro::<4, 1>(k, a, ars, acs, b, ldb, c, ldc, acc),
        (3, _) => micro::<3, 1>(k, a, ars, acs, b, ldb, c, ldc, acc),
        (2, _) => micro::<2, 1>(k, a, ars, acs, b, ldb, c, ldc, acc),
        _ => micro::<1, 1>(k, a, ars, acs, b, ldb, c, ldc, acc),
    }
}

/// `MR × 4·NV` block of `C` (+)= `A[MR × k] · B[k × 4·NV]`, accumulators held in registers.
#[inline(always)]
unsafe fn micro<const MR: usize, const NV: usize>(
    k: usize,
    a: *const f32,
    ars: usize,
    acs: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    acc: bool,
) {
    let mut s = [[F4::zero(); NV]; MR];
    let mut bp = b;
    let mut ap = a;
    for _ in 0..k {
        let mut bv = [F4::zero(); NV];
        for v in 0..NV {
            bv[v] = F4::load_ptr(bp.add(4 * v));
        }
        for r in 0..MR {
            let av = F4::splat_ptr(ap.add(r * ars));
            for v in 0..NV {
                s[r][v] = s[r][v].add(av.mul(bv[v]));
            }
        }
        bp = bp.add(ldb);
        ap = ap.add(acs);
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
unsafe fn scalar_col(
    mr: usize,
    k: usize,
    a: *const f32,
    ars: usize,
    acs: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    acc: bool,
) {
    for r in 0..mr {
        let mut s = 0f32;
        for p in 0..k {
            s += *a.add(r * ars + p * acs) * *b.add(p * ldb);
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

    fn naive(
        m: usize,
        n: usize,
        k: usize,
        a: impl Fn(usize, usize) -> f32,
        b: &[f32],
        ldb: usize,
    ) -> Vec<f64> {
        let mut c = vec![0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    c[i * n + j] += a(i, p) as f64 * b[p * ldb + j] as f64;
                }
            }
        }
        c
    }

    #[test]
    fn nn_and_tn_match_naive_on_awkward_shapes() {
        let mut rng = Xoshiro256::new(11);
        for &(m, n, k) in &[
            (1, 1, 1),
            (5, 13, 7),
            (9, 8, 300),
            (4, 101, 129),
            (7, 3, 2),
            (3, 70, 0),
            (17, 65, 33),
        ] {
            let lda = k + 3;
            let ldb = n + 1;
            let ldc = n + 2;
            let a = rand(&mut rng, m * lda);
            let at = rand(&mut rng, k * (m + 1));
            let b = rand(&mut rng, k * ldb);
            let c0 = rand(&mut rng, m * ldc);
            for &accumulate in &[false, true] {
                let mut c = c0.clone();
                gemm_nn(m, n, k, &a, lda, &b, ldb, &mut c, ldc, accumulate).unwrap();
                let want = naive(m, n, k, |i, p| a[i * lda + p], &b, ldb);
                let mut c2 = c0.clone();
                gemm_tn(m, n, k, &at, m + 1, &b, ldb, &mut c2, ldc, accumulate).unwrap();
                let want2 = naive(m, n, k, |i, p| at[p * (m + 1) + i], &b, ldb);
                for i in 0..m {
                    for j in 0..n {
                        let base = if accumulate {
                            c0[i * ldc + j] as f64
                        } else {
                            0.0
                        };
                        let tol = 1e-4 * (1.0 + k as f64).sqrt();
                        assert!(
                            (c[i * ldc + j] as f64 - base - want[i * n + j]).abs() < tol,
                            "nn {m}x{n}x{k}"
                        );
                        assert!(
                            (c2[i * ldc + j] as f64 - base - want2[i * n + j]).abs() < tol,
                            "tn {m}x{n}x{k}"
                        );
                    }
                    // Padding columns are never written.
                    for j in n..ldc {
                        assert_eq!(c[i * ldc + j], c0[i * ldc + j]);
                    }
                }
            }
        }
    }

    #[test]
    fn bad_operands_are_errors() {
        let a = vec![0f32; 6];
        let mut c = vec![0f32; 4];
        let e = gemm_nn(2, 2, 3, &a, 3, &a[..5], 2, &mut c, 2, false).unwrap_err();
        assert!(
            e.message.contains("'b' must have at least 6 elements"),
            "{}",
            e.message
        );
        let e = gemm_nn(2, 2, 3, &a, 2, &a, 2, &mut c, 2, false).unwrap_err();
        assert!(
            e.message.contains("leading dimension 2 is smaller"),
            "{}",
            e.message
        );
    }

    #[test]
    fn gemm_any_covers_the_four_layouts() {
        let mut rng = Xoshiro256::new(3);
        let (m, n, k) = (5, 7, 6);
        let a = rand(&mut rng, m * k);
        let b = rand(&mut rng, k * n);
        let mut at = vec![0f32; m * k];
        transpose(&a, m, k, &mut at).unwrap();
        let mut bt = vec![0f32; k * n];
        transpose(&b, k, n, &mut bt).unwrap();
        let mut want = vec![0f32; m * n];
        gemm_nn(m, n, k, &a, k, &b, n, &mut want, n, false).unwrap();
        for &(ta, tb) in &[(false, false), (true, false), (false, true), (true, true)] {
            let mut c = vec![0f32; m * n];
            let aa = if ta { &at } else { &a };
            let bb = if tb { &bt } else { &b };
            gemm_any(ta, tb, m, n, k, aa, bb, &mut c).unwrap();
            for i in 0..m * n {
                assert!((c[i] - want[i]).abs() < 1e-5, "{} {}", ta, tb);
            }
        }
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
