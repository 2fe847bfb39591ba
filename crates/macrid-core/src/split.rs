//! The MultVAE "strong generalization" protocol (Liang et al. 2018, reused by MacridVAE): from the kept
//! rows of a ratings file (see `parse`) to a training matrix and held-out validation and test users.
//!
//! Steps, in this order (the reference is `../shared/reference/torch/data.py`, `split`):
//! 1. **Duplicates**: a (user, item) pair that occurs more than once among the kept rows counts once, at
//!    its first occurrence in file order; the others are counted as `duplicates` and dropped. (The
//!    numpy reference would keep them; MovieLens and Netflix files have none.)
//! 2. Items with fewer than `min_item_users` positives are dropped (default 0: no item filter).
//! 3. Users with fewer than `min_user_items` positives are dropped (default 5).
//! 4. The remaining users, sorted by raw id (numerically for integer ids), are shuffled; the last
//!    `2·heldout` become validation (`heldout`) then test (`heldout`) users, the rest training users.
//! 5. Item columns are the items of training users, numbered by first appearance in the training rows in
//!    file order. Held-out interactions with other items are dropped.
//! 6. Per held-out user (in raw id order, rows in file order) with at least [`MIN_HELDOUT_ITEMS`] items,
//!    `int(test_prop·n)` of them (by `choice(n, size, replace=False)`) are the target, the rest the fold-in;
//!    users with fewer items are fold-in only (no target: not scored). The generator is re-seeded before
//!    the validation split and again before the test split.
//!
//! Modes: [`SplitMode::Reference`] draws from numpy's legacy `RandomState(seed)` (see `mt19937`) exactly as
//! the reference does, giving the same users, items and targets; [`SplitMode::Seeded`] uses xoshiro256**
//! (a shuffle of users, and a partial Fisher–Yates per held-out user from one stream per split).
//!
//! Output numbering follows the reference's `pro_sg` files: dataset user `k` is the `k`-th user of the
//! shuffled order (training users first), items are the columns. Every matrix is CSR with column indices
//! sorted ascending within a row, plus `order`: the CSR position of each entry in file order (training
//! rows: the file's order; held-out rows: users in raw id order, each user's entries in file order), which
//! is what reproduces the reference's CSV files.

use crate::error::{Error, ErrorKind, Result};
use crate::ids::IdTable;
use crate::mt19937::Mt19937;
use crate::parse::json_str;
use crate::rng::Xoshiro256;

/// Held-out users with fewer remaining items than this have no target (MultVAE's `_holdout`).
pub const MIN_HELDOUT_ITEMS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitMode {
    Reference,
    Seeded,
}

#[derive(Debug, Clone)]
pub struct SplitOptions {
    pub min_user_items: usize,
    pub min_item_users: usize,
    /// Held-out users per split; `None`: `⌊users / 12⌋`.
    pub heldout: Option<usize>,
    pub mode: SplitMode,
    pub seed: u64,
    /// Share of a held-out user's items that becomes the target.
    pub test_prop: f64,
}

impl Default for SplitOptions {
    fn default() -> SplitOptions {
        SplitOptions {
            min_user_items: 5,
            min_item_users: 0,
            heldout: None,
            mode: SplitMode::Reference,
            seed: 98765,
            test_prop: 0.2,
        }
    }
}

fn num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T> {
    v.parse::<T>()
        .map_err(|_| Error::invalid(format!("option '{}' has a bad value '{}'", key, v)))
}

