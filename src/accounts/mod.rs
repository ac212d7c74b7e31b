//! The directory of domains, accounts, aliases and catch-alls, stored in the data dir.
