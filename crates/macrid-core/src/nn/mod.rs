//! The heavy parts of the models' training step, for a whole batch of users per call.
//!
//! - [`sparse_mix_forward`] / [`sparse_mix_backward`]: the encoder's first layer on the sparse click
//!   matrix, per concept: `v[b,k,:] = Σ_{i∈x_b} m[p,k] c[i,k] t[i,:] / sqrt(Σ_{i∈x_b} c[i,k]² + eps)`
//!   (MacridVAE's masked, L2-normalized, dropped-out input times the context embeddings; with one
//!   concept and no `c` it is MultVAE's `dropout(x/‖x‖) · W₁`).
//! - [`MixDecoder`]: the decoder and its multinomial log-likelihood, fused. For user `b` and item `i`,
//!   `l[b,k,i] = scale · (z[b,k,:] · h[i,:]) + bias[i]`, `q[b,i] = Σ_k c[i,k] e^{l[b,k,i]}` and
//!   `log p[b,i] = log q[b,i] − log Σ_j q[b,j]` (MacridVAE's concept mixture; with one concept, no `c`
//!   and a bias it is MultVAE's output layer and log-softmax). Training returns the per-user loss
//!   `−Σ_{i∈x_b} log p[b,i]` and the gradients of `grad_scale · Σ_b loss_b` with respect to `z`, `h`,
//!   `c` and `bias`, never materializing more than a chunk of users × items.
//!
//! Layouts (row-major `f32`): `z` is `(users·K) × d` with row `b·K + k`; `h` is `items × d`; `c` is
//! `items × K`; `t` is `items × d`; the clicks are CSR over `items` columns.
//!
//! Files: `sparse.rs` (the sparse first layer), `decoder.rs` (the fused decoder, full and sampled
//! softmax), `dense.rs` (dense layers and the VAE heads), `slice.rs` (MacridVAE's whole user-side step for a
//! slice of users, composed of the others), `mult.rs` (β-MultVAE's / MultDAE's whole step for a slice); each has its own tests, all checking
//! gradients with the one finite-difference helper of `fd.rs`.

mod decoder;
mod dense;
#[cfg(test)]
mod fd;
mod mult;
mod slice;
mod sparse;

pub use decoder::{MixDecoder, MixGrads};
pub use dense::{dense_backward, dense_forward, head_backward, head_forward, Activation, Head};
pub use mult::{MultGrads, MultSlice};
pub use slice::{MacridSlice, SliceGrads, SliceNoise};
pub use sparse::{sparse_mix_backward, sparse_mix_forward};

use crate::error::{Error, Result};

pub(crate) fn check_dims(users: usize, concepts: usize, d: usize, items: usize) -> Result<()> {
    if concepts == 0 || d == 0 {
        return Err(Error::invalid(format!(
            "'concepts' and 'd' must be >= 1 but got {} and {}",
            concepts, d
        )));
    }
    users
        .checked_mul(concepts)
        .and_then(|x| x.checked_mul(d.max(items)))
        .ok_or_else(|| Error::invalid("sizes overflow".to_string()))?;
    Ok(())
}
