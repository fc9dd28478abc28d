//! The server's limits and its answers to malformed requests, spoken as raw
//! bytes over loopback: body size (413 in the claiming provider's shape,
//! before the body is read), head size and header count (431), head and
//! body timeouts, the connection cap, malformed requests (400 and a closed
//! connection, the server still serving), a dropped-connection fault, and
//! requests answered in parallel.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use volume_sim::engine::{Fault, FaultRule, SimOp};
use volume_sim::fake::linode::DEFAULT_TOKEN;
use volume_sim::serve::{Limits, ServeConfig, Server};

mod support;
use support::raw_http::{read_reply, send, BOUND};

async fn start(limits: Limits) -> Server {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    Server::start(listener, &ServeConfig::default().with_limits(limits))
        .await
        .unwrap()
}

fn small_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_body_bytes = 1024;
    limits.max_headers = 20;
    limits.max_header_bytes = 8192;
    limits.header_timeout = Duration::from_millis(300);
    limits.body_timeout = Duration::from_millis(300);
    limits
}

/// A plain authenticated request still works: the server is alive.
async fn still_serving(addr: SocketAddr) {
    let request = format!(
        "GET /v4/volumes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {DEFAULT_TOKEN}\r\n\r\n"
    );
    let (_, reply) = send(addr, request.as_bytes()).await;
    assert_eq!(reply.status, Some(200), "{reply:?}");
}

