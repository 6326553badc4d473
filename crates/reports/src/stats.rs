//! Small statistics used by the reports: pure functions, unit-tested by hand.

/// Wilson score interval for `successes` out of `n` at z (1.96 for 95%). `None` when n = 0.
pub fn wilson_interval(successes: u64, n: u64, z: f64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let n = n as f64;
    let p = successes as f64 / n;
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n);
    let margin = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let denominator = 1.0 + z2 / n;
    Some((
        ((centre - margin) / denominator).max(0.0),
        ((centre + margin) / denominator).min(1.0),
    ))
}

/// z for a two-sided 95% interval.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// How many leading items to keep so that the first `n` are kept plus every item tied with the
/// `n`-th, for items already sorted by `key`.
pub fn cut_with_ties<T, K: PartialEq>(items: &[T], n: usize, key: impl Fn(&T) -> K) -> usize {
    if items.len() <= n || n == 0 {
        return items.len().min(if n == 0 { 0 } else { items.len() });
    }
    let boundary = key(&items[n - 1]);
    n + items[n..]
        .iter()
        .take_while(|item| key(item) == boundary)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_hand_computation() {
        // 8 of 10 at 95%: p = 0.8, centre = (0.8 + 0.19208)/1.38415, margin = 1.96*sqrt(0.016+0.009604)/1.38415.
        let (lo, hi) = wilson_interval(8, 10, Z_95).unwrap_or_default();
        assert!((lo - 0.4902).abs() < 1e-4, "{lo}");
        assert!((hi - 0.9433).abs() < 1e-4, "{hi}");
        let (lo, hi) = wilson_interval(0, 5, Z_95).unwrap_or_default();
        assert_eq!(lo, 0.0);
        assert!((hi - 0.4345).abs() < 1e-4, "{hi}");
        assert_eq!(wilson_interval(0, 0, Z_95), None);
    }

    #[test]
    fn ties_extend_the_cut() {
        let values = [1, 1, 1, 1, 2, 3];
        assert_eq!(cut_with_ties(&values, 2, |v| *v), 4);
        assert_eq!(cut_with_ties(&values, 5, |v| *v), 5);
        assert_eq!(cut_with_ties(&values, 10, |v| *v), 6);
        assert_eq!(cut_with_ties(&values, 0, |v| *v), 0);
    }
}
