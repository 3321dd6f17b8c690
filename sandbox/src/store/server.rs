//! The TCP side: accepting connections, reading pipelined requests, answering each in order,
//! and sweeping expired keys in the background, until shutdown.
//!
//! Each command runs under the store's lock, one at a time across all connections, so every
//! command (and every script) is atomic as in Redis. A malformed request is answered with
//! Redis's protocol error and the connection closed, as Redis does.

use std::{
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use bytes::{Buf, BytesMut};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinSet,
};

use super::{
    commands::{Store, execute},
    error::CommandError,
    keyspace::Now,
    resp::{Reply, parse_request},
};

/// How often keys nobody reads again are freed (Redis samples ten times a second).
const SWEEP_PERIOD: Duration = Duration::from_millis(100);
/// The most unread request bytes one connection may hold (Redis's `client-query-buffer-limit`).
const MAX_QUERY_BUFFER: usize = 1024 * 1024 * 1024;
/// A pause after a failed accept (out of file descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

/// Locks the store, recovering it if a panicking task poisoned the lock: every command leaves
/// the data consistent before it could panic, so the data stays usable.
pub(crate) fn lock(store: &Mutex<Store>) -> MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Resolves once shutdown is asked for, or once the handle that could ask is gone.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Accepts connections on `listener` until shutdown, then waits for every connection to end.
pub(crate) async fn serve(
    listener: TcpListener,
    store: Arc<Mutex<Store>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    let mut sweep = tokio::time::interval(SWEEP_PERIOD);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stopped(&mut shutdown) => break,
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => {
                    // Replies are written whole; Nagle would only delay them.
                    let _ = socket.set_nodelay(true);
                    connections.spawn(serve_connection(socket, store.clone(), shutdown.clone()));
                }
                Err(error) => {
                    tracing::warn!(%error, "Could not accept a connection to the embedded store");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            _ = sweep.tick() => {
                lock(&store).keyspace.sweep(Now::current());
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    // Every connection watches the same signal, so this ends promptly.
    while connections.join_next().await.is_some() {}
}

/// What to do after answering the requests that have arrived.
enum Next {
    Read,
    Close,
}

async fn serve_connection(
    mut socket: TcpStream,
    store: Arc<Mutex<Store>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut input = BytesMut::with_capacity(16 * 1024);
    let mut output = Vec::new();
    loop {
        let next = answer_requests(&mut input, &mut output, &store);
        if !output.is_empty() {
            if socket.write_all(&output).await.is_err() {
                return;
            }
            output.clear();
            // A large reply (a long XRANGE) should not pin its memory for the connection's life.
            output.shrink_to(64 * 1024);
        }
        if matches!(next, Next::Close) {
            return;
        }
        input.reserve(16 * 1024);
        tokio::select! {
            () = stopped(&mut shutdown) => return,
            read = socket.read_buf(&mut input) => match read {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            },
        }
    }
}

/// Answers every complete request in `input` into `output`, in order.
fn answer_requests(input: &mut BytesMut, output: &mut Vec<u8>, store: &Mutex<Store>) -> Next {
    loop {
        let request = match parse_request(input) {
            Ok(Some(request)) => request,
            Ok(None) if input.len() > MAX_QUERY_BUFFER => {
                let error =
                    CommandError::Other("Protocol error: query buffer limit reached".into());
                Reply::from(error).encode(output);
                return Next::Close;
            }
            Ok(None) => return Next::Read,
            Err(error) => {
                Reply::from(CommandError::Other(error.to_string())).encode(output);
                return Next::Close;
            }
        };
        input.advance(request.consumed);
        let Some(name) = request.args.first() else {
            continue;
        };
        let quit = name.eq_ignore_ascii_case(b"QUIT");
        let reply = execute(&mut lock(store), &request.args, Now::current());
        reply.encode(output);
        if quit {
            return Next::Close;
        }
    }
}
