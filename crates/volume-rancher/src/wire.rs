//! The wire types of the Rancher client (template: nothing here yet).
//!
//! Cattle's JSON, field for field from `rancher.md` and the captured schemas in
//! `shared/api/rancher/`: the `volume` and `snapshot` resources with their
//! `links` and `actions`, the `collection` envelope with `pagination` (`next`
//! is a link to follow, never a marker to build), and the epoch-millisecond
//! twins (`createdTS`) beside each date. Unknown fields are ignored and `state`
//! words are kept as sent.
//!
//! Nothing is written here yet: a template must not pretend to work.
