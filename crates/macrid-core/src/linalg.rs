//! Dense symmetric positive-definite (SPD) inverse by a blocked Cholesky factorization, the solve at
//! the heart of EASE (Steck 2019, `P = (XᵀX + λI)⁻¹`).
//!
//! All matrices are `m × m` row-major. With `G = L·Lᵀ` (Cholesky, `L` lower triangular):
//!
//! 1. **Cholesky**, left-looking by block rows: for block row `I` and block column `J ≤ I`,
//!    `L_IJ = (G_IJ − L_I,<J · L_J,<Jᵀ) · L_JJ⁻ᵀ`, the diagonal block factored unblocked;
//! 2. **`V = L⁻ᵀ`** (upper triangular) by solving `V · Lᵀ = I` block row by block row — the same
//!    row-oriented forward substitution as the Cholesky's panel;
//! 3. **`P = V · Vᵀ`**, since `G⁻¹ = L⁻ᵀ·L⁻¹ = V·Vᵀ`; only the lower triangle is computed, then mirrored.
//!
//! Every heavy step is the one product `C −= A·Bᵀ` of row-major panels (dot products along contiguous
//! rows), computed by [`Real::tile`] on 4 × 2 tiles: explicit `f64x2` / `f32x4` SIMD on wasm32 with
//! `simd128`, a lane-for-lane scalar loop elsewhere (same summation order, so native tests check the
//! same arithmetic). The three steps cost `m³/3` multiply-adds in all (numpy's `inv`, by LU, `m³`).
//!
//! Precision: generic over `f32`/`f64` ([`Real`]). The input is the Gram matrix as `f32` (counts are
//! exact integers up to 2²⁴) and `λ` is added in the working precision. EASE in macridvae uses `f64`:
//! see `README.md` ("EASE: f32 or f64") for the measured error of the `f32` path against `f64`.
//!
//! Memory: two `m × m` work matrices of the working precision ([`spd_inverse_bytes`]); allocation
//! uses `try_reserve`, so a request the allocator cannot meet is an error, never an abort.

use crate::error::{Error, Result};

/// Block size of the factorization (rows of a block row, columns of a block column).
const NB: usize = 64;
/// Columns of the reduction dimension per pass of a block product (keeps the panels in cache).
const KC: usize = 256;

/// A floating-point type the solve can run in.
pub trait Real: Copy + PartialOrd + std::fmt::Debug + 'static {
    const ZERO: Self;
    const ONE: Self;
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    fn sqrt(self) -> Self;
    /// The eight dot products `a[r][..n] · b[s][..n]` (r < 4, s < 2) of a 4 × 2 tile.
    fn tile(a: [&[Self]; 4], b: [&[Self]; 2], n: usize) -> [[Self; 2]; 4];
    /// One dot product `a[..n] · b[..n]`.
    fn dot(a: &[Self], b: &[Self], n: usize) -> Self;
}

