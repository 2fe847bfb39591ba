//! User-controllable retrieval by beam search (paper §2.4).
//!
//! Given item representations `H` (`items × d`, row-major), concept prototypes (`concepts × d`), a start
//! representation `h_*` (an item's `h`, or one concept component of a user's `z`), a dimension `j`,
//! `B` steps, a beam width `W`, a weight `γ` and the temperature `τ`:
//!
//! 1. `k*` is the prototype nearest to `h_*` by cosine (ties to the lower `k`).
//! 2. The range `(a, b)` of `h_{*,j}` in which `k*` stays the nearest prototype is found by binary search
//!    on each side of `h_{*,j}`. (Only dimension `j` changes, so the norm of `h_*` divides every cosine
//!    alike and the set is an interval.) The search is bracketed by the extent of the items' values on
//!    dimension `j` (widened by 0.1 %), so an unbounded side is reported at that bracket.
//! 3. The candidates are the items of concept `k*` (their own nearest prototype is `k*`) with
//!    `a < h_{i,j} < b`. Sorted by `(h_{i,j}, id)`, they are split into `B` consecutive groups of
//!    `⌊t·n/B⌋ .. ⌊(t+1)·n/B⌋` (about equally many items); the subrange bounds are `a`, the midpoints
//!    between neighbouring groups, and `b`.
//! 4. One item per group is chosen by beam search (groups in increasing order of value) maximizing
//!    `Σ_t exp(cos(h_{i_t,−j}, h_{*,−j})/τ) + γ Σ_{t<t'} exp(cos(h_{i_t,−j}, h_{i_t',−j})/τ)`
//!    where `−j` drops dimension `j`. Expansions are ranked by partial objective (higher first), then by
//!    the rank of their parent beam, then by the lower item id. The beam always keeps the greedy
//!    lineage (the path a width-1 search takes), so its objective is never below greedy selection's;
//!    `beam = 1` *is* greedy selection.
//!
//! The chosen items are distinct (the groups are disjoint), all of concept `k*`, and their values on
//! dimension `j` are non-decreasing (strictly increasing unless two items share the exact same value).
//! Cost: `items · concepts · d` for the concept assignment, then about `W · Σ_t |group_t| · t · d` for
//! the search (fewer when beams share prefixes: pair terms are computed once per distinct item).

use crate::error::{check_len, Error, Result};
use crate::simd;

/// Options of one traversal.
#[derive(Debug, Clone, Copy)]
pub struct TraverseOptions {
    /// The dimension `j` to vary (`< d`).
    pub dim: usize,
    /// The number of steps `B` (items returned), `>= 1`.
    pub steps: usize,
    /// The beam width `W`, `>= 1` (1 = greedy selection).
    pub beam: usize,
    /// The weight `γ >= 0` of the pairwise similarity term.
    pub gamma: f64,
    /// The temperature `τ` in `[0.01, 100]` (the model's, 0.1 by default in the paper).
    pub tau: f64,
}

/// The result of one traversal.
#[derive(Debug, Clone, PartialEq)]
pub struct Traversal {
    /// `k*`, the prototype nearest to the start.
    pub concept: usize,
    /// `(a, b)`: the range of `h_{*,j}` in which `k*` stays nearest (clipped to the items' extent).
    pub range: (f64, f64),
    /// `B + 1` subrange bounds `a = a_0 < … < a_B = b`.
    pub bounds: Vec<f64>,
    /// Number of candidate items in each of the `B` subranges.
    pub counts: Vec<u32>,
    /// The `B` chosen item ids, one per subrange, in increasing order of value.
    pub items: Vec<u32>,
    /// Their values `h_{i,j}` on dimension `j`.
    pub values: Vec<f32>,
    /// Each item's similarity to the start, `exp(cos(h_{i,−j}, h_{*,−j})/τ)` (the first term).
    pub scores: Vec<f64>,
    /// The objective of the chosen items (both terms).
    pub objective: f64,
}

