//! Listening sockets: one SO_REUSEPORT socket per shard per listener, so the kernel spreads
//! connections over the shards with no accept lock.

use crate::config::ListenerConfig;
use socket2::{Domain, Protocol as IpProtocol, SockAddr, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};

pub const LISTEN_BACKLOG: i32 = 1024;
/// How long a busy port is retried before it is reported in use. After a crash (SIGKILL) the
/// kernel tears the dead process's io_uring down asynchronously, and its listening sockets
/// linger for a fraction of a second: a restart must not fail on that.
pub const PORT_BUSY_RETRY: std::time::Duration = std::time::Duration::from_secs(3);
const PORT_BUSY_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("port {port} ({protocol} on {address}) is in use by another program")]
    InUse {
        port: u16,
        protocol: &'static str,
        address: SocketAddr,
    },
    #[error(
        "port {port} ({protocol} on {address}) needs privileges: run as root, or give the binary \
         CAP_NET_BIND_SERVICE (deploy/postern.service does), or use a port above 1023"
    )]
    Privileged {
        port: u16,
        protocol: &'static str,
        address: SocketAddr,
    },
    #[error("cannot listen for {protocol} on {address}: {source}")]
    Other {
        protocol: &'static str,
        address: SocketAddr,
        source: io::Error,
    },
}

/// The sockets of one listener, one per shard, bound and listening.
#[derive(Debug)]
pub struct BoundListener {
    pub config: ListenerConfig,
    pub sockets: Vec<OwnedFd>,
}

/// Binds `shards` sockets for `config`. First a socket without SO_REUSEPORT proves that no other
/// program holds the port (with SO_REUSEPORT a second Postern of the same user would silently
/// share it).
pub fn bind(config: &ListenerConfig, shards: usize) -> Result<BoundListener, ListenError> {
    let address = config.address;
    let protocol = config.protocol.name();
    let classify = |source: io::Error| match source.kind() {
        io::ErrorKind::AddrInUse => ListenError::InUse {
            port: address.port(),
            protocol,
            address,
        },
        io::ErrorKind::PermissionDenied => ListenError::Privileged {
            port: address.port(),
            protocol,
            address,
        },
        _ => ListenError::Other {
            protocol,
            address,
            source,
        },
    };
    drop(probe(address).map_err(classify)?);
    let sockets = (0..shards)
        .map(|_| socket(address, true).map(OwnedFd::from))
        .collect::<io::Result<Vec<_>>>()
        .map_err(classify)?;
    Ok(BoundListener {
        config: config.clone(),
        sockets,
    })
}

/// Binds without SO_REUSEPORT, retrying a busy port for `PORT_BUSY_RETRY`.
fn probe(address: SocketAddr) -> io::Result<Socket> {
    let deadline = std::time::Instant::now() + PORT_BUSY_RETRY;
    loop {
        match socket(address, false) {
            Err(e)
                if e.kind() == io::ErrorKind::AddrInUse && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(PORT_BUSY_PAUSE);
            }
            other => return other,
        }
    }
}

fn socket(address: SocketAddr, reuse_port: bool) -> io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(IpProtocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    if address.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&SockAddr::from(address))?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket)
}

/// Turns a bound socket into a glommio listener on the calling shard's executor.
pub fn into_glommio(fd: OwnedFd) -> glommio::net::TcpListener {
    // SAFETY: `fd` is an owned, bound, listening TCP socket; ownership moves to the listener.
    unsafe { glommio::net::TcpListener::from_raw_fd(fd.into_raw_fd()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Protocol, TlsMode};

    fn config(port: u16) -> ListenerConfig {
        ListenerConfig {
            protocol: Protocol::Imap,
            address: SocketAddr::from(([127, 0, 0, 1], port)),
            tls: TlsMode::Starttls,
            certificates: Vec::new(),
        }
    }

    #[test]
    fn binds_one_socket_per_shard_on_the_same_port() {
        let first = bind(&config(0), 1).expect("bind");
        let port = socket2::SockRef::from(&first.sockets[0])
            .local_addr()
            .expect("addr")
            .as_socket()
            .expect("inet")
            .port();
        drop(first);
        let bound = bind(&config(port), 3).expect("bind three");
        assert_eq!(bound.sockets.len(), 3);
    }

    #[test]
    fn port_in_use_is_named() {
        let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = holder.local_addr().expect("addr").port();
        let err = bind(&config(port), 2).unwrap_err().to_string();
        assert!(err.contains(&format!("port {port} (imap")), "{err}");
        assert!(err.contains("in use"), "{err}");
    }
}
