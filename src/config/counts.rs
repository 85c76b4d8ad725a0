//! The count form of a check: `bad:` (or `good:`) and `total:` queries
//! instead of one `query:`, so Sena judges "3 bad of 1,412 requests" with a
//! stated confidence rather than a bare ratio; and `vs:`, the baseline the
//! canary is compared with. Each query carries `{{ window }}` where its
//! range goes (`increase(x[{{ window }}])`): Sena chooses the windows (the
//! stage so far, and 5-minute buckets for the change detector).

use serde_saphyr::Spanned;

use super::raw::Node;
use super::reader::{Fields, FileDiags};
use super::rules::{check_placeholders, has_window};
use super::value::parse_threshold_value;
use super::{Bound, Threshold, Unit};
use crate::domain::Share;

const VS_KEYS: &[&str] = &["labels", "bad", "good", "total", "max_ratio", "floor"];

/// The default: 95% confident, the mission's own wording.
pub const DEFAULT_CONFIDENCE: f64 = 0.95;
/// The default `vs.max_ratio`: the canary may be up to twice as bad.
pub const DEFAULT_MAX_RATIO: f64 = 2.0;

/// A count check as written, before `{{ rollout }}` is substituted.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CountTemplate {
    pub share: Share,
    pub part: String,
    pub total: String,
    pub confidence: f64,
    pub min_total: f64,
    pub baseline: Option<BaselineTemplate>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BaselineTemplate {
    pub part: String,
    pub total: String,
    pub max_ratio: f64,
    /// In the check's notation (a good share for `good:` checks).
    pub floor: Option<f64>,
    /// Labels swapped by `vs.labels`, ignored when the two tracks' series
    /// are matched.
    pub swapped: Vec<String>,
}

impl CountTemplate {
    /// The ratio the counts stand for, over 5 minutes: what a person
    /// graphs from an advisory's link.
    pub fn display_query(&self) -> String {
        let five = |q: &str| q.replace(super::rules::WINDOW, "5m");
        let (part, total) = (
            super::rules::render_windowless(&self.part),
            super::rules::render_windowless(&self.total),
        );
        format!("({})\n/\n({})", five(&part), five(&total))
    }
}

/// What the check's keys say about its form.
pub(crate) enum Form {
    /// `query:` — a plain value check.
    Plain,
    Counts(CountTemplate),
    /// The count form with errors (already reported).
    Invalid,
}

/// Reads the count keys of a check; `Plain` when it has none of them.
pub(crate) fn read(
    d: &mut FileDiags,
    src: &str,
    f: &Fields,
    threshold: Option<&Threshold>,
) -> Form {
    let (bad, good) = (f.get("bad"), f.get("good"));
    if bad.is_none() && good.is_none() {
        for key in ["total", "confidence", "min_total", "vs"] {
            if let Some(k) = f.key(key) {
                d.error(
                    &k.referenced,
                    format!("`{key}` belongs to a count check; add `bad:` (or `good:`) and `total:` queries, or remove `{key}`"),
                );
            }
        }
        return Form::Plain;
    }
    let errors_before = d.list.len();
    if let Some(q) = f.key("query") {
        d.error(
            &q.referenced,
            "a check has `query:` or count queries (`bad:`/`good:` with `total:`), not both; remove one",
        );
    }
    let share = match (bad, good) {
        (Some(_), Some(good)) => {
            d.error(
                &good.referenced,
                "`bad` and `good` are both set; a count check counts one of them against `total`",
            );
            Share::Bad
        }
        (Some(_), None) => Share::Bad,
        _ => Share::Good,
    };
    let part_key = share.noun();
    let part = count_query(d, src, f, part_key);
    let total = count_query(d, src, f, "total");
    if f.get("total").is_none() {
        d.error(
            &f.at,
            format!("a count check needs `total:`, the query counting every request that `{part_key}:` is a share of"),
        );
    }
    if let Some(t) = threshold {
        check_limit(d, f, share, t);
    }
    let confidence = share_value(d, f, "confidence").unwrap_or(DEFAULT_CONFIDENCE);
    if let Some(node) = f.get("confidence") {
        if !(0.5..=0.999_999).contains(&confidence) {
            d.error(
                &node.referenced,
                "`confidence` must be between 50% and 99.9999%; 95% is the usual choice",
            );
        }
    }
    let min_total = f
        .get("min_total")
        .map(|_| f.count(d, "min_total", 1) as f64)
        .unwrap_or(0.0);
    let baseline = f.get("vs").and_then(|node| {
        read_vs(
            d,
            src,
            node,
            share,
            part.as_ref().map(|q| q.value.as_str()),
            total.as_ref().map(|q| q.value.as_str()),
        )
    });
    if d.list[errors_before..].iter().any(|x| x.is_error()) {
        return Form::Invalid;
    }
    match (part, total) {
        (Some(part), Some(total)) => Form::Counts(CountTemplate {
            share,
            part: part.value.trim().to_string(),
            total: total.value.trim().to_string(),
            confidence,
            min_total,
            baseline,
        }),
        _ => Form::Invalid,
    }
}

