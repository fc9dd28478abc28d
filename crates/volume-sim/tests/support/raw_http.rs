//! HTTP/1.1 spoken as raw bytes, for requests no client library would send
//! (dot segments kept, malformed heads, half-sent bodies).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Every wait ends by this bound.
pub const BOUND: Duration = Duration::from_secs(10);

/// What came back on a connection: the status (if a response came), the
/// body, and whether the server closed the connection after it.
#[derive(Debug)]
pub struct Reply {
    pub status: Option<u16>,
    pub body: String,
    pub closed: bool,
}

/// Reads one response (or the connection's end) within [`BOUND`].
pub async fn read_reply(stream: &mut TcpStream) -> Reply {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        if let Some((status, head_len, length)) = parse_head(&buf) {
            if buf.len() >= head_len + length {
                let body = String::from_utf8_lossy(&buf[head_len..head_len + length]).into_owned();
                // Closed after it? A short wait for the end of the stream.
                let closed = matches!(
                    tokio::time::timeout(Duration::from_millis(200), stream.read(&mut chunk)).await,
                    Ok(Ok(0) | Err(_))
                );
                return Reply {
                    status: Some(status),
                    body,
                    closed,
                };
            }
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0) | Err(_)) => {
                return Reply {
                    status: parse_head(&buf).map(|(s, _, _)| s),
                    body: String::new(),
                    closed: true,
                }
            }
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => panic!(
                "no answer and no close within {BOUND:?}: {:?}",
                String::from_utf8_lossy(&buf)
            ),
        }
    }
}

/// The status, the head's length and the declared body length.
pub fn parse_head(buf: &[u8]) -> Option<(u16, usize, usize)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    Some((status, end, length))
}

/// Sends `bytes` on a new connection and reads the reply.
pub async fn send(addr: SocketAddr, bytes: &[u8]) -> (TcpStream, Reply) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before all is written (a refused
    // body): what it answered is what counts.
    let _ = stream.write_all(bytes).await;
    let reply = read_reply(&mut stream).await;
    (stream, reply)
}
