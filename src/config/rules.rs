//! Rules files: the checks a rollout runs. A file is read once, however
//! many rollouts list it; `{{ rollout }}` in a query is substituted per
//! rollout, so one file can serve every service that exposes the same
//! metrics.

use crate::domain::printable::{unprintable, Lines};
use std::path::Path;
use std::time::Duration;

use serde_saphyr::Spanned;

use super::counts::{self, CountTemplate, Form};
use super::limits;
use super::raw::{line_col, parse, source_text, Node, Value};
use super::reader::{check_http_url, text, Fields, FileDiags};
use super::value::parse_threshold_value;
use super::{BaselineQueries, Bound, Check, CountQueries, Diagnostic, NoData, OnFail, Threshold};

const FILE_KEYS: &[&str] = &["checks"];
const CHECK_KEYS: &[&str] = &[
    "name",
    "query",
    "below",
    "above",
    "for",
    "on_fail",
    "no_data",
    "description",
    "runbook_url",
    "max_series",
    "bad",
    "good",
    "total",
    "confidence",
    "min_total",
    "vs",
];
const ON_FAIL: &[(&str, OnFail)] = &[("rollback", OnFail::Rollback), ("hold", OnFail::Hold)];
const NO_DATA: &[(&str, NoData)] = &[("hold", NoData::Hold), ("ignore", NoData::Ignore)];

/// One check as written, before `{{ rollout }}` is substituted.
#[derive(Clone, Debug)]
pub(crate) struct RuleCheck {
    pub name: Spanned<String>,
    pub query_template: String,
    pub threshold: Threshold,
    pub for_duration: Duration,
    pub on_fail: OnFail,
    pub no_data: NoData,
    pub description: Option<String>,
    pub runbook_url: Option<String>,
    /// The check's own `max_series`; `prometheus.max_series` otherwise.
    pub max_series: Option<usize>,
    /// The line the check starts on, for `defined_at`.
    pub line: u64,
    /// The count form (`bad:`/`good:` and `total:`); `query_template` is
    /// then their ratio over 5 minutes, for links and messages.
    pub counts: Option<CountTemplate>,
}

impl RuleCheck {
    /// The check as `rollout` runs it; `source` is the rules path as the
    /// config names it, so advisories say `rules/canary.yaml:3`.
    pub fn instantiate(&self, rollout: &str, source: &str, default_max_series: usize) -> Check {
        Check {
            name: self.name.value.clone(),
            query: render(&self.query_template, rollout),
            threshold: self.threshold,
            for_duration: self.for_duration,
            on_fail: self.on_fail,
            no_data: self.no_data,
            description: self.description.clone(),
            runbook_url: self.runbook_url.clone(),
            max_series: self.max_series.unwrap_or(default_max_series),
            defined_at: format!("{source}:{}", self.line),
            counts: self.counts.as_ref().map(|c| CountQueries {
                share: c.share,
                part: render(&c.part, rollout),
                total: render(&c.total, rollout),
                confidence: c.confidence,
                min_total: c.min_total,
                baseline: c.baseline.as_ref().map(|b| BaselineQueries {
                    part: render(&b.part, rollout),
                    total: render(&b.total, rollout),
                    max_ratio: b.max_ratio,
                    floor: b.floor,
                    swapped: b.swapped.clone(),
                }),
            }),
        }
    }
}

/// Every check that reads cleanly, and every problem in the file. A check
/// with an error is left out; the caller fails the load anyway.
pub(crate) fn parse_rules(src: &str, file: &Path) -> (Vec<RuleCheck>, Vec<Diagnostic>) {
    let root = match parse(src, file) {
        Ok(root) => root,
        Err(syntax) => return (Vec::new(), vec![syntax]),
    };
    let mut d = FileDiags::new(file);
    let mut checks = Vec::new();
    if matches!(root.value, super::raw::Value::Null) {
        // Reported at the top, not where the parser gave up (after comments).
        d.list.push(Diagnostic::error(
            file,
            1,
            1,
            "the rules file is empty; it needs a `checks:` list",
        ));
    } else if let Some(f) = Fields::read(&mut d, &root, "a rules file", FILE_KEYS) {
        if let Some(items) = f
            .required(&mut d, "checks")
            .and_then(|n| super::reader::list(&mut d, "checks", n))
        {
            checks = items
                .iter()
                .filter_map(|item| read_check(&mut d, src, item))
                .collect();
        }
    }
    (checks, d.list)
}

