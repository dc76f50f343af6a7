//! A small multiplicative hasher (the rustc "Fx" scheme) for the static
//! code-table indexes.
//!
//! Why: every coded field looks its code up in a table, and SipHash (the
//! std default, built to resist flooding by chosen keys) showed up in
//! profiles. These tables are fixed at start-up from data files shipped
//! with the binary; input only *looks up* keys, it never inserts, so
//! flooding cannot apply and a fast hash is safe here.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` with [`FxHasher`].
pub type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Hashes a word at a time with a rotate, xor and multiply.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_finds_what_it_holds() {
        let mut m: FxHashMap<String, usize> = FxHashMap::default();
        for i in 0..1000 {
            m.insert(format!("code-{i}"), i);
        }
        for i in 0..1000 {
            assert_eq!(m.get(format!("code-{i}").as_str()), Some(&i));
        }
        assert_eq!(m.get("code-1000"), None);
        // strings that differ only past a word boundary or in length
        m.insert("abcdefgh".into(), 1);
        m.insert("abcdefgh\0".into(), 2);
        assert_eq!(m.get("abcdefgh"), Some(&1));
        assert_eq!(m.get("abcdefgh\0"), Some(&2));
    }
}