impl SplitOptions {
    /// Options from `key=value` lines: `min_user_items`, `min_item_users`, `heldout` (a count or `auto`),
    /// `mode` (reference|seeded), `seed`, `test_prop`.
    pub fn from_text(text: &str) -> Result<SplitOptions> {
        let mut o = SplitOptions::default();
        for line in text.lines().filter(|l| !l.is_empty()) {
            let (k, v) = line.split_once('=').ok_or_else(|| {
                Error::invalid(format!("option line '{}' is not key=value", line))
            })?;
            match k {
                "min_user_items" => o.min_user_items = num(k, v)?,
                "min_item_users" => o.min_item_users = num(k, v)?,
                "heldout" => o.heldout = if v == "auto" { None } else { Some(num(k, v)?) },
                "seed" => o.seed = num(k, v)?,
                "test_prop" => {
                    let p: f64 = num(k, v)?;
                    if !(p > 0.0 && p < 1.0) {
                        return Err(Error::invalid(format!(
                            "option 'test_prop' must be in (0, 1) but got {}",
                            v
                        )));
                    }
                    o.test_prop = p;
                }
                "mode" => {
                    o.mode = match v {
                        "reference" => SplitMode::Reference,
                        "seeded" => SplitMode::Seeded,
                        _ => {
                            return Err(Error::invalid(format!(
                                "option 'mode' must be reference or seeded but got '{}'",
                                v
                            )))
                        }
                    }
                }
                _ => return Err(Error::invalid(format!("unknown option '{}'", k))),
            }
        }
        if o.mode == SplitMode::Reference && o.seed > u32::MAX as u64 {
            return Err(Error::invalid(format!(
                "the reference split takes a seed in [0, 2^32) (numpy RandomState) but got {}",
                o.seed
            )));
        }
        Ok(o)
    }
}

/// One CSR matrix of the result. See the module doc for `order`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsrParts {
    pub indptr: Vec<u32>,
    pub indices: Vec<u32>,
    /// `order[t]` = position in `indices` of the `t`-th entry in file order.
    pub order: Vec<u32>,
    /// Dataset user index of each row.
    pub rows: Vec<u32>,
}

impl CsrParts {
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }
    pub fn n_rows(&self) -> usize {
        self.rows.len()
    }
}

#[derive(Debug, Clone, Default)]
pub struct SplitStats {
    /// Kept rows handed in (after the rating filter).
    pub input_rows: u64,
    pub duplicates: u64,
    pub dropped_by_item_filter: u64,
    pub dropped_by_user_filter: u64,
    /// Interactions left after the filters (the reference's `len(raw)`).
    pub positives: u64,
    pub users: u64,
    pub items: u64,
    /// Interactions in the output matrices (the paper's Table 2 count).
    pub interactions: u64,
    pub train_users: u64,
    pub validation_users: u64,
    pub test_users: u64,
    pub validation_scored: u64,
    pub test_scored: u64,
    /// Held-out interactions dropped because their item has no training user.
    pub heldout_dropped: u64,
    pub heldout: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// Raw user ids in dataset user order, one per line.
    pub user_ids: Vec<u8>,
    /// Raw item ids in column order, one per line.
    pub item_ids: Vec<u8>,
    pub train: CsrParts,
    pub validation_fold_in: CsrParts,
    pub validation_target: CsrParts,
    pub test_fold_in: CsrParts,
    pub test_target: CsrParts,
    pub stats: SplitStats,
}

impl Prepared {
    pub fn stats_json(&self) -> String {
        let s = &self.stats;
        let mut o = String::from("{");
        let fields: [(&str, u64); 15] = [
            ("inputRows", s.input_rows),
            ("duplicates", s.duplicates),
            ("droppedByItemFilter", s.dropped_by_item_filter),
            ("droppedByUserFilter", s.dropped_by_user_filter),
            ("positives", s.positives),
            ("users", s.users),
            ("items", s.items),
            ("interactions", s.interactions),
            ("trainUsers", s.train_users),
            ("validationUsers", s.validation_users),
            ("testUsers", s.test_users),
            ("validationScored", s.validation_scored),
            ("testScored", s.test_scored),
            ("heldoutDropped", s.heldout_dropped),
            ("heldout", s.heldout),
        ];
        for (k, (name, v)) in fields.iter().enumerate() {
            if k > 0 {
                o.push(',');
            }
            json_str(&mut o, name);
            o.push(':');
            o.push_str(&v.to_string());
        }
        o.push('}');
        o
    }
}

