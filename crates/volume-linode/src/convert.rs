//! Linode's wire types to volume-core's model.
//!
//! | Linode | core |
//! |---|---|
//! | `id` (integer) | [`VolumeId`] (its decimal digits) |
//! | `label` | `name` |
//! | `status` `active` with a `linode_id` | [`VolumeState::InUse`] |
//! | `status` `active` without | [`VolumeState::Available`] |
//! | `creating`, `resizing` | [`VolumeState::Creating`], [`VolumeState::Resizing`] |
//! | `contact_support` | [`VolumeState::Error`] (the volume failed; only support helps) |
//! | any other word (`key_rotating`, ...) | [`VolumeState::Unknown`] |
//! | `status`, as sent | `raw_state` |
//! | `linode_id`, `filesystem_path` | one [`Attachment`] with that device |
//! | `tags` | `labels`: tag `t` is label `t = ""`, tag `k=v` is label `k = v` |
//! | `hardware_type` | `volume_type` |
//! | `created` (naive UTC) | `created_at` |

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use volume_core::{
    Attachment, Error, Instance, InstanceId, InstanceState, RegionId, Result, Size, Volume,
    VolumeId, VolumeState,
};

use crate::rules::tags_to_labels;
use crate::wire::{LinodeInstance, LinodeVolume};

/// The core state of a volume with Linode `status` and `linode_id`.
pub(crate) fn volume_state(status: &str, attached: bool) -> VolumeState {
    match status {
        "active" if attached => VolumeState::InUse,
        "active" => VolumeState::Available,
        "creating" => VolumeState::Creating,
        "resizing" => VolumeState::Resizing,
        "contact_support" => VolumeState::Error,
        other => VolumeState::Unknown(other.to_owned()),
    }
}

/// The core state of a Linode with `status`.
pub(crate) fn instance_state(status: &str) -> InstanceState {
    match status {
        "running" => InstanceState::Running,
        "offline" | "stopped" => InstanceState::Stopped,
        other => InstanceState::Unknown(other.to_owned()),
    }
}

fn bad_id(what: &str, id: u64, e: &Error) -> Error {
    Error::Decode {
        message: format!("Linode sent {what} id {id}, which is not a valid id: {e}"),
        source: None,
    }
}

/// A Linode volume as a core [`Volume`].
///
/// # Errors
/// [`Error::Decode`] when the volume has no region (every real answer has
/// one; only hand-written mocks lack it).
pub(crate) fn volume(w: LinodeVolume) -> Result<Volume> {
    let id = VolumeId::new(w.id.to_string()).map_err(|e| bad_id("a volume", w.id, &e))?;
    let region = match w.region.as_deref().map(RegionId::new) {
        Some(Ok(region)) => region,
        Some(Err(_)) | None => {
            return Err(Error::Decode {
                message: format!("Linode sent volume {} without a region", w.id),
                source: None,
            })
        }
    };
    let state = volume_state(&w.status, w.linode_id.is_some());
    let created_at = w.created_at();
    let mut v = Volume::new(id, w.label, Size::gib(w.size), region, state);
    v.raw_state = w.status;
    if let Some(linode) = w.linode_id {
        let instance =
            InstanceId::new(linode.to_string()).map_err(|e| bad_id("a Linode", linode, &e))?;
        let mut attachment = Attachment::new(instance);
        if let Some(path) = w.filesystem_path.filter(|p| !p.is_empty()) {
            attachment = attachment.with_device(path);
        }
        v.attachments.push(attachment);
    }
    v.labels = tags_to_labels(&w.tags);
    v.volume_type = w.hardware_type.filter(|t| !t.is_empty());
    v.created_at = created_at;
    Ok(v)
}

/// A Linode as a core [`Instance`].
///
/// # Errors
/// [`Error::Decode`] when it has no region.
pub(crate) fn instance(w: LinodeInstance) -> Result<Instance> {
    let id = InstanceId::new(w.id.to_string()).map_err(|e| bad_id("a Linode", w.id, &e))?;
    let region = RegionId::new(w.region).map_err(|_| Error::Decode {
        message: format!("Linode sent Linode {} without a region", w.id),
        source: None,
    })?;
    let mut i = Instance::new(id, w.label, region, instance_state(&w.status));
    i.raw_state = w.status;
    Ok(i)
}

