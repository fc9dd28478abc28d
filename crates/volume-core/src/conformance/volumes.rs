//! Volumes: create, get, list, update, delete; listing filters and pages;
//! many creates at once.

use std::collections::BTreeSet;

use futures::future::join_all;

use super::cx::{assert_no_duplicates, expect_invalid_input, expect_not_found, Cx, Must};
use crate::error::ResourceKind;
use crate::model::{ListVolumes, PageToken, Size, UpdateVolume, VolumeId};
use crate::state::VolumeState;
use crate::storage::{BlockStorage, BlockStorageExt};

/// Create, get, list, update and delete one volume.
///
/// The volume has the smallest size, the region of an instance (when there
/// are any) and, with the `labels` capability, labels. It is available after
/// waiting, `get_volume` and `list_volumes` show it as created; with `update`
/// it is renamed and relabelled (without, `update_volume` is `Unsupported`);
/// after `delete_volume` it is not found, not listed, and a second delete is
/// not found either.
pub async fn volume_round_trip(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "volume_round_trip");
    cx.guard(volume_round_trip_in(&cx)).await;
}

async fn volume_round_trip_in(cx: &Cx<'_>) {
    let home = cx.home().await;
    let mut req = cx.volume_request("round-trip", cx.size(0), home.region.as_ref());
    if cx.caps.labels {
        req = req.with_label("purpose", "round-trip");
    }
    let v = cx.create(&req).await;
    assert_eq!(v.state, VolumeState::Available);
    assert!(
        v.attachments.is_empty(),
        "a new volume has attachments: {:?}",
        v.attachments
    );
    if let Some(region) = &home.region {
        assert_eq!(&v.region, region);
    }

    let got = cx.get(&v.id).await;
    assert_eq!(got.name, v.name, "get_volume: name");
    assert_eq!(got.size, v.size, "get_volume: size");
    assert_eq!(got.region, v.region, "get_volume: region");
    assert_eq!(got.state, VolumeState::Available, "get_volume: state");
    assert_eq!(got.labels, v.labels, "get_volume: labels");

    cx.assert_listed(&ListVolumes::new(), &v.id, "after create")
        .await;
    cx.assert_listed(
        &ListVolumes::new().with_name(&v.name),
        &v.id,
        "after create",
    )
    .await;
    let listed = cx.list(&ListVolumes::new().with_name(&v.name)).await;
    let listed = listed.iter().find(|l| l.id == v.id).expect("listed");
    assert_eq!(listed.size, v.size, "the listed volume's size");
    assert_eq!(listed.region, v.region, "the listed volume's region");
    assert_eq!(listed.labels, v.labels, "the listed volume's labels");

    let new_name = cx.name("round-trip-renamed");
    let renamed = storage_update(cx, &v.id, &UpdateVolume::new().with_name(&new_name)).await;
    if let Some(renamed) = renamed {
        assert_eq!(renamed.name, new_name, "update_volume's answer: name");
        assert_eq!(renamed.size, v.size, "update_volume changed the size");
        let got = cx.get(&v.id).await;
        assert_eq!(got.name, new_name, "get_volume after renaming");
        cx.assert_listed(
            &ListVolumes::new().with_name(&new_name),
            &v.id,
            "after renaming",
        )
        .await;
        cx.assert_not_listed(
            &ListVolumes::new().with_name(&v.name),
            &v.id,
            "after renaming",
        )
        .await;

        if cx.caps.labels {
            let mut labels = cx.own_labels();
            labels.insert("purpose".to_owned(), "relabelled".to_owned());
            labels.insert("extra".to_owned(), String::new());
            let relabelled =
                storage_update(cx, &v.id, &UpdateVolume::new().with_labels(labels.clone()))
                    .await
                    .expect("update is supported");
            assert_eq!(relabelled.name, new_name, "relabelling renamed the volume");
            let got = cx.get(&v.id).await;
            for (k, val) in &labels {
                assert_eq!(
                    got.labels.get(k),
                    Some(val),
                    "label {k:?} after relabelling: {:?}",
                    got.labels
                );
            }
            cx.assert_listed(
                &ListVolumes::new()
                    .with_label("purpose", "relabelled")
                    .with_name(&new_name),
                &v.id,
                "after relabelling",
            )
            .await;
            cx.assert_not_listed(
                &ListVolumes::new()
                    .with_label("purpose", "round-trip")
                    .with_name(&new_name),
                &v.id,
                "after relabelling",
            )
            .await;
        }
    }

    cx.delete_volume(&v.id).await;
    let name = if cx.caps.update { &new_name } else { &v.name };
    cx.assert_not_listed(&ListVolumes::new(), &v.id, "after delete")
        .await;
    cx.assert_not_listed(&ListVolumes::new().with_name(name), &v.id, "after delete")
        .await;
    let err = cx
        .storage
        .delete_volume(&v.id)
        .await
        .must_err("deleting a deleted volume");
    expect_not_found(
        &err,
        ResourceKind::Volume,
        v.id.as_str(),
        "delete_volume twice",
    );
}

