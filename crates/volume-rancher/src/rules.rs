//! Client-side rules of the Rancher client (template: nothing here yet).
//!
//! What Cattle refuses, checked before anything is sent, with the reason it
//! would give: names, sizes, the states an action is offered in (an action
//! missing from a resource's `actions` is not available in its state).
//!
//! Nothing is written here yet: a template must not pretend to work.
