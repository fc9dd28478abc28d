//! Every request the Rancher client sends, pinned on a strict server
//! (method, path, exact query, `Accept`, `User-Agent`, HTTP Basic, body),
//! the answers decoded, and the captured schemas and Cattle's messages in
//! `shared/api/rancher/` checked against the client's types.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use serde_json::{json, Value};
use volume_core::http::RetryConfig;
use volume_core::{
    BackupId, BlockStorage, CreateSnapshot, CreateVolume, Error, ListVolumes, ResourceKind, Size,
    SnapshotId, VolumeId, VolumeState,
};
use volume_rancher::{
    Host, ListQuery, Modifier, NewVolume, Order, Rancher, RancherBackup, RancherBuilder,
    RancherSnapshot, RancherVolume, StorageDriver, VolumeChanges,
};
use volume_sim::testing::{expect, received, samples, strict_server, Pinned, WireRules};
use wiremock::MockServer;

const ACCESS: &str = "wire-access";
const SECRET: &str = "wire-s3cret";
/// `base64("wire-access:wire-s3cret")`, computed outside the client.
const BASIC: &str = "Basic d2lyZS1hY2Nlc3M6d2lyZS1zM2NyZXQ=";
const BASE: &str = "/v2-beta/projects/1a5";

fn rules() -> WireRules {
    WireRules::new().with_authorization(|_| BASIC.to_owned())
}

fn pin(method: &str, path: &str) -> Pinned {
    rules().pin(method, path)
}

fn client(server: &MockServer) -> Rancher {
    RancherBuilder::new()
        .with_url(format!("{}{BASE}", server.uri()))
        .with_access_key(ACCESS)
        .with_secret_key(SECRET)
        .with_retry(RetryConfig::none())
        .build()
        .unwrap()
}

/// A volume as Cattle renders it, with absolute links on `server` and the
/// given actions.
fn volume(server: &MockServer, id: &str, state: &str, actions: &[&str]) -> Value {
    let link = format!("{}{BASE}/volumes/{id}", server.uri());
    let actions: BTreeMap<&str, String> = actions
        .iter()
        .map(|a| (*a, format!("{link}?action={a}")))
        .collect();
    json!({
        "id": id, "type": "volume", "baseType": "volume", "kind": "volume",
        "name": "data", "state": state, "transitioning": "no",
        "transitioningMessage": null, "transitioningProgress": null,
        "accountId": "1a5", "driver": "rancher-nfs", "driverOpts": {"size": "1G"},
        "sizeMb": 2048, "mounts": [], "isHostPath": false, "uri": "rancher-nfs:///data",
        "created": "2017-01-31T22:10:05Z", "createdTS": 1_485_900_605_000_i64,
        "removed": null, "removeTime": null,
        "links": {"self": link, "storageDriver": format!("{}{BASE}/storagedrivers/1sd2", server.uri())},
        "actions": actions,
    })
}

fn snapshot(server: &MockServer, id: &str, state: &str, actions: &[&str]) -> Value {
    let link = format!("{}{BASE}/snapshots/{id}", server.uri());
    let actions: BTreeMap<&str, String> = actions
        .iter()
        .map(|a| (*a, format!("{link}?action={a}")))
        .collect();
    json!({
        "id": id, "type": "snapshot", "name": "snap", "state": state,
        "transitioning": "no", "volumeId": "1v67", "accountId": "1a5",
        "links": {"self": link, "volume": format!("{}{BASE}/volumes/1v67", server.uri())},
        "actions": actions,
    })
}

fn collection(server: &MockServer, data: Vec<Value>, next: Option<&str>) -> Value {
    json!({
        "type": "collection", "resourceType": "volume",
        "links": {"self": format!("{}{BASE}/volumes", server.uri())},
        "createTypes": {}, "actions": {},
        "pagination": {"first": null, "previous": null,
            "next": next.map(|n| format!("{}{n}", server.uri())),
            "limit": 2, "total": null, "partial": next.is_some()},
        "sort": null, "sortLinks": {}, "filters": {}, "createDefaults": {},
        "data": data,
    })
}

fn cattle_error(status: u16, code: &str, message: Option<&str>, field: Option<&str>) -> Value {
    json!({"id": "e1", "type": "error", "baseType": "error", "links": {}, "actions": {},
        "status": status, "code": code, "message": message, "detail": null, "fieldName": field})
}

