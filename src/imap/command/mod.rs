//! The IMAP command grammar: framed command bytes in, typed commands out.
//!
//! The framer (in `imap/`) splits the client's byte stream into complete commands, answering
//! literal announcements and enforcing size limits; this module turns one complete command into
//! a [`Command`], or a [`ParseError`] carrying the tag (when it could be read) and a short reason
//! for `tag BAD reason`. APPEND is the exception: its message literals are streamed into storage,
//! so [`parse_append_start`] and [`parse_append_next`] parse the text around them, and
//! [`literal_purpose`] tells the framer which literal is a message.
//!
//! The grammar follows RFC 3501 §9 and RFC 9051 §9 with the extensions of RFC 4466 (collected
//! ABNF), 2177 IDLE, 2342 NAMESPACE, 2971 ID, 3502 MULTIAPPEND, 3516 BINARY, 3691 UNSELECT,
//! 4315 UIDPLUS, 4731 ESEARCH, 4959 SASL-IR, 4978 COMPRESS, 5161 ENABLE, 5182 SEARCHRES, 5256
//! SORT/THREAD, 5258 LIST-EXTENDED, 5819 LIST-STATUS, 6154 SPECIAL-USE, 6851 MOVE, 6855
//! UTF8=ACCEPT, 7162 CONDSTORE/QRESYNC, 7888 LITERAL+/-, 8438 STATUS=SIZE, 8474 OBJECTID, 8514
//! SAVEDATE and 9208 QUOTA. It is hand-written rather than taken from `imap-codec`: that crate's
//! stable 1.0 lacks MULTIAPPEND, the LIST-EXTENDED selection and return options, and the
//! ESEARCH/SEARCHRES return options, and it cannot stream an APPEND literal into storage — it
//! wants the whole message in memory before the command is parsed.
//!
//! Every count and depth has a named limit (`*_MAX` constants, re-exported here), so no input
//! makes the parser allocate or recurse beyond a fixed bound; no input makes it panic. Keywords
//! are case-insensitive; strings are atoms, quoted strings (UTF-8 allowed, RFC 9051 §9) or
//! literals; NUL is refused everywhere (RFC 3501 §9 note 3) — literal8 content only occurs in
//! APPEND messages, which never pass through here.
//!
//! The files: `lexer` (shared productions), `parse` (tag and command name), one file per command
//! family (`session`, `mailboxes`, `list`, `messages`, `fetch`, `search`, `append`), the value
//! types (`sequence`, `flag`, `date`, `mailbox`, `types`) and `write` for the response side.

mod append;
mod date;
mod fetch;
mod flag;
mod lexer;
mod list;
mod mailbox;
mod mailboxes;
mod messages;
mod parse;
mod search;
mod sequence;
mod session;
mod types;
pub mod write;

#[cfg(test)]
mod tests;

// Every key may nest, so a depth beyond the key count could never be reached.
const _: () = assert!(search::SEARCH_DEPTH_MAX < search::SEARCH_KEYS_MAX);
// A client may set every system flag and a keyword at once.
const _: () = assert!(flag::FLAGS_PER_COMMAND_MAX > 5);

pub use append::{
    AppendMessageHeader, AppendStart, LiteralAnnouncement, LiteralPurpose, literal_announcement,
    literal_purpose, parse_append_next, parse_append_start,
};
pub use date::{Date, DateTime};
pub use fetch::{
    FETCH_ITEMS_MAX, FetchItem, HEADER_FIELD_OCTETS_MAX, HEADER_FIELDS_MAX, Partial,
    SECTION_PART_DEPTH_MAX, Section, SectionText, write_section_part,
};
pub use flag::{FLAGS_PER_COMMAND_MAX, Flag, KEYWORD_OCTETS_MAX};
pub use list::LIST_PATTERNS_MAX;
pub use mailbox::{
    HIERARCHY_DELIMITER, MAILBOX_NAME_OCTETS_MAX, MailboxName, NameError, decode_modified_utf7,
    encode_mailbox_name, encode_modified_utf7,
};
pub use mailboxes::{
    QUOTA_RESOURCES_MAX, QUOTA_ROOT_OCTETS_MAX, SPECIAL_USE_MAX, STATUS_ITEMS_MAX,
};
pub use parse::parse_command;
pub use search::{
    OBJECT_ID_OCTETS_MAX, SEARCH_DEPTH_MAX, SEARCH_KEYS_MAX, SORT_CRITERIA_MAX, SearchKey,
    SearchReturn, SortCriterion, SortKey, ThreadAlgorithm,
};
pub use sequence::{SEQUENCE_SET_RANGES_MAX, SequenceNumber, SequenceRange, SequenceSet};
pub use session::{
    ENABLE_CAPABILITIES_MAX, ID_FIELD_OCTETS_MAX, ID_FIELDS_MAX, ID_VALUE_OCTETS_MAX,
    MECHANISM_OCTETS_MAX,
};
pub use types::{
    Command, CommandBody, ListReturn, ListSelection, ParseError, Qresync, StatusItem,
    StoreOperation, TAG_OCTETS_MAX, Tag,
};
pub use write::{
    write_astring, write_date_time, write_flag, write_flag_list, write_literal, write_nstring,
    write_quoted_utf8, write_string,
};
