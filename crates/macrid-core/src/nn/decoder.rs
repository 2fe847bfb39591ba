//! The fused decoder and its multinomial log-likelihood, full and sampled softmax (see the module doc
//! of `nn`).

use super::check_dims;
use crate::csr::CsrRef;
use crate::error::{check_len, Error, Result};
use crate::gemm::{sgemm, transpose, Gemm, Strided, StridedMut};
use crate::vec4::{exp1, exp4, F4};

/// Floor applied to `q` before dividing by it or taking its log (`q` underflows only with unbounded
/// logits, i.e. the inner-product ablation).
const TINY: f32 = 1e-30;

/// Floats of scratch one chunk of users may use for its `users × K × items` block (2 MiB, the L2 size),
/// but at least [`MIN_CHUNK_USERS`] users so the `dh` update keeps a useful depth.
const CHUNK_FLOATS: usize = 1 << 19;
const MIN_CHUNK_USERS: usize = 8;

/// The dense part of the decoder's backward pass for one (user, concept) row of `e = exp(l − shift)`:
/// `dk += a·e` (the concept-assignment gradient, when wanted) and `e ← fs·c·e` (the logits' gradient),
/// in one SIMD pass. Shared by the full and the sampled softmax.
fn dense_backward_row(row: &mut [f32], ck: &[f32], dk: Option<&mut [f32]>, a: f32, fs: f32) {
    let n = row.len();
    let n4 = n / 4 * 4;
    let (av, f) = (F4::splat(a), F4::splat(fs));
    let mut i = 0;
    match dk {
        Some(dk) => {
            while i < n4 {
                let ev = F4::load(&row[i..]);
                F4::load(&dk[i..]).add(av.mul(ev)).store(&mut dk[i..]);
                f.mul(F4::load(&ck[i..])).mul(ev).store(&mut row[i..]);
                i += 4;
            }
            for i in n4..n {
                dk[i] += a * row[i];
                row[i] *= fs * ck[i];
            }
        }
        None => {
            while i < n4 {
                f.mul(F4::load(&ck[i..]))
                    .mul(F4::load(&row[i..]))
                    .store(&mut row[i..]);
                i += 4;
            }
            for i in n4..n {
                row[i] *= fs * ck[i];
            }
        }
    }
}

/// The fused decoder of one batch: inputs borrowed, see the module doc for the formulas.
pub struct MixDecoder<'a> {
    pub users: usize,
    /// Concepts `K` (1 for MultVAE/MultDAE).
    pub concepts: usize,
    pub d: usize,
    pub items: usize,
    /// `(users·K) × d`.
    pub z: &'a [f32],
    /// `items × d`.
    pub h: &'a [f32],
    /// `items × K`; `None` only when `K == 1` (then `c ≡ 1`).
    pub c: Option<&'a [f32]>,
    /// `items`, added to every logit of the item.
    pub bias: Option<&'a [f32]>,
    /// Multiplies the dot products (`1/τ` for MacridVAE, 1 for MultVAE).
    pub scale: f32,
    /// An upper bound on every logit, subtracted before `exp` (`1/τ` when `z` and `h` are unit vectors);
    /// `None`: each user's maximum logit is used.
    pub bound: Option<f32>,
}

/// Gradients written by [`MixDecoder::train`] (all overwritten).
pub struct MixGrads<'a> {
    /// Per-user loss `−Σ_{i∈x_b} log p[b,i]` (not scaled).
    pub loss: &'a mut [f32],
    /// `(users·K) × d`.
    pub dz: &'a mut [f32],
    /// `items × d`.
    pub dh: &'a mut [f32],
    /// `items × K`, required when `c` is given.
    pub dc: Option<&'a mut [f32]>,
    /// `items`, required when `bias` is given.
    pub dbias: Option<&'a mut [f32]>,
}

/// Per-call state: transposed copies of `h` and `c` and the chunk buffers.
struct Work {
    ht: Vec<f32>,
    ct: Vec<f32>,
    e: Vec<f32>,
    q: Vec<f32>,
    chunk: usize,
}

