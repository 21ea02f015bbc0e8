//! Time as the domain counts it: UTC instants to the millisecond, and the periods regimes
//! set their deadlines in.
//!
//! A [`Timestamp`] is a count of milliseconds since the Unix epoch, limited to the years
//! 1970 to 9999 so that every instant has one RFC 3339 spelling. A [`Period`] is a legal
//! time limit: calendar days, working days, weeks or calendar months.
//! [`Timestamp::plus`] adds a period to an instant, keeping the time of day:
//!
//! - calendar days and weeks add whole days of 24 hours (UTC has no daylight saving);
//! - working days are Monday to Friday. Public holidays are **not** taken into account yet:
//!   every state has its own calendar and none is modelled, so a working-day limit that
//!   spans a holiday ends one working day early;
//! - months keep the day of the month, and fall back to the month's last day when it has no
//!   such day (31 January plus one month is 28 or 29 February), as Regulation 1182/71 does.
//!
//! A deadline is an instant: a limit of 14 days from a receipt at 10:00 ends at 10:00, 14 days
//! later. The end-of-day rounding of Regulation 1182/71 is not applied; a regime that needs it
//! can express its limits one day longer.
//!
//! This module never reads the clock: every instant comes in as an argument. Additions that
//! would leave the year 9999 stop at [`Timestamp::MAX`], which the lifecycles treat as "never".

use std::fmt;

use crate::coded::parse_traits;

const MILLIS_PER_SECOND: i64 = 1_000;
const MILLIS_PER_MINUTE: i64 = 60 * MILLIS_PER_SECOND;
const MILLIS_PER_HOUR: i64 = 60 * MILLIS_PER_MINUTE;
const MILLIS_PER_DAY: i64 = 24 * MILLIS_PER_HOUR;
const DAYS_PER_WEEK: i64 = 7;
const WORKING_DAYS_PER_WEEK: i64 = 5;
const YEAR_MIN: i64 = 1970;
const YEAR_MAX: i64 = 9999;

/// Why a value is not a timestamp or a calendar date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The milliseconds fall outside the years 1970 to 9999.
    #[error(
        "{millis} ms since the epoch is outside 1970-01-01T00:00:00.000Z..=9999-12-31T23:59:59.999Z"
    )]
    OutOfRange {
        /// The refused count of milliseconds since the Unix epoch.
        millis: i64,
    },
    /// Year, month and day do not name a day of the Gregorian calendar between 1970 and 9999.
    #[error("{year:04}-{month:02}-{day:02} is not a calendar date between 1970 and 9999")]
    InvalidDate {
        /// The year given.
        year: i64,
        /// The month given (1–12 would be valid).
        month: u32,
        /// The day given.
        day: u32,
    },
    /// Hour, minute, second and millisecond do not name a time of day.
    #[error("{hour:02}:{minute:02}:{second:02}.{millisecond:03} is not a time of day")]
    InvalidTimeOfDay {
        /// The hour given (0–23 would be valid).
        hour: u32,
        /// The minute given (0–59 would be valid).
        minute: u32,
        /// The second given (0–59 would be valid; leap seconds are refused).
        second: u32,
        /// The millisecond given (0–999 would be valid).
        millisecond: u32,
    },
    /// The text is not of the form `YYYY-MM-DDTHH:MM:SS[.sss]Z`.
    #[error("{0:?} is not an RFC 3339 UTC timestamp of the form YYYY-MM-DDTHH:MM:SS[.sss]Z")]
    Syntax(String),
}

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Weekday {
    /// Monday, the first working day.
    Monday,
    /// Tuesday.
    Tuesday,
    /// Wednesday.
    Wednesday,
    /// Thursday.
    Thursday,
    /// Friday, the last working day.
    Friday,
    /// Saturday.
    Saturday,
    /// Sunday.
    Sunday,
}

impl Weekday {
    /// The days in order, Monday first.
    pub const ALL: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];

    /// Whether the day counts as a working day (Monday to Friday; holidays are not modelled).
    pub fn is_working_day(self) -> bool {
        !matches!(self, Weekday::Saturday | Weekday::Sunday)
    }

    /// Days since the epoch to weekday. 1970-01-01 was a Thursday.
    fn from_epoch_day(epoch_day: i64) -> Self {
        Self::ALL[(epoch_day + 3).rem_euclid(DAYS_PER_WEEK) as usize]
    }

    /// Monday is 0, Sunday 6.
    fn index(self) -> i64 {
        self as i64
    }
}

/// A day of the Gregorian calendar between the years 1970 and 9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CalendarDate {
    year: u16,
    month: u8,
    day: u8,
}

