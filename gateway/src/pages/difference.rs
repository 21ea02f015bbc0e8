//! The difference between a round's report and the previous final round's: which round is
//! the previous one (the final round whose period ends last, no later than this round's
//! starts), and the change in admissions settled, required and each state's position. The
//! only arithmetic is the subtraction of two signed figures.

use std::collections::BTreeMap;

use accord_proto::v1 as pb;

/// One figure in both rounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What changed: `settled`, `required`, `required_gross`, `redirected`, or a state's code.
    pub name: String,
    /// The previous round's figure.
    pub previous: i64,
    /// This round's figure.
    pub current: i64,
}

impl Change {
    /// The change, signed: `+2`, `-1`, `0`.
    pub fn change(&self) -> String {
        let change = self.current - self.previous;
        if change > 0 {
            format!("+{change}")
        } else {
            change.to_string()
        }
    }
}

/// What changed since the previous final round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The previous final round.
    pub round_id: String,
    /// Its period, as `start – end`.
    pub period: String,
    /// The totals: settled, redirected, required, required without netting.
    pub totals: Vec<Change>,
    /// Each state's position, in either round, by state.
    pub positions: Vec<Change>,
}

/// The final round before `round` among `candidates`: the one whose period ends last, no
/// later than `round`'s period starts (`round` itself and rounds without a report or a
/// period excluded).
pub fn previous_final<'a>(round: &pb::Round, candidates: &'a [pb::Round]) -> Option<&'a pb::Round> {
    let start = instant(round.period.as_ref()?.start_time.as_ref()?);
    candidates
        .iter()
        .filter(|candidate| {
            candidate.round_id != round.round_id
                && candidate.status() == pb::RoundStatus::Final
                && candidate.report.is_some()
        })
        .filter_map(|candidate| {
            let end = instant(candidate.period.as_ref()?.end_time.as_ref()?);
            (end <= start).then_some((end, candidate))
        })
        .max_by_key(|(end, _)| *end)
        .map(|(_, candidate)| candidate)
}

/// A wire time as comparable seconds and nanoseconds.
fn instant(time: &prost_types::Timestamp) -> (i64, i32) {
    (time.seconds, time.nanos)
}

/// What changed from `previous`'s report to `current`; `None` when either has no report.
pub fn between(current: &pb::Round, previous: &pb::Round) -> Option<Difference> {
    let now = current.report.as_ref()?.report.as_ref()?;
    let before = previous.report.as_ref()?.report.as_ref()?;
    let total = |name: &str, figure: fn(&pb::SettlementReport) -> u32| Change {
        name: name.to_owned(),
        previous: i64::from(figure(before)),
        current: i64::from(figure(now)),
    };
    let totals = vec![
        total("settled", |report| report.settled),
        total("redirected", |report| report.redirected),
        total("required", |report| report.required),
        total("required_gross", |report| report.required_gross),
    ];
    let mut positions: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for figures in &before.state_figures {
        positions.entry(figures.state.as_str()).or_default().0 = figures.position;
    }
    for figures in &now.state_figures {
        positions.entry(figures.state.as_str()).or_default().1 = figures.position;
    }
    Some(Difference {
        round_id: previous.round_id.clone(),
        period: super::rounds::period_of(previous.period.as_ref()),
        totals,
        positions: positions
            .into_iter()
            .map(|(state, (previous, current))| Change {
                name: state.to_owned(),
                previous,
                current,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(id: &str, start: i64, end: i64, status: pb::RoundStatus) -> pb::Round {
        let time = |seconds| Some(prost_types::Timestamp { seconds, nanos: 0 });
        pb::Round {
            round_id: id.to_owned(),
            period: Some(pb::TimeRange {
                start_time: time(start),
                end_time: time(end),
            }),
            status: status.into(),
            report: Some(pb::SignedSettlementReport::default()),
            ..Default::default()
        }
    }

    #[test]
    fn the_previous_round_is_the_last_final_one_ending_before_this_one_starts() {
        let this = round("RND-3", 300, 400, pb::RoundStatus::Proposed);
        let candidates = [
            round("RND-1", 100, 200, pb::RoundStatus::Final),
            round("RND-2", 200, 300, pb::RoundStatus::Final),
            round("RND-2b", 250, 300, pb::RoundStatus::Disputed),
            round("RND-4", 400, 500, pb::RoundStatus::Final),
            this.clone(),
        ];
        let previous = previous_final(&this, &candidates).map(|round| round.round_id.as_str());
        assert_eq!(previous, Some("RND-2"));
        assert_eq!(previous_final(&candidates[0], &candidates), None);
    }

    #[test]
    fn changes_are_signed_and_positions_of_either_round_are_listed() {
        let figures = |state: &str, position| pb::StateFigures {
            state: state.to_owned(),
            position,
            ..Default::default()
        };
        let mut before = round("RND-1", 100, 200, pb::RoundStatus::Final);
        let mut now = round("RND-2", 200, 300, pb::RoundStatus::Final);
        before.report.as_mut().unwrap().report = Some(pb::SettlementReport {
            settled: 5,
            required: 6,
            state_figures: vec![figures("FR", 2), figures("GB", -2)],
            ..Default::default()
        });
        now.report.as_mut().unwrap().report = Some(pb::SettlementReport {
            settled: 3,
            required: 6,
            state_figures: vec![figures("DE", 1), figures("GB", -1)],
            ..Default::default()
        });
        let difference = between(&now, &before).unwrap();
        let shown: Vec<(String, String)> = difference
            .totals
            .iter()
            .chain(&difference.positions)
            .map(|change| (change.name.clone(), change.change()))
            .collect();
        let expected = [
            ("settled", "-2"),
            ("redirected", "0"),
            ("required", "0"),
            ("required_gross", "0"),
            ("DE", "+1"),
            ("FR", "-2"),
            ("GB", "+1"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(name, change)| ((*name).to_owned(), (*change).to_owned()))
            .collect();
        assert_eq!(shown, expected);
    }
}
