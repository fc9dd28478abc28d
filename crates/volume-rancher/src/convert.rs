//! Conversions of the Rancher client (template: nothing here yet).
//!
//! Cattle's wire types to volume-core's model and back: `state` words
//! (`requested`, `active`, `inactive`, `detached`, `removed`, `purged`, ...) to
//! the core states with `raw_state` kept, `sizeMb` to sizes, `driver` and
//! `driverOpts`, mounts to attachments.
//!
//! Nothing is written here yet: a template must not pretend to work.
