//! GO / NO-GO and Acknowledge from the page. Each is a POST form that
//! needs a session and its CSRF token, then goes through exactly the
//! calls the API makes (`Api::decide`, `Api::acknowledge`) with the
//! session's identity, and answers with a redirect back to the page and
//! the outcome as a one-time message (post/redirect/get). Without a
//! session the form is sent to sign in; with a wrong CSRF token it is
//! refused (403).

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use super::html::query_value;
use super::session::{self, Session};
use super::Pages;
use crate::domain::{Capability, Choice, DecisionAnswer, DecisionRequest, Outcome, Principal, Via};

#[derive(Deserialize)]
pub(super) struct DecideForm {
    #[serde(default)]
    csrf: String,
    decision: Choice,
    stage: usize,
    #[serde(default)]
    comment: String,
}

#[derive(Deserialize)]
pub(super) struct AckForm {
    #[serde(default)]
    csrf: String,
    back: Option<String>,
}

/// The session of a form post, or the answer that refuses it.
fn signed_in(
    pages: &Pages,
    headers: &HeaderMap,
    csrf: &str,
    back: &str,
) -> Result<(String, Session), Box<Response>> {
    let Some((id, session)) = pages.session(headers) else {
        return Err(Box::new(super::see_other(&format!(
            "/login?next={}",
            query_value(back)
        ))));
    };
    if !super::same_origin(headers) || !session::csrf_ok(&session, csrf) {
        tracing::warn!(by = %session.identity.principal, "refused a dashboard form: bad CSRF token or origin");
        return Err(Box::new(super::forbidden(
            pages,
            "This form is out of date or came from another site; reload the page and try again.",
        )));
    }
    Ok((id, session))
}

pub(super) async fn decide(
    State(pages): State<Pages>,
    headers: HeaderMap,
    Path(name): Path<String>,
    form: Result<Form<DecideForm>, FormRejection>,
) -> Response {
    let Form(form) = match form {
        Ok(form) => form,
        Err(rejection) => return super::bad_form(&pages, rejection),
    };
    let back = format!("/rollouts/{}", query_value(&name));
    let (id, session) = match signed_in(&pages, &headers, &form.csrf, &back) {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let comment = form.comment.trim();
    if comment.chars().count() > super::super::decisions::MAX_COMMENT_CHARS {
        let why = format!(
            "Not recorded: the comment is longer than {} characters.",
            super::super::decisions::MAX_COMMENT_CHARS
        );
        pages.sessions.set_flash(&id, why);
        return super::see_other(&back);
    }
    if let Some(bad) = super::super::decisions::unprintable_comment(comment) {
        pages
            .sessions
            .set_flash(&id, format!("Not recorded: {bad}."));
        return super::see_other(&back);
    }
    let identity = &session.identity;
    let token = match &identity.principal {
        Principal::Machine(name) => Some(name.clone()),
        _ => None,
    };
    let request = DecisionRequest {
        choice: form.decision,
        stage: form.stage,
        stage_started_at: None,
        comment: (!comment.is_empty()).then(|| comment.to_string()),
        override_advice: false,
        by: identity.principal.clone(),
        token,
        slack_user: None,
        via: Via::Web,
    };
    let can_decide = identity.can.contains(Capability::Decide);
    let message = match pages.api.decide(name.clone(), request, can_decide).await {
        Ok(DecisionAnswer::Decided(r)) => match r.decision {
            Choice::Go => format!(
                "GO by {} recorded: {} moves from {} to {}.",
                r.by, r.rollout, r.from_traffic, r.to_traffic
            ),
            Choice::NoGo => format!(
                "NO-GO by {} recorded: {} holds at {}.",
                r.by, r.rollout, r.from_traffic
            ),
        },
        Ok(DecisionAnswer::Duplicate(r)) => format!(
            "{} by {} was already recorded; nothing changed.",
            r.decision.as_str(),
            r.by
        ),
        Ok(DecisionAnswer::Refused(r)) => match r.outcome {
            Outcome::Refused { why, .. } => format!("Refused: {why}"),
            Outcome::Accepted => "Refused.".to_string(),
        },
        Ok(DecisionAnswer::UnknownRollout) => format!("There is no rollout named {name}."),
        Err(e) => format!("Sena could not record the decision: {e}"),
    };
    pages.sessions.set_flash(&id, message);
    super::see_other(&back)
}

pub(super) async fn acknowledge(
    State(pages): State<Pages>,
    headers: HeaderMap,
    Path(incident): Path<i64>,
    form: Result<Form<AckForm>, FormRejection>,
) -> Response {
    let Form(form) = match form {
        Ok(form) => form,
        Err(rejection) => return super::bad_form(&pages, rejection),
    };
    let back = super::login::local_path(form.back.as_deref()).to_string();
    let (id, session) = match signed_in(&pages, &headers, &form.csrf, &back) {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let who = session.identity.principal.name().to_string();
    let message = if !session.identity.can.contains(Capability::Ack) {
        format!(
            "Refused: {who} may not ack (the token allows: {}).",
            session.identity.can
        )
    } else {
        match pages.api.acknowledge(incident, who.clone()).await {
            Ok(Some(i)) => format!(
                "Incident {} on {} acknowledged by {}.",
                i.id,
                i.rollout,
                i.acked_by.as_deref().unwrap_or(&who)
            ),
            Ok(None) => format!("There is no incident {incident}."),
            Err(e) => format!("Sena could not record the acknowledgement: {e}"),
        }
    };
    pages.sessions.set_flash(&id, message);
    super::see_other(&back)
}
