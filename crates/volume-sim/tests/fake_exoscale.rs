//! The Exoscale fake end to end over HTTP: signed requests (with a signer
//! of this file's own, checked against the official vectors), the full
//! volume and snapshot lifecycle with operations, errors, faults, tenants,
//! every response checked against the spec's schemas, and a seeded fuzz.

use std::path::{Path, PathBuf};
use std::time::Duration;

mod support;
use support::exoscale_signer::{authorization, soon};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use volume_sim::engine::{Fault, FaultRule, SimOp};
use volume_sim::fake::exoscale::ExoscaleFake;
use wiremock::MockServer;

const KEY: &str = "EXOtestkey0000000000000000";
const SECRET: &str = "test-secret-of-alice";

// ----- a small client -----------------------------------------------------------

struct Cloud {
    fake: ExoscaleFake,
    _server: MockServer,
    base: String,
    http: reqwest::Client,
}

async fn cloud() -> Cloud {
    cloud_with(ExoscaleFake::builder()).await
}

async fn cloud_with(builder: volume_sim::fake::exoscale::ExoscaleFakeBuilder) -> Cloud {
    let fake = builder
        .key(KEY, SECRET, "alice")
        .key("EXObob", "bobs-secret", "bob")
        .build();
    let server = fake.start().await;
    let base = ExoscaleFake::base_url(&server);
    Cloud {
        fake,
        _server: server,
        base,
        http: reqwest::Client::new(),
    }
}

struct Answer {
    status: u16,
    body: Value,
    retry_after: Option<String>,
}

impl Cloud {
    /// Sends `method path` with `body` (bytes as given) and `auth`.
    async fn raw(&self, method: &str, path: &str, body: &[u8], auth: Option<String>) -> Answer {
        let url = reqwest::Url::parse(&format!("{}{path}", self.base)).unwrap();
        let mut rb = self
            .http
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
        if !body.is_empty() {
            rb = rb
                .header("content-type", "application/json")
                .body(body.to_vec());
        }
        if let Some(a) = auth {
            rb = rb.header("authorization", a);
        }
        let resp = rb.send().await.unwrap();
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path} -> {status}: not JSON ({e}): {text:?}"));
        Answer {
            status,
            body,
            retry_after,
        }
    }

    async fn signed_as(
        &self,
        key: &str,
        secret: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Answer {
        let bytes = body
            .map(|b| serde_json::to_vec(b).unwrap())
            .unwrap_or_default();
        let url = reqwest::Url::parse(&format!("{}{path}", self.base)).unwrap();
        let auth = authorization(key, secret, method, &url, &bytes, soon());
        self.raw(method, path, &bytes, Some(auth)).await
    }

    async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        self.signed_as(KEY, SECRET, method, path, body).await
    }

    async fn ok(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let a = self.call(method, path, body).await;
        assert_eq!(a.status, 200, "{method} {path}: {}", a.body);
        a.body
    }

    /// Runs the clock until nothing is in flight, then polls the operation.
    async fn finish(&self, op: &Value) -> Value {
        self.fake.engine().run_until_quiet();
        let id = op["id"].as_str().unwrap();
        self.ok("GET", &format!("/operation/{id}"), None).await
    }

    /// Creates a volume and waits for its operation: its id.
    async fn create(&self, body: Value) -> String {
        let op = self.ok("POST", "/block-storage", Some(&body)).await;
        let done = self.finish(&op).await;
        assert_eq!(done["state"], "success", "{done}");
        done["reference"]["id"].as_str().unwrap().to_owned()
    }

    async fn volume(&self, id: &str) -> Value {
        self.ok("GET", &format!("/block-storage/{id}"), None).await
    }

    /// A running and a stopped instance of the served zone.
    async fn instances(&self) -> (String, String) {
        let list = self.ok("GET", "/instance", None).await;
        let pick = |state: &str| {
            list["instances"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["state"] == state)
                .unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        (pick("running"), pick("stopped"))
    }

    fn quiet(&self) {
        self.fake.engine().run_until_quiet();
    }
}

// ----- lifecycle ----------------------------------------------------------------------

