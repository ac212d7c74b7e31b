//! A client connection on a shard: a glommio TCP socket, optionally with a rustls server session
//! driven directly (no adapter), so that the whole connection — socket and TLS state — can be
//! handed to another shard (`into_portable` / `resume`).

use rustls::ServerConnection;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;

/// Ciphertext read from the socket at once.
pub const CIPHERTEXT_READ_OCTETS: usize = 16 * 1024 + 512;

pub struct Connection {
    socket: TcpStream,
    tls: Option<Box<ServerConnection>>,
    /// Ciphertext read but not yet taken by rustls (its plaintext buffer was full).
    ciphertext: Vec<u8>,
    ciphertext_start: usize,
    peer: SocketAddr,
    local: SocketAddr,
}

/// A connection between shards: the socket's descriptor and the TLS session, `Send`.
pub struct PortableConnection {
    fd: OwnedFd,
    tls: Option<Box<ServerConnection>>,
    ciphertext: Vec<u8>,
    peer: SocketAddr,
    local: SocketAddr,
}

impl std::fmt::Debug for PortableConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortableConnection")
            .field("peer", &self.peer)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Connection {
    pub fn new(socket: TcpStream) -> io::Result<Connection> {
        let peer = socket.peer_addr()?;
        let local = socket.local_addr()?;
        socket.set_nodelay(true)?;
        Ok(Connection {
            socket,
            tls: None,
            ciphertext: Vec::new(),
            ciphertext_start: 0,
            peer,
            local,
        })
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    pub fn local(&self) -> SocketAddr {
        self.local
    }

    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The SNI name the client asked for, if any.
    pub fn server_name(&self) -> Option<&str> {
        self.tls.as_ref().and_then(|tls| tls.server_name())
    }

    /// The `tls-exporter` channel binding (RFC 9266) of a TLS 1.3 connection; none for TLS 1.2,
    /// where the exporter is not a safe binding without extended master secret.
    pub fn channel_binding(&self) -> Option<crate::auth::sasl::ChannelBinding> {
        let tls = self.tls.as_ref()?;
        if tls.protocol_version() != Some(rustls::ProtocolVersion::TLSv1_3) {
            return None;
        }
        let data = tls
            .export_keying_material(vec![0u8; 32], b"EXPORTER-Channel-Binding", None)
            .ok()?;
        Some(crate::auth::sasl::ChannelBinding {
            kind: "tls-exporter",
            data,
        })
    }

    /// Reads time out after `idle` (an `io::ErrorKind::TimedOut` error).
    pub fn set_idle_timeout(&self, idle: Option<Duration>) -> io::Result<()> {
        self.socket.set_read_timeout(idle).map_err(io::Error::from)
    }

    /// Writes that make no progress for `limit` fail with `io::ErrorKind::TimedOut`.
    pub fn set_write_timeout(&self, limit: Option<Duration>) -> io::Result<()> {
        self.socket
            .set_write_timeout(limit)
            .map_err(io::Error::from)
    }

    /// Runs the TLS handshake as server (implicit TLS, or after STARTTLS/STLS was answered).
    /// The caller must have dropped any plaintext received after the STARTTLS command.
    pub async fn start_tls(&mut self, config: Arc<rustls::ServerConfig>) -> io::Result<()> {
        assert!(self.tls.is_none(), "TLS is started once per connection");
        let session = ServerConnection::new(config).map_err(io::Error::other)?;
        self.tls = Some(Box::new(session));
        self.ciphertext.clear();
        self.ciphertext_start = 0;
        loop {
            self.flush_tls().await?;
            let handshaking = self.tls.as_ref().is_some_and(|tls| tls.is_handshaking());
            if !handshaking {
                return Ok(());
            }
            if self.fill_tls().await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed during the TLS handshake",
                ));
            }
        }
    }

    /// Reads plaintext; `Ok(0)` is the end of the stream.
    pub async fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if self.tls.is_none() {
            return self.socket.read(buffer).await;
        }
        loop {
            let tls = self.tls.as_mut().expect("checked above");
            match tls.reader().read(buffer) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if self.fill_tls().await? == 0 {
                // A peer that closes without close_notify: treat as the end of the stream,
                // which every line protocol here detects as an incomplete command anyway.
                return Ok(0);
            }
        }
    }

    /// Writes all of `bytes` and flushes them to the socket.
    pub async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.tls.as_mut() {
            None => {
                self.socket.write_all(bytes).await?;
                self.socket.flush().await
            }
            Some(_) => {
                // rustls buffers at most 64 KiB of plaintext: hand it what it takes, send that,
                // and go on (a RETR reply or a LIST can be far larger).
                let mut rest = bytes;
                while !rest.is_empty() {
                    let tls = self.tls.as_mut().expect("matched Some above");
                    let taken = tls.writer().write(rest)?;
                    rest = &rest[taken..];
                    self.flush_tls().await?;
                }
                Ok(())
            }
        }
    }

    /// Sends close_notify (TLS) and shuts the socket down.
    pub async fn close(mut self) {
        if let Some(tls) = self.tls.as_mut() {
            tls.send_close_notify();
            let _ = self.flush_tls().await;
        }
        let _ = self.socket.shutdown(std::net::Shutdown::Both).await;
    }

    /// Takes the connection off this shard. Plaintext the caller has buffered travels separately.
    pub fn into_portable(self) -> io::Result<PortableConnection> {
        // SAFETY: dup on a descriptor we own; the new descriptor is owned by the OwnedFd.
        let fd = unsafe { libc::dup(self.socket.as_raw_fd()) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor returned by dup, owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let ciphertext = self.ciphertext[self.ciphertext_start..].to_vec();
        Ok(PortableConnection {
            fd,
            tls: self.tls,
            ciphertext,
            peer: self.peer,
            local: self.local,
        })
        // `self.socket` drops here and closes its descriptor; the socket lives on in `fd`.
    }

    /// Reads ciphertext from the socket (or the leftover) into rustls; returns octets read from
    /// the socket, 0 at the end of the stream.
    async fn fill_tls(&mut self) -> io::Result<usize> {
        let mut got = self.ciphertext.len() - self.ciphertext_start;
        if got == 0 {
            self.ciphertext.resize(CIPHERTEXT_READ_OCTETS, 0);
            let n = self.socket.read(&mut self.ciphertext).await?;
            self.ciphertext.truncate(n);
            self.ciphertext_start = 0;
            if n == 0 {
                return Ok(0);
            }
            got = n;
        }
        let tls = self.tls.as_mut().expect("fill_tls runs with TLS");
        let mut pending = &self.ciphertext[self.ciphertext_start..];
        let before = pending.len();
        // rustls takes what fits in its buffers; the rest waits for the next call.
        match tls.read_tls(&mut pending) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Other => {}
            Err(e) => return Err(e),
        }
        self.ciphertext_start += before - pending.len();
        if self.ciphertext_start == self.ciphertext.len() {
            self.ciphertext.clear();
            self.ciphertext_start = 0;
        }
        if let Err(e) = tls.process_new_packets() {
            // Send the alert rustls prepared before giving up on the connection.
            let _ = self.flush_tls().await;
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
        Ok(got)
    }

    async fn flush_tls(&mut self) -> io::Result<()> {
        let Some(tls) = self.tls.as_mut() else {
            return Ok(());
        };
        let mut out = Vec::new();
        while tls.wants_write() {
            tls.write_tls(&mut out)?;
        }
        if !out.is_empty() {
            self.socket.write_all(&out).await?;
            self.socket.flush().await?;
        }
        Ok(())
    }
}

impl PortableConnection {
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Puts the connection on the calling shard's executor.
    pub fn resume(self) -> io::Result<Connection> {
        // SAFETY: the descriptor is an open, connected TCP socket owned by `self.fd`, whose
        // ownership moves into the stream.
        let socket = unsafe { TcpStream::from_raw_fd(self.fd.into_raw_fd()) };
        Ok(Connection {
            socket,
            tls: self.tls,
            ciphertext: self.ciphertext,
            ciphertext_start: 0,
            peer: self.peer,
            local: self.local,
        })
    }
}
