//! Exports of the training kernels (`macrid_core::nn`, `macrid_core::gemm`). Optional arrays are passed
//! as a null pointer (0); an absent `bound` as NaN. All outputs are caller-allocated and overwritten.

use crate::abi::{csr, opt, opt_mut, slice, slice_mut, status};
use macrid_core::csr::CsrRef;
use macrid_core::nn::{
    sparse_mix_backward, sparse_mix_forward, MacridSlice, MixDecoder, MixGrads, MultGrads,
    MultSlice, SliceGrads, SliceNoise,
};
use macrid_core::{Error, Result};

/// Forward pass of the per-concept sparse encoder layer; see `macrid_core::nn::sparse_mix_forward`.
///
/// # Safety
/// `indptr` users+1, `indices` nnz, `mask` nnz·K (or null), `c` items·K (or null), `t` items·d,
/// `out` users·K·d, `norms` users·K.
#[no_mangle]
pub unsafe extern "C" fn mv_sparse_mix_forward(
    users: usize,
    items: usize,
    concepts: usize,
    d: usize,
    indptr: *const u32,
    indices: *const u32,
    nnz: usize,
    mask: *const f32,
    c: *const f32,
    t: *const f32,
    eps: f32,
    out: *mut f32,
    norms: *mut f32,
) -> i32 {
    status((|| {
        let x = csr("x", indptr, users, indices, nnz, items)?;
        sparse_mix_forward(
            &x,
            concepts,
            d,
            opt(mask, nnz * concepts),
            opt(c, items * concepts),
            slice(t, items * d),
            eps,
            slice_mut(out, users * concepts * d),
            slice_mut(norms, users * concepts),
        )
    })())
}

/// Backward pass of [`mv_sparse_mix_forward`].
///
/// # Safety
/// As the forward pass, plus `norms` users·K, `out`/`dout` users·K·d, `dc` items·K (null when `c` is),
/// `dt` items·d.
#[no_mangle]
pub unsafe extern "C" fn mv_sparse_mix_backward(
    users: usize,
    items: usize,
    concepts: usize,
    d: usize,
    indptr: *const u32,
    indices: *const u32,
    nnz: usize,
    mask: *const f32,
    c: *const f32,
    t: *const f32,
    norms: *const f32,
    out: *const f32,
    dout: *const f32,
    dc: *mut f32,
    dt: *mut f32,
) -> i32 {
    status((|| {
        let x = csr("x", indptr, users, indices, nnz, items)?;
        sparse_mix_backward(
            &x,
            concepts,
            d,
            opt(mask, nnz * concepts),
            opt(c, items * concepts),
            slice(t, items * d),
            slice(norms, users * concepts),
            slice(out, users * concepts * d),
            slice(dout, users * concepts * d),
            opt_mut(dc, items * concepts),
            slice_mut(dt, items * d),
        )
    })())
}

unsafe fn decoder<'a>(
    users: usize,
    items: usize,
    concepts: usize,
    d: usize,
    z: *const f32,
    h: *const f32,
    c: *const f32,
    bias: *const f32,
    scale: f32,
    bound: f32,
) -> Result<MixDecoder<'a>> {
    let n = users
        .checked_mul(concepts)
        .and_then(|x| x.checked_mul(d))
        .ok_or_else(|| Error::invalid("sizes overflow".to_string()))?;
    Ok(MixDecoder {
        users,
        concepts,
        d,
        items,
        z: slice(z, n),
        h: slice(h, items * d),
        c: opt(c, items * concepts),
        bias: opt(bias, items),
        scale,
        bound: if bound.is_nan() { None } else { Some(bound) },
    })
}

/// Log-probabilities of every item for every user (`out`: users·items); see `macrid_core::nn::MixDecoder`.
///
/// # Safety
/// `z` users·K·d, `h` items·d, `c` items·K (or null), `bias` items (or null), `out` users·items.
#[no_mangle]
pub unsafe extern "C" fn mv_mix_decoder_log_probs(
    users: usize,
    items: usize,
    concepts: usize,
    d: usize,
    z: *const f32,
    h: *const f32,
    c: *const f32,
    bias: *const f32,
    scale: f32,
    bound: f32,
    out: *mut f32,
) -> i32 {
    status((|| {
        let dec = decoder(users, items, concepts, d, z, h, c, bias, scale, bound)?;
        dec.log_probs(slice_mut(out, users * items))
    })())
}

