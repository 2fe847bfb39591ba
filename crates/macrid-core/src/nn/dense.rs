//! Dense layers (f_nn, MultVAE's hidden layers) and the VAE heads over a batch (see the module doc of
//! `nn`).

use crate::error::{check_len, Result};
use crate::gemm::{sgemm, Gemm, Strided, StridedMut};

/// Activation of a dense layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Identity,
    Tanh,
}

/// A dense layer over a batch: `y = act((x·W + b) ⊙ mask)`, `x` `rows × din`, `W` `din × dout`, `b` `dout`,
/// `mask` (optional dropout multipliers) `rows × dout`, `y` `rows × dout`.
pub fn dense_forward(
    rows: usize,
    din: usize,
    dout: usize,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    mask: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
) -> Result<()> {
    check_len("x", x, rows * din)?;
    check_len("w", w, din * dout)?;
    check_len("b", b, dout)?;
    check_len("y", y, rows * dout)?;
    if let Some(m) = mask {
        check_len("mask", m, rows * dout)?;
    }
    sgemm(Gemm {
        m: rows,
        k: din,
        n: dout,
        a: Strided::rows(x, din),
        b: Strided::rows(w, dout),
        c: StridedMut::ld(y, dout),
        accumulate: false,
    })?;
    for r in 0..rows {
        let row = &mut y[r * dout..(r + 1) * dout];
        for j in 0..dout {
            let mut v = row[j] + b[j];
            if let Some(m) = mask {
                v *= m[r * dout + j];
            }
            row[j] = if act == Activation::Tanh { v.tanh() } else { v };
        }
    }
    Ok(())
}

/// Backward pass of [`dense_forward`] given its output `y` and the gradient `dy` of `y`: writes `dw`
/// (`din × dout`), `db` (`dout`) and, when given, `dx` (`rows × din`).
pub fn dense_backward(
    rows: usize,
    din: usize,
    dout: usize,
    x: &[f32],
    w: &[f32],
    y: &[f32],
    mask: Option<&[f32]>,
    act: Activation,
    dy: &[f32],
    dx: Option<&mut [f32]>,
    dw: &mut [f32],
    db: &mut [f32],
) -> Result<()> {
    check_len("x", x, rows * din)?;
    check_len("w", w, din * dout)?;
    check_len("y", y, rows * dout)?;
    check_len("dy", dy, rows * dout)?;
    check_len("dw", dw, din * dout)?;
    check_len("db", db, dout)?;
    if let Some(m) = mask {
        check_len("mask", m, rows * dout)?;
    }
    // Gradient before the activation (and through the mask).
    let mut dpre = vec![0f32; rows * dout];
    for i in 0..rows * dout {
        let mut g = dy[i];
        if act == Activation::Tanh {
            g *= 1.0 - y[i] * y[i];
        }
        if let Some(m) = mask {
            g *= m[i];
        }
        dpre[i] = g;
    }
    db.iter_mut().for_each(|v| *v = 0.0);
    for r in 0..rows {
        crate::simd::axpy(1.0, &dpre[r * dout..(r + 1) * dout], db);
    }
    // dW = Xᵀ · dpre, dX = dpre · Wᵀ (transposes by strides).
    sgemm(Gemm {
        m: din,
        k: rows,
        n: dout,
        a: Strided::t(x, din),
        b: Strided::rows(&dpre, dout),
        c: StridedMut::ld(dw, dout),
        accumulate: false,
    })?;
    if let Some(dx) = dx {
        check_len("dx", dx, rows * din)?;
        sgemm(Gemm {
            m: rows,
            k: dout,
            n: din,
            a: Strided::rows(&dpre, dout),
            b: Strided::t(w, dout),
            c: StridedMut::ld(dx, din),
            accumulate: false,
        })?;
    }
    Ok(())
}

/// Which VAE head: MacridVAE's (`μ = a/‖a‖`, `σ = σ0·e^{−b/2}`, KL to `N(0, σ0²)` without its constant,
/// optionally `z` normalized for the cosine decoder) or MultVAE's (`μ`, `log σ²`, KL to `N(0, I)`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Head {
    Macrid { sigma0: f32, normalize_z: bool },
    Mult,
}

fn l2n(v: &[f32], out: &mut [f32]) -> f32 {
    let n = crate::simd::sum_sq(v).sqrt().max(1e-12);
    for j in 0..v.len() {
        out[j] = v[j] / n;
    }
    n
}