macro_rules! scalar_ops {
    ($t:ty) => {
        const ZERO: $t = 0.0;
        const ONE: $t = 1.0;
        #[inline]
        fn from_f64(x: f64) -> $t {
            x as $t
        }
        #[inline]
        fn to_f64(self) -> f64 {
            self as f64
        }
        #[inline]
        fn add(self, o: $t) -> $t {
            self + o
        }
        #[inline]
        fn sub(self, o: $t) -> $t {
            self - o
        }
        #[inline]
        fn mul(self, o: $t) -> $t {
            self * o
        }
        #[inline]
        fn div(self, o: $t) -> $t {
            self / o
        }
        #[inline]
        fn sqrt(self) -> $t {
            <$t>::sqrt(self)
        }
    };
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
/// Scalar tile with `L` lanes per accumulator (the SIMD width), combined lane 0 + lane 1 (+ …) in order.
macro_rules! scalar_tile {
    ($t:ty, $lanes:expr) => {
        #[inline]
        fn tile(a: [&[$t]; 4], b: [&[$t]; 2], n: usize) -> [[$t; 2]; 4] {
            let mut acc = [[[0.0 as $t; $lanes]; 2]; 4];
            let chunks = n / $lanes;
            for c in 0..chunks {
                for r in 0..4 {
                    for s in 0..2 {
                        for l in 0..$lanes {
                            let i = c * $lanes + l;
                            acc[r][s][l] += a[r][i] * b[s][i];
                        }
                    }
                }
            }
            let mut out = [[0.0 as $t; 2]; 4];
            for r in 0..4 {
                for s in 0..2 {
                    let mut v = acc[r][s][0];
                    for l in 1..$lanes {
                        v += acc[r][s][l];
                    }
                    for i in chunks * $lanes..n {
                        v += a[r][i] * b[s][i];
                    }
                    out[r][s] = v;
                }
            }
            out
        }
        #[inline]
        fn dot(a: &[$t], b: &[$t], n: usize) -> $t {
            let mut s = 0.0 as $t;
            for i in 0..n {
                s += a[i] * b[i];
            }
            s
        }
    };
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
impl Real for f64 {
    scalar_ops!(f64);
    scalar_tile!(f64, 2);
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
impl Real for f32 {
    scalar_ops!(f32);
    scalar_tile!(f32, 4);
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm_simd {
    use super::Real;
    use std::arch::wasm32::*;

    impl Real for f64 {
        scalar_ops!(f64);
        #[inline]
        fn tile(a: [&[f64]; 4], b: [&[f64]; 2], n: usize) -> [[f64; 2]; 4] {
            let chunks = n / 2;
            let z = f64x2_splat(0.0);
            let mut acc = [[z; 2]; 4];
            let (a0, a1, a2, a3) = (a[0].as_ptr(), a[1].as_ptr(), a[2].as_ptr(), a[3].as_ptr());
            let (b0, b1) = (b[0].as_ptr(), b[1].as_ptr());
            assert!(a.iter().all(|r| r.len() >= n) && b.iter().all(|r| r.len() >= n));
            for c in 0..chunks {
                // SAFETY: 2c + 1 < n <= every row's length (asserted above); unaligned loads are fine.
                unsafe {
                    let o = c * 2;
                    let vb0 = v128_load(b0.add(o) as *const v128);
                    let vb1 = v128_load(b1.add(o) as *const v128);
                    let va = v128_load(a0.add(o) as *const v128);
                    acc[0][0] = f64x2_add(acc[0][0], f64x2_mul(va, vb0));
                    acc[0][1] = f64x2_add(acc[0][1], f64x2_mul(va, vb1));
                    let va = v128_load(a1.add(o) as *const v128);
                    acc[1][0] = f64x2_add(acc[1][0], f64x2_mul(va, vb0));
                    acc[1][1] = f64x2_add(acc[1][1], f64x2_mul(va, vb1));
                    let va = v128_load(a2.add(o) as *const v128);
                    acc[2][0] = f64x2_add(acc[2][0], f64x2_mul(va, vb0));
                    acc[2][1] = f64x2_add(acc[2][1], f64x2_mul(va, vb1));
                    let va = v128_load(a3.add(o) as *const v128);
                    acc[3][0] = f64x2_add(acc[3][0], f64x2_mul(va, vb0));
                    acc[3][1] = f64x2_add(acc[3][1], f64x2_mul(va, vb1));
                }
            }
            let mut out = [[0.0; 2]; 4];
            for r in 0..4 {
                for s in 0..2 {
                    let mut v =
                        f64x2_extract_lane::<0>(acc[r][s]) + f64x2_extract_lane::<1>(acc[r][s]);
                    for i in chunks * 2..n {
                        v += a[r][i] * b[s][i];
                    }
                    out[r][s] = v;
                }
            }
            out
        }
        #[inline]
        fn dot(a: &[f64], b: &[f64], n: usize) -> f64 {
            let mut s = 0.0;
            for i in 0..n {
                s += a[i] * b[i];
            }
            s
        }
    }

    impl Real for f32 {
        scalar_ops!(f32);
        #[inline]
        fn tile(a: [&[f32]; 4], b: [&[f32]; 2], n: usize) -> [[f32; 2]; 4] {
            let chunks = n / 4;
            let z = f32x4_splat(0.0);
            let mut acc = [[z; 2]; 4];
            assert!(a.iter().all(|r| r.len() >= n) && b.iter().all(|r| r.len() >= n));
            let (b0, b1) = (b[0].as_ptr(), b[1].as_ptr());
            for c in 0..chunks {
                // SAFETY: 4c + 3 < n <= every row's length (asserted above).
                unsafe {
                    let o = c * 4;
                    let vb0 = v128_load(b0.add(o) as *const v128);
                    let vb1 = v128_load(b1.add(o) as *const v128);
                    for r in 0..4 {
                        let va = v128_load(a[r].as_ptr().add(o) as *const v128);
                        acc[r][0] = f32x4_add(acc[r][0], f32x4_mul(va, vb0));
                        acc[r][1] = f32x4_add(acc[r][1], f32x4_mul(va, vb1));
                    }
                }
            }
            let mut out = [[0.0; 2]; 4];
            for r in 0..4 {
                for s in 0..2 {
                    let x = acc[r][s];
                    let mut v = f32x4_extract_lane::<0>(x)
                        + f32x4_extract_lane::<1>(x)
                        + f32x4_extract_lane::<2>(x)
                        + f32x4_extract_lane::<3>(x);
                    for i in chunks * 4..n {
                        v += a[r][i] * b[s][i];
                    }
                    out[r][s] = v;
                }
            }
            out
        }
        #[inline]
        fn dot(a: &[f32], b: &[f32], n: usize) -> f32 {
            let mut s = 0.0;
            for i in 0..n {
                s += a[i] * b[i];
            }
            s
        }
    }
}

/// Bytes of working memory [`spd_inverse`] allocates for an `m × m` matrix in `T` (two `m × m`
/// matrices); `None` when the figure overflows `usize`.
pub fn spd_inverse_bytes<T: Real>(m: usize) -> Option<usize> {
    m.checked_mul(m)?
        .checked_mul(2)?
        .checked_mul(std::mem::size_of::<T>())
}

/// A zeroed vector of `n` elements, or an error naming `what` when the allocator cannot provide it.
pub fn try_zeroed<T: Real>(n: usize, what: &str) -> Result<Vec<T>> {
    let mut v: Vec<T> = Vec::new();
    v.try_reserve_exact(n).map_err(|_| {
        Error::out_of_range(format!(
            "cannot allocate {} bytes for {}",
            n.saturating_mul(std::mem::size_of::<T>()),
            what
        ))
    })?;
    v.resize(n, T::ZERO);
    Ok(v)
}

/// `c[i][j] −= Σ_{k∈[k0,k1)} a[i][k]·b[j][k]` for the rows `i ∈ rows` of `a` and `j ∈ cols` of `b`
/// (both row-major with `m` columns), written through `put(i, j, value)` where value is the sum.
/// `lower_only` skips pairs with `j > i`.
#[inline]
fn block_products<T: Real>(
    a: &[T],
    b: &[T],
    m: usize,
    rows: (usize, usize),
    cols: (usize, usize),
    ks: (usize, usize),
    lower_only: bool,
    mut put: impl FnMut(usize, usize, T),
) {
    let (i0, i1) = rows;
    let (j0, j1) = cols;
    let (k0, k1) = ks;
    let n = k1 - k0;
    let row = |r: usize| -> usize { r * m + k0 };
    let mut i = i0;
    while i < i1 {
        let ri = (i1 - i).min(4);
        let ai: [usize; 4] = [i, i + 1.min(ri - 1), i + 2.min(ri - 1), i + 3.min(ri - 1)];
        let mut j = j0;
        while j < j1 {
            if lower_only && j > i + ri - 1 {
                break;
            }
            let rj = (j1 - j).min(2);
            let bj: [usize; 2] = [j, j + 1.min(rj - 1)];
            let t = T::tile(
                [
                    &a[row(ai[0])..row(ai[0]) + n],
                    &a[row(ai[1])..row(ai[1]) + n],
                    &a[row(ai[2])..row(ai[2]) + n],
                    &a[row(ai[3])..row(ai[3]) + n],
                ],
                [
                    &b[row(bj[0])..row(bj[0]) + n],
                    &b[row(bj[1])..row(bj[1]) + n],
                ],
                n,
            );
            for r in 0..ri {
                for s in 0..rj {
                    if !lower_only || j + s <= i + r {
                        put(i + r, j + s, t[r][s]);
                    }
                }
            }
            j += 2;
        }
        i += 4;
    }
}

/// `c[i][col0 + j] −= Σ_{k∈ks} c[i][k]·b[j][k]`: [`block_products`] with `a = c`, and `b = c` when
/// `b` is `None`. Every product is computed before any is subtracted, so `c` may overlap the inputs.
#[allow(clippy::too_many_arguments)]
fn subtract_block_products<T: Real>(
    c: &mut [T],
    b: Option<&[T]>,
    m: usize,
    rows: (usize, usize),
    cols: (usize, usize),
    ks: (usize, usize),
    lower_only: bool,
    col0: usize,
) {
    let mut upd: Vec<(usize, usize, T)> = Vec::with_capacity((rows.1 - rows.0) * (cols.1 - cols.0));
    block_products(
        c,
        b.unwrap_or(c),
        m,
        rows,
        cols,
        ks,
        lower_only,
        |i, j, v| upd.push((i, j, v)),
    );
    for (i, j, v) in upd {
        c[i * m + col0 + j] = c[i * m + col0 + j].sub(v);
    }
}

/// Cholesky factor of the SPD matrix in `a` (`m × m`, row-major), in place: on return the lower
/// triangle (diagonal included) holds `L` with `L·Lᵀ = a`; the strict upper triangle is zeroed.
/// Fails (naming the row) when the matrix is not numerically positive definite.
pub fn cholesky<T: Real>(a: &mut [T], m: usize) -> Result<()> {
    if a.len() != m * m {
        return Err(Error::invalid(format!(
            "cholesky(): the matrix must have m·m = {} entries but has {}",
            m * m,
            a.len()
        )));
    }
    for i0 in (0..m).step_by(NB) {
        let i1 = (i0 + NB).min(m);
        let (top, bottom) = a.split_at_mut(i0 * m);
        // Off-diagonal blocks L_IJ, J < I.
        for j0 in (0..i0).step_by(NB) {
            let j1 = j0 + NB;
            for k0 in (0..j0).step_by(KC) {
                let k1 = (k0 + KC).min(j0);
                subtract_block_products(
                    bottom,
                    Some(top),
                    m,
                    (0, i1 - i0),
                    (j0, j1),
                    (k0, k1),
                    false,
                    0,
                );
            }
            // Forward substitution with L_JJ: x · L_JJᵀ = rhs, row by row.
            for i in 0..i1 - i0 {
                for j in j0..j1 {
                    let s = T::dot(&bottom[i * m + j0..], &top[j * m + j0..], j - j0);
                    bottom[i * m + j] = bottom[i * m + j].sub(s).div(top[j * m + j]);
                }
            }
        }
        // Diagonal block: update with the block row's own finished columns, then factor it.
        for k0 in (0..i0).step_by(KC) {
            let k1 = (k0 + KC).min(i0);
            subtract_block_products(
                bottom,
                None,
                m,
                (0, i1 - i0),
                (0, i1 - i0),
                (k0, k1),
                true,
                i0,
            );
        }
        for j in 0..i1 - i0 {
            let gj = i0 + j;
            let s = T::dot(&bottom[j * m + i0..], &bottom[j * m + i0..], j);
            let d = bottom[j * m + gj].sub(s);
            if d.to_f64() <= 0.0 || !d.to_f64().is_finite() {
                return Err(Error::invalid(format!(
                    "cholesky(): the matrix is not positive definite (pivot {} is {:e})",
                    gj,
                    d.to_f64()
                )));
            }
            let l = d.sqrt();
            bottom[j * m + gj] = l;
            for i in j + 1..i1 - i0 {
                let s = T::dot(&bottom[i * m + i0..], &bottom[j * m + i0..], j);
                bottom[i * m + gj] = bottom[i * m + gj].sub(s).div(l);
            }
        }
        for i in 0..i1 - i0 {
            for j in i0 + i + 1..m {
                bottom[i * m + j] = T::ZERO;
            }
        }
    }
    Ok(())
}

/// `V = L⁻ᵀ` (upper triangular, into `v`, `m × m`, zeroed below the diagonal) from the Cholesky
/// factor `l`: solves `V · Lᵀ = I` block row by block row.
pub fn inverse_transpose_lower<T: Real>(l: &[T], m: usize, v: &mut [T]) -> Result<()> {
    if l.len() != m * m || v.len() != m * m {
        return Err(Error::invalid(format!(
            "inverse_transpose_lower(): both matrices must have m·m = {} entries",
            m * m
        )));
    }
    for x in v.iter_mut() {
        *x = T::ZERO;
    }
    for j0 in (0..m).step_by(NB) {
        let j1 = (j0 + NB).min(m);
        let vb = &mut v[j0 * m..j1 * m];
        for r in 0..j1 - j0 {
            vb[r * m + j0 + r] = T::ONE;
        }
        for i0 in (j0..m).step_by(NB) {
            let i1 = (i0 + NB).min(m);
            // rhs −= V_J,[j0,i0) · L_I,[j0,i0)ᵀ
            for k0 in (j0..i0).step_by(KC) {
                let k1 = (k0 + KC).min(i0);
                subtract_block_products(vb, Some(l), m, (0, j1 - j0), (i0, i1), (k0, k1), false, 0);
            }
            // Forward substitution with L_II.
            for r in 0..j1 - j0 {
                for i in i0..i1 {
                    let s = T::dot(&vb[r * m + i0..], &l[i * m + i0..], i - i0);
                    vb[r * m + i] = vb[r * m + i].sub(s).div(l[i * m + i]);
                }
            }
        }
    }
    Ok(())
}

/// `P = V·Vᵀ` for an upper-triangular `v` (zero below the diagonal) into `p` (full, symmetric).
pub fn upper_gram<T: Real>(v: &[T], m: usize, p: &mut [T]) -> Result<()> {
    if v.len() != m * m || p.len() != m * m {
        return Err(Error::invalid(format!(
            "upper_gram(): both matrices must have m·m = {} entries",
            m * m
        )));
    }
    for i0 in (0..m).step_by(NB) {
        let i1 = (i0 + NB).min(m);
        for j0 in (0..=i0).step_by(NB) {
            let j1 = (j0 + NB).min(m);
            let lower = i0 == j0;
            for x in 0..i1 - i0 {
                for y in j0..j1 {
                    p[(i0 + x) * m + y] = T::ZERO;
                }
            }
            // Row i of V is zero before column i, so the sum starts at i0.
            for k0 in (i0..m).step_by(KC) {
                let k1 = (k0 + KC).min(m);
                block_products(v, v, m, (i0, i1), (j0, j1), (k0, k1), lower, |i, j, s| {
                    p[i * m + j] = p[i * m + j].add(s)
                });
            }
        }
    }
    for i in 0..m {
        for j in i + 1..m {
            p[i * m + j] = p[j * m + i];
        }
    }
    Ok(())
}

/// The inverse of the SPD matrix `g + λI` (`g`: `m × m` row-major `f32`, symmetric), in precision
/// `T`. Returns the full `m × m` inverse.
pub fn spd_inverse<T: Real>(g: &[f32], m: usize, lambda: f64) -> Result<Vec<T>> {
    if g.len() != m * m {
        return Err(Error::invalid(format!(
            "'gram' must have items² = {} entries but has {}",
            m * m,
            g.len()
        )));
    }
    let mut a: Vec<T> = try_zeroed(m * m, "the Cholesky factor")?;
    for i in 0..m {
        for j in 0..=i {
            a[i * m + j] = T::from_f64(g[i * m + j] as f64);
        }
        a[i * m + i] = T::from_f64(g[i * m + i] as f64 + lambda);
    }
    cholesky(&mut a, m)?;
    let mut v: Vec<T> = try_zeroed(m * m, "the inverse factor")?;
    inverse_transpose_lower(&a, m, &mut v)?;
    upper_gram(&v, m, &mut a)?;
    Ok(a)
}

/// Block size of the `f32` path (the GEMM's depth block).
const NB32: usize = 128;

/// Unblocked Cholesky of the diagonal block `[k0, k1)` of `a` (`m` columns), in place (lower).
fn chol_diag_f32(a: &mut [f32], m: usize, k0: usize, k1: usize) -> Result<()> {
    for j in k0..k1 {
        let (top, rest) = a.split_at_mut(j * m);
        let rowj = &mut rest[..m];
        let d = rowj[j] as f64 - crate::simd::dot_f64(&rowj[k0..j], &rowj[k0..j]);
        if d <= 0.0 || !d.is_finite() {
            return Err(Error::invalid(format!(
                "cholesky(): the matrix is not positive definite (pivot {} is {:e})",
                j, d
            )));
        }
        rowj[j] = d.sqrt() as f32;
        let _ = top;
        for i in j + 1..k1 {
            let (upper, lower) = a.split_at_mut(i * m);
            let lj = &upper[j * m..j * m + m];
            let li = &mut lower[..m];
            let s = crate::simd::dot(&li[k0..j], &lj[k0..j]);
            li[j] = (li[j] - s) / lj[j];
        }
    }
    Ok(())
}

/// `C (m×n) (+)= op(A)·B` for row-major operands with leading dimensions (through
/// [`crate::gemm::sgemm`]); `op(A) = Aᵀ` with `A` stored `k×m` when `trans_a`.
#[allow(clippy::too_many_arguments)]
fn gemm_ld(
    trans_a: bool,
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
    use crate::gemm::{sgemm, Gemm, Strided, StridedMut};
    sgemm(Gemm {
        m,
        k,
        n,
        a: if trans_a {
            Strided::t(a, lda)
        } else {
            Strided::ld(a, lda)
        },
        b: Strided::ld(b, ldb),
        c: StridedMut::ld(c, ldc),
        accumulate,
    })
}

/// The `f32` path of [`spd_inverse`], through the register-blocked SIMD GEMM of [`crate::gemm`]:
/// a right-looking blocked Cholesky (trailing updates `A₂₂ −= L₂₁·L₂₁ᵀ`), the in-place blocked
/// inverse `W = L⁻¹` (LAPACK `trtri`'s order: last block first, `W₂₁ = −W₂₂·L₂₁·W₁₁`) and
/// `P = WᵀW` (lower block rows, the sum starting at the block row since `W` is lower triangular),
/// written into `p` (`m × m`, full). Working memory: one `m × m` `f32` matrix plus panels.
pub fn spd_inverse_f32(g: &[f32], m: usize, lambda: f64, p: &mut [f32]) -> Result<()> {
    if g.len() != m * m || p.len() != m * m {
        return Err(Error::invalid(format!(
            "'gram' and 'out' must have items² = {} entries but have {} and {}",
            m * m,
            g.len(),
            p.len()
        )));
    }
    let mut a: Vec<f32> = try_zeroed(m * m, "the Cholesky factor")?;
    for i in 0..m {
        a[i * m..i * m + i + 1].copy_from_slice(&g[i * m..i * m + i + 1]);
        a[i * m + i] = (g[i * m + i] as f64 + lambda) as f32;
    }
    // 1. Cholesky, right-looking.
    let mut lp: Vec<f32> = Vec::new();
    let mut wt: Vec<f32> = Vec::new();
    for k0 in (0..m).step_by(NB32) {
        let k1 = (k0 + NB32).min(m);
        let kb = k1 - k0;
        chol_diag_f32(&mut a, m, k0, k1)?;
        let r = m - k1;
        if r == 0 {
            continue;
        }
        {
            let (top, rest) = a.split_at_mut(k1 * m);
            for i in 0..r {
                let row = &mut rest[i * m..i * m + m];
                for j in k0..k1 {
                    let lj = &top[j * m..j * m + m];
                    let s = crate::simd::dot(&row[k0..j], &lj[k0..j]);
                    row[j] = (row[j] - s) / lj[j];
                }
            }
        }
        lp.clear();
        lp.resize(r * kb, 0.0);
        wt.clear();
        wt.resize(kb * r, 0.0);
        for i in 0..r {
            for t in 0..kb {
                let v = a[(k1 + i) * m + k0 + t];
                lp[i * kb + t] = v;
                wt[t * r + i] = -v;
            }
        }
        for j0 in (k1..m).step_by(NB32 * 2) {
            let j1 = (j0 + NB32 * 2).min(m);
            gemm_ld(
                false,
                m - j0,
                j1 - j0,
                kb,
                &lp[(j0 - k1) * kb..],
                kb,
                &wt[j0 - k1..],
                r,
                &mut a[j0 * m + j0..],
                m,
                true,
            )?;
        }
    }
    for i in 0..m {
        for v in a[i * m + i + 1..(i + 1) * m].iter_mut() {
            *v = 0.0;
        }
    }
    // 2. W = L⁻¹ in place, last block first.
    let mut tmp: Vec<f32> = Vec::new();
    let mut neg: Vec<f32> = Vec::new();
    let mut col: Vec<f32> = Vec::new();
    let starts: Vec<usize> = (0..m).step_by(NB32).collect();
    for &j0 in starts.iter().rev() {
        let j1 = (j0 + NB32).min(m);
        let jb = j1 - j0;
        // The diagonal block, column by column from the right: W_jj = 1/L_jj,
        // W_ij = −W_jj · Σ_{k=j+1..i} W_ik·L_kj.
        for j in (j0..j1).rev() {
            let wjj = 1.0 / a[j * m + j];
            col.clear();
            for i in j + 1..j1 {
                let mut s = 0f64;
                for k in j + 1..=i {
                    s += a[i * m + k] as f64 * a[k * m + j] as f64;
                }
                col.push((-s * wjj as f64) as f32);
            }
            a[j * m + j] = wjj;
            for (t, i) in (j + 1..j1).enumerate() {
                a[i * m + j] = col[t];
            }
        }
        if j1 == m {
            continue;
        }
        let r = m - j1;
        lp.clear();
        lp.resize(r * jb, 0.0);
        for i in 0..r {
            lp[i * jb..(i + 1) * jb].copy_from_slice(&a[(j1 + i) * m + j0..(j1 + i) * m + j1]);
        }
        tmp.clear();
        tmp.resize(r * jb, 0.0);
        for i0 in (j1..m).step_by(NB32) {
            let i1 = (i0 + NB32).min(m);
            // tmp_I = W[I][j1..i1] · L[j1..i1][J] (W lower: columns past i1 are zero).
            gemm_ld(
                false,
                i1 - i0,
                jb,
                i1 - j1,
                &a[i0 * m + j1..],
                m,
                &lp,
                jb,
                &mut tmp[(i0 - j1) * jb..],
                jb,
                false,
            )?;
        }
        neg.clear();
        neg.resize(jb * jb, 0.0);
        for i in 0..jb {
            for j in 0..jb {
                neg[i * jb + j] = -a[(j0 + i) * m + j0 + j];
            }
        }
        gemm_ld(
            false,
            r,
            jb,
            jb,
            &tmp,
            jb,
            &neg,
            jb,
            &mut a[j1 * m + j0..],
            m,
            false,
        )?;
    }
    // 3. P = WᵀW.
    for i0 in (0..m).step_by(NB32) {
        let i1 = (i0 + NB32).min(m);
        gemm_ld(
            true,
            i1 - i0,
            i1,
            m - i0,
            &a[i0 * m + i0..],
            m,
            &a[i0 * m..],
            m,
            &mut p[i0 * m..],
            m,
            false,
        )?;
    }
    for i in 0..m {
        for j in i + 1..m {
            p[i * m + j] = p[j * m + i];
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Xoshiro256;

    fn random_spd(m: usize, seed: u64) -> Vec<f32> {
        // Gram of a random 0/1 matrix plus the identity: the shape of EASE's input.
        let mut r = Xoshiro256::new(seed);
        let n = m + 7;
        let x: Vec<f32> = (0..n * m)
            .map(|_| if r.next_f64() < 0.3 { 1.0 } else { 0.0 })
            .collect();
        let mut g = vec![0f32; m * m];
        for i in 0..m {
            for j in 0..m {
                let mut s = 0.0;
                for u in 0..n {
                    s += x[u * m + i] * x[u * m + j];
                }
                g[i * m + j] = s;
            }
        }
        g
    }

    fn check_inverse(m: usize, lambda: f64) {
        let g = random_spd(m, 7 + m as u64);
        let p: Vec<f64> = spd_inverse(&g, m, lambda).unwrap();
        // (G + λI)·P = I
        let mut worst: f64 = 0.0;
        for i in 0..m {
            for j in 0..m {
                let mut s = 0.0;
                for k in 0..m {
                    let gik = g[i * m + k] as f64 + if i == k { lambda } else { 0.0 };
                    s += gik * p[k * m + j];
                }
                let want = if i == j { 1.0 } else { 0.0 };
                worst = worst.max((s - want).abs());
            }
        }
        assert!(worst < 1e-9, "m = {}: max |(G+λI)P − I| = {:e}", m, worst);
        for i in 0..m {
            for j in 0..m {
                assert_eq!(p[i * m + j], p[j * m + i]);
            }
        }
    }

    #[test]
    fn inverse_matches_identity_across_block_edges() {
        for &m in &[1, 2, 3, 5, 63, 64, 65, 130, 300] {
            check_inverse(m, 1.5);
        }
    }

    #[test]
    fn closed_form_two_by_two() {
        // [[2,1],[1,2]]⁻¹ = [[2,−1],[−1,2]]/3
        let g = [2f32, 1.0, 1.0, 2.0];
        let p: Vec<f64> = spd_inverse(&g, 2, 0.0).unwrap();
        let want = [2.0 / 3.0, -1.0 / 3.0, -1.0 / 3.0, 2.0 / 3.0];
        for k in 0..4 {
            assert!((p[k] - want[k]).abs() < 1e-15, "{:?}", p);
        }
    }

    #[test]
    fn f32_path_is_close_to_f64() {
        let m = 150;
        let g = random_spd(m, 3);
        let p64: Vec<f64> = spd_inverse(&g, m, 10.0).unwrap();
        let p32: Vec<f32> = spd_inverse(&g, m, 10.0).unwrap();
        let scale = p64.iter().fold(0f64, |a, &x| a.max(x.abs()));
        let err = p64
            .iter()
            .zip(&p32)
            .fold(0f64, |a, (&x, &y)| a.max((x - y as f64).abs()));
        assert!(err / scale < 1e-4, "relative error {:e}", err / scale);
    }

    #[test]
    fn not_positive_definite_is_an_error() {
        let g = [1f32, 2.0, 2.0, 1.0];
        let e = spd_inverse::<f64>(&g, 2, 0.0).unwrap_err();
        assert!(e.message.contains("not positive definite"), "{}", e.message);
        assert!(spd_inverse::<f64>(&g, 3, 0.0).is_err());
    }

    #[test]
    fn gemm_f32_path_matches_f64() {
        for &m in &[1usize, 2, 5, 127, 128, 129, 300] {
            let g = random_spd(m, 11 + m as u64);
            let p64: Vec<f64> = spd_inverse(&g, m, 3.0).unwrap();
            let mut p32 = vec![0f32; m * m];
            spd_inverse_f32(&g, m, 3.0, &mut p32).unwrap();
            let scale = p64.iter().fold(0f64, |a, &x| a.max(x.abs()));
            let err = p64
                .iter()
                .zip(&p32)
                .fold(0f64, |a, (&x, &y)| a.max((x - y as f64).abs()));
            assert!(
                err / scale < 1e-4,
                "m = {}: relative error {:e}",
                m,
                err / scale
            );
        }
        let mut p = vec![0f32; 4];
        assert!(spd_inverse_f32(&[1.0, 2.0, 2.0, 1.0], 2, 0.0, &mut p).is_err());
    }

    #[test]
    fn memory_figure() {
        assert_eq!(spd_inverse_bytes::<f64>(1000), Some(16_000_000));
        assert_eq!(spd_inverse_bytes::<f32>(1000), Some(8_000_000));
        assert_eq!(spd_inverse_bytes::<f64>(usize::MAX / 2), None);
    }
}
