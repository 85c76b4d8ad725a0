//! Signed-in sessions of the pages: a random id in an `HttpOnly`,
//! `SameSite=Strict` cookie, and the identity the token stood for.
//!
//! Kept in memory only, so a restart of the daemon signs everyone out
//! (they sign in again with their token; nothing is lost that matters).
//! A session ends at its expiry, at sign-out, or when a reload no longer
//! holds the token it was made with for its identity (a revoked or
//! rotated token takes its sessions with it: rotating a leaked token must
//! also sign out whoever signed in with it).
//! A token holds one session at a time: signing in again ends the last.
//! Each session has its own CSRF token, sent back in a hidden field of
//! every form and compared in constant time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;
use ring::rand::{SecureRandom, SystemRandom};

use crate::domain::{Identity, TokenDigest, TokenTable};

/// How long a sign-in lasts (also the cookie's `Max-Age`).
pub const LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at most; the oldest go first beyond it, so sign-ins in a
/// loop cannot grow the daemon's memory without bound.
pub const MAX_SESSIONS: usize = 10_000;
/// The cookie's name over plain HTTP.
pub const COOKIE: &str = "sena_session";
/// The cookie's name behind HTTPS: a `__Host-` cookie is `Secure`, has
/// `Path=/` and no `Domain`, so a sibling host or a plain-HTTP page cannot
/// plant or overwrite it (RFC 6265bis, cookie prefixes).
pub const HOST_COOKIE: &str = "__Host-sena_session";

#[derive(Clone, Debug)]
pub struct Session {
    pub identity: Identity,
    /// The digest of the token signed in with (never the token).
    pub token: TokenDigest,
    pub csrf: String,
    pub expires: Timestamp,
    /// The outcome of the last action, shown once on the next page (PRG).
    pub flash: Option<String>,
}

pub struct Sessions {
    by_id: Mutex<HashMap<String, Session>>,
    random: SystemRandom,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            by_id: Mutex::new(HashMap::new()),
            random: SystemRandom::new(),
        }
    }
}

impl Sessions {
    /// A new session for `identity`; its id (the cookie value).
    pub fn start(
        &self,
        identity: Identity,
        token: TokenDigest,
        now: Timestamp,
    ) -> Result<(String, Session), String> {
        let id = self.random_hex()?;
        let session = Session {
            identity,
            token,
            csrf: self.random_hex()?,
            expires: now
                .checked_add(jiff::SignedDuration::try_from(LIFETIME).unwrap_or_default())
                .unwrap_or(now),
            flash: None,
        };
        let mut map = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        // One session per token: a new sign-in ends the previous one, so a
        // session left open on a borrowed or lost machine ends the next
        // time its owner signs in.
        map.retain(|_, s| s.expires > now && s.token != token);
        while map.len() >= MAX_SESSIONS {
            let oldest = map
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => map.remove(&k),
                None => break,
            };
        }
        map.insert(id.clone(), session.clone());
        Ok((id, session))
    }

    /// The live session of a cookie value. An expired one is removed; one
    /// whose token is no longer configured for its identity (`tokens`, as
    /// of the last reload) too.
    pub fn find(&self, id: &str, now: Timestamp, tokens: Option<&TokenTable>) -> Option<Session> {
        let mut map = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        let session = map.get(id)?.clone();
        let still_valid = session.expires > now
            && tokens.is_some_and(|t| t.holds(&session.token, &session.identity));
        if !still_valid {
            map.remove(id);
            return None;
        }
        Some(session)
    }

    /// Keeps `message` for the session's next page.
    pub fn set_flash(&self, id: &str, message: String) {
        let mut map = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = map.get_mut(id) {
            s.flash = Some(message);
        }
    }

    /// The message kept for this page, once.
    pub fn take_flash(&self, id: &str) -> Option<String> {
        let mut map = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        map.get_mut(id).and_then(|s| s.flash.take())
    }

    pub fn end(&self, id: &str) {
        self.by_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// Sessions held (expired ones go at the next sign-in).
    pub fn count(&self) -> usize {
        self.by_id.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// 32 random bytes as hex: 256 bits, not guessable.
    fn random_hex(&self) -> Result<String, String> {
        let mut bytes = [0u8; 32];
        self.random
            .fill(&mut bytes)
            .map_err(|_| "the system's random source failed".to_string())?;
        Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// Equal byte strings, comparing every byte whatever the first difference
/// (the length, a public fixed 64, may show).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut difference = 0u8;
    for (x, y) in a.iter().zip(b) {
        difference |= x ^ y;
    }
    std::hint::black_box(difference) == 0
}

/// The form's CSRF field matches the session's.
pub fn csrf_ok(session: &Session, presented: &str) -> bool {
    constant_time_eq(session.csrf.as_bytes(), presented.as_bytes())
}

/// The session cookie's value among the request's `Cookie` headers.
pub fn cookie_value(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == HOST_COOKIE || *name == COOKIE)
        .min_by_key(|(name, _)| *name != HOST_COOKIE)
        .map(|(_, value)| value.to_string())
}

/// `Set-Cookie` for a new session. `Secure` and named `__Host-` when the
/// request came over HTTPS as a proxy in front says
/// (`X-Forwarded-Proto: https`): Sena itself listens on plain HTTP, and a
/// `Secure` cookie over plain HTTP would never come back. The header is
/// believed from any peer: forging it changes only the forger's own
/// cookie (it then does not come back over plain HTTP), never anyone
/// else's.
pub fn set_cookie(id: &str, secure: bool) -> String {
    if secure {
        format!(
            "{HOST_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}; Secure",
            LIFETIME.as_secs()
        )
    } else {
        format!(
            "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
            LIFETIME.as_secs()
        )
    }
}

/// `Set-Cookie` that removes the session cookie (of either name).
pub fn clear_cookie(secure: bool) -> String {
    if secure {
        format!("{HOST_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure")
    } else {
        format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
    }
}

/// The request came to a proxy over HTTPS.
pub fn behind_https(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