#[tokio::test]
async fn listing_sends_filters_and_follows_pagination_next() {
    let server = strict_server().await;
    let first = pin("GET", &format!("{BASE}/volumes"))
        .query("name_prefix", "db-")
        .query("sizeMb_gte", "1024")
        .query("sort", "name")
        .query("order", "desc")
        .query("limit", "2")
        .query("_removed", "true");
    let next = "/v2-beta/projects/1a5/volumes?name_prefix=db-&sizeMb_gte=1024&sort=name&order=desc&limit=2&_removed=true&marker=m2";
    let body = collection(
        &server,
        vec![
            volume(&server, "1v1", "inactive", &[]),
            volume(&server, "1v2", "removed", &[]),
        ],
        Some(next),
    );
    expect(&server, first, 200, body, 1).await;
    let second = pin("GET", &format!("{BASE}/volumes"))
        .query("name_prefix", "db-")
        .query("sizeMb_gte", "1024")
        .query("sort", "name")
        .query("order", "desc")
        .query("limit", "2")
        .query("_removed", "true")
        .query("marker", "m2");
    let body = collection(&server, vec![volume(&server, "1v3", "active", &[])], None);
    expect(&server, second, 200, body, 1).await;

    let r = client(&server);
    let all: Vec<RancherVolume> = r
        .volumes(
            &ListQuery::new()
                .with_filter("name_", Modifier::Prefix, "x")
                .with_limit(2),
        )
        .try_collect()
        .await
        .unwrap_err_or_default();
    assert!(all.is_empty(), "a bad field is refused before sending");
    let all: Vec<RancherVolume> = r
        .volumes(
            &ListQuery::new()
                .with_filter("name", Modifier::Prefix, "db-")
                .with_filter("sizeMb", Modifier::Gte, "1024")
                .sorted_by("name", Order::Desc)
                .with_limit(2)
                .including_removed(),
        )
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<&str> = all.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, ["1v1", "1v2", "1v3"]);
    assert_eq!(all[0].driver_opts["size"], "1G");
}

/// A stream that fails returns its error; this reads it as "nothing".
trait ErrOrDefault<T> {
    fn unwrap_err_or_default(self) -> T;
}

impl<T: Default> ErrOrDefault<T> for Result<T, Error> {
    fn unwrap_err_or_default(self) -> T {
        match self {
            Ok(_) => panic!("expected an error"),
            Err(e) => {
                assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
                T::default()
            }
        }
    }
}

