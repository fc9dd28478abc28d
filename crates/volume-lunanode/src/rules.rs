//! Client-side rules of the LunaNode client (template: nothing here yet).
//!
//! What LunaNode refuses, checked before anything is sent, with the reason it
//! would give: sizes, names, regions, the states an action needs.
//!
//! Nothing is written here yet: a template must not pretend to work.
