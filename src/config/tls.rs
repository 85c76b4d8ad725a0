//! `prometheus.tls`: a CA bundle to trust (a private CA in front of
//! Prometheus) and a client certificate and key (mTLS). Each is a PEM file
//! named relative to the config, read once at load (and at each reload);
//! the key is a [`Secret`] from then on, so it never reaches a log,
//! `sena check` or the status API. A message names the file, never its
//! contents.

use std::path::Path;

use super::reader::{Fields, FileDiags};
use super::{PrometheusTls, Secret};

pub(crate) const KEYS: &[&str] = &["ca_file", "cert_file", "key_file"];

/// The `tls:` section of `prometheus:`, read (`f` is that section).
pub(crate) fn read(d: &mut FileDiags, f: &Fields, dir: &Path) -> Option<PrometheusTls> {
    let ca = pem(d, f, "ca_file", dir, "CERTIFICATE");
    let cert = pem(d, f, "cert_file", dir, "CERTIFICATE");
    let key = pem(d, f, "key_file", dir, "PRIVATE KEY");
    let client = match (cert, key, f.key("cert_file"), f.key("key_file")) {
        (Some(cert), Some(key), _, _) => Some((cert, Secret::new(key))),
        (_, _, Some(at), None) | (_, _, None, Some(at)) => {
            d.error(
                &at.referenced,
                "set `cert_file` and `key_file` together: a client certificate needs its key",
            );
            return None;
        }
        _ => None,
    };
    Some(PrometheusTls { ca, client })
}

/// A PEM file holding at least one `-----BEGIN …{label}-----` block.
fn pem(d: &mut FileDiags, f: &Fields, key: &str, dir: &Path, label: &str) -> Option<String> {
    let name = f.text(d, key)?;
    let path = dir.join(&name.value);
    match super::text_file::read(&path) {
        Ok(text)
            if text
                .lines()
                .any(|l| l.starts_with("-----BEGIN ") && l.ends_with(&format!("{label}-----"))) =>
        {
            Some(text)
        }
        Ok(_) => {
            d.error(
                &name.referenced,
                format!(
                    "`{key}`: {} holds no PEM `{label}` block (`-----BEGIN {label}-----`)",
                    path.display()
                ),
            );
            None
        }
        Err(e) => {
            d.error(
                &name.referenced,
                format!("`{key}`: cannot read {}: {e}", path.display()),
            );
            None
        }
    }
}