#[tokio::test]
async fn the_trait_lists_by_name_and_page_token() {
    let server = strict_server().await;
    let first = pin("GET", &format!("{BASE}/volumes"))
        .query("name", "data")
        .query("accountId", "1a5")
        .query("limit", "1");
    let next = "/v2-beta/projects/1a5/volumes?name=data&accountId=1a5&limit=1&marker=m1";
    let body = collection(
        &server,
        vec![volume(&server, "1v1", "inactive", &[])],
        Some(next),
    );
    expect(&server, first, 200, body, 1).await;
    let r = client(&server);
    let page = r
        .list_volumes(
            &ListVolumes::new()
                .with_name("data")
                .with_region(volume_core::RegionId::new("1a5").unwrap())
                .with_page_size(1),
            None,
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    let v = &page.items[0];
    assert_eq!(v.state, VolumeState::Available);
    assert_eq!(v.size, Size::gib(2));
    assert_eq!(v.region.as_str(), "1a5");
    let token = page.next.unwrap();
    assert_eq!(token.as_str(), format!("{}{next}", server.uri()));
    // A token naming another host is refused, never sent.
    let e = r
        .list_volumes(
            &ListVolumes::new(),
            Some(&volume_core::PageToken::new(
                "http://attacker.invalid/v2-beta/volumes?marker=m1",
            )),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
}

#[tokio::test]
async fn create_update_remove_and_get() {
    let server = strict_server().await;
    let create = pin("POST", &format!("{BASE}/volumes"))
        .header("content-type", "application/json")
        .json(
            json!({"name": "data", "driver": "rancher-nfs", "driverOpts": {"size": "1G"},
            "description": "d", "hostId": "1h3", "sizeMb": 2048, "stackId": "1st1"}),
        );
    let mut made = volume(&server, "1v67", "requested", &[]);
    made["transitioning"] = json!("yes");
    expect(&server, create, 201, made, 1).await;
    let get = pin("GET", &format!("{BASE}/volumes/1v67"));
    expect(
        &server,
        get,
        200,
        volume(&server, "1v67", "inactive", &["update", "remove"]),
        1,
    )
    .await;
    // The links name an environment-scoped URL: the client follows them
    // rather than building its own.
    let update = pin("PUT", "/v2-beta/volumes/1v67")
        .header("content-type", "application/json")
        .json(json!({"description": "new", "hostId": "1h4"}));
    expect(
        &server,
        update,
        200,
        volume(&server, "1v67", "inactive", &[]),
        1,
    )
    .await;
    let delete = pin("DELETE", "/v2-beta/volumes/1v67");
    expect(
        &server,
        delete,
        200,
        volume(&server, "1v67", "removing", &[]),
        1,
    )
    .await;

    let r = client(&server);
    let created = r
        .create(
            &NewVolume::new("data")
                .with_driver("rancher-nfs")
                .with_driver_opt("size", "1G")
                .with_description("d")
                .with_host_id("1h3")
                .with_size_mb(2048)
                .with_stack_id("1st1"),
        )
        .await
        .unwrap();
    assert_eq!(created.state, "requested");
    let mut v = r.volume(&VolumeId::new("1v67").unwrap()).await.unwrap();
    let env = format!("{}/v2-beta/volumes/1v67", server.uri());
    v.links.insert("self".into(), env);
    let updated = r
        .update(
            &v,
            &VolumeChanges::new()
                .with_description("new")
                .with_host_id("1h4"),
        )
        .await
        .unwrap();
    assert_eq!(updated.id, "1v67");
    let removing = r.remove(&v).await.unwrap();
    assert_eq!(removing.state, "removing");
}

#[tokio::test]
async fn every_action_is_posted_to_its_link() {
    let server = strict_server().await;
    let vpath = format!("{BASE}/volumes/1v67");
    let all = [
        "purge",
        "allocate",
        "deallocate",
        "snapshot",
        "reverttosnapshot",
        "restorefrombackup",
    ];
    let v: RancherVolume =
        serde_json::from_value(volume(&server, "1v67", "inactive", &all)).unwrap();
    for (action, body) in [
        ("purge", None),
        ("allocate", None),
        ("deallocate", None),
        ("reverttosnapshot", Some(json!({"snapshotId": "1s2"}))),
        ("restorefrombackup", Some(json!({"backupId": "1b3"}))),
    ] {
        let mut p = pin("POST", &vpath).query("action", action);
        if let Some(body) = body {
            p = p.header("content-type", "application/json").json(body);
        }
        expect(&server, p, 202, volume(&server, "1v67", "inactive", &[]), 1).await;
    }
    let p = pin("POST", &vpath)
        .query("action", "snapshot")
        .header("content-type", "application/json")
        .json(json!({"name": "s1"}));
    expect(
        &server,
        p,
        200,
        snapshot(&server, "1s2", "requested", &[]),
        1,
    )
    .await;
    let p = pin("POST", &format!("{BASE}/snapshots/1s2"))
        .query("action", "backup")
        .header("content-type", "application/json")
        .json(json!({"backupTargetId": "1bt1", "name": "b1"}));
    expect(
        &server,
        p,
        200,
        json!({"id": "1b3", "type": "backup", "name": "b1", "state": "requested",
            "transitioning": "yes", "snapshotId": "1s2", "volumeId": "1v67",
            "backupTargetId": "1bt1", "links": {}, "actions": {}}),
        1,
    )
    .await;

    let r = client(&server);
    r.purge(&v).await.unwrap();
    r.allocate(&v).await.unwrap();
    r.deallocate(&v).await.unwrap();
    r.revert_to_snapshot(&v, &SnapshotId::new("1s2").unwrap())
        .await
        .unwrap();
    r.restore_from_backup(&v, &BackupId::new("1b3").unwrap())
        .await
        .unwrap();
    let s = r.snapshot(&v, Some("s1")).await.unwrap();
    assert_eq!((s.id.as_str(), s.state.as_str()), ("1s2", "requested"));
    let s: RancherSnapshot =
        serde_json::from_value(snapshot(&server, "1s2", "created", &["backup", "remove"])).unwrap();
    let b: RancherBackup = r.backup(&s, "1bt1", Some("b1")).await.unwrap();
    assert_eq!(b.backup_target_id.as_deref(), Some("1bt1"));
}

#[tokio::test]
async fn actions_not_offered_and_foreign_links_send_nothing() {
    let server = strict_server().await;
    let r = client(&server);
    let v: RancherVolume =
        serde_json::from_value(volume(&server, "1v67", "active", &["deallocate"])).unwrap();
    for (e, state) in [
        (r.remove(&v).await.unwrap_err(), "active"),
        (r.purge(&v).await.unwrap_err(), "active"),
        (r.snapshot(&v, None).await.unwrap_err(), "active"),
        (
            r.update(&v, &VolumeChanges::new().with_description("x"))
                .await
                .unwrap_err(),
            "active",
        ),
        (
            r.revert_to_snapshot(&v, &SnapshotId::new("1s1").unwrap())
                .await
                .unwrap_err(),
            "active",
        ),
    ] {
        match &e {
            Error::InvalidState {
                kind, id, state: s, ..
            } => {
                assert_eq!(*kind, ResourceKind::Volume);
                assert_eq!(id, "1v67");
                assert_eq!(s, state);
            }
            other => panic!("{other:?}"),
        }
    }
    let mut foreign = v.clone();
    foreign.actions.insert(
        "remove".into(),
        "http://127.0.0.1:1/v2-beta/volumes/1v67?action=remove".into(),
    );
    foreign.links.insert(
        "self".into(),
        "https://elsewhere.invalid/v2-beta/volumes/1v67".into(),
    );
    let e = r.remove(&foreign).await.unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
    let e = r.refresh(&foreign).await.unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
    assert!(received(&server).await.is_empty(), "something was sent");
}

#[tokio::test]
async fn drivers_hosts_snapshots_and_backups_are_read() {
    let server = strict_server().await;
    let drivers = json!({"type": "collection", "data": [
        {"id": "1sd1", "type": "storageDriver", "name": "local", "state": "active",
         "volumeCapabilities": null, "scope": "local", "links": {}, "actions": {}},
        {"id": "1sd2", "type": "storageDriver", "name": "rancher-nfs", "state": "active",
         "volumeCapabilities": ["snapshot", "schedule.size"], "links": {}, "actions": {}}],
        "pagination": null});
    let p = pin("GET", &format!("{BASE}/storagedrivers")).query("name", "rancher-nfs");
    expect(&server, p, 200, drivers.clone(), 1).await;
    let p = pin("GET", &format!("{BASE}/storagedrivers/1sd1"));
    expect(&server, p, 200, drivers["data"][0].clone(), 1).await;
    let p = pin("GET", &format!("{BASE}/hosts"));
    expect(
        &server,
        p,
        200,
        json!({"type": "collection", "data": [{"id": "1h1", "type": "host", "name": null,
            "hostname": "node-1", "state": "active", "accountId": "1a5",
            "labels": {"io.rancher.host.os": "linux"}, "links": {}, "actions": {}}]}),
        2,
    )
    .await;
    let p = pin("GET", &format!("{BASE}/snapshots")).query("volumeId", "1v67");
    expect(
        &server,
        p,
        200,
        json!({"type": "collection", "data": [snapshot(&server, "1s2", "created", &["remove"])]}),
        1,
    )
    .await;
    let p = pin("GET", &format!("{BASE}/backups/1b3"));
    expect(
        &server,
        p,
        200,
        json!({"id": "1b3", "type": "backup", "name": "b", "state": "created",
            "transitioning": "no", "snapshotId": "1s2", "volumeId": "1v67",
            "uri": "vfs:///b", "links": {}, "actions": {"remove": "x"}}),
        1,
    )
    .await;
    let p = pin("GET", &format!("{BASE}/volumes/1v67"));
    expect(&server, p, 200, volume(&server, "1v67", "inactive", &[]), 1).await;

    let r = RancherBuilder::new()
        .with_url(format!("{}{BASE}", server.uri()))
        .with_access_key(ACCESS)
        .with_secret_key(SECRET)
        .with_driver("rancher-nfs")
        .with_retry(RetryConfig::none())
        .connect()
        .await
        .unwrap();
    assert!(r.capabilities().snapshots);
    let local = r.storage_driver("1sd1").await.unwrap();
    assert!(local.volume_capabilities.is_empty());
    assert!(!local.has_capability(StorageDriver::SNAPSHOT));
    let hosts: Vec<Host> = r.hosts(&ListQuery::new()).try_collect().await.unwrap();
    assert_eq!(hosts[0].hostname.as_deref(), Some("node-1"));
    let instances = r.list_instances(None).await.unwrap().items;
    assert_eq!(instances[0].name, "node-1");
    assert_eq!(instances[0].region.as_str(), "1a5");
    // The trait's snapshots carry their volume's size, read through the
    // snapshot's `volume` link.
    let page = r
        .list_snapshots(
            &volume_core::ListSnapshots::new().with_volume(VolumeId::new("1v67").unwrap()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(page.items[0].size, Size::gib(2));
    assert_eq!(page.items[0].state, volume_core::SnapshotState::Available);
    let b = r
        .backup_by_id(&BackupId::new("1b3").unwrap())
        .await
        .unwrap();
    assert_eq!(b.snapshot_id.as_deref(), Some("1s2"));
}

#[tokio::test]
async fn the_trait_checks_before_sending() {
    let server = strict_server().await;
    let r = client(&server);
    let e = r
        .create_volume(&CreateVolume::new("x", Size::gib(0)))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput { field, .. } if field == "size"),
        "{e:?}"
    );
    let e = r
        .create_volume(&CreateVolume::new("x", Size::gib(1)).with_label("a", "b"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput { field, .. } if field == "labels"),
        "{e:?}"
    );
    let e = r
        .create_volume(
            &CreateVolume::new("x", Size::gib(1))
                .with_region(volume_core::RegionId::new("1a7").unwrap()),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput { field, .. } if field == "region"),
        "{e:?}"
    );
    let e = r
        .create_volume(&CreateVolume::new("a".repeat(256), Size::gib(1)))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput { field, .. } if field == "name"),
        "{e:?}"
    );
    for e in [
        r.resize_volume(&VolumeId::new("1v1").unwrap(), Size::gib(2))
            .await
            .unwrap_err(),
        r.attach_volume(
            &VolumeId::new("1v1").unwrap(),
            &volume_core::InstanceId::new("1h1").unwrap(),
        )
        .await
        .unwrap_err(),
        r.get_backup(&BackupId::new("1b1").unwrap())
            .await
            .unwrap_err(),
    ] {
        assert!(
            matches!(
                e,
                Error::Unsupported {
                    provider: "rancher",
                    ..
                }
            ),
            "{e:?}"
        );
    }
    // The default driver was not read: the trait promises no snapshots,
    // and keeps to it.
    assert!(!r.capabilities().snapshots);
    let e = r
        .create_snapshot(&CreateSnapshot::new(VolumeId::new("1v1").unwrap(), "s"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Unsupported {
                operation: "create_snapshot",
                ..
            }
        ),
        "{e:?}"
    );
    let e = r
        .list_snapshots(&volume_core::ListSnapshots::new(), None)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    assert!(received(&server).await.is_empty(), "something was sent");
}

