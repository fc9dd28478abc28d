//! The conformance battery: the behaviour every [`BlockStorage`] backend
//! must show, written once and run against each of them.
//!
//! Each case is a `pub async fn case(storage: &dyn BlockStorage)` that
//! panics, like a test, with a message saying what was done, what was
//! expected and what the backend answered. The cases:
//!
//! - read [`capabilities()`](BlockStorage::capabilities): an operation it
//!   excludes must return [`Error::Unsupported`](crate::Error::Unsupported)
//!   (the case checks that, then skips the rest); sizes come from
//!   `min_size`, never a fixed number;
//! - only touch what they create: every name starts with a random prefix
//!   (`conf<6 hex>-`; names longer than `max_name_len`, when set, are
//!   shortened after the prefix), listings are checked for those resources
//!   only, and whatever a case created is deleted when it ends, whether it
//!   passed or not (attached volumes are detached first);
//! - wait with [`BlockStorageExt`](crate::BlockStorageExt)'s waiters (polls
//!   every 10 ms to 1 s, for up to 60 s per transition), so backends whose
//!   transitions take time pass as well as instant ones;
//! - put volumes in the region of an instance from `list_instances`: the
//!   attach cases need a backend seeded with instances (volume-sim and its
//!   fakes seed a few per region) and say so when there are none.
//!
//! [`CASES`] lists them all, with their names.
//!
//! # In a test suite
//!
//! [`conformance_tests!`](crate::conformance_tests) expands into one
//! `#[test]` per case for a factory of fresh backends, so one failure does
//! not hide the others and cases can be picked by name
//! (`cargo test --test conformance attach`). The factory is an `async fn`
//! (or a closure returning a future) giving anything that implements
//! `BlockStorage`: a concrete client, `Box<dyn BlockStorage>` or
//! `Arc<dyn BlockStorage>`. Each test runs on its own multi-threaded tokio
//! runtime (enable the `conformance` feature in `[dev-dependencies]`; the
//! crate using the macro does not need tokio itself).
//!
//! ```no_run
//! // tests/conformance.rs of a backend crate
//! use volume_core::{BlockStorage, DynBlockStorage};
//!
//! /// A fresh backend for each case (here: a client of a fake on loopback).
//! async fn backend() -> DynBlockStorage {
//!     # unimplemented!()
//! }
//!
//! volume_core::conformance_tests!(backend);
//!
//! // Several backends in one file: give each a module.
//! volume_core::conformance_tests!(mod boxed, || async {
//!     Box::new(backend().await) as Box<dyn BlockStorage>
//! });
//! # fn main() {}
//! ```
//!
//! # Against a real account
//!
//! [`run_all`] runs every case in turn against one backend and reports each
//! outcome; it never stops at the first failure. The cases clean up after
//! themselves, but they do create and delete real (billed) volumes,
//! snapshots and backups: use a project set aside for it. Transitions on a
//! real cloud take longer than 60 s now and then; set
//! `VOLUME_CONFORMANCE_MAX_WAIT` (seconds) to wait longer.
//!
//! ```no_run
//! use volume_core::{conformance, BlockStorage};
//!
//! async fn check(storage: &dyn BlockStorage) {
//!     let report = conformance::run_all(storage).await;
//!     println!("{report}");
//!     assert!(report.passed(), "{} cases failed", report.failures().count());
//!
//!     // Or one case by name.
//!     let case = conformance::CASES.iter().find(|c| c.name == "attach_and_detach").unwrap();
//!     (case.run)(storage).await;
//! }
//! ```

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;

use crate::storage::BlockStorage;

mod attach;
mod backups;
mod cx;
mod errors;
mod resize;
mod snapshots;
mod volumes;

pub use attach::{
    attach_across_regions_is_refused, attach_and_detach, attach_to_unknown_instance_is_not_found,
    attach_when_attached_is_refused, create_attached, delete_attached_is_refused,
    detach_when_detached_is_refused, instances_are_listed,
};
pub use backups::{
    backup_lifecycle, backup_outlives_volume, incremental_backups, restore_over_volume,
};
pub use errors::{
    backup_ids_not_found, errors_are_useful, odd_ids_are_not_found, snapshot_ids_not_found,
    unsupported_operations_say_so, volume_ids_not_found,
};
pub use resize::{
    clone_is_independent, clone_through_create, resize_attached_follows_capabilities, resize_grows,
    resize_refuses_shrink_and_same_size,
};
pub use snapshots::{snapshot_lifecycle, snapshot_listing_pages, volume_from_snapshot};
pub use volumes::{
    concurrent_creates, create_volume_checks_size, list_volumes_filters, list_volumes_pages,
    volume_round_trip,
};

/// A case of the battery, as a function pointer: runs it against `storage`
/// and panics when the backend does not conform.
pub type CaseFn = for<'a> fn(&'a dyn BlockStorage) -> BoxFuture<'a, ()>;

/// One case of the battery.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Case {
    /// The case's name, the name of its function and of its test.
    pub name: &'static str,
    /// Runs it.
    pub run: CaseFn,
}

/// Every case of the battery, in a sensible order.
pub const CASES: &[Case] = crate::conformance_tests!(@cases list ());

/// How long one case may run before it counts as hung: ten times the wait
/// for one transition, and at least five minutes.
fn case_timeout() -> Duration {
    (cx::max_wait() * 10).max(Duration::from_secs(300))
}

