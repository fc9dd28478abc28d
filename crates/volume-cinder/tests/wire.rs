//! The Cinder client on the wire: the Keystone login, the version document
//! and every Cinder and Nova request pinned with wiremock (method, path,
//! exact query, body, `X-Auth-Token`, and `OpenStack-API-Version` on Cinder
//! calls only); token renewal on a paused clock; the reference's samples
//! decoded; and no secret in `Debug`.
//!
//! Each test's server has a catch-all mock that expects no calls: any
//! request no pinned mock matches fails the test when the server drops.
//! The fake Keystone here answers with a catalog pointing back at the same
//! server: Cinder at `/volume/v3/<project>`, Nova at `/compute/v2.1`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use volume_cinder::{
    Cinder, CinderBuilder, CinderVolume, DeleteOptions, Domain, Interface, Microversion,
    MigrationPolicy, ResetStatus,
};
use volume_core::http::RetryConfig;
use volume_core::{
    BackupId, BlockStorage, CreateBackup, CreateSnapshot, CreateVolume, Error, InstanceId,
    ListVolumes, PageToken, ResourceKind, RestoreBackup, Size, SnapshotId, UpdateVolume, VolumeId,
    VolumeState,
};
use volume_sim::testing::{
    expect, json_response, received, samples, strict_server, Pinned, WireRules,
};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "gAAAAB-first-token";
const PROJECT: &str = "89afd400b6464bbcb12b";
const VOL: &str = "2b955850-f177-45f7-9f49-ecb2c256d161";
const VOL2: &str = "795114e8-7489-40be-a978-83797f2c1dd3";
const SNAP: &str = "b36476e5-d18b-47f9-ac69-4818cb43ee21";
const BACKUP: &str = "2ef47aee-8844-490c-804d-2a8efe561c65";
const SERVER: &str = "0c92f3f6-c253-4c9b-bd43-e880a8d2eb0a";
const PASSWORD: &str = "devstacker-s3cret";

// ----- harness ---------------------------------------------------------------

fn catalog(uri: &str) -> Value {
    json!([
        {"type": "identity", "id": "i", "name": "keystone", "endpoints": [
            {"id": "1", "interface": "public", "region": "RegionOne", "region_id": "RegionOne",
             "url": format!("{uri}/identity")}]},
        {"type": "volumev2", "id": "v2", "name": "cinderv2", "endpoints": [
            {"id": "2", "interface": "public", "region": "RegionOne", "region_id": "RegionOne",
             "url": format!("{uri}/volume/v2/{PROJECT}")}]},
        {"type": "volumev3", "id": "v3", "name": "cinderv3", "endpoints": [
            {"id": "3", "interface": "internal", "region": "RegionOne", "region_id": "RegionOne",
             "url": format!("{uri}/internal/v3/{PROJECT}")},
            {"id": "4", "interface": "public", "region": "RegionOne", "region_id": "RegionOne",
             "url": format!("{uri}/volume/v3/{PROJECT}")}]},
        {"type": "compute", "id": "c", "name": "nova", "endpoints": [
            {"id": "5", "interface": "public", "region": "RegionOne", "region_id": "RegionOne",
             "url": format!("{uri}/compute/v2.1")}]}
    ])
}

/// A token body valid for `lifetime` seconds, with the test catalog.
fn token_body(uri: &str, lifetime: u64) -> Value {
    let expires = 3_600u64.min(lifetime);
    json!({"token": {
        "methods": ["password"],
        "issued_at": "2030-01-01T00:00:00.000000Z",
        "expires_at": format!("2030-01-01T{:02}:{:02}:{:02}.000000Z",
            expires / 3600, (expires % 3600) / 60, expires % 60),
        "user": {"id": "u1", "name": "demo", "domain": {"id": "default", "name": "Default"}},
        "project": {"id": PROJECT, "name": "demo", "domain": {"id": "default", "name": "Default"}},
        "catalog": catalog(uri),
    }})
}

fn login_pin() -> Pinned {
    WireRules::new()
        .with_pinned_only_header("x-auth-token")
        .pin("POST", "/identity/v3/auth/tokens")
}

/// The password login of [`builder`].
fn login() -> Pinned {
    login_pin().json(password_body())
}

fn password_body() -> Value {
    json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "demo", "domain": {"name": "Default"}, "password": PASSWORD}}},
        "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}}}})
}

/// Keystone answering `times` logins with `token` (one token per answer).
async fn keystone(server: &MockServer, pinned: Pinned, token: &str, lifetime: u64, times: u64) {
    Mock::given(pinned)
        .respond_with(
            json_response(201, &token_body(&server.uri(), lifetime))
                .insert_header("X-Subject-Token", token)
                .insert_header("x-openstack-request-id", "req-f2f3f6ca"),
        )
        .expect(times)
        .mount(server)
        .await;
}

/// What every Cinder and Nova request carries: the shared transport's
/// headers and the token; the microversion header only where pinned.
fn rules() -> WireRules {
    WireRules::new()
        .with_header("x-auth-token", TOKEN)
        .with_pinned_only_header("openstack-api-version")
}

/// A Cinder request at microversion 3.71.
fn pin(method: &str, path: &str) -> Pinned {
    rules()
        .pin(method, format!("/volume/v3/{PROJECT}{path}"))
        .header("openstack-api-version", "volume 3.71")
}

/// A Nova request.
fn nova(method: &str, path: &str) -> Pinned {
    rules().pin(method, format!("/compute/v2.1{path}"))
}

fn versions_doc(max: &str) -> Value {
    json!({"versions": [{"id": "v3.0", "links": [], "min_version": "3.0",
        "status": "CURRENT", "updated": "2023-08-31T00:00:00Z", "version": max}]})
}

/// Keystone once, the version document once (3.71), and a client.
async fn logged_in() -> (MockServer, Cinder) {
    let server = strict_server().await;
    keystone(&server, login(), TOKEN, 3600, 1).await;
    expect(
        &server,
        rules().pin("GET", "/volume/v3"),
        200,
        versions_doc("3.71"),
        1,
    )
    .await;
    let cinder = builder(&server).build().unwrap();
    (server, cinder)
}

fn builder(server: &MockServer) -> CinderBuilder {
    CinderBuilder::new()
        .with_auth_url(format!("{}/identity", server.uri()))
        .with_username("demo", Domain::Name("Default".into()))
        .with_password(PASSWORD)
        .with_project_name("demo", Domain::Name("Default".into()))
        .with_region("RegionOne")
        .with_retry(RetryConfig::none())
}

fn sample(path: &str) -> Option<Value> {
    samples("cinder").map(|s| s.json(path))
}

fn volume_json(id: &str, status: &str, size: u64) -> Value {
    let mut v = sample("api-ref-v3-samples/volumes/v3.69/volume-create-response.json")
        .unwrap_or_else(|| {
            json!({"volume": {"attachments": [], "availability_zone": "nova",
            "metadata": {}, "name": null, "bootable": "false"}})
        });
    v["volume"]["id"] = json!(id);
    v["volume"]["status"] = json!(status);
    v["volume"]["size"] = json!(size);
    v
}

