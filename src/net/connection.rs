//! A client connection on a shard: a glommio TCP socket, optionally with a rustls server session
//! driven directly (no adapter), so that the whole connection — socket and TLS state — can be
//! handed to another shard (`into_portable` / `resume`). A protocol may turn on DEFLATE
//! compression (IMAP COMPRESS, RFC 4978) between itself and TLS; a compressed connection stays
//! on its shard.

use rustls::ServerConnection;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use super::compress::{DeflateLayer, Inflated};
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
    /// DEFLATE in both directions, once the protocol turned it on (`start_compression`).
    compression: Option<Box<DeflateLayer>>,
}

/// Where decrypted input goes.
enum Sink<'a> {
    Caller(&'a mut [u8]),
    /// The compression layer's input buffer, to be inflated.
    Inflater,
}

/// What is sent.
#[derive(Clone, Copy)]
enum Source<'a> {
    Caller(&'a [u8]),
    /// The compression layer's output buffer.
    Deflater,
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
            compression: None,
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

    pub fn is_compressed(&self) -> bool {
        self.compression.is_some()
    }

    /// Turns on DEFLATE (RFC 1951, raw) in both directions, from the next read and write on.
    /// `pipelined` is what the protocol read after the command that turned it on: compressed
    /// already, it is inflated before anything else. `farewell` is sent, compressed, when the
    /// peer's compressed stream turns out corrupt, before the read fails.
    pub fn start_compression(&mut self, pipelined: &[u8], farewell: &'static [u8]) {
        assert!(self.compression.is_none(), "compression is started once");
        self.compression = Some(Box::new(DeflateLayer::new(pipelined, farewell)));
    }

    /// Reads plaintext (inflated, when compressed); `Ok(0)` is the end of the stream. At most
    /// `buffer.len()` octets are inflated per call, so compressed input never takes more memory
    /// than the fixed buffers. Cancel-safe: no input is lost if the future is dropped.
    pub async fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if self.compression.is_none() {
            return self.read_decrypted(Sink::Caller(buffer)).await;
        }
        loop {
            let compression = self.compression.as_deref_mut().expect("checked above");
            match compression.inflate(buffer) {
                Ok(Inflated::Octets(n)) => return Ok(n),
                Ok(Inflated::End) => return Ok(0),
                Ok(Inflated::NeedInput) => {}
                Err(error) => {
                    if let Some(farewell) = compression.take_farewell() {
                        let _ = self.write_all(farewell).await;
                    }
                    return Err(error);
                }
            }
            let n = self.read_decrypted(Sink::Inflater).await?;
            if n == 0 {
                return Ok(0);
            }
            let compression = self.compression.as_deref_mut().expect("checked above");
            compression.input_received(n);
        }
    }

    /// Reads what TLS decrypted (or the socket's bytes, without TLS) into `sink`.
    async fn read_decrypted(&mut self, mut sink: Sink<'_>) -> io::Result<usize> {
        loop {
            let buffer: &mut [u8] = match &mut sink {
                Sink::Caller(buffer) => buffer,
                Sink::Inflater => self
                    .compression
                    .as_deref_mut()
                    .expect("compression is on")
                    .input_space(),
            };
            let Some(tls) = self.tls.as_mut() else {
                return self.socket.read(buffer).await;
            };
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

    /// Writes all of `bytes` (deflated and sync-flushed, when compressed, so the peer can
    /// inflate all of it at once) and flushes them to the socket.
    pub async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.compression.is_none() {
            return self.write_encrypted(Source::Caller(bytes)).await;
        }
        let mut rest = bytes;
        loop {
            let compression = self.compression.as_deref_mut().expect("checked above");
            let step = compression.deflate(rest)?;
            rest = &rest[step.taken..];
            self.write_encrypted(Source::Deflater).await?;
            let compression = self.compression.as_deref_mut().expect("checked above");
            compression.output_sent();
            if step.flushed {
                return Ok(());
            }
        }
    }

    /// Encrypts (with TLS) and sends all of `source`.
    async fn write_encrypted(&mut self, source: Source<'_>) -> io::Result<()> {
        let mut written = 0;
        loop {
            let bytes = match source {
                Source::Caller(bytes) => bytes,
                Source::Deflater => self
                    .compression
                    .as_deref()
                    .expect("compression is on")
                    .output(),
            };
            let rest = &bytes[written..];
            let Some(tls) = self.tls.as_mut() else {
                self.socket.write_all(rest).await?;
                return self.socket.flush().await;
            };
            if rest.is_empty() {
                return Ok(());
            }
            // rustls buffers at most 64 KiB of plaintext: hand it what it takes, send that,
            // and go on (a RETR reply or a LIST can be far larger).
            written += tls.writer().write(rest)?;
            self.flush_tls().await?;
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
    /// A compressed connection cannot move (an error): its DEFLATE state stays here. IMAP turns
    /// compression on only after login, and moves a connection right at login, so none does.
    pub fn into_portable(self) -> io::Result<PortableConnection> {
        if self.compression.is_some() {
            return Err(io::Error::other(
                "a compressed connection stays on its shard",
            ));
        }
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
            // Until the read completes the buffer holds nothing: a read cancelled while it
            // waits (IDLE races reads against mailbox changes) must not leave zeros behind
            // that the next call would take for ciphertext.
            self.ciphertext_start = self.ciphertext.len();
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
            compression: None,
        })
    }
}