impl CalendarDate {
    /// Validates a date: the year within 1970–9999, the month 1–12, the day within the month.
    pub fn new(year: i64, month: u32, day: u32) -> Result<Self, Error> {
        let invalid = Error::InvalidDate { year, month, day };
        if !(YEAR_MIN..=YEAR_MAX).contains(&year) || !(1..=12).contains(&month) {
            return Err(invalid);
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(invalid);
        }
        // Invariant: the checks above bound year to 4 digits, month to 12 and day to 31.
        Ok(Self {
            year: year as u16,
            month: month as u8,
            day: day as u8,
        })
    }

    /// The year, 1970–9999.
    pub fn year(self) -> i64 {
        i64::from(self.year)
    }

    /// The month, 1–12.
    pub fn month(self) -> u32 {
        u32::from(self.month)
    }

    /// The day of the month, 1–31.
    pub fn day(self) -> u32 {
        u32::from(self.day)
    }

    /// The day of the week.
    pub fn weekday(self) -> Weekday {
        Weekday::from_epoch_day(self.epoch_day())
    }

    fn epoch_day(self) -> i64 {
        days_from_civil(self.year(), self.month(), self.day())
    }

    fn from_epoch_day(epoch_day: i64) -> Self {
        let (year, month, day) = civil_from_days(epoch_day);
        // Invariant: callers pass days of in-range timestamps, so the parts fit.
        Self {
            year: year as u16,
            month: month as u8,
            day: day as u8,
        }
    }
}

impl fmt::Display for CalendarDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A legal time limit, in the unit the regime counts it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// Consecutive days, weekends included.
    CalendarDays(u32),
    /// Days Monday to Friday (public holidays not modelled).
    WorkingDays(u32),
    /// Weeks of seven calendar days.
    Weeks(u32),
    /// Calendar months, ending on the same day of the month (or the month's last day).
    Months(u32),
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::CalendarDays(days) => write!(f, "{days} calendar days"),
            Period::WorkingDays(days) => write!(f, "{days} working days"),
            Period::Weeks(weeks) => write!(f, "{weeks} weeks"),
            Period::Months(months) => write!(f, "{months} months"),
        }
    }
}

