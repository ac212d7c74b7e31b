//! The bounds of one analysis. Every structure the analyzer keeps is bounded by one of these,
//! so its memory and the size of its encoding do not depend on the message.

/// Parts in one message, counting every multipart, every encapsulated message and the message
/// itself. Real mail has tens; large digests a few hundred.
pub const PARTS_MAX: usize = 1000;
/// Parts nesting depth (the message is depth 1; each multipart or message/rfc822 level adds 1).
pub const DEPTH_MAX: usize = 32;
/// Fields in one header block (a message header or a part's MIME header).
pub const HEADER_FIELDS_MAX: usize = 1000;
/// Octets of one header block, blank line included. Postfix's `header_size_limit` is 100 KiB.
pub const HEADER_BLOCK_OCTETS_MAX: usize = 128 * 1024;
/// Parameters (RFC 2231 segments counted one by one) of one Content-Type or
/// Content-Disposition field, and tags of one Content-Language field.
pub const PARAMETERS_MAX: usize = 64;

/// The largest value `with_limits` accepts for `parts_max`; also what `Analysis::decode`
/// accepts, so a blob written under any allowed limits decodes.
pub const PARTS_CEILING: usize = 10_000;
/// The largest `depth_max`; rendering recurses once per level.
pub const DEPTH_CEILING: usize = 64;
/// The largest `header_block_octets_max`.
pub const HEADER_BLOCK_OCTETS_CEILING: usize = 128 * 1024;
/// The largest `parameters_max`.
pub const PARAMETERS_CEILING: usize = 1024;

/// The encoded analysis is stored beside the message: it never exceeds this.
pub const ENCODED_OCTETS_MAX: usize = 512 * 1024;

/// RFC 2046 §5.1.1: a boundary is 1 to 70 characters. Longer parameters are tolerated up to
/// this bound; a multipart with a longer one is treated as having no boundary.
pub const BOUNDARY_OCTETS_MAX: usize = 200;
/// A body line longer than this (terminator excluded) is never a boundary line, so at most
/// this much of a line is held while deciding. RFC 5322 §2.1.1 limits lines to 998 octets.
pub const BOUNDARY_LINE_OCTETS_MAX: usize = 998;

const _: () = assert!(BOUNDARY_OCTETS_MAX + 4 <= BOUNDARY_LINE_OCTETS_MAX);
const _: () = assert!(PARTS_MAX <= PARTS_CEILING && DEPTH_MAX <= DEPTH_CEILING);
const _: () = assert!(HEADER_BLOCK_OCTETS_MAX <= HEADER_BLOCK_OCTETS_CEILING);
const _: () = assert!(PARAMETERS_MAX <= PARAMETERS_CEILING);

/// Limits of one analysis. A message that exceeds any of them is served as a single part
/// (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MimeLimits {
    pub parts_max: usize,
    pub depth_max: usize,
    pub header_fields_max: usize,
    pub header_block_octets_max: usize,
    pub parameters_max: usize,
}

impl Default for MimeLimits {
    fn default() -> Self {
        MimeLimits {
            parts_max: PARTS_MAX,
            depth_max: DEPTH_MAX,
            header_fields_max: HEADER_FIELDS_MAX,
            header_block_octets_max: HEADER_BLOCK_OCTETS_MAX,
            parameters_max: PARAMETERS_MAX,
        }
    }
}

impl MimeLimits {
    /// Whether these limits are within the ceilings the encoding is built for.
    pub fn is_valid(&self) -> bool {
        (1..=PARTS_CEILING).contains(&self.parts_max)
            && (1..=DEPTH_CEILING).contains(&self.depth_max)
            && self.header_fields_max >= 1
            && (1..=HEADER_BLOCK_OCTETS_CEILING).contains(&self.header_block_octets_max)
            && (1..=PARAMETERS_CEILING).contains(&self.parameters_max)
    }
}

/// Which limit a message exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Parts,
    Depth,
    HeaderFields,
    HeaderBlockOctets,
    Parameters,
    /// The analysis would not fit in `ENCODED_OCTETS_MAX`.
    EncodedOctets,
}

impl Limit {
    pub(crate) fn code(self) -> u8 {
        match self {
            Limit::Parts => 1,
            Limit::Depth => 2,
            Limit::HeaderFields => 3,
            Limit::HeaderBlockOctets => 4,
            Limit::Parameters => 5,
            Limit::EncodedOctets => 6,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Limit> {
        Some(match code {
            1 => Limit::Parts,
            2 => Limit::Depth,
            3 => Limit::HeaderFields,
            4 => Limit::HeaderBlockOctets,
            5 => Limit::Parameters,
            6 => Limit::EncodedOctets,
            _ => return None,
        })
    }
}
