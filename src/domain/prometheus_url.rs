//! The URLs Sena builds from `prometheus.url` and `prometheus.external_url`,
//! all through the `url` crate: string concatenation turned
//! `http://host/prom?token=X` into `…?token=X/graph?g0.expr=…`, a broken
//! link that also carried the token.
//!
//! - [`endpoint`]: what the client calls. It keeps the configured query
//!   parameters (some proxies want them) and appends the API path to the
//!   URL's path, so a path prefix keeps working.
//! - [`graph_link`]: what people read (advisories, the dashboard). It never
//!   carries userinfo or the configured query: a link is copied, pasted
//!   and logged, and the reader's browser has its own way in.
//! - [`credentials`]: what `sena check` warns about.
//! - [`secrets`]: the texts a Prometheus error must not repeat.

use url::Url;

/// `base` with `segments` appended to its path and `params` to its query.
pub fn endpoint(base: &Url, segments: &[&str], params: &[(&str, &str)]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    if !params.is_empty() {
        url.query_pairs_mut().extend_pairs(params);
    }
    url
}

/// The link to `query` in Prometheus's graph page under `base`, without
/// userinfo or `base`'s own query and fragment; `None` when `base` is not
/// an http(s) URL.
pub fn graph_link(base: &str, query: &str) -> Option<String> {
    let mut url = Url::parse(base.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    let mut link = endpoint(&url, &["graph"], &[]);
    link.query_pairs_mut()
        .append_pair("g0.expr", query.trim())
        .append_pair("g0.tab", "0");
    Some(link.into())
}

/// What in `url` looks like a credential: a user name or password, or a
/// query string (`?token=…`, `?api_key=…`). Empty when there is none.
pub fn credentials(url: &str) -> Vec<&'static str> {
    let Ok(url) = Url::parse(url.trim()) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    if !url.username().is_empty() || url.password().is_some() {
        found.push("a user name or password");
    }
    if url.query().is_some() {
        found.push("a query string");
    }
    found
}

/// The secret parts of `url`, as written and as encoded: its password,
/// user name and query values, which an error text (reqwest's, a proxy's
/// body) could repeat. Values shorter than 4 characters are left out:
/// redacting them would shred the message and hide little.
pub fn secrets(url: &Url) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |s: &str| {
        if s.len() >= 4 {
            out.push(s.to_string());
            if let Ok(decoded) = percent_decode(s) {
                out.push(decoded);
            }
        }
    };
    add(url.username());
    if let Some(password) = url.password() {
        add(password);
    }
    if let Some(query) = url.query() {
        add(query);
        for (_, value) in url.query_pairs() {
            add(&value);
        }
    }
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

fn percent_decode(s: &str) -> Result<String, std::string::FromUtf8Error> {
    let bytes: Vec<u8> = url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned().into_bytes())
        .unwrap_or_default();
    String::from_utf8(bytes)
}

/// `text` with every one of `secrets` replaced by `***`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets {
        if !secret.is_empty() {
            out = out.replace(secret.as_str(), "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEAKY: &str = "http://sena:hunter2@prom.example/prom?token=SECRET";

    #[test]
    fn the_query_endpoint_appends_the_path_and_keeps_the_configured_query() {
        let base = Url::parse(LEAKY).unwrap();
        let url = endpoint(&base, &["api", "v1", "query"], &[("query", "up == 1")]);
        assert_eq!(url.path(), "/prom/api/v1/query");
        assert_eq!(url.query(), Some("token=SECRET&query=up+%3D%3D+1"));
        let slash = Url::parse("http://prom:9090/").unwrap();
        assert_eq!(
            endpoint(&slash, &["api", "v1", "query"], &[]).as_str(),
            "http://prom:9090/api/v1/query"
        );
    }

    #[test]
    fn a_graph_link_carries_neither_userinfo_nor_the_configured_query() {
        let link = graph_link(LEAKY, "sum(rate(x[5m])) / 2").unwrap();
        assert_eq!(
            link,
            "http://prom.example/prom/graph?g0.expr=sum%28rate%28x%5B5m%5D%29%29+%2F+2&g0.tab=0"
        );
        assert!(!link.contains("hunter2") && !link.contains("SECRET") && !link.contains("sena@"));
        assert_eq!(
            graph_link("http://prom:9090/", "up").as_deref(),
            Some("http://prom:9090/graph?g0.expr=up&g0.tab=0")
        );
        assert_eq!(graph_link("javascript:alert(1)", "up"), None);
    }

    #[test]
    fn credentials_and_secrets_are_found_and_redacted() {
        assert_eq!(
            credentials(LEAKY),
            vec!["a user name or password", "a query string"]
        );
        assert!(credentials("http://prom:9090/prom").is_empty());
        let secrets = secrets(&Url::parse("http://sena:hunter%32@h/?token=S%20CRET").unwrap());
        let text = "error sending request for url (http://sena:hunter%32@h/?token=S%20CRET/api): S CRET hunter2";
        let redacted = redact(text, &secrets);
        assert!(!redacted.contains("hunter"), "{redacted}");
        assert!(!redacted.contains("CRET"), "{redacted}");
    }
}
