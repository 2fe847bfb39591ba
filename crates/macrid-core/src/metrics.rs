//! Batched ranking metrics of the MultVAE protocol: NDCG@k, Recall@k and hit counts for several `k`
//! in one pass per user.
//!
//! For user row `u` of a `users × items` row-major score block, the items of row `u` of `fold_in`
//! are excluded, the best `kmax = max(ks)` remaining items are selected once (partial selection with
//! a bounded heap, higher score first, ties to the lower item index) and every smaller `k` is read
//! from the prefix of that ranking. With `T` the set of distinct items of row `u` of `target`,
//! `t = |T|`, and `rel_r = 1` when the item at rank `r` (1-based) is in `T`:
//!
//! - `hits@k   = Σ_{r ≤ k} rel_r`
//! - `DCG@k    = Σ_{r ≤ k} rel_r / log2(r + 1)`
//! - `IDCG@k   = Σ_{r ≤ min(t, k)} 1 / log2(r + 1)`
//! - `NDCG@k   = DCG@k / IDCG@k`
//! - `Recall@k = hits@k / min(k, t)`
//!
//! When fewer than `k` items remain after the exclusions the sums run over those that remain (the
//! denominators do not change). A target item that is also a fold-in item can never be hit. Users
//! with an empty target (`t = 0`) are flagged by `target_size[u] = 0`; their NDCG and Recall are NaN
//! and their hits 0 (callers exclude them from means). Scores must not be NaN.
//! Cost per user: one SIMD pre-filtered scan of the row (`O(items)`, most scores rejected 16 at a
//! time), `O(c · log kmax)` for the `c` heap candidates, `O(kmax · log kmax)` to sort the result.

use crate::csr::CsrRef;
use crate::error::{check_len, Error, Result};
use crate::simd;
use crate::topk::{ItemMask, TopK};

/// Largest accepted cutoff `k` (the output of one user is `O(k)`).
pub const MAX_K: usize = 1 << 20;

/// Per-user outputs, `users × ks.len()` row-major (`[u * ks.len() + j]` is user `u` at `ks[j]`).
pub struct MetricsOut<'a> {
    pub ndcg: &'a mut [f64],
    pub recall: &'a mut [f64],
    pub hits: &'a mut [u32],
    /// `users`: the number of distinct target items of each user (0 = skipped).
    pub target_size: &'a mut [u32],
}

/// Scores sampled (at an even stride) to guess a row's floor, see [`sampled_floor`].
const SAMPLE: usize = 512;
/// The guessed floor aims at about this many times `k` scores at or above it.
const SAMPLE_MARGIN: usize = 3;

/// A guess at a score that about `SAMPLE_MARGIN · k` of `row`'s scores reach: the `r`-th best of
/// [`SAMPLE`] scores taken at an even stride, `r = ⌈SAMPLE · SAMPLE_MARGIN · k / n⌉`. `-inf` (no
/// guess) for short rows, for a large `k`, or when the sample holds a NaN.
///
/// Why: the scan's pre-filter rejects scores below the selector's floor, which starts at `-inf` and
/// rises only as candidates are selected, so the first stretch of a row — and every later score above
/// a still-low floor — is offered one by one (~7·k offers for 20,108 items and k = 100). Starting from
/// the guess, about `SAMPLE_MARGIN · k` are. [`select_row`] checks the guess afterwards: it is only
/// used when at least `k` eligible scores reached it, so the result never depends on the sample.
fn sampled_floor(row: &[f32], k: usize) -> f32 {
    let n = row.len();
    if k == 0 || n < 4 * SAMPLE {
        return f32::NEG_INFINITY;
    }
    let r = (SAMPLE * SAMPLE_MARGIN * k + n - 1) / n;
    if r > SAMPLE / 8 {
        return f32::NEG_INFINITY;
    }
    // The best `r` of the sample, kept sorted (best first) by insertion: most fail the first compare.
    let mut best = [f32::NEG_INFINITY; SAMPLE / 8];
    let best = &mut best[..r];
    for s in 0..SAMPLE {
        let v = row[s * n / SAMPLE];
        if v.is_nan() {
            return f32::NEG_INFINITY;
        }
        if v > best[r - 1] {
            let mut p = r - 1;
            while p > 0 && v > best[p - 1] {
                best[p] = best[p - 1];
                p -= 1;
            }
            best[p] = v;
        }
    }
    best[r - 1]
}