/// Nearest prototype by cosine for every item (ties to the lower concept). An item of norm 0 gets
/// concept 0. `h` is `items × d`, `protos` is `concepts × d`; a prototype of norm 0 is an error.
pub fn nearest_prototypes(
    h: &[f32],
    items: usize,
    d: usize,
    protos: &[f32],
    concepts: usize,
) -> Result<Vec<u32>> {
    check_len("h", h, items * d)?;
    let inv = prototype_inv_norms(protos, concepts, d)?;
    let mut out = vec![0u32; items];
    for i in 0..items {
        let hi = &h[i * d..(i + 1) * d];
        let mut best = f32::NEG_INFINITY;
        for k in 0..concepts {
            let s = simd::dot(hi, &protos[k * d..(k + 1) * d]) * inv[k];
            if s > best {
                best = s;
                out[i] = k as u32;
            }
        }
    }
    Ok(out)
}

/// `1/‖m_k‖` for each prototype; checks the shape and that no prototype is zero or non-finite.
pub fn prototype_inv_norms(protos: &[f32], concepts: usize, d: usize) -> Result<Vec<f32>> {
    if concepts == 0 {
        return Err(Error::invalid("'prototypes' must have at least 1 concept"));
    }
    check_len("prototypes", protos, concepts * d)?;
    let mut inv = Vec::with_capacity(concepts);
    for k in 0..concepts {
        let n = simd::sum_sq(&protos[k * d..(k + 1) * d]).sqrt();
        if !(n > 0.0 && n.is_finite()) {
            return Err(Error::invalid(format!(
                "'prototypes' row {} must have a finite, non-zero norm but has {}",
                k, n
            )));
        }
        inv.push(1.0 / n);
    }
    Ok(inv)
}

/// The nearest prototype of `start` with dimension `dim` set to `v` (f64; ties to the lower k).
fn nearest_at(base: &[f64], slope: &[f64], v: f64) -> usize {
    let mut best = f64::NEG_INFINITY;
    let mut arg = 0;
    for k in 0..base.len() {
        let s = base[k] + v * slope[k];
        if s > best {
            best = s;
            arg = k;
        }
    }
    arg
}

/// The nearest prototype `k*` of `start` and the range `(a, b)` of its dimension `dim` within
/// `[lo, hi]` in which `k*` stays nearest, by binary search on each side (see the module doc).
pub fn concept_range(
    start: &[f32],
    protos: &[f32],
    concepts: usize,
    d: usize,
    dim: usize,
    lo: f64,
    hi: f64,
) -> Result<(usize, f64, f64)> {
    check_len("start", start, d)?;
    if dim >= d {
        return Err(Error::out_of_range(format!(
            "'dim' must be < {} (the dimension) but is {}",
            d, dim
        )));
    }
    prototype_inv_norms(protos, concepts, d)?;
    // cos(h(v), m_k)·‖h(v)‖ = (c_k + v·m_kj)/‖m_k‖ with c_k = Σ_{l≠j} h_l m_kl.
    let mut base = vec![0f64; concepts];
    let mut slope = vec![0f64; concepts];
    for k in 0..concepts {
        let m = &protos[k * d..(k + 1) * d];
        let norm = m.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
        let mut c = 0f64;
        for l in 0..d {
            if l != dim {
                c += start[l] as f64 * m[l] as f64;
            }
        }
        base[k] = c / norm;
        slope[k] = m[dim] as f64 / norm;
    }
    let v0 = start[dim] as f64;
    let k_star = nearest_at(&base, &slope, v0);
    let search = |outside: f64| -> f64 {
        if nearest_at(&base, &slope, outside) == k_star {
            return outside;
        }
        let (mut inside, mut out) = (v0, outside);
        for _ in 0..200 {
            let mid = 0.5 * (inside + out);
            if mid == inside || mid == out {
                break;
            }
            if nearest_at(&base, &slope, mid) == k_star {
                inside = mid;
            } else {
                out = mid;
            }
        }
        0.5 * (inside + out)
    };
    let a = search(lo.min(v0));
    let b = search(hi.max(v0));
    Ok((k_star, a, b))
}

/// Copies row `i` of `h` without dimension `dim` into `out` and normalizes it to unit length (left at 0
/// when its norm is 0).
fn normalized_without(row: &[f32], dim: usize, out: &mut [f32]) {
    let mut p = 0;
    for (l, &x) in row.iter().enumerate() {
        if l != dim {
            out[p] = x;
            p += 1;
        }
    }
    let n = simd::sum_sq(out).sqrt();
    if n > 0.0 {
        let inv = 1.0 / n;
        for x in out.iter_mut() {
            *x *= inv;
        }
    }
}

