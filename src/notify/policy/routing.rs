//! Which channels an advisory goes out on: the one rule the daemon's outbox
//! and `sena backtest`'s replay both follow, so what a backtest says would
//! have been sent is what the daemon sends.

use crate::config::Config;
use crate::domain::{Channel, Delivery};

use super::Outgoing;

/// Channels deliveries go to, by configuration: Slack and email as
/// configured, the console when neither is set up.
pub fn channels(config: &Config) -> Vec<Channel> {
    let mut channels = Vec::new();
    if config.slack.is_some() {
        channels.push(Channel::Slack);
    }
    if config.email.is_some() {
        channels.push(Channel::Email);
    }
    if channels.is_empty() {
        channels.push(Channel::Console);
    }
    channels
}

/// The channels one message goes out on. Mail needs an address: without one
/// the send would fail permanently and fall back to a second Slack copy, so
/// a message whose recipients have no address is not mailed.
pub fn routes(config: &Config, outgoing: &Outgoing) -> Vec<Channel> {
    channels(config)
        .into_iter()
        .filter(|c| *c != Channel::Email || outgoing.recipients.iter().any(|p| p.email.is_some()))
        .collect()
}

/// One delivery per route of each message: the outbox rows of a transition.
pub fn deliveries(config: &Config, outgoing: &[Outgoing]) -> Vec<(Channel, Delivery)> {
    outgoing
        .iter()
        .flat_map(|o| {
            routes(config, o).into_iter().map(move |channel| {
                (
                    channel,
                    Delivery {
                        advisory: o.advisory.clone(),
                        recipients: o.recipients.clone(),
                        dedup_key: o.dedup_key.on(channel),
                        fallback_from: None,
                        thread: None,
                    },
                )
            })
        })
        .collect()
}
