//! The LunaNode client on the wire: every action pinned with wiremock (path
//! with its trailing slash, form fields in order, the `req` message with
//! its parameters as strings, and the HMAC-SHA512 signature recomputed here
//! from what the server received), nonces (distinct under concurrency, a
//! retried attempt re-signed), the rules checked before anything is sent,
//! error mapping, redaction, and every sample of the reference decoded.
//!
//! Each test's server has a catch-all mock that expects no calls: any
//! request no pinned mock matches fails the test when the server is dropped.
//! The client's clock is fixed at the reference's nonce, 1545008415, so the
//! first request of a test carries exactly that nonce (and each later one
//! the next second: the client never repeats a nonce).

use std::collections::{BTreeMap, HashSet};

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha512;
use volume_core::http::RetryConfig;
use volume_core::{
    BlockStorage, CreateSnapshot, CreateVolume, Error, InstanceId, ListSnapshots, ListVolumes,
    RegionId, ResourceKind, Size, SnapshotId, SnapshotState, UpdateVolume, VolumeId, VolumeSource,
    VolumeState,
};
use volume_lunanode::{LunaNode, LunaNodeBuilder};
use volume_sim::testing::{json_response, received, samples, strict_server};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

/// The reference's dummy credentials (lunanode.md §2).
const ID: &str = "0123456789abcdef";
const NONCE: u64 = 1_545_008_415;

fn key() -> String {
    ID.repeat(8)
}

fn partial() -> String {
    key()[..64].to_owned()
}

// ----- harness ---------------------------------------------------------------

/// The form fields of a request, in order.
fn form(r: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&r.body).into_owned().collect()
}