/// `update_volume`, or `None` after checking it is `Unsupported`.
async fn storage_update(
    cx: &Cx<'_>,
    id: &VolumeId,
    req: &UpdateVolume,
) -> Option<crate::model::Volume> {
    let answer = cx.storage.update_volume(id, req).await;
    let answer = cx.gated(cx.caps.update, "update_volume", answer, "update_volume")?;
    assert_eq!(&answer.id, id, "update_volume answered another volume");
    Some(
        cx.wait_volume(id, VolumeState::Available, "the updated volume")
            .await,
    )
}

/// Sizes outside the capabilities' limits are refused with `InvalidInput`
/// on field `size`, and nothing is created.
pub async fn create_volume_checks_size(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "create_volume_checks_size");
    cx.guard(create_volume_checks_size_in(&cx)).await;
}

async fn create_volume_checks_size_in(cx: &Cx<'_>) {
    let home = cx.home().await;
    let min = cx.caps.min_size.as_gib();
    let mut sizes = vec![0];
    if min > 1 {
        sizes.push(min - 1);
    }
    if let Some(above) = cx.caps.max_size.as_gib().checked_add(1) {
        sizes.push(above);
    }
    for gib in sizes {
        let req = cx.volume_request(
            &format!("bad-size-{gib}"),
            Size::gib(gib),
            home.region.as_ref(),
        );
        let answer = cx.storage.create_volume(&req).await;
        if let Ok(v) = &answer {
            cx.track_volume(&v.id);
        }
        let err = answer.must_err(format_args!(
            "create_volume of {gib} GiB (limits {} to {})",
            cx.caps.min_size, cx.caps.max_size
        ));
        expect_invalid_input(&err, "size", format_args!("create_volume of {gib} GiB"));
        let listed = cx.list(&ListVolumes::new().with_name(&req.name)).await;
        assert!(
            listed.is_empty(),
            "create_volume of {gib} GiB was refused but created {:?}",
            listed.iter().map(|v| &v.id).collect::<Vec<_>>()
        );
    }
}

/// `list_volumes` filters: by name, region, labels, state and instance,
/// alone and together; everything listed matches the filter, and a filter
/// that matches nothing lists nothing.
pub async fn list_volumes_filters(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "list_volumes_filters");
    cx.guard(list_volumes_filters_in(&cx)).await;
}

