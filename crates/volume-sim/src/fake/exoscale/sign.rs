//! Verifying `EXO2-HMAC-SHA256` request signatures (exoscale.md §2).
//!
//! The signed message is five lines joined by `\n`: `"<METHOD> <path>"`
//! (the escaped path as received, `/v2` included), the raw body bytes, the
//! values of the signed query parameters (sorted by name, concatenated), an
//! empty line reserved for signed headers, and the expiry in UNIX seconds.
//! The signature is the standard, padded base64 of HMAC-SHA256 keyed with
//! the API secret.
//!
//! Nothing here logs or formats a secret or a signature.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The scheme word of the `Authorization` header.
pub(crate) const SCHEME: &str = "EXO2-HMAC-SHA256";

/// Why a request's signature is refused. The messages name the problem,
/// never the secret or the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthError {
    /// No `Authorization` header.
    Missing,
    /// The header is not a well-formed `EXO2-HMAC-SHA256` header.
    Malformed(&'static str),
    /// `expires` is in the past.
    Expired,
    /// `expires` is further ahead than the fake accepts.
    TooFarAhead,
    /// A parameter named in `signed-query-args` is not in the query.
    SignedQueryArg,
    /// The key is not known.
    UnknownKey,
    /// The signature does not match.
    BadSignature,
}

impl AuthError {
    /// The message of the 403.
    pub(crate) fn message(self) -> String {
        match self {
            Self::Missing => {
                "Missing authentication: an EXO2-HMAC-SHA256 Authorization header is required"
                    .to_owned()
            }
            Self::Malformed(what) => format!("Invalid Authorization header: {what}"),
            Self::Expired => "Request signature has expired".to_owned(),
            Self::TooFarAhead => {
                "Request signature expires too far in the future (at most one hour ahead)"
                    .to_owned()
            }
            Self::SignedQueryArg => {
                "Invalid request: a parameter named in signed-query-args is not in the query"
                    .to_owned()
            }
            Self::UnknownKey => "Invalid API key".to_owned(),
            Self::BadSignature => "Invalid request signature".to_owned(),
        }
    }
}

/// The parts of an `Authorization: EXO2-HMAC-SHA256 ...` header.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Header<'a> {
    /// The API key.
    pub(crate) credential: &'a str,
    /// The names listed in `signed-query-args`, in order.
    pub(crate) signed_query_args: Vec<&'a str>,
    /// The expiry, UNIX seconds.
    pub(crate) expires: u64,
    /// The decoded signature (32 bytes).
    pub(crate) signature: Vec<u8>,
}

impl std::fmt::Debug for Header<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Header")
            .field("credential", &self.credential)
            .field("signed_query_args", &self.signed_query_args)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// Parses the header value.
pub(crate) fn parse(value: &str) -> Result<Header<'_>, AuthError> {
    let rest = value
        .strip_prefix(SCHEME)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or(AuthError::Malformed("the scheme must be EXO2-HMAC-SHA256"))?;
    let (mut credential, mut args, mut expires, mut signature) = (None, None, None, None);
    for part in rest.split(',') {
        let (k, v) = part
            .split_once('=')
            .ok_or(AuthError::Malformed("each part must be name=value"))?;
        let slot = match k {
            "credential" => &mut credential,
            "signed-query-args" => &mut args,
            "expires" => &mut expires,
            "signature" => &mut signature,
            _ => return Err(AuthError::Malformed("unknown part")),
        };
        if slot.replace(v).is_some() {
            return Err(AuthError::Malformed("a part is repeated"));
        }
    }
    let credential = credential
        .filter(|c| !c.is_empty())
        .ok_or(AuthError::Malformed("credential is missing"))?;
    let expires = expires
        .filter(|e| !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|e| e.parse::<u64>().ok())
        .ok_or(AuthError::Malformed("expires must be UNIX seconds"))?;
    let signature = signature
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        .filter(|s| s.len() == 32)
        .ok_or(AuthError::Malformed("signature must be base64 of 32 bytes"))?;
    let signed_query_args = match args {
        None => Vec::new(),
        Some(a) => a.split(';').filter(|n| !n.is_empty()).collect(),
    };
    Ok(Header {
        credential,
        signed_query_args,
        expires,
        signature,
    })
}

/// The signed query values: for each name in `names`, its value when the
/// name occurs exactly once among `pairs`, nothing when it occurs several
/// times, concatenated in the order of `names`.
///
/// A listed name must be in the query: no client lists one it does not
/// send, and a missing one would be signed as empty. A name listed several
/// times cannot be refused, though: python-exoscale lists multi-valued
/// names and signs no value for them (exoscale.md §2), so refusing them
/// would refuse Exoscale's own client.
pub(crate) fn query_values<'p>(
    pairs: impl IntoIterator<Item = (&'p str, &'p str)> + Clone,
    names: &[&str],
) -> Result<String, AuthError> {
    let mut out = String::new();
    for name in names {
        let mut found = pairs.clone().into_iter().filter(|(k, _)| k == name);
        match (found.next(), found.next()) {
            (Some((_, v)), None) => out.push_str(v),
            (Some(_), Some(_)) => {}
            (None, _) => return Err(AuthError::SignedQueryArg),
        }
    }
    Ok(out)
}

