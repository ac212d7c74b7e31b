//! The base subject of RFC 5256 §2.1, the RFC 2047 decoding it starts with, and the collation
//! key SORT and THREAD compare strings by.
//!
//! Collation approximates i;unicode-casemap (RFC 5051, required by RFC 5256 §7): characters
//! are compared after simple Unicode upper-casing, without the NFKD decomposition (no
//! normalisation tables here). Octets that are not UTF-8 are compared as they are.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Octets of a collation key kept per message: subjects and mailboxes longer than this compare
/// by their first `KEY_OCTETS_MAX` octets (after folding), so memory per message stays small.
pub const KEY_OCTETS_MAX: usize = 1024;

/// Encoded words decoded in one subject; the rest stay as they are.
const ENCODED_WORDS_MAX: usize = 256;

/// B encoding accepts the text with or without its padding.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A subject reduced to its base, and whether the reduction showed a reply or forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseSubject {
    pub text: Vec<u8>,
    /// RFC 5256 §3 REFERENCES: a subj-refwd, a "(fwd)" trailer or a subj-fwd-hdr and
    /// subj-fwd-trl was removed.
    pub reply_or_forward: bool,
}

/// RFC 5256 §2.1 steps (1) to (7).
pub fn base_subject(raw: &[u8]) -> BaseSubject {
    let decoded = decode_encoded_words(raw);
    let mut text = normalise_space(&decoded);
    let mut reply_or_forward = false;
    loop {
        // (2) trailers: "(fwd)" or white space, repeatedly.
        loop {
            if let Some(rest) = strip_suffix_folded(&text, b"(fwd)") {
                text = rest.to_vec();
                reply_or_forward = true;
            } else if text.last() == Some(&b' ') {
                text.pop();
            } else {
                break;
            }
        }
        // (3), (4) and (5): leaders and blobs, until neither is left.
        let mut start = 0;
        loop {
            let rest = &text[start..];
            if rest.first() == Some(&b' ') {
                start += 1;
            } else if let Some(length) = leader_refwd(rest) {
                start += length;
                reply_or_forward = true;
            } else if let Some(length) = blob(rest)
                && rest[length..].iter().any(|&octet| octet != b' ')
            {
                start += length;
            } else {
                break;
            }
        }
        text.drain(..start);
        // (6) "[fwd:" ... "]": remove both and start again from (2).
        if text.len() >= 6 && text[..5].eq_ignore_ascii_case(b"[fwd:") && text.last() == Some(&b']')
        {
            text.pop();
            text.drain(..5);
            reply_or_forward = true;
            continue;
        }
        return BaseSubject {
            text,
            reply_or_forward,
        };
    }
}

/// Step (1) after decoding: tabs, line breaks and runs of them become one space.
fn normalise_space(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for &octet in text {
        let octet = if matches!(octet, b'\t' | b'\r' | b'\n') {
            b' '
        } else {
            octet
        };
        if octet == b' ' && out.last() == Some(&b' ') {
            continue;
        }
        out.push(octet);
    }
    out
}

fn strip_suffix_folded<'a>(text: &'a [u8], suffix: &[u8]) -> Option<&'a [u8]> {
    let split = text.len().checked_sub(suffix.len())?;
    text[split..]
        .eq_ignore_ascii_case(suffix)
        .then(|| &text[..split])
}

/// `subj-blob = "[" *BLOBCHAR "]" *WSP`: its length.
fn blob(text: &[u8]) -> Option<usize> {
    if text.first() != Some(&b'[') {
        return None;
    }
    let close = text[1..]
        .iter()
        .position(|&octet| octet == b']' || octet == b'[')?
        + 1;
    if text[close] != b']' {
        return None;
    }
    Some(close + 1 + spaces(&text[close + 1..]))
}

fn spaces(text: &[u8]) -> usize {
    text.iter().take_while(|&&octet| octet == b' ').count()
}

/// `*subj-blob subj-refwd`, the non-space `subj-leader`: its length.
fn leader_refwd(text: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(length) = blob(&text[at..]) {
        at += length;
    }
    Some(at + refwd(&text[at..])?)
}

/// `subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"`: its length.
fn refwd(text: &[u8]) -> Option<usize> {
    let starts =
        |word: &[u8]| text.len() >= word.len() && text[..word.len()].eq_ignore_ascii_case(word);
    let mut at = if starts(b"re") {
        2
    } else if starts(b"fwd") {
        3
    } else if starts(b"fw") {
        2
    } else {
        return None;
    };
    at += spaces(&text[at..]);
    if let Some(length) = blob(&text[at..]) {
        at += length;
    }
    (text.get(at) == Some(&b':')).then_some(at + 1)
}

