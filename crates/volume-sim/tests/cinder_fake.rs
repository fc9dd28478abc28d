//! The Cinder fake end to end over HTTP: Keystone (password, application
//! credential, token expiry, validation, 401 shapes), the catalog,
//! microversions, the volume lifecycle on the virtual clock, pagination,
//! actions, snapshots, backups, attachments through Nova and through
//! Cinder, quotas, messages.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::cinder::{assert_fault, cloud, cloud_with, password_body, Cloud};
use volume_sim::engine::{Fault, FaultRule, Quota, SimOp};
use volume_sim::fake::cinder::{
    CinderFake, DEFAULT_APP_CREDENTIAL_ID, DEFAULT_APP_CREDENTIAL_SECRET, DEFAULT_PASSWORD,
    DEFAULT_PROJECT, DEFAULT_REGION, DEFAULT_USER,
};

// ----- Keystone -----------------------------------------------------------------------

#[tokio::test]
async fn password_token_has_a_catalog_pointing_at_this_server() {
    let c = cloud().await;
    let auth = CinderFake::auth_url(&c.server);
    assert_eq!(auth, format!("{}/identity/v3", c.server.uri()));
    let reply = c
        .http
        .post(format!("{auth}/auth/tokens"))
        .json(&password_body(
            DEFAULT_USER,
            DEFAULT_PASSWORD,
            DEFAULT_PROJECT,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    assert!(reply.headers()["x-subject-token"].len() > 20);
    assert!(reply.headers().contains_key("x-openstack-request-id"));
    let doc: Value = reply.json().await.unwrap();
    let token = &doc["token"];
    assert_eq!(token["methods"], json!(["password"]));
    assert_eq!(token["user"]["name"], DEFAULT_USER);
    assert_eq!(token["project"]["name"], DEFAULT_PROJECT);
    assert_eq!(token["project"]["domain"]["id"], "default");
    let issued = token["issued_at"].as_str().unwrap();
    let expires = token["expires_at"].as_str().unwrap();
    assert!(issued.ends_with('Z') && issued.len() == 27, "{issued}");
    assert!(expires > issued);
    let catalog = token["catalog"].as_array().unwrap();
    let url_of = |kind: &str, interface: &str| -> String {
        let service = catalog.iter().find(|s| s["type"] == kind).unwrap();
        let e = service["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["interface"] == interface)
            .unwrap();
        assert_eq!(e["region"], DEFAULT_REGION);
        e["url"].as_str().unwrap().to_owned()
    };
    let project = token["project"]["id"].as_str().unwrap();
    for interface in ["public", "internal", "admin"] {
        let want = format!("{}/volume/v3/{project}", c.server.uri());
        assert_eq!(url_of("volumev3", interface), want);
        assert_eq!(url_of("block-storage", interface), want);
        assert_eq!(
            url_of("compute", interface),
            format!("{}/compute/v2.1", c.server.uri())
        );
        assert_eq!(url_of("identity", interface), auth);
    }
    // `?nocatalog` leaves it out.
    let reply = c
        .http
        .post(format!("{auth}/auth/tokens?nocatalog"))
        .json(&password_body(
            DEFAULT_USER,
            DEFAULT_PASSWORD,
            DEFAULT_PROJECT,
        ))
        .send()
        .await
        .unwrap();
    let doc: Value = reply.json().await.unwrap();
    assert!(doc["token"].get("catalog").is_none());
}

async fn token_status(c: &Cloud, body: &Value) -> (u16, Value, Option<String>) {
    let reply = c
        .http
        .post(format!("{}/auth/tokens", CinderFake::auth_url(&c.server)))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    let www = reply
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, reply.json().await.unwrap_or(Value::Null), www)
}

#[tokio::test]
async fn wrong_credentials_get_keystones_401() {
    let c = cloud().await;
    for body in [
        password_body(DEFAULT_USER, "wrong", DEFAULT_PROJECT),
        password_body("nobody", DEFAULT_PASSWORD, DEFAULT_PROJECT),
        password_body(DEFAULT_USER, DEFAULT_PASSWORD, "other-project"),
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": DEFAULT_USER, "domain": {"name": "Elsewhere"}, "password": DEFAULT_PASSWORD}}}}}),
    ] {
        let (status, body, www) = token_status(&c, &body).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"]["code"], 401);
        assert_eq!(body["error"]["title"], "Unauthorized");
        assert!(www.unwrap().starts_with("Keystone uri="));
        assert!(!body.to_string().contains(DEFAULT_PASSWORD));
    }
    let (status, body, _) = token_status(&c, &json!({"nope": 1})).await;
    assert_eq!((status, &body["error"]["code"]), (400, &json!(400)));
}

#[tokio::test]
async fn application_credentials_by_id_and_by_name_and_never_with_a_scope() {
    let c = cloud().await;
    let by_id = json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"id": DEFAULT_APP_CREDENTIAL_ID, "secret": DEFAULT_APP_CREDENTIAL_SECRET}}}});
    let (status, body, _) = token_status(&c, &by_id).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["token"]["project"]["id"], c.project.as_str());
    assert_eq!(
        body["token"]["application_credential"]["id"],
        DEFAULT_APP_CREDENTIAL_ID
    );
    assert_eq!(body["token"]["methods"], json!(["application_credential"]));

    let by_name = json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"name": "volume-sim", "secret": DEFAULT_APP_CREDENTIAL_SECRET,
            "user": {"name": DEFAULT_USER, "domain": {"id": "default"}}}}}});
    assert_eq!(token_status(&c, &by_name).await.0, 201);

    let mut scoped = by_id.clone();
    scoped["auth"]["scope"] = json!({"project": {"id": c.project}});
    let (status, body, _) = token_status(&c, &scoped).await;
    assert_eq!(status, 401);
    assert_eq!(
        body["error"]["message"],
        "Application credentials cannot request a scope."
    );

    let mut wrong = by_id;
    wrong["auth"]["identity"]["application_credential"]["secret"] = json!("nope");
    assert_eq!(token_status(&c, &wrong).await.0, 401);
}

