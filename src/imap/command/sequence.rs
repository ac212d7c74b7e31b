//! Sequence sets (RFC 3501 §9 `sequence-set`, RFC 9051 §9) and the SEARCHRES `$` marker
//! (RFC 5182 §3).

use std::fmt;
use std::num::NonZeroU32;

use super::lexer::{Lexed, Lexer};

/// Most ranges one sequence set may hold. A 64 KiB command line of "1,1,1,…" holds 32,768, so
/// this bounds the parse by the same amount of work whatever the framer's line limit is.
pub const SEQUENCE_SET_RANGES_MAX: usize = 32_768;

/// `seq-number = nz-number / "*"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SequenceNumber {
    Number(NonZeroU32),
    /// The largest number in use (RFC 3501 §9 `seq-number`).
    Star,
}

impl SequenceNumber {
    /// The number, with `*` standing for `largest`.
    pub fn resolve(self, largest: u32) -> u32 {
        match self {
            SequenceNumber::Number(number) => number.get(),
            SequenceNumber::Star => largest,
        }
    }
}

/// `seq-number` or `seq-range`; a single number has `start == end`. The ends are as written:
/// `4:2` and `*:1` are legal and mean the same as `2:4` and `1:*` (RFC 3501 §9 `seq-range`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SequenceRange {
    pub start: SequenceNumber,
    pub end: SequenceNumber,
}

impl SequenceRange {
    pub fn single(number: SequenceNumber) -> Self {
        SequenceRange {
            start: number,
            end: number,
        }
    }

    /// The inclusive bounds `(low, high)`, low ≤ high, with `*` standing for `largest`.
    pub fn bounds(&self, largest: u32) -> (u32, u32) {
        let (a, b) = (self.start.resolve(largest), self.end.resolve(largest));
        (a.min(b), a.max(b))
    }
}

/// A `sequence-set`, or the `$` of RFC 5182 (the result saved by `SEARCH RETURN (SAVE)`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SequenceSet {
    /// One or more ranges, at most [`SEQUENCE_SET_RANGES_MAX`], in the order written.
    Ranges(Vec<SequenceRange>),
    /// `$`: RFC 5182 §2.1 lets it stand alone wherever a sequence set may; this grammar does not
    /// accept it mixed with numbers ("1,$").
    Saved,
}

impl SequenceSet {
    /// The ranges, or `None` for `$`.
    pub fn ranges(&self) -> Option<&[SequenceRange]> {
        match self {
            SequenceSet::Ranges(ranges) => Some(ranges),
            SequenceSet::Saved => None,
        }
    }

    /// Whether `number` is in the set, `*` standing for `largest`; `$` contains nothing here
    /// (the session resolves it first).
    pub fn contains(&self, number: u32, largest: u32) -> bool {
        self.ranges().is_some_and(|ranges| {
            ranges.iter().any(|range| {
                let (low, high) = range.bounds(largest);
                (low..=high).contains(&number)
            })
        })
    }

    /// Whether `*` appears anywhere.
    pub fn has_star(&self) -> bool {
        self.ranges().is_some_and(|ranges| {
            ranges.iter().any(|range| {
                range.start == SequenceNumber::Star || range.end == SequenceNumber::Star
            })
        })
    }
}

impl fmt::Display for SequenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SequenceNumber::Number(number) => write!(f, "{number}"),
            SequenceNumber::Star => f.write_str("*"),
        }
    }
}

/// The wire form: `1:4,7,9:*`, or `$`.
impl fmt::Display for SequenceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ranges = match self {
            SequenceSet::Saved => return f.write_str("$"),
            SequenceSet::Ranges(ranges) => ranges,
        };
        for (index, range) in ranges.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            if range.start == range.end {
                write!(f, "{}", range.start)?;
            } else {
                write!(f, "{}:{}", range.start, range.end)?;
            }
        }
        Ok(())
    }
}

/// Which forms a particular argument admits.
#[derive(Debug, Clone, Copy)]
pub(super) struct SetRules {
    /// `$` (RFC 5182): everywhere a message set is an argument, but not in QRESYNC data.
    pub(super) saved: bool,
    /// `*`: RFC 7162 §7 forbids it in `known-uids` and `seq-match-data`.
    pub(super) star: bool,
}

pub(super) const ANY_SET: SetRules = SetRules {
    saved: true,
    star: true,
};

pub(super) const KNOWN_SET: SetRules = SetRules {
    saved: false,
    star: false,
};

/// Whether a sequence set can start here (a search key that is a bare set).
pub(super) fn starts_sequence_set(lexer: &Lexer<'_>) -> bool {
    matches!(lexer.peek(), Some(b'0'..=b'9' | b'*' | b'$'))
}

/// `SP sequence-set` as the first argument of FETCH, STORE, COPY, MOVE and UID EXPUNGE.
pub(super) fn sp_sequence_set(lexer: &mut Lexer<'_>) -> Lexed<SequenceSet> {
    lexer.sp().map_err(|_| "missing sequence set")?;
    if lexer.at_end() {
        return Err("missing sequence set");
    }
    sequence_set(lexer, ANY_SET)
}

pub(super) fn sequence_set(lexer: &mut Lexer<'_>, rules: SetRules) -> Lexed<SequenceSet> {
    if lexer.eat(b'$') {
        if !rules.saved {
            return Err("$ is not allowed here");
        }
        if matches!(lexer.peek(), Some(b',' | b':')) {
            return Err("$ cannot be combined with other numbers");
        }
        return Ok(SequenceSet::Saved);
    }
    let mut ranges = Vec::new();
    loop {
        if ranges.len() == SEQUENCE_SET_RANGES_MAX {
            return Err("sequence set too long");
        }
        let start = sequence_number(lexer, rules)?;
        let end = if lexer.eat(b':') {
            sequence_number(lexer, rules)?
        } else {
            start
        };
        ranges.push(SequenceRange { start, end });
        if !lexer.eat(b',') {
            break;
        }
    }
    Ok(SequenceSet::Ranges(ranges))
}

fn sequence_number(lexer: &mut Lexer<'_>, rules: SetRules) -> Lexed<SequenceNumber> {
    if lexer.eat(b'*') {
        return if rules.star {
            Ok(SequenceNumber::Star)
        } else {
            Err("* is not allowed here")
        };
    }
    if lexer.peek() == Some(b'$') {
        return Err("$ cannot be combined with other numbers");
    }
    let digits = lexer.take_while(|b| b.is_ascii_digit());
    match digits {
        [] => Err("expected a sequence number"),
        [b'0', ..] if digits.iter().all(|&d| d == b'0') => Err("sequence number 0 is not allowed"),
        [b'0', ..] => Err("sequence number must not start with 0"),
        _ => super::lexer::parse_number64(digits)
            .and_then(|value| u32::try_from(value).ok())
            .and_then(NonZeroU32::new)
            .map(SequenceNumber::Number)
            .ok_or("sequence number too large"),
    }
}
