//! What a verified Slack interaction does. The Slack member is mapped to a
//! roster person (`people.*.slack`) and the work goes through the same
//! doors as the API: a GO and a NO-GO through `decisions::decide`
//! (`via: slack`), an Acknowledge through `transition::acknowledge`.
//!
//! - GO: decided after Slack has had its 200; the answer goes back through
//!   the press's `response_url`: the request message replaced in place
//!   ("GO by lubit at 14:02 KST → now at 10%"), an ephemeral note to the
//!   presser otherwise.
//! - NO-GO: a reason is required, which a button cannot carry, so the
//!   press opens a form (`no_go.rs`); its submission decides.
//! - Acknowledge (incident pages): `ack.rs`.
//!
//! An unknown member decides nothing but is recorded as refused; an
//! unknown member's Acknowledge is refused and acknowledges nothing.

mod ack;
mod no_go;
mod web;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::{decisions, Shared};
use crate::config::Config;
use crate::domain::{
    ApprovalRequest, Choice, DecisionAnswer, DecisionRequest, Outcome, Principal, Via,
};
use crate::server::{Button, SlackAction};

pub use no_go::submitted;

/// Slack accepts `response_url` posts for 30 minutes; one should take
/// well under this.
const POST_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn act(shared: Arc<Shared>, action: SlackAction) {
    let config = shared.config();
    let Some(slack) = config.slack.as_ref() else {
        return;
    };
    if !response_url_allowed(&action.response_url, &slack.api_url) {
        tracing::warn!(user = %action.user, "ignoring a Slack interaction whose response_url is neither Slack's nor slack.api_url's host");
        return;
    }
    let reply = match &action.button {
        Button::Go(request) | Button::NoGo(request) if request.stage_started_at.is_none() => {
            Some(ephemeral(older_button(request)))
        }
        Button::Go(request) => Some(go(&shared, &action, request).await),
        Button::NoGo(request) => no_go::open_form(&config, slack, &action, request).await,
        Button::Ack { incident } => Some(ack::ack(&shared, &action, *incident).await),
    };
    if let Some(reply) = reply {
        post(&action.response_url, &reply).await;
    }
}

/// A GO / NO-GO button of the older `ROLLOUT:STAGE` format names no
/// request, so whether its message is still the current request cannot be
/// known: refused, with the ways that still work.
fn older_button(request: &ApprovalRequest) -> String {
    let (rollout, stage) = (&request.rollout, request.stage);
    format!(
        "This button is on an older Sena message that cannot be matched to the current request for {rollout}, so nothing was decided. Use the newest request in the channel, or `sena approve {rollout} --stage {stage}` / `sena reject {rollout} --stage {stage} --comment \"why\"`."
    )
}

/// The roster person whose `slack:` is this member ID.
fn person_of(config: &Config, slack_user: &str) -> Option<String> {
    config.roster.as_ref().and_then(|roster| {
        roster
            .people
            .iter()
            .find(|(_, p)| p.slack.as_deref() == Some(slack_user))
            .map(|(name, _)| name.clone())
    })
}

/// `14:02 KST`: the roster's time zone, the one the team reads rosters in
/// (UTC without a roster).
fn local_time(config: &Config, at: jiff::Timestamp) -> String {
    let zone = config
        .roster
        .as_ref()
        .map_or(jiff::tz::TimeZone::UTC, |r| r.timezone.clone());
    clock_time(zone, at)
}

fn clock_time(zone: jiff::tz::TimeZone, at: jiff::Timestamp) -> String {
    at.to_zoned_datetime(zone).strftime("%H:%M %Z").to_string()
}

