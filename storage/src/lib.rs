//! Postern storage: one append-only, checksummed log per shard with group commit, the
//! in-memory mailbox indexes rebuilt from it, and the API the protocols call.
//! The on-disk format and the rules are in docs/STORAGE.md.

pub mod check;
pub mod checkpoint;
pub mod codec;
mod commit_cache;
pub mod compaction;
pub mod copy;
pub mod disk;
pub mod error;
pub mod files;
pub mod flags;
pub mod history;
pub mod ids;
pub mod index;
pub mod limits;
pub mod log;
pub mod mailbox;
pub mod message;
pub mod notify;
mod payload;
pub mod record;
#[cfg(test)]
mod record_tests;
pub mod recovery;
pub mod scan;
pub mod segment;
pub mod sim;
pub mod special_use;
#[cfg(test)]
mod state_tests;
pub mod store;

pub use disk::{Disk, DiskError, SegmentFile};
pub use error::{Fault, StoreError};
pub use flags::{FlagStoreOutcome, StoredFlags};
pub use ids::{AccountKey, Extent, Location, MailboxKey, Modseq, SystemFlags, Uid, UidRange};
pub use log::{Durable, FsyncMode, Log, LogConfig, LogError, Ticket};
pub use message::{ContentReader, MessageMeta, MessageWriter};
pub use record::{FlagOperation, MessageCommit, MessageCopy};
pub use recovery::{OpenError, RecoveryReport};
pub use special_use::SpecialUse;
pub use store::{MailboxStatus, Store};
