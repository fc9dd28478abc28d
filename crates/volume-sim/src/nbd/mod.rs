//! The engine's volumes, snapshots and backups as network block devices,
//! over the NBD protocol, so qemu-img, qemu-io, qemu-nbd, nbdcopy, nbdfuse
//! and the kernel's nbd-client see real disks whose bytes are the engine's.
//!
//! Written from the protocol document (`doc/proto.md` of the
//! NetworkBlockDevice/nbd project). What is served:
//!
//! - the fixed-newstyle handshake with `NBD_OPT_GO`, `NBD_OPT_INFO`,
//!   `NBD_OPT_EXPORT_NAME`, `NBD_OPT_LIST`, `NBD_OPT_ABORT`,
//!   `NBD_OPT_STRUCTURED_REPLY`, and `NBD_OPT_LIST_META_CONTEXT` /
//!   `NBD_OPT_SET_META_CONTEXT` for `base:allocation`; the export size,
//!   name, description and block sizes (minimum 1, preferred 4096,
//!   maximum payload [`NbdLimits::max_request`]); TLS is not offered;
//! - the commands `READ`, `WRITE` (with `FUA`), `FLUSH`, `TRIM` (the
//!   engine's discard), `WRITE_ZEROES` (holes unless `NO_HOLE`; `FAST_ZERO`
//!   succeeds when no allocation is asked for), `CACHE`, `DISC` and
//!   `BLOCK_STATUS` for `base:allocation`, which is exact: a hole is a
//!   chunk the engine never stored (or discarded), reported
//!   `NBD_STATE_HOLE | NBD_STATE_ZERO`; a stored chunk is reported `0`;
//! - errors as NBD error codes (`EPERM` for writes to a read-only export,
//!   `EINVAL` / `ENOSPC` out of bounds, `EOVERFLOW` for a read above the
//!   payload cap, `ESHUTDOWN` once the export is gone). A request header
//!   with a bad magic, or a write above the payload cap, cannot be skipped
//!   and closes the session; nothing a client sends makes the server panic.
//!
//! Exports follow the control plane ([`crate::engine::exports`]): a volume
//! is exported read-write while it is attached to an instance, under its id
//! and under any alias an [`ExportSource`] adds (such as the device path
//! Linode shows); snapshots and backups read-only as `snapshot/<id>` and
//! `backup/<id>`. Detaching or deleting a volume ends its sessions: the
//! next request gets `ESHUTDOWN` and the session closes, and an idle
//! session is closed within [`NbdLimits::recheck`]. A resize is seen by
//! sessions opened after it.
//!
//! ```
//! use volume_core::{BlockStorage, CreateVolume, InstanceId, Size};
//! use volume_sim::nbd::{ExportSource, NbdExports, NbdLimits, NbdServer};
//! use volume_sim::Sim;
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let sim = Sim::new();
//! let vol = sim.create_volume(&CreateVolume::new("data", Size::gib(1))).await?;
//! let vm = sim.list_instances(None).await?.items.remove(0);
//! sim.attach_volume(&vol.id, &vm.id).await?;
//!
//! let exports = NbdExports::new().with(
//!     ExportSource::new(sim.engine().clone(), ["default"])
//!         .with_alias(|v| Some(format!("by-name/{}", v.name))),
//! );
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let server = NbdServer::start(listener, exports, NbdLimits::default()).unwrap();
//! let uris = server.export_uris();
//! assert!(uris.contains(&format!("nbd://{}/{}", server.local_addr(), vol.id)));
//! assert!(uris.contains(&format!("nbd://{}/by-name/data", server.local_addr())));
//! # Ok::<(), volume_core::Error>(())
//! # }).unwrap();
//! ```

pub mod proto;
mod session;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;
use volume_core::Volume;

use crate::engine::exports::{ExportHandle, ExportTarget, Exportable};
use crate::engine::Engine;

/// The IANA port for NBD.
pub const DEFAULT_PORT: u16 = 10809;

type AliasFn = Arc<dyn Fn(&Volume) -> Option<String> + Send + Sync>;

/// The exports of one engine, for some of its tenants.
#[derive(Clone)]
pub struct ExportSource {
    engine: Engine,
    tenants: Vec<String>,
    alias: Option<AliasFn>,
}

