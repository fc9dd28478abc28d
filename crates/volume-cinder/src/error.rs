//! Error mapping of the Cinder client (template: nothing here yet).
//!
//! `map_error(status, body)`: Cinder's fault bodies, keyed by the fault's name
//! (`{"itemNotFound": {"code": 404, "message": ..}}`, `badRequest`, `overLimit`
//! with `Retry-After`, ...) and Keystone's `{"error": {"code", "title",
//! "message"}}` on `401`, to volume-core errors, keeping the status, the
//! message and the request id (`x-openstack-request-id`). See `cinder.md` for
//! the table.
//!
//! Nothing is written here yet: a template must not pretend to work.