/// Stable counting sort: the elements of `seq` grouped by `key(element)` (keys `< n_keys`), keeping the
/// order of `seq` within a key; returns the group offsets (`n_keys + 1`) and the grouped elements.
fn group_by_key(
    n_keys: usize,
    seq: impl Iterator<Item = u32> + Clone,
    key: impl Fn(u32) -> u32,
) -> (Vec<u32>, Vec<u32>) {
    let mut ptr = vec![0u32; n_keys + 1];
    let mut n = 0usize;
    for t in seq.clone() {
        ptr[key(t) as usize + 1] += 1;
        n += 1;
    }
    for k in 0..n_keys {
        ptr[k + 1] += ptr[k];
    }
    let mut next = ptr.clone();
    let mut out = vec![0u32; n];
    for t in seq {
        let k = key(t) as usize;
        out[next[k] as usize] = t;
        next[k] += 1;
    }
    (ptr, out)
}

/// Sorted CSR from entries given in file order (`rows[t]`, `cols[t]`), by two stable counting sorts
/// (columns, then rows); `order[t]` is where entry `t` lands.
fn csr_from_entries(rows: &[u32], cols: &[u32], n_rows: usize, n_cols: usize) -> CsrParts {
    let nnz = rows.len();
    let (_, by_col) = group_by_key(n_cols, 0..nnz as u32, |t| cols[t as usize]);
    let (indptr, by_row) = group_by_key(n_rows, by_col.iter().copied(), |t| rows[t as usize]);
    drop(by_col);
    let mut indices = vec![0u32; nnz];
    let mut order = vec![0u32; nnz];
    for (p, &t) in by_row.iter().enumerate() {
        indices[p] = cols[t as usize];
        order[t as usize] = p as u32;
    }
    CsrParts {
        indptr,
        indices,
        order,
        rows: Vec::new(),
    }
}

/// Builds held-out rows one user at a time (entries in file order), then sorts each row.
struct RowBuilder {
    indptr: Vec<u32>,
    entries: Vec<u32>,
    rows: Vec<u32>,
}

impl RowBuilder {
    fn new() -> RowBuilder {
        RowBuilder {
            indptr: vec![0],
            entries: Vec::new(),
            rows: Vec::new(),
        }
    }
    fn push_row(&mut self, user: u32, cols: impl Iterator<Item = u32>) {
        self.entries.extend(cols);
        self.indptr.push(self.entries.len() as u32);
        self.rows.push(user);
    }
    fn finish(self) -> CsrParts {
        let mut indices = self.entries;
        let mut order = vec![0u32; indices.len()];
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        for r in 0..self.rows.len() {
            let (a, b) = (self.indptr[r] as usize, self.indptr[r + 1] as usize);
            pairs.clear();
            pairs.extend((a..b).map(|t| (indices[t], t as u32)));
            pairs.sort_unstable();
            for (k, &(c, t)) in pairs.iter().enumerate() {
                indices[a + k] = c;
                order[t as usize] = (a + k) as u32;
            }
        }
        CsrParts {
            indptr: self.indptr,
            indices,
            order,
            rows: self.rows,
        }
    }
}

fn internal(msg: String) -> Error {
    Error::new(ErrorKind::Internal, msg)
}

