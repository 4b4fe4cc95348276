//! Finding an account by name: the normalised Levenshtein similarity, bounded so that most
//! candidates are rejected early, and an index that lists only the names that can match.

use std::collections::HashMap;

/// The [`similarity`] of two names at edit distance `d` whose longer one has `longest` chars,
/// with the same arithmetic as `strsim::normalized_levenshtein` (so the two always agree).
fn similarity_at(d: usize, longest: usize) -> f64 {
    ((1.0 - d as f64 / longest as f64) * 100.0).round()
}

/// The largest edit distance at which two names whose longer one has `longest` chars still
/// reach `threshold`.
fn max_distance(longest: usize, threshold: f64) -> usize {
    let mut d = 0;
    while d < longest && similarity_at(d + 1, longest) >= threshold {
        d += 1;
    }
    d
}

/// Levenshtein distance in chars, or `None` once it is certain to exceed `limit`. Equal to
/// `strsim::levenshtein` whenever that is at most `limit`.
fn bounded_levenshtein(
    a: &[char],
    b: &[char],
    limit: usize,
    row: &mut Vec<usize>,
) -> Option<usize> {
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    row.clear();
    row.extend(0..=b.len());
    for (i, ca) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        let mut best = row[0];
        for (j, cb) in b.iter().enumerate() {
            let up = row[j + 1];
            let v = if ca == cb {
                diag
            } else {
                1 + diag.min(up).min(row[j])
            };
            diag = up;
            row[j + 1] = v;
            best = best.min(v);
        }
        // Every later cell is at least the smallest of this row.
        if best > limit {
            return None;
        }
    }
    Some(row[b.len()]).filter(|d| *d <= limit)
}

/// A `Hasher` for keys that are already well-mixed `u64`s.
#[derive(Default, Clone, Copy)]
struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type SegmentMap = HashMap<u64, Vec<u32>, std::hash::BuildHasherDefault<PassThrough>>;

