//! Linode's JSON, as serde types that mirror the API reference and the
//! recordings of real traffic field for field.
//!
//! Decoding is forgiving where the API is known to vary and strict nowhere
//! else: unknown fields are ignored (new ones keep appearing), fields that
//! older answers lack (`encryption`, `io_ready`, `locks`) are optional, a
//! `null` list reads as empty, and `status` is kept as the word Linode sent,
//! so a new status never breaks decoding. Times are kept as sent (naive UTC,
//! `2018-01-02T03:04:05`); [`LinodeVolume::created_at`] parses them.
//!
//! Request bodies are crate-private: they are built from the core requests
//! and the provider options ([`CreateOptions`](crate::CreateOptions),
//! [`AttachOptions`](crate::AttachOptions)).

use std::time::SystemTime;

use serde::{Deserialize, Deserializer, Serialize};

use volume_core::time::parse_naive_utc;

/// A `null` (or absent) list as an empty one.
fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A `null` (or absent) string as an empty one.
fn null_as_empty_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// A Linode block-storage volume, as the API returns it
/// (`GET /volumes/{volumeId}`).
///
/// [`Linode::volume_details`](crate::Linode::volume_details) returns one:
/// it has what the provider-neutral [`Volume`](volume_core::Volume) leaves
/// out (`io_ready`, `encryption`, `hardware_type`, `locks`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LinodeVolume {
    /// The volume's id.
    pub id: u64,
    /// Its label (2 to 32 characters; see [`check_label`](crate::check_label)).
    pub label: String,
    /// `creating`, `active`, `resizing`, `key_rotating`, or (older)
    /// `contact_support`: kept as sent, whatever the word.
    #[serde(default, deserialize_with = "null_as_empty_string")]
    pub status: String,
    /// Its size in GiB.
    pub size: u64,
    /// Its region, e.g. `us-east`.
    #[serde(default)]
    pub region: Option<String>,
    /// The Linode it is attached to.
    #[serde(default)]
    pub linode_id: Option<u64>,
    /// That Linode's label.
    #[serde(default)]
    pub linode_label: Option<String>,
    /// Its device path on the Linode: `/dev/disk/by-id/scsi-0Linode_Volume_<label>`.
    #[serde(default)]
    pub filesystem_path: Option<String>,
    /// Its tags (`[]` when none).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tags: Vec<String>,
    /// `hdd` or `nvme`.
    #[serde(default)]
    pub hardware_type: Option<String>,
    /// `enabled` or `disabled` (absent in older answers).
    #[serde(default)]
    pub encryption: Option<String>,
    /// When it was created: naive UTC, `YYYY-MM-DDTHH:MM:SS`.
    #[serde(default)]
    pub created: Option<String>,
    /// When it was last changed, in the same form.
    #[serde(default)]
    pub updated: Option<String>,
    /// Whether an attached volume is ready for I/O (absent in some answers).
    #[serde(default)]
    pub io_ready: Option<bool>,
    /// Locks that keep it from being deleted (`cannot_delete`, ...); v4beta.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub locks: Vec<String>,
}

impl LinodeVolume {
    /// [`created`](Self::created) as a time, when it is one.
    pub fn created_at(&self) -> Option<SystemTime> {
        self.created.as_deref().and_then(parse_naive_utc)
    }

    /// [`updated`](Self::updated) as a time, when it is one.
    pub fn updated_at(&self) -> Option<SystemTime> {
        self.updated.as_deref().and_then(parse_naive_utc)
    }
}

/// A Linode region (`GET /regions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Region {
    /// Its id, e.g. `us-east`.
    pub id: String,
    /// Where it is, e.g. `Newark, NJ`.
    #[serde(default)]
    pub label: Option<String>,
    /// Its country code, e.g. `us`.
    #[serde(default)]
    pub country: Option<String>,
    /// What it offers, e.g. `Block Storage`, `Block Storage Encryption`.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub capabilities: Vec<String>,
    /// `ok` or `outage`.
    #[serde(default)]
    pub status: Option<String>,
    /// `core` or `distributed`.
    #[serde(default)]
    pub site_type: Option<String>,
}

impl Region {
    /// The capability word of regions that have block storage.
    pub const BLOCK_STORAGE: &'static str = "Block Storage";

    /// Whether volumes can be created here.
    pub fn has_block_storage(&self) -> bool {
        self.capabilities.iter().any(|c| c == Self::BLOCK_STORAGE)
    }
}

/// A price in US dollars.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Price {
    /// Per hour.
    #[serde(default)]
    pub hourly: Option<f64>,
    /// Per month.
    #[serde(default)]
    pub monthly: Option<f64>,
}

/// The price of a volume type in one region, where it differs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RegionPrice {
    /// The region.
    #[serde(default)]
    pub id: Option<String>,
    /// Per hour, per GiB.
    #[serde(default)]
    pub hourly: Option<f64>,
    /// Per month, per GiB.
    #[serde(default)]
    pub monthly: Option<f64>,
}

