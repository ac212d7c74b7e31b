//! Client connections: TLS driven directly over glommio sockets, input buffering with a hard
//! bound, per-shard connection limits, the accept loop, and moving a connection to another shard.

mod accept;
mod buffer;
mod compress;
mod connection;
mod limits;

pub use accept::{Refusal, accept_loop};
pub use buffer::InputBuffer;
pub use connection::{Connection, PortableConnection};
pub use limits::{ConnectionLimits, ConnectionPermit};

use crate::config::ListenerConfig;

/// A connection handed to the shard that owns its account, with the plaintext already read
/// from it and the session's state.
#[derive(Debug)]
pub struct Adoption {
    pub connection: PortableConnection,
    pub listener: ListenerConfig,
    /// Plaintext received but not yet processed.
    pub input: Vec<u8>,
    pub session: SessionHandoff,
}

/// Protocol state that travels with an adopted connection; a variant per protocol that moves
/// its connections to the owner shard after login.
#[derive(Debug)]
pub enum SessionHandoff {
    Pop3(Box<crate::pop3::driver::Handoff>),
    Imap(Box<crate::imap::Handoff>),
}

/// Runs an adopted connection's session on this shard (inside its connection gate).
pub fn adopt(shard: &std::rc::Rc<crate::runtime::shard::Shard>, adoption: Adoption) {
    let Adoption {
        connection,
        listener,
        input,
        session,
    } = adoption;
    let session: std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> = match session {
        SessionHandoff::Pop3(handoff) => Box::pin(crate::pop3::driver::resume(
            std::rc::Rc::clone(shard),
            connection,
            listener,
            input,
            *handoff,
        )),
        SessionHandoff::Imap(handoff) => Box::pin(crate::imap::resume(
            std::rc::Rc::clone(shard),
            connection,
            listener,
            input,
            *handoff,
        )),
    };
    // A closed gate means shutdown has begun: the connection is dropped.
    if let Ok(task) = shard.state.connections.spawn(session) {
        task.detach();
    }
}