fn check_options(o: &TraverseOptions, d: usize) -> Result<()> {
    if d < 2 {
        return Err(Error::invalid(format!(
            "the representations must have at least 2 dimensions but have {}",
            d
        )));
    }
    if o.dim >= d {
        return Err(Error::out_of_range(format!(
            "'dim' must be < {} (the dimension) but is {}",
            d, o.dim
        )));
    }
    if o.steps == 0 {
        return Err(Error::invalid("'steps' must be >= 1 but is 0"));
    }
    if o.beam == 0 {
        return Err(Error::invalid("'beam' must be >= 1 but is 0"));
    }
    if !(o.gamma >= 0.0 && o.gamma.is_finite()) {
        return Err(Error::invalid(format!(
            "'gamma' must be a finite number >= 0 but is {}",
            o.gamma
        )));
    }
    if !(o.tau >= 0.01 && o.tau <= 100.0) {
        return Err(Error::invalid(format!(
            "'tau' must be in [0.01, 100] but is {}",
            o.tau
        )));
    }
    Ok(())
}

/// One partial solution of the beam: candidate positions (into the candidate arrays), one per step so far.
#[derive(Clone)]
struct State {
    path: Vec<usize>,
    score: f64,
}

/// An expansion of beam `parent` by candidate position `cand` with its partial objective.
#[derive(Clone, Copy)]
struct Expansion {
    score: f64,
    parent: usize,
    cand: usize,
    item: u32,
}

/// Ranking of expansions: higher score, then better-ranked parent, then lower item id.
fn exp_order(a: &Expansion, b: &Expansion) -> std::cmp::Ordering {
    b.score
        .partial_cmp(&a.score)
        .unwrap_or(std::cmp::Ordering::Equal)
        .then(a.parent.cmp(&b.parent))
        .then(a.item.cmp(&b.item))
}

