//! The Linode fake over plain HTTP (reqwest + serde_json, no Linode client):
//! a full volume lifecycle, the shapes of every documented sample and
//! recording, authentication, pagination, X-Filter, faults, rate limits,
//! tenants, and a seeded fuzz run that must never get a panic or a 5xx.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use volume_sim::engine::{Fault, FaultRule, SimOp};
use volume_sim::fake::linode::{LinodeFake, DEFAULT_TOKEN};
use wiremock::MockServer;

const ALICE: &str = "alice-token";
const BOB: &str = "bob-token";

/// One answer, checked for what every answer must be: exactly
/// `Content-Type: application/json`, a JSON body, and at least one error
/// entry with a string reason on every non-2xx.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn reason(&self) -> &str {
        self.body["errors"][0]["reason"].as_str().unwrap_or("")
    }

    fn field(&self) -> Option<&str> {
        self.body["errors"][0]["field"].as_str()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

struct Api {
    fake: LinodeFake,
    server: MockServer,
    client: reqwest::Client,
}

impl Api {
    async fn start() -> Self {
        Self::with(
            LinodeFake::builder()
                .token(ALICE, "alice")
                .token(BOB, "bob"),
        )
        .await
    }

    async fn with(builder: volume_sim::fake::linode::LinodeFakeBuilder) -> Self {
        let fake = builder.build();
        let server = fake.start().await;
        Self {
            fake,
            server,
            client: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.uri())
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        filter: Option<&str>,
        body: Option<&str>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method.clone(), self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(f) = filter {
            req = req.header("X-Filter", f);
        }
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_owned());
        }
        let resp = req.send().await.expect("the fake answers");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        assert_eq!(
            headers.get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "{method} {path}"
        );
        let bytes = resp.bytes().await.expect("a whole body");
        let body: Value = if method == reqwest::Method::HEAD {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "{method} {path}: not JSON ({e}): {:?}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        if status >= 300 && method != reqwest::Method::HEAD {
            let errors = body["errors"].as_array().expect("an errors array");
            assert!(!errors.is_empty(), "{method} {path}: empty errors");
            for e in errors {
                assert!(e["reason"].is_string(), "{method} {path}: {e}");
                assert!(e.get("field").is_none_or(Value::is_string), "{e}");
            }
        }
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, Some(ALICE), None, None).await
    }

    async fn filter(&self, path: &str, filter: &str) -> Answer {
        self.send("GET", path, Some(ALICE), Some(filter), None)
            .await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.send("POST", path, Some(ALICE), None, Some(&body.to_string()))
            .await
    }

    async fn put(&self, path: &str, body: Value) -> Answer {
        self.send("PUT", path, Some(ALICE), None, Some(&body.to_string()))
            .await
    }

    async fn delete(&self, path: &str) -> Answer {
        self.send("DELETE", path, Some(ALICE), None, None).await
    }

    /// The instances of ALICE: (id, label, region, status).
    async fn instances(&self) -> Vec<(u64, String, String, String)> {
        let a = self.get("/v4/linode/instances").await;
        assert_eq!(a.status, 200);
        a.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["id"].as_u64().unwrap(),
                    i["label"].as_str().unwrap().to_owned(),
                    i["region"].as_str().unwrap().to_owned(),
                    i["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    async fn instance(&self, region: &str, status: &str) -> (u64, String) {
        self.instances()
            .await
            .into_iter()
            .find(|i| i.2 == region && i.3 == status)
            .map(|i| (i.0, i.1))
            .unwrap_or_else(|| panic!("no {status} instance in {region}"))
    }

    async fn create(&self, label: &str, region: &str) -> u64 {
        let a = self
            .post("/v4/volumes", json!({"label": label, "region": region}))
            .await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        a.body["id"].as_u64().unwrap()
    }

    async fn create_active(&self, label: &str, region: &str) -> u64 {
        let id = self.create(label, region).await;
        self.fake.engine().run_until_quiet();
        id
    }

    async fn results(&self, path: &str, filter: &str) -> Vec<u64> {
        let a = self.filter(path, filter).await;
        assert_eq!(a.status, 200, "{filter}: {:?}", a.body);
        a.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_u64().unwrap())
            .collect()
    }
}

