//! Exoscale's JSON, as serde types that mirror the API v2 spec
//! (`components.schemas`) field for field; keys are kebab-case.
//!
//! Decoding is forgiving where the API is known to vary and strict nowhere
//! else: no field is `required` in the spec, so everything but `id` is
//! optional; unknown fields are ignored; states are kept as the words
//! Exoscale sent, so a new word never breaks decoding; `instance: {}` (an
//! empty reference) reads as "not attached". Sizes are kept as sent
//! (GiB; see [`ExoscaleVolume::size_gib`] for the pre-GA byte unit).

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Deserializer, Serialize};

use volume_core::time::parse_rfc3339;

/// A `null` (or absent) value as its default.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A reference to another resource: `{"id": "<uuid>"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Ref {
    /// The resource's id (absent or empty in an empty reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl Ref {
    /// A reference to `id`.
    pub fn to(id: impl Into<String>) -> Self {
        Self {
            id: Some(id.into()),
        }
    }

    /// The id, when there is a non-empty one.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref().filter(|id| !id.is_empty())
    }
}

/// A block-storage volume as Exoscale returns it (`block-storage-volume`).
///
/// [`Exoscale::volume_details`](crate::Exoscale::volume_details) returns
/// one: it has what the provider-neutral [`Volume`](volume_core::Volume)
/// leaves out (`blocksize`, `encrypted`, the snapshots).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct ExoscaleVolume {
    /// Its id (a UUID).
    pub id: String,
    /// Its name (1 to 255 characters).
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Its size, in GiB (see [`size_gib`](Self::size_gib)).
    #[serde(default)]
    pub size: Option<u64>,
    /// Its block size in bytes (e.g. 4096).
    #[serde(default)]
    pub blocksize: Option<u64>,
    /// `creating`, `detached`, `attaching`, `attached`, `detaching`,
    /// `snapshotting`, `deleting`, `deleted` or `error`: kept as sent,
    /// whatever the word.
    #[serde(default, deserialize_with = "null_as_default")]
    pub state: String,
    /// The instance it is attached to, if any (`{}` reads as none).
    #[serde(default)]
    pub instance: Option<Ref>,
    /// Its snapshots.
    #[serde(default, deserialize_with = "null_as_default")]
    pub block_storage_snapshots: Vec<Ref>,
    /// Its labels.
    #[serde(default, deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
    /// Whether its data is encrypted at rest.
    #[serde(default)]
    pub encrypted: Option<bool>,
    /// When it was created: RFC 3339.
    #[serde(default)]
    pub created_at: Option<String>,
}

/// Sizes this large cannot be GiB (an exbibyte volume): they are bytes, as
/// the pre-GA API sent them.
const BYTES_THRESHOLD: u64 = 1 << 30;

/// A size as Exoscale sent it, in GiB: the spec's unit, or bytes (rounded up
/// to whole GiB) for values of 2^30 and more, which only the pre-GA API sent.
pub(crate) fn gib(size: u64) -> u64 {
    if size >= BYTES_THRESHOLD {
        size.div_ceil(BYTES_THRESHOLD)
    } else {
        size
    }
}

impl ExoscaleVolume {
    /// The size in GiB: [`size`](Self::size) as the spec has it, or, for a
    /// value of 2^30 or more (which only the pre-GA API sent, in bytes),
    /// that many bytes rounded up to whole GiB.
    pub fn size_gib(&self) -> Option<u64> {
        self.size.map(gib)
    }

    /// The id of the instance it is attached to.
    pub fn instance_id(&self) -> Option<&str> {
        self.instance.as_ref().and_then(Ref::id)
    }

    /// [`created_at`](Self::created_at) as a time, when it is one.
    pub fn created(&self) -> Option<SystemTime> {
        self.created_at.as_deref().and_then(parse_rfc3339)
    }
}

/// A block-storage snapshot as Exoscale returns it
/// (`block-storage-snapshot`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct ExoscaleSnapshot {
    /// Its id (a UUID).
    pub id: String,
    /// Its name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// "Snapshot size", in GiB (whether it is the volume's size or the data
    /// it holds is not documented).
    #[serde(default)]
    pub size: Option<u64>,
    /// The size of the volume it was taken of, in GiB.
    #[serde(default)]
    pub volume_size: Option<u64>,
    /// When it was created: RFC 3339.
    #[serde(default)]
    pub created_at: Option<String>,
    /// `allocated`, `creating`, `created`, `promoting`, `destroying`,
    /// `destroyed`, `partially-destroyed` or `error`: kept as sent.
    #[serde(default, deserialize_with = "null_as_default")]
    pub state: String,
    /// Its labels.
    #[serde(default, deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
    /// The volume it was taken of.
    #[serde(default)]
    pub block_storage_volume: Option<Ref>,
}

impl ExoscaleSnapshot {
    /// The size of a volume made from it, in GiB: `volume-size` when given,
    /// else `size`.
    pub fn volume_size_gib(&self) -> Option<u64> {
        self.volume_size.filter(|s| *s > 0).or(self.size).map(gib)
    }

