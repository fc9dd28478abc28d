//! A small Keystone + Cinder client over reqwest, for the Cinder fake's
//! tests.

use serde_json::{json, Value};
use volume_sim::fake::cinder::{
    CinderFake, CinderFakeBuilder, DEFAULT_PASSWORD, DEFAULT_PROJECT, DEFAULT_USER,
};
use wiremock::MockServer;

pub struct Cloud {
    pub fake: CinderFake,
    pub server: MockServer,
    pub http: reqwest::Client,
    pub token: String,
    pub project: String,
    /// `http://127.0.0.1:PORT/volume/v3/{project}`.
    pub volume: String,
    /// `http://127.0.0.1:PORT/compute/v2.1`.
    pub compute: String,
    /// The microversion sent (`None`: no header).
    pub mv: Option<String>,
}

pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn password_body(user: &str, password: &str, project: &str) -> Value {
    json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}})
}

pub async fn cloud() -> Cloud {
    cloud_with(CinderFake::builder()).await
}

pub async fn cloud_with(builder: CinderFakeBuilder) -> Cloud {
    let fake = builder.build();
    let server = fake.start().await;
    let http = reqwest::Client::new();
    let auth = CinderFake::auth_url(&server);
    let reply = http
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
    let token = reply.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_owned();
    let doc: Value = reply.json().await.unwrap();
    let project = doc["token"]["project"]["id"].as_str().unwrap().to_owned();
    let volume = format!("{}/volume/v3/{project}", server.uri());
    let compute = format!("{}/compute/v2.1", server.uri());
    Cloud {
        fake,
        server,
        http,
        token,
        project,
        volume,
        compute,
        mv: None,
    }
}

impl Cloud {
    /// The same cloud, sending `OpenStack-API-Version: volume {mv}`.
    pub fn at(&mut self, mv: &str) -> &mut Self {
        self.mv = Some(mv.to_owned());
        self
    }

    pub async fn send_url(&self, method: &str, url: &str, body: Option<&Value>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self
            .http
            .request(method, url)
            .header("x-auth-token", &self.token)
            .header("accept", "application/json");
        if let Some(mv) = &self.mv {
            rb = rb.header("openstack-api-version", format!("volume {mv}"));
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let reply = rb.send().await.unwrap();
        let status = reply.status().as_u16();
        let headers = reply.headers().clone();
        let text = reply.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        };
        Answer {
            status,
            body,
            headers,
        }
    }

    /// `method {volume}{path}`.
    pub async fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        self.send_url(method, &format!("{}{path}", self.volume), body)
            .await
    }

    /// `method {volume}{path}`, which must answer `status`.
    pub async fn expect(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        status: u16,
    ) -> Value {
        let a = self.send(method, path, body).await;
        assert_eq!(a.status, status, "{method} {path}: {}", a.body);
        a.body
    }

    /// Moves the engine's clock on by `secs` seconds.
    pub fn advance(&self, secs: u64) {
        self.fake
            .engine()
            .advance(std::time::Duration::from_secs(secs));
    }

    /// Creates a volume of `size` GiB named `name` and lets it become
    /// available; its id.
    pub async fn volume_of(&self, name: &str, size: u64) -> String {
        let v = self
            .expect(
                "POST",
                "/volumes",
                Some(&json!({"volume": {"name": name, "size": size}})),
                202,
            )
            .await;
        self.advance(5);
        v["volume"]["id"].as_str().unwrap().to_owned()
    }

    pub async fn status(&self, id: &str) -> String {
        let v = self
            .expect("GET", &format!("/volumes/{id}"), None, 200)
            .await;
        v["volume"]["status"].as_str().unwrap().to_owned()
    }

    /// The first running seeded server's id.
    pub async fn server_id(&self) -> String {
        let a = self
            .send_url("GET", &format!("{}/servers/detail", self.compute), None)
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        a.body["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["status"] == "ACTIVE")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// Panics unless `body` is Cinder's fault body with `status`.
pub fn assert_fault(body: &Value, status: u16) {
    let m = body
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {body}"));
    assert_eq!(m.len(), 1, "{body}");
    let (name, inner) = m.iter().next().unwrap();
    let want = match status {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "badMethod",
        409 => "conflictingRequest",
        413 => "overLimit",
        _ => "computeFault",
    };
    assert_eq!(name, want, "{body}");
    assert_eq!(inner["code"], status, "{body}");
    assert!(
        inner["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}
