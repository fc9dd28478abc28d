//! The Rancher (Cattle) fake end to end over HTTP: schema bootstrap,
//! envelopes and JSON types checked against the captured `schemas.json`,
//! the volume state machine on the virtual clock with the actions map at
//! every step, snapshots, backups, revert and restore checked byte for
//! byte, collections (filters, sort, pagination), Basic auth and Cattle's
//! error resources.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Map, Value};
use volume_core::VolumeId;
use volume_sim::fake::rancher::{
    RancherFake, DEFAULT_ACCESS_KEY, DEFAULT_PROJECT_ID, DEFAULT_SECRET_KEY,
};
use wiremock::MockServer;

const SECOND: Duration = Duration::from_secs(1);

struct Cloud {
    fake: RancherFake,
    _server: MockServer,
    /// `http://127.0.0.1:PORT`.
    origin: String,
    http: reqwest::Client,
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

async fn cloud() -> Cloud {
    let fake = RancherFake::builder().build();
    let server = fake.start().await;
    let origin = server.uri();
    assert_eq!(RancherFake::base_url(&server), format!("{origin}/v2-beta"));
    Cloud {
        fake,
        _server: server,
        origin,
        http: reqwest::Client::new(),
    }
}

fn basic(user: &str, pass: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    format!("Basic {token}")
}

impl Cloud {
    /// `url` may be absolute (a link) or a path below the origin. Bodies go
    /// without `Content-Type`, as gdapi-python sends them.
    async fn raw(
        &self,
        method: &str,
        url: &str,
        body: Option<&[u8]>,
        auth: Option<String>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let url = if url.starts_with("http") {
            url.to_owned()
        } else {
            format!("{}{url}", self.origin)
        };
        let mut rb = self
            .http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                &url,
            )
            .header("accept", "application/json");
        if let Some(b) = body {
            rb = rb.body(b.to_vec());
        }
        if let Some(a) = auth {
            rb = rb.header("authorization", a);
        }
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        let resp = rb.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {url} -> {status}: not JSON ({e}): {text:?}"));
        // Every answer names the schemas, and every error is Cattle's.
        assert!(
            headers.contains_key("x-api-schemas"),
            "{method} {url}: no X-API-Schemas"
        );
        if status >= 400 {
            assert_error_shape(&body, status);
        }
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn call(&self, method: &str, url: &str, body: Option<Value>) -> Answer {
        let bytes = body.map(|b| serde_json::to_vec(&b).unwrap());
        self.raw(
            method,
            url,
            bytes.as_deref(),
            Some(basic(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)),
            &[],
        )
        .await
    }

    async fn expect(&self, method: &str, url: &str, body: Option<Value>, status: u16) -> Value {
        let a = self.call(method, url, body).await;
        assert_eq!(a.status, status, "{method} {url}: {}", a.body);
        a.body
    }

    fn project(&self) -> String {
        format!("/v2-beta/projects/{DEFAULT_PROJECT_ID}")
    }

    async fn create(&self, body: Value) -> Value {
        self.expect(
            "POST",
            &format!("{}/volumes", self.project()),
            Some(body),
            201,
        )
        .await
    }

    async fn reload(&self, resource: &Value) -> Value {
        self.expect(
            "GET",
            resource["links"]["self"].as_str().unwrap(),
            None,
            200,
        )
        .await
    }

    /// Follows `resource`'s action `name`, which must be offered.
    async fn act(&self, resource: &Value, name: &str, input: Value, status: u16) -> Value {
        let url = resource["actions"][name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} not offered: {}", resource["actions"]))
            .to_owned();
        self.expect("POST", &url, Some(input), status).await
    }

    fn advance(&self, by: Duration) {
        self.fake.engine().advance(by);
    }

    fn engine_id(&self, volume: &Value) -> VolumeId {
        VolumeId::new(volume["externalId"].as_str().unwrap()).unwrap()
    }

    fn write(&self, volume: &Value, bytes: &[u8]) {
        self.fake
            .engine()
            .write_at(DEFAULT_PROJECT_ID, &self.engine_id(volume), 4096, bytes)
            .unwrap();
    }

