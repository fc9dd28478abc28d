//! The verbs over [`BlockStorage`], whatever the provider.

use futures::{StreamExt, TryStreamExt};
use volume_core::{
    BackupId, BlockStorage, BlockStorageExt, CloneVolume, CreateBackup, CreateSnapshot,
    CreateVolume, Error, InstanceId, Labels, ListBackups, ListSnapshots, ListVolumes, RegionId,
    RestoreBackup, Size, SnapshotId, UpdateVolume, Volume, VolumeId, VolumeSource, VolumeState,
};

use crate::cli::{BackupCommand, Command, CreateArgs, LsArgs, SnapshotCommand};
use crate::error::CliError;
use crate::output::{
    self as out, BackupView, CapabilitiesView, InstanceView, Printer, SnapshotView, VolumeView,
};
use crate::progress::Waiter;
use crate::provider::{Backend, Native};

/// Everything a verb needs.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) backend: Backend,
    pub(crate) out: Printer,
    /// `Some` with `--wait`.
    pub(crate) wait: Option<Waiter>,
}

/// Ids from the command line, checked before anything is sent.
fn volume_id(s: &str) -> Result<VolumeId, CliError> {
    Ok(VolumeId::new(s)?)
}

fn labels(pairs: &[(String, String)]) -> Labels {
    pairs.iter().cloned().collect()
}

/// Runs one verb (not `serve` or `completions`, which need no provider).
pub(crate) async fn run(ctx: &Ctx, command: &Command) -> Result<(), CliError> {
    let storage: &dyn BlockStorage = &*ctx.backend.storage;
    match command {
        Command::Ls(args) => ls(ctx, args).await,
        Command::Show { id } => {
            let v = storage.get_volume(&volume_id(id)?).await?;
            show_volume(ctx, &v)
        }
        Command::Create(args) => create(ctx, args).await,
        Command::Rm { id } => {
            let id = volume_id(id)?;
            let look = async { storage.get_volume(&id).await.map(drop) };
            gone(storage.delete_volume(&id).await, look).await?;
            if let Some(w) = &ctx.wait {
                w.volume_gone(storage, &id).await?;
            }
            deleted(ctx, "volume", id.as_str())
        }
        Command::Attach { id, instance } => {
            let v = storage
                .attach_volume(&volume_id(id)?, &InstanceId::new(instance.as_str())?)
                .await?;
            settle_and_show(ctx, v).await
        }
        Command::Detach { id } => {
            let v = storage.detach_volume(&volume_id(id)?).await?;
            settle_and_show(ctx, v).await
        }
        Command::Resize { id, size } => {
            let v = storage
                .resize_volume(&volume_id(id)?, Size::gib(*size))
                .await?;
            settle_and_show(ctx, v).await
        }
        Command::Clone {
            id,
            name,
            labels: l,
        } => {
            let mut request = CloneVolume::new(name.as_str());
            request.labels = labels(l);
            let v = storage.clone_volume(&volume_id(id)?, &request).await?;
            settle_and_show(ctx, v).await
        }
        Command::Rename { id, name } => {
            let v = storage
                .update_volume(
                    &volume_id(id)?,
                    &UpdateVolume::new().with_name(name.as_str()),
                )
                .await?;
            settle_and_show(ctx, v).await
        }
        Command::Label { id, changes } => label(ctx, id, changes).await,
        Command::Snapshot(c) => snapshot(ctx, c).await,
        Command::Backup(c) => backup(ctx, c).await,
        Command::Instances { all } => instances(ctx, *all).await,
        Command::Capabilities => {
            let c = CapabilitiesView::from(&storage.capabilities());
            ctx.out.one(&c, out::capability_fields(&c), c.provider)
        }
        Command::Linode(c) => match &ctx.backend.native {
            Native::Linode(linode) => crate::provider::linode::run(linode, c, &ctx.out).await,
            _ => Err(not_this_provider(ctx, "linode")),
        },
        Command::Exoscale(c) => match &ctx.backend.native {
            Native::Exoscale(exo) => crate::provider::exoscale::run(exo, c, &ctx.out).await,
            _ => Err(not_this_provider(ctx, "exoscale")),
        },
        Command::Cinder(c) => match &ctx.backend.native {
            Native::Cinder(cinder) => crate::provider::cinder::run(cinder, c, ctx).await,
            _ => Err(not_this_provider(ctx, "cinder")),
        },
        Command::Rancher(c) => match &ctx.backend.native {
            Native::Rancher(rancher) => crate::provider::rancher::run(rancher, c, ctx).await,
            _ => Err(not_this_provider(ctx, "rancher")),
        },
        Command::Lunanode(c) => match &ctx.backend.native {
            Native::LunaNode(lunanode) => {
                crate::provider::lunanode::run(lunanode, c, &ctx.out).await
            }
            _ => Err(not_this_provider(ctx, "lunanode")),
        },
        Command::Completions { .. } | Command::Serve(_) => Ok(()),
    }
}

