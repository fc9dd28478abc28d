//! The `BlockStorage` implementation of the Cinder client (template: nothing here yet).
//!
//! `impl BlockStorage for Cinder`, thin: each method calls the client type's
//! own operation. Also `CAPABILITIES`, the `Capabilities` constant with what
//! Cinder can do (snapshots, backups with incremental ones, clones, volumes
//! from snapshots and backups, online extend from 3.42) and its name limit
//! (`with_max_name_len(Some(255))`).
//!
//! Nothing is written here yet: a template must not pretend to work.
