//! Cinder's, Nova's and Keystone's error answers as volume-core [`Error`]s:
//! the one place they are read.
//!
//! Cinder and Nova answer a failure with one key naming the fault,
//! `{"itemNotFound": {"code": 404, "message": "..."}}`; Keystone and the
//! token middleware in front of Cinder with `{"error": {"code", "title",
//! "message"}}`. [`map_error`] keeps the fault name as the error's `code`,
//! the message, the status and the request id (`x-openstack-request-id`),
//! and picks the variant:
//!
//! | answer | variant |
//! | --- | --- |
//! | 400 `badRequest` "Invalid volume: ..." / "Invalid snapshot: ..." / "Invalid backup: ..." (a state rule) | [`Error::InvalidState`] |
//! | other 400 | [`Error::InvalidInput`] |
//! | 401 | [`Error::Unauthenticated`] |
//! | 403 | [`Error::PermissionDenied`] |
//! | 404 | [`Error::NotFound`] for what the request was about |
//! | 406 (a microversion the server does not offer) | [`Error::InvalidInput`] on `microversion`, never retried |
//! | 409 `conflictingRequest` | [`Error::InvalidState`] |
//! | 413 `overLimit` (a quota) | [`Error::QuotaExceeded`] |
//! | 413 `overLimitFault` (a rate limiter) and 429 | [`Error::RateLimited`] with `Retry-After` |
//! | anything else | [`Error::Api`] (5xx retried by the transport when safe) |
//!
//! A body that is neither shape (an HTML page from a proxy) falls back to
//! the transport's default mapping.

use volume_core::http::ErrorContext;
use volume_core::{Error, ResourceKind};

use crate::wire::{Fault, KeystoneError};

/// The provider name in errors and traces.
pub(crate) const PROVIDER: &str = "cinder";

/// The fault name and message of a Cinder/Nova fault or a Keystone error.
fn read_body(body: &[u8]) -> Option<(String, String)> {
    if let Ok(keystone) = serde_json::from_slice::<KeystoneError>(body) {
        let code = keystone.error.title.unwrap_or_else(|| "error".to_owned());
        let message = keystone.error.message.unwrap_or_else(|| code.clone());
        return Some((code, message));
    }
    let value: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body).ok()?;
    if value.len() != 1 {
        return None;
    }
    let (name, inner) = value.into_iter().next()?;
    let fault: Fault = serde_json::from_value(inner).ok()?;
    let _ = fault.retry_after;
    Some((name, fault.message.unwrap_or_default()))
}

/// The state named in a Cinder state-rule message ("..., currently in-use.",
/// "... current status is: in-use."), or `""`.
fn state_in(message: &str) -> String {
    for marker in ["current status is: ", "currently "] {
        if let Some(at) = message.rfind(marker) {
            let rest = &message[at + marker.len()..];
            let word: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            return word;
        }
    }
    String::new()
}