/// Loss and gradients of the fused decoder for clicks `x`: the full softmax when `negatives` is null
/// (`macrid_core::nn::MixDecoder::train`), else the sampled softmax over each user's clicks and the `s`
/// shared negatives with their log weights (`MixDecoder::train_sampled`).
///
/// # Safety
/// As [`mv_mix_decoder_log_probs`], plus `indptr` users+1, `indices` nnz, `negatives` and `log_weight`
/// `s` (or null), `loss` users, `dz` users·K·d, `dh` items·d, `dc` items·K (null when `c` is), `dbias`
/// items (null when `bias` is).
#[no_mangle]
pub unsafe extern "C" fn mv_mix_decoder_train(
    users: usize,
    items: usize,
    concepts: usize,
    d: usize,
    z: *const f32,
    h: *const f32,
    c: *const f32,
    bias: *const f32,
    scale: f32,
    bound: f32,
    indptr: *const u32,
    indices: *const u32,
    nnz: usize,
    negatives: *const u32,
    log_weight: *const f32,
    s: usize,
    grad_scale: f32,
    loss: *mut f32,
    dz: *mut f32,
    dh: *mut f32,
    dc: *mut f32,
    dbias: *mut f32,
) -> i32 {
    status((|| {
        let dec = decoder(users, items, concepts, d, z, h, c, bias, scale, bound)?;
        let x = csr("x", indptr, users, indices, nnz, items)?;
        let grads = MixGrads {
            loss: slice_mut(loss, users),
            dz: slice_mut(dz, users * concepts * d),
            dh: slice_mut(dh, items * d),
            dc: opt_mut(dc, items * concepts),
            dbias: opt_mut(dbias, items),
        };
        if negatives.is_null() {
            dec.train(&x, grad_scale, grads)
        } else {
            dec.train_sampled(
                &x,
                slice(negatives, s),
                slice(log_weight, s),
                grad_scale,
                grads,
            )
        }
    })())
}

/// `C (m×n) = op(A) · op(B)`, packed row-major; `trans_a`/`trans_b` non-zero take `A` as `k×m` / `B` as
/// `n×k` and use their transposes (by strides, see `macrid_core::gemm::sgemm`).
///
/// # Safety
/// `a` m·k, `b` k·n, `c` m·n elements.
#[no_mangle]
pub unsafe extern "C" fn mv_gemm(
    trans_a: u32,
    trans_b: u32,
    m: usize,
    n: usize,
    k: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
) -> i32 {
    use macrid_core::gemm::{sgemm, Gemm, Strided, StridedMut};
    let (a, b) = (slice(a, m * k), slice(b, k * n));
    status(sgemm(Gemm {
        m,
        k,
        n,
        a: if trans_a != 0 {
            Strided::t(a, m)
        } else {
            Strided::rows(a, k)
        },
        b: if trans_b != 0 {
            Strided::t(b, k)
        } else {
            Strided::rows(b, n)
        },
        c: StridedMut::ld(slice_mut(c, m * n), n),
        accumulate: false,
    }))
}

/// Fills `out` (`n` floats) with seeded noise: `kind` 0 = standard normal, 1 = inverted dropout with keep
/// probability `param`, 2 = standard Gumbel. The seed is `(seed_hi << 32) | seed_lo`.
///
/// # Safety
/// `out` must point to `n` writable floats.
#[no_mangle]
pub unsafe extern "C" fn mv_noise(
    kind: u32,
    seed_hi: u32,
    seed_lo: u32,
    param: f64,
    n: usize,
    out: *mut f32,
) -> i32 {
    let seed = ((seed_hi as u64) << 32) | seed_lo as u64;
    let out = slice_mut(out, n);
    status(match kind {
        0 => {
            macrid_core::noise::fill_normal(seed, out);
            Ok(())
        }
        1 if param > 0.0 && param <= 1.0 => {
            macrid_core::noise::fill_dropout(seed, param, out);
            Ok(())
        }
        1 => Err(Error::invalid(format!(
            "'keep' must be in (0, 1] but is {}",
            param
        ))),
        2 => {
            macrid_core::noise::fill_gumbel(seed, out);
            Ok(())
        }
        _ => Err(Error::invalid(format!("unknown noise kind {}", kind))),
    })
}

fn activation(code: u32) -> Result<macrid_core::nn::Activation> {
    match code {
        0 => Ok(macrid_core::nn::Activation::Identity),
        1 => Ok(macrid_core::nn::Activation::Tanh),
        _ => Err(Error::invalid(format!("unknown activation {}", code))),
    }
}