    fn read(&self, volume: &Value, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        self.fake
            .engine()
            .read_at(DEFAULT_PROJECT_ID, &self.engine_id(volume), 4096, &mut buf)
            .unwrap();
        buf
    }
}

fn assert_error_shape(body: &Value, status: u16) {
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["baseType"], "error", "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert!(body["code"].is_string(), "{body}");
    assert!(body["id"].is_string(), "{body}");
    assert!(
        body["links"].is_object() && body["links"].get("self").is_none(),
        "{body}"
    );
    assert!(
        body.get("message").is_some() && body.get("detail").is_some(),
        "{body}"
    );
}

fn actions(resource: &Value) -> Vec<String> {
    let mut a: Vec<String> = resource["actions"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    a.sort();
    a
}

// ----- the captured schemas --------------------------------------------------------

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/api/rancher")
}

fn captured() -> Option<Vec<Value>> {
    let path = samples_dir().join("go-rancher-docs-input-schemas-full.json");
    if !path.exists() {
        if std::env::var("VOLUME_RS_SKIP_SAMPLES").is_ok_and(|v| v == "1") {
            eprintln!("skipped: {} is missing", path.display());
            return None;
        }
        panic!(
            "the Rancher samples are not in {} (VOLUME_RS_SKIP_SAMPLES=1 skips)",
            path.display()
        );
    }
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    Some(all["data"].as_array().unwrap().clone())
}

fn captured_schema<'a>(all: &'a [Value], id: &str) -> &'a Value {
    all.iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no captured schema {id}"))
}

/// Checks `value` against a captured field type (`int`, `date`,
/// `reference[host]`, `enum`, `map[string]`...).
fn check_type(what: &str, field: &str, spec: &Value, value: &Value, resource: &Map<String, Value>) {
    let ty = spec["type"].as_str().unwrap();
    if value.is_null() {
        // `id` is never null; others may be where the schema says nullable
        // or gives no default; required fields are never null.
        assert_ne!(field, "id", "{what}: null id");
        assert_ne!(
            spec["required"], true,
            "{what}.{field} is required but null"
        );
        if ty == "date" {
            assert!(
                resource[&format!("{field}TS")].is_null(),
                "{what}.{field}TS"
            );
        }
        return;
    }
    let ok = match ty {
        // The schema says int, the wire says the formatted string id.
        "int" if field == "id" => value.is_string(),
        "int" => value.is_i64() || value.is_u64(),
        "boolean" => value.is_boolean(),
        "string" | "password" => value.is_string(),
        "date" => {
            let s = value.as_str().unwrap_or_default();
            let twin = &resource[&format!("{field}TS")];
            s.len() == 20 && s.ends_with('Z') && s.as_bytes()[10] == b'T' && twin.is_u64()
        }
        "enum" => {
            let options = spec["options"].as_array().unwrap();
            options.contains(value)
        }
        t if t.starts_with("reference") => value.is_string(),
        t if t.starts_with("map") => value.is_object(),
        t if t.starts_with("array") => value.is_array(),
        "json" => true,
        _ => value.is_object(),
    };
    assert!(ok, "{what}.{field}: {value} is not a {ty}");
}

/// Every field of `resource` the captured schema has is of its type, and
/// every field the captured schema has is present.
fn check_against_captured(all: &[Value], resource: &Value) {
    let ty = resource["type"].as_str().unwrap();
    let schema = captured_schema(all, ty);
    let fields = schema["resourceFields"].as_object().unwrap();
    let m = resource.as_object().unwrap();
    for (name, spec) in fields {
        // Fields of the wider Cattle the fake has no use for.
        let optional = matches!(ty, "host" | "storageDriver" | "project" | "backupTarget");
        match m.get(name) {
            Some(v) => check_type(ty, name, spec, v, m),
            None => assert!(optional, "{ty} lacks the field {name}"),
        }
    }
    for (k, v) in m {
        if let Some(date) = k.strip_suffix("TS") {
            assert!(m.contains_key(date), "{ty}.{k} without {date}");
            assert!(v.is_u64() || v.is_null(), "{ty}.{k}: {v}");
        }
    }
    for key in ["id", "type", "baseType", "links", "actions"] {
        assert!(m.contains_key(key), "{ty} lacks {key}");
    }
    assert!(m["id"].is_string());
}

fn assert_absolute(origin: &str, resource: &Value) {
    for part in ["links", "actions"] {
        for (name, url) in resource[part].as_object().unwrap() {
            let url = url.as_str().unwrap();
            assert!(
                url.starts_with(origin),
                "{part}.{name}: {url} is not absolute at {origin}"
            );
        }
    }
}

// ----- tests ---------------------------------------------------------------------------

