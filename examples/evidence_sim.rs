//! The proof, as a seeded simulation: simulated canaries judged by
//! `sena::stats::judge`, the production function, beside today's plain
//! threshold rule (`bad/total over 5m > limit` with `for: 2m`).
//!
//! ```sh
//! cargo run --release --example evidence_sim -- [--runs N] [--reg-runs N] \
//!     [--seed S] [--out docs/evidence-sim.md] [--doc docs/evidence.md] \
//!     [--hours H] [--threads T] [--verify-runs K]
//! ```
//!
//! Each 30 s step draws the canary's requests ~ Poisson(rate·30) and its bad
//! ones ~ Binomial(requests, p), and the same for stable at 19× the traffic
//! (a 5% canary). Every step is one evaluation, as in the daemon: the
//! cumulative counts since the stage began and the complete 300 s buckets
//! of the last day (at most 288, oldest first).
//!
//! Speed without a second method: calling `judge` at every step costs a
//! fold of 288 buckets (with a logarithm per bucket and alternative for the
//! baseline comparison) plus the interval bisections, most of it for
//! figures the simulation does not read. `Stage::finding` gives the same
//! `Finding` from the same inputs, built from the same public pieces of
//! `stats` (the same alternatives, `log_mean_exp`, `worse_log_lrs`, and the
//! production `Cusum` folded over the same ≤ 288 buckets), but folds only
//! when a bucket completes (every 10 steps; the buckets do not change in
//! between) and keeps each bucket's log-likelihood ratios. It is checked
//! against `judge` at every step of the first `--verify-runs` runs of every
//! cell (the run panics on any difference) and by the test
//! `fast_path_gives_judges_finding` below.
//!
//! Draws: `rand`'s Xoshiro256++ (a named generator, so the stream is stable
//! across releases) seeded per run from the seed, the cell's name and the
//! run number, so figures do not depend on how runs are spread over
//! threads; `rand_distr`'s exact Poisson and Binomial samplers.

use std::cell::OnceCell;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;
use rand_distr::{Binomial, Distribution, Poisson};
use sena::stats::compare::worse_log_lrs;
use sena::stats::detector::Cusum;
use sena::stats::judge::Window;
use sena::stats::mixture::{alternatives, log_evidence, log_mean_exp, Alternative, Side, ABOVE};
use sena::stats::{Counts, Finding, Spec, Track, BUCKETS_PER_DAY, BUCKET_SECONDS};

const LIMIT: f64 = 0.001;
const ALPHA: f64 = 0.05;
const RATIO: f64 = 2.0;
const STEP_SECONDS: u64 = 30;
const STEPS_PER_BUCKET: usize = (BUCKET_SECONDS / STEP_SECONDS) as usize;
const STEPS_PER_HOUR: usize = 3600 / STEP_SECONDS as usize;
/// Stable serves 19× the canary: a 5% canary.
const STABLE_FACTOR: f64 = 19.0;
/// Canary traffic, requests per second.
const TRAFFIC: [f64; 4] = [0.2, 1.0, 10.0, 100.0];
/// Healthy days before the late regression.
const LATE_DAYS: usize = 3;
/// The plain rule: a 5m window is the last 10 steps; `for: 2m` is 4
/// consecutive evaluations past the limit.
const PLAIN_WINDOW: usize = 10;
const PLAIN_FOR: usize = 4;

fn spec(ratio: Option<f64>) -> Spec {
    Spec {
        limit: LIMIT,
        alpha: ALPHA,
        ratio,
        floor: None,
        min_total: 0.0,
    }
}

fn add(a: Counts, b: Counts) -> Counts {
    Counts {
        bad: a.bad + b.bad,
        total: a.total + b.total,
    }
}

// ---------------------------------------------------------------------------
// Judging: the same finding as stats::judge, kept incrementally.

/// Sena's two ways of judging the canary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// `judge(spec{ratio: None}, canary, None)`.
    Alone,
    /// `judge(spec{ratio: Some(2)}, canary, Some(stable))`.
    WithBaseline,
}

impl Mode {
    const ALL: [Mode; 2] = [Mode::Alone, Mode::WithBaseline];

    fn spec(self) -> Spec {
        match self {
            Mode::Alone => spec(None),
            Mode::WithBaseline => spec(Some(RATIO)),
        }
    }
}

