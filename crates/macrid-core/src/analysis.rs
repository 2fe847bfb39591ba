//! Macro and micro disentanglement analysis (paper §3.3–3.4): concept assignment of items, users'
//! per-concept confidence, alignment of learned concepts with known categories (NMI, ARI, accuracy
//! after the best one-to-one matching), per-dimension statistics. (Correlations and the independence
//! score are in [`crate::stats`].)
//!
//! Layouts: dense blocks are row-major `f32`; label arrays are `u32` with every label `< count`.

use crate::csr::CsrRef;
use crate::error::{check_len, Error, Result};
use crate::simd;

/// How items are compared with prototypes: the paper's cosine, or the inner-product ablation (Fig. 2e).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Similarity {
    Cosine,
    Inner,
}

/// Concept assignment of a batch of items: `c_i = softmax_k(s_ik)` with `s_ik = cos(h_i, m_k)/τ`
/// (or `h_i·m_k/τ`), as the model uses at evaluation (paper eq. 6).
///
/// Writes `out_c` (`items × concepts`), `out_concept` (`items`, the mode: argmax, ties to the lower
/// k) and `out_confidence` (`items`, `max_k c_ik`). An item of norm 0 has cosine 0 with every
/// prototype (uniform `c`, concept 0).
pub fn assign_concepts(
    h: &[f32],
    items: usize,
    d: usize,
    protos: &[f32],
    concepts: usize,
    tau: f64,
    sim: Similarity,
    out_c: &mut [f32],
    out_concept: &mut [u32],
    out_confidence: &mut [f32],
) -> Result<()> {
    check_len("h", h, items * d)?;
    if concepts == 0 {
        return Err(Error::invalid("'concepts' must be >= 1 but is 0"));
    }
    check_len("prototypes", protos, concepts * d)?;
    check_len("outC", out_c, items * concepts)?;
    check_len("outConcept", out_concept, items)?;
    check_len("outConfidence", out_confidence, items)?;
    if !(tau > 0.0 && tau.is_finite()) {
        return Err(Error::invalid(format!(
            "'tau' must be a finite number > 0 but is {}",
            tau
        )));
    }
    let mut inv = vec![1f64; concepts];
    if sim == Similarity::Cosine {
        for k in 0..concepts {
            let n = (simd::sum_sq(&protos[k * d..(k + 1) * d]) as f64).sqrt();
            if !(n > 0.0 && n.is_finite()) {
                return Err(Error::invalid(format!(
                    "'prototypes' row {} must have a finite, non-zero norm but has {}",
                    k, n
                )));
            }
            inv[k] = 1.0 / n;
        }
    }
    let mut s = vec![0f64; concepts];
    for i in 0..items {
        let hi = &h[i * d..(i + 1) * d];
        let hn = if sim == Similarity::Cosine {
            let n = (simd::sum_sq(hi) as f64).sqrt();
            if n > 0.0 {
                1.0 / n
            } else {
                0.0
            }
        } else {
            1.0
        };
        let mut best = f64::NEG_INFINITY;
        let mut arg = 0usize;
        for k in 0..concepts {
            let v = simd::dot(hi, &protos[k * d..(k + 1) * d]) as f64 * inv[k] * hn / tau;
            if v.is_nan() {
                return Err(Error::invalid(format!(
                    "'h' row {} gives a NaN similarity with prototype {}",
                    i, k
                )));
            }
            s[k] = v;
            if v > best {
                best = v;
                arg = k;
            }
        }
        let mut z = 0f64;
        for k in 0..concepts {
            s[k] = (s[k] - best).exp();
            z += s[k];
        }
        for k in 0..concepts {
            out_c[i * concepts + k] = (s[k] / z) as f32;
        }
        out_concept[i] = arg as u32;
        out_confidence[i] = (1.0 / z) as f32;
    }
    Ok(())
}

/// Each user's per-concept confidence `Σ_{i ∈ x_u} c_ik` (paper §3.3), for a batch of users given as a
/// CSR over the items. `c` is `items × concepts`; `out` is `users × concepts`.
pub fn user_concept_confidence(
    c: &[f32],
    concepts: usize,
    x: &CsrRef<'_>,
    out: &mut [f32],
) -> Result<()> {
    check_len("c", c, x.cols * concepts)?;
    check_len("out", out, x.rows() * concepts)?;
    let mut acc = vec![0f64; concepts];
    for u in 0..x.rows() {
        for a in acc.iter_mut() {
            *a = 0.0;
        }
        for &i in x.row(u) {
            let ci = &c[i as usize * concepts..(i as usize + 1) * concepts];
            for k in 0..concepts {
                acc[k] += ci[k] as f64;
            }
        }
        for k in 0..concepts {
            out[u * concepts + k] = acc[k] as f32;
        }
    }
    Ok(())
}

