//! LunaNode's signed form posts (lunanode.md §2): the authentication scheme
//! of this crate, run by the shared transport on every attempt.
//!
//! Each action is a `POST /api/{category}/{action}/` whose body is a form:
//! `req` (the parameters as a JSON object of strings, plus `api_id` and
//! `api_partialkey`), `signature` (lowercase hex HMAC-SHA512, under the
//! full API key, of `{category}/{action}/|{req}|{nonce}`) and `nonce` (Unix
//! seconds). The body is what is signed, so the signer rewrites it per
//! attempt ([`AuthHeaders::with_body`]): a retried request carries a new
//! nonce and a new signature.
//!
//! The calls in `client.rs` hand the transport the parameters alone, as a
//! JSON object; the signer adds the credentials and writes the form.
//!
//! Nonces: LunaNode's own clients use the current second, so two calls in
//! one second share a nonce. This client never sends the same nonce twice:
//! each nonce is the current second or, when that was already used, one
//! more than the last one sent (a monotonic counter shared by every clone
//! of the client). Under a burst the nonce runs ahead of the clock by the
//! number of requests in excess of one per second.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha512;
use volume_core::http::{AuthHeaders, AuthRequest, Authenticate, Secret};
use volume_core::{Error, Result};

/// Where the signer reads the time: the system clock, or a fixed second
/// (tests).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Clock {
    System,
    Fixed(u64),
}

impl Clock {
    fn now(self) -> u64 {
        match self {
            Self::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            Self::Fixed(s) => s,
        }
    }
}

/// Hands out nonces: the current second, or one past the last one given.
#[derive(Debug, Default)]
pub(crate) struct Nonces {
    last: AtomicU64,
}

impl Nonces {
    /// A nonce never handed out before by this counter.
    pub(crate) fn next(&self, now: u64) -> u64 {
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let next = now.max(last.saturating_add(1));
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }
}

/// The lowercase hex HMAC-SHA512 of `handler|req|nonce` under `key`.
pub(crate) fn signature(key: &str, handler: &str, req: &str, nonce: &str) -> String {
    // HMAC takes a key of any length; this cannot fail.
    let mut mac = Hmac::<Sha512>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(handler.as_bytes());
    mac.update(b"|");
    mac.update(req.as_bytes());
    mac.update(b"|");
    mac.update(nonce.as_bytes());
    let bytes = mac.finalize().into_bytes();
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

/// The raw request message: `params` plus `api_id` and `api_partialkey`,
/// as compact JSON with sorted keys (as Go's clients write it).
pub(crate) fn request_message(
    params: &BTreeMap<String, String>,
    api_id: &str,
    key: &str,
) -> String {
    let mut all: BTreeMap<&str, &str> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    all.insert("api_id", api_id);
    all.insert("api_partialkey", partial_key(key));
    // A map of strings always serialises.
    serde_json::to_string(&all).unwrap_or_default()
}

/// The first 64 characters of the key (keys are ASCII; a shorter key is
/// refused by the builder).
fn partial_key(key: &str) -> &str {
    key.char_indices().nth(64).map_or(key, |(i, _)| &key[..i])
}

/// The handler of a request path: its last two segments with a slash,
/// `volume/create/` for `/api/volume/create/`.
pub(crate) fn handler_of(path: &str) -> Option<String> {
    let mut segments = path.trim_end_matches('/').rsplit('/');
    let action = segments.next().filter(|s| !s.is_empty())?;
    let category = segments.next().filter(|s| !s.is_empty())?;
    Some(format!("{category}/{action}/"))
}

/// Signs every attempt of a request afresh.
#[derive(Clone)]
pub(crate) struct LunaNodeSigner {
    pub(crate) api_id: String,
    pub(crate) api_key: Secret,
    pub(crate) clock: Clock,
    pub(crate) nonces: Arc<Nonces>,
}

impl fmt::Debug for LunaNodeSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LunaNodeSigner")
            .field("api_id", &self.api_id)
            .field("api_key", &"******")
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Authenticate for LunaNodeSigner {
    async fn authenticate(&self, request: &AuthRequest<'_>) -> Result<AuthHeaders> {
        let handler = handler_of(request.path()).ok_or_else(|| {
            Error::invalid_input(
                "path",
                "a LunaNode action path ends in {category}/{action}/",
            )
        })?;
        let params: BTreeMap<String, String> = if request.body().is_empty() {
            BTreeMap::new()
        } else {
            serde_json::from_slice(request.body()).map_err(|e| {
                Error::invalid_input("params", format!("must be a JSON object of strings ({e})"))
            })?
        };
        let key = self.api_key.expose();
        let req = request_message(&params, &self.api_id, key);
        let nonce = self.nonces.next(self.clock.now()).to_string();
        let signature = signature(key, &handler, &req, &nonce);
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("req", &req)
            .append_pair("signature", &signature)
            .append_pair("nonce", &nonce)
            .finish();
        Ok(AuthHeaders::new().with_body(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef";

    fn key() -> String {
        ID.repeat(8)
    }

    fn params() -> BTreeMap<String, String> {
        [
            ("label", "myvolume"),
            ("region", "toronto"),
            ("size", "100"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn the_reference_worked_example() {
        let req = request_message(&params(), ID, &key());
        assert_eq!(
            req,
            r#"{"api_id":"0123456789abcdef","api_partialkey":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","label":"myvolume","region":"toronto","size":"100"}"#
        );
        assert_eq!(
            signature(&key(), "volume/create/", &req, "1545008415"),
            "ff4b1149c9182b166e58d5b5f9a021cf1a816db6dd56277edee101d28ee35bb969d21f01430cce90e2f38c48b0844305caf171fdb07eab1a294c865204e3ee25"
        );
    }

    #[test]
    fn the_reference_python_example() {
        // lndynamic3.py3 serialises with spaces and in insertion order; the
        // signature covers that string as it is.
        let req = r#"{"label": "myvolume", "region": "toronto", "size": "100", "api_id": "0123456789abcdef", "api_partialkey": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}"#;
        assert_eq!(
            signature(&key(), "volume/create/", req, "1545008415"),
            "492b3e5643249ac05377b50ba279498337727da9c7733dc1f467cbd6485c5207750f5157862dc249867f9deb12cccf09c6c2517a52e4cb545e8708c6c2ad7600"
        );
    }

    #[test]
    fn nonces_never_repeat() {
        let n = Nonces::default();
        assert_eq!(n.next(100), 100);
        assert_eq!(n.next(100), 101);
        assert_eq!(n.next(100), 102);
        assert_eq!(n.next(200), 200);
        assert_eq!(n.next(150), 201);
    }

    #[test]
    fn handlers_come_from_the_path() {
        assert_eq!(handler_of("/api/volume/create/").unwrap(), "volume/create/");
        assert_eq!(
            handler_of("/x/api/volume/snapshot-list/").unwrap(),
            "volume/snapshot-list/"
        );
        assert_eq!(handler_of("/").as_deref(), None);
    }

    #[test]
    fn debug_shows_no_key() {
        let s = LunaNodeSigner {
            api_id: ID.into(),
            api_key: Secret::new(key()),
            clock: Clock::System,
            nonces: Arc::default(),
        };
        assert!(!format!("{s:?}").contains(&key()[..16].repeat(2)));
    }
}
