//! Novation: what a final round leaves owed, and how a later round takes it in (DESIGN.md §3,
//! "Settlement round"; DOMAIN.md).
//!
//! A final round extinguishes the debts it netted and replaces them with its instructions
//! ("A admits n people from O by the deadline") and its carry-forward (the residual debts,
//! [`super::SettlementReport::carry_forward`]). Nothing is ever unwound. The next round:
//!
//! - carries in the last final round's carry-forward as debts;
//! - counts the period's matched admissions first against the instructions still owed on the
//!   same (admitting, origin) pair, oldest deadline first (then by round id), and only what
//!   is left as admissions of its own period;
//! - finds an instruction **lapsed** when its deadline is no later than the period's end and
//!   it is still not performed in full: the shortfall becomes a `NOT_PERFORMED` break and a
//!   debt carried in, in the same round;
//! - leaves every other instruction owed, less what was performed, into the round after.
//!
//! Performance is counted per period: an admission counts toward an instruction when it falls
//! in the period of the round that finds the instruction, so a round sees the whole of each
//! lapsed instruction's time when periods follow one another. This module only counts; the
//! coordinator keeps the rounds, and the report carries every figure signed.

use std::collections::BTreeMap;

use super::input::CarriedDebt;
use crate::reconciliation::{InstructionRef, Lapse, StatePair};
use crate::{StateCode, Timestamp};

/// An instruction of an earlier final round, still owed (in part) at a round's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwedInstruction {
    /// The round whose report gave it.
    pub round_id: String,
    /// The admitting state.
    pub admitting: StateCode,
    /// The origin state.
    pub origin: StateCode,
    /// People still owed, above zero.
    pub owed: u64,
    /// Its deadline.
    pub perform_by: Timestamp,
}

/// What a round found of one owed instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Performance {
    /// The instruction as owed at the round's start.
    pub instruction: OwedInstruction,
    /// People the period's admissions performed of it, at most `owed`.
    pub performed: u64,
    /// Whether it lapsed: its deadline is no later than the period's end and `performed` is
    /// below `owed`.
    pub lapsed: bool,
}

impl Performance {
    /// People still owed after the period: nothing once lapsed (the shortfall is carried in as
    /// a debt instead).
    pub fn still_owed(&self) -> u64 {
        if self.lapsed {
            0
        } else {
            self.instruction.owed - self.performed
        }
    }

    /// The `NOT_PERFORMED` break of a lapsed instruction, for the reconciler
    /// ([`crate::reconciliation::Reconciler::record_lapse`]); `None` when it did not lapse.
    pub fn lapse(&self) -> Option<Lapse> {
        let instruction = &self.instruction;
        let pair = StatePair::new(instruction.admitting, instruction.origin).ok()?;
        (self.shortfall() > 0).then(|| Lapse {
            instruction: InstructionRef {
                round_id: instruction.round_id.clone(),
                pair,
            },
            shortfall: self.shortfall(),
            deadline: instruction.perform_by,
        })
    }

    /// The shortfall of a lapsed instruction: the people of its `NOT_PERFORMED` break.
    pub fn shortfall(&self) -> u64 {
        if self.lapsed {
            self.instruction.owed - self.performed
        } else {
            0
        }
    }
}

/// What a round takes in from the rounds before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Novated {
    /// Each owed instruction, in the order it was served (deadline, round id, pair).
    pub performances: Vec<Performance>,
    /// The period's admissions left once instructions were performed, per (admitting, origin).
    pub admissions: BTreeMap<(StateCode, StateCode), u64>,
    /// Debts carried in: the carry-forward plus every lapsed shortfall, sorted by pair.
    pub carried: Vec<CarriedDebt>,
}