fn read_check(d: &mut FileDiags, src: &str, node: &Node) -> Option<RuleCheck> {
    let errors_before = d.list.len();
    let f = Fields::read(d, node, "a check", CHECK_KEYS)?;
    let name = f.required_text(d, "name");
    if let Some(name) = &name {
        // A rules file may come from someone else's pull request, reviewed
        // with `sena backtest --rules`: its names reach the reviewer's
        // terminal.
        if let Some(why) = unprintable(&name.value, Lines::One) {
            d.error(&name.referenced, format!("a check's `name` cannot contain {why}; it is printed in terminals (`sena check`, `sena backtest`), Slack and metric labels"));
        }
    }
    let threshold = threshold(d, src, &f, name.as_ref());
    let form = counts::read(d, src, &f, threshold.as_ref());
    let query = match &form {
        Form::Plain => f.required_text(d, "query"),
        _ => None,
    };
    if let Some(query) = &query {
        check_placeholders(d, src, query, false);
    }
    let for_duration = limits::for_duration(d, &f);
    let on_fail = f.choice(d, "on_fail", ON_FAIL, OnFail::Hold);
    let no_data = f.choice(d, "no_data", NO_DATA, NoData::Hold);
    let description = f.text(d, "description").map(|s| s.value.trim().to_string());
    let runbook_url = f
        .text(d, "runbook_url")
        .and_then(|url| match check_http_url(&url.value) {
            Ok(()) => Some(url.value),
            Err(e) => {
                d.error(&url.referenced, format!("`runbook_url` {e}"));
                None
            }
        });
    let max_series = f
        .get("max_series")
        .map(|_| f.count(d, "max_series", usize::MAX));
    if d.list[errors_before..].iter().any(Diagnostic::is_error) {
        return None;
    }
    let (query_template, counts) = match form {
        Form::Plain => (query?.value.trim().to_string(), None),
        Form::Counts(c) => (c.display_query(), Some(c)),
        Form::Invalid => return None,
    };
    Some(RuleCheck {
        max_series,
        line: line_col(&f.at).0,
        name: name?,
        query_template,
        counts,
        threshold: threshold?,
        for_duration,
        on_fail,
        no_data,
        description,
        runbook_url,
    })
}

/// Exactly one of `below` / `above`. Both set: reported at the one written
/// second, as that is usually the one added by mistake.
fn threshold(
    d: &mut FileDiags,
    src: &str,
    f: &Fields,
    name: Option<&Spanned<String>>,
) -> Option<Threshold> {
    let (bound, node) = match (f.get("below"), f.get("above")) {
        (Some(below), Some(above)) => {
            let second = if line_col(&above.referenced) > line_col(&below.referenced) {
                above
            } else {
                below
            };
            d.error(
                &second.referenced,
                "`below` and `above` are both set; a check has one threshold, keep one",
            );
            return None;
        }
        (None, None) => {
            let at = name.map_or(f.at, |n| n.referenced);
            d.error(&at, "check has no threshold; add `below:` (healthy while the value stays under it) or `above:`");
            return None;
        }
        (Some(below), None) => (Bound::Below, below),
        (None, Some(above)) => (Bound::Above, above),
    };
    let key = if bound == Bound::Below {
        "below"
    } else {
        "above"
    };
    if node.value.scalar_text().is_none() {
        let found = node.value.kind();
        d.error(
            &node.referenced,
            format!("`{key}` must be a number, a percentage or a duration, found {found}"),
        );
        return None;
    }
    let mut written = text(d, key, node)?;
    // A YAML number is converted before Sena sees it (`1e-400` to 0, `.nan`
    // to NaN); judge the limit the author wrote.
    if let (Value::Number(_), Some(source)) = (&node.value, source_text(src, &node.referenced)) {
        written.value = source.trim().to_string();
    }
    match parse_threshold_value(&written.value) {
        Ok((value, unit)) => {
            let threshold = Threshold { bound, value, unit };
            limits::threshold_warnings(d, &threshold, &written);
            Some(threshold)
        }
        Err(e) => {
            d.error(&written.referenced, e);
            None
        }
    }
}

/// A `{{ ... }}` in a query, as byte offsets into it.
enum Placeholder<'q> {
    Rollout,
    /// `{{ window }}`: a count query's range, chosen by Sena per window.
    Window,
    Unknown(&'q str),
    Unclosed,
}

/// Splits a query into literal text and placeholders.
fn scan(query: &str) -> Vec<(&str, Option<Placeholder<'_>>)> {
    let mut parts = Vec::new();
    let mut rest = query;
    while let Some(open) = rest.find("{{") {
        let (literal, tail) = rest.split_at(open);
        match tail.find("}}") {
            Some(close) => {
                let raw = &tail[..close + 2];
                let kind = match raw[2..close].trim() {
                    "rollout" => Placeholder::Rollout,
                    "window" => Placeholder::Window,
                    _ => Placeholder::Unknown(raw),
                };
                parts.push((literal, Some(kind)));
                rest = &tail[close + 2..];
            }
            None => {
                parts.push((literal, Some(Placeholder::Unclosed)));
                rest = "";
            }
        }
    }
    parts.push((rest, None));
    parts
}