fn not_this_provider(ctx: &Ctx, wanted: &str) -> CliError {
    CliError::Config(format!(
        "`volume {wanted} ...` needs --provider {wanted}; the provider in use is {}",
        ctx.backend.name
    ))
}

fn show_volume(ctx: &Ctx, v: &Volume) -> Result<(), CliError> {
    let view = VolumeView::from(v);
    ctx.out.one(&view, out::volume_fields(&view), &view.id)
}

pub(crate) async fn settle_and_show(ctx: &Ctx, v: Volume) -> Result<(), CliError> {
    let v = match &ctx.wait {
        Some(w) => w.volume(&*ctx.backend.storage, &v.id).await?,
        None => v,
    };
    show_volume(ctx, &v)
}

#[derive(serde::Serialize)]
struct Deleted<'a> {
    deleted: &'a str,
    id: &'a str,
}

fn deleted(ctx: &Ctx, kind: &str, id: &str) -> Result<(), CliError> {
    let text = if ctx.wait.is_some() {
        format!("deleted {kind} {id}")
    } else {
        format!("deleting {kind} {id}")
    };
    ctx.out.done(&Deleted { deleted: kind, id }, &text, id)
}

async fn ls(ctx: &Ctx, args: &LsArgs) -> Result<(), CliError> {
    let mut query = ListVolumes::new();
    if let Some(n) = &args.name {
        query = query.with_name(n.as_str());
    }
    if let Some(s) = &args.state {
        query = query.with_state(VolumeState::from_word(s));
    }
    if let Some(i) = &args.attached_to {
        query = query.with_attached_to(InstanceId::new(i.as_str())?);
    }
    if let Some(r) = &args.region {
        query = query.with_region(RegionId::new(r.as_str())?);
    }
    for (k, v) in &args.labels {
        query = query.with_label(k.as_str(), v.as_str());
    }
    if let Some(n) = args.page_size {
        query = query.with_page_size(n);
    }
    let storage = &*ctx.backend.storage;
    // A provider that cannot filter on something may hand back more than
    // asked: the filter is applied here too.
    let keep = |v: &Volume| query.matches(v);
    let volumes: Vec<Volume> = if args.all {
        if ctx.out.quiet {
            // Ids are printed as pages arrive.
            let mut stream = storage.list_all_volumes(query.clone());
            while let Some(v) = stream.next().await {
                let v = v?;
                if keep(&v) {
                    ctx.out.id(v.id.as_str())?;
                }
            }
            return Ok(());
        }
        storage
            .list_all_volumes(query.clone())
            .try_filter(|v| std::future::ready(keep(v)))
            .try_collect()
            .await?
    } else {
        let page = storage.list_volumes(&query, None).await?;
        if page.next.is_some() && !ctx.out.quiet {
            out::note(format_args!(
                "more volumes than one page: --all lists every one"
            ));
        }
        page.items.into_iter().filter(|v| keep(v)).collect()
    };
    let views: Vec<VolumeView> = volumes.iter().map(VolumeView::from).collect();
    let mut table = out::volume_table();
    for v in &views {
        table.row(out::volume_row(v));
    }
    ctx.out
        .list(&views, table, views.iter().map(|v| v.id.clone()))
}

async fn create(ctx: &Ctx, args: &CreateArgs) -> Result<(), CliError> {
    let source = if let Some(s) = &args.from_snapshot {
        VolumeSource::Snapshot(SnapshotId::new(s.as_str())?)
    } else if let Some(b) = &args.from_backup {
        VolumeSource::Backup(BackupId::new(b.as_str())?)
    } else if let Some(v) = &args.clone_of {
        VolumeSource::Volume(volume_id(v)?)
    } else {
        VolumeSource::Empty
    };
    let mut request = match (&source, args.size) {
        (VolumeSource::Empty, None) => {
            return Err(Error::invalid_input("size", "--size is needed for an empty volume").into())
        }
        (_, Some(size)) => CreateVolume::new(args.name.as_str(), Size::gib(size)),
        (_, None) => {
            let mut r = CreateVolume::new(args.name.as_str(), Size::gib(0));
            r.size = None;
            r
        }
    }
    .with_source(source)
    .with_labels(labels(&args.labels));
    if let Some(r) = &args.region {
        request = request.with_region(RegionId::new(r.as_str())?);
    }
    if let Some(t) = &args.volume_type {
        request = request.with_volume_type(t.as_str());
    }
    if let Some(i) = &args.attach_to {
        request = request.with_attach_to(InstanceId::new(i.as_str())?);
    }
    let v = ctx.backend.storage.create_volume(&request).await?;
    settle_and_show(ctx, v).await
}

