//! Table-driven cases for each mode: the input, then every figure and instruction expected.

use super::super::{
    Admission, CapacityLimit, CarriedDebt, Consent, Error, InputParts, Instruction, Location,
    Mode::*, PairLimit, Residual, Settlement, SettlementInput,
};
use super::{parts, settle, state};
use crate::StateCode;

/// What a settlement is expected to report: its instructions and its four totals.
struct Expected<'a> {
    instructions: &'a [(&'a str, &'a str, u64)],
    settled: u64,
    redirected: u64,
    required: u64,
    required_gross: u64,
}

/// A settlement that gives `instructions`, settling `settled` admissions, exactly what is
/// required in net and gross terms, with nothing redirected.
fn settles<'a>(instructions: &'a [(&'a str, &'a str, u64)], settled: u64) -> Expected<'a> {
    Expected {
        instructions,
        settled,
        redirected: 0,
        required: settled,
        required_gross: settled,
    }
}

impl Expected<'_> {
    /// The admissions required by the mode, then by gross settlement, when they differ from
    /// what is settled.
    fn required(self, required: u64, required_gross: u64) -> Self {
        Self {
            required,
            required_gross,
            ..self
        }
    }

    /// How many of the settled admissions are redirected to another origin.
    fn redirected(self, redirected: u64) -> Self {
        Self { redirected, ..self }
    }
}

fn check(parts: InputParts, expected: Expected) {
    let (_, settlement) = settle(parts);
    let report = settlement.report;
    let instructions: Vec<Instruction> = expected
        .instructions
        .iter()
        .map(|(admitting, origin, count)| Instruction {
            admitting: state(admitting),
            origin: state(origin),
            count: *count,
        })
        .collect();
    assert_eq!(report.instructions, instructions);
    assert_eq!(report.settled, expected.settled, "settled");
    assert_eq!(report.redirected, expected.redirected, "redirected");
    assert_eq!(report.required, expected.required, "required");
    assert_eq!(
        report.required_gross, expected.required_gross,
        "required_gross"
    );
}

fn capacity(code: &str, count: u64) -> Vec<CapacityLimit> {
    vec![CapacityLimit {
        state: state(code),
        count,
    }]
}

/// Settles `returns` in gross mode with the one capacity limit of `capped`.
fn settle_gross_capped(returns: &[(&str, &str, u64)], capped: &str, count: u64) -> Settlement {
    let mut input = parts(Gross, returns);
    input.capacity = capacity(capped, count);
    settle(input).1
}

fn pair_limit(admitting: &str, origin: &str, count: u64) -> Vec<PairLimit> {
    vec![PairLimit {
        admitting: state(admitting),
        origin: state(origin),
        count,
    }]
}

/// The one performed admission of `count` people by `admitting` from `origin`.
fn admitted(admitting: &str, origin: &str, count: u64) -> Vec<Admission> {
    vec![Admission {
        admitting: state(admitting),
        origin: state(origin),
        count,
    }]
}

fn consent(admitting: &str, origin: &str) -> Consent {
    Consent {
        admitting: state(admitting),
        origin: state(origin),
    }
}

const CYCLE: &[(&str, &str, u64)] = &[("GB", "FR", 10), ("FR", "BE", 10), ("BE", "GB", 10)];

#[test]
fn a_three_state_cycle_needs_thirty_admissions_gross_and_none_multilateral() {
    for mode in [Gross, Bilateral] {
        let each_pair_admits = settles(&[("BE", "GB", 10), ("FR", "BE", 10), ("GB", "FR", 10)], 30);
        check(parts(mode, CYCLE), each_pair_admits);
    }
    check(parts(Multilateral, CYCLE), settles(&[], 0).required(0, 30));
}

#[test]
fn mutual_returns_offset_bilaterally_but_not_gross() {
    let two_way = &[("GB", "FR", 10), ("FR", "GB", 4)];
    let gross = settles(&[("FR", "GB", 4), ("GB", "FR", 10)], 14);
    check(parts(Gross, two_way), gross);
    for mode in [Bilateral, Multilateral] {
        let netted = settles(&[("GB", "FR", 6)], 6).required(6, 14);
        check(parts(mode, two_way), netted);
    }
}

#[test]
fn capacity_bounds_the_admissions_of_a_state_in_every_mode() {
    for mode in [Gross, Bilateral, Multilateral] {
        let mut input = parts(mode, &[("GB", "FR", 120)]);
        input.admissions = admitted("GB", "FR", 40);
        input.capacity = capacity("GB", 50);
        let pilot_week = settles(&[("GB", "FR", 50)], 50).required(80, 80);
        check(input, pilot_week);
    }
}

