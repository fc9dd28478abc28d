//! The providers' real request and response samples, in
//! `shared/api/<provider>/` beside the repository, and the one rule for
//! when that folder is missing.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The environment variable that lets sample tests skip, instead of fail,
/// when the samples folder is missing: set it to `1`.
pub const SKIP_SAMPLES_ENV: &str = "VOLUME_RS_SKIP_SAMPLES";

/// One provider's samples folder, found by [`samples`].
#[derive(Debug, Clone)]
pub struct Samples {
    dir: PathBuf,
}

/// Where `shared/api/<provider>/` is: beside the repository, whose crates
/// all sit in `crates/<name>/`.
fn dir_of(provider: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/api")
        .join(provider)
}

/// The samples of `provider` (`"linode"`, `"exoscale"`, ...), from
/// `shared/api/<provider>/` beside the repository.
///
/// The rule when the folder is missing, the same for every provider: the
/// test fails with a message saying where the folder was looked for,
/// because CI always has `shared/` beside the clone and a sample test that
/// passes without samples checks nothing. Someone working without `shared/`
/// sets [`VOLUME_RS_SKIP_SAMPLES=1`](SKIP_SAMPLES_ENV): then this prints why
/// on stderr and returns `None`, and the test returns early.
///
/// ```no_run
/// # fn main() {
/// let Some(samples) = volume_sim::testing::samples("linode") else {
///     return;
/// };
/// let page = samples.json("linode_api4-python/volumes.json");
/// assert!(page["data"].is_array());
/// # }
/// ```
///
/// # Panics
///
/// When the folder is missing and the variable is not `1`.
pub fn samples(provider: &str) -> Option<Samples> {
    let dir = dir_of(provider);
    if dir.is_dir() {
        return Some(Samples { dir });
    }
    let shown = dir.display();
    if std::env::var(SKIP_SAMPLES_ENV).is_ok_and(|v| v == "1") {
        eprintln!("skipped: the {provider} samples are not in {shown} ({SKIP_SAMPLES_ENV}=1)");
        return None;
    }
    panic!(
        "the {provider} samples are not in {shown}: put the `shared` folder beside the \
         repository, or set {SKIP_SAMPLES_ENV}=1 to skip the tests that read them"
    );
}

impl Samples {
    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of `relative` in the folder.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }

    /// The text of `relative`.
    ///
    /// # Panics
    ///
    /// When it cannot be read: a sample the test names must be there.
    pub fn text(&self, relative: &str) -> String {
        let path = self.path(relative);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// `relative` parsed as JSON.
    ///
    /// # Panics
    ///
    /// When it cannot be read or is not JSON.
    pub fn json(&self, relative: &str) -> Value {
        let text = self.text(relative);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{relative}: not JSON: {e}"))
    }

    /// The files of sub-folder `relative` whose names end with `.{ext}`,
    /// sorted.
    ///
    /// # Panics
    ///
    /// When the sub-folder cannot be read or holds no such file: a test
    /// that finds nothing to check must not pass.
    pub fn files(&self, relative: &str, ext: &str) -> Vec<PathBuf> {
        let dir = self.path(relative);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == ext))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no .{ext} files in {}", dir.display());
        files
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_folder_fails_unless_skipping_is_asked_for() {
        let skipping = std::env::var(SKIP_SAMPLES_ENV).is_ok_and(|v| v == "1");
        let outcome = std::panic::catch_unwind(|| samples("no-such-provider").is_none());
        match outcome {
            Ok(none) => assert!(skipping && none, "returned without the variable"),
            Err(panic) => {
                assert!(!skipping, "panicked although {SKIP_SAMPLES_ENV}=1");
                let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
                assert!(
                    message.contains("no-such-provider") && message.contains(SKIP_SAMPLES_ENV),
                    "{message}"
                );
            }
        }
    }
}
