//! The header block a submission session holds back (RFC 6409 §8.2, §8.3).
//!
//! A submission server may add a missing `Date:` or `Message-ID:`. Fields can only be placed
//! before the client's content (the driver appends to the log as content streams), and whether
//! one is missing is known only once the whole header block has been seen. So a submission
//! session holds the content back until the blank line that ends the header block (RFC 5322
//! §2.1), bounded by `submission_header_octets_max`; then it tells the driver which fields are
//! missing, the driver writes them, and the held block follows. A header block larger than the
//! bound is passed on unchanged, without additions: adding is a MAY, refusing the mail is worse.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MissingFields {
    pub date: bool,
    pub message_id: bool,
}

impl MissingFields {
    pub fn any(self) -> bool {
        self.date || self.message_id
    }
}

#[derive(Debug)]
pub struct HeaderHold {
    held: Vec<u8>,
    octets_max: usize,
}

/// What the hold did with the octets it was given.
#[derive(Debug, PartialEq, Eq)]
pub enum Hold {
    /// Still inside the header block.
    Holding,
    /// The block is complete (or too large): pass on these octets, after the missing fields.
    Release(Vec<u8>, MissingFields),
}

impl HeaderHold {
    pub fn new(octets_max: usize) -> Self {
        HeaderHold {
            held: Vec::new(),
            octets_max,
        }
    }

    pub fn push(&mut self, octets: &[u8]) -> Hold {
        // Look for the blank line from just before the new octets, in case CRLFCRLF straddles.
        let scan_from = self.held.len().saturating_sub(3);
        self.held.extend_from_slice(octets);
        let header_end = if self.held.starts_with(b"\r\n") {
            Some(0)
        } else {
            super::scan::find_crlfcrlf(&self.held[scan_from..]).map(|at| scan_from + at + 2)
        };
        match header_end {
            Some(end) if end <= self.octets_max => {
                let missing = missing_fields(&self.held[..end]);
                Hold::Release(std::mem::take(&mut self.held), missing)
            }
            _ if self.held.len() > self.octets_max => {
                Hold::Release(std::mem::take(&mut self.held), MissingFields::default())
            }
            _ => Hold::Holding,
        }
    }

    /// The content ended inside the header block (a message without a body): it is all header.
    pub fn finish(&mut self) -> (Vec<u8>, MissingFields) {
        let held = std::mem::take(&mut self.held);
        let missing = if held.len() > self.octets_max {
            MissingFields::default()
        } else {
            missing_fields(&held)
        };
        (held, missing)
    }
}

/// Which of Date and Message-ID the header block lacks. Field names are case-insensitive and
/// may be followed by white space before the colon (RFC 5322 §4.5.3 obs-optional).
fn missing_fields(header: &[u8]) -> MissingFields {
    let mut missing = MissingFields {
        date: true,
        message_id: true,
    };
    for line in header.split(|&octet| octet == b'\n') {
        if line.first().is_some_and(|&o| o == b' ' || o == b'\t') {
            continue; // a folded continuation
        }
        let Some(colon) = line.iter().position(|&o| o == b':') else {
            continue;
        };
        let name = line[..colon].trim_ascii_end();
        if name.eq_ignore_ascii_case(b"date") {
            missing.date = false;
        } else if name.eq_ignore_ascii_case(b"message-id") {
            missing.message_id = false;
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_end_across_pushes() {
        let mut hold = HeaderHold::new(1000);
        assert_eq!(hold.push(b"Subject: x\r\nDATE : now\r"), Hold::Holding);
        assert_eq!(hold.push(b"\n\r"), Hold::Holding);
        let Hold::Release(octets, missing) = hold.push(b"\nbody: Message-ID: no\r\n") else {
            panic!("header block should be complete");
        };
        assert_eq!(
            octets,
            b"Subject: x\r\nDATE : now\r\n\r\nbody: Message-ID: no\r\n"
        );
        assert_eq!(
            missing,
            MissingFields {
                date: false,
                message_id: true
            }
        );
    }

    #[test]
    fn empty_header_and_overflow() {
        let mut hold = HeaderHold::new(1000);
        assert!(matches!(hold.push(b"\r\nbody"), Hold::Release(_, m) if m.date && m.message_id));
        let mut hold = HeaderHold::new(8);
        assert!(matches!(hold.push(b"X: 123456"), Hold::Release(_, m) if !m.any()));
        let mut hold = HeaderHold::new(100);
        assert_eq!(
            hold.push(b"Message-Id: <a@b>\r\n X-Folded: Date: y"),
            Hold::Holding
        );
        let (octets, missing) = hold.finish();
        assert_eq!(octets.len(), 37);
        assert!(missing.date && !missing.message_id);
    }
}
