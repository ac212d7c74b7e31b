//! Segment files: naming and the header that opens each one.
//!
//! Header layout (64 octets, little-endian):
//! ```text
//! 0  magic          [u8; 8]  "PSTRNLOG"
//! 8  format_version u16      FORMAT_VERSION
//! 10 header_octets  u16      64
//! 12 shard          u32
//! 16 sequence       u64      also in the file name
//! 24 created_secs   u64      unix time
//! 32 salt           u32      random; seeds every record header checksum in the segment
//! 36 records_start  u64      where the first record lies (version 6; zero before, read as 64)
//! 44 reserved       [u8; 16] zero
//! 60 header_crc     u32      crc32 over octets 0..60
//! ```
//!
//! A segment the log writes has its records right after the header. One that compaction
//! rewrote may start them further on, after a hole: it places the rewritten records at offsets
//! disjoint from the ones they replace, so that while the index moves over to the new file in
//! slices every location names one file or the other (docs/STORAGE.md, "Compaction").

pub const SEGMENT_MAGIC: [u8; 8] = *b"PSTRNLOG";
/// The format this build writes; it reads versions in `FORMAT_VERSION_MIN..=FORMAT_VERSION`.
/// Version 2 added the message-copy record, the save date of commits and the condition of
/// flag changes; version 3 the special-use record and the attribute of mailbox creates;
/// version 4 the delivery envelope of commits; version 5 the tombstone compaction leaves of
/// the commit of a message that is gone (docs/STORAGE.md); version 6 the records start, so
/// compaction can leave a hole before its records. A segment holds no record newer than its
/// version: open seals a last segment of an older version, and the first write starts a new
/// segment.
pub const FORMAT_VERSION: u16 = 6;
pub const FORMAT_VERSION_MIN: u16 = 1;
pub const SEGMENT_HEADER_OCTETS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    pub format_version: u16,
    pub shard: u32,
    pub sequence: u64,
    pub created_secs: u64,
    pub salt: u32,
    /// Offset of the first record: `SEGMENT_HEADER_OCTETS` unless compaction left a hole.
    pub records_start: u64,
}

/// The first version with a records start in its header.
const RECORDS_START_VERSION: u16 = 6;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Short or zero-filled: a segment whose creation was interrupted.
    #[error("segment header missing or incomplete")]
    Incomplete,
    #[error("not a Postern segment (bad magic)")]
    BadMagic,
    #[error("segment header checksum mismatch")]
    Checksum,
    #[error(
        "segment format version {found} is not supported by this build (it reads versions \
         {FORMAT_VERSION_MIN} to {FORMAT_VERSION}); use a matching Postern release"
    )]
    UnsupportedVersion { found: u16 },
    /// A records start before the end of the header or past what a location can hold.
    #[error("segment header names records starting at {0}")]
    RecordsStart(u64),
}

