//! The advisory as a Slack Block Kit message. Laid out to be read at a
//! glance on a phone: headline, a two-column grid of the facts (rollout,
//! stage, verdict, paged, next), then one section per troubled check with its
//! value against its limit, the series that broke, and links to the graph and
//! runbook; healthy checks collapse into one context line.
//!
//! People are mentioned as `<@ID>` because only a mention makes Slack notify
//! them; the *next* level is named but not mentioned, since a mention would
//! page them before their turn.

use slack_morphism::prelude::*;

use crate::domain::CheckStatus;
use crate::domain::Verdict;
use crate::notify::{Advisory, AdvisoryKind};
use crate::roster::Person;

use super::untrusted::{mrkdwn, mrkdwn_code};

/// Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks):
/// Slack rejects the whole message when one is exceeded.
const HEADER_MAX: usize = 150;
const SECTION_TEXT_MAX: usize = 3000;
const FIELD_MAX: usize = 2000;
/// 50 blocks per message; header, facts, divider, passing and footer take 5.
const MAX_CHECK_SECTIONS: usize = 40;

/// `interactive`: Slack interactivity is set up (`slack.signing_secret_file`),
/// so a "ready to expand" message carries GO / NO-GO buttons and an
/// incident page an Acknowledge button.
pub fn slack_message(
    a: &Advisory,
    recipients: &[Person],
    interactive: bool,
) -> SlackMessageContent {
    let mut blocks: Vec<SlackBlock> = slack_blocks![SlackHeaderBlock::new(pt!(cut(
        &format!("{} {}", emoji(a), a.headline()),
        HEADER_MAX
    )))];

    let mut intro = Vec::new();
    if let Some(kind) = super::kind_text(a) {
        intro.push(format!("*{}*", mrkdwn(&kind)));
    }
    if !a.reason.is_empty() {
        intro.push(mrkdwn(&super::reason(a)));
    }
    let mut facts = SlackSectionBlock::new().with_fields(fields(a, recipients));
    if !intro.is_empty() {
        facts = facts.with_text(md!(cut(&intro.join("\n"), SECTION_TEXT_MAX)));
    }
    blocks.push(facts.into());

    let (troubled, passing): (Vec<_>, Vec<_>) = super::ordered_checks(a)
        .into_iter()
        .partition(|c| c.status != CheckStatus::Passing);
    if !troubled.is_empty() {
        blocks.push(SlackDividerBlock::new().into());
    }
    for check in troubled.iter().take(MAX_CHECK_SECTIONS) {
        blocks.push(
            SlackSectionBlock::new()
                .with_text(md!(cut(&check_text(a, check), SECTION_TEXT_MAX)))
                .into(),
        );
    }
    let mut healthy: Vec<String> = passing
        .iter()
        .map(|c| {
            // A count check's counts and interval, not its whole story:
            // the context line stays one line per check.
            let evidence = super::check_facts(a, c)
                .evidence
                .first()
                .map(|e| format!(" ({})", mrkdwn(e)))
                .unwrap_or_default();
            format!(
                ":white_check_mark: {} {}{evidence}",
                mrkdwn(&c.name),
                mrkdwn(&super::measurement(c))
            )
        })
        .collect();
    if troubled.len() > MAX_CHECK_SECTIONS {
        healthy.push(format!(
            "{} more checks not shown",
            troubled.len() - MAX_CHECK_SECTIONS
        ));
    }
    if !healthy.is_empty() {
        let line: SlackContextBlockElement = md!(cut(&healthy.join("   "), SECTION_TEXT_MAX));
        blocks.push(SlackContextBlock::new(vec![line]).into());
    }
    if interactive {
        if let Some(buttons) = decision_buttons(a).or_else(|| ack_button(a)) {
            blocks.push(buttons.into());
        }
    }
    let footer: SlackContextBlockElement = md!(footer(a));
    blocks.push(SlackContextBlock::new(vec![footer]).into());

    SlackMessageContent::new()
        .with_text(slack_fallback(a, recipients))
        .with_blocks(blocks)
}