/// The contingency table `n_ab` (`na × nb`, row-major) of two labelings of the same points.
pub fn contingency(a: &[u32], na: usize, b: &[u32], nb: usize) -> Result<Vec<u64>> {
    check_len("b", b, a.len())?;
    let mut t = vec![0u64; na * nb];
    for p in 0..a.len() {
        let (x, y) = (a[p] as usize, b[p] as usize);
        if x >= na {
            return Err(Error::out_of_range(format!(
                "'a[{}]' = {} is out of range for {} labels",
                p, x, na
            )));
        }
        if y >= nb {
            return Err(Error::out_of_range(format!(
                "'b[{}]' = {} is out of range for {} labels",
                p, y, nb
            )));
        }
        t[x * nb + y] += 1;
    }
    Ok(t)
}

fn margins(t: &[u64], na: usize, nb: usize) -> (Vec<u64>, Vec<u64>, u64) {
    let mut ra = vec![0u64; na];
    let mut cb = vec![0u64; nb];
    for x in 0..na {
        for y in 0..nb {
            ra[x] += t[x * nb + y];
            cb[y] += t[x * nb + y];
        }
    }
    let n = ra.iter().sum();
    (ra, cb, n)
}

/// Normalized mutual information with the arithmetic-mean normalization (scikit-learn's default):
/// `NMI = I(A;B) / ((H(A) + H(B))/2)`, natural logs. 1 when both labelings have a single class
/// (or there are no points), 0 when only one of them does.
pub fn nmi(t: &[u64], na: usize, nb: usize) -> Result<f64> {
    check_len("table", t, na * nb)?;
    let (ra, cb, n) = margins(t, na, nb);
    let used_a = ra.iter().filter(|&&x| x > 0).count();
    let used_b = cb.iter().filter(|&&x| x > 0).count();
    if n == 0 || (used_a <= 1 && used_b <= 1) {
        return Ok(1.0);
    }
    let nf = n as f64;
    let ent = |m: &[u64]| -> f64 {
        m.iter()
            .filter(|&&x| x > 0)
            .map(|&x| {
                let p = x as f64 / nf;
                -p * p.ln()
            })
            .sum()
    };
    let (ha, hb) = (ent(&ra), ent(&cb));
    let mut mi = 0f64;
    for x in 0..na {
        for y in 0..nb {
            let v = t[x * nb + y];
            if v > 0 {
                let v = v as f64;
                mi += v / nf * (v * nf / (ra[x] as f64 * cb[y] as f64)).ln();
            }
        }
    }
    let denom = 0.5 * (ha + hb);
    if denom <= 0.0 {
        return Ok(0.0);
    }
    Ok((mi / denom).clamp(0.0, 1.0))
}

fn comb2(x: u64) -> f64 {
    let x = x as f64;
    x * (x - 1.0) / 2.0
}

/// Adjusted Rand index (Hubert & Arabie 1985):
/// `(Σ C(n_ab,2) − E) / (½(Σ C(a,2) + Σ C(b,2)) − E)` with `E = Σ C(a,2) Σ C(b,2) / C(n,2)`.
/// 1 when the denominator is 0 (both labelings trivial and identical in structure).
pub fn ari(t: &[u64], na: usize, nb: usize) -> Result<f64> {
    check_len("table", t, na * nb)?;
    let (ra, cb, n) = margins(t, na, nb);
    let sum_ab: f64 = t.iter().map(|&v| comb2(v)).sum();
    let sum_a: f64 = ra.iter().map(|&v| comb2(v)).sum();
    let sum_b: f64 = cb.iter().map(|&v| comb2(v)).sum();
    let total = comb2(n);
    if total == 0.0 {
        return Ok(1.0);
    }
    let expected = sum_a * sum_b / total;
    let max = 0.5 * (sum_a + sum_b);
    if max - expected == 0.0 {
        return Ok(1.0);
    }
    Ok((sum_ab - expected) / (max - expected))
}

