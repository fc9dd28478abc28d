//! Resize and clone.

use super::cx::{
    attached_to, expect_invalid_input, expect_not_found, expect_refused, Cx, Must, ANY_OPERATION,
};
use crate::capability::ResizeMode;
use crate::error::ResourceKind;
use crate::model::{CloneVolume, ListVolumes, Size, VolumeSource};
use crate::state::VolumeState;
use crate::storage::BlockStorage;

/// Growing a detached volume works: the volume ends available at the new
/// size, as `get_volume` and `list_volumes` show.
pub async fn resize_grows(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "resize_grows");
    cx.guard(resize_grows_in(&cx)).await;
}

async fn resize_grows_in(cx: &Cx<'_>) {
    let v = cx.volume("grow", 0).await;
    let new_size = cx.size(1);
    let answer = cx.storage.resize_volume(&v.id, new_size).await;
    let Some(answer) = cx.gated(
        cx.caps.resize != ResizeMode::Unsupported,
        "resize_volume",
        answer,
        "resize_volume",
    ) else {
        cx.skip("no resize capability");
        return;
    };
    assert_eq!(answer.id, v.id, "resize_volume answered another volume");
    let grown = cx
        .wait_volume_until(&v.id, "the grown volume", move |v| {
            v.size == new_size && v.state == VolumeState::Available
        })
        .await;
    assert_eq!(grown.name, v.name, "resizing renamed the volume");
    assert_eq!(
        cx.get(&v.id).await.size,
        new_size,
        "get_volume after growing"
    );
    let listed = cx.list(&ListVolumes::new().with_name(&v.name)).await;
    assert!(
        listed.iter().any(|l| l.id == v.id && l.size == new_size),
        "list_volumes after growing: {listed:?}"
    );
}

/// Shrinking, resizing to the same size and growing past `max_size` are
/// refused with `InvalidInput` on field `size`, and change nothing.
pub async fn resize_refuses_shrink_and_same_size(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "resize_refuses_shrink_and_same_size");
    cx.guard(resize_refuses_shrink_and_same_size_in(&cx)).await;
}

async fn resize_refuses_shrink_and_same_size_in(cx: &Cx<'_>) {
    let v = cx.volume("shrink", 1).await;
    if cx.caps.resize == ResizeMode::Unsupported {
        cx.expect_unsupported(
            cx.storage.resize_volume(&v.id, cx.size(2)).await,
            "resize_volume",
            "resize_volume",
        );
        cx.skip("no resize capability");
        return;
    }
    let mut sizes = vec![
        (cx.size(0), "shrinking"),
        (v.size, "resizing to the same size"),
    ];
    if let Some(above) = cx.caps.max_size.as_gib().checked_add(1) {
        sizes.push((Size::gib(above), "growing past max_size"));
    }
    for (size, what) in sizes {
        let err = cx
            .storage
            .resize_volume(&v.id, size)
            .await
            .must_err(format_args!("{what} ({} to {size})", v.size));
        expect_invalid_input(&err, "size", what);
        cx.assert_unchanged(&v, what).await;
    }
}

/// Resizing an attached volume follows `capabilities().resize`: `Online`
/// grows it and keeps it attached; `Offline` refuses (`InvalidState` or
/// `InvalidInput`) and changes nothing; `Unsupported` is `Unsupported`.
pub async fn resize_attached_follows_capabilities(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "resize_attached_follows_capabilities");
    cx.guard(resize_attached_follows_capabilities_in(&cx)).await;
}

async fn resize_attached_follows_capabilities_in(cx: &Cx<'_>) {
    if !cx.caps.attach {
        cx.skip("no attach capability");
        return;
    }
    let (region, instances) = cx.attach_home().await;
    let v = cx.volume_in("grow-attached", 0, Some(&region)).await;
    let instance = instances[0].id.clone();
    let attached = cx.attach(&v.id, &instance).await;
    let new_size = cx.size(1);
    let answer = cx.storage.resize_volume(&v.id, new_size).await;
    match cx.caps.resize {
        ResizeMode::Online => {
            answer.must("resizing an attached volume (resize: Online)");
            let grown = cx
                .wait_volume_until(&v.id, "the grown attached volume", move |v| {
                    v.size == new_size && v.state == VolumeState::InUse
                })
                .await;
            assert_eq!(
                attached_to(&grown),
                [instance],
                "resizing an attached volume changed its attachments"
            );
        }
        ResizeMode::Unsupported => {
            cx.expect_unsupported(answer, "resize_volume", "resize_volume");
        }
        _ => {
            let what = "resizing a volume attached to a running instance (resize: Offline)";
            let err = answer.must_err(what);
            expect_refused(&err, what);
            cx.assert_unchanged(&attached, what).await;
        }
    }
    cx.detach(&v.id).await;
}