/// Selects the best `heap`-capacity items of `row` that are not in `exclude`, pushing them into
/// `heap` (which must be empty). Returns an error naming `row_name` on a NaN score.
///
/// The scan starts from [`sampled_floor`]'s guess; when fewer than `k` eligible scores reach it (an
/// unlucky sample, or exclusions among the best), the row is scanned again from `-inf`.
pub fn select_row(row: &[f32], exclude: &ItemMask, heap: &mut TopK, row_name: usize) -> Result<()> {
    let guess = sampled_floor(row, heap.k());
    scan_row(row, exclude, heap, row_name, guess)?;
    if guess > f32::NEG_INFINITY && heap.len() < heap.k() {
        heap.clear();
        scan_row(row, exclude, heap, row_name, f32::NEG_INFINITY)?;
    }
    Ok(())
}

/// Offers every score of `row` at or above `floor` (and above the selector's own floor) that is not
/// in `exclude` to `heap`.
fn scan_row(
    row: &[f32],
    exclude: &ItemMask,
    heap: &mut TopK,
    row_name: usize,
    floor: f32,
) -> Result<()> {
    let n = row.len();
    let mut i = 0;
    loop {
        i = simd::first_not_below(row, i, heap.threshold().max(floor));
        if i >= n {
            return Ok(());
        }
        let s = row[i];
        if s.is_nan() {
            return Err(Error::invalid(format!(
                "'scores' contains NaN at user row {}, item {}",
                row_name, i
            )));
        }
        if !exclude.contains(i) {
            heap.push(s, i as u32);
        }
        i += 1;
    }
}

fn check_csr_shape(name: &str, m: &CsrRef<'_>, users: usize, items: usize) -> Result<()> {
    if m.rows() != users {
        return Err(Error::invalid(format!(
            "'{}' must have {} rows (one per user) but has {}",
            name,
            users,
            m.rows()
        )));
    }
    if m.cols != items {
        return Err(Error::invalid(format!(
            "'{}' must have {} columns (items) but has {}",
            name, items, m.cols
        )));
    }
    Ok(())
}

/// Checks the cutoffs (`1 <= k <= MAX_K`) and returns the largest.
pub fn check_ks(ks: &[u32]) -> Result<usize> {
    if ks.is_empty() {
        return Err(Error::invalid("'ks' must hold at least one cutoff"));
    }
    let mut kmax = 0;
    for (j, &k) in ks.iter().enumerate() {
        if k == 0 || k as usize > MAX_K {
            return Err(Error::invalid(format!(
                "'ks[{}]' must be in [1, {}] but is {}",
                j, MAX_K, k
            )));
        }
        kmax = kmax.max(k as usize);
    }
    Ok(kmax)
}