fn named_volume(id: &str, name: &str) -> Value {
    let mut v = volume_json(id, "available", 10)["volume"].clone();
    v["name"] = json!(name);
    v
}

// ----- login, discovery, volumes ---------------------------------------------------

#[tokio::test]
async fn volume_requests_are_pinned() {
    let (server, cinder) = logged_in().await;
    assert_eq!(cinder.connect().await.unwrap(), Microversion::NEWEST_KNOWN);
    assert_eq!(cinder.project_id().as_deref(), Some(PROJECT));
    // Logged in, the client still prints neither token nor password.
    let printed = format!("{cinder:?} {cinder}");
    assert!(
        !printed.contains(TOKEN) && !printed.contains(PASSWORD),
        "{printed}"
    );
    assert_eq!(
        cinder.endpoint().unwrap().as_str(),
        format!("{}/volume/v3/{PROJECT}", server.uri())
    );

    expect(
        &server,
        pin("POST", "/volumes").json(json!({"volume": {"name": "data", "size": 10,
            "availability_zone": "nova", "volume_type": "ssd", "metadata": {"team": "a"}}})),
        202,
        volume_json(VOL, "creating", 10),
        1,
    )
    .await;
    let v = cinder
        .create_volume(
            &CreateVolume::new("data", Size::gib(10))
                .with_region(volume_core::RegionId::new("nova").unwrap())
                .with_volume_type("ssd")
                .with_label("team", "a"),
        )
        .await
        .unwrap();
    assert_eq!(v.state, VolumeState::Creating);
    assert_eq!(v.raw_state, "creating");
    assert_eq!(v.volume_type.as_deref(), Some("__DEFAULT__"));

    // A clone: the source is looked up, then created with `source_volid`.
    // Looked at by the clone, and before and after the extend (the update
    // answers from its PUT): one mock, so the count is exact.
    expect(
        &server,
        pin("GET", &format!("/volumes/{VOL}")),
        200,
        volume_json(VOL, "available", 10),
        3,
    )
    .await;
    expect(
        &server,
        pin("POST", "/volumes").json(json!({"volume": {"name": "copy", "source_volid": VOL}})),
        202,
        volume_json(VOL2, "creating", 10),
        1,
    )
    .await;
    let c = cinder
        .clone_volume(
            &VolumeId::new(VOL).unwrap(),
            &volume_core::CloneVolume::new("copy"),
        )
        .await
        .unwrap();
    assert_eq!(c.id.as_str(), VOL2);

    expect(
        &server,
        pin("GET", "/volumes/detail")
            .query("limit", "2")
            .query("marker", VOL2)
            .query("name", "data")
            .query("status", "available"),
        200,
        json!({"volumes": [named_volume(VOL, "data")],
               "volumes_links": [{"rel": "next", "href": format!(
                   "{}/volume/v3/{PROJECT}/volumes/detail?limit=2&marker={VOL}", server.uri())}]}),
        1,
    )
    .await;
    let page = cinder
        .list_volumes(
            &ListVolumes::new()
                .with_name("data")
                .with_state(VolumeState::Available)
                .with_page_size(2),
            Some(&PageToken::new(VOL2)),
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.next.as_ref().map(PageToken::as_str), Some(VOL));

    let id = VolumeId::new(VOL).unwrap();
    // A rename and a relabel are one PUT, answered with the volume.
    expect(
        &server,
        pin("PUT", &format!("/volumes/{VOL}"))
            .json(json!({"volume": {"name": "renamed", "metadata": {"k": "v"}}})),
        200,
        volume_json(VOL, "available", 10),
        1,
    )
    .await;
    let mut labels = volume_core::Labels::new();
    labels.insert("k".into(), "v".into());
    cinder
        .update_volume(
            &id,
            &UpdateVolume::new().with_name("renamed").with_labels(labels),
        )
        .await
        .unwrap();

    let action = |body: Value| pin("POST", &format!("/volumes/{VOL}/action")).json(body);
    expect(
        &server,
        action(json!({"os-extend": {"new_size": 20}})),
        202,
        json!(null),
        1,
    )
    .await;
    cinder.resize_volume(&id, Size::gib(20)).await.unwrap();
    expect(
        &server,
        action(json!({"os-retype": {"new_type": "hdd", "migration_policy": "on-demand"}})),
        202,
        json!(null),
        1,
    )
    .await;
    cinder
        .retype(&id, "hdd", MigrationPolicy::OnDemand)
        .await
        .unwrap();
    expect(
        &server,
        action(json!({"os-set_bootable": {"bootable": true}})),
        200,
        json!(null),
        1,
    )
    .await;
    cinder.set_bootable(&id, true).await.unwrap();
    expect(
        &server,
        action(json!({"os-reset_status": {"status": "available"}})),
        202,
        json!(null),
        1,
    )
    .await;
    cinder
        .reset_status(&id, &ResetStatus::status("available"))
        .await
        .unwrap();
    expect(
        &server,
        action(json!({"os-force_delete": {}})),
        202,
        json!(null),
        1,
    )
    .await;
    cinder.force_delete(&id).await.unwrap();
    expect(
        &server,
        pin("DELETE", &format!("/volumes/{VOL}")).query("cascade", "true"),
        202,
        json!(null),
        1,
    )
    .await;
    cinder
        .delete_volume_with(&id, DeleteOptions::new().with_cascade(true))
        .await
        .unwrap();
    expect(
        &server,
        pin("POST", &format!("/volumes/{VOL}/metadata")).json(json!({"metadata": {"a": "b"}})),
        200,
        json!({"metadata": {"a": "b", "k": "v"}}),
        1,
    )
    .await;
    let mut add = std::collections::BTreeMap::new();
    add.insert("a".to_owned(), "b".to_owned());
    let merged = cinder.set_volume_metadata(&id, &add, false).await.unwrap();
    assert_eq!(merged.len(), 2);
    expect(
        &server,
        pin("DELETE", &format!("/volumes/{VOL}/metadata/a%20b")),
        200,
        json!(null),
        1,
    )
    .await;
    cinder.delete_volume_metadata(&id, "a b").await.unwrap();
}

#[tokio::test]
async fn rules_refuse_before_sending() {
    let (server, cinder) = logged_in().await;
    cinder.connect().await.unwrap();
    let e = cinder
        .create_volume(&CreateVolume::new("x".repeat(256), Size::gib(1)))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput { field, .. } if field == "name"),
        "{e:?}"
    );
    let e = cinder
        .create_volume(&CreateVolume::new("zero", Size::gib(0)))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput { field, .. } if field == "size"),
        "{e:?}"
    );
    let e = cinder
        .create_volume(&CreateVolume::new("bad", Size::gib(1)).with_label("a=b", "c"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput { field, .. } if field == "labels"),
        "{e:?}"
    );
    let e = cinder
        .get_volume(&VolumeId::new("..").unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::NotFound {
                kind: ResourceKind::Volume,
                ..
            }
        ),
        "{e:?}"
    );
    // Shrinking is refused after one look at the volume.
    expect(
        &server,
        pin("GET", &format!("/volumes/{VOL}")),
        200,
        volume_json(VOL, "available", 10),
        1,
    )
    .await;
    let e = cinder
        .resize_volume(&VolumeId::new(VOL).unwrap(), Size::gib(5))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput { field, .. } if field == "size"),
        "{e:?}"
    );
}

