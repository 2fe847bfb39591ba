//! Negative sampling for sampled softmax.
//!
//! A [`Distribution`] over `items` is either uniform or proportional to `popularity_i^α` (drawn in
//! `O(1)` with Vose's alias table). [`sample_negatives`] draws, for each row of a batch, `S` item ids
//! with replacement, and writes next to each the natural log of the probability with which that draw
//! was made (`log q`), the term the sampled-softmax correction subtracts from the logit.
//!
//! With `exclude_positives`, row `u` never receives one of its own items `P_u`: the draws come from
//! the distribution restricted to the other items, `q_u(i) = p(i) / (1 − p(P_u))`, and `log q` is of
//! that renormalized probability. Two ways to draw from it, with the same result in distribution:
//! - rejection (draw from `p`, retry on a positive) while `p(P_u) < COMPLEMENT_ABOVE`: expected
//!   attempts per draw `1/(1 − p(P_u)) < 5`; the loop is capped at `MAX_ATTEMPTS` attempts, after
//!   which the row switches to the second way (with probability below `0.8^64 ≈ 6e-7` per draw);
//! - complement sampling (when the positives hold most of the mass): the allowed items are listed
//!   with their cumulative mass and each draw is a binary search, `O(items)` once per row.
//!
//! A row whose positives cover every item of non-zero probability cannot receive a negative: that is
//! an error naming the row (when `S > 0`). Randomness: one xoshiro256** stream per call,
//! `Xoshiro256::with_stream(seed, stream)` — pass the batch number as `stream` — consumed row after
//! row, so the same inputs, seed and stream give the same draws on every thread.

use crate::csr::CsrRef;
use crate::error::{check_len, Error, Result};
use crate::rng::Xoshiro256;
use crate::topk::ItemMask;

/// Above this positive mass, excluded rows use complement sampling instead of rejection.
pub const COMPLEMENT_ABOVE: f64 = 0.8;
/// Attempts per draw before a rejecting row switches to complement sampling.
pub const MAX_ATTEMPTS: u32 = 64;

/// Vose's alias table over normalized probabilities.
#[derive(Debug, Clone)]
pub struct AliasTable {
    accept: Vec<f64>,
    alias: Vec<u32>,
}

impl AliasTable {
    /// Builds the table for `p` (non-negative, summing to about 1, at least one positive).
    fn new(p: &[f64]) -> AliasTable {
        let n = p.len();
        let mut accept = vec![0f64; n];
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let mut scaled: Vec<f64> = p.iter().map(|&x| x * n as f64).collect();
        let (mut small, mut large): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
        for (i, &s) in scaled.iter().enumerate() {
            if s < 1.0 {
                small.push(i as u32);
            } else {
                large.push(i as u32);
            }
        }
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            large.pop();
            accept[s as usize] = scaled[s as usize];
            alias[s as usize] = l;
            scaled[l as usize] = (scaled[l as usize] + scaled[s as usize]) - 1.0;
            if scaled[l as usize] < 1.0 {
                small.push(l);
            } else {
                large.push(l);
            }
        }
        // What is left holds mass 1 up to rounding; a zero-probability item must stay unreachable.
        let some_positive = p.iter().position(|&x| x > 0.0).unwrap_or(0) as u32;
        for i in large.into_iter().chain(small) {
            if p[i as usize] > 0.0 {
                accept[i as usize] = 1.0;
            } else {
                accept[i as usize] = 0.0;
                alias[i as usize] = some_positive;
            }
        }
        AliasTable { accept, alias }
    }

    #[inline]
    fn sample(&self, rng: &mut Xoshiro256) -> u32 {
        let j = rng.below(self.accept.len() as u64) as usize;
        if rng.next_f64() < self.accept[j] {
            j as u32
        } else {
            self.alias[j]
        }
    }
}

/// The proposal distribution over `items`.
#[derive(Debug, Clone)]
pub struct Distribution {
    items: usize,
    /// `None` for uniform; else the normalized probabilities and their alias table.
    weighted: Option<(Vec<f64>, AliasTable)>,
}

