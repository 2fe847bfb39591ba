//! Exports of the disentanglement analysis: concept assignment, users' concept confidence, alignment
//! metrics, per-dimension statistics, t-SNE, spherical k-means. (Correlations and the independence score: `stats.rs`.)

use crate::abi::{csr, slice, slice_mut, status};
use macrid_core::analysis::{
    ari, assign_concepts, column_stats, contingency, hungarian_max, nmi, user_concept_confidence,
    Similarity,
};
use macrid_core::kmeans::{spherical_kmeans, KmeansOptions};
use macrid_core::tsne::{tsne, TsneOptions};
use macrid_core::Error;

/// Concept assignment of items; `similarity` 0 = cosine, 1 = inner product.
/// Outputs `out_c` items·concepts f32, `out_concept` items u32, `out_confidence` items f32.
///
/// # Safety
/// Pointers must reference the documented number of elements (`h` items·d, `protos` concepts·d).
#[no_mangle]
pub unsafe extern "C" fn mv_assign_concepts(
    h: *const f32,
    items: usize,
    d: usize,
    protos: *const f32,
    concepts: usize,
    tau: f64,
    similarity: u32,
    out_c: *mut f32,
    out_concept: *mut u32,
    out_confidence: *mut f32,
) -> i32 {
    status((|| {
        let sim = match similarity {
            0 => Similarity::Cosine,
            1 => Similarity::Inner,
            s => {
                return Err(Error::invalid(format!(
                    "'similarity' must be 0 (cosine) or 1 (inner) but is {}",
                    s
                )))
            }
        };
        assign_concepts(
            slice(h, items * d),
            items,
            d,
            slice(protos, concepts * d),
            concepts,
            tau,
            sim,
            slice_mut(out_c, items * concepts),
            slice_mut(out_concept, items),
            slice_mut(out_confidence, items),
        )
    })())
}

/// Users' per-concept confidence `Σ_{i∈x_u} c_ik`: `c` items·concepts, CSR `x` (users rows over
/// items), `out` users·concepts f32.
///
/// # Safety
/// Pointers must reference the documented number of elements (`indptr` users+1, `indices` nnz).
#[no_mangle]
pub unsafe extern "C" fn mv_user_concept_confidence(
    c: *const f32,
    items: usize,
    concepts: usize,
    indptr: *const u32,
    indices: *const u32,
    users: usize,
    nnz: usize,
    out: *mut f32,
) -> i32 {
    status((|| {
        let x = csr("x", indptr, users, indices, nnz, items)?;
        user_concept_confidence(
            slice(c, items * concepts),
            concepts,
            &x,
            slice_mut(out, users * concepts),
        )
    })())
}

/// Alignment of labelings `a` (na labels, e.g. learned concepts) and `b` (nb labels, e.g. categories)
/// of n points: `out_table` na·nb u32 contingency counts, `out_match` na u32 (the category matched to
/// each concept by the Hungarian algorithm, 2^32−1 if none), `out_metrics` 3 f64 = [NMI, ARI,
/// accuracy after matching].
///
/// # Safety
/// Pointers must reference the documented number of elements.
#[no_mangle]
pub unsafe extern "C" fn mv_alignment(
    a: *const u32,
    b: *const u32,
    n: usize,
    na: usize,
    nb: usize,
    out_table: *mut u32,
    out_match: *mut u32,
    out_metrics: *mut f64,
) -> i32 {
    status((|| {
        let t = contingency(slice(a, n), na, slice(b, n), nb)?;
        let w: Vec<f64> = t.iter().map(|&v| v as f64).collect();
        let m = hungarian_max(&w, na, nb)?;
        let mut hit = 0u64;
        for (x, &y) in m.iter().enumerate() {
            if y != u32::MAX {
                hit += t[x * nb + y as usize];
            }
        }
        let metrics = slice_mut(out_metrics, 3);
        metrics[0] = nmi(&t, na, nb)?;
        metrics[1] = ari(&t, na, nb)?;
        metrics[2] = if n == 0 { 1.0 } else { hit as f64 / n as f64 };
        let table = slice_mut(out_table, na * nb);
        for (o, &v) in table.iter_mut().zip(t.iter()) {
            *o = v.min(u32::MAX as u64) as u32;
        }
        slice_mut(out_match, na).copy_from_slice(&m);
        Ok(())
    })())
}

/// Per-column mean, std, min, max of `x` (n·d f32) into `out` (4·d f64, one row per statistic).
///
/// # Safety
/// Pointers must reference the documented number of elements.
#[no_mangle]
pub unsafe extern "C" fn mv_column_stats(x: *const f32, n: usize, d: usize, out: *mut f64) -> i32 {
    status(column_stats(slice(x, n * d), n, d, slice_mut(out, 4 * d)))
}

/// Exact t-SNE of the rows of `x` (n·dim f32) to `out` (n·2 f32); `out_kl[0]` = final KL(P‖Q).
///
/// # Safety
/// Pointers must reference the documented number of elements.
#[no_mangle]
pub unsafe extern "C" fn mv_tsne(
    x: *const f32,
    n: usize,
    dim: usize,
    perplexity: f64,
    iterations: usize,
    seed: u32,
    out: *mut f32,
    out_kl: *mut f64,
) -> i32 {
    status((|| {
        let opts = TsneOptions {
            perplexity,
            iterations,
            seed: seed as u64,
        };
        let (y, kl) = tsne(slice(x, n * dim), n, dim, &opts)?;
        slice_mut(out, 2 * n).copy_from_slice(&y);
        slice_mut(out_kl, 1)[0] = kl;
        Ok(())
    })())
}

/// Spherical k-means of the rows of `x` (n·d f32) into `k` unit centroids (`out_centroids` k·d f32),
/// with each row's cluster (`out_labels` n u32) and the objective `Σ cos` (`out_objective` 1 f64).
///
/// # Safety
/// Pointers must reference the documented number of elements.
#[no_mangle]
pub unsafe extern "C" fn mv_spherical_kmeans(
    x: *const f32,
    n: usize,
    d: usize,
    k: usize,
    restarts: usize,
    max_iter: usize,
    seed: u32,
    out_centroids: *mut f32,
    out_labels: *mut u32,
    out_objective: *mut f64,
) -> i32 {
    status((|| {
        let opts = KmeansOptions {
            restarts,
            max_iter,
            seed: seed as u64,
        };
        let r = spherical_kmeans(slice(x, n * d), n, d, k, &opts)?;
        slice_mut(out_centroids, k * d).copy_from_slice(&r.centroids);
        slice_mut(out_labels, n).copy_from_slice(&r.labels);
        slice_mut(out_objective, 1)[0] = r.objective;
        Ok(())
    })())
}
