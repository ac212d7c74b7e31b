//! The Date field (RFC 5322 §3.3, with the obsolete forms of §4.3) as Unix seconds, for
//! SEARCH SENTBEFORE/SENTON/SENTSINCE and SORT DATE.

use super::lex::skip_cfws;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Number(&'a [u8]),
    Word(&'a [u8]),
    Sign(i64),
    Colon,
}

/// Words, numbers, signs and colons; commas, dots and comments are only separators.
fn tokens(value: &[u8]) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut at = 0;
    loop {
        at = skip_cfws(value, at);
        let Some(&octet) = value.get(at) else {
            return tokens;
        };
        let run = |class: fn(&u8) -> bool| {
            value[at..]
                .iter()
                .position(|octet| !class(octet))
                .map_or(value.len(), |length| at + length)
        };
        let (token, next) = match octet {
            b'0'..=b'9' => {
                let end = run(u8::is_ascii_digit);
                (Some(Token::Number(&value[at..end])), end)
            }
            b'a'..=b'z' | b'A'..=b'Z' => {
                let end = run(u8::is_ascii_alphabetic);
                (Some(Token::Word(&value[at..end])), end)
            }
            b'+' => (Some(Token::Sign(1)), at + 1),
            b'-' => (Some(Token::Sign(-1)), at + 1),
            b':' => (Some(Token::Colon), at + 1),
            _ => (None, at + 1),
        };
        if let Some(token) = token {
            if tokens.len() == 32 {
                return tokens;
            }
            tokens.push(token);
        }
        at = next;
    }
}

fn number(digits: &[u8]) -> Option<i64> {
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0i64, |value, digit| value * 10 + i64::from(digit - b'0')),
    )
}

fn month(name: &[u8]) -> Option<i64> {
    const MONTHS: [&[u8]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    let prefix = name.get(..3)?;
    let index = MONTHS
        .iter()
        .position(|month| month.eq_ignore_ascii_case(prefix))?;
    Some(index as i64 + 1)
}

/// Zone offset in minutes east of UTC for an obs-zone name. Military and unknown zones are
/// -0000 (RFC 5322 §4.3: their meaning is unpredictable).
fn zone_name(name: &[u8]) -> i64 {
    const ZONES: [(&[u8], i64); 10] = [
        (b"ut", 0),
        (b"gmt", 0),
        (b"est", -5),
        (b"edt", -4),
        (b"cst", -6),
        (b"cdt", -5),
        (b"mst", -7),
        (b"mdt", -6),
        (b"pst", -8),
        (b"pdt", -7),
    ];
    ZONES
        .iter()
        .find(|(zone, _)| zone.eq_ignore_ascii_case(name))
        .map_or(0, |&(_, hours)| hours * 60)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Parses `[day-of-week ","] day month year hour ":" minute [":" second] [zone]`. A missing
/// zone is taken as +0000. `None` when the date cannot be read.
pub fn parse_date(value: &[u8]) -> Option<i64> {
    let tokens = tokens(value);
    let mut rest = tokens.as_slice();
    if let [Token::Word(_), tail @ ..] = rest {
        rest = tail; // day-of-week
    }
    let [
        Token::Number(day),
        Token::Word(month_name),
        Token::Number(year),
        tail @ ..,
    ] = rest
    else {
        return None;
    };
    let day = number(day)?;
    let month = month(month_name)?;
    let year = match (year.len(), number(year)?) {
        // RFC 5322 §4.3: 00-49 are 2000-2049, 50-99 and three digits are 1900 + the value.
        (2, short) if short < 50 => 2000 + short,
        (2 | 3, short) => 1900 + short,
        (_, full) => full,
    };
    let [
        Token::Number(hour),
        Token::Colon,
        Token::Number(minute),
        tail @ ..,
    ] = tail
    else {
        return None;
    };
    let (hour, minute) = (number(hour)?, number(minute)?);
    let (second, tail) = match tail {
        [Token::Colon, Token::Number(second), tail @ ..] => (number(second)?, tail),
        _ => (0, tail),
    };
    let offset_minutes = match tail {
        [Token::Sign(sign), Token::Number(digits), ..] if digits.len() == 4 => {
            let hhmm = number(digits)?;
            sign * (hhmm / 100 * 60 + hhmm % 100)
        }
        [Token::Word(name), ..] => zone_name(name),
        _ => 0,
    };
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 || year > 9999 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5322_appendix_a_dates() {
        // 1997-11-21 09:55:06 -0600 is 15:55:06 UTC.
        assert_eq!(
            parse_date(b"Fri, 21 Nov 1997 09:55:06 -0600"),
            Some(880_127_706)
        );
        assert_eq!(parse_date(b"Thu,\r\n      13\r\n        Feb\r\n          1969\r\n      23:32\r\n               -0330 (Newfoundland Time)"), Some(-27_723_480));
        assert_eq!(parse_date(b"21 Nov 97 09:55:06 GMT"), Some(880_106_106));
    }

    #[test]
    fn obsolete_and_lenient_forms() {
        assert_eq!(parse_date(b"1 Jan 1970 00:00 +0000"), Some(0));
        assert_eq!(parse_date(b"1 jan 2000 00:00:00 EST"), Some(946_702_800));
        assert_eq!(parse_date(b"1 January 49 00:00:00 Z"), Some(2_493_072_000));
        assert_eq!(
            parse_date(b"Sat, 1 Jan 100 00:00:00"),
            parse_date(b"1 Jan 2000 00:00:00")
        );
        assert_eq!(
            parse_date(b"1 Jan 1900 00:00:00 +0000"),
            Some(-2_208_988_800)
        );
    }

    #[test]
    fn nonsense_is_none() {
        for value in [
            &b""[..],
            b"yesterday",
            b"32 Jan 2000 00:00",
            b"1 Foo 2000 00:00",
            b"1 Jan 2000",
            b"1 Jan 2000 24:00",
            b"1 Jan 99999999999999 00:00",
        ] {
            assert_eq!(
                parse_date(value),
                None,
                "{}",
                String::from_utf8_lossy(value)
            );
        }
    }
}
