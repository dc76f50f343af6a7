//! The sticky canary hash.
//!
//! # Version 1 (the only one so far)
//! `bucket_v1(route_id, key) = murmur3_x86_32(route_id ++ 0x00 ++ key, seed = 0) % 10_000`.
//! A request goes to the canary iff `bucket < weight_bp` (weight in basis
//! points, 0..=10_000). Because the arm is a threshold on a fixed bucket,
//! raising a weight only moves keys from stable to canary and lowering it only
//! moves them back (monotonic), and the same key always lands in the same
//! bucket across restarts and machines (sticky). The route id is part of the
//! key so two routes split the same tenants independently.
//!
//! The function is versioned: if it ever changes, add `bucket_v2` and make
//! the config choose; never change `v1`, or every sticky assignment moves.
//! The MLLP feeds (issue 9) use the same function with the patient id as key.

/// Number of buckets; weights have a resolution of 1/BUCKETS (0.01 %).
pub const BUCKETS: u32 = 10_000;

/// MurmurHash3 x86 32-bit of the concatenation of `parts`, without copying
/// them into one buffer (the hot path must not allocate).
pub fn murmur3_x86_32(parts: &[&[u8]], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let mut carry = [0u8; 4];
    let mut carried = 0usize;
    let mut total: usize = 0;
    let mix = |h: u32, block: [u8; 4]| -> u32 {
        let mut k = u32::from_le_bytes(block);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        (h ^ k)
            .rotate_left(13)
            .wrapping_mul(5)
            .wrapping_add(0xe654_6b64)
    };
    for part in parts {
        total = total.wrapping_add(part.len());
        let mut rest: &[u8] = part;
        if carried > 0 {
            let take = (4 - carried).min(rest.len());
            carry[carried..carried + take].copy_from_slice(&rest[..take]);
            carried += take;
            rest = &rest[take..];
            if carried < 4 {
                continue;
            }
            h = mix(h, carry);
        }
        let mut chunks = rest.chunks_exact(4);
        for block in &mut chunks {
            h = mix(h, [block[0], block[1], block[2], block[3]]);
        }
        let tail = chunks.remainder();
        carry[..tail.len()].copy_from_slice(tail);
        carried = tail.len();
    }
    if carried > 0 {
        let mut k: u32 = 0;
        for (i, b) in carry[..carried].iter().enumerate() {
            k |= u32::from(*b) << (8 * i);
        }
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
    }
    h ^= total as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

/// The bucket (0..BUCKETS) of a sticky key on a route; see the module docs.
pub fn bucket_v1(route_id: &str, key: &[u8]) -> u16 {
    (murmur3_x86_32(&[route_id.as_bytes(), b"\0", key], 0) % BUCKETS) as u16
}

/// A canary weight in basis points (0..=10_000 = 0..=100 %).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct WeightBp(u16);

// === impl WeightBp ===

impl WeightBp {
    /// No canary traffic.
    pub const ZERO: WeightBp = WeightBp(0);
    /// All traffic to the canary.
    pub const FULL: WeightBp = WeightBp(BUCKETS as u16);

    /// A weight from basis points, clamped to 10_000.
    pub fn from_bp(bp: u32) -> WeightBp {
        WeightBp(bp.min(BUCKETS) as u16)
    }

    /// A weight from a percentage (two decimals), clamped to 0..=100.
    pub fn from_percent(p: f64) -> WeightBp {
        if p.is_nan() || p <= 0.0 {
            return WeightBp::ZERO;
        }
        WeightBp::from_bp((p * 100.0).round().min(f64::from(BUCKETS)) as u32)
    }

    /// Basis points.
    pub fn bp(self) -> u16 {
        self.0
    }

    /// Whether a bucket falls into the canary share.
    pub fn is_canary(self, bucket: u16) -> bool {
        bucket < self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Published MurmurHash3_x86_32 test vectors (SMHasher / reference
    /// implementations); if these fail, every sticky assignment moved.
    #[test]
    fn murmur3_reference_vectors() {
        let v = |s: &[u8], seed| murmur3_x86_32(&[s], seed);
        assert_eq!(v(b"", 0), 0);
        assert_eq!(v(b"", 1), 0x514E_28B7);
        assert_eq!(v(b"", 0xffff_ffff), 0x81F1_6F39);
        assert_eq!(v(&[0, 0, 0, 0], 0), 0x2362_F9DE);
        assert_eq!(v(b"aaaa", 0x9747_b28c), 0x5A97_808A);
        assert_eq!(v(b"abc", 0), 0xB3DD_93FA);
        assert_eq!(v(b"Hello, world!", 1234), 0xFAF6_CDB3);
        assert_eq!(
            v(b"The quick brown fox jumps over the lazy dog", 0),
            0x2E4F_F723
        );
    }

    /// Our own vectors for `bucket_v1`: fixed forever (see module docs).
    #[test]
    fn bucket_v1_vectors() {
        let got: Vec<u16> = [
            ("fhir", "acme"),
            ("fhir", "globex"),
            ("fhir", "initech"),
            ("labs", "acme"),
            ("", ""),
        ]
        .iter()
        .map(|(r, k)| bucket_v1(r, k.as_bytes()))
        .collect();
        let expected: Vec<u16> = [
            ("fhir\0acme", 0),
            ("fhir\0globex", 0),
            ("fhir\0initech", 0),
            ("labs\0acme", 0),
            ("\0", 0),
        ]
        .iter()
        .map(|(s, seed)| (murmur3_x86_32(&[s.as_bytes()], *seed) % BUCKETS) as u16)
        .collect();
        assert_eq!(got, expected);
        assert_eq!(got, BUCKET_V1_VECTORS);
    }

    const BUCKET_V1_VECTORS: [u16; 5] = [7535, 4873, 1364, 5214, 6727];

    proptest! {
        /// Splitting the input anywhere gives the same hash as one slice.
        #[test]
        fn parts_equal_whole(data in proptest::collection::vec(any::<u8>(), 0..64), cut1 in 0usize..64, cut2 in 0usize..64, seed in any::<u32>()) {
            let a = cut1.min(data.len());
            let b = cut2.min(data.len()).max(a);
            let whole = murmur3_x86_32(&[&data], seed);
            let parts = murmur3_x86_32(&[&data[..a], &data[a..b], &data[b..]], seed);
            prop_assert_eq!(whole, parts);
        }

        /// Raising a weight never moves a key from canary to stable, and
        /// lowering it never moves one from stable to canary.
        #[test]
        fn monotonic(key in "[a-z0-9]{1,24}", w1 in 0u32..=10_000, w2 in 0u32..=10_000) {
            let (lo, hi) = (WeightBp::from_bp(w1.min(w2)), WeightBp::from_bp(w1.max(w2)));
            let b = bucket_v1("route", key.as_bytes());
            if lo.is_canary(b) {
                prop_assert!(hi.is_canary(b));
            }
            if !hi.is_canary(b) {
                prop_assert!(!lo.is_canary(b));
            }
        }
    }

    #[test]
    fn weights_0_and_100_are_absolute() {
        for i in 0..1000 {
            let b = bucket_v1("r", format!("k{i}").as_bytes());
            assert!(!WeightBp::ZERO.is_canary(b));
            assert!(WeightBp::FULL.is_canary(b));
        }
        assert_eq!(WeightBp::from_percent(12.34).bp(), 1234);
        assert_eq!(WeightBp::from_percent(250.0).bp(), 10_000);
        assert_eq!(WeightBp::from_percent(-1.0).bp(), 0);
    }

    /// Keys that differ only in a counter's last digits (the gateway's own
    /// request ids: a per-process nonce then a hex counter, what a route
    /// sticky on `request-id` hashes) still split by the weight: 10,000
    /// consecutive ids land within 4 standard deviations of 10 % and 50 %.
    #[test]
    fn consecutive_request_ids_split_by_the_weight() {
        for (bp, pct) in [(1000u32, 0.10f64), (5000, 0.50)] {
            let w = WeightBp::from_bp(bp);
            let n = 10_000u32;
            let canary = (0..n)
                .filter(|i| {
                    let id = format!("617e2db5{i:012x}");
                    w.is_canary(bucket_v1("observations", id.as_bytes()))
                })
                .count() as f64;
            let mean = f64::from(n) * pct;
            let sd = (f64::from(n) * pct * (1.0 - pct)).sqrt();
            assert!((canary - mean).abs() < 4.0 * sd, "{bp} bp: {canary} of {n}");
        }
    }
}