    /// [`created_at`](Self::created_at) as a time, when it is one.
    pub fn created(&self) -> Option<SystemTime> {
        self.created_at.as_deref().and_then(parse_rfc3339)
    }
}

/// What an [`Operation`] is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Reference {
    /// The resource's id.
    #[serde(default)]
    pub id: Option<String>,
    /// Its path, e.g. `/v2/block-storage/<id>`.
    #[serde(default)]
    pub link: Option<String>,
    /// The operation that gets it, e.g. `get-block-storage-volume`.
    #[serde(default)]
    pub command: Option<String>,
}

/// An asynchronous operation (`operation`): what every mutation but
/// `:resize-volume` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Operation {
    /// Its id.
    pub id: String,
    /// `pending`, `success`, `failure` or `timeout`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub state: String,
    /// Why it failed: `incorrect`, `unknown`, `unavailable`, `forbidden`,
    /// `busy`, `fault`, `partial`, `not-found`, `interrupted`,
    /// `unsupported` or `conflict`.
    #[serde(default)]
    pub reason: Option<String>,
    /// Exoscale's message.
    #[serde(default)]
    pub message: Option<String>,
    /// The resource it is about (absent on some operations).
    #[serde(default)]
    pub reference: Option<Reference>,
}

impl Operation {
    /// Whether it is still running.
    pub fn is_pending(&self) -> bool {
        self.state == "pending"
    }

    /// The id of the resource it is about.
    pub fn reference_id(&self) -> Option<&str> {
        self.reference
            .as_ref()
            .and_then(|r| r.id.as_deref())
            .filter(|id| !id.is_empty())
    }
}

/// A zone (`GET /v2/zone`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Zone {
    /// Its name, e.g. `ch-gva-2`.
    pub name: String,
    /// Its API endpoint, e.g. `https://api-ch-gva-2.exoscale.com/v2`.
    #[serde(default)]
    pub api_endpoint: Option<String>,
    /// Its object-storage endpoint.
    #[serde(default)]
    pub sos_endpoint: Option<String>,
}

/// A compute instance, with the fields volumes need.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct ExoscaleInstance {
    pub(crate) id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(crate) name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(crate) state: String,
}

/// `{"block-storage-volumes": [...]}`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct VolumeList {
    #[serde(
        rename = "block-storage-volumes",
        default,
        deserialize_with = "null_as_default"
    )]
    pub(crate) volumes: Vec<ExoscaleVolume>,
}

/// `{"block-storage-snapshots": [...]}`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SnapshotList {
    #[serde(
        rename = "block-storage-snapshots",
        default,
        deserialize_with = "null_as_default"
    )]
    pub(crate) snapshots: Vec<ExoscaleSnapshot>,
}

/// `{"instances": [...]}`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct InstanceList {
    #[serde(default, deserialize_with = "null_as_default")]
    pub(crate) instances: Vec<ExoscaleInstance>,
}

/// `{"zones": [...]}`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ZoneList {
    #[serde(default, deserialize_with = "null_as_default")]
    pub(crate) zones: Vec<Zone>,
}

/// `POST /block-storage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CreateBody {
    pub(crate) name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) size: Option<u64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) labels: BTreeMap<String, String>,
    #[serde(
        rename = "block-storage-snapshot",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) snapshot: Option<Ref>,
}

/// `PUT /block-storage/{id}` and `PUT /block-storage-snapshot/{id}`: what
/// is left out is left unchanged; `labels` replaces the whole map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct UpdateBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) labels: Option<BTreeMap<String, String>>,
}

/// `PUT /block-storage/{id}:attach`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct AttachBody {
    pub(crate) instance: Ref,
}

/// `PUT /block-storage/{id}:resize-volume`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ResizeBody {
    pub(crate) size: u64,
}

/// `POST /block-storage/{id}:create-snapshot`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct SnapshotBody {
    pub(crate) name: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) labels: BTreeMap<String, String>,
}

/// An error answer, in every shape Exoscale's clients read: `message`,
/// `error`, RFC 9457 (`type`, `title`, `status`, `detail`, `errors`), and
/// the rate limiter's `retry_after`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub(crate) message: Option<String>,
    #[serde(default)]
    pub(crate) error: Option<String>,
    #[serde(default, rename = "type")]
    pub(crate) kind: Option<String>,
    #[serde(default)]
    pub(crate) title: Option<String>,
    #[serde(default)]
    pub(crate) detail: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(crate) errors: Vec<ErrorEntry>,
    #[serde(default)]
    pub(crate) retry_after: Option<f64>,
}

