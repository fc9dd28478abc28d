//! Cinder's volumes.

use super::super::{FakeRequest, FakeResponse, Operation, Rejection};
use super::error;
use super::routes::Route;
use super::CinderDialect;

/// What the Cinder fake keeps beside the engine.
#[derive(Debug, Default)]
pub struct CinderState {}

pub(super) fn run(
    _d: &CinderDialect,
    _op: &mut Operation<'_, CinderState>,
    _route: &Route,
    _req: &FakeRequest,
) -> Result<FakeResponse, Rejection> {
    Err(error::fault(501, "Not implemented yet."))
}
