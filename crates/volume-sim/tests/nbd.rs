//! The NBD export, through a small NBD client written here from the
//! protocol document: the handshake and every command, byte-exact against
//! the engine (alone and under concurrency), snapshots mid-stream, exact
//! `base:allocation`, the export lifecycle, limits, and malformed input.
//!
//! Everything is on loopback; every loop is bounded in count, and every
//! test in time (`within`).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use rand::{Rng, RngCore, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use volume_core::{
    BlockStorage, CreateBackup, CreateSnapshot, CreateVolume, Size, Volume, VolumeId,
};
use volume_sim::fake::linode::device_path;
use volume_sim::nbd::proto::*;
use volume_sim::nbd::{ExportSource, NbdExports, NbdLimits, NbdServer};
use volume_sim::Sim;

const MIB: u64 = 1024 * 1024;
const CHUNK: u64 = 64 * 1024;

/// Runs a test body with a deadline, so a hang fails instead of blocking CI.
async fn within<F: Future<Output = ()>>(secs: u64, f: F) {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("test took too long");
}

// ----- the test client -------------------------------------------------------

/// What the client negotiates.
#[derive(Clone, Copy, Default)]
struct Opts {
    structured: bool,
    allocation: bool,
    no_zeroes: bool,
}

const SIMPLE: Opts = Opts {
    structured: false,
    allocation: false,
    no_zeroes: true,
};
const STRUCTURED: Opts = Opts {
    structured: true,
    allocation: true,
    no_zeroes: true,
};

/// One option reply.
#[derive(Debug)]
struct OptReply {
    option: u32,
    kind: u32,
    data: Vec<u8>,
}

/// The outcome of one command: data (for a read), extents (for block
/// status), or the NBD error.
#[derive(Debug, Default)]
struct Reply {
    error: u32,
    data: Vec<u8>,
    extents: Vec<(u32, u32)>,
}

struct Client {
    s: TcpStream,
    structured: bool,
    cookie: u64,
    size: u64,
    flags: u16,
}

async fn greet(addr: SocketAddr, client_flags: u32) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    assert_eq!(s.read_u64().await.unwrap(), NBDMAGIC);
    assert_eq!(s.read_u64().await.unwrap(), IHAVEOPT);
    let hs = s.read_u16().await.unwrap();
    assert_eq!(hs & FLAG_FIXED_NEWSTYLE, FLAG_FIXED_NEWSTYLE);
    s.write_u32(client_flags).await.unwrap();
    s
}

async fn send_option(s: &mut TcpStream, option: u32, data: &[u8]) {
    let mut b = Vec::new();
    b.extend_from_slice(&IHAVEOPT.to_be_bytes());
    b.extend_from_slice(&option.to_be_bytes());
    b.extend_from_slice(&(data.len() as u32).to_be_bytes());
    b.extend_from_slice(data);
    s.write_all(&b).await.unwrap();
}

async fn read_opt_reply(s: &mut TcpStream) -> std::io::Result<OptReply> {
    assert_eq!(s.read_u64().await?, REPLY_MAGIC);
    let option = s.read_u32().await?;
    let kind = s.read_u32().await?;
    let len = s.read_u32().await?;
    assert!(len <= 1 << 20, "option reply too long");
    let mut data = vec![0; len as usize];
    s.read_exact(&mut data).await?;
    Ok(OptReply { option, kind, data })
}

/// Replies up to and including the final one (ACK or an error).
async fn opt_replies(s: &mut TcpStream) -> Vec<OptReply> {
    let mut out = Vec::new();
    for _ in 0..1000 {
        let r = read_opt_reply(s).await.unwrap();
        let last = r.kind == REP_ACK || r.kind & (1 << 31) != 0;
        out.push(r);
        if last {
            return out;
        }
    }
    panic!("no final option reply");
}

fn name_data(name: &str) -> Vec<u8> {
    let mut b = (name.len() as u32).to_be_bytes().to_vec();
    b.extend_from_slice(name.as_bytes());
    b
}

fn info_data(name: &str, wanted: &[u16]) -> Vec<u8> {
    let mut b = name_data(name);
    b.extend_from_slice(&(wanted.len() as u16).to_be_bytes());
    for w in wanted {
        b.extend_from_slice(&w.to_be_bytes());
    }
    b
}

fn meta_data(name: &str, queries: &[&str]) -> Vec<u8> {
    let mut b = name_data(name);
    b.extend_from_slice(&(queries.len() as u32).to_be_bytes());
    for q in queries {
        b.extend_from_slice(&name_data(q));
    }
    b
}

/// Parses the `NBD_INFO_EXPORT` of a reply list: (size, flags).
fn export_info(replies: &[OptReply]) -> Option<(u64, u16)> {
    replies
        .iter()
        .filter(|r| r.kind == REP_INFO && be16(&r.data) == INFO_EXPORT)
        .map(|r| (be64(&r.data[2..]), be16(&r.data[10..])))
        .next()
}

impl Client {
    /// Fixed newstyle, then `NBD_OPT_GO`. Panics if the export is refused.
    async fn connect(addr: SocketAddr, export: &str, opts: Opts) -> Self {
        Self::try_connect(addr, export, opts)
            .await
            .unwrap_or_else(|r| panic!("export {export} refused: {r:?}"))
    }

    async fn try_connect(addr: SocketAddr, export: &str, opts: Opts) -> Result<Self, OptReply> {
        let mut flags = FLAG_C_FIXED_NEWSTYLE;
        if opts.no_zeroes {
            flags |= FLAG_C_NO_ZEROES;
        }
        let mut s = greet(addr, flags).await;
        if opts.structured {
            send_option(&mut s, OPT_STRUCTURED_REPLY, &[]).await;
            let r = opt_replies(&mut s).await;
            assert_eq!(r[0].kind, REP_ACK);
        }
        if opts.allocation {
            send_option(
                &mut s,
                OPT_SET_META_CONTEXT,
                &meta_data(export, &[BASE_ALLOCATION]),
            )
            .await;
            let r = opt_replies(&mut s).await;
            if r.last().map(|r| r.kind) != Some(REP_ACK) {
                return Err(r.into_iter().last().unwrap());
            }
            assert_eq!(r[0].kind, REP_META_CONTEXT);
            assert_eq!(&r[0].data[4..], BASE_ALLOCATION.as_bytes());
        }
        send_option(&mut s, OPT_GO, &info_data(export, &[INFO_BLOCK_SIZE])).await;
        let replies = opt_replies(&mut s).await;
        let last = replies.last().unwrap();
        if last.kind != REP_ACK {
            return Err(replies.into_iter().last().unwrap());
        }
        let (size, flags) = export_info(&replies).expect("NBD_INFO_EXPORT");
        Ok(Self {
            s,
            structured: opts.structured,
            cookie: 0,
            size,
            flags,
        })
    }