/// The key of one segment: first char of the name, name length, segment number and its chars.
fn segment_hash(first: char, len: usize, seg: usize, chars: &[char]) -> u64 {
    let mut h = (u64::from(first) << 40) ^ ((len as u64) << 20) ^ seg as u64;
    for c in chars {
        h = (h.rotate_left(21) ^ u64::from(*c)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    // splitmix64's finaliser: the table uses both the low and the high bits.
    h ^= h >> 30;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

/// Start and length of each of the `parts` segments that cut `len` chars as evenly as possible.
fn segments(len: usize, parts: usize) -> impl Iterator<Item = (usize, usize)> {
    let short = len / parts;
    let long_from = parts - len % parts;
    (0..parts).map(move |i| {
        let start = i * short + i.saturating_sub(long_from);
        (start, if i < long_from { short } else { short + 1 })
    })
}

/// Name lookup for name-only sources. A fuzzy match must share the normalised name's first
/// character (blocking, as before) and reach the threshold; among the best, the name added last
/// wins.
///
/// Finding it does not scan the block: at a million rows a block holds thousands of names and
/// the scans made the rebuild quadratic. Each name is cut into `k + 1` segments, `k` being the
/// largest edit distance any name can be from it and still match; `k` edits leave at least one
/// segment untouched, so a match contains one of its segments verbatim, shifted by at most `k`.
/// A lookup lists the names that share such a segment and runs Levenshtein only on those; the
/// answer is the same as a full scan's.
pub(super) struct NameIndex {
    threshold: f64,
    exact: HashMap<String, String>,
    /// Every fuzzy candidate in insertion order: (chars of the key, account).
    names: Vec<(Vec<char>, String)>,
    /// `segment_hash` → indices into `names`.
    segments: SegmentMap,
    /// NameRows too short to cut into enough segments (only with a very low threshold): always
    /// checked, by first character.
    unsegmented: HashMap<char, Vec<u32>>,
    longest: usize,
    /// Per name, the last lookup that listed it (so each is checked once per lookup).
    seen: Vec<u32>,
    lookups: u32,
    row: Vec<usize>,
}

impl NameIndex {
    pub(super) fn new(threshold: f64) -> Self {
        NameIndex {
            threshold,
            exact: HashMap::new(),
            names: Vec::new(),
            segments: SegmentMap::default(),
            unsegmented: HashMap::new(),
            longest: 0,
            seen: Vec::new(),
            lookups: 0,
            row: Vec::new(),
        }
    }

    /// The largest edit distance between a name of `len` chars and any name that can match it.
    fn reach(&self, len: usize) -> usize {
        let mut k = max_distance(len, self.threshold);
        // A longer name may differ by more edits; it needs at least `other - len` of them.
        let mut other = len + 1;
        while k < len && other - len <= max_distance(other, self.threshold) {
            k = k.max(max_distance(other, self.threshold));
            other += 1;
        }
        k
    }

    pub(super) fn add(&mut self, key: &str, account: &str) {
        if key.is_empty() || self.exact.contains_key(key) {
            return;
        }
        self.exact.insert(key.to_string(), account.to_string());
        let chars: Vec<char> = key.chars().collect();
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        let len = chars.len();
        let parts = self.reach(len) + 1;
        if parts > len {
            self.unsegmented.entry(chars[0]).or_default().push(id);
        } else {
            for (seg, (start, n)) in segments(len, parts).enumerate() {
                let h = segment_hash(chars[0], len, seg, &chars[start..start + n]);
                self.segments.entry(h).or_default().push(id);
            }
        }
        self.longest = self.longest.max(len);
        self.names.push((chars, account.to_string()));
        self.seen.push(0);
    }

    /// `(account, method, similarity)` of the best match at or above the threshold.
    pub(super) fn find(&mut self, key: &str) -> Option<(String, &'static str, f64)> {
        if let Some(a) = self.exact.get(key) {
            return Some((a.clone(), "normalised", 100.0));
        }
        let chars: Vec<char> = key.chars().collect();
        let first = *chars.first()?;
        let len = chars.len();
        self.lookups = self.lookups.wrapping_add(1);
        if self.lookups == 0 {
            self.seen.iter_mut().for_each(|s| *s = 0);
            self.lookups = 1;
        }
        let mut candidates: Vec<u32> = Vec::new();
        if let Some(ids) = self.unsegmented.get(&first) {
            candidates.extend(ids);
        }
        let shortest = len - max_distance(len, self.threshold).min(len);
        for other in shortest.max(1)..=self.longest {
            let limit = max_distance(len.max(other), self.threshold);
            if other.abs_diff(len) > limit {
                if other > len {
                    break;
                }
                continue;
            }
            let parts = self.reach(other) + 1;
            if parts > other {
                continue; // those are in `unsegmented`
            }
            for (seg, (start, n)) in segments(other, parts).enumerate() {
                let from = start.saturating_sub(limit);
                let to = (start + limit).min(len.saturating_sub(n));
                for at in from..=to {
                    if at + n > len {
                        break;
                    }
                    let h = segment_hash(first, other, seg, &chars[at..at + n]);
                    if let Some(ids) = self.segments.get(&h) {
                        candidates.extend(ids);
                    }
                }
            }
        }
        let mut best: Option<(f64, u32)> = None;
        for id in candidates {
            let seen = &mut self.seen[id as usize];
            if *seen == self.lookups {
                continue;
            }
            *seen = self.lookups;
            let (name, _) = &self.names[id as usize];
            if name.first() != Some(&first) {
                continue; // a hash collision from another block
            }
            let longest = len.max(name.len());
            let limit = max_distance(longest, self.threshold);
            let Some(d) = bounded_levenshtein(&chars, name, limit, &mut self.row) else {
                continue;
            };
            let sim = similarity_at(d, longest);
            if sim >= self.threshold && best.is_none_or(|(s, i)| sim > s || (sim == s && id > i)) {
                best = Some((sim, id));
            }
        }
        best.map(|(s, id)| (self.names[id as usize].1.clone(), "fuzzy", s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::account::similarity;

    #[test]
    fn bounded_levenshtein_agrees_with_strsim_within_its_limit() {
        let words = [
            "",
            "a",
            "ab",
            "apple",
            "apples",
            "applied",
            "kelul",
            "kelul health",
            "東京海上",
            "東京海上日動",
            "quinbri media",
            "quinros media",
            "quinbri medai",
            "abcdefgh",
        ];
        let mut row = Vec::new();
        for a in words {
            for b in words {
                let want = strsim::levenshtein(a, b);
                let (ca, cb): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
                for limit in 0..8 {
                    let got = bounded_levenshtein(&ca, &cb, limit, &mut row);
                    assert_eq!(got, (want <= limit).then_some(want), "{a:?} {b:?} {limit}");
                }
            }
        }
    }

    /// The block scan the index replaced: the reference its answers must equal.
    fn scan(
        names: &[(String, String)],
        key: &str,
        threshold: f64,
    ) -> Option<(String, &'static str, f64)> {
        if let Some((_, a)) = names.iter().find(|(k, _)| k == key) {
            return Some((a.clone(), "normalised", 100.0));
        }
        let first = key.chars().next()?;
        names
            .iter()
            .filter(|(k, _)| k.starts_with(first))
            .map(|(k, a)| (similarity(key, k), a))
            .filter(|(s, _)| *s >= threshold)
            .max_by(|x, y| x.0.total_cmp(&y.0))
            .map(|(s, a)| (a.clone(), "fuzzy", s))
    }

    #[test]
    fn index_finds_what_a_full_scan_finds() {
        // A splitmix64 stream: names from syllables, then typo'd variants of earlier names.
        let mut state = 7_u64;
        let mut next = move |n: u64| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) % n) as usize
        };
        let syllables = [
            "ar", "bel", "cor", "quin", "ros", "bri", "ul", "x", "東京", "é",
        ];
        let words = ["media", "bank", "steel", "", "a", "health care systems"];
        for threshold in [85.0, 95.0, 70.0, 50.0, 20.0, 0.0, 100.0] {
            let mut ix = NameIndex::new(threshold);
            let mut names: Vec<(String, String)> = Vec::new();
            let mut fuzzy = 0;
            for i in 0..600 {
                let key = if names.is_empty() || next(3) == 0 {
                    let mut k: String = (0..=next(3)).map(|_| syllables[next(10)]).collect();
                    let w = words[next(6)];
                    if !w.is_empty() {
                        k = format!("{k} {w}");
                    }
                    k
                } else {
                    let mut c: Vec<char> = names[next(names.len() as u64)].0.chars().collect();
                    for _ in 0..=next(3) {
                        let at = next(c.len() as u64 + 1);
                        match next(3) {
                            0 if at < c.len() => {
                                c.remove(at);
                            }
                            1 if at < c.len() => c[at] = 'z',
                            _ => c.insert(at, 'e'),
                        }
                    }
                    c.into_iter().collect()
                };
                let got = ix.find(&key);
                assert_eq!(got, scan(&names, &key, threshold), "{key:?} at {threshold}");
                fuzzy += usize::from(got.is_some_and(|g| g.1 == "fuzzy"));
                if next(2) == 0 && !key.is_empty() && !names.iter().any(|(k, _)| *k == key) {
                    let account = format!("A{i}");
                    ix.add(&key, &account);
                    names.push((key, account));
                }
            }
            // The comparison must have exercised fuzzy matches, not only misses.
            assert!(fuzzy > 10 || threshold == 100.0, "{fuzzy} at {threshold}");
        }
    }

    #[test]
    fn index_blocks_by_first_letter_and_prefers_exact() {
        let mut ix = NameIndex::new(85.0);
        ix.add("analog devices", "ST-1");
        ix.add("apple", "ST-2");
        assert_eq!(ix.find("apple").unwrap().1, "normalised");
        let (a, m, s) = ix.find("analog device").unwrap();
        assert_eq!((a.as_str(), m), ("ST-1", "fuzzy"));
        assert!(s >= 85.0);
        assert!(ix.find("zebra").is_none());
        // Same letters, another first character: not in the block.
        assert!(ix.find("bnalog devices").is_none());
    }
}
