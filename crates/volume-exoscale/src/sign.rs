//! `EXO2-HMAC-SHA256`: how every Exoscale API v2 request is signed.
//!
//! The signed message is five lines joined by `\n` (no trailing newline):
//!
//! 1. `"<METHOD> <path>"`, the path exactly as sent (percent-encoded, `/v2`
//!    included, the `:` of `:attach` left as it is);
//! 2. the body, byte for byte as sent (empty without a body);
//! 3. the values of the query parameters that occur exactly once, sorted
//!    by name (byte-wise) and concatenated without a separator;
//! 4. an empty line (reserved for signed headers);
//! 5. the expiry, in UNIX seconds.
//!
//! The signature is the standard, padded base64 of HMAC-SHA256 keyed with
//! the API secret, sent as
//! `Authorization: EXO2-HMAC-SHA256 credential=<key>[,signed-query-args=<a;b>],expires=<n>,signature=<sig>`.
//! An empty query value is signed (as Go's egoscale does) and listed.
//!
//! The signer runs inside volume-core's transport ([`Signer`]), which hands
//! it the exact bytes that go on the wire, once per attempt: a retried
//! request carries a fresh expiry. Nothing here prints the secret or a
//! signature; the header is marked sensitive.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use volume_core::http::{AuthRequest, HeaderName, HeaderValue, Secret, Signer};
use volume_core::{Error, Result};

/// The scheme word of the `Authorization` header.
pub const SCHEME: &str = "EXO2-HMAC-SHA256";

/// How long a signature is valid unless configured otherwise: 10 minutes,
/// as egoscale and python-exoscale sign.
pub const DEFAULT_SIGNATURE_VALIDITY: Duration = Duration::from_secs(600);

/// Where the signer reads the time from (the wall clock unless a test fixes
/// it): see [`ExoscaleBuilder::with_clock`](crate::ExoscaleBuilder::with_clock).
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> SystemTime + Send + Sync>);

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock")
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl Clock {
    /// The system's wall clock.
    pub fn system() -> Self {
        Self(Arc::new(SystemTime::now))
    }

    /// Always `at`: signatures become repeatable, for tests that pin them.
    pub fn fixed(at: SystemTime) -> Self {
        Self(Arc::new(move || at))
    }

    /// The time `now` returns.
    pub fn from_fn(now: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    /// The time now, by this clock.
    pub fn now(&self) -> SystemTime {
        (self.0)()
    }
}

/// The signed message of a request: see the [module docs](self).
///
/// `query` holds the decoded query pairs in the order sent; `expires` is in
/// UNIX seconds. Returns the message and the names of the signed query
/// parameters, in order.
pub fn message(
    method: &str,
    path: &str,
    query: &[(String, String)],
    body: &[u8],
    expires: u64,
) -> (Vec<u8>, Vec<String>) {
    let mut names: Vec<&str> = query
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| query.iter().filter(|(n, _)| n == k).count() == 1)
        .collect();
    names.sort_unstable();
    let values: String = names
        .iter()
        .filter_map(|n| query.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str()))
        .collect();
    let mut msg = Vec::with_capacity(method.len() + path.len() + body.len() + values.len() + 16);
    msg.extend_from_slice(method.as_bytes());
    msg.push(b' ');
    msg.extend_from_slice(path.as_bytes());
    msg.push(b'\n');
    msg.extend_from_slice(body);
    msg.push(b'\n');
    msg.extend_from_slice(values.as_bytes());
    msg.extend_from_slice(b"\n\n");
    msg.extend_from_slice(expires.to_string().as_bytes());
    (msg, names.into_iter().map(str::to_owned).collect())
}

