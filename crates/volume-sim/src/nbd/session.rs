//! One NBD connection: the fixed-newstyle handshake, then the transmission
//! phase, served in order on one task.
//!
//! Requests are read through a buffer and answered into a buffer that is
//! flushed whenever no further request is already waiting, so a client
//! that pipelines (qemu does) gets its replies in batches.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::proto::*;
use super::Shared;
use crate::engine::exports::{ExportError, ExportHandle};

/// Options accepted in one handshake before the session is closed.
const MAX_OPTIONS: usize = 256;
/// The largest option payload accepted (names are at most 4096 bytes; a
/// meta-context request carries a few of them).
const MAX_OPTION_LEN: u32 = 64 * 1024;
/// The most block-status descriptors in one reply.
const MAX_EXTENTS: usize = 64 * 1024;
/// A read/write buffer larger than this is not kept between requests.
const KEEP_SCRATCH: usize = 4 * 1024 * 1024;
/// Buffer sizes of the socket halves.
const READ_BUF: usize = 256 * 1024;
const WRITE_BUF: usize = 256 * 1024;
/// The metadata context id of `base:allocation`.
const ALLOCATION_ID: u32 = 1;

type Reader = BufReader<OwnedReadHalf>;
type Writer = BufWriter<OwnedWriteHalf>;

/// What the handshake settled.
struct Negotiated {
    handle: ExportHandle,
    structured: bool,
    allocation: bool,
}

/// Serves one connection to its end. Never panics on input; every error
/// ends the session quietly (logged at debug level).
pub(super) async fn run(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    stopped: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let (r, w) = stream.into_split();
    let mut r = BufReader::with_capacity(READ_BUF, r);
    let mut w = BufWriter::with_capacity(WRITE_BUF, w);
    let limits = shared.limits;
    let negotiated =
        tokio::time::timeout(limits.handshake_timeout, handshake(&mut r, &mut w, shared)).await;
    let neg = match negotiated {
        Ok(Ok(Some(neg))) => neg,
        Ok(Ok(None)) => {
            let _ = w.flush().await;
            tracing::debug!(%peer, "NBD session ended during the handshake");
            return;
        }
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "NBD handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "NBD handshake timed out");
            return;
        }
    };
    tracing::debug!(%peer, export = %neg.handle.target(), "NBD session started");
    let end = transmit(&mut r, &mut w, &neg, shared, stopped).await;
    let _ = w.flush().await;
    let _ = w.shutdown().await;
    match end {
        Ok(why) => tracing::debug!(%peer, why, "NBD session ended"),
        Err(e) => tracing::debug!(%peer, error = %e, "NBD session ended"),
    }
}

// ----- handshake ------------------------------------------------------------

async fn option_reply(w: &mut Writer, option: u32, reply: u32, data: &[u8]) -> io::Result<()> {
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    w.write_all(&option_reply_header(option, reply, len))
        .await?;
    w.write_all(data).await
}

/// An option error reply with a message for people.
async fn option_error(w: &mut Writer, option: u32, reply: u32, msg: &str) -> io::Result<()> {
    option_reply(w, option, reply, msg.as_bytes()).await
}

/// The transmission flags of an export.
fn transmission_flags(handle: &ExportHandle, structured: bool) -> u16 {
    let mut flags = TFLAG_HAS_FLAGS
        | TFLAG_SEND_FLUSH
        | TFLAG_SEND_FUA
        | TFLAG_SEND_TRIM
        | TFLAG_SEND_WRITE_ZEROES
        | TFLAG_SEND_FAST_ZERO
        | TFLAG_CAN_MULTI_CONN
        | TFLAG_SEND_CACHE;
    if handle.read_only() {
        flags |= TFLAG_READ_ONLY;
    }
    if structured {
        flags |= TFLAG_SEND_DF;
    }
    flags
}