impl<'a> MixDecoder<'a> {
    fn check(&self) -> Result<()> {
        check_dims(self.users, self.concepts, self.d, self.items)?;
        check_len("z", self.z, self.users * self.concepts * self.d)?;
        check_len("h", self.h, self.items * self.d)?;
        match self.c {
            Some(c) => check_len("c", c, self.items * self.concepts)?,
            None if self.concepts != 1 => {
                return Err(Error::invalid(format!(
                    "'c' is required when concepts = {}",
                    self.concepts
                )))
            }
            None => {}
        }
        if let Some(b) = self.bias {
            check_len("bias", b, self.items)?;
        }
        if !self.scale.is_finite() {
            return Err(Error::invalid(format!(
                "'scale' must be finite but is {}",
                self.scale
            )));
        }
        if let Some(s) = self.bound {
            if !s.is_finite() {
                return Err(Error::invalid(format!(
                    "'bound' must be finite but is {}",
                    s
                )));
            }
        }
        Ok(())
    }

    fn work(&self) -> Result<Work> {
        let (kk, m) = (self.concepts, self.items);
        let mut ht = vec![0f32; self.d * m];
        transpose(self.h, m, self.d, &mut ht)?;
        let mut ct = vec![1f32; kk * m];
        if let Some(c) = self.c {
            transpose(c, m, kk, &mut ct)?;
        }
        let chunk = (CHUNK_FLOATS / (kk * m).max(1))
            .max(MIN_CHUNK_USERS)
            .min(self.users.max(1));
        Ok(Work {
            ht,
            ct,
            e: vec![0f32; chunk * kk * m],
            q: vec![0f32; chunk * m],
            chunk,
        })
    }

    /// Fills `w.e` with `e^{l − shift_b}` and `w.q` with `q` for users `b0..b0+nb`; returns each user's
    /// `(shift_b, Q_b = Σ_i q_bi)`.
    /// `floor`: per-user lower bounds on the shift (chunk-local; the sampled variant's positives).
    fn forward_chunk(
        &self,
        w: &mut Work,
        b0: usize,
        nb: usize,
        floor: Option<&[f32]>,
    ) -> Result<Vec<(f32, f32)>> {
        let (kk, d, m) = (self.concepts, self.d, self.items);
        let rows = nb * kk;
        let e = &mut w.e[..rows * m];
        sgemm(Gemm {
            m: rows,
            k: d,
            n: m,
            a: Strided::rows(&self.z[b0 * kk * d..], d),
            b: Strided::rows(&w.ht, m),
            c: StridedMut::ld(e, m),
            accumulate: false,
        })?;
        let scale = F4::splat(self.scale);
        let m4 = m / 4 * 4;
        let mut out = Vec::with_capacity(nb);
        for bl in 0..nb {
            let shift = match self.bound {
                Some(s) => s.max(floor.map_or(f32::NEG_INFINITY, |f| f[bl])),
                None => {
                    let mut mx = f32::NEG_INFINITY;
                    for k in 0..kk {
                        let row = &e[(bl * kk + k) * m..(bl * kk + k + 1) * m];
                        for i in 0..m {
                            let l = self.scale * row[i] + self.bias.map_or(0.0, |b| b[i]);
                            if l > mx {
                                mx = l;
                            }
                        }
                    }
                    let mx = mx.max(floor.map_or(f32::NEG_INFINITY, |f| f[bl]));
                    if mx.is_finite() {
                        mx
                    } else {
                        0.0
                    }
                }
            };
            let sv = F4::splat(shift);
            let q = &mut w.q[bl * m..(bl + 1) * m];
            let block = &mut e[bl * kk * m..(bl + 1) * kk * m];
            // One pass over the user's K rows: e = exp(l − shift) stored in place, q accumulated in a register.
            let mut i = 0;
            while i < m4 {
                let bv = match self.bias {
                    Some(b) => F4::load(&b[i..]).sub(sv),
                    None => F4::zero().sub(sv),
                };
                let mut qv = F4::zero();
                for k in 0..kk {
                    let at = k * m + i;
                    let ev = exp4(F4::load(&block[at..]).mul(scale).add(bv));
                    ev.store(&mut block[at..]);
                    qv = qv.add(F4::load(&w.ct[at..]).mul(ev));
                }
                qv.store(&mut q[i..]);
                i += 4;
            }
            for i in m4..m {
                let mut qs = 0f32;
                for k in 0..kk {
                    let at = k * m + i;
                    let l = self.scale * block[at] + self.bias.map_or(0.0, |b| b[i]);
                    let ev = exp1(l - shift);
                    block[at] = ev;
                    qs += w.ct[at] * ev;
                }
                q[i] = qs;
            }
            let mut acc = F4::zero();
            let mut i = 0;
            while i < m4 {
                acc = acc.add(F4::load(&q[i..]));
                i += 4;
            }
            let mut total = acc.sum();
            for v in &q[m4..] {
                total += v;
            }
            out.push((shift, total));
        }
        Ok(out)
    }

