//! Property tests on random small instances: constraints, the order of the modes, full
//! settlement without limits, idempotence of gross and bilateral settlement, determinism,
//! and optimality against the LP reference.

use proptest::prelude::*;

use super::super::{
    Admission, CapacityLimit, Consent, InputParts, Mode, PairLimit, Return, SettlementInput, solve,
    verify,
};
use super::{reference, state};
use crate::StateCode;

const CODES: [&str; 5] = ["BE", "DE", "FR", "GB", "IT"];

/// What one ordered pair of a random instance carries.
#[derive(Debug, Clone, Copy)]
struct RandomPair {
    returns: Option<u64>,
    admissions: Option<u64>,
    candidates: Option<u64>,
    consented: bool,
}

#[derive(Debug, Clone)]
struct RandomInstance {
    state_count: usize,
    pairs: Vec<RandomPair>,
    capacity: Vec<Option<u64>>,
    has_consent_list: bool,
}

fn random_pair() -> impl Strategy<Value = RandomPair> {
    (
        prop::option::weighted(0.6, 0u64..30),
        prop::option::weighted(0.25, 0u64..20),
        prop::option::weighted(0.2, 0u64..15),
        prop::bool::weighted(0.5),
    )
        .prop_map(|(returns, admissions, candidates, consented)| RandomPair {
            returns,
            admissions,
            candidates,
            consented,
        })
}

fn random_instance() -> impl Strategy<Value = RandomInstance> {
    (2usize..=CODES.len()).prop_flat_map(|state_count| {
        (
            prop::collection::vec(random_pair(), state_count * (state_count - 1)),
            prop::collection::vec(prop::option::weighted(0.3, 0u64..40), state_count),
            any::<bool>(),
        )
            .prop_map(move |(pairs, capacity, has_consent_list)| RandomInstance {
                state_count,
                pairs,
                capacity,
                has_consent_list,
            })
    })
}

fn any_mode() -> impl Strategy<Value = Mode> {
    prop::sample::select(Mode::ALL.to_vec())
}

impl RandomInstance {
    /// The ordered pairs of distinct states, matched to `self.pairs` by position.
    fn ordered_pairs(&self) -> impl Iterator<Item = (StateCode, StateCode, RandomPair)> + '_ {
        let states = self.state_count;
        (0..states)
            .flat_map(move |first| (0..states).map(move |second| (first, second)))
            .filter(|(first, second)| first != second)
            .zip(&self.pairs)
            .map(|((first, second), pair)| (state(CODES[first]), state(CODES[second]), *pair))
    }

    fn parts(&self, mode: Mode) -> InputParts {
        let mut parts = InputParts::new(mode, Vec::new());
        for (first, second, pair) in self.ordered_pairs() {
            if let Some(count) = pair.returns {
                parts.returns.push(Return {
                    from: first,
                    to: second,
                    count,
                });
            }
            if let Some(count) = pair.admissions {
                parts.admissions.push(Admission {
                    admitting: first,
                    origin: second,
                    count,
                });
            }
            if let Some(count) = pair.candidates {
                parts.candidates.push(PairLimit {
                    admitting: first,
                    origin: second,
                    count,
                });
            }
        }
        for (index, capacity) in self.capacity.iter().enumerate() {
            if let Some(count) = capacity {
                parts.capacity.push(CapacityLimit {
                    state: state(CODES[index]),
                    count: *count,
                });
            }
        }
        if mode == Mode::Multilateral && self.has_consent_list {
            let consents = self
                .ordered_pairs()
                .filter(|(_, _, pair)| pair.consented)
                .map(|(admitting, origin, _)| Consent { admitting, origin });
            parts.consented = Some(consents.collect());
        }
        parts
    }

    /// The same instance without capacities, candidate limits or consent lists.
    fn unlimited(&self) -> Self {
        let mut unlimited = self.clone();
        unlimited.capacity.fill(None);
        for pair in &mut unlimited.pairs {
            pair.candidates = None;
        }
        unlimited.has_consent_list = false;
        unlimited
    }
}

fn input(parts: InputParts) -> SettlementInput {
    SettlementInput::new(parts).expect("random instances are valid")
}

/// Every constraint of DESIGN.md §3, checked from the ledger without the solver's model.
fn assert_constraints_hold(input: &SettlementInput, instructions: &[super::super::Instruction]) {
    let ledger = input.ledger();
    let positions = ledger.positions();
    let position = |state: StateCode| positions.get(&state).copied().unwrap_or(0);
    for instruction in instructions {
        let (admitting, origin, count) =
            (instruction.admitting, instruction.origin, instruction.count);
        assert_ne!(admitting, origin);
        assert!(count > 0);
        if let Some(limit) = input.candidates(admitting, origin) {
            assert!(count <= limit, "candidates");
        }
        match input.mode() {
            Mode::Gross => assert!(count <= ledger.debt(admitting, origin), "debt"),
            Mode::Bilateral => assert!(count <= ledger.bilateral_need(admitting, origin), "need"),
            Mode::Multilateral => assert!(
                ledger.bilateral_need(admitting, origin) > 0
                    || input.is_consented(admitting, origin),
                "consent"
            ),
        }
    }
    for state in input.states() {
        let admitted: u64 = instructions
            .iter()
            .filter(|instruction| instruction.admitting == state)
            .map(|instruction| instruction.count)
            .sum();
        let released: u64 = instructions
            .iter()
            .filter(|instruction| instruction.origin == state)
            .map(|instruction| instruction.count)
            .sum();
        if let Some(capacity) = input.capacity(state) {
            assert!(admitted <= capacity, "capacity");
        }
        if input.mode() == Mode::Multilateral {
            assert!(admitted as i64 <= position(state).max(0), "net debtor");
            assert!(released as i64 <= (-position(state)).max(0), "net creditor");
        }
    }
}