/// The signature of `handler|req|nonce`, computed here.
fn sign(handler: &str, req: &str, nonce: &str) -> String {
    let mut mac = Hmac::<Sha512>::new_from_slice(key().as_bytes()).unwrap();
    mac.update(format!("{handler}|{req}|{nonce}").as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One action as it must be sent: `POST /api/{handler}` with a form of
/// exactly `req`, `signature`, `nonce` (in that order), `req` holding
/// exactly `params` (strings) plus the credentials, and a signature that
/// verifies over the received `req` and `nonce`.
#[derive(Debug, Clone)]
struct Action {
    handler: &'static str,
    params: BTreeMap<String, Value>,
}

fn action(handler: &'static str, params: Value) -> Action {
    let Value::Object(map) = params else {
        panic!("params are an object")
    };
    Action {
        handler,
        params: map.into_iter().collect(),
    }
}

impl Action {
    fn mismatches(&self, r: &Request) -> Vec<String> {
        let mut why = Vec::new();
        if r.method.as_str() != "POST" {
            why.push(format!("method {}", r.method));
        }
        if r.url.path() != format!("/api/{}", self.handler) {
            why.push(format!(
                "path {} (pinned /api/{})",
                r.url.path(),
                self.handler
            ));
        }
        if r.url.query().is_some() {
            why.push("a query".into());
        }
        let ct = r.headers.get("content-type").and_then(|v| v.to_str().ok());
        if ct != Some("application/x-www-form-urlencoded") {
            why.push(format!("content-type {ct:?}"));
        }
        let f = form(r);
        let names: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
        if names != ["req", "signature", "nonce"] {
            why.push(format!("form fields {names:?}"));
            return why;
        }
        let (req, signature, nonce) = (&f[0].1, &f[1].1, &f[2].1);
        let mut expected = self.params.clone();
        expected.insert("api_id".into(), json!(ID));
        expected.insert("api_partialkey".into(), json!(partial()));
        match serde_json::from_str::<BTreeMap<String, Value>>(req) {
            Ok(got) if got == expected => {}
            Ok(got) => why.push(format!("req {got:?} (pinned {expected:?})")),
            Err(e) => why.push(format!("req is not a JSON object: {e}")),
        }
        if nonce.parse::<u64>().is_err() {
            why.push(format!("nonce {nonce:?}"));
        }
        if *signature != sign(self.handler, req, nonce) {
            why.push("a signature that does not verify".into());
        }
        why
    }
}

impl Match for Action {
    fn matches(&self, r: &Request) -> bool {
        self.mismatches(r).is_empty()
    }
}

/// Expects `action` `times` times, answered with `body`.
async fn expect(server: &MockServer, a: Action, body: Value, times: u64) {
    Mock::given(a)
        .respond_with(json_response(200, &body))
        .expect(times)
        .with_priority(1)
        .mount(server)
        .await;
}

fn client(server: &MockServer) -> LunaNodeBuilder {
    LunaNodeBuilder::new()
        .with_api_id(ID)
        .with_api_key(key())
        .with_endpoint(format!("{}/api/", server.uri()))
        .with_fixed_time(NONCE)
        .with_retry(RetryConfig::none())
}

async fn harness() -> (MockServer, LunaNode) {
    let server = strict_server().await;
    let ln = client(&server).build().unwrap();
    (server, ln)
}

fn sample(name: &str) -> Option<Value> {
    Some(samples("lunanode")?.json(name))
}

const ACK: &str = "docs-volume-ack-response.json";

// ----- signing, exactly --------------------------------------------------------

#[tokio::test]
async fn create_sends_the_reference_body_byte_for_byte() {
    let Some(created) = sample("docs-volume-create-response.json") else {
        return;
    };
    let (server, ln) = harness().await;
    // The reference's worked example: these params, this key, this nonce.
    let body = "req=%7B%22api_id%22%3A%220123456789abcdef%22%2C%22api_partialkey%22%3A%220123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef%22%2C%22label%22%3A%22myvolume%22%2C%22region%22%3A%22toronto%22%2C%22size%22%3A%22100%22%7D&signature=ff4b1149c9182b166e58d5b5f9a021cf1a816db6dd56277edee101d28ee35bb969d21f01430cce90e2f38c48b0844305caf171fdb07eab1a294c865204e3ee25&nonce=1545008415";
    Mock::given(wiremock::matchers::path("/api/volume/create/"))
        .and(wiremock::matchers::body_string(body))
        .respond_with(json_response(200, &created))
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    expect(
        &server,
        action("volume/info/", json!({"volume_id": "4682"})),
        sample("docs-volume-info-response.json").unwrap(),
        1,
    )
    .await;
    expect(
        &server,
        action("volume/list/", json!({})),
        sample("docs-volume-list-response.json").unwrap(),
        1,
    )
    .await;
    let v = ln
        .create_volume(&CreateVolume::new("myvolume", Size::gib(100)))
        .await
        .unwrap();
    assert_eq!(v.id.as_str(), "4682");
    assert_eq!(v.size, Size::gib(100));
    assert_eq!(v.region.as_str(), "toronto");
    assert_eq!(
        (v.state, v.raw_state.as_str()),
        (VolumeState::Available, "available")
    );
    // The nonces: the fixed second, then one more per request.
    let nonces: Vec<String> = received(&server)
        .await
        .iter()
        .map(|r| form(r)[2].1.clone())
        .collect();
    assert_eq!(nonces, ["1545008415", "1545008416", "1545008417"]);
}

// ----- every action pinned -------------------------------------------------------

#[tokio::test]
async fn every_volume_action_is_pinned() {
    let Some(ack) = sample(ACK) else { return };
    let (server, ln) = harness().await;
    let info = sample("docs-volume-info-response.json").unwrap();
    let list = sample("docs-volume-list-response.json").unwrap();
    let vm = "16b64847-0a86-42ea-bea8-ed60bd960c68";
    let id: VolumeId = "4682".parse().unwrap();
    // get_volume = info + list; each mutation is followed by one. A rename
    // reads the volume's info first too, for the idempotency key the name
    // may carry.
    expect(
        &server,
        action("volume/info/", json!({"volume_id": "4682"})),
        info.clone(),
        6,
    )
    .await;
    expect(&server, action("volume/list/", json!({})), list.clone(), 5).await;
    expect(
        &server,
        action(
            "volume/attach/",
            json!({"volume_id": "4682", "vm_id": vm, "target": "auto"}),
        ),
        ack.clone(),
        1,
    )
    .await;
    expect(
        &server,
        action("volume/detach/", json!({"volume_id": "4682"})),
        ack.clone(),
        1,
    )
    .await;
    expect(
        &server,
        action(
            "volume/rename/",
            json!({"volume_id": "4682", "name": "myvolume2"}),
        ),
        ack.clone(),
        1,
    )
    .await;
    expect(
        &server,
        action(
            "volume/extend/",
            json!({"volume_id": "4682", "size": "150"}),
        ),
        ack.clone(),
        1,
    )
    .await;
    expect(
        &server,
        action("volume/delete/", json!({"volume_id": "4682"})),
        ack.clone(),
        1,
    )
    .await;

    ln.attach_volume(&id, &InstanceId::new(vm).unwrap())
        .await
        .unwrap();
    ln.detach_volume(&id).await.unwrap();
    ln.update_volume(&id, &UpdateVolume::new().with_name("myvolume2"))
        .await
        .unwrap();
    // Resize reads the volume first (detached, 100 GB), then extends.
    ln.resize_volume(&id, Size::gib(150)).await.unwrap();
    ln.delete_volume(&id).await.unwrap();
}

#[tokio::test]
async fn snapshot_actions_are_pinned() {
    let Some(ack) = sample(ACK) else { return };
    let (server, ln) = harness().await;
    let snaps = sample("docs-volume-snapshot-list-response.json").unwrap();
    let empty = json!({"success": "yes", "snapshots": []});
    let snap = "484a06d3-7ea6-40d6-8e72-9e7e23f6826b";
    expect(
        &server,
        action("volume/info/", json!({"volume_id": "4682"})),
        sample("docs-volume-info-response.json").unwrap(),
        1,
    )
    .await;
    expect(
        &server,
        action("volume/list/", json!({})),
        sample("docs-volume-list-response.json").unwrap(),
        1,
    )
    .await;
    expect(
        &server,
        action(
            "volume/snapshot-create/",
            json!({"volume_id": "4682", "label": "myvolsnapshot"}),
        ),
        sample("docs-volume-snapshot-create-response.json").unwrap(),
        1,
    )
    .await;
    // toronto is the client's region: looked in first, and found.
    expect(
        &server,
        action("volume/snapshot-list/", json!({"region": "toronto"})),
        snaps.clone(),
        5,
    )
    .await;
    expect(
        &server,
        action("volume/snapshot-list/", json!({"region": "montreal"})),
        empty.clone(),
        1,
    )
    .await;
    expect(
        &server,
        action("volume/snapshot-list/", json!({"region": "roubaix"})),
        empty.clone(),
        1,
    )
    .await;
    expect(
        &server,
        action(
            "volume/snapshot-replicate/",
            json!({"region": "toronto", "snapshot_id": snap, "image_name": "ImageFromVolSnapshot", "dst_region": "montreal"}),
        ),
        sample("docs-volume-snapshot-replicate-response.json").unwrap(),
        1,
    )
    .await;
    expect(
        &server,
        action(
            "volume/snapshot-delete/",
            json!({"region": "toronto", "snapshot_id": snap}),
        ),
        ack,
        1,
    )
    .await;

    let s = ln
        .create_snapshot(&CreateSnapshot::new(
            "4682".parse().unwrap(),
            "myvolsnapshot",
        ))
        .await
        .unwrap();
    assert_eq!(s.id.as_str(), snap);
    assert_eq!(s.volume_id.as_ref().map(VolumeId::as_str), Some("4682"));
    assert_eq!(
        (s.size, s.state.clone()),
        (Size::gib(150), SnapshotState::Available)
    );
    let all = ln
        .list_snapshots(&ListSnapshots::new(), None)
        .await
        .unwrap();
    assert_eq!(all.items.len(), 1);
    let id: SnapshotId = snap.parse().unwrap();
    assert_eq!(ln.get_snapshot(&id).await.unwrap().name, "myvolsnapshot");
    let image = ln
        .replicate_snapshot(
            &id,
            "ImageFromVolSnapshot",
            &RegionId::new("montreal").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(image, "141129");
    ln.delete_snapshot(&id).await.unwrap();
}

#[tokio::test]
async fn create_from_snapshot_and_image_and_the_read_only_calls_are_pinned() {
    let Some(created) = sample("docs-volume-create-response.json") else {
        return;
    };
    let (server, ln) = harness().await;
    let snap = "484a06d3-7ea6-40d6-8e72-9e7e23f6826b";
    expect(
        &server,
        action("volume/snapshot-list/", json!({"region": "toronto"})),
        sample("docs-volume-snapshot-list-response.json").unwrap(),
        1,
    )
    .await;
    expect(
        &server,
        action(
            "volume/create/",
            json!({"region": "toronto", "label": "fromsnap", "size": "150", "snapshot_id": snap}),
        ),
        created.clone(),
        1,
    )
    .await;
    expect(
        &server,
        action(
            "volume/create/",
            json!({"region": "montreal", "label": "fromimage", "size": "20", "image": "141129"}),
        ),
        created,
        1,
    )
    .await;
    expect(
        &server,
        action("volume/info/", json!({"volume_id": "4682"})),
        sample("docs-volume-info-response.json").unwrap(),
        2,
    )
    .await;
    expect(
        &server,
        action("volume/list/", json!({})),
        sample("docs-volume-list-response.json").unwrap(),
        2,
    )
    .await;
    expect(
        &server,
        action("vm/list/", json!({})),
        json!({"success": "yes", "vms": [{"vm_id": "16b64847-0a86-42ea-bea8-ed60bd960c68", "name": "web", "region": "toronto", "plan_id": "1"}]}),
        1,
    )
    .await;
    expect(
        &server,
        action("image/list/", json!({"region": "montreal"})),
        json!({"success": "yes", "images": [{"image_id": "141129", "name": "ImageFromVolSnapshot", "region": "montreal", "status": "active"}]}),
        1,
    )
    .await;

    ln.create_volume(&CreateVolume::from_snapshot(
        "fromsnap",
        snap.parse().unwrap(),
    ))
    .await
    .unwrap();
    let montreal = RegionId::new("montreal").unwrap();
    ln.create_volume_from_image("fromimage", Size::gib(20), "141129", Some(&montreal))
        .await
        .unwrap();
    let vms = ln.list_instances(None).await.unwrap().items;
    assert_eq!(vms[0].id.as_str(), "16b64847-0a86-42ea-bea8-ed60bd960c68");
    let images = ln.images(Some(&montreal)).await.unwrap();
    assert_eq!(images[0].region.as_ref(), Some(&montreal));
}

// ----- samples ----------------------------------------------------------------

#[tokio::test]
async fn every_sample_decodes() {
    let Some(s) = samples("lunanode") else { return };
    let files: Vec<String> = s
        .files("", "json")
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let known = [
        "docs-volume-ack-response.json",
        "docs-volume-create-response.json",
        "docs-volume-info-response.json",
        "docs-volume-list-response.json",
        "docs-volume-snapshot-create-response.json",
        "docs-volume-snapshot-list-response.json",
        "docs-volume-snapshot-replicate-response.json",
        "lndapi-error-response.json",
        "lndapi-volume-list-response.json",
    ];
    for f in &files {
        assert!(known.contains(&f.as_str()), "a sample no test decodes: {f}");
    }
    // The lndapi capture: a freshly created volume, pending, with fewer fields.
    let (server, ln) = harness().await;
    expect(
        &server,
        action("volume/list/", json!({})),
        s.json("lndapi-volume-list-response.json"),
        1,
    )
    .await;
    let listed = ln.listed_volumes(None).await.unwrap();
    assert_eq!(listed[0].id.as_str(), "1308");
    assert_eq!(
        (listed[0].state.clone(), listed[0].raw_state.as_str()),
        (VolumeState::Creating, "pending")
    );
    // The docs list, through list_volumes (list + info).
    let (server, ln) = harness().await;
    expect(
        &server,
        action("volume/list/", json!({})),
        s.json("docs-volume-list-response.json"),
        1,
    )
    .await;
    expect(
        &server,
        action("volume/info/", json!({"volume_id": "4682"})),
        s.json("docs-volume-info-response.json"),
        1,
    )
    .await;
    let page = ln.list_volumes(&ListVolumes::new(), None).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert!(page.next.is_none());
    let d = &page.items[0];
    assert_eq!(
        d.created_at,
        volume_core::time::parse_rfc3339("2018-12-17T01:00:15Z")
    );
    // The captured error: HTTP 200, success "no".
    let (server, ln) = harness().await;
    expect(
        &server,
        action("volume/list/", json!({})),
        s.json("lndapi-error-response.json"),
        1,
    )
    .await;
    match ln.listed_volumes(None).await.unwrap_err() {
        Error::InvalidInput { field, reason, api } => {
            assert_eq!(field, "region");
            assert_eq!(reason, "region not set");
            assert_eq!(api.unwrap().status, 200);
        }
        other => panic!("{other:?}"),
    }
    drop(server);
}

// ----- nonces -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_carry_distinct_nonces() {
    let server = strict_server().await;
    // The real clock: nonces from now, never repeated.
    let ln = LunaNodeBuilder::new()
        .with_api_id(ID)
        .with_api_key(key())
        .with_endpoint(format!("{}/api/", server.uri()))
        .build()
        .unwrap();
    expect(
        &server,
        action("volume/list/", json!({})),
        json!({"success": "yes", "volumes": []}),
        64,
    )
    .await;
    let calls = (0..64).map(|_| ln.listed_volumes(None));
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    let nonces: HashSet<String> = received(&server)
        .await
        .iter()
        .map(|r| form(r)[2].1.clone())
        .collect();
    assert_eq!(
        nonces.len(),
        64,
        "64 requests, {} distinct nonces",
        nonces.len()
    );
}

#[tokio::test(start_paused = true)]
async fn a_retried_attempt_is_signed_again() {
    let server = strict_server().await;
    let ln = client(&server)
        .with_retry(RetryConfig::default())
        .for_paused_clock()
        .build()
        .unwrap();
    // The first attempt meets an outage, the second goes through.
    Mock::given(action("volume/list/", json!({})))
        .respond_with(ResponseTemplate::new(503).set_body_string("busy"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    expect(
        &server,
        action("volume/list/", json!({})),
        json!({"success": "yes", "volumes": []}),
        1,
    )
    .await;
    ln.listed_volumes(None).await.unwrap();
    let got = received(&server).await;
    assert_eq!(got.len(), 2);
    let (a, b) = (form(&got[0]), form(&got[1]));
    assert_eq!(a[0].1, b[0].1, "the same req");
    assert_ne!(a[2].1, b[2].1, "a new nonce");
    assert_ne!(a[1].1, b[1].1, "a new signature");
}

// ----- rules, errors and redaction -------------------------------------------------

#[tokio::test]
async fn rules_refuse_before_sending() {
    let (server, ln) = harness().await;
    let id: VolumeId = "4682".parse().unwrap();
    let e = ln
        .create_volume(&CreateVolume::new("x", Size::gib(0)))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidInput { ref field, .. } if field == "size"),
        "{e:?}"
    );
    let e = ln
        .create_volume(&CreateVolume::new("", Size::gib(1)))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
    let e = ln
        .create_volume(&CreateVolume::new("x", Size::gib(1)).with_label("a", "b"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidInput { ref field, .. } if field == "labels"),
        "{e:?}"
    );
    let e = ln
        .create_volume(
            &CreateVolume::new("x", Size::gib(1)).with_source(VolumeSource::Volume(id.clone())),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Unsupported {
                operation: "clone_volume",
                ..
            }
        ),
        "{e:?}"
    );
    let e = ln
        .attach_to_device(&id, &InstanceId::new("vm").unwrap(), "/dev/../sda")
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidInput { ref field, .. } if field == "target"),
        "{e:?}"
    );
    // Extending an attached volume: read, then refused without an extend.
    let mut info = sample("docs-volume-info-response.json").unwrap_or_else(|| json!({"success":"yes","volume":{"id":"4682","size":"100","status":"available","attached":""}}));
    info["volume"]["status"] = json!("in-use");
    info["volume"]["attached"] = json!("16b64847-0a86-42ea-bea8-ed60bd960c68");
    expect(
        &server,
        action("volume/info/", json!({"volume_id": "4682"})),
        info,
        1,
    )
    .await;
    expect(
        &server,
        action("volume/list/", json!({})),
        json!({"success": "yes", "volumes": []}),
        1,
    )
    .await;
    let e = ln.resize_volume(&id, Size::gib(200)).await.unwrap_err();
    assert!(
        matches!(e, Error::InvalidState { ref state, operation: "resize_volume", .. } if state == "in-use"),
        "{e:?}"
    );
}