fn head(kind: u32, sigma0: f32, normalize: u32) -> Result<macrid_core::nn::Head> {
    match kind {
        0 => Ok(macrid_core::nn::Head::Macrid {
            sigma0,
            normalize_z: normalize != 0,
        }),
        1 => Ok(macrid_core::nn::Head::Mult),
        _ => Err(Error::invalid(format!("unknown head {}", kind))),
    }
}

/// Dense layer forward; see `macrid_core::nn::dense_forward` (`act`: 0 identity, 1 tanh).
///
/// # Safety
/// `x` rows·din, `w` din·dout, `b` dout, `mask` rows·dout (or null), `y` rows·dout.
#[no_mangle]
pub unsafe extern "C" fn mv_dense_forward(
    rows: usize,
    din: usize,
    dout: usize,
    x: *const f32,
    w: *const f32,
    b: *const f32,
    mask: *const f32,
    act: u32,
    y: *mut f32,
) -> i32 {
    status((|| {
        macrid_core::nn::dense_forward(
            rows,
            din,
            dout,
            slice(x, rows * din),
            slice(w, din * dout),
            slice(b, dout),
            opt(mask, rows * dout),
            activation(act)?,
            slice_mut(y, rows * dout),
        )
    })())
}

/// Dense layer backward; see `macrid_core::nn::dense_backward`.
///
/// # Safety
/// As [`mv_dense_forward`], plus `dy` rows·dout, `dx` rows·din (or null), `dw` din·dout, `db` dout.
#[no_mangle]
pub unsafe extern "C" fn mv_dense_backward(
    rows: usize,
    din: usize,
    dout: usize,
    x: *const f32,
    w: *const f32,
    y: *const f32,
    mask: *const f32,
    act: u32,
    dy: *const f32,
    dx: *mut f32,
    dw: *mut f32,
    db: *mut f32,
) -> i32 {
    status((|| {
        macrid_core::nn::dense_backward(
            rows,
            din,
            dout,
            slice(x, rows * din),
            slice(w, din * dout),
            slice(y, rows * dout),
            opt(mask, rows * dout),
            activation(act)?,
            slice(dy, rows * dout),
            opt_mut(dx, rows * din),
            slice_mut(dw, din * dout),
            slice_mut(db, dout),
        )
    })())
}

/// VAE head forward (`kind` 0 MacridVAE, 1 MultVAE); see `macrid_core::nn::head_forward`.
///
/// # Safety
/// `y` rows·2d, `eps` rows·d (or null), `z` rows·d, `kl` rows.
#[no_mangle]
pub unsafe extern "C" fn mv_head_forward(
    rows: usize,
    d: usize,
    y: *const f32,
    eps: *const f32,
    kind: u32,
    sigma0: f32,
    normalize: u32,
    z: *mut f32,
    kl: *mut f32,
) -> i32 {
    status((|| {
        macrid_core::nn::head_forward(
            rows,
            d,
            slice(y, rows * 2 * d),
            opt(eps, rows * d),
            head(kind, sigma0, normalize)?,
            slice_mut(z, rows * d),
            slice_mut(kl, rows),
        )
    })())
}

/// VAE head backward; see `macrid_core::nn::head_backward`.
///
/// # Safety
/// As [`mv_head_forward`], plus `dz` rows·d and `dy` rows·2d.
#[no_mangle]
pub unsafe extern "C" fn mv_head_backward(
    rows: usize,
    d: usize,
    y: *const f32,
    eps: *const f32,
    kind: u32,
    sigma0: f32,
    normalize: u32,
    dz: *const f32,
    kl_scale: f32,
    dy: *mut f32,
) -> i32 {
    status((|| {
        macrid_core::nn::head_backward(
            rows,
            d,
            slice(y, rows * 2 * d),
            opt(eps, rows * d),
            head(kind, sigma0, normalize)?,
            slice(dz, rows * d),
            kl_scale,
            slice_mut(dy, rows * 2 * d),
        )
    })())
}

/// The dims and params of [`mv_macrid_slice_train`] / [`mv_macrid_encode`], read from their arrays.
struct SliceDims {
    users: usize,
    items: usize,
    concepts: usize,
    d: usize,
    nnz: usize,
    negatives: usize,
    cosine: bool,
    layer_dims: Vec<usize>,
}

