//! Printing results: aligned tables for people, one JSON document for
//! scripts, ids alone with `-q`. The JSON field names are the `*View`
//! structs' and are stable.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;
use volume_core::time::format_rfc3339;
use volume_core::{Backup, Capabilities, Instance, ResizeMode, Snapshot, Volume, VolumeSource};

use crate::cli::Output;
use crate::error::CliError;

/// Where and how results go.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Printer {
    pub(crate) output: Output,
    pub(crate) quiet: bool,
    /// Colour states: stdout is a terminal and `NO_COLOR` is unset.
    pub(crate) color: bool,
    /// Print nothing (replaying a `--sim-state` journal).
    pub(crate) silent: bool,
}

impl Printer {
    /// One resource: its fields one a line, its JSON object, or its id.
    pub(crate) fn one<T: Serialize>(
        &self,
        view: &T,
        fields: Vec<(&'static str, String)>,
        id: &str,
    ) -> Result<(), CliError> {
        if self.silent {
            return Ok(());
        }
        let mut out = io::stdout().lock();
        let result = if self.quiet {
            writeln!(out, "{id}")
        } else {
            match self.output {
                Output::Json => write_json(&mut out, view),
                Output::Table => {
                    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
                    fields.iter().try_for_each(|(k, v)| {
                        let v = if *k == "state" {
                            self.paint(v)
                        } else {
                            v.clone()
                        };
                        writeln!(out, "{:<width$}  {v}", format!("{k}:"), width = width + 1)
                    })
                }
            }
        };
        finish(result.and_then(|()| out.flush()))
    }

    /// A list: a table, a JSON array, or ids.
    pub(crate) fn list<T: Serialize>(
        &self,
        views: &[T],
        table: Table,
        ids: impl Iterator<Item = String>,
    ) -> Result<(), CliError> {
        if self.silent {
            return Ok(());
        }
        let mut out = io::stdout().lock();
        let result = if self.quiet {
            ids.into_iter().try_for_each(|id| writeln!(out, "{id}"))
        } else {
            match self.output {
                Output::Json => write_json(&mut out, &views),
                Output::Table => table.write(&mut out, self),
            }
        };
        finish(result.and_then(|()| out.flush()))
    }

    /// One id on its line (`-q` output as it arrives).
    pub(crate) fn id(&self, id: &str) -> Result<(), CliError> {
        if self.silent {
            return Ok(());
        }
        let mut out = io::stdout().lock();
        finish(writeln!(out, "{id}").and_then(|()| out.flush()))
    }

    /// A line of plain text (what was done), unless `-q` or JSON.
    pub(crate) fn done<T: Serialize>(
        &self,
        view: &T,
        text: &str,
        id: &str,
    ) -> Result<(), CliError> {
        if self.silent {
            return Ok(());
        }
        let mut out = io::stdout().lock();
        let result = if self.quiet {
            writeln!(out, "{id}")
        } else {
            match self.output {
                Output::Json => write_json(&mut out, view),
                Output::Table => writeln!(out, "{text}"),
            }
        };
        finish(result.and_then(|()| out.flush()))
    }

    /// A state word in its colour, when colour is on.
    pub(crate) fn paint(&self, state: &str) -> String {
        if !self.color {
            return state.to_owned();
        }
        let code = match state {
            "available" | "in-use" | "running" => "32",
            s if s.starts_with("error") || s == "failed" => "31",
            "creating" | "attaching" | "detaching" | "resizing" | "snapshotting" | "backing-up"
            | "restoring" | "deleting" => "33",
            _ => return state.to_owned(),
        };
        format!("\x1b[{code}m{state}\x1b[0m")
    }
}

/// A note on stderr (`volume: ...`); a closed stderr is not worth a panic.
pub(crate) fn note(text: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr(), "volume: {text}");
}

/// A closed stdout (as `volume ls | head`) is the reader's choice, not a
/// failure.
fn finish(result: io::Result<()>) -> Result<(), CliError> {
    match result {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(CliError::Config(format!("cannot write the output: {e}")))
        }
        _ => Ok(()),
    }
}

fn write_json<T: Serialize + ?Sized>(out: &mut impl Write, value: &T) -> io::Result<()> {
    // Rendered first, so that a closed pipe keeps its error kind.
    let mut text = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    text.push(b'\n');
    out.write_all(&text)
}

