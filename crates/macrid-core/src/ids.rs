//! Interning of raw user/item ids into dense `u32` indices (first appearance order).
//!
//! Two kinds of keys: integers (MovieLens, Netflix: the text must be a decimal number) and byte strings
//! (generic CSV). A byte-string table remembers whether every key was a canonical decimal integer (no
//! sign, no leading zero) so that ids like `17` sort numerically, as pandas would sort an integer column;
//! otherwise keys sort as bytes, as pandas sorts an object column of strings.
//!
//! The hash table is open addressing with linear probing over `u32` slots (0 = empty, else id + 1),
//! kept at most half full. A one-entry cache of the last key makes files grouped by user cheap.

use crate::error::{Error, Result};

/// Largest number of distinct ids a table accepts (indices are `u32`; `u32::MAX` marks "none").
pub const MAX_IDS: usize = (u32::MAX - 1) as usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Int,
    Bytes,
}

#[derive(Debug, Clone)]
pub struct IdTable {
    kind: IdKind,
    ints: Vec<u64>,
    arena: Vec<u8>,
    offsets: Vec<u32>,
    slots: Vec<u32>,
    mask: usize,
    all_canonical: bool,
    last: Option<(u64, u32)>,
}

#[inline]
fn hash_u64(v: u64) -> u64 {
    let x = v.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^ (x >> 29)
}

#[inline]
fn hash_bytes(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ (b.len() as u64);
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w))
            .wrapping_mul(0x1000_0000_01b3)
            .rotate_left(23);
    }
    for &x in chunks.remainder() {
        h = (h ^ x as u64).wrapping_mul(0x1000_0000_01b3);
    }
    hash_u64(h)
}

/// Is `b` a canonical decimal integer that fits `u64` (digits only, no leading zero unless "0")?
pub fn canonical_int(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 20 || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    let mut v: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(v)
}

impl IdTable {
    pub fn new(kind: IdKind) -> IdTable {
        IdTable {
            kind,
            ints: Vec::new(),
            arena: Vec::new(),
            offsets: vec![0],
            slots: vec![0; 1024],
            mask: 1023,
            all_canonical: true,
            last: None,
        }
    }

    pub fn kind(&self) -> IdKind {
        self.kind
    }