#[tokio::test]
async fn the_trait_creates_with_size_and_the_default_driver() {
    let server = strict_server().await;
    let p = pin("POST", &format!("{BASE}/volumes"))
        .header("content-type", "application/json")
        .json(json!({"name": "data", "driver": "local", "sizeMb": 3072}));
    let mut made = volume(&server, "1v9", "registering", &[]);
    made["transitioning"] = json!("yes");
    made["sizeMb"] = json!(3072);
    expect(&server, p, 201, made, 1).await;
    let r = client(&server);
    let v = r
        .create_volume(&CreateVolume::new("data", Size::gib(3)))
        .await
        .unwrap();
    assert_eq!(v.state, VolumeState::Creating);
    assert_eq!(v.raw_state, "registering");
    assert_eq!(v.size, Size::gib(3));
}

#[tokio::test]
async fn cattle_errors_on_the_wire() {
    let server = strict_server().await;
    let p = pin("POST", &format!("{BASE}/volumes"))
        .header("content-type", "application/json")
        .json(json!({"name": "dup", "driver": "local"}));
    expect(
        &server,
        p,
        422,
        cattle_error(422, "NotUnique", None, Some("name")),
        1,
    )
    .await;
    let p = pin("GET", &format!("{BASE}/volumes/1v404"));
    expect(
        &server,
        p,
        404,
        cattle_error(404, "Not Found", Some("Not Found"), None),
        1,
    )
    .await;
    let p = pin("DELETE", &format!("{BASE}/volumes/1v67"));
    expect(
        &server,
        p,
        405,
        cattle_error(405, "Method not allowed", Some("Method not allowed"), None),
        1,
    )
    .await;
    let r = client(&server);
    let e = r.create(&NewVolume::new("dup")).await.unwrap_err();
    match &e {
        Error::AlreadyExists { kind, name, api } => {
            assert_eq!(*kind, ResourceKind::Volume);
            assert_eq!(name, "dup");
            assert_eq!(
                api.as_deref().unwrap().details[0].field.as_deref(),
                Some("name")
            );
        }
        other => panic!("{other:?}"),
    }
    let e = r
        .volume(&VolumeId::new("1v404").unwrap())
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    let v: RancherVolume =
        serde_json::from_value(volume(&server, "1v67", "inactive", &["remove"])).unwrap();
    let e = r.remove(&v).await.unwrap_err();
    match &e {
        Error::InvalidState { operation, api, .. } => {
            assert_eq!(*operation, "delete");
            assert_eq!(
                api.as_deref().unwrap().code.as_deref(),
                Some("Method not allowed")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn debug_and_display_show_no_secret() {
    let b = RancherBuilder::new()
        .with_url("http://rancher:8080")
        .with_access_key(ACCESS)
        .with_secret_key(SECRET);
    let shown = format!("{b:?}");
    assert!(
        !shown.contains(SECRET) && shown.contains("******"),
        "{shown}"
    );
    let r = b.build().unwrap();
    let shown = format!("{r:?} {r}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(
        !shown.contains("d2lyZS1hY2Nlc3M6"),
        "the Basic value: {shown}"
    );
    assert_eq!(r.to_string(), "Rancher(rancher:8080)");
}

// ----- the captured samples -----------------------------------------------------

/// A JSON value of a Cattle schema type.
fn value_of(ty: &str, field: &Value) -> Value {
    match ty {
        "string" | "password" => json!("text"),
        "int" => json!(42),
        "boolean" => json!(true),
        "date" => json!("2017-01-31T22:10:05Z"),
        "enum" => field["options"][0].clone(),
        "json" => json!({"k": 1}),
        t if t.starts_with("reference") => json!("1x9"),
        t if t.starts_with("map[") => json!({"k": "v"}),
        t if t.starts_with("array[reference") || t == "array[string]" => json!(["1x9"]),
        t if t.starts_with("array[") => json!([]),
        _ => Value::Null,
    }
}

/// Decodes, into `T`, an object with every field `schema` declares set to a
/// value of its type, and checks that every field `T` keeps has the name and
/// JSON type the schema gives it.
fn check_against_schema<T>(schema: &Value)
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    let fields = schema["resourceFields"]
        .as_object()
        .expect("resourceFields");
    let mut object = serde_json::Map::new();
    for (name, field) in fields {
        let ty = field["type"].as_str().unwrap_or("string");
        object.insert(name.clone(), value_of(ty, field));
    }
    object.insert("id".into(), json!("1x1"));
    object.insert("type".into(), schema["id"].clone());
    let sent = Value::Object(object);
    let decoded: T = serde_json::from_value(sent.clone()).unwrap_or_else(|e| {
        panic!("{} does not decode: {e}", schema["id"]);
    });
    let back = serde_json::to_value(&decoded).unwrap();
    let mut checked = 0;
    for (name, value) in back.as_object().unwrap() {
        if matches!(name.as_str(), "links" | "actions" | "id") || name.ends_with("TS") {
            continue;
        }
        // `removeTime` is a common field of every resource (rancher.md §3,
        // from the docs), not listed in the captured resourceFields.
        if name == "removeTime" && value.is_null() {
            continue;
        }
        let Some(field) = fields.get(name) else {
            panic!(
                "{}: the client's field {name} is not in the schema",
                schema["id"]
            );
        };
        let ty = field["type"].as_str().unwrap_or("string");
        if ty.starts_with("array[") && !ty.starts_with("array[reference") && ty != "array[string]" {
            continue;
        }
        assert_eq!(value, &sent[name], "{}: field {name} ({ty})", schema["id"]);
        checked += 1;
    }
    assert!(
        checked >= 5,
        "{}: only {checked} fields checked",
        schema["id"]
    );
}

fn schema<'a>(collection: &'a Value, id: &str) -> &'a Value {
    collection["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no schema {id}"))
}

