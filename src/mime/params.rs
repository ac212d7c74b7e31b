//! Content-Type, Content-Disposition and Content-Language values (RFC 2045 §5.1, RFC 2183,
//! RFC 3282) with RFC 2231 parameter continuations joined.
//!
//! Values are parsed leniently: real mail has unquoted values containing tspecials
//! (`boundary=----=_Part_1`), comments and stray text. A parameter that cannot be read is
//! skipped up to the next `;`; a Content-Type without `type/subtype` is invalid as a whole,
//! and RFC 2045 §5.2 then assumes the default.

use super::lex::{quoted, skip_cfws, unquote_into};
use super::model::{Disposition, Param};

/// RFC 2045 §5.1 tspecials, plus white space and controls: what ends a token.
fn ends_token(octet: u8) -> bool {
    octet <= b' '
        || octet == 0x7f
        || matches!(
            octet,
            b'(' | b')'
                | b'<'
                | b'>'
                | b'@'
                | b','
                | b';'
                | b':'
                | b'\\'
                | b'"'
                | b'/'
                | b'['
                | b']'
                | b'?'
                | b'='
        )
}

/// What ends an unquoted parameter value read leniently: white space, `;`, a comment or a
/// quote. Other tspecials (`=`, `/`, `?`, ...) are taken as part of the value.
fn ends_lenient_value(octet: u8) -> bool {
    octet <= b' ' || matches!(octet, b';' | b'(' | b'"')
}

fn token(input: &[u8], at: usize) -> (&[u8], usize) {
    let end = input[at..]
        .iter()
        .position(|&octet| ends_token(octet))
        .map_or(input.len(), |length| at + length);
    (&input[at..end], end)
}

/// The parameters ran past `parameters_max`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TooManyParameters;

/// A parsed Content-Type value.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ContentType {
    pub kind: Vec<u8>,
    pub subtype: Vec<u8>,
    pub params: Vec<Param>,
}

/// `None` when the value has no `type "/" subtype`.
pub(crate) fn content_type(
    value: &[u8],
    parameters_max: usize,
) -> Result<Option<ContentType>, TooManyParameters> {
    let at = skip_cfws(value, 0);
    let (kind, at) = token(value, at);
    let at = skip_cfws(value, at);
    if kind.is_empty() || value.get(at) != Some(&b'/') {
        return Ok(None);
    }
    let at = skip_cfws(value, at + 1);
    let (subtype, at) = token(value, at);
    if subtype.is_empty() {
        return Ok(None);
    }
    let params = parameters(value, at, parameters_max)?;
    Ok(Some(ContentType {
        kind: kind.to_vec(),
        subtype: subtype.to_vec(),
        params,
    }))
}

/// `None` when the value has no disposition type.
pub(crate) fn disposition(
    value: &[u8],
    parameters_max: usize,
) -> Result<Option<Disposition>, TooManyParameters> {
    let at = skip_cfws(value, 0);
    let (kind, at) = token(value, at);
    if kind.is_empty() {
        return Ok(None);
    }
    let params = parameters(value, at, parameters_max)?;
    Ok(Some(Disposition {
        kind: kind.to_vec(),
        params,
    }))
}

/// RFC 3282: a comma-separated list of language tags.
pub(crate) fn languages(
    value: &[u8],
    parameters_max: usize,
) -> Result<Vec<Vec<u8>>, TooManyParameters> {
    let mut tags = Vec::new();
    let mut at = 0;
    loop {
        at = skip_cfws(value, at);
        let Some(&octet) = value.get(at) else {
            return Ok(tags);
        };
        let (tag, after) = token(value, at);
        if tag.is_empty() {
            // A separator or a stray special.
            at = if octet == b'"' {
                quoted(value, at).1
            } else {
                at + 1
            };
            continue;
        }
        if tags.len() == parameters_max {
            return Err(TooManyParameters);
        }
        tags.push(tag.to_vec());
        at = after;
    }
}

/// One `attribute=value` as written, before RFC 2231 joining.
struct Raw<'a> {
    /// The attribute without any RFC 2231 suffix.
    base: &'a [u8],
    /// The attribute as written.
    name: &'a [u8],
    section: Option<u32>,
    /// Ends with `*`: the value is `charset'language'percent-encoded` (or, for sections
    /// after the first, percent-encoded).
    extended: bool,
    value: Vec<u8>,
}