proptest! {
    #[test]
    fn every_constraint_holds_and_the_certificate_verifies(
        instance in random_instance(),
        mode in any_mode(),
    ) {
        let input = input(instance.parts(mode));
        let settlement = solve(&input);
        assert_constraints_hold(&input, &settlement.report.instructions);
        prop_assert_eq!(verify(&input, &settlement.report, &settlement.certificate), Ok(()));
    }

    #[test]
    fn multilateral_requires_no_more_than_bilateral_and_bilateral_no_more_than_gross(
        instance in random_instance(),
    ) {
        let required = |mode| solve(&input(instance.parts(mode))).report.required;
        let (gross, bilateral, multilateral) =
            (required(Mode::Gross), required(Mode::Bilateral), required(Mode::Multilateral));
        prop_assert!(multilateral <= bilateral, "{multilateral} > {bilateral}");
        prop_assert!(bilateral <= gross, "{bilateral} > {gross}");
    }

    #[test]
    fn without_limits_every_residual_is_zero(instance in random_instance(), mode in any_mode()) {
        let settlement = solve(&input(instance.unlimited().parts(mode)));
        prop_assert_eq!(settlement.report.settled, settlement.report.required);
        for residual in settlement.report.residual.values() {
            prop_assert_eq!((residual.to_admit, residual.to_release), (0, 0));
        }
    }

    #[test]
    fn gross_and_bilateral_instructions_applied_as_admissions_leave_nothing_required(
        instance in random_instance(),
        bilateral in any::<bool>(),
    ) {
        let mode = if bilateral { Mode::Bilateral } else { Mode::Gross };
        let mut parts = instance.unlimited().parts(mode);
        let settlement = solve(&input(parts.clone()));
        for instruction in &settlement.report.instructions {
            let performed = Admission {
                admitting: instruction.admitting,
                origin: instruction.origin,
                count: instruction.count,
            };
            match parts.admissions.iter_mut().find(|admission| {
                (admission.admitting, admission.origin) == (performed.admitting, performed.origin)
            }) {
                Some(admission) => admission.count += performed.count,
                None => parts.admissions.push(performed),
            }
        }
        prop_assert_eq!(solve(&input(parts)).report.required, 0);
    }

    #[test]
    fn the_carry_forward_is_the_residual_by_pair_and_a_next_round_owes_exactly_it(
        instance in random_instance(),
        mode in any_mode(),
    ) {
        let input = input(instance.parts(mode));
        let report = solve(&input).report;
        let ledger = input.ledger();
        for state in input.states() {
            let owed: u64 = report.carry_forward.iter()
                .filter(|debt| debt.admitting == state).map(|debt| debt.count).sum();
            let owed_to: u64 = report.carry_forward.iter()
                .filter(|debt| debt.origin == state).map(|debt| debt.count).sum();
            let residual = report.residual.get(&state).copied().unwrap_or_default();
            if mode == Mode::Multilateral {
                // A chain of debts passes through states that admit and release alike: only
                // the net is the residual.
                prop_assert_eq!(
                    i128::from(owed) - i128::from(owed_to),
                    i128::from(residual.to_admit) - i128::from(residual.to_release)
                );
            } else {
                prop_assert_eq!((owed, owed_to), (residual.to_admit, residual.to_release));
            }
        }
        for debt in &report.carry_forward {
            prop_assert!(debt.count > 0 && debt.admitting != debt.origin);
            if mode != Mode::Multilateral {
                // Never more than the pair itself still owed in this mode.
                let owed = if mode == Mode::Gross {
                    ledger.debt(debt.admitting, debt.origin)
                } else {
                    ledger.bilateral_need(debt.admitting, debt.origin)
                };
                prop_assert!(debt.count <= owed);
            }
        }
        // The next round, from the carried debts alone and without limits, requires exactly
        // what this one left: nothing netted here is owed again.
        let mut next = InputParts::new(mode, Vec::new());
        next.carried = report.carry_forward.clone();
        let left: u64 = report.residual.values().map(|residual| residual.to_admit).sum();
        prop_assert_eq!(solve(&self::input(next)).report.required, left);
    }

    #[test]
    fn the_same_content_in_any_order_gives_the_same_settlement(
        instance in random_instance(),
        mode in any_mode(),
        rotation in 0usize..64,
    ) {
        let parts = instance.parts(mode);
        let first = solve(&input(parts.clone()));
        prop_assert_eq!(&first, &solve(&input(parts.clone())));
        let mut reordered = parts;
        let rotate = |length: usize| if length == 0 { 0 } else { rotation % length };
        reordered.returns.reverse();
        let returns_rotation = rotate(reordered.returns.len());
        reordered.returns.rotate_left(returns_rotation);
        reordered.admissions.reverse();
        reordered.capacity.reverse();
        let candidates_rotation = rotate(reordered.candidates.len());
        reordered.candidates.rotate_left(candidates_rotation);
        if let Some(consents) = reordered.consented.as_mut() {
            consents.reverse();
        }
        prop_assert_eq!(&first, &solve(&input(reordered)));
    }

    #[test]
    fn settled_and_redirected_match_the_lp_reference(
        instance in random_instance(),
        mode in any_mode(),
    ) {
        let input = input(instance.parts(mode));
        let report = solve(&input).report;
        prop_assert_eq!((report.settled, report.redirected), reference::optimum(&input));
    }
}
