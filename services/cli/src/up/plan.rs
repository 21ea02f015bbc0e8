//! What a local federation is made of, decided before anything starts or is written: its
//! states, checked against the scheme's (the United Kingdom and the EU's member states), and
//! the agreements the scheme has between them — GB–FR under `UKFR_2025`, every pair of EU
//! states under `DUBLIN_III` and `EU_1FOR1`, nothing between GB and any other state.
//!
//! Pure: no file, no socket, no clock.

use std::collections::BTreeSet;

use accord_domain::{Regime, StateCode};

/// The states `accord up` starts when not told otherwise.
pub const DEFAULT_STATES: [&str; 2] = ["GB", "FR"];

/// The one member of the scheme outside the EU.
const UNITED_KINGDOM: &str = "GB";

/// The EU's member states (ISO 3166-1 alpha-2; Greece is `GR`).
const EU_MEMBERS: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// What two states of the federation agreed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    /// The first state, in the order the states were given.
    pub first: StateCode,
    /// The second state.
    pub second: StateCode,
    /// The regimes their cases may be opened under.
    pub regimes: Vec<Regime>,
}

/// Parses the `--states` list into state codes (ISO 3166-1 alpha-2; [`check`] says whether
/// they make a federation).
pub fn parse(codes: &[String]) -> Result<Vec<StateCode>, String> {
    codes
        .iter()
        .map(|code| StateCode::parse(code.trim()).map_err(|_| unknown(code.trim())))
        .collect()
}

/// Whether `states` make a federation: states of the scheme, each once, at least two, and
/// each with at least one partner it has an agreement with. The message names the first
/// fault.
pub fn check(states: &[StateCode]) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for state in states {
        if !is_member(*state) {
            return Err(unknown(state.as_str()));
        }
        if !seen.insert(*state) {
            return Err(format!("--states: {state} is named twice"));
        }
    }
    match states {
        [] => return Err("--states: a federation needs at least two states, not none".to_owned()),
        [only] => {
            return Err(format!(
                "--states: a federation needs at least two states, not {only} alone"
            ));
        }
        _ => {}
    }
    if let Some(alone) = states.iter().find(|state| {
        !states
            .iter()
            .any(|other| !regimes(**state, *other).is_empty())
    }) {
        return Err(format!(
            "--states: {alone} would have no agreement with any other state named (GB agrees \
             with FR only, EU states with each other)"
        ));
    }
    Ok(())
}

fn is_member(state: StateCode) -> bool {
    state.as_str() == UNITED_KINGDOM || EU_MEMBERS.contains(&state.as_str())
}

fn unknown(code: &str) -> String {
    format!(
        "--states: {code:?} is not a state of the scheme: GB or an EU member state ({})",
        EU_MEMBERS.join(", ")
    )
}

/// The agreements between `states`, one per pair that has one, in the order given.
pub fn agreements(states: &[StateCode]) -> Vec<Agreement> {
    let mut agreements = Vec::new();
    for (index, first) in states.iter().enumerate() {
        for second in &states[index + 1..] {
            let regimes = regimes(*first, *second);
            if !regimes.is_empty() {
                agreements.push(Agreement {
                    first: *first,
                    second: *second,
                    regimes,
                });
            }
        }
    }
    agreements
}

/// What the scheme has `first` and `second` agree: nothing for a state with itself.
fn regimes(first: StateCode, second: StateCode) -> Vec<Regime> {
    let in_eu = |state: StateCode| EU_MEMBERS.contains(&state.as_str());
    let is_gb = |state: StateCode| state.as_str() == UNITED_KINGDOM;
    let is_fr = |state: StateCode| state.as_str() == "FR";
    if first == second {
        Vec::new()
    } else if (is_gb(first) && is_fr(second)) || (is_fr(first) && is_gb(second)) {
        vec![Regime::Ukfr2025]
    } else if in_eu(first) && in_eu(second) {
        vec![Regime::DublinIii, Regime::Eu1for1]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<String> {
        text.split(',').map(str::to_owned).collect()
    }

    fn expect(input: &str, expected: Result<&str, &str>) {
        let parsed = parse(&codes(input))
            .and_then(|states| check(&states).map(|()| states))
            .map(|states| {
                states
                    .iter()
                    .map(StateCode::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            });
        match (parsed, expected) {
            (Ok(states), Ok(expected)) => assert_eq!(states, expected, "{input}"),
            (Err(message), Err(expected)) => {
                assert!(message.contains(expected), "{input}: {message}");
            }
            (parsed, expected) => panic!("{input}: {parsed:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn the_states_are_the_schemes_each_once_and_none_without_a_partner() {
        expect("GB,FR", Ok("GB,FR"));
        expect("GB,FR,BE,NL,DE,IT", Ok("GB,FR,BE,NL,DE,IT"));
        expect("DE,IT", Ok("DE,IT"));
        expect("GB,XX", Err("\"XX\" is not a state of the scheme"));
        expect("GB,US", Err("\"US\" is not a state of the scheme"));
        expect("GB,fr", Err("\"fr\" is not a state of the scheme"));
        expect("GB,FR,GB", Err("GB is named twice"));
        expect("GB", Err("at least two states, not GB alone"));
        expect("GB,DE", Err("GB would have no agreement"));
        expect("GB,DE,IT", Err("GB would have no agreement"));
    }

    #[test]
    fn gb_agrees_with_france_only_and_eu_states_with_each_other() {
        let parse = |code: &str| StateCode::parse(code).unwrap();
        let states: Vec<StateCode> = ["GB", "FR", "DE", "IT"].map(parse).to_vec();
        let found: Vec<(String, Vec<&str>)> = agreements(&states)
            .into_iter()
            .map(|agreement| {
                (
                    format!("{}-{}", agreement.first, agreement.second),
                    agreement
                        .regimes
                        .iter()
                        .map(|regime| regime.code())
                        .collect(),
                )
            })
            .collect();
        let eu = vec!["DUBLIN_III", "EU_1FOR1"];
        assert_eq!(
            found,
            vec![
                ("GB-FR".to_owned(), vec!["UKFR_2025"]),
                ("FR-DE".to_owned(), eu.clone()),
                ("FR-IT".to_owned(), eu.clone()),
                ("DE-IT".to_owned(), eu),
            ]
        );
    }
}