#[test]
fn the_captured_schemas_match_the_client_types() {
    let Some(samples) = samples("rancher") else {
        return;
    };
    let subset = samples.json("go-rancher-docs-input-schemas-volume-subset.json");
    check_against_schema::<RancherVolume>(schema(&subset, "volume"));
    check_against_schema::<RancherSnapshot>(schema(&subset, "snapshot"));
    check_against_schema::<StorageDriver>(schema(&subset, "storageDriver"));
    let full = samples.json("go-rancher-docs-input-schemas-full.json");
    check_against_schema::<RancherBackup>(schema(&full, "backup"));
    check_against_schema::<Host>(schema(&full, "host"));
    // The action inputs the client sends are the schema's: field names.
    for (input, fields) in [
        ("volumeSnapshotInput", &["name"][..]),
        ("revertToSnapshotInput", &["snapshotId"][..]),
        ("restoreFromBackupInput", &["backupId"][..]),
    ] {
        let s = schema(&subset, input);
        for f in fields {
            assert!(s["resourceFields"].get(*f).is_some(), "{input}.{f}");
        }
    }
    let s = schema(&full, "snapshotBackupInput");
    assert!(s["resourceFields"]["backupTargetId"]["required"] == true);
    let v = schema(&subset, "volume");
    for action in [
        "allocate",
        "deallocate",
        "purge",
        "remove",
        "snapshot",
        "reverttosnapshot",
        "restorefrombackup",
    ] {
        assert!(v["resourceActions"].get(action).is_some(), "{action}");
    }
    for f in [
        "name",
        "driver",
        "driverOpts",
        "description",
        "hostId",
        "sizeMb",
        "stackId",
        "storageDriverId",
    ] {
        assert_eq!(v["resourceFields"][f]["create"], true, "{f} is create-able");
    }
    for f in ["description", "driverOpts", "hostId"] {
        assert_eq!(v["resourceFields"][f]["update"], true, "{f} is updatable");
    }
}