impl SegmentHeader {
    pub fn encode(&self) -> [u8; SEGMENT_HEADER_OCTETS] {
        let mut bytes = [0u8; SEGMENT_HEADER_OCTETS];
        bytes[0..8].copy_from_slice(&SEGMENT_MAGIC);
        bytes[8..10].copy_from_slice(&self.format_version.to_le_bytes());
        bytes[10..12].copy_from_slice(&(SEGMENT_HEADER_OCTETS as u16).to_le_bytes());
        bytes[12..16].copy_from_slice(&self.shard.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.sequence.to_le_bytes());
        bytes[24..32].copy_from_slice(&self.created_secs.to_le_bytes());
        bytes[32..36].copy_from_slice(&self.salt.to_le_bytes());
        bytes[36..44].copy_from_slice(&self.records_start.to_le_bytes());
        let crc = crc32fast::hash(&bytes[0..60]);
        bytes[60..64].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, HeaderError> {
        let Some(bytes) = bytes.get(..SEGMENT_HEADER_OCTETS) else {
            return Err(HeaderError::Incomplete);
        };
        if bytes.iter().all(|byte| *byte == 0) {
            return Err(HeaderError::Incomplete);
        }
        if bytes[0..8] != SEGMENT_MAGIC {
            return Err(HeaderError::BadMagic);
        }
        let field = |range: std::ops::Range<usize>| {
            let mut array = [0u8; 8];
            array[..range.len()].copy_from_slice(&bytes[range]);
            u64::from_le_bytes(array)
        };
        if field(60..64) as u32 != crc32fast::hash(&bytes[0..60]) {
            return Err(HeaderError::Checksum);
        }
        let format_version = field(8..10) as u16;
        if !(FORMAT_VERSION_MIN..=FORMAT_VERSION).contains(&format_version)
            || field(10..12) as usize != SEGMENT_HEADER_OCTETS
        {
            return Err(HeaderError::UnsupportedVersion {
                found: format_version,
            });
        }
        let records_start = match format_version >= RECORDS_START_VERSION {
            true => field(36..44),
            false => SEGMENT_HEADER_OCTETS as u64,
        };
        // Index locations hold offsets in 32 bits.
        if !(SEGMENT_HEADER_OCTETS as u64..=u64::from(u32::MAX)).contains(&records_start) {
            return Err(HeaderError::RecordsStart(records_start));
        }
        Ok(Self {
            format_version,
            shard: field(12..16) as u32,
            sequence: field(16..24),
            created_secs: field(24..32),
            salt: field(32..36) as u32,
            records_start,
        })
    }
}

/// `seg-<sequence:016x>.log`
pub fn file_name(sequence: u64) -> String {
    crate::disk::FileId::segment(sequence).file_name()
}

/// The sequence named by a segment file name, if it is one.
pub fn parse_file_name(name: &str) -> Option<u64> {
    crate::disk::FileId::parse(name)
        .filter(|id| id.kind == crate::disk::FileKind::Segment)
        .map(|id| id.sequence)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> SegmentHeader {
        SegmentHeader {
            format_version: FORMAT_VERSION,
            shard: 3,
            sequence: 42,
            created_secs: 1_700_000_000,
            salt: 0xdead_beef,
            records_start: SEGMENT_HEADER_OCTETS as u64,
        }
    }

    #[test]
    fn header_round_trips_and_rejects_damage() {
        let bytes = header().encode();
        assert_eq!(SegmentHeader::decode(&bytes), Ok(header()));
        assert_eq!(
            SegmentHeader::decode(&bytes[..10]),
            Err(HeaderError::Incomplete)
        );
        assert_eq!(
            SegmentHeader::decode(&[0; 64]),
            Err(HeaderError::Incomplete)
        );
        let mut flipped = bytes;
        flipped[20] ^= 1;
        assert_eq!(SegmentHeader::decode(&flipped), Err(HeaderError::Checksum));
        let mut foreign = bytes;
        foreign[0] = b'X';
        assert_eq!(SegmentHeader::decode(&foreign), Err(HeaderError::BadMagic));
    }

    #[test]
    fn records_start_round_trips_and_older_versions_start_after_the_header() {
        let compacted = SegmentHeader {
            records_start: 300 * 1024 * 1024,
            ..header()
        };
        assert_eq!(SegmentHeader::decode(&compacted.encode()), Ok(compacted));
        // Version 5 wrote zeros where the records start is now.
        let old = SegmentHeader {
            format_version: 5,
            records_start: 0,
            ..header()
        };
        let decoded = SegmentHeader::decode(&old.encode()).expect("version 5");
        assert_eq!(decoded.records_start, SEGMENT_HEADER_OCTETS as u64);
        for wrong in [0, 63, u64::from(u32::MAX) + 1] {
            let bad = SegmentHeader {
                records_start: wrong,
                ..header()
            };
            assert_eq!(
                SegmentHeader::decode(&bad.encode()),
                Err(HeaderError::RecordsStart(wrong))
            );
        }
    }

    #[test]
    fn newer_version_is_refused_with_a_clear_message() {
        let future = SegmentHeader {
            format_version: FORMAT_VERSION + 1,
            ..header()
        };
        let error = SegmentHeader::decode(&future.encode()).unwrap_err();
        assert_eq!(
            error,
            HeaderError::UnsupportedVersion {
                found: FORMAT_VERSION + 1
            }
        );
        assert!(error.to_string().contains("not supported by this build"));
    }

    #[test]
    fn file_names() {
        assert_eq!(file_name(0x2a), "seg-000000000000002a.log");
        assert_eq!(parse_file_name("seg-000000000000002a.log"), Some(42));
        assert_eq!(parse_file_name("seg-2a.log"), None);
        assert_eq!(parse_file_name("seg-00000000000000zz.log"), None);
    }
}
