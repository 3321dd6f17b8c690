//! Connections a handler can hang up on: the `Reset` fault closes the socket without any HTTP
//! answer, and a hung call is dropped unanswered at shutdown. The Salesforce emulator serves
//! through the same listener for its own `Reset` and `Hang` faults.
//!
//! axum hands a handler no way to touch its socket, so the listener wraps every accepted
//! stream with a shared [`Hangup`] switch and passes the switch to handlers as connect info.
//! Once a handler flips it, the next read or write fails, hyper drops the connection, and a
//! zero linger turns the close into a TCP reset.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    extract::connect_info::Connected,
    serve::{IncomingStream, Listener},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
};

/// The switch that makes one connection fail.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hangup(Arc<AtomicBool>);

impl Hangup {
    /// From now on the connection fails; nothing more is sent on it.
    pub(crate) fn trigger(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn is_triggered(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The connect info handlers receive: the caller's address and its connection's switch.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    /// The caller's address.
    pub(crate) addr: SocketAddr,
    /// Hangs up this connection.
    pub(crate) hangup: Hangup,
}

impl Connected<IncomingStream<'_, HangupListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, HangupListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP listener whose connections carry a [`Hangup`].
#[derive(Debug)]
pub(crate) struct HangupListener {
    inner: TcpListener,
}

impl HangupListener {
    /// Wraps a bound listener.
    pub(crate) fn new(inner: TcpListener) -> Self {
        Self { inner }
    }
}

impl Listener for HangupListener {
    type Io = HangupStream;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let hangup = Hangup::default();
                    let io = HangupStream {
                        inner: stream,
                        hangup: hangup.clone(),
                    };
                    return (io, Peer { addr, hangup });
                }
                // The peer gave up before we accepted: nothing to serve.
                Err(error) if is_connection_error(&error) => {}
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "WHMCS emulator cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(Peer {
            addr: self.inner.local_addr()?,
            hangup: Hangup::default(),
        })
    }
}

fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// An accepted stream that fails once its [`Hangup`] is triggered.
#[derive(Debug)]
pub(crate) struct HangupStream {
    inner: TcpStream,
    hangup: Hangup,
}

impl HangupStream {
    fn hung_up(&self) -> io::Error {
        // A zero linger sends RST on close instead of FIN, and never blocks the close.
        #[expect(deprecated, reason = "a zero linger never blocks the thread on drop")]
        let _ = self.inner.set_linger(Some(Duration::ZERO));
        io::Error::new(io::ErrorKind::ConnectionReset, "hung up by the emulator")
    }
}

impl AsyncRead for HangupStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.hangup.is_triggered() {
            return Poll::Ready(Err(this.hung_up()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for HangupStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.hangup.is_triggered() {
            return Poll::Ready(Err(this.hung_up()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.hangup.is_triggered() {
            return Poll::Ready(Err(this.hung_up()));
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.hangup.is_triggered() {
            return Poll::Ready(Err(this.hung_up()));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
