//! volume-core's conformance battery against [`Cinder`] talking to
//! volume-sim's Cinder fake (Keystone, Cinder and Nova) on loopback: one
//! test per case, each with a fresh fake. Then Cinder-only cases:
//! microversion gating, online extend against refused, incremental
//! backups, retype, quotas (413 to `QuotaExceeded`), messages.
//!
//! The fake's transitions take a simulated second on a clock running 200
//! times faster than the wall clock, so the client sees `creating`,
//! `attaching`, `extending`, ... and polls.

use volume_cinder::{Cinder, CinderBuilder, Domain, Microversion};
use volume_core::http::RetryConfig;
use volume_sim::engine::ClockMode;
use volume_sim::fake::cinder::{
    CinderFake, DEFAULT_DOMAIN, DEFAULT_PASSWORD, DEFAULT_PROJECT, DEFAULT_USER,
};
use volume_sim::testing::Served;

fn client_of(server: &wiremock::MockServer) -> CinderBuilder {
    CinderBuilder::new()
        .with_auth_url(CinderFake::auth_url(server))
        .with_username(DEFAULT_USER, Domain::Name(DEFAULT_DOMAIN.into()))
        .with_password(DEFAULT_PASSWORD)
        .with_project_name(DEFAULT_PROJECT, Domain::Name(DEFAULT_DOMAIN.into()))
        .with_retry(RetryConfig::default())
}

/// A client of a fresh fake, served by a server that lives as long as the
/// client; logged in and with its microversion negotiated, so
/// `capabilities()` knows online extend.
async fn cinder() -> Served<Cinder, CinderFake> {
    let fake = CinderFake::builder()
        .clock(ClockMode::Wall { speed: 200.0 })
        .build();
    let server = fake.start().await;
    let client = client_of(&server).build().expect("a client of the fake");
    client.connect().await.expect("logged in to the fake");
    Served::new(client, server).with_fake(fake)
}

volume_core::conformance_tests!(cinder);

mod cinder_only {
    use super::*;
    use volume_cinder::{BackupOptions, MigrationPolicy};
    use volume_core::{
        BlockStorage, BlockStorageExt, CreateBackup, CreateVolume, Error, Size, Until, VolumeState,
        WaitConfig,
    };