#[tokio::test]
async fn create_waits_for_its_operation() {
    let c = cloud().await;
    let op = c
        .ok(
            "POST",
            "/block-storage",
            Some(&json!({"name": "data", "size": 10, "labels": {"env": "test"}})),
        )
        .await;
    assert_eq!(op["state"], "pending");
    let id = op["reference"]["id"].as_str().unwrap().to_owned();
    assert_eq!(op["reference"]["link"], format!("/v2/block-storage/{id}"));
    assert_eq!(op["reference"]["command"], "get-block-storage-volume");
    assert_eq!(c.volume(&id).await["state"], "creating");
    // Still pending when polled before the clock moves.
    let again = c
        .ok(
            "GET",
            &format!("/operation/{}", op["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(again["state"], "pending");
    let done = c.finish(&op).await;
    assert_eq!(done["state"], "success");
    assert!(done.get("reason").is_none());
    let v = c.volume(&id).await;
    assert_eq!(v["state"], "detached");
    assert_eq!(v["size"], 10);
    assert_eq!(v["name"], "data");
    assert_eq!(v["labels"], json!({"env": "test"}));
    assert_eq!(v["blocksize"], 4096);
    assert!(v.get("instance").is_none());
    assert!(v["created-at"].as_str().unwrap().ends_with('Z'));
    let list = c.ok("GET", "/block-storage", None).await;
    assert_eq!(list["block-storage-volumes"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn rename_and_relabel() {
    let c = cloud().await;
    let id = c
        .create(json!({"name": "a", "size": 1, "labels": {"k": "v"}}))
        .await;
    // egoscale's rename-only update sends labels: null, which keeps them.
    let op = c
        .ok(
            "PUT",
            &format!("/block-storage/{id}"),
            Some(&json!({"labels": null, "name": "b"})),
        )
        .await;
    assert_eq!(op["state"], "success");
    let v = c.volume(&id).await;
    assert_eq!(
        (v["name"].clone(), v["labels"].clone()),
        (json!("b"), json!({"k": "v"}))
    );
    c.ok(
        "PUT",
        &format!("/block-storage/{id}"),
        Some(&json!({"labels": {"x": "y"}})),
    )
    .await;
    assert_eq!(c.volume(&id).await["labels"], json!({"x": "y"}));
    c.ok(
        "PUT",
        &format!("/block-storage/{id}"),
        Some(&json!({"labels": {}})),
    )
    .await;
    let v = c.volume(&id).await;
    assert_eq!(
        (v["name"].clone(), v["labels"].clone()),
        (json!("b"), json!({}))
    );
    let bad = c
        .call(
            "PUT",
            &format!("/block-storage/{id}"),
            Some(&json!({"name": ""})),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(c.volume(&id).await["name"], "b");
}

#[tokio::test]
async fn attach_resize_detach() {
    let c = cloud().await;
    let (running, stopped) = c.instances().await;
    let id = c.create(json!({"name": "r", "size": 10})).await;

    // Detached: resize answers with the volume itself.
    let v = c
        .ok(
            "PUT",
            &format!("/block-storage/{id}:resize-volume"),
            Some(&json!({"size": 12})),
        )
        .await;
    assert_eq!(
        (v["id"].as_str(), v["size"].as_u64()),
        (Some(id.as_str()), Some(12))
    );
    let shrink = c
        .call(
            "PUT",
            &format!("/block-storage/{id}:resize-volume"),
            Some(&json!({"size": 11})),
        )
        .await;
    assert_eq!(shrink.status, 400, "{}", shrink.body);

    // Attached to a running instance: refused, nothing changes.
    let op = c
        .ok(
            "PUT",
            &format!("/block-storage/{id}:attach"),
            Some(&json!({"instance": {"id": running}})),
        )
        .await;
    assert_eq!(op["state"], "pending");
    assert_eq!(c.volume(&id).await["state"], "attaching");
    assert_eq!(c.finish(&op).await["state"], "success");
    let v = c.volume(&id).await;
    assert_eq!(v["state"], "attached");
    assert_eq!(v["instance"]["id"], running.as_str());
    let by_instance = c
        .ok(
            "GET",
            &format!("/block-storage?instance-id={running}"),
            None,
        )
        .await;
    assert_eq!(by_instance["block-storage-volumes"][0]["id"], id.as_str());
    let none = c
        .ok(
            "GET",
            &format!("/block-storage?instance-id={stopped}"),
            None,
        )
        .await;
    assert_eq!(none["block-storage-volumes"], json!([]));
    let refused = c
        .call(
            "PUT",
            &format!("/block-storage/{id}:resize-volume"),
            Some(&json!({"size": 20})),
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(c.volume(&id).await["size"], 12);
    let twice = c
        .call(
            "PUT",
            &format!("/block-storage/{id}:attach"),
            Some(&json!({"instance": {"id": stopped}})),
        )
        .await;
    assert_eq!(twice.status, 409);
    let delete_attached = c
        .call("DELETE", &format!("/block-storage/{id}"), None)
        .await;
    assert_eq!(delete_attached.status, 409);

    // Detach, attach to the stopped instance, resize there.
    let op = c
        .ok("PUT", &format!("/block-storage/{id}:detach"), None)
        .await;
    assert_eq!(c.volume(&id).await["state"], "detaching");
    assert_eq!(c.finish(&op).await["state"], "success");
    let v = c.volume(&id).await;
    assert_eq!(v["state"], "detached");
    assert!(v.get("instance").is_none());
    let not_attached = c
        .call("PUT", &format!("/block-storage/{id}:detach"), None)
        .await;
    assert_eq!(not_attached.status, 409);
    assert!(not_attached.body["message"]
        .as_str()
        .unwrap()
        .ends_with("Volume not attached"));
    let op = c
        .ok(
            "PUT",
            &format!("/block-storage/{id}:attach"),
            Some(&json!({"instance": {"id": stopped}})),
        )
        .await;
    c.finish(&op).await;
    let v = c
        .ok(
            "PUT",
            &format!("/block-storage/{id}:resize-volume"),
            Some(&json!({"size": 20})),
        )
        .await;
    assert_eq!(
        (v["size"].as_u64(), v["state"].as_str()),
        (Some(20), Some("attached"))
    );
    let op = c
        .ok("PUT", &format!("/block-storage/{id}:detach"), None)
        .await;
    c.finish(&op).await;
    let op = c.ok("DELETE", &format!("/block-storage/{id}"), None).await;
    assert_eq!(op["state"], "pending");
    assert_eq!(c.volume(&id).await["state"], "deleting");
    assert_eq!(c.finish(&op).await["state"], "success");
    assert_eq!(
        c.call("GET", &format!("/block-storage/{id}"), None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn snapshots_and_volumes_from_them() {
    let c = cloud().await;
    let id = c.create(json!({"name": "src", "size": 5})).await;
    c.fake
        .engine()
        .write_at("alice", &id.parse().unwrap(), 0, b"hello")
        .unwrap();
    let op = c
        .ok(
            "POST",
            &format!("/block-storage/{id}:create-snapshot"),
            Some(&json!({"name": "s1", "labels": {"a": "b"}})),
        )
        .await;
    assert_eq!(op["state"], "pending");
    assert_eq!(op["reference"]["command"], "get-block-storage-snapshot");
    let sid = op["reference"]["id"].as_str().unwrap().to_owned();
    assert_eq!(c.volume(&id).await["state"], "snapshotting");
    let s = c
        .ok("GET", &format!("/block-storage-snapshot/{sid}"), None)
        .await;
    assert_eq!(s["state"], "creating");
    let busy = c
        .call(
            "PUT",
            &format!("/block-storage/{id}:resize-volume"),
            Some(&json!({"size": 6})),
        )
        .await;
    assert_eq!(busy.status, 409);
    assert_eq!(c.finish(&op).await["state"], "success");
    let s = c
        .ok("GET", &format!("/block-storage-snapshot/{sid}"), None)
        .await;
    assert_eq!(s["state"], "created");
    assert_eq!(s["size"], 5);
    assert_eq!(s["volume-size"], 5);
    assert_eq!(s["block-storage-volume"]["id"], id.as_str());
    let v = c.volume(&id).await;
    assert_eq!(v["state"], "detached");
    assert_eq!(v["block-storage-snapshots"], json!([{"id": sid}]));

    // An unnamed snapshot, with no body at all (python-exoscale's way).
    let op = c
        .signed_as(
            KEY,
            SECRET,
            "POST",
            &format!("/block-storage/{id}:create-snapshot"),
            None,
        )
        .await;
    assert_eq!(op.status, 200, "{}", op.body);
    c.finish(&op.body).await;
    let list = c.ok("GET", "/block-storage-snapshot", None).await;
    let snaps = list["block-storage-snapshots"].as_array().unwrap();
    assert_eq!(snaps.len(), 2);
    assert_eq!(snaps[1]["name"], "src-snapshot-2");

    // Update a snapshot.
    let op = c
        .ok(
            "PUT",
            &format!("/block-storage-snapshot/{sid}"),
            Some(&json!({"name": "s1b", "labels": null})),
        )
        .await;
    assert_eq!(op["state"], "success");
    let s = c
        .ok("GET", &format!("/block-storage-snapshot/{sid}"), None)
        .await;
    assert_eq!(
        (s["name"].clone(), s["labels"].clone()),
        (json!("s1b"), json!({"a": "b"}))
    );

    // Volumes from it: same size by default, larger allowed, smaller not.
    let same = c
        .create(json!({"name": "restored", "block-storage-snapshot": {"id": sid}}))
        .await;
    assert_eq!(c.volume(&same).await["size"], 5);
    let mut buf = [0u8; 5];
    c.fake
        .engine()
        .read_at("alice", &same.parse().unwrap(), 0, &mut buf)
        .unwrap();
    assert_eq!(&buf, b"hello");
    let larger = c
        .create(json!({"name": "bigger", "size": 8, "block-storage-snapshot": {"id": sid}}))
        .await;
    assert_eq!(c.volume(&larger).await["size"], 8);
    let smaller = c
        .call(
            "POST",
            "/block-storage",
            Some(&json!({"name": "x", "size": 4, "block-storage-snapshot": {"id": sid}})),
        )
        .await;
    assert_eq!(smaller.status, 400, "{}", smaller.body);

    // Delete the snapshot.
    let op = c
        .ok("DELETE", &format!("/block-storage-snapshot/{sid}"), None)
        .await;
    let s = c
        .ok("GET", &format!("/block-storage-snapshot/{sid}"), None)
        .await;
    assert_eq!(s["state"], "destroying");
    assert_eq!(c.finish(&op).await["state"], "success");
    assert_eq!(
        c.call("GET", &format!("/block-storage-snapshot/{sid}"), None)
            .await
            .status,
        404
    );
}

// ----- errors ---------------------------------------------------------------------------

#[tokio::test]
async fn bad_input_is_refused_in_exoscale_shape() {
    let c = cloud().await;
    let id = c.create(json!({"name": "v", "size": 2})).await;
    let cases: Vec<(&str, String, Option<Value>, u16)> = vec![
        (
            "POST",
            "/block-storage".into(),
            Some(json!({"name": "x"})),
            400,
        ),
        (
            "POST",
            "/block-storage".into(),
            Some(json!({"name": "x", "size": 0})),
            400,
        ),
        (
            "POST",
            "/block-storage".into(),
            Some(json!({"name": "x", "size": -3})),
            400,
        ),
        (
            "POST",
            "/block-storage".into(),
            Some(json!({"name": "x", "size": 1.5})),
            400,
        ),
        (
            "POST",
            "/block-storage".into(),
            Some(json!({"name": "x", "size": 10_241})),
            400,
        ),
        (
            "POST",
            "/block-storage".into(),
            Some(json!({"name": "x", "size": "10"})),
            400,
        ),
        (
            "POST",
            "/block-storage".into(),
            Some(json!({"name": "x".repeat(256), "size": 1})),
            400,
        ),
        (
            "POST",
            "/block-storage".into(),
            Some(json!({"size": 1, "labels": ["a"]})),
            400,
        ),
        (
            "POST",
            "/block-storage".into(),
            Some(json!({"size": 1, "labels": {"a": 1}})),
            400,
        ),
        ("POST", "/block-storage".into(), Some(json!([1, 2])), 400),
        ("POST", "/block-storage".into(), None, 400),
        (
            "POST",
            "/block-storage".into(),
            Some(json!({"block-storage-snapshot": {"id": "nope"}})),
            404,
        ),
        (
            "GET",
            "/block-storage/00000000-0000-4000-8000-000000000000".into(),
            None,
            404,
        ),
        ("GET", "/block-storage-snapshot/nope".into(), None, 404),
        ("GET", "/operation/nope".into(), None, 404),
        ("GET", "/instance/nope".into(), None, 404),
        (
            "PUT",
            format!("/block-storage/{id}:attach"),
            Some(json!({})),
            400,
        ),
        (
            "PUT",
            format!("/block-storage/{id}:attach"),
            Some(json!({"instance": "x"})),
            400,
        ),
        (
            "PUT",
            format!("/block-storage/{id}:attach"),
            Some(json!({"instance": {"id": "nope"}})),
            404,
        ),
        (
            "PUT",
            format!("/block-storage/{id}:resize-volume"),
            Some(json!({})),
            400,
        ),
        (
            "PUT",
            format!("/block-storage/{id}:resize-volume"),
            Some(json!({"size": 2})),
            400,
        ),
        ("PUT", format!("/block-storage/{id}:detach"), None, 409),
        ("PUT", format!("/block-storage/{id}:explode"), None, 404),
        ("PATCH", format!("/block-storage/{id}"), None, 405),
        ("GET", "/nothing-here".into(), None, 404),
    ];
    for (method, path, body, status) in cases {
        let a = c.call(method, &path, body.as_ref()).await;
        assert_eq!(a.status, status, "{method} {path} {body:?}: {}", a.body);
        assert!(a.body["message"].is_string(), "{method} {path}: {}", a.body);
    }
    let bad_json = c
        .raw(
            "POST",
            "/block-storage",
            b"{not json",
            Some(authorization(
                KEY,
                SECRET,
                "POST",
                &reqwest::Url::parse(&format!("{}/block-storage", c.base)).unwrap(),
                b"{not json",
                soon(),
            )),
        )
        .await;
    assert_eq!(bad_json.status, 400);
    // Nothing was created by any of it.
    let list = c.ok("GET", "/block-storage", None).await;
    assert_eq!(list["block-storage-volumes"].as_array().unwrap().len(), 1);
    let v = c.volume(&id).await;
    assert_eq!(
        (v["size"].as_u64(), v["state"].as_str()),
        (Some(2), Some("detached"))
    );
}

#[tokio::test]
async fn signatures_are_checked_and_nothing_changes_without_one() {
    let c = cloud().await;
    let body = json!({"name": "x", "size": 1});
    let path = format!("{}/block-storage", c.base);
    let url = reqwest::Url::parse(&path).unwrap();
    let bytes = serde_json::to_vec(&body).unwrap();
    let past = soon() - 1200;
    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        (
            "wrong secret",
            Some(authorization(
                KEY,
                "not-the-secret",
                "POST",
                &url,
                &bytes,
                soon(),
            )),
        ),
        (
            "expired",
            Some(authorization(KEY, SECRET, "POST", &url, &bytes, past)),
        ),
        (
            "unknown key",
            Some(authorization(
                "EXOnobody",
                SECRET,
                "POST",
                &url,
                &bytes,
                soon(),
            )),
        ),
        (
            "other body",
            Some(authorization(
                KEY,
                SECRET,
                "POST",
                &url,
                br#"{"name":"x","size":2}"#,
                soon(),
            )),
        ),
        (
            "other method",
            Some(authorization(KEY, SECRET, "PUT", &url, &bytes, soon())),
        ),
        (
            "malformed",
            Some("EXO2-HMAC-SHA256 credential=x".to_owned()),
        ),
        ("bearer", Some("Bearer abc".to_owned())),
        (
            "good for more than an hour",
            Some(authorization(
                KEY,
                SECRET,
                "POST",
                &url,
                &bytes,
                soon() + 3600,
            )),
        ),
        (
            "good until u64::MAX",
            Some(authorization(KEY, SECRET, "POST", &url, &bytes, u64::MAX)),
        ),
    ];
    for (what, auth) in cases {
        let a = c.raw("POST", "/block-storage", &bytes, auth).await;
        assert_eq!(a.status, 403, "{what}: {}", a.body);
        let msg = a.body["message"].as_str().unwrap();
        assert!(!msg.contains(SECRET), "{what}: {msg}");
    }
    // A signed query parameter cannot be changed after signing.
    let signed = reqwest::Url::parse(&format!("{}/block-storage?instance-id=a", c.base)).unwrap();
    let auth = authorization(KEY, SECRET, "GET", &signed, b"", soon());
    assert_eq!(
        c.raw(
            "GET",
            "/block-storage?instance-id=b",
            b"",
            Some(auth.clone())
        )
        .await
        .status,
        403
    );
    assert_eq!(
        c.raw("GET", "/block-storage?instance-id=a", b"", Some(auth))
            .await
            .status,
        200
    );
    // A parameter listed as signed but not sent is refused, not signed as
    // empty; one listed and repeated signs nothing, as python-exoscale
    // sends it.
    let bare = reqwest::Url::parse(&format!("{}/block-storage", c.base)).unwrap();
    let a = c
        .raw(
            "GET",
            "/block-storage",
            b"",
            Some(auth_with_args(&bare, "instance-id")),
        )
        .await;
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(
        a.body["message"]
            .as_str()
            .unwrap()
            .contains("not in the query"),
        "{}",
        a.body
    );
    let repeated = c
        .raw(
            "GET",
            "/block-storage?instance-id=a&instance-id=b",
            b"",
            Some(auth_with_args(&bare, "instance-id")),
        )
        .await;
    assert_eq!(repeated.status, 200, "{}", repeated.body);
    // Nothing was created.
    c.quiet();
    let list = c.ok("GET", "/block-storage", None).await;
    assert_eq!(list["block-storage-volumes"], json!([]));
    // The zone list is public.
    let zones = c.raw("GET", "/zone", b"", None).await;
    assert_eq!(zones.status, 200);
    assert_eq!(zones.body["zones"][0]["name"], "ch-gva-2");
    assert_eq!(zones.body["zones"][0]["api-endpoint"], c.base.as_str());
    // ... built from the address the request reached, not from `Host`.
    let spoofed = c
        .http
        .get(format!("{}/zone", c.base))
        .header("host", "evil.example:1")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(spoofed["zones"][0]["api-endpoint"], c.base.as_str());
}

/// A header signed (as egoscale signs) over `url`'s query, which lists
/// `names` in `signed-query-args` whatever the query holds.
fn auth_with_args(url: &reqwest::Url, names: &str) -> String {
    let auth = authorization(KEY, SECRET, "GET", url, b"", soon());
    let auth = auth.replace(",signed-query-args=instance-id", "");
    auth.replacen(
        ",expires=",
        &format!(",signed-query-args={names},expires="),
        1,
    )
}

#[tokio::test]
async fn tenants_do_not_see_each_other() {
    let c = cloud().await;
    let id = c.create(json!({"name": "mine", "size": 1})).await;
    let bob = c
        .signed_as(
            "EXObob",
            "bobs-secret",
            "GET",
            &format!("/block-storage/{id}"),
            None,
        )
        .await;
    assert_eq!(bob.status, 404);
    let list = c
        .signed_as("EXObob", "bobs-secret", "GET", "/block-storage", None)
        .await;
    assert_eq!(list.body["block-storage-volumes"], json!([]));
    // Nor each other's operations.
    let op = c
        .ok(
            "PUT",
            &format!("/block-storage/{id}"),
            Some(&json!({"name": "m2"})),
        )
        .await;
    let path = format!("/operation/{}", op["id"].as_str().unwrap());
    let theirs = c
        .signed_as("EXObob", "bobs-secret", "GET", &path, None)
        .await;
    assert_eq!(theirs.status, 404);
    assert_eq!(c.ok("GET", &path, None).await["state"], "success");
}

// ----- faults ---------------------------------------------------------------------------------

#[tokio::test]
async fn injected_faults_become_exoscale_answers() {
    let c = cloud().await;
    let e = c.fake.engine();

    e.inject(FaultRule::new(Fault::LandInError).on(SimOp::CreateVolume));
    let op = c
        .ok(
            "POST",
            "/block-storage",
            Some(&json!({"name": "f", "size": 1})),
        )
        .await;
    let done = c.finish(&op).await;
    assert_eq!(done["state"], "failure", "{done}");
    assert_eq!(done["reason"], "fault");
    assert!(done["message"].is_string());
    let id = done["reference"]["id"].as_str().unwrap();
    assert_eq!(c.volume(id).await["state"], "error");

    e.inject(
        FaultRule::new(Fault::RateLimited {
            retry_after: Duration::from_secs(7),
        })
        .on(SimOp::ListVolumes),
    );
    let a = c.call("GET", "/block-storage", None).await;
    assert_eq!(a.status, 429);
    assert_eq!(a.retry_after.as_deref(), Some("7"));
    assert_eq!(a.body["retry_after"], 7);

    e.inject(
        FaultRule::new(Fault::ErrorBefore {
            status: 503,
            message: "down".into(),
        })
        .on(SimOp::CreateVolume),
    );
    let a = c
        .call(
            "POST",
            "/block-storage",
            Some(&json!({"name": "g", "size": 1})),
        )
        .await;
    assert_eq!((a.status, a.body["message"].as_str()), (503, Some("down")));

    e.inject(FaultRule::new(Fault::Stuck).on(SimOp::AttachVolume));
    let ok = c.create(json!({"name": "h", "size": 1})).await;
    let (running, _) = c.instances().await;
    let op = c
        .ok(
            "PUT",
            &format!("/block-storage/{ok}:attach"),
            Some(&json!({"instance": {"id": running}})),
        )
        .await;
    assert_eq!(c.finish(&op).await["state"], "pending");
    // Two volumes exist: the failed one and the stuck one.
    let list = c.ok("GET", "/block-storage", None).await;
    assert_eq!(list["block-storage-volumes"].as_array().unwrap().len(), 2);
}

// ----- the spec check -----------------------------------------------------------------------

fn api_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/api/exoscale")
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(api_dir().join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A schema walker over the OpenAPI subset: `$ref`, `type`, `properties`,
/// `additionalProperties`, `items`, `enum`, `required`, `format: date-time`,
/// `minimum`. Objects with `properties` must not carry keys the spec does not
/// name, and their keys must be kebab-case.
struct Walker<'a> {
    spec: &'a Value,
    errors: Vec<String>,
}

impl Walker<'_> {
    fn resolve<'s>(&'s self, schema: &'s Value) -> &'s Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.rsplit('/').next().unwrap();
                let found = self.spec["components"]["schemas"]
                    .get(name)
                    .or_else(|| self.spec.get(name));
                self.resolve(found.unwrap_or_else(|| panic!("unresolved {r}")))
            }
            None => schema,
        }
    }

    fn check(&mut self, schema: &Value, v: &Value, at: &str) {
        let schema = self.resolve(schema).clone();
        if let Some(e) = schema.get("enum").and_then(Value::as_array) {
            if !e.contains(v) {
                self.errors.push(format!("{at}: {v} is not one of {e:?}"));
            }
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("object") => {
                let Some(obj) = v.as_object() else {
                    self.errors.push(format!("{at}: {v} is not an object"));
                    return;
                };
                let props = schema.get("properties").and_then(Value::as_object);
                for req in schema
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if !obj.contains_key(req.as_str().unwrap()) {
                        self.errors.push(format!("{at}: {req} is missing"));
                    }
                }
                for (k, val) in obj {
                    let sub = format!("{at}.{k}");
                    if let Some(p) = props.and_then(|p| p.get(k)) {
                        let kebab = !k.is_empty()
                            && k.split('-').all(|w| {
                                !w.is_empty()
                                    && w.bytes()
                                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                            });
                        if !kebab {
                            self.errors.push(format!("{sub}: key is not kebab-case"));
                        }
                        self.check(&p.clone(), val, &sub);
                    } else if let Some(ap) = schema.get("additionalProperties") {
                        self.check(&ap.clone(), val, &sub);
                    } else {
                        self.errors.push(format!("{sub}: not in the spec"));
                    }
                }
            }
            Some("array") => match v.as_array() {
                Some(items) => {
                    for (n, item) in items.iter().enumerate() {
                        self.check(&schema["items"], item, &format!("{at}[{n}]"));
                    }
                }
                None => self.errors.push(format!("{at}: {v} is not an array")),
            },
            Some("string") => match v.as_str() {
                Some(s) => {
                    if schema.get("format").and_then(Value::as_str) == Some("date-time") {
                        let zoned = s.ends_with('Z')
                            || s[s.len().saturating_sub(6)..].starts_with(['+', '-']);
                        if s.len() < 20 || s.as_bytes()[10] != b'T' || !zoned {
                            self.errors
                                .push(format!("{at}: {s} is not RFC 3339 with a zone"));
                        }
                    }
                }
                None => self.errors.push(format!("{at}: {v} is not a string")),
            },
            Some("integer") => match v.as_i64() {
                Some(n) => {
                    if let Some(min) = schema.get("minimum").and_then(Value::as_i64) {
                        if n < min {
                            self.errors.push(format!("{at}: {n} < {min}"));
                        }
                    }
                }
                None => self.errors.push(format!("{at}: {v} is not an integer")),
            },
            Some("number") if !v.is_number() => {
                self.errors.push(format!("{at}: {v} is not a number"))
            }
            Some("boolean") if !v.is_boolean() => {
                self.errors.push(format!("{at}: {v} is not a boolean"));
            }
            _ => {}
        }
    }
}

/// The 200 schema of `method path` in the spec.
fn response_schema(spec: &Value, path: &str, method: &str) -> Value {
    spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"].clone()
}

/// Fields the reference recommends a fake always emits (exoscale.md §3, §7).
fn must_have(v: &Value, fields: &[&str], what: &str) {
    for f in fields {
        assert!(v.get(*f).is_some(), "{what}: {f} missing in {v}");
    }
}

const VOLUME_FIELDS: &[&str] = &[
    "id",
    "name",
    "size",
    "blocksize",
    "state",
    "created-at",
    "labels",
    "encrypted",
];
const SNAPSHOT_FIELDS: &[&str] = &[
    "id",
    "name",
    "size",
    "volume-size",
    "created-at",
    "state",
    "labels",
    "block-storage-volume",
];

#[tokio::test]
async fn responses_match_the_spec_schemas() {
    let spec = load("openapi-block-storage-subset.json");
    let extra = load("openapi-error-and-zone-schemas.json");
    let c = cloud().await;
    let mut w = Walker {
        spec: &spec,
        errors: Vec::new(),
    };
    let (running, _) = c.instances().await;

    let op = c
        .ok(
            "POST",
            "/block-storage",
            Some(&json!({"name": "s", "size": 3, "labels": {"a": "b"}})),
        )
        .await;
    w.check(
        &response_schema(&spec, "/block-storage", "post"),
        &op,
        "create op (pending)",
    );
    must_have(&op, &["id", "state", "reference"], "create op");
    must_have(
        &op["reference"],
        &["id", "link", "command"],
        "create op reference",
    );
    let id = op["reference"]["id"].as_str().unwrap().to_owned();
    let creating = c.volume(&id).await;
    w.check(
        &response_schema(&spec, "/block-storage/{id}", "get"),
        &creating,
        "volume (creating)",
    );
    let done = c.finish(&op).await;
    w.check(
        &response_schema(&spec, "/operation/{id}", "get"),
        &done,
        "op (success)",
    );

    let attach = c
        .ok(
            "PUT",
            &format!("/block-storage/{id}:attach"),
            Some(&json!({"instance": {"id": running}})),
        )
        .await;
    w.check(
        &response_schema(&spec, "/block-storage/{id}:attach", "put"),
        &attach,
        "attach op",
    );
    c.finish(&attach).await;
    let v = c.volume(&id).await;
    must_have(&v, VOLUME_FIELDS, "volume");
    w.check(
        &response_schema(&spec, "/block-storage/{id}", "get"),
        &v,
        "volume (attached)",
    );
    let snap = c
        .ok(
            "POST",
            &format!("/block-storage/{id}:create-snapshot"),
            Some(&json!({"name": "sn"})),
        )
        .await;
    w.check(
        &response_schema(&spec, "/block-storage/{id}:create-snapshot", "post"),
        &snap,
        "snapshot op",
    );
    let snapshotting = c.volume(&id).await;
    w.check(
        &response_schema(&spec, "/block-storage/{id}", "get"),
        &snapshotting,
        "volume (snapshotting)",
    );
    c.finish(&snap).await;
    let list = c.ok("GET", "/block-storage", None).await;
    w.check(
        &response_schema(&spec, "/block-storage", "get"),
        &list,
        "volume list",
    );
    let detach = c
        .ok("PUT", &format!("/block-storage/{id}:detach"), None)
        .await;
    w.check(
        &response_schema(&spec, "/block-storage/{id}:detach", "put"),
        &detach,
        "detach op",
    );
    c.finish(&detach).await;
    let resized = c
        .ok(
            "PUT",
            &format!("/block-storage/{id}:resize-volume"),
            Some(&json!({"size": 4})),
        )
        .await;
    w.check(
        &response_schema(&spec, "/block-storage/{id}:resize-volume", "put"),
        &resized,
        "resize",
    );
    must_have(&resized, VOLUME_FIELDS, "resized volume");
    let update = c
        .ok(
            "PUT",
            &format!("/block-storage/{id}"),
            Some(&json!({"name": "t"})),
        )
        .await;
    w.check(
        &response_schema(&spec, "/block-storage/{id}", "put"),
        &update,
        "update op",
    );

    let sid = snap["reference"]["id"].as_str().unwrap().to_owned();
    let s = c
        .ok("GET", &format!("/block-storage-snapshot/{sid}"), None)
        .await;
    must_have(&s, SNAPSHOT_FIELDS, "snapshot");
    w.check(
        &response_schema(&spec, "/block-storage-snapshot/{id}", "get"),
        &s,
        "snapshot",
    );
    let slist = c.ok("GET", "/block-storage-snapshot", None).await;
    w.check(
        &response_schema(&spec, "/block-storage-snapshot", "get"),
        &slist,
        "snapshot list",
    );
    let supdate = c
        .ok(
            "PUT",
            &format!("/block-storage-snapshot/{sid}"),
            Some(&json!({"labels": {"x": "y"}})),
        )
        .await;
    w.check(
        &response_schema(&spec, "/block-storage-snapshot/{id}", "put"),
        &supdate,
        "snapshot update op",
    );

    c.fake
        .engine()
        .inject(FaultRule::new(Fault::LandInError).on(SimOp::DeleteSnapshot));
    let sdelete = c
        .ok("DELETE", &format!("/block-storage-snapshot/{sid}"), None)
        .await;
    w.check(
        &response_schema(&spec, "/block-storage-snapshot/{id}", "delete"),
        &sdelete,
        "snapshot delete op",
    );
    let failed = c.finish(&sdelete).await;
    assert_eq!(failed["state"], "failure");
    w.check(
        &response_schema(&spec, "/operation/{id}", "get"),
        &failed,
        "op (failure)",
    );
    let errored = c
        .ok("GET", &format!("/block-storage-snapshot/{sid}"), None)
        .await;
    w.check(
        &response_schema(&spec, "/block-storage-snapshot/{id}", "get"),
        &errored,
        "snapshot (error)",
    );

    let delete = c.ok("DELETE", &format!("/block-storage/{id}"), None).await;
    w.check(
        &response_schema(&spec, "/block-storage/{id}", "delete"),
        &delete,
        "delete op",
    );
    let deleting = c.volume(&id).await;
    w.check(
        &response_schema(&spec, "/block-storage/{id}", "get"),
        &deleting,
        "volume (deleting)",
    );

    let zones = c.raw("GET", "/zone", b"", None).await.body;
    let mut zw = Walker {
        spec: &extra,
        errors: Vec::new(),
    };
    let zone_schema = extra["list-zones-path"]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"]
        .clone();
    zw.check(&zone_schema, &zones, "zones");
    assert_eq!(zones["zones"].as_array().unwrap().len(), 8);

    w.errors.extend(zw.errors);
    assert!(w.errors.is_empty(), "{:#?}", w.errors);
}

#[test]
fn the_walker_catches_mistakes() {
    let spec = load("openapi-block-storage-subset.json");
    let mut w = Walker {
        spec: &spec,
        errors: Vec::new(),
    };
    let schema = json!({"$ref": "#/components/schemas/block-storage-volume"});
    w.check(
        &schema,
        &json!({"id": "x", "size": "1", "state": "available", "created_at": "now", "createdAt": 1}),
        "v",
    );
    assert_eq!(w.errors.len(), 4, "{:#?}", w.errors);
    let mut w = Walker {
        spec: &spec,
        errors: Vec::new(),
    };
    w.check(
        &schema,
        &json!({"created-at": "2026-01-01 00:00:00", "labels": {"a": 1}, "instance": {"id": 3}}),
        "v",
    );
    assert_eq!(w.errors.len(), 3, "{:#?}", w.errors);
}

// ----- fuzz -------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_requests_always_get_sane_json() {
    let c = cloud().await;
    let (running, stopped) = c.instances().await;
    let mut ids = vec![c.create(json!({"name": "fz", "size": 2})).await];
    let mut snaps: Vec<String> = Vec::new();
    let mut rng = StdRng::seed_from_u64(0xe705);
    let methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];
    let garbage = [
        "",
        "x",
        "%zz",
        "..",
        "00000000-0000-4000-8000-000000000000",
        "ä",
        ":attach",
        "a:b:c",
    ];
    let actions = [
        "",
        ":attach",
        ":detach",
        ":resize-volume",
        ":create-snapshot",
        ":nope",
    ];
    for n in 0..2500 {
        let pick = |rng: &mut StdRng, v: &[String]| -> String {
            if v.is_empty() || rng.random_bool(0.2) {
                garbage[rng.random_range(0..garbage.len())].to_owned()
            } else {
                v[rng.random_range(0..v.len())].clone()
            }
        };
        let method = methods[rng.random_range(0..methods.len())];
        let path = match rng.random_range(0..9) {
            0 => "/block-storage".to_owned(),
            1..=3 => format!(
                "/block-storage/{}{}",
                pick(&mut rng, &ids),
                actions[rng.random_range(0..actions.len())]
            ),
            4 => "/block-storage-snapshot".to_owned(),
            5 => format!("/block-storage-snapshot/{}", pick(&mut rng, &snaps)),
            6 => format!("/operation/{}", garbage[rng.random_range(0..garbage.len())]),
            7 => format!(
                "/instance/{}",
                [running.as_str(), stopped.as_str(), "x"][rng.random_range(0..3)]
            ),
            _ => format!(
                "/block-storage?instance-id={}",
                [running.as_str(), "", "x"][rng.random_range(0..3)]
            ),
        };
        let body = match rng.random_range(0..8) {
            0 => None,
            1 => Some(json!({"name": "n", "size": rng.random_range(-2..30_000i64)})),
            2 => Some(json!({"size": rng.random_range(0..40u64)})),
            3 => {
                let target = [running.as_str(), stopped.as_str(), "z"][rng.random_range(0..3)];
                Some(json!({"instance": {"id": target}}))
            }
            4 => {
                let name =
                    [json!(null), json!(""), json!("ok"), json!(5)][rng.random_range(0..4)].clone();
                let labels = [json!(null), json!({}), json!({"a": "b"}), json!([1])]
                    [rng.random_range(0..4)]
                .clone();
                Some(json!({"name": name, "labels": labels}))
            }
            5 => Some(
                json!({"block-storage-snapshot": {"id": pick(&mut rng, &snaps)}, "size": rng.random_range(0..12u64)}),
            ),
            6 => Some(json!([rng.random::<u32>()])),
            _ => Some(Value::String("x".repeat(rng.random_range(0..50)))),
        };
        let signed = rng.random_bool(0.9);
        let a = if signed {
            c.call(method, &path, body.as_ref()).await
        } else {
            let bytes: Vec<u8> = (0..rng.random_range(0..40)).map(|_| rng.random()).collect();
            c.raw(
                method,
                &path,
                &bytes,
                Some(format!(
                    "EXO2-HMAC-SHA256 credential={KEY},expires=1,signature=AAAA"
                )),
            )
            .await
        };
        assert!(
            [200, 400, 403, 404, 405, 409].contains(&a.status),
            "#{n} {method} {path} {body:?} -> {} {}",
            a.status,
            a.body
        );
        assert!(a.body.is_object(), "#{n}: {}", a.body);
        if a.status != 200 {
            assert!(a.body["message"].is_string(), "#{n}: {}", a.body);
        } else if let Some(r) = a.body.get("reference") {
            let rid = r["id"].as_str().unwrap().to_owned();
            if r["command"] == "get-block-storage-volume" && !ids.contains(&rid) {
                ids.push(rid);
            } else if r["command"] == "get-block-storage-snapshot" && !snaps.contains(&rid) {
                snaps.push(rid);
            }
        }
        if n % 7 == 0 {
            c.fake.engine().advance(Duration::from_secs(1));
        }
    }
    assert!(
        ids.len() > 3,
        "the fuzz should create volumes: {}",
        ids.len()
    );
}

#[tokio::test]
async fn a_dropped_connection_still_changes_things() {
    let c = cloud().await;
    c.fake
        .engine()
        .inject(FaultRule::new(Fault::DropConnection).on(SimOp::CreateVolume));
    let body = serde_json::to_vec(&json!({"name": "d", "size": 1})).unwrap();
    let url = reqwest::Url::parse(&format!("{}/block-storage", c.base)).unwrap();
    let auth = authorization(KEY, SECRET, "POST", &url, &body, soon());
    let sent = c
        .http
        .post(url)
        .header("authorization", auth)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    assert!(sent.is_err(), "the connection should have been dropped");
    c.quiet();
    let list = c.ok("GET", "/block-storage", None).await;
    assert_eq!(list["block-storage-volumes"].as_array().unwrap().len(), 1);
}

#[test]
fn debug_output_shows_no_secret() {
    let builder = ExoscaleFake::builder().key(KEY, SECRET, "alice");
    let shown = format!("{builder:?}");
    let fake = builder.build();
    let shown = format!("{shown} {fake:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(!shown.contains(KEY), "{shown}");
    assert_eq!(fake.tenant_of(KEY), Some("alice"));
}

/// A long-running fake forgets old operations: the most recent
/// `MAX_KEPT_OPERATIONS` answer, an older one is a 404.
#[tokio::test]
async fn only_the_most_recent_operations_are_kept() {
    use volume_sim::fake::exoscale::MAX_KEPT_OPERATIONS;
    use volume_sim::fake::FakeRequest;
    let c = cloud().await;
    let id = c.create(json!({"name": "kept", "size": 10})).await;
    let first = c
        .ok(
            "PUT",
            &format!("/block-storage/{id}"),
            Some(&json!({"labels": {"n": "0"}})),
        )
        .await;
    // Straight through the pipeline: 10,000 relabels, each an operation.
    let path = format!("/v2/block-storage/{id}");
    let url = reqwest::Url::parse(&format!("{}/block-storage/{id}", c.base)).unwrap();
    let mut last = Value::Null;
    for n in 1..=MAX_KEPT_OPERATIONS {
        let body = serde_json::to_vec(&json!({"labels": {"n": n.to_string()}})).unwrap();
        let mut request = FakeRequest::new(reqwest::Method::PUT, path.clone());
        let auth = authorization(KEY, SECRET, "PUT", &url, &body, soon());
        request
            .headers
            .insert("authorization", auth.parse().unwrap());
        request.body = body.into();
        let answer = c.fake.handle(&request);
        assert_eq!(answer.status, 200, "relabel {n}");
        last = serde_json::from_slice(&answer.body).unwrap();
    }
    let gone = c
        .call(
            "GET",
            &format!("/operation/{}", first["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(gone.status, 404, "{}", gone.body);
    let kept = c
        .ok(
            "GET",
            &format!("/operation/{}", last["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(kept["state"], "success", "{kept}");
}

/// An operation that has ended is forgotten once it is as old as the
/// fake's operation TTL (wall clock): with the default it keeps
/// answering; with a TTL of zero the poll that sees it end answers, the
/// next is a 404. A pending one is never forgotten by age, and a fake run
/// fast keeps it (the TTL is not on the engine's clock).
#[tokio::test]
async fn operations_expire() {
    use volume_sim::fake::exoscale::ExoscaleFake;
    for (ttl, kept) in [(None, true), (Some(Duration::ZERO), false)] {
        let mut builder = ExoscaleFake::builder();
        if let Some(ttl) = ttl {
            builder = builder.operation_ttl(ttl);
        }
        let c = cloud_with(builder).await;
        let op = c
            .ok(
                "POST",
                "/block-storage",
                Some(&json!({"name": "ttl", "size": 10})),
            )
            .await;
        let path = format!("/operation/{}", op["id"].as_str().unwrap());
        // Still creating: pending, kept whatever the TTL.
        assert_eq!(c.ok("GET", &path, None).await["state"], "pending");
        // Eleven days of engine time pass: the volume is made; the poll
        // that sees it answers.
        c.fake.engine().advance(Duration::from_secs(1_000_000));
        assert_eq!(c.ok("GET", &path, None).await["state"], "success");
        let again = c.call("GET", &path, None).await;
        assert_eq!(again.status == 200, kept, "{ttl:?}: {}", again.body);
        if !kept {
            assert_eq!(again.status, 404, "{}", again.body);
        }
    }
}

/// The TTL counts from when an operation ended, not from when it began: one
/// pending for longer than the TTL is still answered right after it ends.
#[tokio::test]
async fn an_operation_is_kept_for_its_ttl_after_it_ends() {
    use volume_sim::fake::exoscale::ExoscaleFake;
    let ttl = Duration::from_millis(300);
    let c = cloud_with(ExoscaleFake::builder().operation_ttl(ttl)).await;
    let op = c
        .ok(
            "POST",
            "/block-storage",
            Some(&json!({"name": "long", "size": 10})),
        )
        .await;
    let path = format!("/operation/{}", op["id"].as_str().unwrap());
    assert_eq!(c.ok("GET", &path, None).await["state"], "pending");
    tokio::time::sleep(ttl * 2).await;
    c.fake.engine().advance(Duration::from_secs(1_000_000));
    assert_eq!(c.ok("GET", &path, None).await["state"], "success");
    // Ended just now: kept, though it began two TTLs ago.
    assert_eq!(c.ok("GET", &path, None).await["state"], "success");
}
