//! The Cinder fake's JSON checked field by field against the api-ref
//! samples in `shared/api/cinder/` (and the Keystone and Nova samples
//! beside them): for each sample, the fake's answer at the sample's
//! microversion has exactly the sample's keys, recursively, each of the
//! same JSON type (or `null` where the other side has a value).

mod support;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use support::cinder::{cloud, Cloud};
use volume_sim::fake::cinder::{CinderFake, DEFAULT_PASSWORD, DEFAULT_PROJECT, DEFAULT_USER};

/// Maps whose keys are data, not schema: only their type is compared.
const DATA_MAPS: &[&str] = &[
    "metadata",
    "extra_specs",
    "specs",
    "connection_info",
    "meta",
    "volume_image_metadata",
];

fn samples_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/api/cinder");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("VOLUME_RS_SKIP_SAMPLES").is_ok_and(|v| v == "1") {
        eprintln!(
            "skipped: no samples in {} (VOLUME_RS_SKIP_SAMPLES=1)",
            dir.display()
        );
        return None;
    }
    panic!("the cinder samples are not in {}: put `shared` beside the repository, or set VOLUME_RS_SKIP_SAMPLES=1", dir.display());
}

fn sample(relative: &str) -> Value {
    let path = samples_dir().unwrap().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Differences between `ours` and `sample` under `path`. Keys of `ours`
/// that start with one of `extra_ok` may be extra.
fn diff(ours: &Value, sample: &Value, path: &str, extra_ok: &[&str], out: &mut Vec<String>) {
    match (ours, sample) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(a), Value::Object(b)) => {
            let leaf = path.rsplit('.').next().unwrap_or_default();
            if DATA_MAPS.contains(&leaf) {
                return;
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!("{path}.{k}: missing"));
            }
            for k in a.keys().filter(|k| !b.contains_key(*k)) {
                if !extra_ok.iter().any(|p| k.starts_with(p)) {
                    out.push(format!("{path}.{k}: not in the sample"));
                }
            }
            for (k, v) in a {
                if let Some(s) = b.get(k) {
                    diff(v, s, &format!("{path}.{k}"), extra_ok, out);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if let (Some(x), Some(y)) = (a.first(), b.first()) {
                diff(x, y, &format!("{path}[0]"), extra_ok, out);
            }
        }
        (a, b) if kind(a) != kind(b) => out.push(format!(
            "{path}: {} here, {} in the sample",
            kind(a),
            kind(b)
        )),
        _ => {}
    }
}

fn check(
    what: &str,
    ours: &Value,
    sample_path: &str,
    extra_ok: &[&str],
    failures: &mut Vec<String>,
) {
    let s = sample(sample_path);
    let mut out = Vec::new();
    diff(ours, &s, "", extra_ok, &mut out);
    if let (Value::Object(a), Value::Object(b)) = (ours, &s) {
        // Lists must be compared on a non-empty list of ours.
        for (k, v) in b {
            if v.as_array().is_some_and(|x| !x.is_empty())
                && a.get(k)
                    .and_then(Value::as_array)
                    .is_some_and(Vec::is_empty)
            {
                out.push(format!(".{k}: empty here, so not compared"));
            }
        }
    }
    for o in out {
        failures.push(format!("{what} vs {sample_path}: {o}"));
    }
}

/// A cloud with one of everything: a volume with metadata (attached when
/// `attached`), a snapshot, a backup, a message.
struct World {
    c: Cloud,
    volume: String,
    snapshot: String,
    backup: String,
}