/// The one-line `text` Slack shows in notifications and on clients without
/// Block Kit. It carries the mentions too, so the push notification names
/// who must act.
pub fn slack_fallback(a: &Advisory, recipients: &[Person]) -> String {
    let mut line = mrkdwn(&a.headline());
    if a.verdict != Verdict::Continue
        && !matches!(a.kind, AdvisoryKind::Resolved | AdvisoryKind::Removed)
    {
        if let Some(worst) = super::deciding_check(a) {
            line.push_str(&format!(
                ": {} {}",
                mrkdwn(&worst.name),
                mrkdwn(&super::measurement(worst))
            ));
        }
    }
    let mentions = paged_mentions(a, recipients);
    if !mentions.is_empty() {
        line.push_str(&format!(" — {mentions}"));
    }
    line
}

fn fields(a: &Advisory, recipients: &[Person]) -> Vec<SlackBlockText> {
    let mut fields: Vec<(String, String)> = vec![
        ("Rollout".into(), mrkdwn(&a.rollout)),
        (
            "Stage".into(),
            format!("{} · {} traffic", a.stage_index, mrkdwn(&a.traffic)),
        ),
        ("Verdict".into(), a.verdict.as_str().to_string()),
    ];
    if let Some(lasted) =
        super::deciding_check(a).and_then(|c| super::check_facts(a, c).breaching_for)
    {
        fields.push(("Breaching".into(), lasted));
    }
    let mentions = paged_mentions(a, recipients);
    if !mentions.is_empty() {
        // Nobody is being paged once it is over or when asking for approval.
        let label = match a.kind {
            AdvisoryKind::Resolved | AdvisoryKind::Removed | AdvisoryKind::ReadyToExpand => {
                "Notified"
            }
            _ => "Paged",
        };
        fields.push((label.into(), mentions));
    }
    if let Some(incident) = &a.incident {
        if let Some(next) = &incident.next {
            if incident.acknowledged_by.is_none() {
                fields.push(("Next".into(), mrkdwn(&super::next_text(a, next))));
            }
        }
        if let Some(by) = super::acknowledged_by(a) {
            fields.push(("Acknowledged".into(), format!("by {}", mrkdwn(&by))));
        }
    }
    if let Some(e) = &a.ready_to_expand {
        fields.push((
            "Approval".into(),
            format!(
                "{} to expand to {}",
                mrkdwn(&e.approver),
                mrkdwn(&e.next_traffic)
            ),
        ));
    }
    fields
        .into_iter()
        .take(10) // a section holds at most 10 fields
        .map(|(k, v)| md!(cut(&format!("*{k}*\n{v}"), FIELD_MAX)))
        .collect()
}

fn check_text(a: &Advisory, check: &crate::domain::CheckResult) -> String {
    let facts = super::check_facts(a, check);
    let icon = match check.status {
        CheckStatus::Failing => ":red_circle:",
        CheckStatus::Error | CheckStatus::NoData => ":large_orange_circle:",
        _ => ":large_yellow_circle:",
    };
    let mut text = format!(
        "{icon} *{}* {} · `{}`",
        mrkdwn(&check.name),
        super::status_label(check.status),
        mrkdwn_code(&facts.measurement)
    );
    if let Some(breach) = &facts.breach {
        text.push_str(&format!(" · {breach}"));
    }
    for fact in &facts.evidence {
        text.push_str(&format!("\n{}", mrkdwn(fact)));
    }
    for series in &facts.broken_series {
        text.push_str(&format!("\n• `{}`", mrkdwn_code(series)));
    }
    if facts.more_series > 0 {
        text.push_str(&format!("\n• … and {} more series", facts.more_series));
    }
    if let Some(description) = &check.description {
        text.push_str(&format!("\n_{}_", mrkdwn(description.trim())));
    }
    let mut links = vec![format!(
        "<{}|:chart_with_upwards_trend: Graph>",
        link(&facts.graph_url)
    )];
    if let Some(runbook) = facts.runbook_url {
        links.push(format!("<{}|:book: Runbook>", link(runbook)));
    }
    text.push('\n');
    text.push_str(&links.join(" · "));
    text
}

fn footer(a: &Advisory) -> String {
    // `<!date^…>` shows each reader the time in their own zone.
    let mut parts = vec![format!("Sena · {}", slack_date(a.at))];
    if let Some(incident) = &a.incident {
        let slot = incident
            .slot
            .as_deref()
            .map(|s| format!(" ({})", mrkdwn(s)))
            .unwrap_or_default();
        parts.push(format!(
            "incident #{}{slot} opened {}",
            incident.id,
            slack_date(incident.opened_at)
        ));
    }
    parts.join(" · ")
}

