//! The request for approval a GO / NO-GO button answers, and how a button
//! carries it. Rendered into the button's `value` (`notify/render/blocks.rs`)
//! and read back from a press (`server/slack_payload.rs`), so both sides
//! share this one format.
//!
//! `ROLLOUT:STAGE:MILLIS`: the rollout, the stage index and when that
//! stage began (Unix milliseconds). Sena posts one "ready to expand"
//! request per stage it enters, so the three name the message. A press on
//! a message from an earlier time at the same stage (the rollout moved
//! and came back, or `sena stage` restarted it) is refused even though
//! the index matches. Buttons posted before the third part existed read
//! as `ROLLOUT:STAGE` with no start: they cannot be matched to the current
//! request, and the daemon refuses them with a message saying so.

use jiff::Timestamp;

/// What a GO / NO-GO button is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalRequest {
    pub rollout: String,
    pub stage: usize,
    /// When the stage began; `None` on a button of the older format.
    pub stage_started_at: Option<Timestamp>,
}

impl ApprovalRequest {
    /// The button's `value`.
    pub fn to_value(&self) -> String {
        match self.stage_started_at {
            Some(at) => format!("{}:{}:{}", self.rollout, self.stage, at.as_millisecond()),
            None => format!("{}:{}", self.rollout, self.stage),
        }
    }

    /// A button's `value`, in either format; `None` when it is neither.
    /// Rollout names never hold `:` (letters, digits, `_`, `.`, `-`).
    pub fn from_value(value: &str) -> Option<ApprovalRequest> {
        let mut parts = value.split(':');
        let rollout = parts.next().filter(|r| !r.is_empty() && r.len() <= 200)?;
        let stage = parts.next()?.parse::<usize>().ok()?;
        let stage_started_at = match parts.next() {
            None => None,
            Some(ms) => Some(Timestamp::from_millisecond(ms.parse().ok()?).ok()?),
        };
        if parts.next().is_some() {
            return None;
        }
        Some(ApprovalRequest {
            rollout: rollout.to_string(),
            stage,
            stage_started_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_round_trips_and_the_older_format_still_reads() {
        let at = Timestamp::from_millisecond(1_764_860_000_123).unwrap();
        let now = ApprovalRequest {
            rollout: "checkout".into(),
            stage: 1,
            stage_started_at: Some(at),
        };
        assert_eq!(now.to_value(), "checkout:1:1764860000123");
        assert_eq!(ApprovalRequest::from_value(&now.to_value()), Some(now));
        let old = ApprovalRequest::from_value("checkout:1").unwrap();
        assert_eq!((old.stage, old.stage_started_at), (1, None));
        for bad in [
            "",
            "checkout",
            ":1",
            "checkout:x",
            "checkout:1:x",
            "checkout:1:2:3",
            "checkout:-1",
        ] {
            assert_eq!(ApprovalRequest::from_value(bad), None, "{bad}");
        }
    }
}