async fn list_volumes_filters_in(cx: &Cx<'_>) {
    let home = cx.home().await;
    let region = home.region.clone();
    let mut req_a = cx.volume_request("filter-a", cx.size(0), region.as_ref());
    let mut req_b = cx.volume_request("filter-b", cx.size(0), region.as_ref());
    if cx.caps.labels {
        req_a = req_a.with_label("team", "a");
        req_b = req_b.with_label("team", "b");
    }
    let a = cx.create(&req_a).await;
    let b = cx.create(&req_b).await;

    // By name.
    let by_name = ListVolumes::new().with_name(&a.name);
    cx.assert_listed(&by_name, &a.id, "by name").await;
    cx.assert_not_listed(&by_name, &b.id, "by name").await;

    // By region, and in another region.
    let other = home.elsewhere.first().map(|i| i.region.clone());
    let c = match &other {
        Some(r) => Some(cx.volume_in("filter-c", 0, Some(r)).await),
        None => None,
    };
    let by_region = ListVolumes::new().with_region(a.region.clone());
    cx.assert_listed(&by_region, &a.id, "by region").await;
    cx.assert_listed(&by_region, &b.id, "by region").await;
    if let (Some(c), Some(r)) = (&c, &other) {
        cx.assert_not_listed(&by_region, &c.id, "by region").await;
        let there = ListVolumes::new().with_region(r.clone());
        cx.assert_listed(&there, &c.id, "by the other region").await;
        cx.assert_not_listed(&there, &a.id, "by the other region")
            .await;
        cx.assert_not_listed(
            &ListVolumes::new().with_name(&a.name).with_region(r.clone()),
            &a.id,
            "by name and the wrong region",
        )
        .await;
    }
    cx.assert_listed(
        &ListVolumes::new()
            .with_name(&a.name)
            .with_region(a.region.clone()),
        &a.id,
        "by name and region",
    )
    .await;

    // By labels.
    if cx.caps.labels {
        let ours = ListVolumes::new().with_label("conformance", cx.prefix_label());
        let listed: BTreeSet<VolumeId> = cx.list(&ours).await.into_iter().map(|v| v.id).collect();
        let mut expected = BTreeSet::from([a.id.clone(), b.id.clone()]);
        if let Some(c) = &c {
            expected.insert(c.id.clone());
        }
        assert_eq!(listed, expected, "by our label");
        let team_a = ours.clone().with_label("team", "a");
        let listed: Vec<VolumeId> = cx.list(&team_a).await.into_iter().map(|v| v.id).collect();
        assert_eq!(listed, std::slice::from_ref(&a.id), "by two labels");
        let nobody = ours.with_label("team", "nobody");
        assert!(
            cx.list(&nobody).await.is_empty(),
            "by a label value nobody has"
        );
    }

    // By state.
    let available = ListVolumes::new().with_state(VolumeState::Available);
    cx.assert_listed(&available, &a.id, "by state available")
        .await;
    cx.assert_listed(&available, &b.id, "by state available")
        .await;

    // A filter that matches nothing.
    let nobody = ListVolumes::new().with_name(cx.name("nobody-has-this-name"));
    assert!(cx.list(&nobody).await.is_empty(), "by a name nobody has");
    let first = cx
        .storage
        .list_volumes(&nobody, None)
        .await
        .must("list_volumes by a name nobody has");
    assert!(
        first.items.is_empty(),
        "by a name nobody has: {:?}",
        first.items
    );

    // By instance and by state once attached.
    if !cx.caps.attach {
        cx.skip("no attach capability: the attached_to filter is not checked");
        return;
    }
    let (_, instances) = cx.attach_home().await;
    let instance = &instances[0].id;
    cx.attach(&a.id, instance).await;
    let on_instance = ListVolumes::new().with_attached_to(instance.clone());
    cx.assert_listed(&on_instance, &a.id, "by instance").await;
    cx.assert_not_listed(&on_instance, &b.id, "by instance")
        .await;
    let in_use = ListVolumes::new().with_state(VolumeState::InUse);
    cx.assert_listed(&in_use, &a.id, "by state in-use").await;
    cx.assert_not_listed(&in_use, &b.id, "by state in-use")
        .await;
    cx.assert_not_listed(&available, &a.id, "by state available")
        .await;
    cx.assert_listed(&available, &b.id, "by state available")
        .await;
    cx.assert_listed(
        &on_instance.clone().with_name(&a.name),
        &a.id,
        "by instance and name",
    )
    .await;
    if let Some(other_instance) = instances.get(1) {
        cx.assert_not_listed(
            &ListVolumes::new().with_attached_to(other_instance.id.clone()),
            &a.id,
            "by another instance",
        )
        .await;
    }
    cx.detach(&a.id).await;
    cx.assert_not_listed(&on_instance, &a.id, "by instance after detaching")
        .await;
}

/// Listing across pages: five volumes listed with `page_size(2)`, page by
/// page through the `next` tokens and through `list_all_volumes`, come back
/// each exactly once. Pages hold at most the larger of 2 and the backend's
/// own smallest page (taken from the first page), and never more than
/// `max_page_size`; the number of pages is not checked.
pub async fn list_volumes_pages(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "list_volumes_pages");
    cx.guard(list_volumes_pages_in(&cx)).await;
}

async fn list_volumes_pages_in(cx: &Cx<'_>) {
    let home = cx.home().await;
    let mut ours = BTreeSet::new();
    for i in 0..5 {
        let v = cx
            .volume_in(&format!("page-{i}"), 0, home.region.as_ref())
            .await;
        ours.insert(v.id);
    }

    let mut queries = vec![ListVolumes::new().with_page_size(2)];
    if cx.caps.labels {
        queries.push(
            ListVolumes::new()
                .with_label("conformance", cx.prefix_label())
                .with_page_size(2),
        );
    }
    // The backend's page size, as the first unfiltered page shows it (a
    // backend that filters after paging may return short filtered pages).
    let mut limit = None;
    for (n, query) in queries.iter().enumerate() {
        let filtered = n == 1;
        let by_hand = pages_by_hand(cx, query, &mut limit).await;
        let listed: BTreeSet<VolumeId> = by_hand.iter().cloned().collect();
        assert!(
            ours.is_subset(&listed),
            "page by page with {query:?}: missing {:?}",
            ours.difference(&listed).collect::<Vec<_>>()
        );
        if filtered {
            assert_eq!(listed, ours, "page by page with {query:?}");
        }
        let streamed: Vec<VolumeId> = cx.list(query).await.into_iter().map(|v| v.id).collect();
        let streamed_set: BTreeSet<VolumeId> = streamed.iter().cloned().collect();
        assert!(
            ours.is_subset(&streamed_set),
            "list_all_volumes with {query:?}: missing {:?}",
            ours.difference(&streamed_set).collect::<Vec<_>>()
        );
        if filtered {
            assert_eq!(streamed_set, ours, "list_all_volumes with {query:?}");
        }
    }
}

