//! The endpoint calls of the Cinder client (template: nothing here yet).
//!
//! One `async fn` per Cinder endpoint over the shared transport: each describes
//! one request (method, path segments, query, the `OpenStack-API-Version:
//! volume 3.N` header, body) and decodes the answer into the wire types.
//! Nothing here decides anything.
//!
//! Nothing is written here yet: a template must not pretend to work.