impl fmt::Debug for ExportSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportSource")
            .field("tenants", &self.tenants)
            .field("alias", &self.alias.is_some())
            .finish_non_exhaustive()
    }
}

impl ExportSource {
    /// The exports of `tenants` on `engine`: their attached volumes, their
    /// snapshots and their backups.
    pub fn new<I, S>(engine: Engine, tenants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            engine,
            tenants: tenants.into_iter().map(Into::into).collect(),
            alias: None,
        }
    }

    /// Also exports each attached volume under the name `alias` gives it
    /// (for Linode, its `filesystem_path`:
    /// `/dev/disk/by-id/scsi-0Linode_Volume_{label}`).
    #[must_use]
    pub fn with_alias(
        mut self,
        alias: impl Fn(&Volume) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.alias = Some(Arc::new(alias));
        self
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn alias_of(&self, e: &Exportable) -> Option<String> {
        let alias = self.alias.as_ref()?;
        e.volume.as_ref().and_then(|v| alias(v))
    }

    fn list(&self, out: &mut Vec<ExportInfo>) {
        for e in self.engine.exportable(&self.tenants) {
            let canonical = e.target.name();
            let info = |name: String| ExportInfo {
                name,
                canonical: canonical.clone(),
                tenant: e.tenant.clone(),
                size: e.size,
                read_only: e.target.read_only(),
            };
            out.push(info(canonical.clone()));
            if let Some(alias) = self.alias_of(&e) {
                out.push(info(alias));
            }
        }
    }

    fn open(&self, name: &str) -> Option<ExportHandle> {
        if let Some(target) = ExportTarget::parse(name) {
            let found = self
                .tenants
                .iter()
                .find_map(|t| self.engine.open_export(t, &target));
            if found.is_some() {
                return found;
            }
        }
        self.alias.as_ref()?;
        let e = self
            .engine
            .exportable(&self.tenants)
            .into_iter()
            .find(|e| self.alias_of(e).as_deref() == Some(name))?;
        self.engine.open_export(&e.tenant, &e.target)
    }
}

/// One export as listed ([`NbdExports::list`], `NBD_OPT_LIST`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportInfo {
    /// The name a client asks for.
    pub name: String,
    /// The canonical name (`<volume id>`, `snapshot/<id>`, `backup/<id>`);
    /// the same as `name` unless `name` is an alias.
    pub canonical: String,
    /// The tenant that owns it.
    pub tenant: String,
    /// Its size in bytes now.
    pub size: u64,
    /// Whether writes are refused.
    pub read_only: bool,
}

/// Every export a server offers: one or more [`ExportSource`]s, asked in
/// order.
#[derive(Debug, Clone, Default)]
pub struct NbdExports {
    sources: Vec<ExportSource>,
}

impl NbdExports {
    /// No exports yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a source.
    #[must_use]
    pub fn with(mut self, source: ExportSource) -> Self {
        self.sources.push(source);
        self
    }

    /// Every export that stands now, aliases included.
    pub fn list(&self) -> Vec<ExportInfo> {
        let mut out = Vec::new();
        for s in &self.sources {
            s.list(&mut out);
        }
        out
    }

    /// Opens the export `name` (canonical or alias), if it stands now.
    pub fn open(&self, name: &str) -> Option<ExportHandle> {
        if name.is_empty() {
            return None;
        }
        self.sources.iter().find_map(|s| s.open(name))
    }
}

/// Limits of an [`NbdServer`], as for the HTTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct NbdLimits {
    /// Sessions served at once; connections above it are closed at once.
    pub max_sessions: usize,
    /// The largest read or write payload (advertised as the maximum
    /// payload size). A read above it gets `EOVERFLOW`; a write above it
    /// closes the session, since its payload cannot be skipped safely.
    pub max_request: u32,
    /// Time allowed from connect to the end of option haggling.
    pub handshake_timeout: Duration,
    /// A session with no request for this long is closed.
    pub idle_timeout: Duration,
    /// How often an idle session re-checks that its export still stands
    /// (a busy session checks before every request).
    pub recheck: Duration,
}

