//! A 4-lane `f32` vector for the dense kernels (GEMM micro-kernels, fused softmax, fast `exp`).
//!
//! On `wasm32` with `simd128` it is one `v128` and every method is one or two SIMD instructions; elsewhere
//! it is `[f32; 4]` with lane-wise methods, so the native tests run exactly the same kernel code and
//! arithmetic (no fused multiply-add on either side: `mul` then `add`).

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use std::arch::wasm32::*;

    #[derive(Clone, Copy)]
    pub struct F4(v128);

    // Named methods rather than operator traits: each is one SIMD instruction, and the kernels read as
    // the instruction sequence they compile to.
    #[allow(clippy::should_implement_trait)]
    impl F4 {
        #[inline(always)]
        pub fn zero() -> F4 {
            F4(f32x4_splat(0.0))
        }
        #[inline(always)]
        pub fn splat(x: f32) -> F4 {
            F4(f32x4_splat(x))
        }
        /// Loads 4 lanes from `s[0..4]`.
        #[inline(always)]
        pub fn load(s: &[f32]) -> F4 {
            assert!(s.len() >= 4);
            // SAFETY: 4 elements are in bounds (checked above); v128_load accepts unaligned addresses.
            F4(unsafe { v128_load(s.as_ptr() as *const v128) })
        }
        /// Loads 4 lanes at `p` without a bounds check.
        ///
        /// # Safety
        /// `p .. p + 4` must be readable.
        #[inline(always)]
        pub unsafe fn load_ptr(p: *const f32) -> F4 {
            F4(v128_load(p as *const v128))
        }
        /// Broadcasts `*p` to the 4 lanes.
        ///
        /// # Safety
        /// `p` must be readable.
        #[inline(always)]
        pub unsafe fn splat_ptr(p: *const f32) -> F4 {
            F4(v128_load32_splat(p as *const u32))
        }
        #[inline(always)]
        pub fn store(self, s: &mut [f32]) {
            assert!(s.len() >= 4);
            // SAFETY: as in `load`.
            unsafe { v128_store(s.as_mut_ptr() as *mut v128, self.0) }
        }
        /// # Safety
        /// `p .. p + 4` must be writable.
        #[inline(always)]
        pub unsafe fn store_ptr(self, p: *mut f32) {
            v128_store(p as *mut v128, self.0)
        }
        #[inline(always)]
        pub fn add(self, o: F4) -> F4 {
            F4(f32x4_add(self.0, o.0))
        }
        #[inline(always)]
        pub fn sub(self, o: F4) -> F4 {
            F4(f32x4_sub(self.0, o.0))
        }
        #[inline(always)]
        pub fn mul(self, o: F4) -> F4 {
            F4(f32x4_mul(self.0, o.0))
        }
        #[inline(always)]
        pub fn div(self, o: F4) -> F4 {
            F4(f32x4_div(self.0, o.0))
        }
        #[inline(always)]
        pub fn max(self, o: F4) -> F4 {
            F4(f32x4_pmax(self.0, o.0))
        }
        #[inline(always)]
        pub fn min(self, o: F4) -> F4 {
            F4(f32x4_pmin(self.0, o.0))
        }
        /// `2^n` for lanes holding `SHIFTER + n` ([`SHIFTER`]), `n` an integer in `[-126, 127]`: the
        /// low mantissa bits of such a lane are `n` in two's complement, so `(bits + 127) << 23` is
        /// the exponent field of `2^n` (two integer instructions; no float→int conversion, which V8
        /// lowers to a long saturating sequence).
        #[inline(always)]
        pub fn pow2_shifted(self) -> F4 {
            F4(i32x4_shl(i32x4_add(self.0, i32x4_splat(127)), 23))
        }
        /// Lane `L` broadcast to all lanes.
        #[inline(always)]
        pub fn lane<const L: usize>(self) -> F4 {
            match L {
                0 => F4(i32x4_shuffle::<0, 0, 0, 0>(self.0, self.0)),
                1 => F4(i32x4_shuffle::<1, 1, 1, 1>(self.0, self.0)),
                2 => F4(i32x4_shuffle::<2, 2, 2, 2>(self.0, self.0)),
                _ => F4(i32x4_shuffle::<3, 3, 3, 3>(self.0, self.0)),
            }
        }
        #[inline(always)]
        pub fn sum(self) -> f32 {
            (f32x4_extract_lane::<0>(self.0) + f32x4_extract_lane::<1>(self.0))
                + (f32x4_extract_lane::<2>(self.0) + f32x4_extract_lane::<3>(self.0))
        }
        #[inline(always)]
        pub fn hmax(self) -> f32 {
            f32x4_extract_lane::<0>(self.0)
                .max(f32x4_extract_lane::<1>(self.0))
                .max(f32x4_extract_lane::<2>(self.0).max(f32x4_extract_lane::<3>(self.0)))
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    #[derive(Clone, Copy)]
    pub struct F4([f32; 4]);

    // Named methods rather than operator traits: each is one SIMD instruction, and the kernels read as
    // the instruction sequence they compile to.
    #[allow(clippy::should_implement_trait)]
    impl F4 {
        #[inline(always)]
        fn map2(self, o: F4, f: impl Fn(f32, f32) -> f32) -> F4 {
            let (a, b) = (self.0, o.0);
            F4([f(a[0], b[0]), f(a[1], b[1]), f(a[2], b[2]), f(a[3], b[3])])
        }
        #[inline(always)]
        pub fn zero() -> F4 {
            F4([0.0; 4])
        }
        #[inline(always)]
        pub fn splat(x: f32) -> F4 {
            F4([x; 4])
        }
        #[inline(always)]
        pub fn load(s: &[f32]) -> F4 {
            F4([s[0], s[1], s[2], s[3]])
        }
        /// # Safety
        /// `p .. p + 4` must be readable.
        #[inline(always)]
        pub unsafe fn load_ptr(p: *const f32) -> F4 {
            F4([*p, *p.add(1), *p.add(2), *p.add(3)])
        }
        /// # Safety
        /// `p` must be readable.
        #[inline(always)]
        pub unsafe fn splat_ptr(p: *const f32) -> F4 {
            F4([*p; 4])
        }
        #[inline(always)]
        pub fn store(self, s: &mut [f32]) {
            s[..4].copy_from_slice(&self.0);
        }
        /// # Safety
        /// `p .. p + 4` must be writable.
        #[inline(always)]
        pub unsafe fn store_ptr(self, p: *mut f32) {
            for l in 0..4 {
                *p.add(l) = self.0[l];
            }
        }
        #[inline(always)]
        pub fn add(self, o: F4) -> F4 {
            self.map2(o, |a, b| a + b)
        }
        #[inline(always)]
        pub fn sub(self, o: F4) -> F4 {
            self.map2(o, |a, b| a - b)
        }
        #[inline(always)]
        pub fn mul(self, o: F4) -> F4 {
            self.map2(o, |a, b| a * b)
        }
        #[inline(always)]
        pub fn div(self, o: F4) -> F4 {
            self.map2(o, |a, b| a / b)
        }
        /// `pmax` semantics: `if self < o { o } else { self }`.
        #[inline(always)]
        pub fn max(self, o: F4) -> F4 {
            self.map2(o, |a, b| if a < b { b } else { a })
        }
        /// `pmin` semantics: `if o < self { o } else { self }`.
        #[inline(always)]
        pub fn min(self, o: F4) -> F4 {
            self.map2(o, |a, b| if b < a { b } else { a })
        }
        #[inline(always)]
        pub fn pow2_shifted(self) -> F4 {
            let p = |x: f32| f32::from_bits(x.to_bits().wrapping_add(127) << 23);
            F4([p(self.0[0]), p(self.0[1]), p(self.0[2]), p(self.0[3])])
        }
        #[inline(always)]
        pub fn lane<const L: usize>(self) -> F4 {
            F4([self.0[L]; 4])
        }
        #[inline(always)]
        pub fn sum(self) -> f32 {
            (self.0[0] + self.0[1]) + (self.0[2] + self.0[3])
        }
        #[inline(always)]
        pub fn hmax(self) -> f32 {
            self.0[0].max(self.0[1]).max(self.0[2].max(self.0[3]))
        }
    }
}

pub use imp::F4;

/// `1.5·2^23`: for `|y| < 2^22`, the `f32` sum `y + SHIFTER` is `SHIFTER + round(y)` (ties to even),
/// since the spacing of `f32` in `[2^23, 2^24)` is 1; see [`F4::pow2_shifted`].
pub const SHIFTER: f32 = 12_582_912.0;

/// `e^x` for 4 lanes; relative error below 2e-7 on `[-87, 88]`, inputs clamped to that range
/// (so very negative inputs give ~1e-38, not 0, and no lane overflows to infinity).
///
/// Cody–Waite range reduction `x = n ln 2 + r`, `|r| <= ln 2 / 2`, then a degree-6 polynomial for `e^r`
/// (the Cephes `expf` coefficients) and scaling by `2^n` through the exponent bits.
#[inline(always)]
pub fn exp4(x: F4) -> F4 {
    let x = x.max(F4::splat(-87.0)).min(F4::splat(88.0));
    // n = round(x·log2 e), ties to even: adding SHIFTER rounds in the addition itself.
    let t = x
        .mul(F4::splat(std::f32::consts::LOG2_E))
        .add(F4::splat(SHIFTER));
    let n = t.sub(F4::splat(SHIFTER));
    let r = x
        .sub(n.mul(F4::splat(0.693_359_4)))
        .sub(n.mul(F4::splat(-2.121_944_4e-4)));
    let mut p = F4::splat(1.987_569_1e-4);
    p = p.mul(r).add(F4::splat(1.398_199_9e-3));
    p = p.mul(r).add(F4::splat(8.333_452e-3));
    p = p.mul(r).add(F4::splat(4.166_579_6e-2));
    p = p.mul(r).add(F4::splat(1.666_666_5e-1));
    p = p.mul(r).add(F4::splat(0.5));
    let r2 = r.mul(r);
    let e = p.mul(r2).add(r).add(F4::splat(1.0));
    // n in [-126, 127] after the clamp: e^-87 = 2^-125.5, e^88 = 2^126.96.
    e.mul(t.pow2_shifted())
}

/// `2^y` for 4 lanes, `y` clamped to `[-126, 127]`; relative error below 3e-7 (the serving kernel's
/// mixture, which works in the log2 domain so the scale and `log2 e` fold into one multiply).
///
/// `y = n + f` with `n = round(y)` (by [`SHIFTER`]), `|f| <= 1/2`, then a degree-5 polynomial for `2^f`
/// (`1 + f ln 2 + …`, the rest fitted for minimal relative error on `[-1/2, 1/2]`: 1.8e-7 in `f32`) and scaling by
/// `2^n` through the exponent bits. Fewer instructions than [`exp4`] (no Cody–Waite split, one degree
/// less), which matters where every (user, item, concept) needs one.
#[inline(always)]
pub fn exp2_4(y: F4) -> F4 {
    Exp2::literal().eval(y)
}

/// `[lo, hi, SHIFTER, c5, c4, c3, c2, c1]` of [`exp2_4`] (`c1 = ln 2`).
const EXP2: [f32; 8] = [
    -126.0,
    127.0,
    SHIFTER,
    1.333_505e-3,
    9.671_665e-3,
    5.550_482e-2,
    2.402_223_8e-1,
    std::f32::consts::LN_2,
];

/// [`exp2_4`]'s constants as vectors, for a loop that evaluates it many times: made once before the
/// loop by [`Exp2::opaque`], they stay in locals (registers) — written as literals, each `f32x4.splat`
/// of a constant is re-materialized at every use inside the loop by the WASM backend, and V8 then
/// builds each one anew (a load or two instructions apiece, ~9 per call).
#[derive(Clone, Copy)]
pub struct Exp2([F4; 8]);

impl Exp2 {
    #[inline(always)]
    pub fn literal() -> Exp2 {
        Exp2::from(EXP2)
    }

    /// The same values, read so the compiler cannot see them as constants.
    #[inline(always)]
    pub fn opaque() -> Exp2 {
        // SAFETY: reading a valid, initialized static through a pointer to it.
        Exp2::from(unsafe { std::ptr::read_volatile(&EXP2) })
    }

    #[inline(always)]
    fn from(c: [f32; 8]) -> Exp2 {
        Exp2([
            F4::splat(c[0]),
            F4::splat(c[1]),
            F4::splat(c[2]),
            F4::splat(c[3]),
            F4::splat(c[4]),
            F4::splat(c[5]),
            F4::splat(c[6]),
            F4::splat(c[7]),
        ])
    }

    /// `2^y` (see [`exp2_4`]).
    #[inline(always)]
    pub fn eval(&self, y: F4) -> F4 {
        let c = &self.0;
        let y = y.max(c[0]).min(c[1]);
        let t = y.add(c[2]);
        let f = y.sub(t.sub(c[2]));
        let mut p = c[3];
        p = p.mul(f).add(c[4]);
        p = p.mul(f).add(c[5]);
        p = p.mul(f).add(c[6]);
        p = p.mul(f).add(c[7]);
        // The constant term 1 as `f·p + 1`: one add of a splat the compiler may fold.
        p = p.mul(f).add(F4::splat(1.0));
        p.mul(t.pow2_shifted())
    }
}

/// Scalar `2^y` with the algorithm of [`exp2_4`].
#[inline(always)]
pub fn exp2_1(y: f32) -> f32 {
    let mut out = [0f32; 4];
    exp2_4(F4::splat(y)).store(&mut out);
    out[0]
}

/// Scalar `e^x` with the same algorithm as [`exp4`] (used for tails so results do not depend on
/// where a loop's 4-lane part ends).
#[inline(always)]
pub fn exp1(x: f32) -> f32 {
    let mut out = [0f32; 4];
    exp4(F4::splat(x)).store(&mut out);
    out[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worst relative error of `f` against `want` (in f64) on `lo, lo + step, … < hi`.
    fn worst(f: fn(f32) -> f32, want: fn(f64) -> f64, lo: f32, hi: f32, step: f32) -> f64 {
        let mut worst = 0f64;
        let mut x = lo;
        while x < hi {
            let w = want(x as f64);
            worst = worst.max(((f(x) as f64 - w) / w).abs());
            x += step;
        }
        worst
    }

    #[test]
    fn exp4_is_accurate_over_the_range() {
        let e = worst(exp1, f64::exp, -87.0, 88.0, 0.013);
        assert!(e < 3e-7, "worst relative error {}", e);
        assert!(exp1(-1000.0) > 0.0 && exp1(-1000.0) < 1e-37);
        assert!(exp1(1000.0).is_finite());
        assert_eq!(exp1(0.0), 1.0);
    }

    #[test]
    fn exp2_4_is_accurate_over_the_range() {
        let e = worst(exp2_1, f64::exp2, -126.0, 127.0, 0.0037);
        assert!(e < 3e-7, "worst relative error {}", e);
        assert_eq!(exp2_1(0.0), 1.0);
        assert_eq!(exp2_1(-3.0), 0.125);
        assert!(exp2_1(-1000.0) > 0.0 && exp2_1(-1000.0) < 1e-37);
        assert!(exp2_1(1000.0).is_finite());
    }

    #[test]
    fn lane_ops() {
        let v = F4::load(&[1.0, -2.0, 3.5, 4.0]);
        let mut out = [0f32; 4];
        v.lane::<2>().store(&mut out);
        assert_eq!(out, [3.5; 4]);
        assert_eq!(v.sum(), 6.5);
        assert_eq!(v.hmax(), 4.0);
        let t = F4::load(&[0.5, 1.5, 2.5, -0.5]).add(F4::splat(SHIFTER));
        t.sub(F4::splat(SHIFTER)).store(&mut out);
        assert_eq!(out, [0.0, 2.0, 2.0, 0.0]);
        F4::load(&[0.0, 3.0, -2.0, 10.0])
            .add(F4::splat(SHIFTER))
            .pow2_shifted()
            .store(&mut out);
        assert_eq!(out, [1.0, 8.0, 0.25, 1024.0]);
        F4::load(&[-126.0, 127.0, -1.0, 1.0])
            .add(F4::splat(SHIFTER))
            .pow2_shifted()
            .store(&mut out);
        assert_eq!(out, [2f32.powi(-126), 2f32.powi(127), 0.5, 2.0]);
    }
}
