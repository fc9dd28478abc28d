//! A client never reads more of an answer than its cap: a larger successful
//! answer is an error (on its declared length, or once a chunked body
//! passes the cap, with the rest left unread), and of an error answer only
//! the start is read, its status still mapped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use volume_core::http::{ClientOptions, Request, RetryConfig, Transport, Url};
use volume_core::Error;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const CAP: usize = 1024 * 1024;

fn transport(base: &str) -> Transport {
    Transport::builder("test", Url::parse(base).unwrap())
        .client_options(
            &ClientOptions::new()
                .with_retry(RetryConfig::none())
                .with_timeout(Duration::from_secs(20))
                .with_max_response_bytes(CAP),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_declared_length_over_the_cap_is_refused() {
    let server = MockServer::start().await;
    Mock::given(path("/big"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; CAP + 1]))
        .mount(&server)
        .await;
    Mock::given(path("/fits"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; CAP]))
        .mount(&server)
        .await;
    let t = transport(&server.uri());
    let err = t.send(Request::get(["big"])).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(
        text.contains("1048577 bytes") && text.contains("/big"),
        "{text}"
    );
    let fits = t.send(Request::get(["fits"])).await.unwrap();
    assert_eq!(fits.body().len(), CAP);
}

/// A server that answers one request with an endless chunked body, ended
/// at 64 MiB or when the client goes away; its task gives what it wrote.
async fn endless(status: u16) -> (String, JoinHandle<u64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let written = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&written);
    let task = tokio::spawn(async move {
        serve_endless(listener, status, &count).await;
        count.load(Ordering::Relaxed)
    });
    (format!("http://{addr}/"), task)
}

async fn serve_endless(listener: TcpListener, status: u16, count: &AtomicU64) {
    {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut head = vec![0u8; 4096];
        let _ = socket.read(&mut head).await;
        let reply = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        if socket.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
        let chunk = vec![b'y'; 64 * 1024];
        let frame = [
            format!("{:x}\r\n", chunk.len()).into_bytes(),
            chunk,
            b"\r\n".to_vec(),
        ]
        .concat();
        for _ in 0..1024 {
            if socket.write_all(&frame).await.is_err() {
                return;
            }
            count.fetch_add(64 * 1024, Ordering::Relaxed);
        }
        let _ = socket.write_all(b"0\r\n\r\n").await;
    }
}

/// What the server wrote, once the client has gone (bounded wait).
async fn written_by(task: JoinHandle<u64>) -> u64 {
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("the server stops when the client goes")
        .unwrap()
}

#[tokio::test]
async fn a_chunked_body_is_cut_off_at_the_cap() {
    let (base, written) = endless(200).await;
    let err = transport(&base)
        .send(Request::get(["x"]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    // The client stopped reading and went: the server could not write its
    // 64 MiB (socket buffers hold a few MiB at most).
    let sent = written_by(written).await;
    assert!(sent < 32 * 1024 * 1024, "the server wrote {sent} bytes");
}

#[tokio::test]
async fn an_endless_error_body_is_read_only_for_its_message() {
    let (base, written) = endless(500).await;
    let err = transport(&base)
        .send(Request::get(["x"]))
        .await
        .unwrap_err();
    let api = err.api().expect("the status is still mapped");
    assert_eq!(api.status, 500);
    assert!(api.message.len() <= 4 * 1024 + 3, "{}", api.message.len());
    let sent = written_by(written).await;
    assert!(sent < 32 * 1024 * 1024, "the server wrote {sent} bytes");
}
