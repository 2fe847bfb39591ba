//! A synthetic ratings generator with planted ground truth, streamed a batch of users at a time.
//!
//! The model (every draw from an explicit seed; user `u` uses its own stream, so the output does not
//! depend on the batch size):
//! - `concepts` concepts; each item belongs to exactly one, drawn uniformly.
//! - Item popularity is a power law over a random ranking of the items: `w_i = (rank_i + c)^(-s)`
//!   (`popularity_exponent` s, `popularity_offset` c).
//! - User activity (ratings per user) is a power law: Pareto draws `x_min · U^(-1/(a-1))` with
//!   `activity_exponent` a, then rescaled (excess over the minimum) so that the total is `ratings`, and
//!   capped at `max_user_share · items`.
//! - Each user has 1–3 intentions (probabilities 0.3/0.4/0.3), distinct concepts, mixed by Dirichlet(1)
//!   weights. Each of the user's ratings comes, with probability `intention_share`, from an intention
//!   (concept by weight, item by popularity within the concept), otherwise from the whole catalogue by
//!   popularity (noise). A user never rates an item twice (a bounded number of redraws, then a scan of
//!   the concept's items from a random start).
//! - The rating is high (4–5 stars) with probability `high_in` for an intention draw and `high_out` for
//!   noise, else low (0.5–3.5 or 1–3): the positives that the MultVAE protocol keeps (> 3.5) are
//!   overwhelmingly driven by the planted concepts.
//!
//! Output: MovieLens `ratings.csv` text (`userId,movieId,rating,timestamp`, users in order, each user's
//! items by id), ids from 1; plus the item → concept table and each user's intentions.

use crate::error::{Error, Result};
use crate::ids::write_u64;
use crate::rng::Xoshiro256;

#[derive(Debug, Clone)]
pub struct SynthOptions {
    pub users: usize,
    pub items: usize,
    pub ratings: u64,
    pub concepts: usize,
    pub min_user_ratings: usize,
    pub max_user_share: f64,
    pub activity_exponent: f64,
    pub popularity_exponent: f64,
    pub popularity_offset: f64,
    pub intention_share: f64,
    pub high_in: f64,
    pub high_out: f64,
    pub half_stars: bool,
    pub seed: u64,
}

/// Preset names accepted by [`SynthOptions::preset`].
pub const PRESETS: &[&str] = &["tiny", "ml-1m", "ml-20m", "netflix"];

impl SynthOptions {
    /// Presets shaped like real datasets (users × items, ratings, share of ratings ≥ 4):
    /// `tiny` 300 × 200, ≈9k (tests); `ml-1m` 6,040 × 3,706, 1,000,209, ≈57.5 %;
    /// `ml-20m` 138,493 × 26,744, 20,000,263, ≈50 % (half stars); `netflix` 480,189 × 17,770,
    /// 100,480,507, ≈56.6 %.
    pub fn preset(name: &str, seed: u64) -> Result<SynthOptions> {
        // high share h = q·high_in + (1-q)·high_out with q = 0.8, high_out = 0.1.
        let high_in = |h: f64| (h - 0.2 * 0.1) / 0.8;
        let base = SynthOptions {
            users: 0,
            items: 0,
            ratings: 0,
            concepts: 7,
            min_user_ratings: 20,
            max_user_share: 0.35,
            activity_exponent: 2.2,
            popularity_exponent: 1.1,
            popularity_offset: 30.0,
            intention_share: 0.8,
            high_in: high_in(0.5),
            high_out: 0.1,
            half_stars: false,
            seed,
        };
        Ok(match name {
            "tiny" => SynthOptions {
                users: 300,
                items: 200,
                ratings: 9_000,
                concepts: 4,
                min_user_ratings: 10,
                popularity_offset: 10.0,
                high_in: high_in(0.6),
                ..base
            },
            "ml-1m" => SynthOptions {
                users: 6_040,
                items: 3_706,
                ratings: 1_000_209,
                high_in: high_in(0.575),
                ..base
            },
            "ml-20m" => SynthOptions {
                users: 138_493,
                items: 26_744,
                ratings: 20_000_263,
                half_stars: true,
                ..base
            },
            "netflix" => SynthOptions {
                users: 480_189,
                items: 17_770,
                ratings: 100_480_507,
                min_user_ratings: 1,
                high_in: high_in(0.566),
                ..base
            },
            _ => {
                return Err(Error::invalid(format!(
                    "unknown preset '{}' (expected one of {})",
                    name,
                    PRESETS.join(", ")
                )))
            }
        })
    }

    fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::invalid(m));
        if self.users == 0 || self.items == 0 || self.concepts == 0 {
            return bad("users, items and concepts must be positive".to_string());
        }
        if self.users > (u32::MAX - 1) as usize || self.items > (u32::MAX - 1) as usize {
            return bad("users and items must be < 2^32 - 1".to_string());
        }
        if self.concepts > self.items {
            return bad(format!(
                "{} concepts need at least as many items but there are {}",
                self.concepts, self.items
            ));
        }
        let cap = self.cap();
        if self.min_user_ratings == 0 || self.min_user_ratings > cap {
            return bad(format!(
                "min_user_ratings must be in [1, {}] but is {}",
                cap, self.min_user_ratings
            ));
        }
        if self.ratings < (self.users * self.min_user_ratings) as u64
            || self.ratings > self.users as u64 * cap as u64
        {
            return bad(format!(
                "ratings must be in [{}, {}] for {} users but is {}",
                self.users * self.min_user_ratings,
                self.users as u64 * cap as u64,
                self.users,
                self.ratings
            ));
        }
        let probs = [self.intention_share, self.high_in, self.high_out];
        if probs.iter().any(|p| !(0.0..=1.0).contains(p)) || self.activity_exponent <= 1.0 {
            return bad("probabilities must be in [0, 1] and activity_exponent > 1".to_string());
        }
        Ok(())
    }

    fn cap(&self) -> usize {
        ((self.items as f64 * self.max_user_share) as usize).max(1)
    }
}

/// Walker's alias table over `weights` (all positive), sampling indices into `values`.
struct Alias {
    prob: Vec<f64>,
    alias: Vec<u32>,
    values: Vec<u32>,
}

impl Alias {
    fn new(values: Vec<u32>, weights: &[f64]) -> Alias {
        let n = weights.len();
        let total: f64 = weights.iter().sum();
        let mut prob: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut alias = vec![0u32; n];
        let mut small: Vec<u32> = Vec::new();
        let mut large: Vec<u32> = Vec::new();
        for (i, &p) in prob.iter().enumerate() {
            if p < 1.0 {
                small.push(i as u32)
            } else {
                large.push(i as u32)
            }
        }
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            alias[s as usize] = l;
            prob[l as usize] -= 1.0 - prob[s as usize];
            if prob[l as usize] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        for &i in small.iter().chain(large.iter()) {
            prob[i as usize] = 1.0;
        }
        Alias {
            prob,
            alias,
            values,
        }
    }
    #[inline]
    fn sample(&self, rng: &mut Xoshiro256) -> u32 {
        let n = self.prob.len();
        let i = rng.below(n as u64) as usize;
        if rng.next_f64() < self.prob[i] {
            self.values[i]
        } else {
            self.values[self.alias[i] as usize]
        }
    }
}

/// The generator: fixed structure (concepts, popularity, activities) plus a cursor over users.
pub struct Synth {
    opts: SynthOptions,
    concept_of: Vec<u32>,
    by_concept: Vec<Alias>,
    global: Alias,
    activity: Vec<u32>,
    next_user: usize,
    stamp: Vec<u32>,
    /// Items the current user has taken from each concept.
    taken: Vec<u32>,
    pub ratings_written: u64,
    pub high_written: u64,
}

/// A Pareto(a) draw with minimum 1.
fn pareto(rng: &mut Xoshiro256, a: f64) -> f64 {
    let u = 1.0 - rng.next_f64(); // (0, 1]
    u.powf(-1.0 / (a - 1.0))
}

/// Dirichlet(1, …, 1) weights.
fn dirichlet(rng: &mut Xoshiro256, k: usize) -> Vec<f64> {
    let e: Vec<f64> = (0..k).map(|_| -(1.0 - rng.next_f64()).ln()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|x| x / s).collect()
}