/// RFC 2047 encoded words to UTF-8. White space between two adjacent encoded words is dropped
/// (§6.2); a word in a charset not known here, or that does not decode, stays as it is.
pub fn decode_encoded_words(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut at = 0;
    let mut words = 0;
    // Where the white space after the last decoded word began in `out`, to drop it when
    // another encoded word follows.
    let mut space_after_word: Option<usize> = None;
    while at < raw.len() {
        if raw[at..].starts_with(b"=?")
            && words < ENCODED_WORDS_MAX
            && let Some((length, decoded)) = encoded_word(&raw[at..])
        {
            if let Some(space) = space_after_word {
                out.truncate(space);
            }
            out.extend_from_slice(&decoded);
            at += length;
            words += 1;
            let blank = raw[at..]
                .iter()
                .take_while(|octet| matches!(octet, b' ' | b'\t' | b'\r' | b'\n'))
                .count();
            space_after_word = Some(out.len());
            out.extend_from_slice(&raw[at..at + blank]);
            at += blank;
            continue;
        }
        space_after_word = None;
        out.push(raw[at]);
        at += 1;
    }
    out
}

/// `=?charset[*language]?encoding?text?=` at the start of `text`: its length and its text as
/// UTF-8.
fn encoded_word(text: &[u8]) -> Option<(usize, Vec<u8>)> {
    // RFC 2047 §2: an encoded word is at most 75 characters; longer ones are tolerated up to
    // this bound.
    const ENCODED_WORD_OCTETS_MAX: usize = 1024;
    let text = &text[..text.len().min(ENCODED_WORD_OCTETS_MAX)];
    let token_end = |from: usize| {
        text[from..]
            .iter()
            .position(|&octet| octet == b'?')
            .map(|length| from + length)
    };
    let charset_end = token_end(2)?;
    let encoding_end = token_end(charset_end + 1)?;
    let text_end = token_end(encoding_end + 1)?;
    if text.get(text_end + 1) != Some(&b'=') {
        return None;
    }
    // RFC 2231 §5: a language may follow the charset after "*".
    let charset = text[2..charset_end].split(|&octet| octet == b'*').next()?;
    let encoded = &text[encoding_end + 1..text_end];
    if charset.is_empty() || encoded.iter().any(|&octet| octet <= b' ') {
        return None;
    }
    let octets = match &text[charset_end + 1..encoding_end] {
        b"B" | b"b" => BASE64.decode(encoded).ok()?,
        b"Q" | b"q" => decode_q(encoded)?,
        _ => return None,
    };
    Some((text_end + 2, to_utf8(charset, octets)?))
}

