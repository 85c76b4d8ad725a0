//! Change detection over fixed buckets: for each alternative, the largest
//! evidence over every start bucket up to now (a CUSUM: the running sum of
//! log-likelihood ratios, reset to zero whenever it goes negative).
//!
//! Why beside the cumulative test: after three healthy days, the evidence
//! since the stage began sits far below zero and a regression that starts
//! then would need hours to climb out of it. Starting afresh at every
//! bucket boundary forgets the healthy past at once. The price is the
//! number of start points: each is its own test, so the level is raised by
//! `ln(alternatives × starts per day)` to keep the chance of a false alarm
//! within a day at most `α` (a union bound, which the simulation shows is
//! far from tight).

/// One alternative's running sum and the bucket its current run began at.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Run {
    sum: f64,
    start: usize,
}

/// Folds buckets oldest first; the same code serves the daemon (which
/// folds every bucket in the lookback at each evaluation) and the
/// simulation (which folds one bucket at a time).
#[derive(Clone, Debug, PartialEq)]
pub struct Cusum {
    runs: Vec<Run>,
    next: usize,
}

impl Cusum {
    pub fn new(alternatives: usize) -> Cusum {
        Cusum {
            runs: vec![Run { sum: 0.0, start: 0 }; alternatives],
            next: 0,
        }
    }

    /// Adds bucket number `self.next` with one log-likelihood ratio per
    /// alternative (in the order given to `new`). A NaN ratio (a bucket
    /// that cannot be judged) adds nothing.
    pub fn push(&mut self, log_lrs: &[f64]) {
        let index = self.next;
        for (run, lr) in self.runs.iter_mut().zip(log_lrs) {
            if lr.is_nan() {
                continue;
            }
            let sum = run.sum + lr;
            if sum <= 0.0 {
                // Nothing since any earlier start beats starting afresh.
                *run = Run {
                    sum: 0.0,
                    start: index + 1,
                };
            } else {
                run.sum = sum;
            }
        }
        self.next += 1;
    }

    /// The strongest evidence now and the bucket its run began at.
    pub fn strongest(&self) -> Option<(f64, usize)> {
        self.runs
            .iter()
            .filter(|r| r.sum > 0.0)
            .max_by(|a, b| a.sum.total_cmp(&b.sum))
            .map(|r| (r.sum, r.start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_a_healthy_past_at_once() {
        let mut c = Cusum::new(1);
        for _ in 0..1000 {
            c.push(&[-0.5]);
        }
        assert_eq!(c.strongest(), None);
        c.push(&[2.0]);
        c.push(&[3.0]);
        assert_eq!(c.strongest(), Some((5.0, 1000)));
    }

    #[test]
    fn the_best_alternative_and_its_start_are_reported() {
        let mut c = Cusum::new(2);
        c.push(&[1.0, -1.0]);
        c.push(&[1.0, 4.0]);
        c.push(&[f64::NAN, f64::NAN]);
        assert_eq!(c.strongest(), Some((4.0, 1)));
    }
}
