//! Terminal histogram of the score distribution: one row per 10-point bucket, a bar of `█`
//! scaled to the fullest bucket, and the count.

use std::io::Write;

use crate::views::Bucket;

/// Longest bar, in characters.
pub const BAR_WIDTH: usize = 40;

/// The bar length for `n` when the fullest bucket holds `max`; any non-empty bucket gets at
/// least one block so it never looks empty.
pub fn bar_len(n: i64, max: i64) -> usize {
    if n <= 0 || max <= 0 {
        return 0;
    }
    let len = (n as f64 / max as f64 * BAR_WIDTH as f64).round() as usize;
    len.clamp(1, BAR_WIDTH)
}

/// Writes the histogram, lowest bucket first.
pub fn write(w: &mut dyn Write, buckets: &[Bucket]) -> std::io::Result<()> {
    let max = buckets.iter().map(|b| b.leads).max().unwrap_or(0);
    let count_width = max.to_string().len();
    for b in buckets {
        let close = if b.to >= 100 { ']' } else { ')' };
        let label = format!("[{:>2}, {:>3}{close}", b.from, b.to);
        let bar = "█".repeat(bar_len(b.leads, max));
        let line = format!("{label} {:>count_width$} {bar}", b.leads);
        writeln!(w, "{}", line.trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_fullest_bucket() {
        assert_eq!(bar_len(0, 10), 0);
        assert_eq!(bar_len(10, 10), BAR_WIDTH);
        assert_eq!(bar_len(5, 10), BAR_WIDTH / 2);
        assert_eq!(bar_len(1, 1000), 1);
    }

    #[test]
    fn one_line_per_bucket_with_blocks() {
        let buckets: Vec<Bucket> = (0..10)
            .map(|i| Bucket {
                from: i * 10,
                to: i * 10 + 10,
                leads: if i == 9 { 4 } else { i % 2 },
            })
            .collect();
        let mut out = Vec::new();
        write(&mut out, &buckets).unwrap();
        let s = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 10);
        assert_eq!(lines[0], "[ 0,  10) 0");
        assert_eq!(lines[9], format!("[90, 100] 4 {}", "█".repeat(BAR_WIDTH)));
        assert_eq!(lines[1].matches('█').count(), BAR_WIDTH / 4);
    }
}