async fn label(ctx: &Ctx, id: &str, changes: &[String]) -> Result<(), CliError> {
    let id = volume_id(id)?;
    let storage = &*ctx.backend.storage;
    let mut labels = storage.get_volume(&id).await?.labels;
    for change in changes {
        if let Some((k, v)) = change.split_once('=') {
            if k.is_empty() {
                return Err(CliError::Config(format!("{change:?}: a label needs a key")));
            }
            labels.insert(k.to_owned(), v.to_owned());
        } else if let Some(k) = change.strip_suffix('-').filter(|k| !k.is_empty()) {
            labels.remove(k);
        } else {
            return Err(CliError::Config(format!(
                "{change:?} is neither KEY=VALUE (to set) nor KEY- (to remove)"
            )));
        }
    }
    let v = storage
        .update_volume(&id, &UpdateVolume::new().with_labels(labels))
        .await?;
    settle_and_show(ctx, v).await
}

async fn snapshot(ctx: &Ctx, command: &SnapshotCommand) -> Result<(), CliError> {
    let storage = &*ctx.backend.storage;
    let show = |s: &volume_core::Snapshot| {
        let view = SnapshotView::from(s);
        ctx.out.one(&view, out::snapshot_fields(&view), &view.id)
    };
    match command {
        SnapshotCommand::Create { volume, name } => {
            let s = storage
                .create_snapshot(&CreateSnapshot::new(volume_id(volume)?, name.as_str()))
                .await?;
            let s = match &ctx.wait {
                Some(w) => w.snapshot(storage, &s.id).await?,
                None => s,
            };
            show(&s)
        }
        SnapshotCommand::Ls { volume, all } => {
            let mut query = ListSnapshots::new();
            if let Some(v) = volume {
                query = query.with_volume(volume_id(v)?);
            }
            let items: Vec<volume_core::Snapshot> = if *all {
                storage.list_all_snapshots(query).try_collect().await?
            } else {
                first_page(storage.list_snapshots(&query, None).await?, "snapshots")
            };
            let views: Vec<SnapshotView> = items.iter().map(SnapshotView::from).collect();
            let mut table = out::snapshot_table();
            for s in &views {
                table.row(out::snapshot_row(s));
            }
            ctx.out
                .list(&views, table, views.iter().map(|s| s.id.clone()))
        }
        SnapshotCommand::Show { id } => {
            show(&storage.get_snapshot(&SnapshotId::new(id.as_str())?).await?)
        }
        SnapshotCommand::Rm { id } => {
            let id = SnapshotId::new(id.as_str())?;
            let look = async { storage.get_snapshot(&id).await.map(drop) };
            gone(storage.delete_snapshot(&id).await, look).await?;
            if let Some(w) = &ctx.wait {
                w.snapshot_gone(storage, &id).await?;
            }
            deleted(ctx, "snapshot", id.as_str())
        }
    }
}

