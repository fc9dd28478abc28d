//! The endpoint calls of the LunaNode client (template: nothing here yet).
//!
//! One `async fn` per LunaNode action (`volume/list`, `volume/info`,
//! `volume/create`, `volume/attach`, `volume/detach`, `volume/extend`,
//! `volume/delete`, `volume/snapshot-*`) over the shared transport: each
//! describes one form-encoded request and decodes the answer into the wire
//! types. Nothing here decides anything.
//!
//! Nothing is written here yet: a template must not pretend to work.
