//! The one error type of volume-rs.
//!
//! Every provider maps its HTTP status and error body to a variant of
//! [`Error`] in one function, and keeps what the provider said in an
//! [`ApiError`] so nothing is lost. Callers match on variants and fields,
//! never on message text. [`Error::is_retryable`] is the only place that
//! decides whether an error is worth another attempt.

use std::fmt;
use std::time::Duration;

/// A boxed error source, as carried by [`Error::Transport`] and [`Error::Decode`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with volume-rs's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The kind of resource an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResourceKind {
    /// A block-storage volume.
    Volume,
    /// A point-in-time snapshot of a volume.
    Snapshot,
    /// A backup of a volume.
    Backup,
    /// A compute instance volumes attach to.
    Instance,
    /// A region or zone.
    Region,
    /// A volume type.
    VolumeType,
    /// A provider's asynchronous operation.
    Operation,
    /// Anything else a provider reports on.
    Other,
}

impl ResourceKind {
    /// The lower-case name used in messages, e.g. `"volume"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Volume => "volume",
            Self::Snapshot => "snapshot",
            Self::Backup => "backup",
            Self::Instance => "instance",
            Self::Region => "region",
            Self::VolumeType => "volume type",
            Self::Operation => "operation",
            Self::Other => "resource",
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of a provider's error body: a reason, and the request field it is
/// about when the provider says so (Linode returns several at once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorDetail {
    /// The request field, as the provider named it (may be a dotted path).
    pub field: Option<String>,
    /// The provider's human-readable reason.
    pub reason: String,
}

/// Everything a provider said about a failed request.
///
/// Carried by [`Error::Api`] for errors that have no better variant, and by
/// the other variants (as `api`) when they were mapped from a response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The provider, e.g. `"linode"`.
    pub provider: &'static str,
    /// The HTTP status code.
    pub status: u16,
    /// The provider's machine-readable error code, if it sends one.
    pub code: Option<String>,
    /// The provider's message (every detail joined when it sends several).
    pub message: String,
    /// Each entry of the error body, with the field it names.
    pub details: Vec<ErrorDetail>,
    /// The provider's request id, for support tickets.
    pub request_id: Option<String>,
    /// `true` when the request may have taken effect although it failed (for
    /// example a create answered by a 5xx or a timeout): look before repeating it.
    pub outcome_unknown: bool,
}

impl ApiError {
    /// A new record of a provider's answer: status and message, nothing else.
    pub fn new(provider: &'static str, status: u16, message: impl Into<String>) -> Self {
        Self {
            provider,
            status,
            code: None,
            message: message.into(),
            details: Vec::new(),
            request_id: None,
            outcome_unknown: false,
        }
    }

    /// Sets the provider's error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Sets the detailed entries of the error body.
    pub fn with_details(mut self, details: Vec<ErrorDetail>) -> Self {
        self.details = details;
        self
    }

    /// Sets the provider's request id.
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// Marks the outcome of the request as unknown.
    pub fn with_outcome_unknown(mut self, unknown: bool) -> Self {
        self.outcome_unknown = unknown;
        self
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} answered HTTP {}", self.provider, self.status)?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        if self.outcome_unknown {
            f.write_str("; the request may or may not have taken effect")?;
        }
        Ok(())
    }
}

/// Formats the provider's side of an error after a local description.
struct Said<'a>(&'a Option<Box<ApiError>>);

impl fmt::Display for Said<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(api) => write!(f, " ({api})"),
            None => Ok(()),
        }
    }
}