    async fn send(&mut self, kind: u16, flags: u16, offset: u64, len: u32, payload: &[u8]) -> u64 {
        self.cookie += 1;
        let req = Request {
            flags,
            kind,
            cookie: self.cookie,
            offset,
            len,
        };
        let mut b = req.encode().to_vec();
        b.extend_from_slice(payload);
        self.s.write_all(&b).await.unwrap();
        self.cookie
    }

    /// Reads the reply to `cookie`; `read_len` is the length of a read
    /// request (for simple replies, which carry no length).
    async fn reply(&mut self, cookie: u64, read_len: Option<usize>) -> std::io::Result<Reply> {
        let mut out = Reply::default();
        for _ in 0..10_000 {
            let magic = self.s.read_u32().await?;
            if magic == SIMPLE_REPLY_MAGIC {
                out.error = self.s.read_u32().await?;
                assert_eq!(self.s.read_u64().await?, cookie);
                if out.error == 0 {
                    if let Some(n) = read_len {
                        out.data = vec![0; n];
                        self.s.read_exact(&mut out.data).await?;
                    }
                }
                return Ok(out);
            }
            assert_eq!(magic, STRUCTURED_REPLY_MAGIC, "bad reply magic");
            assert!(self.structured, "structured reply without negotiation");
            let flags = self.s.read_u16().await?;
            let kind = self.s.read_u16().await?;
            assert_eq!(self.s.read_u64().await?, cookie);
            let len = self.s.read_u32().await? as usize;
            assert!(len <= (64 << 20), "chunk too long");
            let mut payload = vec![0; len];
            self.s.read_exact(&mut payload).await?;
            match kind {
                REPLY_TYPE_NONE => assert_eq!(len, 0),
                REPLY_TYPE_OFFSET_DATA => {
                    // One chunk per read from this server, in order.
                    assert!(len > 8);
                    out.data.extend_from_slice(&payload[8..]);
                }
                REPLY_TYPE_OFFSET_HOLE => {
                    let n = be32(&payload[8..]) as usize;
                    out.data.resize(out.data.len() + n, 0);
                }
                REPLY_TYPE_BLOCK_STATUS => {
                    assert_eq!(be32(&payload), 1, "context id");
                    assert_eq!((len - 4) % 8, 0);
                    for d in payload[4..].chunks(8) {
                        out.extents.push((be32(d), be32(&d[4..])));
                    }
                }
                REPLY_TYPE_ERROR => {
                    out.error = be32(&payload);
                    let n = be16(&payload[4..]) as usize;
                    assert_eq!(6 + n, len);
                }
                other => panic!("unexpected chunk type {other}"),
            }
            if flags & REPLY_FLAG_DONE != 0 {
                return Ok(out);
            }
        }
        panic!("reply never finished");
    }

    async fn read(&mut self, offset: u64, len: u32) -> Result<Vec<u8>, u32> {
        let c = self.send(CMD_READ, 0, offset, len, &[]).await;
        let r = self.reply(c, Some(len as usize)).await.unwrap();
        if r.error != 0 {
            return Err(r.error);
        }
        assert_eq!(r.data.len(), len as usize);
        Ok(r.data)
    }

    async fn write(&mut self, offset: u64, data: &[u8], flags: u16) -> Result<(), u32> {
        let c = self
            .send(CMD_WRITE, flags, offset, data.len() as u32, data)
            .await;
        self.status(c).await
    }

    async fn cmd(&mut self, kind: u16, flags: u16, offset: u64, len: u32) -> Result<(), u32> {
        let c = self.send(kind, flags, offset, len, &[]).await;
        self.status(c).await
    }

    async fn status(&mut self, cookie: u64) -> Result<(), u32> {
        let r = self.reply(cookie, None).await.unwrap();
        if r.error == 0 {
            Ok(())
        } else {
            Err(r.error)
        }
    }

    async fn block_status(
        &mut self,
        offset: u64,
        len: u32,
        flags: u16,
    ) -> Result<Vec<(u32, u32)>, u32> {
        let c = self.send(CMD_BLOCK_STATUS, flags, offset, len, &[]).await;
        let r = self.reply(c, None).await.unwrap();
        if r.error != 0 {
            return Err(r.error);
        }
        Ok(r.extents)
    }

    async fn disconnect(mut self) {
        self.send(CMD_DISC, 0, 0, 0, &[]).await;
        let mut b = [0u8; 1];
        assert_eq!(self.s.read(&mut b).await.unwrap(), 0, "closed after DISC");
    }

    /// Whether the server closed the connection (within `secs`).
    async fn closed(&mut self, secs: u64) -> bool {
        let mut b = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(secs), async {
            loop {
                match self.s.read(&mut b).await {
                    Ok(0) | Err(_) => return true,
                    Ok(_) => continue,
                }
            }
        });
        read.await.unwrap_or(false)
    }
}

// ----- fixtures ---------------------------------------------------------------

fn fast_limits() -> NbdLimits {
    NbdLimits::default()
        .with_recheck(Duration::from_millis(20))
        .with_handshake_timeout(Duration::from_secs(2))
}

async fn serve(sim: &Sim, limits: NbdLimits) -> NbdServer {
    let source = ExportSource::new(sim.engine().clone(), [sim.tenant_name()])
        .with_alias(|v: &Volume| Some(device_path(&v.name)));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    NbdServer::start(listener, NbdExports::new().with(source), limits).unwrap()
}

/// A 1 GiB volume named `name`, attached to the first running instance.
async fn attached(sim: &Sim, name: &str) -> VolumeId {
    let vol = sim
        .create_volume(&CreateVolume::new(name, Size::gib(1)))
        .await
        .unwrap();
    let vm = sim.list_instances(None).await.unwrap().items.remove(0);
    sim.attach_volume(&vol.id, &vm.id).await.unwrap();
    vol.id
}

fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut b = vec![0u8; len];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut b);
    b
}

async fn engine_bytes(sim: &Sim, id: &VolumeId, offset: u64, len: usize) -> Vec<u8> {
    let mut b = vec![0u8; len];
    sim.read_at(id, offset, &mut b).await.unwrap();
    b
}

// ----- handshake ----------------------------------------------------------------

#[tokio::test]
async fn handshake_lists_describes_and_goes() {
    within(20, async {
        let sim = Sim::new();
        let vol = attached(&sim, "data").await;
        let snap = sim
            .create_snapshot(&CreateSnapshot::new(vol.clone(), "s"))
            .await
            .unwrap();
        let server = serve(&sim, fast_limits()).await;
        let addr = server.local_addr();
        let alias = device_path("data");
        let alias = alias.as_str();
        let uris = server.export_uris();
        assert!(uris.contains(&format!("nbd://{addr}/{vol}")));
        assert!(uris.contains(&format!("nbd://{addr}/{alias}")));
        assert!(uris.contains(&format!("nbd://{addr}/snapshot/{}", snap.id)));

        let mut s = greet(addr, FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES).await;
        // LIST: one REP_SERVER per export, then ACK.
        send_option(&mut s, OPT_LIST, &[]).await;
        let r = opt_replies(&mut s).await;
        let names: Vec<String> = r
            .iter()
            .filter(|r| r.kind == REP_SERVER)
            .map(|r| String::from_utf8(r.data[4..4 + be32(&r.data) as usize].to_vec()).unwrap())
            .collect();
        assert_eq!(r.last().unwrap().kind, REP_ACK);
        assert!(names.contains(&vol.to_string()));
        assert!(names.contains(&alias.to_owned()));
        assert!(names.contains(&format!("snapshot/{}", snap.id)));
        // LIST with data is invalid.
        send_option(&mut s, OPT_LIST, b"x").await;
        assert_eq!(opt_replies(&mut s).await[0].kind, REP_ERR_INVALID);
        // INFO on an alias: size, flags, block sizes, canonical name, description.
        send_option(
            &mut s,
            OPT_INFO,
            &info_data(alias, &[INFO_NAME, INFO_DESCRIPTION, INFO_BLOCK_SIZE]),
        )
        .await;
        let r = opt_replies(&mut s).await;
        assert!(r.iter().all(|r| r.option == OPT_INFO));
        let (size, flags) = export_info(&r).unwrap();
        assert_eq!(size, 1 << 30);
        assert_eq!(flags & TFLAG_READ_ONLY, 0);
        assert_ne!(flags & TFLAG_SEND_FLUSH, 0);
        let bs = r
            .iter()
            .find(|r| r.kind == REP_INFO && be16(&r.data) == INFO_BLOCK_SIZE)
            .unwrap();
        assert_eq!(bs.data.len(), 14);
        assert_eq!(be32(&bs.data[2..]), 1);
        assert_eq!(be32(&bs.data[6..]), 4096);
        assert_eq!(be32(&bs.data[10..]), 32 << 20);
        let name = r
            .iter()
            .find(|r| r.kind == REP_INFO && be16(&r.data) == INFO_NAME)
            .unwrap();
        assert_eq!(&name.data[2..], vol.as_str().as_bytes());
        assert!(r
            .iter()
            .any(|r| r.kind == REP_INFO && be16(&r.data) == INFO_DESCRIPTION));
        // An unknown export is an error reply, and haggling goes on.
        send_option(&mut s, OPT_GO, &info_data("no-such-volume", &[])).await;
        let r = opt_replies(&mut s).await;
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].kind, REP_ERR_UNKNOWN);
        // An unknown option and STARTTLS: unsupported.
        send_option(&mut s, 4242, b"whatever").await;
        assert_eq!(opt_replies(&mut s).await[0].kind, REP_ERR_UNSUP);
        send_option(&mut s, OPT_STARTTLS, &[]).await;
        assert_eq!(opt_replies(&mut s).await[0].kind, REP_ERR_UNSUP);
        // SET_META_CONTEXT before structured replies: invalid.
        send_option(
            &mut s,
            OPT_SET_META_CONTEXT,
            &meta_data(vol.as_str(), &[BASE_ALLOCATION]),
        )
        .await;
        assert_eq!(opt_replies(&mut s).await[0].kind, REP_ERR_INVALID);
        send_option(&mut s, OPT_STRUCTURED_REPLY, &[]).await;
        assert_eq!(opt_replies(&mut s).await[0].kind, REP_ACK);
        // LIST_META_CONTEXT: everything, and by the namespace wildcard.
        for queries in [
            &[][..],
            &["base:"][..],
            &["x-other:thing", BASE_ALLOCATION][..],
        ] {
            send_option(
                &mut s,
                OPT_LIST_META_CONTEXT,
                &meta_data(vol.as_str(), queries),
            )
            .await;
            let r = opt_replies(&mut s).await;
            assert_eq!(r.len(), 2, "{queries:?}");
            assert_eq!(&r[0].data[4..], BASE_ALLOCATION.as_bytes());
        }
        // An unknown namespace selects nothing.
        send_option(
            &mut s,
            OPT_SET_META_CONTEXT,
            &meta_data(vol.as_str(), &["x-other:a"]),
        )
        .await;
        let r = opt_replies(&mut s).await;
        assert_eq!((r.len(), r[0].kind), (1, REP_ACK));
        // ABORT: acknowledged, then closed.
        send_option(&mut s, OPT_ABORT, &[]).await;
        assert_eq!(opt_replies(&mut s).await[0].kind, REP_ACK);
        let mut b = [0u8; 1];
        assert_eq!(s.read(&mut b).await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn export_name_option_with_and_without_zeroes() {
    within(20, async {
        let sim = Sim::new();
        let vol = attached(&sim, "data").await;
        sim.write_at(&vol, 0, b"hello").await.unwrap();
        let server = serve(&sim, fast_limits()).await;
        for no_zeroes in [false, true] {
            let flags = FLAG_C_FIXED_NEWSTYLE | if no_zeroes { FLAG_C_NO_ZEROES } else { 0 };
            let mut s = greet(server.local_addr(), flags).await;
            send_option(&mut s, OPT_EXPORT_NAME, vol.as_str().as_bytes()).await;
            assert_eq!(s.read_u64().await.unwrap(), 1 << 30);
            let tflags = s.read_u16().await.unwrap();
            assert_ne!(tflags & TFLAG_HAS_FLAGS, 0);
            assert_eq!(tflags & TFLAG_SEND_DF, 0, "DF only with structured replies");
            if !no_zeroes {
                let mut z = [1u8; 124];
                s.read_exact(&mut z).await.unwrap();
                assert_eq!(z, [0u8; 124]);
            }
            let mut c = Client {
                s,
                structured: false,
                cookie: 0,
                size: 1 << 30,
                flags: tflags,
            };
            assert_eq!(c.read(0, 5).await.unwrap(), b"hello");
            c.disconnect().await;
        }
        // An unknown name after EXPORT_NAME: the session is closed.
        let mut s = greet(server.local_addr(), FLAG_C_FIXED_NEWSTYLE).await;
        send_option(&mut s, OPT_EXPORT_NAME, b"nope").await;
        let mut b = [0u8; 8];
        assert_eq!(s.read(&mut b).await.unwrap(), 0);
    })
    .await;
}

// ----- commands ---------------------------------------------------------------

#[tokio::test]
async fn every_command_with_simple_replies() {
    within(30, async {
        let sim = Sim::new();
        let vol = attached(&sim, "data").await;
        let server = serve(&sim, fast_limits()).await;
        let mut c = Client::connect(server.local_addr(), vol.as_str(), SIMPLE).await;
        assert_eq!(c.size, 1 << 30);
        for f in [
            TFLAG_SEND_FLUSH,
            TFLAG_SEND_FUA,
            TFLAG_SEND_TRIM,
            TFLAG_SEND_WRITE_ZEROES,
        ] {
            assert_ne!(c.flags & f, 0);
        }

        // WRITE (plain, FUA, unaligned, across chunks) reads back through
        // NBD and through the engine.
        let data = pattern(1, 3 * CHUNK as usize + 123);
        c.write(CHUNK - 7, &data, 0).await.unwrap();
        c.write(10 * MIB, b"fua", CMD_FLAG_FUA).await.unwrap();
        assert_eq!(c.read(CHUNK - 7, data.len() as u32).await.unwrap(), data);
        assert_eq!(engine_bytes(&sim, &vol, CHUNK - 7, data.len()).await, data);
        assert_eq!(engine_bytes(&sim, &vol, 10 * MIB, 3).await, b"fua");
        // And the engine's writes read back through NBD.
        sim.write_at(&vol, 20 * MIB, b"from the engine")
            .await
            .unwrap();
        assert_eq!(c.read(20 * MIB, 15).await.unwrap(), b"from the engine");
        // FLUSH and CACHE.
        c.cmd(CMD_FLUSH, 0, 0, 0).await.unwrap();
        c.cmd(CMD_CACHE, 0, 0, 4096).await.unwrap();
        // TRIM reads back as zeros (partial chunks too).
        c.cmd(CMD_TRIM, 0, CHUNK, 100).await.unwrap();
        let mut want = data.clone();
        want[7..107].fill(0);
        assert_eq!(c.read(CHUNK - 7, data.len() as u32).await.unwrap(), want);
        // WRITE_ZEROES, with and without NO_HOLE.
        c.cmd(CMD_WRITE_ZEROES, 0, CHUNK - 7, 10).await.unwrap();
        c.cmd(CMD_WRITE_ZEROES, CMD_FLAG_NO_HOLE, 2 * CHUNK, CHUNK as u32)
            .await
            .unwrap();
        want[..10].fill(0);
        want[(CHUNK + 7) as usize..(2 * CHUNK + 7) as usize].fill(0);
        assert_eq!(c.read(CHUNK - 7, data.len() as u32).await.unwrap(), want);
        assert_eq!(engine_bytes(&sim, &vol, CHUNK - 7, data.len()).await, want);
        // FAST_ZERO with NO_HOLE: refused quickly, nothing changed.
        c.write(5 * MIB, b"keep", 0).await.unwrap();
        assert_eq!(
            c.cmd(
                CMD_WRITE_ZEROES,
                CMD_FLAG_NO_HOLE | CMD_FLAG_FAST_ZERO,
                5 * MIB,
                4
            )
            .await,
            Err(ENOTSUP)
        );
        assert_eq!(c.read(5 * MIB, 4).await.unwrap(), b"keep");
        c.cmd(CMD_WRITE_ZEROES, CMD_FLAG_FAST_ZERO, 5 * MIB, 4)
            .await
            .unwrap();
        assert_eq!(c.read(5 * MIB, 4).await.unwrap(), [0; 4]);

        // Errors, each followed by a working session.
        let end = c.size;
        assert_eq!(c.read(end - 1, 2).await, Err(EINVAL));
        assert_eq!(c.read(u64::MAX, 1).await, Err(EINVAL));
        assert_eq!(c.write(end - 1, b"ab", 0).await, Err(ENOSPC));
        assert_eq!(c.cmd(CMD_TRIM, 0, end, 1).await, Err(EINVAL));
        assert_eq!(c.cmd(CMD_WRITE_ZEROES, 0, end, 1).await, Err(ENOSPC));
        assert_eq!(c.cmd(CMD_CACHE, 0, end, 1).await, Err(EINVAL));
        assert_eq!(c.cmd(99, 0, 0, 0).await, Err(EINVAL), "unknown command");
        assert_eq!(
            c.cmd(CMD_FLUSH, 1 << 9, 0, 0).await,
            Err(EINVAL),
            "unknown flag"
        );
        assert_eq!(c.cmd(CMD_TRIM, CMD_FLAG_NO_HOLE, 0, 1).await, Err(EINVAL));
        assert_eq!(c.read(0, 1).await.map(|_| ()).err(), None);
        // DF without structured replies is not valid.
        let cookie = c.send(CMD_READ, CMD_FLAG_DF, 0, 4, &[]).await;
        assert_eq!(c.reply(cookie, Some(4)).await.unwrap().error, EINVAL);
        // BLOCK_STATUS without a context: EINVAL.
        assert_eq!(c.block_status(0, 4096, 0).await, Err(EINVAL));
        // A read above the payload cap: refused, the session goes on.
        assert_eq!(c.read(0, (32 << 20) + 1).await, Err(EINVAL));
        // Zero-length requests are harmless.
        assert_eq!(c.read(0, 0).await.unwrap(), b"");
        c.write(0, b"", 0).await.unwrap();
        assert_eq!(engine_bytes(&sim, &vol, 10 * MIB, 3).await, b"fua");
        c.disconnect().await;
    })
    .await;
}

#[tokio::test]
async fn structured_replies_and_exact_block_status() {
    within(30, async {
        let sim = Sim::new();
        let vol = attached(&sim, "data").await;
        let server = serve(&sim, fast_limits()).await;
        let mut c = Client::connect(server.local_addr(), vol.as_str(), STRUCTURED).await;
        assert_ne!(c.flags & TFLAG_SEND_DF, 0);
        let hole = STATE_HOLE | STATE_ZERO;
        let c64 = CHUNK as u32;

        // All holes.
        assert_eq!(
            c.block_status(0, 4 * c64, 0).await.unwrap(),
            vec![(4 * c64, hole)]
        );
        // One byte written into chunk 1 allocates exactly that chunk.
        c.write(CHUNK + 5, b"x", 0).await.unwrap();
        assert_eq!(
            c.block_status(0, 4 * c64, 0).await.unwrap(),
            vec![(c64, hole), (c64, 0), (2 * c64, hole)]
        );
        // Unaligned query edges, and REQ_ONE.
        assert_eq!(
            c.block_status(100, c64, 0).await.unwrap(),
            vec![(c64 - 100, hole), (100, 0)]
        );
        assert_eq!(
            c.block_status(0, 4 * c64, CMD_FLAG_REQ_ONE).await.unwrap(),
            vec![(c64, hole)]
        );
        assert_eq!(
            c.block_status(CHUNK + 1, 10, CMD_FLAG_REQ_ONE)
                .await
                .unwrap(),
            vec![(10, 0)]
        );
        // NO_HOLE allocates; plain WRITE_ZEROES and TRIM make holes again.
        c.cmd(CMD_WRITE_ZEROES, CMD_FLAG_NO_HOLE, 2 * CHUNK, c64)
            .await
            .unwrap();
        assert_eq!(
            c.block_status(0, 4 * c64, 0).await.unwrap(),
            vec![(c64, hole), (2 * c64, 0), (c64, hole)]
        );
        c.cmd(CMD_WRITE_ZEROES, 0, 2 * CHUNK, c64).await.unwrap();
        c.cmd(CMD_TRIM, 0, CHUNK, c64).await.unwrap();
        assert_eq!(
            c.block_status(0, 4 * c64, 0).await.unwrap(),
            vec![(4 * c64, hole)]
        );
        assert_eq!(c.read(CHUNK, c64).await.unwrap(), vec![0; CHUNK as usize]);
        // The engine agrees: nothing is allocated.
        assert_eq!(sim.usage().allocated_bytes, 0);

        // Structured reads: data chunks; DF accepted; errors as error chunks.
        let data = pattern(2, 100_000);
        c.write(3 * MIB + 1, &data, CMD_FLAG_FUA).await.unwrap();
        assert_eq!(c.read(3 * MIB + 1, data.len() as u32).await.unwrap(), data);
        let cookie = c.send(CMD_READ, CMD_FLAG_DF, 3 * MIB + 1, 10, &[]).await;
        assert_eq!(c.reply(cookie, None).await.unwrap().data, data[..10]);
        assert_eq!(c.read(c.size, 1).await, Err(EINVAL));
        assert_eq!(c.read(0, (32 << 20) + 1).await, Err(EOVERFLOW));
        assert_eq!(c.block_status(c.size - 1, 2, 0).await, Err(EINVAL));
        assert_eq!(c.block_status(0, 0, 0).await, Err(EINVAL));
        assert_eq!(c.read(0, 0).await.unwrap(), b"");
        c.disconnect().await;

        // Block status over a snapshot: its own allocation.
        let snap = sim
            .create_snapshot(&CreateSnapshot::new(vol.clone(), "s"))
            .await
            .unwrap();
        let name = format!("snapshot/{}", snap.id);
        let mut s = Client::connect(server.local_addr(), &name, STRUCTURED).await;
        let ext = s.block_status(3 * MIB, 2 * c64, 0).await.unwrap();
        assert_eq!(ext, vec![(2 * c64, 0)]);
        assert_eq!(s.read(3 * MIB + 1, data.len() as u32).await.unwrap(), data);
        s.disconnect().await;

        // A context selected for another export is not carried over.
        let mut raw = greet(
            server.local_addr(),
            FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES,
        )
        .await;
        send_option(&mut raw, OPT_STRUCTURED_REPLY, &[]).await;
        opt_replies(&mut raw).await;
        send_option(
            &mut raw,
            OPT_SET_META_CONTEXT,
            &meta_data(&name, &[BASE_ALLOCATION]),
        )
        .await;
        assert_eq!(opt_replies(&mut raw).await.len(), 2);
        send_option(&mut raw, OPT_GO, &info_data(vol.as_str(), &[])).await;
        assert_eq!(opt_replies(&mut raw).await.last().unwrap().kind, REP_ACK);
        let mut c = Client {
            s: raw,
            structured: true,
            cookie: 0,
            size: 1 << 30,
            flags: 0,
        };
        assert_eq!(c.block_status(0, 4096, 0).await, Err(EINVAL));
        c.disconnect().await;
    })
    .await;
}

// ----- byte-exactness under concurrency ---------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sessions_are_byte_exact_against_the_engine() {
    within(60, async {
        let sim = Sim::new();
        let a = attached(&sim, "a").await;
        let b = attached(&sim, "b").await;
        let server = serve(&sim, fast_limits()).await;
        let addr = server.local_addr();
        // Four sessions on `a`, two on `b`; each owns a stripe of 4 MiB and
        // writes random extents into it, checking every read against a
        // model of its own; then everything is compared with the engine.
        let mut tasks = Vec::new();
        for (i, vol) in [&a, &a, &a, &a, &b, &b].into_iter().enumerate() {
            let vol = vol.clone();
            let opts = if i % 2 == 0 { SIMPLE } else { STRUCTURED };
            tasks.push(tokio::spawn(async move {
                let mut c = Client::connect(addr, vol.as_str(), opts).await;
                let base = (i as u64 % 4) * 4 * MIB;
                let mut model = vec![0u8; 4 * MIB as usize];
                let mut rng = rand::rngs::StdRng::seed_from_u64(i as u64);
                for round in 0..60 {
                    let off = rng.random_range(0..4 * MIB - 300_000);
                    let len = rng.random_range(1..300_000usize);
                    match round % 4 {
                        0 | 1 => {
                            let data = pattern(rng.random(), len);
                            c.write(base + off, &data, 0).await.unwrap();
                            model[off as usize..off as usize + len].copy_from_slice(&data);
                        }
                        2 => {
                            c.cmd(CMD_WRITE_ZEROES, 0, base + off, len as u32)
                                .await
                                .unwrap();
                            model[off as usize..off as usize + len].fill(0);
                        }
                        _ => {
                            let got = c.read(base + off, len as u32).await.unwrap();
                            assert_eq!(got, model[off as usize..off as usize + len]);
                        }
                    }
                }
                c.disconnect().await;
                (vol, base, model)
            }));
        }
        // Meanwhile the engine writes elsewhere on both volumes.
        for round in 0..50u64 {
            sim.write_at(&a, 20 * MIB + round * 4096, &pattern(round, 4096))
                .await
                .unwrap();
            sim.write_at(&b, 20 * MIB + round * 4096, &pattern(round, 4096))
                .await
                .unwrap();
            tokio::task::yield_now().await;
        }
        for t in tasks {
            let (vol, base, model) = t.await.unwrap();
            assert_eq!(
                engine_bytes(&sim, &vol, base, model.len()).await,
                model,
                "{vol}"
            );
        }
        let mut c = Client::connect(addr, a.as_str(), STRUCTURED).await;
        for round in 0..50u64 {
            let got = c.read(20 * MIB + round * 4096, 4096).await.unwrap();
            assert_eq!(got, pattern(round, 4096));
        }
        c.disconnect().await;
    })
    .await;
}

#[tokio::test]
async fn snapshot_mid_stream_captures_what_nbd_wrote() {
    within(30, async {
        let sim = Sim::new();
        let vol = attached(&sim, "data").await;
        let server = serve(&sim, fast_limits()).await;
        let addr = server.local_addr();
        let mut c = Client::connect(addr, vol.as_str(), SIMPLE).await;
        let before = pattern(7, 256 * 1024);
        c.write(MIB, &before, 0).await.unwrap();
        // Snapshot and backup while the session is open.
        let snap = sim
            .create_snapshot(&CreateSnapshot::new(vol.clone(), "mid"))
            .await
            .unwrap();
        let backup = sim
            .create_backup(&CreateBackup::new(vol.clone(), "mid"))
            .await
            .unwrap();
        let after = pattern(8, 256 * 1024);
        c.write(MIB + 1000, &after, 0).await.unwrap();
        let mut want_now = before.clone();
        want_now[1000..].copy_from_slice(&after[..before.len() - 1000]);
        assert_eq!(c.read(MIB, before.len() as u32).await.unwrap(), want_now);

        for name in [
            format!("snapshot/{}", snap.id),
            format!("backup/{}", backup.id),
        ] {
            let mut s = Client::connect(addr, &name, STRUCTURED).await;
            assert_ne!(s.flags & TFLAG_READ_ONLY, 0);
            assert_eq!(s.read(MIB, before.len() as u32).await.unwrap(), before);
            s.disconnect().await;
        }
        let mut buf = vec![0u8; before.len()];
        sim.read_snapshot_at(&snap.id, MIB, &mut buf).await.unwrap();
        assert_eq!(buf, before);
        c.disconnect().await;
    })
    .await;
}

// ----- lifecycle ----------------------------------------------------------------

#[tokio::test]
async fn read_only_exports_refuse_writes_with_eperm() {
    within(20, async {
        let sim = Sim::new();
        let vol = attached(&sim, "data").await;
        sim.write_at(&vol, 0, b"frozen").await.unwrap();
        let snap = sim
            .create_snapshot(&CreateSnapshot::new(vol.clone(), "s"))
            .await
            .unwrap();
        let server = serve(&sim, fast_limits()).await;
        for opts in [SIMPLE, STRUCTURED] {
            let mut s =
                Client::connect(server.local_addr(), &format!("snapshot/{}", snap.id), opts).await;
            assert_ne!(s.flags & TFLAG_READ_ONLY, 0);
            assert_eq!(s.write(0, b"thawed", 0).await, Err(EPERM));
            assert_eq!(s.write(0, b"thawed", CMD_FLAG_FUA).await, Err(EPERM));
            assert_eq!(s.cmd(CMD_TRIM, 0, 0, 4096).await, Err(EPERM));
            assert_eq!(s.cmd(CMD_WRITE_ZEROES, 0, 0, 4096).await, Err(EPERM));
            assert_eq!(
                s.cmd(CMD_WRITE_ZEROES, CMD_FLAG_NO_HOLE, 0, 4096).await,
                Err(EPERM)
            );
            s.cmd(CMD_FLUSH, 0, 0, 0).await.unwrap();
            assert_eq!(s.read(0, 6).await.unwrap(), b"frozen");
            s.disconnect().await;
        }
        let mut buf = [0u8; 6];
        sim.read_snapshot_at(&snap.id, 0, &mut buf).await.unwrap();
        assert_eq!(&buf, b"frozen");
    })
    .await;
}

#[tokio::test]
async fn detach_and_delete_end_sessions_and_resize_is_seen_by_new_ones() {
    within(30, async {
        let sim = Sim::new();
        let vol = attached(&sim, "data").await;
        let server = serve(&sim, fast_limits()).await;
        let addr = server.local_addr();
        // A server whose idle sessions never re-check within the test, so
        // the busy session below is ended by its own request.
        let slow = serve(&sim, fast_limits().with_recheck(Duration::from_secs(600))).await;

        // A busy session: its next request after the detach gets ESHUTDOWN,
        // then the session closes.
        let mut busy = Client::connect(slow.local_addr(), vol.as_str(), SIMPLE).await;
        busy.write(0, b"before", 0).await.unwrap();
        // An idle session is closed on its own.
        let mut idle = Client::connect(addr, vol.as_str(), STRUCTURED).await;
        assert_eq!(server.active_sessions() + slow.active_sessions(), 2);
        sim.detach_volume(&vol).await.unwrap();
        assert_eq!(busy.write(0, b"after!", 0).await, Err(ESHUTDOWN));
        assert!(busy.closed(5).await);
        assert!(idle.closed(5).await);
        assert_eq!(engine_bytes(&sim, &vol, 0, 6).await, b"before");
        // Not exported while detached.
        let refused = Client::try_connect(addr, vol.as_str(), SIMPLE)
            .await
            .err()
            .unwrap();
        assert_eq!(refused.kind, REP_ERR_UNKNOWN);
        assert!(!server
            .export_uris()
            .iter()
            .any(|u| u.ends_with(vol.as_str())));

        // Re-attached after a resize: new sessions see the new size.
        sim.resize_volume(&vol, Size::gib(2)).await.unwrap();
        let vm = sim.list_instances(None).await.unwrap().items.remove(0);
        sim.attach_volume(&vol, &vm.id).await.unwrap();
        let mut c = Client::connect(addr, vol.as_str(), SIMPLE).await;
        assert_eq!(c.size, 2 << 30);
        c.write((2 << 30) - 3, b"end", 0).await.unwrap();
        assert_eq!(c.read(0, 6).await.unwrap(), b"before");

        // Deleting a snapshot ends its sessions.
        let snap = sim
            .create_snapshot(&CreateSnapshot::new(vol.clone(), "s"))
            .await
            .unwrap();
        let mut s = Client::connect(addr, &format!("snapshot/{}", snap.id), SIMPLE).await;
        sim.delete_snapshot(&snap.id).await.unwrap();
        assert!(s.closed(5).await);
        c.disconnect().await;
        for _ in 0..200 {
            if server.active_sessions() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(server.active_sessions(), 0);
    })
    .await;
}

#[tokio::test]
async fn tenants_see_only_their_own_exports() {
    within(20, async {
        let sim = Sim::new();
        let mine = attached(&sim, "mine").await;
        let other = sim.tenant("other");
        let theirs = attached(&other, "theirs").await;
        let server = sim.serve_nbd("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr();
        assert_eq!(
            server.export_uris(),
            vec![format!("nbd://{addr}/{mine}")],
            "only this tenant's attached volume"
        );
        assert!(Client::try_connect(addr, theirs.as_str(), SIMPLE)
            .await
            .is_err());
        Client::connect(addr, mine.as_str(), SIMPLE)
            .await
            .disconnect()
            .await;
        server.shutdown().await;
    })
    .await;
}

// ----- limits and malformed input -----------------------------------------------

#[tokio::test]
async fn session_cap_and_handshake_timeout() {
    within(20, async {
        let sim = Sim::new();
        let vol = attached(&sim, "data").await;
        let limits = fast_limits()
            .with_max_sessions(2)
            .with_handshake_timeout(Duration::from_millis(300));
        let server = serve(&sim, limits).await;
        let addr = server.local_addr();
        let a = Client::connect(addr, vol.as_str(), SIMPLE).await;
        let b = Client::connect(addr, vol.as_str(), SIMPLE).await;
        // The third connection is closed at once.
        let mut s = TcpStream::connect(addr).await.unwrap();
        let mut buf = [0u8; 16];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap_or(0);
        assert_eq!(n, 0);
        a.disconnect().await;
        // Once one ends, a new one is served; a silent one times out.
        let mut silent = None;
        for _ in 0..100 {
            let mut s = TcpStream::connect(addr).await.unwrap();
            if s.read_u64().await.ok() == Some(NBDMAGIC) {
                silent = Some(s);
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut silent = silent.expect("a slot frees up");
        let closed = tokio::time::timeout(Duration::from_secs(5), async {
            let mut b = [0u8; 64];
            loop {
                match silent.read(&mut b).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "handshake timeout closes the session");
        b.disconnect().await;
    })
    .await;
}

/// Connects, sends `bytes` after the greeting (as the client), and says
/// whether the server closed the connection within a second.
async fn closes_after(addr: SocketAddr, client_flags: u32, bytes: &[u8]) -> bool {
    let mut s = greet(addr, client_flags).await;
    let _ = s.write_all(bytes).await;
    let mut b = [0u8; 256];
    tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match s.read(&mut b).await {
                Ok(0) | Err(_) => return true,
                Ok(_) => {}
            }
        }
    })
    .await
    .unwrap_or(false)
}

#[tokio::test]
async fn malformed_handshakes_get_an_error_or_a_closed_session() {
    within(30, async {
        let sim = Sim::new();
        let vol = attached(&sim, "data").await;
        let server = serve(&sim, fast_limits()).await;
        let addr = server.local_addr();
        // Unknown client flags: closed.
        assert!(closes_after(addr, 1 << 7, &[]).await);
        // Bad option magic: closed.
        assert!(closes_after(addr, FLAG_C_FIXED_NEWSTYLE, b"NOTAMAGIC-------").await);
        // An option length far above the cap: closed.
        let mut huge = IHAVEOPT.to_be_bytes().to_vec();
        huge.extend_from_slice(&OPT_GO.to_be_bytes());
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(closes_after(addr, FLAG_C_FIXED_NEWSTYLE, &huge).await);

        // Malformed GO / INFO / meta bodies: NBD_REP_ERR_INVALID, and the
        // session goes on to a good GO.
        let mut s = greet(addr, FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES).await;
        send_option(&mut s, OPT_STRUCTURED_REPLY, &[]).await;
        opt_replies(&mut s).await;
        let mut long_name = info_data(vol.as_str(), &[]);
        long_name[3] = 200; // name length past the end
        let mut trailing = info_data(vol.as_str(), &[INFO_NAME]);
        trailing.push(0);
        let bad_bodies: Vec<(u32, Vec<u8>)> = vec![
            (OPT_GO, vec![]),
            (OPT_GO, vec![0, 0]),
            (OPT_INFO, long_name),
            (OPT_GO, trailing),
            (OPT_GO, {
                let mut b = info_data("", &[]);
                b[3] = 0;
                b.truncate(5);
                b
            }),
            (OPT_SET_META_CONTEXT, vec![0, 0, 0, 1]),
            (OPT_SET_META_CONTEXT, {
                let mut b = meta_data(vol.as_str(), &[BASE_ALLOCATION]);
                let n = vol.as_str().len() + 4;
                b[n + 3] = 9; // more queries than sent
                b
            }),
            (OPT_LIST_META_CONTEXT, vec![0xff; 7]),
            (OPT_STRUCTURED_REPLY, vec![1]),
            (OPT_GO, {
                let mut b = name_data("\u{0}\u{ff}");
                b.extend_from_slice(&[0, 0]);
                b
            }),
        ];
        for (option, body) in bad_bodies {
            send_option(&mut s, option, &body).await;
            let r = opt_replies(&mut s).await;
            let kind = r.last().unwrap().kind;
            assert!(
                kind == REP_ERR_INVALID || kind == REP_ERR_UNKNOWN,
                "option {option} body {body:?}: {kind:#x}"
            );
        }
        // Non-UTF-8 names are unknown exports, not a crash.
        let mut b = 3u32.to_be_bytes().to_vec();
        b.extend_from_slice(&[0xff, 0xfe, 0xfd, 0, 0]);
        send_option(&mut s, OPT_GO, &b).await;
        assert!(opt_replies(&mut s).await.last().unwrap().kind & (1 << 31) != 0);
        send_option(&mut s, OPT_GO, &info_data(vol.as_str(), &[])).await;
        assert_eq!(opt_replies(&mut s).await.last().unwrap().kind, REP_ACK);
        let mut c = Client {
            s,
            structured: true,
            cookie: 0,
            size: 1 << 30,
            flags: 0,
        };
        assert_eq!(c.read(0, 4).await.unwrap(), [0; 4]);
        c.disconnect().await;

        // Random garbage after the greeting: the server never panics, and
        // still serves a proper client afterwards.
        let mut rng = rand::rngs::StdRng::seed_from_u64(15);
        for i in 0..40 {
            let mut junk = vec![0u8; rng.random_range(0..600)];
            rng.fill_bytes(&mut junk);
            if i % 2 == 0 && junk.len() >= 16 {
                // Sometimes a valid option header with junk after it.
                junk[..8].copy_from_slice(&IHAVEOPT.to_be_bytes());
                junk[8..12].copy_from_slice(&rng.random_range(0u32..12).to_be_bytes());
                let len = (junk.len() - 16) as u32;
                junk[12..16].copy_from_slice(&len.to_be_bytes());
            }
            let mut s = greet(addr, FLAG_C_FIXED_NEWSTYLE).await;
            let _ = s.write_all(&junk).await;
            drop(s);
        }
        Client::connect(addr, vol.as_str(), STRUCTURED)
            .await
            .disconnect()
            .await;
    })
    .await;
}

#[tokio::test]
async fn malformed_commands_get_an_error_or_a_closed_session() {
    within(30, async {
        let sim = Sim::new();
        let vol = attached(&sim, "data").await;
        let server = serve(&sim, fast_limits().with_max_request(1 << 20)).await;
        let addr = server.local_addr();

        // A request with a bad magic cannot be resynchronised: closed.
        let mut c = Client::connect(addr, vol.as_str(), SIMPLE).await;
        c.s.write_all(&[0x55; REQUEST_LEN]).await.unwrap();
        assert!(c.closed(5).await);

        // A write above the payload cap: an error, then closed (its payload
        // cannot be skipped safely).
        let mut c = Client::connect(addr, vol.as_str(), STRUCTURED).await;
        let cookie = c.send(CMD_WRITE, 0, 0, (1 << 20) + 1, &[]).await;
        assert_eq!(c.reply(cookie, None).await.unwrap().error, EOVERFLOW);
        assert!(c.closed(5).await);

        // A truncated request, then the client goes away: nothing breaks.
        let mut c = Client::connect(addr, vol.as_str(), SIMPLE).await;
        c.s.write_all(
            &Request {
                flags: 0,
                kind: CMD_WRITE,
                cookie: 1,
                offset: 0,
                len: 4096,
            }
            .encode(),
        )
        .await
        .unwrap();
        c.s.write_all(&[1; 100]).await.unwrap();
        drop(c);
        // Nothing of the half-sent write landed, and the server still serves.
        let mut c = Client::connect(addr, vol.as_str(), SIMPLE).await;
        assert_eq!(c.read(0, 100).await.unwrap(), vec![0u8; 100]);
        c.disconnect().await;

        // Random well-framed requests: each gets a reply (or, for a write
        // with a payload we do not send, the connection is dropped by us);
        // the engine's bytes stay consistent with what succeeded.
        let mut rng = rand::rngs::StdRng::seed_from_u64(16);
        let mut c = Client::connect(addr, vol.as_str(), STRUCTURED).await;
        for _ in 0..300 {
            let kind = rng.random_range(0u16..12);
            if kind == CMD_WRITE || kind == CMD_DISC {
                continue;
            }
            let flags = rng.random::<u16>() & 0x3f;
            let offset = if rng.random_bool(0.5) {
                rng.random_range(0..c.size + 10)
            } else {
                rng.random()
            };
            // Large lengths only where they cost nothing (a NO_HOLE zero
            // write of a gigabyte would allocate it).
            let len = if rng.random_bool(0.7) || kind == CMD_WRITE_ZEROES {
                rng.random_range(0..70_000)
            } else {
                rng.random()
            };
            let cookie = c.send(kind, flags, offset, len, &[]).await;
            let read_len = (kind == CMD_READ).then_some(len as usize);
            let r = c.reply(cookie, read_len).await.unwrap();
            if kind == CMD_READ && r.error == 0 {
                assert_eq!(r.data.len(), len as usize);
            }
        }
        c.write(0, b"still fine", 0).await.unwrap();
        assert_eq!(c.read(0, 10).await.unwrap(), b"still fine");
        c.disconnect().await;
        assert_eq!(engine_bytes(&sim, &vol, 0, 10).await, b"still fine");
    })
    .await;
}