    pub fn len(&self) -> usize {
        match self.kind {
            IdKind::Int => self.ints.len(),
            IdKind::Bytes => self.offsets.len() - 1,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn bytes_of(&self, id: usize) -> &[u8] {
        &self.arena[self.offsets[id] as usize..self.offsets[id + 1] as usize]
    }

    fn grow(&mut self) {
        let cap = self.slots.len() * 2;
        let mut slots = vec![0u32; cap];
        let mask = cap - 1;
        for id in 0..self.len() {
            let h = match self.kind {
                IdKind::Int => hash_u64(self.ints[id]),
                IdKind::Bytes => hash_bytes(self.bytes_of(id)),
            };
            let mut i = (h as usize) & mask;
            while slots[i] != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = id as u32 + 1;
        }
        self.slots = slots;
        self.mask = mask;
    }

    fn check_room(&mut self) -> Result<()> {
        if self.len() >= MAX_IDS {
            return Err(Error::invalid(format!(
                "more than {} distinct ids",
                MAX_IDS
            )));
        }
        if (self.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        Ok(())
    }

    /// The index of integer key `v`, adding it when new. The table must be of kind [`IdKind::Int`].
    #[inline]
    pub fn intern_int(&mut self, v: u64) -> Result<u32> {
        if let Some((k, id)) = self.last {
            if k == v {
                return Ok(id);
            }
        }
        let mut i = (hash_u64(v) as usize) & self.mask;
        loop {
            let s = self.slots[i];
            if s == 0 {
                break;
            }
            if self.ints[(s - 1) as usize] == v {
                self.last = Some((v, s - 1));
                return Ok(s - 1);
            }
            i = (i + 1) & self.mask;
        }
        let grew = (self.len() + 1) * 2 > self.slots.len();
        self.check_room()?;
        let id = self.ints.len() as u32;
        self.ints.push(v);
        if grew {
            // The table was rebuilt: find the free slot again.
            i = (hash_u64(v) as usize) & self.mask;
            while self.slots[i] != 0 {
                i = (i + 1) & self.mask;
            }
        }
        self.slots[i] = id + 1;
        self.last = Some((v, id));
        Ok(id)
    }

    /// The index of byte-string key `b`, adding it when new. The table must be of kind [`IdKind::Bytes`].
    pub fn intern_bytes(&mut self, b: &[u8]) -> Result<u32> {
        let h = hash_bytes(b);
        let mut i = (h as usize) & self.mask;
        loop {
            let s = self.slots[i];
            if s == 0 {
                break;
            }
            if self.bytes_of((s - 1) as usize) == b {
                return Ok(s - 1);
            }
            i = (i + 1) & self.mask;
        }
        if self.arena.len() + b.len() > u32::MAX as usize {
            return Err(Error::invalid("the ids take more than 4 GiB of text"));
        }
        let grew = (self.len() + 1) * 2 > self.slots.len();
        self.check_room()?;
        let id = self.len() as u32;
        self.arena.extend_from_slice(b);
        self.offsets.push(self.arena.len() as u32);
        if self.all_canonical && canonical_int(b).is_none() {
            self.all_canonical = false;
        }
        if grew {
            i = (h as usize) & self.mask;
            while self.slots[i] != 0 {
                i = (i + 1) & self.mask;
            }
        }
        self.slots[i] = id + 1;
        Ok(id)
    }

    /// Appends the text of id `id` to `out` (decimal for integer keys).
    pub fn write_key(&self, id: usize, out: &mut Vec<u8>) {
        match self.kind {
            IdKind::Int => write_u64(out, self.ints[id]),
            IdKind::Bytes => out.extend_from_slice(self.bytes_of(id)),
        }
    }

    /// Whether keys sort as numbers (integer table, or byte strings that are all canonical integers).
    pub fn numeric(&self) -> bool {
        self.kind == IdKind::Int || self.all_canonical
    }

    /// All ids ordered by key: numerically when [`IdTable::numeric`], else by bytes.
    pub fn sorted(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = (0..self.len() as u32).collect();
        match self.kind {
            IdKind::Int => ids.sort_unstable_by_key(|&i| self.ints[i as usize]),
            IdKind::Bytes => {
                if self.all_canonical {
                    let vals: Vec<u64> = (0..self.len())
                        .map(|i| canonical_int(self.bytes_of(i)).unwrap_or(0))
                        .collect();
                    ids.sort_unstable_by_key(|&i| vals[i as usize]);
                } else {
                    ids.sort_unstable_by(|&a, &b| {
                        self.bytes_of(a as usize).cmp(self.bytes_of(b as usize))
                    });
                }
            }
        }
        ids
    }
}

/// Appends the decimal text of `v`.
#[inline]
pub fn write_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_in_first_appearance_order_and_grows() {
        let mut t = IdTable::new(IdKind::Int);
        let keys: Vec<u64> = (0..5000u64).map(|i| (i * 7919) % 10007).collect();
        for &k in &keys {
            t.intern_int(k).unwrap();
        }
        for (i, &k) in keys.iter().enumerate() {
            assert_eq!(t.intern_int(k).unwrap(), i as u32);
        }
        assert_eq!(t.len(), 5000);
        let s = t.sorted();
        for w in s.windows(2) {
            assert!(keys[w[0] as usize] < keys[w[1] as usize]);
        }
    }

    #[test]
    fn byte_keys_sort_numerically_only_when_all_canonical() {
        let mut t = IdTable::new(IdKind::Bytes);
        for k in [&b"10"[..], b"9", b"100"] {
            t.intern_bytes(k).unwrap();
        }
        assert!(t.numeric());
        assert_eq!(t.sorted(), vec![1, 0, 2]);
        t.intern_bytes(b"a").unwrap();
        assert!(!t.numeric());
        assert_eq!(t.sorted(), vec![0, 2, 1, 3]);
        assert_eq!(t.intern_bytes(b"100").unwrap(), 2);
        for i in 0..3000 {
            t.intern_bytes(format!("user{}", i).as_bytes()).unwrap();
        }
        assert_eq!(t.intern_bytes(b"user1234").unwrap(), 4 + 1234);
        let mut out = Vec::new();
        t.write_key(4 + 1234, &mut out);
        assert_eq!(out, b"user1234");
    }

    #[test]
    fn canonical_ints() {
        assert_eq!(canonical_int(b"0"), Some(0));
        assert_eq!(canonical_int(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(canonical_int(b"18446744073709551616"), None);
        assert_eq!(canonical_int(b"007"), None);
        assert_eq!(canonical_int(b"-1"), None);
        assert_eq!(canonical_int(b""), None);
    }
}
