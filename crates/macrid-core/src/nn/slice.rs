//! MacridVAE's whole user-side training step for one slice of a batch's users, in one call: the
//! encoder forward (the per-concept sparse layer, `tanh(· + b)`, f_nn, the VAE head), the fused decoder
//! with its loss and gradient, and the encoder backward — so a step's intermediate arrays never leave
//! WASM memory and the item matrices are read in place.
//!
//! Per concept k (paper Algorithm 1 with the released code's details): `x_k = x ⊙ c_·k`, L2-normalized,
//! dropout (`mask`, one per click and concept), times the context embeddings `T`, plus a bias, tanh,
//! then f_nn (`d → hidden… → 2d`, tanh and dropout between layers) giving `[a, b]`; the head gives
//! `z = a/‖a‖ + ε ⊙ σ0·exp(−b/2)` (normalized for cosine; `ε` absent at evaluation) and the KL terms.
//! A batch split into slices gives per-user results (loss, KL) and partial gradients that the caller
//! concatenates or sums.

use super::{
    dense_backward, dense_forward, head_backward, head_forward, sparse_mix_backward,
    sparse_mix_forward, Activation, Head, MixDecoder, MixGrads,
};
use crate::csr::CsrRef;
use crate::error::{check_len, Error, Result};

/// `eps` under the square root of the sparse layer's norms (as the reference).
const NORM_EPS: f32 = 1e-8;

/// The model side of a slice step: weights and settings, borrowed.
pub struct MacridSlice<'a> {
    pub concepts: usize,
    pub d: usize,
    pub items: usize,
    pub sigma0: f32,
    /// Cosine similarity (normalized `z`) or the inner-product ablation.
    pub cosine: bool,
    /// `[d, hidden…, 2d]`.
    pub layer_dims: &'a [usize],
    /// Concept assignment `items × K`.
    pub c: &'a [f32],
    /// Context embeddings `items × d` and their bias `d`.
    pub t: &'a [f32],
    pub context_bias: &'a [f32],
    /// f_nn's weights (`in × out`) and biases, layer after layer, concatenated.
    pub weights: &'a [f32],
    pub biases: &'a [f32],
    /// Decoder item vectors `items × d` (normalized for cosine), `1/τ`, and the logits' bound.
    pub h: &'a [f32],
    pub scale: f32,
    pub bound: Option<f32>,
}

/// The slice's training noise: input dropout (`nnz × K`), hidden dropout (`rows × width` per hidden
/// layer, concatenated), `ε` (`rows × d`); absent at evaluation.
#[derive(Clone, Copy, Default)]
pub struct SliceNoise<'a> {
    pub mask: Option<&'a [f32]>,
    pub hidden_masks: Option<&'a [f32]>,
    pub eps: Option<&'a [f32]>,
}

/// What a slice step returns (all overwritten).
pub struct SliceGrads<'a> {
    /// Per user: `−Σ_i x_ui log p_ui`.
    pub loss: &'a mut [f32],
    /// Per row (user, concept): the KL terms.
    pub kl: &'a mut [f32],
    /// f_nn's weight and bias gradients, concatenated as `weights` / `biases`.
    pub dw: &'a mut [f32],
    pub db: &'a mut [f32],
    /// `d`, `items × d`, `items × d`.
    pub dbias: &'a mut [f32],
    pub dt: &'a mut [f32],
    pub dh: &'a mut [f32],
    /// `∂loss/∂c` through the encoder and through the decoder, `items × K` each.
    pub dc_encoder: &'a mut [f32],
    pub dc_decoder: &'a mut [f32],
}

/// The encoder's forward state (what the backward pass needs).
struct Forward {
    out: Vec<f32>,
    norms: Vec<f32>,
    /// Input of each f_nn layer; the first is `tanh(out + bias)`.
    inputs: Vec<Vec<f32>>,
    /// Output of each f_nn layer (after tanh for hidden layers; `[a | b]` for the last).
    outputs: Vec<Vec<f32>>,
    z: Vec<f32>,
}

impl<'a> MacridSlice<'a> {
    fn layers(&self) -> usize {
        self.layer_dims.len() - 1
    }

    /// Offsets of each layer's weights and biases in the concatenated arrays.
    fn offsets(&self) -> (Vec<usize>, Vec<usize>) {
        let (mut w, mut b) = (vec![0], vec![0]);
        for j in 0..self.layers() {
            w.push(w[j] + self.layer_dims[j] * self.layer_dims[j + 1]);
            b.push(b[j] + self.layer_dims[j + 1]);
        }
        (w, b)
    }

