//! What a verified Slack button press does, after Slack has had its 200:
//! the Slack member is mapped to a roster person (`people.*.slack`), a GO
//! goes through the one decision door (`decisions::decide`, `via: slack`),
//! and the answer goes back through the press's `response_url`: the
//! request message replaced in place on a GO ("GO by lubit → now at 10%"),
//! an ephemeral note to the presser otherwise. An unknown member decides
//! nothing but is recorded as refused. A NO-GO needs a reason a button
//! cannot carry, so it records nothing and says how to give one.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::{decisions, Shared};
use crate::domain::{Choice, DecisionAnswer, DecisionRequest, Outcome, Principal, Via};
use crate::server::SlackAction;

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
    let (r, s) = (&action.rollout, action.stage);
    let reply = match action.choice {
        Choice::NoGo => ephemeral(format!(
            "A NO-GO needs a reason, which a button cannot carry. Run `sena reject {r} --stage {s} --comment \"why\"`, or POST /api/v1/rollouts/{r}/decisions with {{\"decision\": \"no_go\", \"stage\": {s}, \"comment\": \"why\"}}."
        )),
        Choice::Go => go(&shared, &action).await,
    };
    post(&action.response_url, &reply).await;
}

async fn go(shared: &Arc<Shared>, action: &SlackAction) -> serde_json::Value {
    let person = shared.config().roster.as_ref().and_then(|roster| {
        roster
            .people
            .iter()
            .find(|(_, p)| p.slack.as_deref() == Some(action.user.as_str()))
            .map(|(name, _)| name.clone())
    });
    let request = DecisionRequest {
        choice: Choice::Go,
        stage: action.stage,
        comment: None,
        override_advice: false,
        by: Principal::Person(
            person
                .clone()
                .unwrap_or_else(|| format!("slack:{}", action.user)),
        ),
        token: None,
        // The Slack member ID beside the person, for the record.
        slack_user: Some(action.user.clone()),
        via: Via::Slack,
    };
    let can_decide = person.is_some();
    let (shared, rollout) = (shared.clone(), action.rollout.clone());
    let answer = tokio::task::spawn_blocking(move || {
        decisions::decide(&shared, &rollout, &request, can_decide)
    })
    .await;
    match answer {
        Ok(Ok(DecisionAnswer::Decided(r))) => json!({
            "replace_original": true,
            "text": format!("GO by {} → now at {}", r.by, r.to_traffic),
        }),
        Ok(Ok(DecisionAnswer::Duplicate(r))) => ephemeral(format!(
            "Already decided: GO by {} → now at {}",
            r.by, r.to_traffic
        )),
        Ok(Ok(DecisionAnswer::Refused(r))) => match r.outcome {
            Outcome::Refused { why, .. } => ephemeral(why),
            Outcome::Accepted => ephemeral("refused".to_string()),
        },
        Ok(Ok(DecisionAnswer::UnknownRollout)) => {
            ephemeral(format!("Sena has no rollout named {}", action.rollout))
        }
        Ok(Err(e)) => {
            tracing::error!(rollout = %action.rollout, error = %e, "a GO from Slack could not be recorded");
            ephemeral("Sena could not record the decision; try again or use `sena approve`".into())
        }
        Err(e) => {
            tracing::error!(rollout = %action.rollout, error = %e, "a GO from Slack could not be recorded");
            ephemeral("Sena could not record the decision; try again or use `sena approve`".into())
        }
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
    use super::response_url_allowed;

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
