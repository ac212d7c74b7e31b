//! Errors of this module. Analysis itself never fails (any input is some message); only a
//! stored analysis can be unreadable, which is a storage fault.

/// A stored analysis that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MimeError {
    /// Written by a later format version (or damaged in its first octet).
    #[error("MIME analysis format version {0} is not known")]
    Version(u8),
    /// Damaged: the storage layer's checksums should have caught it.
    #[error("MIME analysis is damaged: {0}")]
    Corrupt(&'static str),
}
