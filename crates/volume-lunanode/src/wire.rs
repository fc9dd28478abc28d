//! LunaNode's JSON, field for field from lunanode.md §5–6 and the documented
//! examples: every scalar arrives as a string (`"size": "100"`), `success`
//! is `"yes"` or `"no"`, and each action has its own answer. Unknown fields
//! are ignored and status words are kept as sent; strings are decoded into
//! numbers and times in `convert.rs`, where a bad one is a clear `Decode`
//! error. Ids are read from a string or, leniently, a bare number.

use serde::{Deserialize, Deserializer};

/// A scalar LunaNode sends as a string; a bare number or `null` (which
/// the documentation never shows) is taken as its text or as empty.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        S(String),
        N(serde_json::Number),
        B(bool),
        Nil(()),
    }
    Ok(match Option::<Scalar>::deserialize(d)? {
        Some(Scalar::S(s)) => s,
        Some(Scalar::N(n)) => n.to_string(),
        Some(Scalar::B(b)) => b.to_string(),
        Some(Scalar::Nil(())) | None => String::new(),
    })
}

/// The envelope of every answer: `success` and, on failure, `error`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Envelope {
    pub(crate) success: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub(crate) error: String,
}

/// `volume/create`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Created {
    #[serde(deserialize_with = "text")]
    pub(crate) volume_id: String,
}

/// `volume/list`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct VolumeList {
    #[serde(default)]
    pub(crate) volumes: Vec<ListedVolume>,
}

/// A volume as `volume/list` (and `snapshot-list`'s `volume`) shows it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ListedVolume {
    #[serde(deserialize_with = "text")]
    pub(crate) id: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) identification: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) name: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) region: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) size: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) status: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) time_created: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) user_id: String,
}

/// `volume/info`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct VolumeInfo {
    pub(crate) volume: InfoVolume,
}

/// A volume as `volume/info` shows it (no region: the list has it).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct InfoVolume {
    /// The VM UUID it is attached to; empty when detached.
    #[serde(default, deserialize_with = "text")]
    pub(crate) attached: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) created: String,
    #[serde(deserialize_with = "text")]
    pub(crate) id: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) identification: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) name: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) size: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) status: String,
}

/// `volume/snapshot-create`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SnapshotCreated {
    #[serde(deserialize_with = "text")]
    pub(crate) snapshot_id: String,
}

/// `volume/snapshot-list`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SnapshotList {
    #[serde(default)]
    pub(crate) snapshots: Vec<WireSnapshot>,
}

/// A volume snapshot.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireSnapshot {
    #[serde(deserialize_with = "text")]
    pub(crate) id: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) name: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) region: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) size: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) status: String,
    /// The source volume, in the list shape.
    #[serde(default)]
    pub(crate) volume: Option<ListedVolume>,
}

/// `volume/snapshot-replicate`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Replicated {
    #[serde(deserialize_with = "text")]
    pub(crate) image_id: String,
}

/// `vm/list`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct VmList {
    #[serde(default)]
    pub(crate) vms: Vec<WireVm>,
}

/// A VM, as much of it as choosing one to attach to needs.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireVm {
    #[serde(deserialize_with = "text")]
    pub(crate) vm_id: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) name: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) region: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) status: String,
}

/// `image/list`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ImageList {
    #[serde(default)]
    pub(crate) images: Vec<WireImage>,
}

/// An image.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireImage {
    #[serde(deserialize_with = "text")]
    pub(crate) image_id: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) name: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) region: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) status: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) size: String,
}
