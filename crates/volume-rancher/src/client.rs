//! The Cattle requests the client sends, over volume-core's [`Transport`].
//!
//! Nothing here decides anything: each function describes one request and
//! decodes the answer into [wire types](crate::wire). Cattle is a hypermedia
//! API, so most requests go to a URL taken from an answer (`links.self`, an
//! `actions` entry, `pagination.next`), sent with [`Request::link`], which
//! the transport refuses unless it is on the client's own scheme, host and
//! port; URLs are built from the base URL (`.../v2-beta[/projects/<id>]`)
//! only for a first request, where there is no link yet. Ids are always
//! passed as path segments, each percent-encoded on its own.

use serde::de::DeserializeOwned;
use serde::Serialize;
use volume_core::http::{Method, Request, Transport};
use volume_core::{ResourceKind, Result};

use crate::wire::{Collection, CreateBody, RancherVolume};

/// The Cattle endpoints volume-rs uses.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    transport: Transport,
}

impl Client {
    pub(crate) fn new(transport: Transport) -> Self {
        Self { transport }
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// `GET /<collection>?<query>` (the first page), or `GET <next>`.
    pub(crate) async fn list<T: DeserializeOwned>(
        &self,
        collection: &str,
        kind: ResourceKind,
        query: &[(String, String)],
        next: Option<&str>,
    ) -> Result<Collection<T>> {
        let request = match next {
            Some(link) => Request::follow(link),
            None => query
                .iter()
                .fold(Request::get([collection]), |r, (k, v)| r.query(k, v)),
        };
        self.transport.send_json(request.about(kind, "")).await
    }

    /// `GET /<collection>/<id>`.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        collection: &str,
        kind: ResourceKind,
        id: &str,
    ) -> Result<T> {
        self.transport
            .send_json(Request::get([collection, id]).about(kind, id))
            .await
    }

    /// `GET <link>` (a `links` entry of a resource).
    pub(crate) async fn follow<T: DeserializeOwned>(
        &self,
        link: &str,
        kind: ResourceKind,
        id: &str,
    ) -> Result<T> {
        self.transport
            .send_json(Request::follow(link).about(kind, id))
            .await
    }

    /// `POST /volumes` (answers 201 with the volume).
    pub(crate) async fn create_volume(&self, body: &CreateBody<'_>) -> Result<RancherVolume> {
        self.transport
            .send_json(
                Request::post(["volumes"])
                    .json(body)
                    .about(ResourceKind::Volume, body.name),
            )
            .await
    }

    /// `PUT <links.self>` with the updatable fields.
    pub(crate) async fn update<T: DeserializeOwned, B: Serialize>(
        &self,
        self_link: &str,
        kind: ResourceKind,
        id: &str,
        body: &B,
    ) -> Result<T> {
        self.transport
            .send_json(
                Request::link(Method::PUT, self_link)
                    .json(body)
                    .about(kind, id),
            )
            .await
    }

    /// `DELETE <links.self>` (answers 200 with the resource, removing).
    pub(crate) async fn delete<T: DeserializeOwned>(
        &self,
        self_link: &str,
        kind: ResourceKind,
        id: &str,
    ) -> Result<T> {
        self.transport
            .send_json(Request::link(Method::DELETE, self_link).about(kind, id))
            .await
    }

    /// `POST <actions[name]>`, with a JSON input or no body (process
    /// actions answer 202 with the resource; `snapshot` answers 200 with
    /// the new snapshot). Never repeated blindly: an action is not
    /// idempotent.
    pub(crate) async fn action<T: DeserializeOwned, B: Serialize>(
        &self,
        action_link: &str,
        kind: ResourceKind,
        id: &str,
        input: Option<&B>,
    ) -> Result<T> {
        let mut request = Request::link(Method::POST, action_link).about(kind, id);
        if let Some(input) = input {
            request = request.json(input);
        }
        self.transport.send_json(request).await
    }
}
