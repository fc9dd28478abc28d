//! Instances, attach and detach, and the refusals around them.

use super::cx::{
    assert_no_duplicates, attached_to, expect_invalid_state, expect_not_found, expect_refused, Cx,
    Must,
};
use crate::error::{Error, ResourceKind};
use crate::model::{Instance, InstanceId, ListVolumes, Volume};
use crate::state::VolumeState;
use crate::storage::BlockStorage;

/// `list_instances` pages end, list each instance once, and (for a backend
/// that can attach) list at least one: the attach cases need one.
pub async fn instances_are_listed(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "instances_are_listed");
    cx.guard(instances_are_listed_in(&cx)).await;
}

async fn instances_are_listed_in(cx: &Cx<'_>) {
    let instances = cx.instances().await;
    assert_no_duplicates(instances.iter().map(|i| &i.id), "list_all_instances");
    for i in &instances {
        assert!(
            !i.id.as_str().is_empty(),
            "an instance with an empty id: {i:?}"
        );
    }
    if cx.caps.attach {
        // Fails with the message that explains what the backend lacks.
        cx.attach_home().await;
    }
}

/// When the backend cannot attach: checks that attach and detach are
/// `Unsupported` on a volume of this case and returns `None`. Otherwise a
/// fresh available volume in a region with instances, and those instances.
async fn attachable(cx: &Cx<'_>, what: &str) -> Option<(Volume, Vec<Instance>)> {
    if !cx.caps.attach {
        let home = cx.home().await;
        let v = cx.volume_in(what, 0, home.region.as_ref()).await;
        let instance = home.instances.first().map_or_else(
            || InstanceId::new(cx.unknown_id(None)).expect("a valid id"),
            |i| i.id.clone(),
        );
        cx.expect_unsupported(
            cx.storage.attach_volume(&v.id, &instance).await,
            "attach_volume",
            "attach_volume",
        );
        cx.expect_unsupported(
            cx.storage.detach_volume(&v.id).await,
            "detach_volume",
            "detach_volume",
        );
        cx.skip("no attach capability");
        return None;
    }
    let (region, instances) = cx.attach_home().await;
    let v = cx.volume_in(what, 0, Some(&region)).await;
    Some((v, instances))
}

/// Attach an available volume to an instance in its region: it becomes in
/// use with that instance in its attachments, and is listed by instance;
/// detach: available, no attachments, not listed by instance; and it can be
/// attached again.
pub async fn attach_and_detach(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "attach_and_detach");
    cx.guard(attach_and_detach_in(&cx)).await;
}

async fn attach_and_detach_in(cx: &Cx<'_>) {
    let Some((v, instances)) = attachable(cx, "attach").await else {
        return;
    };
    let instance = &instances[0].id;
    let attached = cx.attach(&v.id, instance).await;
    assert_eq!(attached.size, v.size, "attaching changed the size");
    assert_eq!(attached.name, v.name, "attaching changed the name");
    assert_eq!(
        attached.attached_to(),
        Some(instance),
        "attachments after attaching"
    );
    if !cx.caps.multi_attach {
        assert_eq!(
            attached.attachments.len(),
            1,
            "one instance, but attachments {:?}",
            attached.attachments
        );
    }
    let got = cx.get(&v.id).await;
    assert_eq!(got.state, VolumeState::InUse, "get_volume after attaching");
    assert_eq!(
        attached_to(&got),
        std::slice::from_ref(instance),
        "get_volume after attaching"
    );
    let on_instance = ListVolumes::new().with_attached_to(instance.clone());
    cx.assert_listed(&on_instance, &v.id, "after attaching")
        .await;

    let detached = cx.detach(&v.id).await;
    assert_eq!(detached.size, v.size, "detaching changed the size");
    cx.assert_not_listed(&on_instance, &v.id, "after detaching")
        .await;

    // Detached, it attaches again (to another instance when there is one).
    let again = instances.get(1).map_or(instance, |i| &i.id);
    cx.attach(&v.id, again).await;
    cx.detach(&v.id).await;
}

