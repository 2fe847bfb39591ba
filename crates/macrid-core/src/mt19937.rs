//! numpy's legacy `RandomState`, the subset the MultVAE reference preprocessing uses.
//!
//! The reference split (`../shared/reference/torch/data.py`) draws from `np.random.RandomState(98765)`:
//! one `permutation(n_users)`, then per held-out user `choice(n, int(0.2·n), replace=False)`. To give the
//! same users and the same targets we reproduce, bit for bit:
//! - seeding with an integer: MT19937 `init_genrand(seed)` (numpy's `_legacy_seeding` for an int seed);
//! - `next_uint32`: the standard MT19937 tempered output (`genrand_int32`);
//! - `random_interval(max)`: the smallest all-ones mask ≥ `max`, then 32-bit draws `& mask` rejected while
//!   `> max` (numpy's `random_interval` / randomkit's `rk_interval`, the 32-bit branch; `max` here is
//!   always < 2^32);
//! - `permutation(n)`: `arange(n)` shuffled by `for i in reversed(range(1, n)): j = random_interval(i);
//!   swap(i, j)` (`_shuffle_raw`);
//! - `choice(n, size, replace=False)` without `p`: `permutation(n)[:size]`.

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// MT19937 with numpy's legacy integer seeding.
#[derive(Clone)]
pub struct Mt19937 {
    mt: [u32; N],
    mti: usize,
}

impl Mt19937 {
    /// `init_genrand(seed)`, as `np.random.RandomState(seed)` for an integer `seed` in `[0, 2^32)`.
    pub fn new(seed: u32) -> Mt19937 {
        let mut mt = [0u32; N];
        mt[0] = seed;
        for i in 1..N {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        Mt19937 { mt, mti: N }
    }

    fn generate(&mut self) {
        let mag = |y: u32| if y & 1 == 0 { 0 } else { MATRIX_A };
        for kk in 0..N - M {
            let y = (self.mt[kk] & UPPER_MASK) | (self.mt[kk + 1] & LOWER_MASK);
            self.mt[kk] = self.mt[kk + M] ^ (y >> 1) ^ mag(y);
        }
        for kk in N - M..N - 1 {
            let y = (self.mt[kk] & UPPER_MASK) | (self.mt[kk + 1] & LOWER_MASK);
            self.mt[kk] = self.mt[kk + M - N] ^ (y >> 1) ^ mag(y);
        }
        let y = (self.mt[N - 1] & UPPER_MASK) | (self.mt[0] & LOWER_MASK);
        self.mt[N - 1] = self.mt[M - 1] ^ (y >> 1) ^ mag(y);
        self.mti = 0;
    }

    /// The next tempered 32-bit output (`genrand_int32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.mti >= N {
            self.generate();
        }
        let mut y = self.mt[self.mti];
        self.mti += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// Uniform integer in `[0, max]` by masked rejection on 32-bit draws (numpy's `random_interval`).
    pub fn interval(&mut self, max: u32) -> u32 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        loop {
            let v = self.next_u32() & mask;
            if v <= max {
                return v;
            }
        }
    }

    /// Shuffles `v` in place exactly as numpy's legacy `shuffle` of a 1-d array.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.interval(i as u32) as usize;
            v.swap(i, j);
        }
    }

    /// `RandomState.permutation(n)`: `0..n` shuffled.
    pub fn permutation(&mut self, n: u32) -> Vec<u32> {
        let mut v: Vec<u32> = (0..n).collect();
        self.shuffle(&mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_numpy_legacy_state_and_permutation() {
        // np.random.RandomState(98765).get_state()[1][:3] == [98765, 3618237154, 1558385607]
        let r = Mt19937::new(98765);
        assert_eq!(&r.mt[..3], &[98765, 3618237154, 1558385607]);
        // np.random.RandomState(98765).permutation(10)
        let mut r = Mt19937::new(98765);
        assert_eq!(r.permutation(10), vec![8, 7, 1, 2, 0, 6, 9, 4, 3, 5]);
    }

    #[test]
    fn successive_permutations_and_choices_match_numpy() {
        // r = np.random.RandomState(98765); [r.permutation(n)[:12] for n in (1, 2, 5, 37, 1000)]
        let mut r = Mt19937::new(98765);
        let want: [&[u32]; 5] = [
            &[0],
            &[0, 1],
            &[4, 2, 1, 0, 3],
            &[19, 5, 21, 36, 17, 26, 14, 6, 24, 33, 34, 1],
            &[257, 625, 400, 645, 85, 452, 977, 187, 389, 318, 49, 954],
        ];
        for (n, w) in [1u32, 2, 5, 37, 1000].iter().zip(want.iter()) {
            let p = r.permutation(*n);
            assert_eq!(&p[..w.len()], *w, "n = {}", n);
        }
        // r = np.random.RandomState(98765); [r.choice(n, int(0.2 * n), replace=False) for n in (5, 7, 13, 26)]
        let mut r = Mt19937::new(98765);
        let want: [&[u32]; 4] = [&[4], &[5], &[11, 4], &[0, 19, 9, 11, 18]];
        for (n, w) in [5u32, 7, 13, 26].iter().zip(want.iter()) {
            let size = (0.2 * *n as f64) as usize;
            assert_eq!(&r.permutation(*n)[..size], *w, "n = {}", n);
        }
    }

    #[test]
    fn reference_mt19937_output() {
        // The first outputs of init_genrand(5489), the reference implementation's default seed
        // (mt19937ar.c test vectors: 3499211612, 581869302, 3890346734, 3586334585).
        let mut r = Mt19937::new(5489);
        let got: Vec<u32> = (0..4).map(|_| r.next_u32()).collect();
        assert_eq!(got, vec![3499211612, 581869302, 3890346734, 3586334585]);
    }

    #[test]
    fn interval_stays_in_range() {
        let mut r = Mt19937::new(1);
        for max in [0u32, 1, 2, 3, 7, 8, 1000, u32::MAX] {
            for _ in 0..200 {
                assert!(r.interval(max) <= max);
            }
        }
    }
}
