//! Which session serves which listener: one accept loop per listener socket of the shard.

use super::shard::Shard;
use crate::config::{ListenerConfig, Protocol};
use crate::net::accept_loop;
use glommio::task::JoinHandle;
use std::os::fd::OwnedFd;
use std::rc::Rc;

/// Starts the accept loops; the handles are cancelled at shutdown.
pub fn start(shard: &Rc<Shard>, listeners: Vec<(ListenerConfig, OwnedFd)>) -> Vec<JoinHandle<()>> {
    listeners
        .into_iter()
        .map(|(config, socket)| {
            let limits = Rc::clone(&shard.state.limits);
            let shard = Rc::clone(shard);
            match config.protocol {
                Protocol::Pop3 | Protocol::Pop3s => glommio::spawn_local(accept_loop(
                    shard,
                    config,
                    socket,
                    limits,
                    crate::pop3::driver::refuse,
                    crate::pop3::driver::serve,
                ))
                .detach(),
                Protocol::Smtp | Protocol::Submission | Protocol::Submissions | Protocol::Lmtp => {
                    glommio::spawn_local(accept_loop(
                        shard,
                        config,
                        socket,
                        limits,
                        crate::smtp::driver::refuse,
                        crate::smtp::driver::serve,
                    ))
                    .detach()
                }
                Protocol::Imap | Protocol::Imaps => glommio::spawn_local(accept_loop(
                    shard,
                    config,
                    socket,
                    limits,
                    crate::imap::refuse,
                    crate::imap::serve,
                ))
                .detach(),
            }
        })
        .collect()
}