/// The base64 HMAC-SHA256 of `message` keyed with `secret`.
pub fn signature(secret: &Secret, message: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(message);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The whole `Authorization` value for a request.
///
/// ```
/// use volume_core::http::Secret;
/// use volume_exoscale::sign::authorization;
///
/// // The official test vector of requests-exoscale-auth (exoscale.md §2).
/// let value = authorization(
///     "EXOxxxxxxxxxxxxxxxxxxxxxxxx",
///     &Secret::new("X".repeat(43)),
///     "GET",
///     "/v2/zone",
///     &[("k1".into(), "v1".into()), ("k2".into(), "v2".into())],
///     b"",
///     3_376_684_800,
/// );
/// assert_eq!(
///     value,
///     "EXO2-HMAC-SHA256 credential=EXOxxxxxxxxxxxxxxxxxxxxxxxx,signed-query-args=k1;k2,\
///      expires=3376684800,signature=iqOBz13+44L5j0uJclE8hmUhQQcvtCSoPEOXYK6liqY="
/// );
/// ```
pub fn authorization(
    key: &str,
    secret: &Secret,
    method: &str,
    path: &str,
    query: &[(String, String)],
    body: &[u8],
    expires: u64,
) -> String {
    let (msg, names) = message(method, path, query, body, expires);
    let sig = signature(secret, &msg);
    let mut value = format!("{SCHEME} credential={key}");
    if !names.is_empty() {
        value.push_str(",signed-query-args=");
        value.push_str(&names.join(";"));
    }
    value.push_str(&format!(",expires={expires},signature={sig}"));
    value
}

/// The signer of one API key: an `Authorization` for each attempt.
#[derive(Clone)]
pub(crate) struct Exo2 {
    pub(crate) key: String,
    pub(crate) secret: Secret,
    pub(crate) validity: Duration,
    pub(crate) clock: Clock,
}

impl fmt::Debug for Exo2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exo2")
            .field("key", &self.key)
            .field("validity", &self.validity)
            .finish_non_exhaustive()
    }
}