#[tokio::test]
async fn the_captured_collection_envelope_decodes() {
    let Some(samples) = samples("rancher") else {
        return;
    };
    // The captured `GET /v2-beta/schemas` answer is a real collection
    // (`"pagination": null`, `"sort": null`): served as a listing, its
    // envelope must decode.
    let subset = samples.json("go-rancher-docs-input-schemas-volume-subset.json");
    let server = strict_server().await;
    expect(
        &server,
        pin("GET", &format!("{BASE}/hosts")),
        200,
        subset.clone(),
        1,
    )
    .await;
    let r = client(&server);
    let items: Vec<Host> = r.hosts(&ListQuery::new()).try_collect().await.unwrap();
    assert_eq!(items.len(), subset["data"].as_array().unwrap().len());
}

#[test]
fn cattles_messages_map_by_status() {
    let Some(samples) = samples("rancher") else {
        return;
    };
    let text = samples.text("cattle-api-messages.properties");
    let mut seen = 0;
    for line in text.lines() {
        let Some((status, message)) = line.split_once('=') else {
            continue;
        };
        let Ok(status) = status.trim().parse::<u16>() else {
            continue;
        };
        if status < 400 {
            continue;
        }
        let body = cattle_error(status, message, Some(message), None);
        let e = volume_rancher_map(status, &body);
        let api = e.api().unwrap_or_else(|| panic!("{status}: {e:?}"));
        assert_eq!(api.code.as_deref(), Some(message), "{status}");
        let ok = match status {
            401 => matches!(e, Error::Unauthenticated { .. }),
            403 => matches!(e, Error::PermissionDenied { .. }),
            404 => e.is_not_found(),
            405 | 409 => matches!(e, Error::InvalidState { .. }),
            400 | 422 => matches!(e, Error::InvalidInput { .. }),
            _ => true,
        };
        assert!(ok, "{status} {message}: {e:?}");
        seen += 1;
    }
    assert!(seen >= 10, "only {seen} messages read");
}

