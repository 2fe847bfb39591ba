//! Exports of controllable retrieval (paper §2.4): beam-search traversal of one dimension.

use crate::abi::{slice, slice_mut, status};
use macrid_core::beam::{traverse, traverse_objective, TraverseOptions};

/// One traversal; see `macrid_core::beam` for the method.
///
/// Inputs: `h` items·d f32, `protos` concepts·d f32, `start` d f32. Outputs (caller-allocated):
/// `out_items` steps u32, `out_values` steps f32, `out_scores` steps f64, `out_bounds` steps+1 f64,
/// `out_counts` steps u32, `out_meta` 4 f64 = [concept, a, b, objective].
///
/// # Safety
/// Pointers must reference the documented number of elements.
#[no_mangle]
pub unsafe extern "C" fn mv_traverse(
    h: *const f32,
    items: usize,
    d: usize,
    protos: *const f32,
    concepts: usize,
    start: *const f32,
    dim: usize,
    steps: usize,
    beam: usize,
    gamma: f64,
    tau: f64,
    out_items: *mut u32,
    out_values: *mut f32,
    out_scores: *mut f64,
    out_bounds: *mut f64,
    out_counts: *mut u32,
    out_meta: *mut f64,
) -> i32 {
    status((|| {
        let opts = TraverseOptions {
            dim,
            steps,
            beam,
            gamma,
            tau,
        };
        let r = traverse(
            slice(h, items * d),
            items,
            d,
            slice(protos, concepts * d),
            concepts,
            slice(start, d),
            &opts,
        )?;
        slice_mut(out_items, steps).copy_from_slice(&r.items);
        slice_mut(out_values, steps).copy_from_slice(&r.values);
        slice_mut(out_scores, steps).copy_from_slice(&r.scores);
        slice_mut(out_bounds, steps + 1).copy_from_slice(&r.bounds);
        slice_mut(out_counts, steps).copy_from_slice(&r.counts);
        let meta = slice_mut(out_meta, 4);
        meta[0] = r.concept as f64;
        meta[1] = r.range.0;
        meta[2] = r.range.1;
        meta[3] = r.objective;
        Ok(())
    })())
}

/// The traversal objective of given items (f64 throughout); writes it to `out[0]`.
///
/// # Safety
/// `h` items·d, `start` d, `chosen` n elements, `out` 1.
#[no_mangle]
pub unsafe extern "C" fn mv_traverse_objective(
    h: *const f32,
    items: usize,
    d: usize,
    start: *const f32,
    dim: usize,
    chosen: *const u32,
    n: usize,
    gamma: f64,
    tau: f64,
    out: *mut f64,
) -> i32 {
    status((|| {
        let v = traverse_objective(
            slice(h, items * d),
            items,
            d,
            slice(start, d),
            dim,
            slice(chosen, n),
            gamma,
            tau,
        )?;
        slice_mut(out, 1)[0] = v;
        Ok(())
    })())
}