    /// Offsets of each hidden layer's dropout mask (`rows × width`) in the concatenated masks.
    fn mask_offsets(&self, rows: usize) -> Vec<usize> {
        let mut o = vec![0];
        for j in 0..self.layers().saturating_sub(1) {
            o.push(o[j] + rows * self.layer_dims[j + 1]);
        }
        o
    }

    fn head(&self) -> Head {
        Head::Macrid {
            sigma0: self.sigma0,
            normalize_z: self.cosine,
        }
    }

    fn check(&self, x: &CsrRef, noise: &SliceNoise) -> Result<()> {
        let (kk, d, m) = (self.concepts, self.d, self.items);
        let n = self.layer_dims.len();
        if n < 2 || self.layer_dims[0] != d || self.layer_dims[n - 1] != 2 * d {
            return Err(Error::invalid(format!(
                "'layer_dims' must run from d = {} to 2d = {} but is {:?}",
                d,
                2 * d,
                self.layer_dims
            )));
        }
        if x.cols != m {
            return Err(Error::invalid(format!(
                "'x' has {} columns but the model has {} items",
                x.cols, m
            )));
        }
        let (w, b) = self.offsets();
        check_len("weights", self.weights, w[self.layers()])?;
        check_len("biases", self.biases, b[self.layers()])?;
        check_len("c", self.c, m * kk)?;
        check_len("context_bias", self.context_bias, d)?;
        check_len("h", self.h, m * d)?;
        let rows = x.rows() * kk;
        if let Some(hm) = noise.hidden_masks {
            check_len(
                "hidden_masks",
                hm,
                self.mask_offsets(rows)[self.layers() - 1],
            )?;
        }
        if let Some(e) = noise.eps {
            check_len("eps", e, rows * d)?;
        }
        Ok(())
    }