/// Takes the owed instructions and the carry-forward of the last final round into a round
/// whose period ends at `period_end` and whose matched admissions are `admissions`.
pub fn novate(
    mut owed: Vec<OwedInstruction>,
    carry_forward: &[CarriedDebt],
    mut admissions: BTreeMap<(StateCode, StateCode), u64>,
    period_end: Timestamp,
) -> Novated {
    owed.retain(|instruction| instruction.owed > 0);
    owed.sort_by(|first, second| {
        (
            first.perform_by,
            &first.round_id,
            first.admitting,
            first.origin,
        )
            .cmp(&(
                second.perform_by,
                &second.round_id,
                second.admitting,
                second.origin,
            ))
    });
    let mut carried: BTreeMap<(StateCode, StateCode), u64> = BTreeMap::new();
    for debt in carry_forward.iter().filter(|debt| debt.count > 0) {
        *carried.entry((debt.admitting, debt.origin)).or_default() += debt.count;
    }
    let performances: Vec<Performance> = owed
        .into_iter()
        .map(|instruction| {
            let pair = (instruction.admitting, instruction.origin);
            let available = admissions.get(&pair).copied().unwrap_or(0);
            let performed = available.min(instruction.owed);
            if performed > 0 {
                admissions.insert(pair, available - performed);
            }
            let lapsed = instruction.perform_by <= period_end && performed < instruction.owed;
            Performance {
                instruction,
                performed,
                lapsed,
            }
        })
        .collect();
    for performance in &performances {
        let shortfall = performance.shortfall();
        if shortfall > 0 {
            let pair = (
                performance.instruction.admitting,
                performance.instruction.origin,
            );
            *carried.entry(pair).or_default() += shortfall;
        }
    }
    admissions.retain(|_, count| *count > 0);
    Novated {
        performances,
        admissions,
        carried: carried
            .into_iter()
            .map(|((admitting, origin), count)| CarriedDebt {
                admitting,
                origin,
                count,
            })
            .collect(),
    }
}