/// Everything that can go wrong in volume-rs.
///
/// Variants mapped from a provider response keep the whole response record in
/// `api`; variants raised locally (input checks, the simulator) have `api: None`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The resource does not exist (or is not visible to this account).
    #[error("{kind} {id:?} not found{}", Said(api))]
    NotFound {
        /// What kind of resource.
        kind: ResourceKind,
        /// The id that was looked up (empty when the provider did not say).
        id: String,
        /// What the provider said, when this came from a response.
        api: Option<Box<ApiError>>,
    },

    /// A resource with that name or id exists already.
    #[error("{kind} {name:?} already exists{}", Said(api))]
    AlreadyExists {
        /// What kind of resource.
        kind: ResourceKind,
        /// The conflicting name or id.
        name: String,
        /// What the provider said, when this came from a response.
        api: Option<Box<ApiError>>,
    },

    /// The operation is not allowed in the resource's current state.
    #[error("cannot {operation} {kind} {id:?} in state {state:?}{}", Said(api))]
    InvalidState {
        /// What kind of resource.
        kind: ResourceKind,
        /// Its id.
        id: String,
        /// The state it is in (the provider's word when known).
        state: String,
        /// The refused operation, e.g. `"attach_volume"`.
        operation: &'static str,
        /// What the provider said, when this came from a response.
        api: Option<Box<ApiError>>,
    },

    /// The request is malformed or breaks a documented rule; raised before
    /// any request is sent wherever the rule is known.
    #[error("invalid {field}: {reason}{}", Said(api))]
    InvalidInput {
        /// The offending field (`"request"` when it is about the whole request).
        field: String,
        /// Why it was refused.
        reason: String,
        /// What the provider said, when this came from a response.
        api: Option<Box<ApiError>>,
    },

    /// A quota or limit of the account would be exceeded.
    #[error("quota exceeded: {message}{}", Said(api))]
    QuotaExceeded {
        /// What the limit is about.
        message: String,
        /// What the provider said, when this came from a response.
        api: Option<Box<ApiError>>,
    },

    /// The credentials are missing, malformed, expired or wrong.
    #[error("unauthenticated: {message}{}", Said(api))]
    Unauthenticated {
        /// Why, as far as is known (never the credential itself).
        message: String,
        /// What the provider said, when this came from a response.
        api: Option<Box<ApiError>>,
    },

    /// The credentials are valid but not allowed to do this.
    #[error("permission denied: {message}{}", Said(api))]
    PermissionDenied {
        /// Why, as far as is known.
        message: String,
        /// What the provider said, when this came from a response.
        api: Option<Box<ApiError>>,
    },

    /// The provider asked us to slow down.
    #[error("rate limited{}{}", RetryAfter(*retry_after), Said(api))]
    RateLimited {
        /// How long the provider asked us to wait, when it said.
        retry_after: Option<Duration>,
        /// What the provider said, when this came from a response.
        api: Option<Box<ApiError>>,
    },

    /// The provider (or this client for it) cannot do this operation.
    #[error("{provider} does not support {operation}")]
    Unsupported {
        /// The operation, e.g. `"clone_volume"`.
        operation: &'static str,
        /// The provider, e.g. `"linode"`.
        provider: &'static str,
    },

    /// The resource landed in a failure state (seen by a waiter or an
    /// operation poll): waiting longer cannot help.
    #[error("{kind} {id:?} failed: it is in state {state:?}{}", Reason(reason))]
    Failed {
        /// What kind of resource.
        kind: ResourceKind,
        /// Its id.
        id: String,
        /// The failure state, as the provider named it.
        state: String,
        /// The provider's reason, when it gave one.
        reason: Option<String>,
    },

    /// A wait or a request ran out of time.
    #[error("timed out after {waited:?} waiting for {what}{}", LastSeen(last_seen))]
    Timeout {
        /// What was being waited for.
        what: String,
        /// How long was waited.
        waited: Duration,
        /// The last state observed, when there was one.
        last_seen: Option<String>,
    },

    /// A workflow step failed, and undoing what the workflow had done
    /// failed too or cannot be done: the cloud is not as it was, and
    /// `left` says how (see [`crate::workflow`]).
    #[error("{workflow}: {error}{}; left: {left}", Undo(undo))]
    Incomplete {
        /// The workflow, e.g. `"grow_volume"`.
        workflow: &'static str,
        /// The step's error.
        error: Box<Self>,
        /// Why undoing it failed; `None` when the failed step was itself
        /// the clean-up, or what was done cannot be undone.
        undo: Option<Box<Self>>,
        /// What is left as it should not be.
        left: String,
    },

    /// A provider error that no other variant describes.
    #[error("{0}")]
    Api(Box<ApiError>),

    /// The request did not get an HTTP answer (connect, TLS, timeout, reset).
    #[error("transport error: {message}{}", if *outcome_unknown { "; the request may or may not have taken effect" } else { "" })]
    Transport {
        /// What happened (URLs in it are stripped of secrets).
        message: String,
        /// `true` when the request may have reached the provider.
        outcome_unknown: bool,
        /// `true` when the failure was a time-out.
        timed_out: bool,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },

    /// The provider's answer could not be decoded.
    #[error("could not decode the answer: {message}")]
    Decode {
        /// What did not fit.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
}

