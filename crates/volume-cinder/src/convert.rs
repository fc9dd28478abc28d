//! Conversions of the Cinder client (template: nothing here yet).
//!
//! Cinder's wire types to volume-core's model and back: `status` words
//! (`available`, `in-use`, `creating`, `extending`, `error_extending`, ...) to
//! the core states with `raw_state` kept, `size` in GiB, `attachments` to core
//! attachments, `metadata` to labels, `volume_type`, `availability_zone` to the
//! region.
//!
//! Nothing is written here yet: a template must not pretend to work.
