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
    /// The longest line accepted, CRLF included (`LINE_OCTETS_MAX` unless made otherwise).
    line_octets_max: usize,
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
        Reader::with_line_octets_max(LINE_OCTETS_MAX)
    }

    /// A reader for a protocol whose lines can be longer than mail lines (an IMAP `* SEARCH`
    /// answer lists every match on one line).
    pub fn with_line_octets_max(line_octets_max: usize) -> Reader {
        assert!(line_octets_max >= READ_BUFFER_OCTETS_INITIAL);
        Reader {
            buffer: vec![0; READ_BUFFER_OCTETS_INITIAL],
            start: 0,
            end: 0,
            line_octets_max,
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
            let limit = self.line_octets_max;
            if self.buffer.len() >= limit {
                return Err(OperationError::Malformed(format!(
                    "line longer than {limit} octets"
                )));
            }
            self.buffer.resize((self.buffer.len() * 2).min(limit), 0);
        }
        let read = stream.read(&mut self.buffer[self.end..]).await?;
        if read == 0 {
            return Err(OperationError::Closed);
        }
        self.end += read;
        Ok(())
    }

    /// Reads and discards exactly `octets` octets (an IMAP literal), from what is buffered first,
    /// then from the stream through the same buffer.
    pub async fn skip<S: AsyncRead + Unpin + ?Sized>(
        &mut self,
        stream: &mut S,
        octets: u64,
    ) -> Result<(), OperationError> {
        self.consume(stream, octets, |_| {}).await
    }

    /// As `skip`, but appends the octets to `out` (an IMAP literal whose content is checked).
    pub async fn read_into<S: AsyncRead + Unpin + ?Sized>(
        &mut self,
        stream: &mut S,
        octets: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), OperationError> {
        self.consume(stream, octets, |piece| out.extend_from_slice(piece))
            .await
    }

    /// Hands exactly `octets` octets to `sink`, buffered ones first.
    async fn consume<S: AsyncRead + Unpin + ?Sized>(
        &mut self,
        stream: &mut S,
        octets: u64,
        mut sink: impl FnMut(&[u8]),
    ) -> Result<(), OperationError> {
        let mut left = octets;
        loop {
            let buffered = (self.end - self.start) as u64;
            let taken = buffered.min(left) as usize;
            sink(&self.buffer[self.start..self.start + taken]);
            self.start += taken;
            left -= taken as u64;
            if left == 0 {
                return Ok(());
            }
            self.start = 0;
            self.end = 0;
            let read = stream.read(&mut self.buffer).await?;
            if read == 0 {
                return Err(OperationError::Closed);
            }
            self.end = read;
        }
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

    #[tokio::test]
    async fn skips_literals_across_reads_and_allows_long_lines_when_asked() {
        let (mut client, mut server) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            let mut bytes = b"* 1 FETCH (BODY[] {100000}\r\n".to_vec();
            bytes.extend(std::iter::repeat_n(b'x', 100_000));
            bytes.extend_from_slice(b")\r\n* SEARCH");
            bytes.extend_from_slice(&b" 1".repeat(50_000));
            bytes.extend_from_slice(b"\r\n");
            server.write_all(&bytes).await.unwrap();
        });
        let mut reader = Reader::with_line_octets_max(1 << 20);
        assert_eq!(
            reader.line(&mut client).await.unwrap(),
            b"* 1 FETCH (BODY[] {100000}"
        );
        reader.skip(&mut client, 100_000).await.unwrap();
        assert_eq!(reader.line(&mut client).await.unwrap(), b")");
        assert_eq!(reader.line(&mut client).await.unwrap().len(), 8 + 100_000);
        writer.await.unwrap();
        assert!(matches!(
            reader.skip(&mut client, 1).await,
            Err(OperationError::Closed)
        ));
    }

    #[tokio::test]
    async fn reads_literals_into_a_buffer_across_reads() {
        let (mut client, mut server) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            let mut bytes = b"* 1 FETCH (BODY[] {1000}\r\n".to_vec();
            bytes.extend((0..1000u32).map(|index| (index % 251) as u8));
            bytes.extend_from_slice(b")\r\n");
            server.write_all(&bytes).await.unwrap();
        });
        let mut reader = Reader::new();
        reader.line(&mut client).await.unwrap();
        let mut literal = b"kept".to_vec();
        reader
            .read_into(&mut client, 1000, &mut literal)
            .await
            .unwrap();
        assert_eq!((literal.len(), &literal[..4]), (1004, &b"kept"[..]));
        assert!(
            literal[4..]
                .iter()
                .enumerate()
                .all(|(index, &byte)| byte == (index % 251) as u8)
        );
        assert_eq!(reader.line(&mut client).await.unwrap(), b")");
        writer.await.unwrap();
    }

    #[test]
    fn quotes_server_text_safely() {
        assert_eq!(quote(b"550 no\r\x1b[31m"), "550 no??[31m");
    }
}
