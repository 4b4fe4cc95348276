//! A small deterministic PRNG (`SplitMix64`) and the draws the generator needs.
//!
//! In: a `u64` seed. Out: a stream of numbers that depends on nothing else (no clock, no
//! platform), so a seed reproduces a sample byte for byte. We keep our own instead of the `rand`
//! crate so that the stream can never change under us with a dependency upgrade.

/// `SplitMix64` (Steele, Lea, Flood 2014): one 64-bit state, passes `BigCrush`, trivially seedable.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// An independent stream for one part of the sample (a sheet), so that changing how one sheet
    /// draws never shifts the values of another.
    pub fn stream(seed: u64, tag: &str) -> Self {
        // FNV-1a over the tag, then one SplitMix step to spread it: cheap and stable.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in tag.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        let mut mix = Rng::new(seed ^ h);
        Rng::new(mix.next_u64())
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform float in `[0, 1)` from the top 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform integer in `[0, n)`; `0` when `n == 0`. Lemire's multiply-shift: the bias is
    /// below 2^-40 for every `n` we use, far below anything a sample could show.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniform integer in `[lo, hi]` (inclusive); `lo` when `hi <= lo`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo) as u64 + 1) as i64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A uniformly chosen element, by reference; `items` must not be empty.
    pub fn pick_ref<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A uniformly chosen element; `items` must not be empty.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        *self.pick_ref(items)
    }

    /// An index drawn with the given relative weights; `0` when all weights are zero.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut x = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if x < u64::from(w) {
                return i;
            }
            x -= u64::from(w);
        }
        0
    }

    /// An element of `(item, weight)` pairs drawn by weight; `items` must not be empty.
    pub fn pick_weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u64 = items.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut x = self.below(total);
        for (item, w) in items {
            if x < u64::from(*w) {
                return *item;
            }
            x -= u64::from(*w);
        }
        items[0].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_splitmix64_reference_output() {
        // First outputs of the reference implementation (Vigna's splitmix64.c) for seed 0.
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn same_seed_same_stream_and_tags_differ() {
        let a: Vec<u64> = (0..8)
            .map({
                let mut r = Rng::stream(7, "ib");
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..8)
            .map({
                let mut r = Rng::stream(7, "ib");
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..8)
            .map({
                let mut r = Rng::stream(7, "opp");
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn unit_is_uniform_enough() {
        let mut r = Rng::new(42);
        let n = 100_000;
        let mut buckets = [0u32; 10];
        let mut sum = 0.0;
        for _ in 0..n {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            sum += u;
            buckets[(u * 10.0) as usize] += 1;
        }
        let mean = sum / f64::from(n);
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
        // Chi-square with 9 degrees of freedom: 27.9 is the 0.1% critical value.
        let expected = f64::from(n) / 10.0;
        let chi2: f64 = buckets
            .iter()
            .map(|&b| (f64::from(b) - expected).powi(2) / expected)
            .sum();
        assert!(chi2 < 27.9, "chi2 {chi2} buckets {buckets:?}");
    }

    #[test]
    fn bounded_draws_stay_in_range_and_hit_every_value() {
        let mut r = Rng::new(1);
        let mut seen = [false; 7];
        for _ in 0..1000 {
            let v = r.range(3, 9);
            assert!((3..=9).contains(&v));
            seen[(v - 3) as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(r.range(5, 5), 5);
        assert_eq!(r.below(0), 0);
    }

    #[test]
    fn weighted_follows_weights() {
        let mut r = Rng::new(9);
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            counts[r.weighted(&[1, 0, 2])] += 1;
        }
        assert_eq!(counts[1], 0);
        let ratio = f64::from(counts[2]) / f64::from(counts[0]);
        assert!((ratio - 2.0).abs() < 0.15, "ratio {ratio}");
    }
}