/// A count query: text, known placeholders, and `{{ window }}` present.
fn count_query(d: &mut FileDiags, src: &str, f: &Fields, key: &str) -> Option<Spanned<String>> {
    let q = f.text(d, key)?;
    check_placeholders(d, src, &q, true);
    if !has_window(&q.value) {
        d.error(
            &q.referenced,
            format!("`{key}` needs `{{{{ window }}}}` where its range goes, like `sum(increase(http_requests_total{{...}}[{{{{ window }}}}]))`: Sena asks for the counts over the windows it judges"),
        );
    }
    Some(q)
}

/// The limit of a count check is a share: `bad` below it, `good` above it.
fn check_limit(d: &mut FileDiags, f: &Fields, share: Share, t: &Threshold) {
    let key = t.bound.as_str();
    let at = f.get(key).map_or(f.at, |n| n.referenced);
    match (share, t.bound) {
        (Share::Bad, Bound::Above) => d.error(
            &at,
            "a `bad:` count check limits the bad share from above: write `below:` (for example `below: 0.1%`)",
        ),
        (Share::Good, Bound::Below) => d.error(
            &at,
            "a `good:` count check keeps the good share high: write `above:` (for example `above: 95%`)",
        ),
        _ => {}
    }
    if t.unit == Unit::Seconds {
        d.error(
            &at,
            format!("a count check's limit is a share of requests, not a duration; for latency count the requests slower than it (`{key}: 5%` of requests over 2s)"),
        );
    } else if !(t.value > 0.0 && t.value < 1.0) {
        d.error(
            &at,
            format!("a count check's limit is a share strictly between 0% and 100%; `{key}: {}` can never be judged from counts", t.format_value(t.value)),
        );
    }
}

/// A share written as `95%` or `0.95`, `None` when absent or wrong.
fn share_value(d: &mut FileDiags, f: &Fields, key: &str) -> Option<f64> {
    let node = f.get(key)?;
    let text = node.value.scalar_text().unwrap_or_default();
    match parse_threshold_value(&text) {
        Ok((v, Unit::Percent | Unit::Plain)) if v.is_finite() && (0.0..=1.0).contains(&v) => {
            Some(v)
        }
        _ => {
            d.error(
                &node.referenced,
                format!("`{key}` must be a share like `95%` or `0.95`"),
            );
            None
        }
    }
}

fn read_vs(
    d: &mut FileDiags,
    src: &str,
    node: &Node,
    share: Share,
    part: Option<&str>,
    total: Option<&str>,
) -> Option<BaselineTemplate> {
    let f = Fields::read(d, node, "`vs`", VS_KEYS)?;
    let other_part = match share {
        Share::Bad => "good",
        Share::Good => "bad",
    };
    if let Some(k) = f.key(other_part) {
        d.error(
            &k.referenced,
            format!(
                "the baseline counts what the check counts: write `{}:` here, as the check does",
                share.noun()
            ),
        );
    }
    let max_ratio = match f.get("max_ratio") {
        None => DEFAULT_MAX_RATIO,
        Some(n) => match n.value.scalar_text().map(|t| t.trim().parse::<f64>()) {
            Some(Ok(r)) if (1.0..=1e6).contains(&r) => r,
            _ => {
                d.error(
                    &n.referenced,
                    "`max_ratio` must be a number of at least 1: how many times the baseline's bad share the canary may reach (2 allows twice as many)",
                );
                DEFAULT_MAX_RATIO
            }
        },
    };
    let floor = share_value(d, &f, "floor");
    if let (Some(v), Some(node)) = (floor, f.get("floor")) {
        if !(v > 0.0 && v < 1.0) {
            d.error(
                &node.referenced,
                "`floor` is a share strictly between 0% and 100%: a canary confidently on the healthy side of it is no regression, however it compares; leave it out for none",
            );
        }
    }
    let mut swapped = Vec::new();
    let (base_part, base_total) = match f.get("labels") {
        Some(labels_node) => {
            for key in [share.noun(), "total"] {
                if let Some(k) = f.key(key) {
                    d.error(
                        &k.referenced,
                        "`vs` takes `labels:` (to swap in the check's own queries) or its own queries, not both",
                    );
                }
            }
            let pairs = read_labels(d, labels_node)?;
            let mut swap = |query: Option<&str>, key: &str| -> Option<String> {
                let mut q = query?.to_string();
                for (label, value) in &pairs {
                    match swap_label(&q, &label.value, value) {
                        Some(next) => q = next,
                        None => {
                            d.error(
                                &label.referenced,
                                format!("`{}` has no `{}=\"...\"` matcher in `{key}:` to swap; write the baseline's own `vs: {{{}: ..., total: ...}}` instead", label.value, label.value, share.noun()),
                            );
                            return None;
                        }
                    }
                }
                Some(q)
            };
            let p = swap(part, share.noun()).map(|q| q.trim().to_string());
            let t = swap(total, "total").map(|q| q.trim().to_string());
            swapped = pairs.iter().map(|(k, _)| k.value.clone()).collect();
            (p?, t?)
        }
        None => {
            let p = count_query(d, src, &f, share.noun());
            let t = count_query(d, src, &f, "total");
            if p.is_none() || t.is_none() {
                d.error(
                    &f.at,
                    format!("`vs` needs `labels:` (like `labels: {{track: stable}}`) or both `{}:` and `total:` queries for the baseline", share.noun()),
                );
                return None;
            }
            (p?.value.trim().to_string(), t?.value.trim().to_string())
        }
    };
    Some(BaselineTemplate {
        part: base_part,
        total: base_total,
        max_ratio,
        floor,
        swapped,
    })
}