#[tokio::test]
async fn a_full_volume_lifecycle() {
    let api = Api::start().await;
    let (running, running_label) = api.instance("us-east", "running").await;
    let (elsewhere, _) = api.instance("us-ord", "running").await;

    // Create: 200 with the volume, `creating`.
    let a = api
        .post(
            "/v4/volumes",
            json!({"label": "data-1", "region": "us-east", "size": 15, "tags": ["web"], "linode_id": null}),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let v = &a.body;
    let id = v["id"].as_u64().unwrap();
    assert_eq!(v["status"], "creating");
    assert_eq!(v["size"], 15);
    assert_eq!(v["region"], "us-east");
    assert_eq!(v["linode_id"], Value::Null);
    assert_eq!(v["linode_label"], Value::Null);
    assert_eq!(v["tags"], json!(["web"]));
    assert_eq!(v["io_ready"], false);
    assert_eq!(v["hardware_type"], "nvme");
    assert_eq!(v["encryption"], "disabled");
    assert_eq!(v["locks"], json!([]));
    assert_eq!(
        v["filesystem_path"],
        "/dev/disk/by-id/scsi-0Linode_Volume_data-1"
    );
    assert_eq!(v["created"], "2026-01-01T00:00:00");
    let vol = format!("/v4/volumes/{id}");

    // Wait until active by stepping the clock.
    assert_eq!(api.get(&vol).await.body["status"], "creating");
    assert!(api.fake.engine().step());
    assert_eq!(api.get(&vol).await.body["status"], "active");

    // A second one with the default size, through /v4beta.
    let a = api
        .post(
            "/v4beta/volumes",
            json!({"label": "data-2", "region": "us-east", "tags": null}),
        )
        .await;
    assert_eq!(a.body["size"], 20);
    let id2 = a.body["id"].as_u64().unwrap();
    api.fake.engine().run_until_quiet();

    // List and filter.
    let all = api.get("/v4/volumes").await;
    assert_eq!(all.body["results"], 2);
    assert_eq!(all.body["page"], 1);
    assert_eq!(all.body["pages"], 1);
    assert_eq!(
        api.results("/v4/volumes", r#"{"label": "data-1"}"#).await,
        [id]
    );
    assert_eq!(api.results("/v4/volumes", r#"{"tags": "web"}"#).await, [id]);
    assert!(api
        .results("/v4/volumes", r#"{"region": "us-ord"}"#)
        .await
        .is_empty());
    assert_eq!(
        api.results("/v4/volumes", r#"{"+or": [{"label": "data-1"}, {"label": "data-2"}], "+order_by": "label", "+order": "desc"}"#)
            .await,
        [id2, id]
    );
    assert_eq!(
        api.results("/v4/volumes", r#"{"size": {"+gt": 15}}"#).await,
        [id2]
    );

    // Rename and retag: the filesystem path follows the label.
    let a = api
        .put(&vol, json!({"label": "data-one", "tags": ["web", "db"]}))
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["label"], "data-one");
    assert_eq!(a.body["tags"], json!(["db", "web"]));
    assert_eq!(
        a.body["filesystem_path"],
        "/dev/disk/by-id/scsi-0Linode_Volume_data-one"
    );

    // Resize: grow only; `resizing`, then `active`.
    let a = api
        .post(&format!("{vol}/resize"), json!({"size": 25}))
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["status"], "resizing");
    assert_eq!(a.body["size"], 25);
    api.fake.engine().run_until_quiet();
    assert_eq!(api.get(&vol).await.body["status"], "active");

    // Attach.
    let a = api
        .post(&format!("{vol}/attach"), json!({"linode_id": running}))
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["linode_id"], running);
    assert_eq!(a.body["linode_label"], running_label.as_str());
    assert_eq!(a.body["io_ready"], true);
    let on = api
        .get(&format!("/v4/linode/instances/{running}/volumes"))
        .await;
    assert_eq!(on.body["results"], 1);
    assert_eq!(on.body["data"][0]["id"], id);
    assert_eq!(
        api.results("/v4/volumes", &format!(r#"{{"linode_id": {running}}}"#))
            .await,
        [id]
    );
    assert_eq!(
        api.results("/v4/volumes", r#"{"linode_id": null}"#).await,
        [id2]
    );

    // Attach errors: already attached; another region.
    let a = api
        .post(&format!("{vol}/attach"), json!({"linode_id": running}))
        .await;
    assert_eq!((a.status, a.field()), (400, Some("linode_id")));
    let a = api
        .post(
            &format!("/v4/volumes/{id2}/attach"),
            json!({"linode_id": elsewhere}),
        )
        .await;
    assert_eq!((a.status, a.field()), (400, Some("linode_id")));
    assert!(a.reason().contains("region"), "{}", a.reason());
    let a = api
        .post(
            &format!("/v4/volumes/{id2}/attach"),
            json!({"linode_id": 424_242}),
        )
        .await;
    assert_eq!((a.status, a.field()), (400, Some("linode_id")));
    let a = api
        .post(&format!("/v4/volumes/{id2}/attach"), json!({}))
        .await;
    assert_eq!((a.status, a.field()), (400, Some("linode_id")));

    // Delete while attached to a running Linode: refused, nothing changes.
    let a = api.delete(&vol).await;
    assert_eq!(a.status, 400, "{:?}", a.body);
    assert_eq!(api.get(&vol).await.body["linode_id"], running);

    // Resize while attached is allowed (recorded); io_ready stays true.
    let a = api
        .post(&format!("{vol}/resize"), json!({"size": 30}))
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["io_ready"], true);
    api.fake.engine().run_until_quiet();

    // Clone an attached volume: a new, detached volume of the same size.
    let a = api
        .post(&format!("{vol}/clone"), json!({"label": "data-copy"}))
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let copy = a.body["id"].as_u64().unwrap();
    assert_ne!(copy, id);
    assert_eq!(a.body["status"], "creating");
    assert_eq!(a.body["size"], 30);
    assert_eq!(a.body["linode_id"], Value::Null);
    assert_eq!(a.body["region"], "us-east");
    // A creating volume cannot be cloned, resized or renamed yet.
    let a = api
        .post(
            &format!("/v4/volumes/{copy}/clone"),
            json!({"label": "copy-of-copy"}),
        )
        .await;
    assert_eq!(a.status, 400);
    let a = api
        .post(&format!("/v4/volumes/{copy}/resize"), json!({"size": 40}))
        .await;
    assert_eq!(a.status, 400);
    api.fake.engine().run_until_quiet();
    assert_eq!(
        api.get(&format!("/v4/volumes/{copy}")).await.body["status"],
        "active"
    );

    // Detach: `{}`, then detached at once.
    let a = api.post(&format!("{vol}/detach"), json!({})).await;
    assert_eq!((a.status, &a.body), (200, &json!({})));
    let v = api.get(&vol).await.body;
    assert_eq!(v["linode_id"], Value::Null);
    assert_eq!(v["linode_label"], Value::Null);
    assert_eq!(v["io_ready"], false);
    let a = api
        .send("POST", &format!("{vol}/detach"), Some(ALICE), None, None)
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        api.get(&format!("/v4/linode/instances/{running}/volumes"))
            .await
            .body["results"],
        0
    );

    // Bad input.
    let a = api
        .post(&format!("{vol}/resize"), json!({"size": 10}))
        .await;
    assert_eq!((a.status, a.field()), (400, Some("size")));
    let a = api
        .post(&format!("{vol}/resize"), json!({"size": 30}))
        .await;
    assert_eq!((a.status, a.field()), (400, Some("size")));
    let a = api
        .post(&format!("{vol}/resize"), json!({"size": 10_241}))
        .await;
    assert_eq!((a.status, a.field()), (400, Some("size")));
    let a = api
        .post(&format!("{vol}/resize"), json!({"size": "40"}))
        .await;
    assert_eq!((a.status, a.field()), (400, Some("size")));
    for (body, field) in [
        (json!({"label": "x", "region": "us-east"}), "label"),
        (json!({"label": "9lives", "region": "us-east"}), "label"),
        (json!({"label": "bad--label", "region": "us-east"}), "label"),
        (json!({"label": "has space", "region": "us-east"}), "label"),
        (
            json!({"label": "a".repeat(33), "region": "us-east"}),
            "label",
        ),
        (json!({"region": "us-east"}), "label"),
        (json!({"label": "ok-label", "region": "mars-1"}), "region"),
        (json!({"label": "ok-label"}), "region"),
        (
            json!({"label": "ok-label", "region": "us-east", "size": 9}),
            "size",
        ),
        (
            json!({"label": "ok-label", "region": "us-east", "size": 10_241}),
            "size",
        ),
        (
            json!({"label": "ok-label", "region": "us-east", "size": 20.5}),
            "size",
        ),
        (
            json!({"label": "ok-label", "region": "us-east", "tags": "web"}),
            "tags",
        ),
        (
            json!({"label": "ok-label", "region": "us-east", "encryption": "maybe"}),
            "encryption",
        ),
        (
            json!({"label": "ok-label", "linode_id": 31_337}),
            "linode_id",
        ),
        (
            json!({"label": "ok-label", "region": "us-ord", "linode_id": running}),
            "region",
        ),
        (
            json!({"label": "ok-label", "region": "us-east", "config_id": 5}),
            "config_id",
        ),
    ] {
        let a = api.post("/v4/volumes", body.clone()).await;
        assert_eq!(
            (a.status, a.field()),
            (400, Some(field)),
            "{body}: {:?}",
            a.body
        );
    }
    let a = api
        .post("/v4/volumes", json!({"label": "x", "size": 5}))
        .await;
    let fields: BTreeSet<&str> = a.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, BTreeSet::from(["label", "region", "size"]));
    let a = api
        .send("POST", "/v4/volumes", Some(ALICE), None, Some("{not json"))
        .await;
    assert_eq!(a.status, 400);
    let a = api.put(&vol, json!({"label": "no__way"})).await;
    assert_eq!((a.status, a.field()), (400, Some("label")));
    let a = api.get("/v4/volumes/999999").await;
    assert_eq!((a.status, a.reason()), (404, "Not found"));
    let a = api.get("/v4/linode/instances/999999").await;
    assert_eq!((a.status, a.reason()), (404, "Not found"));
    assert_eq!(api.results("/v4/volumes", "{}").await.len(), 3);

    // Delete: `{}`, then 404.
    for v in [id, id2, copy] {
        let a = api.delete(&format!("/v4/volumes/{v}")).await;
        assert_eq!((a.status, &a.body), (200, &json!({})));
        assert_eq!(api.get(&format!("/v4/volumes/{v}")).await.status, 404);
    }
    let a = api.delete(&vol).await;
    assert_eq!(a.status, 404);
    let empty = api.get("/v4/volumes").await.body;
    assert_eq!(
        empty,
        json!({"data": [], "page": 1, "pages": 1, "results": 0})
    );
}

#[tokio::test]
async fn create_attached_attach_while_creating_and_delete_from_an_offline_linode() {
    let api = Api::start().await;
    let (running, label) = api.instance("eu-west", "running").await;
    let (offline, _) = api.instance("eu-west", "offline").await;

    // Created attached: the Linode's region, attached from the start.
    let a = api
        .post(
            "/v4/volumes",
            json!({"label": "boot-data", "linode_id": running}),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["region"], "eu-west");
    assert_eq!(a.body["linode_id"], running);
    assert_eq!(a.body["linode_label"], label.as_str());
    assert_eq!(a.body["io_ready"], false);
    api.fake.engine().run_until_quiet();
    let id = a.body["id"].as_u64().unwrap();
    let v = api.get(&format!("/v4/volumes/{id}")).await.body;
    assert_eq!(
        (&v["status"], &v["io_ready"]),
        (&json!("active"), &json!(true))
    );

    // Attach right after create (linodego's recordings do): accepted.
    let id2 = api.create("late-data", "eu-west").await;
    let a = api
        .post(
            &format!("/v4/volumes/{id2}/attach"),
            json!({"linode_id": offline, "config": 7}),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["status"], "creating");
    assert_eq!(a.body["linode_id"], offline);
    assert_eq!(a.body["io_ready"], false);
    // Listed under the Linode already.
    let on = api
        .get(&format!("/v4/linode/instances/{offline}/volumes"))
        .await;
    assert_eq!(on.body["results"], 1);
    api.fake.engine().run_until_quiet();
    let v = api.get(&format!("/v4/volumes/{id2}")).await.body;
    assert_eq!(v["status"], "active");
    assert_eq!(v["linode_id"], offline);
    assert_eq!(v["io_ready"], true);
    // The engine has the attachment too.
    let engine_view = api.fake.engine().with(|c| {
        c.all_volumes("alice")
            .into_iter()
            .find(|v| v.id.as_str() == id2.to_string())
            .and_then(|v| v.attached_to().map(|i| i.to_string()))
    });
    assert_eq!(engine_view, Some(offline.to_string()));

    // Detach while still creating cancels the waiting attachment.
    let id3 = api.create("never-attached", "eu-west").await;
    let a = api
        .post(
            &format!("/v4/volumes/{id3}/attach"),
            json!({"linode_id": running}),
        )
        .await;
    assert_eq!(a.status, 200);
    let a = api
        .send(
            "POST",
            &format!("/v4/volumes/{id3}/detach"),
            Some(ALICE),
            None,
            None,
        )
        .await;
    assert_eq!((a.status, &a.body), (200, &json!({})));
    api.fake.engine().run_until_quiet();
    assert_eq!(
        api.get(&format!("/v4/volumes/{id3}")).await.body["linode_id"],
        Value::Null
    );

    // Deleting a volume attached to an offline Linode works (recorded).
    let a = api.delete(&format!("/v4/volumes/{id2}")).await;
    assert_eq!((a.status, &a.body), (200, &json!({})));
    // ... to a running one does not.
    let a = api.delete(&format!("/v4/volumes/{id}")).await;
    assert_eq!(a.status, 400);
    assert!(a.reason().contains("detach"), "{}", a.reason());
}

#[tokio::test]
async fn pagination_is_linodes() {
    let api = Api::start().await;
    for n in 0..30 {
        api.create(&format!("vol-{n:02}"), "ap-south").await;
    }
    let page = |q: &'static str| {
        let api = &api;
        async move { api.get(&format!("/v4/volumes{q}")).await }
    };
    let a = page("").await;
    assert_eq!(a.body["data"].as_array().unwrap().len(), 30);
    assert_eq!(
        (&a.body["pages"], &a.body["results"]),
        (&json!(1), &json!(30))
    );
    let a = page("?page_size=25").await;
    assert_eq!(a.body["data"].as_array().unwrap().len(), 25);
    assert_eq!((&a.body["page"], &a.body["pages"]), (&json!(1), &json!(2)));
    let a = page("?page=2&page_size=25").await;
    assert_eq!(a.body["data"].as_array().unwrap().len(), 5);
    assert_eq!(a.body["data"][0]["label"], "vol-25");
    assert_eq!(a.body["page"], 2);
    // Past the last page: empty; past 2^64 / page_size: the last page.
    let a = page("?page=3&page_size=25").await;
    assert_eq!(
        (a.body["data"].as_array().unwrap().len(), &a.body["page"]),
        (0, &json!(3))
    );
    let a = page("?page=18446744073709551615&page_size=25").await;
    assert_eq!(
        (a.body["data"].as_array().unwrap().len(), &a.body["page"]),
        (5, &json!(2))
    );
    let a = page("?page=99999999999999999999999999").await;
    assert_eq!(a.body["page"], 1);
    for (q, field) in [
        ("?page=0", "page"),
        ("?page=-1", "page"),
        ("?page=abc", "page"),
        ("?page=1.5", "page"),
        ("?page_size=24", "page_size"),
        ("?page_size=501", "page_size"),
        ("?page_size=", "page_size"),
    ] {
        let a = page(q).await;
        assert_eq!((a.status, a.field()), (400, Some(field)), "{q}");
    }
    // Filters apply before paging.
    let a = api
        .filter(
            "/v4/volumes?page_size=25",
            r#"{"label": {"+contains": "vol-1"}}"#,
        )
        .await;
    assert_eq!(
        (&a.body["results"], &a.body["pages"]),
        (&json!(10), &json!(1))
    );
    // Other collections page the same way.
    let a = api.get("/v4/linode/instances?page_size=25").await;
    assert_eq!(a.body["results"], 12);
    let a = api
        .send("GET", "/v4/regions?page=2&page_size=25", None, None, None)
        .await;
    assert_eq!(
        (&a.body["page"], &a.body["results"]),
        (&json!(2), &json!(4))
    );
}

#[tokio::test]
async fn x_filter_refusals() {
    let api = Api::start().await;
    // Refused even on an empty collection.
    for f in [
        r#"{"foo": "bar"}"#,
        "{not json",
        "[1, 2]",
        r#"{"+or": {"label": "a"}}"#,
        r#"{"+order": "desc"}"#,
        r#"{"+order_by": "created"}"#,
        r#"{"label": {"+like": "a"}}"#,
    ] {
        let a = api.filter("/v4/volumes", f).await;
        assert_eq!((a.status, a.field()), (400, Some("X-Filter")), "{f}");
    }
    let a = api.filter("/v4/volumes", r#"{"foo":"bar"}"#).await;
    assert_eq!(
        a.body,
        json!({"errors": [{"reason": "Cannot filter on foo", "field": "X-Filter"}]})
    );
    let deep = format!("{}{}", "{\"+and\": [".repeat(64), "]}".repeat(64));
    assert_eq!(api.filter("/v4/volumes", &deep).await.status, 400);
    // Bounded: at most 64 terms and 8 KiB.
    let terms = |n: usize| {
        let alternatives: Vec<String> = (0..n).map(|i| format!(r#"{{"id": {i}}}"#)).collect();
        format!(r#"{{"+or": [{}]}}"#, alternatives.join(","))
    };
    assert_eq!(api.filter("/v4/volumes", &terms(63)).await.status, 200);
    let a = api.filter("/v4/volumes", &terms(64)).await;
    assert_eq!((a.status, a.field()), (400, Some("X-Filter")), "{}", a.body);
    let long = format!(r#"{{"label": "{}"}}"#, "a".repeat(8 * 1024));
    let a = api.filter("/v4/volumes", &long).await;
    assert_eq!((a.status, a.field()), (400, Some("X-Filter")), "{}", a.body);
    let a = api
        .filter("/v4/linode/instances", r#"{"status": "offline"}"#)
        .await;
    assert_eq!(a.body["results"], 4);
    let a = api
        .send(
            "GET",
            "/v4/regions",
            None,
            Some(r#"{"country": "gb"}"#),
            None,
        )
        .await;
    assert_eq!(a.body["data"][0]["id"], "eu-west");
}

/// A filtered listing tests exactly what the unfiltered listing shows:
/// for every filterable field and every value it takes, the fake's answer
/// is the unfiltered listing filtered here, in the same order.
#[tokio::test]
async fn filters_see_the_wire_form_of_every_field() {
    let api = Api::start().await;
    let (linode, _) = api.instance("us-east", "running").await;
    let a = api.create_active("alpha", "us-east").await;
    let b = api.create("beta", "us-east").await;
    let c = api.create_active("gamma", "eu-west").await;
    api.put(&format!("/v4/volumes/{a}"), json!({"tags": ["x", "y"]}))
        .await;
    api.put(&format!("/v4/volumes/{c}"), json!({"tags": ["y"]}))
        .await;
    api.post(
        &format!("/v4/volumes/{a}/attach"),
        json!({"linode_id": linode}),
    )
    .await;
    let _ = b;
    let all = api.get("/v4/volumes").await.body["data"]
        .as_array()
        .unwrap()
        .clone();
    let fields = [
        "id",
        "label",
        "linode_id",
        "region",
        "size",
        "status",
        "tags",
    ];
    let mut checked = 0;
    for field in fields {
        let mut values: Vec<Value> = Vec::new();
        for v in &all {
            match &v[field] {
                Value::Array(items) => values.extend(items.iter().cloned()),
                other => values.push(other.clone()),
            }
        }
        for value in values {
            let expected: Vec<&Value> = all
                .iter()
                .filter(|v| match &v[field] {
                    Value::Array(items) => items.contains(&value),
                    other => *other == value,
                })
                .map(|v| &v["id"])
                .collect();
            let filter = json!({ field: value }).to_string();
            let got = api.filter("/v4/volumes", &filter).await.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["id"].clone())
                .collect::<Vec<_>>();
            assert_eq!(got.iter().collect::<Vec<_>>(), expected, "{filter}");
            checked += 1;
        }
        for order in ["asc", "desc"] {
            if field == "tags" {
                continue;
            }
            let filter = json!({"+order_by": field, "+order": order, "id": {"+gte": 0}});
            let got = api.filter("/v4/volumes", &filter.to_string()).await.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v[field].clone())
                .collect::<Vec<_>>();
            // Every volume, not a short page sorted by itself.
            assert_eq!(got.len(), all.len(), "{filter}");
            let mut sorted = got.clone();
            sorted.sort_by(|x, y| {
                let o = match (x, y) {
                    (Value::Number(x), Value::Number(y)) => {
                        x.as_f64().unwrap().total_cmp(&y.as_f64().unwrap())
                    }
                    (Value::String(x), Value::String(y)) => x.cmp(y),
                    (Value::Null, Value::Null) => std::cmp::Ordering::Equal,
                    (Value::Null, _) => std::cmp::Ordering::Less,
                    (_, Value::Null) => std::cmp::Ordering::Greater,
                    _ => std::cmp::Ordering::Equal,
                };
                if order == "desc" {
                    o.reverse()
                } else {
                    o
                }
            });
            assert_eq!(got, sorted, "{filter}");
        }
    }
    assert!(checked >= 12, "{checked}");
}

#[tokio::test]
async fn authentication() {
    let api = Api::start().await;
    let unauthorized = json!({"errors": [{"reason": "Invalid Token"}]});
    for token in [None, Some("wrong"), Some(""), Some(DEFAULT_TOKEN)] {
        for (method, path) in [
            ("GET", "/v4/volumes"),
            ("POST", "/v4/volumes"),
            ("GET", "/v4/volumes/1001"),
            ("DELETE", "/v4/volumes/1001"),
            ("POST", "/v4/volumes/1001/attach"),
            ("GET", "/v4/linode/instances"),
            ("GET", "/v4beta/linode/instances/1001/volumes"),
        ] {
            let a = api.send(method, path, token, None, Some("{}")).await;
            assert_eq!(
                (a.status, &a.body),
                (401, &unauthorized),
                "{method} {path} {token:?}"
            );
        }
    }
    // Other schemes are not bearer tokens.
    let resp = api
        .client
        .get(api.url("/v4/volumes"))
        .basic_auth(ALICE, None::<&str>)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = api
        .client
        .get(api.url("/v4/volumes"))
        .header("Authorization", format!("bearer {ALICE}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Public endpoints need no token, and ignore a wrong one (recorded).
    for token in [None, Some("wrong")] {
        for path in ["/v4/regions", "/v4/regions/us-east", "/v4/volumes/types"] {
            let a = api.send("GET", path, token, None, None).await;
            assert_eq!(a.status, 200, "{path}");
        }
    }
    assert_eq!(
        api.send("GET", "/v4/regions/mars", None, None, None)
            .await
            .status,
        404
    );
    // A fake built without tokens takes the default one.
    let default = Api::with(LinodeFake::builder()).await;
    let a = default
        .send("GET", "/v4/volumes", Some(DEFAULT_TOKEN), None, None)
        .await;
    assert_eq!(a.status, 200);
}

#[tokio::test]
async fn tenants_see_only_their_own() {
    let api = Api::start().await;
    let id = api.create("alices", "us-east").await;
    let bob = api.send("GET", "/v4/volumes", Some(BOB), None, None).await;
    assert_eq!(bob.body["results"], 0);
    let a = api
        .send("GET", &format!("/v4/volumes/{id}"), Some(BOB), None, None)
        .await;
    assert_eq!(a.status, 404);
    let a = api
        .send(
            "DELETE",
            &format!("/v4/volumes/{id}"),
            Some(BOB),
            None,
            None,
        )
        .await;
    assert_eq!(a.status, 404);
    // Bob's instances are his own.
    let alices: BTreeSet<u64> = api.instances().await.into_iter().map(|i| i.0).collect();
    let bobs = api
        .send("GET", "/v4/linode/instances", Some(BOB), None, None)
        .await;
    for i in bobs.body["data"].as_array().unwrap() {
        assert!(!alices.contains(&i["id"].as_u64().unwrap()));
    }
    let (alice_vm, _) = api.instance("us-east", "running").await;
    api.fake.engine().run_until_quiet();
    let bob_vol = api
        .send(
            "POST",
            "/v4/volumes",
            Some(BOB),
            None,
            Some(&json!({"label": "bobs", "region": "us-east"}).to_string()),
        )
        .await
        .body["id"]
        .as_u64()
        .unwrap();
    api.fake.engine().run_until_quiet();
    let a = api
        .send(
            "POST",
            &format!("/v4/volumes/{bob_vol}/attach"),
            Some(BOB),
            None,
            Some(&json!({"linode_id": alice_vm}).to_string()),
        )
        .await;
    assert_eq!((a.status, a.field()), (400, Some("linode_id")));
}

#[tokio::test]
async fn faults_are_linode_answers() {
    let api = Api::start().await;
    let engine = api.fake.engine();

    // Error before: nothing is created.
    engine.inject(
        FaultRule::new(Fault::ErrorBefore {
            status: 503,
            message: "Service unavailable".into(),
        })
        .on(SimOp::CreateVolume),
    );
    let a = api
        .post("/v4/volumes", json!({"label": "f1", "region": "us-east"}))
        .await;
    assert_eq!((a.status, a.reason()), (503, "Service unavailable"));
    assert_eq!(api.get("/v4/volumes").await.body["results"], 0);

    // Error after: created all the same.
    engine.inject(
        FaultRule::new(Fault::ErrorAfter {
            status: 500,
            message: String::new(),
        })
        .on(SimOp::CreateVolume),
    );
    let a = api
        .post("/v4/volumes", json!({"label": "f2", "region": "us-east"}))
        .await;
    assert_eq!((a.status, a.reason()), (500, "Internal server error"));
    assert_eq!(api.get("/v4/volumes").await.body["results"], 1);

    // Rate limited: 429 with Retry-After in whole seconds.
    engine.inject(
        FaultRule::new(Fault::RateLimited {
            retry_after: Duration::from_millis(2500),
        })
        .on(SimOp::ListVolumes),
    );
    let a = api.get("/v4/volumes").await;
    assert_eq!(
        (a.status, &a.body),
        (429, &json!({"errors": [{"reason": "Too many requests"}]}))
    );
    assert_eq!(a.header("retry-after"), Some("3"));

    // Latency: a late answer.
    engine.inject(FaultRule::new(Fault::Latency(Duration::from_millis(150))).on(SimOp::GetVolume));
    let id = api.get("/v4/volumes").await.body["data"][0]["id"]
        .as_u64()
        .unwrap();
    let t = std::time::Instant::now();
    assert_eq!(api.get(&format!("/v4/volumes/{id}")).await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(150));

    // Stuck: creating for ever.
    engine.inject(FaultRule::new(Fault::Stuck).on(SimOp::CreateVolume));
    let stuck = api.create("stuck", "us-east").await;
    engine.run_until_quiet();
    engine.advance(Duration::from_secs(3600));
    assert_eq!(
        api.get(&format!("/v4/volumes/{stuck}")).await.body["status"],
        "creating"
    );

    // Land in error: the resize fails; Linode calls that contact_support.
    engine.run_until_quiet();
    engine.inject(FaultRule::new(Fault::LandInError).on(SimOp::ResizeVolume));
    let a = api
        .post(&format!("/v4/volumes/{id}/resize"), json!({"size": 40}))
        .await;
    assert_eq!(a.body["status"], "resizing");
    engine.run_until_quiet();
    assert_eq!(
        api.get(&format!("/v4/volumes/{id}")).await.body["status"],
        "contact_support"
    );

    // Dropped connection: no answer, but the change happened.
    engine.inject(FaultRule::new(Fault::DropConnection).on(SimOp::DeleteVolume));
    let err = api
        .client
        .delete(api.url(&format!("/v4/volumes/{id}")))
        .bearer_auth(ALICE)
        .send()
        .await
        .expect_err("the connection is dropped");
    assert!(!err.is_status(), "{err}");
    assert_eq!(api.get(&format!("/v4/volumes/{id}")).await.status, 404);

    let injected: Vec<SimOp> = engine.injected().iter().map(|i| i.op).collect();
    assert_eq!(
        injected,
        [
            SimOp::CreateVolume,
            SimOp::CreateVolume,
            SimOp::ListVolumes,
            SimOp::GetVolume,
            SimOp::CreateVolume,
            SimOp::ResizeVolume,
            SimOp::DeleteVolume,
        ]
    );
}

#[tokio::test]
async fn per_token_rate_limits() {
    let api = Api::with(
        LinodeFake::builder()
            .token(ALICE, "alice")
            .token(BOB, "bob")
            .rate_limit(3, Duration::from_secs(60)),
    )
    .await;
    for remaining in ["2", "1", "0"] {
        let a = api.get("/v4/volumes").await;
        assert_eq!(a.status, 200);
        assert_eq!(a.header("x-ratelimit-limit"), Some("3"));
        assert_eq!(a.header("x-ratelimit-remaining"), Some(remaining));
        assert!(a.header("x-ratelimit-reset").is_some());
    }
    let a = api.get("/v4/volumes").await;
    assert_eq!((a.status, a.reason()), (429, "Too many requests"));
    assert_eq!(a.header("retry-after"), Some("60"));
    // Another token has a window of its own; public endpoints are not counted.
    assert_eq!(
        api.send("GET", "/v4/volumes", Some(BOB), None, None)
            .await
            .status,
        200
    );
    assert_eq!(
        api.send("GET", "/v4/regions", None, None, None)
            .await
            .status,
        200
    );
    api.fake.engine().advance(Duration::from_secs(45));
    assert_eq!(
        api.get("/v4/volumes").await.header("retry-after"),
        Some("15")
    );
    api.fake.engine().advance(Duration::from_secs(15));
    assert_eq!(api.get("/v4/volumes").await.status, 200);
}

#[tokio::test]
async fn methods_paths_and_bodies_at_the_edges() {
    let api = Api::start().await;
    let id = api.create_active("edge", "us-east").await;
    for (method, path, status) in [
        ("PATCH", format!("/v4/volumes/{id}"), 405),
        ("GET", format!("/v4/volumes/{id}/resize"), 405),
        ("PUT", "/v4/volumes".to_owned(), 405),
        ("POST", "/v4/volumes/types".to_owned(), 405),
        ("GET", "/v4/volumes/abc".to_owned(), 404),
        ("GET", "/v4/volumes/-5".to_owned(), 404),
        ("GET", "/v4/volumes/%31%30%30%31".to_owned(), 404),
        ("GET", "/v4/volumes/184467440737095516160".to_owned(), 404),
        ("GET", "/v4/nothing".to_owned(), 404),
        ("GET", "/v4".to_owned(), 404),
        ("OPTIONS", "/v4/volumes".to_owned(), 200),
        ("OPTIONS", "/v4/nothing".to_owned(), 404),
    ] {
        let a = api.send(method, &path, Some(ALICE), None, None).await;
        assert_eq!(a.status, status, "{method} {path}: {:?}", a.body);
    }
    // Bodies: not an object; wrong types; unknown fields are ignored.
    let a = api
        .send(
            "PUT",
            &format!("/v4/volumes/{id}"),
            Some(ALICE),
            None,
            Some("[1]"),
        )
        .await;
    assert_eq!(a.status, 400);
    let a = api
        .put(
            &format!("/v4/volumes/{id}"),
            json!({"size": 999, "whatever": true}),
        )
        .await;
    assert_eq!((a.status, &a.body["size"]), (200, &json!(20)));
    let a = api
        .put(&format!("/v4/volumes/{id}"), json!({"tags": [1, 2]}))
        .await;
    assert_eq!((a.status, a.field()), (400, Some("tags")));
    // Encryption is kept; clones inherit it.
    let a = api
        .post(
            "/v4/volumes",
            json!({"label": "secret", "region": "us-east", "encryption": "enabled"}),
        )
        .await;
    assert_eq!(a.body["encryption"], "enabled");
    api.fake.engine().run_until_quiet();
    let c = api
        .post(
            &format!("/v4/volumes/{}/clone", a.body["id"]),
            json!({"label": "secret-2"}),
        )
        .await;
    assert_eq!(c.body["encryption"], "enabled");
    // HEAD answers like GET, without a body.
    let resp = api
        .client
        .head(api.url(&format!("/v4/volumes/{id}")))
        .bearer_auth(ALICE)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Volume types, as recorded.
    let t = api.send("GET", "/v4/volumes/types", None, None, None).await;
    assert_eq!(t.body["data"][0]["id"], "volume");
    assert_eq!(t.body["data"][0]["price"]["monthly"], 0.1);
}

// ----- samples ---------------------------------------------------------------

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/api/linode")
}

/// `(method, url, status, body)` of each interaction of a go-vcr recording.
/// The recordings are YAML whose bodies are single-quoted scalars, folded
/// over lines; this reads exactly that.
fn vcr(text: &str) -> Vec<(String, String, u16, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let (mut method, mut url, mut body) = (String::new(), String::new(), None::<String>);
    let mut in_response = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.starts_with("- request:") {
            in_response = false;
            body = None;
        } else if line.starts_with("  response:") {
            in_response = true;
        } else if let Some(u) = line.strip_prefix("    url: ") {
            url = u.to_owned();
        } else if let Some(m) = line.strip_prefix("    method: ") {
            method = m.to_owned();
        } else if let Some(rest) = line.strip_prefix("    body: '") {
            // A single-quoted scalar: `''` is a quote; line breaks fold to
            // a space.
            let mut text = String::new();
            let mut part = rest.to_owned();
            loop {
                let closing = closing_quote(&part);
                match closing {
                    Some(end) => {
                        text.push_str(&part[..end]);
                        break;
                    }
                    None => {
                        text.push_str(&part);
                        text.push(' ');
                        i += 1;
                        part = lines[i].trim_start().to_owned();
                    }
                }
            }
            if in_response {
                body = Some(text.replace("''", "'"));
            }
        } else if let Some(code) = line.strip_prefix("    code: ") {
            if in_response {
                out.push((
                    method.clone(),
                    url.clone(),
                    code.parse().unwrap(),
                    body.take().unwrap_or_default(),
                ));
            }
        }
        i += 1;
    }
    out
}

/// The index of the quote that closes a single-quoted scalar, if on this line.
fn closing_quote(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\'' {
            if b.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Fields that may be `null` on one side and a value on the other.
const NULLABLE: &[&str] = &[
    "linode_id",
    "linode_label",
    "image",
    "ipv6",
    "lke_cluster_id",
    "placement_group",
    "last_successful",
    "day",
    "window",
    "maximum_pgs_per_customer",
];

/// Where `fake` lacks a field of `sample`, or has it with another JSON type.
/// Integers must stay integers; fractions may be any number; arrays are
/// compared element by element against the fake's first element.
fn shape_diff(sample: &Value, fake: &Value, path: &str, out: &mut Vec<String>) {
    let key = path.rsplit('.').next().unwrap_or(path);
    match (sample, fake) {
        (Value::Object(s), Value::Object(f)) => {
            for (k, sv) in s {
                match f.get(k) {
                    None => out.push(format!("{path}.{k}: missing")),
                    Some(fv) => shape_diff(sv, fv, &format!("{path}.{k}"), out),
                }
            }
        }
        (Value::Array(s), Value::Array(f)) => {
            if let Some(fe) = f.first() {
                for se in s {
                    shape_diff(se, fe, &format!("{path}[]"), out);
                }
            }
        }
        (Value::Null, _) | (_, Value::Null) if NULLABLE.contains(&key) => {}
        (Value::Number(s), Value::Number(f)) => {
            if (s.is_u64() || s.is_i64()) && !(f.is_u64() || f.is_i64()) {
                out.push(format!("{path}: integer in the sample, {f} in the fake"));
            }
        }
        (Value::String(_), Value::String(_)) | (Value::Bool(_), Value::Bool(_)) => {}
        (s, f) => out.push(format!("{path}: {s} in the sample, {f} in the fake")),
    }
}

/// What kind of answer a recorded request gets, by method and path.
fn kind_of(method: &str, url: &str) -> Option<&'static str> {
    let path = url.split("://").nth(1)?.split_once('/')?.1;
    let path = path.split('?').next()?;
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    Some(match (method, segs.as_slice()) {
        ("GET", ["regions"]) => "regions",
        ("GET", ["volumes"]) | ("GET", ["linode", "instances", _, "volumes"]) => "volumes",
        ("GET", ["volumes", "types"]) => "types",
        ("POST", ["volumes"])
        | ("GET" | "PUT", ["volumes", _])
        | ("POST", ["volumes", _, "attach" | "clone" | "resize"]) => "volume",
        ("POST", ["linode", "instances"]) | ("GET", ["linode", "instances", _]) => "instance",
        _ => return None,
    })
}

#[tokio::test]
async fn every_sample_has_the_fakes_shape() {
    let api = Api::start().await;
    let (running, _) = api.instance("us-east", "running").await;
    let id = api.create_active("shape-vol", "us-east").await;
    api.post(
        &format!("/v4/volumes/{id}/attach"),
        json!({"linode_id": running}),
    )
    .await;
    let volume = api.get(&format!("/v4/volumes/{id}")).await.body;
    let volumes = api.get("/v4/volumes").await.body;
    let instance = api
        .get(&format!("/v4/linode/instances/{running}"))
        .await
        .body;
    let regions = api.send("GET", "/v4/regions", None, None, None).await.body;
    let types = api
        .send("GET", "/v4/volumes/types", None, None, None)
        .await
        .body;
    let bad_filter = api.filter("/v4/volumes", r#"{"foo": 1}"#).await.body;
    let fake_for = |kind: &str| -> Value {
        match kind {
            "volume" => volume.clone(),
            "volumes" => volumes.clone(),
            "instance" => instance.clone(),
            "regions" => regions.clone(),
            "types" => types.clone(),
            _ => bad_filter.clone(),
        }
    };

    let mut checked = 0;
    let mut problems = Vec::new();
    let mut check = |name: &str, kind: &str, sample: &Value| {
        let mut out = Vec::new();
        shape_diff(sample, &fake_for(kind), kind, &mut out);
        problems.extend(out.into_iter().map(|p| format!("{name}: {p}")));
        checked += 1;
    };

    // Recordings of real traffic.
    let dir = samples_dir().join("linodego-vcr");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for (method, url, code, body) in vcr(&std::fs::read_to_string(&file).unwrap()) {
            let kind = if code >= 400 {
                Some("error")
            } else {
                kind_of(&method, &url)
            };
            let Some(kind) = kind else { continue };
            let sample: Value = serde_json::from_str(&body)
                .unwrap_or_else(|e| panic!("{name} {method} {url}: {e}: {body}"));
            check(&format!("{name} {method} {url}"), kind, &sample);
        }
    }
    // Client fixtures (hand-written, mostly copied from the spec).
    // linodego-unit/volume_types_list.json is left out: a hand-written mock
    // that contradicts the recording (`region` for `id` in region_prices).
    for (file, kind) in [
        ("linode_api4-python/volumes.json", "volumes"),
        (
            "linode_api4-python/linode_instances_123_volumes.json",
            "volumes",
        ),
        ("linode_api4-python/regions.json", "regions"),
        ("linode_api4-python/volumes_types.json", "types"),
        ("linodego-unit/volume_attach.json", "volume"),
        ("linodego-unit/volume_create.json", "volume"),
        ("linodego-unit/volume_get.json", "volume"),
        ("linodego-unit/volume_update.json", "volume"),
        ("linodego-unit/volumes_list.json", "volumes"),
        ("linodego-unit/instance_volume_list.json", "volumes"),
    ] {
        let text = std::fs::read_to_string(samples_dir().join(file)).unwrap();
        check(file, kind, &serde_json::from_str(&text).unwrap());
    }
    eprintln!("{checked} samples checked");
    assert!(checked > 100, "only {checked} samples found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_vcr_reader_reads_folded_bodies() {
    let text = "- request:\n    body: ''\n    url: https://x/v4/volumes\n    method: GET\n  response:\n    body: '{\"a\": \"it''s\",\n      \"b\": 1}'\n    code: 200\n";
    let got = vcr(text);
    assert_eq!(got.len(), 1);
    let body: Value = serde_json::from_str(&got[0].3).unwrap();
    assert_eq!(body, json!({"a": "it's", "b": 1}));
}

// ----- fuzz ---------------------------------------------------------------------

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn junk(rng: &mut StdRng) -> String {
    let len = rng.random_range(0..12);
    (0..len)
        .map(|_| {
            let c = rng.random_range(0x21u8..0x7f);
            match c {
                b'/' | b'?' | b'#' | b'%' => format!("%{c:02X}"),
                _ => (c as char).to_string(),
            }
        })
        .collect()
}

fn random_json(rng: &mut StdRng, depth: u32) -> Value {
    match rng.random_range(0..if depth > 3 { 6 } else { 9 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.random()),
        2 => json!(rng.random_range(-20i64..20_000)),
        3 => json!(rng.random::<u64>()),
        4 => json!(rng.random::<f64>() * 1e30),
        5 => Value::String(junk(rng)),
        6 => Value::Array(
            (0..rng.random_range(0..4))
                .map(|_| random_json(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let keys = [
                "label",
                "size",
                "region",
                "linode_id",
                "tags",
                "config_id",
                "config",
                "encryption",
                "persist_across_boots",
                "x",
            ];
            Value::Object(
                (0..rng.random_range(0..5))
                    .map(|_| (pick(rng, &keys).to_owned(), random_json(rng, depth + 1)))
                    .collect(),
            )
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_never_panics_and_never_5xx() {
    let api = Api::start().await;
    // Something to hit: volumes in every state, instances, ids.
    let (vm, _) = api.instance("us-east", "running").await;
    let active = api.create_active("fuzz-active", "us-east").await;
    api.post(
        &format!("/v4/volumes/{active}/attach"),
        json!({"linode_id": vm}),
    )
    .await;
    let creating = api.create("fuzz-creating", "us-east").await;
    let ids: Vec<String> = vec![
        active.to_string(),
        creating.to_string(),
        vm.to_string(),
        "0".into(),
        "-1".into(),
        "99999999999999999999999999".into(),
        "18446744073709551615".into(),
        "1e3".into(),
        "%2e%2e".into(),
        "%00".into(),
        "%ff%fe".into(),
        "..".into(),
        "us-east".into(),
    ];
    let words = [
        "volumes",
        "types",
        "attach",
        "detach",
        "clone",
        "resize",
        "linode",
        "instances",
        "regions",
        "",
        "v4",
    ];
    let mut rng = StdRng::seed_from_u64(0xF022);
    let mut requests = Vec::new();
    for _ in 0..3000 {
        let mut method = pick(
            &mut rng,
            &[
                "GET", "GET", "POST", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS",
            ],
        );
        let mut path;
        if rng.random_bool(0.6) {
            // A real endpoint, with any id.
            let id = ids[rng.random_range(0..ids.len())].clone();
            let action = pick(
                &mut rng,
                &["attach", "detach", "clone", "resize", "snapshot"],
            );
            let region = pick(&mut rng, &["us-east", "eu-west", "mars", "%20"]);
            path = pick(&mut rng, &["/v4", "/v4beta"]).to_owned();
            let (tail, natural): (String, &[&str]) = match rng.random_range(0..9) {
                0 => ("/volumes".to_owned(), &["GET", "POST"]),
                1 => (format!("/volumes/{id}"), &["GET", "PUT", "DELETE"]),
                2 | 3 => (format!("/volumes/{id}/{action}"), &["POST"]),
                4 => ("/linode/instances".to_owned(), &["GET"]),
                5 => (format!("/linode/instances/{id}"), &["GET"]),
                6 => (format!("/linode/instances/{id}/volumes"), &["GET"]),
                7 => (format!("/regions/{region}"), &["GET"]),
                _ => (
                    pick(&mut rng, &["/regions", "/volumes/types"]).to_owned(),
                    &["GET"],
                ),
            };
            path.push_str(&tail);
            if rng.random_bool(0.7) {
                method = pick(&mut rng, natural);
            }
        } else {
            path = pick(
                &mut rng,
                &["/v4", "/v4", "/v4", "/v4beta", "/v5", "", "/v4/"],
            )
            .to_owned();
            for _ in 0..rng.random_range(0..5) {
                path.push('/');
                path.push_str(&match rng.random_range(0..10) {
                    0..=5 => pick(&mut rng, &words).to_owned(),
                    6..=8 => ids[rng.random_range(0..ids.len())].clone(),
                    _ => junk(&mut rng),
                });
            }
        }
        path.push_str(pick(
            &mut rng,
            &[
                "",
                "",
                "?page=1",
                "?page=0",
                "?page=-3",
                "?page_size=25",
                "?page_size=99999",
                "?page=%zz&page_size=%",
                "?page=2&page_size=500",
            ],
        ));
        let token = pick(&mut rng, &[ALICE, ALICE, ALICE, BOB, "nope", ""]);
        let filter = match rng.random_range(0..12) {
            0 => Some(random_json(&mut rng, 0).to_string()),
            1 => Some("{\"label\": ".to_owned()),
            2 => Some(format!("{}{}", "{\"+or\": [".repeat(200), "]}".repeat(200))),
            3 => Some(
                r#"{"label": {"+contains": "fuzz"}, "+order_by": "size", "+order": "desc"}"#
                    .to_owned(),
            ),
            4 => Some(format!(r#"{{"{}": 1}}"#, junk(&mut rng))),
            _ => None,
        };
        let body = match rng.random_range(0..6) {
            0 => None,
            1 => Some(junk(&mut rng)),
            2 => Some(format!("{}{}", "[".repeat(1000), "]".repeat(1000))),
            _ => Some(random_json(&mut rng, 0).to_string()),
        };
        requests.push((method, path, token, filter, body));
    }
    let outcomes: Vec<(String, u16)> = futures::stream::iter(requests)
        .map(|(method, path, token, filter, body)| {
            let api = &api;
            async move {
                let token = (!token.is_empty()).then_some(token);
                let a = api
                    .send(method, &path, token, filter.as_deref(), body.as_deref())
                    .await;
                (format!("{method} {path}"), a.status)
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    for (what, status) in &outcomes {
        assert!(
            [200, 400, 401, 404, 405].contains(status),
            "{what}: {status}"
        );
    }
    let mut histogram = std::collections::BTreeMap::new();
    for (_, status) in &outcomes {
        *histogram.entry(*status).or_insert(0) += 1;
    }
    eprintln!(
        "fuzz: {} requests, by status: {histogram:?}",
        outcomes.len()
    );
    let ok = outcomes.iter().filter(|(_, s)| *s == 200).count();
    assert!(
        ok > 100,
        "only {ok} successes: the fuzz is not reaching the fake"
    );
    // The fake still works.
    assert_eq!(api.get("/v4/volumes").await.status, 200);
}