#[tokio::test]
async fn errors_in_200s_are_mapped_and_keep_their_text() {
    let (server, ln) = harness().await;
    let id: VolumeId = "77".parse().unwrap();
    let refuse = |text: &str| json!({"success": "no", "error": text});
    expect(
        &server,
        action("volume/info/", json!({"volume_id": "77"})),
        refuse("volume not found"),
        1,
    )
    .await;
    expect(
        &server,
        action("volume/delete/", json!({"volume_id": "77"})),
        refuse("insufficient credit"),
        1,
    )
    .await;
    expect(
        &server,
        action("volume/detach/", json!({"volume_id": "77"})),
        refuse("the moon is full"),
        1,
    )
    .await;
    match ln.get_volume(&id).await.unwrap_err() {
        Error::NotFound { kind, id, api } => {
            assert_eq!((kind, id.as_str()), (ResourceKind::Volume, "77"));
            assert_eq!(api.unwrap().message, "volume not found");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        ln.delete_volume(&id).await.unwrap_err(),
        Error::QuotaExceeded { .. }
    ));
    match ln.detach_volume(&id).await.unwrap_err() {
        Error::Api(api) => assert_eq!(
            (api.status, api.message.as_str()),
            (200, "the moon is full")
        ),
        other => panic!("{other:?}"),
    }
    drop(server);
}

