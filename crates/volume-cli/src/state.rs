//! `--provider sim --sim-state FILE`: the simulator kept between runs.
//!
//! The file is a journal of the changing commands that succeeded (their
//! arguments; credentials are never arguments). Each run starts a fresh
//! simulator, which is deterministic, and replays the journal on it,
//! letting every transition finish after each command (time passes between
//! runs), before running its own command. Ids therefore come out the same
//! as the first time.

use std::path::{Path, PathBuf};

use clap::Parser;
use serde::{Deserialize, Serialize};

use crate::cli::{BackupCommand, Cli, Command, SnapshotCommand};
use crate::error::CliError;

/// The journal's format version.
const VERSION: u32 = 1;

/// The most commands a journal holds: replaying is linear in it.
const MAX_COMMANDS: usize = 10_000;

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    version: u32,
    commands: Vec<Vec<String>>,
}

/// A loaded journal and where it lives.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Reads `path`; a missing file is an empty journal.
    pub(crate) fn load(path: &Path) -> Result<Self, CliError> {
        let file = match std::fs::read(path) {
            Ok(bytes) => {
                let file: File = serde_json::from_slice(&bytes).map_err(|e| {
                    CliError::Config(format!("{}: not a volume state file: {e}", path.display()))
                })?;
                if file.version != VERSION {
                    return Err(CliError::Config(format!(
                        "{}: state file version {} (this volume reads {VERSION})",
                        path.display(),
                        file.version
                    )));
                }
                file
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => File {
                version: VERSION,
                commands: Vec::new(),
            },
            Err(e) => {
                return Err(CliError::Config(format!(
                    "cannot read {}: {e}",
                    path.display()
                )))
            }
        };
        Ok(Self {
            path: path.to_owned(),
            file,
        })
    }

    /// The recorded commands, parsed.
    pub(crate) fn commands(&self) -> Result<Vec<Cli>, CliError> {
        self.file
            .commands
            .iter()
            .map(|args| {
                Cli::try_parse_from(args).map_err(|e| {
                    CliError::Config(format!(
                        "{}: a recorded command no longer parses ({}): {}",
                        self.path.display(),
                        args.join(" "),
                        e.kind()
                    ))
                })
            })
            .collect()
    }

    /// Appends `args` and writes the file (whole, then renamed into place).
    pub(crate) fn record(&mut self, args: Vec<String>) -> Result<(), CliError> {
        if self.file.commands.len() >= MAX_COMMANDS {
            return Err(CliError::Config(format!(
                "{}: the state holds {MAX_COMMANDS} commands already; start a new file",
                self.path.display()
            )));
        }
        self.file.commands.push(args);
        let text = serde_json::to_vec_pretty(&self.file)
            .map_err(|e| CliError::Config(format!("cannot write the state: {e}")))?;
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(|e| CliError::Config(format!("cannot write {}: {e}", self.path.display())))
    }
}

/// Whether `command` changes the cloud (and so belongs in the journal).
pub(crate) fn changes_state(command: &Command) -> bool {
    match command {
        Command::Create(_)
        | Command::Rm { .. }
        | Command::Attach { .. }
        | Command::Detach { .. }
        | Command::Resize { .. }
        | Command::Clone { .. }
        | Command::Rename { .. }
        | Command::Label { .. } => true,
        Command::Snapshot(s) => matches!(
            s,
            SnapshotCommand::Create { .. } | SnapshotCommand::Rm { .. }
        ),
        Command::Backup(b) => matches!(
            b,
            BackupCommand::Create { .. } | BackupCommand::Rm { .. } | BackupCommand::Restore { .. }
        ),
        _ => false,
    }
}