/// The body of an `NBD_OPT_INFO` / `NBD_OPT_GO`: the export name and the
/// information requested.
fn parse_info(data: &[u8]) -> Option<(&str, Vec<u16>)> {
    let mut c = Cursor::new(data);
    let name = c.string()?;
    let n = c.u16()?;
    let mut wanted = Vec::new();
    for _ in 0..n {
        wanted.push(c.u16()?);
    }
    (c.remaining() == 0).then_some((name, wanted))
}

/// The body of a meta-context option: the export name and the queries.
fn parse_meta(data: &[u8]) -> Option<(&str, Vec<&str>)> {
    let mut c = Cursor::new(data);
    let name = c.string()?;
    let n = c.u32()?;
    let mut queries = Vec::new();
    for _ in 0..n {
        queries.push(c.string()?);
    }
    (c.remaining() == 0).then_some((name, queries))
}

fn describe(handle: &ExportHandle) -> String {
    format!(
        "volume-sim {} of tenant {} ({})",
        handle.target(),
        handle.tenant(),
        if handle.read_only() {
            "read-only"
        } else {
            "read-write"
        }
    )
}

/// Option haggling. `Ok(None)` when the session ends without entering
/// transmission (abort, a client breaking the protocol, too many options).
async fn handshake(
    r: &mut Reader,
    w: &mut Writer,
    shared: &Shared,
) -> io::Result<Option<Negotiated>> {
    w.write_all(&NBDMAGIC.to_be_bytes()).await?;
    w.write_all(&IHAVEOPT.to_be_bytes()).await?;
    w.write_all(&(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES).to_be_bytes())
        .await?;
    w.flush().await?;
    let client_flags = r.read_u32().await?;
    if client_flags & !(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES) != 0 {
        return Ok(None);
    }
    let no_zeroes = client_flags & FLAG_C_NO_ZEROES != 0;
    let mut structured = false;
    // The export name `base:allocation` was last selected for.
    let mut meta_for: Option<String> = None;
    let max_request = shared.limits.max_request;

    for _ in 0..MAX_OPTIONS {
        if r.read_u64().await? != IHAVEOPT {
            return Ok(None);
        }
        let option = r.read_u32().await?;
        let len = r.read_u32().await?;
        if len > MAX_OPTION_LEN {
            // Its data cannot be skipped cheaply: a hard disconnect.
            return Ok(None);
        }
        let mut data = vec![0u8; len as usize];
        r.read_exact(&mut data).await?;

        match option {
            OPT_EXPORT_NAME => {
                let handle = std::str::from_utf8(&data)
                    .ok()
                    .and_then(|name| shared.exports.open(name));
                // The only answer to an unknown export is to hang up.
                let Some(handle) = handle else {
                    return Ok(None);
                };
                let allocation = meta_for.as_deref().map(str::as_bytes) == Some(&data[..]);
                w.write_all(&handle.size().to_be_bytes()).await?;
                w.write_all(&transmission_flags(&handle, structured).to_be_bytes())
                    .await?;
                if !no_zeroes {
                    w.write_all(&[0u8; 124]).await?;
                }
                w.flush().await?;
                return Ok(Some(Negotiated {
                    handle,
                    structured,
                    allocation: allocation && structured,
                }));
            }
            OPT_ABORT => {
                option_reply(w, option, REP_ACK, &[]).await?;
                w.flush().await?;
                return Ok(None);
            }
            OPT_LIST => {
                if len != 0 {
                    option_error(w, option, REP_ERR_INVALID, "NBD_OPT_LIST takes no data").await?;
                } else {
                    for e in shared.exports.list() {
                        let name = e.name.as_bytes();
                        let mut body = Vec::with_capacity(4 + name.len());
                        body.extend_from_slice(&(name.len() as u32).to_be_bytes());
                        body.extend_from_slice(name);
                        option_reply(w, option, REP_SERVER, &body).await?;
                    }
                    option_reply(w, option, REP_ACK, &[]).await?;
                }
            }
            OPT_STARTTLS => {
                option_error(w, option, REP_ERR_UNSUP, "TLS is not offered").await?;
            }
            OPT_INFO | OPT_GO => {
                let Some((name, wanted)) = parse_info(&data) else {
                    option_error(w, option, REP_ERR_INVALID, "malformed request").await?;
                    w.flush().await?;
                    continue;
                };
                let Some(handle) = shared.exports.open(name) else {
                    let msg = format!("no export named {name:?} (is the volume attached?)");
                    option_error(w, option, REP_ERR_UNKNOWN, &msg).await?;
                    w.flush().await?;
                    continue;
                };
                let flags = transmission_flags(&handle, structured);
                let mut info = Vec::with_capacity(12);
                info.extend_from_slice(&INFO_EXPORT.to_be_bytes());
                info.extend_from_slice(&handle.size().to_be_bytes());
                info.extend_from_slice(&flags.to_be_bytes());
                option_reply(w, option, REP_INFO, &info).await?;

                let mut sizes = Vec::with_capacity(14);
                sizes.extend_from_slice(&INFO_BLOCK_SIZE.to_be_bytes());
                sizes.extend_from_slice(&1u32.to_be_bytes());
                sizes.extend_from_slice(&4096u32.to_be_bytes());
                sizes.extend_from_slice(&max_request.to_be_bytes());
                option_reply(w, option, REP_INFO, &sizes).await?;

                if wanted.contains(&INFO_NAME) {
                    let canonical = handle.target().name();
                    let mut body = INFO_NAME.to_be_bytes().to_vec();
                    body.extend_from_slice(canonical.as_bytes());
                    option_reply(w, option, REP_INFO, &body).await?;
                }
                if wanted.contains(&INFO_DESCRIPTION) {
                    let mut body = INFO_DESCRIPTION.to_be_bytes().to_vec();
                    body.extend_from_slice(describe(&handle).as_bytes());
                    option_reply(w, option, REP_INFO, &body).await?;
                }
                option_reply(w, option, REP_ACK, &[]).await?;
                w.flush().await?;
                if option == OPT_GO {
                    let allocation = structured && meta_for.as_deref() == Some(name);
                    return Ok(Some(Negotiated {
                        handle,
                        structured,
                        allocation,
                    }));
                }
            }
            OPT_STRUCTURED_REPLY => {
                if len != 0 {
                    option_error(w, option, REP_ERR_INVALID, "takes no data").await?;
                } else {
                    structured = true;
                    option_reply(w, option, REP_ACK, &[]).await?;
                }
            }
            OPT_LIST_META_CONTEXT | OPT_SET_META_CONTEXT => {
                let set = option == OPT_SET_META_CONTEXT;
                if set {
                    // Replaced even when the request fails.
                    meta_for = None;
                }
                let Some((name, queries)) = parse_meta(&data) else {
                    option_error(w, option, REP_ERR_INVALID, "malformed request").await?;
                    w.flush().await?;
                    continue;
                };
                if !structured {
                    let msg = "negotiate structured replies first";
                    option_error(w, option, REP_ERR_INVALID, msg).await?;
                } else if shared.exports.open(name).is_none() {
                    let msg = format!("no export named {name:?}");
                    option_error(w, option, REP_ERR_UNKNOWN, &msg).await?;
                } else {
                    let matches = if set {
                        queries.contains(&BASE_ALLOCATION)
                    } else {
                        queries.is_empty()
                            || queries
                                .iter()
                                .any(|q| *q == "base:" || *q == BASE_ALLOCATION)
                    };
                    if matches {
                        let id = if set { ALLOCATION_ID } else { 0 };
                        let mut body = id.to_be_bytes().to_vec();
                        body.extend_from_slice(BASE_ALLOCATION.as_bytes());
                        option_reply(w, option, REP_META_CONTEXT, &body).await?;
                        if set {
                            meta_for = Some(name.to_owned());
                        }
                    }
                    option_reply(w, option, REP_ACK, &[]).await?;
                }
            }
            _ => {
                option_error(w, option, REP_ERR_UNSUP, "option not supported").await?;
            }
        }
        w.flush().await?;
    }
    Ok(None)
}

