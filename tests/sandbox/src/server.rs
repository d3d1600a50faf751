//! The accept loop: one hyper HTTP/1 connection per accepted socket, each of which a
//! handler can abort (the socket is closed without an answer) through [`ConnAbort`].

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// Handle, put in every request's extensions, that closes the request's connection.
///
/// Aborting drops the hyper connection future, which closes the socket: whatever the
/// handler would have answered is never written.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConnAbort(Arc<Notify>);

impl ConnAbort {
    /// Asks the connection task to close the socket now.
    pub(crate) fn abort(&self) {
        // `notify_one` stores a permit, so the signal is not lost if the connection task
        // is not waiting at this very moment.
        self.0.notify_one();
    }

    async fn aborted(&self) {
        self.0.notified().await;
    }
}

/// Serves `app` on `listener` until `shutdown` fires (or the sender is dropped), then
/// stops accepting and aborts every open connection.
pub(crate) async fn serve(listener: TcpListener, app: Router, mut shutdown: oneshot::Receiver<()>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    connections.spawn(serve_connection(stream, app.clone()));
                }
                // Transient failures (for example too many open files): pause, go on.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    // Dropping the set aborts every connection task, which closes their sockets.
    connections.abort_all();
}

async fn serve_connection(stream: tokio::net::TcpStream, app: Router) {
    let abort = ConnAbort::default();
    let handle = abort.clone();
    let service = tower::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(handle.clone());
        app.clone().oneshot(request.map(Body::new))
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        // Idle keep-alive connections stay open: closing them under a client that is
        // about to reuse one would make tests flaky.
        .header_read_timeout(None)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
    tokio::select! {
        _ = connection => {}
        _ = abort.aborted() => {}
    }
}

/// Background tasks of one sandbox (webhook deliveries, settle timers), all aborted when
/// the sandbox stops.
#[derive(Debug, Default)]
pub(crate) struct Tasks(Mutex<Option<JoinSet<()>>>);

impl Tasks {
    /// A new, open task set.
    pub(crate) fn new() -> Self {
        Tasks(Mutex::new(Some(JoinSet::new())))
    }

    /// Spawns `task` on the current runtime, unless the sandbox has stopped.
    pub(crate) fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(set) = guard.as_mut() {
            // Reap what has finished so the set does not grow without bound.
            while set.try_join_next().is_some() {}
            set.spawn(task);
        }
    }

    /// Aborts every task and refuses new ones.
    pub(crate) fn shutdown(&self) {
        let set = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut set) = set {
            set.abort_all();
        }
    }
}