/// One complete bucket and its log-likelihood ratios, per alternative.
struct Bucket {
    canary: Counts,
    stable: Counts,
    canary_lrs: Vec<f64>,
    stable_lrs: Vec<f64>,
    worse_lrs: Vec<f64>,
}

/// What the daemon would hand `judge`, plus the detector's state.
struct Stage {
    above: Vec<Alternative>,
    below: Vec<Alternative>,
    canary: Counts,
    stable: Counts,
    open_canary: Counts,
    open_stable: Counts,
    open_steps: usize,
    /// The complete buckets of the last day, oldest first.
    buckets: VecDeque<Bucket>,
    /// `Cusum::strongest` over `buckets`: canary, stable, canary vs stable.
    strongest: [Option<(f64, usize)>; 3],
    /// The plain rule: the canary's last steps and the run of breaches.
    window: VecDeque<Counts>,
    plain_run: usize,
}

#[derive(Clone, Copy)]
enum Which {
    Canary = 0,
    Stable = 1,
    Worse = 2,
}

/// Evidence from the cumulative counts, computed at most once per step.
#[derive(Default)]
struct StepCache {
    canary_above: OnceCell<f64>,
    stable_above: OnceCell<f64>,
    worse: OnceCell<f64>,
}

impl Stage {
    fn new() -> Stage {
        Stage {
            above: alternatives(LIMIT, Side::Above),
            below: alternatives(LIMIT, Side::Below),
            canary: Counts::default(),
            stable: Counts::default(),
            open_canary: Counts::default(),
            open_stable: Counts::default(),
            open_steps: 0,
            buckets: VecDeque::with_capacity(BUCKETS_PER_DAY + 1),
            strongest: [None; 3],
            window: VecDeque::with_capacity(PLAIN_WINDOW + 1),
            plain_run: 0,
        }
    }

    /// One 30 s step of both tracks; then the plain rule's evaluation.
    /// Returns whether the plain rule is firing.
    fn step(&mut self, canary: Counts, stable: Counts) -> bool {
        self.canary = add(self.canary, canary);
        self.stable = add(self.stable, stable);
        self.open_canary = add(self.open_canary, canary);
        self.open_stable = add(self.open_stable, stable);
        self.open_steps += 1;
        if self.open_steps == STEPS_PER_BUCKET {
            let (c, s) = (self.open_canary, self.open_stable);
            self.open_canary = Counts::default();
            self.open_stable = Counts::default();
            self.open_steps = 0;
            self.push_bucket(c, s);
            self.refold();
        }
        self.window.push_back(canary);
        if self.window.len() > PLAIN_WINDOW {
            self.window.pop_front();
        }
        let w = self
            .window
            .iter()
            .fold(Counts::default(), |a, b| add(a, *b));
        // 0 requests in the window: NaN > limit is false, the alert resets.
        if w.total > 0.0 && w.bad / w.total > LIMIT {
            self.plain_run += 1;
        } else {
            self.plain_run = 0;
        }
        self.plain_run >= PLAIN_FOR
    }

    /// A complete bucket, without evaluating (the late scenario's past).
    fn push_bucket(&mut self, canary: Counts, stable: Counts) {
        self.buckets.push_back(Bucket {
            canary,
            stable,
            canary_lrs: self
                .above
                .iter()
                .map(|a| a.log_lr(canary.bad, canary.total))
                .collect(),
            stable_lrs: self
                .above
                .iter()
                .map(|a| a.log_lr(stable.bad, stable.total))
                .collect(),
            worse_lrs: worse_log_lrs(canary.bad, canary.total, stable.bad, stable.total, RATIO),
        });
        if self.buckets.len() > BUCKETS_PER_DAY {
            self.buckets.pop_front();
        }
    }

    /// The detector as the daemon computes it: from scratch over the
    /// buckets of the last day, with the production `Cusum`.
    fn refold(&mut self) {
        let mut cusums = [
            Cusum::new(ABOVE.len()),
            Cusum::new(ABOVE.len()),
            Cusum::new(ABOVE.len()),
        ];
        for b in &self.buckets {
            cusums[0].push(&b.canary_lrs);
            cusums[1].push(&b.stable_lrs);
            cusums[2].push(&b.worse_lrs);
        }
        for (s, c) in self.strongest.iter_mut().zip(&cusums) {
            *s = c.strongest();
        }
    }