#[tokio::test]
async fn extend_in_use_below_3_42_is_refused_before_sending() {
    let server = strict_server().await;
    keystone(&server, login(), TOKEN, 3600, 1).await;
    expect(
        &server,
        rules().pin("GET", "/volume/v3"),
        200,
        versions_doc("3.41"),
        1,
    )
    .await;
    let cinder = builder(&server).build().unwrap();
    let mut v = volume_json(VOL, "in-use", 10);
    v["volume"]["attachments"] = json!([{"server_id": SERVER, "attachment_id": "a1",
        "volume_id": VOL, "device": "/dev/vdb", "id": VOL, "host_name": null, "attached_at": ""}]);
    expect(
        &server,
        rules()
            .pin("GET", format!("/volume/v3/{PROJECT}/volumes/{VOL}"))
            .header("openstack-api-version", "volume 3.41"),
        200,
        v,
        1,
    )
    .await;
    let e = cinder
        .resize_volume(&VolumeId::new(VOL).unwrap(), Size::gib(20))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidState { state, .. } if state == "in-use"),
        "{e:?}"
    );
    assert!(e.to_string().contains("3.42"), "{e}");
    let e = cinder.complete_attachment("a1").await.unwrap_err();
    assert!(
        matches!(&e, Error::Unsupported { operation, .. } if operation.contains("3.44")),
        "{e:?}"
    );
}

// ----- snapshots, backups, attachments, Nova --------------------------------------------

#[tokio::test]
async fn snapshot_backup_and_attachment_requests_are_pinned() {
    let (server, cinder) = logged_in().await;
    let snap_answer = sample("api-ref-v3-samples/snapshots/v3.65/snapshot-create-response.json")
        .unwrap_or_else(|| json!({"snapshot": {"id": SNAP, "status": "creating", "size": 10}}));
    // From 3.66 no `force` is sent.
    expect(
        &server,
        pin("POST", "/snapshots").json(json!({"snapshot": {"volume_id": VOL, "name": "snap-001",
            "metadata": {"key": "v3"}}})),
        202,
        snap_answer,
        1,
    )
    .await;
    let s = cinder
        .create_snapshot(
            &CreateSnapshot::new(VolumeId::new(VOL).unwrap(), "snap-001").with_label("key", "v3"),
        )
        .await
        .unwrap();
    assert_eq!(s.labels["key"], "v3");

    expect(
        &server,
        pin("DELETE", &format!("/snapshots/{SNAP}")),
        202,
        json!(null),
        1,
    )
    .await;
    cinder
        .delete_snapshot(&SnapshotId::new(SNAP).unwrap())
        .await
        .unwrap();

    expect(
        &server,
        pin("POST", "/backups").json(json!({"backup": {"volume_id": VOL, "name": "backup001",
            "incremental": true}})),
        202,
        json!({"backup": {"id": BACKUP, "name": "backup001", "links": []}}),
        1,
    )
    .await;
    let show = sample("api-ref-v3-samples/backups/v3.56/backup-show-response.json").map(|mut b| {
        b["backup"]["id"] = json!(BACKUP);
        b
    });
    if let Some(show) = show.clone() {
        expect(
            &server,
            pin("GET", &format!("/backups/{BACKUP}")),
            200,
            show,
            2,
        )
        .await;
    }
    let b = cinder
        .create_backup(
            &CreateBackup::new(VolumeId::new(VOL).unwrap(), "backup001").incremental(true),
        )
        .await;
    if show.is_some() {
        let b = b.unwrap();
        assert_eq!(b.raw_state, "creating");
        assert_eq!(b.size, Size::gib(10));
    }
    // Restore into an existing volume: the backup and the target are looked
    // at, then restored.
    expect(
        &server,
        pin("GET", &format!("/volumes/{VOL2}")),
        200,
        volume_json(VOL2, "available", 10),
        2,
    )
    .await;
    expect(
        &server,
        pin("POST", &format!("/backups/{BACKUP}/restore"))
            .json(json!({"restore": {"name": "vol-01", "volume_id": VOL2}})),
        202,
        sample("api-ref-v3-samples/backup-restore-response.json")
            .unwrap_or_else(|| json!({"restore": {"backup_id": BACKUP, "volume_id": VOL2}})),
        1,
    )
    .await;
    if show.is_some() {
        let restored = cinder
            .restore_backup(&BackupId::new(BACKUP).unwrap(), &{
                let mut r = RestoreBackup::over_volume(VolumeId::new(VOL2).unwrap());
                r.name = Some("vol-01".into());
                r
            })
            .await
            .unwrap();
        assert_eq!(restored.id.as_str(), VOL2);
    }

    let connector =
        json!({"initiator": "iqn.1993-08.org.debian:01:cad181614cec", "host": "tempest-1"});
    let att = sample("api-ref-v3-samples/attachment-create-response.json").unwrap_or_else(
        || json!({"attachment": {"id": "a1", "status": "attaching", "volume_id": VOL}}),
    );
    expect(
        &server,
        pin("POST", "/attachments").json(json!({"attachment": {"volume_uuid": VOL,
            "instance_uuid": SERVER, "connector": connector}})),
        200,
        att.clone(),
        1,
    )
    .await;
    let a = cinder
        .create_attachment(
            &VolumeId::new(VOL).unwrap(),
            Some(&InstanceId::new(SERVER).unwrap()),
            Some(&connector),
        )
        .await
        .unwrap();
    assert_eq!(a.status, "attaching");
    expect(
        &server,
        pin("PUT", &format!("/attachments/{}", a.id))
            .json(json!({"attachment": {"connector": connector}})),
        200,
        att,
        1,
    )
    .await;
    cinder.update_attachment(&a.id, &connector).await.unwrap();
    expect(
        &server,
        pin("POST", &format!("/attachments/{}/action", a.id)).json(json!({"os-complete": {}})),
        204,
        json!(null),
        1,
    )
    .await;
    cinder.complete_attachment(&a.id).await.unwrap();
    expect(
        &server,
        pin("DELETE", &format!("/attachments/{}", a.id)),
        200,
        json!({"attachments": []}),
        1,
    )
    .await;
    cinder.delete_attachment(&a.id).await.unwrap();
}

