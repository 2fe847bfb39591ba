//! Explicit SIMD for hot f32 loops. On `wasm32` with `simd128` enabled these use `f32x4`
//! intrinsics (plain loops barely auto-vectorize f32 reductions there); elsewhere a 4-lane scalar
//! loop with the same summation order, so native tests check the same arithmetic.

/// Dot product of two equal-length slices (the shorter length is used).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    imp::dot(a, b)
}

/// Sum of squares.
#[inline]
pub fn sum_sq(a: &[f32]) -> f32 {
    imp::dot(a, a)
}

/// `y += alpha * x` over the common length.
#[inline]
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    let n = x.len().min(y.len());
    imp::axpy(alpha, &x[..n], &mut y[..n]);
}

/// Dot product accumulated in `f64` (each product formed exactly in `f64`): for long reductions
/// (correlations over many vectors) where an `f32` accumulator would lose digits. Lane `l` of the
/// accumulator sums elements `i ≡ l (mod 4)`; lanes are combined as `(l0 + l1) + (l2 + l3)`.
#[inline]
pub fn dot_f64(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    imp::dot_f64(&a[..n], &b[..n])
}

/// The first index `i >= start` with `!(a[i] < threshold)` — a score that could enter a top-k
/// whose current worst is `threshold`, or a NaN — or `a.len()` when there is none. This is the
/// pre-filter of the top-k scans: most scores of a long row fail it, 16 at a time.
#[inline]
pub fn first_not_below(a: &[f32], start: usize, threshold: f32) -> usize {
    if start >= a.len() {
        return a.len();
    }
    start + imp::first_not_below(&a[start..], threshold)
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use std::arch::wasm32::*;

    #[inline]
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len();
        let chunks = n / 4;
        let mut acc = f32x4_splat(0.0);
        let pa = a.as_ptr();
        let pb = b.as_ptr();
        for c in 0..chunks {
            // SAFETY: c*4+3 < n for every chunk; v128_load tolerates unaligned addresses.
            unsafe {
                let va = v128_load(pa.add(c * 4) as *const v128);
                let vb = v128_load(pb.add(c * 4) as *const v128);
                acc = f32x4_add(acc, f32x4_mul(va, vb));
            }
        }
        let mut s = (f32x4_extract_lane::<0>(acc) + f32x4_extract_lane::<1>(acc))
            + (f32x4_extract_lane::<2>(acc) + f32x4_extract_lane::<3>(acc));
        for i in chunks * 4..n {
            s += a[i] * b[i];
        }
        s
    }

    #[inline]
    pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
        let n = x.len();
        let chunks = n / 4;
        let va = f32x4_splat(alpha);
        let px = x.as_ptr();
        let py = y.as_mut_ptr();
        for c in 0..chunks {
            // SAFETY: as in `dot`; x and y do not alias (one is & and one is &mut).
            unsafe {
                let vx = v128_load(px.add(c * 4) as *const v128);
                let vy = v128_load(py.add(c * 4) as *const v128);
                v128_store(py.add(c * 4) as *mut v128, f32x4_add(vy, f32x4_mul(va, vx)));
            }
        }
        for i in chunks * 4..n {
            y[i] += alpha * x[i];
        }
    }

    #[inline]
    pub fn dot_f64(a: &[f32], b: &[f32]) -> f64 {
        let n = a.len();
        let chunks = n / 4;
        // lanes 0,1 in `lo`, lanes 2,3 in `hi`
        let mut lo = f64x2_splat(0.0);
        let mut hi = f64x2_splat(0.0);
        let pa = a.as_ptr();
        let pb = b.as_ptr();
        for c in 0..chunks {
            // SAFETY: as in `dot`.
            unsafe {
                let va = v128_load(pa.add(c * 4) as *const v128);
                let vb = v128_load(pb.add(c * 4) as *const v128);
                let va_hi = i32x4_shuffle::<2, 3, 0, 1>(va, va);
                let vb_hi = i32x4_shuffle::<2, 3, 0, 1>(vb, vb);
                lo = f64x2_add(
                    lo,
                    f64x2_mul(f64x2_promote_low_f32x4(va), f64x2_promote_low_f32x4(vb)),
                );
                hi = f64x2_add(
                    hi,
                    f64x2_mul(
                        f64x2_promote_low_f32x4(va_hi),
                        f64x2_promote_low_f32x4(vb_hi),
                    ),
                );
            }
        }
        let mut s = (f64x2_extract_lane::<0>(lo) + f64x2_extract_lane::<1>(lo))
            + (f64x2_extract_lane::<0>(hi) + f64x2_extract_lane::<1>(hi));
        for i in chunks * 4..n {
            s += a[i] as f64 * b[i] as f64;
        }
        s
    }

    #[inline]
    pub fn first_not_below(a: &[f32], threshold: f32) -> usize {
        let n = a.len();
        let blocks = n / 16;
        let t = f32x4_splat(threshold);
        let p = a.as_ptr();
        let mut b = 0;
        while b < blocks {
            // SAFETY: b*16+15 < n; unaligned loads are allowed.
            let hit = unsafe {
                let q = p.add(b * 16);
                let m0 = f32x4_lt(v128_load(q as *const v128), t);
                let m1 = f32x4_lt(v128_load(q.add(4) as *const v128), t);
                let m2 = f32x4_lt(v128_load(q.add(8) as *const v128), t);
                let m3 = f32x4_lt(v128_load(q.add(12) as *const v128), t);
                // all lanes "below" <=> the AND of the masks is all ones
                !i32x4_all_true(v128_and(v128_and(m0, m1), v128_and(m2, m3)))
            };
            if hit {
                break;
            }
            b += 1;
        }
        for i in b * 16..n {
            if !(a[i] < threshold) {
                return i;
            }
        }
        n
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    #[inline]
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len();
        let chunks = n / 4;
        let mut acc = [0f32; 4];
        for c in 0..chunks {
            for l in 0..4 {
                acc[l] += a[c * 4 + l] * b[c * 4 + l];
            }
        }
        let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for i in chunks * 4..n {
            s += a[i] * b[i];
        }
        s
    }

    #[inline]
    pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
        for (yi, xi) in y.iter_mut().zip(x.iter()) {
            *yi += alpha * xi;
        }
    }

    #[inline]
    pub fn dot_f64(a: &[f32], b: &[f32]) -> f64 {
        let n = a.len();
        let chunks = n / 4;
        let mut acc = [0f64; 4];
        for c in 0..chunks {
            for l in 0..4 {
                acc[l] += a[c * 4 + l] as f64 * b[c * 4 + l] as f64;
            }
        }
        let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for i in chunks * 4..n {
            s += a[i] as f64 * b[i] as f64;
        }
        s
    }

    #[inline]
    pub fn first_not_below(a: &[f32], threshold: f32) -> usize {
        // `!(x < t)` rather than `x >= t` so that NaN is reported, not skipped.
        #[allow(clippy::neg_cmp_op_on_partial_ord)]
        a.iter().position(|&x| !(x < threshold)).unwrap_or(a.len())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dot_matches_naive() {
        for n in 0..19 {
            let a: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 2.0).collect();
            let b: Vec<f32> = (0..n).map(|i| 1.0 - i as f32 * 0.25).collect();
            let naive: f32 = a.iter().zip(b.iter()).map(|(x, y)| x * y).sum();
            assert!((super::dot(&a, &b) - naive).abs() < 1e-4);
            let mut y = b.clone();
            super::axpy(2.0, &a, &mut y);
            for i in 0..n {
                assert_eq!(y[i], b[i] + 2.0 * a[i]);
            }
            let naive64: f64 = a
                .iter()
                .zip(b.iter())
                .map(|(x, y)| *x as f64 * *y as f64)
                .sum();
            assert!((super::dot_f64(&a, &b) - naive64).abs() < 1e-12);
        }
    }

    #[test]
    fn first_not_below_finds_candidates_and_nan() {
        for n in 0..40 {
            let a: Vec<f32> = (0..n).map(|i| ((i * 7) % 11) as f32).collect();
            for start in 0..n + 2 {
                for t in [-1.0f32, 3.0, 9.5, 10.0, 11.0, f32::NEG_INFINITY] {
                    let want = (start.min(n)..n).find(|&i| a[i] >= t).unwrap_or(n);
                    assert_eq!(
                        super::first_not_below(&a, start, t),
                        want,
                        "n {} start {} t {}",
                        n,
                        start,
                        t
                    );
                }
            }
        }
        let mut a = vec![0f32; 37];
        a[33] = f32::NAN;
        assert_eq!(super::first_not_below(&a, 0, 1.0), 33);
    }
}
