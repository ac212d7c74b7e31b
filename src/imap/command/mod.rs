//! The IMAP command grammar: framed command bytes in, typed commands out.
