//! NO-GO from Slack: a reason is required, so the button opens a form
//! (`views.open` with the press's `trigger_id`) holding one required,
//! multi-line "Why NO-GO?" field. The form carries the rollout, the stage
//! and the request message in `private_metadata`; Slack hands them back
//! with the submission (signed like every interaction), which goes through
//! the one decision door with the reason as the comment. A blank reason
//! or a refusal is answered inside the form; an accepted NO-GO replaces
//! the request message ("NO-GO by lubit at 14:02 KST: reason").

use std::sync::Arc;

use serde_json::json;

use super::web::{self, UPDATE_TIMEOUT, VIEWS_OPEN_TIMEOUT};
use super::{decide, ephemeral, local_time, refusal, Shared};
use crate::config::{Config, SlackConfig};
use crate::domain::printable::{unprintable, Lines};
use crate::domain::{ApprovalRequest, Choice, DecisionAnswer, DecisionRecord};
use crate::notify::render::mrkdwn;
use crate::server::{
    MessageRef, NoGoMetadata, SlackAction, SlackNoGo, NO_GO_CALLBACK, REASON_ACTION, REASON_BLOCK,
    REASON_MAX_CHARS,
};

/// Opens the form; `Some` is an ephemeral note for the presser when it
/// cannot be opened (with the CLI/API way to say NO-GO instead).
pub(super) async fn open_form(
    config: &Config,
    slack: &SlackConfig,
    action: &SlackAction,
    request: &ApprovalRequest,
) -> Option<serde_json::Value> {
    let (rollout, stage) = (request.rollout.as_str(), request.stage);
    let instead = format!(
        "Run `sena reject {rollout} --stage {stage} --comment \"why\"`, or POST /api/v1/rollouts/{rollout}/decisions with {{\"decision\": \"no_go\", \"stage\": {stage}, \"comment\": \"why\"}}."
    );
    let Some(trigger_id) = &action.trigger_id else {
        return Some(ephemeral(format!(
            "Slack sent no trigger_id, so Sena cannot ask for the reason here. {instead}"
        )));
    };
    let metadata = NoGoMetadata {
        rollout: rollout.to_string(),
        stage,
        stage_started_at: request.stage_started_at,
        message: action.message.clone(),
    };
    let traffic = config
        .rollout(rollout)
        .and_then(|r| r.stages.get(stage))
        .map(|s| s.traffic.to_string());
    let view = form(&metadata, traffic.as_deref());
    let body = json!({ "trigger_id": trigger_id, "view": view });
    match web::call(slack, "views.open", &body, VIEWS_OPEN_TIMEOUT).await {
        Ok(_) => None,
        Err(code) => {
            tracing::warn!(rollout, error = %code, "could not open the NO-GO form in Slack");
            Some(ephemeral(format!(
                "Sena could not open the NO-GO form ({code}). {instead}"
            )))
        }
    }
}

/// The modal. Rollout names are letters, digits, `_`, `.` and `-`, so
/// they need no escaping; the metadata is Sena's own JSON.
fn form(metadata: &NoGoMetadata, traffic: Option<&str>) -> serde_json::Value {
    let stays = match traffic {
        Some(t) => format!("*{}* stays at {t}", metadata.rollout),
        None => format!("*{}* stays where it is", metadata.rollout),
    };
    json!({
        "type": "modal",
        "callback_id": NO_GO_CALLBACK,
        "private_metadata": serde_json::to_string(metadata).unwrap_or_default(),
        "title": { "type": "plain_text", "text": "NO-GO" },
        "submit": { "type": "plain_text", "text": "NO-GO" },
        "close": { "type": "plain_text", "text": "Cancel" },
        "blocks": [
            {
                "type": "section",
                "text": { "type": "mrkdwn", "text": format!(
                    "{stays} until a later GO or `sena stage`. The reason goes to the channel and into the decision record."
                ) },
            },
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": { "type": "plain_text", "text": "Why NO-GO?" },
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_ACTION,
                    "multiline": true,
                    "max_length": REASON_MAX_CHARS,
                },
            },
        ],
    })
}

/// A submitted form, decided before Slack's answer; `Err` is shown under
/// the reason field. Runs in its own task, so the message update happens
/// even when the server has stopped waiting.
pub async fn submitted(shared: Arc<Shared>, no_go: SlackNoGo) -> Result<(), String> {
    if no_go.reason.is_empty() {
        return Err("A NO-GO needs a reason: say why the rollout should hold.".into());
    }
    if no_go.reason.chars().count() > REASON_MAX_CHARS {
        return Err(format!(
            "Keep the reason under {REASON_MAX_CHARS} characters."
        ));
    }
    if let Some(bad) = unprintable(&no_go.reason, Lines::Many) {
        return Err(format!(
            "The reason cannot contain {bad}; line breaks are fine."
        ));
    }
    let asked = ApprovalRequest {
        rollout: no_go.rollout.clone(),
        stage: no_go.stage,
        stage_started_at: no_go.stage_started_at,
    };
    if asked.stage_started_at.is_none() {
        return Err(super::older_button(&asked));
    }
    let answer = decide(
        &shared,
        &asked,
        Choice::NoGo,
        Some(no_go.reason.clone()),
        &no_go.user,
    )
    .await;
    match answer {
        Ok(DecisionAnswer::Decided(r)) | Ok(DecisionAnswer::Duplicate(r)) => {
            if let Some(message) = no_go.message {
                tokio::spawn(update(shared, message, r));
            }
            Ok(())
        }
        Ok(DecisionAnswer::Refused(r)) => Err(refusal(r.outcome)),
        Ok(DecisionAnswer::UnknownRollout) => {
            Err(format!("Sena has no rollout named {}", no_go.rollout))
        }
        Err(e) => {
            tracing::error!(rollout = %no_go.rollout, error = %e, "a NO-GO from Slack could not be recorded");
            Err("Sena could not record the decision; try again or use `sena reject`".into())
        }
    }
}

/// The request message, replaced in place: the buttons go, the decision
/// stays. The reason is the decider's free text: escaped, so it cannot
/// mention `@channel` or fake a link.
async fn update(shared: Arc<Shared>, message: MessageRef, r: DecisionRecord) {
    let config = shared.config();
    let Some(slack) = config.slack.as_ref() else {
        return;
    };
    let text = format!(
        "NO-GO by {} at {}: {}",
        r.by,
        local_time(&config, r.at),
        mrkdwn(r.comment.as_deref().unwrap_or_default())
    );
    let body = json!({
        "channel": message.channel,
        "ts": message.ts,
        "text": text,
        "blocks": [{ "type": "section", "text": { "type": "mrkdwn", "text": text } }],
    });
    if let Err(code) = web::call(slack, "chat.update", &body, UPDATE_TIMEOUT).await {
        tracing::warn!(rollout = %r.rollout, error = %code, "could not update the approval request after a NO-GO");
    }
}