/// The query with `{{ rollout }}` (spaces optional) replaced by the rollout
/// name, and `{{ window }}` kept, spelled as [`WINDOW`] for evaluation to
/// replace. Other placeholders were rejected at load.
pub(crate) fn render(template: &str, rollout: &str) -> String {
    let mut out = String::with_capacity(template.len());
    for (literal, placeholder) in scan(template) {
        out.push_str(literal);
        match placeholder {
            Some(Placeholder::Rollout) => out.push_str(rollout),
            Some(Placeholder::Window) => out.push_str(WINDOW),
            _ => {}
        }
    }
    out
}

/// A template with its `{{ window }}` spelled as [`WINDOW`] and `{{ rollout }}`
/// kept as written (for templates shown before a rollout is known).
pub(crate) fn render_windowless(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    for (literal, placeholder) in scan(template) {
        out.push_str(literal);
        match placeholder {
            Some(Placeholder::Rollout) => out.push_str("{{ rollout }}"),
            Some(Placeholder::Window) => out.push_str(WINDOW),
            _ => {}
        }
    }
    out
}

/// How a rendered count query spells its window placeholder.
pub const WINDOW: &str = "{{ window }}";

/// Whether a query has a `{{ window }}` placeholder.
pub(crate) fn has_window(query: &str) -> bool {
    scan(query)
        .iter()
        .any(|(_, p)| matches!(p, Some(Placeholder::Window)))
}

/// `sena check`'s hint: a `histogram_quantile` limit is a statement about
/// counts ("p95 < 2s" is "fewer than 5% of requests slower than 2s"), and
/// as counts Sena can say how sure it is.
pub fn quantile_hint(check: &Check) -> Option<String> {
    let q = quantile_of(&check.query)?;
    let t = &check.threshold;
    if check.counts.is_some() || t.bound != Bound::Below || t.unit != super::Unit::Seconds {
        return None;
    }
    let pct = |share: f64| crate::domain::format::trim_float((share * 100.0 * 1e6).round() / 1e6);
    let limit = t.format_value(t.value);
    Some(format!(
        "`p{} {t}` is `fewer than {}% of requests slower than {limit}`: as counts, Sena can judge it with a stated confidence; write `good:` (the requests in the histogram bucket `le=\"{}\"`), `total:` (all requests) and `above: {}%`, as rules/canary.yaml does",
        pct(q),
        pct(1.0 - q),
        crate::domain::format::trim_float(t.value),
        pct(q),
    ))
}

/// The quantile of a `histogram_quantile(0.95, ...)` query.
fn quantile_of(query: &str) -> Option<f64> {
    let at = query.find("histogram_quantile")?;
    let rest = query[at + "histogram_quantile".len()..].trim_start();
    let args = rest.strip_prefix('(')?;
    let end = args.find(',')?;
    args[..end]
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|q| *q > 0.0 && *q < 1.0)
}

/// Reports each placeholder other than `{{ rollout }}`, at the placeholder
/// itself when it can be found in the source (the query's own location
/// otherwise: folded or escaped scalars do not map back char for char).
pub(crate) fn check_placeholders(
    d: &mut FileDiags,
    src: &str,
    query: &Spanned<String>,
    window_allowed: bool,
) {
    for (_, placeholder) in scan(&query.value) {
        let (needle, message) = match placeholder {
            Some(Placeholder::Window) if !window_allowed => (
                "{{",
                "`{{ window }}` is only for count queries (`bad:`, `good:`, `total:`); a plain `query:` has a fixed range".to_string(),
            ),
            Some(Placeholder::Unknown(raw)) => (
                raw,
                format!(
                    "unknown placeholder `{raw}` in query; only `{{{{ rollout }}}}` is substituted"
                ),
            ),
            Some(Placeholder::Unclosed) => {
                ("{{", "`{{` without a closing `}}` in query".to_string())
            }
            _ => continue,
        };
        match find_in_source(src, query, needle) {
            Some((line, column)) => d
                .list
                .push(Diagnostic::error(&d.file, line, column, message)),
            None => d.error(&query.referenced, message),
        }
    }
}

