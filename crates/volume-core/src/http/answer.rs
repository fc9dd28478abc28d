//! Reading an answer safely: its body with a size cap, and the credentials
//! a provider may echo back scrubbed out of any text that can reach an
//! [`Error`] or a log line.
//!
//! A client reads whatever a server sends, so a wrong or hostile endpoint
//! could make it allocate a gigabyte; the cap makes that an error instead.
//! Some providers echo request headers in their error bodies, and error
//! messages are built from those bodies; scrubbing the values the transport
//! itself marked sensitive keeps them out of every `Error` and every
//! `retrying` line, whatever the provider's error mapper does.

use bytes::{Bytes, BytesMut};
use reqwest::header::HeaderValue;
use reqwest::StatusCode;

use crate::error::Error;

/// The largest answer a client reads unless told otherwise: 16 MiB, far
/// above any listing page a provider sends.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// An error body is only read for its message: past this many bytes the
/// rest is left unread (the message is cut at 4 KiB anyway).
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// What replaces a scrubbed credential.
const SCRUBBED: &[u8] = b"******";

/// Values shorter than this are not scrubbed: they cannot be secrets worth
/// the name, and replacing them would mangle ordinary text.
const MIN_SCRUBBED_LEN: usize = 8;

/// The body of `response`, read chunk by chunk up to `max` bytes.
///
/// A 2xx answer longer than `max` is an [`Error::Decode`] that says so,
/// checked on the declared length before anything is read, then on what
/// arrives. Of any other answer only the first 64 KiB (or `max`, when
/// smaller) are kept, enough for its message, and the rest is never read.
pub(crate) async fn read_capped(
    response: &mut reqwest::Response,
    status: StatusCode,
    max: usize,
    what: &(dyn Fn() -> String + Sync),
) -> Result<Bytes, ReadError> {
    let keep = if status.is_success() {
        max
    } else {
        max.min(MAX_ERROR_BODY_BYTES)
    };
    let too_large = |len: u64| {
        ReadError::TooLarge(Error::Decode {
            message: format!(
                "{} is {len} bytes or more, over the {max} bytes this client reads \
                 (ClientOptions::with_max_response_bytes)",
                what()
            ),
            source: None,
        })
    };
    let declared = response.content_length();
    if status.is_success() {
        if let Some(len) = declared.filter(|&len| len > max as u64) {
            return Err(too_large(len));
        }
    }
    let capacity = declared.map_or(0, |len| len.min(keep as u64) as usize);
    let mut body = BytesMut::with_capacity(capacity);
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Transport)? {
        let room = keep - body.len();
        if chunk.len() > room {
            if status.is_success() {
                return Err(too_large((body.len() + chunk.len()) as u64));
            }
            body.extend_from_slice(&chunk[..room]);
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Why [`read_capped`] gave no body.
pub(crate) enum ReadError {
    /// The connection failed while the body was arriving.
    Transport(reqwest::Error),
    /// The body is larger than the cap.
    TooLarge(Error),
}

/// The values of `headers` marked sensitive (what authenticators add), and
/// for a `Scheme credentials` value the credentials alone too, so that an
/// echo of either form is found.
pub(crate) fn sensitive_values<'h>(
    headers: impl IntoIterator<Item = &'h HeaderValue>,
) -> Vec<Vec<u8>> {
    let mut values = Vec::new();
    for value in headers.into_iter().filter(|v| v.is_sensitive()) {
        let bytes = value.as_bytes();
        if let Some(space) = bytes.iter().position(|&b| b == b' ') {
            let credentials = bytes[space + 1..].trim_ascii();
            if credentials.len() >= MIN_SCRUBBED_LEN {
                values.push(credentials.to_vec());
            }
        }
        if bytes.len() >= MIN_SCRUBBED_LEN {
            values.push(bytes.to_vec());
        }
    }
    // Longest first, so a whole `Bearer xyz` goes before its `xyz`.
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    values.dedup();
    values
}

/// `body` with every occurrence of each of `secrets` replaced by `******`;
/// the same bytes (no copy) when none occurs.
pub(crate) fn scrub(body: Bytes, secrets: &[Vec<u8>]) -> Bytes {
    let mut out: Option<Vec<u8>> = None;
    for secret in secrets.iter().filter(|s| s.len() >= MIN_SCRUBBED_LEN) {
        let current: &[u8] = out.as_deref().unwrap_or(&body);
        if find(current, secret).is_none() {
            continue;
        }
        let mut replaced = Vec::with_capacity(current.len());
        let mut rest = current;
        while let Some(at) = find(rest, secret) {
            replaced.extend_from_slice(&rest[..at]);
            replaced.extend_from_slice(SCRUBBED);
            rest = &rest[at + secret.len()..];
        }
        replaced.extend_from_slice(rest);
        out = Some(replaced);
    }
    out.map_or(body, Bytes::from)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, AUTHORIZATION};

    fn sensitive(value: &str) -> HeaderValue {
        let mut v = HeaderValue::from_str(value).unwrap();
        v.set_sensitive(true);
        v
    }

    #[test]
    fn scrubs_whole_values_and_bare_credentials() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, sensitive("Bearer s3cr3t-token-value"));
        headers.insert("x-auth-token", sensitive("gAAAAABkeystone"));
        headers.insert("x-plain", HeaderValue::from_static("not-a-secret-at-all"));
        let secrets = sensitive_values(headers.values());
        let body = Bytes::from_static(
            br#"{"error":"bad header Authorization: Bearer s3cr3t-token-value; token s3cr3t-token-value, gAAAAABkeystone, not-a-secret-at-all"}"#,
        );
        let scrubbed = scrub(body, &secrets);
        let text = std::str::from_utf8(&scrubbed).unwrap();
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(!text.contains("gAAAAABkeystone"), "{text}");
        assert!(text.contains("not-a-secret-at-all"));
        assert_eq!(text.matches("******").count(), 3, "{text}");
        // Still JSON: a mapper can parse it.
        assert!(serde_json::from_slice::<serde_json::Value>(&scrubbed).is_ok());
    }

    #[test]
    fn leaves_a_body_without_secrets_untouched() {
        let body = Bytes::from_static(b"nothing to see");
        let secrets = vec![b"0123456789".to_vec()];
        let out = scrub(body.clone(), &secrets);
        assert_eq!(out.as_ptr(), body.as_ptr(), "no copy when nothing matches");
    }

    #[test]
    fn short_values_are_not_scrubbed() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, sensitive("Key a"));
        assert!(sensitive_values(headers.values()).is_empty());
    }
}
