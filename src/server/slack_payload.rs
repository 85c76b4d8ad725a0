//! What a verified Slack interaction says, read from its form-encoded
//! `payload`: a button press (`block_actions`: GO, NO-GO, Acknowledge) or
//! the NO-GO reason form sent back (`view_submission`). Everything else is
//! well-formed but none of Sena's business (`Ok(None)`, answered 200).
//! Every field that reaches a decision, a URL or a message is checked here,
//! so the daemon works with typed values only.

use serde::Deserialize;

use crate::domain::ApprovalRequest;

/// A block_actions payload carries the whole message it came from (50
/// blocks of up to 3000 characters at most); a larger body is refused
/// unread.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The NO-GO modal's `callback_id`: a submission of any other view is not
/// Sena's.
pub const NO_GO_CALLBACK: &str = "sena_no_go";
/// The modal's reason input: its `block_id` (where errors are shown) and
/// the `action_id` of its text field.
pub const REASON_BLOCK: &str = "sena_reason";
pub const REASON_ACTION: &str = "reason";
/// A reason longer than this is refused in the modal (the input's own
/// `max_length` says the same).
pub const REASON_MAX_CHARS: usize = 2000;

/// A verified interaction Sena acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlackInteraction {
    Press(SlackAction),
    NoGoReason(SlackNoGo),
}

/// Which of Sena's buttons was pressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Button {
    Go(ApprovalRequest),
    /// Opens the reason form; decides nothing by itself.
    NoGo(ApprovalRequest),
    /// An incident page's Acknowledge.
    Ack {
        incident: i64,
    },
}

/// One button press, as far as Sena needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlackAction {
    /// The Slack member ID (`user.id`): stable, unlike display names.
    pub user: String,
    pub button: Button,
    /// Where the answer goes; checked by the daemon before it posts.
    pub response_url: String,
    /// Opens a modal (`views.open`) within 3 s of the press.
    pub trigger_id: Option<String>,
    /// The message the button is on, for `chat.update` later.
    pub message: Option<MessageRef>,
    /// That message's blocks as Slack sent them, so an update in place can
    /// keep the evidence and drop only the buttons.
    pub blocks: Option<Vec<serde_json::Value>>,
}

/// A message Sena posted: its channel ID and `ts`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct MessageRef {
    pub channel: String,
    pub ts: String,
}

/// The NO-GO modal, submitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlackNoGo {
    pub user: String,
    pub rollout: String,
    pub stage: usize,
    /// When the stage of the request began (see `domain::request`); `None`
    /// from a form opened on an older button.
    pub stage_started_at: Option<jiff::Timestamp>,
    /// As typed, trimmed; empty when nothing but blanks was typed.
    pub reason: String,
    /// The request message the NO-GO answers, updated in place after.
    pub message: Option<MessageRef>,
}

/// What Sena puts in the modal's `private_metadata` (Slack hands it back
/// verbatim with the submission; at most 3000 characters).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct NoGoMetadata {
    pub rollout: String,
    pub stage: usize,
    /// The request's stage start, from the button that opened the form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_started_at: Option<jiff::Timestamp>,
    #[serde(default)]
    pub message: Option<MessageRef>,
}

#[derive(Deserialize)]
struct Kind {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct BlockActions {
    user: User,
    actions: Vec<Action>,
    response_url: String,
    #[serde(default)]
    trigger_id: Option<String>,
    #[serde(default)]
    container: Option<Container>,
    #[serde(default)]
    message: Option<Message>,
}

#[derive(Deserialize)]
struct User {
    id: String,
}

#[derive(Deserialize)]
struct Action {
    action_id: String,
    #[serde(default)]
    value: String,
}

#[derive(Deserialize)]
struct Container {
    #[serde(default)]
    channel_id: Option<String>,
    #[serde(default)]
    message_ts: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    blocks: Option<Vec<serde_json::Value>>,
}

#[derive(Deserialize)]
struct ViewSubmission {
    user: User,
    view: View,
}

#[derive(Deserialize)]
struct View {
    #[serde(default)]
    callback_id: String,
    #[serde(default)]
    private_metadata: String,
    state: ViewState,
}

#[derive(Deserialize)]
struct ViewState {
    values: serde_json::Map<String, serde_json::Value>,
}

/// The `payload` field of a form-encoded body, parsed. `Ok(None)`: a
/// well-formed interaction Sena has no business with (another type or
/// another button), answered 200 and ignored.
pub fn parse(body: &[u8]) -> Result<Option<SlackInteraction>, String> {
    if body.len() > MAX_BODY_BYTES {
        return Err(format!("the body is longer than {MAX_BODY_BYTES} bytes"));
    }
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string())?;
    let payload = text
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "payload")
        .map(|(_, v)| url_decode(v))
        .ok_or("no `payload` field")??;
    let read = |e: serde_json::Error| format!("the payload is not one Sena reads: {e}");
    let kind: Kind = serde_json::from_str(&payload).map_err(read)?;
    match kind.kind.as_str() {
        "block_actions" => press(serde_json::from_str(&payload).map_err(read)?),
        "view_submission" => submission(serde_json::from_str(&payload).map_err(read)?),
        _ => Ok(None),
    }
}

