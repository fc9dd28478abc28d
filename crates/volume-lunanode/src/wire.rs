//! The wire types of the LunaNode client (template: nothing here yet).
//!
//! LunaNode's JSON, field for field from `lunanode.md` and the documented
//! responses in `shared/api/lunanode/`: every value arrives as a string (sizes,
//! ids, flags), `success` is `"yes"` or `"no"`, and the volume, snapshot and
//! list shapes of each action. Unknown fields are ignored and status words are
//! kept as sent.
//!
//! Nothing is written here yet: a template must not pretend to work.
