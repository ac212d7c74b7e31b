//! The accept loop of one listener on one shard.

use super::{Connection, ConnectionLimits, ConnectionPermit};
use crate::config::ListenerConfig;
use crate::runtime::listener;
use crate::runtime::shard::Shard;
use std::future::Future;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::Duration;

/// Why a connection is turned away before its session starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    TooManyConnections,
    TooManyFromAddress,
}

/// Pause after an accept error (EMFILE and the like) before trying again.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// Accepts until cancelled; every session runs inside the shard's connection gate so that
/// shutdown can wait for it. `refuse` gives the protocol's own words for a refused connection.
pub async fn accept_loop<S, F>(
    shard: Rc<Shard>,
    listener_config: ListenerConfig,
    socket: OwnedFd,
    limits: Rc<ConnectionLimits>,
    refuse: fn(Refusal) -> &'static [u8],
    serve: S,
) where
    S: Fn(Rc<Shard>, Connection, ListenerConfig, ConnectionPermit) -> F,
    F: Future<Output = ()> + 'static,
{
    let listener = listener::into_glommio(socket);
    loop {
        let stream = match listener.accept().await {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!(shard = shard.state.id, "accept failed: {e}");
                glommio::timer::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        let Ok(mut connection) = Connection::new(stream) else {
            continue;
        };
        let write_timeout = shard.state.config.limits.write_timeout;
        if connection.set_write_timeout(Some(write_timeout)).is_err() {
            continue;
        }
        let permit = match limits.admit(connection.peer().ip()) {
            Ok(permit) => permit,
            Err(refusal) => {
                // A TLS client can't read plaintext words: it is just closed.
                let words = match listener_config.tls {
                    crate::config::TlsMode::Implicit => &b""[..],
                    _ => refuse(refusal),
                };
                glommio::spawn_local(async move {
                    if !words.is_empty() {
                        let _ = connection.write_all(words).await;
                    }
                    connection.close().await;
                })
                .detach();
                continue;
            }
        };
        let session = serve(
            Rc::clone(&shard),
            connection,
            listener_config.clone(),
            permit,
        );
        match shard.state.connections.spawn(session) {
            Ok(task) => {
                task.detach();
            }
            // The gate closes at shutdown; the accept loop is cancelled right after.
            Err(_) => return,
        }
    }
}