impl Distribution {
    /// Uniform over `items >= 1` items.
    pub fn uniform(items: usize) -> Result<Distribution> {
        if items == 0 {
            return Err(Error::invalid("'items' must be >= 1 to sample from"));
        }
        Ok(Distribution {
            items,
            weighted: None,
        })
    }

    /// Proportional to `popularity[i]^alpha` (`0^0 = 1`, so `alpha = 0` is uniform). Popularities
    /// must be finite and `>= 0`, `alpha` finite and `>= 0`, and some item must have weight `> 0`.
    pub fn popularity(popularity: &[f32], alpha: f64) -> Result<Distribution> {
        if popularity.is_empty() {
            return Err(Error::invalid(
                "'popularity' must have one entry per item (>= 1)",
            ));
        }
        if !(alpha.is_finite() && alpha >= 0.0) {
            return Err(Error::invalid(format!(
                "'alpha' must be a finite number >= 0 but is {}",
                alpha
            )));
        }
        let mut w = Vec::with_capacity(popularity.len());
        let mut total = 0f64;
        for (i, &c) in popularity.iter().enumerate() {
            if !(c.is_finite() && c >= 0.0) {
                return Err(Error::invalid(format!(
                    "'popularity[{}]' must be finite and >= 0 but is {}",
                    i, c
                )));
            }
            let x = (c as f64).powf(alpha);
            total += x;
            w.push(x);
        }
        if !(total > 0.0 && total.is_finite()) {
            return Err(Error::invalid(format!(
                "'popularity'^alpha must have a finite, positive sum but sums to {}",
                total
            )));
        }
        for x in w.iter_mut() {
            *x /= total;
        }
        let table = AliasTable::new(&w);
        Ok(Distribution {
            items: popularity.len(),
            weighted: Some((w, table)),
        })
    }

    pub fn items(&self) -> usize {
        self.items
    }

    /// Probability of item `i` (no bounds check beyond the slice's).
    #[inline]
    pub fn prob(&self, i: usize) -> f64 {
        match &self.weighted {
            None => 1.0 / self.items as f64,
            Some((p, _)) => p[i],
        }
    }

    #[inline]
    fn draw(&self, rng: &mut Xoshiro256) -> u32 {
        match &self.weighted {
            None => rng.below(self.items as u64) as u32,
            Some((_, t)) => t.sample(rng),
        }
    }
}

/// `ln p(i)` for every item into `out` (`items` entries; `-inf` for zero-probability items).
pub fn log_probabilities(dist: &Distribution, out: &mut [f32]) -> Result<()> {
    check_len("out", out, dist.items)?;
    for (i, o) in out.iter_mut().enumerate() {
        *o = dist.prob(i).ln() as f32;
    }
    Ok(())
}