impl Default for NbdLimits {
    fn default() -> Self {
        Self {
            max_sessions: 64,
            max_request: 32 * 1024 * 1024,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(600),
            recheck: Duration::from_millis(250),
        }
    }
}

impl NbdLimits {
    /// Sets [`Self::max_sessions`] (at least 1).
    #[must_use]
    pub fn with_max_sessions(mut self, n: usize) -> Self {
        self.max_sessions = n.max(1);
        self
    }

    /// Sets [`Self::max_request`] (at least 4096).
    #[must_use]
    pub fn with_max_request(mut self, bytes: u32) -> Self {
        self.max_request = bytes.max(4096);
        self
    }

    /// Sets [`Self::handshake_timeout`].
    #[must_use]
    pub fn with_handshake_timeout(mut self, t: Duration) -> Self {
        self.handshake_timeout = t;
        self
    }

    /// Sets [`Self::idle_timeout`].
    #[must_use]
    pub fn with_idle_timeout(mut self, t: Duration) -> Self {
        self.idle_timeout = t;
        self
    }

    /// Sets [`Self::recheck`] (at least 1 ms).
    #[must_use]
    pub fn with_recheck(mut self, t: Duration) -> Self {
        self.recheck = t.max(Duration::from_millis(1));
        self
    }
}

/// What every session of one server shares.
#[derive(Debug)]
struct Shared {
    exports: NbdExports,
    limits: NbdLimits,
}

/// A running NBD server. Dropping it stops accepting and ends every session
/// (as does [`NbdServer::shutdown`], which also waits for the accept loop).
#[derive(Debug)]
pub struct NbdServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    sessions: Arc<Semaphore>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl NbdServer {
    /// Serves `exports` on `listener`. Must be called within a tokio
    /// runtime (it spawns the accept loop).
    ///
    /// # Errors
    /// When the listener's address cannot be read.
    pub fn start(
        listener: TcpListener,
        exports: NbdExports,
        limits: NbdLimits,
    ) -> io::Result<Self> {
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared { exports, limits });
        let sessions = Arc::new(Semaphore::new(limits.max_sessions.max(1)));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(
            listener,
            Arc::clone(&shared),
            Arc::clone(&sessions),
            stopped,
        ));
        tracing::info!(%addr, "NBD server listening");
        Ok(Self {
            addr,
            shared,
            sessions,
            stop,
            task: Some(task),
        })
    }

    /// Binds `addr` and serves `exports` there.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind(
        addr: impl ToSocketAddrs,
        exports: NbdExports,
        limits: NbdLimits,
    ) -> io::Result<Self> {
        Self::start(TcpListener::bind(addr).await?, exports, limits)
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The exports it serves.
    pub fn exports(&self) -> &NbdExports {
        &self.shared.exports
    }

    /// The limits it enforces.
    pub fn limits(&self) -> NbdLimits {
        self.shared.limits
    }

    /// The URI of export `name`: `nbd://ADDR/NAME`.
    pub fn uri(&self, name: &str) -> String {
        format!("nbd://{}/{name}", self.addr)
    }

    /// The URI of every export that stands now (for a banner), aliases
    /// included.
    pub fn export_uris(&self) -> Vec<String> {
        self.shared
            .exports
            .list()
            .iter()
            .map(|e| self.uri(&e.name))
            .collect()
    }

    /// Sessions open now.
    pub fn active_sessions(&self) -> usize {
        self.shared
            .limits
            .max_sessions
            .max(1)
            .saturating_sub(self.sessions.available_permits())
    }

    /// Stops accepting, ends every session, and waits for the accept loop.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for NbdServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    sessions: Arc<Semaphore>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => match Arc::clone(&sessions).try_acquire_owned() {
                Ok(permit) => {
                    let shared = Arc::clone(&shared);
                    let stopped = stopped.clone();
                    tokio::spawn(async move {
                        session::run(stream, peer, &shared, stopped).await;
                        drop(permit);
                    });
                }
                Err(_) => {
                    tracing::warn!(%peer, "NBD session refused: too many sessions");
                    drop(stream);
                }
            },
            Err(e) => {
                // Out of descriptors, or a connection reset before accept:
                // wait a moment and carry on.
                tracing::warn!(error = %e, "NBD accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
