//! β-MultVAE's and MultDAE's whole training step for one slice of a batch's users, in one call: the
//! sparse first layer on the clicks (L2-normalized, dropped out), `act(· + b)`, the dense stack (with the
//! VAE head after the `[μ, log σ²]` layer for β-MultVAE), the fused output layer with the multinomial
//! log-likelihood, and the backward pass — intermediate arrays never leave WASM memory.
//!
//! Layers `j = 0 … n−1` map `shapes[j] = (in, out)`: layer 0 is the sparse input layer (`in = items`,
//! its weight stored item-major `items × out`), layer `n−1` the fused output layer (`out = items`, weight
//! item-major `items × in`, plus a bias per item), the others dense (`in × out`). Every layer but the
//! output layer is followed by tanh, except the `latent` layer of β-MultVAE, whose output `[μ | log σ²]`
//! goes through the head (`z = μ + ε·σ`, KL to `N(0, I)`); its successor's input is `z` (`out / 2` wide).
//! Weights and biases are concatenated layer after layer.

use super::{
    dense_backward, dense_forward, head_backward, head_forward, sparse_mix_backward,
    sparse_mix_forward, Activation, Head, MixDecoder, MixGrads,
};
use crate::csr::CsrRef;
use crate::error::{check_len, Error, Result};

/// `eps` under the square root of the input's norm (as the reference).
const NORM_EPS: f32 = 1e-8;

/// The model side of a slice step, borrowed.
pub struct MultSlice<'a> {
    pub items: usize,
    /// `(in, out)` of every layer (see the module doc).
    pub shapes: &'a [(usize, usize)],
    /// β-MultVAE: the layer whose output is `[μ | log σ²]`; `None` for MultDAE.
    pub latent: Option<usize>,
    pub weights: &'a [f32],
    pub biases: &'a [f32],
}

/// What a slice step writes (all overwritten).
pub struct MultGrads<'a> {
    /// Per user: `−Σ_i x_ui log p_ui`.
    pub loss: &'a mut [f32],
    /// Per user: the KL term (0 for MultDAE).
    pub kl: &'a mut [f32],
    /// Gradients of the concatenated weights and biases.
    pub dw: &'a mut [f32],
    pub db: &'a mut [f32],
}

fn offsets(sizes: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut o = vec![0];
    for s in sizes {
        o.push(o[o.len() - 1] + s);
    }
    o
}

impl<'a> MultSlice<'a> {
    fn n(&self) -> usize {
        self.shapes.len()
    }

    fn check(&self) -> Result<(Vec<usize>, Vec<usize>)> {
        let n = self.n();
        if n < 2 || self.shapes[0].0 != self.items || self.shapes[n - 1].1 != self.items {
            return Err(Error::invalid(format!(
                "'shapes' must run from the {} items back to them but is {:?}",
                self.items, self.shapes
            )));
        }
        for j in 1..n {
            let want = if self.latent == Some(j - 1) {
                self.shapes[j - 1].1 / 2
            } else {
                self.shapes[j - 1].1
            };
            if self.shapes[j].0 != want {
                return Err(Error::invalid(format!(
                    "'shapes': layer {} takes {} inputs but the previous layer gives {}",
                    j, self.shapes[j].0, want
                )));
            }
        }
        if let Some(l) = self.latent {
            if l + 1 >= n || self.shapes[l].1 % 2 != 0 {
                return Err(Error::invalid(format!(
                    "'latent' {} must be a layer before the output with an even width",
                    l
                )));
            }
        }
        let w = offsets(self.shapes.iter().map(|&(i, o)| i * o));
        let b = offsets(self.shapes.iter().map(|&(_, o)| o));
        check_len("weights", self.weights, w[n])?;
        check_len("biases", self.biases, b[n])?;
        Ok((w, b))
    }

    fn act(&self, j: usize) -> Activation {
        if self.latent == Some(j) {
            Activation::Identity
        } else {
            Activation::Tanh
        }
    }