/// Parses Linode's time format, naive UTC without a zone:
/// `2018-01-02T03:04:05`. A fraction of a second and a trailing `Z` are
/// accepted too; anything else is `None`.
pub(crate) fn parse_naive_utc(text: &str) -> Option<SystemTime> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = text.split_once('T')?;
    let (time, fraction) = match time.split_once('.') {
        Some((t, f)) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => (t, f),
        Some(_) => return None,
        None => (time, ""),
    };
    let num = |s: &str, len: usize| -> Option<u64> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let mut d = date.split('-');
    let (year, month, day) = (num(d.next()?, 4)?, num(d.next()?, 2)?, num(d.next()?, 2)?);
    let mut t = time.split(':');
    let (hour, minute, second) = (num(t.next()?, 2)?, num(t.next()?, 2)?, num(t.next()?, 2)?);
    if d.next().is_some() || t.next().is_some() {
        return None;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1970..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || day == 0
        || day > month_days[usize::try_from(month - 1).ok()?]
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    let nanos = if fraction.is_empty() {
        0
    } else {
        // At most nanosecond precision; further digits are dropped.
        let digits = &fraction[..fraction.len().min(9)];
        let value: u32 = digits.parse().ok()?;
        value * 10u32.pow(u32::try_from(9 - digits.len()).ok()?)
    };
    UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
}

/// Days from 1970-01-01 to a date on or after it (Howard Hinnant's
/// `days_from_civil`, for years from 1970).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Option<SystemTime> {
        Some(UNIX_EPOCH + Duration::from_secs(secs))
    }

    #[test]
    fn naive_utc_times() {
        assert_eq!(parse_naive_utc("1970-01-01T00:00:00"), at(0));
        // The time in every linodego recording.
        assert_eq!(parse_naive_utc("2018-01-02T03:04:05"), at(1_514_862_245));
        assert_eq!(parse_naive_utc("2018-01-01T00:01:01"), at(1_514_764_861));
        assert_eq!(parse_naive_utc("2000-02-29T00:00:00"), at(951_782_400));
        assert_eq!(parse_naive_utc("2018-01-02T03:04:05Z"), at(1_514_862_245));
        assert_eq!(
            parse_naive_utc("2018-01-02T03:04:05.250"),
            Some(UNIX_EPOCH + Duration::new(1_514_862_245, 250_000_000))
        );
        for bad in [
            "",
            "2018-01-02",
            "2018-01-02 03:04:05",
            "2018-13-02T03:04:05",
            "2019-02-29T00:00:00",
            "2018-01-02T24:00:00",
            "18-01-02T03:04:05",
            "2018-01-02T03:04:05+01:00",
            "2018-01-02T03:04:05.",
            "1969-12-31T23:59:59",
        ] {
            assert_eq!(parse_naive_utc(bad), None, "{bad}");
        }
    }

    #[test]
    fn states() {
        assert_eq!(volume_state("active", true), VolumeState::InUse);
        assert_eq!(volume_state("active", false), VolumeState::Available);
        assert_eq!(volume_state("creating", true), VolumeState::Creating);
        assert_eq!(volume_state("resizing", false), VolumeState::Resizing);
        assert_eq!(volume_state("contact_support", false), VolumeState::Error);
        assert_eq!(
            volume_state("key_rotating", false),
            VolumeState::Unknown("key_rotating".into())
        );
        assert_eq!(instance_state("running"), InstanceState::Running);
        assert_eq!(instance_state("offline"), InstanceState::Stopped);
        assert_eq!(
            instance_state("booting"),
            InstanceState::Unknown("booting".into())
        );
    }

    #[test]
    fn a_volume_converts() {
        let w: LinodeVolume = serde_json::from_str(
            r#"{"id": 12345, "label": "my-volume", "status": "active", "size": 30,
            "region": "us-east", "linode_id": 12346, "linode_label": "linode123",
            "filesystem_path": "/dev/disk/by-id/scsi-0Linode_Volume_my-volume",
            "tags": ["example tag", "team=storage"], "hardware_type": "nvme",
            "created": "2018-01-01T00:01:01", "updated": "2018-01-01T00:01:01"}"#,
        )
        .unwrap();
        let v = volume(w).unwrap();
        assert_eq!(v.id.as_str(), "12345");
        assert_eq!(v.name, "my-volume");
        assert_eq!(v.size, Size::gib(30));
        assert_eq!(v.region.as_str(), "us-east");
        assert_eq!(v.state, VolumeState::InUse);
        assert_eq!(v.raw_state, "active");
        assert_eq!(v.attached_to().map(InstanceId::as_str), Some("12346"));
        assert_eq!(
            v.attachments[0].device.as_deref(),
            Some("/dev/disk/by-id/scsi-0Linode_Volume_my-volume")
        );
        assert_eq!(v.labels.get("example tag").map(String::as_str), Some(""));
        assert_eq!(v.labels.get("team").map(String::as_str), Some("storage"));
        assert_eq!(v.volume_type.as_deref(), Some("nvme"));
        assert_eq!(v.created_at, at(1_514_764_861));

        let w: LinodeVolume =
            serde_json::from_str(r#"{"id": 1, "label": "a", "status": "active", "size": 10}"#)
                .unwrap();
        assert!(matches!(volume(w), Err(Error::Decode { .. })));
    }
}
