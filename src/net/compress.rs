//! DEFLATE compression of a connection (IMAP COMPRESS=DEFLATE, RFC 4978): raw DEFLATE (RFC
//! 1951, no zlib header) between the protocol and TLS — compressed, then encrypted.
//!
//! Both directions use fixed buffers. Reads inflate at most the caller's buffer at a time, so a
//! "compression bomb" (a few kilobytes that inflate to gigabytes) comes out in buffer-sized
//! pieces that the protocol's framer bounds like any other input; nothing here grows. Writes
//! deflate through a fixed output buffer and end with a sync flush (RFC 1951 empty stored
//! block), so every response reaches the client whole.

use flate2::{Compress, Decompress, FlushCompress, FlushDecompress, Status};
use std::io;

/// The deflate level. Level 1 is miniz_oxide's fast path: on 1.3 MB of IMAP responses (FETCH of
/// ENVELOPE and BODYSTRUCTURE, message text, base64), sync-flushed per response, it compressed
/// to 25.1% at 333 MB/s; levels 2–5 gave 24.4–23.3% at 103–80 MB/s and level 6 23.3% at
/// 62 MB/s. RFC 4978 §4 suggests the least CPU-intensive setting for responses.
pub const DEFLATE_LEVEL: u32 = 1;
/// Compressed input read from the transport at once.
pub const COMPRESSED_INPUT_OCTETS: usize = 16 * 1024;
/// Compressed output handed to the transport at once.
pub const COMPRESSED_OUTPUT_OCTETS: usize = 16 * 1024;

/// What one inflate step gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inflated {
    /// Octets written to the caller's buffer (never 0).
    Octets(usize),
    /// Everything received is inflated: read more compressed input.
    NeedInput,
    /// The peer ended its DEFLATE stream (a final block): the end of its input.
    End,
}

/// What one deflate step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deflated {
    /// Octets of the given input taken.
    pub taken: usize,
    /// True once all the input is taken and sync-flushed into `output`.
    pub flushed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InputState {
    Open,
    Ended,
    Corrupt,
}

/// The compression state of one connection, both directions.
pub struct DeflateLayer {
    deflater: Compress,
    inflater: Decompress,
    /// Compressed input received and not yet taken by the inflater: `input[start..end]`.
    input: Box<[u8]>,
    input_start: usize,
    input_end: usize,
    input_state: InputState,
    /// Compressed output waiting to be sent: `output[..output_octets]`.
    output: Box<[u8]>,
    output_octets: usize,
    /// Sent (compressed) to the peer when its stream turns out corrupt.
    farewell: Option<&'static [u8]>,
}

impl DeflateLayer {
    /// `pipelined`: compressed octets the protocol already read (sent right after the command
    /// that started compression); they are inflated before anything else.
    pub fn new(pipelined: &[u8], farewell: &'static [u8]) -> Self {
        let capacity = COMPRESSED_INPUT_OCTETS.max(pipelined.len());
        let mut input = vec![0; capacity].into_boxed_slice();
        input[..pipelined.len()].copy_from_slice(pipelined);
        DeflateLayer {
            deflater: Compress::new(flate2::Compression::new(DEFLATE_LEVEL), false),
            inflater: Decompress::new(false),
            input,
            input_start: 0,
            input_end: pipelined.len(),
            input_state: InputState::Open,
            output: vec![0; COMPRESSED_OUTPUT_OCTETS].into_boxed_slice(),
            output_octets: 0,
            farewell: Some(farewell),
        }
    }

    /// Inflates into `buffer`, at most its length. An error means the peer's stream is corrupt;
    /// every later call fails too.
    pub fn inflate(&mut self, buffer: &mut [u8]) -> io::Result<Inflated> {
        assert!(!buffer.is_empty(), "inflate into an empty buffer");
        loop {
            match self.input_state {
                InputState::Open => {}
                InputState::Ended => return Ok(Inflated::End),
                InputState::Corrupt => return Err(corrupt()),
            }
            let pending = &self.input[self.input_start..self.input_end];
            let (in_before, out_before) = (self.inflater.total_in(), self.inflater.total_out());
            let status = self
                .inflater
                .decompress(pending, buffer, FlushDecompress::None);
            let taken = (self.inflater.total_in() - in_before) as usize;
            let written = (self.inflater.total_out() - out_before) as usize;
            self.input_start += taken;
            assert!(self.input_start <= self.input_end && written <= buffer.len());
            match status {
                Ok(Status::Ok | Status::BufError) => {}
                Ok(Status::StreamEnd) => self.input_state = InputState::Ended,
                Err(_) => {
                    self.input_state = InputState::Corrupt;
                    return Err(corrupt());
                }
            }
            if written > 0 {
                return Ok(Inflated::Octets(written));
            }
            if taken == 0 && self.input_state == InputState::Open {
                return Ok(Inflated::NeedInput);
            }
        }
    }

