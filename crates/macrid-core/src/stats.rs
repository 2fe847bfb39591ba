//! Correlations between the dimensions of a set of vectors, and the independence score of the paper.
//!
//! For `n` vectors of dimension `d` (`x`, `n × d` row-major), `corr_ij` is Pearson's correlation of
//! dimensions `i` and `j` over the `n` vectors. The independence score (MacridVAE, §3.3) is
//! `1 − 2/(d(d−1)) Σ_{i<j} |corr_ij|`: 1 when no two dimensions are linearly related, 0 when every pair
//! is perfectly (anti-)correlated.
//!
//! **Constant dimensions.** A dimension whose `n` values are all equal has zero variance and Pearson's
//! correlation with it is 0/0. We define its correlation with every other dimension as 0 and with
//! itself as 1 (so the matrix stays a valid correlation matrix) and report it in `constant`, so a
//! caller can tell a collapsed dimension (which then counts as independent of the others) from a truly
//! uncorrelated one. With `n = 1` every dimension is constant.
//!
//! Numerics: means in `f64`; centered values rounded once to `f32` and laid out by dimension; every
//! covariance is an `f64`-accumulated SIMD dot product ([`crate::simd::dot_f64`]); correlations are
//! clamped to `[-1, 1]`. Pairs are summed in the fixed order `i < j`, row by row.

use crate::error::{check_len, Error, Result};
use crate::simd;

/// Largest accepted dimension `d` (the matrix has `d²` entries).
pub const MAX_DIMS: usize = 8192;

/// Pearson correlations into `out` (`d × d` row-major, symmetric, unit diagonal) and the constant
/// dimensions into `constant` (`d` flags, 1 = constant). Returns how many dimensions are constant.
/// Needs `n >= 1`, `d >= 1` and finite values.
pub fn correlation_matrix(
    x: &[f32],
    n: usize,
    d: usize,
    out: &mut [f64],
    constant: &mut [u8],
) -> Result<usize> {
    check_shape(x, n, d)?;
    check_len("out", out, d * d)?;
    check_len("outConstant", constant, d)?;
    for (p, &v) in x.iter().enumerate() {
        if !v.is_finite() {
            return Err(Error::invalid(format!(
                "'vectors' must be finite but row {}, dimension {} is {}",
                p / d,
                p % d,
                v
            )));
        }
    }
    let mut mean = vec![0f64; d];
    for r in 0..n {
        for j in 0..d {
            mean[j] += x[r * d + j] as f64;
        }
    }
    for m in mean.iter_mut() {
        *m /= n as f64;
    }
    let mut cols = vec![0f32; n * d];
    let mut n_constant = 0;
    for j in 0..d {
        let first = x[j];
        let mut all_equal = true;
        for r in 0..n {
            let v = x[r * d + j];
            all_equal &= v == first;
            cols[j * n + r] = (v as f64 - mean[j]) as f32;
        }
        constant[j] = all_equal as u8;
        n_constant += all_equal as usize;
    }
    let sd: Vec<f64> = (0..d)
        .map(|j| {
            let c = &cols[j * n..(j + 1) * n];
            simd::dot_f64(c, c).sqrt()
        })
        .collect();
    for i in 0..d {
        out[i * d + i] = 1.0;
        for j in i + 1..d {
            let c = if constant[i] != 0 || constant[j] != 0 {
                0.0
            } else {
                let cov = simd::dot_f64(&cols[i * n..(i + 1) * n], &cols[j * n..(j + 1) * n]);
                (cov / (sd[i] * sd[j])).clamp(-1.0, 1.0)
            };
            out[i * d + j] = c;
            out[j * d + i] = c;
        }
    }
    Ok(n_constant)
}

fn check_shape(x: &[f32], n: usize, d: usize) -> Result<()> {
    if n == 0 || d == 0 || d > MAX_DIMS {
        return Err(Error::invalid(format!(
            "correlations need n >= 1 vectors of 1 <= d <= {} dimensions but got n = {}, d = {}",
            MAX_DIMS, n, d
        )));
    }
    check_len("vectors", x, n * d)
}

/// The independence score of `n × d` vectors (computes the correlations; see the module
/// documentation) and the constant-dimension flags; needs `d >= 2`.
pub fn independence_score(x: &[f32], n: usize, d: usize, constant: &mut [u8]) -> Result<f64> {
    check_shape(x, n, d)?;
    if d < 2 {
        return Err(Error::invalid(format!(
            "the independence score needs d >= 2 dimensions but got d = {}",
            d
        )));
    }
    let mut corr = vec![0f64; d * d];
    correlation_matrix(x, n, d, &mut corr, constant)?;
    independence_from_correlations(&corr, d)
}