/// A decision from Slack through the one door, off the async workers.
/// `by`: the mapped person, or `slack:ID` (refused, but recorded).
async fn decide(
    shared: &Arc<Shared>,
    asked: &ApprovalRequest,
    choice: Choice,
    comment: Option<String>,
    slack_user: &str,
) -> Result<DecisionAnswer, String> {
    let person = person_of(&shared.config(), slack_user);
    let request = DecisionRequest {
        choice,
        stage: asked.stage,
        stage_started_at: asked.stage_started_at,
        comment,
        override_advice: false,
        by: Principal::Person(
            person
                .clone()
                .unwrap_or_else(|| format!("slack:{slack_user}")),
        ),
        token: None,
        slack_user: Some(slack_user.to_string()),
        via: Via::Slack,
    };
    let can_decide = person.is_some();
    let (shared, name) = (shared.clone(), asked.rollout.clone());
    let answer = tokio::task::spawn_blocking(move || {
        decisions::decide(&shared, &name, &request, can_decide)
    })
    .await;
    match answer {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

async fn go(
    shared: &Arc<Shared>,
    action: &SlackAction,
    request: &ApprovalRequest,
) -> serde_json::Value {
    let config = shared.config();
    let rollout = request.rollout.as_str();
    match decide(shared, request, Choice::Go, None, &action.user).await {
        Ok(DecisionAnswer::Decided(r)) => json!({
            "replace_original": true,
            "text": format!("GO by {} at {} → now at {}", r.by, local_time(&config, r.at), r.to_traffic),
        }),
        Ok(DecisionAnswer::Duplicate(r)) => ephemeral(format!(
            "Already decided: GO by {} at {} → now at {}",
            r.by,
            local_time(&config, r.at),
            r.to_traffic
        )),
        Ok(DecisionAnswer::Refused(r)) => ephemeral(refusal(r.outcome)),
        Ok(DecisionAnswer::UnknownRollout) => {
            ephemeral(format!("Sena has no rollout named {rollout}"))
        }
        Err(e) => {
            tracing::error!(rollout, error = %e, "a GO from Slack could not be recorded");
            ephemeral("Sena could not record the decision; try again or use `sena approve`".into())
        }
    }
}

fn refusal(outcome: Outcome) -> String {
    match outcome {
        Outcome::Refused { why, .. } => why,
        Outcome::Accepted => "refused".to_string(),
    }
}

fn ephemeral(text: String) -> serde_json::Value {
    json!({ "response_type": "ephemeral", "replace_original": false, "text": text })
}

/// Slack's own hooks host, or the host of `slack.api_url` (a proxy or the
/// tests' stand-in): a signed payload cannot send Sena's posts elsewhere.
fn response_url_allowed(url: &str, api_url: &str) -> bool {
    let origin = |u: &str| {
        let start = u.find("://")? + 3;
        let end = u[start..].find('/').map_or(u.len(), |i| start + i);
        Some(u[..end].to_string())
    };
    url.starts_with("https://hooks.slack.com/")
        || origin(api_url).is_some_and(|o| url.starts_with(&format!("{o}/")))
}

async fn post(url: &str, body: &serde_json::Value) {
    let client = reqwest::Client::builder()
        .timeout(POST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build();
    let sent = match client {
        Ok(c) => c.post(url).json(body).send().await,
        Err(e) => Err(e),
    };
    match sent.and_then(|r| r.error_for_status()) {
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e.without_url(), "could not answer a Slack interaction through its response_url")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{clock_time, response_url_allowed};

    #[test]
    fn times_read_in_the_roster_zone_with_its_abbreviation() {
        let at: jiff::Timestamp = "2026-11-29T05:02:00Z".parse().unwrap();
        let seoul = jiff::tz::TimeZone::get("Asia/Seoul").unwrap();
        assert_eq!(clock_time(seoul, at), "14:02 KST");
        assert_eq!(clock_time(jiff::tz::TimeZone::UTC, at), "05:02 UTC");
    }

    #[test]
    fn answers_go_only_to_slack_or_the_configured_host() {
        let api = "http://127.0.0.1:8089/api";
        assert!(response_url_allowed(
            "https://hooks.slack.com/actions/T/1/x",
            api
        ));
        assert!(response_url_allowed(
            "http://127.0.0.1:8089/response/1",
            api
        ));
        for bad in [
            "http://127.0.0.1:80899/response/1",
            "http://127.0.0.1:8089.evil/x",
            "https://hooks.slack.com.evil/x",
            "http://169.254.169.254/latest",
            "",
        ] {
            assert!(!response_url_allowed(bad, api), "{bad}");
        }
    }
}