    fn cumulative_above(&self, c: Counts) -> f64 {
        log_mean_exp(self.above.iter().map(|a| a.log_lr(c.bad, c.total)))
    }

    /// `judge::detected`: the strongest run past the detector's level, and
    /// the canary's (or the track's) counts since it began.
    fn detected(&self, spec: &Spec, which: Which) -> Option<Window> {
        let (evidence, start) = self.strongest[which as usize]?;
        (evidence >= spec.detector_level()).then(|| {
            let counts = self
                .buckets
                .iter()
                .skip(start.min(self.buckets.len()))
                .map(|b| match which {
                    Which::Stable => b.stable,
                    Which::Canary | Which::Worse => b.canary,
                })
                .fold(Counts::default(), add);
            Window::Since { start, counts }
        })
    }

    /// `judge::exceeds_limit` for the canary or stable.
    fn exceeds(&self, spec: &Spec, which: Which, cache: &StepCache) -> Option<Window> {
        let evidence = match which {
            Which::Canary => *cache
                .canary_above
                .get_or_init(|| self.cumulative_above(self.canary)),
            _ => *cache
                .stable_above
                .get_or_init(|| self.cumulative_above(self.stable)),
        };
        if evidence >= spec.cumulative_level() {
            return Some(Window::Stage);
        }
        self.detected(spec, which)
    }

    /// `judge::worse_than`.
    fn worse_than(&self, spec: &Spec, ratio: f64, cache: &StepCache) -> Option<Window> {
        assert_eq!(ratio, RATIO, "the buckets' ratios are for RATIO");
        let floor_passed = |counts: Counts| {
            spec.floor.is_none_or(|floor| {
                log_evidence(counts.bad, counts.total, floor, Side::Above)
                    >= spec.cumulative_level()
            })
        };
        let (c, s) = (self.canary, self.stable);
        let cumulative = *cache
            .worse
            .get_or_init(|| log_mean_exp(worse_log_lrs(c.bad, c.total, s.bad, s.total, ratio)));
        if cumulative >= spec.cumulative_level() && floor_passed(c) {
            return Some(Window::Stage);
        }
        self.detected(spec, Which::Worse).filter(|w| match w {
            Window::Since { counts, .. } => floor_passed(*counts),
            Window::Stage => true,
        })
    }

    /// The finding `stats::judge` gives for this stage now, in `mode`.
    fn finding(&self, mode: Mode, cache: &StepCache) -> Finding {
        let spec = mode.spec();
        let baseline = mode == Mode::WithBaseline;
        let relative = match (baseline, spec.ratio) {
            (true, Some(ratio)) => self.worse_than(&spec, ratio, cache),
            _ => None,
        };
        if let Some(w) = relative {
            return Finding::WorseThanBaseline(w);
        }
        if let Some(w) = self.exceeds(&spec, Which::Canary, cache) {
            let shared = baseline && self.exceeds(&spec, Which::Stable, cache).is_some();
            return if shared {
                Finding::Shared(w)
            } else {
                Finding::ExceedsLimit(w)
            };
        }
        let c = self.canary;
        let below = log_mean_exp(self.below.iter().map(|a| a.log_lr(c.bad, c.total)));
        if below >= spec.within_level() && c.total >= spec.min_total {
            Finding::Within
        } else {
            Finding::Insufficient
        }
    }

    /// What the daemon would pass to `judge`.
    fn tracks(&self) -> (Track, Track) {
        (
            Track {
                cumulative: self.canary,
                buckets: self.buckets.iter().map(|b| b.canary).collect(),
            },
            Track {
                cumulative: self.stable,
                buckets: self.buckets.iter().map(|b| b.stable).collect(),
            },
        )
    }

    /// `stats::judge` itself, for the check.
    fn judge(&self, mode: Mode) -> Finding {
        let (canary, stable) = self.tracks();
        let baseline = (mode == Mode::WithBaseline).then_some(&stable);
        sena::stats::judge(&mode.spec(), &canary, baseline).finding
    }
}

/// Pages "roll back": a breach that is not a shared failure (a hold).
fn pages(finding: &Finding) -> bool {
    matches!(
        finding,
        Finding::ExceedsLimit(_) | Finding::WorseThanBaseline(_)
    )
}

