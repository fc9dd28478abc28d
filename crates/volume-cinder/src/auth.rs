//! Authentication of the Cinder client (template: nothing here yet).
//!
//! Keystone v3: `POST {auth_url}/v3/auth/tokens` (password or application
//! credential, project-scoped) answers `201` with the token in
//! `X-Subject-Token` and the service catalog in the body; every Cinder request
//! then carries `X-Auth-Token`, and the volume endpoint comes from the catalog
//! (`block-storage` / `volumev3`, the interface and region asked for). A token
//! expires: it is fetched again before it does, and once after a `401`.
//!
//! This is a scheme of its own (a login that yields both a credential and an
//! endpoint), which is why Cinder has an `auth.rs` where Linode has none. See
//! `cinder.md` §1.
//!
//! Nothing is written here yet: a template must not pretend to work.