impl Exo2 {
    /// The `Authorization` of `request`.
    fn sign(&self, request: &AuthRequest<'_>) -> Result<HeaderValue> {
        let now = self
            .clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| Error::invalid_input("clock", "reads a time before 1970"))?;
        let expires = now.saturating_add(self.validity).as_secs();
        let query: Vec<(String, String)> = request.query_pairs().into_owned().collect();
        let value = authorization(
            &self.key,
            &self.secret,
            request.method().as_str(),
            request.path(),
            &query,
            request.body(),
            expires,
        );
        let mut header = HeaderValue::from_str(&value).map_err(|_| {
            Error::invalid_input(
                "api_key",
                "cannot be sent in an HTTP header (it holds a control character)",
            )
        })?;
        header.set_sensitive(true);
        Ok(header)
    }

    /// As volume-core's [`Signer`].
    pub(crate) fn into_signer(self) -> Signer {
        Signer::new(move |request: &AuthRequest<'_>| {
            Ok(vec![(
                HeaderName::from_static("authorization"),
                self.sign(request)?,
            )])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "EXOxxxxxxxxxxxxxxxxxxxxxxxx";
    const EXPIRES: u64 = 3_376_684_800;

    fn secret() -> Secret {
        Secret::new("X".repeat(43))
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn sig(method: &str, path: &str, query: &[(&str, &str)], body: &str) -> String {
        let (msg, _) = message(method, path, &q(query), body.as_bytes(), EXPIRES);
        signature(&secret(), &msg)
    }

    #[test]
    fn the_official_vectors_pass() {
        // exoscale/requests-exoscale-auth tests/test_exoscale_auth.py.
        let (msg, names) = message("GET", "/v2/zone", &[], b"", EXPIRES);
        assert_eq!(msg, b"GET /v2/zone\n\n\n\n3376684800");
        assert!(names.is_empty());
        assert_eq!(
            sig("GET", "/v2/zone", &[], ""),
            "Ntbq/p0HVmA3Zg1HHY+Lq1vjFGi7HeMrrgXDS5jRNlY="
        );
        let (msg, names) = message(
            "GET",
            "/v2/zone",
            &q(&[("k1", "v1"), ("k2", "v2")]),
            b"",
            EXPIRES,
        );
        assert_eq!(msg, b"GET /v2/zone\n\nv1v2\n\n3376684800");
        assert_eq!(names, ["k1", "k2"]);
        assert_eq!(
            sig("GET", "/v2/zone", &[("k1", "v1"), ("k2", "v2")], ""),
            "iqOBz13+44L5j0uJclE8hmUhQQcvtCSoPEOXYK6liqY="
        );
        assert_eq!(
            sig("POST", "/v2/load-balancer", &[], r#"{"name": "foo"}"#),
            "duldkM0+pgWRtUznj0rMrZauzsYOtSVLn1LCGcs7CcE="
        );
        assert_eq!(
            authorization(
                KEY,
                &secret(),
                "GET",
                "/v2/zone",
                &q(&[("k1", "v1"), ("k2", "v2")]),
                b"",
                EXPIRES
            ),
            "EXO2-HMAC-SHA256 credential=EXOxxxxxxxxxxxxxxxxxxxxxxxx,signed-query-args=k1;k2,\
             expires=3376684800,signature=iqOBz13+44L5j0uJclE8hmUhQQcvtCSoPEOXYK6liqY="
        );
    }

    #[test]
    fn the_block_storage_vectors_pass() {
        let id = "8a2d37e0-2c2d-4c3e-9e2f-1d0b5f4e9a11";
        assert_eq!(
            sig(
                "PUT",
                &format!("/v2/block-storage/{id}:resize-volume"),
                &[],
                r#"{"size":20}"#
            ),
            "/d5LO0kHaXlpgWVu9XW3e+DQYIiFkUJAujtNV+WM5kE="
        );
        assert_eq!(
            sig(
                "GET",
                "/v2/block-storage",
                &[("instance-id", "4f1e5c2a-7b6d-4e8f-9a0b-1c2d3e4f5a6b")],
                ""
            ),
            "Ch08JplHyM9B6LmUV+5mg/Huyaj4IVIyotLnH5tKocg="
        );
        assert_eq!(
            sig("PUT", &format!("/v2/block-storage/{id}:detach"), &[], ""),
            "H+VgmdszegYRROEeHoku+DSff249zUA4TRCSucd5uSo="
        );
    }

    #[test]
    fn query_rules() {
        // Sorted by name; values concatenated.
        let (msg, names) = message("GET", "/p", &q(&[("b", "2"), ("a", "1")]), b"", 1);
        assert_eq!(msg, b"GET /p\n\n12\n\n1");
        assert_eq!(names, ["a", "b"]);
        // Multi-valued names are neither listed nor signed; empty values are.
        let (msg, names) = message(
            "GET",
            "/p",
            &q(&[("a", ""), ("b", "1"), ("b", "2"), ("c", "3")]),
            b"",
            1,
        );
        assert_eq!(msg, b"GET /p\n\n3\n\n1");
        assert_eq!(names, ["a", "c"]);
        let value = authorization("k", &secret(), "GET", "/p", &[], b"", 1);
        assert!(!value.contains("signed-query-args"), "{value}");
    }

    #[test]
    fn the_signer_uses_its_clock_and_validity() {
        let signer = Exo2 {
            key: KEY.to_owned(),
            secret: secret(),
            validity: Duration::from_secs(600),
            clock: Clock::fixed(UNIX_EPOCH + Duration::from_secs(EXPIRES - 600)),
        };
        let method = volume_core::http::Method::GET;
        let url = volume_core::http::Url::parse("https://api.exoscale.com/v2/zone").unwrap();
        let headers = volume_core::http::HeaderMap::new();
        let value = signer
            .sign(&AuthRequest::new(&method, &url, &headers, b""))
            .unwrap();
        assert!(value.is_sensitive());
        assert_eq!(
            value.to_str().unwrap(),
            "EXO2-HMAC-SHA256 credential=EXOxxxxxxxxxxxxxxxxxxxxxxxx,expires=3376684800,\
             signature=Ntbq/p0HVmA3Zg1HHY+Lq1vjFGi7HeMrrgXDS5jRNlY="
        );
        let shown = format!("{signer:?} {:?}", signer.clone().into_signer());
        assert!(
            !shown.contains("XXXX") && !shown.contains("Ntbq"),
            "{shown}"
        );
    }
}