/// Maps a non-2xx answer from Cinder, Nova or Keystone to an [`Error`]; the
/// [`ErrorMapper`](volume_core::http::ErrorMapper) of every transport of a
/// [`Cinder`](crate::Cinder) client.
pub(crate) fn map_error(ctx: &ErrorContext<'_>) -> Error {
    let Some((code, message)) = read_body(ctx.body) else {
        return ctx.default_error();
    };
    let message = if message.is_empty() {
        code.clone()
    } else {
        message
    };
    let api = ctx.api_error(message.clone()).with_code(code.clone());
    let status = ctx.status.as_u16();
    match status {
        400 if ["Invalid volume:", "Invalid snapshot:", "Invalid backup:"]
            .iter()
            .any(|p| message.starts_with(p)) =>
        {
            let kind = if message.starts_with("Invalid snapshot") {
                ResourceKind::Snapshot
            } else if message.starts_with("Invalid backup") {
                ResourceKind::Backup
            } else {
                ResourceKind::Volume
            };
            let id = if ctx.kind == kind { ctx.id } else { "" };
            Error::InvalidState {
                kind,
                id: id.to_owned(),
                state: state_in(&message),
                operation: "request",
                api: Some(Box::new(api)),
            }
        }
        406 => Error::InvalidInput {
            field: "microversion".to_owned(),
            reason: message,
            api: Some(Box::new(api)),
        },
        413 if code == "overLimitFault" => Error::RateLimited {
            retry_after: ctx.retry_after,
            api: Some(Box::new(api)),
        },
        413 => Error::QuotaExceeded {
            message,
            api: Some(Box::new(api)),
        },
        _ => Error::from_status(api, ctx.kind, ctx.id, ctx.retry_after),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use volume_core::http::{HeaderMap, HeaderValue, StatusCode};

    use super::*;

    fn map_with(status: u16, body: &str, headers: &HeaderMap) -> Error {
        let ctx = ErrorContext::new(
            PROVIDER,
            StatusCode::from_u16(status).unwrap(),
            headers,
            body.as_bytes(),
        )
        .with_about(ResourceKind::Volume, "v1");
        map_error(&ctx)
    }

    fn map(status: u16, body: &str) -> Error {
        let mut h = HeaderMap::new();
        h.insert(
            "x-openstack-request-id",
            HeaderValue::from_static("req-f2f3f6ca"),
        );
        map_with(status, body, &h)
    }

    #[test]
    fn faults_keep_name_message_and_request_id() {
        let e = map(
            404,
            r#"{"itemNotFound": {"code": 404, "message": "Volume v1 could not be found."}}"#,
        );
        match &e {
            Error::NotFound { kind, id, api } => {
                assert_eq!(*kind, ResourceKind::Volume);
                assert_eq!(id, "v1");
                let api = api.as_deref().unwrap();
                assert_eq!(api.code.as_deref(), Some("itemNotFound"));
                assert_eq!(api.message, "Volume v1 could not be found.");
                assert_eq!(api.request_id.as_deref(), Some("req-f2f3f6ca"));
                assert_eq!(api.provider, "cinder");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn state_rules_are_invalid_state() {
        let e = map(
            400,
            r#"{"badRequest": {"code": 400, "message": "Invalid volume: Volume v1 status must be '{'status': 'available'}' to extend, currently in-use."}}"#,
        );
        match &e {
            Error::InvalidState { kind, state, .. } => {
                assert_eq!(*kind, ResourceKind::Volume);
                assert_eq!(state, "in-use");
            }
            other => panic!("{other:?}"),
        }
        let e = map(
            400,
            r#"{"badRequest": {"code": 400, "message": "Invalid volume: Volume v1 status must be available, but current status is: in-use."}}"#,
        );
        assert!(
            matches!(&e, Error::InvalidState { state, .. } if state == "in-use"),
            "{e:?}"
        );
        let e = map(
            400,
            r#"{"badRequest": {"code": 400, "message": "Invalid input received: New size for extend must be greater than current size. (current: 10, extended: 5)."}}"#,
        );
        assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
        let e = map(
            409,
            r#"{"conflictingRequest": {"code": 409, "message": "ConflictNovaUsingAttachment: Detach volume from instance x using the Compute API"}}"#,
        );
        assert!(matches!(e, Error::InvalidState { .. }), "{e:?}");
    }

    #[test]
    fn quotas_versions_and_limits() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("0"));
        let e = map_with(
            413,
            r#"{"overLimit": {"code": 413, "message": "VolumeLimitExceeded: Maximum number of volumes allowed (1) exceeded for quota 'volumes'.", "retryAfter": "0"}}"#,
            &h,
        );
        assert!(
            matches!(&e, Error::QuotaExceeded { message, .. } if message.contains("VolumeLimitExceeded")),
            "{e:?}"
        );
        assert!(!e.is_retryable());
        h.insert("retry-after", HeaderValue::from_static("5"));
        let e = map_with(
            413,
            r#"{"overLimitFault": {"code": 413, "message": "This request was rate-limited."}}"#,
            &h,
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(5)));
        assert!(e.is_retryable());
        let e = map(
            406,
            r#"{"computeFault": {"code": 406, "message": "Version 3.99 is not supported by the API. Minimum is 3.0 and maximum is 3.71."}}"#,
        );
        assert!(
            matches!(&e, Error::InvalidInput { field, .. } if field == "microversion"),
            "{e:?}"
        );
        assert!(!e.is_retryable());
        let e = map(
            500,
            r#"{"computeFault": {"code": 500, "message": "The server has either erred"}}"#,
        );
        assert!(matches!(&e, Error::Api(api) if api.status == 500), "{e:?}");
        assert!(e.is_retryable());
    }

    #[test]
    fn odd_bodies_never_panic_and_keep_the_status() {
        for body in [
            "",
            "null",
            "[]",
            "{}",
            r#"{"error": null}"#,
            r#"{"error": {"code": "x"}}"#,
            r#"{"badRequest": null}"#,
            r#"{"badRequest": "text"}"#,
            r#"{"badRequest": {"message": 42}}"#,
            r#"{"overLimit": {}}"#,
            "\u{0}\u{ff}",
            &"{".repeat(10_000),
        ] {
            for status in [400, 401, 404, 406, 409, 413, 500, 503] {
                let e = map(status, body);
                assert_eq!(e.status(), Some(status), "{status} {body:.40}: {e:?}");
            }
        }
    }

    #[test]
    fn keystone_errors_and_foreign_bodies() {
        let e = map(
            401,
            r#"{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}"#,
        );
        match &e {
            Error::Unauthenticated { message, api } => {
                assert!(message.contains("requires authentication"));
                assert_eq!(
                    api.as_deref().unwrap().code.as_deref(),
                    Some("Unauthorized")
                );
            }
            other => panic!("{other:?}"),
        }
        let e = map(502, "<html>Bad Gateway</html>");
        assert_eq!(e.status(), Some(502));
        let e = map(400, r#"{"a": 1, "b": 2}"#);
        assert!(matches!(e, Error::InvalidInput { .. }));
    }
}
