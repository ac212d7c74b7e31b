//! Bytes on the wire shared by the protocol clients: the stream type, a line reader with a
//! bounded buffer, SMTP-style reply parsing, and the error type of one operation.

use std::fmt;
use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest line accepted from a server, CRLF included. Replies are short and message lines
/// are at most 1000 octets (RFC 5322 §2.1.1); this leaves room for servers that are lax.
pub const LINE_OCTETS_MAX: usize = 64 * 1024;
const READ_BUFFER_OCTETS_INITIAL: usize = 16 * 1024;
/// Error samples quote the server; this much is enough to see why.
const QUOTED_OCTETS_MAX: usize = 200;

/// A connection after any TLS: plain TCP or TLS over TCP.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Why one operation failed, by who is at fault.
#[derive(Debug)]
pub enum OperationError {
    /// The network or TLS layer failed (connection refused, reset, handshake error).
    Network(io::Error),
    /// The server closed the connection.
    Closed,
    /// The operation took longer than the operation timeout.
    Timeout,
    /// The server answered, but not with the expected reply.
    Refused { step: String, reply: String },
    /// The server sent something that is not the protocol, or the answers do not add up.
    Malformed(String),
}

impl fmt::Display for OperationError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OperationError::Network(error) => write!(formatter, "network: {error}"),
            OperationError::Closed => formatter.write_str("server closed the connection"),
            OperationError::Timeout => formatter.write_str("timed out"),
            OperationError::Refused { step, reply } => write!(formatter, "{step}: {reply}"),
            OperationError::Malformed(what) => write!(formatter, "protocol: {what}"),
        }
    }
}

impl From<io::Error> for OperationError {
    fn from(error: io::Error) -> OperationError {
        OperationError::Network(error)
    }
}

/// Server text made safe to print: printable ASCII only, bounded.
pub fn quote(bytes: &[u8]) -> String {
    let mut text: String = bytes
        .iter()
        .take(QUOTED_OCTETS_MAX)
        .map(|&byte| {
            if byte.is_ascii_graphic() || byte == b' ' {
                byte as char
            } else if byte == b'\n' {
                '|'
            } else {
                '?'
            }
        })
        .collect();
    if bytes.len() > QUOTED_OCTETS_MAX {
        text.push('…');
    }
    text
}

