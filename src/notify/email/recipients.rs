//! Email outcomes per recipient: one refused address must not cost everyone
//! else the page, and a retry must not mail those who already have it.
//!
//! lettre fails a whole transaction on the first refused `RCPT` without
//! saying which, so the message first goes in one transaction to everyone
//! still pending (one copy on the wire, as before). Only when the server
//! answers that transaction with a 4xx/5xx reply, which means nobody in it
//! got the message, does it go one transaction per recipient, to learn who
//! is refused or deferred and let the others have it. Who was reached or
//! refused is written into the delivery's `RecipientProgress` as it happens,
//! and the dispatcher keeps that with the outbox row for the retry.

use lettre::address::Envelope;
use lettre::{Address, AsyncTransport};

use super::{classify, EmailNotifier};
use crate::notify::{Delivery, NotifyError, RecipientProgress, Refusal, Sent};

impl EmailNotifier {
    /// One attempt for the recipients `progress` has not settled; see the
    /// module comment for why it may take one transaction or several.
    pub(super) async fn send_to_pending(
        &self,
        d: &Delivery,
        progress: &mut RecipientProgress,
    ) -> Result<Sent, NotifyError> {
        let message = self.message(d)?;
        let from = message.envelope().from().cloned();
        let pending: Vec<Address> = (message.envelope().to().iter())
            .filter(|a| !progress.settled(a.as_ref()))
            .cloned()
            .collect();
        // Nothing pending: an earlier attempt settled everyone.
        if !pending.is_empty() {
            let bytes = message.formatted();
            self.send_batch(d.dedup_key.as_str(), &from, &pending, &bytes, progress)
                .await?;
        }
        if progress.reached.is_empty() {
            // Nobody got it: the delivery failed, and the dispatcher hands
            // it to the other channel.
            return Err(NotifyError::Permanent(refusals_text(progress)));
        }
        Ok(Sent::default())
    }

    /// Everyone pending in one transaction; one per recipient if the server
    /// answers it with a refusal or a deferral.
    async fn send_batch(
        &self,
        key: &str,
        from: &Option<Address>,
        pending: &[Address],
        bytes: &[u8],
        progress: &mut RecipientProgress,
    ) -> Result<(), NotifyError> {
        let failure = match self.transaction(from, pending, bytes).await {
            Ok(()) => {
                let reached = pending.iter().map(ToString::to_string);
                progress.reached.extend(reached);
                return Ok(());
            }
            Err(failure) => failure,
        };
        match (failure.replied, failure.error, pending) {
            (true, error, [_, _, ..]) => {
                tracing::info!(key, %error, "the SMTP server refused the mail for several recipients; sending it to each on its own");
                self.one_by_one(from, pending, bytes, progress).await
            }
            (true, NotifyError::Permanent(error), [address]) => {
                progress.refused.push(Refusal {
                    address: address.to_string(),
                    error,
                });
                Ok(())
            }
            (_, error, _) => Err(error),
        }
    }

    /// One transaction per recipient. A refusal settles that recipient; a
    /// deferral leaves it pending and the others go on; anything else (the
    /// server went away, TLS, a timeout) would fail alike for the rest, so
    /// it ends the attempt with those not tried still pending.
    async fn one_by_one(
        &self,
        from: &Option<Address>,
        pending: &[Address],
        bytes: &[u8],
        progress: &mut RecipientProgress,
    ) -> Result<(), NotifyError> {
        let mut deferred = None;
        for address in pending {
            let Err(failure) = self
                .transaction(from, std::slice::from_ref(address), bytes)
                .await
            else {
                progress.reached.push(address.to_string());
                continue;
            };
            match failure.error {
                NotifyError::Permanent(error) if failure.replied => {
                    progress.refused.push(Refusal {
                        address: address.to_string(),
                        error,
                    })
                }
                e @ NotifyError::Transient { .. } if failure.replied => {
                    deferred.get_or_insert(e);
                }
                e => return Err(e),
            }
        }
        deferred.map_or(Ok(()), Err)
    }

    /// One SMTP transaction of the already formatted message to `to`.
    async fn transaction(
        &self,
        from: &Option<Address>,
        to: &[Address],
        bytes: &[u8],
    ) -> Result<(), TransactionFailure> {
        let envelope =
            Envelope::new(from.clone(), to.to_vec()).map_err(|e| TransactionFailure {
                error: NotifyError::Permanent(format!("email: cannot address the message: {e}")),
                replied: false,
            })?;
        // lettre's timeout bounds each read and write; this bounds the whole
        // exchange, so a server that trickles bytes cannot hold a send.
        let Some(transport) = &self.transport else {
            unreachable!("the transport is only taken in drop");
        };
        match tokio::time::timeout(self.timeout, transport.send_raw(&envelope, bytes)).await {
            Ok(Ok(_response)) => Ok(()),
            Ok(Err(e)) => Err(TransactionFailure {
                // A 4xx/5xx reply: lettre aborts the transaction (and drops
                // the connection), so the server accepted it for nobody.
                replied: e.is_permanent() || e.is_transient(),
                error: self.scrub(classify(&e)),
            }),
            Err(_) => Err(TransactionFailure {
                error: NotifyError::Transient {
                    message: format!("email: SMTP send timed out after {:?}", self.timeout),
                    retry_after: None,
                },
                replied: false,
            }),
        }
    }
}

/// Why one SMTP transaction failed.
struct TransactionFailure {
    error: NotifyError,
    /// The server answered with a 4xx/5xx reply, so the transaction did not
    /// complete: nobody in it got the message, and trying each recipient on
    /// its own sends nobody a second copy.
    replied: bool,
}

/// What a delivery refused for every recipient says: the server's words
/// when there was one recipient, each address with its reply otherwise.
fn refusals_text(progress: &RecipientProgress) -> String {
    match progress.refused.as_slice() {
        [] => "email: no recipient left to send to".into(),
        [one] => one.error.clone(),
        many => {
            let each: Vec<String> = many
                .iter()
                .map(|r| format!("{}: {}", r.address, r.error))
                .collect();
            format!("email: every recipient was refused: {}", each.join("; "))
        }
    }
}