#[tokio::test]
async fn attach_and_detach_go_through_nova() {
    let (server, cinder) = logged_in().await;
    let server_json = json!({"server": {"id": SERVER, "name": "vm", "status": "ACTIVE",
        "OS-EXT-AZ:availability_zone": "nova"}});
    expect(
        &server,
        nova("GET", &format!("/servers/{SERVER}")),
        200,
        server_json,
        1,
    )
    .await;
    let mut attached = volume_json(VOL, "in-use", 10);
    attached["volume"]["attachments"] = json!([{"server_id": SERVER, "attachment_id": "a1",
        "volume_id": VOL, "device": "/dev/vdb", "id": VOL, "host_name": null,
        "attached_at": "2016-08-06T14:48:20.000000"}]);
    // Looked at before (available), after the attach (in use), before the
    // detach (in use) and after it (available).
    Mock::given(pin("GET", &format!("/volumes/{VOL}")))
        .respond_with(json_response(200, &volume_json(VOL, "available", 10)))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(pin("GET", &format!("/volumes/{VOL}")))
        .respond_with(json_response(200, &attached))
        .up_to_n_times(2)
        .expect(2)
        .with_priority(2)
        .mount(&server)
        .await;
    expect(
        &server,
        nova("POST", &format!("/servers/{SERVER}/os-volume_attachments"))
            .json(json!({"volumeAttachment": {"volumeId": VOL}})),
        200,
        sample("nova/attach-volume-to-server-resp.json").unwrap_or_else(
            || json!({"volumeAttachment": {"id": VOL, "serverId": SERVER, "volumeId": VOL}}),
        ),
        1,
    )
    .await;
    let id = VolumeId::new(VOL).unwrap();
    let v = cinder
        .attach_volume(&id, &InstanceId::new(SERVER).unwrap())
        .await
        .unwrap();
    assert_eq!(v.attached_to().map(InstanceId::as_str), Some(SERVER));
    assert_eq!(v.attachments[0].device.as_deref(), Some("/dev/vdb"));
    expect(
        &server,
        nova(
            "DELETE",
            &format!("/servers/{SERVER}/os-volume_attachments/{VOL}"),
        ),
        202,
        json!(null),
        1,
    )
    .await;
    Mock::given(pin("GET", &format!("/volumes/{VOL}")))
        .respond_with(json_response(200, &volume_json(VOL, "detaching", 10)))
        .expect(1)
        .with_priority(3)
        .mount(&server)
        .await;
    let v = cinder.detach_volume(&id).await.unwrap();
    assert_eq!(v.state, VolumeState::Detaching);

    expect(
        &server,
        nova("GET", "/servers/detail").query("marker", SERVER),
        200,
        json!({"servers": [{"id": SERVER, "name": "vm", "status": "SHUTOFF",
            "OS-EXT-AZ:availability_zone": "az2"}]}),
        1,
    )
    .await;
    let page = cinder
        .list_instances(Some(&PageToken::new(SERVER)))
        .await
        .unwrap();
    assert_eq!(page.items[0].region.as_str(), "az2");
    assert_eq!(page.items[0].raw_state, "SHUTOFF");
    assert!(page.next.is_none());
    expect(
        &server,
        nova("GET", &format!("/servers/{SERVER}/os-volume_attachments")),
        200,
        sample("nova/list-volume-attachments-resp.json")
            .unwrap_or_else(|| json!({"volumeAttachments": []})),
        1,
    )
    .await;
    cinder
        .server_attachments(&InstanceId::new(SERVER).unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn the_read_endpoints_decode_their_samples() {
    let Some(s) = samples("cinder") else { return };
    let (server, cinder) = logged_in().await;
    let base = "api-ref-v3-samples";
    expect(
        &server,
        pin("GET", "/types"),
        200,
        s.json(&format!(
            "{base}/volume_type/volume-types-list-response.json"
        )),
        1,
    )
    .await;
    let types = cinder.volume_types().await.unwrap();
    assert!(types.iter().any(|t| t.name == "__DEFAULT__"));
    expect(
        &server,
        pin("GET", "/types/t1"),
        200,
        s.json(&format!(
            "{base}/volume_type/volume-type-show-response.json"
        )),
        1,
    )
    .await;
    assert_eq!(
        cinder.volume_type("t1").await.unwrap().extra_specs["capabilities"],
        "gpu"
    );
    expect(
        &server,
        pin("GET", "/types/t1/extra_specs"),
        200,
        s.json(&format!(
            "{base}/volume_type/volume-type-all-extra-specs-show-response.json"
        )),
        1,
    )
    .await;
    assert!(!cinder.extra_specs("t1").await.unwrap().is_empty());
    expect(
        &server,
        pin("GET", "/qos-specs"),
        200,
        s.json(&format!("{base}/qos/qos-list-response.json")),
        1,
    )
    .await;
    assert!(!cinder.qos_specs_list().await.unwrap().is_empty());
    expect(
        &server,
        pin("GET", "/qos-specs/q1"),
        200,
        s.json(&format!("{base}/qos/qos-show-response.json")),
        1,
    )
    .await;
    cinder.qos_specs("q1").await.unwrap();
    expect(
        &server,
        pin("GET", "/limits"),
        200,
        s.json(&format!("{base}/limits/limits-show-response.json")),
        1,
    )
    .await;
    assert_eq!(cinder.limits().await.unwrap().max_total_volumes, Some(10));
    expect(
        &server,
        pin("GET", &format!("/os-quota-sets/{PROJECT}")).query("usage", "true"),
        200,
        s.json(&format!(
            "{base}/quota_sets/quotas-show-usage-response.json"
        )),
        1,
    )
    .await;
    let q = cinder.quotas(true).await.unwrap();
    assert_eq!(q.get("volumes").unwrap().limit, 10);
    assert_eq!(q.get("volumes").unwrap().in_use, Some(0));
    expect(
        &server,
        pin("GET", "/os-quota-sets/other"),
        200,
        s.json(&format!("{base}/quota_sets/quotas-show-response.json")),
        1,
    )
    .await;
    let q = cinder.quotas_of("other", false).await.unwrap();
    assert_eq!(q.get("gigabytes___DEFAULT__").unwrap().limit, -1);
    assert_eq!(q.project_id, "fake_tenant");
    expect(
        &server,
        pin("GET", "/os-availability-zone"),
        200,
        s.json(&format!("{base}/availability-zone-list-response.json")),
        1,
    )
    .await;
    let zones = cinder.availability_zones().await.unwrap();
    assert_eq!((zones[0].name.as_str(), zones[0].available), ("nova", true));
    expect(
        &server,
        pin("GET", "/messages").query("resource_uuid", VOL),
        200,
        s.json(&format!("{base}/messages-list-response.json")),
        1,
    )
    .await;
    assert!(!cinder.messages(Some(VOL)).await.unwrap().is_empty());
    expect(
        &server,
        pin("GET", "/messages/m1"),
        200,
        s.json(&format!("{base}/messages-show-response.json")),
        1,
    )
    .await;
    let m = cinder.message("m1").await.unwrap();
    assert_eq!(m.event_id.as_deref(), Some("VOLUME_000002"));
}

/// Every api-ref sample that is an answer decodes into the client's types.
#[test]
fn every_cinder_sample_decodes() {
    let Some(s) = samples("cinder") else { return };
    let mut files = Vec::new();
    let mut dirs = vec![s.path("api-ref-v3-samples")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    let mut decoded = 0;
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.contains("request") {
            continue;
        }
        let value: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let many = |key: &str| -> Vec<Value> {
            match &value[key] {
                Value::Array(items) => items.clone(),
                Value::Object(_) => vec![value[key].clone()],
                _ => Vec::new(),
            }
        };
        let check = |ok: bool, what: &str| assert!(ok, "{}: {what} did not decode", path.display());
        for (key, kind) in [
            ("volume", "volume"),
            ("volumes", "volume"),
            ("snapshot", "snapshot"),
            ("snapshots", "snapshot"),
            ("backup", "backup"),
            ("backups", "backup"),
            ("attachment", "attachment"),
            ("attachments", "attachment"),
            ("volume_type", "type"),
            ("volume_types", "type"),
            ("qos_specs", "qos"),
            ("message", "message"),
            ("messages", "message"),
        ] {
            for item in many(key) {
                // Summary views (`{id, name, links}`) are not decoded as details.
                let summary = item.get("status").is_none()
                    && item.get("specs").is_none()
                    && item.get("extra_specs").is_none()
                    && item.get("event_id").is_none()
                    && item.get("description").is_none();
                if summary && !matches!(kind, "backup" | "type") {
                    continue;
                }
                let ok = match kind {
                    "volume" => serde_json::from_value::<CinderVolume>(item).is_ok(),
                    "snapshot" => {
                        serde_json::from_value::<volume_cinder::CinderSnapshot>(item).is_ok()
                    }
                    "backup" => serde_json::from_value::<volume_cinder::CinderBackup>(item).is_ok(),
                    "attachment" => {
                        serde_json::from_value::<volume_cinder::CinderAttachment>(item).is_ok()
                    }
                    "type" => serde_json::from_value::<volume_cinder::VolumeType>(item).is_ok(),
                    "qos" => serde_json::from_value::<volume_cinder::QosSpecs>(item).is_ok(),
                    _ => serde_json::from_value::<volume_cinder::Message>(item).is_ok(),
                };
                check(ok, kind);
                decoded += 1;
            }
        }
        if value.get("quota_set").is_some() {
            check(
                serde_json::from_value::<volume_cinder::QuotaSet>(value["quota_set"].clone())
                    .is_ok(),
                "quota set",
            );
            decoded += 1;
        }
        if value.get("limits").is_some() {
            check(
                serde_json::from_value::<volume_cinder::AbsoluteLimits>(
                    value["limits"]["absolute"].clone(),
                )
                .is_ok(),
                "limits",
            );
            decoded += 1;
        }
    }
    // The samples hold well over a hundred answers; a regression that
    // stops reading them would show here.
    assert!(
        decoded > 100,
        "only {decoded} answers decoded from {} files",
        files.len()
    );
}

// ----- Keystone ------------------------------------------------------------------

#[tokio::test]
async fn application_credentials_send_no_scope() {
    let server = strict_server().await;
    keystone(
        &server,
        login_pin().json(json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"id": "423f19a4ac1e4f48bbb4180756e6eb6c", "secret": "rEaqvJka48mpv"}}}})),
        TOKEN,
        3600,
        1,
    )
    .await;
    expect(
        &server,
        rules().pin("GET", "/volume/v3"),
        200,
        versions_doc("3.71"),
        1,
    )
    .await;
    let cinder = CinderBuilder::new()
        .with_auth_url(format!("{}/identity/v3", server.uri()))
        .with_application_credential("423f19a4ac1e4f48bbb4180756e6eb6c", "rEaqvJka48mpv")
        .build()
        .unwrap();
    cinder.connect().await.unwrap();
    assert!(!format!("{cinder:?}").contains("rEaq"));
    // By name, with the user.
    let server = strict_server().await;
    keystone(
        &server,
        login_pin().json(
            json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"name": "monitoring", "secret": "rEaqvJka48mpv",
                "user": {"id": "ee4dfb6e5540447cb3741905149d9b6e"}}}}}),
        ),
        TOKEN,
        3600,
        1,
    )
    .await;
    expect(
        &server,
        rules().pin("GET", "/volume/v3"),
        200,
        versions_doc("3.71"),
        1,
    )
    .await;
    CinderBuilder::new()
        .with_auth_url(format!("{}/identity/v3", server.uri()))
        .with_user_id("ee4dfb6e5540447cb3741905149d9b6e")
        .with_application_credential_name("monitoring", "rEaqvJka48mpv")
        .build()
        .unwrap()
        .connect()
        .await
        .unwrap();
}

