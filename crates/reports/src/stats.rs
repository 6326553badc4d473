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

/// Population variance.
pub fn variance(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64
}

/// Pearson correlation; `None` when either side has no variance or fewer than 2 values.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() != y.len() || x.len() < 2 {
        return None;
    }
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let cov: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let (vx, vy): (f64, f64) = (
        x.iter().map(|a| (a - mx).powi(2)).sum(),
        y.iter().map(|b| (b - my).powi(2)).sum(),
    );
    (vx > 0.0 && vy > 0.0).then(|| cov / (vx * vy).sqrt())
}

/// KR-20 of a complete 0/1 matrix (rows = attempts, columns = items):
/// k/(k-1) · (1 − Σ p_i q_i / σ²_total), population variances. Equals Cronbach's α for 0/1 items.
pub fn kr20(matrix: &[Vec<f64>]) -> Option<f64> {
    let k = matrix.first()?.len();
    if k < 2 || matrix.len() < 2 {
        return None;
    }
    let n = matrix.len() as f64;
    let item_variance: f64 = (0..k)
        .map(|j| {
            let p = matrix.iter().map(|row| row[j]).sum::<f64>() / n;
            p * (1.0 - p)
        })
        .sum();
    let totals: Vec<f64> = matrix.iter().map(|row| row.iter().sum()).collect();
    let total_variance = variance(&totals);
    (total_variance > 0.0)
        .then(|| k as f64 / (k as f64 - 1.0) * (1.0 - item_variance / total_variance))
}

/// KR-20 with item `j` left out.
pub fn kr20_without(matrix: &[Vec<f64>], j: usize) -> Option<f64> {
    let reduced: Vec<Vec<f64>> = matrix
        .iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .filter(|(i, _)| *i != j)
                .map(|(_, v)| *v)
                .collect()
        })
        .collect();
    kr20(&reduced)
}

/// Share of the upper and lower groups: the top and bottom 27% (rounded up) of the attempts.
pub const GROUP_SHARE: f64 = 0.27;

/// The upper and lower groups of attempts ranked by score, as a weight per score level.
///
/// `levels` holds how many attempts sit at each score level, in ascending score order. Returns the
/// group size `g` = ⌈0.27·n⌉ and, per level, the share of its attempts in the lower and in the
/// upper group. Attempts tied at a group's edge share its last places equally, so no arbitrary
/// order (such as ids) decides who is in: a statistic over a group is its expected value over
/// every order of the ties.
pub fn extreme_groups(levels: &[u64]) -> (u64, Vec<(f64, f64)>) {
    let n: u64 = levels.iter().sum();
    let group = ((n as f64) * GROUP_SHARE).ceil() as u64;
    let mut weights = vec![(0.0, 0.0); levels.len()];
    let fill = |order: &mut dyn Iterator<Item = usize>, set: &mut dyn FnMut(usize, f64)| {
        let mut left = group;
        for i in order {
            if left == 0 || levels[i] == 0 {
                continue;
            }
            let taken = left.min(levels[i]);
            set(i, taken as f64 / levels[i] as f64);
            left -= taken;
        }
    };
    fill(&mut (0..levels.len()), &mut |i, w| weights[i].0 = w);
    fill(&mut (0..levels.len()).rev(), &mut |i, w| weights[i].1 = w);
    (group, weights)
}

