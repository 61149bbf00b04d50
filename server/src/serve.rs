//! The accept loop both listeners run: hyper's HTTP/1 server with a header
//! read timeout and a cap on open connections, so that a slow or silent
//! client holds one connection for a bounded time and cannot crowd out the
//! rest (plain `axum::serve` has neither).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

use crate::config::ConnectionLimits;

/// Serves `router` on `listener` until `shutdown` resolves; then stops
/// accepting and returns once every open connection has finished its
/// request in flight (idle ones are closed at once).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    // hyper starts this timer whenever it waits for a request's head: when a
    // connection opens and after each answer. So it bounds a slow sender and
    // an idle keep-alive connection alike, and never a request in flight.
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // The permit comes before `accept`: past the cap, a new connection
        // waits in the kernel's queue instead of being taken and dropped.
        let permit = tokio::select! {
            permit = open.clone().acquire_owned() => permit,
            () = &mut shutdown => break,
        };
        // Only a closed semaphore refuses a permit, and this one never closes.
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                wait_after_accept_error(error).await;
                continue;
            }
        };
        no_delay(&stream);
        let connection = graceful.watch(http.serve_connection(
            TokioIo::new(stream),
            hyper::service::service_fn(app_with_peer(router.clone(), peer)),
        ));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// The app as one connection's requests reach it, each carrying the peer's
/// address as `ConnectInfo` (the client address when no proxy header is
/// configured).
fn app_with_peer(
    router: Router,
    peer: SocketAddr,
) -> impl Fn(Request<Incoming>) -> tower::util::Oneshot<Router, Request<Incoming>> {
    move |mut request| {
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request)
    }
}

/// Without TCP_NODELAY, a body written in several pieces waits for the
/// client's delayed ACK (about 40 ms) on every reused connection.
fn no_delay(stream: &TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY");
    }
}

/// A connection that went away before it was accepted concerns only that
/// client. Anything else (most often: out of file descriptors) would fail
/// again at once, so it is logged and retried after a pause, as
/// `axum::serve` does.
async fn wait_after_accept_error(error: io::Error) {
    if matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    ) {
        return;
    }
    tracing::error!(%error, "accept error; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