/// A UTC instant with millisecond precision, between 1970 and the end of 9999.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// 1970-01-01T00:00:00.000Z, the first representable instant.
    pub const MIN: Timestamp = Timestamp(0);
    /// 9999-12-31T23:59:59.999Z, the last representable instant; sums past it stop here.
    pub const MAX: Timestamp = Timestamp(253_402_300_799_999);

    /// The instant `millis` milliseconds after the Unix epoch.
    pub fn from_millis(millis: i64) -> Result<Self, Error> {
        if (Self::MIN.0..=Self::MAX.0).contains(&millis) {
            Ok(Self(millis))
        } else {
            Err(Error::OutOfRange { millis })
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn as_millis(self) -> i64 {
        self.0
    }

    /// The instant at a UTC date and time of day. Leap seconds are refused.
    pub fn from_utc(
        year: i64,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
        millisecond: u32,
    ) -> Result<Self, Error> {
        let date = CalendarDate::new(year, month, day)?;
        if hour > 23 || minute > 59 || second > 59 || millisecond > 999 {
            return Err(Error::InvalidTimeOfDay {
                hour,
                minute,
                second,
                millisecond,
            });
        }
        let time_of_day = i64::from(hour) * MILLIS_PER_HOUR
            + i64::from(minute) * MILLIS_PER_MINUTE
            + i64::from(second) * MILLIS_PER_SECOND
            + i64::from(millisecond);
        Ok(Self(date.epoch_day() * MILLIS_PER_DAY + time_of_day))
    }

    /// Midnight UTC at the start of `date`.
    pub fn at_start_of(date: CalendarDate) -> Self {
        Self(date.epoch_day() * MILLIS_PER_DAY)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.sss]Z` (RFC 3339, UTC only, no fraction or exactly three
    /// digits), the form [`Timestamp`]'s `Display` writes.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let syntax = || Error::Syntax(text.to_owned());
        let bytes = text.as_bytes();
        let shape_ok = matches!(bytes.len(), 20 | 24)
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes[10] == b'T'
            && bytes[13] == b':'
            && bytes[16] == b':'
            && bytes[bytes.len() - 1] == b'Z'
            && (bytes.len() == 20 || bytes[19] == b'.');
        if !shape_ok {
            return Err(syntax());
        }
        let number = |from: usize, to: usize| -> Result<u32, Error> {
            let digits = &text[from..to];
            if digits.bytes().all(|byte| byte.is_ascii_digit()) {
                digits.parse().map_err(|_| syntax())
            } else {
                Err(syntax())
            }
        };
        let millisecond = if bytes.len() == 24 {
            number(20, 23)?
        } else {
            0
        };
        Self::from_utc(
            i64::from(number(0, 4)?),
            number(5, 7)?,
            number(8, 10)?,
            number(11, 13)?,
            number(14, 16)?,
            number(17, 19)?,
            millisecond,
        )
    }

    /// The UTC calendar date of the instant.
    pub fn date(self) -> CalendarDate {
        CalendarDate::from_epoch_day(self.epoch_day())
    }

    /// The day of the week of the instant, in UTC.
    pub fn weekday(self) -> Weekday {
        Weekday::from_epoch_day(self.epoch_day())
    }

    /// The instant `period` later, at the same time of day; [`Timestamp::MAX`] if past 9999.
    pub fn plus(self, period: Period) -> Self {
        match period {
            Period::CalendarDays(days) => self.plus_days(i64::from(days)),
            Period::Weeks(weeks) => self.plus_days(i64::from(weeks) * DAYS_PER_WEEK),
            Period::WorkingDays(days) => self.plus_working_days(i64::from(days)),
            Period::Months(months) => self.plus_months(i64::from(months)),
        }
    }

    /// The instant `millis` later (earlier if negative), kept within [`Timestamp::MIN`] and
    /// [`Timestamp::MAX`].
    pub fn plus_millis(self, millis: i64) -> Self {
        Self(
            self.0
                .saturating_add(millis)
                .clamp(Self::MIN.0, Self::MAX.0),
        )
    }

    /// Milliseconds from `earlier` to `self`; negative if `earlier` is in fact later.
    pub fn millis_since(self, earlier: Timestamp) -> i64 {
        self.0 - earlier.0
    }

    fn epoch_day(self) -> i64 {
        self.0.div_euclid(MILLIS_PER_DAY)
    }

    fn time_of_day(self) -> i64 {
        self.0.rem_euclid(MILLIS_PER_DAY)
    }

    fn plus_days(self, days: i64) -> Self {
        self.plus_millis(days.saturating_mul(MILLIS_PER_DAY))
    }

    /// Lands on the `days`-th weekday after the start. A start on a weekend counts from the
    /// Friday before it, which gives the same landing day (Saturday + 1 → Monday).
    fn plus_working_days(self, days: i64) -> Self {
        if days == 0 {
            return self;
        }
        let start_day = self.epoch_day();
        let weekday = Weekday::from_epoch_day(start_day).index();
        let friday_or_earlier = start_day - (weekday - Weekday::Friday.index()).max(0);
        let weekday = weekday.min(Weekday::Friday.index());
        let whole_weeks = days / WORKING_DAYS_PER_WEEK;
        let remainder = days % WORKING_DAYS_PER_WEEK;
        let mut landing_day = friday_or_earlier + whole_weeks * DAYS_PER_WEEK + remainder;
        if weekday + remainder > Weekday::Friday.index() {
            landing_day += 2; // step over the weekend
        }
        let landing = landing_day.saturating_mul(MILLIS_PER_DAY);
        Self(landing).plus_millis(self.time_of_day())
    }

    fn plus_months(self, months: i64) -> Self {
        let date = self.date();
        let month_index = date.year() * 12 + i64::from(date.month()) - 1 + months;
        let year = month_index.div_euclid(12);
        let month = (month_index.rem_euclid(12) + 1) as u32;
        if year > YEAR_MAX {
            return Self::MAX;
        }
        let day = date.day().min(days_in_month(year, month));
        let landing = days_from_civil(year, month, day) * MILLIS_PER_DAY + self.time_of_day();
        Self(landing.min(Self::MAX.0))
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with milliseconds: `2025-08-06T09:30:00.000Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let time_of_day = self.time_of_day();
        write!(
            f,
            "{}T{:02}:{:02}:{:02}.{:03}Z",
            self.date(),
            time_of_day / MILLIS_PER_HOUR,
            time_of_day % MILLIS_PER_HOUR / MILLIS_PER_MINUTE,
            time_of_day % MILLIS_PER_MINUTE / MILLIS_PER_SECOND,
            time_of_day % MILLIS_PER_SECOND,
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

parse_traits!(Timestamp, Error);

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(epoch_day: i64) -> (i64, u32, u32) {
    let shifted = epoch_day + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::at;

    #[test]
    fn displays_and_parses_rfc_3339_round_trip() {
        for text in [
            "1970-01-01T00:00:00.000Z",
            "2025-08-06T09:30:15.250Z",
            "2024-02-29T23:59:59.999Z",
            "9999-12-31T23:59:59.999Z",
        ] {
            assert_eq!(at(text).to_string(), text);
        }
        assert_eq!(at("2025-08-06T09:30:15Z"), at("2025-08-06T09:30:15.000Z"));
    }

    #[test]
    fn refuses_malformed_or_impossible_instants() {
        for text in [
            "",
            "2025-08-06",
            "2025-08-06T09:30:15+01:00",
            "2025-08-06 09:30:15Z",
            "2025-02-29T00:00:00Z",
            "2025-13-01T00:00:00Z",
            "2025-08-06T24:00:00Z",
            "2025-08-06T23:59:60Z",
            "1969-12-31T23:59:59Z",
            "2025-08-06T09:30:15.5Z",
            "+025-08-06T09:30:15Z",
        ] {
            assert!(Timestamp::parse(text).is_err(), "{text} should be refused");
        }
        assert_eq!(
            Timestamp::from_millis(-1),
            Err(Error::OutOfRange { millis: -1 })
        );
        assert!(Timestamp::from_millis(Timestamp::MAX.as_millis() + 1).is_err());
    }

    #[test]
    fn epoch_arithmetic_matches_known_dates() {
        assert_eq!(at("2025-08-06T00:00:00Z").as_millis(), 1_754_438_400_000);
        assert_eq!(at("2000-03-01T00:00:00Z").date().to_string(), "2000-03-01");
        assert_eq!(at("2025-08-06T00:00:00Z").weekday(), Weekday::Wednesday);
        assert_eq!(at("1970-01-01T00:00:00Z").weekday(), Weekday::Thursday);
    }

    #[test]
    fn calendar_days_and_weeks_keep_the_time_of_day() {
        let start = at("2025-08-06T10:00:00Z");
        assert_eq!(
            start.plus(Period::CalendarDays(14)),
            at("2025-08-20T10:00:00Z")
        );
        assert_eq!(start.plus(Period::Weeks(3)), at("2025-08-27T10:00:00Z"));
        assert_eq!(start.plus(Period::CalendarDays(0)), start);
    }

    #[test]
    fn working_days_step_over_weekends() {
        fn check(start: &str, days: u32, expected: &str) {
            assert_eq!(
                at(start).plus(Period::WorkingDays(days)),
                at(expected),
                "{start} + {days} working days"
            );
        }
        check("2025-08-04T08:00:00Z", 1, "2025-08-05T08:00:00Z"); // Mon → Tue
        check("2025-08-07T08:00:00Z", 3, "2025-08-12T08:00:00Z"); // Thu → Tue
        check("2025-08-08T08:00:00Z", 1, "2025-08-11T08:00:00Z"); // Fri → Mon
        check("2025-08-09T08:00:00Z", 1, "2025-08-11T08:00:00Z"); // Sat → Mon
        check("2025-08-10T08:00:00Z", 5, "2025-08-15T08:00:00Z"); // Sun → Fri
        check("2025-08-04T08:00:00Z", 5, "2025-08-11T08:00:00Z"); // Mon → Mon
        check("2025-08-08T08:00:00Z", 10, "2025-08-22T08:00:00Z"); // Fri → Fri
        check("2025-08-09T08:00:00Z", 0, "2025-08-09T08:00:00Z");
    }

    #[test]
    fn working_days_agree_with_counting_one_day_at_a_time() {
        let start = at("2025-08-01T12:00:00Z");
        for offset in 0..14 {
            let from = start.plus(Period::CalendarDays(offset));
            for days in 0..12 {
                let mut day = from;
                let mut counted = 0;
                while counted < days {
                    day = day.plus(Period::CalendarDays(1));
                    if day.weekday().is_working_day() {
                        counted += 1;
                    }
                }
                assert_eq!(from.plus(Period::WorkingDays(days)), day);
            }
        }
    }

    #[test]
    fn months_clamp_to_the_last_day_of_shorter_months() {
        fn check(start: &str, months: u32, expected: &str) {
            assert_eq!(at(start).plus(Period::Months(months)), at(expected));
        }
        check("2025-08-06T09:00:00Z", 3, "2025-11-06T09:00:00Z");
        check("2025-01-31T09:00:00Z", 1, "2025-02-28T09:00:00Z");
        check("2024-01-31T09:00:00Z", 1, "2024-02-29T09:00:00Z");
        check("2025-11-30T09:00:00Z", 3, "2026-02-28T09:00:00Z");
        check("2025-08-06T09:00:00Z", 12, "2026-08-06T09:00:00Z");
    }

    #[test]
    fn sums_past_the_year_9999_stop_at_the_maximum() {
        let late = at("9999-12-01T00:00:00Z");
        assert_eq!(late.plus(Period::Months(1)), Timestamp::MAX);
        assert_eq!(late.plus(Period::CalendarDays(u32::MAX)), Timestamp::MAX);
        assert_eq!(late.plus(Period::WorkingDays(u32::MAX)), Timestamp::MAX);
        assert_eq!(Timestamp::MIN.plus_millis(-5), Timestamp::MIN);
    }
}