/// A clone keeps the size and region, gets a new id and the name asked
/// for, and is independent: deleting it leaves the source, and deleting the
/// source leaves (another) clone.
pub async fn clone_is_independent(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "clone_is_independent");
    cx.guard(clone_is_independent_in(&cx)).await;
}

async fn clone_is_independent_in(cx: &Cx<'_>) {
    let source = &cx.volume("clone-source", 1).await;
    let clone = |what: &'static str| {
        let name = cx.name(what);
        async move {
            let answer = cx
                .storage
                .clone_volume(&source.id, &CloneVolume::new(&name))
                .await;
            let answer = cx.gated(cx.caps.clone, "clone_volume", answer, "clone_volume")?;
            cx.track_volume(&answer.id);
            assert_ne!(answer.id, source.id, "the clone has the source's id");
            assert_eq!(answer.name, name, "the clone's name");
            let c = cx
                .wait_volume(&answer.id, VolumeState::Available, "the clone")
                .await;
            assert_eq!(c.name, name, "the clone's name");
            assert_eq!(c.size, source.size, "the clone's size");
            assert_eq!(c.region, source.region, "the clone's region");
            assert!(
                matches!(&c.source, VolumeSource::Empty)
                    || c.source == VolumeSource::Volume(source.id.clone()),
                "the clone's source is {:?}",
                c.source
            );
            Some(c)
        }
    };
    let Some(first) = clone("clone-1").await else {
        cx.skip("no clone capability");
        return;
    };
    let src = cx.get(&source.id).await;
    assert_eq!(
        src.state,
        VolumeState::Available,
        "the source after cloning"
    );
    assert_eq!(src.size, source.size, "the source after cloning");

    cx.delete_volume(&first.id).await;
    let src = cx.get(&source.id).await;
    assert_eq!(
        src.state,
        VolumeState::Available,
        "the source after deleting its clone"
    );
    cx.assert_listed(
        &ListVolumes::new().with_name(&source.name),
        &source.id,
        "the source",
    )
    .await;

    let second = clone("clone-2").await.expect("clone is supported");
    cx.delete_volume(&source.id).await;
    let c = cx.get(&second.id).await;
    assert_eq!(
        c.state,
        VolumeState::Available,
        "the clone after deleting its source"
    );
    assert_eq!(c.size, source.size, "the clone after deleting its source");
    cx.assert_listed(
        &ListVolumes::new().with_name(&second.name),
        &second.id,
        "the clone",
    )
    .await;
}

/// `create_volume` with `VolumeSource::Volume` clones too (same size,
/// new id); from an unknown volume it is not-found for the volume.
pub async fn clone_through_create(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "clone_through_create");
    cx.guard(clone_through_create_in(&cx)).await;
}

async fn clone_through_create_in(cx: &Cx<'_>) {
    let source = cx.volume("cc-source", 1).await;
    let req = cx
        .volume_request("cc-clone", source.size, Some(&source.region))
        .with_source(VolumeSource::Volume(source.id.clone()))
        // A clone takes its source's contents; some providers (Linode)
        // cannot label it in the same request, and labels are not what
        // this case is about.
        .with_labels(Default::default());
    if !cx.caps.clone {
        let answer = cx.storage.create_volume(&req).await;
        if let Ok(v) = &answer {
            cx.track_volume(&v.id);
        }
        cx.expect_unsupported(answer, ANY_OPERATION, "create_volume from a volume");
        cx.skip("no clone capability");
        return;
    }
    let c = cx.create(&req).await;
    assert_ne!(c.id, source.id, "the clone has the source's id");
    assert_eq!(c.size, source.size, "the clone's size");

    let unknown = cx.unknown_id(Some(source.id.as_str()));
    let req = cx
        .volume_request("cc-of-nothing", source.size, Some(&source.region))
        .with_source(VolumeSource::Volume(unknown.parse().expect("valid id")))
        .with_labels(Default::default());
    let answer = cx.storage.create_volume(&req).await;
    if let Ok(v) = &answer {
        cx.track_volume(&v.id);
    }
    let err = answer.must_err("create_volume from an unknown volume");
    expect_not_found(
        &err,
        ResourceKind::Volume,
        &unknown,
        "create_volume from an unknown volume",
    );
}
