//! A backend that owns the fake server it talks to, for conformance
//! factories.

use std::fmt;
use std::ops::Deref;

use async_trait::async_trait;
use volume_core::{
    Backup, BackupId, BlockStorage, Capabilities, CloneVolume, CreateBackup, CreateSnapshot,
    CreateVolume, Instance, InstanceId, ListBackups, ListSnapshots, ListVolumes, Page, PageToken,
    RestoreBackup, Result, Size, Snapshot, SnapshotId, UpdateVolume, Volume, VolumeId,
};
use wiremock::MockServer;

/// A client together with the server (and the fake) it talks to, so that
/// the server lives exactly as long as the client: a conformance factory
/// returns one, and the battery's test drops it at the end of the case.
///
/// It implements [`BlockStorage`] by forwarding every method to the client,
/// and `Display` and `Debug` too (the battery names the client in its
/// messages); it dereferences to the client for provider-only operations.
///
/// ```
/// use volume_core::BlockStorage;
/// use volume_sim::testing::Served;
/// use volume_sim::Sim;
/// use wiremock::MockServer;
///
/// /// A fresh backend for each case of `volume_core::conformance_tests!`.
/// /// In a provider crate: start the provider's fake, build the client with
/// /// the fake's base URL, and keep both (`.with_fake(fake)` keeps the fake
/// /// too). A `Sim` stands in for the client here.
/// async fn backend() -> Served<Sim> {
///     let server = MockServer::start().await;
///     Served::new(Sim::new(), server)
/// }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let served = backend().await;
/// assert_eq!(served.capabilities().provider, "sim");
/// assert_eq!(served.to_string(), served.client().to_string());
/// # });
/// ```
pub struct Served<C, F = ()> {
    // Declared first, dropped first: the client goes before its server.
    client: C,
    server: MockServer,
    fake: F,
}

impl<C> Served<C> {
    /// `client`, which talks to `server`, and the server.
    pub fn new(client: C, server: MockServer) -> Self {
        Self {
            client,
            server,
            fake: (),
        }
    }

    /// Keeps `fake` (the fake mounted on the server) as well, for tests
    /// that reach into it (its engine, its clock, its faults).
    pub fn with_fake<F>(self, fake: F) -> Served<C, F> {
        Served {
            client: self.client,
            server: self.server,
            fake,
        }
    }
}

impl<C, F> Served<C, F> {
    /// The client.
    pub fn client(&self) -> &C {
        &self.client
    }

    /// The server the client talks to.
    pub fn server(&self) -> &MockServer {
        &self.server
    }

    /// The fake kept with [`with_fake`](Served::with_fake).
    pub fn fake(&self) -> &F {
        &self.fake
    }
}

impl<C, F> Deref for Served<C, F> {
    type Target = C;

    fn deref(&self) -> &C {
        &self.client
    }
}

impl<C: fmt::Display, F> fmt::Display for Served<C, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.client.fmt(f)
    }
}

impl<C: fmt::Debug, F> fmt::Debug for Served<C, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Served")
            .field("client", &self.client)
            .field("server", &self.server.uri())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<C: BlockStorage, F: Send + Sync + 'static> BlockStorage for Served<C, F> {
    fn capabilities(&self) -> Capabilities {
        self.client.capabilities()
    }
    async fn list_volumes(
        &self,
        query: &ListVolumes,
        page: Option<&PageToken>,
    ) -> Result<Page<Volume>> {
        self.client.list_volumes(query, page).await
    }
    async fn get_volume(&self, id: &VolumeId) -> Result<Volume> {
        self.client.get_volume(id).await
    }
    async fn create_volume(&self, request: &CreateVolume) -> Result<Volume> {
        self.client.create_volume(request).await
    }
    async fn update_volume(&self, id: &VolumeId, request: &UpdateVolume) -> Result<Volume> {
        self.client.update_volume(id, request).await
    }
    async fn delete_volume(&self, id: &VolumeId) -> Result<()> {
        self.client.delete_volume(id).await
    }
    async fn attach_volume(&self, id: &VolumeId, instance: &InstanceId) -> Result<Volume> {
        self.client.attach_volume(id, instance).await
    }
    async fn detach_volume(&self, id: &VolumeId) -> Result<Volume> {
        self.client.detach_volume(id).await
    }
    async fn resize_volume(&self, id: &VolumeId, new_size: Size) -> Result<Volume> {
        self.client.resize_volume(id, new_size).await
    }
    async fn clone_volume(&self, id: &VolumeId, request: &CloneVolume) -> Result<Volume> {
        self.client.clone_volume(id, request).await
    }
    async fn create_snapshot(&self, request: &CreateSnapshot) -> Result<Snapshot> {
        self.client.create_snapshot(request).await
    }
    async fn get_snapshot(&self, id: &SnapshotId) -> Result<Snapshot> {
        self.client.get_snapshot(id).await
    }
    async fn list_snapshots(
        &self,
        query: &ListSnapshots,
        page: Option<&PageToken>,
    ) -> Result<Page<Snapshot>> {
        self.client.list_snapshots(query, page).await
    }
    async fn delete_snapshot(&self, id: &SnapshotId) -> Result<()> {
        self.client.delete_snapshot(id).await
    }
    async fn create_backup(&self, request: &CreateBackup) -> Result<Backup> {
        self.client.create_backup(request).await
    }
    async fn get_backup(&self, id: &BackupId) -> Result<Backup> {
        self.client.get_backup(id).await
    }
    async fn list_backups(
        &self,
        query: &ListBackups,
        page: Option<&PageToken>,
    ) -> Result<Page<Backup>> {
        self.client.list_backups(query, page).await
    }
    async fn delete_backup(&self, id: &BackupId) -> Result<()> {
        self.client.delete_backup(id).await
    }
    async fn restore_backup(&self, id: &BackupId, request: &RestoreBackup) -> Result<Volume> {
        self.client.restore_backup(id, request).await
    }
    async fn list_instances(&self, page: Option<&PageToken>) -> Result<Page<Instance>> {
        self.client.list_instances(page).await
    }
}