#[tokio::test]
async fn configured_users_projects_and_app_credentials_replace_the_defaults() {
    let fake = CinderFake::builder()
        .user("alice", "alices-password")
        .project("research")
        .app_credential("0123abcd", "s3cret")
        .build();
    let server = fake.start().await;
    let http = reqwest::Client::new();
    let auth = CinderFake::auth_url(&server);
    let post = |body: Value| {
        let http = http.clone();
        let url = format!("{auth}/auth/tokens");
        async move {
            http.post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        post(password_body("alice", "alices-password", "research")).await,
        201
    );
    assert_eq!(
        post(password_body(DEFAULT_USER, DEFAULT_PASSWORD, "research")).await,
        401
    );
    assert_eq!(
        post(
            json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"id": "0123abcd", "secret": "s3cret"}}}})
        )
        .await,
        201
    );
    assert!(!format!("{fake:?}").contains("alices-password"));
    assert!(!format!("{:?}", CinderFake::builder().user("x", "hunter2")).contains("hunter2"));
}

#[tokio::test]
async fn cinder_without_a_valid_token_is_401_and_changes_nothing() {
    let mut c = cloud().await;
    let good = c.token.clone();
    for bad in ["", "gAAAAAnot-a-token"] {
        c.token = bad.to_owned();
        let a = c
            .send("POST", "/volumes", Some(&json!({"volume": {"size": 1}})))
            .await;
        assert_eq!(a.status, 401);
        assert_eq!(a.body["error"]["code"], 401);
        assert!(a.header("www-authenticate").is_some());
        assert!(a.header("openstack-api-version").is_none());
    }
    c.token = good;
    let list = c.expect("GET", "/volumes", None, 200).await;
    assert_eq!(list["volumes"], json!([]));
}

#[tokio::test]
async fn tokens_expire_on_the_engine_clock_and_validate_until_then() {
    let c = cloud_with(CinderFake::builder().token_lifetime(Duration::from_secs(60))).await;
    let auth = CinderFake::auth_url(&c.server);
    let validate = |subject: String| {
        let http = c.http.clone();
        let token = c.token.clone();
        let url = format!("{auth}/auth/tokens");
        async move {
            http.get(url)
                .header("x-auth-token", token)
                .header("x-subject-token", subject)
                .send()
                .await
                .unwrap()
        }
    };
    let ok = validate(c.token.clone()).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["x-subject-token"], c.token.as_str());
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["token"]["user"]["name"], DEFAULT_USER);
    assert_eq!(validate("gAAAAAunknown".into()).await.status(), 404);

    c.expect("GET", "/volumes", None, 200).await;
    c.advance(59);
    c.expect("GET", "/volumes", None, 200).await;
    c.advance(1);
    let a = c.send("GET", "/volumes", None).await;
    assert_eq!(a.status, 401);
    assert_eq!(validate(c.token.clone()).await.status(), 401);
}

#[tokio::test]
async fn version_documents_and_the_microversion_header() {
    let mut c = cloud_with(CinderFake::builder().max_microversion("3.60")).await;
    let root = c
        .send_url("GET", &format!("{}/volume/", c.server.uri()), None)
        .await;
    assert_eq!(root.status, 300);
    let v = &root.body["versions"][0];
    assert_eq!(
        (
            v["id"].as_str(),
            v["version"].as_str(),
            v["min_version"].as_str()
        ),
        (Some("v3.0"), Some("3.60"), Some("3.0"))
    );
    let v3 = c
        .send_url("GET", &format!("{}/volume/v3/", c.server.uri()), None)
        .await;
    assert_eq!(v3.status, 200);
    assert_eq!(v3.body["versions"][0]["status"], "CURRENT");
    let ks = c
        .send_url("GET", &CinderFake::auth_url(&c.server), None)
        .await;
    assert_eq!(ks.body["version"]["id"], "v3.14");
    let nova = c.send_url("GET", &c.compute.clone(), None).await;
    assert_eq!(nova.body["version"]["version"], "2.1");

    // No header: 3.0, echoed. A listing (written after the engine's lock)
    // carries one request id like every answer.
    let a = c.send("GET", "/volumes", None).await;
    let ids = a.headers.get_all("x-openstack-request-id").iter().count();
    assert_eq!(ids, 1);
    assert!(a
        .header("x-openstack-request-id")
        .unwrap()
        .starts_with("req-"));
    assert_eq!(a.header("openstack-api-version"), Some("volume 3.0"));
    assert_eq!(a.header("vary"), Some("OpenStack-API-Version"));
    c.at("3.50");
    let a = c.send("GET", "/volumes", None).await;
    assert_eq!(a.header("openstack-api-version"), Some("volume 3.50"));
    c.at("latest");
    let a = c.send("GET", "/volumes", None).await;
    assert_eq!(a.header("openstack-api-version"), Some("volume 3.60"));
    c.at("3.61");
    let a = c.send("GET", "/volumes", None).await;
    assert_eq!(a.status, 406);
    assert_eq!(a.body["computeFault"]["code"], 406);
    c.at("3.01");
    let a = c.send("GET", "/volumes", None).await;
    assert_eq!(a.status, 400);
    assert_fault(&a.body, 400);
}

#[tokio::test]
async fn calls_below_their_microversion_are_404() {
    let mut c = cloud().await;
    let a = c.send("GET", "/attachments", None).await;
    assert_eq!(a.status, 404);
    assert_eq!(
        a.body["itemNotFound"]["message"],
        "The resource could not be found."
    );
    assert_eq!(c.send("GET", "/messages", None).await.status, 404);
    c.at("3.27");
    c.expect("GET", "/attachments", None, 200).await;
    c.expect("GET", "/messages", None, 200).await;
}

// ----- volumes -------------------------------------------------------------------------------

