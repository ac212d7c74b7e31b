//! Streaming Content-Transfer-Encoding decoders (RFC 2045 §6.7, §6.8).
//!
//! The analyzer runs them over base64 and quoted-printable bodies at ingest to count decoded
//! octets (RFC 3516 BINARY.SIZE); FETCH BINARY must run the same code over the same bytes, so
//! the size announced and the octets sent agree (RFC 3516 §4.3). Input may be split anywhere;
//! state is a few bytes, plus at most `QP_WHITESPACE_OCTETS_MAX` of held white space.

use super::model::TransferEncoding;

/// Quoted-printable white space is held until it is known not to end its line (trailing white
/// space is deleted, §6.7 rule 3). A longer run is released as text; lines are at most 76
/// characters (§6.7 rule 5), so only a damaged body gets there.
pub const QP_WHITESPACE_OCTETS_MAX: usize = 998;

/// Where decoded octets go.
pub trait Sink {
    fn put(&mut self, octets: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, octets: &[u8]) {
        self.extend_from_slice(octets);
    }
}

/// Counts octets without keeping them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Count(pub u64);

impl Sink for Count {
    fn put(&mut self, octets: &[u8]) {
        self.0 += octets.len() as u64;
    }
}

#[derive(Debug, Clone)]
pub struct Decoder {
    state: State,
}