fn read_labels(d: &mut FileDiags, node: &Node) -> Option<Vec<(Spanned<String>, String)>> {
    let super::raw::Value::Map(entries) = &node.value else {
        d.error(
            &node.referenced,
            "`labels` must be a mapping of label to the baseline's value, like `{track: stable}`",
        );
        return None;
    };
    let mut pairs = Vec::new();
    for (key, value) in entries {
        let valid = !key.value.is_empty()
            && key
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !key.value.starts_with(|c: char| c.is_ascii_digit());
        match value.value.scalar_text() {
            Some(v) if valid && !v.contains(['"', '\\', '\n']) => pairs.push((key.clone(), v)),
            _ => {
                d.error(
                    &key.referenced,
                    "a `labels` entry is a label name and a plain value, like `track: stable`",
                );
                return None;
            }
        }
    }
    if pairs.is_empty() {
        d.error(&node.referenced, "`labels` is empty; name the label that tells the baseline apart, like `{track: stable}`");
        return None;
    }
    Some(pairs)
}

/// `query` with every `label="…"` matcher's value replaced by `value`;
/// `None` when it has none.
pub(crate) fn swap_label(query: &str, label: &str, value: &str) -> Option<String> {
    let mut out = String::with_capacity(query.len());
    let mut rest = query;
    let mut found = false;
    while let Some(at) = rest.find(label) {
        let before_ok = query.len() - rest.len() + at == 0
            || !out
                .chars()
                .chain(rest[..at].chars())
                .last()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        let after = &rest[at + label.len()..];
        let trimmed = after.trim_start();
        let is_matcher = before_ok
            && trimmed.starts_with('=')
            && !trimmed.starts_with("==")
            && trimmed[1..].trim_start().starts_with('"');
        if !is_matcher {
            out.push_str(&rest[..at + label.len()]);
            rest = after;
            continue;
        }
        let open = after.len() - trimmed[1..].trim_start().len();
        let quoted = &after[open + 1..];
        let Some(close) = closing_quote(quoted) else {
            out.push_str(rest);
            return found.then_some(out);
        };
        out.push_str(&rest[..at + label.len()]);
        out.push_str(&after[..open + 1]);
        out.push_str(value);
        out.push('"');
        rest = &quoted[close + 1..];
        found = true;
    }
    out.push_str(rest);
    found.then_some(out)
}

fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swaps_exact_matchers_only() {
        assert_eq!(
            swap_label(
                r#"sum(x{app="web",track="canary"}[{{ window }}])"#,
                "track",
                "stable"
            )
            .as_deref(),
            Some(r#"sum(x{app="web",track="stable"}[{{ window }}])"#)
        );
        assert_eq!(
            swap_label(r#"x{subtrack="a", track = "c\"x"}"#, "track", "stable").as_deref(),
            Some(r#"x{subtrack="a", track = "stable"}"#)
        );
        assert_eq!(swap_label(r#"x{track!="canary"}"#, "track", "s"), None);
        assert_eq!(swap_label(r#"x{app="web"}"#, "track", "s"), None);
    }
}
