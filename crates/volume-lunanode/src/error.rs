//! LunaNode's errors: an HTTP 200 whose body says `{"success": "no",
//! "error": "<text>"}` (lunanode.md §3), caught by the response classifier
//! before the retry decision, and mapped here to volume-core's errors.
//!
//! LunaNode has no error codes, and documents no error texts (only
//! `region not set` has been captured), so the mapping goes by the words a
//! text holds, and keeps the text itself in every error it makes:
//!
//! | the text holds | error |
//! |---|---|
//! | `not found`, `does not exist`, `invalid … id` for a volume, snapshot, VM or image | [`Error::NotFound`] |
//! | `api_id`, `api key`, `partialkey`, `signature`, `nonce`, `authentication` | [`Error::Unauthenticated`] |
//! | `permission`, `not allowed`, `denied` | [`Error::PermissionDenied`] |
//! | `quota`, `insufficient`, `credit`, `limit` | [`Error::QuotaExceeded`] |
//! | `already attached`, `not attached`, `detached`, `attached to`, `busy`, `in-use`, `has snapshots` | [`Error::InvalidState`] (of the volume, for the action's operation) |
//! | `volume snapshot is <state>` | [`Error::InvalidState`] of the snapshot |
//! | `different region` | [`Error::InvalidInput`] on `instance_id` |
//! | `… not set`, `invalid …`, `must …` | [`Error::InvalidInput`] (the field it names) |
//! | anything else | [`Error::Api`] with the text as its message |
//!
//! An answer that is not JSON, or has no `success`, is a `Decode` error; a
//! non-2xx answer (a proxy, an outage) goes through the same mapping when
//! its body is LunaNode's (a text it does not know then goes by the
//! status: a 403 is `PermissionDenied`, a 400 `InvalidInput`), else the
//! transport's default.

use volume_core::http::ErrorContext;
use volume_core::{ApiError, Error, ResourceKind, VolumeState};

use crate::wire::Envelope;

/// The provider's name in errors and capabilities.
pub(crate) const PROVIDER: &str = "lunanode";

/// The classifier: a 2xx that says `success: "no"` (or says nothing
/// usable) is an error.
pub(crate) fn classify(cx: &ErrorContext<'_>) -> Option<Error> {
    match serde_json::from_slice::<Envelope>(cx.body) {
        Ok(e) if e.success.as_deref() == Some("yes") => None,
        Ok(e) if e.success.is_none() => Some(Error::decode(
            format!("LunaNode's answer to {} has no `success` field", cx.path),
            "missing success",
        )),
        Ok(e) => Some(from_text(cx, &e.error)),
        Err(err) => Some(Error::decode(
            format!("LunaNode's answer to {} is not a JSON object", cx.path),
            err,
        )),
    }
}

/// The mapper of non-2xx answers.
pub(crate) fn map_error(cx: &ErrorContext<'_>) -> Error {
    match serde_json::from_slice::<Envelope>(cx.body) {
        Ok(e) if !e.error.is_empty() => {
            // A rate limit or an outage keeps its status (and is retried).
            if cx.status.as_u16() == 429 || cx.status.is_server_error() {
                return Error::from_status(api(cx, &e.error), cx.kind, cx.id, cx.retry_after);
            }
            // Words it knows say more than the status; a text it does not
            // know leaves the status to say what kind of error it is.
            match from_text(cx, &e.error) {
                Error::Api(api) => Error::from_status(*api, cx.kind, cx.id, cx.retry_after),
                known => known,
            }
        }
        _ => cx.default_error(),
    }
}

fn api(cx: &ErrorContext<'_>, text: &str) -> ApiError {
    cx.api_error(if text.trim().is_empty() {
        "unknown API error"
    } else {
        text
    })
}

/// The operation a request path performs, for `InvalidState`.
fn operation_of(path: &str) -> &'static str {
    let p = path.trim_end_matches('/');
    match p.rsplit('/').next().unwrap_or("") {
        "attach" => "attach_volume",
        "detach" => "detach_volume",
        "extend" => "resize_volume",
        "rename" => "update_volume",
        "delete" => "delete_volume",
        "snapshot-create" => "create_snapshot",
        "snapshot-delete" => "delete_snapshot",
        "create" => "create_volume",
        _ => "volume action",
    }
}