/// The VAE head over `rows` rows of the encoder output `y = [a | b]` (`rows × 2d`): writes `z`
/// (`rows × d`, the decoder's input: `μ + ε⊙σ`, or `μ` when `eps` is `None`, normalized for
/// `normalize_z`) and each row's KL term (`rows`): Macrid `½ Σ (b + e^{−b} − 1)`, Mult
/// `½ Σ (−log σ² + σ² + μ² − 1)` with `b = log σ²`.
pub fn head_forward(
    rows: usize,
    d: usize,
    y: &[f32],
    eps: Option<&[f32]>,
    head: Head,
    z: &mut [f32],
    kl: &mut [f32],
) -> Result<()> {
    check_len("y", y, rows * 2 * d)?;
    check_len("z", z, rows * d)?;
    check_len("kl", kl, rows)?;
    if let Some(e) = eps {
        check_len("eps", e, rows * d)?;
    }
    let mut mu = vec![0f32; d];
    for r in 0..rows {
        let a = &y[r * 2 * d..r * 2 * d + d];
        let b = &y[r * 2 * d + d..(r + 1) * 2 * d];
        let zr = &mut z[r * d..(r + 1) * d];
        let mut k = 0f32;
        match head {
            Head::Macrid {
                sigma0,
                normalize_z,
            } => {
                l2n(a, &mut mu);
                for j in 0..d {
                    let half = (-0.5 * b[j]).exp(); // e^{−b/2}; e^{−b} is its square
                    k += b[j] + half * half - 1.0;
                    zr[j] = match eps {
                        Some(eps) => mu[j] + eps[r * d + j] * sigma0 * half,
                        None => mu[j],
                    };
                }
                if normalize_z {
                    let n = crate::simd::sum_sq(zr).sqrt().max(1e-12);
                    zr.iter_mut().for_each(|v| *v /= n);
                }
            }
            Head::Mult => {
                for j in 0..d {
                    let lv = b[j];
                    k += -lv + lv.exp() + a[j] * a[j] - 1.0;
                    zr[j] = match eps {
                        Some(eps) => a[j] + eps[r * d + j] * (0.5 * lv).exp(),
                        None => a[j],
                    };
                }
            }
        }
        kl[r] = 0.5 * k;
    }
    Ok(())
}