#[tokio::test]
async fn a_body_over_the_limit_gets_a_413_in_the_claiming_providers_shape() {
    let server = start(small_limits()).await;
    let addr = server.address();

    // Declared too large: answered before a byte of the body is sent.
    let (_, linode) = send(
        addr,
        b"POST /v4/volumes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 209715200\r\n\r\n",
    )
    .await;
    assert_eq!(linode.status, Some(413), "{linode:?}");
    assert!(linode.closed, "{linode:?}");
    let body: Value = serde_json::from_str(&linode.body).unwrap();
    assert!(
        body["errors"][0]["reason"].is_string(),
        "Linode's shape: {body}"
    );

    let (_, exoscale) = send(
        addr,
        b"POST /v2/block-storage HTTP/1.1\r\nHost: x\r\nContent-Length: 209715200\r\n\r\n",
    )
    .await;
    assert_eq!(exoscale.status, Some(413), "{exoscale:?}");
    let body: Value = serde_json::from_str(&exoscale.body).unwrap();
    assert!(body["message"].is_string(), "Exoscale's shape: {body}");
    assert!(body.get("errors").is_none(), "{body}");

    // Chunked, with no length said: refused once past the limit.
    let mut chunked =
        b"POST /v4/volumes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..4 {
        chunked.extend_from_slice(b"400\r\n");
        chunked.extend_from_slice(&[b'a'; 0x400]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (_, reply) = send(addr, &chunked).await;
    assert_eq!(reply.status, Some(413), "{reply:?}");

    // At the limit: read, and answered by the fake (here: 401, no token).
    let mut exact =
        b"POST /v4/volumes HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\n\r\n".to_vec();
    exact.extend_from_slice(&[b' '; 1024]);
    let (_, reply) = send(addr, &exact).await;
    assert_eq!(reply.status, Some(401), "{reply:?}");
    still_serving(addr).await;
}

#[tokio::test]
async fn heads_over_the_limits_get_a_431() {
    let server = start(small_limits()).await;
    let addr = server.address();
    let mut many = String::from("GET /v4/regions HTTP/1.1\r\nHost: x\r\n");
    for n in 0..40 {
        many.push_str(&format!("X-Header-{n}: {n}\r\n"));
    }
    many.push_str("\r\n");
    let (_, reply) = send(addr, many.as_bytes()).await;
    assert_eq!(reply.status, Some(431), "{reply:?}");
    assert!(reply.closed);

    let big = format!(
        "GET /v4/regions HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(64 << 10)
    );
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may close before reading it all; what it answered counts.
    let _ = stream.write_all(big.as_bytes()).await;
    let reply = read_reply(&mut stream).await;
    assert_eq!(reply.status, Some(431), "{reply:?}");
    still_serving(addr).await;
}

#[tokio::test]
async fn slow_heads_slow_bodies_and_idle_connections_are_closed() {
    let server = start(small_limits()).await;
    let addr = server.address();

    // Half a head, then nothing: closed (hyper may say 408 first).
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /v4/regions HTTP/1.1\r\nHo")
        .await
        .unwrap();
    let reply = read_reply(&mut stream).await;
    assert!(reply.closed, "{reply:?}");
    assert!(matches!(reply.status, None | Some(408)), "{reply:?}");

    // A head dribbled a byte at a time, each within the timeout: closed
    // all the same once the whole head has taken longer than it.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = b"GET /v4/regions HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaa\r\n\r\n";
    let mut cut_off = false;
    for byte in head {
        if stream.write_all(&[*byte]).await.is_err() {
            cut_off = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reply = read_reply(&mut stream).await;
    assert!(
        cut_off || (reply.closed && reply.status.is_none()),
        "{reply:?}"
    );

    // An idle keep-alive connection: closed after its answer and the wait.
    let (mut stream, reply) = send(addr, b"GET /v4/regions HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(reply.status, Some(200));
    assert!(!reply.closed, "kept alive at first");
    let rest = read_reply(&mut stream).await;
    assert!(rest.closed && rest.status.is_none(), "{rest:?}");

    // A body that stops arriving: a 408 in Linode's shape, and closed.
    let (_, reply) = send(
        addr,
        b"POST /v4/volumes HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"lab",
    )
    .await;
    assert_eq!(reply.status, Some(408), "{reply:?}");
    assert!(reply.closed);
    let body: Value = serde_json::from_str(&reply.body).unwrap();
    assert!(body["errors"][0]["reason"].is_string(), "{body}");
    still_serving(addr).await;
}

#[tokio::test]
async fn malformed_requests_get_a_400_or_a_close_never_a_5xx() {
    let server = start(small_limits()).await;
    let addr = server.address();
    let token = format!("Authorization: Bearer {DEFAULT_TOKEN}\r\n");
    let cases: Vec<Vec<u8>> = vec![
        b"NOT HTTP AT ALL\r\n\r\n".to_vec(),
        b"GET /v4/regions HTTP/9.9\r\n\r\n".to_vec(),
        b"GET /v4/regions HTTP/1.1\r\nBad Header Line\r\n\r\n".to_vec(),
        b"GET /v4/regions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n".to_vec(),
        b"GET /v4/regions HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab".to_vec(),
        format!("POST /v4/volumes HTTP/1.1\r\nHost: x\r\n{token}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n").into_bytes(),
        format!("POST /v4/volumes HTTP/1.1\r\nHost: x\r\n{token}Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX3\r\n").into_bytes(),
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n".to_vec(),
        b"GET http://example.com/v4/regions HTTP/1.1\r\nHost: example.com\r\n\r\n".to_vec(),
        b"GET * HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec(),
        vec![0u8; 64],
    ];
    for case in &cases {
        let (_, reply) = send(addr, case).await;
        let shown = String::from_utf8_lossy(case);
        match reply.status {
            None => assert!(reply.closed, "{shown:?}: {reply:?}"),
            Some(s) => assert!(s < 500, "{shown:?}: {reply:?}"),
        }
    }
    // The absolute-form request is answered like its path.
    let (_, reply) = send(
        addr,
        b"GET http://example.com/v4/regions HTTP/1.1\r\nHost: example.com\r\n\r\n",
    )
    .await;
    assert_eq!(reply.status, Some(200), "{reply:?}");
    still_serving(addr).await;
}

#[tokio::test]
async fn connections_over_the_cap_wait_their_turn() {
    let mut limits = Limits::default();
    limits.max_connections = 2;
    let server = start(limits).await;
    let addr = server.address();
    let request = b"GET /v4/regions HTTP/1.1\r\nHost: x\r\n\r\n";
    let (first, reply) = send(addr, request).await;
    assert_eq!(reply.status, Some(200));
    let (second, reply) = send(addr, request).await;
    assert_eq!(reply.status, Some(200));

    // The third is not accepted while two are open...
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(request).await.unwrap();
    let mut byte = [0u8; 1];
    assert!(
        tokio::time::timeout(Duration::from_millis(300), third.read(&mut byte))
            .await
            .is_err(),
        "answered over the cap"
    );
    // ...and is answered once one closes.
    drop(first);
    let reply = read_reply(&mut third).await;
    assert_eq!(reply.status, Some(200), "{reply:?}");
    drop(second);
}

#[tokio::test]
async fn a_dropped_connection_fault_closes_without_an_answer_after_the_change() {
    let server = start(Limits::default()).await;
    let engine = server.fake("linode").unwrap().engine().clone();
    engine.inject(
        FaultRule::new(Fault::DropConnection)
            .on(SimOp::CreateVolume)
            .times(1),
    );
    let body = r#"{"label":"dropped","region":"us-east"}"#;
    let request = format!(
        "POST /v4/volumes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {DEFAULT_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (_, reply) = send(server.address(), request.as_bytes()).await;
    assert_eq!(reply.status, None, "{reply:?}");
    assert!(reply.closed);
    // The change was made before the connection went.
    let tenant = volume_sim::fake::linode::DEFAULT_TENANT;
    assert_eq!(engine.with(|c| c.all_volumes(tenant).len()), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_answer_does_not_hold_up_others() {
    let server = start(Limits::default()).await;
    let addr = server.address();
    let engine = server.fake("linode").unwrap().engine().clone();
    engine.inject(
        FaultRule::new(Fault::Latency(Duration::from_secs(3)))
            .on(SimOp::ListVolumes)
            .times(1),
    );
    let slow = tokio::spawn(async move {
        let request = format!(
            "GET /v4/volumes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {DEFAULT_TOKEN}\r\n\r\n"
        );
        send(addr, request.as_bytes()).await.1
    });
    // Until the slow one is under way, a quick request may take its turn
    // first; wait until the fault has been taken.
    let deadline = tokio::time::Instant::now() + BOUND;
    while engine.injected().is_empty() {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (_, quick) = send(addr, b"GET /v4/regions HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(quick.status, Some(200));
    assert!(!slow.is_finished(), "the slow answer came first");
    assert_eq!(slow.await.unwrap().status, Some(200));
}