/// The volume state a refusal's text says the volume is in.
fn state_of(lower: &str) -> &'static str {
    if lower.contains("not attached") || lower.contains("snapshots") {
        VolumeState::Available.as_str()
    } else if lower.contains("attached") || lower.contains("in-use") {
        VolumeState::InUse.as_str()
    } else {
        "busy"
    }
}

/// The field an `invalid <field>` or `<field> not set` text names.
fn field_of(lower: &str) -> String {
    let word = |s: &str| {
        s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .find(|w| !w.is_empty())
            .unwrap_or("")
            .to_owned()
    };
    if let Some(rest) = lower.strip_prefix("invalid ") {
        return word(rest);
    }
    if let Some(i) = lower.find(" not set") {
        return lower[..i].rsplit(' ').next().unwrap_or("").to_owned();
    }
    if lower.contains("size") {
        return "size".to_owned();
    }
    String::new()
}

/// The core error for a LunaNode error text (see the module's table); the
/// text is kept as the error's `api` message.
pub(crate) fn from_text(cx: &ErrorContext<'_>, text: &str) -> Error {
    let lower = text.trim().to_ascii_lowercase();
    let has = |w: &str| lower.contains(w);
    let said = || Some(Box::new(api(cx, text)));
    if has("not found") || has("does not exist") {
        let kind = if has("snapshot") {
            ResourceKind::Snapshot
        } else if has("virtual machine") || lower.starts_with("vm") {
            ResourceKind::Instance
        } else if has("image") {
            ResourceKind::Other
        } else if has("volume") {
            ResourceKind::Volume
        } else {
            cx.kind
        };
        let id = if kind == cx.kind { cx.id } else { "" };
        return Error::NotFound {
            kind,
            id: id.to_owned(),
            api: said(),
        };
    }
    let auth_words = [
        "api_id",
        "api key",
        "api_key",
        "partialkey",
        "signature",
        "nonce",
        "authentication",
    ];
    if auth_words.iter().any(|w| has(w)) {
        return Error::Unauthenticated {
            message: text.to_owned(),
            api: said(),
        };
    }
    if has("permission") || has("not allowed") || has("denied") {
        return Error::PermissionDenied {
            message: text.to_owned(),
            api: said(),
        };
    }
    if has("too many requests") {
        return Error::RateLimited {
            retry_after: cx.retry_after,
            api: said(),
        };
    }
    if has("quota") || has("insufficient") || has("credit") || has("limit") {
        return Error::QuotaExceeded {
            message: text.to_owned(),
            api: said(),
        };
    }
    if let Some(state) = lower.strip_prefix("volume snapshot is ") {
        return Error::InvalidState {
            kind: ResourceKind::Snapshot,
            id: if cx.kind == ResourceKind::Snapshot {
                cx.id.to_owned()
            } else {
                String::new()
            },
            state: state.trim().to_owned(),
            operation: operation_of(cx.path),
            api: said(),
        };
    }
    if has("different region") {
        return Error::InvalidInput {
            field: "instance_id".to_owned(),
            reason: text.to_owned(),
            api: said(),
        };
    }
    if has("already attached")
        || has("not attached")
        || has("detached")
        || has("attached to")
        || has("busy")
        || has("in-use")
        || has("has snapshots")
    {
        return Error::InvalidState {
            kind: ResourceKind::Volume,
            id: cx.id.to_owned(),
            state: state_of(&lower).to_owned(),
            operation: operation_of(cx.path),
            api: said(),
        };
    }
    if lower.starts_with("invalid") || has(" not set") || has("must ") {
        let field = field_of(&lower);
        return Error::InvalidInput {
            field: if field.is_empty() {
                "params".to_owned()
            } else {
                field
            },
            reason: text.to_owned(),
            api: said(),
        };
    }
    Error::Api(Box::new(api(cx, text)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use volume_core::http::{HeaderMap, StatusCode};

    fn err(path: &'static str, text: &str) -> Error {
        let headers = HeaderMap::new();
        let body = serde_json::json!({"success": "no", "error": text}).to_string();
        let mut cx = ErrorContext::new(PROVIDER, StatusCode::OK, &headers, body.as_bytes())
            .with_about(ResourceKind::Volume, "4682");
        cx.path = path;
        classify(&cx).expect("an error")
    }

    #[test]
    fn texts_map_to_core_errors() {
        let e = err("/api/volume/info/", "volume not found");
        assert!(
            matches!(&e, Error::NotFound { kind: ResourceKind::Volume, id, .. } if id == "4682"),
            "{e:?}"
        );
        let e = err("/api/volume/snapshot-delete/", "volume snapshot not found");
        assert!(
            matches!(
                &e,
                Error::NotFound {
                    kind: ResourceKind::Snapshot,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = err("/api/volume/list/", "region not set");
        assert!(
            matches!(&e, Error::InvalidInput { field, .. } if field == "region"),
            "{e:?}"
        );
        let e = err(
            "/api/volume/create/",
            "invalid size: must be between 1 GiB and 10000 GiB",
        );
        assert!(
            matches!(&e, Error::InvalidInput { field, .. } if field == "size"),
            "{e:?}"
        );
        let e = err("/api/volume/detach/", "volume is not attached");
        assert!(
            matches!(&e, Error::InvalidState { state, operation: "detach_volume", .. } if state == "available"),
            "{e:?}"
        );
        let e = err(
            "/api/volume/extend/",
            "volume must be detached to be extended",
        );
        assert!(
            matches!(
                &e,
                Error::InvalidState {
                    operation: "resize_volume",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = err(
            "/api/volume/snapshot-delete/",
            "volume snapshot is creating",
        );
        assert!(
            matches!(&e, Error::InvalidState { kind: ResourceKind::Snapshot, state, operation: "delete_snapshot", .. } if state == "creating"),
            "{e:?}"
        );
        let e = err("/api/volume/list/", "invalid signature");
        assert!(matches!(e, Error::Unauthenticated { .. }), "{e:?}");
        let e = err("/api/volume/create/", "quota exceeded: 10 volumes");
        assert!(matches!(e, Error::QuotaExceeded { .. }), "{e:?}");
        let e = err("/api/volume/create/", "something odd happened");
        match e {
            Error::Api(api) => assert_eq!(api.message, "something odd happened"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_non_2xx_answer_with_an_unknown_text_goes_by_its_status() {
        let headers = HeaderMap::new();
        let body = br#"{"success":"no","error":"the proxy says no"}"#;
        let map = |status| map_error(&ErrorContext::new(PROVIDER, status, &headers, body));
        let e = map(StatusCode::FORBIDDEN);
        assert!(matches!(e, Error::PermissionDenied { .. }), "{e:?}");
        let e = map(StatusCode::BAD_REQUEST);
        assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
        // Known words still win over the status.
        let body = br#"{"success":"no","error":"volume not found"}"#;
        let e = map_error(&ErrorContext::new(
            PROVIDER,
            StatusCode::BAD_REQUEST,
            &headers,
            body,
        ));
        assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    }

    #[test]
    fn bodies_without_success_are_decode_errors() {
        let headers = HeaderMap::new();
        for body in [&b"not json"[..], b"{}", b"[]"] {
            let cx = ErrorContext::new(PROVIDER, StatusCode::OK, &headers, body);
            assert!(
                matches!(classify(&cx), Some(Error::Decode { .. })),
                "{body:?}"
            );
        }
        let ok = br#"{"success":"yes"}"#;
        assert!(classify(&ErrorContext::new(PROVIDER, StatusCode::OK, &headers, ok)).is_none());
        let unknown = br#"{"success":"no"}"#;
        let e = classify(&ErrorContext::new(
            PROVIDER,
            StatusCode::OK,
            &headers,
            unknown,
        ))
        .unwrap();
        assert!(matches!(e, Error::Api(_)), "{e:?}");
    }
}
