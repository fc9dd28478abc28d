//! Cattle's error answers as volume-core [`Error`]s: the one place they are
//! read.
//!
//! Cattle answers every failure with its error resource,
//! `{"type": "error", "status": 422, "code": "NotUnique", "message": null,
//! "detail": null, "fieldName": "name"}`. [`map_error`] keeps the code in
//! [`ApiError::code`](volume_core::ApiError::code), the message (or the code,
//! when Cattle sends no message, as for schema validation errors) in
//! [`ApiError::message`](volume_core::ApiError::message), and the field with
//! the detail in [`ApiError::details`](volume_core::ApiError::details), and
//! picks the variant:
//!
//! | Cattle | core |
//! |---|---|
//! | 422 `NotUnique` | [`Error::AlreadyExists`] |
//! | 422 `ActionNotAvailable`, `InvalidState` | [`Error::InvalidState`] |
//! | 422 (`MissingRequired`, `InvalidOption`, `InvalidReference`, ... ) | [`Error::InvalidInput`] on `fieldName` (`request` without one) |
//! | 405 `Method not allowed` (a delete or process not allowed in the state) | [`Error::InvalidState`] |
//! | 409 `Conflict` (busy) | [`Error::InvalidState`] |
//! | 401 `Unauthorized`, 403, 404 `Not Found`, others | as [`Error::from_status`] |
//!
//! A body that is not Cattle's (a proxy's HTML page) falls back to the
//! transport's default mapping.

use volume_core::http::{ErrorContext, Method};
use volume_core::{Error, ErrorDetail};

use crate::wire::ErrorBody;

/// The provider name in errors and traces.
pub(crate) const PROVIDER: &str = "rancher";

/// Maps a non-2xx answer from Cattle to an [`Error`]; the error mapper of
/// every [`Rancher`](crate::Rancher) client.
pub(crate) fn map_error(ctx: &ErrorContext<'_>) -> Error {
    let Ok(body) = serde_json::from_slice::<ErrorBody>(ctx.body) else {
        return ctx.default_error();
    };
    if body.kind != "error" {
        return ctx.default_error();
    }
    let code = body.code.clone().filter(|c| !c.is_empty());
    let field = body.field_name.clone().filter(|f| !f.is_empty());
    let mut message = body
        .message
        .clone()
        .filter(|m| !m.is_empty())
        .or_else(|| code.clone())
        .unwrap_or_else(|| ctx.status.canonical_reason().unwrap_or("error").to_owned());
    if let Some(field) = &field {
        message = format!("{field}: {message}");
    }
    if let Some(detail) = body.detail.as_deref().filter(|d| !d.is_empty()) {
        message = format!("{message} ({detail})");
    }
    let reason = body
        .detail
        .clone()
        .or_else(|| body.message.clone())
        .or_else(|| code.clone())
        .unwrap_or_default();
    let mut api = ctx
        .api_error(message.clone())
        .with_details(vec![ErrorDetail {
            field: field.clone(),
            reason,
        }]);
    if let Some(code) = &code {
        api = api.with_code(code.clone());
    }
    let operation = match ctx.method {
        Method::DELETE => "delete",
        Method::PUT => "update",
        _ => "action",
    };
    match (ctx.status.as_u16(), code.as_deref()) {
        (422, Some("NotUnique")) => Error::AlreadyExists {
            kind: ctx.kind,
            name: ctx.id.to_owned(),
            api: Some(Box::new(api)),
        },
        (422, Some("ActionNotAvailable" | "InvalidState")) | (405 | 409, _) => {
            Error::InvalidState {
                kind: ctx.kind,
                id: ctx.id.to_owned(),
                state: String::new(),
                operation,
                api: Some(Box::new(api)),
            }
        }
        (422, _) => Error::InvalidInput {
            field: field.unwrap_or_else(|| "request".to_owned()),
            reason: message,
            api: Some(Box::new(api)),
        },
        _ => Error::from_status(api, ctx.kind, ctx.id, ctx.retry_after),
    }
}

#[cfg(test)]
mod tests {
    use volume_core::http::{HeaderMap, StatusCode};
    use volume_core::ResourceKind;

