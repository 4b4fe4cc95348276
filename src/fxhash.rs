//! FxHash, the multiply-rotate hash rustc uses for its own tables, with a final mix so the high
//! bits are usable too. For hot in-memory maps whose keys are not chosen by an attacker in any
//! way that matters (a slow lookup is the worst case): account names, rule-cache keys, lead
//! ids. SipHash, the standard library's default, showed up in every one of those profiles.
//! Nothing hashed with it is stored: fingerprints that reach the database use SipHash.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// The hasher; build maps with [`Fx`].
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        let h = (self.0 ^ (self.0 >> 32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h ^ (h >> 29)
    }
}

impl FxHasher {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x517C_C1B7_2722_0A95);
    }
}

/// Builds [`FxHasher`]s.
pub type Fx = BuildHasherDefault<FxHasher>;
/// A `HashMap` hashed with [`FxHasher`].
pub type FastMap<K, V> = HashMap<K, V, Fx>;
/// A `HashSet` hashed with [`FxHasher`].
pub type FastSet<K> = HashSet<K, Fx>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn equal_keys_hash_equal_and_near_keys_spread() {
        let h = |s: &str| Fx::default().hash_one(s);
        assert_eq!(h("ACME Corp"), h("ACME Corp"));
        // Keys differing in one byte, and by length, land apart, high bits included.
        assert_ne!(h("ACME Corp"), h("ACME Corq"));
        assert_ne!(h("A"), h("AB"));
        let tops: FastSet<u64> = (0..64).map(|i| h(&format!("lead{i}")) >> 58).collect();
        assert!(tops.len() > 16, "{}", tops.len());
    }
}