/// Attaching an attached volume is refused with `InvalidState` (to the same
/// instance; to another one too unless the backend can multi-attach) and
/// changes nothing.
pub async fn attach_when_attached_is_refused(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "attach_when_attached_is_refused");
    cx.guard(attach_when_attached_is_refused_in(&cx)).await;
}

async fn attach_when_attached_is_refused_in(cx: &Cx<'_>) {
    let Some((v, instances)) = attachable(cx, "attach-twice").await else {
        return;
    };
    let instance = &instances[0].id;
    let attached = cx.attach(&v.id, instance).await;

    let err = cx
        .storage
        .attach_volume(&v.id, instance)
        .await
        .must_err("attaching a volume to the instance it is attached to");
    if cx.caps.multi_attach {
        assert!(
            matches!(
                err,
                Error::InvalidState { .. } | Error::AlreadyExists { .. }
            ),
            "attaching twice to one instance: expected InvalidState or AlreadyExists; got {err}"
        );
    } else {
        expect_invalid_state(&err, "attaching an attached volume again");
    }
    cx.assert_unchanged(&attached, "attaching an attached volume again")
        .await;

    match instances.get(1) {
        Some(other) if !cx.caps.multi_attach => {
            let err = cx
                .storage
                .attach_volume(&v.id, &other.id)
                .await
                .must_err("attaching an attached volume to another instance");
            expect_invalid_state(&err, "attaching an attached volume to another instance");
            cx.assert_unchanged(
                &attached,
                "attaching an attached volume to another instance",
            )
            .await;
        }
        Some(other) => {
            let both = cx.attach(&v.id, &other.id).await;
            let ids = attached_to(&both);
            assert!(
                ids.contains(instance) && ids.contains(&other.id),
                "multi-attach: attachments {:?}",
                both.attachments
            );
        }
        None => cx.skip("one instance only: attaching to a second one is not checked"),
    }
}

/// Detaching a detached volume is refused with `InvalidState` and changes
/// nothing.
pub async fn detach_when_detached_is_refused(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "detach_when_detached_is_refused");
    cx.guard(detach_when_detached_is_refused_in(&cx)).await;
}

async fn detach_when_detached_is_refused_in(cx: &Cx<'_>) {
    let Some((v, instances)) = attachable(cx, "detach-twice").await else {
        return;
    };
    let err = cx
        .storage
        .detach_volume(&v.id)
        .await
        .must_err("detaching a volume that was never attached");
    expect_invalid_state(&err, "detaching a volume that was never attached");
    cx.assert_unchanged(&v, "detaching a volume that was never attached")
        .await;

    cx.attach(&v.id, &instances[0].id).await;
    let detached = cx.detach(&v.id).await;
    let err = cx
        .storage
        .detach_volume(&v.id)
        .await
        .must_err("detaching a detached volume");
    expect_invalid_state(&err, "detaching a detached volume");
    cx.assert_unchanged(&detached, "detaching a detached volume")
        .await;
}

/// Attaching to an instance that does not exist is not-found for the
/// instance (not the volume), and changes nothing.
pub async fn attach_to_unknown_instance_is_not_found(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "attach_to_unknown_instance_is_not_found");
    cx.guard(attach_to_unknown_instance_is_not_found_in(&cx))
        .await;
}

async fn attach_to_unknown_instance_is_not_found_in(cx: &Cx<'_>) {
    let Some((v, instances)) = attachable(cx, "attach-nowhere").await else {
        return;
    };
    let unknown = InstanceId::new(cx.unknown_id(Some(instances[0].id.as_str()))).expect("valid");
    assert!(
        !instances.iter().any(|i| i.id == unknown),
        "the made-up instance id {unknown} exists"
    );
    let err = cx
        .storage
        .attach_volume(&v.id, &unknown)
        .await
        .must_err("attaching to an unknown instance");
    expect_not_found(
        &err,
        ResourceKind::Instance,
        unknown.as_str(),
        "attaching to an unknown instance",
    );
    cx.assert_unchanged(&v, "attaching to an unknown instance")
        .await;
}

