//! Conversions of the LunaNode client (template: nothing here yet).
//!
//! LunaNode's wire types to volume-core's model and back: status words to the
//! core states with `raw_state` kept, string sizes in GB to sizes, the `vm_id`
//! a volume is attached to, the region.
//!
//! Nothing is written here yet: a template must not pretend to work.