struct RetryAfter(Option<Duration>);

impl fmt::Display for RetryAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => write!(f, ", retry after {d:?}"),
            None => Ok(()),
        }
    }
}

struct LastSeen<'a>(&'a Option<String>);

impl fmt::Display for LastSeen<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(s) => write!(f, "; last seen {s:?}"),
            None => f.write_str("; nothing was observed"),
        }
    }
}

struct Undo<'a>(&'a Option<Box<Error>>);

impl fmt::Display for Undo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(e) => write!(f, "; undoing it failed too ({e})"),
            None => Ok(()),
        }
    }
}

struct Reason<'a>(&'a Option<String>);

impl fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(r) => write!(f, ": {r}"),
            None => Ok(()),
        }
    }
}

impl Error {
    /// `kind` `id` does not exist.
    pub fn not_found(kind: ResourceKind, id: impl Into<String>) -> Self {
        Self::NotFound {
            kind,
            id: id.into(),
            api: None,
        }
    }

    /// `kind` named `name` exists already.
    pub fn already_exists(kind: ResourceKind, name: impl Into<String>) -> Self {
        Self::AlreadyExists {
            kind,
            name: name.into(),
            api: None,
        }
    }

    /// `operation` is refused on `kind` `id` because it is in `state`.
    pub fn invalid_state(
        kind: ResourceKind,
        id: impl Into<String>,
        state: impl Into<String>,
        operation: &'static str,
    ) -> Self {
        Self::InvalidState {
            kind,
            id: id.into(),
            state: state.into(),
            operation,
            api: None,
        }
    }