/// Runs the protocol on kept rows `users[t]`, `items[t]` (indices into the two id tables, file order).
pub fn prepare(
    users: &[u32],
    items: &[u32],
    user_table: &IdTable,
    item_table: &IdTable,
    opts: &SplitOptions,
) -> Result<Prepared> {
    let n_rows = users.len();
    if items.len() != n_rows {
        return Err(Error::invalid(format!(
            "'users' has {} rows but 'items' has {}",
            n_rows,
            items.len()
        )));
    }
    if n_rows > u32::MAX as usize {
        return Err(Error::invalid("more than 2^32 - 1 kept rows"));
    }
    let (nu, ni) = (user_table.len(), item_table.len());
    if let Some(t) = (0..n_rows).find(|&t| users[t] as usize >= nu || items[t] as usize >= ni) {
        return Err(internal(format!(
            "row {} refers to user {} / item {} beyond the id tables",
            t, users[t], items[t]
        )));
    }
    let mut st = SplitStats {
        input_rows: n_rows as u64,
        ..SplitStats::default()
    };

    // Rows grouped by user, in file order within a user.
    let (uptr, by_user) = group_by_key(nu, 0..n_rows as u32, |t| users[t as usize]);

    // 1. duplicates: first occurrence wins.
    let mut alive = vec![true; n_rows];
    {
        let mut stamp = vec![u32::MAX; ni];
        for u in 0..nu {
            for &t in &by_user[uptr[u] as usize..uptr[u + 1] as usize] {
                let i = items[t as usize] as usize;
                if stamp[i] == u as u32 {
                    alive[t as usize] = false;
                    st.duplicates += 1;
                } else {
                    stamp[i] = u as u32;
                }
            }
        }
    }

    // 2. item filter.
    if opts.min_item_users > 0 {
        let mut icount = vec![0u32; ni];
        for t in 0..n_rows {
            if alive[t] {
                icount[items[t] as usize] += 1;
            }
        }
        for t in 0..n_rows {
            if alive[t] && (icount[items[t] as usize] as usize) < opts.min_item_users {
                alive[t] = false;
                st.dropped_by_item_filter += 1;
            }
        }
    }

    // 3. user filter.
    let mut ucount = vec![0u32; nu];
    for t in 0..n_rows {
        if alive[t] {
            ucount[users[t] as usize] += 1;
        }
    }
    let user_ok: Vec<bool> = ucount
        .iter()
        .map(|&c| c as usize >= opts.min_user_items.max(1))
        .collect();
    for t in 0..n_rows {
        if alive[t] && !user_ok[users[t] as usize] {
            alive[t] = false;
            st.dropped_by_user_filter += 1;
        }
    }
    st.positives = alive.iter().filter(|&&a| a).count() as u64;

    // 4. users sorted by raw id, then shuffled.
    let sorted: Vec<u32> = user_table
        .sorted()
        .into_iter()
        .filter(|&u| user_ok[u as usize])
        .collect();
    let n = sorted.len();
    if n == 0 {
        return Err(Error::invalid(format!(
            "no users left after filtering: {} rows kept by the rating filter, {} duplicates, {} dropped by the item filter (min {} users), {} dropped by the user filter (min {} items)",
            n_rows, st.duplicates, st.dropped_by_item_filter, opts.min_item_users, st.dropped_by_user_filter, opts.min_user_items
        )));
    }
    let h = opts.heldout.unwrap_or(n / 12);
    if 2 * h >= n {
        return Err(Error::invalid(format!(
            "{} held-out users per split need more than {} users, but only {} remain after filtering",
            h,
            2 * h,
            n
        )));
    }
    let shuffled: Vec<u32> = match opts.mode {
        SplitMode::Reference => {
            if opts.seed > u32::MAX as u64 || n > u32::MAX as usize {
                return Err(Error::invalid(
                    "the reference split takes a seed in [0, 2^32)",
                ));
            }
            let perm = Mt19937::new(opts.seed as u32).permutation(n as u32);
            perm.iter().map(|&k| sorted[k as usize]).collect()
        }
        SplitMode::Seeded => {
            let mut v = sorted.clone();
            Xoshiro256::with_stream(opts.seed, 0).shuffle(&mut v);
            v
        }
    };
    let n_train = n - 2 * h;
    let mut dsu = vec![u32::MAX; nu];
    for (k, &u) in shuffled.iter().enumerate() {
        dsu[u as usize] = k as u32;
    }
    st.users = n as u64;
    st.train_users = n_train as u64;
    st.validation_users = h as u64;
    st.test_users = h as u64;
    st.heldout = h as u64;
    let mut user_ids = Vec::new();
    for &u in &shuffled {
        user_table.write_key(u as usize, &mut user_ids);
        user_ids.push(b'\n');
    }

    // 5. item columns: first appearance in the training rows, file order; the training matrix.
    let mut col_of = vec![u32::MAX; ni];
    let mut item_ids = Vec::new();
    let mut n_cols = 0u32;
    let mut tr_rows = Vec::new();
    let mut tr_cols = Vec::new();
    for t in 0..n_rows {
        if !alive[t] {
            continue;
        }
        let k = dsu[users[t] as usize];
        if (k as usize) < n_train {
            let i = items[t] as usize;
            if col_of[i] == u32::MAX {
                col_of[i] = n_cols;
                n_cols += 1;
                item_table.write_key(i, &mut item_ids);
                item_ids.push(b'\n');
            }
            tr_rows.push(k);
            tr_cols.push(col_of[i]);
        }
    }
    if n_cols == 0 {
        return Err(Error::invalid("the training users have no interactions"));
    }
    let mut train = csr_from_entries(&tr_rows, &tr_cols, n_train, n_cols as usize);
    drop(tr_rows);
    drop(tr_cols);
    train.rows = (0..n_train as u32).collect();
    st.items = n_cols as u64;

    // 6. held-out users.
    let mut parts: Vec<(CsrParts, CsrParts, u64)> = Vec::new();
    for split in 0..2usize {
        let lo = (n_train + split * h) as u32;
        let hi = lo + h as u32;
        let mut fold_in = RowBuilder::new();
        let mut target = RowBuilder::new();
        let mut mt = Mt19937::new(opts.seed as u32);
        let mut xo = Xoshiro256::with_stream(opts.seed, 1 + split as u64);
        let mut scored = 0u64;
        let mut plays: Vec<u32> = Vec::new();
        let mut is_target: Vec<bool> = Vec::new();
        for &u in &sorted {
            let k = dsu[u as usize];
            if k < lo || k >= hi {
                continue;
            }
            plays.clear();
            for &t in &by_user[uptr[u as usize] as usize..uptr[u as usize + 1] as usize] {
                if !alive[t as usize] {
                    continue;
                }
                let c = col_of[items[t as usize] as usize];
                if c == u32::MAX {
                    st.heldout_dropped += 1;
                } else {
                    plays.push(c);
                }
            }
            let m = plays.len();
            is_target.clear();
            is_target.resize(m, false);
            if m >= MIN_HELDOUT_ITEMS {
                let size = (opts.test_prop * m as f64) as usize;
                match opts.mode {
                    SplitMode::Reference => {
                        let perm = mt.permutation(m as u32);
                        for &j in &perm[..size] {
                            is_target[j as usize] = true;
                        }
                    }
                    SplitMode::Seeded => {
                        let mut idx: Vec<u32> = (0..m as u32).collect();
                        for j in 0..size {
                            let r = j + xo.below((m - j) as u64) as usize;
                            idx.swap(j, r);
                            is_target[idx[j] as usize] = true;
                        }
                    }
                }
                if size > 0 {
                    scored += 1;
                }
            }
            fold_in.push_row(k, (0..m).filter(|&j| !is_target[j]).map(|j| plays[j]));
            target.push_row(k, (0..m).filter(|&j| is_target[j]).map(|j| plays[j]));
        }
        parts.push((fold_in.finish(), target.finish(), scored));
    }
    let (test_fold_in, test_target, test_scored) = parts.pop().unwrap_or_default();
    let (validation_fold_in, validation_target, validation_scored) =
        parts.pop().unwrap_or_default();
    st.validation_scored = validation_scored;
    st.test_scored = test_scored;
    st.interactions = (train.nnz()
        + validation_fold_in.nnz()
        + validation_target.nnz()
        + test_fold_in.nnz()
        + test_target.nnz()) as u64;
    Ok(Prepared {
        user_ids,
        item_ids,
        train,
        validation_fold_in,
        validation_target,
        test_fold_in,
        test_target,
        stats: st,
    })
}