#[tokio::test]
async fn tokens_are_exchanged_or_used_as_they_are() {
    let server = strict_server().await;
    keystone(
        &server,
        login_pin().json(
            json!({"auth": {"identity": {"methods": ["token"], "token": {"id": "pre-issued"}},
            "scope": {"project": {"id": PROJECT}}}}),
        ),
        TOKEN,
        3600,
        1,
    )
    .await;
    expect(
        &server,
        rules().pin("GET", "/volume/v3"),
        200,
        versions_doc("3.71"),
        1,
    )
    .await;
    CinderBuilder::new()
        .with_auth_url(format!("{}/identity/v3", server.uri()))
        .with_token("pre-issued")
        .with_project_id(PROJECT)
        .build()
        .unwrap()
        .connect()
        .await
        .unwrap();
    // Without Keystone: the token as it is, at the endpoint given, at a pinned version.
    let server = strict_server().await;
    expect(
        &server,
        WireRules::new()
            .with_header("x-auth-token", "pre-issued")
            .pin("GET", "/v3/p/types")
            .header("openstack-api-version", "volume 3.50"),
        200,
        json!({"volume_types": []}),
        1,
    )
    .await;
    let cinder = CinderBuilder::new()
        .with_token("pre-issued")
        .with_endpoint(format!("{}/v3/p", server.uri()))
        .with_microversion(Microversion::new(3, 50))
        .build()
        .unwrap();
    assert!(cinder.volume_types().await.unwrap().is_empty());
    assert!(!format!("{cinder:?}").contains("pre-issued"));
}

#[tokio::test]
async fn every_keystone_sample_token_is_read_and_catalogs_are_searched() {
    let Some(s) = samples("cinder") else { return };
    let responses = s.files("keystone", "json");
    let mut read = 0;
    for path in responses {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("auth-") || !name.contains("response") || name.ends_with(".txt") {
            continue;
        }
        let body: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let server = strict_server().await;
        Mock::given(login())
            .respond_with(json_response(201, &body).insert_header("X-Subject-Token", TOKEN))
            .expect(1)
            .mount(&server)
            .await;
        expect(
            &server,
            WireRules::new()
                .with_header("x-auth-token", TOKEN)
                .pin("GET", "/v3/p/limits")
                .header("openstack-api-version", "volume 3.0"),
            200,
            json!({"limits": {"rate": [], "absolute": {}}}),
            1,
        )
        .await;
        // With the endpoint given, every token is good for Cinder.
        let cinder = builder(&server)
            .with_endpoint(format!("{}/v3/p", server.uri()))
            .with_microversion(Microversion::BASE)
            .build()
            .unwrap();
        cinder
            .limits()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        read += 1;
    }
    assert!(read >= 8, "{read} token samples");
    // The full sample catalog has only volumev2 and a v1 `volume`: no v3
    // endpoint, and the error says what the catalog has.
    let server = strict_server().await;
    Mock::given(login())
        .respond_with(
            json_response(
                201,
                &s.json("keystone/auth-password-project-scoped-response.json"),
            )
            .insert_header("X-Subject-Token", TOKEN),
        )
        .expect(1)
        .mount(&server)
        .await;
    let e = builder(&server)
        .with_region("RegionOne")
        .build()
        .unwrap()
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput { field, .. } if field == "catalog"),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("volumev2 (public, RegionOne)"),
        "{e}"
    );
}

