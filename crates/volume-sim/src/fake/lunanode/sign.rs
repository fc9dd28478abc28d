//! Verifying LunaNode's signed form posts (lunanode.md §2), and the book of
//! nonces already seen.
//!
//! A request is a form with `req` (the JSON parameters plus `api_id` and
//! `api_partialkey`), `nonce` (Unix seconds) and `signature`: the lowercase
//! hex HMAC-SHA512, under the full 128-character API key, of
//! `<category>/<action>/|<req>|<nonce>`. The server hashes `req` exactly as
//! received: clients serialise it differently (PHP and Go compact, Python
//! with spaces), and every one of them is valid.
//!
//! Nothing here logs or formats a key or a signature.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha512;

/// Why a request's credentials are refused. The messages name the problem,
/// never the key or the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthError {
    /// No `req`, `signature` or `nonce` field.
    Missing(&'static str),
    /// `req` is not a JSON object.
    BadRequestMessage,
    /// `api_id` is missing or not known.
    UnknownId,
    /// `api_partialkey` is not the first half of the key.
    BadPartialKey,
    /// The signature is not hex or does not match.
    BadSignature,
    /// The nonce is not a decimal number of seconds.
    BadNonce,
    /// The nonce is too far from the server's clock.
    Skewed,
    /// The nonce was already used (for this request, or at all).
    Replayed,
    /// More requests in the replay window than the book holds.
    Overflow,
}

impl AuthError {
    /// The error text, in LunaNode's style (short and lower-case, like the
    /// captured `region not set`).
    pub(crate) fn message(self) -> String {
        match self {
            Self::Missing(field) => format!("{field} not set"),
            Self::BadRequestMessage => "failed to decode request message".to_owned(),
            Self::UnknownId => "invalid api_id".to_owned(),
            Self::BadPartialKey => "invalid api_partialkey".to_owned(),
            Self::BadSignature => "invalid signature".to_owned(),
            Self::BadNonce => "invalid nonce".to_owned(),
            Self::Skewed => "invalid nonce: too far from the server's clock".to_owned(),
            Self::Replayed => "invalid nonce: already used".to_owned(),
            Self::Overflow => "too many requests: try again later".to_owned(),
        }
    }
}

/// The message a signature covers.
pub(crate) fn message(handler: &str, req: &str, nonce: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(handler.len() + req.len() + nonce.len() + 2);
    m.extend_from_slice(handler.as_bytes());
    m.push(b'|');
    m.extend_from_slice(req.as_bytes());
    m.push(b'|');
    m.extend_from_slice(nonce.as_bytes());
    m
}

/// Whether `signature_hex` is the HMAC-SHA512 of `message` under `key`
/// (compared in constant time; upper- or lower-case hex).
pub(crate) fn verify(key: &str, message: &[u8], signature_hex: &str) -> bool {
    let Some(signature) = decode_hex(signature_hex) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha512>::new_from_slice(key.as_bytes()) else {
        return false;
    };
    mac.update(message);
    mac.verify_slice(&signature).is_ok()
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || s.len() > 256 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// Which reuse of a nonce is a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum NonceRule {
    /// A nonce already seen for the key with the same signature: the same
    /// signed request sent again. Different requests may share a nonce,
    /// as LunaNode's own clients send them (their nonce is the current
    /// second, so two calls in one second share it).
    #[default]
    SameRequest,
    /// Any nonce already seen for the key, whatever the request (the
    /// strictest reading of a nonce).
    Unique,
}

/// The most (nonce, signature) pairs remembered per key; past that, new
/// requests are refused until the window moves on (bounded memory).
const MAX_PER_KEY: usize = 100_000;

/// The nonces seen per key within the replay window.
#[derive(Debug, Default)]
pub(crate) struct NonceBook {
    /// api id -> nonce -> the first 16 bytes of each signature seen with it.
    seen: HashMap<String, BTreeMap<u64, Vec<[u8; 16]>>>,
    /// How many signatures are held per api id.
    counts: HashMap<String, usize>,
}

impl NonceBook {
    /// Records `nonce` with `signature_hex` for `api_id`, or refuses it as a
    /// replay under `rule`. Nonces older than `now - window` are forgotten
    /// first.
    pub(crate) fn record(
        &mut self,
        api_id: &str,
        nonce: u64,
        signature_hex: &str,
        rule: NonceRule,
        now: u64,
        window: Duration,
    ) -> Result<(), AuthError> {
        let mut tag = [0u8; 16];
        for (t, b) in tag.iter_mut().zip(signature_hex.bytes()) {
            *t = b.to_ascii_lowercase();
        }
        let book = self.seen.entry(api_id.to_owned()).or_default();
        let count = self.counts.entry(api_id.to_owned()).or_default();
        let oldest = now.saturating_sub(window.as_secs());
        let kept = book.split_off(&oldest);
        let forgotten: usize = book.values().map(Vec::len).sum();
        *book = kept;
        *count = count.saturating_sub(forgotten);
        let seen = book.entry(nonce).or_default();
        let replay = match rule {
            NonceRule::SameRequest => seen.contains(&tag),
            NonceRule::Unique => !seen.is_empty(),
        };
        if replay {
            return Err(AuthError::Replayed);
        }
        if *count >= MAX_PER_KEY {
            return Err(AuthError::Overflow);
        }
        seen.push(tag);
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\
                       0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn the_reference_signatures_verify() {
        let req = r#"{"api_id":"0123456789abcdef","api_partialkey":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","label":"myvolume","region":"toronto","size":"100"}"#;
        let sig = "ff4b1149c9182b166e58d5b5f9a021cf1a816db6dd56277edee101d28ee35bb969d21f01430cce90e2f38c48b0844305caf171fdb07eab1a294c865204e3ee25";
        assert_eq!(KEY.len(), 128);
        let m = message("volume/create/", req, "1545008415");
        assert!(verify(KEY, &m, sig));
        assert!(verify(KEY, &m, &sig.to_uppercase()));
        assert!(!verify(
            KEY,
            &message("volume/create/", req, "1545008416"),
            sig
        ));
        let python = r#"{"label": "myvolume", "region": "toronto", "size": "100", "api_id": "0123456789abcdef", "api_partialkey": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}"#;
        let psig = "492b3e5643249ac05377b50ba279498337727da9c7733dc1f467cbd6485c5207750f5157862dc249867f9deb12cccf09c6c2517a52e4cb545e8708c6c2ad7600";
        assert!(verify(
            KEY,
            &message("volume/create/", python, "1545008415"),
            psig
        ));
        assert!(!verify(KEY, &m, "zz"));
        assert!(!verify(KEY, &m, "abc"));
    }

    #[test]
    fn replays_are_refused_by_rule_and_forgotten_after_the_window() {
        let w = Duration::from_secs(60);
        let mut b = NonceBook::default();
        b.record("id", 100, "aa", NonceRule::SameRequest, 100, w)
            .unwrap();
        b.record("id", 100, "bb", NonceRule::SameRequest, 100, w)
            .unwrap();
        assert_eq!(
            b.record("id", 100, "aa", NonceRule::SameRequest, 100, w),
            Err(AuthError::Replayed)
        );
        assert_eq!(
            b.record("id", 100, "cc", NonceRule::Unique, 100, w),
            Err(AuthError::Replayed)
        );
        b.record("other", 100, "aa", NonceRule::Unique, 100, w)
            .unwrap();
        // Past the window the nonce is forgotten.
        b.record("id", 100, "aa", NonceRule::SameRequest, 200, w)
            .unwrap();
        assert_eq!(b.counts["id"], 1);
    }
}