/// Runs a traversal from `start` (see the module doc). `h` is `items × d`, `protos` `concepts × d`.
pub fn traverse(
    h: &[f32],
    items: usize,
    d: usize,
    protos: &[f32],
    concepts: usize,
    start: &[f32],
    opts: &TraverseOptions,
) -> Result<Traversal> {
    check_len("h", h, items * d)?;
    check_len("start", start, d)?;
    check_options(opts, d)?;
    if let Some(p) = h.iter().position(|x| !x.is_finite()) {
        return Err(Error::invalid(format!(
            "'h' has a non-finite value at item {}, dimension {}",
            p / d,
            p % d
        )));
    }
    if let Some(p) = start.iter().position(|x| !x.is_finite()) {
        return Err(Error::invalid(format!(
            "'start' has a non-finite value at dimension {}",
            p
        )));
    }
    if simd::sum_sq(start) == 0.0 {
        return Err(Error::invalid("'start' must not be the zero vector"));
    }
    let j = opts.dim;
    let concept_of = nearest_prototypes(h, items, d, protos, concepts)?;

    // Bracket of the binary search: the items' extent on dimension j, widened by 0.1 %.
    let (mut lo, mut hi) = (start[j] as f64, start[j] as f64);
    for i in 0..items {
        let v = h[i * d + j] as f64;
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let margin = 1e-3 * (hi - lo) + 1e-6 * lo.abs().max(hi.abs()).max(1.0);
    let (k_star, a, b) = concept_range(start, protos, concepts, d, j, lo - margin, hi + margin)?;

    // Candidates: items of concept k* strictly inside (a, b), sorted by (value, id).
    let mut cand: Vec<u32> = (0..items as u32)
        .filter(|&i| {
            let v = h[i as usize * d + j] as f64;
            concept_of[i as usize] as usize == k_star && v > a && v < b
        })
        .collect();
    cand.sort_by(|&x, &y| {
        h[x as usize * d + j]
            .partial_cmp(&h[y as usize * d + j])
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(x.cmp(&y))
    });
    let n = cand.len();
    let steps = opts.steps;
    if n < steps {
        return Err(Error::invalid(format!(
            "only {} items of concept {} lie in the range ({}, {}) of dimension {}: 'steps' must be <= {} but is {}",
            n, k_star, a, b, j, n, steps
        )));
    }
    let group_start: Vec<usize> = (0..=steps).map(|t| t * n / steps).collect();
    let value = |p: usize| h[cand[p] as usize * d + j] as f64;
    let mut bounds = Vec::with_capacity(steps + 1);
    bounds.push(a);
    for t in 1..steps {
        bounds.push(0.5 * (value(group_start[t] - 1) + value(group_start[t])));
    }
    bounds.push(b);
    let counts: Vec<u32> = (0..steps)
        .map(|t| (group_start[t + 1] - group_start[t]) as u32)
        .collect();

    // Normalized representations without dimension j, and the unary term of every candidate.
    let dm = d - 1;
    let mut vecs = vec![0f32; n * dm];
    for (p, &i) in cand.iter().enumerate() {
        let i = i as usize;
        normalized_without(&h[i * d..(i + 1) * d], j, &mut vecs[p * dm..(p + 1) * dm]);
    }
    let mut s_vec = vec![0f32; dm];
    normalized_without(start, j, &mut s_vec);
    let inv_tau = 1.0 / opts.tau;
    let unary: Vec<f64> = (0..n)
        .map(|p| (simd::dot(&vecs[p * dm..(p + 1) * dm], &s_vec) as f64 * inv_tau).exp())
        .collect();

    let width = opts.beam;
    let gamma = opts.gamma;
    let mut beams = vec![State {
        path: Vec::new(),
        score: 0.0,
    }];
    let mut greedy = 0usize; // index in `beams` of the greedy lineage
    let mut row_of = vec![usize::MAX; n]; // candidate position -> row of the pair table
    let mut rows: Vec<usize> = Vec::new();
    let mut pair: Vec<f64> = Vec::new();
    let mut expansions: Vec<Expansion> = Vec::new();
    for t in 0..steps {
        let (g0, g1) = (group_start[t], group_start[t + 1]);
        let glen = g1 - g0;
        // Pair terms between every distinct item on a beam path and every candidate of this group.
        for &p in rows.iter() {
            row_of[p] = usize::MAX;
        }
        rows.clear();
        for st in beams.iter() {
            for &p in st.path.iter() {
                if row_of[p] == usize::MAX {
                    row_of[p] = rows.len();
                    rows.push(p);
                }
            }
        }
        if gamma > 0.0 {
            pair.clear();
            pair.resize(rows.len() * glen, 0.0);
            for (r, &p) in rows.iter().enumerate() {
                let vp = &vecs[p * dm..(p + 1) * dm];
                for c in 0..glen {
                    let vc = &vecs[(g0 + c) * dm..(g0 + c + 1) * dm];
                    pair[r * glen + c] = (simd::dot(vp, vc) as f64 * inv_tau).exp();
                }
            }
        }
        expansions.clear();
        for (bi, st) in beams.iter().enumerate() {
            for c in 0..glen {
                let mut s = st.score + unary[g0 + c];
                if gamma > 0.0 {
                    let mut ps = 0f64;
                    for &p in st.path.iter() {
                        ps += pair[row_of[p] * glen + c];
                    }
                    s += gamma * ps;
                }
                expansions.push(Expansion {
                    score: s,
                    parent: bi,
                    cand: g0 + c,
                    item: cand[g0 + c],
                });
            }
        }
        // The greedy lineage's best extension (what a width-1 search picks).
        let mut g_best = greedy * glen;
        for e in greedy * glen + 1..(greedy + 1) * glen {
            if exp_order(&expansions[e], &expansions[g_best]) == std::cmp::Ordering::Less {
                g_best = e;
            }
        }
        let g_exp = expansions[g_best];
        let keep = width.min(expansions.len());
        if keep < expansions.len() {
            expansions.select_nth_unstable_by(keep - 1, exp_order);
            expansions.truncate(keep);
        }
        expansions.sort_by(exp_order);
        let in_beam = expansions
            .iter()
            .any(|e| e.parent == g_exp.parent && e.cand == g_exp.cand);
        if !in_beam {
            let last = expansions.len() - 1;
            expansions[last] = g_exp;
        }
        let mut next = Vec::with_capacity(expansions.len());
        for (ni, e) in expansions.iter().enumerate() {
            if e.parent == g_exp.parent && e.cand == g_exp.cand {
                greedy = ni;
            }
            let mut path = Vec::with_capacity(t + 1);
            path.extend_from_slice(&beams[e.parent].path);
            path.push(e.cand);
            next.push(State {
                path,
                score: e.score,
            });
        }
        beams = next;
    }
    // Beams are sorted best first, except a greedy lineage put in last place: pick the best.
    let mut best = 0;
    for (bi, st) in beams.iter().enumerate() {
        if st.score > beams[best].score {
            best = bi;
        }
    }
    let path = &beams[best].path;
    Ok(Traversal {
        concept: k_star,
        range: (a, b),
        bounds,
        counts,
        items: path.iter().map(|&p| cand[p]).collect(),
        values: path.iter().map(|&p| h[cand[p] as usize * d + j]).collect(),
        scores: path.iter().map(|&p| unary[p]).collect(),
        objective: beams[best].score,
    })
}

/// The objective of a given list of items for start `start` and dimension `dim` (f64 throughout):
/// `Σ_t exp(cos(h_{i_t,−j}, h_{*,−j})/τ) + γ Σ_{t<t'} exp(cos(h_{i_t,−j}, h_{i_t',−j})/τ)`.
pub fn traverse_objective(
    h: &[f32],
    items: usize,
    d: usize,
    start: &[f32],
    dim: usize,
    chosen: &[u32],
    gamma: f64,
    tau: f64,
) -> Result<f64> {
    check_len("h", h, items * d)?;
    check_len("start", start, d)?;
    if dim >= d {
        return Err(Error::out_of_range(format!(
            "'dim' must be < {} but is {}",
            d, dim
        )));
    }
    let cos = |x: &[f32], y: &[f32]| -> f64 {
        let (mut xy, mut xx, mut yy) = (0f64, 0f64, 0f64);
        for l in 0..d {
            if l != dim {
                xy += x[l] as f64 * y[l] as f64;
                xx += x[l] as f64 * x[l] as f64;
                yy += y[l] as f64 * y[l] as f64;
            }
        }
        if xx == 0.0 || yy == 0.0 {
            0.0
        } else {
            xy / (xx.sqrt() * yy.sqrt())
        }
    };
    for &i in chosen {
        if i as usize >= items {
            return Err(Error::out_of_range(format!(
                "item {} is out of range for {} items",
                i, items
            )));
        }
    }
    let row = |i: u32| &h[i as usize * d..(i as usize + 1) * d];
    let mut obj = 0f64;
    for (t, &i) in chosen.iter().enumerate() {
        obj += (cos(row(i), start) / tau).exp();
        for &i2 in &chosen[t + 1..] {
            obj += gamma * (cos(row(i), row(i2)) / tau).exp();
        }
    }
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Xoshiro256;

    /// Items scattered around `concepts` planted directions, plus the prototypes at those directions.
    fn planted(
        seed: u64,
        items: usize,
        d: usize,
        concepts: usize,
        noise: f32,
    ) -> (Vec<f32>, Vec<f32>) {
        let mut r = Xoshiro256::new(seed);
        let mut gauss = move || -> f32 {
            let u1 = r.next_f64().max(1e-12);
            let u2 = r.next_f64();
            ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
        };
        let protos: Vec<f32> = (0..concepts * d).map(|_| gauss()).collect();
        let mut h = vec![0f32; items * d];
        for i in 0..items {
            let k = i % concepts;
            for l in 0..d {
                h[i * d + l] = protos[k * d + l] + noise * gauss();
            }
        }
        (h, protos)
    }

    /// The range by the closed form: each condition `k* beats k` is linear in v.
    fn closed_form_range(
        start: &[f32],
        protos: &[f32],
        concepts: usize,
        d: usize,
        dim: usize,
        lo: f64,
        hi: f64,
    ) -> (f64, f64) {
        let f = |k: usize| {
            let m = &protos[k * d..(k + 1) * d];
            let norm = m.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
            let c: f64 = (0..d)
                .filter(|&l| l != dim)
                .map(|l| start[l] as f64 * m[l] as f64)
                .sum();
            (c / norm, m[dim] as f64 / norm)
        };
        let v0 = start[dim] as f64;
        let ks = (0..concepts)
            .max_by(|&x, &y| {
                let (a, b) = (f(x), f(y));
                (a.0 + v0 * a.1)
                    .partial_cmp(&(b.0 + v0 * b.1))
                    .unwrap()
                    .then(y.cmp(&x))
            })
            .unwrap();
        let (cs, ss) = f(ks);
        let (mut a, mut b) = (lo, hi);
        for k in 0..concepts {
            if k == ks {
                continue;
            }
            let (c, s) = f(k);
            // (cs - c) + v (ss - s) >= 0
            let (p, q) = (cs - c, ss - s);
            if q > 0.0 {
                a = a.max(-p / q);
            } else if q < 0.0 {
                b = b.min(-p / q);
            }
        }
        (a, b)
    }

    #[test]
    fn range_matches_the_closed_form() {
        for seed in 0..40 {
            let (d, k) = (6, 4);
            let (h, protos) = planted(seed, 8, d, k, 0.8);
            for dim in 0..d {
                let start = &h[(seed as usize % 8) * d..(seed as usize % 8 + 1) * d];
                let (_, a, b) = concept_range(start, &protos, k, d, dim, -50.0, 50.0).unwrap();
                let (ea, eb) = closed_form_range(start, &protos, k, d, dim, -50.0, 50.0);
                assert!(
                    (a - ea).abs() < 1e-9,
                    "seed {} dim {}: {} vs {}",
                    seed,
                    dim,
                    a,
                    ea
                );
                assert!(
                    (b - eb).abs() < 1e-9,
                    "seed {} dim {}: {} vs {}",
                    seed,
                    dim,
                    b,
                    eb
                );
                assert!(a <= start[dim] as f64 && start[dim] as f64 <= b);
            }
        }
    }

    fn opts(dim: usize, steps: usize, beam: usize, gamma: f64) -> TraverseOptions {
        TraverseOptions {
            dim,
            steps,
            beam,
            gamma,
            tau: 0.1,
        }
    }

    #[test]
    fn items_are_distinct_of_the_concept_monotone_and_in_their_subranges() {
        let (items, d, k) = (600, 12, 5);
        let (h, protos) = planted(7, items, d, k, 0.6);
        let concept_of = nearest_prototypes(&h, items, d, &protos, k).unwrap();
        for (s, dim) in [(3usize, 0usize), (10, 4), (77, 11)] {
            let start = &h[s * d..(s + 1) * d];
            let r = traverse(&h, items, d, &protos, k, start, &opts(dim, 8, 20, 0.5)).unwrap();
            assert_eq!(r.items.len(), 8);
            let mut seen = r.items.clone();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), 8);
            for t in 0..8 {
                let i = r.items[t] as usize;
                assert_eq!(concept_of[i] as usize, r.concept);
                assert_eq!(r.values[t], h[i * d + dim]);
                let v = r.values[t] as f64;
                assert!(r.bounds[t] < v && v <= r.bounds[t + 1] || (t == 7 && v < r.bounds[8]));
                if t > 0 {
                    assert!(r.values[t] > r.values[t - 1]);
                }
            }
            assert_eq!(r.concept, concept_of[s] as usize);
            let total: u32 = r.counts.iter().sum();
            let per = total / 8;
            assert!(r.counts.iter().all(|&c| c == per || c == per + 1));
            let obj = traverse_objective(&h, items, d, start, dim, &r.items, 0.5, 0.1).unwrap();
            assert!(
                (obj - r.objective).abs() < 1e-5 * obj,
                "{} vs {}",
                obj,
                r.objective
            );
        }
    }

    #[test]
    fn beam_is_never_below_greedy_and_wide_beam_is_exhaustive() {
        let (items, d, k) = (90, 5, 3);
        for seed in 0..30 {
            let (h, protos) = planted(seed, items, d, k, 1.2);
            let s = (seed as usize * 7) % items;
            let start = &h[s * d..(s + 1) * d];
            let dim = seed as usize % d;
            let steps = 4;
            let g = match traverse(&h, items, d, &protos, k, start, &opts(dim, steps, 1, 2.0)) {
                Ok(g) => g,
                Err(_) => continue, // too few candidates for this start
            };
            let b = traverse(&h, items, d, &protos, k, start, &opts(dim, steps, 8, 2.0)).unwrap();
            assert!(b.objective >= g.objective, "seed {}", seed);
            // Exhaustive: every combination of one item per subrange.
            let mut groups: Vec<Vec<u32>> = vec![Vec::new(); steps];
            let concept_of = nearest_prototypes(&h, items, d, &protos, k).unwrap();
            for i in 0..items {
                let v = h[i * d + dim] as f64;
                if concept_of[i] as usize != g.concept || !(v > g.range.0 && v < g.range.1) {
                    continue;
                }
                for t in 0..steps {
                    let hi_ok = if t + 1 == steps {
                        v < g.bounds[t + 1]
                    } else {
                        v <= g.bounds[t + 1]
                    };
                    if v > g.bounds[t] && hi_ok {
                        groups[t].push(i as u32);
                    }
                }
            }
            let combos: usize = groups.iter().map(|x| x.len()).product();
            let mut best = f64::NEG_INFINITY;
            let mut idx = vec![0usize; steps];
            for _ in 0..combos {
                let chosen: Vec<u32> = (0..steps).map(|t| groups[t][idx[t]]).collect();
                let o = traverse_objective(&h, items, d, start, dim, &chosen, 2.0, 0.1).unwrap();
                best = best.max(o);
                for t in 0..steps {
                    idx[t] += 1;
                    if idx[t] < groups[t].len() {
                        break;
                    }
                    idx[t] = 0;
                }
            }
            let e = traverse(
                &h,
                items,
                d,
                &protos,
                k,
                start,
                &opts(dim, steps, combos, 2.0),
            )
            .unwrap();
            // The kernel's cosines are f32 (exp(cos/τ) turns 1e-7 into 1e-6 relative): compare in f64.
            let got = traverse_objective(&h, items, d, start, dim, &e.items, 2.0, 0.1).unwrap();
            assert!(
                got >= best * (1.0 - 1e-7),
                "seed {}: {} vs {}",
                seed,
                got,
                best
            );
            assert!((e.objective - got).abs() < 1e-5 * got);
            assert!(e.objective >= b.objective - 1e-9 * best);
        }
    }

    #[test]
    fn gamma_zero_picks_the_most_similar_item_per_subrange() {
        let (items, d, k) = (300, 8, 4);
        let (h, protos) = planted(11, items, d, k, 0.7);
        let start = &h[5 * d..6 * d];
        let r = traverse(&h, items, d, &protos, k, start, &opts(2, 5, 3, 0.0)).unwrap();
        let g = traverse(&h, items, d, &protos, k, start, &opts(2, 5, 1, 0.0)).unwrap();
        assert_eq!(r.items, g.items);
        // the start item is the most similar to itself, so it is chosen in its own subrange
        assert!(r.items.contains(&5));
    }

    #[test]
    fn bad_arguments_are_named() {
        let (h, protos) = planted(1, 20, 4, 2, 0.5);
        let start = &h[0..4];
        let e = traverse(&h, 20, 4, &protos, 2, start, &opts(4, 3, 2, 0.1)).unwrap_err();
        assert!(e.message.contains("'dim' must be < 4"), "{}", e.message);
        let e = traverse(&h, 20, 4, &protos, 2, start, &opts(0, 0, 2, 0.1)).unwrap_err();
        assert!(e.message.contains("'steps'"), "{}", e.message);
        let e = traverse(&h, 20, 4, &protos, 2, start, &opts(0, 3, 0, 0.1)).unwrap_err();
        assert!(e.message.contains("'beam'"), "{}", e.message);
        let e = traverse(&h, 20, 4, &protos, 2, start, &opts(0, 3, 1, -1.0)).unwrap_err();
        assert!(e.message.contains("'gamma'"), "{}", e.message);
        let e = traverse(&h, 20, 4, &protos, 2, start, &opts(0, 30, 1, 0.1)).unwrap_err();
        assert!(e.message.contains("'steps' must be <="), "{}", e.message);
        let e = traverse(&h, 20, 4, &protos, 2, &[0.0; 4], &opts(0, 3, 1, 0.1)).unwrap_err();
        assert!(e.message.contains("zero vector"), "{}", e.message);
        let e = traverse(&h, 20, 4, &[0.0; 8], 2, start, &opts(0, 3, 1, 0.1)).unwrap_err();
        assert!(e.message.contains("'prototypes' row 0"), "{}", e.message);
        let mut bad = h.clone();
        bad[9] = f32::NAN;
        let e = traverse(&bad, 20, 4, &protos, 2, start, &opts(0, 3, 1, 0.1)).unwrap_err();
        assert!(e.message.contains("item 2, dimension 1"), "{}", e.message);
    }
}
