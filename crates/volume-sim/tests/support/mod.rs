//! What several test files share. Each test file includes this module and
//! uses part of it.
#![allow(dead_code, unreachable_pub)]

pub mod cinder;
pub mod exoscale_signer;
pub mod raw_http;
