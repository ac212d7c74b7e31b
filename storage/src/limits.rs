//! Every limit of the storage layer, with the relations between them asserted at compile time.

/// Largest message the store accepts (SMTP SIZE, IMAP APPEND literal).
pub const MESSAGE_OCTETS_MAX: u64 = 64 * 1024 * 1024;
/// Content is written in chunks of at most this size; a message writer buffers no more.
pub const CHUNK_OCTETS_MAX: usize = 128 * 1024;
/// Upper bound on extents per message: the writer only emits full chunks but the last.
pub const EXTENTS_PER_MESSAGE_MAX: usize = (MESSAGE_OCTETS_MAX as usize).div_ceil(CHUNK_OCTETS_MAX);
/// Opaque parse results (header length, MIME tree, ENVELOPE) stored beside a message.
pub const PARSE_OCTETS_MAX: usize = 512 * 1024;
/// The delivery envelope kept with a message (RFC 3461 DSN parameters: MAIL and its RCPTs).
pub const ENVELOPE_OCTETS_MAX: usize = 128 * 1024;
/// Mailbox names, account names, keywords.
pub const NAME_OCTETS_MAX: usize = 1024;
pub const KEYWORD_OCTETS_MAX: usize = 256;
pub const KEYWORDS_PER_MESSAGE_MAX: usize = 64;
/// Distinct keywords interned per mailbox (ids are u16).
pub const KEYWORDS_PER_MAILBOX_MAX: usize = 1024;
/// UID ranges in one flag-change, expunge or copy record.
pub const UID_RANGES_PER_RECORD_MAX: usize = 64 * 1024;
/// Expunged UID ranges remembered per mailbox for QRESYNC `VANISHED (EARLIER)` (RFC 7162
/// §3.2.10), 16 octets each in memory and in checkpoints; older ones are forgotten and the
/// mailbox then answers `expunged_since` only for MODSEQs from the newest forgotten one on.
pub const EXPUNGE_HISTORY_RANGES_MAX: usize = 1024;
/// Verified commit records (the parse results ENVELOPE, BODYSTRUCTURE and header SEARCH are
/// rendered from) a store keeps in memory, so a listing reads the log once, not every time.
pub const COMMIT_CACHE_OCTETS_DEFAULT: usize = 64 * 1024 * 1024;
/// Commit records larger than this in memory are not cached (a rare MIME tree of thousands of
/// parts is read from the log each time rather than pushing out hundreds of ordinary ones).
pub const COMMIT_CACHE_ENTRY_OCTETS_MAX: usize = 64 * 1024;
/// Largest record payload; anything longer in a record header is damage.
pub const RECORD_PAYLOAD_OCTETS_MAX: usize = 2 * 1024 * 1024;
/// Largest framed record (16-octet header plus payload).
pub const RECORD_FRAME_OCTETS_MAX: usize = 16 + RECORD_PAYLOAD_OCTETS_MAX;
/// Recovery reads a segment through a window of this size; a record larger than the window
/// is checked piecewise and only then read whole (at most `RECORD_FRAME_OCTETS_MAX`).
pub const SCAN_WINDOW_OCTETS_DEFAULT: usize = 1024 * 1024;
/// Small windows are for tests (records straddle them constantly); a header must fit.
pub const SCAN_WINDOW_OCTETS_MIN: usize = 64;
/// A checkpoint is written after this much log since the last one (and on close).
pub const CHECKPOINT_INTERVAL_OCTETS_DEFAULT: u64 = 256 * 1024 * 1024;
/// A checkpoint touches the pages of its buffer this many octets at a time before it encodes
/// (`Store::write_checkpoint`).
pub const CHECKPOINT_PREFAULT_OCTETS: usize = 4 * 1024 * 1024;
/// A checkpoint encodes the state in pieces of about this size (some 30,000 messages, about a
/// millisecond), letting the shard's other work run between them.
pub const CHECKPOINT_PIECE_OCTETS: usize = 2 * 1024 * 1024;
/// Published checkpoints kept; older ones are removed once a newer one is durable.
pub const CHECKPOINTS_KEPT: usize = 2;
/// Largest checkpoint body open will read (about a billion index entries).
pub const CHECKPOINT_OCTETS_MAX: usize = 64 * 1024 * 1024 * 1024;
/// Entries (16 octets each) in one relocation record written by compaction.
pub const RELOCATIONS_PER_RECORD_MAX: usize = 64 * 1024;
/// Compaction rewrites a sealed segment when at most this share of it is live.
pub const COMPACTION_LIVE_PERCENT_DEFAULT: u8 = 50;
/// A background compaction pass starts after this much log since the last one.
pub const COMPACTION_INTERVAL_OCTETS_DEFAULT: u64 = 1024 * 1024 * 1024;
/// Compaction's default write rate, so it never starves the appends it runs beside.
pub const COMPACTION_OCTETS_PER_SEC_DEFAULT: u64 = 64 * 1024 * 1024;
/// Index entries compaction visits in one synchronous step of its walks (picking segments,
/// collecting a segment's live locations) before it lets the shard's other work run: 0.5 to
/// 2 ms of work (a visit costs 50 ns in a small index, up to 250 ns at ten million messages
/// spread over many mailboxes). Its move of the index relocates an 8th of this per step.
pub const COMPACTION_SLICE_ENTRIES_DEFAULT: usize = 8 * 1024;
/// Compaction writes its output in pieces of this size (and sleeps between them to keep to
/// its rate).
pub const COMPACTION_WRITE_OCTETS: usize = 1024 * 1024;
/// Smallest possible framed record (header plus the smallest payload); used to bound how many
/// records a damaged region of the log could have held.
pub const RECORD_OCTETS_MIN: usize = 16 + 8;
/// Default segment size, and the limits a configured size must respect.
pub const SEGMENT_OCTETS_DEFAULT: u64 = 256 * 1024 * 1024;
/// Small segments are for tests; a record larger than an empty segment is refused.
pub const SEGMENT_OCTETS_MIN: u64 = 512 * 1024;
/// In-memory locations are u32 offsets, and compaction may place a segment's rewritten
/// records after its old end. A rewrite is smaller than what it replaces (or is not made),
/// so offsets stay below about twice this limit; compaction also refuses a rewrite whose
/// offsets would not fit.
pub const SEGMENT_OCTETS_LIMIT: u64 = 1 << 31;
/// Bytes waiting for the next group commit before appenders are made to wait.
pub const BATCH_OCTETS_DEFAULT: usize = 8 * 1024 * 1024;

