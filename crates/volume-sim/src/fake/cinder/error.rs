//! Cinder's and Nova's error body, `{"<faultName>": {"code", "message"}}`
//! (reference §2.1), and the 401 of the auth middleware in front of them
//! (§1.3).

use std::time::Duration;

use serde_json::{json, Value};
use volume_core::{Error, ResourceKind};

use super::super::{FakeResponse, RejectKind, Rejection};

/// The middleware's words for a missing, wrong or expired token.
pub(super) const UNAUTHORIZED_MESSAGE: &str = "The request you have made requires authentication.";

/// The fault name Cinder's `Fault` gives a status.
pub(super) fn fault_name(status: u16) -> &'static str {
    match status {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "badMethod",
        409 => "conflictingRequest",
        413 => "overLimit",
        415 => "badMediaType",
        501 => "notImplemented",
        503 => "serviceUnavailable",
        _ => "computeFault",
    }
}

/// A refusal answered with `status` and `message` in Cinder's shape.
pub(super) fn fault(status: u16, message: impl Into<String>) -> Rejection {
    let kind = match status {
        400 => RejectKind::BadField,
        401 => RejectKind::Unauthenticated,
        403 => RejectKind::Forbidden,
        404 => RejectKind::NotFound,
        405 => RejectKind::MethodNotAllowed,
        409 => RejectKind::Conflict,
        413 => RejectKind::TooLarge,
        429 => RejectKind::RateLimited,
        _ => RejectKind::Internal,
    };
    Rejection::new(kind, status, message)
}

/// 400 `badRequest`.
pub(super) fn bad_request(message: impl Into<String>) -> Rejection {
    fault(400, message)
}

/// 400 for a field that fails the schema, in the validator's words.
pub(super) fn invalid_field(field: &str, value: &Value, reason: &str) -> Rejection {
    bad_request(format!(
        "Invalid input for field/attribute {field}. Value: {value}. {reason}"
    ))
}

/// 404 `itemNotFound` with the bare text of a method not found (also what a
/// call below its microversion gets).
pub(super) fn resource_not_found() -> Rejection {
    Rejection::not_found("The resource could not be found.")
}

/// 404 for a missing `kind` with id `id`, in Cinder's exception words.
pub(super) fn not_found(kind: &str, id: &str) -> Rejection {
    Rejection::not_found(format!("{kind} {id} could not be found."))
}

/// 413 `overLimit` for a quota, with `Retry-After: 0`.
pub(super) fn over_limit(message: impl Into<String>) -> Rejection {
    let mut r = fault(413, message);
    r.retry_after = Some(Duration::ZERO);
    r.code = Some("quota".to_owned());
    r
}

/// The auth middleware's 401.
pub(super) fn unauthorized() -> Rejection {
    Rejection::unauthenticated(UNAUTHORIZED_MESSAGE)
}

/// Keystone's and keystonemiddleware's 401 body.
pub(super) fn keystone_error(status: u16, title: &str, message: &str) -> FakeResponse {
    FakeResponse::json(
        status,
        &json!({"error": {"code": status, "title": title, "message": message}}),
    )
    .header("content-type", "application/json; charset=UTF-8")
}

/// The answer for a refusal: the middleware's 401, or Cinder's fault body.
pub(super) fn render(r: &Rejection) -> FakeResponse {
    if r.kind == RejectKind::Unauthenticated || r.status == 401 {
        return keystone_error(401, "Unauthorized", UNAUTHORIZED_MESSAGE)
            .header("www-authenticate", "Keystone uri=\"/identity/v3\"");
    }
    let status = if (400..=599).contains(&r.status) {
        r.status
    } else {
        500
    };
    let message = if r.message.trim().is_empty() {
        "The server has either erred or is incapable of performing the requested operation."
    } else {
        &r.message
    };
    let name = fault_name(status);
    let mut inner = json!({"code": status, "message": message});
    let mut response = match r.retry_after_secs() {
        Some(s) if status == 413 || status == 429 => {
            inner["retryAfter"] = Value::from(s.to_string());
            FakeResponse::json(status, &json!({ name: inner })).header("retry-after", s.to_string())
        }
        _ => FakeResponse::json(status, &json!({ name: inner })),
    };
    if status == 429 {
        // A rate limit put in front of the API (the fake's option): the
        // legacy middleware's shape.
        let s = r.retry_after_secs().unwrap_or(1);
        response = FakeResponse::json(
            429,
            &json!({"overLimit": {"code": 429, "message": message, "retryAfter": s.to_string()}}),
        )
        .header("retry-after", s.to_string());
    }
    response
}

/// Cinder's name of a resource kind, as its exceptions say it.
fn kind_word(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Snapshot => "Snapshot",
        ResourceKind::Backup => "Backup",
        ResourceKind::Instance => "Instance",
        _ => "Volume",
    }
}

/// Cinder's answer for an engine refusal.
pub(super) fn from_core(e: Error) -> Rejection {
    match e {
        Error::NotFound { kind, id, .. } => not_found(kind_word(kind), &id),
        Error::InvalidState {
            kind,
            id,
            state,
            operation,
            ..
        } => bad_request(format!(
            "Invalid {}: {} {id} is {state}; it cannot be used for {operation} now.",
            kind_word(kind).to_ascii_lowercase(),
            kind_word(kind),
        )),
        Error::InvalidInput { field, reason, .. } => {
            bad_request(format!("Invalid input received: {field} {reason}."))
        }
        Error::QuotaExceeded { message, .. } => {
            over_limit(format!("VolumeLimitExceeded: {message}"))
        }
        Error::AlreadyExists { name, .. } => fault(409, format!("{name} already exists.")),
        Error::Unsupported { operation, .. } => {
            bad_request(format!("{operation} is not supported."))
        }
        Error::RateLimited { retry_after, .. } => {
            Rejection::rate_limited(retry_after.unwrap_or(Duration::from_secs(1)))
        }
        _ => Rejection::internal(),
    }
}