/// Line and column of `needle` in the source text of `value`.
fn find_in_source(src: &str, value: &Spanned<String>, needle: &str) -> Option<(u64, u64)> {
    let start = usize::try_from(value.referenced.span().byte_offset()?).ok()?;
    // The source of a block scalar is its text plus indentation per line.
    let lines = value.value.lines().count() + 1;
    let window = value.value.len() + lines * (line_col(&value.referenced).1 as usize + 4);
    let end = src.len().min(start.saturating_add(window));
    let found = start + src.get(start..end)?.find(needle)?;
    let before = &src[..found];
    let line = before.matches('\n').count() as u64 + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() as u64 + 1;
    Some((line, column))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(src: &str) -> Vec<String> {
        parse_rules(src, Path::new("r.yaml"))
            .1
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn reads_a_check_with_defaults() {
        let (checks, diags) = parse_rules(
            "checks:\n  - name: up\n    query: up{app=\"{{rollout}}\"}\n    above: 0.5\n",
            Path::new("r.yaml"),
        );
        assert!(diags.is_empty(), "{diags:?}");
        let check = checks[0].instantiate("web", "rules/r.yaml", 1000);
        assert_eq!(check.query, "up{app=\"web\"}");
        assert_eq!(check.threshold.bound, Bound::Above);
        assert_eq!(
            (check.on_fail, check.no_data, check.for_duration),
            (OnFail::Hold, NoData::Hold, Duration::ZERO)
        );
        assert_eq!(check.defined_at, "rules/r.yaml:2");
    }

    #[test]
    fn max_series_overrides_the_default() {
        let (checks, diags) = parse_rules(
            "checks:\n  - name: a\n    query: x\n    above: 1\n    max_series: 5_000\n  - name: b\n    query: y\n    above: 1\n",
            Path::new("r.yaml"),
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(
            checks[0].instantiate("web", "r.yaml", 1000).max_series,
            5000
        );
        assert_eq!(
            checks[1].instantiate("web", "r.yaml", 1000).max_series,
            1000
        );
    }

    #[test]
    fn every_problem_in_a_file_is_reported() {
        let src = "checks:\n  - name: a\n    query: x\n    below: 1\n    above: 2\n  - name: b\n    query: y\n    on_fail: rolback\n    fro: 1m\n";
        assert_eq!(
            lines(src),
            [
                "r.yaml:5:12: `below` and `above` are both set; a check has one threshold, keep one",
                "r.yaml:9:5: unknown key `fro`, did you mean `for`?",
                "r.yaml:6:11: check has no threshold; add `below:` (healthy while the value stays under it) or `above:`",
                "r.yaml:8:14: unknown on_fail value `rolback`, did you mean `rollback`?",
            ]
        );
    }

    /// `sena backtest --rules` printed such a name raw: ESC reached the
    /// reviewer's terminal, a line break split the line.
    #[test]
    fn names_with_control_characters_or_bidi_overrides_are_refused() {
        for (name, why) in [
            ("\"x\\u001b[31my\"", "control characters"),
            ("\"x\\ny\"", "line breaks"),
            ("\"x\\u202eevil\"", "bidirectional overrides"),
            ("\"x\\u2066y\"", "bidirectional overrides"),
        ] {
            let src = format!("checks:\n  - name: {name}\n    query: x\n    below: 1\n");
            let (checks, diags) = parse_rules(&src, Path::new("r.yaml"));
            assert!(checks.is_empty(), "{name}");
            let text = diags
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n");
            assert!(
                text.starts_with("r.yaml:2:11: a check's `name` cannot contain"),
                "{name}: {text}"
            );
            assert!(text.contains(why), "{name}: {text}");
        }
        let (checks, diags) = parse_rules(
            "checks:\n  - name: \"5xx ratio · café <p99>\"\n    query: x\n    below: 1\n",
            Path::new("r.yaml"),
        );
        assert_eq!(checks.len(), 1, "{diags:?}");
    }

    #[test]
    fn placeholders_are_located_in_block_scalars() {
        let src = "checks:\n  - name: a\n    below: 1\n    query: |\n      sum(x{app=\"{{ rollout }}\"})\n        / sum(x{env=\"{{ env }}\"})\n";
        assert_eq!(
            lines(src),
            ["r.yaml:6:22: unknown placeholder `{{ env }}` in query; only `{{ rollout }}` is substituted"]
        );
        assert_eq!(render("a{{rollout}}b{{  rollout }}", "x"), "axbx");
    }

    #[test]
    fn empty_file_needs_checks() {
        assert_eq!(
            lines("# nothing\n"),
            ["r.yaml:1:1: the rules file is empty; it needs a `checks:` list"]
        );
        assert_eq!(lines("{}"), ["r.yaml:1:1: missing required key `checks`"]);
    }
}