    async fn fake_with(max: &str) -> (CinderFake, wiremock::MockServer) {
        let fake = CinderFake::builder()
            .clock(ClockMode::Wall { speed: 200.0 })
            .max_microversion(max)
            .build();
        let server = fake.start().await;
        (fake, server)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_microversion_is_negotiated_and_gates_features() {
        let (_fake, server) = fake_with("3.40").await;
        let c = client_of(&server).build().unwrap();
        assert_eq!(c.connect().await.unwrap(), Microversion::new(3, 40));
        // 3.40 has no online extend, and neither attachments complete nor
        // volumes from backups.
        assert_eq!(c.capabilities().resize, volume_core::ResizeMode::Offline);
        let e = c.complete_attachment("x").await.unwrap_err();
        assert!(
            matches!(&e, Error::Unsupported { operation, .. } if operation.contains("3.44")),
            "{e:?}"
        );
        let v = c
            .create_volume_and_wait(
                &CreateVolume::new("gated", Size::gib(1)),
                &WaitConfig::default(),
            )
            .await
            .unwrap();
        // The attachments API is there at 3.27.
        assert!(c.attachments(Some(&v.id)).await.unwrap().is_empty());
        let (_fake, server) = fake_with("3.99").await;
        let c = client_of(&server).build().unwrap();
        assert_eq!(c.connect().await.unwrap(), Microversion::NEWEST_KNOWN);
        // A pinned version the server does not offer: 406, mapped, not retried.
        let (_fake, server) = fake_with("3.40").await;
        let c = client_of(&server)
            .with_microversion(Microversion::new(3, 60))
            .build()
            .unwrap();
        let e = c.volume_types().await.unwrap_err();
        assert!(
            matches!(&e, Error::InvalidInput { field, .. } if field == "microversion"),
            "{e:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn online_extend_from_3_42_and_refused_below() {
        for (max, online) in [("3.41", false), ("3.42", true)] {
            let (_fake, server) = fake_with(max).await;
            let c = client_of(&server).build().unwrap();
            let wait = WaitConfig::default();
            let instance = c.list_instances(None).await.unwrap().items[0].clone();
            let v = c
                .create_volume_and_wait(
                    &CreateVolume::new("extend", Size::gib(1)).with_region(instance.region.clone()),
                    &wait,
                )
                .await
                .unwrap();
            c.attach_volume(&v.id, &instance.id).await.unwrap();
            c.wait_for_volume(&v.id, Until::State(VolumeState::InUse), &wait)
                .await
                .unwrap();
            let answer = c.resize_volume(&v.id, Size::gib(2)).await;
            if online {
                answer.unwrap();
                let done = c
                    .wait_for_volume(&v.id, Until::State(VolumeState::InUse), &wait)
                    .await
                    .unwrap();
                assert_eq!(done.resource.unwrap().size, Size::gib(2));
            } else {
                let e = answer.unwrap_err();
                assert!(
                    matches!(&e, Error::InvalidState { state, .. } if state == "in-use"),
                    "{max}: {e:?}"
                );
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn incremental_backups_retype_quotas_and_limits() {
        let c = cinder().await;
        let wait = WaitConfig::default();
        let v = c
            .create_volume_and_wait(&CreateVolume::new("chain", Size::gib(1)), &wait)
            .await
            .unwrap();
        let full = c
            .create_backup(&CreateBackup::new(v.id.clone(), "full"))
            .await
            .unwrap();
        c.wait_for_backup(
            &full.id,
            Until::State(volume_core::BackupState::Available),
            &wait,
        )
        .await
        .unwrap();
        let inc = c
            .create_backup_with(
                &CreateBackup::new(v.id.clone(), "inc").incremental(true),
                &BackupOptions::new(),
            )
            .await
            .unwrap();
        assert!(inc.incremental);
        c.wait_for_backup(
            &inc.id,
            Until::State(volume_core::BackupState::Available),
            &wait,
        )
        .await
        .unwrap();
        assert!(
            c.backup_details(&full.id)
                .await
                .unwrap()
                .has_dependent_backups
        );

        let types = c.volume_types().await.unwrap();
        let current = c.volume_details(&v.id).await.unwrap().volume_type;
        let other = types
            .iter()
            .find(|t| Some(&t.name) != current.as_ref())
            .expect("a second volume type")
            .clone();
        c.retype(&v.id, &other.name, MigrationPolicy::OnDemand)
            .await
            .unwrap();
        let done = c
            .wait_for_volume(&v.id, Until::State(VolumeState::Available), &wait)
            .await
            .unwrap();
        assert_eq!(
            done.resource.unwrap().volume_type.as_deref(),
            Some(other.name.as_str())
        );

        let quotas = c.quotas(true).await.unwrap();
        let volumes = quotas.get("volumes").expect("a volumes quota");
        assert_eq!(volumes.in_use, Some(1));
        let limits = c.limits().await.unwrap();
        assert_eq!(limits.total_volumes_used, Some(1));
        assert!(!c.availability_zones().await.unwrap().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_quota_overrun_is_quota_exceeded() {
        let fake = CinderFake::builder()
            .clock(ClockMode::Wall { speed: 200.0 })
            .quota(volume_sim::engine::Quota::unlimited().with_volumes(1))
            .build();
        let server = fake.start().await;
        let c = client_of(&server).build().unwrap();
        c.create_volume(&CreateVolume::new("one", Size::gib(1)))
            .await
            .unwrap();
        let e = c
            .create_volume(&CreateVolume::new("two", Size::gib(1)))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::QuotaExceeded { .. }), "{e:?}");
        assert!(
            e.api().unwrap().code.as_deref() == Some("overLimit"),
            "{e:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_wrong_password_is_unauthenticated() {
        let (_fake, server) = fake_with("3.71").await;
        let c = client_of(&server).with_password("wrong").build().unwrap();
        let e = c.connect().await.unwrap_err();
        assert!(matches!(e, Error::Unauthenticated { .. }), "{e:?}");
        assert!(!format!("{e:?} {e}").contains("wrong"));
    }
}

mod messages {
    use super::*;
    use volume_core::{
        BlockStorage, BlockStorageExt, CreateVolume, Error, Size, Until, VolumeState, WaitConfig,
    };
    use volume_sim::engine::{Fault, FaultRule, SimOp};

    /// A volume that lands in `error` is explained by a user message about it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_create_leaves_a_message() {
        let c = cinder().await;
        c.fake().engine().inject(
            FaultRule::new(Fault::LandInError)
                .on(SimOp::CreateVolume)
                .times(1),
        );
        let v = c
            .create_volume(&CreateVolume::new("doomed", Size::gib(1)))
            .await
            .unwrap();
        let e = c
            .wait_for_volume(
                &v.id,
                Until::State(VolumeState::Available),
                &WaitConfig::default(),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Failed { .. }), "{e:?}");
        let messages = c.messages(Some(v.id.as_str())).await.unwrap();
        assert!(!messages.is_empty(), "no message about {}", v.id);
        assert!(messages
            .iter()
            .all(|m| m.resource_uuid.as_deref() == Some(v.id.as_str())));
        let one = c.message(&messages[0].id).await.unwrap();
        assert!(one.user_message.is_some());
    }
}
