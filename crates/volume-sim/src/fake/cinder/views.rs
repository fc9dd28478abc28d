//! The JSON the fake writes that is not one resource's: version documents,
//! links, timestamps.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use volume_core::time::format_naive_utc;

use super::super::{FakeRequest, FakeResponse};
use super::Microversion;

/// `http://address:port` the request arrived at ([`FakeRequest::origin`]):
/// the catalog and links point where the client connected, never at what
/// its `Host` header claims.
pub(super) fn origin(req: &FakeRequest) -> String {
    req.origin()
}

fn micros(t: SystemTime) -> u32 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_micros())
}

/// Cinder's and Nova's timestamps: naive UTC with microseconds,
/// `2018-11-28T06:21:12.715987`.
pub(super) fn iso(t: SystemTime) -> String {
    format!("{}.{:06}", format_naive_utc(t), micros(t))
}

/// Keystone's: with microseconds and `Z`, `2015-11-07T02:58:43.578887Z`.
pub(super) fn iso_z(t: SystemTime) -> String {
    format!("{}Z", iso(t))
}

/// The Cinder v3 version entry.
fn cinder_version(origin: &str, max: Microversion) -> Value {
    json!({
        "id": "v3.0",
        "links": [
            {"href": "https://docs.openstack.org/", "rel": "describedby", "type": "text/html"},
            {"href": format!("{origin}/volume/v3/"), "rel": "self"}
        ],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}],
        "min_version": "3.0",
        "status": "CURRENT",
        "updated": "2023-08-31T00:00:00Z",
        "version": max.to_string(),
    })
}

/// `GET /volume/` (300) and `GET /volume/v3/` (200): the versions document.
pub(super) fn cinder_versions(
    req: &FakeRequest,
    versioned: bool,
    max: Microversion,
) -> FakeResponse {
    let body = json!({"versions": [cinder_version(&origin(req), max)]});
    FakeResponse::json(if versioned { 200 } else { 300 }, &body)
}

/// Nova's v2.1 version entry: the fake serves the base microversion only.
fn nova_version(origin: &str) -> Value {
    json!({
        "id": "v2.1",
        "links": [{"href": format!("{origin}/compute/v2.1/"), "rel": "self"}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}],
        "min_version": "2.1",
        "status": "CURRENT",
        "updated": "2013-07-23T11:33:21Z",
        "version": "2.1",
    })
}

/// `GET /compute/` (`{"versions": [...]}`) and `GET /compute/v2.1`
/// (`{"version": {...}}`).
pub(super) fn nova_versions(req: &FakeRequest, versioned: bool) -> FakeResponse {
    let v = nova_version(&origin(req));
    if versioned {
        FakeResponse::json(200, &json!({ "version": v }))
    } else {
        FakeResponse::json(200, &json!({ "versions": [v] }))
    }
}

/// The `self` and `bookmark` links of `collection/id` in `project`.
pub(super) fn links(origin: &str, project: &str, collection: &str, id: &str) -> Value {
    json!([
        {"href": format!("{origin}/volume/v3/{project}/{collection}/{id}"), "rel": "self"},
        {"href": format!("{origin}/volume/{project}/{collection}/{id}"), "rel": "bookmark"},
    ])
}
