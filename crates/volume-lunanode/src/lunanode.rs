//! The `LunaNode` client type (template: nothing here yet).
//!
//! `LunaNode`, the public client type: its `Display`
//! (`LunaNode(dynamic.lunanode.com)`), and LunaNode-only operations as inherent
//! methods (snapshot replication to another region, volume images).
//!
//! It holds the transport, and composes the client's calls into operations
//! (check the rules, call, convert); `storage.rs` forwards the trait to them.
//!
//! Nothing is written here yet: a template must not pretend to work.
