//! Why a fake refuses a request, said once for every provider and rendered
//! by each dialect in its own error shape.
//!
//! The pipeline and the server raise the kinds every provider shares (no
//! such path, wrong method, no credentials, a body too large, an injected
//! fault); a dialect raises them too, with its provider's words, and turns
//! each into its error body in [`Dialect::render`](super::Dialect::render)
//! (as smithy-rs servers render one `RuntimeError` per protocol).

use std::time::Duration;

use volume_core::Error;

/// The kinds of refusal every fake knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectKind {
    /// No such path or resource (404).
    NotFound,
    /// The path exists, the method does not (405).
    MethodNotAllowed,
    /// Missing or wrong credentials (401, or 403 where the provider says so).
    Unauthenticated,
    /// Credentials that may not do this (403).
    Forbidden,
    /// A field of the request is wrong (400 or 422).
    BadField,
    /// The request is not understood at all: bad JSON, a body of the wrong
    /// type, a malformed header (400).
    Malformed,
    /// The request conflicts with the resource's state (400, 409).
    Conflict,
    /// Too many requests (429, with `Retry-After`).
    RateLimited,
    /// A fault the test injected.
    Injected,
    /// The engine refused (mapped from a [`volume_core::Error`]).
    Core,
    /// The body is larger than the server accepts (413).
    TooLarge,
    /// The fake failed (500): a bug, never the caller's fault.
    Internal,
}

/// One refusal: what kind, the status, and the provider's words.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejection {
    /// What kind of refusal.
    pub kind: RejectKind,
    /// The HTTP status to answer with.
    pub status: u16,
    /// The message, in the provider's words.
    pub message: String,
    /// The provider's error code, where it has one (`"NotUnique"`).
    pub code: Option<String>,
    /// Each wrong field with its reason (`("label", "Label is required.")`);
    /// a provider that names one field per error renders the first.
    pub fields: Vec<(String, String)>,
    /// For [`RejectKind::RateLimited`]: when to try again.
    pub retry_after: Option<Duration>,
}

impl Rejection {
    /// A refusal of `kind` answered with `status` and `message`.
    pub fn new(kind: RejectKind, status: u16, message: impl Into<String>) -> Self {
        Self {
            kind,
            status,
            message: message.into(),
            code: None,
            fields: Vec::new(),
            retry_after: None,
        }
    }

    /// 404 with `message`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(RejectKind::NotFound, 404, message)
    }

    /// 405 with `message`.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(RejectKind::MethodNotAllowed, 405, message)
    }

    /// 401 with `message`.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(RejectKind::Unauthenticated, 401, message)
    }

    /// 403 with `message`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(RejectKind::Forbidden, 403, message)
    }

    /// 400 for the request as a whole (bad JSON and the like).
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(RejectKind::Malformed, 400, message)
    }

    /// 400 naming one field.
    pub fn bad_field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self {
            fields: vec![(field.into(), reason.clone())],
            ..Self::new(RejectKind::BadField, 400, reason)
        }
    }

    /// 400 naming several fields; the message is the first reason.
    pub fn bad_fields(fields: Vec<(String, String)>) -> Self {
        let message = fields
            .first()
            .map_or_else(|| "Invalid request.".to_owned(), |(_, r)| r.clone());
        Self {
            fields,
            ..Self::new(RejectKind::BadField, 400, message)
        }
    }

    /// `status` (400, 409) for a request the resource's state does not allow.
    pub fn conflict(status: u16, message: impl Into<String>) -> Self {
        Self::new(RejectKind::Conflict, status, message)
    }

    /// 429 with `Retry-After`.
    pub fn rate_limited(retry_after: Duration) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(RejectKind::RateLimited, 429, "Too many requests")
        }
    }

    /// An injected error: `status` (brought into 400..=599) and `message`
    /// (a generic one when empty).
    pub fn injected(status: u16, message: &str) -> Self {
        let status = if (400..=599).contains(&status) {
            status
        } else {
            500
        };
        let message = if message.trim().is_empty() {
            "Internal server error"
        } else {
            message
        };
        Self::new(RejectKind::Injected, status, message)
    }

    /// 413: the body is larger than `limit` bytes.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            RejectKind::TooLarge,
            413,
            format!("Request body too large (at most {limit} bytes)"),
        )
    }

    /// 500: the fake failed.
    pub fn internal() -> Self {
        Self::new(RejectKind::Internal, 500, "Internal server error")
    }

    /// A refusal the engine raised, with the status a provider most often
    /// gives it; dialects with other words map [`Error`]s themselves.
    pub fn from_core(error: &Error) -> Self {
        let (status, kind) = match error {
            Error::NotFound { .. } => (404, RejectKind::NotFound),
            Error::AlreadyExists { .. } => (409, RejectKind::Conflict),
            Error::InvalidState { .. } => (409, RejectKind::Conflict),
            Error::InvalidInput { .. } => (400, RejectKind::BadField),
            Error::QuotaExceeded { .. } => (403, RejectKind::Core),
            Error::Unauthenticated { .. } => (401, RejectKind::Unauthenticated),
            Error::PermissionDenied { .. } => (403, RejectKind::Forbidden),
            Error::RateLimited { .. } => (429, RejectKind::RateLimited),
            Error::Unsupported { .. } => (400, RejectKind::Core),
            _ => (500, RejectKind::Internal),
        };
        let mut r = Self::new(kind, status, error.to_string());
        if let Error::InvalidInput { field, reason, .. } = error {
            r.fields = vec![(field.clone(), reason.clone())];
            r.message = reason.clone();
        }
        if let Error::RateLimited { retry_after, .. } = error {
            r.retry_after = Some(retry_after.unwrap_or(Duration::from_secs(1)));
        }
        r
    }

    /// Sets the provider's error code.
    #[must_use]
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// `Retry-After` in whole seconds, rounded up.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after.map(retry_after_secs)
    }
}

/// Whole seconds for a `Retry-After` header, rounded up.
pub fn retry_after_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::ZERO), 0);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
    }

    #[test]
    fn injected_statuses_stay_errors() {
        assert_eq!(Rejection::injected(200, "").status, 500);
        assert_eq!(Rejection::injected(503, "busy").status, 503);
        assert_eq!(
            Rejection::injected(503, " ").message,
            "Internal server error"
        );
    }

    #[test]
    fn bad_fields_say_the_first_reason() {
        let r = Rejection::bad_fields(vec![("a".into(), "A is bad.".into())]);
        assert_eq!((r.status, r.message.as_str()), (400, "A is bad."));
        assert_eq!(Rejection::bad_fields(vec![]).message, "Invalid request.");
    }
}