#[tokio::test]
async fn a_wrong_password_is_keystones_401() {
    let server = strict_server().await;
    Mock::given(login())
        .respond_with(
            json_response(
                401,
                &json!({"error": {"code": 401, "title": "Unauthorized",
            "message": "The request you have made requires authentication."}}),
            )
            .insert_header("x-openstack-request-id", "req-1"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let e = builder(&server)
        .build()
        .unwrap()
        .connect()
        .await
        .unwrap_err();
    match &e {
        Error::Unauthenticated { api, .. } => {
            assert_eq!(api.as_deref().unwrap().request_id.as_deref(), Some("req-1"));
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{e} {e:?}").contains(PASSWORD));
}

#[tokio::test]
async fn the_interface_picks_the_endpoint() {
    let server = strict_server().await;
    keystone(&server, login(), TOKEN, 3600, 1).await;
    expect(
        &server,
        rules().pin("GET", "/internal/v3"),
        200,
        versions_doc("3.60"),
        1,
    )
    .await;
    let cinder = builder(&server)
        .with_interface(Interface::Internal)
        .build()
        .unwrap();
    assert_eq!(cinder.connect().await.unwrap(), Microversion::new(3, 60));
    assert!(cinder
        .endpoint()
        .unwrap()
        .path()
        .starts_with("/internal/v3"));
    assert_eq!(cinder.to_string(), format!("Cinder({})", server.address()));
}

// ----- token renewal on a paused clock ----------------------------------------------------

fn logins(requests: &[wiremock::Request]) -> usize {
    requests
        .iter()
        .filter(|r| r.url.path().ends_with("/auth/tokens"))
        .count()
}

#[tokio::test(start_paused = true)]
async fn the_token_is_renewed_before_it_expires() {
    let server = strict_server().await;
    keystone(&server, login(), TOKEN, 300, 2).await;
    let cinder = builder(&server)
        .with_microversion(Microversion::NEWEST_KNOWN)
        .for_paused_clock()
        .build()
        .unwrap();
    expect(
        &server,
        pin("GET", "/limits"),
        200,
        json!({"limits": {"absolute": {}}}),
        3,
    )
    .await;
    cinder.limits().await.unwrap();
    tokio::time::advance(Duration::from_secs(200)).await;
    cinder.limits().await.unwrap();
    assert_eq!(logins(&received(&server).await), 1);
    // 300 s lifetime, renewed 60 s before.
    tokio::time::advance(Duration::from_secs(41)).await;
    cinder.limits().await.unwrap();
    assert_eq!(logins(&received(&server).await), 2);
}

#[tokio::test(start_paused = true)]
async fn one_login_serves_32_concurrent_requests() {
    let server = strict_server().await;
    keystone(&server, login(), TOKEN, 300, 2).await;
    let cinder = Arc::new(
        builder(&server)
            .with_microversion(Microversion::NEWEST_KNOWN)
            .for_paused_clock()
            .build()
            .unwrap(),
    );
    expect(
        &server,
        pin("GET", "/limits"),
        200,
        json!({"limits": {"absolute": {}}}),
        64,
    )
    .await;
    for round in 1..=2 {
        let calls: Vec<_> = (0..32)
            .map(|_| {
                let c = Arc::clone(&cinder);
                tokio::spawn(async move { c.limits().await })
            })
            .collect();
        for call in calls {
            call.await.unwrap().unwrap();
        }
        assert_eq!(logins(&received(&server).await), round);
        tokio::time::advance(Duration::from_secs(250)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_401_logs_in_again_once() {
    let server = strict_server().await;
    keystone(&server, login(), TOKEN, 3600, 2).await;
    let cinder = builder(&server)
        .with_microversion(Microversion::NEWEST_KNOWN)
        .for_paused_clock()
        .build()
        .unwrap();
    let unauthorized = json!({"error": {"code": 401, "title": "Unauthorized",
        "message": "The request you have made requires authentication."}});
    Mock::given(pin("GET", "/limits"))
        .respond_with(json_response(401, &unauthorized))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(pin("GET", "/limits"))
        .respond_with(json_response(
            200,
            &json!({"limits": {"absolute": {"maxTotalVolumes": 3}}}),
        ))
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    assert_eq!(cinder.limits().await.unwrap().max_total_volumes, Some(3));
    assert_eq!(logins(&received(&server).await), 2);

    // A token Cinder keeps refusing: one more login, then the 401 is the answer.
    let server = strict_server().await;
    keystone(&server, login(), TOKEN, 3600, 2).await;
    let cinder = builder(&server)
        .with_microversion(Microversion::NEWEST_KNOWN)
        .for_paused_clock()
        .build()
        .unwrap();
    expect(&server, pin("GET", "/limits"), 401, unauthorized, 2).await;
    let e = cinder.limits().await.unwrap_err();
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e:?}");
}

// ----- errors and redaction ------------------------------------------------------------

#[tokio::test]
async fn cinder_faults_are_mapped_with_their_request_id() {
    let (server, cinder) = logged_in().await;
    Mock::given(pin("GET", &format!("/volumes/{VOL}")))
        .respond_with(
            json_response(
                404,
                &json!({"itemNotFound": {"code": 404,
                "message": format!("Volume {VOL} could not be found.")}}),
            )
            .insert_header("x-openstack-request-id", "req-404"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let e = cinder
        .get_volume(&VolumeId::new(VOL).unwrap())
        .await
        .unwrap_err();
    match &e {
        Error::NotFound { kind, id, api } => {
            assert_eq!((*kind, id.as_str()), (ResourceKind::Volume, VOL));
            let api = api.as_deref().unwrap();
            assert_eq!(api.code.as_deref(), Some("itemNotFound"));
            assert_eq!(api.request_id.as_deref(), Some("req-404"));
        }
        other => panic!("{other:?}"),
    }
    Mock::given(pin("POST", "/volumes").json(json!({"volume": {"name": "q", "size": 1}})))
        .respond_with(
            json_response(413, &json!({"overLimit": {"code": 413, "message":
                "VolumeLimitExceeded: Maximum number of volumes allowed (1) exceeded for quota 'volumes'.",
                "retryAfter": "0"}}))
            .insert_header("Retry-After", "0"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let e = cinder
        .create_volume(&CreateVolume::new("q", Size::gib(1)))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::QuotaExceeded { .. }), "{e:?}");
}

#[test]
fn nothing_prints_a_secret() {
    let e = CinderBuilder::new()
        .with_auth_url("https://user:urlpass@keystone.example.com/v3")
        .with_token("t")
        .build()
        .unwrap_err();
    assert!(!format!("{e} {e:?}").contains("urlpass"), "{e:?}");
    let b = CinderBuilder::new()
        .with_auth_url("https://keystone.example.com/v3")
        .with_username("demo", Domain::Name("Default".into()))
        .with_password("p4ssw0rd-secret")
        .with_application_credential("id", "app-secret-value")
        .with_token("token-secret-value")
        .with_project_id("p");
    let client = b.clone().build().unwrap();
    for text in [format!("{b:?}"), format!("{client:?}"), client.to_string()] {
        for secret in ["p4ssw0rd", "app-secret", "token-secret", "urlpass"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
}

#[tokio::test]
async fn a_406_for_a_version_is_mapped_and_not_retried() {
    let server = strict_server().await;
    keystone(&server, login(), TOKEN, 3600, 1).await;
    let cinder = builder(&server)
        .with_microversion(Microversion::new(3, 99))
        .with_retry(RetryConfig::default())
        .build()
        .unwrap();
    Mock::given(rules().pin("GET", format!("/volume/v3/{PROJECT}/limits")).header("openstack-api-version", "volume 3.99"))
        .respond_with(json_response(406, &json!({"computeFault": {"code": 406,
            "message": "Version 3.99 is not supported by the API. Minimum is 3.0 and maximum is 3.71."}})))
        .expect(1)
        .mount(&server)
        .await;
    let e = cinder.limits().await.unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput { field, .. } if field == "microversion"),
        "{e:?}"
    );
    let _ = ResponseTemplate::new(200);
}

/// The Keystone request samples are, byte for byte as JSON, what the
/// builder's ways of logging in send (the system-scoped and explicitly
/// unscoped ones are not ways this client logs in).
#[tokio::test]
async fn the_keystone_request_samples_are_what_the_client_sends() {
    let Some(s) = samples("cinder") else { return };
    let user = "ee4dfb6e5540447cb3741905149d9b6e";
    let other = "423f19a4ac1e4f48bbb4180756e6eb6c";
    let os_token = "'$OS_TOKEN'";
    let cases: Vec<(&str, CinderBuilder)> = vec![
        (
            "auth-application-credential-id-request.json",
            CinderBuilder::new().with_application_credential(other, "rEaqvJka48mpv"),
        ),
        (
            "auth-application-credential-name-request.json",
            CinderBuilder::new()
                .with_user_id(other)
                .with_application_credential_name("monitoring", "rEaqvJka48mpv"),
        ),
        (
            "auth-password-unscoped-request-with-domain.json",
            CinderBuilder::new()
                .with_username("admin", Domain::Name("Default".into()))
                .with_password("devstacker"),
        ),
        (
            "auth-password-unscoped-request.json",
            CinderBuilder::new()
                .with_user_id(other)
                .with_password("devstacker"),
        ),
        (
            "auth-requests-project-id-password.json",
            CinderBuilder::new()
                .with_user_id(user)
                .with_password("devstacker")
                .with_project_id("a6944d763bf64ee6a275f1263fae0352"),
        ),
        (
            "auth-requests-project-name-password.json",
            CinderBuilder::new()
                .with_user_id(user)
                .with_password("devstacker")
                .with_project_name("admin", Domain::Id("default".into())),
        ),
        (
            "auth-token-scoped-request.json",
            CinderBuilder::new()
                .with_token(os_token)
                .with_project_id("5b50efd009b540559104ee3c03bbb2b7"),
        ),
        (
            "auth-token-unscoped-request.json",
            CinderBuilder::new().with_token(os_token),
        ),
    ];
    for (file, builder) in cases {
        let server = strict_server().await;
        keystone(
            &server,
            login_pin().json(s.json(&format!("keystone/{file}"))),
            TOKEN,
            3600,
            1,
        )
        .await;
        expect(
            &server,
            WireRules::new()
                .with_header("x-auth-token", TOKEN)
                .pin("GET", "/v3/p/limits")
                .header("openstack-api-version", "volume 3.0"),
            200,
            json!({"limits": {"absolute": {}}}),
            1,
        )
        .await;
        builder
            .with_auth_url(format!("{}/identity/v3", server.uri()))
            .with_endpoint(format!("{}/v3/p", server.uri()))
            .with_microversion(Microversion::BASE)
            .build()
            .unwrap()
            .limits()
            .await
            .unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}

/// `volumes_with` sends the sort and follows `volumes_links` to the end.
#[tokio::test]
async fn listing_follows_volumes_links_with_sort() {
    use futures::TryStreamExt;
    let (server, cinder) = logged_in().await;
    let next = format!(
        "{}/volume/v3/{PROJECT}/volumes/detail?limit=1&sort=name%3Aasc&marker={VOL}",
        server.uri()
    );
    expect(
        &server,
        pin("GET", "/volumes/detail")
            .query("limit", "1")
            .query("sort", "name:asc"),
        200,
        json!({"volumes": [named_volume(VOL, "a")],
               "volumes_links": [{"rel": "next", "href": next}]}),
        1,
    )
    .await;
    expect(
        &server,
        pin("GET", "/volumes/detail")
            .query("limit", "1")
            .query("sort", "name:asc")
            .query("marker", VOL),
        200,
        json!({"volumes": [named_volume(VOL2, "b")]}),
        1,
    )
    .await;
    let all: Vec<_> = cinder
        .volumes_with(
            &ListVolumes::new().with_page_size(1),
            &volume_cinder::ListOptions::new()
                .with_sort("name:asc")
                .unwrap(),
        )
        .try_collect()
        .await
        .unwrap();
    let names: Vec<&str> = all.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
}

/// With a pinned microversion, `connect` logs in (the project is known)
/// and asks for no version document.
#[tokio::test]
async fn connect_logs_in_even_with_a_pinned_version() {
    let server = strict_server().await;
    keystone(&server, login(), TOKEN, 3600, 1).await;
    let cinder = builder(&server)
        .with_microversion(Microversion::new(3, 42))
        .build()
        .unwrap();
    assert_eq!(cinder.project_id(), None);
    assert_eq!(cinder.connect().await.unwrap(), Microversion::new(3, 42));
    assert_eq!(cinder.project_id().as_deref(), Some(PROJECT));
    assert_eq!(cinder.user_id().as_deref(), Some("u1"));
}

/// A login changes nothing, so a Keystone 503 is retried (on the paused
/// clock, the backoff costs no wall time).
#[tokio::test(start_paused = true)]
async fn a_keystone_503_is_retried() {
    let server = strict_server().await;
    Mock::given(login())
        .respond_with(json_response(
            503,
            &json!({"error": {"code": 503,
            "title": "Service Unavailable", "message": "try again"}}),
        ))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    keystone(&server, login(), TOKEN, 3600, 1).await;
    let cinder = builder(&server)
        .with_microversion(Microversion::NEWEST_KNOWN)
        .with_retry(RetryConfig::default())
        .for_paused_clock()
        .build()
        .unwrap();
    cinder.connect().await.unwrap();
    assert_eq!(logins(&received(&server).await), 2);
}

/// A cloud without a version document at the versioned root is spoken to
/// at 3.0, and features above it say which version they need.
#[tokio::test]
async fn without_a_version_document_the_base_version_is_spoken() {
    let server = strict_server().await;
    keystone(&server, login(), TOKEN, 3600, 1).await;
    expect(
        &server,
        rules().pin("GET", "/volume/v3"),
        404,
        json!({"itemNotFound": {"code": 404, "message": "The resource could not be found."}}),
        1,
    )
    .await;
    let cinder = builder(&server).build().unwrap();
    assert_eq!(cinder.connect().await.unwrap(), Microversion::BASE);
    let e = cinder.attachments(None).await.unwrap_err();
    assert!(
        matches!(&e, Error::Unsupported { operation, .. } if operation.contains("3.27")),
        "{e:?}"
    );
}

/// The remaining reads and updates of snapshots, backups, attachments and
/// metadata, pinned.
#[tokio::test]
async fn the_other_endpoints_are_pinned() {
    let (server, cinder) = logged_in().await;
    let snap = json!({"snapshot": {"id": SNAP, "status": "available", "size": 10,
        "volume_id": VOL, "name": "s", "description": null, "metadata": {},
        "created_at": "2019-03-11T16:24:34.469003", "updated_at": null}});
    // get_snapshot looks the volume up for its zone.
    expect(
        &server,
        pin("GET", &format!("/snapshots/{SNAP}")),
        200,
        snap.clone(),
        1,
    )
    .await;
    let mut v = volume_json(VOL, "available", 10);
    v["volume"]["availability_zone"] = json!("az1");
    expect(&server, pin("GET", &format!("/volumes/{VOL}")), 200, v, 1).await;
    let s = cinder
        .get_snapshot(&SnapshotId::new(SNAP).unwrap())
        .await
        .unwrap();
    assert_eq!(s.region.as_str(), "az1");
    expect(
        &server,
        pin("GET", "/snapshots/detail")
            .query("limit", "5")
            .query("volume_id", VOL),
        200,
        json!({"snapshots": [snap["snapshot"].clone()]}),
        1,
    )
    .await;
    let page = cinder
        .list_snapshots(
            &volume_core::ListSnapshots::new()
                .with_volume(VolumeId::new(VOL).unwrap())
                .with_page_size(5),
            None,
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert!(page.next.is_none());
    expect(
        &server,
        pin("PUT", &format!("/snapshots/{SNAP}"))
            .json(json!({"snapshot": {"name": "n", "description": "d"}})),
        200,
        snap.clone(),
        1,
    )
    .await;
    cinder
        .update_snapshot(&SnapshotId::new(SNAP).unwrap(), Some("n"), Some("d"))
        .await
        .unwrap();
    expect(
        &server,
        pin("GET", &format!("/snapshots/{SNAP}/metadata")),
        200,
        json!({"metadata": {"k": "v"}}),
        1,
    )
    .await;
    assert_eq!(
        cinder
            .snapshot_metadata(&SnapshotId::new(SNAP).unwrap())
            .await
            .unwrap()["k"],
        "v"
    );
    expect(
        &server,
        pin("GET", &format!("/volumes/{VOL}/metadata")),
        200,
        json!({"metadata": {}}),
        1,
    )
    .await;
    assert!(cinder
        .volume_metadata(&VolumeId::new(VOL).unwrap())
        .await
        .unwrap()
        .is_empty());
    expect(
        &server,
        pin("GET", "/backups/detail").query("marker", BACKUP),
        200,
        json!({"backups": [], "backups_links": []}),
        1,
    )
    .await;
    let page = cinder
        .list_backups(
            &volume_core::ListBackups::new(),
            Some(&PageToken::new(BACKUP)),
        )
        .await
        .unwrap();
    assert!(page.items.is_empty() && page.next.is_none());
    expect(
        &server,
        pin("DELETE", &format!("/backups/{BACKUP}")),
        202,
        json!(null),
        1,
    )
    .await;
    cinder
        .delete_backup(&BackupId::new(BACKUP).unwrap())
        .await
        .unwrap();
    let att = json!({"attachment": {"id": "a1", "status": "reserved", "instance": SERVER,
        "volume_id": VOL, "attach_mode": "rw", "attached_at": "", "detached_at": "",
        "connection_info": {}}});
    expect(&server, pin("GET", "/attachments/a1"), 200, att.clone(), 1).await;
    assert_eq!(cinder.attachment("a1").await.unwrap().status, "reserved");
    expect(
        &server,
        pin("GET", "/attachments/detail").query("volume_id", VOL),
        200,
        json!({"attachments": [att["attachment"].clone()]}),
        1,
    )
    .await;
    assert_eq!(
        cinder
            .attachments(Some(&VolumeId::new(VOL).unwrap()))
            .await
            .unwrap()
            .len(),
        1
    );
    expect(
        &server,
        pin("PUT", &format!("/volumes/{VOL}")).json(json!({"volume": {"description": "about"}})),
        200,
        volume_json(VOL, "available", 10),
        1,
    )
    .await;
    cinder
        .update_volume_details(&VolumeId::new(VOL).unwrap(), None, Some("about"))
        .await
        .unwrap();
}

/// 32 first calls at once: one login and one version document between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_calls_negotiate_once() {
    let (server, cinder) = logged_in().await;
    expect(
        &server,
        pin("GET", "/limits"),
        200,
        json!({"limits": {"absolute": {}}}),
        32,
    )
    .await;
    let cinder = Arc::new(cinder);
    let calls: Vec<_> = (0..32)
        .map(|_| {
            let c = Arc::clone(&cinder);
            tokio::spawn(async move { c.limits().await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    // `logged_in` expects exactly one login and one version document.
}

/// A create with an idempotency key sends it as metadata; when the answer
/// is lost (a 500 after the change), the key is looked up through Cinder's
/// `metadata` filter and the volume that carries it adopted, with no
/// second create.
#[tokio::test]
async fn a_lost_create_is_looked_up_by_its_metadata() {
    let (server, cinder) = logged_in().await;
    expect(
        &server,
        pin("POST", "/volumes").json(json!({"volume": {"name": "data", "size": 10,
            "metadata": {"vrs-idem": "k1"}}})),
        500,
        json!({"computeFault": {"code": 500, "message": "lost"}}),
        1,
    )
    .await;
    let mut made = named_volume(VOL, "data");
    made["metadata"] = json!({"vrs-idem": "k1"});
    // A volume with another key is not the one, whatever a server sends.
    let mut other = named_volume(VOL2, "data");
    other["metadata"] = json!({"vrs-idem": "k2"});
    expect(
        &server,
        pin("GET", "/volumes/detail").query("metadata", r#"{"vrs-idem":"k1"}"#),
        200,
        json!({"volumes": [other, made]}),
        1,
    )
    .await;
    let key = volume_core::idempotency::IdempotencyKey::new("k1").unwrap();
    let v = cinder
        .create_volume(&CreateVolume::new("data", Size::gib(10)).with_idempotency_key(&key))
        .await
        .unwrap();
    assert_eq!(v.id.as_str(), VOL);
    assert_eq!(v.labels["vrs-idem"], "k1");
}
