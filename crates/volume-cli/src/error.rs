//! What can go wrong, and the exit code of each kind (see `--help`).

use std::fmt;

use volume_core::Error;

/// A failure of the command.
#[derive(Debug)]
pub(crate) enum CliError {
    /// The provider (or the client before sending) refused or failed.
    Core(Error),
    /// The command line or the configuration is wrong.
    Config(String),
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        Self::Core(e)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Core(e) => write!(f, "{e}"),
            Self::Config(m) => f.write_str(m),
        }
    }
}

/// Exit status: success.
pub(crate) const OK: u8 = 0;
/// Exit status: any other failure.
pub(crate) const OTHER: u8 = 1;
/// Exit status: bad command line or configuration.
pub(crate) const USAGE: u8 = 2;
/// Exit status: not found.
pub(crate) const NOT_FOUND: u8 = 3;
/// Exit status: invalid input or state.
pub(crate) const INVALID: u8 = 4;
/// Exit status: authentication or permission.
pub(crate) const AUTH: u8 = 5;
/// Exit status: quota or rate limit.
pub(crate) const QUOTA: u8 = 6;
/// Exit status: unsupported.
pub(crate) const UNSUPPORTED: u8 = 7;
/// Exit status: timed out.
pub(crate) const TIMEOUT: u8 = 8;

impl CliError {
    /// The exit status for this failure.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) => USAGE,
            Self::Core(e) => match e {
                Error::NotFound { .. } => NOT_FOUND,
                Error::InvalidInput { .. }
                | Error::InvalidState { .. }
                | Error::AlreadyExists { .. }
                | Error::Failed { .. } => INVALID,
                Error::Unauthenticated { .. } | Error::PermissionDenied { .. } => AUTH,
                Error::QuotaExceeded { .. } | Error::RateLimited { .. } => QUOTA,
                Error::Unsupported { .. } => UNSUPPORTED,
                Error::Timeout { .. } => TIMEOUT,
                _ => OTHER,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use volume_core::ResourceKind;

    #[test]
    fn each_kind_has_its_code() {
        let code = |e: Error| CliError::Core(e).exit_code();
        assert_eq!(code(Error::not_found(ResourceKind::Volume, "x")), NOT_FOUND);
        assert_eq!(code(Error::invalid_input("size", "no")), INVALID);
        assert_eq!(
            code(Error::invalid_state(
                ResourceKind::Volume,
                "x",
                "in-use",
                "delete"
            )),
            INVALID
        );
        assert_eq!(code(Error::quota_exceeded("full")), QUOTA);
        assert_eq!(
            code(Error::unsupported("clone_volume", "linode")),
            UNSUPPORTED
        );
        assert_eq!(CliError::Config("bad".into()).exit_code(), USAGE);
        assert_ne!(OK, OTHER);
    }
}
