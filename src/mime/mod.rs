//! MIME analysis at ingest: one streaming pass over a message records its header length, part
//! tree with byte offsets, and the data IMAP serves as ENVELOPE and BODYSTRUCTURE.
//!
//! Messages arrive in chunks (SMTP DATA, LMTP, IMAP APPEND) and may be 50 MiB; they are never
//! whole in memory. An [`Analyzer`] takes the chunks as they are written to the log, and its
//! [`Analysis`] is encoded into a small versioned blob stored beside the message (a few hundred
//! octets, never more than [`limits::ENCODED_OCTETS_MAX`]). At FETCH time the blob is decoded
//! and ENVELOPE, BODY and BODYSTRUCTURE are rendered from it, and `BODY[section]` resolves to
//! byte ranges of the stored message, without reading the message again. We do not use the
//! mail-parser crate: it parses a message held whole in memory, which this design rules out.
//!
//! - `scanner`: the streaming pass ([`Analyzer`]); `header`, `params`, `address`, `date`: the
//!   header field readers; `transfer`: base64 and quoted-printable decoders shared with FETCH
//!   BINARY; `encode`: the blob; `render`: IMAP syntax; `section`: part numbers to ranges.
//! - Header values are kept raw (RFC 3501 §7.4.2: encoded words are not decoded), unfolded
//!   (RFC 5322 §2.2.3). Strings are rendered quoted when printable ASCII, otherwise as
//!   literals, so 8-bit headers pass byte for byte.
//! - BODYSTRUCTURE gives media types, parameter names and encodings as written. Without a
//!   (valid) Content-Type a part is `"TEXT" "PLAIN" ("CHARSET" "US-ASCII")` (RFC 2045 §5.2),
//!   or `"MESSAGE" "RFC822"` inside multipart/digest (RFC 2046 §5.1.5); a Content-Type without
//!   parameters renders NIL. RFC 2231 sections are joined into one parameter (`name*` with
//!   `charset'language'` when any section is encoded). The body MD5 is the Content-MD5 value
//!   (RFC 1864), usually NIL.
//!
//! # Limits
//!
//! Memory and blob size are bounded whatever the input ([`MimeLimits`]). A message over any
//! limit is *served as a single part*: its tree is dropped and the message is one leaf whose
//! body is everything after its header. The leaf has the declared type when the message
//! header was read and declared a non-composite type; otherwise (a multipart or message/rfc822
//! message, or a header cut short by a limit) it is application/octet-stream with the declared
//! parameters. Its envelope comes from the header fields read. [`Analysis::limit_exceeded`]
//! says which limit.
//!
//! # Malformed structure
//!
//! - Boundary lines match exactly (`--`, the boundary, an optional `--`, then only white
//!   space: RFC 2046 §5.1.1), innermost multipart first, so an inner boundary that is a prefix
//!   of an outer one does not end the outer multipart. An outer boundary closes every part
//!   inside it.
//! - A missing close delimiter ends the parts at the enclosing boundary or the end of the
//!   message; preamble and epilogue are in the multipart's body but in no part.
//! - A multipart where no part was found (no boundary parameter, or the boundary never
//!   appears) gets one empty text/plain part, since RFC 3501 `body-type-mpart` needs one.
//! - A message/rfc822 part with a transfer encoding other than 7bit/8bit/binary cannot be
//!   parsed and is served as application/octet-stream.
//! - Text lines count the LFs of a body plus one for a last line without one; the CRLF before
//!   a boundary line belongs to the boundary (RFC 2046 §5.1.1), not to the body.

mod address;
mod date;
mod encode;
mod error;
mod header;
mod lex;
pub mod limits;
mod model;
mod params;
mod render;
mod scanner;
mod section;
pub mod transfer;

#[cfg(test)]
mod tests;

pub use address::{Address, MISSING_HOST, parse_address_list};
pub use date::parse_date;
pub use error::MimeError;
pub use header::filter_header_fields;
pub use limits::{Limit, MimeLimits};
pub use model::{Analysis, LeafPart, PartSpan, TransferEncoding};
pub use render::{write_nstring, write_string};
pub use scanner::Analyzer;
pub use section::MessageHead;