#[tokio::test]
async fn clients_bootstrap_from_x_api_schemas() {
    let c = cloud().await;
    for (path, schemas) in [
        (
            "/v2-beta".to_owned(),
            format!("{}/v2-beta/schemas", c.origin),
        ),
        (c.project(), format!("{}{}/schemas", c.origin, c.project())),
        ("/v1".to_owned(), format!("{}/v1/schemas", c.origin)),
    ] {
        let a = c.call("GET", &path, None).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.headers["x-api-schemas"], schemas.as_str());
        assert_eq!(a.headers["content-type"], "application/json; charset=utf-8");
        let list = c.expect("GET", &schemas, None, 200).await;
        assert_eq!(list["type"], "collection");
        assert_eq!(list["resourceType"], "schema");
        let ids: Vec<&str> = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        for want in [
            "volume",
            "snapshot",
            "backup",
            "storageDriver",
            "host",
            "project",
            "volumeSnapshotInput",
            "revertToSnapshotInput",
            "restoreFromBackupInput",
            "snapshotBackupInput",
            "error",
            "schema",
        ] {
            assert!(ids.contains(&want), "{want} missing from {ids:?}");
        }
        let volume = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == "volume")
            .unwrap();
        let collection = volume["links"]["collection"].as_str().unwrap();
        assert!(
            collection.starts_with(
                path.replace("/v2-beta", &format!("{}/v2-beta", c.origin))
                    .replace("/v1", &format!("{}/v1", c.origin))
                    .as_str()
            ) || collection.contains("/volumes")
        );
        // The collection link answers.
        let vols = c.expect("GET", collection, None, 200).await;
        assert_eq!(vols["resourceType"], "volume");
    }
    let root = c.expect("GET", "/v2-beta", None, 200).await;
    assert_eq!(root["type"], "apiVersion");
    assert_eq!(
        root["links"]["volumes"],
        format!("{}/v2-beta/volumes", c.origin)
    );
    let project = c.expect("GET", &c.project(), None, 200).await;
    assert_eq!(project["type"], "project");
    assert_eq!(project["id"], DEFAULT_PROJECT_ID);
    let one = c.expect("GET", "/v2-beta/schemas/volume", None, 200).await;
    assert_eq!(one["id"], "volume");
}