impl Synth {
    pub fn new(opts: SynthOptions) -> Result<Synth> {
        opts.check()?;
        let (n_items, k) = (opts.items, opts.concepts);
        let mut rng = Xoshiro256::with_stream(opts.seed, u64::MAX);
        // Concepts: uniform, but every concept gets at least one item.
        let mut concept_of: Vec<u32> = (0..n_items).map(|_| rng.below(k as u64) as u32).collect();
        let mut first: Vec<u32> = (0..n_items as u32).collect();
        rng.shuffle(&mut first);
        for c in 0..k {
            concept_of[first[c] as usize] = c as u32;
        }
        // Popularity: a random ranking.
        let mut rank: Vec<u32> = (0..n_items as u32).collect();
        rng.shuffle(&mut rank);
        let weight: Vec<f64> = rank
            .iter()
            .map(|&r| (r as f64 + opts.popularity_offset).powf(-opts.popularity_exponent))
            .collect();
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); k];
        for i in 0..n_items {
            members[concept_of[i] as usize].push(i as u32);
        }
        let by_concept: Vec<Alias> = members
            .into_iter()
            .map(|m| {
                let w: Vec<f64> = m.iter().map(|&i| weight[i as usize]).collect();
                Alias::new(m, &w)
            })
            .collect();
        let global = Alias::new((0..n_items as u32).collect(), &weight);
        // Activities: Pareto draws, excess rescaled to the requested total, capped.
        let cap = opts.cap() as f64;
        let min = opts.min_user_ratings as f64;
        let raw: Vec<f64> = (0..opts.users)
            .map(|u| {
                let mut r = Xoshiro256::with_stream(opts.seed, (u as u64) << 1 | 1);
                pareto(&mut r, opts.activity_exponent) - 1.0
            })
            .collect();
        let target = opts.ratings as f64 - min * opts.users as f64;
        let total_for = |f: f64| -> f64 { raw.iter().map(|x| (x * f).min(cap - min)).sum() };
        let (mut lo, mut hi) = (0.0f64, 1.0f64);
        while total_for(hi) < target && hi < 1e12 {
            hi *= 2.0;
        }
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if total_for(mid) < target {
                lo = mid
            } else {
                hi = mid
            }
        }
        let f = 0.5 * (lo + hi);
        let mut activity: Vec<u32> = raw
            .iter()
            .map(|x| (min + (x * f).min(cap - min)).floor() as u32)
            .collect();
        // Distribute the rounding remainder one rating at a time over users below the cap.
        let mut sum: u64 = activity.iter().map(|&a| a as u64).sum();
        let mut u = 0usize;
        let mut guard = 0usize;
        while sum < opts.ratings && guard < 4 * opts.users {
            if (activity[u] as f64) < cap {
                activity[u] += 1;
                sum += 1;
            }
            u = (u + 1) % opts.users;
            guard += 1;
        }
        Ok(Synth {
            concept_of,
            by_concept,
            global,
            activity,
            next_user: 0,
            stamp: vec![u32::MAX; n_items],
            taken: vec![0; k],
            ratings_written: 0,
            high_written: 0,
            opts,
        })
    }

    pub fn options(&self) -> &SynthOptions {
        &self.opts
    }
    pub fn done(&self) -> bool {
        self.next_user >= self.opts.users
    }
    pub fn users_written(&self) -> usize {
        self.next_user
    }

    /// Draws one item not yet taken by `user` from concept `c` (or the whole catalogue): up to 24
    /// popularity draws, then a scan from a random start; `None` when every item is taken.
    fn draw(&mut self, c: Option<usize>, user: u32, rng: &mut Xoshiro256) -> Option<u32> {
        let table = match c {
            Some(c) => {
                if self.taken[c] as usize >= self.by_concept[c].values.len() {
                    return None;
                }
                &self.by_concept[c]
            }
            None => &self.global,
        };
        let mut found = None;
        for _ in 0..24 {
            let i = table.sample(rng);
            if self.stamp[i as usize] != user {
                found = Some(i);
                break;
            }
        }
        if found.is_none() {
            let n = table.values.len();
            let start = rng.below(n as u64) as usize;
            found = (0..n)
                .map(|k| table.values[(start + k) % n])
                .find(|&i| self.stamp[i as usize] != user);
        }
        if let Some(i) = found {
            self.stamp[i as usize] = user;
            self.taken[self.concept_of[i as usize] as usize] += 1;
        }
        found
    }

    /// Generates the next `max_users` users (fewer at the end). Appends their `ratings.csv` lines to
    /// `ratings` and their `userId,concepts,weights` lines to `intentions`.
    pub fn next_batch(
        &mut self,
        max_users: usize,
        ratings: &mut Vec<u8>,
        intentions: &mut Vec<u8>,
    ) -> Result<()> {
        let end = (self.next_user + max_users).min(self.opts.users);
        let k = self.opts.concepts;
        let mut picked: Vec<(u32, u8)> = Vec::new();
        for u in self.next_user..end {
            let mut rng = Xoshiro256::with_stream(self.opts.seed, (u as u64) << 1);
            let r = rng.next_f64();
            let n_int = (if r < 0.3 {
                1
            } else if r < 0.7 {
                2
            } else {
                3
            })
            .min(k);
            let mut cs: Vec<u32> = (0..k as u32).collect();
            for j in 0..n_int {
                let s = j + rng.below((k - j) as u64) as usize;
                cs.swap(j, s);
            }
            cs.truncate(n_int);
            let w = dirichlet(&mut rng, n_int);
            let n = self.activity[u] as usize;
            picked.clear();
            for t in self.taken.iter_mut() {
                *t = 0;
            }
            for _ in 0..n {
                let intended = rng.next_f64() < self.opts.intention_share;
                let mut item = None;
                if intended {
                    let x = rng.next_f64();
                    let mut acc = 0.0;
                    let mut c = cs[n_int - 1];
                    for j in 0..n_int {
                        acc += w[j];
                        if x < acc {
                            c = cs[j];
                            break;
                        }
                    }
                    item = self.draw(Some(c as usize), u as u32, &mut rng);
                    // An exhausted concept: the user's other intentions, in order.
                    for &c2 in &cs {
                        if item.is_some() {
                            break;
                        }
                        item = self.draw(Some(c2 as usize), u as u32, &mut rng);
                    }
                }
                let intended = intended && item.is_some();
                if item.is_none() {
                    item = self.draw(None, u as u32, &mut rng);
                }
                let item = match item {
                    Some(i) => i,
                    None => {
                        return Err(Error::new(
                            crate::ErrorKind::Internal,
                            format!("user {} ran out of items", u),
                        ))
                    }
                };
                let high = rng.next_f64()
                    < if intended {
                        self.opts.high_in
                    } else {
                        self.opts.high_out
                    };
                // Stars ×2: high 8..10, low 1..7 (half stars) or 2,4,6 (whole stars).
                let stars2: u8 = if self.opts.half_stars {
                    if high {
                        [8, 8, 9, 10, 10][rng.below(5) as usize]
                    } else {
                        1 + rng.below(7) as u8
                    }
                } else if high {
                    [8, 8, 10][rng.below(3) as usize]
                } else {
                    [2, 4, 6, 6][rng.below(4) as usize]
                };
                picked.push((item, stars2));
            }
            picked.sort_unstable();
            let t0 = 946_684_800u64 + rng.below(500_000_000);
            for (j, &(item, s2)) in picked.iter().enumerate() {
                write_u64(ratings, u as u64 + 1);
                ratings.push(b',');
                write_u64(ratings, item as u64 + 1);
                ratings.push(b',');
                write_u64(ratings, (s2 / 2) as u64);
                ratings.push(b'.');
                ratings.push(if s2 % 2 == 1 { b'5' } else { b'0' });
                ratings.push(b',');
                write_u64(ratings, t0 + 37 * j as u64);
                ratings.push(b'\n');
                if s2 >= 8 {
                    self.high_written += 1;
                }
            }
            self.ratings_written += n as u64;
            write_u64(intentions, u as u64 + 1);
            intentions.push(b',');
            for (j, c) in cs.iter().enumerate() {
                if j > 0 {
                    intentions.push(b'|');
                }
                write_u64(intentions, *c as u64);
            }
            intentions.push(b',');
            for (j, x) in w.iter().enumerate() {
                if j > 0 {
                    intentions.push(b'|');
                }
                intentions.extend_from_slice(format!("{:.4}", x).as_bytes());
            }
            intentions.push(b'\n');
        }
        self.next_user = end;
        Ok(())
    }

    /// `movieId,concept` lines (with a header) for every item.
    pub fn item_concepts_csv(&self) -> Vec<u8> {
        let mut out = b"movieId,concept\n".to_vec();
        for (i, &c) in self.concept_of.iter().enumerate() {
            write_u64(&mut out, i as u64 + 1);
            out.push(b',');
            write_u64(&mut out, c as u64);
            out.push(b'\n');
        }
        out
    }

    /// A MovieLens `movies.csv` whose genre is the planted concept (`concept3`).
    pub fn movies_csv(&self) -> Vec<u8> {
        let mut out = b"movieId,title,genres\n".to_vec();
        for (i, &c) in self.concept_of.iter().enumerate() {
            write_u64(&mut out, i as u64 + 1);
            out.extend_from_slice(b",Item ");
            write_u64(&mut out, i as u64 + 1);
            out.extend_from_slice(b",concept");
            write_u64(&mut out, c as u64);
            out.push(b'\n');
        }
        out
    }

    pub fn summary_json(&self) -> String {
        let o = &self.opts;
        format!(
            "{{\"users\":{},\"items\":{},\"concepts\":{},\"ratings\":{},\"highRatings\":{},\"seed\":{},\"halfStars\":{},\"minUserRatings\":{},\"intentionShare\":{},\"highIn\":{},\"highOut\":{},\"activityExponent\":{},\"popularityExponent\":{},\"popularityOffset\":{}}}",
            o.users, o.items, o.concepts, self.ratings_written, self.high_written, o.seed, o.half_stars,
            o.min_user_ratings, o.intention_share, o.high_in, o.high_out, o.activity_exponent,
            o.popularity_exponent, o.popularity_offset
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{ParseOptions, RatingsParser};

    fn generate(name: &str, seed: u64, batch: usize) -> (Vec<u8>, Vec<u8>, Synth) {
        let mut s = Synth::new(SynthOptions::preset(name, seed).unwrap()).unwrap();
        let (mut r, mut i) = (b"userId,movieId,rating,timestamp\n".to_vec(), Vec::new());
        while !s.done() {
            s.next_batch(batch, &mut r, &mut i).unwrap();
        }
        (r, i, s)
    }

    #[test]
    fn tiny_is_deterministic_independent_of_batch_size_and_hits_the_total() {
        let (a, ia, s) = generate("tiny", 3, 7);
        let (b, ib, _) = generate("tiny", 3, 300);
        let (c, _, _) = generate("tiny", 4, 7);
        assert_eq!(a, b);
        assert_eq!(ia, ib);
        assert_ne!(a, c);
        assert_eq!(s.ratings_written, 9_000);
        let mut p = RatingsParser::new(ParseOptions {
            min_rating: 3.5,
            ..ParseOptions::default()
        });
        p.feed(&a).unwrap();
        p.end_file().unwrap();
        assert_eq!(p.stats.rows, 9_000);
        assert_eq!(p.stats.kept, s.high_written);
        assert_eq!(p.format_name(), "movielens");
    }

    #[test]
    fn kept_ratings_follow_the_planted_concepts() {
        let (r, intents, s) = generate("tiny", 11, 50);
        let concepts: Vec<Vec<u32>> = std::str::from_utf8(&intents)
            .unwrap()
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                f[1].split('|').map(|x| x.parse().unwrap()).collect()
            })
            .collect();
        let (mut inside, mut total) = (0u64, 0u64);
        for line in std::str::from_utf8(&r).unwrap().lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let (u, i, rating): (usize, usize, f64) = (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            );
            if rating > 3.5 {
                total += 1;
                if concepts[u - 1].contains(&s.concept_of[i - 1]) {
                    inside += 1;
                }
            }
        }
        // 0.8·high_in / (0.8·high_in + 0.2·high_out) ≈ 0.97 of positives come from an intention
        // (plus noise that lands inside by chance).
        assert!(inside as f64 / total as f64 > 0.9, "{} / {}", inside, total);
    }

    #[test]
    fn presets_are_valid_and_unknown_names_fail() {
        for p in PRESETS {
            SynthOptions::preset(p, 1).unwrap().check().unwrap();
        }
        assert!(SynthOptions::preset("ml-2m", 1).is_err());
    }
}