/// The message that is signed.
pub(crate) fn message(
    method: &str,
    path: &str,
    body: &[u8],
    query_values: &str,
    expires: u64,
) -> Vec<u8> {
    let mut m = Vec::with_capacity(method.len() + path.len() + body.len() + 32);
    m.extend_from_slice(method.as_bytes());
    m.push(b' ');
    m.extend_from_slice(path.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(body);
    m.push(b'\n');
    m.extend_from_slice(query_values.as_bytes());
    m.extend_from_slice(b"\n\n");
    m.extend_from_slice(expires.to_string().as_bytes());
    m
}

/// Whether `signature` is HMAC-SHA256(`secret`, `message`), compared in
/// constant time.
pub(crate) fn verify_mac(secret: &str, message: &[u8], signature: &[u8]) -> bool {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(message);
    mac.verify_slice(signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "EXOxxxxxxxxxxxxxxxxxxxxxxxx";
    const EXPIRES: u64 = 3_376_684_800;

    fn secret() -> String {
        "X".repeat(43)
    }

    fn check(header: &str, method: &str, path: &str, body: &[u8], query: &[(&str, &str)]) {
        let h = parse(header).unwrap();
        assert_eq!(h.credential, KEY);
        assert_eq!(h.expires, EXPIRES);
        let values = query_values(query.iter().copied(), &h.signed_query_args).unwrap();
        let msg = message(method, path, body, &values, h.expires);
        assert!(verify_mac(&secret(), &msg, &h.signature), "{header}");
        assert!(!verify_mac("wrong", &msg, &h.signature));
    }

    #[test]
    fn official_vectors_verify() {
        check(
            &format!("EXO2-HMAC-SHA256 credential={KEY},expires={EXPIRES},signature=Ntbq/p0HVmA3Zg1HHY+Lq1vjFGi7HeMrrgXDS5jRNlY="),
            "GET", "/v2/zone", b"", &[],
        );
        check(
            "EXO2-HMAC-SHA256 credential=EXOxxxxxxxxxxxxxxxxxxxxxxxx,signed-query-args=k1;k2,expires=3376684800,signature=iqOBz13+44L5j0uJclE8hmUhQQcvtCSoPEOXYK6liqY=",
            "GET", "/v2/zone", b"", &[("k1", "v1"), ("k2", "v2")],
        );
        check(
            &format!("EXO2-HMAC-SHA256 credential={KEY},expires={EXPIRES},signature=duldkM0+pgWRtUznj0rMrZauzsYOtSVLn1LCGcs7CcE="),
            "POST", "/v2/load-balancer", br#"{"name": "foo"}"#, &[],
        );
    }

    #[test]
    fn block_storage_vectors_verify() {
        let id = "8a2d37e0-2c2d-4c3e-9e2f-1d0b5f4e9a11";
        check(
            &format!("EXO2-HMAC-SHA256 credential={KEY},expires={EXPIRES},signature=/d5LO0kHaXlpgWVu9XW3e+DQYIiFkUJAujtNV+WM5kE="),
            "PUT", &format!("/v2/block-storage/{id}:resize-volume"), br#"{"size":20}"#, &[],
        );
        check(
            &format!("EXO2-HMAC-SHA256 credential={KEY},signed-query-args=instance-id,expires={EXPIRES},signature=Ch08JplHyM9B6LmUV+5mg/Huyaj4IVIyotLnH5tKocg="),
            "GET", "/v2/block-storage", b"", &[("instance-id", "4f1e5c2a-7b6d-4e8f-9a0b-1c2d3e4f5a6b")],
        );
        check(
            &format!("EXO2-HMAC-SHA256 credential={KEY},expires={EXPIRES},signature=H+VgmdszegYRROEeHoku+DSff249zUA4TRCSucd5uSo="),
            "PUT", &format!("/v2/block-storage/{id}:detach"), b"", &[],
        );
    }

    #[test]
    fn query_rules_follow_both_clients() {
        let q = [("a", ""), ("b", "1"), ("b", "2"), ("c", "3")];
        // Python lists b;c, Go lists a;c: both sign "3".
        assert_eq!(query_values(q.iter().copied(), &["b", "c"]), Ok("3".into()));
        assert_eq!(query_values(q.iter().copied(), &["a", "c"]), Ok("3".into()));
        // Listed but never sent: refused rather than signed as empty.
        assert_eq!(
            query_values(q.iter().copied(), &["zz"]),
            Err(AuthError::SignedQueryArg)
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        for bad in [
            "",
            "Bearer x",
            "EXO2-HMAC-SHA256",
            "EXO2-HMAC-SHA256 credential=k",
            "EXO2-HMAC-SHA256 credential=k,expires=1,signature=!!!",
            "EXO2-HMAC-SHA256 credential=k,expires=-1,signature=Ntbq/p0HVmA3Zg1HHY+Lq1vjFGi7HeMrrgXDS5jRNlY=",
            "EXO2-HMAC-SHA256 credential=k,expires=1,signature=AAAA",
            "EXO2-HMAC-SHA256 credential=k,credential=k,expires=1,signature=Ntbq/p0HVmA3Zg1HHY+Lq1vjFGi7HeMrrgXDS5jRNlY=",
            "EXO2-HMAC-SHA256 credential=,expires=1,signature=Ntbq/p0HVmA3Zg1HHY+Lq1vjFGi7HeMrrgXDS5jRNlY=",
        ] {
            assert!(matches!(parse(bad), Err(AuthError::Malformed(_))), "{bad}");
        }
    }

    #[test]
    fn debug_hides_the_signature() {
        let value = format!("EXO2-HMAC-SHA256 credential={KEY},expires={EXPIRES},signature=Ntbq/p0HVmA3Zg1HHY+Lq1vjFGi7HeMrrgXDS5jRNlY=");
        let h = parse(&value).unwrap();
        let s = format!("{h:?}");
        assert!(!s.contains("signature"), "{s}");
    }
}