/// A volume type and its prices (`GET /volumes/types`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VolumeType {
    /// Its id, e.g. `volume`.
    pub id: String,
    /// Its name, e.g. `Storage Volume`.
    #[serde(default)]
    pub label: Option<String>,
    /// The price per GiB.
    #[serde(default)]
    pub price: Option<Price>,
    /// Prices in regions that differ.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub region_prices: Vec<RegionPrice>,
    /// Outbound transfer included, in MB.
    #[serde(default)]
    pub transfer: Option<u64>,
}

/// A Linode (compute instance), with the fields attaching needs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct LinodeInstance {
    pub(crate) id: u64,
    #[serde(default, deserialize_with = "null_as_empty_string")]
    pub(crate) label: String,
    #[serde(default, deserialize_with = "null_as_empty_string")]
    pub(crate) region: String,
    #[serde(default, deserialize_with = "null_as_empty_string")]
    pub(crate) status: String,
}

/// One page of a collection: `{"data": [...], "page", "pages", "results"}`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Envelope<T> {
    pub(crate) data: Vec<T>,
    /// This page's number (1-based).
    #[serde(default = "first_page")]
    pub(crate) page: u32,
    /// The number of pages (at least 1, even when empty).
    #[serde(default = "first_page")]
    pub(crate) pages: u32,
    /// The number of items on all pages (mirrored, not used: pages are
    /// followed by `page` and `pages`).
    #[serde(default)]
    #[allow(dead_code)]
    pub(crate) results: u64,
}

fn first_page() -> u32 {
    1
}

impl<T> Envelope<T> {
    /// The number of the page after this one, if there is one.
    pub(crate) fn next_page(&self) -> Option<u32> {
        (self.page < self.pages).then(|| self.page.saturating_add(1))
    }
}

/// `POST /volumes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CreateBody {
    pub(crate) label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) linode_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) config_id: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) encryption: Option<&'static str>,
}

/// `PUT /volumes/{id}`: only `label` and `tags` are writable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct UpdateBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) label: Option<String>,
    /// Replaces the whole set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tags: Option<Vec<String>>,
}

/// `POST /volumes/{id}/attach`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct AttachBody {
    pub(crate) linode_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) config_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) persist_across_boots: Option<bool>,
}

/// `POST /volumes/{id}/clone`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CloneBody {
    pub(crate) label: String,
}

/// `POST /volumes/{id}/resize`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ResizeBody {
    pub(crate) size: u64,
}

/// An error answer: `{"errors": [{"reason": "...", "field": "..."}]}`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub(crate) errors: Vec<ErrorEntry>,
}

/// One entry of an [`ErrorBody`]; `field` is absent or `null` when the
/// error is about no one field.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ErrorEntry {
    #[serde(default, deserialize_with = "null_as_empty_string")]
    pub(crate) reason: String,
    #[serde(default)]
    pub(crate) field: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_volume_decodes() {
        // linode.md §11 (a): a create answer recorded on real traffic.
        let v: LinodeVolume = serde_json::from_str(
            r#"{"id": 15543619, "status": "creating", "label": "go-vol-test80i4li1j0gi2",
            "created": "2018-01-02T03:04:05", "updated": "2018-01-02T03:04:05",
            "filesystem_path": "/dev/disk/by-id/scsi-0Linode_Volume_go-vol-test80i4li1j0gi2",
            "size": 15, "linode_id": null, "linode_label": null, "io_ready": false,
            "region": "gb-lon", "tags": [], "hardware_type": "nvme", "encryption": "enabled",
            "locks": []}"#,
        )
        .unwrap();
        assert_eq!(v.id, 15_543_619);
        assert_eq!(v.status, "creating");
        assert_eq!(v.linode_id, None);
        assert_eq!(v.io_ready, Some(false));
        assert_eq!(v.encryption.as_deref(), Some("enabled"));
        assert!(v.created_at().is_some());
    }

    #[test]
    fn unknown_fields_words_and_nulls_decode() {
        let v: LinodeVolume = serde_json::from_str(
            r#"{"id": 1, "label": "a", "status": "migrating_to_mars", "size": 10,
            "region": "x", "tags": null, "locks": null, "brand_new_field": {"x": 1}}"#,
        )
        .unwrap();
        assert_eq!(v.status, "migrating_to_mars");
        assert!(v.tags.is_empty() && v.locks.is_empty());
        let e: ErrorBody = serde_json::from_str(
            r#"{"errors": [{"reason": "r", "field": null}, {"reason": "s"}]}"#,
        )
        .unwrap();
        assert_eq!(e.errors.len(), 2);
        assert!(e.errors.iter().all(|e| e.field.is_none()));
    }

    #[test]
    fn bodies_leave_out_what_is_not_set() {
        let body = CreateBody {
            label: "a".into(),
            region: Some("us-east".into()),
            size: Some(20),
            linode_id: None,
            config_id: None,
            tags: Vec::new(),
            encryption: None,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"label":"a","region":"us-east","size":20}"#
        );
        let env: Envelope<u32> =
            serde_json::from_str(r#"{"data": [1], "page": 2, "pages": 3, "results": 201}"#)
                .unwrap();
        assert_eq!(env.next_page(), Some(3));
        let env: Envelope<u32> = serde_json::from_str(r#"{"data": []}"#).unwrap();
        assert_eq!(env.next_page(), None);
    }
}
