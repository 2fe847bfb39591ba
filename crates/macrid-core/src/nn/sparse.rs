//! The encoder's first layer on the sparse click matrix, per concept (see the module doc of `nn`).

use super::check_dims;
use crate::csr::CsrRef;
use crate::error::{check_len, Error, Result};

/// Forward pass of the per-concept sparse encoder layer (see the module doc).
///
/// `mask`: `nnz × K` dropout multipliers (0 or 1/keep), `None` for all ones; `c`: `items × K`, `None`
/// only when `K == 1` (then `c ≡ 1`); `t`: `items × d`. Writes `out` (`users × K × d`) and `norms`
/// (`users × K`, the denominators, needed by the backward pass).
pub fn sparse_mix_forward(
    x: &CsrRef,
    concepts: usize,
    d: usize,
    mask: Option<&[f32]>,
    c: Option<&[f32]>,
    t: &[f32],
    eps: f32,
    out: &mut [f32],
    norms: &mut [f32],
) -> Result<()> {
    let (users, items, nnz) = (x.rows(), x.cols, x.indices.len());
    check_dims(users, concepts, d, items)?;
    check_sparse_args(items, nnz, concepts, d, mask, c, t)?;
    check_len("out", out, users * concepts * d)?;
    check_len("norms", norms, users * concepts)?;
    let mut ss = vec![0f32; concepts];
    for b in 0..users {
        let (lo, hi) = (x.indptr[b] as usize, x.indptr[b + 1] as usize);
        // Items outer, concepts inner: each t_i row is read once and the user's K × d block stays in L1.
        let ob = &mut out[b * concepts * d..(b + 1) * concepts * d];
        ob.iter_mut().for_each(|v| *v = 0.0);
        ss.iter_mut().for_each(|v| *v = 0.0);
        for p in lo..hi {
            let i = x.indices[p] as usize;
            let ti = &t[i * d..(i + 1) * d];
            for k in 0..concepts {
                let ck = c.map_or(1.0, |c| c[i * concepts + k]);
                ss[k] += ck * ck;
                let w = mask.map_or(1.0, |m| m[p * concepts + k]) * ck;
                if w != 0.0 {
                    crate::simd::axpy(w, ti, &mut ob[k * d..(k + 1) * d]);
                }
            }
        }
        for k in 0..concepts {
            let n = (ss[k] + eps).sqrt();
            norms[b * concepts + k] = n;
            let inv = 1.0 / n;
            ob[k * d..(k + 1) * d].iter_mut().for_each(|v| *v *= inv);
        }
    }
    Ok(())
}

/// Backward pass of [`sparse_mix_forward`]: given `out` and `norms` from the forward pass and the
/// gradient `dout` of `out`, writes the gradients `dt` (`items × d`) and, when `c` is given, `dc`
/// (`items × K`). Both are overwritten.
pub fn sparse_mix_backward(
    x: &CsrRef,
    concepts: usize,
    d: usize,
    mask: Option<&[f32]>,
    c: Option<&[f32]>,
    t: &[f32],
    norms: &[f32],
    out: &[f32],
    dout: &[f32],
    dc: Option<&mut [f32]>,
    dt: &mut [f32],
) -> Result<()> {
    let (users, items, nnz) = (x.rows(), x.cols, x.indices.len());
    check_dims(users, concepts, d, items)?;
    check_sparse_args(items, nnz, concepts, d, mask, c, t)?;
    check_len("norms", norms, users * concepts)?;
    check_len("out", out, users * concepts * d)?;
    check_len("dout", dout, users * concepts * d)?;
    check_len("dt", dt, items * d)?;
    let mut dc = dc;
    if let Some(dc) = dc.as_deref_mut() {
        check_len("dc", dc, items * concepts)?;
        dc.iter_mut().for_each(|v| *v = 0.0);
    }
    dt.iter_mut().for_each(|v| *v = 0.0);
    let mut ds = vec![0f32; concepts * d];
    let mut dn_over_n = vec![0f32; concepts];
    for b in 0..users {
        let (lo, hi) = (x.indptr[b] as usize, x.indptr[b + 1] as usize);
        // out = S / n: dS = dout / n; dn = −(dout · out) / n; dn/dc_ik = c_ik / n.
        for k in 0..concepts {
            let r = (b * concepts + k) * d;
            let n = norms[b * concepts + k];
            let g = &dout[r..r + d];
            for j in 0..d {
                ds[k * d + j] = g[j] / n;
            }
            dn_over_n[k] = -crate::simd::dot(g, &out[r..r + d]) / (n * n);
        }
        // Items outer: each t_i row and dt_i row is touched once per user.
        for p in lo..hi {
            let i = x.indices[p] as usize;
            let ti = &t[i * d..(i + 1) * d];
            let dti = &mut dt[i * d..(i + 1) * d];
            for k in 0..concepts {
                let ck = c.map_or(1.0, |c| c[i * concepts + k]);
                let m = mask.map_or(1.0, |m| m[p * concepts + k]);
                let dsk = &ds[k * d..(k + 1) * d];
                if let Some(dc) = dc.as_deref_mut() {
                    let mut v = dn_over_n[k] * ck;
                    if m != 0.0 {
                        v += m * crate::simd::dot(ti, dsk);
                    }
                    dc[i * concepts + k] += v;
                }
                if m * ck != 0.0 {
                    crate::simd::axpy(m * ck, dsk, dti);
                }
            }
        }
    }
    Ok(())
}

