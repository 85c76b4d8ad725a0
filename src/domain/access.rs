//! Who may change what: the identity behind a request and what it may do.
//!
//! An HTTP token, a Slack user mapped through `people.*.slack`, or a caller
//! on the daemon's own host all end up as one [`Identity`]: a [`Principal`]
//! (whose name goes into the record: an ack's `by`, a decision's `who`) and
//! the [`Capabilities`] it holds. Each surface authenticates in its own way
//! and then asks the same question: `identity.can.contains(Capability::Ack)`.
//!
//! Tokens are kept only as SHA-256 digests, so the table can be logged,
//! cloned and compared without the secrets travelling with it, and a
//! presented token is compared against every digest in constant time.

use std::fmt;

use serde::Serialize;

/// One thing an identity may do. New surfaces add a variant here; a person
/// token without `can:` gets every variant, a machine token only those it
/// lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Status, incidents, and later the gates.
    Read,
    /// Acknowledge an incident (stops escalation).
    Ack,
    /// GO / NO-GO on a rollout's stage.
    Decide,
    /// Reload the configuration.
    Reload,
}

impl Capability {
    /// Every capability, in the order the docs and messages list them.
    pub const ALL: &'static [Capability] = &[
        Capability::Read,
        Capability::Ack,
        Capability::Decide,
        Capability::Reload,
    ];

    /// How it is written in `can: [...]` and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Read => "read",
            Capability::Ack => "ack",
            Capability::Decide => "decide",
            Capability::Reload => "reload",
        }
    }

    pub fn parse(word: &str) -> Option<Capability> {
        Capability::ALL.iter().copied().find(|c| c.as_str() == word)
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of capabilities; small and `Copy`, so an identity is cheap to pass.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Capabilities(u32);

impl Capabilities {
    /// Everything, including capabilities added later: a person's default.
    pub fn all() -> Capabilities {
        Capabilities::of(Capability::ALL)
    }

    pub fn of(list: &[Capability]) -> Capabilities {
        Capabilities(list.iter().fold(0, |bits, c| bits | c.bit()))
    }

    pub fn contains(self, capability: Capability) -> bool {
        self.0 & capability.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL
            .iter()
            .copied()
            .filter(move |c| self.contains(*c))
    }
}

impl fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// `read, ack`, or `nothing`.
impl fmt::Display for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("nothing");
        }
        let words: Vec<&str> = self.iter().map(Capability::as_str).collect();
        f.write_str(&words.join(", "))
    }
}

/// Who is asking.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Principal {
    /// A roster person (`person:` in `server.tokens`).
    Person(String),
    /// A machine identity (`name:`), such as a deploy pipeline.
    Machine(String),
    /// A caller on the daemon's own host while no tokens are configured:
    /// it is trusted as whoever it says it is, like `sena stage`.
    Local,
}

impl Principal {
    /// The name that goes into records (an ack's `by`).
    pub fn name(&self) -> &str {
        match self {
            Principal::Person(name) | Principal::Machine(name) => name,
            Principal::Local => "local",
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A principal and what it may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub principal: Principal,
    pub can: Capabilities,
}

impl Identity {
    /// The caller on the daemon's own host in loopback-only mode.
    pub fn local() -> Identity {
        Identity {
            principal: Principal::Local,
            can: Capabilities::all(),
        }
    }
}

/// The SHA-256 of a token. Equality is constant-time.
#[derive(Clone, Copy)]
pub struct TokenDigest([u8; 32]);

/// Says nothing of the bytes: a digest is not the token, but logs need
/// neither.
impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenDigest(..)")
    }
}

impl TokenDigest {
    pub fn of(token: &str) -> TokenDigest {
        let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(digest.as_ref());
        TokenDigest(bytes)
    }
}

impl PartialEq for TokenDigest {
    fn eq(&self, other: &TokenDigest) -> bool {
        constant_time_eq(&self.0, &other.0)
    }
}

impl Eq for TokenDigest {}

/// Compares every byte whatever the first difference, so the time taken
/// says nothing about how much of a guess was right. (Over digests this is
/// belt and braces: a matching digest prefix reveals nothing of the token.)
pub fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut difference = 0u8;
    for (x, y) in a.iter().zip(b) {
        difference |= x ^ y;
    }
    // Keeps the optimiser from turning the loop back into an early exit.
    std::hint::black_box(difference) == 0
}

/// `server.tokens`: every configured token's digest and the identity it
/// stands for. Its `Debug` names identities only.
#[derive(Clone, Default)]
pub struct TokenTable {
    entries: Vec<(TokenDigest, Identity)>,
}

impl TokenTable {
    pub fn new(entries: Vec<(TokenDigest, Identity)>) -> TokenTable {
        TokenTable { entries }
    }

    /// The identity `presented` belongs to. Every entry is compared, with
    /// no early exit, so the time taken does not say which (or whether an
    /// earlier) entry matched.
    pub fn authenticate(&self, presented: &str) -> Option<&Identity> {
        let digest = TokenDigest::of(presented);
        let mut found = None;
        for (known, identity) in &self.entries {
            let matches = known == &digest;
            found = if matches { Some(identity) } else { found };
        }
        found
    }

    /// Whether the token with `digest` is still configured for `identity`
    /// (a session made with a token ends when that token is rotated, not
    /// only when its person loses every token).
    pub fn holds(&self, digest: &TokenDigest, identity: &Identity) -> bool {
        self.entries
            .iter()
            .any(|(known, i)| known == digest && i == identity)
    }

    pub fn identities(&self) -> impl Iterator<Item = &Identity> {
        self.entries.iter().map(|(_, identity)| identity)
    }
}

impl fmt::Debug for TokenTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.identities()
                    .map(|i| format!("{}: {}", i.principal, i.can)),
            )
            .finish()
    }
}

#[cfg(test)]
#[path = "access_tests.rs"]
mod tests;