/// Upper-lower discrimination: share right in the top 27% minus share right in the bottom 27%
/// of attempts ranked by `scores` (ties at a group's edge share it: [`extreme_groups`]).
/// `None` below 4 attempts.
pub fn upper_lower(item: &[f64], scores: &[f64]) -> Option<f64> {
    let n = item.len();
    if n < 4 || scores.len() != n {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let tied: Vec<&[usize]> = order
        .chunk_by(|&a, &b| scores[a].total_cmp(&scores[b]).is_eq())
        .collect();
    let levels: Vec<u64> = tied.iter().map(|level| level.len() as u64).collect();
    let (group, weights) = extreme_groups(&levels);
    let (mut lower, mut upper) = (0.0, 0.0);
    for (level, (w_lower, w_upper)) in tied.iter().zip(weights) {
        let right: f64 = level.iter().map(|&i| item[i]).sum();
        lower += w_lower * right;
        upper += w_upper * right;
    }
    Some((upper - lower) / group as f64)
}

#[cfg(test)]
mod item_tests {
    use super::*;

    /// 5 students × 3 items, computed by hand:
    /// totals 3,2,2,1,0 (mean 1.6, σ² = (1.96+.16+.16+.36+2.56)/5 = 1.04);
    /// p = .6, .6, .4 → Σpq = .24+.24+.24 = .72; KR-20 = 3/2 · (1 − .72/1.04) = 0.461538…
    const M: [[f64; 3]; 5] = [
        [1., 1., 1.],
        [1., 1., 0.],
        [1., 0., 1.],
        [0., 1., 0.],
        [0., 0., 0.],
    ];

    fn matrix() -> Vec<Vec<f64>> {
        M.iter().map(|r| r.to_vec()).collect()
    }

    #[test]
    fn kr20_by_hand() {
        let value = kr20(&matrix()).unwrap_or_default();
        assert!((value - 0.461_538_461_5).abs() < 1e-9, "{value}");
        // Without item 3: totals 2,2,1,1,0 (σ² = .56), Σpq = .48 → 2 · (1 − .48/.56) = 0.285714…
        let without = kr20_without(&matrix(), 2).unwrap_or_default();
        assert!((without - 0.285_714_285_7).abs() < 1e-9, "{without}");
    }

    #[test]
    fn item_rest_and_upper_lower_by_hand() {
        // Item 1 vs rest (items 2+3): x = 1,1,1,0,0; rest = 2,1,1,1,0.
        // mean x .6, mean rest 1; cov = Σ(dx·dr) = .4·1 + 0 + 0 + 0 + .6·1 = 1.0;
        // Σdx² = 1.2, Σdr² = 2 → r = 1/√2.4 = 0.645497…
        let x: Vec<f64> = M.iter().map(|r| r[0]).collect();
        let rest: Vec<f64> = M.iter().map(|r| r[1] + r[2]).collect();
        assert!((pearson(&x, &rest).unwrap_or_default() - 0.645_497_224_4).abs() < 1e-9);
        // Groups of ceil(5·.27) = 2: top totals 3,2 (item 1: 1,1), bottom 0,1 (item 1: 0,0) → D = 1.
        let totals: Vec<f64> = M.iter().map(|r| r.iter().sum()).collect();
        assert_eq!(upper_lower(&x, &totals), Some(1.0));
        assert_eq!(pearson(&[1.0, 1.0], &[0.0, 1.0]), None);
    }
}

#[cfg(test)]
mod group_tests {
    use super::*;

    #[test]
    fn groups_share_ties_at_their_edge() {
        // 10 attempts: levels of 2, 5, 3 → g = ⌈2.7⌉ = 3. Lower: the 2 at the bottom level and
        // 1 of the 5 tied above them (weight 1/5). Upper: the 3 at the top level.
        let (group, weights) = extreme_groups(&[2, 5, 3]);
        assert_eq!(group, 3);
        assert_eq!(weights, vec![(1.0, 0.0), (0.2, 0.0), (0.0, 1.0)]);
        // One level: everybody is tied; both groups take g/n of it.
        let (group, weights) = extreme_groups(&[4]);
        assert_eq!(group, 2);
        assert_eq!(weights, vec![(0.5, 0.5)]);
        assert_eq!(extreme_groups(&[]), (0, vec![]));
    }

    #[test]
    fn upper_lower_splits_tied_attempts() {
        // Scores 1,2,2,3 → g = 2. Lower: score 1 plus half of the two 2s; upper: 3 plus half.
        // Item right for scores 2 (first) and 3: lower = (0 + .5·1)/2, upper = (1 + .5·1)/2.
        let d = upper_lower(&[0.0, 1.0, 0.0, 1.0], &[1.0, 2.0, 2.0, 3.0]);
        assert_eq!(d, Some(0.5));
    }
}
