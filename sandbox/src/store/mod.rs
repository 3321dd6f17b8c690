//! The embedded store: a small in-memory server speaking the Redis protocol (RESP2) on
//! `127.0.0.1:0`, for `sandbox demo` on a machine without Redis.
//!
//! Both services reach it with their ordinary `redis://127.0.0.1:PORT` URL and the ordinary
//! `redis` client, so the demo runs their real store code. It serves exactly the commands the
//! product sends, with Redis's replies and errors, and runs the product's Lua scripts as native
//! Rust (in `scripts`) since there is no Lua here. `sandbox/tests/store_conformance.rs` runs
//! the product's store code against it and against a real `redis-server` alike.
//!
//! What it leaves out: persistence, more than one database, pub/sub, blocking reads,
//! transactions, and every command the product does not use.

mod commands;
mod error;
mod hashes;
mod keys;
mod keyspace;
mod resp;
mod scripts;
mod server;
mod stream;
mod streams;
mod strings;

use std::{
    net::{Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex},
};

use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

use self::commands::Store;

/// A running embedded store. Clones share it; it stops on [`EmbeddedStore::shutdown`], or
/// when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    address: SocketAddr,
    stop: watch::Sender<bool>,
    server: Mutex<Option<JoinHandle<()>>>,
}

impl EmbeddedStore {
    /// Starts an empty store on `127.0.0.1` at a port the system picks.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let address = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let store = Arc::new(Mutex::new(Store::default()));
        let server = tokio::spawn(server::serve(listener, store, stopped));
        tracing::info!(%address, "Embedded store listening");
        Ok(Self {
            inner: Arc::new(Inner {
                address,
                stop,
                server: Mutex::new(Some(server)),
            }),
        })
    }

    /// The URL clients connect with: `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://{}", self.inner.address)
    }

    /// The address the store listens on.
    pub fn address(&self) -> SocketAddr {
        self.inner.address
    }

    /// Stops accepting, closes every connection, and waits until all of it has ended. Calling
    /// it again does nothing.
    pub async fn shutdown(&self) {
        let _ = self.inner.stop.send(true);
        let server = self
            .inner
            .server
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(server) = server {
            let _ = server.await;
        }
    }
}