/// `dims`: `[users, items, K, d, nnz, layers, negatives, cosine (0/1), width_0 … width_layers]`.
///
/// # Safety
/// `dims` must point to `ndims` elements.
unsafe fn slice_dims(dims: *const u32, ndims: usize) -> Result<SliceDims> {
    let v = slice(dims, ndims);
    if v.len() < 8 || v.len() != 9 + v[5] as usize {
        return Err(Error::invalid(format!(
            "'dims' must hold 8 sizes and layers + 1 widths but has {} entries",
            v.len()
        )));
    }
    Ok(SliceDims {
        users: v[0] as usize,
        items: v[1] as usize,
        concepts: v[2] as usize,
        d: v[3] as usize,
        nnz: v[4] as usize,
        negatives: v[6] as usize,
        cosine: v[7] != 0,
        layer_dims: v[8..].iter().map(|&w| w as usize).collect(),
    })
}

/// Reads the `n` pointers of a pointer block (each a `u32` address in the module's memory; 0 = null).
///
/// # Safety
/// `block` must point to `n` `u32`s.
unsafe fn pointers<T>(block: *const u32, n: usize) -> Vec<*const T> {
    slice(block, n)
        .iter()
        .map(|&p| p as usize as *const T)
        .collect()
}

/// The CSR batch and the model side of a slice step. `model` is a block of 8 pointers:
/// `[indptr, indices, c, t, context_bias, weights, biases, h]`; `params`: `[σ0, scale, bound (NaN: none)]`.
///
/// # Safety
/// `model` must point to 8 `u32`s and each pointer must hold the size its dims give (see
/// [`mv_macrid_slice_train`]).
unsafe fn slice_model<'a>(
    s: &'a SliceDims,
    params: *const f32,
    model: *const u32,
) -> Result<(CsrRef<'a>, MacridSlice<'a>)> {
    let p = slice(params, 3);
    let m = pointers::<f32>(model, 8);
    let ids = pointers::<u32>(model, 2);
    let dims = &s.layer_dims;
    let nw: usize = dims.windows(2).map(|w| w[0] * w[1]).sum();
    let nb: usize = dims[1..].iter().sum();
    let x = csr("x", ids[0], s.users, ids[1], s.nnz, s.items)?;
    Ok((
        x,
        MacridSlice {
            concepts: s.concepts,
            d: s.d,
            items: s.items,
            sigma0: p[0],
            cosine: s.cosine,
            layer_dims: dims,
            c: slice(m[2], s.items * s.concepts),
            t: slice(m[3], s.items * s.d),
            context_bias: slice(m[4], s.d),
            weights: slice(m[5], nw),
            biases: slice(m[6], nb),
            h: slice(m[7], s.items * s.d),
            scale: p[1],
            bound: if p[2].is_nan() { None } else { Some(p[2]) },
        },
    ))
}

/// MacridVAE's whole user-side training step for a slice of users (`macrid_core::nn::MacridSlice::train`):
/// encoder forward, fused decoder (sampled over `negatives` when their count is non-zero), backward.
/// `dims` as [`slice_dims`]; `params`: `[σ0, scale, bound (NaN: none), grad_scale, kl_scale]`; `model`
/// as [`slice_model`]. f_nn's weights, biases and their gradients are concatenated layer after layer;
/// `hidden_masks` holds each hidden layer's `rows × width` mask in turn (`rows = users·K`). Optional
/// arrays are null. `out` is a block of 9 output pointers:
/// `[loss, kl, dw, db, dbias, dt, dh, dc_encoder, dc_decoder]`.
///
/// # Safety
/// `indptr` users+1, `indices` nnz, `c` items·K, `t`/`h` items·d, `context_bias` d, `mask` nnz·K,
/// `eps` rows·d, `negatives`/`log_weight` negatives; outputs `loss` users, `kl` rows, `dw`/`db` as the
/// weights/biases, `dbias` d, `dt`/`dh` items·d, `dc_encoder`/`dc_decoder` items·K.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn mv_macrid_slice_train(
    dims: *const u32,
    ndims: usize,
    params: *const f32,
    model: *const u32,
    mask: *const f32,
    hidden_masks: *const f32,
    eps: *const f32,
    negatives: *const u32,
    log_weight: *const f32,
    out: *const u32,
) -> i32 {
    status((|| {
        let s = slice_dims(dims, ndims)?;
        let p = slice(params, 5);
        let (x, model) = slice_model(&s, params, model)?;
        let rows = s.users * s.concepts;
        let dims = &s.layer_dims;
        let layers = dims.len() - 1;
        let hidden: usize = dims[1..layers].iter().sum();
        let noise = SliceNoise {
            mask: opt(mask, s.nnz * s.concepts),
            hidden_masks: opt(hidden_masks, rows * hidden),
            eps: opt(eps, rows * s.d),
        };
        let sampled = if s.negatives > 0 {
            Some((
                slice(negatives, s.negatives),
                slice(log_weight, s.negatives),
            ))
        } else {
            None
        };
        let nw: usize = dims.windows(2).map(|w| w[0] * w[1]).sum();
        let nb: usize = dims[1..].iter().sum();
        let o: Vec<*mut f32> = pointers::<f32>(out, 9)
            .into_iter()
            .map(|q| q as *mut f32)
            .collect();
        model.train(
            &x,
            &noise,
            sampled,
            p[3],
            p[4],
            SliceGrads {
                loss: slice_mut(o[0], s.users),
                kl: slice_mut(o[1], rows),
                dw: slice_mut(o[2], nw),
                db: slice_mut(o[3], nb),
                dbias: slice_mut(o[4], s.d),
                dt: slice_mut(o[5], s.items * s.d),
                dh: slice_mut(o[6], s.items * s.d),
                dc_encoder: slice_mut(o[7], s.items * s.concepts),
                dc_decoder: slice_mut(o[8], s.items * s.concepts),
            },
        )
    })())
}