/// The client's error mapping of `body` with `status`, through a real
/// answer.
fn volume_rancher_map(status: u16, body: &Value) -> Error {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::any())
            .respond_with(wiremock::ResponseTemplate::new(status).set_body_json(body))
            .mount(&server)
            .await;
        client(&server)
            .volume(&VolumeId::new("1v1").unwrap())
            .await
            .unwrap_err()
    })
}

// ----- waiting by Cattle's rule, on a paused clock ----------------------------------

fn paused_client(server: &MockServer) -> Rancher {
    RancherBuilder::new()
        .with_url(format!("{}{BASE}", server.uri()))
        .with_access_key(ACCESS)
        .with_secret_key(SECRET)
        .for_paused_clock()
        .with_retry(RetryConfig::none())
        .build()
        .unwrap()
}

fn transitioning(server: &MockServer, state: &str, t: &str, message: Option<&str>) -> Value {
    let mut v = volume(server, "1v67", state, &[]);
    v["transitioning"] = json!(t);
    v["transitioningMessage"] = json!(message);
    v
}

fn waiting() -> volume_core::WaitConfig {
    volume_core::WaitConfig::new(
        volume_core::http::BackoffConfig::new(
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(1),
        ),
        std::time::Duration::from_secs(30),
    )
    .with_seed(3)
}

#[tokio::test(start_paused = true)]
async fn wait_settled_rereads_until_transitioning_is_no() {
    let server = strict_server().await;
    let get = pin("GET", &format!("{BASE}/volumes/1v67"));
    wiremock::Mock::given(get.clone())
        .respond_with(volume_sim::testing::json_response(
            200,
            &transitioning(&server, "registering", "yes", None),
        ))
        .up_to_n_times(2)
        .with_priority(1)
        .expect(2)
        .mount(&server)
        .await;
    expect(
        &server,
        get,
        200,
        transitioning(&server, "inactive", "no", None),
        1,
    )
    .await;
    let r = paused_client(&server);
    let start: RancherVolume =
        serde_json::from_value(transitioning(&server, "requested", "yes", None)).unwrap();
    let done = r.wait_settled(&start, &waiting()).await.unwrap();
    assert_eq!(done.state, "inactive");
    // Already at rest: no request at all.
    let again = r.wait_settled(&done, &waiting()).await.unwrap();
    assert_eq!(again, done);
}