    /// `field` breaks a rule, for `reason`.
    pub fn invalid_input(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.into(),
            reason: reason.into(),
            api: None,
        }
    }

    /// A quota would be exceeded.
    pub fn quota_exceeded(message: impl Into<String>) -> Self {
        Self::QuotaExceeded {
            message: message.into(),
            api: None,
        }
    }

    /// `provider` cannot do `operation`.
    pub const fn unsupported(operation: &'static str, provider: &'static str) -> Self {
        Self::Unsupported {
            operation,
            provider,
        }
    }

    /// A decode failure with its cause.
    pub fn decode(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Decode {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// An [`Error::Incomplete`]: `workflow`'s step failed with `error`,
    /// undoing failed with `undo` (if anything was undone), and `left` is
    /// what remains.
    pub fn incomplete(
        workflow: &'static str,
        error: Self,
        undo: Option<Self>,
        left: impl Into<String>,
    ) -> Self {
        Self::Incomplete {
            workflow,
            error: Box::new(error),
            undo: undo.map(Box::new),
            left: left.into(),
        }
    }

    /// Whether trying the same request again later may succeed: rate limits,
    /// provider-side failures (HTTP 408, 429 and 5xx) and transport failures.
    ///
    /// This is the only place that decides what is worth retrying; the HTTP
    /// layer adds one more rule on top: a request that is not idempotent is
    /// only repeated when it cannot have taken effect (see
    /// [`Error::outcome_unknown`]).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Transport { .. } => true,
            Self::Api(api) => api.status == 408 || api.status == 429 || api.status >= 500,
            _ => false,
        }
    }

    /// Whether the failed request may have taken effect all the same (a create
    /// answered by a 5xx, a time-out after the request was sent). Look before
    /// you repeat such a request.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Self::Transport {
                outcome_unknown, ..
            } => *outcome_unknown,
            other => other.api().is_some_and(|api| api.outcome_unknown),
        }
    }

    /// How long the provider asked us to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// What the provider said, when this error came from a response.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(api) => Some(api),
            Self::NotFound { api, .. }
            | Self::AlreadyExists { api, .. }
            | Self::InvalidState { api, .. }
            | Self::InvalidInput { api, .. }
            | Self::QuotaExceeded { api, .. }
            | Self::Unauthenticated { api, .. }
            | Self::PermissionDenied { api, .. }
            | Self::RateLimited { api, .. } => api.as_deref(),
            _ => None,
        }
    }

    /// A mutable view of the provider's record, when there is one.
    pub fn api_mut(&mut self) -> Option<&mut ApiError> {
        match self {
            Self::Api(api) => Some(api),
            Self::NotFound { api, .. }
            | Self::AlreadyExists { api, .. }
            | Self::InvalidState { api, .. }
            | Self::InvalidInput { api, .. }
            | Self::QuotaExceeded { api, .. }
            | Self::Unauthenticated { api, .. }
            | Self::PermissionDenied { api, .. }
            | Self::RateLimited { api, .. } => api.as_deref_mut(),
            _ => None,
        }
    }

    /// The HTTP status of the provider's answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        self.api().map(|api| api.status)
    }

    /// Whether this is [`Error::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// Maps an HTTP status and what the provider said to the variant that
    /// fits, the common part of every provider's `map_error`.
    ///
    /// `kind` and `id` say what the request was about, for not-found and
    /// state errors. Providers refine the result where their body says more
    /// (a 400 that is really a state conflict, for instance).
    pub fn from_status(
        api: ApiError,
        kind: ResourceKind,
        id: impl Into<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        let api = Box::new(api);
        let message = api.message.clone();
        match api.status {
            401 => Self::Unauthenticated {
                message,
                api: Some(api),
            },
            403 => Self::PermissionDenied {
                message,
                api: Some(api),
            },
            404 => Self::NotFound {
                kind,
                id: id.into(),
                api: Some(api),
            },
            409 => Self::InvalidState {
                kind,
                id: id.into(),
                state: String::new(),
                operation: "request",
                api: Some(api),
            },
            400 | 422 => {
                let field = api
                    .details
                    .iter()
                    .find_map(|d| d.field.clone())
                    .unwrap_or_else(|| "request".to_owned());
                Self::InvalidInput {
                    field,
                    reason: message,
                    api: Some(api),
                }
            }
            429 => Self::RateLimited {
                retry_after,
                api: Some(api),
            },
            _ => Self::Api(api),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_is_decided_by_kind_and_status() {
        let api = |s| Error::Api(Box::new(ApiError::new("p", s, "m")));
        assert!(api(500).is_retryable());
        assert!(api(503).is_retryable());
        assert!(api(408).is_retryable());
        assert!(!api(400).is_retryable());
        assert!(!Error::not_found(ResourceKind::Volume, "v").is_retryable());
        assert!(Error::RateLimited {
            retry_after: None,
            api: None
        }
        .is_retryable());
    }

    #[test]
    fn statuses_map_to_variants_and_keep_the_message() {
        type IsRight = fn(&Error) -> bool;
        let cases: [(u16, IsRight); 6] = [
            (401, |e| matches!(e, Error::Unauthenticated { .. })),
            (403, |e| matches!(e, Error::PermissionDenied { .. })),
            (404, |e| matches!(e, Error::NotFound { .. })),
            (409, |e| matches!(e, Error::InvalidState { .. })),
            (422, |e| matches!(e, Error::InvalidInput { .. })),
            (500, |e| matches!(e, Error::Api(_))),
        ];
        for (status, is_right) in cases {
            let err = Error::from_status(
                ApiError::new("p", status, "the provider's words"),
                ResourceKind::Volume,
                "v1",
                None,
            );
            assert!(is_right(&err), "{status} mapped to {err:?}");
            assert_eq!(err.status(), Some(status));
            assert_eq!(err.api().unwrap().message, "the provider's words");
            assert!(err.to_string().contains("the provider's words"), "{err}");
        }
    }

    #[test]
    fn outcome_unknown_is_said() {
        let err = Error::Api(Box::new(
            ApiError::new("p", 503, "busy").with_outcome_unknown(true),
        ));
        assert!(err.outcome_unknown());
        assert!(err.to_string().contains("may or may not have taken effect"));
    }
}