#[tokio::test]
async fn debug_and_display_show_no_key() {
    let (_server, ln) = harness().await;
    let builder = client(&_server);
    for text in [format!("{builder:?}"), format!("{ln:?}"), ln.to_string()] {
        assert!(!text.contains(&key()[..32]), "{text}");
        assert!(!text.contains(&partial()), "{text}");
    }
    assert!(ln.to_string().starts_with("LunaNode(127.0.0.1"));
}

// ----- idempotent creates -------------------------------------------------------------

/// A create with an idempotency key sends it at the end of the label; when
/// the answer is lost (a 500 after the change), the key is looked up in
/// `volume/list`, only the volume that carries it is read with
/// `volume/info`, and it is adopted with no second create.
#[tokio::test]
async fn a_lost_create_is_looked_up_by_its_label() {
    let (server, ln) = harness().await;
    Mock::given(action(
        "volume/create/",
        json!({"region": "toronto", "label": "data vrs-idem=k1", "size": "10"}),
    ))
    .respond_with(ResponseTemplate::new(500).set_body_string("lost"))
    .expect(1)
    .with_priority(1)
    .mount(&server)
    .await;
    let entry = |id: &str, name: &str| {
        json!({"id": id, "identification": "8b48723c-f53a-4717-9f04-fa194869db18",
               "name": name, "region": "toronto", "size": "10", "status": "active",
               "time_created": "2018-12-17T01:00:15Z", "user_id": "36"})
    };
    expect(
        &server,
        action("volume/list/", json!({})),
        json!({"success": "yes", "volumes": [
            entry("4681", "data"),
            entry("4682", "data vrs-idem=k1"),
            entry("4683", "data vrs-idem=k2"),
        ]}),
        1,
    )
    .await;
    expect(
        &server,
        action("volume/info/", json!({"volume_id": "4682"})),
        json!({"success": "yes", "volume": {"attached": "",
               "created": "2018-12-17T01:00:15Z", "id": "4682",
               "identification": "8b48723c-f53a-4717-9f04-fa194869db18",
               "name": "data vrs-idem=k1", "size": "10", "status": "available"}}),
        1,
    )
    .await;
    let key = volume_core::idempotency::IdempotencyKey::new("k1").unwrap();
    let v = ln
        .create_volume(&CreateVolume::new("data", Size::gib(10)).with_idempotency_key(&key))
        .await
        .unwrap();
    assert_eq!(v.id.as_str(), "4682");
    assert_eq!(v.name, "data");
    assert_eq!(v.labels["vrs-idem"], "k1");
}
