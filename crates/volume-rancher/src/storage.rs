//! The `BlockStorage` implementation of the Rancher client (template: nothing here yet).
//!
//! `impl BlockStorage for Rancher`, thin: each method calls the client type's
//! own operation. Also `CAPABILITIES`, the `Capabilities` constant with what
//! Cattle volumes can do (see `rancher.md`), including their name limit if
//! Cattle has one (`with_max_name_len`).
//!
//! Nothing is written here yet: a template must not pretend to work.
