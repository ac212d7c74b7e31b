//! The directory of domains, accounts, aliases and catch-alls, stored in the data dir.
//!
//! Everything lives in one file, `<data_dir>/directory.json`, written only by the management
//! commands (`postern user|alias|domain`) and read by the server, which reloads it when its
//! `Fingerprint` changes. Nothing here is async: the file is small and read rarely.

mod address;
mod directory;
mod error;
pub mod passwd_file;
mod store;

pub use address::{
    ADDRESS_OCTETS_MAX, AddressError, DOMAIN_OCTETS_MAX, LABEL_OCTETS_MAX, LOCAL_PART_OCTETS_MAX,
    domain_of, normalise_address, normalise_domain,
};
pub use directory::{
    ALIAS_DEPTH_MAX, ALIAS_TARGETS_MAX, Account, AliasSource, Change, Directory, FORMAT,
    ImportSummary, Resolution,
};
pub use error::DirectoryError;
pub use store::{
    DIRECTORY_FILE, DIRECTORY_FILE_OCTETS_MAX, DirectoryStore, Fingerprint, LOCK_FILE,
};