async fn backup(ctx: &Ctx, command: &BackupCommand) -> Result<(), CliError> {
    let storage = &*ctx.backend.storage;
    let show = |b: &volume_core::Backup| {
        let view = BackupView::from(b);
        ctx.out.one(&view, out::backup_fields(&view), &view.id)
    };
    match command {
        BackupCommand::Create {
            volume,
            name,
            incremental,
        } => {
            let b = storage
                .create_backup(
                    &CreateBackup::new(volume_id(volume)?, name.as_str()).incremental(*incremental),
                )
                .await?;
            let b = match &ctx.wait {
                Some(w) => w.backup(storage, &b.id).await?,
                None => b,
            };
            show(&b)
        }
        BackupCommand::Ls { volume, all } => {
            let mut query = ListBackups::new();
            if let Some(v) = volume {
                query = query.with_volume(volume_id(v)?);
            }
            let items: Vec<volume_core::Backup> = if *all {
                storage.list_all_backups(query).try_collect().await?
            } else {
                first_page(storage.list_backups(&query, None).await?, "backups")
            };
            let views: Vec<BackupView> = items.iter().map(BackupView::from).collect();
            let mut table = out::backup_table();
            for b in &views {
                table.row(out::backup_row(b));
            }
            ctx.out
                .list(&views, table, views.iter().map(|b| b.id.clone()))
        }
        BackupCommand::Show { id } => {
            show(&storage.get_backup(&BackupId::new(id.as_str())?).await?)
        }
        BackupCommand::Rm { id } => {
            let id = BackupId::new(id.as_str())?;
            let look = async { storage.get_backup(&id).await.map(drop) };
            gone(storage.delete_backup(&id).await, look).await?;
            if let Some(w) = &ctx.wait {
                w.backup_gone(storage, &id).await?;
            }
            deleted(ctx, "backup", id.as_str())
        }
        BackupCommand::Restore { id, name, over } => {
            let request = match (name, over) {
                (_, Some(v)) => RestoreBackup::over_volume(volume_id(v)?),
                (Some(n), None) => RestoreBackup::to_new_volume(n.as_str()),
                (None, None) => {
                    return Err(CliError::Config(
                        "restore needs --name or --over".to_owned(),
                    ))
                }
            };
            let v = storage
                .restore_backup(&BackupId::new(id.as_str())?, &request)
                .await?;
            settle_and_show(ctx, v).await
        }
    }
}

async fn instances(ctx: &Ctx, all: bool) -> Result<(), CliError> {
    let storage = &*ctx.backend.storage;
    let items: Vec<volume_core::Instance> = if all {
        storage.list_all_instances().try_collect().await?
    } else {
        first_page(storage.list_instances(None).await?, "instances")
    };
    let views: Vec<InstanceView> = items.iter().map(InstanceView::from).collect();
    let mut table = out::instance_table();
    for i in &views {
        table.row(out::instance_row(i));
    }
    ctx.out
        .list(&views, table, views.iter().map(|i| i.id.clone()))
}

fn first_page<T>(page: volume_core::Page<T>, what: &str) -> Vec<T> {
    if page.next.is_some() {
        out::note(format_args!(
            "more {what} than one page: --all lists every one"
        ));
    }
    page.items
}

/// A delete's result. A refusal after an earlier attempt that may have
/// done it (the error says the outcome is unknown) is settled: a "not
/// found" counts as deleted; any other refusal (Cattle answers a second
/// remove with 405) is checked with `look`, a read of the resource, and
/// counts as deleted when that finds nothing.
async fn gone(
    result: volume_core::Result<()>,
    look: impl std::future::Future<Output = volume_core::Result<()>>,
) -> volume_core::Result<()> {
    match result {
        Err(e) if e.outcome_unknown() && e.is_not_found() => Ok(()),
        Err(e) if e.outcome_unknown() => match look.await {
            Err(seen) if seen.is_not_found() => Ok(()),
            _ => Err(e),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::gone;
    use volume_core::{ApiError, Error, ResourceKind};

    fn refused(status: u16, unknown: bool) -> Error {
        let api = ApiError::new("p", status, "refused").with_outcome_unknown(unknown);
        Error::from_status(api, ResourceKind::Volume, "v", None)
    }

    fn missing() -> volume_core::Result<()> {
        Err(Error::not_found(ResourceKind::Volume, "v"))
    }

    #[tokio::test]
    async fn a_refused_repeat_of_a_delete_is_settled_by_looking() {
        // A 404 after an attempt that may have acted: deleted, no look.
        let unreachable = async { panic!("looked when a 404 settles it") };
        assert!(gone(Err(refused(404, true)), unreachable).await.is_ok());
        // A 405 (Cattle's answer to a second remove): deleted if it is gone…
        assert!(gone(Err(refused(405, true)), async { missing() })
            .await
            .is_ok());
        // …and the refusal if it is still there.
        let e = gone(Err(refused(405, true)), async { Ok(()) })
            .await
            .unwrap_err();
        assert!(e.outcome_unknown(), "{e:?}");
        // A first attempt refused: the refusal, whatever a look would say.
        assert!(gone(Err(refused(404, false)), async { missing() })
            .await
            .is_err());
        assert!(gone(Err(refused(405, false)), async { missing() })
            .await
            .is_err());
    }
}