fn slack_date(t: jiff::Timestamp) -> String {
    format!(
        "<!date^{}^{{date_short_pretty}} {{time}}|{}>",
        t.as_second(),
        super::utc(t)
    )
}

/// `<@U0SENA>` for people with a Slack ID; the bold name otherwise, so an
/// incomplete roster entry still shows who was meant.
fn paged_mentions(a: &Advisory, recipients: &[Person]) -> String {
    let people = super::paged_people(a, recipients);
    let mentions: Vec<String> = people.iter().map(|p| mention(p)).collect();
    mentions.join(" ")
}

fn mention(p: &Person) -> String {
    // Slack IDs are alphanumeric; anything else would break the `<@…>` syntax.
    match p
        .slack
        .as_deref()
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        Some(id) => format!("<@{id}>"),
        None => format!("*{}*", mrkdwn(&p.name)),
    }
}

/// GO / NO-GO for the stage a "ready to expand" message asks about, each
/// behind a confirm dialog. The value names the request (`domain::request`:
/// rollout, stage and when the stage began), so a click on an old message
/// is judged against the request it was about and refused once that is
/// no longer the current one.
fn decision_buttons(a: &Advisory) -> Option<SlackActionsBlock> {
    let expansion = a.ready_to_expand.as_ref()?;
    if a.kind != AdvisoryKind::ReadyToExpand {
        return None;
    }
    let value = crate::domain::ApprovalRequest {
        rollout: a.rollout.clone(),
        stage: a.stage_index,
        stage_started_at: expansion.stage_started_at,
    }
    .to_value();
    let confirm = |title: String, text: String, yes: &str| SlackBlockConfirmItem {
        title: pt!(cut(&title, 100)),
        text: SlackBlockText::MarkDown(SlackBlockMarkDownText::new(cut(&text, SECTION_TEXT_MAX))),
        confirm: pt!(yes),
        deny: pt!("Cancel"),
        style: None,
    };
    let go =
        SlackBlockButtonElement::new(pt!(cut(&format!("GO to {}", expansion.next_traffic), 75)))
            .with_action_id("sena_go".into())
            .with_value(value.clone())
            .with_style(SlackBlockButtonStyle::Primary)
            .with_confirm(confirm(
                format!("GO to {}?", expansion.next_traffic),
                format!(
                    "{} moves to {} and its bake starts again.",
                    mrkdwn(&a.rollout),
                    mrkdwn(&expansion.next_traffic)
                ),
                "GO",
            ));
    let no_go = SlackBlockButtonElement::new(pt!("NO-GO"))
        .with_action_id("sena_no_go".into())
        .with_value(value)
        .with_style(SlackBlockButtonStyle::Danger)
        .with_confirm(confirm(
            "NO-GO?".to_string(),
            format!(
                "{} stays at {}; Sena will ask for the reason.",
                mrkdwn(&a.rollout),
                mrkdwn(&a.traffic)
            ),
            "NO-GO",
        ));
    Some(SlackActionsBlock::new(vec![go.into(), no_go.into()]))
}

/// Acknowledge on a page nobody has acknowledged yet (opened, reminded,
/// escalated). The value is the incident id; who acknowledges comes from
/// the signed click, never from the message. No confirm dialog: an ack
/// only stops escalation, and a second click changes nothing.
fn ack_button(a: &Advisory) -> Option<SlackActionsBlock> {
    let incident = a.incident.as_ref()?;
    let paging = matches!(
        a.kind,
        AdvisoryKind::Opened | AdvisoryKind::Reminder | AdvisoryKind::Escalated
    );
    if !paging || incident.acknowledged_by.is_some() {
        return None;
    }
    let ack = SlackBlockButtonElement::new(pt!("Acknowledge"))
        .with_action_id("sena_ack".into())
        .with_value(incident.id.to_string())
        .with_style(SlackBlockButtonStyle::Primary);
    Some(SlackActionsBlock::new(vec![ack.into()]))
}

fn emoji(a: &Advisory) -> &'static str {
    match (a.kind, a.verdict) {
        (AdvisoryKind::Resolved, _) => "✅",
        (AdvisoryKind::Removed, _) => "⏹️",
        (_, Verdict::Rollback) => "🚨",
        (_, Verdict::Hold) => "⚠️",
        (_, Verdict::Continue) => "🟢",
    }
}