#[tokio::test]
async fn volume_lifecycle_on_the_virtual_clock() {
    let mut c = cloud().await;
    c.at("3.65");
    let created = c
        .expect(
            "POST",
            "/volumes",
            Some(
                &json!({"volume": {"name": "data", "size": 2, "description": "d",
                "metadata": {"k": "v"}, "volume_type": "ssd", "availability_zone": "nova"}}),
            ),
            202,
        )
        .await;
    let v = &created["volume"];
    assert_eq!(v["status"], "creating");
    assert_eq!(v["size"], 2);
    assert_eq!(v["volume_type"], "ssd");
    assert_eq!(v["metadata"], json!({"k": "v"}));
    assert_eq!(v["bootable"], "false");
    let id = v["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 36);
    let self_link = v["links"][0]["href"].as_str().unwrap();
    assert_eq!(self_link, format!("{}/volumes/{id}", c.volume));
    c.advance(1);
    assert_eq!(c.status(&id).await, "available");

    let updated = c
        .expect(
            "PUT",
            &format!("/volumes/{id}"),
            Some(&json!({"volume": {"name": "renamed", "description": "new"}})),
            200,
        )
        .await;
    assert_eq!(updated["volume"]["name"], "renamed");
    assert_eq!(updated["volume"]["description"], "new");
    assert!(updated["volume"]["updated_at"].is_string());

    c.expect(
        "POST",
        &format!("/volumes/{id}/action"),
        Some(&json!({"os-extend": {"new_size": 5}})),
        202,
    )
    .await;
    assert_eq!(c.status(&id).await, "extending");
    c.advance(1);
    let shown = c.expect("GET", &format!("/volumes/{id}"), None, 200).await;
    assert_eq!(
        (
            shown["volume"]["status"].as_str(),
            shown["volume"]["size"].as_u64()
        ),
        (Some("available"), Some(5))
    );
    let a = c
        .send(
            "POST",
            &format!("/volumes/{id}/action"),
            Some(&json!({"os-extend": {"new_size": 3}})),
        )
        .await;
    assert_eq!(a.status, 400);
    assert!(a.body["badRequest"]["message"]
        .as_str()
        .unwrap()
        .contains("(current: 5, extended: 3)"));

    c.expect(
        "POST",
        &format!("/volumes/{id}/action"),
        Some(&json!({"os-set_bootable": {"bootable": true}})),
        200,
    )
    .await;
    c.expect(
        "POST",
        &format!("/volumes/{id}/action"),
        Some(&json!({"os-retype": {"new_type": "hdd", "migration_policy": "never"}})),
        202,
    )
    .await;
    assert_eq!(c.status(&id).await, "retyping");
    c.advance(1);
    let shown = c.expect("GET", &format!("/volumes/{id}"), None, 200).await;
    assert_eq!(shown["volume"]["volume_type"], "hdd");
    assert_eq!(shown["volume"]["bootable"], "true");
    assert_eq!(shown["volume"]["status"], "available");

    c.expect("DELETE", &format!("/volumes/{id}"), None, 202)
        .await;
    assert_eq!(c.status(&id).await, "deleting");
    c.advance(1);
    let gone = c.send("GET", &format!("/volumes/{id}"), None).await;
    assert_eq!(gone.status, 404);
    assert_eq!(
        gone.body["itemNotFound"]["message"],
        format!("Volume {id} could not be found.")
    );
}

#[tokio::test]
async fn create_from_snapshot_volume_and_backup_and_bad_input() {
    let mut c = cloud().await;
    c.at("3.47");
    let src = c.volume_of("src", 3).await;
    let clone = c
        .expect(
            "POST",
            "/volumes",
            Some(&json!({"volume": {"source_volid": src, "name": "clone"}})),
            202,
        )
        .await;
    assert_eq!(clone["volume"]["source_volid"], src.as_str());
    assert_eq!(clone["volume"]["size"], 3);
    let snap = c
        .expect(
            "POST",
            "/snapshots",
            Some(&json!({"snapshot": {"volume_id": src, "name": "s"}})),
            202,
        )
        .await;
    let sid = snap["snapshot"]["id"].as_str().unwrap().to_owned();
    c.advance(2);
    let from_snap = c
        .expect(
            "POST",
            "/volumes",
            Some(&json!({"volume": {"snapshot_id": sid, "size": 4}})),
            202,
        )
        .await;
    assert_eq!(
        (
            from_snap["volume"]["snapshot_id"].as_str(),
            from_snap["volume"]["size"].as_u64()
        ),
        (Some(sid.as_str()), Some(4))
    );
    let backup = c
        .expect(
            "POST",
            "/backups",
            Some(&json!({"backup": {"volume_id": src, "name": "b"}})),
            202,
        )
        .await;
    let bid = backup["backup"]["id"].as_str().unwrap().to_owned();
    c.advance(2);
    let from_backup = c
        .expect(
            "POST",
            "/volumes",
            Some(&json!({"volume": {"backup_id": bid}})),
            202,
        )
        .await;
    assert_eq!(from_backup["volume"]["size"], 3);

    for (body, status) in [
        (json!({"volume": {}}), 400),
        (json!({"volume": {"size": 0}}), 400),
        (json!({"volume": {"size": "ten"}}), 400),
        (json!({"volume": {"size": 1, "volume_type": "gold"}}), 404),
        (
            json!({"volume": {"size": 1, "availability_zone": "mars"}}),
            400,
        ),
        (json!({"volume": {"size": 1, "multiattach": true}}), 400),
        (
            json!({"volume": {"snapshot_id": "00000000-0000-4000-8000-000000000000"}}),
            404,
        ),
        (json!({"volume": {"size": 1}, "extra": 1}), 400),
        (json!({"volume": {"size": 1, "metadata": {"k": 1}}}), 400),
        (json!([1, 2]), 400),
    ] {
        let a = c.send("POST", "/volumes", Some(&body)).await;
        assert_eq!(a.status, status, "{body} -> {}", a.body);
        assert_fault(&a.body, status);
    }
    // Unknown keys: accepted below 3.53, refused from it.
    c.expect(
        "POST",
        "/volumes",
        Some(&json!({"volume": {"size": 1, "foo": 1}})),
        202,
    )
    .await;
    c.at("3.53");
    c.expect(
        "POST",
        "/volumes",
        Some(&json!({"volume": {"size": 1, "foo": 1}})),
        400,
    )
    .await;
}

#[tokio::test]
async fn lists_page_with_limit_marker_and_next_links() {
    let mut c = cloud().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(c.volume_of(&format!("v{n}"), 1).await);
    }
    // Newest first by default.
    let first = c.expect("GET", "/volumes/detail?limit=2", None, 200).await;
    let page: Vec<&str> = first["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(page, vec![ids[4].as_str(), ids[3].as_str()]);
    let next = first["volumes_links"][0]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(first["volumes_links"][0]["rel"], "next");
    assert!(
        next.starts_with(&format!("{}/volumes/detail?", c.volume)),
        "{next}"
    );
    assert!(next.contains("limit=2") && next.contains(&format!("marker={}", ids[3])));
    let mut seen: Vec<String> = page.iter().map(|s| (*s).to_owned()).collect();
    let mut url = next;
    for _ in 0..10 {
        let a = c.send_url("GET", &url, None).await;
        assert_eq!(a.status, 200);
        seen.extend(
            a.body["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["id"].as_str().unwrap().to_owned()),
        );
        match a.body["volumes_links"][0]["href"].as_str() {
            Some(n) => url = n.to_owned(),
            None => break,
        }
    }
    let mut want = ids.clone();
    want.reverse();
    assert_eq!(seen, want);

    let asc = c
        .expect("GET", "/volumes?sort=name:asc&limit=10", None, 200)
        .await;
    assert_eq!(asc["volumes"][0]["name"], "v0");
    assert!(asc.get("volumes_links").is_none());
    let filtered = c.expect("GET", "/volumes/detail?name=v2", None, 200).await;
    assert_eq!(filtered["volumes"].as_array().unwrap().len(), 1);
    let a = c
        .send(
            "GET",
            "/volumes?marker=00000000-0000-4000-8000-000000000000",
            None,
        )
        .await;
    assert_eq!(a.status, 404);
    // Past the fake's bounds (16 filters, 8 sort keys), a 400 in Cinder's
    // shape, however few volumes there are.
    let filters = (0..17)
        .map(|i| format!("name=v{i}"))
        .collect::<Vec<_>>()
        .join("&");
    let sorts = ["name:asc"; 9].join(",");
    let metadata: String = (0..65)
        .map(|i| format!("'k{i}':'v'"))
        .collect::<Vec<_>>()
        .join(",");
    for q in [
        "limit=-1".to_owned(),
        "limit=x".to_owned(),
        "sort=nope".to_owned(),
        filters,
        format!("sort={sorts}"),
    ] {
        let a = c.send("GET", &format!("/volumes?{q}"), None).await;
        assert_eq!(a.status, 400, "{q}");
        assert_eq!(a.body["badRequest"]["code"], 400, "{q}");
        let message = a.body["badRequest"]["message"].as_str().unwrap();
        assert_eq!(
            message.contains("volume-sim's limit"),
            !q.starts_with("limit") && q != "sort=nope",
            "{q}: {message}"
        );
    }
    assert_eq!(
        c.send("GET", "/snapshots?sort=nope", None).await.status,
        400,
        "an unknown sort key is refused over an empty list too"
    );
    // A long metadata filter is no error: it matches what carries all of
    // it (here, nothing), as in Cinder.
    let a = c
        .expect(
            "GET",
            &format!("/volumes?metadata={{{metadata}}}"),
            None,
            200,
        )
        .await;
    assert_eq!(a["volumes"], json!([]));
    let within = (0..16).map(|_| "name=v2").collect::<Vec<_>>().join("&");
    let a = c
        .expect("GET", &format!("/volumes?{within}"), None, 200)
        .await;
    assert_eq!(a["volumes"].as_array().unwrap().len(), 1);
    // `with_count` from 3.45.
    c.at("3.45");
    let counted = c
        .expect("GET", "/volumes?with_count=true&limit=2", None, 200)
        .await;
    assert_eq!(counted["count"], 5);
}

#[tokio::test]
async fn metadata_endpoints() {
    let c = cloud().await;
    let id = c.volume_of("m", 1).await;
    let p = format!("/volumes/{id}/metadata");
    let m = c
        .expect("POST", &p, Some(&json!({"metadata": {"a": "1"}})), 200)
        .await;
    assert_eq!(m["metadata"], json!({"a": "1"}));
    let m = c
        .expect("POST", &p, Some(&json!({"metadata": {"b": "2"}})), 200)
        .await;
    assert_eq!(m["metadata"], json!({"a": "1", "b": "2"}));
    let m = c
        .expect("PUT", &p, Some(&json!({"metadata": {"c": "3"}})), 200)
        .await;
    assert_eq!(m["metadata"], json!({"c": "3"}));
    let k = c.expect("GET", &format!("{p}/c"), None, 200).await;
    assert_eq!(k, json!({"meta": {"c": "3"}}));
    c.expect(
        "PUT",
        &format!("{p}/c"),
        Some(&json!({"meta": {"d": "4"}})),
        400,
    )
    .await;
    c.expect(
        "PUT",
        &format!("{p}/c"),
        Some(&json!({"meta": {"c": "33"}})),
        200,
    )
    .await;
    c.expect("DELETE", &format!("{p}/c"), None, 200).await;
    c.expect("GET", &format!("{p}/c"), None, 404).await;
}

#[tokio::test]
async fn nova_attach_moves_the_volume_through_attaching_in_use_detaching() {
    let mut c = cloud().await;
    let server = c.server_id().await;
    let id = c.volume_of("a", 1).await;
    let a = c
        .send_url(
            "POST",
            &format!("{}/servers/{server}/os-volume_attachments", c.compute),
            Some(&json!({"volumeAttachment": {"volumeId": id}})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["volumeAttachment"]["device"], "/dev/vdb");
    assert_eq!(a.body["volumeAttachment"]["id"], id.as_str());
    assert_eq!(a.body["volumeAttachment"]["serverId"], server.as_str());
    assert_eq!(c.status(&id).await, "attaching");
    c.advance(1);
    let v = c.expect("GET", &format!("/volumes/{id}"), None, 200).await;
    assert_eq!(v["volume"]["status"], "in-use");
    let att = &v["volume"]["attachments"][0];
    assert_eq!(
        (
            att["server_id"].as_str(),
            att["device"].as_str(),
            att["id"].as_str()
        ),
        (Some(server.as_str()), Some("/dev/vdb"), Some(id.as_str()))
    );

    let list = c
        .send_url(
            "GET",
            &format!("{}/servers/{server}/os-volume_attachments", c.compute),
            None,
        )
        .await;
    assert_eq!(list.body["volumeAttachments"].as_array().unwrap().len(), 1);
    // Cinder refuses to delete it, or Nova's attachment through Cinder.
    assert_eq!(
        c.send("DELETE", &format!("/volumes/{id}"), None)
            .await
            .status,
        400
    );
    c.at("3.27");
    let atts = c.expect("GET", "/attachments", None, 200).await;
    let att_id = atts["attachments"][0]["id"].as_str().unwrap().to_owned();
    let a = c
        .send("DELETE", &format!("/attachments/{att_id}"), None)
        .await;
    assert_eq!(a.status, 409);
    assert!(a.body["conflictingRequest"]["message"]
        .as_str()
        .unwrap()
        .starts_with("ConflictNovaUsingAttachment"));

    // Extend while attached: refused below 3.42, online from it.
    c.at("3.41");
    let a = c
        .send(
            "POST",
            &format!("/volumes/{id}/action"),
            Some(&json!({"os-extend": {"new_size": 2}})),
        )
        .await;
    assert_eq!(a.status, 400);
    assert!(a.body["badRequest"]["message"]
        .as_str()
        .unwrap()
        .contains("currently in-use"));
    c.at("3.42");
    c.expect(
        "POST",
        &format!("/volumes/{id}/action"),
        Some(&json!({"os-extend": {"new_size": 2}})),
        202,
    )
    .await;
    c.advance(1);
    assert_eq!(c.status(&id).await, "in-use");

    let d = c
        .send_url(
            "DELETE",
            &format!("{}/servers/{server}/os-volume_attachments/{id}", c.compute),
            None,
        )
        .await;
    assert_eq!(d.status, 202);
    assert_eq!(c.status(&id).await, "detaching");
    c.advance(1);
    assert_eq!(c.status(&id).await, "available");
    let again = c
        .send_url(
            "DELETE",
            &format!("{}/servers/{server}/os-volume_attachments/{id}", c.compute),
            None,
        )
        .await;
    assert_eq!(again.status, 404);
    assert_fault(&again.body, 404);
}

#[tokio::test]
async fn the_attachments_api_reserves_connects_completes_and_deletes() {
    let mut c = cloud().await;
    c.at("3.44");
    let server = c.server_id().await;
    let id = c.volume_of("att", 1).await;
    let made = c
        .expect(
            "POST",
            "/attachments",
            Some(&json!({"attachment": {"volume_uuid": id, "instance_uuid": server}})),
            200,
        )
        .await;
    let att = made["attachment"]["id"].as_str().unwrap().to_owned();
    assert_eq!(made["attachment"]["status"], "reserved");
    assert_eq!(c.status(&id).await, "reserved");
    let updated = c
        .expect(
            "PUT",
            &format!("/attachments/{att}"),
            Some(&json!({"attachment": {"connector": {"host": "h", "initiator": "iqn"}}})),
            200,
        )
        .await;
    assert_eq!(updated["attachment"]["status"], "attaching");
    assert_eq!(
        updated["attachment"]["connection_info"]["driver_volume_type"],
        "iscsi"
    );
    c.advance(1);
    c.expect(
        "POST",
        &format!("/attachments/{att}/action"),
        Some(&json!({"os-complete": {}})),
        204,
    )
    .await;
    let shown = c
        .expect("GET", &format!("/attachments/{att}"), None, 200)
        .await;
    assert_eq!(shown["attachment"]["status"], "attached");
    assert_eq!(c.status(&id).await, "in-use");
    let v = c.expect("GET", &format!("/volumes/{id}"), None, 200).await;
    assert_eq!(v["volume"]["attachments"][0]["attachment_id"], att.as_str());
    let gone = c
        .expect("DELETE", &format!("/attachments/{att}"), None, 200)
        .await;
    assert_eq!(gone, json!({"attachments": []}));
    c.advance(1);
    assert_eq!(c.status(&id).await, "available");
}

#[tokio::test]
async fn snapshots_follow_the_3_66_force_rule() {
    let mut c = cloud().await;
    let server = c.server_id().await;
    let id = c.volume_of("s", 1).await;
    c.send_url(
        "POST",
        &format!("{}/servers/{server}/os-volume_attachments", c.compute),
        Some(&json!({"volumeAttachment": {"volumeId": id}})),
    )
    .await;
    c.advance(1);
    let snap = |force: Option<bool>| {
        let mut s = json!({"snapshot": {"volume_id": id, "name": "x"}});
        if let Some(f) = force {
            s["snapshot"]["force"] = json!(f);
        }
        s
    };
    c.at("3.65");
    let a = c.send("POST", "/snapshots", Some(&snap(None))).await;
    assert_eq!(a.status, 400);
    assert!(a.body["badRequest"]["message"]
        .as_str()
        .unwrap()
        .contains("current status is: in-use"));
    c.expect("POST", "/snapshots", Some(&snap(Some(true))), 202)
        .await;
    c.at("3.66");
    let a = c.send("POST", "/snapshots", Some(&snap(Some(false)))).await;
    assert_eq!(a.status, 400);
    assert!(a.body["badRequest"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Since microversion 3.66"));
    let s = c.expect("POST", "/snapshots", Some(&snap(None)), 202).await;
    let sid = s["snapshot"]["id"].as_str().unwrap().to_owned();
    assert_eq!(s["snapshot"]["status"], "creating");
    c.advance(1);
    let shown = c
        .expect("GET", &format!("/snapshots/{sid}"), None, 200)
        .await;
    assert_eq!(shown["snapshot"]["status"], "available");
    assert_eq!(
        shown["snapshot"]["os-extended-snapshot-attributes:progress"],
        "100%"
    );
    let u = c
        .expect(
            "PUT",
            &format!("/snapshots/{sid}"),
            Some(&json!({"snapshot": {"name": "y", "description": "z"}})),
            200,
        )
        .await;
    assert_eq!(
        (
            u["snapshot"]["name"].as_str(),
            u["snapshot"]["description"].as_str()
        ),
        (Some("y"), Some("z"))
    );
    let list = c
        .expect(
            "GET",
            &format!("/snapshots/detail?volume_id={id}"),
            None,
            200,
        )
        .await;
    assert_eq!(list["snapshots"].as_array().unwrap().len(), 2);
    c.expect("DELETE", &format!("/snapshots/{sid}"), None, 202)
        .await;
    c.advance(1);
    c.expect("GET", &format!("/snapshots/{sid}"), None, 404)
        .await;
}

#[tokio::test]
async fn deleting_a_volume_with_snapshots_needs_cascade() {
    let c = cloud().await;
    let id = c.volume_of("c", 1).await;
    c.expect(
        "POST",
        "/snapshots",
        Some(&json!({"snapshot": {"volume_id": id}})),
        202,
    )
    .await;
    c.advance(1);
    let a = c.send("DELETE", &format!("/volumes/{id}"), None).await;
    assert_eq!(a.status, 400);
    assert!(a.body["badRequest"]["message"]
        .as_str()
        .unwrap()
        .contains("have snapshots"));
    c.expect("DELETE", &format!("/volumes/{id}?cascade=true"), None, 202)
        .await;
    c.advance(2);
    c.expect("GET", &format!("/volumes/{id}"), None, 404).await;
    let snaps = c.expect("GET", "/snapshots", None, 200).await;
    assert_eq!(snaps["snapshots"], json!([]));
}

#[tokio::test]
async fn backups_full_incremental_and_restore() {
    let mut c = cloud().await;
    c.at("3.56");
    let id = c.volume_of("b", 2).await;
    let a = c
        .send(
            "POST",
            "/backups",
            Some(&json!({"backup": {"volume_id": id, "incremental": true}})),
        )
        .await;
    assert_eq!(a.status, 400);
    let full = c.expect("POST", "/backups", Some(&json!({"backup": {"volume_id": id, "name": "full", "container": "volume-backups"}})), 202).await;
    assert_eq!(full["backup"].as_object().unwrap().len(), 3);
    let full_id = full["backup"]["id"].as_str().unwrap().to_owned();
    assert_eq!(c.status(&id).await, "backing-up");
    c.advance(1);
    assert_eq!(c.status(&id).await, "available");
    let inc = c
        .expect(
            "POST",
            "/backups",
            Some(&json!({"backup": {"volume_id": id, "incremental": true}})),
            202,
        )
        .await;
    let inc_id = inc["backup"]["id"].as_str().unwrap().to_owned();
    c.advance(1);
    let shown = c
        .expect("GET", &format!("/backups/{full_id}"), None, 200)
        .await;
    assert_eq!(shown["backup"]["has_dependent_backups"], true);
    assert_eq!(shown["backup"]["container"], "volume-backups");
    assert_eq!(shown["backup"]["status"], "available");
    let shown = c
        .expect("GET", &format!("/backups/{inc_id}"), None, 200)
        .await;
    assert_eq!(shown["backup"]["is_incremental"], true);
    // The full one cannot go while the incremental one builds on it.
    c.expect("DELETE", &format!("/backups/{full_id}"), None, 400)
        .await;

    let r = c
        .expect(
            "POST",
            &format!("/backups/{full_id}/restore"),
            Some(&json!({"restore": {"name": "restored"}})),
            202,
        )
        .await;
    let new_id = r["restore"]["volume_id"].as_str().unwrap().to_owned();
    assert_eq!(r["restore"]["backup_id"], full_id.as_str());
    c.advance(1);
    assert_eq!(c.status(&new_id).await, "available");
    let r = c
        .expect(
            "POST",
            &format!("/backups/{full_id}/restore"),
            Some(&json!({"restore": {"volume_id": id}})),
            202,
        )
        .await;
    assert_eq!(r["restore"]["volume_id"], id.as_str());
    assert_eq!(c.status(&id).await, "restoring-backup");
    c.advance(1);
    assert_eq!(c.status(&id).await, "available");
    let list = c.expect("GET", "/backups/detail", None, 200).await;
    assert_eq!(list["backups"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn quotas_answer_413_over_limit_and_show_usage() {
    let mut c = cloud_with(
        CinderFake::builder().quota(Quota::unlimited().with_volumes(1).with_gigabytes(10)),
    )
    .await;
    c.volume_of("q", 2).await;
    let a = c
        .send("POST", "/volumes", Some(&json!({"volume": {"size": 1}})))
        .await;
    assert_eq!(a.status, 413);
    assert_eq!(a.header("retry-after"), Some("0"));
    let msg = a.body["overLimit"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("VolumeLimitExceeded: Maximum number of volumes allowed (1)"),
        "{msg}"
    );
    assert_eq!(a.body["overLimit"]["retryAfter"], "0");
    let q = c
        .expect(
            "GET",
            &format!("/os-quota-sets/{}?usage=true", c.project),
            None,
            200,
        )
        .await;
    assert_eq!(
        q["quota_set"]["volumes"],
        json!({"in_use": 1, "limit": 1, "reserved": 0})
    );
    assert_eq!(q["quota_set"]["gigabytes"]["in_use"], 2);
    let q = c
        .expect("GET", &format!("/os-quota-sets/{}", c.project), None, 200)
        .await;
    assert_eq!(q["quota_set"]["volumes"], 1);
    assert_eq!(q["quota_set"]["snapshots"], -1);
    let l = c.expect("GET", "/limits", None, 200).await;
    assert_eq!(l["limits"]["absolute"]["maxTotalVolumes"], 1);
    assert_eq!(l["limits"]["absolute"]["totalGigabytesUsed"], 2);
    let _ = c.at("3.0");
}

#[tokio::test]
async fn a_volume_that_lands_in_error_explains_itself_in_a_message() {
    let mut c = cloud().await;
    c.fake
        .engine()
        .inject(FaultRule::new(Fault::LandInError).on(SimOp::CreateVolume));
    let created = c
        .send("POST", "/volumes", Some(&json!({"volume": {"size": 1}})))
        .await;
    assert_eq!(created.status, 202);
    let request_id = created.header("x-openstack-request-id").unwrap().to_owned();
    let ids = created
        .headers
        .get_all("x-openstack-request-id")
        .iter()
        .count();
    assert_eq!(ids, 1);
    let id = created.body["volume"]["id"].as_str().unwrap().to_owned();
    c.at("3.3");
    let none = c.expect("GET", "/messages", None, 200).await;
    assert_eq!(none["messages"], json!([]));
    c.advance(1);
    assert_eq!(c.status(&id).await, "error");
    let msgs = c
        .expect("GET", &format!("/messages?resource_uuid={id}"), None, 200)
        .await;
    let m = &msgs["messages"][0];
    assert_eq!(m["event_id"], "VOLUME_000002");
    assert_eq!(m["resource_type"], "VOLUME");
    assert_eq!(
        m["user_message"],
        "No storage could be allocated for this volume request."
    );
    assert_eq!(m["request_id"], request_id.as_str());
    let mid = m["id"].as_str().unwrap().to_owned();
    c.expect("GET", &format!("/messages/{mid}"), None, 200)
        .await;
    c.expect("DELETE", &format!("/messages/{mid}"), None, 204)
        .await;
    c.expect("GET", &format!("/messages/{mid}"), None, 404)
        .await;
    // A volume in error can be deleted.
    c.expect("DELETE", &format!("/volumes/{id}"), None, 202)
        .await;
}

#[tokio::test]
async fn admin_actions_reset_status_and_force_delete() {
    let c = cloud().await;
    let id = c.volume_of("r", 1).await;
    c.expect(
        "POST",
        &format!("/volumes/{id}/action"),
        Some(&json!({"os-reset_status": {"status": "error"}})),
        202,
    )
    .await;
    assert_eq!(c.status(&id).await, "error");
    c.expect(
        "POST",
        &format!("/volumes/{id}/action"),
        Some(&json!({"os-reset_status": {"status": "bogus"}})),
        400,
    )
    .await;
    c.expect(
        "POST",
        &format!("/volumes/{id}/action"),
        Some(&json!({"os-nope": {}})),
        400,
    )
    .await;
    c.expect(
        "POST",
        &format!("/volumes/{id}/action"),
        Some(&json!({"os-force_delete": {}})),
        202,
    )
    .await;
    c.advance(1);
    c.expect("GET", &format!("/volumes/{id}"), None, 404).await;
}

#[tokio::test]
async fn types_qos_zones_and_the_project_less_url() {
    let mut c = cloud().await;
    let types = c.expect("GET", "/types", None, 200).await;
    let names: Vec<&str> = types["volume_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["__DEFAULT__", "ssd", "hdd"]);
    let ssd = types["volume_types"][1]["id"].as_str().unwrap().to_owned();
    let t = c.expect("GET", &format!("/types/{ssd}"), None, 200).await;
    assert_eq!(t["volume_type"]["name"], "ssd");
    let d = c.expect("GET", "/types/default", None, 200).await;
    assert_eq!(d["volume_type"]["name"], "__DEFAULT__");
    let specs = c
        .expect("GET", &format!("/types/{ssd}/extra_specs"), None, 200)
        .await;
    assert_eq!(specs["extra_specs"]["disk_type"], "ssd");
    let qos = c.expect("GET", "/qos-specs", None, 200).await;
    let qid = qos["qos_specs"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(t["volume_type"]["qos_specs_id"], qid.as_str());
    c.expect("GET", &format!("/qos-specs/{qid}"), None, 200)
        .await;
    let z = c.expect("GET", "/os-availability-zone", None, 200).await;
    assert_eq!(z["availabilityZoneInfo"][0]["zoneName"], "nova");
    // Volumes created by type id.
    let v = c
        .expect(
            "POST",
            "/volumes",
            Some(&json!({"volume": {"size": 1, "volume_type": ssd}})),
            202,
        )
        .await;
    assert_eq!(v["volume"]["volume_type"], "ssd");
    // The project-less form reaches the same volumes.
    let base = c.volume.clone();
    c.volume = format!("{}/volume/v3", c.server.uri());
    let list = c.expect("GET", "/volumes", None, 200).await;
    assert_eq!(list["volumes"].as_array().unwrap().len(), 1);
    c.volume = base;
    let a = c.send("PATCH", "/volumes", None).await;
    assert_eq!(a.status, 405);
    assert_fault(&a.body, 405);
    let a = c.send("GET", "/nothing-here", None).await;
    assert_eq!(a.status, 404);
    assert_fault(&a.body, 404);
}

#[tokio::test]
async fn keystone_shows_the_project_to_a_valid_token() {
    let c = cloud().await;
    let auth = CinderFake::auth_url(&c.server);
    let get = |url: String, token: &str| {
        let http = c.http.clone();
        let token = token.to_owned();
        async move {
            let r = http
                .get(url)
                .header("x-auth-token", token)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, list) = get(format!("{auth}/projects?name={DEFAULT_PROJECT}"), &c.token).await;
    assert_eq!(status, 200);
    assert_eq!(list["projects"][0]["id"], c.project.as_str());
    let (_, none) = get(format!("{auth}/projects?name=other"), &c.token).await;
    assert_eq!(none["projects"], json!([]));
    let (status, one) = get(format!("{auth}/projects/{}", c.project), &c.token).await;
    assert_eq!(
        (status, &one["project"]["name"]),
        (200, &json!(DEFAULT_PROJECT))
    );
    let (status, missing) = get(format!("{auth}/projects/abc"), &c.token).await;
    assert_eq!((status, &missing["error"]["code"]), (404, &json!(404)));
    let (status, refused) = get(format!("{auth}/projects"), "nope").await;
    assert_eq!(
        (status, &refused["error"]["title"]),
        (401, &json!("Unauthorized"))
    );
    let (status, other) = get(format!("{auth}/users"), &c.token).await;
    assert_eq!(
        (status, &other["error"]["title"]),
        (404, &json!("Not Found"))
    );
}

#[tokio::test]
async fn injected_faults_come_back_in_cinders_shape() {
    let c = cloud().await;
    let e = c.fake.engine();
    e.inject(
        FaultRule::new(Fault::ErrorBefore {
            status: 503,
            message: "try later".into(),
        })
        .on(SimOp::CreateVolume),
    );
    let a = c
        .send("POST", "/volumes", Some(&json!({"volume": {"size": 1}})))
        .await;
    assert_eq!(a.status, 503);
    assert_eq!(a.body["serviceUnavailable"]["code"], 503);
    assert_eq!(
        c.expect("GET", "/volumes", None, 200).await["volumes"],
        json!([])
    );
    e.clear_faults();

    let id = c.volume_of("f", 1).await;
    // The fault is decided by the action the body names.
    e.inject(
        FaultRule::new(Fault::ErrorBefore {
            status: 500,
            message: String::new(),
        })
        .on(SimOp::ResizeVolume),
    );
    let a = c
        .send(
            "POST",
            &format!("/volumes/{id}/action"),
            Some(&json!({"os-extend": {"new_size": 2}})),
        )
        .await;
    assert_eq!(a.status, 500);
    assert!(a.body["computeFault"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    c.expect(
        "POST",
        &format!("/volumes/{id}/action"),
        Some(&json!({"os-set_bootable": {"bootable": true}})),
        200,
    )
    .await;
    e.clear_faults();
    let v = c.expect("GET", &format!("/volumes/{id}"), None, 200).await;
    assert_eq!(v["volume"]["size"], 1);

    e.inject(
        FaultRule::new(Fault::RateLimited {
            retry_after: Duration::from_secs(7),
        })
        .on(SimOp::ListVolumes),
    );
    let a = c.send("GET", "/volumes/detail", None).await;
    assert_eq!(a.status, 429);
    assert_eq!(a.header("retry-after"), Some("7"));
    assert_eq!(a.body["overLimit"]["retryAfter"], "7");
    e.clear_faults();

    // After the change: the caller sees an error, the volume is attached.
    let server = c.server_id().await;
    e.inject(
        FaultRule::new(Fault::ErrorAfter {
            status: 502,
            message: "gateway".into(),
        })
        .on(SimOp::AttachVolume),
    );
    let a = c
        .send_url(
            "POST",
            &format!("{}/servers/{server}/os-volume_attachments", c.compute),
            Some(&json!({"volumeAttachment": {"volumeId": id}})),
        )
        .await;
    assert_eq!(a.status, 502);
    assert_eq!(a.body["computeFault"]["code"], 502);
    c.advance(1);
    assert_eq!(c.status(&id).await, "in-use");
}

#[tokio::test]
async fn the_served_banner_has_a_ready_clouds_yaml_and_no_chosen_secret() {
    use volume_sim::fake::registry::Settings;
    use volume_sim::serve::{ServeConfig, Server};
    let mut config = ServeConfig::default();
    config.settings = Settings::defaults()
        .with("cinder-user", "alice")
        .with("cinder-password", "hunter2-password")
        .with("cinder-app-credential-secret", "hunter2-secret");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = Server::start(listener, &config).await.unwrap();
    let cinder = server
        .dialects()
        .into_iter()
        .find(|d| d.name == "cinder")
        .unwrap();
    let auth_url = format!("http://{}/identity/v3", server.address());
    assert_eq!(cinder.base_url, auth_url);
    assert!(
        !cinder.credentials.contains("hunter2"),
        "{}",
        cinder.credentials
    );
    assert!(cinder
        .credentials
        .contains(&format!("auth_url: {auth_url}")));
    assert!(cinder.credentials.contains("username: alice"));
    assert!(cinder
        .credentials
        .contains("(as given with --cinder-password)"));
    assert!(!cinder.credentials.contains("{base_url}"));
    // The configured user logs in; the default one no longer does.
    let http = reqwest::Client::new();
    let login = |user: &str, password: &str| {
        let http = http.clone();
        let body = password_body(user, password, DEFAULT_PROJECT);
        let url = format!("{auth_url}/auth/tokens");
        async move {
            http.post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(login("alice", "hunter2-password").await, 201);
    assert_eq!(login(DEFAULT_USER, DEFAULT_PASSWORD).await, 401);
}

#[tokio::test]
async fn an_attached_volume_backs_up_only_with_force_and_retypes_in_use() {
    let c = cloud().await;
    let server = c.server_id().await;
    let id = c.volume_of("ab", 1).await;
    let a = c
        .send_url(
            "POST",
            &format!("{}/servers/{server}/os-volume_attachments", c.compute),
            Some(&json!({"volumeAttachment": {"volumeId": id, "device": "/dev/vdc"}})),
        )
        .await;
    assert_eq!(a.body["volumeAttachment"]["device"], "/dev/vdc");
    c.advance(1);
    let refused = c
        .send(
            "POST",
            "/backups",
            Some(&json!({"backup": {"volume_id": id}})),
        )
        .await;
    assert_eq!(refused.status, 400);
    assert_fault(&refused.body, 400);
    c.expect(
        "POST",
        "/backups",
        Some(&json!({"backup": {"volume_id": id, "force": true}})),
        202,
    )
    .await;
    assert_eq!(c.status(&id).await, "backing-up");
    c.advance(1);
    assert_eq!(c.status(&id).await, "in-use");
    c.expect(
        "POST",
        &format!("/volumes/{id}/action"),
        Some(&json!({"os-retype": {"new_type": "ssd", "migration_policy": "on-demand"}})),
        202,
    )
    .await;
    assert_eq!(c.status(&id).await, "retyping");
    c.advance(1);
    assert_eq!(c.status(&id).await, "in-use");
    let a = c
        .send(
            "POST",
            &format!("/volumes/{id}/action"),
            Some(&json!({"os-retype": {"new_type": "ssd", "migration_policy": "sometimes"}})),
        )
        .await;
    assert_eq!(a.status, 400);
}