fn press(p: BlockActions) -> Result<Option<SlackInteraction>, String> {
    let Some(action) = p.actions.first() else {
        return Err("block_actions without actions".into());
    };
    let button = match action.action_id.as_str() {
        "sena_go" => Button::Go(approval_request(&action.value)?),
        "sena_no_go" => Button::NoGo(approval_request(&action.value)?),
        "sena_ack" => Button::Ack {
            incident: action
                .value
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or("the Acknowledge button's value is not an incident id")?,
        },
        _ => return Ok(None),
    };
    let user = member_id(p.user.id)?;
    let trigger_id = p
        .trigger_id
        .filter(|t| !t.is_empty() && t.len() <= 255 && t.bytes().all(|b| b.is_ascii_graphic()));
    let message = p
        .container
        .and_then(|c| message_ref(c.channel_id?, c.message_ts?));
    Ok(Some(SlackInteraction::Press(SlackAction {
        user,
        button,
        response_url: p.response_url,
        trigger_id,
        message,
        blocks: p.message.and_then(|m| m.blocks).filter(|b| b.len() <= 50),
    })))
}

fn submission(p: ViewSubmission) -> Result<Option<SlackInteraction>, String> {
    if p.view.callback_id != NO_GO_CALLBACK {
        return Ok(None);
    }
    let meta: NoGoMetadata = serde_json::from_str(&p.view.private_metadata)
        .map_err(|_| "the NO-GO form's private_metadata is not Sena's")?;
    if meta.rollout.is_empty() || meta.rollout.len() > 200 {
        return Err("the NO-GO form names no rollout".into());
    }
    let message = meta.message.and_then(|m| message_ref(m.channel, m.ts));
    // A required input left blank arrives as `null`; a missing block is a
    // form Sena did not build.
    let field = p
        .view
        .state
        .values
        .get(REASON_BLOCK)
        .and_then(|b| b.get(REASON_ACTION))
        .ok_or("the NO-GO form has no reason field")?;
    let reason = match field.get("value") {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.trim().to_string(),
        Some(_) => return Err("the NO-GO reason is not text".into()),
    };
    Ok(Some(SlackInteraction::NoGoReason(SlackNoGo {
        user: member_id(p.user.id)?,
        rollout: meta.rollout,
        stage: meta.stage,
        stage_started_at: meta.stage_started_at,
        reason,
        message,
    })))
}

/// `ROLLOUT:STAGE:MILLIS` (or the older `ROLLOUT:STAGE`), as the GO /
/// NO-GO buttons carry it.
fn approval_request(value: &str) -> Result<ApprovalRequest, String> {
    ApprovalRequest::from_value(value)
        .ok_or_else(|| "the button's value is not ROLLOUT:STAGE:MILLIS".to_string())
}

fn member_id(id: String) -> Result<String, String> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err("`user.id` is not a Slack member ID".into());
    }
    Ok(id)
}

/// Channel IDs are alphanumeric, a `ts` is digits and one dot; anything
/// else is dropped rather than sent back to Slack.
fn message_ref(channel: String, ts: String) -> Option<MessageRef> {
    let channel_ok = !channel.is_empty()
        && channel.len() <= 64
        && channel.bytes().all(|b| b.is_ascii_alphanumeric());
    let ts_ok =
        !ts.is_empty() && ts.len() <= 32 && ts.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    (channel_ok && ts_ok).then_some(MessageRef { channel, ts })
}

/// `application/x-www-form-urlencoded` decoding; invalid UTF-8 is an error.
fn url_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or("a bad %-escape in the body")?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "the payload is not UTF-8".to_string())
}

#[cfg(test)]
#[path = "slack_payload_tests.rs"]
mod tests;
