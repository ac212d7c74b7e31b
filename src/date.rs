//! Calendar arithmetic for the dates the protocols write and read: RFC 5322 `Date:` headers,
//! IMAP INTERNALDATE and SEARCH dates. UTC only; no time-zone database.

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
pub const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// RFC 5322 §3.3 date-time in UTC, e.g. `Tue, 24 Nov 2026 10:11:12 +0000`.
pub fn rfc5322_date(unix_secs: u64) -> String {
    let days = unix_secs / 86_400;
    let seconds = unix_secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    // 1 January 1970 was a Thursday.
    let weekday = WEEKDAYS[((days + 4) % 7) as usize];
    format!(
        "{weekday}, {day} {} {year} {:02}:{:02}:{:02} +0000",
        MONTHS[month],
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// The Gregorian date `days` after 1 January 1970: (year, month 0–11, day of month 1–31).
pub fn civil_from_days(mut days: u64) -> (u64, usize, u64) {
    let mut year = 1970;
    loop {
        let length = if is_leap_year(year) { 366 } else { 365 };
        if days < length {
            break;
        }
        days -= length;
        year += 1;
    }
    let february = if is_leap_year(year) { 29 } else { 28 };
    let lengths = [31, february, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut month = 0;
    while days >= lengths[month] {
        days -= lengths[month];
        month += 1;
    }
    (year, month, days + 1)
}

pub fn is_leap_year(year: u64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days from 1 January 1970 to the Gregorian date (month 0–11, day 1–31); None before 1970.
pub fn days_from_civil(year: u64, month: usize, day: u64) -> Option<u64> {
    if year < 1970 || month > 11 || day == 0 || day > 31 {
        return None;
    }
    let mut days = 0;
    for y in 1970..year {
        days += if is_leap_year(y) { 366 } else { 365 };
    }
    let february = if is_leap_year(year) { 29 } else { 28 };
    let lengths = [31, february, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if day > lengths[month] {
        return None;
    }
    days += lengths[..month].iter().sum::<u64>();
    Some(days + day - 1)
}

/// Seconds since the Unix epoch now (0 if the clock is before it).
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// RFC 3501 §9 `date-time` in UTC, e.g. `24-Nov-2026 10:11:12 +0000` (INTERNALDATE).
pub fn imap_date_time(unix_secs: i64) -> String {
    let unix_secs = u64::try_from(unix_secs).unwrap_or(0);
    let (year, month, day) = civil_from_days(unix_secs / 86_400);
    let seconds = unix_secs % 86_400;
    format!(
        "{day:02}-{}-{year} {:02}:{:02}:{:02} +0000",
        MONTHS[month],
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc5322_in_utc() {
        assert_eq!(rfc5322_date(0), "Thu, 1 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc5322_date(1_795_515_072),
            "Tue, 24 Nov 2026 10:11:12 +0000"
        );
        // Leap days, the last second of a leap year, and 2000 (divisible by 400).
        assert_eq!(rfc5322_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
        assert_eq!(
            rfc5322_date(1_709_164_800),
            "Thu, 29 Feb 2024 00:00:00 +0000"
        );
        assert_eq!(
            rfc5322_date(1_735_689_599),
            "Tue, 31 Dec 2024 23:59:59 +0000"
        );
        assert_eq!(
            rfc5322_date(4_107_542_400),
            "Mon, 1 Mar 2100 00:00:00 +0000"
        );
    }

    #[test]
    fn civil_dates_walk_every_day() {
        // Each day follows the previous one, over four centuries.
        let mut previous = civil_from_days(0);
        for days in 1..146_097 {
            let (year, month, day) = civil_from_days(days);
            let (last_year, last_month, last_day) = previous;
            let next_day = (year, month, day) == (last_year, last_month, last_day + 1);
            let next_month = year == last_year && month == last_month + 1 && day == 1;
            let next_year = year == last_year + 1 && month == 0 && day == 1 && last_month == 11;
            assert!(next_day || next_month || next_year, "day {days}");
            previous = (year, month, day);
        }
        assert_eq!(previous, (2369, 11, 31));
    }

    #[test]
    fn days_round_trip() {
        for days in (0..146_097).step_by(7) {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(days_from_civil(year, month, day), Some(days));
        }
        assert_eq!(days_from_civil(2026, 1, 29), None);
    }

    #[test]
    fn internal_dates() {
        assert_eq!(imap_date_time(1_795_515_072), "24-Nov-2026 10:11:12 +0000");
        assert_eq!(imap_date_time(0), "01-Jan-1970 00:00:00 +0000");
    }
}