// ----- transmission ---------------------------------------------------------

/// Whether the session goes on after a request.
enum Next {
    Continue,
    Close(&'static str),
}

async fn transmit(
    r: &mut Reader,
    w: &mut Writer,
    neg: &Negotiated,
    shared: &Shared,
    mut stopped: watch::Receiver<bool>,
) -> io::Result<&'static str> {
    let limits = shared.limits;
    let mut scratch: Vec<u8> = Vec::new();
    let mut last_request = Instant::now();
    loop {
        if r.buffer().is_empty() {
            // Nothing queued: send what is pending, then wait for the next
            // request, re-checking the export and the idle time meanwhile.
            w.flush().await?;
            loop {
                tokio::select! {
                    filled = r.fill_buf() => {
                        if filled?.is_empty() {
                            return Ok("client closed the connection");
                        }
                        break;
                    }
                    _ = tokio::time::sleep(limits.recheck) => {
                        if !neg.handle.is_current() {
                            return Ok("export no longer stands");
                        }
                        if last_request.elapsed() >= limits.idle_timeout {
                            return Ok("idle timeout");
                        }
                    }
                    _ = stopped.changed() => return Ok("server shutting down"),
                }
            }
        }
        let mut header = [0u8; REQUEST_LEN];
        // Once a request has begun, the rest of it must follow within the
        // idle timeout: a client that stalls mid-request holds no session.
        match tokio::time::timeout(limits.idle_timeout, r.read_exact(&mut header)).await {
            Ok(read) => read?,
            Err(_) => return Ok("stalled mid-request"),
        };
        let Some(req) = Request::decode(&header) else {
            return Ok("bad request magic");
        };
        last_request = Instant::now();
        match request(r, w, neg, shared, &req, &mut scratch).await? {
            Next::Continue => {}
            Next::Close(why) => return Ok(why),
        }
        if scratch.len() > KEEP_SCRATCH {
            scratch = Vec::new();
        }
    }
}