    /// Log-probabilities `log p[b,i]` of every item for every user (`users × items`), as used for ranking.
    pub fn log_probs(&self, out: &mut [f32]) -> Result<()> {
        self.check()?;
        check_len("out", out, self.users * self.items)?;
        if self.users == 0 || self.items == 0 {
            return Ok(());
        }
        let m = self.items;
        let mut w = self.work()?;
        let mut b0 = 0;
        while b0 < self.users {
            let nb = w.chunk.min(self.users - b0);
            let stats = self.forward_chunk(&mut w, b0, nb, None)?;
            for (bl, &(_, total)) in stats.iter().enumerate() {
                let lz = total.max(TINY).ln();
                let q = &w.q[bl * m..(bl + 1) * m];
                let o = &mut out[(b0 + bl) * m..(b0 + bl + 1) * m];
                for i in 0..m {
                    o[i] = q[i].max(TINY).ln() - lz;
                }
            }
            b0 += nb;
        }
        Ok(())
    }

    /// Loss and gradients for clicks `x` (`users × items` CSR); gradients are those of
    /// `grad_scale · Σ_b loss_b`.
    pub fn train(&self, x: &CsrRef, grad_scale: f32, g: MixGrads) -> Result<()> {
        self.check()?;
        let (users, kk, d, m) = (self.users, self.concepts, self.d, self.items);
        if x.rows() != users || x.cols != m {
            return Err(Error::invalid(format!(
                "'x' must be {}×{} but is {}×{}",
                users,
                m,
                x.rows(),
                x.cols
            )));
        }
        self.check_grads(&g)?;
        let mut dc = g.dc;
        let mut dbias = g.dbias;
        g.dh.iter_mut().for_each(|v| *v = 0.0);
        if let Some(db) = dbias.as_deref_mut() {
            db.iter_mut().for_each(|v| *v = 0.0);
        }
        if users == 0 || m == 0 {
            g.dz.iter_mut().for_each(|v| *v = 0.0);
            g.loss.iter_mut().for_each(|v| *v = 0.0);
            if let Some(dc) = dc.as_deref_mut() {
                dc.iter_mut().for_each(|v| *v = 0.0);
            }
            return Ok(());
        }
        let mut w = self.work()?;
        // dc accumulates in the transposed (K × items) layout the vector loops walk.
        let mut dct = vec![0f32; if self.c.is_some() { kk * m } else { 0 }];
        let mut b0 = 0;
        while b0 < users {
            let nb = w.chunk.min(users - b0);
            let stats = self.forward_chunk(&mut w, b0, nb, None)?;
            let rows = nb * kk;
            for (bl, &(_, total)) in stats.iter().enumerate() {
                let b = b0 + bl;
                let pos = x.row(b);
                let q = &w.q[bl * m..(bl + 1) * m];
                let total = total.max(TINY);
                // loss_b = −Σ_{i∈x_b} log(q_bi / Q_b)
                let mut loss = 0f32;
                for &i in pos {
                    loss -= (q[i as usize].max(TINY) / total).ln();
                }
                g.loss[b] = loss;
                // d(grad_scale·loss_b)/d log q_bi = a_b q_bi − grad_scale·x_bi with a_b = grad_scale·n_b/Q_b.
                // Through q_bi = Σ_k c_ik e_bki: dl_bki = (a_b − grad_scale·x_bi/q_bi) c_ik e_bki,
                // dc_ik += (a_b − grad_scale·x_bi/q_bi) e_bki, dbias_i += a_b q_bi − grad_scale·x_bi.
                let a = grad_scale * pos.len() as f32 / total;
                if let Some(db) = dbias.as_deref_mut() {
                    crate::simd::axpy(a, &q[..m], db);
                    for &i in pos {
                        db[i as usize] -= grad_scale;
                    }
                }
                let fs = a * self.scale;
                for k in 0..kk {
                    let r = bl * kk + k;
                    let row = &mut w.e[r * m..(r + 1) * m];
                    let ck = &w.ct[k * m..(k + 1) * m];
                    // Positives first, from e: dc gets −grad_scale·e/q, and their dl factor becomes
                    // (a_b − grad_scale/q)/a_b, applied after the dense pass (a_b = 0 only when
                    // grad_scale = 0, and then every dl is 0).
                    for &i in pos {
                        let i = i as usize;
                        if !dct.is_empty() {
                            dct[k * m + i] -= grad_scale * row[i] / q[i].max(TINY);
                        }
                    }
                    // One dense pass: dc += a_b·e (uncorrected e) and e ← dl = a_b·scale·c·e.
                    let dk = if dct.is_empty() {
                        None
                    } else {
                        Some(&mut dct[k * m..(k + 1) * m])
                    };
                    dense_backward_row(row, ck, dk, a, fs);
                    for &i in pos {
                        let i = i as usize;
                        row[i] = if a != 0.0 {
                            row[i] * (1.0 - grad_scale / (a * q[i].max(TINY)))
                        } else {
                            0.0
                        };
                    }
                }
            }
            let zc = &self.z[b0 * kk * d..(b0 + nb) * kk * d];
            let e = &w.e[..rows * m];
            // dz = dL · H, dH += dLᵀ · Z.
            sgemm(Gemm {
                m: rows,
                k: m,
                n: d,
                a: Strided::rows(e, m),
                b: Strided::rows(self.h, d),
                c: StridedMut::ld(&mut g.dz[b0 * kk * d..], d),
                accumulate: false,
            })?;
            sgemm(Gemm {
                m,
                k: rows,
                n: d,
                a: Strided::t(e, m),
                b: Strided::rows(zc, d),
                c: StridedMut::ld(g.dh, d),
                accumulate: true,
            })?;
            b0 += nb;
        }
        if let Some(dc) = dc {
            transpose(&dct, kk, m, dc)?;
        }
        Ok(())
    }
}