/// Draws `s` negatives per row of `positives` (see the module documentation).
///
/// - `positives`: CSR with one row per batch row over `dist.items()` columns (the users' items;
///   pass a single row holding the union to draw `s` negatives shared by the whole batch);
/// - `out_items`, `out_log_q`: `rows × s` row-major.
pub fn sample_negatives(
    positives: &CsrRef<'_>,
    s: usize,
    dist: &Distribution,
    exclude_positives: bool,
    seed: u64,
    stream: u64,
    out_items: &mut [u32],
    out_log_q: &mut [f32],
) -> Result<()> {
    let rows = positives.rows();
    if positives.cols != dist.items {
        return Err(Error::invalid(format!(
            "'positives' must have {} columns (items) but has {}",
            dist.items, positives.cols
        )));
    }
    check_len("outItems", out_items, rows * s)?;
    check_len("outLogQ", out_log_q, rows * s)?;
    let mut rng = Xoshiro256::with_stream(seed, stream);
    if s == 0 {
        return Ok(());
    }
    if !exclude_positives {
        for p in 0..rows * s {
            let i = dist.draw(&mut rng);
            out_items[p] = i;
            out_log_q[p] = dist.prob(i as usize).ln() as f32;
        }
        return Ok(());
    }
    let mut pos = ItemMask::new(dist.items);
    let mut allowed: Vec<u32> = Vec::new();
    let mut cumulative: Vec<f64> = Vec::new();
    for r in 0..rows {
        let row = positives.row(r);
        let mut pos_mass = 0f64;
        let mut distinct = 0usize;
        for &i in row {
            if !pos.contains(i as usize) {
                pos.set_all(&[i]);
                pos_mass += dist.prob(i as usize);
                distinct += 1;
            }
        }
        let out_i = &mut out_items[r * s..(r + 1) * s];
        let out_q = &mut out_log_q[r * s..(r + 1) * s];
        let mut done = 0;
        let mut allowed_mass = 1.0 - pos_mass;
        if pos_mass < COMPLEMENT_ABOVE && distinct < dist.items {
            'draws: while done < s {
                for _ in 0..MAX_ATTEMPTS {
                    let i = dist.draw(&mut rng);
                    if !pos.contains(i as usize) {
                        out_i[done] = i;
                        done += 1;
                        continue 'draws;
                    }
                }
                break; // capped: the rest of this row is drawn from the complement
            }
        }
        if done < s {
            // complement: list the allowed items with their cumulative mass
            allowed.clear();
            cumulative.clear();
            let mut total = 0f64;
            for i in 0..dist.items {
                if !pos.contains(i) {
                    let p = dist.prob(i);
                    if p > 0.0 {
                        total += p;
                        allowed.push(i as u32);
                        cumulative.push(total);
                    }
                }
            }
            if allowed.is_empty() {
                pos.clear_all(row);
                return Err(Error::invalid(format!(
                    "'positives' row {} covers every item of non-zero probability: no negative can be drawn",
                    r
                )));
            }
            allowed_mass = total;
            while done < s {
                let i = if dist.weighted.is_none() {
                    allowed[rng.below(allowed.len() as u64) as usize]
                } else {
                    let x = rng.next_f64() * total;
                    // first index whose cumulative mass exceeds x
                    let j = cumulative.partition_point(|&c| c <= x);
                    allowed[j.min(allowed.len() - 1)]
                };
                out_i[done] = i;
                done += 1;
            }
        }
        let log_mass = allowed_mass.ln();
        for p in 0..s {
            out_q[p] = (dist.prob(out_i[p] as usize).ln() - log_mass) as f32;
        }
        pos.clear_all(row);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw(
        indptr: &[u32],
        indices: &[u32],
        dist: &Distribution,
        s: usize,
        exclude: bool,
        seed: u64,
    ) -> Result<(Vec<u32>, Vec<f32>)> {
        let m = CsrRef::new("positives", indptr, indices, dist.items())?;
        let rows = m.rows();
        let (mut oi, mut oq) = (vec![0u32; rows * s], vec![0f32; rows * s]);
        sample_negatives(&m, s, dist, exclude, seed, 0, &mut oi, &mut oq)?;
        Ok((oi, oq))
    }

    /// Pearson chi-square statistic of `counts` against `expected` probabilities.
    fn chi2(counts: &[u64], p: &[f64], n: u64) -> f64 {
        counts
            .iter()
            .zip(p)
            .filter(|(_, &q)| q > 0.0)
            .map(|(&c, &q)| {
                let e = q * n as f64;
                (c as f64 - e).powi(2) / e
            })
            .sum()
    }

    #[test]
    fn alias_table_matches_its_distribution() {
        let pop: Vec<f32> = (0..40)
            .map(|i| if i % 7 == 3 { 0.0 } else { (i + 1) as f32 })
            .collect();
        let d = Distribution::popularity(&pop, 0.75).unwrap();
        let n = 200_000;
        let (items, logq) = draw(&[0, 0], &[], &d, n, false, 5).unwrap();
        let mut counts = vec![0u64; 40];
        for &i in &items {
            assert!(pop[i as usize] > 0.0, "zero-popularity item {} drawn", i);
            counts[i as usize] += 1;
        }
        let p: Vec<f64> = (0..40).map(|i| d.prob(i)).collect();
        // 34 non-zero cells: 33 degrees of freedom; 33 + 6·sqrt(66) ≈ 82
        let x = chi2(&counts, &p, n as u64);
        assert!(x < 82.0, "chi2 {}", x);
        for (&i, &q) in items.iter().zip(&logq) {
            assert!((q as f64 - p[i as usize].ln()).abs() < 1e-6);
        }
    }

    #[test]
    fn excluded_positives_are_never_drawn_on_both_paths() {
        let d = Distribution::uniform(10).unwrap();
        // row 0: 2 positives (rejection); row 1: 9 of 10 (complement); row 2: none
        let (items, logq) = draw(
            &[0, 2, 11, 11],
            &[1, 4, 0, 1, 2, 3, 4, 5, 6, 7, 9],
            &d,
            500,
            true,
            9,
        )
        .unwrap();
        for &i in &items[0..500] {
            assert!(i != 1 && i != 4);
        }
        for &q in &logq[0..500] {
            assert!((q as f64 - (1.0f64 / 8.0).ln()).abs() < 1e-6);
        }
        assert!(items[500..1000].iter().all(|&i| i == 8));
        assert!(logq[500..1000].iter().all(|&q| q == 0.0));
        assert!(items[1000..].iter().all(|&i| i < 10));
    }

    #[test]
    fn complement_path_follows_the_restricted_distribution() {
        let pop: Vec<f32> = (0..30).map(|i| (i + 1) as f32).collect();
        let d = Distribution::popularity(&pop, 1.0).unwrap();
        // positives: items 5..30 hold most of the mass → complement over items 0..5
        let pos: Vec<u32> = (5..30).collect();
        let n = 100_000;
        let (items, logq) = draw(&[0, pos.len() as u32], &pos, &d, n, true, 1).unwrap();
        let mut counts = vec![0u64; 5];
        for &i in &items {
            counts[i as usize] += 1;
        }
        let mass: f64 = (0..5).map(|i| d.prob(i)).sum();
        let p: Vec<f64> = (0..5).map(|i| d.prob(i) / mass).collect();
        assert!(chi2(&counts, &p, n as u64) < 4.0 + 6.0 * 8f64.sqrt());
        for (&i, &q) in items.iter().zip(&logq) {
            assert!((q as f64 - p[i as usize].ln()).abs() < 1e-6);
        }
    }

    #[test]
    fn deterministic_by_seed_and_stream() {
        let d = Distribution::popularity(&[1.0, 2.0, 3.0, 4.0], 0.5).unwrap();
        let a = draw(&[0, 1], &[2], &d, 50, true, 3).unwrap();
        let b = draw(&[0, 1], &[2], &d, 50, true, 3).unwrap();
        let c = draw(&[0, 1], &[2], &d, 50, true, 4).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.0, c.0);
    }

    #[test]
    fn bad_inputs_are_named() {
        assert!(Distribution::uniform(0).is_err());
        let e = Distribution::popularity(&[1.0, -1.0], 1.0).unwrap_err();
        assert!(e.message.contains("'popularity[1]'"), "{}", e.message);
        let e = Distribution::popularity(&[0.0, 0.0], 1.0).unwrap_err();
        assert!(e.message.contains("positive sum"), "{}", e.message);
        assert!(Distribution::popularity(&[1.0], f64::NAN).is_err());
        let d = Distribution::popularity(&[0.0, 0.0, 1.0], 1.0).unwrap();
        let e = draw(&[0, 0, 1], &[2], &d, 1, true, 0).unwrap_err();
        assert!(
            e.message.contains("'positives' row 1 covers every item"),
            "{}",
            e.message
        );
        // zero draws: no error even then
        assert!(draw(&[0, 1], &[2], &d, 0, true, 0).is_ok());
    }
}