fn check_sparse_args(
    items: usize,
    nnz: usize,
    concepts: usize,
    d: usize,
    mask: Option<&[f32]>,
    c: Option<&[f32]>,
    t: &[f32],
) -> Result<()> {
    if let Some(m) = mask {
        check_len("mask", m, nnz * concepts)?;
    }
    match c {
        Some(c) => check_len("c", c, items * concepts)?,
        None if concepts != 1 => {
            return Err(Error::invalid(format!(
                "'c' is required when concepts = {} (only one concept may omit it)",
                concepts
            )))
        }
        None => {}
    }
    check_len("t", t, items * d)
}

#[cfg(test)]
mod tests {
    use super::super::fd::{all, rand, FD};
    use super::*;
    use crate::rng::Xoshiro256;

    #[test]
    fn sparse_mix_gradients_match_finite_differences() {
        let mut rng = Xoshiro256::new(5);
        let (users, kk, d, m) = (3, 2, 4, 9);
        let indptr = vec![0u32, 3, 3, 7];
        let indices = vec![0u32, 4, 8, 1, 2, 4, 7];
        let x = CsrRef::new("x", &indptr, &indices, m).unwrap();
        let nnz = indices.len();
        let mask: Vec<f32> = (0..nnz * kk)
            .map(|p| if p % 3 == 0 { 0.0 } else { 2.0 })
            .collect();
        let mut c = rand(&mut rng, m * kk, 1.0);
        c.iter_mut().for_each(|v| *v = v.abs() + 0.1);
        let t = rand(&mut rng, m * d, 1.0);
        let wts = rand(&mut rng, users * kk * d, 1.0);
        let obj = |c: &[f32], t: &[f32]| -> f64 {
            let mut out = vec![0f32; users * kk * d];
            let mut norms = vec![0f32; users * kk];
            sparse_mix_forward(
                &x,
                kk,
                d,
                Some(&mask),
                Some(c),
                t,
                1e-8,
                &mut out,
                &mut norms,
            )
            .unwrap();
            out.iter()
                .zip(wts.iter())
                .map(|(a, b)| (a * b) as f64)
                .sum()
        };
        let mut out = vec![0f32; users * kk * d];
        let mut norms = vec![0f32; users * kk];
        sparse_mix_forward(
            &x,
            kk,
            d,
            Some(&mask),
            Some(&c),
            &t,
            1e-8,
            &mut out,
            &mut norms,
        )
        .unwrap();
        // empty row: zero output
        assert!(out[kk * d..2 * kk * d].iter().all(|&v| v == 0.0));
        let mut dc = vec![0f32; m * kk];
        let mut dt = vec![0f32; m * d];
        sparse_mix_backward(
            &x,
            kk,
            d,
            Some(&mask),
            Some(&c),
            &t,
            &norms,
            &out,
            &wts,
            Some(&mut dc),
            &mut dt,
        )
        .unwrap();
        // Parameters: 0 = c, 1 = t.
        let mut params = vec![c, t];
        let loss = |p: &Vec<Vec<f32>>| obj(&p[0], &p[1]);
        FD.check(&mut params, 0, "dc", &dc, &all(m * kk), &loss);
        FD.check(&mut params, 1, "dt", &dt, &all(m * d), &loss);
    }

    #[test]
    fn missing_c_with_several_concepts_is_an_error() {
        let indptr = vec![0u32, 1];
        let indices = vec![0u32];
        let x = CsrRef::new("x", &indptr, &indices, 2).unwrap();
        let mut out = vec![0f32; 2 * 3];
        let mut norms = vec![0f32; 2];
        let e = sparse_mix_forward(&x, 2, 3, None, None, &[0.0; 6], 0.0, &mut out, &mut norms)
            .unwrap_err();
        assert!(e.message.contains("'c' is required"), "{}", e.message);
    }
}
