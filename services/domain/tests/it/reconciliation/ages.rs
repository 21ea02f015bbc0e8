//! Ages in whole days since detection, and their buckets at every boundary.

use accord_domain::reconciliation::{AgeBucket, Operator, Resolution};

use super::{GRACE, arrival_confirmed, day, offset, recorded};
use crate::support::text;

const DAY_MS: i64 = 24 * 3_600_000;

#[test]
fn ages_fall_in_the_buckets_of_design_at_each_boundary() {
    let cases = [
        (0, AgeBucket::Days0To3),
        (3, AgeBucket::Days0To3),
        (4, AgeBucket::Days4To14),
        (14, AgeBucket::Days4To14),
        (15, AgeBucket::Days15To30),
        (30, AgeBucket::Days15To30),
        (31, AgeBucket::Days31To90),
        (90, AgeBucket::Days31To90),
        (91, AgeBucket::Over90Days),
        (10_000, AgeBucket::Over90Days),
    ];
    for (days, expected) in cases {
        assert_eq!(AgeBucket::of_days(days), expected, "{days} days");
    }
}

#[test]
fn a_break_ages_in_whole_days_from_its_detection() {
    // A one-sided report accepted on day 0 is detected when the grace period ends, on day 2.
    let reconciler = recorded([arrival_confirmed().by("FR", day(0))]);
    let detected_at = day(0).plus(GRACE);
    let cases = [
        (3, 3, AgeBucket::Days0To3),
        (4, 4, AgeBucket::Days4To14),
        (14, 14, AgeBucket::Days4To14),
        (15, 15, AgeBucket::Days15To30),
        (30, 30, AgeBucket::Days15To30),
        (31, 31, AgeBucket::Days31To90),
        (90, 90, AgeBucket::Days31To90),
        (91, 91, AgeBucket::Over90Days),
    ];
    for (days_after, age, bucket) in cases {
        let boundary = offset(detected_at, days_after * DAY_MS);
        for (now, expected_age, expected_bucket) in [
            (boundary, age, bucket),
            // A millisecond before the boundary the break is still a day younger.
            (offset(boundary, -1), age - 1, AgeBucket::of_days(age - 1)),
        ] {
            let reconciliation = reconciler.reconcile(now);
            let found = &reconciliation.breaks()[0];
            assert_eq!(found.age_days(now), expected_age, "at {now}");
            assert_eq!(found.age_bucket(now), expected_bucket, "at {now}");
        }
    }
    assert_eq!(
        reconciler.reconcile(offset(detected_at, 1)).breaks()[0].age_days(offset(detected_at, 1)),
        0
    );
}

#[test]
fn a_resolved_break_stops_ageing_at_its_resolution() {
    let mut reconciler = recorded([arrival_confirmed().by("FR", day(0))]);
    let id = reconciler.reconcile(day(3)).breaks()[0].id().clone();
    let resolution = Resolution {
        operator: Operator::parse("ops.alice").unwrap(),
        reason: text("Settled at the Joint Committee."),
        resolved_at: day(12),
    };
    reconciler.resolve(&id, resolution).unwrap();
    let later = reconciler.reconcile(day(200));
    let found = &later.breaks()[0];
    assert_eq!(found.age_days(day(200)), 10);
    assert_eq!(found.age_bucket(day(200)), AgeBucket::Days4To14);
}
