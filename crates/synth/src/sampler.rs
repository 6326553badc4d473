//! Exact sampling without replacement in constant memory.

use rand::Rng;

/// Split `total` in proportion to `weights` with the largest-remainder method, so the parts
/// sum to `total` exactly and equal `weights` when `total` equals their sum.
pub fn scale(weights: &[u64], total: u64) -> Vec<u64> {
    let sum: u64 = weights.iter().sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights
        .iter()
        .map(|w| *w as f64 * total as f64 / sum as f64)
        .collect();
    let mut parts: Vec<u64> = exact.iter().map(|x| x.floor() as u64).collect();
    let mut left = total - parts.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let (fa, fb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    for idx in order {
        if left == 0 {
            break;
        }
        parts[idx] += 1;
        left -= 1;
    }
    parts
}

/// Draws category indices so that, once exhausted, each category was drawn exactly its count
/// times, in random order: the sequential form of shuffling a deck, without holding the deck.
pub struct ExactSampler {
    remaining: Vec<u64>,
    total: u64,
}

impl ExactSampler {
    pub fn new(counts: Vec<u64>) -> Self {
        let total = counts.iter().sum();
        ExactSampler {
            remaining: counts,
            total,
        }
    }

    pub fn remaining(&self) -> u64 {
        self.total
    }

    /// Draws left for one category.
    pub fn remaining_of(&self, idx: usize) -> u64 {
        self.remaining.get(idx).copied().unwrap_or(0)
    }

    /// The next category, or `None` when every count is used up.
    pub fn draw(&mut self, rng: &mut impl Rng) -> Option<usize> {
        if self.total == 0 {
            return None;
        }
        let mut ticket = rng.random_range(0..self.total);
        for (idx, count) in self.remaining.iter_mut().enumerate() {
            if ticket < *count {
                *count -= 1;
                self.total -= 1;
                return Some(idx);
            }
            ticket -= *count;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn scale_is_exact_at_reference_size_and_sums_elsewhere() {
        let weights = [394, 162, 1, 1, 5];
        assert_eq!(scale(&weights, 563), weights.to_vec());
        assert_eq!(scale(&weights, 1_000_000).iter().sum::<u64>(), 1_000_000);
        assert_eq!(scale(&weights, 3).iter().sum::<u64>(), 3);
    }

    #[test]
    fn sampler_draws_each_category_exactly() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut sampler = ExactSampler::new(vec![3, 0, 5, 1]);
        let mut seen = [0u64; 4];
        while let Some(idx) = sampler.draw(&mut rng) {
            seen[idx] += 1;
        }
        assert_eq!(seen, [3, 0, 5, 1]);
    }
}
