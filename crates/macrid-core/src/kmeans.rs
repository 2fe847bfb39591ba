//! Spherical k-means (Dhillon & Modha 2001): clusters the directions of `n` vectors into `k` unit
//! centroids, maximizing `Σ_i cos(x_i, c_{l_i})`.
//!
//! Used to place MacridVAE's concept prototypes on the clusters of the item embeddings after a short
//! warm-up (`prototypeInit: 'kmeans'`): the cosine concept assignment only sees directions, so the
//! spherical variant is the matching one.
//!
//! Algorithm, per restart: k-means++ seeding (Arthur & Vassilvitskii 2007) with the squared chordal
//! distance `‖x̂ − ĉ‖² = 2 − 2 cos(x, c)`, then Lloyd iterations (assign each vector to the centroid of
//! largest cosine, ties to the lower index; each centroid becomes the normalized sum of its vectors)
//! until no label changes or `max_iter` iterations ran. A cluster that empties is re-seeded with the
//! vector farthest from its own centroid. The restart with the largest objective wins (ties: the
//! earlier restart). Restart `r` draws from stream `r` of `seed`, so the result depends only on the
//! inputs and the seed. Vectors of norm 0 take part in nothing (label 0, cosine 0).

use crate::error::{check_len, Error, Result};
use crate::rng::Xoshiro256;
use crate::simd;

/// Options of [`spherical_kmeans`].
#[derive(Debug, Clone, Copy)]
pub struct KmeansOptions {
    /// Independent seedings; the best objective is kept. ≥ 1.
    pub restarts: usize,
    /// Lloyd iterations per restart at most. ≥ 1.
    pub max_iter: usize,
    pub seed: u64,
}

/// The result of [`spherical_kmeans`].
#[derive(Debug, Clone)]
pub struct Kmeans {
    /// `k × d` unit centroids, row-major.
    pub centroids: Vec<f32>,
    /// Each vector's cluster.
    pub labels: Vec<u32>,
    /// `Σ_i cos(x_i, c_{l_i})` over the non-zero vectors.
    pub objective: f64,
    /// Lloyd iterations run by the winning restart.
    pub iterations: usize,
}

fn unit_rows(x: &[f32], n: usize, d: usize) -> (Vec<f32>, Vec<bool>) {
    let mut u = x.to_vec();
    let mut live = vec![false; n];
    for i in 0..n {
        let row = &mut u[i * d..(i + 1) * d];
        let norm = simd::sum_sq(row).sqrt();
        if norm > 0.0 && norm.is_finite() {
            let inv = 1.0 / norm;
            for v in row.iter_mut() {
                *v *= inv;
            }
            live[i] = true;
        } else {
            for v in row.iter_mut() {
                *v = 0.0;
            }
        }
    }
    (u, live)
}

/// Clusters the rows of `x` (`n × d`) into `k` spherical clusters; see the module doc.
pub fn spherical_kmeans(
    x: &[f32],
    n: usize,
    d: usize,
    k: usize,
    opts: &KmeansOptions,
) -> Result<Kmeans> {
    check_len("x", x, n * d)?;
    if k == 0 || d == 0 {
        return Err(Error::invalid(format!(
            "'k' and 'd' must be >= 1 but are {} and {}",
            k, d
        )));
    }
    if opts.restarts == 0 || opts.max_iter == 0 {
        return Err(Error::invalid(format!(
            "'restarts' and 'max_iter' must be >= 1 but are {} and {}",
            opts.restarts, opts.max_iter
        )));
    }
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(format!(
            "'x' must be finite but element {} (row {}) is {}",
            i,
            i / d,
            x[i]
        )));
    }
    let (u, live) = unit_rows(x, n, d);
    let rows: Vec<usize> = (0..n).filter(|&i| live[i]).collect();
    if rows.len() < k {
        return Err(Error::invalid(format!(
            "'k' is {} but only {} of the {} vectors are non-zero",
            k,
            rows.len(),
            n
        )));
    }
    let mut best: Option<Kmeans> = None;
    for r in 0..opts.restarts {
        let run = lloyd(
            &u,
            &rows,
            n,
            d,
            k,
            opts.max_iter,
            &mut Xoshiro256::with_stream(opts.seed, r as u64),
        );
        if best.as_ref().map_or(true, |b| run.objective > b.objective) {
            best = Some(run);
        }
    }
    Ok(best.expect("restarts >= 1"))
}