    /// Forward, output layer (full softmax, or sampled over `negatives` with their `log_weight`) and
    /// backward for the users of `x`: `mask` is the input dropout (`nnz`), `eps` the head's noise
    /// (`users × latent`), `grad_scale` `1 / users of the whole batch`, `kl_scale` `β / users of the whole
    /// batch`.
    #[allow(clippy::too_many_arguments)]
    pub fn train(
        &self,
        x: &CsrRef,
        mask: Option<&[f32]>,
        eps: Option<&[f32]>,
        sampled: Option<(&[u32], &[f32])>,
        grad_scale: f32,
        kl_scale: f32,
        g: MultGrads,
    ) -> Result<()> {
        let (wo, bo) = self.check()?;
        let n = self.n();
        let users = x.rows();
        let m = self.items;
        check_len("loss", g.loss, users)?;
        check_len("kl", g.kl, users)?;
        check_len("dw", g.dw, wo[n])?;
        check_len("db", g.db, bo[n])?;
        if let (Some(e), Some(l)) = (eps, self.latent) {
            check_len("eps", e, users * self.shapes[l].1 / 2)?;
        }
        let w = |j: usize| &self.weights[wo[j]..wo[j + 1]];
        let b = |j: usize| &self.biases[bo[j]..bo[j + 1]];
        // Forward. outputs[j]: layer j's output after its activation (raw [μ | log σ²] for the latent
        // layer); inputs[j]: the input of layer j + 1.
        let w0 = self.shapes[0].1;
        let mut sparse = vec![0f32; users * w0];
        let mut norms = vec![0f32; users];
        sparse_mix_forward(
            x,
            1,
            w0,
            mask,
            None,
            w(0),
            NORM_EPS,
            &mut sparse,
            &mut norms,
        )?;
        let mut y0 = vec![0f32; users * w0];
        let b0 = b(0);
        for r in 0..users {
            for j in 0..w0 {
                // In f64, as the TS composition did (`Math.tanh`), then rounded.
                let v = sparse[r * w0 + j] as f64 + b0[j] as f64;
                y0[r * w0 + j] = if self.latent == Some(0) {
                    v as f32
                } else {
                    v.tanh() as f32
                };
            }
        }
        let mut outputs = vec![y0];
        let mut inputs: Vec<Vec<f32>> = Vec::with_capacity(n - 1);
        g.kl.iter_mut().for_each(|v| *v = 0.0);
        for j in 0..n - 1 {
            if j > 0 {
                let (din, dout) = self.shapes[j];
                let mut y = vec![0f32; users * dout];
                dense_forward(
                    users,
                    din,
                    dout,
                    &inputs[j - 1],
                    w(j),
                    b(j),
                    None,
                    self.act(j),
                    &mut y,
                )?;
                outputs.push(y);
            }
            if self.latent == Some(j) {
                let l = self.shapes[j].1 / 2;
                let mut z = vec![0f32; users * l];
                head_forward(users, l, &outputs[j], eps, Head::Mult, &mut z, g.kl)?;
                inputs.push(z);
            } else {
                inputs.push(outputs[j].clone());
            }
        }
        // The output layer and its loss.
        let (din, _) = self.shapes[n - 1];
        let dec = MixDecoder {
            users,
            concepts: 1,
            d: din,
            items: m,
            z: &inputs[n - 2],
            h: w(n - 1),
            c: None,
            bias: Some(b(n - 1)),
            scale: 1.0,
            bound: None,
        };
        let mut d_in = vec![0f32; users * din];
        {
            let (dw_out, db_out) = (&mut g.dw[wo[n - 1]..wo[n]], &mut g.db[bo[n - 1]..bo[n]]);
            let grads = MixGrads {
                loss: g.loss,
                dz: &mut d_in,
                dh: dw_out,
                dc: None,
                dbias: Some(db_out),
            };
            match sampled {
                Some((neg, lw)) => dec.train_sampled(x, neg, lw, grad_scale, grads)?,
                None => dec.train(x, grad_scale, grads)?,
            }
        }
        // Backward, last hidden layer first: d_in is the gradient of layer j's output (or of z).
        for j in (0..n - 1).rev() {
            let (din, dout) = self.shapes[j];
            let d_out = if self.latent == Some(j) {
                let mut dy = vec![0f32; users * dout];
                head_backward(
                    users,
                    dout / 2,
                    &outputs[j],
                    eps,
                    Head::Mult,
                    &d_in,
                    kl_scale,
                    &mut dy,
                )?;
                dy
            } else {
                d_in
            };
            let (dw, db) = (&mut g.dw[wo[j]..wo[j + 1]], &mut g.db[bo[j]..bo[j + 1]]);
            if j == 0 {
                let y0 = &outputs[0];
                let mut dpre = d_out;
                db.iter_mut().for_each(|v| *v = 0.0);
                for r in 0..users {
                    for c in 0..dout {
                        let i = r * dout + c;
                        if self.latent != Some(0) {
                            let t = y0[i] as f64;
                            dpre[i] = (dpre[i] as f64 * (1.0 - t * t)) as f32;
                        }
                        db[c] += dpre[i];
                    }
                }
                sparse_mix_backward(
                    x,
                    1,
                    dout,
                    mask,
                    None,
                    w(0),
                    &norms,
                    &sparse,
                    &dpre,
                    None,
                    dw,
                )?;
                break;
            }
            let mut dx = vec![0f32; users * din];
            dense_backward(
                users,
                din,
                dout,
                &inputs[j - 1],
                w(j),
                &outputs[j],
                None,
                self.act(j),
                &d_out,
                Some(&mut dx),
                dw,
                db,
            )?;
            d_in = dx;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::fd::{all, rand, Fd, Params, FD};
    use super::*;
    use crate::rng::Xoshiro256;

    const M: usize = 9;

    /// β-MultVAE `[9 → 5 → 2·3] → [3 → 4 → 9]` or MultDAE `[9 → 5 → 3] → [3 → 9]`; parameters 0 = weights, 1 = biases.
    struct Case {
        shapes: Vec<(usize, usize)>,
        latent: Option<usize>,
        p: Vec<Vec<f32>>,
        indptr: Vec<u32>,
        indices: Vec<u32>,
        mask: Vec<f32>,
        eps: Vec<f32>,
    }

    impl Params for Case {
        fn param(&mut self, which: usize) -> &mut [f32] {
            &mut self.p[which]
        }
    }

    impl Case {
        fn new(vae: bool) -> Case {
            let mut rng = Xoshiro256::new(if vae { 3 } else { 4 });
            let shapes = if vae {
                vec![(M, 5), (5, 6), (3, 4), (4, M)]
            } else {
                vec![(M, 5), (5, 3), (3, M)]
            };
            let nw: usize = shapes.iter().map(|&(i, o)| i * o).sum();
            let nb: usize = shapes.iter().map(|&(_, o)| o).sum();
            Case {
                latent: if vae { Some(1) } else { None },
                p: vec![rand(&mut rng, nw, 0.6), rand(&mut rng, nb, 0.2)],
                shapes,
                indptr: vec![0, 3, 4, 7],
                indices: vec![0, 4, 8, 2, 1, 5, 6],
                mask: (0..7).map(|i| if i % 3 == 1 { 0.0 } else { 2.0 }).collect(),
                eps: rand(&mut rng, 3 * 3, 1.0),
            }
        }
        fn run(&self, gs: f32, ks: f32) -> (f64, Vec<Vec<f32>>) {
            let model = MultSlice {
                items: M,
                shapes: &self.shapes,
                latent: self.latent,
                weights: &self.p[0],
                biases: &self.p[1],
            };
            let x = CsrRef::new("x", &self.indptr, &self.indices, M).unwrap();
            let (mut loss, mut kl) = (vec![0f32; 3], vec![0f32; 3]);
            let (mut dw, mut db) = (vec![0f32; self.p[0].len()], vec![0f32; self.p[1].len()]);
            model
                .train(
                    &x,
                    Some(&self.mask),
                    self.latent.map(|_| &self.eps[..]),
                    None,
                    gs,
                    ks,
                    MultGrads {
                        loss: &mut loss,
                        kl: &mut kl,
                        dw: &mut dw,
                        db: &mut db,
                    },
                )
                .unwrap();
            let total = gs as f64 * loss.iter().map(|&v| v as f64).sum::<f64>()
                + ks as f64 * kl.iter().map(|&v| v as f64).sum::<f64>();
            (total, vec![dw, db])
        }
    }

    #[test]
    fn mult_step_gradients_match_finite_differences() {
        for vae in [true, false] {
            let mut cs = Case::new(vae);
            let (gs, ks) = (0.5f32, 0.3f32);
            let (_, grads) = cs.run(gs, ks);
            let loss = |c: &Case| c.run(gs, ks).0;
            let fd = Fd { tol: 3e-3, ..FD };
            fd.check(&mut cs, 0, "dw", &grads[0], &all(grads[0].len()), &loss);
            fd.check(&mut cs, 1, "db", &grads[1], &all(grads[1].len()), &loss);
        }
    }

    #[test]
    fn inconsistent_shapes_are_named() {
        let mut cs = Case::new(true);
        cs.shapes[2] = (6, 4);
        let model = MultSlice {
            items: M,
            shapes: &cs.shapes,
            latent: cs.latent,
            weights: &cs.p[0],
            biases: &cs.p[1],
        };
        let x = CsrRef::new("x", &cs.indptr, &cs.indices, M).unwrap();
        let (mut l, mut k, mut dw, mut db) = (
            vec![0f32; 3],
            vec![0f32; 3],
            vec![0f32; 200],
            vec![0f32; 50],
        );
        let err = model
            .train(
                &x,
                None,
                None,
                None,
                1.0,
                1.0,
                MultGrads {
                    loss: &mut l,
                    kl: &mut k,
                    dw: &mut dw,
                    db: &mut db,
                },
            )
            .unwrap_err();
        assert!(
            err.message.contains("layer 2 takes 6 inputs"),
            "{}",
            err.message
        );
    }
}
