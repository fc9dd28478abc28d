//! The `Rancher` client type (template: nothing here yet).
//!
//! `Rancher`, the public client type: its `Display` (`Rancher(<url>)`), and
//! Rancher-only operations as inherent methods (storage drivers, snapshots and
//! backups of a volume, the projects a key can see).
//!
//! It holds the transport, and composes the client's calls into operations
//! (check the rules, call, convert); `storage.rs` forwards the trait to them.
//!
//! Nothing is written here yet: a template must not pretend to work.
