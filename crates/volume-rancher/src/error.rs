//! Error mapping of the Rancher client (template: nothing here yet).
//!
//! `map_error(status, body)`: Cattle's error resource (`{"type": "error",
//! "status", "code", "message", "detail", "fieldName"}`, see `rancher.md`) to
//! volume-core errors, keeping the code, the message and the field; validation
//! codes (`MissingRequired`, `InvalidOption`, `NotUnique`, ...) become
//! `InvalidInput` on that field.
//!
//! Nothing is written here yet: a template must not pretend to work.
