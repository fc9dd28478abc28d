//! The endpoint calls of the Rancher client (template: nothing here yet).
//!
//! One `async fn` per Cattle endpoint over the shared transport: the volume
//! collection of a project (`/v2-beta/projects/{id}/volumes`), one volume, its
//! actions (`POST ..?action=<name>`, taken from the resource's `actions` links,
//! which are same-origin absolute URLs) and the `next` links of a collection.
//! Nothing here decides anything.
//!
//! Nothing is written here yet: a template must not pretend to work.