// ---------------------------------------------------------------------------
// Scenarios and runs.

#[derive(Clone, Copy, Debug, PartialEq)]
enum Scenario {
    /// Canary and stable healthy at `x` × the limit.
    Healthy { x: f64 },
    /// The canary at `x` × the limit from the stage start; stable at 0.5×.
    Start { x: f64 },
    /// Three healthy days at 0.5×, then the canary at `x` × the limit.
    Late { x: f64 },
    /// Stable at 0.1× the limit, the canary at 0.3×: 3× worse, under it.
    Worse3,
}

impl Scenario {
    /// (canary, stable) error rates once the regression (if any) is on.
    fn rates(self) -> (f64, f64) {
        match self {
            Scenario::Healthy { x } => (x * LIMIT, x * LIMIT),
            Scenario::Start { x } | Scenario::Late { x } => (x * LIMIT, 0.5 * LIMIT),
            Scenario::Worse3 => (0.3 * LIMIT, 0.1 * LIMIT),
        }
    }

    fn name(self) -> String {
        match self {
            Scenario::Healthy { x } => format!("A/A {x}x"),
            Scenario::Start { x } => format!("{x}x from start"),
            Scenario::Late { x } => format!("{x}x after 3 days"),
            Scenario::Worse3 => "3x stable, under limit".to_string(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Cell {
    scenario: Scenario,
    /// Canary requests per second.
    traffic: f64,
    runs: usize,
    /// Evaluations per run, from the start (or the regression's start).
    steps: usize,
}

impl Cell {
    fn key(&self) -> String {
        format!("{}@{}", self.scenario.name(), self.traffic)
    }
}

/// Evaluators: Sena alone, Sena with the baseline, the plain rule.
const EVALUATORS: usize = 3;

/// One run's outcome, in evaluations (steps of 30 s) from the start or
/// from the regression's start.
#[derive(Clone, Copy, Debug, Default)]
struct RunResult {
    page: [Option<u32>; EVALUATORS],
    ready: [Option<u32>; 2],
    shared: [Option<u32>; 2],
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn run_seed(seed: u64, key: &str, run: usize) -> u64 {
    // FNV-1a of the cell's name: a seed per cell that does not depend on
    // the order of the cells or on the threads.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    splitmix(splitmix(seed ^ h) ^ run as u64)
}

/// `requests ~ Poisson(mean)`, `bad ~ Binomial(requests, p)`.
fn draw(rng: &mut Xoshiro256PlusPlus, requests: Option<&Poisson<f64>>, p: f64) -> Counts {
    let total = requests.map_or(0.0, |d| d.sample(rng));
    let bad = if total > 0.0 && p > 0.0 {
        Binomial::new(total as u64, p).unwrap().sample(rng) as f64
    } else {
        0.0
    };
    Counts { bad, total }
}

fn poisson(mean: f64) -> Option<Poisson<f64>> {
    (mean > 0.0).then(|| Poisson::new(mean).unwrap())
}

/// Three healthy days at 0.5× the limit, as the daemon would see them at
/// the end: the cumulative counts, the last 288 buckets, and the last 10
/// steps for the plain rule. The first two days only reach the cumulative
/// counts, drawn at once (a sum of Poisson counts is Poisson, a sum of
/// binomial thinnings is the thinning of the sum); the next 287 buckets are
/// drawn a bucket at a time, the last one a step at a time.
fn healthy_past(stage: &mut Stage, rng: &mut Xoshiro256PlusPlus, traffic: f64) {
    let p = 0.5 * LIMIT;
    let bucket_seconds = BUCKET_SECONDS as f64;
    let early = (LATE_DAYS - 1) * BUCKETS_PER_DAY;
    let c = draw(
        rng,
        poisson(traffic * bucket_seconds * early as f64).as_ref(),
        p,
    );
    let s = draw(
        rng,
        poisson(traffic * STABLE_FACTOR * bucket_seconds * early as f64).as_ref(),
        p,
    );
    stage.canary = add(stage.canary, c);
    stage.stable = add(stage.stable, s);
    let (bc, bs) = (
        poisson(traffic * bucket_seconds),
        poisson(traffic * STABLE_FACTOR * bucket_seconds),
    );
    for _ in 0..BUCKETS_PER_DAY - 1 {
        let c = draw(rng, bc.as_ref(), p);
        let s = draw(rng, bs.as_ref(), p);
        stage.canary = add(stage.canary, c);
        stage.stable = add(stage.stable, s);
        stage.push_bucket(c, s);
    }
    let step = STEP_SECONDS as f64;
    let (sc, ss) = (
        poisson(traffic * step),
        poisson(traffic * STABLE_FACTOR * step),
    );
    for _ in 0..STEPS_PER_BUCKET {
        let c = draw(rng, sc.as_ref(), p);
        let s = draw(rng, ss.as_ref(), p);
        stage.step(c, s);
    }
    // Evaluation starts with the regression: the plain rule's alert too.
    stage.plain_run = 0;
}

/// One simulated stage. With `verify`, every step's finding is also asked
/// of `stats::judge` and the two must agree, and no evaluator stops early.
fn simulate(cell: &Cell, seed: u64, run: usize, want_ready: bool, verify: bool) -> RunResult {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(run_seed(seed, &cell.key(), run));
    let mut stage = Stage::new();
    if let Scenario::Late { .. } = cell.scenario {
        healthy_past(&mut stage, &mut rng, cell.traffic);
    }
    let (pc, ps) = cell.scenario.rates();
    let step = STEP_SECONDS as f64;
    let (dc, ds) = (
        poisson(cell.traffic * step),
        poisson(cell.traffic * STABLE_FACTOR * step),
    );
    let mut r = RunResult::default();
    for i in 1..=cell.steps {
        let t = i as u32;
        let c = draw(&mut rng, dc.as_ref(), pc);
        let s = draw(&mut rng, ds.as_ref(), ps);
        if stage.step(c, s) && r.page[2].is_none() {
            r.page[2] = Some(t);
        }
        let cache = StepCache::default();
        for (m, mode) in Mode::ALL.into_iter().enumerate() {
            let needed = r.page[m].is_none() || (want_ready && r.ready[m].is_none());
            if !needed && !verify {
                continue;
            }
            let f = stage.finding(mode, &cache);
            if verify {
                let expected = stage.judge(mode);
                assert_eq!(
                    f,
                    expected,
                    "{} run {run} step {i} {mode:?}: fast path differs from judge",
                    cell.key()
                );
            }
            if pages(&f) && r.page[m].is_none() {
                r.page[m] = Some(t);
            }
            if f == Finding::Within && r.ready[m].is_none() {
                r.ready[m] = Some(t);
            }
            if matches!(f, Finding::Shared(_)) && r.shared[m].is_none() {
                r.shared[m] = Some(t);
            }
        }
        let done = r.page.iter().all(Option::is_some)
            && (!want_ready || r.ready.iter().all(Option::is_some));
        if done && !verify {
            break;
        }
    }
    r
}

// ---------------------------------------------------------------------------
// The runs of all cells over the threads.

fn run_cells(
    cells: &[Cell],
    seed: u64,
    threads: usize,
    verify_runs: usize,
    progress: bool,
) -> Vec<Vec<RunResult>> {
    const CHUNK: usize = 100;
    let mut work = Vec::new();
    for (ci, cell) in cells.iter().enumerate() {
        let mut start = 0;
        while start < cell.runs {
            work.push((ci, start, (start + CHUNK).min(cell.runs)));
            start += CHUNK;
        }
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Vec<RunResult>>> = Mutex::new(
        cells
            .iter()
            .map(|c| vec![RunResult::default(); c.runs])
            .collect(),
    );
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(ci, from, to)) = work.get(k) else {
                    break;
                };
                let cell = &cells[ci];
                let want_ready = matches!(cell.scenario, Scenario::Healthy { .. });
                let chunk: Vec<RunResult> = (from..to)
                    .map(|run| simulate(cell, seed, run, want_ready, run < verify_runs))
                    .collect();
                results.lock().unwrap()[ci][from..to].copy_from_slice(&chunk);
                if progress && (k + 1).is_multiple_of(50) {
                    eprintln!(
                        "  {}/{} chunks, {:.0} s",
                        k + 1,
                        work.len(),
                        started.elapsed().as_secs_f64()
                    );
                }
            });
        }
    });
    results.into_inner().unwrap()
}

