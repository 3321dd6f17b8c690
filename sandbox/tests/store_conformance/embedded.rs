//! What only the embedded store can be asked: scripts other than the product's, malformed and
//! inline requests on a raw socket, the RESP2-only greeting, and shutdown.

use std::time::Duration;

use sandbox::store::EmbeddedStore;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::support::{DEADLINE, connect, error_code, raw};

/// Sends `request` on a fresh connection and reads until the store closes it or `expected`
/// bytes have arrived.
async fn exchange(store: &EmbeddedStore, request: &[u8], expected: usize) -> Vec<u8> {
    let mut socket = TcpStream::connect(store.address()).await.unwrap();
    socket.write_all(request).await.unwrap();
    let mut reply = Vec::new();
    let mut chunk = [0u8; 4096];
    while reply.len() < expected {
        let read = tokio::time::timeout(DEADLINE, socket.read(&mut chunk))
            .await
            .expect("the store answers")
            .unwrap();
        if read == 0 {
            break;
        }
        reply.extend_from_slice(&chunk[..read]);
    }
    reply
}

#[tokio::test]
async fn eval_of_another_script_is_refused_by_name() {
    let store = EmbeddedStore::start().await.unwrap();
    let mut redis = connect(&store.url());

    for args in [
        &[&b"EVAL"[..], b"return redis.call('FLUSHALL')", b"0"][..],
        &[b"SCRIPT", b"LOAD", b"return 1"],
    ] {
        let error = raw(&mut redis, args).await.unwrap_err();
        assert_eq!(error.code(), Some("ERR"));
        assert!(
            error.detail().unwrap().contains("unsupported script"),
            "{error}"
        );
    }
    let hello = error_code(&mut redis, &[b"HELLO", b"3"]).await;
    assert_eq!(hello, "NOPROTO", "clients stay on RESP2");
    store.shutdown().await;
}

#[tokio::test]
async fn inline_and_pipelined_requests_are_answered_in_order() {
    let store = EmbeddedStore::start().await.unwrap();
    let request = b"PING\r\nSET k v\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nQUIT\r\n";
    let reply = exchange(&store, request, usize::MAX).await;
    assert_eq!(
        reply, b"+PONG\r\n+OK\r\n$1\r\nv\r\n+OK\r\n",
        "QUIT closes after answering"
    );
    store.shutdown().await;
}

#[tokio::test]
async fn malformed_requests_close_the_connection_and_the_store_keeps_serving() {
    let store = EmbeddedStore::start().await.unwrap();
    for garbage in [
        &b"*1\r\n$x\r\n"[..],
        b"*2\r\n:1\r\n",
        b"*1\r\n$3\r\nabcdef\r\n",
        b"*-5x\r\n",
        b"\x00\xff*$\r\n*1\r\n$-7\r\n",
    ] {
        let reply = exchange(&store, garbage, usize::MAX).await;
        let text = String::from_utf8_lossy(&reply);
        assert!(
            text.contains("-ERR Protocol error"),
            "{garbage:?} gave {text:?}"
        );
    }
    let pong = exchange(&store, b"*1\r\n$4\r\nPING\r\n", 7).await;
    assert_eq!(pong, b"+PONG\r\n");
    store.shutdown().await;
}

#[tokio::test]
async fn a_request_split_across_writes_is_answered_once_whole() {
    let store = EmbeddedStore::start().await.unwrap();
    let mut socket = TcpStream::connect(store.address()).await.unwrap();
    let request = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\n\x00\r\n\xff\x01\r\n";
    for byte in request {
        socket.write_all(&[*byte]).await.unwrap();
        socket.flush().await.unwrap();
    }
    let mut reply = [0u8; 5];
    tokio::time::timeout(DEADLINE, socket.read_exact(&mut reply))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&reply, b"+OK\r\n");
    let value = exchange(&store, b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", 11).await;
    assert_eq!(value, b"$5\r\n\x00\r\n\xff\x01\r\n");
    store.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_connections_and_stops_listening() {
    let store = EmbeddedStore::start().await.unwrap();
    let mut open = TcpStream::connect(store.address()).await.unwrap();
    open.write_all(b"PING\r\n").await.unwrap();
    let mut pong = [0u8; 7];
    open.read_exact(&mut pong).await.unwrap();

    let clone = store.clone();
    tokio::time::timeout(DEADLINE, clone.shutdown())
        .await
        .expect("shutdown ends");
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), open.read_to_end(&mut rest)).await;
    assert!(matches!(closed, Ok(Ok(0))), "{closed:?}");
    assert!(
        TcpStream::connect(store.address()).await.is_err(),
        "no longer listening"
    );
    store.shutdown().await;
}
