//! Linode's error answers as volume-core [`Error`]s: the one place they are
//! read.
//!
//! Linode answers every failure with
//! `{"errors": [{"reason": "...", "field": "..."}]}` (several entries at
//! once; `field` absent or `null` when the error is about no one field).
//! [`map_error`] keeps every entry in [`ApiError::details`], joins the
//! reasons into the message, and picks the variant from the status with
//! [`Error::from_status`]: 400 is [`Error::InvalidInput`] on the first
//! field named, 401 [`Error::Unauthenticated`], 403
//! [`Error::PermissionDenied`], 404 [`Error::NotFound`] for what the request
//! was about, 429 [`Error::RateLimited`] with the `Retry-After`, and other
//! statuses [`Error::Api`]. A body that is not Linode's (an HTML page from a
//! proxy) falls back to the transport's default mapping.
//!
//! One refinement: Linode's `Linode busy.` (a 400 without a field, which
//! linodego retries) is an [`Error::InvalidState`] of the Linode, not bad
//! input.

use volume_core::http::ErrorContext;
use volume_core::{Error, ErrorDetail, ResourceKind};

use crate::wire::ErrorBody;

/// The provider name in errors and traces.
pub(crate) const PROVIDER: &str = "linode";

/// The reason Linode gives when the Linode is busy with something else.
const LINODE_BUSY: &str = "Linode busy.";

/// Maps a non-2xx answer from Linode to an [`Error`]; the [`ErrorMapper`]
/// of every [`Linode`](crate::Linode) client.
///
/// [`ErrorMapper`]: volume_core::http::ErrorMapper
pub(crate) fn map_error(ctx: &ErrorContext<'_>) -> Error {
    let Ok(body) = serde_json::from_slice::<ErrorBody>(ctx.body) else {
        return ctx.default_error();
    };
    let details: Vec<ErrorDetail> = body
        .errors
        .into_iter()
        .map(|e| ErrorDetail {
            field: e.field.filter(|f| !f.is_empty()),
            reason: e.reason,
        })
        .collect();
    if details.is_empty() {
        // `{"errors": []}` or another JSON body: nothing of Linode's to keep.
        return ctx.default_error();
    }
    let message = details
        .iter()
        .map(|d| match &d.field {
            Some(field) => format!("{field}: {}", d.reason),
            None => d.reason.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ");
    let busy = ctx.status.as_u16() == 400
        && details.len() == 1
        && details[0].field.is_none()
        && details[0].reason == LINODE_BUSY;
    let api = ctx.api_error(message).with_details(details);
    if busy {
        return Error::InvalidState {
            kind: ResourceKind::Instance,
            id: String::new(),
            state: "busy".to_owned(),
            operation: "request",
            api: Some(Box::new(api)),
        };
    }
    Error::from_status(api, ctx.kind, ctx.id, ctx.retry_after)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use volume_core::http::{HeaderMap, HeaderValue, StatusCode};

    use super::*;

    fn map(status: u16, body: &str) -> Error {
        map_with(status, body, &HeaderMap::new())
    }

    fn map_with(status: u16, body: &str, headers: &HeaderMap) -> Error {
        let ctx = ErrorContext::new(
            PROVIDER,
            StatusCode::from_u16(status).unwrap(),
            headers,
            body.as_bytes(),
        )
        .with_about(ResourceKind::Volume, "123");
        map_error(&ctx)
    }

    #[test]
    fn every_reason_and_field_is_kept() {
        let e = map(
            400,
            r#"{"errors": [{"reason": "Label must be unique", "field": "label"},
                {"reason": "size is too big", "field": "size"}, {"reason": "and this"}]}"#,
        );
        match &e {
            Error::InvalidInput { field, reason, api } => {
                assert_eq!(field, "label");
                assert!(reason.contains("Label must be unique") && reason.contains("and this"));
                let api = api.as_deref().unwrap();
                assert_eq!(api.provider, "linode");
                assert_eq!(api.status, 400);
                assert_eq!(api.details.len(), 3);
                assert_eq!(api.details[1].field.as_deref(), Some("size"));
                assert_eq!(api.details[2].field, None);
                assert_eq!(api.details[2].reason, "and this");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn statuses_map_to_variants() {
        let body = r#"{"errors": [{"reason": "x"}]}"#;
        assert!(matches!(map(401, body), Error::Unauthenticated { .. }));
        assert!(matches!(map(403, body), Error::PermissionDenied { .. }));
        match map(404, r#"{"errors": [{"reason": "Not found"}]}"#) {
            Error::NotFound { kind, id, api } => {
                assert_eq!(kind, ResourceKind::Volume);
                assert_eq!(id, "123");
                assert_eq!(api.unwrap().message, "Not found");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(map(500, body), Error::Api(api) if api.status == 500));
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        let e = map_with(429, r#"{"errors": [{"reason": "Too many requests"}]}"#, &h);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert!(e.is_retryable());
    }

    #[test]
    fn a_400_without_a_field_is_about_the_request() {
        match map(
            400,
            r#"{"errors": [{"reason": "Invalid request.", "field": null}]}"#,
        ) {
            Error::InvalidInput { field, .. } => assert_eq!(field, "request"),
            other => panic!("{other:?}"),
        }
        match map(400, r#"{"errors": [{"reason": "Linode busy."}]}"#) {
            Error::InvalidState { kind, state, .. } => {
                assert_eq!(kind, ResourceKind::Instance);
                assert_eq!(state, "busy");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bodies_that_are_not_linodes_fall_back() {
        let e = map(502, "<html>Bad Gateway</html>");
        assert_eq!(e.status(), Some(502));
        assert!(e.api().unwrap().message.contains("Bad Gateway"));
        let e = map(400, r#"{"errors": []}"#);
        assert!(matches!(e, Error::InvalidInput { .. }));
    }
}