// ---------------------------------------------------------------------------
// Figures.

/// Wilson score interval for `k` of `n`, 95%.
fn wilson(k: usize, n: usize) -> (f64, f64) {
    let (k, n) = (k as f64, n as f64);
    let z = 1.959_964;
    let p = k / n;
    let d = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / d;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / d;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

fn pct(x: f64) -> String {
    let v = 100.0 * x;
    if v == 0.0 {
        "0%".to_string()
    } else if v < 1.0 {
        format!("{v:.2}%")
    } else {
        format!("{v:.1}%")
    }
}

fn share_with_interval(k: usize, n: usize) -> String {
    let (lo, hi) = wilson(k, n);
    format!("{} [{}, {}]", pct(k as f64 / n as f64), pct(lo), pct(hi))
}

/// A duration in steps of 30 s, or `>cap` for a run never there.
fn duration(steps: Option<u32>, cap_hours: usize) -> String {
    match steps {
        None => format!(">{cap_hours} h"),
        Some(s) => {
            let secs = s as f64 * STEP_SECONDS as f64;
            if secs < 120.0 {
                format!("{secs:.0} s")
            } else if secs < 7200.0 {
                format!("{:.0} min", secs / 60.0)
            } else {
                format!("{:.1} h", secs / 3600.0)
            }
        }
    }
}

/// The nearest-rank quantile, a run that never got there counting as
/// later than any that did.
fn quantile(times: &[Option<u32>], q: f64) -> Option<u32> {
    let mut t: Vec<u32> = times.iter().map(|t| t.unwrap_or(u32::MAX)).collect();
    t.sort_unstable();
    let rank = ((q * t.len() as f64).ceil() as usize).clamp(1, t.len());
    Some(t[rank - 1]).filter(|&v| v != u32::MAX)
}

fn detection(times: &[Option<u32>], cap_hours: usize) -> String {
    let found = times.iter().filter(|t| t.is_some()).count();
    format!(
        "{} / {} ({})",
        duration(quantile(times, 0.5), cap_hours),
        duration(quantile(times, 0.95), cap_hours),
        pct(found as f64 / times.len() as f64)
    )
}

fn traffic_name(t: f64) -> String {
    format!("{t} req/s")
}

struct Report {
    markdown: String,
    /// A/A cells whose Sena false-page share is above α.
    violations: Vec<String>,
}

fn report(
    cells: &[Cell],
    results: &[Vec<RunResult>],
    seed: u64,
    hours: usize,
    wall: f64,
    threads: usize,
) -> Report {
    let mut md = String::new();
    let mut violations = Vec::new();
    let aa_runs = cells
        .iter()
        .find(|c| matches!(c.scenario, Scenario::Healthy { .. }))
        .map_or(0, |c| c.runs);
    let reg_runs = cells
        .iter()
        .find(|c| !matches!(c.scenario, Scenario::Healthy { .. }))
        .map_or(0, |c| c.runs);
    let _ = writeln!(
        md,
        "Method: `sena::stats::judge` (mixture likelihood ratio, anytime-valid \
         by Ville's inequality, and a CUSUM e-detector over the last 288 \
         five-minute buckets), limit 0.1%, α = 0.05; beside it the plain rule \
         `bad/total over 5m > 0.1%` with `for: 2m`. Generated by \
         `cargo run --release --example evidence_sim -- --seed {seed} --runs \
         {aa_runs} --reg-runs {reg_runs} --hours {hours}`: {aa_runs} runs per \
         A/A cell, {reg_runs} per regression cell, one evaluation every 30 s \
         for {hours} h, canary 5% of traffic (stable 19×); {wall:.0} s on {threads} \
         threads.\n"
    );
    let _ = writeln!(
        md,
        "**Healthy canary (A/A)**: share of runs with any rollback page in \
         {hours} h (95% Wilson interval), and the median time until Sena's \
         finding is first *within* (ready).\n"
    );
    let _ = writeln!(
        md,
        "| error rate | canary traffic | Sena | Sena + baseline | plain rule | Sena ready (median) |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    for (cell, runs) in cells.iter().zip(results) {
        let Scenario::Healthy { x } = cell.scenario else {
            continue;
        };
        let n = runs.len();
        let count = |e: usize| runs.iter().filter(|r| r.page[e].is_some()).count();
        for (e, name) in [(0, "Sena"), (1, "Sena + baseline")] {
            let k = count(e);
            if wilson(k, n).0 > ALPHA || k as f64 / n as f64 > ALPHA {
                violations.push(format!("{} {name}: {k}/{n}", cell.key()));
            }
        }
        let ready: Vec<Option<u32>> = runs.iter().map(|r| r.ready[0]).collect();
        let _ = writeln!(
            md,
            "| {x}× limit | {} | {} | {} | {} | {} |",
            traffic_name(cell.traffic),
            share_with_interval(count(0), n),
            share_with_interval(count(1), n),
            pct(count(2) as f64 / n as f64),
            duration(quantile(&ready, 0.5), hours),
        );
    }
    let _ = writeln!(
        md,
        "\n**Regressions**: time from the regression's start to the first \
         rollback page, median / 95th percentile (share paged within {hours} h). \
         Stable stays at 0.5× the limit; \"after 3 days\" follows three \
         healthy days at 0.5×.\n"
    );
    let _ = writeln!(
        md,
        "| canary | canary traffic | Sena | Sena + baseline | plain rule |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|");
    for (cell, runs) in cells.iter().zip(results) {
        if matches!(cell.scenario, Scenario::Healthy { .. }) {
            continue;
        }
        let times = |e: usize| -> Vec<Option<u32>> { runs.iter().map(|r| r.page[e]).collect() };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            cell.scenario.name().replace('x', "×"),
            traffic_name(cell.traffic),
            detection(&times(0), hours),
            detection(&times(1), hours),
            detection(&times(2), hours),
        );
    }
    let shared: usize = results
        .iter()
        .flatten()
        .filter(|r| r.shared[1].is_some())
        .count();
    let _ = writeln!(
        md,
        "\nIn \"3× stable, under limit\" the canary is under the limit, so a page \
         from Sena alone or the plain rule is a false one; only the comparison \
         with the baseline is meant to catch it. Runs with a *shared* finding \
         (a hold, not a page) at some evaluation: {shared}."
    );
    Report {
        markdown: md,
        violations,
    }
}

