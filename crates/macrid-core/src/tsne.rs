//! Exact t-SNE (van der Maaten & Hinton 2008) to 2-D, seeded, for the maps of paper Figure 2.
//!
//! Why exact and here: the figures show a few thousand points (items sampled per concept plus the two
//! most confident components of sampled users, as in §3.3), where the `O(n²)` exact gradient takes
//! seconds (2,000 points, 1,000 steps: about 6 s in WASM, the pair loop in f32 SIMD lanes); it needs
//! no dependency, runs in every worker, and is reproducible bit for bit from its
//! seed. Larger inputs should be subsampled by the caller (the analysis does, seeded).
//!
//! The schedule follows the reference implementation and scikit-learn: conditional probabilities by a
//! binary search on each point's precision to match `perplexity` (natural-log entropy), symmetrized
//! `p_ij = (p_j|i + p_i|j) / 2n`; initial map `N(0, 10⁻⁴ I)`; early exaggeration 12 for the first 250
//! iterations with momentum 0.5, then momentum 0.8; learning rate `max(n / 12 / 4, 50)` with the
//! delta-bar-delta gains (+0.2 / ×0.8, floor 0.01); the map is re-centred after every step.

use crate::error::{check_len, Error, Result};
use crate::rng::Xoshiro256;

/// Options of [`tsne`].
#[derive(Debug, Clone, Copy)]
pub struct TsneOptions {
    /// Effective number of neighbours; must be < n/3 (clamped to `(n − 1)/3` for tiny inputs).
    pub perplexity: f64,
    /// Gradient steps (>= 1); 1000 is the usual default.
    pub iterations: usize,
    /// Seed of the initial map.
    pub seed: u64,
}

const EXAGGERATION: f64 = 12.0;
const EXAGGERATION_ITERS: usize = 250;

/// Row `i`'s conditional probabilities `p_j|i` into `out` (with `out[i] = 0`) given squared distances
/// `dist` from point `i`, matching `ln(perplexity)` by bisection on the precision.
fn conditional_row(dist: &[f64], i: usize, perplexity: f64, out: &mut [f64]) {
    let target = perplexity.ln();
    let (mut beta, mut lo, mut hi) = (1.0f64, 0.0f64, f64::INFINITY);
    // Shift distances by the smallest positive one so exp() stays in range for any scale.
    let mut dmin = f64::INFINITY;
    for (j, &d) in dist.iter().enumerate() {
        if j != i && d < dmin {
            dmin = d;
        }
    }
    for _ in 0..100 {
        let mut sum = 0f64;
        let mut sum_dp = 0f64;
        for (j, &d) in dist.iter().enumerate() {
            let p = if j == i {
                0.0
            } else {
                (-(d - dmin) * beta).exp()
            };
            out[j] = p;
            sum += p;
            sum_dp += (d - dmin) * p;
        }
        // H = ln(sum) + beta * E[d]
        let h = sum.ln() + beta * sum_dp / sum;
        if (h - target).abs() < 1e-5 {
            break;
        }
        if h > target {
            lo = beta;
            beta = if hi.is_finite() {
                0.5 * (beta + hi)
            } else {
                beta * 2.0
            };
        } else {
            hi = beta;
            beta = 0.5 * (beta + lo);
        }
    }
    let s: f64 = out.iter().sum();
    for p in out.iter_mut() {
        *p /= s;
    }
}