/// NDCG@k, Recall@k and hits@k for every `k` of `ks`, per user; see the module documentation.
///
/// - `first_row`: the row of the caller's whole batch that `scores`' row 0 is (errors name rows of
///   the batch when it is ranked in chunks);
/// - `scores`: `users × items` row-major; `fold_in`, `target`: CSR with `users` rows over `items`;
/// - `ks`: cutoffs, any order, each in `[1, MAX_K]` (may exceed `items`);
/// - `out`: see [`MetricsOut`].
pub fn ranking_metrics(
    first_row: usize,
    scores: &[f32],
    users: usize,
    items: usize,
    fold_in: &CsrRef<'_>,
    target: &CsrRef<'_>,
    ks: &[u32],
    out: MetricsOut<'_>,
) -> Result<()> {
    let kmax = check_ks(ks)?;
    check_len("scores", scores, users * items)?;
    check_csr_shape("foldIn", fold_in, users, items)?;
    check_csr_shape("target", target, users, items)?;
    let nk = ks.len();
    check_len("outNdcg", out.ndcg, users * nk)?;
    check_len("outRecall", out.recall, users * nk)?;
    check_len("outHits", out.hits, users * nk)?;
    check_len("outTargetSize", out.target_size, users)?;

    // discount[r] = 1 / log2(r + 2) for 0-based rank r; idcg[m] = Σ_{r < m} discount[r]
    let kcap = kmax.min(items.max(1));
    let discount: Vec<f64> = (0..kcap).map(|r| 1.0 / ((r + 2) as f64).log2()).collect();
    let mut idcg = vec![0f64; kcap + 1];
    for r in 0..kcap {
        idcg[r + 1] = idcg[r] + discount[r];
    }
    let mut heap = TopK::new(kcap);
    let mut excluded = ItemMask::new(items);
    let mut wanted = ItemMask::new(items);
    let mut ranked = vec![0u32; kcap];
    let mut ranked_scores = vec![0f32; kcap];
    // cum_dcg[m], cum_hits[m]: sums over the first m ranks
    let mut cum_dcg = vec![0f64; kcap + 1];
    let mut cum_hits = vec![0u32; kcap + 1];

    for u in 0..users {
        let trow = target.row(u);
        let mut t = 0usize;
        for &i in trow {
            if !wanted.contains(i as usize) {
                wanted.set_all(&[i]);
                t += 1;
            }
        }
        out.target_size[u] = t as u32;
        let o = u * nk;
        if t == 0 {
            for j in 0..nk {
                out.ndcg[o + j] = f64::NAN;
                out.recall[o + j] = f64::NAN;
                out.hits[o + j] = 0;
            }
            continue;
        }
        let ex = fold_in.row(u);
        excluded.set_all(ex);
        let sel = select_row(
            &scores[u * items..(u + 1) * items],
            &excluded,
            &mut heap,
            first_row + u,
        );
        excluded.clear_all(ex);
        sel?;
        let n = heap.drain_sorted(&mut ranked, &mut ranked_scores);
        for r in 0..n {
            let rel = wanted.contains(ranked[r] as usize);
            cum_dcg[r + 1] = cum_dcg[r] + if rel { discount[r] } else { 0.0 };
            cum_hits[r + 1] = cum_hits[r] + rel as u32;
        }
        wanted.clear_all(trow);
        for (j, &k) in ks.iter().enumerate() {
            let k = k as usize;
            let m = k.min(n);
            let hits = cum_hits[m];
            let ideal = idcg[t.min(k).min(kcap)];
            out.ndcg[o + j] = cum_dcg[m] / ideal;
            out.recall[o + j] = hits as f64 / (k.min(t) as f64);
            out.hits[o + j] = hits;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Xoshiro256;

    #[derive(Debug)]
    struct Owned {
        ndcg: Vec<f64>,
        recall: Vec<f64>,
        hits: Vec<u32>,
        tsize: Vec<u32>,
    }

    impl Owned {
        fn new(users: usize, nk: usize) -> Owned {
            Owned {
                ndcg: vec![0.0; users * nk],
                recall: vec![0.0; users * nk],
                hits: vec![0; users * nk],
                tsize: vec![0; users],
            }
        }

        /// The outputs of rows `lo..hi`.
        fn rows(&mut self, lo: usize, hi: usize, nk: usize) -> MetricsOut<'_> {
            MetricsOut {
                ndcg: &mut self.ndcg[lo * nk..hi * nk],
                recall: &mut self.recall[lo * nk..hi * nk],
                hits: &mut self.hits[lo * nk..hi * nk],
                target_size: &mut self.tsize[lo..hi],
            }
        }
    }

    fn run(
        scores: &[f32],
        users: usize,
        items: usize,
        fold: (&[u32], &[u32]),
        tgt: (&[u32], &[u32]),
        ks: &[u32],
    ) -> Result<Owned> {
        let f = CsrRef::new("foldIn", fold.0, fold.1, items)?;
        let t = CsrRef::new("target", tgt.0, tgt.1, items)?;
        let nk = ks.len();
        let mut o = Owned::new(users, nk);
        ranking_metrics(0, scores, users, items, &f, &t, ks, o.rows(0, users, nk))?;
        Ok(o)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12 || (a.is_nan() && b.is_nan())
    }

    #[test]
    fn hand_computed() {
        // 6 items; scores rank items 5,4,3,2,1,0; item 4 is fold-in, so the ranking is 5,3,2,1,0.
        // target {3, 0}: hits at ranks 2 and 5.
        let scores = [0.0f32, 0.1, 0.2, 0.3, 0.4, 0.5];
        let o = run(
            &scores,
            1,
            6,
            (&[0, 1], &[4]),
            (&[0, 2], &[3, 0]),
            &[1, 2, 5, 10],
        )
        .unwrap();
        let l = |r: f64| 1.0 / (r + 1.0).log2();
        // k = 1: no hit; k = 2: DCG 1/log2(3), IDCG 1 + 1/log2(3)
        assert!(close(o.ndcg[0], 0.0));
        assert!(close(o.ndcg[1], l(2.0) / (1.0 + l(2.0))));
        assert!(close(o.recall[1], 0.5)); // 1 hit / min(2, 2)
        assert!(close(o.ndcg[2], (l(2.0) + l(5.0)) / (1.0 + l(2.0))));
        assert!(close(o.recall[2], 1.0));
        // k = 10 > the 5 remaining items: same sums, same denominators
        assert!(close(o.ndcg[3], o.ndcg[2]));
        assert_eq!(o.hits, vec![0, 1, 2, 2]);
        assert_eq!(o.tsize, vec![2]);
    }

    #[test]
    fn recall_denominator_is_min_k_target() {
        // target of 3 items, k = 1: recall = hits / 1
        let scores = [0.9f32, 0.8, 0.7, 0.1];
        let o = run(
            &scores,
            1,
            4,
            (&[0, 0], &[]),
            (&[0, 3], &[0, 1, 2]),
            &[1, 4],
        )
        .unwrap();
        assert!(close(o.recall[0], 1.0));
        assert!(close(o.ndcg[0], 1.0));
        assert!(close(o.recall[1], 1.0));
        assert!(close(o.ndcg[1], 1.0));
    }

    #[test]
    fn ties_go_to_the_lower_item() {
        // all equal: ranking 0,1,2,3; target {1}: rank 2 at k >= 2
        let o = run(&[1.0; 4], 1, 4, (&[0, 0], &[]), (&[0, 1], &[1]), &[1, 2]).unwrap();
        assert_eq!(o.hits, vec![0, 1]);
        assert!(close(o.ndcg[1], 1.0 / 3f64.log2()));
    }

    #[test]
    fn empty_target_all_seen_and_duplicates() {
        // user 0: empty target (NaN, flagged); user 1: all items fold-in (0 hits);
        // user 2: duplicate target ids count once
        let scores = [0.5f32; 9];
        let o = run(
            &scores,
            3,
            3,
            (&[0, 0, 3, 3], &[0, 1, 2]),
            (&[0, 0, 1, 3], &[2, 1, 1]),
            &[2],
        )
        .unwrap();
        assert_eq!(o.tsize, vec![0, 1, 1]);
        assert!(o.ndcg[0].is_nan() && o.recall[0].is_nan());
        assert_eq!(o.hits, vec![0, 0, 1]);
        assert!(close(o.ndcg[1], 0.0) && close(o.recall[1], 0.0));
        assert!(close(o.ndcg[2], 1.0 / 3f64.log2()) && close(o.recall[2], 1.0));
    }

    #[test]
    fn bad_arguments_are_named() {
        let e = run(
            &[0.0, f32::NAN],
            1,
            2,
            (&[0, 0], &[]),
            (&[0, 1], &[0]),
            &[1],
        )
        .unwrap_err();
        assert!(
            e.message.contains("NaN at user row 0, item 1"),
            "{}",
            e.message
        );
        let e = run(&[0.0, 1.0], 1, 2, (&[0, 0], &[]), (&[0, 1], &[0]), &[2, 0]).unwrap_err();
        assert!(e.message.contains("'ks[1]'"), "{}", e.message);
        let e = run(&[0.0, 1.0], 1, 2, (&[0, 0], &[]), (&[0, 1], &[0]), &[]).unwrap_err();
        assert!(e.message.contains("'ks'"), "{}", e.message);
        let e = run(&[0.0], 1, 2, (&[0, 0], &[]), (&[0, 1], &[0]), &[1]).unwrap_err();
        assert!(e.message.contains("'scores'"), "{}", e.message);
    }

    /// Sorting every candidate, as the TS oracle does.
    fn naive(row: &[f32], fold: &[u32], tgt: &[u32], k: usize) -> (f64, f64, u32) {
        let mut c: Vec<u32> = (0..row.len() as u32)
            .filter(|i| !fold.contains(i))
            .collect();
        c.sort_by(|&a, &b| {
            row[b as usize]
                .partial_cmp(&row[a as usize])
                .unwrap()
                .then(a.cmp(&b))
        });
        let mut t: Vec<u32> = tgt.to_vec();
        t.sort_unstable();
        t.dedup();
        let (mut dcg, mut hits) = (0.0, 0u32);
        for (r, i) in c.iter().take(k).enumerate() {
            if t.contains(i) {
                dcg += 1.0 / ((r + 2) as f64).log2();
                hits += 1;
            }
        }
        let idcg: f64 = (0..t.len().min(k))
            .map(|r| 1.0 / ((r + 2) as f64).log2())
            .sum();
        (dcg / idcg, hits as f64 / k.min(t.len()) as f64, hits)
    }

    #[test]
    fn the_sampled_floor_never_changes_the_selection() {
        let mut rng = Xoshiro256::new(3);
        let n = 4096;
        let k = 100;
        let rows: Vec<(&str, Vec<f32>)> = vec![
            ("random", (0..n).map(|_| rng.next_f64() as f32).collect()),
            ("ascending", (0..n).map(|i| i as f32).collect()),
            ("descending", (0..n).map(|i| -(i as f32)).collect()),
            ("ties", (0..n).map(|_| rng.below(3) as f32).collect()),
        ];
        for (name, row) in &rows {
            for exclude_best in [0usize, 500] {
                // The best `exclude_best` items excluded: the guess from the sample is then too
                // high for the eligible ones, and the row is scanned again.
                let mut order: Vec<u32> = (0..n as u32).collect();
                order.sort_by(|&a, &b| {
                    row[b as usize]
                        .partial_cmp(&row[a as usize])
                        .unwrap()
                        .then(a.cmp(&b))
                });
                let mut ex: Vec<u32> = order[..exclude_best].to_vec();
                ex.sort_unstable();
                let mut mask = ItemMask::new(n);
                mask.set_all(&ex);
                let mut heap = TopK::new(k);
                select_row(row, &mask, &mut heap, 0).unwrap();
                let (mut items, mut scores) = (vec![0u32; k], vec![0f32; k]);
                let got = heap.drain_sorted(&mut items, &mut scores);
                let want: Vec<u32> = order[exclude_best..exclude_best + k].to_vec();
                assert_eq!(got, k, "{}", name);
                assert_eq!(items, want, "{} excluding the best {}", name, exclude_best);
            }
        }
        // A NaN the sample does not see is still an error naming it.
        let mut row: Vec<f32> = (0..n).map(|_| rng.next_f64() as f32).collect();
        row[4095] = f32::NAN;
        let e = select_row(&row, &ItemMask::new(n), &mut TopK::new(k), 9).unwrap_err();
        assert!(e.message.contains("user row 9, item 4095"), "{}", e.message);
        assert!(sampled_floor(&row[..4000], k) > 0.9);
    }

    #[test]
    fn random_matches_naive() {
        let mut rng = Xoshiro256::new(11);
        for trial in 0..60 {
            let users = 1 + rng.below(5) as usize;
            let items = 1 + rng.below(80) as usize;
            let ks: Vec<u32> = (0..1 + rng.below(4))
                .map(|_| 1 + rng.below(100) as u32)
                .collect();
            let levels = 1 + rng.below(10);
            let scores: Vec<f32> = (0..users * items)
                .map(|_| rng.below(levels) as f32 / levels as f32)
                .collect();
            let mut csr = |p: u64| {
                let mut indptr = vec![0u32];
                let mut indices = vec![];
                for _ in 0..users {
                    for i in 0..items {
                        if rng.below(100) < p {
                            indices.push(i as u32);
                        }
                    }
                    indptr.push(indices.len() as u32);
                }
                (indptr, indices)
            };
            let (fp, fi) = csr(30);
            let (tp, ti) = csr(15);
            let o = run(&scores, users, items, (&fp, &fi), (&tp, &ti), &ks).unwrap();
            // The same batch in chunks of rows (as the WASM binding ranks it): the same bits.
            let chunk = 1 + rng.below(3) as usize;
            let nk = ks.len();
            let mut c = Owned::new(users, nk);
            let mut lo = 0;
            while lo < users {
                let hi = (lo + chunk).min(users);
                let f = CsrRef::row_range("foldIn", &fp, &fi, items, lo, hi).unwrap();
                let t = CsrRef::row_range("target", &tp, &ti, items, lo, hi).unwrap();
                ranking_metrics(
                    lo,
                    &scores[lo * items..hi * items],
                    hi - lo,
                    items,
                    &f,
                    &t,
                    &ks,
                    c.rows(lo, hi, nk),
                )
                .unwrap();
                lo = hi;
            }
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&c.ndcg),
                bits(&o.ndcg),
                "trial {} chunks of {}",
                trial,
                chunk
            );
            assert_eq!(bits(&c.recall), bits(&o.recall));
            assert_eq!((&c.hits, &c.tsize), (&o.hits, &o.tsize));
            for u in 0..users {
                let row = &scores[u * items..(u + 1) * items];
                let fr = &fi[fp[u] as usize..fp[u + 1] as usize];
                let tr = &ti[tp[u] as usize..tp[u + 1] as usize];
                for (j, &k) in ks.iter().enumerate() {
                    let x = u * ks.len() + j;
                    if tr.is_empty() {
                        assert!(o.ndcg[x].is_nan());
                        continue;
                    }
                    let (nd, rc, h) = naive(row, fr, tr, k as usize);
                    assert!(
                        (o.ndcg[x] - nd).abs() < 1e-12,
                        "trial {} u {} k {}",
                        trial,
                        u,
                        k
                    );
                    assert!(
                        (o.recall[x] - rc).abs() < 1e-12,
                        "trial {} u {} k {}",
                        trial,
                        u,
                        k
                    );
                    assert_eq!(o.hits[x], h);
                }
            }
        }
    }

    /// Timing of the selection on an ML-20M-shaped block (not a test; run with
    /// `cargo test --release -p macrid-core time_ranking -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn time_ranking() {
        let (users, items) = (1000usize, 20_108usize);
        let mut rng = Xoshiro256::new(7);
        let scores: Vec<f32> = (0..users * items).map(|_| rng.next_f64() as f32).collect();
        let mut fi = vec![0u32];
        let mut fv = vec![];
        let mut ti = vec![0u32];
        let mut tv = vec![];
        for _ in 0..users {
            let mut row: Vec<u32> = (0..60).map(|_| rng.below(items as u64) as u32).collect();
            row.sort_unstable();
            row.dedup();
            let (a, b) = row.split_at(row.len() * 4 / 5);
            fv.extend_from_slice(a);
            fi.push(fv.len() as u32);
            tv.extend_from_slice(b);
            ti.push(tv.len() as u32);
        }
        // On-CPU time of this thread (the machine may be loaded; wall time would count waiting).
        let cpu = || -> f64 {
            let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
                / 1e9
        };
        for _ in 0..3 {
            let (t0, c0) = (std::time::Instant::now(), cpu());
            let o = run(
                &scores,
                users,
                items,
                (&fi, &fv),
                (&ti, &tv),
                &[20, 50, 100],
            )
            .unwrap();
            let (dt, dc) = (t0.elapsed().as_secs_f64(), cpu() - c0);
            println!(
                "{:.0} users/s wall, {:.0} users per CPU-second (hits {})",
                users as f64 / dt,
                users as f64 / dc,
                o.hits.iter().sum::<u32>()
            );
        }
    }
}