/// An aligned table; the column named `STATE` is coloured on a terminal.
#[derive(Debug)]
pub(crate) struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(headers: &[&'static str]) -> Self {
        Self {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn write(&self, out: &mut impl Write, printer: &Printer) -> io::Result<()> {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let state = self.headers.iter().position(|h| *h == "STATE");
        let line = |out: &mut dyn Write, cells: &[String], paint: bool| -> io::Result<()> {
            let mut text = String::new();
            for (i, cell) in cells.iter().enumerate().take(columns) {
                let pad = widths[i].saturating_sub(cell.chars().count());
                let shown = if paint && Some(i) == state {
                    printer.paint(cell)
                } else {
                    cell.clone()
                };
                text.push_str(&shown);
                if i + 1 < columns {
                    text.extend(std::iter::repeat_n(' ', pad + 2));
                }
            }
            writeln!(out, "{}", text.trim_end())
        };
        let headers: Vec<String> = self.headers.iter().map(|h| (*h).to_owned()).collect();
        line(out, &headers, false)?;
        for row in &self.rows {
            line(out, row, true)?;
        }
        Ok(())
    }
}

fn gib(size: volume_core::Size) -> String {
    format!("{} GiB", size.as_gib())
}

fn labels_text(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A volume in JSON.
#[derive(Debug, Serialize)]
pub(crate) struct VolumeView {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) size_gib: u64,
    pub(crate) state: String,
    pub(crate) raw_state: String,
    pub(crate) region: String,
    pub(crate) attached_to: Option<String>,
    pub(crate) attachments: Vec<AttachmentView>,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) source: Option<SourceView>,
    pub(crate) volume_type: Option<String>,
    pub(crate) created_at: Option<String>,
}

/// An attachment in JSON.
#[derive(Debug, Serialize)]
pub(crate) struct AttachmentView {
    pub(crate) instance: String,
    pub(crate) device: Option<String>,
}

/// Where a volume came from, in JSON.
#[derive(Debug, Serialize)]
pub(crate) struct SourceView {
    pub(crate) kind: &'static str,
    pub(crate) id: String,
}

impl From<&Volume> for VolumeView {
    fn from(v: &Volume) -> Self {
        let source = match &v.source {
            VolumeSource::Snapshot(id) => Some(("snapshot", id.to_string())),
            VolumeSource::Volume(id) => Some(("volume", id.to_string())),
            VolumeSource::Backup(id) => Some(("backup", id.to_string())),
            _ => None,
        };
        Self {
            id: v.id.to_string(),
            name: v.name.clone(),
            size_gib: v.size.as_gib(),
            state: v.state.as_str().to_owned(),
            raw_state: v.raw_state.clone(),
            region: v.region.to_string(),
            attached_to: v.attached_to().map(ToString::to_string),
            attachments: v
                .attachments
                .iter()
                .map(|a| AttachmentView {
                    instance: a.instance.to_string(),
                    device: a.device.clone(),
                })
                .collect(),
            labels: v.labels.clone(),
            source: source.map(|(kind, id)| SourceView { kind, id }),
            volume_type: v.volume_type.clone(),
            created_at: v.created_at.map(format_rfc3339),
        }
    }
}

/// The volume table's columns.
pub(crate) fn volume_table() -> Table {
    Table::new(&[
        "ID",
        "NAME",
        "SIZE",
        "STATE",
        "REGION",
        "ATTACHED TO",
        "LABELS",
    ])
}

/// A volume as a row of [`volume_table`].
pub(crate) fn volume_row(v: &VolumeView) -> Vec<String> {
    vec![
        v.id.clone(),
        v.name.clone(),
        format!("{} GiB", v.size_gib),
        v.state.clone(),
        v.region.clone(),
        v.attached_to.clone().unwrap_or_else(|| "-".to_owned()),
        labels_text(&v.labels),
    ]
}

/// A volume's fields for `show`.
pub(crate) fn volume_fields(v: &VolumeView) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("id", v.id.clone()),
        ("name", v.name.clone()),
        ("size", format!("{} GiB", v.size_gib)),
        ("state", v.state.clone()),
        ("region", v.region.clone()),
    ];
    if v.raw_state != v.state {
        fields.push(("provider state", v.raw_state.clone()));
    }
    let attached = v
        .attachments
        .iter()
        .map(|a| match &a.device {
            Some(d) => format!("{} ({d})", a.instance),
            None => a.instance.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    fields.push((
        "attached to",
        if attached.is_empty() {
            "-".to_owned()
        } else {
            attached
        },
    ));
    fields.push(("labels", labels_text(&v.labels)));
    if let Some(s) = &v.source {
        fields.push(("source", format!("{} {}", s.kind, s.id)));
    }
    if let Some(t) = &v.volume_type {
        fields.push(("type", t.clone()));
    }
    if let Some(c) = &v.created_at {
        fields.push(("created", c.clone()));
    }
    fields
}

/// A snapshot in JSON.
#[derive(Debug, Serialize)]
pub(crate) struct SnapshotView {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) volume_id: Option<String>,
    pub(crate) size_gib: u64,
    pub(crate) state: String,
    pub(crate) raw_state: String,
    pub(crate) region: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) created_at: Option<String>,
}

