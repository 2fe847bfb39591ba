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
        }
    }
}
