//! The replayed range: `[from, to]` walked at `step`, validated once so the
//! rest of the backtest can trust it, and cut into range-query chunks that
//! Prometheus accepts (it refuses more than 11,000 points per series).

use std::time::Duration;

use jiff::Timestamp;

/// Prometheus's limit on `(end - start) / step` for one range query.
pub const PROMETHEUS_MAX_POINTS: i64 = 11_000;

/// The most steps one backtest walks per rollout: 90 days at 30 s fit
/// (259,200); 90 days at 1 s (7.8 million) would hold every series in
/// memory several times over and is refused with the step that would fit.
pub const MAX_STEPS: i64 = 300_000;

/// A validated range: whole seconds, `from < to`, step ≥ 1 s, at most
/// [`MAX_STEPS`] steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Unix seconds of the first evaluation.
    pub from: i64,
    /// Unix seconds of the last instant that may be evaluated.
    pub to: i64,
    pub step: i64,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("--from ({from}) must be before --to ({to})")]
    Empty { from: Timestamp, to: Timestamp },
    #[error("--step {0:?} is too short; the smallest step is 1s")]
    StepTooShort(Duration),
    #[error(
        "--step {0:?} is not a whole number of seconds (Prometheus steps here are whole seconds)"
    )]
    StepNotWhole(Duration),
    #[error("the range holds {steps} steps of {step}s, more than {max}; use --step {suggested}s or more, or a shorter range")]
    TooManySteps {
        steps: i64,
        step: i64,
        max: i64,
        suggested: i64,
    },
}

impl Window {
    /// Checks the range. `from` is taken to the whole second (Prometheus
    /// range queries start there), `to` as given.
    pub fn new(from: Timestamp, to: Timestamp, step: Duration) -> Result<Window, WindowError> {
        if from >= to {
            return Err(WindowError::Empty { from, to });
        }
        if step < Duration::from_secs(1) {
            return Err(WindowError::StepTooShort(step));
        }
        if step.subsec_nanos() != 0 {
            return Err(WindowError::StepNotWhole(step));
        }
        let step_s = i64::try_from(step.as_secs()).unwrap_or(i64::MAX);
        let (from_s, to_s) = (from.as_second(), to.as_second());
        let span = to_s.saturating_sub(from_s);
        let steps = span / step_s + 1;
        if steps > MAX_STEPS {
            return Err(WindowError::TooManySteps {
                steps,
                step: step_s,
                max: MAX_STEPS,
                suggested: (span + MAX_STEPS - 2) / (MAX_STEPS - 1),
            });
        }
        Ok(Window {
            from: from_s,
            to: to_s,
            step: step_s,
        })
    }

    /// How many instants are evaluated.
    pub fn steps(&self) -> i64 {
        (self.to - self.from) / self.step + 1
    }

    /// Every evaluated instant, in order.
    pub fn instants(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.steps()).map(move |k| self.from + k * self.step)
    }

    /// The last evaluated instant (`to` rounded down onto the step grid).
    pub fn last(&self) -> i64 {
        self.from + (self.steps() - 1) * self.step
    }

    /// `[start, end]` pairs covering every instant, each with at most
    /// `max_points` instants, on the same grid: a range query evaluates at
    /// `start + k·step`, so chunk boundaries fall on evaluated instants and
    /// the chunks neither overlap nor leave a gap.
    pub fn chunks(&self, max_points: i64) -> Vec<(i64, i64)> {
        let per = max_points.max(1);
        let mut out = Vec::new();
        let mut k = 0;
        let steps = self.steps();
        while k < steps {
            let last = (k + per - 1).min(steps - 1);
            out.push((self.from + k * self.step, self.from + last * self.step));
            k = last + 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    #[test]
    fn chunks_cover_every_instant_once_within_the_limit() {
        let w = Window::new(ts(1_000), ts(1_000 + 7 * 86_400), Duration::from_secs(30)).unwrap();
        assert_eq!(w.steps(), 20_161);
        let chunks = w.chunks(PROMETHEUS_MAX_POINTS);
        assert_eq!(chunks.len(), 2);
        let mut covered = Vec::new();
        for (start, end) in &chunks {
            // Prometheus refuses (end - start) / step > 11,000.
            assert!((end - start) / w.step < PROMETHEUS_MAX_POINTS);
            covered.extend((*start..=*end).step_by(w.step as usize));
        }
        assert_eq!(covered, w.instants().collect::<Vec<_>>());
    }

    #[test]
    fn exact_multiple_and_single_instant() {
        let w = Window::new(ts(0), ts(90), Duration::from_secs(10)).unwrap();
        assert_eq!(w.chunks(5), vec![(0, 40), (50, 90)]);
        assert_eq!(w.chunks(10), vec![(0, 90)]);
        assert_eq!(w.chunks(1).len(), 10);
        // `to` off the grid: the last instant is the one before it.
        let w = Window::new(ts(0), ts(95), Duration::from_secs(10)).unwrap();
        assert_eq!(w.last(), 90);
        let w = Window::new(ts(0), ts(5), Duration::from_secs(10)).unwrap();
        assert_eq!(w.chunks(11_000), vec![(0, 0)]);
    }

    #[test]
    fn bad_ranges_are_refused_with_the_fix() {
        assert!(matches!(
            Window::new(ts(10), ts(10), Duration::from_secs(1)),
            Err(WindowError::Empty { .. })
        ));
        assert!(matches!(
            Window::new(ts(20), ts(10), Duration::from_secs(1)),
            Err(WindowError::Empty { .. })
        ));
        assert_eq!(
            Window::new(ts(0), ts(10), Duration::from_millis(500)),
            Err(WindowError::StepTooShort(Duration::from_millis(500)))
        );
        assert_eq!(
            Window::new(ts(0), ts(10), Duration::from_millis(1500)),
            Err(WindowError::StepNotWhole(Duration::from_millis(1500)))
        );
        let ninety_days = 90 * 86_400;
        let err = Window::new(ts(0), ts(ninety_days), Duration::from_secs(1)).unwrap_err();
        let WindowError::TooManySteps { suggested, .. } = err else {
            panic!("{err:?}")
        };
        // The suggested step really fits.
        assert!(Window::new(
            ts(0),
            ts(ninety_days),
            Duration::from_secs(suggested as u64)
        )
        .is_ok());
        assert!(err.to_string().contains("use --step"), "{err}");
    }
}
