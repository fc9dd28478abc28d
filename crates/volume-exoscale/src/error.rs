//! Exoscale's error answers as volume-core [`Error`]s: the one place they
//! are read.
//!
//! The block-storage endpoints declare no error body; Exoscale's own
//! clients read, in order, `message`, then `error`, then RFC 9457 Problem
//! Details (`title`, `detail`, `type`, and `errors`, an array of strings or
//! `{detail, location}` objects). [`map_error`] reads all of them: the
//! message is the first of `message`, `error`, `detail`, `title`; each
//! `errors` entry is an [`ErrorDetail`] (its `location` or `pointer` as the
//! field); the RFC 9457 `type` is the [`ApiError::code`]. The variant
//! follows the status ([`Error::from_status`]): 400 and 422
//! [`Error::InvalidInput`], 401 [`Error::Unauthenticated`], 403
//! [`Error::PermissionDenied`] (Exoscale answers a bad or expired signature
//! with 403), 404 [`Error::NotFound`] for what the request was about, 409
//! and 412 [`Error::InvalidState`], 429 [`Error::RateLimited`] with the
//! `Retry-After` header or the body's `retry_after`; others
//! [`Error::Api`]. A body that is not JSON becomes the message, as egoscale
//! does.
//!
//! [`ApiError::code`]: volume_core::ApiError::code

use std::time::Duration;

use volume_core::http::ErrorContext;
use volume_core::{Error, ErrorDetail};

use crate::wire::{ErrorBody, ErrorEntry};

/// The provider name in errors and traces.
pub(crate) const PROVIDER: &str = "exoscale";

/// Maps a non-2xx answer from Exoscale to an [`Error`]; the `ErrorMapper`
/// of every [`Exoscale`](crate::Exoscale) client.
pub(crate) fn map_error(ctx: &ErrorContext<'_>) -> Error {
    let Ok(body) = serde_json::from_slice::<ErrorBody>(ctx.body) else {
        return ctx.default_error();
    };
    let details: Vec<ErrorDetail> = body
        .errors
        .iter()
        .filter_map(|e| match e {
            ErrorEntry::Text(t) => Some(ErrorDetail {
                field: None,
                reason: t.clone(),
            }),
            ErrorEntry::Detailed {
                detail,
                location,
                pointer,
            } => Some(ErrorDetail {
                field: location
                    .clone()
                    .or_else(|| pointer.clone())
                    .filter(|f| !f.is_empty()),
                reason: detail.clone().unwrap_or_default(),
            }),
            ErrorEntry::Other(_) => None,
        })
        .collect();
    let message = [&body.message, &body.error, &body.detail, &body.title]
        .into_iter()
        .flatten()
        .map(|m| m.trim())
        .find(|m| !m.is_empty())
        .map(str::to_owned)
        .or_else(|| {
            (!details.is_empty()).then(|| {
                details
                    .iter()
                    .map(|d| d.reason.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        });
    let Some(message) = message else {
        // `{}` or another JSON body: nothing of Exoscale's to keep.
        return ctx.default_error();
    };
    let mut api = ctx.api_error(message).with_details(details);
    if let Some(kind) = body.kind.filter(|k| !k.is_empty()) {
        api = api.with_code(kind);
    }
    let retry_after = ctx.retry_after.or_else(|| {
        body.retry_after
            .filter(|s| s.is_finite() && *s >= 0.0 && *s < 86_400.0)
            .map(Duration::from_secs_f64)
    });
    if ctx.status.as_u16() == 412 {
        return Error::InvalidState {
            kind: ctx.kind,
            id: ctx.id.to_owned(),
            state: String::new(),
            operation: "request",
            api: Some(Box::new(api)),
        };
    }
    Error::from_status(api, ctx.kind, ctx.id, retry_after)
}

#[cfg(test)]
mod tests {
    use volume_core::http::{HeaderMap, StatusCode};
    use volume_core::ResourceKind;

    use super::*;

    fn map(status: u16, body: &str) -> Error {
        let headers = HeaderMap::new();
        let ctx = ErrorContext::new(
            PROVIDER,
            StatusCode::from_u16(status).unwrap(),
            &headers,
            body.as_bytes(),
        )
        .with_about(ResourceKind::Volume, "v1");
        map_error(&ctx)
    }

    #[test]
    fn every_documented_shape_is_read() {
        let e = map(404, r#"{"message":"not found"}"#);
        match &e {
            Error::NotFound { kind, id, api } => {
                assert_eq!(*kind, ResourceKind::Volume);
                assert_eq!(id, "v1");
                assert_eq!(api.as_deref().unwrap().message, "not found");
            }
            other => panic!("{other:?}"),
        }
        let e = map(500, r#"{"error":"internal failure"}"#);
        assert!(matches!(&e, Error::Api(api) if api.message == "internal failure"));
        let e = map(
            404,
            r##"{"type":"#/http-problem-types/not-found","title":"Not Found","detail":"The referenced model was not found."}"##,
        );
        let api = e.api().unwrap();
        assert_eq!(api.message, "The referenced model was not found.");
        assert_eq!(api.code.as_deref(), Some("#/http-problem-types/not-found"));
        let e = map(
            400,
            r##"{"type":"#/http-problem-types/request-invalid-body","errors":[{"path":"...","pointer":"...","location":"$['inference-engine-version']","detail":"does not have a value in the enumeration"}],"title":"Invalid Request Body"}"##,
        );
        match &e {
            Error::InvalidInput { field, api, .. } => {
                assert_eq!(field, "$['inference-engine-version']");
                let api = api.as_deref().unwrap();
                assert_eq!(api.message, "Invalid Request Body");
                assert_eq!(
                    api.details[0].reason,
                    "does not have a value in the enumeration"
                );
            }
            other => panic!("{other:?}"),
        }
        let e = map(400, r#"{"errors":["first","second"]}"#);
        assert_eq!(e.api().unwrap().message, "first; second");
    }

    #[test]
    fn statuses_map_to_variants() {
        let body = r#"{"message":"x"}"#;
        assert!(matches!(map(401, body), Error::Unauthenticated { .. }));
        assert!(matches!(map(403, body), Error::PermissionDenied { .. }));
        assert!(matches!(map(409, body), Error::InvalidState { .. }));
        assert!(matches!(map(412, body), Error::InvalidState { .. }));
        assert!(matches!(map(400, body), Error::InvalidInput { field, .. } if field == "request"));
        let e = map(429, r#"{"error":"slow down","retry_after":2}"#);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
        assert!(e.is_retryable());
    }

    #[test]
    fn other_bodies_fall_back() {
        let e = map(502, "<html>Bad Gateway</html>");
        assert!(e.api().unwrap().message.contains("Bad Gateway"));
        let e = map(503, "{}");
        assert_eq!(e.status(), Some(503));
    }
}
