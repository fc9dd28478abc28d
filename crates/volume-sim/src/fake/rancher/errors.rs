//! Cattle's error resources: one shape for every refusal, with the codes the
//! reference spells (`MissingRequired`, `NotUnique`, `ActionNotAvailable`
//! for validation; `Not Found`, `Method not allowed`, `Unauthorized`,
//! `Conflict` for the rest, spaces and case as in Cattle's
//! `messages.properties`).

use serde_json::{Map, Value};

use crate::engine::made_up::{mix, uuid};
use crate::fake::{FakeResponse, RejectKind, Rejection};

/// 422 with a validation `code` naming `field` (message and detail null,
/// as Cattle's schema validation sends them).
pub(super) fn invalid(code: &'static str, field: &str) -> Rejection {
    let mut r = Rejection::new(RejectKind::BadField, 422, "").with_code(code);
    r.fields = vec![(field.to_owned(), String::new())];
    r
}

/// 422 with a validation `code` and a message, no field (errors Cattle
/// raises with a text, such as a missing driver).
pub(super) fn invalid_with_message(code: &'static str, message: impl Into<String>) -> Rejection {
    Rejection::new(RejectKind::BadField, 422, message).with_code(code)
}

/// 404 `Not Found`.
pub(super) fn not_found() -> Rejection {
    Rejection::not_found("Not Found").with_code("Not Found")
}

/// 405 `Method not allowed`.
pub(super) fn method_not_allowed() -> Rejection {
    Rejection::method_not_allowed("Method not allowed").with_code("Method not allowed")
}

/// 401 `Unauthorized`.
pub(super) fn unauthorized() -> Rejection {
    Rejection::unauthenticated("Unauthorized").with_code("Unauthorized")
}

/// 409 `Conflict`.
pub(super) fn conflict() -> Rejection {
    Rejection::conflict(409, "Conflict").with_code("Conflict")
}

/// 400 `InvalidBodyContent`: a body that is not a JSON object.
pub(super) fn bad_body() -> Rejection {
    Rejection::malformed("").with_code("InvalidBodyContent")
}

/// The code Cattle's `messages.properties` gives a status.
fn status_code(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method not allowed",
        409 => "Conflict",
        413 => "Request Entity Too Large",
        422 => "InvalidOption",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

/// A fresh error id: Cattle gives every error a random UUID.
fn error_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(1);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let hi = mix(n ^ 0x6572_726f_7273_0001);
    uuid(hi, mix(hi ^ n.rotate_left(17)))
}

/// The error resource for `r`: `{"id", "type": "error", "baseType":
/// "error", "links": {}, "actions": {}, "status", "code", "message",
/// "detail", "fieldName"}`.
pub(super) fn render(r: &Rejection) -> FakeResponse {
    let status = if (400..=599).contains(&r.status) {
        r.status
    } else {
        500
    };
    let code = r
        .code
        .clone()
        .unwrap_or_else(|| status_code(status).to_owned());
    let field = r.fields.first().map(|(f, _)| f.clone());
    // Validation errors naming a field carry no message; others carry the
    // message, which for the status codes is the code itself.
    let message = if !r.message.is_empty() {
        Value::from(r.message.as_str())
    } else if field.is_some() || r.kind == RejectKind::Malformed {
        Value::Null
    } else {
        Value::from(code.as_str())
    };
    let mut m = Map::new();
    m.insert("id".into(), Value::from(error_id()));
    m.insert("type".into(), Value::from("error"));
    m.insert("baseType".into(), Value::from("error"));
    m.insert("links".into(), Value::Object(Map::new()));
    m.insert("actions".into(), Value::Object(Map::new()));
    m.insert("status".into(), Value::from(status));
    m.insert("code".into(), Value::from(code));
    m.insert("message".into(), message);
    m.insert("detail".into(), Value::Null);
    if let Some(f) = field {
        m.insert("fieldName".into(), Value::from(f));
    }
    let response = FakeResponse::json(status, &Value::Object(m));
    match r.retry_after_secs() {
        Some(s) => response.header("retry-after", s.to_string()),
        None => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &Rejection) -> Value {
        serde_json::from_slice(&render(r).body).unwrap()
    }

    #[test]
    fn errors_have_cattles_shape() {
        let v = body(&invalid("NotUnique", "name"));
        assert_eq!(v["status"], 422);
        assert_eq!(v["code"], "NotUnique");
        assert_eq!(v["fieldName"], "name");
        assert!(v["message"].is_null() && v["detail"].is_null());
        assert_eq!(v["type"], "error");
        assert_eq!(v["id"].as_str().unwrap().len(), 36);
        let v = body(&not_found());
        assert_eq!(
            (v["code"].as_str(), v["message"].as_str()),
            (Some("Not Found"), Some("Not Found"))
        );
        assert!(v.get("fieldName").is_none());
        let v = body(&Rejection::internal());
        assert_eq!(v["code"], "Internal Server Error");
        assert_ne!(body(&conflict())["id"], body(&conflict())["id"]);
    }
}