#[tokio::test]
async fn served_schemas_agree_with_the_captured_ones() {
    let Some(all) = captured() else { return };
    let c = cloud().await;
    let list = c.expect("GET", "/v2-beta/schemas", None, 200).await;
    let mut checked = 0;
    for served in list["data"].as_array().unwrap() {
        let id = served["id"].as_str().unwrap();
        let Some(real) = all.iter().find(|s| s["id"] == id) else {
            continue;
        };
        let full = matches!(
            id,
            "volume"
                | "snapshot"
                | "backup"
                | "volumeSnapshotInput"
                | "revertToSnapshotInput"
                | "restoreFromBackupInput"
                | "snapshotBackupInput"
                | "mountEntry"
        );
        for (name, spec) in served["resourceFields"].as_object().unwrap() {
            let Some(real_spec) = real["resourceFields"].get(name) else {
                panic!("{id}.{name} is not in the captured schema");
            };
            assert_eq!(spec["type"], real_spec["type"], "{id}.{name}");
            for flag in ["create", "update", "required"] {
                let want = real_spec
                    .get(flag)
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let got = spec.get(flag).and_then(Value::as_bool).unwrap_or(false);
                assert_eq!(got, want, "{id}.{name}.{flag}");
            }
            if spec.get("options").is_some() {
                let mut a: Vec<_> = spec["options"]
                    .as_array()
                    .unwrap()
                    .clone()
                    .into_iter()
                    .map(|v| v.to_string())
                    .collect();
                let mut b: Vec<_> = real_spec["options"]
                    .as_array()
                    .unwrap()
                    .clone()
                    .into_iter()
                    .map(|v| v.to_string())
                    .collect();
                a.sort();
                b.sort();
                assert_eq!(a, b, "{id}.{name}.options");
            }
        }
        if full {
            for name in real["resourceFields"].as_object().unwrap().keys() {
                assert!(
                    served["resourceFields"].get(name).is_some(),
                    "{id}.{name} is not served"
                );
            }
            assert_eq!(served["resourceMethods"], real["resourceMethods"], "{id}");
            assert_eq!(
                served["collectionMethods"], real["collectionMethods"],
                "{id}"
            );
            let keys = |v: &Value| {
                let mut k: Vec<String> = v
                    .as_object()
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default();
                k.sort();
                k
            };
            assert_eq!(
                keys(&served["resourceActions"]),
                keys(&real["resourceActions"]),
                "{id}"
            );
            if real["links"].get("collection").is_some() {
                assert_eq!(
                    served["collectionFilters"], real["collectionFilters"],
                    "{id}"
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 12, "only {checked} schemas compared");
}

#[tokio::test]
async fn resources_have_the_captured_shapes_and_types() {
    let Some(all) = captured() else { return };
    let c = cloud().await;
    let v = c
        .create(json!({"name": "typed", "driver": "rancher-longhorn", "sizeMb": 2048, "driverOpts": {"size": "2G"}, "description": "d", "hostId": "1h1"}))
        .await;
    check_against_captured(&all, &v);
    assert_absolute(&c.origin, &v);
    assert_eq!(v["sizeMb"], 2048);
    assert_eq!(v["isHostPath"], false);
    assert_eq!(v["uri"], "rancher-longhorn:///typed");
    assert_eq!(v["storageDriverId"], "1sd2");
    c.advance(SECOND);
    let v = c.reload(&v).await;
    check_against_captured(&all, &v);
    let s = c.act(&v, "snapshot", json!({"name": "s1"}), 200).await;
    assert_eq!(s["type"], "snapshot");
    check_against_captured(&all, &s);
    assert_absolute(&c.origin, &s);
    c.advance(SECOND);
    let s = c.reload(&s).await;
    let b = c
        .act(&s, "backup", json!({"backupTargetId": "1bt1"}), 200)
        .await;
    check_against_captured(&all, &b);
    for path in [
        "/v2-beta/storagedrivers",
        "/v2-beta/hosts",
        "/v2-beta/volumes",
        "/v2-beta/snapshots",
        "/v2-beta/backups",
    ] {
        let list = c.expect("GET", path, None, 200).await;
        assert_eq!(list["type"], "collection");
        assert!(list["pagination"]["limit"].is_u64());
        assert!(list["filters"].is_object() && list["sortLinks"].is_object());
        let data = list["data"].as_array().unwrap();
        assert!(!data.is_empty(), "{path}");
        for item in data {
            check_against_captured(&all, item);
            assert_absolute(&c.origin, item);
        }
    }
    let project = c.expect("GET", &c.project(), None, 200).await;
    check_against_captured(&all, &project);
}

#[tokio::test]
async fn a_volume_moves_through_cattles_states_on_the_clock() {
    let c = cloud().await;
    let v = c.create(json!({"name": "life", "driver": "local"})).await;
    assert_eq!(
        (v["state"].as_str(), v["transitioning"].as_str()),
        (Some("registering"), Some("yes"))
    );
    assert_eq!(actions(&v), ["remove"]);
    assert_eq!(v["uri"], "local:///life");
    c.advance(SECOND);
    let v = c.reload(&v).await;
    assert_eq!(
        (v["state"].as_str(), v["transitioning"].as_str()),
        (Some("inactive"), Some("no"))
    );
    // A local volume has no snapshot capability: no snapshot actions.
    assert_eq!(actions(&v), ["allocate", "remove", "update"]);

    let v = c.act(&v, "allocate", json!({}), 202).await;
    assert_eq!(
        (v["state"].as_str(), v["transitioning"].as_str()),
        (Some("activating"), Some("yes"))
    );
    assert_eq!(actions(&v), ["deallocate"]);
    c.advance(SECOND);
    let v = c.reload(&v).await;
    assert_eq!(v["state"], "active");
    assert_eq!(actions(&v), ["deallocate", "update"]);
    // Removing an active volume is refused, both ways.
    let refused = c
        .expect("DELETE", v["links"]["self"].as_str().unwrap(), None, 405)
        .await;
    assert_eq!(refused["code"], "Method not allowed");
    let url = format!("{}?action=remove", v["links"]["self"].as_str().unwrap());
    let refused = c.expect("POST", &url, None, 422).await;
    assert_eq!(
        (refused["code"].as_str(), refused["fieldName"].as_str()),
        (Some("ActionNotAvailable"), Some("action"))
    );

    let v = c.act(&v, "deallocate", json!({}), 202).await;
    assert_eq!(v["state"], "deactivating");
    c.advance(SECOND);
    let v = c.reload(&v).await;
    assert_eq!(v["state"], "inactive");

    let gone = c
        .expect("DELETE", v["links"]["self"].as_str().unwrap(), None, 200)
        .await;
    assert_eq!(
        (gone["state"].as_str(), gone["transitioning"].as_str()),
        (Some("removing"), Some("yes"))
    );
    c.advance(SECOND);
    let v = c.reload(&v).await;
    assert_eq!(v["state"], "removed");
    assert!(v["removed"].is_string() && v["removedTS"].is_u64());
    assert_eq!(actions(&v), ["purge"]);
    // Hidden from lists, unless asked for.
    let list = c.expect("GET", "/v2-beta/volumes", None, 200).await;
    assert!(list["data"].as_array().unwrap().is_empty(), "{list}");
    let list = c
        .expect("GET", "/v2-beta/volumes?_removed=true", None, 200)
        .await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);

    let engine_id = c.engine_id(&v);
    let v = c.act(&v, "purge", json!({}), 202).await;
    assert_eq!(v["state"], "purging");
    c.advance(SECOND * 2);
    let v = c.reload(&v).await;
    assert_eq!(
        (v["state"].as_str(), v["transitioning"].as_str()),
        (Some("purged"), Some("no"))
    );
    assert!(actions(&v).is_empty());
    // The engine's volume is gone with it.
    assert!(c
        .fake
        .engine()
        .with(|ctl| ctl.get_volume(DEFAULT_PROJECT_ID, &engine_id))
        .is_err());
}

#[tokio::test]
async fn snapshots_revert_and_backups_restore_the_bytes() {
    let c = cloud().await;
    let v = c
        .create(json!({"name": "data", "driver": "rancher-longhorn", "sizeMb": 1024}))
        .await;
    c.advance(SECOND);
    let v = c.reload(&v).await;
    assert_eq!(
        actions(&v),
        [
            "allocate",
            "remove",
            "restorefrombackup",
            "reverttosnapshot",
            "snapshot",
            "update"
        ]
    );
    c.write(&v, b"first");
    let s = c.act(&v, "snapshot", json!({"name": "one"}), 200).await;
    assert_eq!(
        (s["state"].as_str(), s["volumeId"].as_str()),
        (Some("creating"), v["id"].as_str())
    );
    assert_eq!(actions(&s), ["remove"]);
    c.advance(SECOND);
    let s = c.reload(&s).await;
    assert_eq!(s["state"], "created");
    assert_eq!(actions(&s), ["backup", "remove"]);
    c.write(&v, b"later");

    // Revert needs a snapshot of this volume.
    let missing = c.act(&v, "reverttosnapshot", json!({}), 422).await;
    assert_eq!(
        (missing["code"].as_str(), missing["fieldName"].as_str()),
        (Some("MissingRequired"), Some("snapshotId"))
    );
    let reverted = c
        .act(&v, "reverttosnapshot", json!({"snapshotId": s["id"]}), 202)
        .await;
    assert_eq!(reverted["state"], "reverting-inactive");
    c.advance(SECOND);
    let v = c.reload(&v).await;
    assert_eq!(v["state"], "inactive");
    assert_eq!(c.read(&v, 5), b"first");

    // Backups are taken from snapshots, to the backup target.
    let missing = c.act(&s, "backup", json!({}), 422).await;
    assert_eq!(missing["fieldName"], "backupTargetId");
    let b = c
        .act(
            &s,
            "backup",
            json!({"backupTargetId": "1bt1", "name": "bk"}),
            200,
        )
        .await;
    assert_eq!(
        (b["type"].as_str(), b["state"].as_str()),
        (Some("backup"), Some("creating"))
    );
    assert_eq!(b["snapshotId"], s["id"]);
    c.advance(SECOND * 2);
    let b = c.reload(&b).await;
    assert_eq!(b["state"], "created");
    c.write(&v, b"third");
    let restored = c
        .act(&v, "restorefrombackup", json!({"backupId": b["id"]}), 202)
        .await;
    assert_eq!(restored["state"], "restoring-inactive");
    c.advance(SECOND);
    let v = c.reload(&v).await;
    assert_eq!(v["state"], "inactive");
    assert_eq!(c.read(&v, 5), b"first");

    // Related collections behind the links.
    let snaps = c
        .expect("GET", v["links"]["snapshots"].as_str().unwrap(), None, 200)
        .await;
    assert_eq!(snaps["data"].as_array().unwrap().len(), 1);
    let backups = c
        .expect("GET", s["links"]["backups"].as_str().unwrap(), None, 200)
        .await;
    assert_eq!(backups["data"][0]["id"], b["id"]);

    // Removing: snapshot and backup go through removing to removed, still
    // readable by id, hidden from lists.
    let gone = c
        .expect("DELETE", s["links"]["self"].as_str().unwrap(), None, 200)
        .await;
    assert_eq!(gone["state"], "removing");
    let gone = c.act(&b, "remove", json!({}), 202).await;
    assert_eq!(gone["state"], "removing");
    c.advance(SECOND);
    assert_eq!(c.reload(&s).await["state"], "removed");
    assert_eq!(c.reload(&b).await["state"], "removed");
    let list = c.expect("GET", "/v2-beta/snapshots", None, 200).await;
    assert!(list["data"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn creates_are_validated_as_cattle_validates_them() {
    let c = cloud().await;
    let url = format!("{}/volumes", c.project());
    let e = c
        .expect("POST", &url, Some(json!({"name": "x"})), 422)
        .await;
    assert_eq!(e["code"], "MissingRequired");
    assert_eq!(e["message"], "Either driver or storageDriverId is required");
    assert!(e.get("fieldName").is_none());
    let e = c
        .expect("POST", &url, Some(json!({"driver": "local"})), 422)
        .await;
    assert_eq!(
        (e["code"].as_str(), e["fieldName"].as_str()),
        (Some("MissingRequired"), Some("name"))
    );
    assert!(e["message"].is_null());
    let e = c
        .expect(
            "POST",
            &url,
            Some(json!({"name": "x", "driver": "local", "sizeMb": 10})),
            422,
        )
        .await;
    assert_eq!(e["code"], "InvalidOption");
    assert_eq!(
        e["message"],
        "Volume driver local does not support specifying a size."
    );
    let e = c
        .expect(
            "POST",
            &url,
            Some(json!({"name": "x", "storageDriverId": "1sd9"})),
            422,
        )
        .await;
    assert_eq!(
        (e["code"].as_str(), e["fieldName"].as_str()),
        (Some("InvalidReference"), Some("storageDriverId"))
    );
    let e = c
        .expect(
            "POST",
            &url,
            Some(json!({"name": "x", "driver": "local", "hostId": "1h999"})),
            422,
        )
        .await;
    assert_eq!(e["fieldName"], "hostId");
    c.create(json!({"name": "dup", "driver": "local"})).await;
    let e = c
        .expect(
            "POST",
            &url,
            Some(json!({"name": "dup", "driver": "local"})),
            422,
        )
        .await;
    assert_eq!(
        (e["code"].as_str(), e["fieldName"].as_str()),
        (Some("NotUnique"), Some("name"))
    );
    // The same name with another driver is fine.
    c.create(json!({"name": "dup", "storageDriverId": "1sd2"}))
        .await;
    // Bodies are JSON whatever the Content-Type; garbage is InvalidBodyContent.
    let a = c
        .raw(
            "POST",
            &url,
            Some(b"{\"name\":\"typed-as-text\",\"driver\":\"local\"}"),
            Some(basic(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)),
            &[("content-type", "text/plain")],
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let e = c.expect("POST", &url, None, 422).await;
    assert_eq!(e["fieldName"], "name");
    let a = c
        .raw(
            "POST",
            &url,
            Some(b"{nope"),
            Some(basic(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)),
            &[],
        )
        .await;
    assert_eq!(
        (a.status, a.body["code"].as_str()),
        (400, Some("InvalidBodyContent"))
    );
    // Unknown actions and unknown ids.
    let v = c.create(json!({"name": "acts", "driver": "local"})).await;
    let url = format!("{}?action=explode", v["links"]["self"].as_str().unwrap());
    let e = c.expect("POST", &url, None, 422).await;
    assert_eq!(
        (e["code"].as_str(), e["fieldName"].as_str()),
        (Some("InvalidAction"), Some("action"))
    );
    let e = c.expect("GET", "/v2-beta/volumes/1v999", None, 404).await;
    assert_eq!(
        (e["code"].as_str(), e["message"].as_str()),
        (Some("Not Found"), Some("Not Found"))
    );
}

#[tokio::test]
async fn updates_change_only_what_is_updatable() {
    let c = cloud().await;
    let v = c
        .create(json!({"name": "u", "driver": "local", "description": "before"}))
        .await;
    c.advance(SECOND);
    let url = v["links"]["self"].as_str().unwrap().to_owned();
    let after = c
        .expect("PUT", &url, Some(json!({"description": "after", "driverOpts": {"a": "b"}, "name": "ignored", "hostId": "1h2"})), 200)
        .await;
    assert_eq!(after["description"], "after");
    assert_eq!(after["driverOpts"], json!({"a": "b"}));
    assert_eq!(after["name"], "u");
    assert_eq!(after["hostId"], "1h2");
    assert_eq!(
        after["links"]["host"],
        format!("{}/v2-beta/projects/1a5/hosts/1h2", c.origin)
    );
    let e = c
        .expect("PUT", &url, Some(json!({"description": 5})), 422)
        .await;
    assert_eq!(
        (e["code"].as_str(), e["fieldName"].as_str()),
        (Some("InvalidFormat"), Some("description"))
    );
}

#[tokio::test]
async fn collections_filter_sort_and_page() {
    let c = cloud().await;
    for i in 0..5 {
        c.create(json!({"name": format!("vol-{i}"), "driver": "local"}))
            .await;
    }
    c.create(json!({"name": "other", "driver": "rancher-longhorn", "sizeMb": 4096}))
        .await;
    let names = |list: &Value| -> Vec<String> {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let l = c
        .expect(
            "GET",
            "/v2-beta/volumes?name_prefix=vol-&sort=name&order=desc",
            None,
            200,
        )
        .await;
    assert_eq!(names(&l), ["vol-4", "vol-3", "vol-2", "vol-1", "vol-0"]);
    assert_eq!(
        l["filters"]["name"],
        json!([{"modifier": "prefix", "value": "vol-"}])
    );
    assert_eq!(l["sort"]["name"], "name");
    assert_eq!(l["sort"]["order"], "desc");
    let l = c
        .expect("GET", "/v2-beta/volumes?sizeMb_gte=4096", None, 200)
        .await;
    assert_eq!(names(&l), ["other"]);
    let l = c
        .expect(
            "GET",
            "/v2-beta/volumes?name_ne=other&name_like=vol-_&storageDriverId=1sd1",
            None,
            200,
        )
        .await;
    assert_eq!(names(&l).len(), 5);
    // Pages: follow pagination.next, never build markers.
    let mut url = format!("{}/v2-beta/volumes?limit=2", c.origin);
    let mut seen = Vec::new();
    for _ in 0..10 {
        let page = c.expect("GET", &url, None, 200).await;
        assert_eq!(page["pagination"]["limit"], 2);
        seen.extend(names(&page));
        match page["pagination"]["next"].as_str() {
            Some(next) => {
                assert_eq!(page["pagination"]["partial"], true);
                url = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 6, "{seen:?}");
    let hosts = c.expect("GET", "/v2-beta/hosts", None, 200).await;
    assert!(hosts["data"].as_array().unwrap().len() >= 2);
    let drivers = c
        .expect("GET", "/v1/storagedrivers?name=local", None, 200)
        .await;
    assert_eq!(drivers["data"][0]["volumeCapabilities"], json!([]));
    let longhorn = c
        .expect("GET", "/v2-beta/storagedrivers/1sd2", None, 200)
        .await;
    assert_eq!(
        longhorn["volumeCapabilities"],
        json!(["snapshot", "schedule.size"])
    );
}

#[tokio::test]
async fn v1_and_scoped_paths_serve_the_same_volumes() {
    let c = cloud().await;
    let v = c.create(json!({"name": "same", "driver": "local"})).await;
    let id = v["id"].as_str().unwrap();
    for path in [
        format!("/v1/volumes/{id}"),
        format!("/v1/projects/1a5/volume/{id}"),
        format!("/v2-beta/volumes/{id}"),
    ] {
        let got = c.expect("GET", &path, None, 200).await;
        assert_eq!(got["name"], "same");
        let expected_self = format!("{}{path}", c.origin).replace("/volume/", "/volumes/");
        assert_eq!(got["links"]["self"], expected_self);
    }
    let e = c
        .expect("GET", "/v2-beta/projects/1a9/volumes", None, 404)
        .await;
    assert_eq!(e["code"], "Not Found");
}

#[tokio::test]
async fn basic_auth_and_its_challenge() {
    let c = cloud().await;
    let a = c.raw("GET", "/v2-beta/volumes", None, None, &[]).await;
    assert_eq!(
        (a.status, a.body["code"].as_str()),
        (401, Some("Unauthorized"))
    );
    assert_eq!(
        a.headers["www-authenticate"],
        "Basic realm=\"Enter API access key and secret key as username and password\""
    );
    let a = c
        .raw(
            "GET",
            "/v2-beta/volumes",
            None,
            None,
            &[("x-api-no-challenge", "true")],
        )
        .await;
    assert_eq!(a.status, 401);
    assert!(!a.headers.contains_key("www-authenticate"));
    for wrong in [
        basic(DEFAULT_ACCESS_KEY, "nope"),
        basic("nope", DEFAULT_SECRET_KEY),
        "Bearer x".to_owned(),
        "Basic !!!".to_owned(),
    ] {
        let a = c
            .raw(
                "POST",
                "/v2-beta/volumes",
                Some(b"{\"name\":\"a\",\"driver\":\"local\"}"),
                Some(wrong),
                &[],
            )
            .await;
        assert_eq!(a.status, 401);
    }
    // Nothing was created by the refused requests.
    let list = c
        .expect("GET", "/v2-beta/volumes?_removed=1", None, 200)
        .await;
    assert!(list["data"].as_array().unwrap().is_empty());
    // Other keys, configured.
    let fake = RancherFake::builder().keys("ak", "sk").build();
    let server = fake.start().await;
    let r = reqwest::Client::new()
        .get(format!("{}/volumes", RancherFake::base_url(&server)))
        .basic_auth("ak", Some("sk"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(!format!("{fake:?}").contains("sk\""));
}

#[tokio::test]
async fn injected_faults_show_as_cattle_shows_them() {
    use volume_sim::engine::{Fault, FaultRule, SimOp};
    let c = cloud().await;
    c.fake.engine().inject(
        FaultRule::new(Fault::LandInError)
            .on(SimOp::CreateVolume)
            .times(1),
    );
    let v = c.create(json!({"name": "doomed", "driver": "local"})).await;
    c.advance(SECOND);
    let v = c.reload(&v).await;
    assert_eq!(v["transitioning"], "error");
    assert!(v["transitioningMessage"].is_string());
    c.fake.engine().inject(
        FaultRule::new(Fault::ErrorBefore {
            status: 503,
            message: "busy".into(),
        })
        .on(SimOp::ListVolumes)
        .times(1),
    );
    let e = c.expect("GET", "/v2-beta/volumes", None, 503).await;
    assert_eq!(e["message"], "busy");
}

#[tokio::test]
async fn a_volume_removed_while_registering_can_be_purged() {
    use volume_sim::engine::Delays;
    let mut delays = Delays::uniform(SECOND);
    delays.create = SECOND * 30;
    let fake = RancherFake::builder().delays(delays).build();
    let server = fake.start().await;
    let c = Cloud {
        origin: server.uri(),
        fake,
        _server: server,
        http: reqwest::Client::new(),
    };
    let v = c.create(json!({"name": "early", "driver": "local"})).await;
    assert_eq!(v["state"], "registering");
    let v = c
        .expect("DELETE", v["links"]["self"].as_str().unwrap(), None, 200)
        .await;
    assert_eq!(v["state"], "removing");
    c.advance(SECOND);
    let v = c.reload(&v).await;
    let v = c.act(&v, "purge", json!({}), 202).await;
    c.advance(SECOND);
    assert_eq!(c.reload(&v).await["state"], "purged");
    assert!(c
        .fake
        .engine()
        .with(|ctl| ctl.get_volume(DEFAULT_PROJECT_ID, &c.engine_id(&v)))
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_server_links_name_its_address_and_refusals_are_cattles() {
    use volume_sim::serve::{Limits, ServeConfig, Server};
    let mut limits = Limits::default();
    limits.max_body_bytes = 1024;
    let config = ServeConfig::default()
        .with_limits(limits)
        .with_setting("rancher-access-key", "server-ak")
        .unwrap()
        .with_setting("rancher-secret-key", "server-sk")
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = Server::start(listener, &config).await.unwrap();
    let rancher = server
        .dialects()
        .into_iter()
        .find(|d| d.name == "rancher")
        .unwrap();
    let origin = format!("http://{}", server.address());
    assert_eq!(rancher.base_url, format!("{origin}/v2-beta"));
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{origin}/v2-beta/projects/1a5"))
        .basic_auth("server-ak", Some("server-sk"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["x-api-schemas"],
        format!("{origin}/v2-beta/projects/1a5/schemas").as_str()
    );
    let project: Value = r.json().await.unwrap();
    assert_eq!(
        project["links"]["volumes"],
        format!("{origin}/v2-beta/projects/1a5/volumes")
    );
    // The defaults no longer work once other keys are set.
    let r = http
        .get(format!("{origin}/v2-beta/volumes"))
        .basic_auth(DEFAULT_ACCESS_KEY, Some(DEFAULT_SECRET_KEY))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // A body over the server's limit: 413, in Cattle's shape.
    let r = http
        .post(format!("{origin}/v2-beta/volumes"))
        .basic_auth("server-ak", Some("server-sk"))
        .body(vec![b' '; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await.unwrap();
    assert_error_shape(&body, 413);
    // Not the Rancher fake's path: never answered by it.
    let r = http
        .get(format!("{origin}/v2-betax/volumes"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_ne!(body["type"], "error", "{body}");
}