/// k-means++ seeding on the sphere: the first centroid uniformly, each next one with probability
/// proportional to `1 − max_c cos(x, c)` (half the squared chordal distance).
fn seed_centroids(u: &[f32], rows: &[usize], d: usize, k: usize, rng: &mut Xoshiro256) -> Vec<f32> {
    let mut c = Vec::with_capacity(k * d);
    let first = rows[rng.below(rows.len() as u64) as usize];
    c.extend_from_slice(&u[first * d..(first + 1) * d]);
    let mut closest: Vec<f64> = rows
        .iter()
        .map(|&i| (1.0 - simd::dot(&u[i * d..(i + 1) * d], &c[..d]) as f64).max(0.0))
        .collect();
    for j in 1..k {
        let total: f64 = closest.iter().sum();
        let pick = if total > 0.0 {
            let mut target = rng.next_f64() * total;
            let mut chosen = rows.len() - 1;
            for (p, &w) in closest.iter().enumerate() {
                if target < w {
                    chosen = p;
                    break;
                }
                target -= w;
            }
            chosen
        } else {
            // Every vector coincides with a centroid: any choice is as good.
            rng.below(rows.len() as u64) as usize
        };
        let i = rows[pick];
        c.extend_from_slice(&u[i * d..(i + 1) * d]);
        let cj = &c[j * d..(j + 1) * d];
        for (p, &i) in rows.iter().enumerate() {
            let dist = (1.0 - simd::dot(&u[i * d..(i + 1) * d], cj) as f64).max(0.0);
            if dist < closest[p] {
                closest[p] = dist;
            }
        }
    }
    c
}

fn nearest(row: &[f32], c: &[f32], d: usize, k: usize) -> (u32, f32) {
    let mut best = (0u32, f32::NEG_INFINITY);
    for j in 0..k {
        let s = simd::dot(row, &c[j * d..(j + 1) * d]);
        if s > best.1 {
            best = (j as u32, s);
        }
    }
    best
}