pub async fn connect_tcp(host: &str, port: u16) -> Result<TcpStream, OperationError> {
    let stream = TcpStream::connect((host, port)).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

pub async fn send<S: AsyncWrite + Unpin + ?Sized>(
    stream: &mut S,
    bytes: &[u8],
) -> Result<(), OperationError> {
    stream.write_all(bytes).await?;
    stream.flush().await?;
    Ok(())
}

/// Reads CRLF lines from a stream through a buffer that grows to `LINE_OCTETS_MAX` at most.
/// The stream is passed to each call, so the same reader survives a STARTTLS upgrade.
#[derive(Debug)]
pub struct Reader {
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    /// The text of the last SMTP reply, lines joined by `\n`; reused between replies.
    reply_text: Vec<u8>,
}

impl Default for Reader {
    fn default() -> Self {
        Reader::new()
    }
}

impl Reader {
    pub fn new() -> Reader {
        Reader {
            buffer: vec![0; READ_BUFFER_OCTETS_INITIAL],
            start: 0,
            end: 0,
            reply_text: Vec::new(),
        }
    }

    /// True when nothing the server sent is waiting: required before a STARTTLS upgrade
    /// (RFC 3207 §5), since plaintext read before the handshake must not pass as protected.
    pub fn is_drained(&self) -> bool {
        self.start == self.end
    }

    /// The next line without its CRLF (a bare LF is accepted too).
    pub async fn line<S: AsyncRead + Unpin + ?Sized>(
        &mut self,
        stream: &mut S,
    ) -> Result<&[u8], OperationError> {
        loop {
            if let Some(found) = memchr::memchr(b'\n', &self.buffer[self.start..self.end]) {
                let line_start = self.start;
                let mut line_end = line_start + found;
                self.start = line_end + 1;
                if line_end > line_start && self.buffer[line_end - 1] == b'\r' {
                    line_end -= 1;
                }
                return Ok(&self.buffer[line_start..line_end]);
            }
            self.fill(stream).await?;
        }
    }

    async fn fill<S: AsyncRead + Unpin + ?Sized>(
        &mut self,
        stream: &mut S,
    ) -> Result<(), OperationError> {
        if self.start > 0 {
            self.buffer.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buffer.len() {
            if self.buffer.len() >= LINE_OCTETS_MAX {
                return Err(OperationError::Malformed(format!(
                    "line longer than {LINE_OCTETS_MAX} octets"
                )));
            }
            self.buffer
                .resize((self.buffer.len() * 2).min(LINE_OCTETS_MAX), 0);
        }
        let read = stream.read(&mut self.buffer[self.end..]).await?;
        if read == 0 {
            return Err(OperationError::Closed);
        }
        self.end += read;
        Ok(())
    }

    /// One SMTP/LMTP reply (RFC 5321 §4.2: `ddd-text` lines then `ddd text`). Returns the code;
    /// the text is in `reply_text`.
    pub async fn reply<S: AsyncRead + Unpin + ?Sized>(
        &mut self,
        stream: &mut S,
    ) -> Result<u16, OperationError> {
        let mut text = std::mem::take(&mut self.reply_text);
        text.clear();
        let result = loop {
            let line = match self.line(stream).await {
                Ok(line) => line,
                Err(error) => break Err(error),
            };
            let code = match parse_reply_code(line) {
                Some(code) => code,
                None => break Err(OperationError::Malformed(format!("reply {}", quote(line)))),
            };
            if !text.is_empty() {
                text.push(b'\n');
            }
            text.extend_from_slice(line.get(4..).unwrap_or_default());
            if line.get(3) != Some(&b'-') {
                break Ok(code);
            }
        };
        self.reply_text = text;
        result
    }

    /// The text of the last reply, every line (without codes), joined by `\n`.
    pub fn reply_text(&self) -> &[u8] {
        &self.reply_text
    }

    /// The last reply as `code text`, quoted for an error sample.
    pub fn describe(&self, code: u16) -> String {
        format!("{code} {}", quote(&self.reply_text))
    }
}

fn parse_reply_code(line: &[u8]) -> Option<u16> {
    let digits = line.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) || !matches!(line.get(3), None | Some(b' ' | b'-')) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0, |code, &digit| code * 10 + u16::from(digit - b'0')),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_multi_line_replies_and_lines_across_reads() {
        let (mut client, mut server) = tokio::io::duplex(8);
        let writer = tokio::spawn(async move {
            server
                .write_all(b"250-mail.example.test\r\n250-PIPELINING\r\n250 CHUNKING\r\n+OK x\n")
                .await
                .unwrap();
        });
        let mut reader = Reader::new();
        assert_eq!(reader.reply(&mut client).await.unwrap(), 250);
        assert_eq!(
            reader.reply_text(),
            b"mail.example.test\nPIPELINING\nCHUNKING"
        );
        assert_eq!(reader.line(&mut client).await.unwrap(), b"+OK x");
        writer.await.unwrap();
        assert!(matches!(
            reader.line(&mut client).await,
            Err(OperationError::Closed)
        ));
    }

    #[tokio::test]
    async fn rejects_garbage_and_endless_lines() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        server.write_all(b"hello\r\n").await.unwrap();
        let mut reader = Reader::new();
        assert!(matches!(
            reader.reply(&mut client).await,
            Err(OperationError::Malformed(_))
        ));
        let writer = tokio::spawn(async move {
            let junk = vec![b'a'; LINE_OCTETS_MAX + 10];
            let _ = server.write_all(&junk).await;
        });
        assert!(matches!(
            reader.line(&mut client).await,
            Err(OperationError::Malformed(_))
        ));
        drop(writer);
    }

    #[test]
    fn quotes_server_text_safely() {
        assert_eq!(quote(b"550 no\r\x1b[31m"), "550 no??[31m");
    }
}