/// Every id `query` lists, fetched page by page through the `next` tokens;
/// checks duplicates, and page sizes against `limit` (set from the first
/// page when it is `None`).
async fn pages_by_hand(
    cx: &Cx<'_>,
    query: &ListVolumes,
    limit: &mut Option<usize>,
) -> Vec<VolumeId> {
    let asked = query.page_size.unwrap_or(2);
    let mut token: Option<PageToken> = None;
    let mut tokens = std::collections::HashSet::new();
    let mut ids = Vec::new();
    for pages in 1.. {
        assert!(pages <= 10_000, "{query:?}: more than 10000 pages");
        let page = cx
            .storage
            .list_volumes(query, token.as_ref())
            .await
            .must(format_args!(
                "list_volumes {query:?} page {pages} (token {token:?})"
            ));
        let n = page.items.len();
        assert!(
            n <= cx.caps.max_page_size as usize,
            "{query:?}: page {pages} holds {n} volumes, more than max_page_size {}",
            cx.caps.max_page_size
        );
        match *limit {
            None => *limit = Some(n.max(asked as usize)),
            Some(limit) => assert!(
                n <= limit,
                "{query:?}: page {pages} holds {n} volumes, more than the larger of the \
                 {asked} asked for and the backend's own page size ({limit}, from its first page)"
            ),
        }
        for v in &page.items {
            assert!(
                query.matches(v),
                "{query:?}: page {pages} lists {} which does not match",
                v.id
            );
        }
        ids.extend(page.items.into_iter().map(|v| v.id));
        match page.next {
            None => break,
            Some(next) => {
                assert!(
                    tokens.insert(next.clone()),
                    "{query:?}: page {pages} returned token {next:?}, seen before"
                );
                token = Some(next);
            }
        }
    }
    assert_no_duplicates(ids.iter(), "list_volumes page by page");
    ids
}

/// Twenty creates at once all succeed, with twenty distinct ids, and all are
/// listed; twenty deletes at once all succeed and none is listed after.
pub async fn concurrent_creates(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "concurrent_creates");
    cx.guard(concurrent_creates_in(&cx)).await;
}

async fn concurrent_creates_in(cx: &Cx<'_>) {
    const N: usize = 20;
    let home = cx.home().await;
    let requests: Vec<_> = (0..N)
        .map(|i| {
            cx.volume_request(
                &format!("concurrent-{i:02}"),
                cx.size(0),
                home.region.as_ref(),
            )
        })
        .collect();
    let answers = join_all(requests.iter().map(|r| cx.storage.create_volume(r))).await;
    let mut ids = Vec::new();
    let mut failures = Vec::new();
    for (req, answer) in requests.iter().zip(answers) {
        match answer {
            Ok(v) => {
                cx.track_volume(&v.id);
                assert_eq!(
                    v.name, req.name,
                    "a concurrent create answered another volume"
                );
                ids.push(v.id);
            }
            Err(e) => failures.push(format!("{}: {e}", req.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "concurrent creates failed: {failures:#?}"
    );
    assert_no_duplicates(ids.iter(), "concurrent create_volume");
    let ready = join_all(
        ids.iter()
            .map(|id| cx.wait_volume(id, VolumeState::Available, "a concurrently created volume")),
    )
    .await;
    for (req, v) in requests.iter().zip(&ready) {
        assert_eq!(v.name, req.name);
    }

    let ours: BTreeSet<VolumeId> = ids.iter().cloned().collect();
    let listed: BTreeSet<VolumeId> = cx
        .list(&ListVolumes::new())
        .await
        .into_iter()
        .map(|v| v.id)
        .filter(|id| ours.contains(id))
        .collect();
    assert_eq!(
        listed, ours,
        "not every concurrently created volume is listed"
    );

    let deletes = join_all(
        ids.iter()
            .map(|id| cx.storage.delete_volume_and_wait(id, &cx.wait)),
    )
    .await;
    for (id, d) in ids.iter().zip(deletes) {
        d.must(format_args!("concurrent delete of {id}"));
    }
    let left: Vec<VolumeId> = cx
        .list(&ListVolumes::new())
        .await
        .into_iter()
        .map(|v| v.id)
        .filter(|id| ours.contains(id))
        .collect();
    assert!(left.is_empty(), "deleted volumes still listed: {left:?}");
}
