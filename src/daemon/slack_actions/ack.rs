//! An incident page's Acknowledge button: the Slack member is mapped to a
//! roster person and the ack goes through the same transition as
//! `POST /api/v1/incidents/{id}/ack`, so escalation stops the same way and
//! a second click changes nothing (the incident keeps its first ack). The
//! page is then replaced in place: its evidence stays, the button goes,
//! and a line says who acknowledged and when. A member the roster does not
//! know is refused and acknowledges nothing.

use std::sync::Arc;

use serde_json::json;

use super::{ephemeral, local_time, person_of, Shared};
use crate::daemon::transition;
use crate::server::SlackAction;

pub(super) async fn ack(shared: &Arc<Shared>, action: &SlackAction, id: i64) -> serde_json::Value {
    let config = shared.config();
    let Some(person) = person_of(&config, &action.user) else {
        tracing::info!(incident = id, user = %action.user, "refused an Acknowledge from a Slack member the roster does not know");
        return ephemeral(format!(
            "Sena does not know your Slack account ({}), so it cannot acknowledge for you: a roster person needs `slack: {}`.",
            action.user, action.user
        ));
    };
    let s = shared.clone();
    let done = tokio::task::spawn_blocking(move || transition::acknowledge(&s, id, &person)).await;
    let incident = match done {
        Ok(Ok(Some(incident))) => incident,
        Ok(Ok(None)) => return ephemeral(format!("Sena has no incident {id}")),
        Ok(Err(e)) => {
            tracing::error!(incident = id, error = %e, "an Acknowledge from Slack could not be recorded");
            return ephemeral(
                "Sena could not record the acknowledgement; try again or use `sena ack`".into(),
            );
        }
        Err(e) => {
            tracing::error!(incident = id, error = %e, "an Acknowledge from Slack could not be recorded");
            return ephemeral(
                "Sena could not record the acknowledgement; try again or use `sena ack`".into(),
            );
        }
    };
    let (Some(by), Some(at)) = (&incident.acked_by, incident.acked_at) else {
        // Closed before anyone acknowledged: nothing is paging any more.
        return ephemeral(format!(
            "Incident {id} is closed; there is nothing to acknowledge"
        ));
    };
    // The incident's own ack, not this click's: a double click (or a
    // second person) shows the same line as the first.
    let line = format!("Acknowledged by {by} at {}", local_time(&config, at));
    match &action.blocks {
        Some(blocks) => json!({
            "replace_original": true,
            "text": line,
            "blocks": without_ack_button(blocks, &line),
        }),
        None => json!({ "replace_original": true, "text": line }),
    }
}

/// The page's blocks minus the actions block holding the Acknowledge
/// button, with the ack as a context line at the end.
fn without_ack_button(blocks: &[serde_json::Value], line: &str) -> Vec<serde_json::Value> {
    let holds_ack = |b: &serde_json::Value| {
        b["type"] == "actions"
            && b["elements"]
                .as_array()
                .is_some_and(|e| e.iter().any(|el| el["action_id"] == "sena_ack"))
    };
    let mut kept: Vec<serde_json::Value> =
        blocks.iter().filter(|b| !holds_ack(b)).cloned().collect();
    kept.truncate(49);
    kept.push(json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": format!(":white_check_mark: {line}") }],
    }));
    kept
}

#[cfg(test)]
mod tests {
    use super::without_ack_button;
    use serde_json::json;

    #[test]
    fn the_page_keeps_its_evidence_and_loses_only_the_button() {
        let blocks = vec![
            json!({"type": "header"}),
            json!({"type": "actions", "elements": [{"action_id": "sena_ack", "value": "3"}]}),
            json!({"type": "actions", "elements": [{"action_id": "theirs"}]}),
        ];
        let kept = without_ack_button(&blocks, "Acknowledged by lubit at 14:02 KST");
        assert_eq!(kept.len(), 3, "{kept:#?}");
        assert_eq!(kept[1]["elements"][0]["action_id"], "theirs");
        assert!(kept[2]["elements"][0]["text"]
            .as_str()
            .unwrap()
            .ends_with("Acknowledged by lubit at 14:02 KST"));
        let many = vec![json!({"type": "section"}); 60];
        assert_eq!(without_ack_button(&many, "x").len(), 50, "Slack's limit");
    }
}