/// Deleting an attached volume is refused with `InvalidState`; the volume
/// stays in use, attached and listed.
pub async fn delete_attached_is_refused(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "delete_attached_is_refused");
    cx.guard(delete_attached_is_refused_in(&cx)).await;
}

async fn delete_attached_is_refused_in(cx: &Cx<'_>) {
    let Some((v, instances)) = attachable(cx, "delete-attached").await else {
        return;
    };
    let attached = cx.attach(&v.id, &instances[0].id).await;
    let err = cx
        .storage
        .delete_volume(&v.id)
        .await
        .must_err("deleting an attached volume");
    expect_invalid_state(&err, "deleting an attached volume");
    cx.assert_unchanged(&attached, "deleting an attached volume")
        .await;
    cx.detach(&v.id).await;
    cx.delete_volume(&v.id).await;
}

/// Attaching to an instance in another region is refused (`InvalidInput` or
/// `InvalidState`) and changes nothing. Skipped when all instances share
/// one region.
pub async fn attach_across_regions_is_refused(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "attach_across_regions_is_refused");
    cx.guard(attach_across_regions_is_refused_in(&cx)).await;
}

async fn attach_across_regions_is_refused_in(cx: &Cx<'_>) {
    let Some((v, _)) = attachable(cx, "attach-far").await else {
        return;
    };
    let home = cx.home().await;
    let Some(far) = home.elsewhere.iter().find(|i| i.region != v.region) else {
        cx.skip("every instance is in one region");
        return;
    };
    let err = cx
        .storage
        .attach_volume(&v.id, &far.id)
        .await
        .must_err(format_args!(
            "attaching a volume in {} to instance {} in {}",
            v.region, far.id, far.region
        ));
    expect_refused(&err, "attaching to an instance in another region");
    cx.assert_unchanged(&v, "attaching to an instance in another region")
        .await;
}

/// A volume created with `attach_to` ends in use, attached to that
/// instance, in that instance's region.
pub async fn create_attached(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "create_attached");
    cx.guard(create_attached_in(&cx)).await;
}

async fn create_attached_in(cx: &Cx<'_>) {
    if !cx.caps.attach {
        let home = cx.home().await;
        if let Some(i) = home.instances.first() {
            let req = cx
                .volume_request("create-attached", cx.size(0), None)
                .with_attach_to(i.id.clone());
            let answer = cx.storage.create_volume(&req).await;
            if let Ok(v) = &answer {
                cx.track_volume(&v.id);
            }
            let err =
                answer.must_err("create_volume with attach_to, without the attach capability");
            assert!(
                matches!(err, Error::Unsupported { .. } | Error::InvalidInput { .. }),
                "create_volume with attach_to, without the attach capability: expected \
                 Unsupported or InvalidInput; got {err}"
            );
        }
        cx.skip("no attach capability");
        return;
    }
    let (region, instances) = cx.attach_home().await;
    let instance = &instances[0];
    let req = cx
        .volume_request("create-attached", cx.size(0), None)
        .with_attach_to(instance.id.clone());
    let v = cx.create(&req).await;
    assert_eq!(v.state, VolumeState::InUse);
    assert_eq!(
        attached_to(&v),
        std::slice::from_ref(&instance.id),
        "attachments"
    );
    assert_eq!(
        v.region, region,
        "a volume attached at creation is in its instance's region"
    );
    cx.assert_listed(
        &ListVolumes::new().with_attached_to(instance.id.clone()),
        &v.id,
        "created attached",
    )
    .await;
    cx.detach(&v.id).await;
}
