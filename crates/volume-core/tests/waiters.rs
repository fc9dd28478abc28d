//! Waiters on a paused clock: fail fast on a failure state, time out with the
//! last state seen, succeed on not-found when waiting for deletion, honour
//! retry-after, poll through transient errors.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use volume_core::http::BackoffConfig;
use volume_core::wait::{poll, Until};
use volume_core::{
    ApiError, Error, RegionId, ResourceKind, Result, Size, Volume, VolumeId, VolumeState,
    WaitConfig,
};

fn volume(state: VolumeState) -> Volume {
    Volume::new(
        VolumeId::new("v1").unwrap(),
        "v",
        Size::gib(1),
        RegionId::new("r").unwrap(),
        state,
    )
}

/// A fetcher that answers from a script, repeating the last answer.
fn scripted(
    script: Vec<Result<Volume>>,
) -> (
    impl FnMut() -> futures::future::Ready<Result<Volume>> + Send,
    Arc<Mutex<u32>>,
) {
    let calls = Arc::new(Mutex::new(0u32));
    let seen = Arc::clone(&calls);
    let script = Arc::new(Mutex::new(script));
    let fetch = move || {
        *seen.lock().unwrap() += 1;
        let mut s = script.lock().unwrap();
        let next = if s.len() > 1 {
            s.remove(0)
        } else {
            clone_result(&s[0])
        };
        futures::future::ready(next)
    };
    (fetch, calls)
}

fn clone_result(r: &Result<Volume>) -> Result<Volume> {
    match r {
        Ok(v) => Ok(v.clone()),
        Err(Error::NotFound { kind, id, .. }) => Err(Error::not_found(*kind, id.clone())),
        Err(e) => panic!("the script repeats only volumes and not-found, not {e}"),
    }
}

fn config() -> WaitConfig {
    WaitConfig::new(
        BackoffConfig::new(Duration::from_secs(1), Duration::from_secs(4)),
        Duration::from_secs(60),
    )
    .with_seed(7)
}

#[tokio::test(start_paused = true)]
async fn reaches_the_target_and_reports_every_state_seen() {
    let (fetch, calls) = scripted(vec![
        Ok(volume(VolumeState::Creating)),
        Ok(volume(VolumeState::Creating)),
        Ok(volume(VolumeState::Available)),
    ]);
    let waited = poll("v1", Until::State(VolumeState::Available), &config(), fetch)
        .await
        .unwrap();
    assert_eq!(waited.observed, ["creating", "available"]);
    assert_eq!(waited.polls, 3);
    assert_eq!(*calls.lock().unwrap(), 3);
    assert_eq!(waited.resource.unwrap().state, VolumeState::Available);
    assert!(
        waited.elapsed >= Duration::from_secs(2),
        "{:?}",
        waited.elapsed
    );
}

#[tokio::test(start_paused = true)]
async fn fails_fast_on_a_failure_state_and_names_it() {
    let start = Instant::now();
    let mut failed = volume(VolumeState::ErrorResizing);
    failed.raw_state = "error_extending".into();
    let (fetch, calls) = scripted(vec![Ok(volume(VolumeState::Resizing)), Ok(failed)]);
    let err = poll("v1", Until::State(VolumeState::Available), &config(), fetch)
        .await
        .unwrap_err();
    match err {
        Error::Failed {
            kind, id, state, ..
        } => {
            assert_eq!(kind, ResourceKind::Volume);
            assert_eq!(id, "v1");
            assert_eq!(state, "error_extending");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        *calls.lock().unwrap(),
        2,
        "it must stop at the failure, not poll on"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn times_out_with_the_last_state_seen() {
    let start = Instant::now();
    let (fetch, _) = scripted(vec![Ok(volume(VolumeState::Attaching))]);
    let err = poll(
        "v1",
        Until::State(VolumeState::InUse),
        &config().with_max_wait(Duration::from_secs(30)),
        fetch,
    )
    .await
    .unwrap_err();
    match &err {
        Error::Timeout {
            last_seen, waited, ..
        } => {
            assert_eq!(last_seen.as_deref(), Some("attaching"));
            assert!(*waited >= Duration::from_secs(30));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("attaching"), "{err}");
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_secs(30) && elapsed < Duration::from_secs(31),
        "{elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn deletion_waiter_succeeds_on_not_found() {
    let (fetch, _) = scripted(vec![
        Ok(volume(VolumeState::Deleting)),
        Err(Error::not_found(ResourceKind::Volume, "v1")),
    ]);
    let waited = poll("v1", Until::Deleted, &config(), fetch).await.unwrap();
    assert!(waited.resource.is_none());
    assert_eq!(waited.observed, ["deleting", "gone"]);
}

#[tokio::test(start_paused = true)]
async fn not_found_is_an_error_when_not_waiting_for_deletion() {
    let (fetch, _) = scripted(vec![Err(Error::not_found(ResourceKind::Volume, "v1"))]);
    let err = poll("v1", Until::State(VolumeState::Available), &config(), fetch)
        .await
        .unwrap_err();
    assert!(err.is_not_found());
}

#[tokio::test(start_paused = true)]
async fn a_volume_being_deleted_cannot_become_available() {
    let (fetch, calls) = scripted(vec![Ok(volume(VolumeState::Deleting))]);
    let err = poll("v1", Until::State(VolumeState::Available), &config(), fetch)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Failed { ref state, .. } if state == "deleting"),
        "{err:?}"
    );
    assert_eq!(*calls.lock().unwrap(), 1);
}

#[tokio::test(start_paused = true)]
async fn honours_retry_after_and_polls_through_server_errors() {
    let start = Instant::now();
    let mut answers: Vec<Result<Volume>> = vec![
        Err(Error::RateLimited {
            retry_after: Some(Duration::from_secs(20)),
            api: None,
        }),
        Err(Error::Api(Box::new(ApiError::new("p", 503, "busy")))),
        Ok(volume(VolumeState::Available)),
    ];
    let fetch = move || futures::future::ready(answers.remove(0));
    let waited = poll("v1", Until::State(VolumeState::Available), &config(), fetch)
        .await
        .unwrap();
    assert_eq!(waited.polls, 3);
    assert!(
        start.elapsed() >= Duration::from_secs(20),
        "retry-after ignored"
    );
}

#[tokio::test(start_paused = true)]
async fn other_errors_stop_the_wait() {
    let mut answers: Vec<Result<Volume>> = vec![Err(Error::Unauthenticated {
        message: "bad token".into(),
        api: None,
    })];
    let fetch = move || futures::future::ready(answers.remove(0));
    let err = poll("v1", Until::State(VolumeState::Available), &config(), fetch)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthenticated { .. }));
}

#[tokio::test(start_paused = true)]
async fn predicates_and_progress_callbacks() {
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&sizes);
    let cfg = config().on_progress(move |v: &Volume| seen.lock().unwrap().push(v.size.as_gib()));
    let mut small = volume(VolumeState::Resizing);
    small.size = Size::gib(1);
    let mut big = volume(VolumeState::Available);
    big.size = Size::gib(5);
    let (fetch, _) = scripted(vec![Ok(small), Ok(big)]);
    let waited = poll(
        "v1",
        Until::matches(|v: &Volume| v.size >= Size::gib(5)),
        &cfg,
        fetch,
    )
    .await
    .unwrap();
    assert_eq!(waited.resource.unwrap().size, Size::gib(5));
    assert_eq!(*sizes.lock().unwrap(), [1, 5]);
}