/// For point `(xi, yi)` against every point `j` (coordinates `yx`, `yy`, joint probabilities `p`):
/// `[Σ p_j q_j dx, Σ p_j q_j dy, Σ q_j² dx, Σ q_j² dy, Σ q_j]` with `dx = xi − yx_j`,
/// `q_j = 1/(1 + dx² + dy²)`, in f32 over 4 lanes (explicit simd128 on wasm32).
fn row_forces(yx: &[f32], yy: &[f32], p: &[f32], xi: f32, yi: f32) -> [f32; 5] {
    imp::row_forces(yx, yy, p, xi, yi)
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use std::arch::wasm32::*;

    pub fn row_forces(yx: &[f32], yy: &[f32], p: &[f32], xi: f32, yi: f32) -> [f32; 5] {
        let n = yx.len().min(yy.len()).min(p.len());
        let chunks = n / 4;
        let (vxi, vyi, one) = (f32x4_splat(xi), f32x4_splat(yi), f32x4_splat(1.0));
        let mut acc = [f32x4_splat(0.0); 5];
        for c in 0..chunks {
            // SAFETY: c*4+3 < n for every chunk; v128_load tolerates unaligned addresses.
            unsafe {
                let dx = f32x4_sub(vxi, v128_load(yx.as_ptr().add(c * 4) as *const v128));
                let dy = f32x4_sub(vyi, v128_load(yy.as_ptr().add(c * 4) as *const v128));
                let pv = v128_load(p.as_ptr().add(c * 4) as *const v128);
                let d2 = f32x4_add(f32x4_mul(dx, dx), f32x4_mul(dy, dy));
                let q = f32x4_div(one, f32x4_add(one, d2));
                let pq = f32x4_mul(pv, q);
                let qq = f32x4_mul(q, q);
                acc[0] = f32x4_add(acc[0], f32x4_mul(pq, dx));
                acc[1] = f32x4_add(acc[1], f32x4_mul(pq, dy));
                acc[2] = f32x4_add(acc[2], f32x4_mul(qq, dx));
                acc[3] = f32x4_add(acc[3], f32x4_mul(qq, dy));
                acc[4] = f32x4_add(acc[4], q);
            }
        }
        let mut out = [0f32; 5];
        for t in 0..5 {
            let a = acc[t];
            out[t] = (f32x4_extract_lane::<0>(a) + f32x4_extract_lane::<1>(a))
                + (f32x4_extract_lane::<2>(a) + f32x4_extract_lane::<3>(a));
        }
        for j in chunks * 4..n {
            super::scalar_term(&mut out, xi - yx[j], yi - yy[j], p[j]);
        }
        out
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    pub fn row_forces(yx: &[f32], yy: &[f32], p: &[f32], xi: f32, yi: f32) -> [f32; 5] {
        let n = yx.len().min(yy.len()).min(p.len());
        let chunks = n / 4;
        let mut lanes = [[0f32; 5]; 4];
        for c in 0..chunks {
            for l in 0..4 {
                let j = c * 4 + l;
                super::scalar_term(&mut lanes[l], xi - yx[j], yi - yy[j], p[j]);
            }
        }
        let mut out = [0f32; 5];
        for t in 0..5 {
            out[t] = (lanes[0][t] + lanes[1][t]) + (lanes[2][t] + lanes[3][t]);
        }
        for j in chunks * 4..n {
            super::scalar_term(&mut out, xi - yx[j], yi - yy[j], p[j]);
        }
        out
    }
}

#[inline]
fn scalar_term(out: &mut [f32; 5], dx: f32, dy: f32, p: f32) {
    let q = 1.0 / (1.0 + dx * dx + dy * dy);
    out[0] += p * q * dx;
    out[1] += p * q * dy;
    out[2] += q * q * dx;
    out[3] += q * q * dy;
    out[4] += q;
}

/// Embeds the `n × dim` rows of `x` into 2-D; returns `n × 2` coordinates (row-major) and the final
/// KL divergence `KL(P‖Q)`.
pub fn tsne(x: &[f32], n: usize, dim: usize, opts: &TsneOptions) -> Result<(Vec<f32>, f64)> {
    check_len("x", x, n * dim)?;
    if n < 2 {
        return Err(Error::invalid(format!(
            "t-SNE needs at least 2 points but got {}",
            n
        )));
    }
    if let Some(p) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(format!(
            "'x' has a non-finite value at row {}, column {}",
            p / dim.max(1),
            p % dim.max(1)
        )));
    }
    if !(opts.perplexity >= 1.0 && opts.perplexity.is_finite()) {
        return Err(Error::invalid(format!(
            "'perplexity' must be >= 1 but is {}",
            opts.perplexity
        )));
    }
    if opts.iterations == 0 {
        return Err(Error::invalid("'iterations' must be >= 1 but is 0"));
    }
    let perplexity = opts.perplexity.min(((n - 1) as f64 / 3.0).max(1.0));

    // Joint probabilities P (n × n, symmetric, f32 to halve memory).
    let mut p = vec![0f32; n * n];
    let mut dist = vec![0f64; n];
    let mut row = vec![0f64; n];
    // |x_i − x_j|² = |x_i|² + |x_j|² − 2 x_i·x_j with SIMD dot products (clamped at 0).
    let sq: Vec<f64> = (0..n)
        .map(|i| crate::simd::dot_f64(&x[i * dim..(i + 1) * dim], &x[i * dim..(i + 1) * dim]))
        .collect();
    for i in 0..n {
        let xi = &x[i * dim..(i + 1) * dim];
        for j in 0..n {
            let xj = &x[j * dim..(j + 1) * dim];
            dist[j] = (sq[i] + sq[j] - 2.0 * crate::simd::dot_f64(xi, xj)).max(0.0);
        }
        conditional_row(&dist, i, perplexity, &mut row);
        for j in 0..n {
            p[i * n + j] = row[j] as f32;
        }
    }
    let norm = 1.0 / (2.0 * n as f64);
    for i in 0..n {
        for j in i + 1..n {
            let v = ((p[i * n + j] as f64 + p[j * n + i] as f64) * norm).max(1e-12) as f32;
            p[i * n + j] = v;
            p[j * n + i] = v;
        }
        p[i * n + i] = 0.0;
    }

    let mut rng = Xoshiro256::new(opts.seed);
    let mut gauss = || -> f64 {
        let u1 = rng.next_f64().max(1e-300);
        let u2 = rng.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    };
    let mut y: Vec<f64> = (0..2 * n).map(|_| 1e-2 * gauss()).collect();
    let mut update = vec![0f64; 2 * n];
    let mut gains = vec![1f64; 2 * n];
    let mut grad = vec![0f64; 2 * n];
    let mut rep = vec![0f64; 2 * n];
    let mut yx = vec![0f32; n];
    let mut yy = vec![0f32; n];
    let lr = (n as f64 / EXAGGERATION / 4.0).max(50.0);
    for it in 0..opts.iterations {
        let exag = if it < EXAGGERATION_ITERS {
            EXAGGERATION
        } else {
            1.0
        };
        let momentum = if it < EXAGGERATION_ITERS { 0.5 } else { 0.8 };
        // One pass per point over all points (f32 lanes): with q_ij = 1/(1 + |y_i − y_j|²) and
        // Z = Σ_{i≠j} q_ij, the gradient is 4 Σ_j (exag·p_ij − q_ij/Z) q_ij (y_i − y_j)
        // = 4 (A_i − R_i/Z), A_i = Σ_j exag·p_ij q_ij (y_i − y_j), R_i = Σ_j q_ij² (y_i − y_j).
        for i in 0..n {
            yx[i] = y[2 * i] as f32;
            yy[i] = y[2 * i + 1] as f32;
        }
        let mut z = 0f64;
        for i in 0..n {
            let f = row_forces(&yx, &yy, &p[i * n..(i + 1) * n], yx[i], yy[i]);
            // the j = i term adds q = 1 to Z and nothing else
            z += f[4] as f64 - 1.0;
            grad[2 * i] = exag * f[0] as f64;
            grad[2 * i + 1] = exag * f[1] as f64;
            rep[2 * i] = f[2] as f64;
            rep[2 * i + 1] = f[3] as f64;
        }
        let inv_z = 1.0 / z;
        for t in 0..2 * n {
            grad[t] -= rep[t] * inv_z;
        }
        for t in 0..2 * n {
            let g = 4.0 * grad[t];
            gains[t] = if (g > 0.0) != (update[t] > 0.0) {
                gains[t] + 0.2
            } else {
                (gains[t] * 0.8).max(0.01)
            };
            update[t] = momentum * update[t] - lr * gains[t] * g;
            y[t] += update[t];
        }
        let (mut m0, mut m1) = (0f64, 0f64);
        for i in 0..n {
            m0 += y[2 * i];
            m1 += y[2 * i + 1];
        }
        m0 /= n as f64;
        m1 /= n as f64;
        for i in 0..n {
            y[2 * i] -= m0;
            y[2 * i + 1] -= m1;
        }
    }
    // Final KL(P‖Q).
    let mut z = 0f64;
    for i in 0..n {
        for j in i + 1..n {
            let (a, b) = (y[2 * i] - y[2 * j], y[2 * i + 1] - y[2 * j + 1]);
            z += 2.0 / (1.0 + a * a + b * b);
        }
    }
    let mut kl = 0f64;
    for i in 0..n {
        for j in 0..n {
            if i != j {
                let pij = p[i * n + j] as f64;
                let (a, b) = (y[2 * i] - y[2 * j], y[2 * i + 1] - y[2 * j + 1]);
                let q = 1.0 / (1.0 + a * a + b * b) / z;
                kl += pij * (pij / q).ln();
            }
        }
    }
    if y.iter().any(|v| !v.is_finite()) {
        return Err(Error::new(
            crate::ErrorKind::Internal,
            "t-SNE diverged (non-finite coordinates)",
        ));
    }
    Ok((y.iter().map(|&v| v as f32).collect(), kl))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_planted_clusters_and_is_seeded() {
        // 3 well-separated Gaussian clusters in 10-D, 40 points each.
        let mut r = Xoshiro256::new(9);
        let (n, dim) = (120, 10);
        let mut x = vec![0f32; n * dim];
        for i in 0..n {
            for l in 0..dim {
                let centre = if l == i % 3 { 10.0 } else { 0.0 };
                x[i * dim + l] = centre + (r.next_f64() as f32 - 0.5);
            }
        }
        let o = TsneOptions {
            perplexity: 15.0,
            iterations: 400,
            seed: 1,
        };
        let (y, kl) = tsne(&x, n, dim, &o).unwrap();
        assert!(kl.is_finite() && kl >= 0.0);
        // every point's nearest neighbour in the map is from its own cluster
        for i in 0..n {
            let mut best = (f32::INFINITY, 0);
            for j in 0..n {
                if j != i {
                    let d = (y[2 * i] - y[2 * j]).powi(2) + (y[2 * i + 1] - y[2 * j + 1]).powi(2);
                    if d < best.0 {
                        best = (d, j);
                    }
                }
            }
            assert_eq!(best.1 % 3, i % 3, "point {}", i);
        }
        let (y2, _) = tsne(&x, n, dim, &o).unwrap();
        assert_eq!(y, y2);
        let (y3, _) = tsne(&x, n, dim, &TsneOptions { seed: 2, ..o }).unwrap();
        assert_ne!(y, y3);
    }

    #[test]
    fn conditional_rows_match_the_perplexity() {
        let dist: Vec<f64> = (0..50)
            .map(|j| (j as f64 * 0.37).sin().abs() * 5.0)
            .collect();
        let mut row = vec![0f64; 50];
        conditional_row(&dist, 3, 10.0, &mut row);
        let h: f64 = row.iter().filter(|&&p| p > 0.0).map(|&p| -p * p.ln()).sum();
        assert!((h.exp() - 10.0).abs() < 1e-3, "perplexity {}", h.exp());
        assert_eq!(row[3], 0.0);
    }

    #[test]
    fn bad_arguments() {
        let o = TsneOptions {
            perplexity: 5.0,
            iterations: 10,
            seed: 0,
        };
        assert!(tsne(&[1.0], 1, 1, &o).is_err());
        assert!(tsne(&[1.0, f32::NAN], 2, 1, &o)
            .unwrap_err()
            .message
            .contains("row 1"));
        assert!(tsne(&[1.0, 2.0], 2, 1, &TsneOptions { iterations: 0, ..o }).is_err());
    }
}