/// What stays owed after a final round: the earlier instructions it found neither performed in
/// full nor lapsed, less what was performed, and its own instructions (`own`).
pub fn owed_after(performances: &[Performance], own: Vec<OwedInstruction>) -> Vec<OwedInstruction> {
    let earlier = performances.iter().filter_map(|performance| {
        let owed = performance.still_owed();
        (owed > 0).then(|| OwedInstruction {
            owed,
            ..performance.instruction.clone()
        })
    });
    let own = own.into_iter().filter(|instruction| instruction.owed > 0);
    earlier.chain(own).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::state;

    const DAY: i64 = 86_400_000;

    fn day(number: i64) -> Timestamp {
        Timestamp::from_millis(1_767_225_600_000 + number * DAY).unwrap()
    }

    fn owed(round: &str, admitting: &str, origin: &str, count: u64, by: i64) -> OwedInstruction {
        OwedInstruction {
            round_id: round.to_owned(),
            admitting: state(admitting),
            origin: state(origin),
            owed: count,
            perform_by: day(by),
        }
    }

    fn admitted(list: &[(&str, &str, u64)]) -> BTreeMap<(StateCode, StateCode), u64> {
        list.iter()
            .map(|(admitting, origin, count)| ((state(admitting), state(origin)), *count))
            .collect()
    }

    #[test]
    fn admissions_perform_the_oldest_instruction_first_and_only_the_rest_count_as_new() {
        let novated = novate(
            vec![
                owed("RND-2", "GB", "FR", 5, 28),
                owed("RND-1", "GB", "FR", 3, 21),
            ],
            &[],
            admitted(&[("GB", "FR", 10), ("FR", "GB", 2)]),
            day(14),
        );
        let performed: Vec<(&str, u64, bool)> = novated
            .performances
            .iter()
            .map(|found| {
                (
                    found.instruction.round_id.as_str(),
                    found.performed,
                    found.lapsed,
                )
            })
            .collect();
        assert_eq!(performed, vec![("RND-1", 3, false), ("RND-2", 5, false)]);
        assert_eq!(
            novated.admissions,
            admitted(&[("GB", "FR", 2), ("FR", "GB", 2)])
        );
        assert!(novated.carried.is_empty());
    }

    #[test]
    fn a_shortfall_at_the_deadline_lapses_into_a_carried_debt_and_is_no_longer_owed() {
        let carry_forward = [CarriedDebt {
            admitting: state("GB"),
            origin: state("FR"),
            count: 4,
        }];
        let novated = novate(
            vec![
                owed("RND-1", "GB", "FR", 6, 14),
                owed("RND-1", "BE", "FR", 2, 14),
            ],
            &carry_forward,
            admitted(&[("GB", "FR", 1)]),
            day(14),
        );
        let gb = &novated.performances[1];
        assert_eq!(
            (gb.performed, gb.lapsed, gb.shortfall(), gb.still_owed()),
            (1, true, 5, 0)
        );
        assert_eq!(
            novated.carried,
            vec![
                CarriedDebt {
                    admitting: state("BE"),
                    origin: state("FR"),
                    count: 2
                },
                CarriedDebt {
                    admitting: state("GB"),
                    origin: state("FR"),
                    count: 9
                },
            ]
        );
        assert!(novated.admissions.is_empty());
    }

    #[test]
    fn an_instruction_not_yet_due_stays_owed_less_what_was_performed() {
        let novated = novate(
            vec![owed("RND-1", "GB", "FR", 6, 21)],
            &[],
            admitted(&[("GB", "FR", 2)]),
            day(14),
        );
        let after = owed_after(
            &novated.performances,
            vec![owed("RND-2", "FR", "BE", 3, 28)],
        );
        assert_eq!(
            after,
            vec![
                owed("RND-1", "GB", "FR", 4, 21),
                owed("RND-2", "FR", "BE", 3, 28)
            ]
        );
    }

    #[test]
    fn a_lapse_is_a_not_performed_break_of_its_pair_listed_and_resolved_like_any_other() {
        use crate::reconciliation::{
            BreakFilter, BreakKind, BreakSubject, Operator, Reconciler, Resolution,
        };
        let novated = novate(
            vec![owed("RND-2026-01-05-1", "GB", "FR", 6, 14)],
            &[],
            admitted(&[("GB", "FR", 2)]),
            day(14),
        );
        let lapse = novated.performances[0].lapse().expect("it lapsed");
        assert_eq!(lapse.shortfall, 4);
        let mut reconciler = Reconciler::new(crate::time::Period::CalendarDays(7));
        reconciler.record_lapse(lapse.clone());
        reconciler.record_lapse(lapse.clone());
        // Nothing before the deadline; from it on, one open break of the pair (GB, FR).
        assert!(reconciler.reconcile(day(13)).breaks().is_empty());
        let found = reconciler.reconcile(day(20));
        let filter = BreakFilter {
            state: Some(state("FR")),
            ..BreakFilter::default()
        };
        let listed: Vec<_> = found.breaks_where(&filter).collect();
        assert_eq!(listed.len(), 1);
        let lapsed = listed[0];
        assert_eq!(lapsed.kind(), BreakKind::NotPerformed);
        assert_eq!(lapsed.id().as_str(), "NOT_PERFORMED/RND-2026-01-05-1/GB-FR");
        assert_eq!(lapsed.case_ref(), None);
        assert!(
            matches!(lapsed.subject(), BreakSubject::Instruction(instruction)
            if instruction.round_id == "RND-2026-01-05-1")
        );
        assert_eq!(lapsed.age_days(day(20)), 6);
        let resolution = Resolution {
            operator: Operator::parse("alice").unwrap(),
            reason: crate::FreeText::parse("performed late, by agreement").unwrap(),
            resolved_at: day(21),
        };
        let resolved = reconciler.resolve(lapsed.id(), resolution).unwrap();
        assert!(!resolved.is_open());
        assert!(!reconciler.reconcile(day(22)).breaks()[0].is_open());
    }
}