#[test]
fn what_capacity_leaves_is_carried_forward_and_weighs_in_the_next_round() {
    for mode in [Gross, Bilateral, Multilateral] {
        let mut week = parts(mode, &[("GB", "FR", 120)]);
        week.admissions = admitted("GB", "FR", 40);
        week.capacity = capacity("GB", 50);
        let (_, first) = settle(week);
        let carried = CarriedDebt {
            admitting: state("GB"),
            origin: state("FR"),
            count: 30,
        };
        assert_eq!(first.report.carry_forward, vec![carried], "{mode}");
        // The next week: 10 new returns, 5 admissions, and the 30 carried in.
        let mut next = parts(mode, &[("GB", "FR", 10)]);
        next.admissions = admitted("GB", "FR", 5);
        next.carried = vec![carried];
        let (input, second) = settle(next);
        assert_eq!(input.ledger().debt(state("GB"), state("FR")), 35);
        assert_eq!(second.report.settled, 35, "{mode}");
        assert!(second.report.carry_forward.is_empty());
    }
}

#[test]
fn a_carried_debt_offsets_the_other_way_when_netted() {
    // FR owes GB 4 from an earlier round; GB returned 10 to FR this period.
    let mut week = parts(Bilateral, &[("GB", "FR", 10)]);
    week.carried = vec![CarriedDebt {
        admitting: state("FR"),
        origin: state("GB"),
        count: 4,
    }];
    let (_, settlement) = settle(week);
    assert_eq!(
        settlement.report.instructions,
        vec![Instruction {
            admitting: state("GB"),
            origin: state("FR"),
            count: 6
        }]
    );
}

#[test]
fn a_capacity_of_zero_settles_nothing() {
    let settlement = settle_gross_capped(&[("GB", "FR", 12)], "GB", 0);
    assert_eq!(settlement.report.settled, 0);
    assert_eq!(
        settlement.report.residual.get(&state("GB")),
        Some(&Residual {
            to_admit: 12,
            to_release: 0
        })
    );
    assert_eq!(
        settlement.report.residual.get(&state("FR")),
        Some(&Residual {
            to_admit: 0,
            to_release: 12
        })
    );
}

#[test]
fn admissions_ahead_of_returns_are_a_credit_and_settle_nothing() {
    for mode in [Gross, Bilateral, Multilateral] {
        let mut input = parts(mode, &[("GB", "FR", 281)]);
        input.admissions = admitted("GB", "FR", 350);
        let (_, settlement) = settle(input);
        let report = settlement.report;
        assert_eq!(
            (report.settled, report.required, report.required_gross),
            (0, 0, 0)
        );
        assert_eq!(report.netting_efficiency, 0.0);
        assert_eq!(report.credits.len(), 1);
        assert_eq!(
            (
                report.credits[0].holder,
                report.credits[0].counterpart,
                report.credits[0].count
            ),
            (state("GB"), state("FR"), 69)
        );
    }
}

#[test]
fn a_redirected_admission_needs_consent() {
    let chain = &[("GB", "FR", 30), ("FR", "IT", 30)];
    let consented = settles(&[("GB", "IT", 30)], 30)
        .redirected(30)
        .required(30, 60);
    let mut with_consent = parts(Multilateral, chain);
    with_consent.consented = Some(vec![consent("GB", "IT")]);
    check(with_consent, consented);
    let mut without_consent = parts(Multilateral, chain);
    without_consent.consented = Some(vec![consent("IT", "GB")]);
    let refused = settles(&[], 0).required(30, 60);
    check(without_consent, refused);
    let absent_list_means_every_pair = settles(&[("GB", "IT", 30)], 30)
        .redirected(30)
        .required(30, 60);
    check(parts(Multilateral, chain), absent_list_means_every_pair);
}

#[test]
fn direct_admissions_are_preferred_over_redirected_ones() {
    // GB and DE could each admit from FR or IT; only the direct pairing redirects nobody.
    let crossed = &[("GB", "IT", 10), ("DE", "FR", 10)];
    let direct = settles(&[("DE", "FR", 10), ("GB", "IT", 10)], 20);
    check(parts(Multilateral, crossed), direct);
    // With GB's direct pair capped, the maximum needs exactly the redirection it cannot avoid.
    let mut capped = parts(Multilateral, crossed);
    capped.candidates = pair_limit("GB", "IT", 4);
    let partly_redirected = settles(
        &[
            ("DE", "FR", 4),
            ("DE", "IT", 6),
            ("GB", "FR", 6),
            ("GB", "IT", 4),
        ],
        20,
    )
    .redirected(12);
    check(capped, partly_redirected);
}