/// A URL inside `<url|label>`: `|` and `>` would end it early, `<` open another.
fn link(url: &str) -> String {
    url.trim()
        .replace('|', "%7C")
        .replace('<', "%3C")
        .replace('>', "%3E")
}

/// Cut to Slack's limit at a character boundary, saying that it was cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    fn json(a: &Advisory, recipients: &[Person]) -> (serde_json::Value, String) {
        let v = serde_json::to_value(slack_message(a, recipients, false)).unwrap();
        let all = v.to_string();
        (v, all)
    }

    #[test]
    fn message_carries_value_limit_mention_and_links() {
        let (v, all) = json(&rollback_advisory(), &[]);
        assert_eq!(v["blocks"][0]["type"], "header");
        assert_eq!(
            v["blocks"][0]["text"]["text"],
            "🚨 ROLL BACK checkout-api at 5%"
        );
        assert!(all.contains("`0.42% &gt; 0.1%`"), "{all}");
        assert!(all.contains("breaching for 12m"));
        assert!(all.contains("region=\\\"eu-west\\\" 0.42%"), "{all}");
        assert!(all.contains("<@U0SENA>"));
        assert!(!all.contains("<@U0COPILOT>"), "next level named, not paged");
        assert!(all.contains("copilot (level 1) in 18m"));
        assert!(all.contains("<https://wiki.example.com/runbooks/canary-errors|:book: Runbook>"));
        assert!(all.contains("<http://prometheus:9090/graph?g0.expr=sum%28rate"));
        assert!(all.contains("_Share of canary requests answered 5xx_"));
        assert!(all.contains(":white_check_mark: latency_p95 1.2s &lt; 2s"));
        let fallback = v["text"].as_str().unwrap();
        assert_eq!(
            fallback,
            "ROLL BACK checkout-api at 5%: error_rate 0.42% &gt; 0.1% — <@U0SENA>"
        );
    }

    #[test]
    fn failing_checks_come_before_healthy_ones() {
        let mut a = rollback_advisory();
        a.checks.reverse();
        let (_, all) = json(&a, &[]);
        assert!(all.find("error_rate").unwrap() < all.find("latency_p95").unwrap());
    }

    #[test]
    fn recipients_are_mentioned_once_and_markup_is_escaped() {
        let mut a = rollback_advisory();
        a.checks[0].description = Some("<!channel> & <script>alert(1)</script>".into());
        let no_slack = Person {
            name: "ops<team>".into(),
            slack: None,
            email: None,
        };
        let (_, all) = json(
            &a,
            &[
                person("sena", "U0SENA"),
                person("lubit", "U0LUBIT"),
                no_slack,
            ],
        );
        assert_eq!(
            all.matches("<@U0SENA>").count(),
            2,
            "field and fallback: {all}"
        );
        assert!(all.contains("<@U0LUBIT>"));
        assert!(all.contains("*ops&lt;team&gt;*"));
        assert!(all.contains("&lt;!channel&gt; &amp; &lt;script&gt;"));
        assert!(!all.contains("<!channel>"));
    }

    #[test]
    fn acknowledged_incident_shows_who_and_drops_next() {
        let mut a = rollback_advisory();
        a.kind = AdvisoryKind::Acknowledged;
        a.incident.as_mut().unwrap().acknowledged_by = Some("sena".into());
        let (_, all) = json(&a, &[]);
        assert!(all.contains("*Acknowledged*\\nby sena"), "{all}");
        assert!(!all.contains("*Next*"));
    }

    #[test]
    fn oversized_content_stays_within_block_kit_limits() {
        let mut a = rollback_advisory();
        a.rollout = "r".repeat(400);
        a.checks[0].description = Some("d".repeat(5000));
        let v = serde_json::to_value(slack_message(&a, &[], false)).unwrap();
        assert!(
            v["blocks"][0]["text"]["text"]
                .as_str()
                .unwrap()
                .chars()
                .count()
                <= HEADER_MAX
        );
        for block in v["blocks"].as_array().unwrap() {
            if let Some(t) = block["text"]["text"].as_str() {
                assert!(t.chars().count() <= SECTION_TEXT_MAX);
            }
        }
    }

    #[test]
    fn a_ready_message_carries_go_and_no_go_buttons_only_when_interactive() {
        let a = ready_advisory();
        let v = serde_json::to_value(slack_message(&a, &[], true)).unwrap();
        let actions: Vec<&serde_json::Value> = v["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["type"] == "actions")
            .collect();
        assert_eq!(actions.len(), 1, "{v:#}");
        let buttons = actions[0]["elements"].as_array().unwrap();
        // The request: rollout, stage and when the stage began (ms).
        let value = format!("{}:{}:1795924800250", a.rollout, a.stage_index);
        assert_eq!(buttons[0]["action_id"], "sena_go");
        assert_eq!(buttons[0]["style"], "primary");
        assert_eq!(buttons[0]["value"], value.as_str());
        assert!(buttons[0]["text"]["text"]
            .as_str()
            .unwrap()
            .starts_with("GO to "));
        assert!(buttons[0]["confirm"]["title"].is_object(), "{v:#}");
        assert_eq!(buttons[1]["action_id"], "sena_no_go");
        assert_eq!(buttons[1]["style"], "danger");
        assert!(buttons[1]["confirm"]["confirm"].is_object(), "{v:#}");

        let plain = serde_json::to_value(slack_message(&a, &[], false)).unwrap();
        assert!(!plain.to_string().contains("\"actions\""), "{plain:#}");
        let page = serde_json::to_value(slack_message(&rollback_advisory(), &[], true)).unwrap();
        assert!(
            !page.to_string().contains("sena_go"),
            "only a ready message asks"
        );
    }

    #[test]
    fn an_unacknowledged_page_carries_acknowledge_only_when_interactive() {
        let a = rollback_advisory();
        let id = a.incident.as_ref().expect("a page has an incident").id;
        let v = serde_json::to_value(slack_message(&a, &[], true)).unwrap();
        let buttons: Vec<&serde_json::Value> = v["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["type"] == "actions")
            .flat_map(|b| b["elements"].as_array().unwrap())
            .collect();
        assert_eq!(buttons.len(), 1, "{v:#}");
        assert_eq!(buttons[0]["action_id"], "sena_ack");
        assert_eq!(buttons[0]["value"], id.to_string());
        assert_eq!(buttons[0]["text"]["text"], "Acknowledge");

        let plain = serde_json::to_value(slack_message(&a, &[], false)).unwrap();
        assert!(!plain.to_string().contains("sena_ack"), "{plain:#}");
        let mut acked = a.clone();
        if let Some(i) = acked.incident.as_mut() {
            i.acknowledged_by = Some("lubit".into());
        }
        let acked = serde_json::to_value(slack_message(&acked, &[], true)).unwrap();
        assert!(!acked.to_string().contains("sena_ack"), "{acked:#}");
        let mut resolved = a;
        resolved.kind = AdvisoryKind::Resolved;
        let resolved = serde_json::to_value(slack_message(&resolved, &[], true)).unwrap();
        assert!(!resolved.to_string().contains("sena_ack"), "{resolved:#}");
    }

    #[test]
    fn count_checks_carry_their_evidence_as_lines_of_their_own() {
        let (v, all) = json(&count_rollback_advisory(), &[]);
        assert!(all.contains("`1.2% &gt; 0.1%` · breaching for 12m\\n90 bad of 20,000 requests since the stage began · 95% interval 0.36%–0.55%\\nrecent: 24 bad of 2,000 requests since 2025-10-22 12:05 UTC (1.2%)"), "{all}");
        assert!(
            all.contains(
                "*error_rate_new_region* insufficient evidence · `0% so far (limit &lt; 0.1%)`"
            ),
            "{all}"
        );
        assert!(
            all.contains("needs about 3,771 requests to confirm &lt; 0.1% at 95%"),
            "{all}"
        );
        assert!(all.contains(":white_check_mark: error_rate_eu 0.0474% &lt; 0.1% (41 bad of 86,412 requests since the stage began · 95% interval 0.02%–0.062%)"), "{all}");
        assert_eq!(
            v["text"].as_str().unwrap(),
            "ROLL BACK checkout-api at 5%: error_rate 1.2% &gt; 0.1% — <@U0SENA>"
        );
        let (_, shared) = json(&count_shared_hold_advisory(), &[]);
        assert!(shared.contains("baseline: 600 bad of 57,000 requests (1.0526%): hold, the stable track is failing too"), "{shared}");
    }
}