/// `μ` (`users·K × d`, `z = μ` at evaluation) of the rows of a CSR batch: MacridVAE's encoder in
/// evaluation mode (`macrid_core::nn::MacridSlice::encode`); arguments as [`mv_macrid_slice_train`].
///
/// # Safety
/// As [`mv_macrid_slice_train`]; `z` users·K·d.
#[no_mangle]
pub unsafe extern "C" fn mv_macrid_encode(
    dims: *const u32,
    ndims: usize,
    params: *const f32,
    model: *const u32,
    z: *mut f32,
) -> i32 {
    status((|| {
        let s = slice_dims(dims, ndims)?;
        let (x, model) = slice_model(&s, params, model)?;
        model.encode(&x, slice_mut(z, s.users * s.concepts * s.d))
    })())
}

/// β-MultVAE's / MultDAE's whole training step for a slice of users (`macrid_core::nn::MultSlice::train`).
/// `shapes`: `(in, out)` of each of the `layers` layers, flattened; `latent`: the `[μ | log σ²]` layer, or
/// −1 (MultDAE). Weights, biases and their gradients are concatenated layer after layer; `negatives` 0:
/// full softmax. Optional arrays are null.
///
/// # Safety
/// `shapes` 2·layers, `indptr` users+1, `indices`/`mask` nnz, `eps` users·latent width, weights/biases and
/// `dw`/`db` as the shapes give, `negatives`/`log_weight` n_neg, `loss`/`kl` users.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn mv_mult_slice_train(
    shapes: *const u32,
    layers: usize,
    latent: i32,
    users: usize,
    items: usize,
    indptr: *const u32,
    indices: *const u32,
    nnz: usize,
    weights: *const f32,
    biases: *const f32,
    mask: *const f32,
    eps: *const f32,
    negatives: *const u32,
    log_weight: *const f32,
    n_neg: usize,
    grad_scale: f32,
    kl_scale: f32,
    loss: *mut f32,
    kl: *mut f32,
    dw: *mut f32,
    db: *mut f32,
) -> i32 {
    status((|| {
        let flat = slice(shapes, 2 * layers);
        let shapes: Vec<(usize, usize)> = flat
            .chunks(2)
            .map(|p| (p[0] as usize, p[1] as usize))
            .collect();
        let latent = if latent < 0 {
            None
        } else {
            Some(latent as usize)
        };
        let nw: usize = shapes.iter().map(|&(i, o)| i * o).sum();
        let nb: usize = shapes.iter().map(|&(_, o)| o).sum();
        let zw = match latent {
            Some(l) if l < shapes.len() => shapes[l].1 / 2,
            _ => 0,
        };
        let model = MultSlice {
            items,
            shapes: &shapes,
            latent,
            weights: slice(weights, nw),
            biases: slice(biases, nb),
        };
        let x = csr("x", indptr, users, indices, nnz, items)?;
        let sampled = if n_neg > 0 {
            Some((slice(negatives, n_neg), slice(log_weight, n_neg)))
        } else {
            None
        };
        model.train(
            &x,
            opt(mask, nnz),
            opt(eps, users * zw),
            sampled,
            grad_scale,
            kl_scale,
            MultGrads {
                loss: slice_mut(loss, users),
                kl: slice_mut(kl, users),
                dw: slice_mut(dw, nw),
                db: slice_mut(db, nb),
            },
        )
    })())
}