/// `1 − 2/(d(d−1)) Σ_{i<j} |corr_ij|` from a `d × d` correlation matrix; needs `d >= 2`.
pub fn independence_from_correlations(corr: &[f64], d: usize) -> Result<f64> {
    if d < 2 {
        return Err(Error::invalid(format!(
            "the independence score needs d >= 2 dimensions but got d = {}",
            d
        )));
    }
    check_len("correlations", corr, d * d)?;
    let mut sum = 0f64;
    for i in 0..d {
        for j in i + 1..d {
            sum += corr[i * d + j].abs();
        }
    }
    Ok(1.0 - 2.0 * sum / (d as f64 * (d - 1) as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Xoshiro256;

    fn corr(x: &[f32], n: usize, d: usize) -> (Vec<f64>, Vec<u8>, usize) {
        let (mut out, mut c) = (vec![0f64; d * d], vec![0u8; d]);
        let k = correlation_matrix(x, n, d, &mut out, &mut c).unwrap();
        (out, c, k)
    }

    #[test]
    fn hand_computed() {
        // dim 0 = 1,2,3,4; dim 1 = 2·dim0 (corr 1); dim 2 = -dim0 (corr -1); dim 3 constant
        let x = [
            1.0f32, 2.0, -1.0, 5.0, 2.0, 4.0, -2.0, 5.0, 3.0, 6.0, -3.0, 5.0, 4.0, 8.0, -4.0, 5.0,
        ];
        let (c, flags, k) = corr(&x, 4, 4);
        assert_eq!(flags, vec![0, 0, 0, 1]);
        assert_eq!(k, 1);
        let want = [
            1.0, 1.0, -1.0, 0.0, 1.0, 1.0, -1.0, 0.0, -1.0, -1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0,
        ];
        for (a, b) in c.iter().zip(want.iter()) {
            assert!((a - b).abs() < 1e-12, "{:?}", c);
        }
        // pairs: |1| + |-1| + 0 + |-1| + 0 + 0 = 3 over 6 pairs → 1 − 3/6
        assert!((independence_from_correlations(&c, 4).unwrap() - 0.5).abs() < 1e-12);
        let mut f = vec![0u8; 4];
        assert!((independence_score(&x, 4, 4, &mut f).unwrap() - 0.5).abs() < 1e-12);
        assert!(independence_score(&x[..4], 4, 1, &mut f[..1]).is_err());
    }

    #[test]
    fn matches_a_two_pass_f64_computation() {
        let mut rng = Xoshiro256::new(17);
        let (n, d) = (300, 7);
        let x: Vec<f32> = (0..n * d)
            .map(|p| {
                let base = (p / d) as f32 * 0.01;
                base * ((p % d) as f32 - 3.0) + rng.next_f64() as f32 * 3.0
            })
            .collect();
        let (c, _, k) = corr(&x, n, d);
        assert_eq!(k, 0);
        for i in 0..d {
            for j in 0..d {
                let mi: f64 = (0..n).map(|r| x[r * d + i] as f64).sum::<f64>() / n as f64;
                let mj: f64 = (0..n).map(|r| x[r * d + j] as f64).sum::<f64>() / n as f64;
                let (mut sij, mut sii, mut sjj) = (0.0, 0.0, 0.0);
                for r in 0..n {
                    let (a, b) = (x[r * d + i] as f64 - mi, x[r * d + j] as f64 - mj);
                    sij += a * b;
                    sii += a * a;
                    sjj += b * b;
                }
                assert!((c[i * d + j] - sij / (sii * sjj).sqrt()).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn bad_inputs() {
        let (mut out, mut c) = (vec![0f64; 4], vec![0u8; 2]);
        assert!(correlation_matrix(&[], 0, 2, &mut out, &mut c).is_err());
        let e = correlation_matrix(&[1.0, f32::NAN], 1, 2, &mut out, &mut c).unwrap_err();
        assert!(e.message.contains("row 0, dimension 1"), "{}", e.message);
        assert!(independence_from_correlations(&[1.0], 1).is_err());
        // one vector: every dimension constant, identity matrix, score 1
        let (c1, f, k) = corr(&[3.0, 4.0], 1, 2);
        assert_eq!((c1, f, k), (vec![1.0, 0.0, 0.0, 1.0], vec![1, 1], 2));
    }
}