fn parameters(
    value: &[u8],
    mut at: usize,
    parameters_max: usize,
) -> Result<Vec<Param>, TooManyParameters> {
    let mut raw = Vec::new();
    loop {
        at = skip_cfws(value, at);
        match value.get(at) {
            None => break,
            Some(b';') => at = skip_cfws(value, at + 1),
            // Junk where a `;` belongs: skip it.
            Some(_) => {
                at = skip_to_semicolon(value, at);
                continue;
            }
        }
        let (name, after_name) = token(value, at);
        let after_name = skip_cfws(value, after_name);
        if name.is_empty() || value.get(after_name) != Some(&b'=') {
            at = skip_to_semicolon(value, after_name.max(at));
            continue;
        }
        let start = skip_cfws(value, after_name + 1);
        let mut parsed = Vec::new();
        at = if value.get(start) == Some(&b'"') {
            let (escaped, after) = quoted(value, start);
            unquote_into(escaped, &mut parsed);
            after
        } else {
            let end = value[start..]
                .iter()
                .position(|&octet| ends_lenient_value(octet))
                .map_or(value.len(), |length| start + length);
            parsed.extend_from_slice(&value[start..end]);
            end
        };
        if raw.len() == parameters_max {
            return Err(TooManyParameters);
        }
        raw.push(split_name(name, parsed));
    }
    Ok(join(raw))
}

fn skip_to_semicolon(value: &[u8], mut at: usize) -> usize {
    while let Some(&octet) = value.get(at) {
        match octet {
            b';' => return at,
            b'"' => at = quoted(value, at).1,
            _ => at += 1,
        }
    }
    at
}

/// `name`, `name*`, `name*3` or `name*3*` (RFC 2231 §7 `parameter`).
fn split_name(name: &[u8], value: Vec<u8>) -> Raw<'_> {
    let (stem, extended) = match name.strip_suffix(b"*") {
        Some(stem) if !stem.is_empty() => (stem, true),
        _ => (name, false),
    };
    let digits = stem
        .iter()
        .rev()
        .take_while(|octet| octet.is_ascii_digit())
        .count();
    let section_at = stem.len() - digits;
    let section = if digits > 0 && digits <= 9 && section_at >= 2 && stem[section_at - 1] == b'*' {
        std::str::from_utf8(&stem[section_at..])
            .ok()
            .and_then(|text| text.parse::<u32>().ok())
    } else {
        None
    };
    let base = match section {
        Some(_) => &stem[..section_at - 1],
        None => stem,
    };
    Raw {
        base,
        name,
        section,
        extended,
        value,
    }
}

/// Joins continued parameters into one, placed where its first section appeared. Sections
/// are taken in numeric order (RFC 2231 §3: parameters may be reordered in transit) from 0
/// up to the first gap; later ones are dropped.
fn join(raw: Vec<Raw<'_>>) -> Vec<Param> {
    let mut params = Vec::with_capacity(raw.len());
    let mut joined_bases: Vec<&[u8]> = Vec::new();
    for (index, parameter) in raw.iter().enumerate() {
        if parameter.section.is_none() {
            params.push(Param {
                name: parameter.name.to_vec(),
                value: parameter.value.clone(),
            });
            continue;
        }
        if joined_bases
            .iter()
            .any(|base| base.eq_ignore_ascii_case(parameter.base))
        {
            continue;
        }
        joined_bases.push(parameter.base);
        let mut sections: Vec<&Raw<'_>> = raw[index..]
            .iter()
            .filter(|other| {
                other.section.is_some() && other.base.eq_ignore_ascii_case(parameter.base)
            })
            .collect();
        sections.sort_by_key(|section| section.section);
        let mut expected = 0u32;
        let contiguous: Vec<&Raw<'_>> = sections
            .into_iter()
            .filter(|section| {
                if section.section == Some(expected) {
                    expected += 1;
                    true
                } else {
                    false
                }
            })
            .collect();
        if let Some(param) = join_sections(parameter.base, &contiguous) {
            params.push(param);
        }
    }
    params
}