#[derive(Debug, Clone)]
enum State {
    Identity,
    Base64 {
        /// Sextets of the current quantum, packed.
        bits: u32,
        count: u8,
        /// An `=` was seen: RFC 2045 §6.8, the end of the data.
        ended: bool,
    },
    QuotedPrintable {
        step: QpStep,
        /// White space not yet known to be inside its line.
        space: Vec<u8>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QpStep {
    Text,
    /// A CR: a line break if LF follows.
    Cr,
    /// `=`, maybe with held white space after it.
    Equal,
    /// `=` and one hex digit (kept to emit it if the second is not hex).
    EqualHex(u8),
    /// `=`, white space and a CR: a soft line break if LF follows.
    EqualCr,
}

const INVALID: u8 = 0xff;

const BASE64_VALUES: [u8; 256] = {
    let mut table = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut index = 0;
    while index < alphabet.len() {
        table[alphabet[index] as usize] = index as u8;
        index += 1;
    }
    table
};

fn hex_value(octet: u8) -> Option<u8> {
    // §6.7 rule 1 requires upper case; a robust decoder accepts lower case too.
    match octet {
        b'0'..=b'9' => Some(octet - b'0'),
        b'A'..=b'F' => Some(octet - b'A' + 10),
        b'a'..=b'f' => Some(octet - b'a' + 10),
        _ => None,
    }
}

impl Decoder {
    /// `None` for an encoding this module does not know (RFC 3516: UNKNOWN-CTE).
    pub fn new(encoding: TransferEncoding) -> Option<Decoder> {
        let state = match encoding {
            TransferEncoding::SevenBit | TransferEncoding::EightBit | TransferEncoding::Binary => {
                State::Identity
            }
            TransferEncoding::Base64 => State::Base64 {
                bits: 0,
                count: 0,
                ended: false,
            },
            TransferEncoding::QuotedPrintable => State::QuotedPrintable {
                step: QpStep::Text,
                space: Vec::new(),
            },
            TransferEncoding::Other => return None,
        };
        Some(Decoder { state })
    }

    pub fn feed(&mut self, input: &[u8], sink: &mut impl Sink) {
        match &mut self.state {
            State::Identity => sink.put(input),
            State::Base64 { bits, count, ended } => base64(input, bits, count, ended, sink),
            State::QuotedPrintable { step, space } => {
                for &octet in input {
                    qp_octet(octet, step, space, sink);
                }
            }
        }
    }

    /// The end of the encoded data.
    pub fn finish(&mut self, sink: &mut impl Sink) {
        match &mut self.state {
            State::Identity => {}
            State::Base64 { bits, count, .. } => {
                // A final quantum of 2 or 3 sextets holds 1 or 2 octets (§6.8); 1 holds none.
                match *count {
                    2 => sink.put(&[(*bits >> 4) as u8]),
                    3 => sink.put(&[(*bits >> 10) as u8, (*bits >> 2) as u8]),
                    _ => {}
                }
                *count = 0;
                *bits = 0;
            }
            State::QuotedPrintable { step, space } => {
                // The data ends a line: trailing white space goes, a final `=` is a soft break.
                match *step {
                    QpStep::Cr => {
                        sink.put(space);
                        sink.put(b"\r");
                    }
                    QpStep::EqualHex(digit) => sink.put(&[b'=', digit]),
                    QpStep::EqualCr => {
                        sink.put(b"=");
                        sink.put(space);
                        sink.put(b"\r");
                    }
                    QpStep::Text | QpStep::Equal => {}
                }
                space.clear();
                *step = QpStep::Text;
            }
        }
    }
}

fn base64(input: &[u8], bits: &mut u32, count: &mut u8, ended: &mut bool, sink: &mut impl Sink) {
    if *ended {
        return;
    }
    let mut batch = [0u8; 192];
    let mut filled = 0;
    for &octet in input {
        let value = BASE64_VALUES[usize::from(octet)];
        if value == INVALID {
            if octet == b'=' {
                *ended = true;
                break;
            }
            // §6.8: characters outside the alphabet are ignored.
            continue;
        }
        *bits = (*bits << 6) | u32::from(value);
        *count += 1;
        if *count == 4 {
            batch[filled..filled + 3].copy_from_slice(&[
                (*bits >> 16) as u8,
                (*bits >> 8) as u8,
                *bits as u8,
            ]);
            filled += 3;
            *bits = 0;
            *count = 0;
            if filled == batch.len() {
                sink.put(&batch);
                filled = 0;
            }
        }
    }
    sink.put(&batch[..filled]);
}

fn qp_octet(octet: u8, step: &mut QpStep, space: &mut Vec<u8>, sink: &mut impl Sink) {
    match *step {
        QpStep::Text => match octet {
            b'=' => {
                sink.put(space);
                space.clear();
                *step = QpStep::Equal;
            }
            b' ' | b'\t' => {
                if space.len() == QP_WHITESPACE_OCTETS_MAX {
                    sink.put(space);
                    space.clear();
                }
                space.push(octet);
            }
            b'\r' => *step = QpStep::Cr,
            b'\n' => {
                // Rule 3: white space at the end of a line is deleted; the break is CRLF.
                space.clear();
                sink.put(b"\r\n");
            }
            _ => {
                sink.put(space);
                space.clear();
                sink.put(&[octet]);
            }
        },
        QpStep::Cr => {
            if octet == b'\n' {
                space.clear();
                sink.put(b"\r\n");
                *step = QpStep::Text;
            } else {
                // A CR that is not part of a line break is text.
                sink.put(space);
                space.clear();
                sink.put(b"\r");
                *step = QpStep::Text;
                qp_octet(octet, step, space, sink);
            }
        }
        QpStep::Equal => match octet {
            b' ' | b'\t' if space.len() < QP_WHITESPACE_OCTETS_MAX => space.push(octet),
            b'\r' => *step = QpStep::EqualCr,
            // A soft line break (rule 5), possibly with transport padding before it.
            b'\n' => {
                space.clear();
                *step = QpStep::Text;
            }
            _ if space.is_empty() && hex_value(octet).is_some() => {
                *step = QpStep::EqualHex(octet);
            }
            _ => {
                // Not an escape: the `=` and what follows are text.
                sink.put(b"=");
                sink.put(space);
                space.clear();
                *step = QpStep::Text;
                qp_octet(octet, step, space, sink);
            }
        },
        QpStep::EqualHex(first) => {
            if let (Some(high), Some(low)) = (hex_value(first), hex_value(octet)) {
                sink.put(&[high << 4 | low]);
                *step = QpStep::Text;
            } else {
                sink.put(&[b'=', first]);
                *step = QpStep::Text;
                qp_octet(octet, step, space, sink);
            }
        }
        QpStep::EqualCr => {
            if octet == b'\n' {
                space.clear();
                *step = QpStep::Text;
            } else {
                sink.put(b"=");
                sink.put(space);
                space.clear();
                *step = QpStep::Cr;
                qp_octet(octet, step, space, sink);
            }
        }
    }
}

/// Decodes a whole body at once; `None` for an unknown encoding.
pub fn decode(encoding: TransferEncoding, input: &[u8]) -> Option<Vec<u8>> {
    let mut decoder = Decoder::new(encoding)?;
    let mut out = Vec::with_capacity(input.len());
    decoder.feed(input, &mut out);
    decoder.finish(&mut out);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qp(input: &[u8]) -> Vec<u8> {
        decode(TransferEncoding::QuotedPrintable, input).unwrap()
    }

    fn base64_of(input: &[u8]) -> Vec<u8> {
        decode(TransferEncoding::Base64, input).unwrap()
    }

    #[test]
    fn base64_ignores_non_alphabet_and_stops_at_padding() {
        assert_eq!(base64_of(b"aGVs\r\nbG8=\r\n"), b"hello");
        assert_eq!(base64_of(b"aGVsbG8gd29ybGQ="), b"hello world");
        assert_eq!(base64_of(b"aGVsbA"), b"hell");
        assert_eq!(base64_of(b"aGV*sb!G8"), b"hello");
        assert_eq!(base64_of(b"YQ==YWJj"), b"a");
        assert_eq!(base64_of(b"Y"), b"");
    }

    #[test]
    fn quoted_printable_rules() {
        // Rule 1 escapes, rule 3 trailing white space, rule 5 soft breaks (with padding).
        assert_eq!(qp(b"a=3Db=3d\r\n"), b"a=b=\r\n");
        assert_eq!(qp(b"trail  \t\r\nnext"), b"trail\r\nnext");
        assert_eq!(qp(b"in side\r\n"), b"in side\r\n");
        assert_eq!(qp(b"soft=\r\nbreak= \t\r\nend="), b"softbreakend");
        assert_eq!(qp(b"lf\nonly\n"), b"lf\r\nonly\r\n");
        // Damaged escapes are text.
        assert_eq!(qp(b"=G1 =4x = a=\ra"), b"=G1 =4x = a=\ra");
        assert_eq!(qp(b"a\rb\r"), b"a\rb\r");
        assert_eq!(qp(b"end=4"), b"end=4");
    }

    #[test]
    fn any_split_gives_the_same_output() {
        let inputs: [(TransferEncoding, &[u8]); 2] = [
            (
                TransferEncoding::QuotedPrintable,
                b"a=3D b  \r\n=\r\nc= \r\nd=4\rx=\r\r\ny \t\r\r\n=4",
            ),
            (TransferEncoding::Base64, b"aGVs\r\nbG8gd29y\r\nbGQ=\r\n"),
        ];
        for (encoding, input) in inputs {
            let whole = decode(encoding, input).unwrap();
            for split in 0..=input.len() {
                let mut decoder = Decoder::new(encoding).unwrap();
                let mut out = Vec::new();
                decoder.feed(&input[..split], &mut out);
                decoder.feed(&input[split..], &mut out);
                decoder.finish(&mut out);
                assert_eq!(out, whole, "split at {split}");
                let mut count = Count::default();
                let mut decoder = Decoder::new(encoding).unwrap();
                for octet in input {
                    decoder.feed(std::slice::from_ref(octet), &mut count);
                }
                decoder.finish(&mut count);
                assert_eq!(count.0, whole.len() as u64);
            }
        }
    }

    #[test]
    fn long_white_space_is_released_as_text() {
        let mut input = vec![b' '; QP_WHITESPACE_OCTETS_MAX + 1];
        input.extend_from_slice(b"\r\n");
        let mut expected = vec![b' '; QP_WHITESPACE_OCTETS_MAX];
        expected.extend_from_slice(b"\r\n");
        assert_eq!(qp(&input), expected);
        assert_eq!(decode(TransferEncoding::Other, b"x"), None);
    }
}