const METADATA_OCTETS_MAX: usize = 256
    + EXTENTS_PER_MESSAGE_MAX * 20
    + PARSE_OCTETS_MAX
    + ENVELOPE_OCTETS_MAX
    + KEYWORDS_PER_MESSAGE_MAX * (KEYWORD_OCTETS_MAX + 4);

const _: () = {
    assert!(CHUNK_OCTETS_MAX + 64 <= RECORD_PAYLOAD_OCTETS_MAX);
    assert!(METADATA_OCTETS_MAX <= RECORD_PAYLOAD_OCTETS_MAX);
    assert!(UID_RANGES_PER_RECORD_MAX * 8 + 4096 <= RECORD_PAYLOAD_OCTETS_MAX);
    assert!(EXPUNGE_HISTORY_RANGES_MAX >= 1 && EXPUNGE_HISTORY_RANGES_MAX <= u32::MAX as usize);
    assert!(SEGMENT_OCTETS_DEFAULT >= 2 * RECORD_PAYLOAD_OCTETS_MAX as u64);
    assert!(SEGMENT_OCTETS_MIN >= 4 * CHUNK_OCTETS_MAX as u64);
    assert!(SEGMENT_OCTETS_DEFAULT >= SEGMENT_OCTETS_MIN);
    assert!(SEGMENT_OCTETS_DEFAULT <= SEGMENT_OCTETS_LIMIT);
    assert!(SCAN_WINDOW_OCTETS_MIN >= 2 * 16);
    assert!(SCAN_WINDOW_OCTETS_DEFAULT >= SCAN_WINDOW_OCTETS_MIN);
    assert!(CHECKPOINTS_KEPT >= 2);
    assert!(RELOCATIONS_PER_RECORD_MAX * 16 + 64 <= RECORD_PAYLOAD_OCTETS_MAX);
    assert!(KEYWORDS_PER_MAILBOX_MAX <= u16::MAX as usize);
    assert!(MESSAGE_OCTETS_MAX <= u32::MAX as u64);
};
