//! COMPRESS=DEFLATE (RFC 4978): the connection compresses in both directions from the CRLF of
//! the tagged OK on (`Connection::start_compression`, `src/net/compress.rs`).
//!
//! Only after login: a connection moves to its owner shard at login and a compressed one
//! cannot move, so compression is never on when a session changes shard.

use super::driver::{Driver, Next, SessionState};

/// Sent, compressed, before closing a connection whose compressed input is corrupt.
const CORRUPT_INPUT_BYE: &[u8] = b"* BYE Corrupt compressed data\r\n";

impl Driver {
    pub(super) async fn compress(&mut self, tag: &str, algorithm: &str) -> Next {
        // RFC 4978 §5: COMPRESS is a command-auth, valid when authenticated or selected.
        if !matches!(
            self.state,
            SessionState::Authenticated(_) | SessionState::Selected(..)
        ) {
            self.bad_in_state(tag, "Log in first");
            return Next::Continue;
        }
        if self.connection.is_compressed() {
            // RFC 4978 §3: "BAD ... COMPRESS already active" (NO [COMPRESSIONACTIVE] is for
            // compression by another layer, such as TLS, which is never negotiated here).
            self.bad_in_state(tag, "DEFLATE is active already");
            return Next::Continue;
        }
        if !algorithm.eq_ignore_ascii_case("DEFLATE") {
            self.bad_in_state(
                tag,
                "Unknown compression algorithm, only DEFLATE is supported",
            );
            return Next::Continue;
        }
        self.ok(tag, "DEFLATE active");
        // The OK itself goes out uncompressed, with everything answered before it.
        if self.flush().await.is_err() {
            return Next::Close;
        }
        // RFC 4978 §3: compression starts right after the OK's CRLF, both ways. What the client
        // sent after the command is compressed already: the inflater takes it first.
        assert!(
            self.framer.is_idle(),
            "the framer holds nothing after a whole command"
        );
        self.connection
            .start_compression(self.input.unread(), CORRUPT_INPUT_BYE);
        self.input.clear();
        Next::Continue
    }
}