    use super::*;

    fn map(status: u16, body: &str) -> Error {
        map_method(status, Method::POST, body)
    }

    fn map_method(status: u16, method: Method, body: &str) -> Error {
        let headers = HeaderMap::new();
        let mut ctx = ErrorContext::new(
            PROVIDER,
            StatusCode::from_u16(status).unwrap(),
            &headers,
            body.as_bytes(),
        )
        .with_about(ResourceKind::Volume, "1v5");
        ctx.method = method;
        map_error(&ctx)
    }

    #[test]
    fn validation_errors_name_their_field() {
        let e = map(
            422,
            r#"{"id": "x", "type": "error", "status": 422, "code": "MissingRequired",
                "message": null, "detail": null, "fieldName": "name"}"#,
        );
        match &e {
            Error::InvalidInput { field, api, .. } => {
                assert_eq!(field, "name");
                let api = api.as_deref().unwrap();
                assert_eq!(api.code.as_deref(), Some("MissingRequired"));
                assert_eq!(api.details[0].field.as_deref(), Some("name"));
            }
            other => panic!("{other:?}"),
        }
        let e = map(
            422,
            r#"{"type": "error", "status": 422, "code": "MissingRequired",
                "message": "Either driver or storageDriverId is required"}"#,
        );
        match &e {
            Error::InvalidInput { field, reason, .. } => {
                assert_eq!(field, "request");
                assert!(reason.contains("Either driver"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        let e = map(
            422,
            r#"{"type": "error", "status": 422, "code": "InvalidOption", "fieldName": "sizeMb",
                "message": "Volume driver local does not support specifying a size.",
                "detail": "more"}"#,
        );
        match &e {
            Error::InvalidInput { field, api, .. } => {
                assert_eq!(field, "sizeMb");
                let api = api.as_deref().unwrap();
                assert!(api.message.contains("does not support") && api.message.contains("more"));
                assert_eq!(api.details[0].reason, "more");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn not_unique_is_already_exists_and_405_is_a_state() {
        let e = map(
            422,
            r#"{"type": "error", "status": 422, "code": "NotUnique", "fieldName": "name"}"#,
        );
        assert!(matches!(e, Error::AlreadyExists { .. }), "{e:?}");
        let e = map_method(
            405,
            Method::DELETE,
            r#"{"type": "error", "status": 405, "code": "Method not allowed",
                "message": "Method not allowed"}"#,
        );
        match &e {
            Error::InvalidState {
                operation, id, api, ..
            } => {
                assert_eq!(*operation, "delete");
                assert_eq!(id, "1v5");
                assert_eq!(api.as_deref().unwrap().status, 405);
            }
            other => panic!("{other:?}"),
        }
        let e = map(
            422,
            r#"{"type": "error", "status": 422, "code": "ActionNotAvailable", "fieldName": "action"}"#,
        );
        assert!(matches!(e, Error::InvalidState { .. }), "{e:?}");
        let e = map(
            409,
            r#"{"type": "error", "status": 409, "code": "Conflict", "message": "Conflict"}"#,
        );
        assert!(matches!(e, Error::InvalidState { .. }), "{e:?}");
    }

    #[test]
    fn other_statuses_follow_the_core() {
        let e = map(
            401,
            r#"{"type": "error", "status": 401, "code": "Unauthorized", "message": "Unauthorized"}"#,
        );
        assert!(matches!(e, Error::Unauthenticated { .. }), "{e:?}");
        let e = map(
            404,
            r#"{"type": "error", "status": 404, "code": "Not Found", "message": "Not Found"}"#,
        );
        match e {
            Error::NotFound { kind, id, api } => {
                assert_eq!(kind, ResourceKind::Volume);
                assert_eq!(id, "1v5");
                assert_eq!(api.unwrap().code.as_deref(), Some("Not Found"));
            }
            other => panic!("{other:?}"),
        }
        let e = map(502, "<html>Bad Gateway</html>");
        assert_eq!(e.status(), Some(502));
        let e = map(400, r#"{"type": "collection"}"#);
        assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
    }
}