#[tokio::test(start_paused = true)]
async fn an_error_transition_stops_the_wait_at_once() {
    let server = strict_server().await;
    let get = pin("GET", &format!("{BASE}/volumes/1v67"));
    expect(
        &server,
        get,
        200,
        transitioning(
            &server,
            "registering",
            "error",
            Some("driver rancher-nfs: mount failed"),
        ),
        2,
    )
    .await;
    let r = paused_client(&server);
    let start: RancherVolume =
        serde_json::from_value(transitioning(&server, "requested", "yes", None)).unwrap();
    let e = r.wait_settled(&start, &waiting()).await.unwrap_err();
    match &e {
        Error::Failed {
            kind,
            state,
            reason,
            ..
        } => {
            assert_eq!(*kind, ResourceKind::Volume);
            assert_eq!(state, "registering");
            assert_eq!(reason.as_deref(), Some("driver rancher-nfs: mount failed"));
        }
        other => panic!("{other:?}"),
    }
    // Through the trait, the same volume is in the core's failure state, so
    // the core's waiters stop on it too.
    let v = volume_core::BlockStorage::get_volume(&r, &VolumeId::new("1v67").unwrap())
        .await
        .unwrap();
    assert_eq!(v.state, VolumeState::Error);
    assert!(v.state.is_failure());
    assert_eq!(v.raw_state, "registering");
}

#[tokio::test(start_paused = true)]
async fn a_transition_that_never_ends_times_out_with_the_last_state() {
    let server = strict_server().await;
    let get = pin("GET", &format!("{BASE}/volumes/1v67"));
    wiremock::Mock::given(get)
        .respond_with(volume_sim::testing::json_response(
            200,
            &transitioning(&server, "reverting-inactive", "yes", None),
        ))
        .mount(&server)
        .await;
    let r = paused_client(&server);
    let start: RancherVolume =
        serde_json::from_value(transitioning(&server, "inactive", "yes", None)).unwrap();
    let began = tokio::time::Instant::now();
    let e = r.wait_settled(&start, &waiting()).await.unwrap_err();
    match &e {
        Error::Timeout { last_seen, .. } => {
            assert_eq!(last_seen.as_deref(), Some("reverting-inactive"));
        }
        other => panic!("{other:?}"),
    }
    let waited = began.elapsed();
    assert!(
        waited >= std::time::Duration::from_secs(30) && waited < std::time::Duration::from_secs(32),
        "{waited:?}"
    );
}

/// A create with an idempotency key sends it as the description; when the
/// answer is lost (a 500 after the change), the key is looked up with
/// Cattle's `description` filter and the volume that carries it adopted,
/// with no second create.
#[tokio::test]
async fn a_lost_create_is_looked_up_by_its_description() {
    let server = strict_server().await;
    let create = pin("POST", &format!("{BASE}/volumes"))
        .header("content-type", "application/json")
        .json(json!({"name": "data", "driver": "local", "sizeMb": 3072,
                     "description": "vrs-idem=k1"}));
    expect(
        &server,
        create,
        500,
        cattle_error(500, "Internal Server Error", None, None),
        1,
    )
    .await;
    let lookup = pin("GET", &format!("{BASE}/volumes")).query("description", "vrs-idem=k1");
    let mut made = volume(&server, "1v9", "inactive", &[]);
    made["description"] = json!("vrs-idem=k1");
    // A volume with another description is not the one, whatever a server
    // sends.
    let mut other = volume(&server, "1v8", "inactive", &[]);
    other["description"] = json!("vrs-idem=k2");
    expect(
        &server,
        lookup,
        200,
        collection(&server, vec![other, made], None),
        1,
    )
    .await;
    let key = volume_core::idempotency::IdempotencyKey::new("k1").unwrap();
    let v = client(&server)
        .create_volume(&CreateVolume::new("data", Size::gib(3)).with_idempotency_key(&key))
        .await
        .unwrap();
    assert_eq!(v.id.as_str(), "1v9");
    assert_eq!(v.labels.get("vrs-idem").map(String::as_str), Some("k1"));
}
