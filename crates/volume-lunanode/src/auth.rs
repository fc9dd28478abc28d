//! Authentication of the LunaNode client (template: nothing here yet).
//!
//! LunaNode's request signing: each action is a form-encoded `POST
//! /api/volume/<action>/` whose `req` field is the JSON parameters plus
//! `api_id` and `api_partialkey`, signed with HMAC-SHA512 over
//! `<handler>|<req>|<nonce>` under the full API key, with a fresh `nonce` on
//! every attempt (a retried request is signed again). The body itself is what
//! is signed, so it is rewritten per attempt, not decorated with a header.
//!
//! A scheme of its own, hence this module. See `lunanode.md` §2.
//!
//! Nothing is written here yet: a template must not pretend to work.