const BEGIN: &str = "<!-- evidence-sim:begin -->";
const END: &str = "<!-- evidence-sim:end -->";

/// Replaces the marked section of `doc` with `table`, if both markers are
/// there.
fn patch_doc(doc: &str, table: &str) -> std::io::Result<bool> {
    let Ok(text) = std::fs::read_to_string(doc) else {
        return Ok(false);
    };
    let (Some(b), Some(e)) = (text.find(BEGIN), text.find(END)) else {
        return Ok(false);
    };
    if e < b {
        return Ok(false);
    }
    let patched = format!("{}{BEGIN}\n{table}{}", &text[..b], &text[e..]);
    std::fs::write(doc, patched)?;
    Ok(true)
}

fn cells(aa_runs: usize, reg_runs: usize, hours: usize) -> Vec<Cell> {
    let steps = hours * STEPS_PER_HOUR;
    let mut cells = Vec::new();
    for x in [0.25, 0.5, 0.9] {
        for traffic in TRAFFIC {
            cells.push(Cell {
                scenario: Scenario::Healthy { x },
                traffic,
                runs: aa_runs,
                steps,
            });
        }
    }
    let mut regressions: Vec<Scenario> = Vec::new();
    for x in [2.0, 5.0, 10.0] {
        regressions.push(Scenario::Start { x });
    }
    for x in [2.0, 5.0, 10.0] {
        regressions.push(Scenario::Late { x });
    }
    regressions.push(Scenario::Worse3);
    for scenario in regressions {
        for traffic in TRAFFIC {
            cells.push(Cell {
                scenario,
                traffic,
                runs: reg_runs,
                steps,
            });
        }
    }
    cells
}

