//! The wire types of the Cinder client (template: nothing here yet).
//!
//! Cinder's JSON, field for field from `cinder.md` and the api-ref samples in
//! `shared/api/cinder/api-ref-v3-samples/`: the `{"volume": {..}}` and
//! `{"volumes": [..], "volumes_links": [..]}` envelopes, snapshots, backups,
//! attachments, volume types, and Keystone's token and catalog. Unknown fields
//! are ignored and status words are kept as sent, so a new status or
//! microversion field never breaks decoding.
//!
//! Nothing is written here yet: a template must not pretend to work.
