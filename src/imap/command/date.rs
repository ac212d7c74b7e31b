//! SEARCH dates (`date`) and APPEND / INTERNALDATE date-times (`date-time`) of RFC 3501 §9,
//! with the calendar arithmetic done here (proleptic Gregorian, no time-zone database needed:
//! IMAP date-times carry their own numeric zone).

use std::fmt;

use super::lexer::{Lexed, Lexer};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

const SECONDS_PER_DAY: i64 = 86_400;

/// A calendar day without a time or zone, as SEARCH BEFORE/ON/SINCE take it. Ordered by date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: u16,
    /// 1 to 12.
    pub month: u8,
    /// 1 to the length of the month.
    pub day: u8,
}

impl Date {
    /// Builds a date, `None` when the day does not exist (year 0 excluded).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        let valid =
            year >= 1 && (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        valid.then_some(Date { year, month, day })
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(&self) -> i64 {
        days_before_year(i64::from(self.year))
            + i64::from(day_of_year(self.year, self.month, self.day))
            - 1
    }

    /// The date of a day counted from 1970-01-01, for years 1 to 9999.
    pub fn from_days_since_epoch(days: i64) -> Option<Date> {
        // Start from an estimate by the mean Gregorian year and walk to the right year.
        let mut year = (1970 + days.saturating_mul(400).div_euclid(146_097)).clamp(1, 9999);
        while year > 1 && days_before_year(year) > days {
            year -= 1;
        }
        while year < 9999 && days_before_year(year + 1) <= days {
            year += 1;
        }
        let mut remaining = days - days_before_year(year);
        if remaining < 0 {
            return None;
        }
        let year = u16::try_from(year).ok()?;
        for month in 1..=12u8 {
            let length = i64::from(days_in_month(year, month));
            if remaining < length {
                return Date::new(year, month, u8::try_from(remaining + 1).ok()?);
            }
            remaining -= length;
        }
        None
    }
}

/// `d-Mon-yyyy`, the form SEARCH takes.
impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let month = MONTHS[usize::from(self.month.clamp(1, 12) - 1)];
        write!(f, "{}-{}-{:04}", self.day, month, self.year)
    }
}

/// An instant with the zone it was written in (APPEND's `date-time`, FETCH INTERNALDATE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub unix_secs: i64,
    /// The zone's offset east of UTC, in minutes (`+0130` is 90).
    pub zone_minutes: i16,
}

/// `dd-Mon-yyyy hh:mm:ss +zzzz` without the quotes (RFC 3501 §9 `date-time`, 2-digit day).
impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local = self
            .unix_secs
            .saturating_add(i64::from(self.zone_minutes) * 60);
        let days = local.div_euclid(SECONDS_PER_DAY);
        let seconds = local.rem_euclid(SECONDS_PER_DAY);
        let date = Date::from_days_since_epoch(days).unwrap_or(Date {
            year: 1970,
            month: 1,
            day: 1,
        });
        let month = MONTHS[usize::from(date.month - 1)];
        let sign = if self.zone_minutes < 0 { '-' } else { '+' };
        let zone = self.zone_minutes.unsigned_abs();
        write!(
            f,
            "{:02}-{}-{:04} {:02}:{:02}:{:02} {}{:02}{:02}",
            date.day,
            month,
            date.year,
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60,
            sign,
            zone / 60,
            zone % 60
        )
    }
}

fn is_leap_year(year: u16) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 31,
    }
}

fn day_of_year(year: u16, month: u8, day: u8) -> u16 {
    let before: u16 = (1..month).map(|m| u16::from(days_in_month(year, m))).sum();
    before + u16::from(day)
}

/// Days from 1970-01-01 to January 1st of `year` (year ≥ 1).
fn days_before_year(year: i64) -> i64 {
    let leap_years_before = |y: i64| (y - 1) / 4 - (y - 1) / 100 + (y - 1) / 400;
    365 * (year - 1970) + leap_years_before(year) - leap_years_before(1970)
}

/// `date-month`, case-insensitively.
fn month(lexer: &mut Lexer<'_>) -> Lexed<u8> {
    for (index, name) in MONTHS.iter().enumerate() {
        if lexer.eat_keyword(name) {
            return Ok(index as u8 + 1);
        }
    }
    Err("invalid month")
}

fn digits(lexer: &mut Lexer<'_>, count: usize, reason: &'static str) -> Lexed<u16> {
    let mut value = 0u16;
    for _ in 0..count {
        match lexer.peek() {
            Some(digit @ b'0'..=b'9') => {
                lexer.eat(digit);
                value = value * 10 + u16::from(digit - b'0');
            }
            _ => return Err(reason),
        }
    }
    Ok(value)
}

/// `date-day "-" date-month "-" date-year`, with `date-day = 1*2DIGIT`.
fn date_text(lexer: &mut Lexer<'_>) -> Lexed<Date> {
    let day = digits(lexer, 1, "invalid date")?;
    let day = match lexer.peek() {
        Some(digit @ b'0'..=b'9') => {
            lexer.eat(digit);
            day * 10 + u16::from(digit - b'0')
        }
        _ => day,
    };
    lexer.expect(b'-', "invalid date")?;
    let month = month(lexer)?;
    lexer.expect(b'-', "invalid date")?;
    let year = digits(lexer, 4, "invalid date")?;
    let day = u8::try_from(day).map_err(|_| "invalid date")?;
    Date::new(year, month, day).ok_or("invalid date")
}

/// `date = date-text / DQUOTE date-text DQUOTE`.
pub(super) fn date(lexer: &mut Lexer<'_>) -> Lexed<Date> {
    if lexer.eat(b'"') {
        let date = date_text(lexer)?;
        lexer.expect(b'"', "invalid date")?;
        Ok(date)
    } else {
        date_text(lexer)
    }
}

/// `date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE`.
/// A one-digit day without the leading space is accepted too.
pub(super) fn date_time(lexer: &mut Lexer<'_>) -> Lexed<DateTime> {
    const INVALID: &str = "invalid date-time";
    lexer.expect(b'"', INVALID)?;
    lexer.eat(b' ');
    let date = date_text(lexer).map_err(|_| INVALID)?;
    lexer.expect(b' ', INVALID)?;
    let hours = digits(lexer, 2, INVALID)?;
    lexer.expect(b':', INVALID)?;
    let minutes = digits(lexer, 2, INVALID)?;
    lexer.expect(b':', INVALID)?;
    // 60 admits a leap second; it counts as the first second of the next minute.
    let seconds = digits(lexer, 2, INVALID)?;
    lexer.expect(b' ', INVALID)?;
    let sign: i64 = if lexer.eat(b'+') {
        1
    } else if lexer.eat(b'-') {
        -1
    } else {
        return Err(INVALID);
    };
    let zone_hours = digits(lexer, 2, INVALID)?;
    let zone_mins = digits(lexer, 2, INVALID)?;
    lexer.expect(b'"', INVALID)?;
    if hours > 23 || minutes > 59 || seconds > 60 || zone_hours > 23 || zone_mins > 59 {
        return Err(INVALID);
    }
    let zone_minutes = sign * i64::from(zone_hours * 60 + zone_mins);
    let local = date.days_since_epoch() * SECONDS_PER_DAY
        + i64::from(hours) * 3600
        + i64::from(minutes) * 60
        + i64::from(seconds);
    Ok(DateTime {
        // RFC 3501 §9 `zone`: subtracting the zone from the given time gives UT.
        unix_secs: local - zone_minutes * 60,
        zone_minutes: zone_minutes as i16,
    })
}
