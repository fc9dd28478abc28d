//! The Linode fake with the engine's `LINODE_LIFECYCLE`: the exchange
//! recorded in linodego's `TestInstance_Volumes_List` (create a volume on a
//! Linode, list the Linode's volumes while it is still `creating`, delete it
//! at once: 200 `{}`) plays out against the fake, and nothing is left after.

use serde_json::{json, Value};
use volume_sim::fake::linode::LinodeFake;

const TOKEN: &str = "engine-token";

async fn call(
    client: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client
        .request(method, format!("{base}{path}"))
        .bearer_auth(TOKEN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("the fake answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("a JSON body"))
}

#[tokio::test]
async fn a_volume_listed_creating_on_its_linode_is_deleted_at_once() {
    let fake = LinodeFake::builder().token(TOKEN, "t").build();
    let server = fake.start().await;
    let base = server.uri();
    let client = reqwest::Client::new();
    let get = reqwest::Method::GET;

    let (status, linodes) = call(&client, &base, get.clone(), "/v4/linode/instances", None).await;
    assert_eq!(status, 200, "{linodes}");
    let linode = &linodes["data"][0];
    let (linode_id, region) = (linode["id"].as_u64().unwrap(), linode["region"].clone());

    let create = json!({"label": "go-vol-test-def", "region": region, "linode_id": linode_id});
    let (status, v) = call(
        &client,
        &base,
        reqwest::Method::POST,
        "/v4/volumes",
        Some(create),
    )
    .await;
    assert_eq!((status, &v["status"]), (200, &json!("creating")), "{v}");
    let id = v["id"].as_u64().unwrap();

    let listed = format!("/v4/linode/instances/{linode_id}/volumes");
    let (status, page) = call(&client, &base, get.clone(), &listed, None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["data"][0]["id"], id);
    assert_eq!(page["data"][0]["status"], "creating");

    let path = format!("/v4/volumes/{id}");
    let (status, body) = call(&client, &base, reqwest::Method::DELETE, &path, None).await;
    assert_eq!((status, &body), (200, &json!({})));

    // Gone now, and still gone once every timer has run.
    fake.engine().run_until_quiet();
    let (status, _) = call(&client, &base, get.clone(), &path, None).await;
    assert_eq!(status, 404);
    let (_, page) = call(&client, &base, get.clone(), &listed, None).await;
    assert_eq!(page["results"], 0, "{page}");
    let (_, all) = call(&client, &base, get, "/v4/volumes", None).await;
    assert_eq!(all["results"], 0, "{all}");
}