fn main() {
    let mut runs = 10_000usize;
    let mut reg_runs = 2_000usize;
    let mut seed = 20_240_601u64;
    let mut out = "docs/evidence-sim.md".to_string();
    let mut doc = "docs/evidence.md".to_string();
    let mut hours = 24usize;
    let mut threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut verify_runs = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| panic!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--runs" => runs = value().parse().expect("--runs N"),
            "--reg-runs" => reg_runs = value().parse().expect("--reg-runs N"),
            "--seed" => seed = value().parse().expect("--seed S"),
            "--out" => out = value(),
            "--doc" => doc = value(),
            "--hours" => hours = value().parse().expect("--hours H"),
            "--threads" => threads = value().parse().expect("--threads T"),
            "--verify-runs" => verify_runs = value().parse().expect("--verify-runs K"),
            "--help" | "-h" => {
                println!(
                    "evidence_sim [--runs N (A/A, 10000)] [--reg-runs N (2000)] [--seed S] \
                     [--out docs/evidence-sim.md] [--doc docs/evidence.md] [--hours 24] \
                     [--threads T] [--verify-runs K (1: runs checked against judge at every step)]"
                );
                return;
            }
            other => panic!("unknown flag {other}; try --help"),
        }
    }
    let cells = cells(runs, reg_runs, hours);
    let started = Instant::now();
    eprintln!(
        "evidence_sim: {} cells, seed {seed}, {threads} threads",
        cells.len()
    );
    let results = run_cells(&cells, seed, threads, verify_runs, true);
    let wall = started.elapsed().as_secs_f64();
    let report = report(&cells, &results, seed, hours, wall, threads);
    println!("{}", report.markdown);
    println!("wall time: {wall:.1} s on {threads} threads");
    if let Some(dir) = std::path::Path::new(&out).parent() {
        std::fs::create_dir_all(dir).expect("create the output folder");
    }
    std::fs::write(&out, &report.markdown).expect("write --out");
    eprintln!("wrote {out}");
    match patch_doc(&doc, &report.markdown) {
        Ok(true) => eprintln!("updated the table in {doc}"),
        Ok(false) => eprintln!("{doc}: no {BEGIN} … {END} section, left alone"),
        Err(e) => eprintln!("{doc}: {e}"),
    }
    if !report.violations.is_empty() {
        eprintln!("A/A false-page share above α: {:?}", report.violations);
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path against `stats::judge` at every step: a full day of
    /// buckets sliding, a detector window, the baseline comparison, tracks
    /// with empty buckets, and a clear canary.
    #[test]
    fn fast_path_gives_judges_finding() {
        let cases = [
            (Scenario::Late { x: 10.0 }, 1.0, 120),
            (Scenario::Late { x: 2.0 }, 10.0, 40),
            (Scenario::Healthy { x: 0.9 }, 0.2, 600),
            (Scenario::Start { x: 5.0 }, 10.0, 200),
            (Scenario::Worse3, 100.0, 200),
            (Scenario::Healthy { x: 0.25 }, 1.0, 400),
        ];
        for (scenario, traffic, steps) in cases {
            let cell = Cell {
                scenario,
                traffic,
                runs: 1,
                steps,
            };
            for run in 0..2 {
                simulate(&cell, 7, run, true, true);
            }
        }
    }

    /// A tiny version of the simulation: the 1 req/s A/A cell for 2 h has
    /// few false pages, and a tenfold regression from the start is caught.
    #[test]
    fn tiny_simulation_means_something() {
        let aa = Cell {
            scenario: Scenario::Healthy { x: 0.5 },
            traffic: 1.0,
            runs: 200,
            steps: 2 * STEPS_PER_HOUR,
        };
        let broken = Cell {
            scenario: Scenario::Start { x: 10.0 },
            ..aa
        };
        let results = run_cells(&[aa, broken], 11, 2, 0, false);
        for e in 0..2 {
            let false_pages = results[0].iter().filter(|r| r.page[e].is_some()).count();
            assert!(false_pages <= 20, "evaluator {e}: {false_pages}/200");
            let caught = results[1].iter().filter(|r| r.page[e].is_some()).count();
            assert!(caught >= 198, "evaluator {e}: {caught}/200");
        }
    }

    #[test]
    fn figures_are_formatted_as_expected() {
        assert_eq!(duration(Some(2), 24), "60 s");
        assert_eq!(duration(Some(20), 24), "10 min");
        assert_eq!(duration(Some(600), 24), "5.0 h");
        assert_eq!(duration(None, 24), ">24 h");
        assert_eq!(quantile(&[Some(1), Some(3), None, Some(2)], 0.5), Some(2));
        assert_eq!(quantile(&[Some(1), None, None], 0.5), None);
        let (lo, hi) = wilson(0, 10_000);
        assert!(lo == 0.0 && hi < 0.0005, "{hi}");
    }
}