fn lloyd(
    u: &[f32],
    rows: &[usize],
    n: usize,
    d: usize,
    k: usize,
    max_iter: usize,
    rng: &mut Xoshiro256,
) -> Kmeans {
    let mut c = seed_centroids(u, rows, d, k, rng);
    let mut labels = vec![0u32; n];
    let mut sims = vec![0f32; n];
    let mut iterations = 0;
    let mut sums = vec![0f32; k * d];
    let mut counts = vec![0usize; k];
    for it in 0..max_iter {
        let mut changed = it == 0;
        for &i in rows {
            let (l, s) = nearest(&u[i * d..(i + 1) * d], &c, d, k);
            if l != labels[i] {
                changed = true;
            }
            labels[i] = l;
            sims[i] = s;
        }
        if !changed {
            break;
        }
        iterations = it + 1;
        sums.iter_mut().for_each(|v| *v = 0.0);
        counts.iter_mut().for_each(|v| *v = 0);
        for &i in rows {
            let l = labels[i] as usize;
            counts[l] += 1;
            simd::axpy(1.0, &u[i * d..(i + 1) * d], &mut sums[l * d..(l + 1) * d]);
        }
        let mut taken = vec![false; n];
        for j in 0..k {
            let s = &mut sums[j * d..(j + 1) * d];
            let norm = simd::sum_sq(s).sqrt();
            if counts[j] > 0 && norm > 0.0 {
                let inv = 1.0 / norm;
                for (cv, sv) in c[j * d..(j + 1) * d].iter_mut().zip(s.iter()) {
                    *cv = sv * inv;
                }
            } else {
                // Empty (or degenerate) cluster: restart it at the worst-fitted vector not yet used.
                let mut worst: Option<usize> = None;
                for &i in rows {
                    if !taken[i] && worst.map_or(true, |w| sims[i] < sims[w]) {
                        worst = Some(i);
                    }
                }
                if let Some(w) = worst {
                    taken[w] = true;
                    c[j * d..(j + 1) * d].copy_from_slice(&u[w * d..(w + 1) * d]);
                }
            }
        }
    }
    // Final labels and objective against the final centroids.
    let mut objective = 0.0;
    for &i in rows {
        let (l, s) = nearest(&u[i * d..(i + 1) * d], &c, d, k);
        labels[i] = l;
        objective += s as f64;
    }
    Kmeans {
        centroids: c,
        labels,
        objective,
        iterations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(seed: u64) -> KmeansOptions {
        KmeansOptions {
            restarts: 3,
            max_iter: 100,
            seed,
        }
    }

    /// `k` well-separated directions (the first `k` axes, scaled at random) plus small noise.
    fn blobs(n_per: usize, k: usize, d: usize, noise: f32, seed: u64) -> (Vec<f32>, Vec<u32>) {
        let mut rng = Xoshiro256::new(seed);
        let mut x = Vec::new();
        let mut truth = Vec::new();
        for i in 0..n_per * k {
            let c = i % k;
            let scale = 0.5 + rng.next_f64() as f32 * 3.0;
            for j in 0..d {
                let e = (rng.next_f64() as f32 - 0.5) * 2.0 * noise;
                x.push(scale * (if j == c { 1.0 } else { 0.0 } + e));
            }
            truth.push(c as u32);
        }
        (x, truth)
    }

    #[test]
    fn recovers_separated_directions_whatever_the_norms() {
        let (x, truth) = blobs(40, 5, 12, 0.2, 7);
        let r = spherical_kmeans(&x, 200, 12, 5, &opts(1)).unwrap();
        // The partition equals the truth up to a relabelling.
        let mut map = [u32::MAX; 5];
        for (l, t) in r.labels.iter().zip(truth.iter()) {
            if map[*t as usize] == u32::MAX {
                map[*t as usize] = *l;
            }
            assert_eq!(map[*t as usize], *l);
        }
        let mut used = map.to_vec();
        used.sort_unstable();
        used.dedup();
        assert_eq!(used.len(), 5);
        for j in 0..5 {
            let c = &r.centroids[j * 12..(j + 1) * 12];
            assert!((simd::sum_sq(c) - 1.0).abs() < 1e-5);
        }
        assert!(r.objective > 0.9 * 200.0);
    }

    #[test]
    fn hand_computed_two_clusters() {
        // Directions (1,0), (2,0.0), (0,3), (0,1): two clusters with centroids the two axes.
        let x = [1.0, 0.0, 2.0, 0.0, 0.0, 3.0, 0.0, 1.0];
        let r = spherical_kmeans(&x, 4, 2, 2, &opts(3)).unwrap();
        assert_eq!(r.labels[0], r.labels[1]);
        assert_eq!(r.labels[2], r.labels[3]);
        assert_ne!(r.labels[0], r.labels[2]);
        assert!((r.objective - 4.0).abs() < 1e-6);
        let a = r.labels[0] as usize;
        assert_eq!(&r.centroids[a * 2..a * 2 + 2], &[1.0, 0.0]);
    }

    #[test]
    fn deterministic_and_seed_dependent_only() {
        let (x, _) = blobs(30, 4, 8, 0.8, 11);
        let a = spherical_kmeans(&x, 120, 8, 6, &opts(5)).unwrap();
        let b = spherical_kmeans(&x, 120, 8, 6, &opts(5)).unwrap();
        assert_eq!(a.labels, b.labels);
        assert_eq!(a.centroids, b.centroids);
        // More restarts never lower the objective (the first restarts are the same draws).
        let more = spherical_kmeans(
            &x,
            120,
            8,
            6,
            &KmeansOptions {
                restarts: 8,
                ..opts(5)
            },
        )
        .unwrap();
        assert!(more.objective >= a.objective);
    }

    #[test]
    fn zero_rows_and_bad_arguments() {
        let x = [0.0, 0.0, 1.0, 0.0, 0.0, 1.0];
        let r = spherical_kmeans(&x, 3, 2, 2, &opts(1)).unwrap();
        assert_eq!(r.labels[0], 0);
        assert_ne!(r.labels[1], r.labels[2]);
        let e = spherical_kmeans(&x, 3, 2, 3, &opts(1)).unwrap_err();
        assert!(
            e.message.contains("only 2 of the 3 vectors are non-zero"),
            "{}",
            e.message
        );
        assert!(spherical_kmeans(&x, 3, 2, 0, &opts(1)).is_err());
        assert!(spherical_kmeans(&x[..5], 3, 2, 2, &opts(1)).is_err());
        let nan = [f32::NAN, 0.0];
        assert!(spherical_kmeans(&nan, 1, 2, 1, &opts(1))
            .unwrap_err()
            .message
            .contains("element 0"));
        let bad = KmeansOptions {
            restarts: 0,
            ..opts(1)
        };
        assert!(spherical_kmeans(&x, 3, 2, 2, &bad).is_err());
    }

    #[test]
    fn more_clusters_than_directions_still_fills_every_cluster_when_possible() {
        // Four distinct points, k = 4: every cluster gets one point.
        let x = [1.0, 0.0, 0.0, 1.0, -1.0, 0.0, 0.0, -1.0];
        let r = spherical_kmeans(&x, 4, 2, 4, &opts(2)).unwrap();
        let mut l = r.labels.clone();
        l.sort_unstable();
        assert_eq!(l, vec![0, 1, 2, 3]);
        assert!((r.objective - 4.0).abs() < 1e-6);
    }
}