impl<'a> MixDecoder<'a> {
    /// Checks the gradient buffers of [`MixDecoder::train`] / [`MixDecoder::train_sampled`]: sizes, and
    /// `dc` / `dbias` present exactly when `c` / `bias` are.
    fn check_grads(&self, g: &MixGrads) -> Result<()> {
        let (users, kk, d, m) = (self.users, self.concepts, self.d, self.items);
        check_len("loss", g.loss, users)?;
        check_len("dz", g.dz, users * kk * d)?;
        check_len("dh", g.dh, m * d)?;
        match (&g.dc, self.c) {
            (Some(dc), Some(_)) => check_len("dc", dc, m * kk)?,
            (None, None) => {}
            _ => return Err(Error::invalid("'dc' must be given exactly when 'c' is")),
        }
        match (&g.dbias, self.bias) {
            (Some(db), Some(_)) => check_len("dbias", db, m)?,
            (None, None) => {}
            _ => {
                return Err(Error::invalid(
                    "'dbias' must be given exactly when 'bias' is",
                ))
            }
        }
        Ok(())
    }

    /// Sampled-softmax variant of [`MixDecoder::train`]: user `b`'s softmax runs over its own clicks and
    /// the `negatives` drawn for the whole batch (item ids, repeats allowed), the term of draw `j` weighted
    /// by `w_j = e^{log_weight[j]}`; draws that are one of `b`'s own clicks are dropped from `b`'s
    /// normalizer. With `log_weight = −ln(S·Q(j))` for `S` draws from a proposal `Q`, the weighted sum is
    /// an unbiased estimate of `Σ_{i∉x_b} q_bi`. Loss `−Σ_{i∈x_b} log(q_bi / (Σ_{i'∈x_b} q_bi' +
    /// Σ_{j: n_j∉x_b} w_j q_{b,n_j}))`; gradients are full-size (`dh` items × d, `dc`, `dbias`) but non-zero
    /// only on clicked and drawn items.
    pub fn train_sampled(
        &self,
        x: &CsrRef,
        negatives: &[u32],
        log_weight: &[f32],
        grad_scale: f32,
        g: MixGrads,
    ) -> Result<()> {
        self.check()?;
        let (users, kk, d, m) = (self.users, self.concepts, self.d, self.items);
        let s = negatives.len();
        check_len("log_weight", log_weight, s)?;
        if x.rows() != users || x.cols != m {
            return Err(Error::invalid(format!(
                "'x' must be {}×{} but is {}×{}",
                users,
                m,
                x.rows(),
                x.cols
            )));
        }
        for (j, &i) in negatives.iter().enumerate() {
            if i as usize >= m {
                return Err(Error::out_of_range(format!(
                    "'negatives[{}]' = {} is out of range for {} items",
                    j, i, m
                )));
            }
        }
        self.check_grads(&g)?;
        let mut dc = g.dc;
        let mut dbias = g.dbias;
        g.dh.iter_mut().for_each(|v| *v = 0.0);
        g.dz.iter_mut().for_each(|v| *v = 0.0);
        if let Some(dc) = dc.as_deref_mut() {
            dc.iter_mut().for_each(|v| *v = 0.0);
        }
        if let Some(db) = dbias.as_deref_mut() {
            db.iter_mut().for_each(|v| *v = 0.0);
        }
        // The negatives as a small decoder of their own: gathered rows, the weight folded into the bias.
        let mut hn = vec![0f32; s * d];
        let mut cn = vec![0f32; if self.c.is_some() { s * kk } else { 0 }];
        let mut bn = vec![0f32; s];
        let mut max_w = 0f32;
        for (j, &i) in negatives.iter().enumerate() {
            let i = i as usize;
            hn[j * d..(j + 1) * d].copy_from_slice(&self.h[i * d..(i + 1) * d]);
            if let Some(c) = self.c {
                cn[j * kk..(j + 1) * kk].copy_from_slice(&c[i * kk..(i + 1) * kk]);
            }
            bn[j] = self.bias.map_or(0.0, |b| b[i]) + log_weight[j];
            max_w = max_w.max(log_weight[j]);
        }
        let sub = MixDecoder {
            items: s,
            h: &hn,
            c: if self.c.is_some() { Some(&cn) } else { None },
            bias: Some(&bn),
            bound: self.bound.map(|b| b + max_w),
            ..*self
        };
        let mut w = sub.work()?;
        w.chunk = w.chunk.min(users.max(1));
        // Draws of each item, to drop a user's own clicks from its normalizer.
        let mut draw_start = vec![0usize; m + 1];
        for &i in negatives {
            draw_start[i as usize + 1] += 1;
        }
        for i in 0..m {
            draw_start[i + 1] += draw_start[i];
        }
        let mut draw_of = vec![0usize; s];
        let mut fill = draw_start.clone();
        for (j, &i) in negatives.iter().enumerate() {
            draw_of[fill[i as usize]] = j;
            fill[i as usize] += 1;
        }
        let mut dhn = vec![0f32; s * d];
        let mut dctn = vec![0f32; if self.c.is_some() { kk * s } else { 0 }];
        let mut dbn = vec![0f32; s];
        let mut b0 = 0;
        while b0 < users {
            let nb = w.chunk.min(users - b0);
            // Positives' logits first (the shift must cover them too).
            let lo = x.indptr[b0] as usize;
            let hi = x.indptr[b0 + nb] as usize;
            let mut lpos = vec![0f32; (hi - lo) * kk];
            let mut floor = vec![f32::NEG_INFINITY; nb];
            for bl in 0..nb {
                let b = b0 + bl;
                for p in x.indptr[b] as usize..x.indptr[b + 1] as usize {
                    let i = x.indices[p] as usize;
                    for k in 0..kk {
                        let zr = &self.z[(b * kk + k) * d..(b * kk + k + 1) * d];
                        let l = self.scale * crate::simd::dot(zr, &self.h[i * d..(i + 1) * d])
                            + self.bias.map_or(0.0, |bb| bb[i]);
                        lpos[(p - lo) * kk + k] = l;
                        floor[bl] = floor[bl].max(l);
                    }
                }
            }
            let stats = sub.forward_chunk(&mut w, b0, nb, Some(&floor))?;
            let rows = nb * kk;
            for (bl, &(shift, qneg)) in stats.iter().enumerate() {
                let b = b0 + bl;
                let (plo, phi) = (x.indptr[b] as usize, x.indptr[b + 1] as usize);
                // Drop the draws that are this user's clicks.
                let mut qneg = qneg;
                for p in plo..phi {
                    let i = x.indices[p] as usize;
                    for &j in &draw_of[draw_start[i]..draw_start[i + 1]] {
                        qneg -= w.q[bl * s + j];
                        w.q[bl * s + j] = 0.0;
                        for k in 0..kk {
                            w.e[(bl * kk + k) * s + j] = 0.0;
                        }
                    }
                }
                let qneg = qneg.max(0.0);
                // e and q of the positives with the same shift.
                let mut qpos = vec![0f32; phi - plo];
                for p in plo..phi {
                    let i = x.indices[p] as usize;
                    let mut q = 0f32;
                    for k in 0..kk {
                        let e = exp1(lpos[(p - lo) * kk + k] - shift);
                        lpos[(p - lo) * kk + k] = e;
                        q += self.c.map_or(1.0, |c| c[i * kk + k]) * e;
                    }
                    qpos[p - plo] = q.max(TINY);
                }
                let total = (qneg + qpos.iter().sum::<f32>()).max(TINY);
                let mut loss = 0f32;
                for &q in &qpos {
                    loss -= (q / total).ln();
                }
                g.loss[b] = loss;
                let a = grad_scale * (phi - plo) as f32 / total;
                // Negatives (dense): dl = a·scale·c·e, dc += a·e, dbias += a·q.
                let q = &w.q[bl * s..(bl + 1) * s];
                crate::simd::axpy(a, q, &mut dbn);
                let fs = a * self.scale;
                for k in 0..kk {
                    let r = bl * kk + k;
                    let row = &mut w.e[r * s..(r + 1) * s];
                    let ck = &w.ct[k * s..(k + 1) * s];
                    let dk = if dctn.is_empty() {
                        None
                    } else {
                        Some(&mut dctn[k * s..(k + 1) * s])
                    };
                    dense_backward_row(row, ck, dk, a, fs);
                }
                // Positives (sparse): coefficient a − grad_scale/q_i.
                for p in plo..phi {
                    let i = x.indices[p] as usize;
                    let coef = a - grad_scale / qpos[p - plo];
                    if let Some(db) = dbias.as_deref_mut() {
                        db[i] += coef * qpos[p - plo];
                    }
                    for k in 0..kk {
                        let e = lpos[(p - lo) * kk + k];
                        if let Some(dc) = dc.as_deref_mut() {
                            dc[i * kk + k] += coef * e;
                        }
                        let dl = coef * self.scale * self.c.map_or(1.0, |c| c[i * kk + k]) * e;
                        if dl != 0.0 {
                            let zr = &self.z[(b * kk + k) * d..(b * kk + k + 1) * d];
                            crate::simd::axpy(dl, zr, &mut g.dh[i * d..(i + 1) * d]);
                            let hi_row = &self.h[i * d..(i + 1) * d];
                            crate::simd::axpy(
                                dl,
                                hi_row,
                                &mut g.dz[(b * kk + k) * d..(b * kk + k + 1) * d],
                            );
                        }
                    }
                }
            }
            let zc = &self.z[b0 * kk * d..(b0 + nb) * kk * d];
            let e = &w.e[..rows * s];
            // dz += dlN · hN (accumulate onto the positives' part), dhN += dlNᵀ · z.
            sgemm(Gemm {
                m: rows,
                k: s,
                n: d,
                a: Strided::rows(e, s),
                b: Strided::rows(&hn, d),
                c: StridedMut::ld(&mut g.dz[b0 * kk * d..], d),
                accumulate: true,
            })?;
            sgemm(Gemm {
                m: s,
                k: rows,
                n: d,
                a: Strided::t(e, s),
                b: Strided::rows(zc, d),
                c: StridedMut::ld(&mut dhn, d),
                accumulate: true,
            })?;
            b0 += nb;
        }
        // Scatter the negatives' gradients back to their items (repeats add up).
        for (j, &i) in negatives.iter().enumerate() {
            let i = i as usize;
            crate::simd::axpy(1.0, &dhn[j * d..(j + 1) * d], &mut g.dh[i * d..(i + 1) * d]);
            if let Some(dc) = dc.as_deref_mut() {
                for k in 0..kk {
                    dc[i * kk + k] += dctn[k * s + j];
                }
            }
            if let Some(db) = dbias.as_deref_mut() {
                db[i] += dbn[j];
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::fd::{all, rand, Fd, Params, FD};
    use super::*;
    use crate::rng::Xoshiro256;

    /// Loss of one batch in f64, straight from the formulas.
    fn naive_loss(dec: &MixDecoder, x: &CsrRef) -> f64 {
        let (kk, d, m) = (dec.concepts, dec.d, dec.items);
        let mut total = 0f64;
        for b in 0..dec.users {
            let mut logq = vec![0f64; m];
            for i in 0..m {
                let mut q = 0f64;
                for k in 0..kk {
                    let mut dot = 0f64;
                    for j in 0..d {
                        dot += dec.z[(b * kk + k) * d + j] as f64 * dec.h[i * d + j] as f64;
                    }
                    let l = dec.scale as f64 * dot + dec.bias.map_or(0.0, |v| v[i] as f64);
                    q += dec.c.map_or(1.0, |c| c[i * kk + k] as f64) * l.exp();
                }
                logq[i] = q.ln();
            }
            let mx = logq.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let lz = mx + logq.iter().map(|v| (v - mx).exp()).sum::<f64>().ln();
            for &i in x.row(b) {
                total -= logq[i as usize] - lz;
            }
        }
        total
    }

    struct Case {
        users: usize,
        kk: usize,
        d: usize,
        m: usize,
        z: Vec<f32>,
        h: Vec<f32>,
        c: Option<Vec<f32>>,
        bias: Option<Vec<f32>>,
        scale: f32,
        bound: Option<f32>,
        indptr: Vec<u32>,
        indices: Vec<u32>,
    }

    fn case(
        seed: u64,
        users: usize,
        kk: usize,
        d: usize,
        m: usize,
        with_c: bool,
        with_bias: bool,
    ) -> Case {
        let mut rng = Xoshiro256::new(seed);
        let c = if with_c {
            let mut c = rand(&mut rng, m * kk, 1.0);
            for i in 0..m {
                let row = &mut c[i * kk..(i + 1) * kk];
                let s: f32 = row.iter().map(|v| v.exp()).sum();
                row.iter_mut().for_each(|v| *v = v.exp() / s);
            }
            Some(c)
        } else {
            None
        };
        let mut indptr = vec![0u32];
        let mut indices = vec![];
        for _ in 0..users {
            for i in 0..m {
                if rng.next_f64() < 0.2 {
                    indices.push(i as u32);
                }
            }
            indptr.push(indices.len() as u32);
        }
        Case {
            users,
            kk,
            d,
            m,
            z: rand(&mut rng, users * kk * d, 0.5),
            h: rand(&mut rng, m * d, 0.5),
            c,
            bias: if with_bias {
                Some(rand(&mut rng, m, 0.3))
            } else {
                None
            },
            scale: if with_bias { 1.0 } else { 2.5 },
            bound: None,
            indptr,
            indices,
        }
    }

    impl Case {
        fn dec(&self) -> MixDecoder<'_> {
            MixDecoder {
                users: self.users,
                concepts: self.kk,
                d: self.d,
                items: self.m,
                z: &self.z,
                h: &self.h,
                c: self.c.as_deref(),
                bias: self.bias.as_deref(),
                scale: self.scale,
                bound: self.bound,
            }
        }
        fn x(&self) -> CsrRef<'_> {
            CsrRef::new("x", &self.indptr, &self.indices, self.m).unwrap()
        }
    }

    /// Parameters: z (0), h (1), c (2) or bias (3).
    impl Params for Case {
        fn param(&mut self, which: usize) -> &mut [f32] {
            match which {
                0 => &mut self.z,
                1 => &mut self.h,
                2 => self.c.as_mut().unwrap(),
                _ => self.bias.as_mut().unwrap(),
            }
        }
    }

    /// Runs `train` (full or sampled) on the case, checks its summed loss against `loss_of` and every
    /// gradient by finite differences of `loss_of` at the entries `pick(len)`.
    fn check_train(
        cs: &mut Case,
        train: impl Fn(&MixDecoder, &CsrRef, f32, MixGrads) -> crate::error::Result<()>,
        loss_of: impl Fn(&Case) -> f64,
        pick: impl Fn(usize) -> Vec<usize>,
    ) {
        let (users, kk, d, m) = (cs.users, cs.kk, cs.d, cs.m);
        let (with_c, with_bias) = (cs.c.is_some(), cs.bias.is_some());
        let mut loss = vec![0f32; users];
        let mut dz = vec![0f32; users * kk * d];
        let mut dh = vec![0f32; m * d];
        let mut dc = vec![0f32; m * kk];
        let mut db = vec![0f32; m];
        let gs = 0.5f32;
        let grads = MixGrads {
            loss: &mut loss,
            dz: &mut dz,
            dh: &mut dh,
            dc: if with_c { Some(&mut dc) } else { None },
            dbias: if with_bias { Some(&mut db) } else { None },
        };
        train(&cs.dec(), &cs.x(), gs, grads).unwrap();
        let want = loss_of(cs);
        let got: f64 = loss.iter().map(|&v| v as f64).sum();
        assert!(
            (got - want).abs() < 1e-3 * want.abs().max(1.0),
            "loss {} vs {}",
            got,
            want
        );
        let fd = Fd {
            scale: gs as f64,
            ..FD
        };
        fd.check(cs, 0, "dz", &dz, &pick(users * kk * d), &loss_of);
        fd.check(cs, 1, "dh", &dh, &pick(m * d), &loss_of);
        if with_c {
            fd.check(cs, 2, "dc", &dc, &pick(m * kk), &loss_of);
        }
        if with_bias {
            fd.check(cs, 3, "db", &db, &pick(m), &loss_of);
        }
    }

    #[test]
    fn decoder_loss_and_gradients_match_finite_differences() {
        for &(kk, with_c, with_bias) in &[(3, true, false), (1, false, true), (2, true, true)] {
            let mut cs = case(7 + kk as u64, 5, kk, 6, 23, with_c, with_bias);
            check_train(
                &mut cs,
                |dec, x, gs, g| dec.train(x, gs, g),
                |cs| naive_loss(&cs.dec(), &cs.x()),
                |n| vec![0, n / 2, n - 1],
            );
        }
    }

    /// Sampled loss in f64 from the formula.
    fn naive_sampled(dec: &MixDecoder, x: &CsrRef, neg: &[u32], lw: &[f32]) -> f64 {
        let (kk, d) = (dec.concepts, dec.d);
        let q = |b: usize, i: usize| -> f64 {
            let mut q = 0f64;
            for k in 0..kk {
                let mut dot = 0f64;
                for j in 0..d {
                    dot += dec.z[(b * kk + k) * d + j] as f64 * dec.h[i * d + j] as f64;
                }
                let l = dec.scale as f64 * dot + dec.bias.map_or(0.0, |v| v[i] as f64);
                q += dec.c.map_or(1.0, |c| c[i * kk + k] as f64) * l.exp();
            }
            q
        };
        let mut total = 0f64;
        for b in 0..dec.users {
            let mut z = 0f64;
            for &i in x.row(b) {
                z += q(b, i as usize);
            }
            for (j, &i) in neg.iter().enumerate() {
                if !x.row(b).contains(&i) {
                    z += (lw[j] as f64).exp() * q(b, i as usize);
                }
            }
            for &i in x.row(b) {
                total -= (q(b, i as usize) / z).ln();
            }
        }
        total
    }

    #[test]
    fn sampled_loss_and_gradients_match_finite_differences() {
        for &(kk, with_c, with_bias, bounded) in &[
            (3, true, false, true),
            (1, false, true, false),
            (2, true, true, false),
        ] {
            let mut cs = case(40 + kk as u64, 4, kk, 5, 30, with_c, with_bias);
            if bounded {
                cs.bound = Some(cs.scale * 3.0);
            }
            // Negatives: items nobody clicked, one drawn twice.
            let clicked: std::collections::HashSet<u32> = cs.indices.iter().cloned().collect();
            let mut neg: Vec<u32> = (0..cs.m as u32)
                .filter(|i| !clicked.contains(i))
                .take(5)
                .collect();
            neg.push(neg[0]);
            let lw: Vec<f32> = (0..neg.len()).map(|j| 0.3 * j as f32 - 0.5).collect();
            check_train(
                &mut cs,
                |dec, x, gs, g| dec.train_sampled(x, &neg, &lw, gs, g),
                |cs| naive_sampled(&cs.dec(), &cs.x(), &neg, &lw),
                all,
            );
        }
    }

    #[test]
    fn log_probs_normalize_and_bound_does_not_change_them() {
        let mut cs = case(3, 4, 2, 5, 37, true, false);
        let n = cs.users * cs.m;
        let mut a = vec![0f32; n];
        cs.dec().log_probs(&mut a).unwrap();
        for b in 0..cs.users {
            let s: f64 = a[b * cs.m..(b + 1) * cs.m]
                .iter()
                .map(|&v| (v as f64).exp())
                .sum();
            assert!((s - 1.0).abs() < 1e-5, "{}", s);
        }
        cs.bound = Some(10.0);
        let mut b = vec![0f32; n];
        cs.dec().log_probs(&mut b).unwrap();
        for i in 0..n {
            assert!((a[i] - b[i]).abs() < 1e-4);
        }
    }
}
