//! Small statistics for visibility rates.
//!
//! A visibility rate is a proportion over few answers (often 10–200), some of them 0 % or 100 %.
//! The Wilson score interval is used rather than the textbook normal ("Wald") interval because it
//! stays inside [0, 1], is not degenerate at 0 or n successes (0/10 still says "up to 28 %", not
//! "exactly 0"), and keeps close to its nominal coverage at small n.

/// z for a two-sided 95 % interval: the 0.975 quantile of the standard normal distribution.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// The 95 % Wilson score interval `(low, high)` for `successes` out of `n`; `None` when `n` is 0
/// or `successes > n` (no proportion to estimate).
pub fn wilson_interval(successes: u64, n: u64) -> Option<(f64, f64)> {
    if n == 0 || successes > n {
        return None;
    }
    let all = successes == n;
    let n = n as f64;
    let p = successes as f64 / n;
    let z2 = Z_95 * Z_95;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = Z_95 / denominator * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    // At 0 and n successes the bound is exactly 0 (or 1); say so rather than 1e-16 off.
    let low = if successes == 0 {
        0.0
    } else {
        (centre - half).clamp(0.0, 1.0)
    };
    let high = if all {
        1.0
    } else {
        (centre + half).clamp(0.0, 1.0)
    };
    Some((low, high))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: Option<(f64, f64)>, expected: (f64, f64)) {
        let (lo, hi) = actual.expect("an interval");
        assert!(
            (lo - expected.0).abs() < 5e-5 && (hi - expected.1).abs() < 5e-5,
            "got ({lo:.6}, {hi:.6}), expected {expected:?}"
        );
    }

    #[test]
    fn known_values() {
        // Values computed independently from the closed form, to 4 decimals.
        close(wilson_interval(0, 10), (0.0, 0.2775));
        close(wilson_interval(5, 10), (0.2366, 0.7634));
        close(wilson_interval(42, 100), (0.3280, 0.5179));
        close(wilson_interval(180, 180), (0.9791, 1.0));
        close(wilson_interval(1, 1), (0.2065, 1.0));
        close(wilson_interval(3, 7), (0.1582, 0.7495));
    }

    #[test]
    fn edges() {
        assert_eq!(wilson_interval(0, 0), None);
        assert_eq!(wilson_interval(11, 10), None);
        let (lo, hi) = wilson_interval(0, 10).unwrap();
        assert_eq!(lo, 0.0);
        assert!(hi < 1.0);
        let (lo, hi) = wilson_interval(10, 10).unwrap();
        assert!(lo > 0.0);
        assert_eq!(hi, 1.0);
        let (lo, hi) = wilson_interval(u64::MAX / 2, u64::MAX).unwrap();
        assert!(lo <= 0.5 && 0.5 <= hi && lo >= 0.0 && hi <= 1.0);
    }

    #[test]
    fn contains_the_estimate_and_narrows_with_n() {
        for n in 1..60u64 {
            for s in 0..=n {
                let (lo, hi) = wilson_interval(s, n).unwrap();
                let p = s as f64 / n as f64;
                assert!(lo <= p + 1e-12 && p <= hi + 1e-12, "{s}/{n}");
                assert!((0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi));
            }
        }
        let w = |s, n| {
            let (lo, hi) = wilson_interval(s, n).unwrap();
            hi - lo
        };
        assert!(w(50, 100) < w(5, 10));
        assert!(w(500, 1000) < w(50, 100));
    }
}