#[test]
fn candidate_limits_bound_a_pair() {
    let mut input = parts(Multilateral, &[("GB", "FR", 100), ("DE", "FR", 50)]);
    input.candidates = pair_limit("GB", "FR", 30);
    input.capacity = capacity("DE", 20);
    let bound = settles(&[("DE", "FR", 20), ("GB", "FR", 30)], 50).required(150, 150);
    check(input, bound);
}

#[test]
fn a_state_named_only_by_a_limit_is_listed_with_nothing_left() {
    let settlement = settle_gross_capped(&[("GB", "FR", 3)], "IT", 5);
    assert_eq!(
        settlement
            .report
            .residual
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        vec![state("FR"), state("GB"), state("IT")]
    );
    assert_eq!(
        settlement.report.residual[&state("IT")],
        Residual::default()
    );
}

#[test]
fn an_input_without_returns_settles_nothing() {
    let (_, settlement) = settle(parts(Multilateral, &[]));
    assert_eq!(settlement.report.settled, 0);
    assert_eq!(settlement.report.netting_efficiency, 0.0);
    assert!(settlement.report.residual.is_empty());
}

#[test]
fn invalid_inputs_are_refused_with_their_location() {
    let refused = |input: InputParts| SettlementInput::new(input).expect_err("invalid input");
    let same_state = refused(parts(Gross, &[("GB", "FR", 1), ("FR", "FR", 2)]));
    assert_eq!(same_state.location(), Location::Returns(1));
    assert_eq!(
        same_state.to_string(),
        "returns[1]: names FR on both sides; a pair needs two different states"
    );
    let duplicate = refused(parts(
        Gross,
        &[("GB", "FR", 1), ("BE", "FR", 1), ("GB", "FR", 2)],
    ));
    assert_eq!(
        duplicate.to_string(),
        "returns[2]: duplicated entry, already given at returns[0]"
    );
    let mut consent_in_gross = parts(Gross, &[("GB", "FR", 1)]);
    consent_in_gross.consented = Some(Vec::new());
    assert_eq!(
        refused(consent_in_gross),
        Error::ConsentedOutsideMultilateral { mode: Gross }
    );
    let mut twice_capacity = parts(Gross, &[("GB", "FR", 1)]);
    twice_capacity.capacity = [capacity("GB", 1), capacity("GB", 1)].concat();
    assert_eq!(
        refused(twice_capacity).location(),
        Location::Capacity("GB".into())
    );
    let too_large = refused(parts(Gross, &[("GB", "FR", super::super::COUNT_MAX + 1)]));
    assert_eq!(too_large.location(), Location::Returns(0));
    let mut duplicate_consent = parts(Multilateral, &[("GB", "FR", 1)]);
    duplicate_consent.consented = Some(vec![consent("GB", "IT"), consent("GB", "IT")]);
    assert_eq!(
        refused(duplicate_consent).location(),
        Location::Consented(1)
    );
}

#[test]
fn a_multilateral_residual_is_carried_along_the_chain_of_debts_never_between_strangers() {
    // GB owes FR 5, FR owes IT 3, IT owes BE 3. Multilaterally GB owes 5, FR is owed 2 and BE
    // 3; without consent GB may admit only from FR, so 3 are left. GB and BE have no debt
    // between them (and, in the scheme, no agreement): the 3 are carried along the chain,
    // GB to FR to IT to BE, each state between admitting and releasing alike.
    let chain = &[("GB", "FR", 5), ("FR", "IT", 3), ("IT", "BE", 3)];
    let mut input = parts(Multilateral, chain);
    input.consented = Some(Vec::new());
    let (_, settled) = settle(input);
    let carried: Vec<(StateCode, StateCode, u64)> = settled
        .report
        .carry_forward
        .iter()
        .map(|debt| (debt.admitting, debt.origin, debt.count))
        .collect();
    let leg = |admitting, origin, count| (state(admitting), state(origin), count);
    assert_eq!(
        carried,
        vec![leg("FR", "IT", 3), leg("GB", "FR", 3), leg("IT", "BE", 3)]
    );
}