/// The one-to-one matching of rows to columns of a `rows × cols` weight table that maximizes the total
/// weight (Hungarian algorithm, Kuhn–Munkres with potentials, `O(n³)` for `n = max(rows, cols)`).
/// Returns, for each row, its column, or `u32::MAX` when there are more rows than columns and the row
/// is left unmatched. Weights must be finite.
pub fn hungarian_max(w: &[f64], rows: usize, cols: usize) -> Result<Vec<u32>> {
    check_len("weights", w, rows * cols)?;
    if let Some(p) = w.iter().position(|x| !x.is_finite()) {
        return Err(Error::invalid(format!(
            "'weights[{}]' must be finite but is {}",
            p, w[p]
        )));
    }
    let n = rows.max(cols);
    if n == 0 {
        return Ok(Vec::new());
    }
    let max = w.iter().cloned().fold(0f64, f64::max);
    // Square cost matrix (1-based as in the classic formulation), padding with cost `max` (weight 0).
    let cost = |i: usize, j: usize| -> f64 {
        if i <= rows && j <= cols {
            max - w[(i - 1) * cols + (j - 1)]
        } else {
            max
        }
    };
    let mut u = vec![0f64; n + 1];
    let mut v = vec![0f64; n + 1];
    let mut p = vec![0usize; n + 1]; // p[j]: row matched to column j
    let mut way = vec![0usize; n + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        let mut minv = vec![f64::INFINITY; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0usize;
            for j in 1..=n {
                if !used[j] {
                    let cur = cost(i0, j) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            if j1 == 0 {
                return Err(Error::new(
                    crate::ErrorKind::Internal,
                    "hungarian_max: no augmenting column found",
                ));
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut out = vec![u32::MAX; rows];
    for j in 1..=n {
        let i = p[j];
        if i >= 1 && i <= rows && j <= cols {
            out[i - 1] = (j - 1) as u32;
        }
    }
    Ok(out)
}

/// Per-column statistics of `x` (`n × d`): `out` is `4 × d` — rows mean, standard deviation
/// (population), min, max. `n` must be >= 1.
pub fn column_stats(x: &[f32], n: usize, d: usize, out: &mut [f64]) -> Result<()> {
    check_len("x", x, n * d)?;
    check_len("out", out, 4 * d)?;
    if n == 0 {
        return Err(Error::invalid("'x' must have at least 1 row"));
    }
    for l in 0..d {
        let (mut s, mut mn, mut mx) = (0f64, f64::INFINITY, f64::NEG_INFINITY);
        for r in 0..n {
            let v = x[r * d + l] as f64;
            s += v;
            mn = mn.min(v);
            mx = mx.max(v);
        }
        let mean = s / n as f64;
        let mut ss = 0f64;
        for r in 0..n {
            let v = x[r * d + l] as f64 - mean;
            ss += v * v;
        }
        out[l] = mean;
        out[d + l] = (ss / n as f64).sqrt();
        out[2 * d + l] = mn;
        out[3 * d + l] = mx;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn nmi_and_ari_closed_form() {
        // a = [0,0,1,1], b = [0,0,1,2]: I = ln 2, H(a) = ln 2, H(b) = 1.5 ln 2 → NMI = 1/1.25 = 0.8.
        let t = contingency(&[0, 0, 1, 1], 2, &[0, 0, 1, 2], 3).unwrap();
        assert_eq!(t, vec![2, 0, 0, 0, 1, 1]);
        assert!(close(nmi(&t, 2, 3).unwrap(), 0.8));
        // ARI: Σ C(n_ab,2) = 1, Σ C(a,2) = 2, Σ C(b,2) = 1, C(4,2) = 6 → E = 1/3,
        // (1 − 1/3)/(1.5 − 1/3) = 4/7.
        assert!(close(ari(&t, 2, 3).unwrap(), 4.0 / 7.0));
        // identical up to relabeling → 1, 1
        let t = contingency(&[0, 0, 1, 2], 3, &[2, 2, 0, 1], 3).unwrap();
        assert!(close(nmi(&t, 3, 3).unwrap(), 1.0));
        assert!(close(ari(&t, 3, 3).unwrap(), 1.0));
        // independent: a = [0,0,1,1], b = [0,1,0,1] → NMI 0; ARI = (0 − 1/3)/(1 − 1/3) = −1/2
        let t = contingency(&[0, 0, 1, 1], 2, &[0, 1, 0, 1], 2).unwrap();
        assert!(close(nmi(&t, 2, 2).unwrap(), 0.0));
        assert!(close(ari(&t, 2, 2).unwrap(), -0.5));
        // single class on both sides → 1 (scikit-learn's convention); on one side → 0
        let t = contingency(&[0, 0, 0], 1, &[1, 1, 1], 2).unwrap();
        assert!(close(nmi(&t, 1, 2).unwrap(), 1.0));
        let t = contingency(&[0, 0, 0], 1, &[0, 1, 1], 2).unwrap();
        assert!(close(nmi(&t, 1, 2).unwrap(), 0.0));
    }

    #[test]
    fn hungarian_hand_cases_and_brute_force() {
        // the best matching of [[1,5],[4,2]] is the anti-diagonal (5 + 4)
        assert_eq!(
            hungarian_max(&[1.0, 5.0, 4.0, 2.0], 2, 2).unwrap(),
            vec![1, 0]
        );
        // 3 rows, 2 columns: the weakest row stays unmatched
        let m = hungarian_max(&[3.0, 0.0, 0.0, 1.0, 5.0, 4.0], 3, 2).unwrap();
        assert_eq!(m, vec![0, u32::MAX, 1]);
        // rectangular the other way
        assert_eq!(hungarian_max(&[1.0, 9.0, 2.0], 1, 3).unwrap(), vec![1]);
        // brute force over permutations of 5
        let mut r = crate::rng::Xoshiro256::new(4);
        for _ in 0..50 {
            let n = 5;
            let w: Vec<f64> = (0..n * n).map(|_| r.below(20) as f64).collect();
            let m = hungarian_max(&w, n, n).unwrap();
            let got: f64 = (0..n).map(|i| w[i * n + m[i] as usize]).sum();
            let mut perm: Vec<usize> = (0..n).collect();
            let mut best = 0f64;
            permute(&mut perm, 0, &mut |p| {
                best = best.max((0..n).map(|i| w[i * n + p[i]]).sum());
            });
            assert_eq!(got, best);
        }
    }

    fn permute(p: &mut Vec<usize>, k: usize, f: &mut dyn FnMut(&[usize])) {
        if k == p.len() {
            f(p);
            return;
        }
        for i in k..p.len() {
            p.swap(k, i);
            permute(p, k + 1, f);
            p.swap(k, i);
        }
    }

    #[test]
    fn column_stats_closed_form() {
        // columns: x = 0..4, 2x + 1, −x, constant 3
        let x: Vec<f32> = (0..5)
            .flat_map(|r| {
                let v = r as f32;
                vec![v, 2.0 * v + 1.0, -v, 3.0]
            })
            .collect();
        let mut s = vec![0f64; 16];
        column_stats(&x, 5, 4, &mut s).unwrap();
        assert!(
            close(s[0], 2.0) && close(s[4], 2f64.sqrt()) && close(s[8], 0.0) && close(s[12], 4.0)
        );
        assert!(close(s[1], 5.0) && close(s[5], 2.0 * 2f64.sqrt()));
        assert!(close(s[7], 0.0) && close(s[11], 3.0) && close(s[15], 3.0));
    }

    #[test]
    fn concepts_and_user_confidence() {
        // prototypes e0 (norm 2) and e1; items: e0, e1 scaled, and the zero vector
        let protos = [2.0f32, 0.0, 0.0, 1.0];
        let h = [3.0f32, 0.0, 0.0, 0.5, 0.0, 0.0];
        let (mut c, mut k, mut conf) = (vec![0f32; 6], vec![0u32; 3], vec![0f32; 3]);
        assign_concepts(
            &h,
            3,
            2,
            &protos,
            2,
            0.1,
            Similarity::Cosine,
            &mut c,
            &mut k,
            &mut conf,
        )
        .unwrap();
        assert_eq!(k, vec![0, 1, 0]);
        let e10 = (10f64).exp();
        assert!(((c[0] as f64) - e10 / (e10 + 1.0)).abs() < 1e-6);
        assert!((c[4] - 0.5).abs() < 1e-7 && (conf[2] - 0.5).abs() < 1e-7);
        // inner product: item 1 = (0, 0.5) has scores (0, 5) → concept 1
        assign_concepts(
            &h,
            3,
            2,
            &protos,
            2,
            0.1,
            Similarity::Inner,
            &mut c,
            &mut k,
            &mut conf,
        )
        .unwrap();
        assert_eq!(k, vec![0, 1, 0]);
        assert!(((c[0] as f64) - 1.0 / (1.0 + (-60f64).exp())).abs() < 1e-6);
        let x = CsrRef::new("x", &[0, 2, 2, 3], &[0, 1, 2], 3).unwrap();
        let mut out = vec![0f32; 6];
        user_concept_confidence(&c, 2, &x, &mut out).unwrap();
        assert!((out[0] + out[1] - 2.0).abs() < 1e-6);
        assert_eq!(&out[2..4], &[0.0, 0.0]);
        assert_eq!(out[4], c[4]);
    }
}