impl From<&Snapshot> for SnapshotView {
    fn from(s: &Snapshot) -> Self {
        Self {
            id: s.id.to_string(),
            name: s.name.clone(),
            volume_id: s.volume_id.as_ref().map(ToString::to_string),
            size_gib: s.size.as_gib(),
            state: s.state.as_str().to_owned(),
            raw_state: s.raw_state.clone(),
            region: s.region.to_string(),
            labels: s.labels.clone(),
            created_at: s.created_at.map(format_rfc3339),
        }
    }
}

pub(crate) fn snapshot_table() -> Table {
    Table::new(&["ID", "NAME", "VOLUME", "SIZE", "STATE", "REGION"])
}

pub(crate) fn snapshot_row(s: &SnapshotView) -> Vec<String> {
    vec![
        s.id.clone(),
        s.name.clone(),
        s.volume_id.clone().unwrap_or_else(|| "-".to_owned()),
        format!("{} GiB", s.size_gib),
        s.state.clone(),
        s.region.clone(),
    ]
}

pub(crate) fn snapshot_fields(s: &SnapshotView) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("id", s.id.clone()),
        ("name", s.name.clone()),
        (
            "volume",
            s.volume_id.clone().unwrap_or_else(|| "-".to_owned()),
        ),
        ("size", format!("{} GiB", s.size_gib)),
        ("state", s.state.clone()),
        ("region", s.region.clone()),
        ("labels", labels_text(&s.labels)),
    ];
    if let Some(c) = &s.created_at {
        fields.push(("created", c.clone()));
    }
    fields
}

/// A backup in JSON.
#[derive(Debug, Serialize)]
pub(crate) struct BackupView {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) volume_id: Option<String>,
    pub(crate) size_gib: u64,
    pub(crate) state: String,
    pub(crate) raw_state: String,
    pub(crate) region: String,
    pub(crate) incremental: bool,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) created_at: Option<String>,
}

impl From<&Backup> for BackupView {
    fn from(b: &Backup) -> Self {
        Self {
            id: b.id.to_string(),
            name: b.name.clone(),
            volume_id: b.volume_id.as_ref().map(ToString::to_string),
            size_gib: b.size.as_gib(),
            state: b.state.as_str().to_owned(),
            raw_state: b.raw_state.clone(),
            region: b.region.to_string(),
            incremental: b.incremental,
            labels: b.labels.clone(),
            created_at: b.created_at.map(format_rfc3339),
        }
    }
}

pub(crate) fn backup_table() -> Table {
    Table::new(&["ID", "NAME", "VOLUME", "SIZE", "STATE", "KIND", "REGION"])
}

pub(crate) fn backup_row(b: &BackupView) -> Vec<String> {
    vec![
        b.id.clone(),
        b.name.clone(),
        b.volume_id.clone().unwrap_or_else(|| "-".to_owned()),
        format!("{} GiB", b.size_gib),
        b.state.clone(),
        if b.incremental { "incremental" } else { "full" }.to_owned(),
        b.region.clone(),
    ]
}

pub(crate) fn backup_fields(b: &BackupView) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("id", b.id.clone()),
        ("name", b.name.clone()),
        (
            "volume",
            b.volume_id.clone().unwrap_or_else(|| "-".to_owned()),
        ),
        ("size", format!("{} GiB", b.size_gib)),
        ("state", b.state.clone()),
        (
            "kind",
            if b.incremental { "incremental" } else { "full" }.to_owned(),
        ),
        ("region", b.region.clone()),
        ("labels", labels_text(&b.labels)),
    ];
    if let Some(c) = &b.created_at {
        fields.push(("created", c.clone()));
    }
    fields
}

/// An instance in JSON.
#[derive(Debug, Serialize)]
pub(crate) struct InstanceView {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) region: String,
    pub(crate) state: String,
}

impl From<&Instance> for InstanceView {
    fn from(i: &Instance) -> Self {
        Self {
            id: i.id.to_string(),
            name: i.name.clone(),
            region: i.region.to_string(),
            state: i.state.to_string(),
        }
    }
}

pub(crate) fn instance_table() -> Table {
    Table::new(&["ID", "NAME", "REGION", "STATE"])
}