    /// Room for more compressed input (never empty); `input_received` says how much came.
    pub fn input_space(&mut self) -> &mut [u8] {
        if self.input_start > 0 {
            self.input.copy_within(self.input_start..self.input_end, 0);
            self.input_end -= self.input_start;
            self.input_start = 0;
        }
        if self.input_end == self.input.len() {
            // The inflater takes all it is given while it has room to write, so a full buffer
            // here means it stopped taking input: it is corrupt or at its end.
            self.input_state = InputState::Corrupt;
            self.input_end = 0;
        }
        &mut self.input[self.input_end..]
    }

    pub fn input_received(&mut self, octets: usize) {
        assert!(
            octets <= self.input.len() - self.input_end,
            "received beyond the space"
        );
        self.input_end += octets;
    }

    /// The farewell, once: the caller sends it before failing the read.
    pub fn take_farewell(&mut self) -> Option<&'static [u8]> {
        self.farewell.take()
    }

    /// Deflates `bytes` into the output buffer, ending with a sync flush once all of them are
    /// taken. Send `output()` and call `output_sent()` after every step; repeat with the rest
    /// until `flushed`.
    pub fn deflate(&mut self, bytes: &[u8]) -> io::Result<Deflated> {
        if self.output_octets != 0 {
            // The previous write was abandoned halfway: the stream the peer has is unknown.
            return Err(io::Error::other(
                "an earlier compressed write was abandoned",
            ));
        }
        let (in_before, out_before) = (self.deflater.total_in(), self.deflater.total_out());
        // FlushCompress::Sync only flushes once all of `bytes` is taken.
        self.deflater
            .compress(bytes, &mut self.output, FlushCompress::Sync)
            .map_err(io::Error::other)?;
        let taken = (self.deflater.total_in() - in_before) as usize;
        let written = (self.deflater.total_out() - out_before) as usize;
        assert!(taken <= bytes.len() && written <= self.output.len());
        self.output_octets = written;
        Ok(Deflated {
            taken,
            // zlib's rule: the flush is complete when the output did not fill up.
            flushed: taken == bytes.len() && written < self.output.len(),
        })
    }

    pub fn output(&self) -> &[u8] {
        &self.output[..self.output_octets]
    }

    pub fn output_sent(&mut self) {
        self.output_octets = 0;
    }
}