/// The Q encoding (RFC 2047 §4.2): `_` is a space, `=XX` an octet.
fn decode_q(encoded: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(encoded.len());
    let mut at = 0;
    while at < encoded.len() {
        match encoded[at] {
            b'_' => out.push(b' '),
            b'=' => {
                let hex = encoded.get(at + 1..at + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                at += 2;
            }
            octet => out.push(octet),
        }
        at += 1;
    }
    Some(out)
}

/// UTF-8, US-ASCII and ISO-8859-1 (with its common aliases); None for other charsets.
fn to_utf8(charset: &[u8], octets: Vec<u8>) -> Option<Vec<u8>> {
    let is = |name: &[u8]| charset.eq_ignore_ascii_case(name);
    if is(b"utf-8") || is(b"utf8") || is(b"us-ascii") || is(b"ascii") {
        // Invalid sequences stay as they are: the collation compares them as octets.
        return Some(octets);
    }
    if is(b"iso-8859-1") || is(b"iso8859-1") || is(b"latin1") || is(b"l1") {
        return Some(
            octets
                .iter()
                .map(|&octet| char::from(octet))
                .collect::<String>()
                .into_bytes(),
        );
    }
    None
}

/// The collation key of a string: case-folded (see the module documentation), at most
/// [`KEY_OCTETS_MAX`] octets, cut at a character boundary.
pub fn collation_key(text: &[u8]) -> Box<[u8]> {
    let mut key = Vec::with_capacity(text.len().min(KEY_OCTETS_MAX));
    let mut buffer = [0u8; 4];
    'chunks: for chunk in text.utf8_chunks() {
        for character in chunk.valid().chars() {
            for upper in character.to_uppercase() {
                let encoded = upper.encode_utf8(&mut buffer).as_bytes();
                if key.len() + encoded.len() > KEY_OCTETS_MAX {
                    break 'chunks;
                }
                key.extend_from_slice(encoded);
            }
        }
        for &octet in chunk.invalid() {
            if key.len() == KEY_OCTETS_MAX {
                break 'chunks;
            }
            key.push(octet);
        }
    }
    key.into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(raw: &str) -> (String, bool) {
        let subject = base_subject(raw.as_bytes());
        (
            String::from_utf8(subject.text).unwrap(),
            subject.reply_or_forward,
        )
    }

    #[test]
    fn step_1_decodes_encoded_words_and_collapses_space() {
        assert_eq!(base("=?UTF-8?B?w6l0w6k=?="), ("été".into(), false));
        assert_eq!(
            base("=?iso-8859-1?q?caf=E9_cr=E8me?="),
            ("café crème".into(), false)
        );
        // White space between adjacent encoded words goes; around plain text it stays.
        assert_eq!(
            base("=?utf-8?q?a?= \t =?utf-8?q?b?= c"),
            ("ab c".into(), false)
        );
        assert_eq!(
            base("one\t two  \r\n three"),
            ("one two three".into(), false)
        );
        // Unknown charsets and broken words are left raw.
        assert_eq!(
            base("=?koi8-r?b?8uXk?="),
            ("=?koi8-r?b?8uXk?=".into(), false)
        );
        assert_eq!(base("=?utf-8?x?abc?="), ("=?utf-8?x?abc?=".into(), false));
    }

    #[test]
    fn step_2_removes_trailers() {
        assert_eq!(base("report (fwd)"), ("report".into(), true));
        assert_eq!(base("report (FWD) (fwd)  "), ("report".into(), true));
        assert_eq!(base("report   "), ("report".into(), false));
    }

    #[test]
    fn step_3_removes_leaders() {
        assert_eq!(base("Re: lunch"), ("lunch".into(), true));
        assert_eq!(base("RE:Fwd: FW: lunch"), ("lunch".into(), true));
        assert_eq!(base("re [2]: lunch"), ("lunch".into(), true));
        assert_eq!(base("[list] Re: lunch"), ("lunch".into(), true));
        assert_eq!(base("   lunch"), ("lunch".into(), false));
        // Not a leader: no colon, or a word that merely starts with "re".
        assert_eq!(base("Re lunch"), ("Re lunch".into(), false));
        assert_eq!(base("Report: lunch"), ("Report: lunch".into(), false));
    }

    #[test]
    fn step_4_removes_blobs_that_leave_a_base() {
        assert_eq!(base("[PATCH] fix"), ("fix".into(), false));
        assert_eq!(base("[PATCH]"), ("[PATCH]".into(), false));
        assert_eq!(base("Re: [PATCH]"), ("[PATCH]".into(), true));
        assert_eq!(base("[a][b] c"), ("c".into(), false));
    }

    #[test]
    fn step_5_repeats_leaders_and_blobs() {
        assert_eq!(base("[list] Re: [PATCH] Re: fix"), ("fix".into(), true));
        assert_eq!(base("Re: [x] Fwd: [y] z"), ("z".into(), true));
    }

    #[test]
    fn step_6_unwraps_forward_brackets_and_starts_again() {
        assert_eq!(base("[Fwd: lunch]"), ("lunch".into(), true));
        assert_eq!(base("Re: [fwd: Re: lunch (fwd)]"), ("lunch".into(), true));
        assert_eq!(base("[fwd: [fwd: lunch]]"), ("lunch".into(), true));
        // Only a wrapper around the whole subject counts; before more text it is a blob.
        assert_eq!(base("x [fwd: a]"), ("x [fwd: a]".into(), false));
        assert_eq!(base("[fwd: a] b"), ("b".into(), false));
    }

    #[test]
    fn empty_and_blank_subjects() {
        assert_eq!(base(""), ("".into(), false));
        assert_eq!(base("Re: "), ("".into(), true));
        assert_eq!(base("  \t "), ("".into(), false));
    }

    #[test]
    fn collation_folds_case_and_bounds_length() {
        assert_eq!(
            collation_key("Été b".as_bytes()),
            collation_key("éTÉ B".as_bytes())
        );
        assert!(collation_key(b"") < collation_key(b"a"));
        assert!(collation_key(b"apple") < collation_key(b"Banana"));
        let long = "é".repeat(KEY_OCTETS_MAX);
        let key = collation_key(long.as_bytes());
        assert!(key.len() <= KEY_OCTETS_MAX && std::str::from_utf8(&key).is_ok());
        assert_eq!(&*collation_key(b"a\xffb"), b"A\xffB");
    }
}