/// Backward pass of [`head_forward`]: given `dz` and the weight `kl_scale` of `Σ_rows kl` in the loss,
/// writes `dy` (`rows × 2d`). Recomputes the forward quantities from `y` and `eps`.
pub fn head_backward(
    rows: usize,
    d: usize,
    y: &[f32],
    eps: Option<&[f32]>,
    head: Head,
    dz: &[f32],
    kl_scale: f32,
    dy: &mut [f32],
) -> Result<()> {
    check_len("y", y, rows * 2 * d)?;
    check_len("dz", dz, rows * d)?;
    check_len("dy", dy, rows * 2 * d)?;
    if let Some(e) = eps {
        check_len("eps", e, rows * d)?;
    }
    let mut mu = vec![0f32; d];
    let mut z = vec![0f32; d];
    let mut g = vec![0f32; d];
    let mut half = vec![0f32; d];
    for r in 0..rows {
        let a = &y[r * 2 * d..r * 2 * d + d];
        let b = &y[r * 2 * d + d..(r + 1) * 2 * d];
        let dzr = &dz[r * d..(r + 1) * d];
        let (da, db) = dy[r * 2 * d..(r + 1) * 2 * d].split_at_mut(d);
        match head {
            Head::Macrid {
                sigma0,
                normalize_z,
            } => {
                let an = l2n(a, &mut mu);
                for j in 0..d {
                    half[j] = (-0.5 * b[j]).exp();
                    z[j] = match eps {
                        Some(eps) => mu[j] + eps[r * d + j] * sigma0 * half[j],
                        None => mu[j],
                    };
                }
                // Through z/‖z‖: g = (dzn − zn (zn·dzn)) / ‖z‖.
                if normalize_z {
                    let zn_norm = crate::simd::sum_sq(&z).sqrt().max(1e-12);
                    let mut dot = 0f32;
                    for j in 0..d {
                        dot += z[j] / zn_norm * dzr[j];
                    }
                    for j in 0..d {
                        g[j] = (dzr[j] - z[j] / zn_norm * dot) / zn_norm;
                    }
                } else {
                    g.copy_from_slice(dzr);
                }
                // μ = a/‖a‖: da = (g − μ (μ·g)) / ‖a‖.
                let mg = crate::simd::dot(&mu, &g);
                for j in 0..d {
                    da[j] = (g[j] - mu[j] * mg) / an;
                    let sigma_term = match eps {
                        Some(eps) => -0.5 * g[j] * eps[r * d + j] * sigma0 * half[j],
                        None => 0.0,
                    };
                    db[j] = sigma_term + kl_scale * 0.5 * (1.0 - half[j] * half[j]);
                }
            }
            Head::Mult => {
                for j in 0..d {
                    let lv = b[j];
                    da[j] = dzr[j] + kl_scale * a[j];
                    let sample = match eps {
                        Some(eps) => 0.5 * dzr[j] * eps[r * d + j] * (0.5 * lv).exp(),
                        None => 0.0,
                    };
                    db[j] = sample + kl_scale * 0.5 * (lv.exp() - 1.0);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::fd::{all, rand, Fd, FD};
    use super::*;
    use crate::rng::Xoshiro256;

    #[test]
    fn dense_gradients_match_finite_differences() {
        let mut rng = Xoshiro256::new(1);
        let (rows, din, dout) = (5, 7, 6);
        let x = rand(&mut rng, rows * din, 1.0);
        let w = rand(&mut rng, din * dout, 0.5);
        let b = rand(&mut rng, dout, 0.1);
        let mask: Vec<f32> = (0..rows * dout)
            .map(|i| if i % 4 == 0 { 0.0 } else { 2.0 })
            .collect();
        let wts = rand(&mut rng, rows * dout, 1.0);
        for &act in &[Activation::Tanh, Activation::Identity] {
            let obj = |x: &[f32], w: &[f32]| -> f64 {
                let mut y = vec![0f32; rows * dout];
                dense_forward(rows, din, dout, x, w, &b, Some(&mask), act, &mut y).unwrap();
                y.iter().zip(&wts).map(|(a, b)| (a * b) as f64).sum()
            };
            let mut y = vec![0f32; rows * dout];
            dense_forward(rows, din, dout, &x, &w, &b, Some(&mask), act, &mut y).unwrap();
            let mut dx = vec![0f32; rows * din];
            let mut dw = vec![0f32; din * dout];
            let mut db = vec![0f32; dout];
            dense_backward(
                rows,
                din,
                dout,
                &x,
                &w,
                &y,
                Some(&mask),
                act,
                &wts,
                Some(&mut dx),
                &mut dw,
                &mut db,
            )
            .unwrap();
            // Parameters: 0 = x, 1 = w.
            let mut params = vec![x.clone(), w.clone()];
            let loss = |p: &Vec<Vec<f32>>| obj(&p[0], &p[1]);
            FD.check(&mut params, 1, "dw", &dw, &[0, 11, din * dout - 1], &loss);
            FD.check(&mut params, 0, "dx", &dx, &[0, 9, rows * din - 1], &loss);
        }
    }

    #[test]
    fn head_gradients_match_finite_differences() {
        let mut rng = Xoshiro256::new(2);
        let (rows, d) = (4, 5);
        let y = rand(&mut rng, rows * 2 * d, 1.0);
        let eps = rand(&mut rng, rows * d, 1.0);
        let wts = rand(&mut rng, rows * d, 1.0);
        let kl_scale = 0.3f32;
        for &head in &[
            Head::Macrid {
                sigma0: 0.3,
                normalize_z: true,
            },
            Head::Macrid {
                sigma0: 0.3,
                normalize_z: false,
            },
            Head::Mult,
        ] {
            for e in [Some(&eps[..]), None] {
                let obj = |y: &[f32]| -> f64 {
                    let mut z = vec![0f32; rows * d];
                    let mut kl = vec![0f32; rows];
                    head_forward(rows, d, y, e, head, &mut z, &mut kl).unwrap();
                    z.iter().zip(&wts).map(|(a, b)| (a * b) as f64).sum::<f64>()
                        + kl_scale as f64 * kl.iter().map(|&v| v as f64).sum::<f64>()
                };
                let mut dy = vec![0f32; rows * 2 * d];
                head_backward(rows, d, &y, e, head, &wts, kl_scale, &mut dy).unwrap();
                let mut params = vec![y.clone()];
                let fd = Fd { tol: 3e-3, ..FD };
                fd.check(
                    &mut params,
                    0,
                    &format!("{:?} dy", head),
                    &dy,
                    &all(rows * 2 * d),
                    &|p| obj(&p[0]),
                );
            }
        }
    }
}
