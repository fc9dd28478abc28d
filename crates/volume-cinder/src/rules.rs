//! Client-side rules of the Cinder client (template: nothing here yet).
//!
//! What Cinder refuses, checked before anything is sent, with the reason Cinder
//! would give: sizes, names, the states an action needs (extend needs
//! `available`, or `in-use` from microversion 3.42), the microversion a feature
//! needs.
//!
//! Nothing is written here yet: a template must not pretend to work.
