//! Seeded noise for training steps, filled in bulk: standard normals (the reparameterization's ε),
//! inverted-dropout multipliers, and standard Gumbel noise (the concept sampler). Each call draws from
//! `Xoshiro256::new(seed)`, so the same seed always gives the same values on every thread.
//!
//! Normals use the ziggurat method (Marsaglia & Tsang 2000, 128 layers): a table lookup and a compare
//! for ~98.8% of draws, so ε costs about as much as copying it.

use crate::rng::Xoshiro256;

/// Ziggurat tables: `kn` (u32 thresholds), `wn` and `fn_` (layer widths and densities). Built per
/// fill call (127 steps, microseconds): std's `OnceLock` is newer than the Rust 1.63 this crate targets.
pub struct Tables {
    kn: [u32; 128],
    wn: [f64; 128],
    fn_: [f64; 128],
}

const R: f64 = 3.442_619_855_899;

impl Tables {
    pub fn new() -> Tables {
        let m1 = 2147483648.0f64;
        let vn = 9.912_563_035_262_17e-3f64;
        let mut dn = R;
        let mut tn = dn;
        let q = vn / (-0.5 * dn * dn).exp();
        let mut t = Tables {
            kn: [0; 128],
            wn: [0.0; 128],
            fn_: [0.0; 128],
        };
        t.kn[0] = ((dn / q) * m1) as u32;
        t.kn[1] = 0;
        t.wn[0] = q / m1;
        t.wn[127] = dn / m1;
        t.fn_[0] = 1.0;
        t.fn_[127] = (-0.5 * dn * dn).exp();
        for i in (1..=126).rev() {
            dn = (-2.0 * (vn / dn + (-0.5 * dn * dn).exp()).ln()).sqrt();
            t.kn[i + 1] = ((dn / tn) * m1) as u32;
            tn = dn;
            t.fn_[i] = (-0.5 * dn * dn).exp();
            t.wn[i] = dn / m1;
        }
        t
    }
}

impl Default for Tables {
    fn default() -> Tables {
        Tables::new()
    }
}

#[inline]
fn uniform_open(rng: &mut Xoshiro256) -> f64 {
    // (0, 1]: never 0, so logarithms stay finite.
    ((rng.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// One standard normal draw (ziggurat).
pub fn normal(rng: &mut Xoshiro256, t: &Tables) -> f64 {
    let mut hz = (rng.next_u64() >> 32) as u32 as i32;
    let mut iz = (hz & 127) as usize;
    if hz.unsigned_abs() < t.kn[iz] {
        return hz as f64 * t.wn[iz];
    }
    loop {
        let x = hz as f64 * t.wn[iz];
        if iz == 0 {
            // The tail beyond R (Marsaglia's method).
            loop {
                let x = -uniform_open(rng).ln() / R;
                let y = -uniform_open(rng).ln();
                if y + y >= x * x {
                    return if hz > 0 { R + x } else { -R - x };
                }
            }
        }
        if t.fn_[iz] + uniform_open(rng) * (t.fn_[iz - 1] - t.fn_[iz]) < (-0.5 * x * x).exp() {
            return x;
        }
        hz = (rng.next_u64() >> 32) as u32 as i32;
        iz = (hz & 127) as usize;
        if hz.unsigned_abs() < t.kn[iz] {
            return hz as f64 * t.wn[iz];
        }
    }
}

/// Fills `out` with standard normals drawn from `seed`.
pub fn fill_normal(seed: u64, out: &mut [f32]) {
    let t = Tables::new();
    let mut rng = Xoshiro256::new(seed);
    for v in out.iter_mut() {
        *v = normal(&mut rng, &t) as f32;
    }
}

/// Fills `out` with inverted-dropout multipliers: `1/keep` with probability `keep`, else 0 (all ones
/// when `keep >= 1`).
pub fn fill_dropout(seed: u64, keep: f64, out: &mut [f32]) {
    if keep >= 1.0 {
        out.iter_mut().for_each(|v| *v = 1.0);
        return;
    }
    let mut rng = Xoshiro256::new(seed);
    let s = (1.0 / keep) as f32;
    for v in out.iter_mut() {
        *v = if rng.next_f64() < keep { s } else { 0.0 };
    }
}

/// Fills `out` with standard Gumbel noise `−ln(−ln u)`, `u` clamped to `[1e-10, 1 − 1e-7]` (the PyTorch
/// reference's clamp).
pub fn fill_gumbel(seed: u64, out: &mut [f32]) {
    let mut rng = Xoshiro256::new(seed);
    for v in out.iter_mut() {
        let u = rng.next_f64().clamp(1e-10, 1.0 - 1e-7);
        *v = -(-u.ln()).ln() as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phi(x: f64) -> f64 {
        // Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7).
        let t = 1.0 / (1.0 + 0.327_591_1 * x.abs() / std::f64::consts::SQRT_2);
        let y = 1.0
            - (((((1.061_405_429 * t - 1.453_152_027) * t + 1.421_413_741) * t - 0.284_496_736)
                * t
                + 0.254_829_592)
                * t)
                * (-(x * x) / 2.0).exp();
        if x >= 0.0 {
            0.5 * (1.0 + y)
        } else {
            0.5 * (1.0 - y)
        }
    }

    #[test]
    fn normals_have_the_normal_distribution() {
        let n = 400_000;
        let mut v = vec![0f32; n];
        fill_normal(12345, &mut v);
        let mean: f64 = v.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
        let var: f64 = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "mean {}", mean);
        assert!((var - 1.0).abs() < 0.01, "var {}", var);
        // Empirical CDF against Φ (Kolmogorov distance at a grid, incl. the tails beyond R).
        let mut s: Vec<f64> = v.iter().map(|&x| x as f64).collect();
        s.sort_by(|a, b| a.partial_cmp(b).unwrap());
        for &x in &[-4.0, -3.5, -2.0, -1.0, -0.3, 0.0, 0.5, 1.5, 3.0, 3.6] {
            let emp = s.partition_point(|&y| y <= x) as f64 / n as f64;
            assert!(
                (emp - phi(x)).abs() < 3e-3,
                "F({}) = {} vs {}",
                x,
                emp,
                phi(x)
            );
        }
        let tail = s.iter().filter(|&&x| x.abs() > R).count() as f64 / n as f64;
        assert!(
            (tail - 2.0 * (1.0 - phi(R))).abs() < 2e-4,
            "tail mass {}",
            tail
        );
        let mut again = vec![0f32; n];
        fill_normal(12345, &mut again);
        assert_eq!(v, again);
    }

    #[test]
    fn dropout_and_gumbel() {
        let mut m = vec![0f32; 100_000];
        fill_dropout(3, 0.25, &mut m);
        let kept = m.iter().filter(|&&x| x == 4.0).count();
        assert!(m.iter().all(|&x| x == 0.0 || x == 4.0));
        assert!((kept as f64 / 1e5 - 0.25).abs() < 0.01);
        fill_dropout(3, 1.0, &mut m);
        assert!(m.iter().all(|&x| x == 1.0));
        let mut g = vec![0f32; 200_000];
        fill_gumbel(4, &mut g);
        // Standard Gumbel: mean γ ≈ 0.5772, variance π²/6.
        let mean: f64 = g.iter().map(|&x| x as f64).sum::<f64>() / g.len() as f64;
        let var: f64 = g.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / g.len() as f64;
        assert!((mean - 0.5772).abs() < 0.01, "{}", mean);
        assert!((var - 1.6449).abs() < 0.03, "{}", var);
        assert!(g.iter().all(|x| x.is_finite()));
    }
}