/// Runs `case` against `storage` with [`case_timeout`], panicking when it
/// hangs.
async fn run_one(name: &str, case: CaseFn, storage: &dyn BlockStorage) {
    let limit = case_timeout();
    if tokio::time::timeout(limit, case(storage)).await.is_err() {
        panic!(
            "conformance case `{name}` did not finish within {limit:?} against {storage}; \
             set {} to wait longer for each transition",
            cx::MAX_WAIT_ENV
        );
    }
}

/// What happened to one case in [`run_all`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Outcome {
    /// The case.
    pub case: &'static str,
    /// `None` when it passed; the panic message when it failed.
    pub failure: Option<String>,
    /// How long it ran.
    pub elapsed: Duration,
}

/// The outcome of every case, from [`run_all`]. Its `Display` is one line per
/// case.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Report {
    /// One outcome per case, in the order of [`CASES`].
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// Whether every case passed.
    pub fn passed(&self) -> bool {
        self.outcomes.iter().all(|o| o.failure.is_none())
    }

    /// The cases that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes.iter().filter(|o| o.failure.is_some())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for o in &self.outcomes {
            match &o.failure {
                None => writeln!(f, "ok    {} ({:?})", o.case, o.elapsed)?,
                Some(why) => writeln!(f, "FAIL  {} ({:?}): {why}", o.case, o.elapsed)?,
            }
        }
        let failed = self.failures().count();
        write!(
            f,
            "{} passed, {failed} failed",
            self.outcomes.len() - failed
        )
    }
}

/// Runs every case of [`CASES`] against `storage`, one after the other, and
/// reports each outcome (a failing case does not stop the others).
///
/// Needs a tokio runtime with the time driver enabled.
pub async fn run_all(storage: &dyn BlockStorage) -> Report {
    let mut report = Report::default();
    for case in CASES {
        let started = Instant::now();
        let outcome = AssertUnwindSafe(run_one(case.name, case.run, storage))
            .catch_unwind()
            .await;
        report.outcomes.push(Outcome {
            case: case.name,
            failure: outcome.err().map(|panic| panic_message(&*panic)),
            elapsed: started.elapsed(),
        });
    }
    report
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "the case panicked".to_owned()
    }
}

/// Runs one case as a test: builds a multi-threaded tokio runtime, makes a
/// backend with `factory` on it and runs `case` against it. Used by
/// [`conformance_tests!`](crate::conformance_tests).
#[doc(hidden)]
pub fn __run_test<F, Fut, S>(name: &'static str, factory: F, case: CaseFn)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = S>,
    S: BlockStorage,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime for the conformance case");
    runtime.block_on(async move {
        let storage = factory().await;
        run_one(name, case, &storage).await;
    });
}

/// Expands the conformance battery into one `#[test]` per case, for a
/// factory of fresh backends.
///
/// The factory is an expression that can be called with no arguments and
/// returns a future of a `BlockStorage` (an `async fn` name, or a closure
/// `|| async { .. }`); it is called once per case, on that case's runtime.
///
/// - `conformance_tests!(factory)` puts the tests where it is invoked;
/// - `conformance_tests!(mod name, factory)` puts them in a module `name`
///   (which sees the items around it), for several backends in one file.
///
/// See [the module documentation](crate::conformance) for an example.
#[macro_export]
macro_rules! conformance_tests {
    // The list of cases, written once: passes it to `@$then`.
    (@cases $then:ident $args:tt) => {
        $crate::conformance_tests! { @$then $args [
            volume_round_trip,
            create_volume_checks_size,
            list_volumes_filters,
            list_volumes_pages,
            concurrent_creates,
            instances_are_listed,
            attach_and_detach,
            attach_when_attached_is_refused,
            detach_when_detached_is_refused,
            attach_to_unknown_instance_is_not_found,
            delete_attached_is_refused,
            attach_across_regions_is_refused,
            create_attached,
            resize_grows,
            resize_refuses_shrink_and_same_size,
            resize_attached_follows_capabilities,
            clone_is_independent,
            clone_through_create,
            snapshot_lifecycle,
            snapshot_listing_pages,
            volume_from_snapshot,
            backup_lifecycle,
            incremental_backups,
            backup_outlives_volume,
            restore_over_volume,
            volume_ids_not_found,
            snapshot_ids_not_found,
            backup_ids_not_found,
            odd_ids_are_not_found,
            errors_are_useful,
            unsupported_operations_say_so,
        ] }
    };
    // `CASES` (in volume-core only: `Case` is non-exhaustive).
    (@list () [$($case:ident),* $(,)?]) => {
        &[$(
            $crate::conformance::Case {
                name: ::core::stringify!($case),
                run: |storage| ::std::boxed::Box::pin($crate::conformance::$case(storage)),
            },
        )*]
    };
    (@tests ($factory:expr) [$($case:ident),* $(,)?]) => {
        $(
            #[test]
            fn $case() {
                $crate::conformance::__run_test(
                    ::core::stringify!($case),
                    $factory,
                    |storage| ::std::boxed::Box::pin($crate::conformance::$case(storage)),
                );
            }
        )*
    };
    (mod $name:ident, $factory:expr $(,)?) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_tests! { @cases tests ($factory) }
        }
    };
    ($factory:expr $(,)?) => {
        $crate::conformance_tests! { @cases tests ($factory) }
    };
}
