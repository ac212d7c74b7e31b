//! MIME analysis at ingest: one streaming pass over a message records its header length, part
//! tree with byte offsets, and the data IMAP serves as ENVELOPE and BODYSTRUCTURE.