/// A success reply without payload.
async fn reply_ok<W: AsyncWrite + Unpin>(w: &mut W, cookie: u64) -> io::Result<()> {
    w.write_all(&simple_reply(0, cookie)).await
}

/// An error reply: an error chunk when structured replies are on (with a
/// message), a simple reply otherwise.
async fn reply_err<W: AsyncWrite + Unpin>(
    w: &mut W,
    structured: bool,
    cookie: u64,
    error: u32,
    msg: &str,
) -> io::Result<()> {
    if structured {
        let msg = &msg.as_bytes()[..msg.len().min(4096)];
        let len = 6 + msg.len() as u32;
        w.write_all(&chunk_header(
            REPLY_FLAG_DONE,
            REPLY_TYPE_ERROR,
            cookie,
            len,
        ))
        .await?;
        w.write_all(&error.to_be_bytes()).await?;
        w.write_all(&(msg.len() as u16).to_be_bytes()).await?;
        w.write_all(msg).await
    } else {
        w.write_all(&simple_reply(error, cookie)).await
    }
}

/// Flags each command accepts (`FUA` is accepted everywhere, as the
/// protocol asks).
fn allowed_flags(kind: u16, structured: bool) -> u16 {
    CMD_FLAG_FUA
        | match kind {
            CMD_READ if structured => CMD_FLAG_DF,
            CMD_WRITE_ZEROES => CMD_FLAG_NO_HOLE | CMD_FLAG_FAST_ZERO,
            CMD_BLOCK_STATUS => CMD_FLAG_REQ_ONE,
            _ => 0,
        }
}

