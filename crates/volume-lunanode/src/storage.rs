//! The `BlockStorage` implementation of the LunaNode client (template: nothing here yet).
//!
//! `impl BlockStorage for LunaNode`, thin: each method calls the client type's
//! own operation. Also `CAPABILITIES`, the `Capabilities` constant with what
//! LunaNode volumes can do (see `lunanode.md`) and its name limit, if it has
//! one (`with_max_name_len`).
//!
//! Nothing is written here yet: a template must not pretend to work.