pub(crate) fn instance_row(i: &InstanceView) -> Vec<String> {
    vec![
        i.id.clone(),
        i.name.clone(),
        i.region.clone(),
        i.state.clone(),
    ]
}

/// What a provider can do, in JSON.
#[derive(Debug, Serialize)]
pub(crate) struct CapabilitiesView {
    pub(crate) provider: &'static str,
    pub(crate) update: bool,
    pub(crate) labels: bool,
    pub(crate) attach: bool,
    pub(crate) multi_attach: bool,
    pub(crate) max_attachments_per_instance: Option<u32>,
    pub(crate) resize: &'static str,
    pub(crate) clone: bool,
    pub(crate) snapshots: bool,
    pub(crate) volume_from_snapshot: bool,
    pub(crate) backups: bool,
    pub(crate) incremental_backups: bool,
    pub(crate) min_size_gib: u64,
    pub(crate) max_size_gib: u64,
    pub(crate) max_page_size: u32,
    pub(crate) max_name_len: Option<usize>,
}

impl From<&Capabilities> for CapabilitiesView {
    fn from(c: &Capabilities) -> Self {
        Self {
            provider: c.provider,
            update: c.update,
            labels: c.labels,
            attach: c.attach,
            multi_attach: c.multi_attach,
            max_attachments_per_instance: c.max_attachments_per_instance,
            resize: resize_word(c.resize),
            clone: c.clone,
            snapshots: c.snapshots,
            volume_from_snapshot: c.volume_from_snapshot,
            backups: c.backups,
            incremental_backups: c.incremental_backups,
            min_size_gib: c.min_size.as_gib(),
            max_size_gib: c.max_size.as_gib(),
            max_page_size: c.max_page_size,
            max_name_len: c.max_name_len,
        }
    }
}

fn resize_word(mode: ResizeMode) -> &'static str {
    match mode {
        ResizeMode::Unsupported => "no",
        ResizeMode::Offline => "detached only",
        ResizeMode::Online => "attached or detached",
        _ => "yes",
    }
}

pub(crate) fn capability_fields(c: &CapabilitiesView) -> Vec<(&'static str, String)> {
    let yn = |b: bool| if b { "yes" } else { "no" }.to_owned();
    vec![
        ("provider", c.provider.to_owned()),
        ("rename/relabel", yn(c.update)),
        ("labels", yn(c.labels)),
        ("attach", yn(c.attach)),
        ("multi-attach", yn(c.multi_attach)),
        (
            "attachments per instance",
            c.max_attachments_per_instance
                .map_or_else(|| "no limit".to_owned(), |n| n.to_string()),
        ),
        ("resize", c.resize.to_owned()),
        ("clone", yn(c.clone)),
        ("snapshots", yn(c.snapshots)),
        ("volume from snapshot", yn(c.volume_from_snapshot)),
        ("backups", yn(c.backups)),
        ("incremental backups", yn(c.incremental_backups)),
        (
            "sizes",
            format!(
                "{} to {}",
                gib(volume_core::Size::gib(c.min_size_gib)),
                gib(volume_core::Size::gib(c.max_size_gib))
            ),
        ),
        ("page size", format!("up to {}", c.max_page_size)),
        (
            "name length",
            c.max_name_len
                .map_or_else(|| "no limit".to_owned(), |n| format!("up to {n}")),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printer(color: bool) -> Printer {
        Printer {
            output: Output::Table,
            quiet: false,
            color,
            silent: false,
        }
    }

    #[test]
    fn states_are_coloured_only_when_asked_and_columns_stay_aligned() {
        let mut table = Table::new(&["ID", "STATE", "NAME"]);
        table.row(vec!["a".into(), "available".into(), "x".into()]);
        table.row(vec!["bb".into(), "error".into(), "y".into()]);
        let mut plain = Vec::new();
        table.write(&mut plain, &printer(false)).unwrap();
        let plain = String::from_utf8(plain).unwrap();
        assert_eq!(
            plain,
            "ID  STATE      NAME\na   available  x\nbb  error      y\n"
        );
        let mut coloured = Vec::new();
        table.write(&mut coloured, &printer(true)).unwrap();
        let coloured = String::from_utf8(coloured).unwrap();
        assert!(
            coloured.contains("\x1b[32mavailable\x1b[0m  x"),
            "{coloured:?}"
        );
        assert!(
            coloured.contains("\x1b[31merror\x1b[0m      y"),
            "{coloured:?}"
        );
        // Without the escapes, the same text: padding counts visible width.
        let stripped = coloured
            .replace("\x1b[32m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[0m", "");
        assert_eq!(stripped, plain);
    }
}