fn in_bounds(handle: &ExportHandle, offset: u64, len: u32) -> bool {
    offset
        .checked_add(u64::from(len))
        .is_some_and(|end| end <= handle.size())
}

/// The NBD error for a refused I/O; `out_of_range` is what the command
/// reports for a range past the end.
fn nbd_error(e: ExportError, out_of_range: u32) -> (u32, &'static str) {
    match e {
        ExportError::ReadOnly => (EPERM, "export is read-only"),
        _ => (out_of_range, "range past the end of the export"),
    }
}

async fn request(
    r: &mut Reader,
    w: &mut Writer,
    neg: &Negotiated,
    shared: &Shared,
    req: &Request,
    scratch: &mut Vec<u8>,
) -> io::Result<Next> {
    let handle = &neg.handle;
    let structured = neg.structured;
    let cookie = req.cookie;
    let len = req.len as usize;
    let max = shared.limits.max_request;

    // A write's payload comes first, whatever the answer.
    if req.kind == CMD_WRITE {
        if req.len > max {
            let msg = "write larger than the maximum payload";
            reply_err(w, structured, cookie, EOVERFLOW, msg).await?;
            return Ok(Next::Close("write above the payload cap"));
        }
        if scratch.len() < len {
            scratch.resize(len, 0);
        }
        let payload = r.read_exact(&mut scratch[..len]);
        match tokio::time::timeout(shared.limits.idle_timeout, payload).await {
            Ok(read) => read?,
            Err(_) => return Ok(Next::Close("stalled mid-payload")),
        };
    }
    if req.kind == CMD_DISC {
        return Ok(Next::Close("client disconnected"));
    }
    if !handle.is_current() {
        let msg = "the export no longer stands (detached or deleted)";
        reply_err(w, structured, cookie, ESHUTDOWN, msg).await?;
        return Ok(Next::Close("export no longer stands"));
    }
    if req.flags & !allowed_flags(req.kind, structured) != 0 {
        reply_err(w, structured, cookie, EINVAL, "flag not valid here").await?;
        return Ok(Next::Continue);
    }
    let offset = req.offset;
    match req.kind {
        CMD_READ => {
            if req.len > max {
                let msg = "read larger than the maximum payload";
                let error = if structured { EOVERFLOW } else { EINVAL };
                reply_err(w, structured, cookie, error, msg).await?;
                return Ok(Next::Continue);
            }
            if !in_bounds(handle, offset, req.len) {
                reply_err(w, structured, cookie, EINVAL, "read past the end").await?;
                return Ok(Next::Continue);
            }
            if scratch.len() < len {
                scratch.resize(len, 0);
            }
            let buf = &mut scratch[..len];
            if let Err(e) = handle.read_at(offset, buf) {
                let (error, msg) = nbd_error(e, EINVAL);
                reply_err(w, structured, cookie, error, msg).await?;
                return Ok(Next::Continue);
            }
            if !structured {
                w.write_all(&simple_reply(0, cookie)).await?;
                w.write_all(buf).await?;
            } else if len == 0 {
                w.write_all(&chunk_header(REPLY_FLAG_DONE, REPLY_TYPE_NONE, cookie, 0))
                    .await?;
            } else {
                let chunk_len = 8 + req.len;
                w.write_all(&chunk_header(
                    REPLY_FLAG_DONE,
                    REPLY_TYPE_OFFSET_DATA,
                    cookie,
                    chunk_len,
                ))
                .await?;
                w.write_all(&offset.to_be_bytes()).await?;
                w.write_all(buf).await?;
            }
        }
        CMD_WRITE => {
            let result = if handle.read_only() {
                Err(ExportError::ReadOnly)
            } else if !in_bounds(handle, offset, req.len) {
                Err(ExportError::OutOfRange)
            } else {
                handle.write_at(offset, &scratch[..len])
            };
            match result {
                Ok(()) => reply_ok(w, cookie).await?,
                Err(e) => {
                    let (error, msg) = nbd_error(e, ENOSPC);
                    reply_err(w, structured, cookie, error, msg).await?;
                }
            }
        }
        CMD_FLUSH | CMD_CACHE => {
            // In memory: every reply already means "persisted".
            if req.kind == CMD_CACHE && !in_bounds(handle, offset, req.len) {
                reply_err(w, structured, cookie, EINVAL, "past the end").await?;
            } else {
                reply_ok(w, cookie).await?;
            }
        }
        CMD_TRIM => {
            let result = if handle.read_only() {
                Err(ExportError::ReadOnly)
            } else if !in_bounds(handle, offset, req.len) {
                Err(ExportError::OutOfRange)
            } else {
                handle.discard(offset, u64::from(req.len))
            };
            match result {
                Ok(()) => reply_ok(w, cookie).await?,
                Err(e) => {
                    let (error, msg) = nbd_error(e, EINVAL);
                    reply_err(w, structured, cookie, error, msg).await?;
                }
            }
        }
        CMD_WRITE_ZEROES => {
            let no_hole = req.flags & CMD_FLAG_NO_HOLE != 0;
            let fast = req.flags & CMD_FLAG_FAST_ZERO != 0;
            let result = if handle.read_only() {
                Err(ExportError::ReadOnly)
            } else if !in_bounds(handle, offset, req.len) {
                Err(ExportError::OutOfRange)
            } else if no_hole && fast {
                // Allocating zeros costs as much as writing them.
                reply_err(w, structured, cookie, ENOTSUP, "not faster than a write").await?;
                return Ok(Next::Continue);
            } else if no_hole {
                handle.write_zeroes(offset, u64::from(req.len))
            } else {
                handle.discard(offset, u64::from(req.len))
            };
            match result {
                Ok(()) => reply_ok(w, cookie).await?,
                Err(e) => {
                    let (error, msg) = nbd_error(e, ENOSPC);
                    reply_err(w, structured, cookie, error, msg).await?;
                }
            }
        }
        CMD_BLOCK_STATUS => {
            if !neg.allocation {
                let msg = "no metadata context was selected";
                reply_err(w, structured, cookie, EINVAL, msg).await?;
                return Ok(Next::Continue);
            }
            if req.len == 0 || !in_bounds(handle, offset, req.len) {
                reply_err(w, structured, cookie, EINVAL, "bad range").await?;
                return Ok(Next::Continue);
            }
            let one = req.flags & CMD_FLAG_REQ_ONE != 0;
            let max_runs = if one { 1 } else { MAX_EXTENTS };
            match handle.allocation(offset, u64::from(req.len), max_runs) {
                Ok(runs) => {
                    let body_len = 4 + 8 * runs.len() as u32;
                    w.write_all(&chunk_header(
                        REPLY_FLAG_DONE,
                        REPLY_TYPE_BLOCK_STATUS,
                        cookie,
                        body_len,
                    ))
                    .await?;
                    w.write_all(&ALLOCATION_ID.to_be_bytes()).await?;
                    for (run, allocated) in runs {
                        // Runs lie within the request, whose length is a u32.
                        let run = u32::try_from(run).unwrap_or(u32::MAX);
                        let flags = if allocated {
                            0
                        } else {
                            STATE_HOLE | STATE_ZERO
                        };
                        w.write_all(&run.to_be_bytes()).await?;
                        w.write_all(&flags.to_be_bytes()).await?;
                    }
                }
                Err(e) => {
                    let (error, msg) = nbd_error(e, EINVAL);
                    reply_err(w, structured, cookie, error, msg).await?;
                }
            }
        }
        _ => {
            reply_err(w, structured, cookie, EINVAL, "unknown command").await?;
        }
    }
    Ok(Next::Continue)
}
