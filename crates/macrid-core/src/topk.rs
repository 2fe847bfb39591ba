//! Batched top-k selection over a dense score block with per-user exclusions.
//!
//! For each user row `u` of a `users × items` row-major score block, the items of row `u` of the
//! `exclude` CSR (the fold-in items) are skipped and the `k` best remaining items are returned in
//! ranking order: higher score first, ties to the lower item index. Scores must not be NaN.
//! Cost: `O(items)` per user: a pre-filter against the current floor and a buffered linear-time
//! selection ([`TopK`]), then `O(k log k)` to sort the `k` kept.

use crate::csr::CsrRef;
use crate::error::{check_len, Error, Result};

/// `a` ranks before `b`: higher score, then lower item index.
#[inline]
fn before(sa: f32, ia: u32, sb: f32, ib: u32) -> bool {
    sa > sb || (sa == sb && ia < ib)
}

/// Ranking order of `(score, item)` pairs: `Less` ranks first.
#[inline]
fn order(a: &(f32, u32), b: &(f32, u32)) -> std::cmp::Ordering {
    if before(a.0, a.1, b.0, b.1) {
        std::cmp::Ordering::Less
    } else if before(b.0, b.1, a.0, a.1) {
        std::cmp::Ordering::Greater
    } else {
        std::cmp::Ordering::Equal
    }
}

/// The best `k` of a stream of candidates: candidates are appended to a buffer, and when it holds
/// `cap ≈ 2k` a linear-time selection (`select_nth_unstable`) keeps the best `k` and raises the floor
/// to the worst kept — O(1) per accepted candidate instead of a heap's O(log k), and a floor that
/// callers use as a pre-filter ([`TopK::threshold`]).
pub struct TopK {
    k: usize,
    cap: usize,
    buf: Vec<(f32, u32)>,
    /// The worst of the kept `k` after the last selection; `None` before the first one.
    floor: Option<(f32, u32)>,
}

impl TopK {
    pub fn new(k: usize) -> TopK {
        TopK {
            k,
            cap: (2 * k).max(k + 64),
            buf: Vec::new(),
            floor: None,
        }
    }

    pub fn clear(&mut self) {
        self.buf.clear();
        self.floor = None;
    }

    /// The `k` this selector keeps.
    pub fn k(&self) -> usize {
        self.k
    }