fn corrupt() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "corrupt compressed input")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Random;

    /// The input buffer of an IMAP session, the size the protocol reads into.
    const READ_OCTETS: usize = 8 * 1024;
    const FAREWELL: &[u8] = b"* BYE corrupt\r\n";

    /// What a client sends: raw DEFLATE with a sync flush after each piece.
    fn client_deflate(deflater: &mut Compress, piece: &[u8], flush: FlushCompress) -> Vec<u8> {
        let mut out = Vec::with_capacity(piece.len() + 1024);
        let mut rest = piece;
        loop {
            out.reserve(64 * 1024);
            let before = deflater.total_in();
            deflater.compress_vec(rest, &mut out, flush).unwrap();
            rest = &rest[(deflater.total_in() - before) as usize..];
            if rest.is_empty() && out.len() < out.capacity() {
                return out;
            }
        }
    }

    /// What a client reads: everything `compressed` inflates to.
    fn client_inflate(inflater: &mut Decompress, compressed: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rest = compressed;
        loop {
            out.reserve(64 * 1024);
            let before = inflater.total_in();
            inflater
                .decompress_vec(rest, &mut out, FlushDecompress::Sync)
                .unwrap();
            rest = &rest[(inflater.total_in() - before) as usize..];
            if rest.is_empty() && out.len() < out.capacity() {
                return out;
            }
        }
    }

    /// Feeds `compressed` in pieces of random size and inflates everything it can, in reads of
    /// `READ_OCTETS`, checking that no buffer grows.
    fn server_inflate(layer: &mut DeflateLayer, compressed: &[u8], random: &mut Random) -> Vec<u8> {
        let (input_octets, output_octets) = (layer.input.len(), layer.output.len());
        let mut buffer = [0u8; READ_OCTETS];
        let mut inflated = Vec::new();
        let mut rest = compressed;
        loop {
            match layer.inflate(&mut buffer).unwrap() {
                Inflated::Octets(n) => inflated.extend_from_slice(&buffer[..n]),
                Inflated::End => panic!("the client did not end its stream"),
                Inflated::NeedInput if rest.is_empty() => return inflated,
                Inflated::NeedInput => {
                    let space = layer.input_space();
                    let n = space.len().min(rest.len()).min(1 + random.below(3000));
                    space[..n].copy_from_slice(&rest[..n]);
                    layer.input_received(n);
                    rest = &rest[n..];
                }
            }
            assert_eq!(layer.input.len(), input_octets);
            assert_eq!(layer.output.len(), output_octets);
        }
    }

    /// Deflates one response the way `Connection::write_all` does.
    fn server_deflate(layer: &mut DeflateLayer, response: &[u8]) -> Vec<u8> {
        let mut sent = Vec::new();
        let mut rest = response;
        loop {
            let step = layer.deflate(rest).unwrap();
            rest = &rest[step.taken..];
            sent.extend_from_slice(layer.output());
            layer.output_sent();
            if step.flushed {
                assert!(rest.is_empty());
                return sent;
            }
        }
    }

    fn text(random: &mut Random, octets: usize) -> Vec<u8> {
        let words: [&[u8]; 6] = [
            b"FETCH ",
            b"(FLAGS (\\Seen)) ",
            b"UID 17 ",
            b"\r\n",
            b"x",
            b"42 ",
        ];
        let mut out = Vec::with_capacity(octets + 32);
        while out.len() < octets {
            if random.below(8) == 0 {
                out.push(random.next() as u8);
            } else {
                out.extend_from_slice(words[random.below(words.len())]);
            }
        }
        out.truncate(octets);
        out
    }

    #[test]
    fn commands_and_responses_round_trip() {
        let mut random = Random(0x4978);
        let mut layer = DeflateLayer::new(b"", FAREWELL);
        let mut client_out = Compress::new(flate2::Compression::new(6), false);
        let mut client_in = Decompress::new(false);
        for size in [1, 10, 100, 5_000, READ_OCTETS, 70_000, 300_000] {
            let command = text(&mut random, size);
            let compressed = client_deflate(&mut client_out, &command, FlushCompress::Sync);
            assert_eq!(
                server_inflate(&mut layer, &compressed, &mut random),
                command
            );
            let response = text(&mut random, size);
            let sent = server_deflate(&mut layer, &response);
            assert_eq!(client_inflate(&mut client_in, &sent), response);
        }
    }

    #[test]
    fn every_write_ends_with_a_sync_flush() {
        let mut random = Random(7);
        let mut layer = DeflateLayer::new(b"", FAREWELL);
        let mut client = Decompress::new(false);
        // Larger than the output buffer too, so a response takes several steps.
        for size in [
            0,
            1,
            30,
            COMPRESSED_OUTPUT_OCTETS - 1,
            4 * COMPRESSED_OUTPUT_OCTETS,
        ] {
            let response = text(&mut random, size);
            let sent = server_deflate(&mut layer, &response);
            // RFC 1951 §3.2.4: a sync flush ends with an empty stored block, 00 00 FF FF.
            assert!(sent.ends_with(&[0, 0, 0xff, 0xff]), "{size}");
            // The client has all of the response from what was sent, no byte held back.
            assert_eq!(client_inflate(&mut client, &sent), response);
            assert!(layer.output().is_empty());
        }
    }

    #[test]
    fn a_bomb_inflates_in_fixed_steps() {
        const BOMB_OCTETS: usize = 10 * 1024 * 1024;
        let zeros = vec![0u8; BOMB_OCTETS];
        let mut bomber = Compress::new(flate2::Compression::new(9), false);
        let bomb = client_deflate(&mut bomber, &zeros, FlushCompress::Sync);
        drop(zeros);
        assert!(bomb.len() < 12 * 1024, "{}", bomb.len());
        let mut layer = DeflateLayer::new(b"", FAREWELL);
        let mut buffer = [0u8; READ_OCTETS];
        let (mut fed, mut inflated, mut steps) = (0, 0, 0);
        loop {
            match layer.inflate(&mut buffer).unwrap() {
                Inflated::Octets(n) => {
                    assert!(n <= READ_OCTETS);
                    assert!(buffer[..n].iter().all(|&b| b == 0));
                    inflated += n;
                    steps += 1;
                }
                Inflated::NeedInput if fed == bomb.len() => break,
                Inflated::NeedInput => {
                    let space = layer.input_space();
                    let n = space.len().min(bomb.len() - fed);
                    space[..n].copy_from_slice(&bomb[fed..fed + n]);
                    layer.input_received(n);
                    fed += n;
                }
                Inflated::End => unreachable!(),
            }
            // Nothing grows: the buffers are the size they were made.
            assert_eq!(layer.input.len(), COMPRESSED_INPUT_OCTETS);
            assert_eq!(layer.output.len(), COMPRESSED_OUTPUT_OCTETS);
        }
        assert_eq!(inflated, BOMB_OCTETS);
        assert!(steps >= BOMB_OCTETS / READ_OCTETS);
    }

    #[test]
    fn pipelined_input_is_inflated_first() {
        let mut client = Compress::new(flate2::Compression::new(1), false);
        let first = client_deflate(&mut client, b"a SELECT INBOX\r\n", FlushCompress::Sync);
        let second = client_deflate(&mut client, b"b NOOP\r\n", FlushCompress::Sync);
        // Larger than the input buffer: it must fit anyway.
        let mut pipelined = first.clone();
        pipelined.extend_from_slice(&vec![0u8; COMPRESSED_INPUT_OCTETS]);
        assert_eq!(
            DeflateLayer::new(&pipelined, FAREWELL).input.len(),
            pipelined.len()
        );
        let mut layer = DeflateLayer::new(&first, FAREWELL);
        let inflated = server_inflate(&mut layer, &second, &mut Random(1));
        assert_eq!(inflated, b"a SELECT INBOX\r\nb NOOP\r\n");
    }

    #[test]
    fn corrupt_input_fails_for_good() {
        // BTYPE 11 is reserved (RFC 1951 §3.2.3): an error at the first block header.
        let mut layer = DeflateLayer::new(&[0xff, 0xff, 0xff], FAREWELL);
        let mut buffer = [0u8; 64];
        let error = layer.inflate(&mut buffer).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert_eq!(layer.take_farewell(), Some(FAREWELL));
        assert_eq!(layer.take_farewell(), None);
        assert!(layer.inflate(&mut buffer).is_err());
        // Writing still works: the farewell can be sent compressed.
        let sent = server_deflate(&mut layer, FAREWELL);
        assert_eq!(client_inflate(&mut Decompress::new(false), &sent), FAREWELL);
    }

    #[test]
    fn a_final_block_ends_the_input() {
        let mut client = Compress::new(flate2::Compression::new(1), false);
        let mut compressed = client_deflate(&mut client, b"a NOOP\r\n", FlushCompress::Finish);
        compressed.extend_from_slice(b"trailing");
        let mut layer = DeflateLayer::new(&compressed, FAREWELL);
        let mut buffer = [0u8; 64];
        assert_eq!(layer.inflate(&mut buffer).unwrap(), Inflated::Octets(8));
        assert_eq!(&buffer[..8], b"a NOOP\r\n");
        assert_eq!(layer.inflate(&mut buffer).unwrap(), Inflated::End);
    }

    #[test]
    fn an_abandoned_write_is_an_error() {
        let mut layer = DeflateLayer::new(b"", FAREWELL);
        layer.deflate(b"* OK\r\n").unwrap();
        assert!(layer.deflate(b"* OK\r\n").is_err());
    }

    /// Runs `server` on a glommio executor with a connection from `client`, a thread with a
    /// plain blocking socket.
    fn over_a_socket(
        client: impl FnOnce(std::net::TcpStream) + Send + 'static,
        server: impl AsyncFnOnce(super::super::Connection) + 'static,
    ) {
        let executor = glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
            .io_memory(1 << 20)
            .make()
            .unwrap();
        executor.run(async move {
            let listener = glommio::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let address = listener.local_addr().unwrap();
            let client = std::thread::spawn(move || {
                let socket = std::net::TcpStream::connect(address).unwrap();
                socket
                    .set_read_timeout(Some(std::time::Duration::from_secs(10)))
                    .unwrap();
                client(socket)
            });
            let socket = listener.accept().await.unwrap();
            server(super::super::Connection::new(socket).unwrap()).await;
            client.join().unwrap();
        });
    }

    /// Reads from a blocking socket until `inflater` gives `expected.len()` octets.
    fn read_inflated(
        socket: &mut std::net::TcpStream,
        inflater: &mut Decompress,
        expected: usize,
    ) -> Vec<u8> {
        use std::io::Read;
        let mut got = Vec::new();
        let mut compressed = [0u8; 4096];
        while got.len() < expected {
            let n = socket.read(&mut compressed).unwrap();
            assert!(n > 0, "closed after {} octets", got.len());
            got.extend_from_slice(&client_inflate(inflater, &compressed[..n]));
        }
        got
    }

    #[test]
    fn a_compressed_connection_round_trips_and_stays_on_its_shard() {
        let big = text(&mut Random(99), 200_000);
        let expected = big.clone();
        over_a_socket(
            move |mut socket| {
                use std::io::Write;
                let mut deflater = Compress::new(flate2::Compression::new(6), false);
                let mut inflater = Decompress::new(false);
                // Plaintext, then compressed input pipelined right behind it.
                let mut first = b"c COMPRESS DEFLATE\r\n".to_vec();
                first.extend(client_deflate(
                    &mut deflater,
                    b"a NOOP\r\n",
                    FlushCompress::Sync,
                ));
                socket.write_all(&first).unwrap();
                let one = read_inflated(&mut socket, &mut inflater, 10);
                assert_eq!(one, b"* OK one\r\n");
                let second = client_deflate(&mut deflater, b"b NOOP\r\n", FlushCompress::Sync);
                socket.write_all(&second).unwrap();
                let two = read_inflated(&mut socket, &mut inflater, expected.len());
                assert_eq!(two, expected);
            },
            async move |mut connection| {
                let mut buffer = [0u8; 64];
                let mut plain = Vec::new();
                let line_end = loop {
                    let n = connection.read(&mut buffer).await.unwrap();
                    plain.extend_from_slice(&buffer[..n]);
                    if let Some(end) = memchr::memchr(b'\n', &plain) {
                        break end + 1;
                    }
                };
                assert_eq!(&plain[..line_end], b"c COMPRESS DEFLATE\r\n");
                connection.start_compression(&plain[line_end..], b"* BYE\r\n");
                let mut commands = Vec::new();
                while commands.len() < 8 {
                    let n = connection.read(&mut buffer).await.unwrap();
                    commands.extend_from_slice(&buffer[..n]);
                }
                assert_eq!(commands, b"a NOOP\r\n");
                connection.write_all(b"* OK one\r\n").await.unwrap();
                while commands.len() < 16 {
                    let n = connection.read(&mut buffer).await.unwrap();
                    commands.extend_from_slice(&buffer[..n]);
                }
                assert_eq!(commands, b"a NOOP\r\nb NOOP\r\n");
                connection.write_all(&big).await.unwrap();
                // RFC 4978 sessions compress after login, when they have moved already.
                assert!(connection.is_compressed());
                assert!(connection.into_portable().is_err());
            },
        );
    }

    #[test]
    fn corrupt_compressed_input_gets_the_farewell() {
        over_a_socket(
            |mut socket| {
                use std::io::Write;
                socket.write_all(&[0xff; 8]).unwrap();
                let mut inflater = Decompress::new(false);
                assert_eq!(read_inflated(&mut socket, &mut inflater, 7), b"* BYE\r\n");
            },
            async |mut connection| {
                connection.start_compression(b"", b"* BYE\r\n");
                let mut buffer = [0u8; 64];
                let error = connection.read(&mut buffer).await.unwrap_err();
                assert_eq!(error.kind(), io::ErrorKind::InvalidData);
                assert!(connection.read(&mut buffer).await.is_err());
                connection.close().await;
            },
        );
    }
}