/// One entry of RFC 9457 `errors`: a string, or `{detail, location, ...}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum ErrorEntry {
    Text(String),
    Detailed {
        #[serde(default)]
        detail: Option<String>,
        #[serde(default)]
        location: Option<String>,
        #[serde(default)]
        pointer: Option<String>,
    },
    Other(#[allow(dead_code)] serde_json::Value),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_synthesised_volume_decodes() {
        // exoscale.md §8 (f).
        let v: ExoscaleVolume = serde_json::from_str(
            r#"{"id":"e429973e-c499-4f66-a64e-a22aa673c32b","name":"test-volume","size":100,"blocksize":4096,
            "state":"attached","instance":{"id":"22222222-2222-2222-2222-222222222222"},
            "block-storage-snapshots":[{"id":"33333333-3333-3333-3333-333333333333"}],
            "labels":{"env":"prod"},"encrypted":true,"created-at":"2024-02-20T16:43:32Z"}"#,
        )
        .unwrap();
        assert_eq!(v.size_gib(), Some(100));
        assert_eq!(
            v.instance_id(),
            Some("22222222-2222-2222-2222-222222222222")
        );
        assert_eq!(v.block_storage_snapshots.len(), 1);
        assert_eq!(v.labels["env"], "prod");
        assert!(v.created().is_some());
    }

    #[test]
    fn the_pre_ga_capture_decodes_in_bytes() {
        // exoscale.md §3, exo CLI PR #559 (size in bytes).
        let v: ExoscaleVolume = serde_json::from_str(
            r#"{"blocksize": 4096, "created-at": "2023-11-15T18:10:57Z", "id": "af57c03b-3522-47f3-a7b9-0ccdffac1a7c",
            "instance": {"id": "f9294189-e1d3-47d4-ad77-4c852abf0b58"}, "labels": {}, "name": "myvolume",
            "size": 107374182400, "state": "attached"}"#,
        )
        .unwrap();
        assert_eq!(v.size_gib(), Some(100));
        assert_eq!(v.encrypted, None);
    }

    #[test]
    fn empty_references_nulls_and_new_words_decode() {
        let v: ExoscaleVolume = serde_json::from_str(
            r#"{"id":"x","state":"migrating","instance":{},"labels":null,
            "block-storage-snapshots":null,"brand-new":1}"#,
        )
        .unwrap();
        assert_eq!(v.instance_id(), None);
        assert_eq!(v.state, "migrating");
        let v: ExoscaleVolume = serde_json::from_str(r#"{"id":"x","instance":{"id":""}}"#).unwrap();
        assert_eq!(v.instance_id(), None);
    }

    #[test]
    fn operations_decode() {
        // exoscale.md §7: a real pending create.
        let op: Operation = serde_json::from_str(
            r#"{"id": "53c216ba-3c42-41c6-ae73-5c379902e6b9",
            "reference": {"command": "get-block-storage-volume", "id": "0e80f82e-115d-4a1e-85f3-a6ca58f06bd0",
                          "link": "/v2/block-storage/0e80f82e-115d-4a1e-85f3-a6ca58f06bd0"},
            "state": "pending"}"#,
        )
        .unwrap();
        assert!(op.is_pending());
        assert_eq!(
            op.reference_id(),
            Some("0e80f82e-115d-4a1e-85f3-a6ca58f06bd0")
        );
        // §8 (b): the generated failure example.
        let op: Operation = serde_json::from_str(
            r#"{"id": "string", "reason": "incorrect",
            "reference": {"id": "string", "link": "string", "command": "string"},
            "message": "string", "state": "failure"}"#,
        )
        .unwrap();
        assert_eq!(op.reason.as_deref(), Some("incorrect"));
        // No reference at all (POST /ssh-key).
        let op: Operation = serde_json::from_str(r#"{"id":"o","state":"success"}"#).unwrap();
        assert_eq!(op.reference_id(), None);
    }

    #[test]
    fn bodies_leave_out_what_is_not_set() {
        let body = CreateBody {
            name: "a".into(),
            size: Some(20),
            labels: BTreeMap::new(),
            snapshot: None,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"name":"a","size":20}"#
        );
        let body = CreateBody {
            name: "a".into(),
            size: None,
            labels: BTreeMap::from([("k".into(), "v".into())]),
            snapshot: Some(Ref::to("s")),
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"name":"a","labels":{"k":"v"},"block-storage-snapshot":{"id":"s"}}"#
        );
        let body = UpdateBody {
            name: Some("n".into()),
            labels: None,
        };
        assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"name":"n"}"#);
    }

    #[test]
    fn error_bodies_of_every_shape_decode() {
        for body in [
            r#"{"message":"something went wrong"}"#,
            r#"{"error":"internal failure"}"#,
            r##"{"type":"#/http-problem-types/not-found","title":"Not Found","detail":"The referenced model was not found."}"##,
            r##"{"type":"#/http-problem-types/request-invalid-body","errors":[{"path":"...","pointer":"...","location":"$['inference-engine-version']","detail":"does not have a value"}],"title":"Invalid Request Body"}"##,
            r#"{"errors":["a", {"detail": "b"}, 3]}"#,
            r#"{"error":"slow down","retry_after":2.5}"#,
        ] {
            serde_json::from_str::<ErrorBody>(body).unwrap();
        }
    }
}