    /// How many candidates [`TopK::drain_sorted`] would return now.
    pub fn len(&self) -> usize {
        self.buf.len().min(self.k)
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Offers one candidate.
    #[inline]
    pub fn push(&mut self, score: f32, item: u32) {
        if self.k == 0 {
            return;
        }
        if let Some((fs, fi)) = self.floor {
            if !before(score, item, fs, fi) {
                return;
            }
        }
        self.buf.push((score, item));
        if self.buf.len() >= self.cap {
            self.select();
        }
    }

    /// Keeps the best `k` of the buffer (unordered) and sets the floor to the worst of them.
    fn select(&mut self) {
        let k = self.k;
        if self.buf.len() > k {
            self.buf.select_nth_unstable_by(k - 1, order);
            self.buf.truncate(k);
        }
        if self.buf.len() == k {
            self.floor = Some(self.buf[k - 1]);
        }
    }

    /// A score below which no candidate can enter (`-inf` until one is known, `+inf` when `k` is 0):
    /// a cheap pre-filter; candidates at or above it must still be offered to [`TopK::push`].
    #[inline]
    pub fn threshold(&self) -> f32 {
        if self.k == 0 {
            f32::INFINITY
        } else {
            self.floor.map_or(f32::NEG_INFINITY, |f| f.0)
        }
    }

    /// Drains into row `u` of `users × k` outputs (unused slots `u32::MAX` and `-inf`); returns how
    /// many slots are used.
    pub fn drain_row(&mut self, u: usize, out_items: &mut [u32], out_scores: &mut [f32]) -> u32 {
        let k = self.k;
        let oi = &mut out_items[u * k..(u + 1) * k];
        let os = &mut out_scores[u * k..(u + 1) * k];
        let n = self.drain_sorted(oi, os);
        for j in n..k {
            oi[j] = u32::MAX;
            os[j] = f32::NEG_INFINITY;
        }
        n as u32
    }

    /// Writes the retained candidates in ranking order into the output slices, returns how many, and
    /// empties the selector.
    pub fn drain_sorted(&mut self, out_items: &mut [u32], out_scores: &mut [f32]) -> usize {
        if self.k > 0 {
            self.select(); // leaves at most k (with k = 0 nothing was ever pushed)
        }
        self.buf.sort_unstable_by(order);
        for (j, &(s, i)) in self.buf.iter().enumerate() {
            out_items[j] = i;
            out_scores[j] = s;
        }
        let n = self.buf.len();
        self.clear();
        n
    }
}

/// A reusable bitmap over items for marking exclusions.
pub struct ItemMask {
    words: Vec<u64>,
}

impl ItemMask {
    pub fn new(items: usize) -> ItemMask {
        ItemMask {
            words: vec![0; (items + 63) / 64],
        }
    }
    #[inline]
    pub fn set_all(&mut self, ids: &[u32]) {
        for &i in ids {
            self.words[(i >> 6) as usize] |= 1u64 << (i & 63);
        }
    }
    #[inline]
    pub fn clear_all(&mut self, ids: &[u32]) {
        for &i in ids {
            self.words[(i >> 6) as usize] = 0;
        }
    }
    #[inline]
    pub fn contains(&self, i: usize) -> bool {
        self.words[i >> 6] & (1u64 << (i & 63)) != 0
    }
}

/// Top-k per user row with exclusions.
///
/// - `scores`: `users × items` row-major; `exclude`: CSR with `users` rows over `items` columns;
/// - `out_items`, `out_scores`: `users × k`; row `u` holds its ranking in its first
///   `out_count[u]` slots (fewer than `k` when fewer items remain); unused slots are set to
///   `u32::MAX` and `-inf`.
pub fn topk_batch(
    scores: &[f32],
    users: usize,
    items: usize,
    exclude: &CsrRef<'_>,
    k: usize,
    out_items: &mut [u32],
    out_scores: &mut [f32],
    out_count: &mut [u32],
) -> Result<()> {
    check_len("scores", scores, users * items)?;
    if exclude.rows() != users {
        return Err(Error::invalid(format!(
            "'exclude' must have {} rows (one per user) but has {}",
            users,
            exclude.rows()
        )));
    }
    if exclude.cols != items {
        return Err(Error::invalid(format!(
            "'exclude' must have {} columns (items) but has {}",
            items, exclude.cols
        )));
    }
    check_len("outItems", out_items, users * k)?;
    check_len("outScores", out_scores, users * k)?;
    check_len("outCount", out_count, users)?;
    let mut heap = TopK::new(k);
    let mut mask = ItemMask::new(items);
    for u in 0..users {
        let row = &scores[u * items..(u + 1) * items];
        let ex = exclude.row(u);
        mask.set_all(ex);
        for (i, &s) in row.iter().enumerate() {
            // NaN fails both comparisons below: check it explicitly.
            if s.is_nan() {
                mask.clear_all(ex);
                return Err(Error::invalid(format!(
                    "'scores' contains NaN at user row {}, item {}",
                    u, i
                )));
            }
            if s < heap.threshold() || mask.contains(i) {
                continue;
            }
            heap.push(s, i as u32);
        }
        mask.clear_all(ex);
        out_count[u] = heap.drain_row(u, out_items, out_scores);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(row: &[f32], ex: &[u32], k: usize) -> Vec<u32> {
        let mut c: Vec<u32> = (0..row.len() as u32).filter(|i| !ex.contains(i)).collect();
        c.sort_by(|&a, &b| {
            row[b as usize]
                .partial_cmp(&row[a as usize])
                .unwrap()
                .then(a.cmp(&b))
        });
        c.truncate(k);
        c
    }

    #[test]
    fn hand_case_with_ties_and_exclusions() {
        let scores = [0.5f32, 0.9, 0.5, 0.1, 0.9, 0.0, 0.0, 0.0];
        let indptr = [0u32, 1, 4];
        let indices = [1u32, 0, 1, 2];
        let ex = CsrRef::new("exclude", &indptr, &indices, 4).unwrap();
        let (mut oi, mut os, mut oc) = (vec![0u32; 6], vec![0f32; 6], vec![0u32; 2]);
        topk_batch(&scores, 2, 4, &ex, 3, &mut oi, &mut os, &mut oc).unwrap();
        assert_eq!(&oi[0..3], &[0, 2, 3]);
        assert_eq!(oc, vec![3, 1]);
        assert_eq!(oi[3], 3);
        assert_eq!(&oi[4..6], &[u32::MAX, u32::MAX]);
        // ties: row 1 of a tie block
        let scores = [1.0f32, 1.0, 1.0, 2.0];
        let ex = CsrRef::new("exclude", &[0, 0], &[], 4).unwrap();
        let (mut oi, mut os, mut oc) = (vec![0u32; 3], vec![0f32; 3], vec![0u32; 1]);
        topk_batch(&scores, 1, 4, &ex, 3, &mut oi, &mut os, &mut oc).unwrap();
        assert_eq!(oi, vec![3, 0, 1]);
    }

    #[test]
    fn random_matches_naive() {
        let mut rng = crate::rng::Xoshiro256::new(3);
        for trial in 0..50 {
            let users = 1 + rng.below(5) as usize;
            let items = 1 + rng.below(60) as usize;
            let k = rng.below(70) as usize;
            let scores: Vec<f32> = (0..users * items)
                .map(|_| (rng.below(8) as f32) * 0.25)
                .collect();
            let mut indptr = vec![0u32];
            let mut indices = vec![];
            for _ in 0..users {
                for i in 0..items {
                    if rng.below(3) == 0 {
                        indices.push(i as u32);
                    }
                }
                indptr.push(indices.len() as u32);
            }
            let ex = CsrRef::new("exclude", &indptr, &indices, items).unwrap();
            let (mut oi, mut os, mut oc) = (
                vec![0u32; users * k],
                vec![0f32; users * k],
                vec![0u32; users],
            );
            topk_batch(&scores, users, items, &ex, k, &mut oi, &mut os, &mut oc).unwrap();
            for u in 0..users {
                let want = naive(&scores[u * items..(u + 1) * items], ex.row(u), k);
                let n = oc[u] as usize;
                assert_eq!(
                    &oi[u * k..u * k + n],
                    &want[..],
                    "trial {} user {}",
                    trial,
                    u
                );
            }
        }
    }

    #[test]
    fn nan_is_an_error() {
        let ex = CsrRef::new("exclude", &[0, 0], &[], 2).unwrap();
        let (mut oi, mut os, mut oc) = (vec![0u32; 1], vec![0f32; 1], vec![0u32; 1]);
        let e = topk_batch(&[0.0, f32::NAN], 1, 2, &ex, 1, &mut oi, &mut os, &mut oc).unwrap_err();
        assert!(e.message.contains("NaN at user row 0, item 1"));
    }
}