fn join_sections(base: &[u8], sections: &[&Raw<'_>]) -> Option<Param> {
    let first = sections.first()?;
    let mut name = base.to_vec();
    let mut value = Vec::new();
    if !sections.iter().any(|section| section.extended) {
        for section in sections {
            value.extend_from_slice(&section.value);
        }
        return Some(Param { name, value });
    }
    // RFC 2231 §4.1: charset and language come only in the first section, which must then be
    // extended; when it is not, the joined value gets empty ones.
    name.push(b'*');
    if !first.extended {
        value.extend_from_slice(b"''");
    }
    for section in sections {
        if section.extended {
            value.extend_from_slice(&section.value);
        } else {
            percent_encode(&section.value, &mut value);
        }
    }
    Some(Param { name, value })
}

/// RFC 2231 §7: octets other than `attribute-char` are written as `%XX`.
fn percent_encode(value: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &octet in value {
        let plain = octet > b' ' && octet < 0x7f && !ends_token(octet) && !b"*'%".contains(&octet);
        if plain {
            out.push(octet);
        } else {
            out.extend_from_slice(&[
                b'%',
                HEX[usize::from(octet >> 4)],
                HEX[usize::from(octet & 15)],
            ]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(params: &[Param]) -> Vec<(String, String)> {
        params
            .iter()
            .map(|param| {
                (
                    String::from_utf8_lossy(&param.name).into_owned(),
                    String::from_utf8_lossy(&param.value).into_owned(),
                )
            })
            .collect()
    }

    fn parse(value: &str) -> ContentType {
        content_type(value.as_bytes(), 64).unwrap().unwrap()
    }

    #[test]
    fn type_subtype_and_quoted_or_lenient_values() {
        let parsed = parse(
            " Multipart/Mixed (comment) ; boundary=----=_Part_1 ;charset=\"a\\\"b\"; x = y ;",
        );
        assert_eq!(parsed.kind, b"Multipart");
        assert_eq!(parsed.subtype, b"Mixed");
        assert_eq!(
            pairs(&parsed.params),
            [
                ("boundary", "----=_Part_1"),
                ("charset", "a\"b"),
                ("x", "y")
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
    }

    #[test]
    fn invalid_content_type_is_none() {
        // RFC 2045 §5.2: the caller then assumes the default.
        assert_eq!(content_type(b"text", 64), Ok(None));
        assert_eq!(content_type(b"/plain", 64), Ok(None));
        assert_eq!(content_type(b"text/", 64), Ok(None));
        assert_eq!(content_type(b"", 64), Ok(None));
    }

    #[test]
    fn junk_between_parameters_is_skipped() {
        let parsed = parse("text/plain; junk \"q;uoted\" ; name=file name.txt; =x; charset=utf-8");
        assert_eq!(
            pairs(&parsed.params),
            [("name", "file"), ("charset", "utf-8")].map(|(a, b)| (a.to_string(), b.to_string()))
        );
    }

    #[test]
    fn rfc2231_section_4_1_example_joins_into_one_extended_parameter() {
        let parsed = parse(
            "application/x-stuff; title*1*=%2A%2A%2Afun%2A%2A%2A%20; \
             title*0*=us-ascii'en'This%20is%20even%20more%20; title*2=\"isn't it!\"",
        );
        assert_eq!(
            pairs(&parsed.params),
            [(
                "title*".to_string(),
                "us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn%27t%20it!"
                    .to_string()
            )]
        );
    }

    #[test]
    fn rfc2231_section_3_plain_continuations_join_plainly() {
        let parsed = parse(
            "message/external-body; access-type=URL; URL*0=\"ftp://\"; \
             URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"",
        );
        assert_eq!(
            pairs(&parsed.params),
            [
                ("access-type", "URL"),
                (
                    "URL",
                    "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"
                )
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
    }

    #[test]
    fn rfc2231_gaps_end_the_value_and_unencoded_first_section_gets_empty_charset() {
        let parsed = parse("text/plain; a*0=x; a*2=z; b*0=\"p q\"; b*1*=%41");
        assert_eq!(
            pairs(&parsed.params),
            [("a", "x"), ("b*", "''p%20q%41")].map(|(a, b)| (a.to_string(), b.to_string()))
        );
        // A lone extended parameter passes through as written.
        let parsed = parse("text/plain; name*=utf-8''%E2%82%AC.txt");
        assert_eq!(
            pairs(&parsed.params),
            [("name*".to_string(), "utf-8''%E2%82%AC.txt".to_string())]
        );
    }

    #[test]
    fn parameters_max_counts_sections() {
        assert_eq!(
            content_type(b"text/plain; a=1; b=2; c=3", 3).map(|ct| ct.is_some()),
            Ok(true)
        );
        assert_eq!(
            content_type(b"text/plain; a=1; b=2; c=3; d=4", 3),
            Err(TooManyParameters)
        );
    }

    #[test]
    fn disposition_and_languages() {
        let parsed = disposition(b"attachment; filename=\"a b.pdf\"", 8)
            .unwrap()
            .unwrap();
        assert_eq!(parsed.kind, b"attachment");
        assert_eq!(
            pairs(&parsed.params),
            [("filename".to_string(), "a b.pdf".to_string())]
        );
        assert_eq!(disposition(b" ;x=y", 8), Ok(None));
        assert_eq!(
            languages(b" en-US (English), ,fr ", 8),
            Ok(vec![b"en-US".to_vec(), b"fr".to_vec()])
        );
        assert_eq!(languages(b"a, b, c", 2), Err(TooManyParameters));
    }
}