    /// Layer `j`'s dropout mask and activation: hidden layers are dropped out and tanh'd, the last is plain.
    fn layer<'n>(
        &self,
        noise: &SliceNoise<'n>,
        rows: usize,
        j: usize,
    ) -> (Option<&'n [f32]>, Activation) {
        if j + 1 == self.layers() {
            return (None, Activation::Identity);
        }
        let o = self.mask_offsets(rows);
        (
            noise.hidden_masks.map(|m| &m[o[j]..o[j + 1]]),
            Activation::Tanh,
        )
    }

    /// The encoder forward pass; `kl` (per row) is written.
    fn forward(&self, x: &CsrRef, noise: &SliceNoise, kl: &mut [f32]) -> Result<Forward> {
        let (kk, d) = (self.concepts, self.d);
        let rows = x.rows() * kk;
        let layers = self.layers();
        let (wo, bo) = self.offsets();
        let mut out = vec![0f32; rows * d];
        let mut norms = vec![0f32; rows];
        sparse_mix_forward(
            x,
            kk,
            d,
            noise.mask,
            Some(self.c),
            self.t,
            NORM_EPS,
            &mut out,
            &mut norms,
        )?;
        let mut in0 = vec![0f32; rows * d];
        for r in 0..rows {
            for j in 0..d {
                // In f64, as the TS composition did (`Math.tanh`), then rounded.
                in0[r * d + j] =
                    (out[r * d + j] as f64 + self.context_bias[j] as f64).tanh() as f32;
            }
        }
        let mut inputs = vec![in0];
        let mut outputs = Vec::with_capacity(layers);
        for j in 0..layers {
            let last = j + 1 == layers;
            let (din, dout) = (self.layer_dims[j], self.layer_dims[j + 1]);
            let (mask, act) = self.layer(noise, rows, j);
            let mut y = vec![0f32; rows * dout];
            dense_forward(
                rows,
                din,
                dout,
                &inputs[j],
                &self.weights[wo[j]..wo[j + 1]],
                &self.biases[bo[j]..bo[j + 1]],
                mask,
                act,
                &mut y,
            )?;
            if !last {
                inputs.push(y.clone());
            }
            outputs.push(y);
        }
        let mut z = vec![0f32; rows * d];
        head_forward(
            rows,
            d,
            &outputs[layers - 1],
            noise.eps,
            self.head(),
            &mut z,
            kl,
        )?;
        Ok(Forward {
            out,
            norms,
            inputs,
            outputs,
            z,
        })
    }

    /// `μ` of the rows of `x` in evaluation mode (`users·K × d`; `z = μ`).
    pub fn encode(&self, x: &CsrRef, z: &mut [f32]) -> Result<()> {
        let noise = SliceNoise::default();
        self.check(x, &noise)?;
        let rows = x.rows() * self.concepts;
        check_len("z", z, rows * self.d)?;
        let mut kl = vec![0f32; rows];
        let f = self.forward(x, &noise, &mut kl)?;
        z.copy_from_slice(&f.z[..rows * self.d]);
        Ok(())
    }

    /// Forward, decoder (full softmax, or sampled over `negatives` with their `log_weight`) and
    /// backward for the users of `x` (see the module doc). `grad_scale` is `1 / users of the whole
    /// batch`, `kl_scale` `β / users of the whole batch`.
    #[allow(clippy::too_many_arguments)]
    pub fn train(
        &self,
        x: &CsrRef,
        noise: &SliceNoise,
        sampled: Option<(&[u32], &[f32])>,
        grad_scale: f32,
        kl_scale: f32,
        g: SliceGrads,
    ) -> Result<()> {
        self.check(x, noise)?;
        let (kk, d, m) = (self.concepts, self.d, self.items);
        let users = x.rows();
        let rows = users * kk;
        let layers = self.layers();
        let (wo, bo) = self.offsets();
        check_len("loss", g.loss, users)?;
        check_len("kl", g.kl, rows)?;
        check_len("dw", g.dw, wo[layers])?;
        check_len("db", g.db, bo[layers])?;
        check_len("dbias", g.dbias, d)?;
        check_len("dt", g.dt, m * d)?;
        check_len("dh", g.dh, m * d)?;
        check_len("dc_encoder", g.dc_encoder, m * kk)?;
        check_len("dc_decoder", g.dc_decoder, m * kk)?;
        let f = self.forward(x, noise, g.kl)?;
        let dec = MixDecoder {
            users,
            concepts: kk,
            d,
            items: m,
            z: &f.z,
            h: self.h,
            c: Some(self.c),
            bias: None,
            scale: self.scale,
            bound: self.bound,
        };
        let mut dz = vec![0f32; rows * d];
        let grads = MixGrads {
            loss: g.loss,
            dz: &mut dz,
            dh: g.dh,
            dc: Some(g.dc_decoder),
            dbias: None,
        };
        match sampled {
            Some((neg, lw)) => dec.train_sampled(x, neg, lw, grad_scale, grads)?,
            None => dec.train(x, grad_scale, grads)?,
        }
        let mut dy = vec![0f32; rows * 2 * d];
        head_backward(
            rows,
            d,
            &f.outputs[layers - 1],
            noise.eps,
            self.head(),
            &dz,
            kl_scale,
            &mut dy,
        )?;
        for j in (0..layers).rev() {
            let (din, dout) = (self.layer_dims[j], self.layer_dims[j + 1]);
            let (mask, act) = self.layer(noise, rows, j);
            let mut dx = vec![0f32; rows * din];
            dense_backward(
                rows,
                din,
                dout,
                &f.inputs[j],
                &self.weights[wo[j]..wo[j + 1]],
                &f.outputs[j],
                mask,
                act,
                &dy,
                Some(&mut dx),
                &mut g.dw[wo[j]..wo[j + 1]],
                &mut g.db[bo[j]..bo[j + 1]],
            )?;
            dy = dx;
        }
        // inputs[0] = tanh(out + bias).
        let in0 = &f.inputs[0];
        g.dbias.iter_mut().for_each(|v| *v = 0.0);
        for r in 0..rows {
            for j in 0..d {
                let i = r * d + j;
                let t = in0[i] as f64;
                dy[i] = (dy[i] as f64 * (1.0 - t * t)) as f32;
                g.dbias[j] += dy[i];
            }
        }
        sparse_mix_backward(
            x,
            kk,
            d,
            noise.mask,
            Some(self.c),
            self.t,
            &f.norms,
            &f.out,
            &dy,
            Some(g.dc_encoder),
            g.dt,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::fd::{rand, Fd, Params, FD};
    use super::*;
    use crate::rng::Xoshiro256;

    /// A small model and batch; parameters 0 = t, 1 = c, 2 = weights, 3 = h, 4 = context bias.
    struct Case {
        dims: Vec<usize>,
        p: Vec<Vec<f32>>,
        indptr: Vec<u32>,
        indices: Vec<u32>,
        mask: Vec<f32>,
        hidden: Vec<f32>,
        eps: Vec<f32>,
        biases: Vec<f32>,
    }

    const K: usize = 2;
    const D: usize = 3;
    const M: usize = 7;

    impl Params for Case {
        fn param(&mut self, which: usize) -> &mut [f32] {
            &mut self.p[which]
        }
    }

    impl Case {
        fn new() -> Case {
            let mut rng = Xoshiro256::new(9);
            let dims = vec![D, 4, 2 * D];
            let mut c = rand(&mut rng, M * K, 1.0);
            c.iter_mut().for_each(|v| *v = v.abs() + 0.1);
            let indptr = vec![0u32, 3, 5, 7];
            let indices = vec![0u32, 2, 6, 1, 2, 3, 5];
            let rows = 3 * K;
            Case {
                p: vec![
                    rand(&mut rng, M * D, 1.0),
                    c,
                    rand(&mut rng, D * 4 + 4 * 2 * D, 0.7),
                    rand(&mut rng, M * D, 0.6),
                    rand(&mut rng, D, 0.1),
                ],
                dims,
                mask: (0..7 * K)
                    .map(|i| if i % 5 == 0 { 0.0 } else { 2.0 })
                    .collect(),
                hidden: (0..rows * 4)
                    .map(|i| if i % 3 == 0 { 0.0 } else { 1.5 })
                    .collect(),
                eps: rand(&mut rng, rows * D, 1.0),
                biases: rand(&mut rng, 4 + 2 * D, 0.1),
                indptr,
                indices,
            }
        }
        fn model(&self) -> MacridSlice<'_> {
            MacridSlice {
                concepts: K,
                d: D,
                items: M,
                sigma0: 0.3,
                cosine: false,
                layer_dims: &self.dims,
                c: &self.p[1],
                t: &self.p[0],
                context_bias: &self.p[4],
                weights: &self.p[2],
                biases: &self.biases,
                h: &self.p[3],
                scale: 1.5,
                bound: None,
            }
        }
        fn noise(&self) -> SliceNoise<'_> {
            SliceNoise {
                mask: Some(&self.mask),
                hidden_masks: Some(&self.hidden),
                eps: Some(&self.eps),
            }
        }
        fn x(&self) -> CsrRef<'_> {
            CsrRef::new("x", &self.indptr, &self.indices, M).unwrap()
        }
        /// `gs · Σ loss + ks · Σ kl` and the gradients.
        fn run(&self, gs: f32, ks: f32) -> (f64, Vec<Vec<f32>>) {
            let rows = 3 * K;
            let (mut loss, mut kl) = (vec![0f32; 3], vec![0f32; rows]);
            let mut dw = vec![0f32; self.p[2].len()];
            let mut db = vec![0f32; self.biases.len()];
            let mut dbias = vec![0f32; D];
            let (mut dt, mut dh) = (vec![0f32; M * D], vec![0f32; M * D]);
            let (mut dce, mut dcd) = (vec![0f32; M * K], vec![0f32; M * K]);
            self.model()
                .train(
                    &self.x(),
                    &self.noise(),
                    None,
                    gs,
                    ks,
                    SliceGrads {
                        loss: &mut loss,
                        kl: &mut kl,
                        dw: &mut dw,
                        db: &mut db,
                        dbias: &mut dbias,
                        dt: &mut dt,
                        dh: &mut dh,
                        dc_encoder: &mut dce,
                        dc_decoder: &mut dcd,
                    },
                )
                .unwrap();
            let total = gs as f64 * loss.iter().map(|&v| v as f64).sum::<f64>()
                + ks as f64 * kl.iter().map(|&v| v as f64).sum::<f64>();
            let dc: Vec<f32> = dce.iter().zip(&dcd).map(|(a, b)| a + b).collect();
            (total, vec![dt, dc, dw, dh, dbias])
        }
    }

    #[test]
    fn slice_step_gradients_match_finite_differences() {
        let mut cs = Case::new();
        let (gs, ks) = (0.5f32, 0.2f32);
        let (_, grads) = cs.run(gs, ks);
        let loss = |c: &Case| c.run(gs, ks).0;
        let fd = Fd { tol: 3e-3, ..FD };
        for (which, name) in ["dt", "dc", "dw", "dh", "dbias"].iter().enumerate() {
            let n = grads[which].len();
            fd.check(
                &mut cs,
                which,
                name,
                &grads[which],
                &(0..n).collect::<Vec<_>>(),
                &loss,
            );
        }
    }

    #[test]
    fn bad_layer_dims_are_named() {
        let mut cs = Case::new();
        cs.dims = vec![D, 4, D];
        let mut z = vec![0f32; 3 * K * D];
        let e = cs.model().encode(&cs.x(), &mut z).unwrap_err();
        assert!(e.message.contains("'layer_dims'"), "{}", e.message);
    }
}