async fn world() -> World {
    let mut c = cloud().await;
    c.at("3.71");
    let v = c
        .expect(
            "POST",
            "/volumes",
            Some(&json!({"volume": {"size": 10, "name": "v", "metadata": {"k": "v"}}})),
            202,
        )
        .await;
    let volume = v["volume"]["id"].as_str().unwrap().to_owned();
    c.advance(1);
    let s = c
        .expect(
            "POST",
            "/snapshots",
            Some(
                &json!({"snapshot": {"volume_id": volume, "name": "s", "metadata": {"key": "v3"}}}),
            ),
            202,
        )
        .await;
    let snapshot = s["snapshot"]["id"].as_str().unwrap().to_owned();
    let b = c
        .expect(
            "POST",
            "/backups",
            Some(&json!({"backup": {"volume_id": volume, "name": "b"}})),
            202,
        )
        .await;
    let backup = b["backup"]["id"].as_str().unwrap().to_owned();
    c.advance(1);
    World {
        c,
        volume,
        snapshot,
        backup,
    }
}

#[tokio::test]
async fn volumes_match_the_samples_at_each_microversion() {
    if samples_dir().is_none() {
        return;
    }
    let mut w = world().await;
    let mut failures = Vec::new();
    for (folder, mv) in [
        ("volumes", "3.0"),
        ("volumes/v3.13", "3.13"),
        ("volumes/v3.21", "3.21"),
        ("volumes/v3.48", "3.48"),
        ("volumes/v3.61", "3.61"),
        ("volumes/v3.63", "3.63"),
        ("volumes/v3.65", "3.65"),
        ("volumes/v3.69", "3.69"),
    ] {
        w.c.at(mv);
        let created =
            w.c.expect(
                "POST",
                "/volumes",
                Some(&json!({"volume": {"size": 1, "name": "x"}})),
                202,
            )
            .await;
        check(
            &format!("create at {mv}"),
            &created,
            &format!("api-ref-v3-samples/{folder}/volume-create-response.json"),
            &[],
            &mut failures,
        );
        let shown =
            w.c.expect("GET", &format!("/volumes/{}", w.volume), None, 200)
                .await;
        check(
            &format!("show at {mv}"),
            &shown,
            &format!("api-ref-v3-samples/{folder}/volume-show-response.json"),
            &[],
            &mut failures,
        );
        let updated =
            w.c.expect(
                "PUT",
                &format!("/volumes/{}", w.volume),
                Some(&json!({"volume": {"name": "v"}})),
                200,
            )
            .await;
        check(
            &format!("update at {mv}"),
            &updated,
            &format!("api-ref-v3-samples/{folder}/volume-update-response.json"),
            &[],
            &mut failures,
        );
        let detail = w.c.expect("GET", "/volumes/detail", None, 200).await;
        check(
            &format!("detail at {mv}"),
            &detail,
            &format!("api-ref-v3-samples/{folder}/volumes-list-detailed-response.json"),
            &[],
            &mut failures,
        );
    }
    w.c.at("3.0");
    let list = w.c.expect("GET", "/volumes", None, 200).await;
    check(
        "list",
        &list,
        "api-ref-v3-samples/volumes/volumes-list-response.json",
        &[],
        &mut failures,
    );
    let meta =
        w.c.expect("GET", &format!("/volumes/{}/metadata", w.volume), None, 200)
            .await;
    check(
        "metadata",
        &meta,
        "api-ref-v3-samples/volumes/volume-metadata-show-response.json",
        &[],
        &mut failures,
    );
    let key =
        w.c.expect(
            "GET",
            &format!("/volumes/{}/metadata/k", w.volume),
            None,
            200,
        )
        .await;
    check(
        "metadata key",
        &key,
        "api-ref-v3-samples/volumes/volume-metadata-show-key-response.json",
        &[],
        &mut failures,
    );
    // The summary's `metadata` is 3.36's.
    w.c.at("3.36");
    let summary = w.c.expect("GET", "/volumes/summary", None, 200).await;
    check(
        "summary",
        &summary,
        "api-ref-v3-samples/volumes/volumes-list-summary-response.json",
        &[],
        &mut failures,
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn snapshots_match_the_samples_at_each_microversion() {
    if samples_dir().is_none() {
        return;
    }
    let mut w = world().await;
    let mut failures = Vec::new();
    for (folder, mv) in [
        ("snapshots", "3.0"),
        ("snapshots/v3.14", "3.14"),
        ("snapshots/v3.41", "3.41"),
        ("snapshots/v3.65", "3.65"),
    ] {
        w.c.at(mv);
        let created =
            w.c.expect(
                "POST",
                "/snapshots",
                Some(&json!({"snapshot": {"volume_id": w.volume, "name": "x", "force": true}})),
                202,
            )
            .await;
        check(
            &format!("create at {mv}"),
            &created,
            &format!("api-ref-v3-samples/{folder}/snapshot-create-response.json"),
            &[],
            &mut failures,
        );
        let shown =
            w.c.expect("GET", &format!("/snapshots/{}", w.snapshot), None, 200)
                .await;
        check(
            &format!("show at {mv}"),
            &shown,
            &format!("api-ref-v3-samples/{folder}/snapshot-show-response.json"),
            &[],
            &mut failures,
        );
        let updated =
            w.c.expect(
                "PUT",
                &format!("/snapshots/{}", w.snapshot),
                Some(&json!({"snapshot": {"name": "s", "description": "d"}})),
                200,
            )
            .await;
        check(
            &format!("update at {mv}"),
            &updated,
            &format!("api-ref-v3-samples/{folder}/snapshot-update-response.json"),
            &[],
            &mut failures,
        );
        let detail = w.c.expect("GET", "/snapshots/detail", None, 200).await;
        check(
            &format!("detail at {mv}"),
            &detail,
            &format!("api-ref-v3-samples/{folder}/snapshots-list-detailed-response.json"),
            &[],
            &mut failures,
        );
    }
    w.c.at("3.0");
    let list = w.c.expect("GET", "/snapshots", None, 200).await;
    check(
        "list",
        &list,
        "api-ref-v3-samples/snapshots/snapshots-list-response.json",
        &[],
        &mut failures,
    );
    let meta =
        w.c.expect(
            "GET",
            &format!("/snapshots/{}/metadata", w.snapshot),
            None,
            200,
        )
        .await;
    check(
        "metadata",
        &meta,
        "api-ref-v3-samples/snapshots/snapshot-metadata-show-response.json",
        &[],
        &mut failures,
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn backups_match_the_samples_at_each_microversion() {
    if samples_dir().is_none() {
        return;
    }
    let mut w = world().await;
    let mut failures = Vec::new();
    for (folder, mv) in [
        ("backups", "3.0"),
        ("backups/v3.9", "3.9"),
        ("backups/v3.18", "3.18"),
        ("backups/v3.43", "3.43"),
        ("backups/v3.45", "3.45"),
        ("backups/v3.56", "3.56"),
    ] {
        w.c.at(mv);
        let q = if mv == "3.45" || mv == "3.56" {
            "?with_count=true"
        } else {
            ""
        };
        let created =
            w.c.expect(
                "POST",
                "/backups",
                Some(&json!({"backup": {"volume_id": w.volume, "name": "x"}})),
                202,
            )
            .await;
        check(
            &format!("create at {mv}"),
            &created,
            &format!("api-ref-v3-samples/{folder}/backup-create-response.json"),
            &[],
            &mut failures,
        );
        w.c.advance(1);
        let shown =
            w.c.expect("GET", &format!("/backups/{}", w.backup), None, 200)
                .await;
        check(
            &format!("show at {mv}"),
            &shown,
            &format!("api-ref-v3-samples/{folder}/backup-show-response.json"),
            &[],
            &mut failures,
        );
        let list = w.c.expect("GET", &format!("/backups{q}"), None, 200).await;
        check(
            &format!("list at {mv}"),
            &list,
            &format!("api-ref-v3-samples/{folder}/backups-list-response.json"),
            &[],
            &mut failures,
        );
        let detail =
            w.c.expect("GET", &format!("/backups/detail{q}"), None, 200)
                .await;
        check(
            &format!("detail at {mv}"),
            &detail,
            &format!("api-ref-v3-samples/{folder}/backups-list-detailed-response.json"),
            &[],
            &mut failures,
        );
    }
    w.c.at("3.9");
    let updated =
        w.c.expect(
            "PUT",
            &format!("/backups/{}", w.backup),
            Some(&json!({"backup": {"name": "b", "description": "d"}})),
            200,
        )
        .await;
    check(
        "update at 3.9",
        &updated,
        "api-ref-v3-samples/backups/v3.9/backup-update-response.json",
        &[],
        &mut failures,
    );
    let restored =
        w.c.expect(
            "POST",
            &format!("/backups/{}/restore", w.backup),
            Some(&json!({"restore": {"name": "r"}})),
            202,
        )
        .await;
    check(
        "restore",
        &restored,
        "api-ref-v3-samples/backup-restore-response.json",
        &[],
        &mut failures,
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn attachments_types_qos_limits_quotas_zones_messages_versions_match() {
    if samples_dir().is_none() {
        return;
    }
    let mut w = world().await;
    let mut failures = Vec::new();
    w.c.at("3.44");
    let server = w.c.server_id().await;
    let v = w.c.volume_of("att", 1).await;
    let made = w.c.expect("POST", "/attachments", Some(&json!({"attachment": {"volume_uuid": v, "instance_uuid": server, "connector": {"host": "h"}}})), 200).await;
    check(
        "attachment create",
        &made,
        "api-ref-v3-samples/attachment-create-response.json",
        &[],
        &mut failures,
    );
    let id = made["attachment"]["id"].as_str().unwrap().to_owned();
    let shown =
        w.c.expect("GET", &format!("/attachments/{id}"), None, 200)
            .await;
    check(
        "attachment show",
        &shown,
        "api-ref-v3-samples/attachment-show-response.json",
        &[],
        &mut failures,
    );
    let list = w.c.expect("GET", "/attachments", None, 200).await;
    check(
        "attachment list",
        &list,
        "api-ref-v3-samples/attachment-list-response.json",
        &[],
        &mut failures,
    );
    let detail = w.c.expect("GET", "/attachments/detail", None, 200).await;
    check(
        "attachment detail",
        &detail,
        "api-ref-v3-samples/attachment-list-detailed-response.json",
        &[],
        &mut failures,
    );

    let types = w.c.expect("GET", "/types", None, 200).await;
    check(
        "types",
        &types,
        "api-ref-v3-samples/volume_type/volume-types-list-response.json",
        &[],
        &mut failures,
    );
    let tid = types["volume_types"][1]["id"].as_str().unwrap().to_owned();
    let t = w.c.expect("GET", &format!("/types/{tid}"), None, 200).await;
    check(
        "type",
        &t,
        "api-ref-v3-samples/volume_type/volume-type-show-response.json",
        &[],
        &mut failures,
    );
    let specs =
        w.c.expect("GET", &format!("/types/{tid}/extra_specs"), None, 200)
            .await;
    check(
        "extra specs",
        &specs,
        "api-ref-v3-samples/volume_type/volume-type-all-extra-specs-show-response.json",
        &[],
        &mut failures,
    );
    let qos = w.c.expect("GET", "/qos-specs", None, 200).await;
    check(
        "qos list",
        &qos,
        "api-ref-v3-samples/qos/qos-list-response.json",
        &[],
        &mut failures,
    );
    let qid = qos["qos_specs"][0]["id"].as_str().unwrap().to_owned();
    let q =
        w.c.expect("GET", &format!("/qos-specs/{qid}"), None, 200)
            .await;
    check(
        "qos show",
        &q,
        "api-ref-v3-samples/qos/qos-show-response.json",
        &[],
        &mut failures,
    );
    let limits = w.c.expect("GET", "/limits", None, 200).await;
    check(
        "limits",
        &limits,
        "api-ref-v3-samples/limits/limits-show-response.json",
        &[],
        &mut failures,
    );
    let project = w.c.project.clone();
    let per_type = ["volumes_", "snapshots_", "gigabytes_"];
    let quota =
        w.c.expect("GET", &format!("/os-quota-sets/{project}"), None, 200)
            .await;
    check(
        "quotas",
        &quota,
        "api-ref-v3-samples/quota_sets/quotas-show-response.json",
        &per_type,
        &mut failures,
    );
    let usage =
        w.c.expect(
            "GET",
            &format!("/os-quota-sets/{project}?usage=true"),
            None,
            200,
        )
        .await;
    check(
        "quota usage",
        &usage,
        "api-ref-v3-samples/quota_sets/quotas-show-usage-response.json",
        &per_type,
        &mut failures,
    );
    let defaults =
        w.c.expect(
            "GET",
            &format!("/os-quota-sets/{project}/defaults"),
            None,
            200,
        )
        .await;
    check(
        "quota defaults",
        &defaults,
        "api-ref-v3-samples/quota_sets/quotas-show-defaults-response.json",
        &per_type,
        &mut failures,
    );
    let zones = w.c.expect("GET", "/os-availability-zone", None, 200).await;
    check(
        "zones",
        &zones,
        "api-ref-v3-samples/availability-zone-list-response.json",
        &[],
        &mut failures,
    );

    w.c.fake.engine().inject(
        volume_sim::engine::FaultRule::new(volume_sim::engine::Fault::LandInError)
            .on(volume_sim::engine::SimOp::CreateVolume),
    );
    w.c.expect(
        "POST",
        "/volumes",
        Some(&json!({"volume": {"size": 1}})),
        202,
    )
    .await;
    w.c.advance(1);
    let messages = w.c.expect("GET", "/messages", None, 200).await;
    check(
        "messages",
        &messages,
        "api-ref-v3-samples/messages-list-response.json",
        &[],
        &mut failures,
    );
    let mid = messages["messages"][0]["id"].as_str().unwrap().to_owned();
    let message =
        w.c.expect("GET", &format!("/messages/{mid}"), None, 200)
            .await;
    check(
        "message",
        &message,
        "api-ref-v3-samples/messages-show-response.json",
        &[],
        &mut failures,
    );

    let versions =
        w.c.send_url("GET", &format!("{}/volume/", w.c.server.uri()), None)
            .await;
    check(
        "versions",
        &versions.body,
        "api-ref-v3-samples/versions/versions-response.json",
        &[],
        &mut failures,
    );
    let v3 =
        w.c.send_url("GET", &format!("{}/volume/v3/", w.c.server.uri()), None)
            .await;
    check(
        "version",
        &v3.body,
        "api-ref-v3-samples/versions/version-show-response.json",
        &[],
        &mut failures,
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn keystone_tokens_and_nova_attachments_match_their_samples() {
    if samples_dir().is_none() {
        return;
    }
    let c = cloud().await;
    let mut failures = Vec::new();
    let auth = CinderFake::auth_url(&c.server);
    let post = |body: Value| {
        let http = c.http.clone();
        let url = format!("{auth}/auth/tokens");
        async move {
            http.post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let pw = post(support::cinder::password_body(
        DEFAULT_USER,
        DEFAULT_PASSWORD,
        DEFAULT_PROJECT,
    ))
    .await;
    check(
        "password token",
        &pw,
        "keystone/auth-responses-project-scoped-password.json",
        &[],
        &mut failures,
    );
    // Every catalog entry has the sample's entry shape.
    let sample_entry =
        &sample("keystone/auth-responses-project-scoped-password.json")["token"]["catalog"][0];
    for entry in pw["token"]["catalog"].as_array().unwrap() {
        let mut out = Vec::new();
        diff(entry, sample_entry, "catalog[]", &[], &mut out);
        failures.extend(
            out.into_iter()
                .map(|o| format!("catalog entry {}: {o}", entry["type"])),
        );
    }
    let app = post(json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": {
        "id": volume_sim::fake::cinder::DEFAULT_APP_CREDENTIAL_ID,
        "secret": volume_sim::fake::cinder::DEFAULT_APP_CREDENTIAL_SECRET}}}}))
    .await;
    check(
        "application credential token",
        &app,
        "keystone/auth-application-credential-response.json",
        &[],
        &mut failures,
    );

    let server = c.server_id().await;
    let v = c.volume_of("n", 1).await;
    let att = c
        .send_url(
            "POST",
            &format!("{}/servers/{server}/os-volume_attachments", c.compute),
            Some(&json!({"volumeAttachment": {"volumeId": v}})),
        )
        .await;
    check(
        "nova attach",
        &att.body,
        "nova/attach-volume-to-server-resp.json",
        &[],
        &mut failures,
    );
    c.advance(1);
    let list = c
        .send_url(
            "GET",
            &format!("{}/servers/{server}/os-volume_attachments", c.compute),
            None,
        )
        .await;
    check(
        "nova list",
        &list.body,
        "nova/list-volume-attachments-resp.json",
        &[],
        &mut failures,
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn every_request_sample_is_accepted() {
    if samples_dir().is_none() {
        return;
    }
    let mut w = world().await;
    w.c.at("3.0");
    // The create samples, with their ids swapped for this cloud's.
    let mut create = sample("api-ref-v3-samples/volumes/volume-create-request.json");
    create["OS-SCH-HNT:scheduler_hints"] = json!(null);
    w.c.expect("POST", "/volumes", Some(&create), 202).await;
    let mut snap = sample("api-ref-v3-samples/snapshots/snapshot-create-request.json");
    snap["snapshot"]["volume_id"] = json!(w.volume);
    w.c.expect("POST", "/snapshots", Some(&snap), 202).await;
    let mut backup = sample("api-ref-v3-samples/backups/backup-create-request.json");
    backup["backup"]["volume_id"] = json!(w.volume);
    w.c.expect("POST", "/backups", Some(&backup), 202).await;
    w.c.advance(1);
    let update = sample("api-ref-v3-samples/volumes/volume-update-request.json");
    w.c.expect("PUT", &format!("/volumes/{}", w.volume), Some(&update), 200)
        .await;
    let meta = sample("api-ref-v3-samples/volumes/volume-metadata-create-request.json");
    w.c.expect(
        "POST",
        &format!("/volumes/{}/metadata", w.volume),
        Some(&meta),
        200,
    )
    .await;
    let extend = sample("api-ref-v3-samples/volume-extend-request.json");
    let size =
        w.c.expect("GET", &format!("/volumes/{}", w.volume), None, 200)
            .await["volume"]["size"]
            .as_u64()
            .unwrap();
    let mut extend = extend;
    extend["os-extend"]["new_size"] = json!(size + 1);
    w.c.expect(
        "POST",
        &format!("/volumes/{}/action", w.volume),
        Some(&extend),
        202,
    )
    .await;
    w.c.advance(1);
    let mut retype = sample("api-ref-v3-samples/volume-os-retype-request.json");
    retype["os-retype"]["new_type"] = json!("ssd");
    w.c.expect(
        "POST",
        &format!("/volumes/{}/action", w.volume),
        Some(&retype),
        202,
    )
    .await;
    let bootable = sample("api-ref-v3-samples/volume-bootable-status-update-request.json");
    w.c.expect(
        "POST",
        &format!("/volumes/{}/action", w.volume),
        Some(&bootable),
        200,
    )
    .await;
    let reset = sample("api-ref-v3-samples/volume-status-reset-request.json");
    w.c.expect(
        "POST",
        &format!("/volumes/{}/action", w.volume),
        Some(&reset),
        202,
    )
    .await;
    let mut restore = sample("api-ref-v3-samples/backup-restore-request.json");
    restore["restore"]["volume_id"] = json!(null);
    w.c.expect(
        "POST",
        &format!("/backups/{}/restore", w.backup),
        Some(&restore),
        202,
    )
    .await;
    let _ = &w.snapshot;
}
