//! The scenario `accord demo` replays: a TOML file, read and checked whole before anything
//! starts (a mistake is named by its place in the file, exit code 2). The built-in one,
//! `services/cli/scenarios/pilot.toml`, documents every key in its comments.
//!
//! A scenario names its states and a list of phases of whole weeks. Each week of a phase,
//! its `returns` flows open readmission requests (some rejected with the reasons given,
//! some transfers ending in a no-show) and its `admissions` flows nominate candidates under
//! one offer per flow and phase (some refused); at the week's end one settlement round over
//! the week, in the phase's netting mode and among its states, is run to `FINAL`. A phase
//! may set weekly admission capacities and states' consents to redirected admissions.
//!
//! The whole scenario spans at most [`WEEKS_MAX`] weeks: the demo's clock jumps a week at a
//! time, and the coordinator's revocation lists live 30 days at most, so a longer scenario
//! would outrun them (every node would report its list expired).
//!
//! Pure: no file, no socket, no clock; [`parse`] takes the text.

use std::collections::BTreeMap;

use accord_domain::StateCode;
use accord_proto::v1 as pb;
use serde::Deserialize;

use crate::up::plan;

/// The built-in scenario's text.
pub const BUILT_IN: &str = include_str!("../../scenarios/pilot.toml");

/// The most weeks a scenario may span (see the module documentation).
pub const WEEKS_MAX: u32 = 4;

/// The most cases of one kind a flow may open in one week.
const PER_WEEK_MAX: u32 = 500;

/// A checked scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// What it shows, for the summary.
    pub name: String,
    /// Every state of the federation, in the order given.
    pub states: Vec<StateCode>,
    /// The phases, in order.
    pub phases: Vec<Phase>,
}

impl Scenario {
    /// How many weeks it spans.
    pub fn weeks(&self) -> u32 {
        self.phases.iter().map(|phase| phase.weeks).sum()
    }

    /// How many readmission requests and admission nominations it makes in all.
    pub fn cases(&self) -> u64 {
        let per_phase = |phase: &Phase| -> u64 {
            let returns: u64 = phase.returns.iter().map(|flow| total(&flow.per_week)).sum();
            let admissions: u64 = phase
                .admissions
                .iter()
                .map(|flow| total(&flow.per_week))
                .sum();
            returns + admissions
        };
        self.phases.iter().map(per_phase).sum()
    }
}

fn total(per_week: &[u32]) -> u64 {
    per_week.iter().map(|count| u64::from(*count)).sum()
}

/// Weeks that share a netting mode, states and flows.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// Its name, for the progress line.
    pub name: String,
    /// How many weeks it lasts (one round each).
    pub weeks: u32,
    /// The rounds' netting mode.
    pub mode: pb::NettingMode,
    /// The rounds' states; empty for every state.
    pub round_states: Vec<StateCode>,
    /// Admission capacities per state per week.
    pub capacities: BTreeMap<StateCode, u32>,
    /// Consents to redirected admissions given at the phase's start.
    pub consents: Vec<Consent>,
    /// Readmission requests.
    pub returns: Vec<Returns>,
    /// Admissions by a legal route.
    pub admissions: Vec<Admissions>,
}

/// States' consents to redirected admissions on one ordered pair: the pair is offered to the
/// rounds only when both of its states consent.
#[derive(Debug, Clone, PartialEq)]
pub struct Consent {
    /// The admitting state.
    pub admitting: StateCode,
    /// The origin state.
    pub origin: StateCode,
    /// The states that consent (one or both of the pair).
    pub by: Vec<StateCode>,
}

impl Consent {
    /// Whether both states of the pair consent.
    pub fn mutual(&self) -> bool {
        self.by.contains(&self.admitting) && self.by.contains(&self.origin)
    }
}

/// One state's readmission requests to another, each week.
#[derive(Debug, Clone, PartialEq)]
pub struct Returns {
    /// The requesting state, which returns people.
    pub from: StateCode,
    /// The requested state, which readmits them.
    pub to: StateCode,
    /// The regime of every request.
    pub regime: pb::Regime,
    /// Requests opened, per week of the phase.
    pub per_week: Vec<u32>,
    /// Requests rejected each week, by reason.
    pub rejected: Vec<(pb::ReadmissionReason, u32)>,
    /// Transfers each week after which the person does not appear.
    pub no_shows: u32,
}

/// One state's admissions of people from another, each week.
#[derive(Debug, Clone, PartialEq)]
pub struct Admissions {
    /// The admitting state.
    pub admitting: StateCode,
    /// The origin state, where the candidates are.
    pub origin: StateCode,
    /// The regime of the offer.
    pub regime: pb::Regime,
    /// Candidates nominated, per week of the phase.
    pub per_week: Vec<u32>,
    /// Nominations refused each week, by reason.
    pub refused: Vec<(pb::AdmissionRefusalReason, u32)>,
}

/// Parses and checks a scenario; the error names the key at fault.
pub fn parse(text: &str) -> Result<Scenario, String> {
    let file: ScenarioFile = toml::from_str(text).map_err(|error| error.to_string())?;
    let states = plan::parse(&file.states)?;
    plan::check(&states)?;
    let agreements = plan::agreements(&states);
    let agreed = |first: StateCode, second: StateCode, regime: pb::Regime| {
        agreements.iter().any(|agreement| {
            let pair = (agreement.first, agreement.second);
            (pair == (first, second) || pair == (second, first))
                && agreement
                    .regimes
                    .iter()
                    .any(|agreed| accord_edge::wire::regime_to_wire(*agreed) == regime)
        })
    };
    let context = Context {
        states: &states,
        agreed: &agreed,
    };
    let phases = file
        .phases
        .into_iter()
        .enumerate()
        .map(|(index, phase)| context.phase(index, phase))
        .collect::<Result<Vec<_>, _>>()?;
    let scenario = Scenario {
        name: file.name,
        states,
        phases,
    };
    if scenario.phases.is_empty() {
        return Err("phases: a scenario has at least one phase".to_owned());
    }
    if scenario.weeks() > WEEKS_MAX {
        return Err(format!(
            "phases: {} weeks in all; a scenario spans at most {WEEKS_MAX} (the coordinator's \
             revocation lists live 30 days at most, and the demo's clock would outrun them)",
            scenario.weeks()
        ));
    }
    Ok(scenario)
}

struct Context<'a> {
    states: &'a [StateCode],
    agreed: &'a dyn Fn(StateCode, StateCode, pb::Regime) -> bool,
}

impl Context<'_> {
    fn phase(&self, index: usize, phase: PhaseFile) -> Result<Phase, String> {
        let at = format!("phases[{index}]");
        if !(1..=WEEKS_MAX).contains(&phase.weeks) {
            return Err(format!("{at}.weeks: 1 to {WEEKS_MAX}, not {}", phase.weeks));
        }
        let mode = match phase.netting.as_str() {
            "BILATERAL" => pb::NettingMode::Bilateral,
            "MULTILATERAL" => pb::NettingMode::Multilateral,
            other => {
                return Err(format!(
                    "{at}.netting: BILATERAL or MULTILATERAL, not {other:?}"
                ));
            }
        };
        let round_states = self.states_named(&format!("{at}.round_states"), &phase.round_states)?;
        let mut capacities = BTreeMap::new();
        for (state, capacity) in &phase.capacities {
            capacities.insert(self.state(&format!("{at}.capacities"), state)?, *capacity);
        }
        let consents = phase
            .consents
            .iter()
            .enumerate()
            .map(|(number, consent)| self.consent(&format!("{at}.consents[{number}]"), consent))
            .collect::<Result<Vec<_>, _>>()?;
        if !consents.is_empty() && mode != pb::NettingMode::Multilateral {
            return Err(format!(
                "{at}.consents: redirected admissions exist only in MULTILATERAL rounds"
            ));
        }
        let returns = phase
            .returns
            .iter()
            .enumerate()
            .map(|(number, flow)| {
                self.returns(&format!("{at}.returns[{number}]"), phase.weeks, flow)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let admissions = phase
            .admissions
            .iter()
            .enumerate()
            .map(|(number, flow)| {
                self.admissions(&format!("{at}.admissions[{number}]"), phase.weeks, flow)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Phase {
            name: phase.name,
            weeks: phase.weeks,
            mode,
            round_states,
            capacities,
            consents,
            returns,
            admissions,
        })
    }

    fn state(&self, at: &str, code: &str) -> Result<StateCode, String> {
        StateCode::parse(code)
            .ok()
            .filter(|state| self.states.contains(state))
            .ok_or_else(|| format!("{at}: {code:?} is not one of the scenario's states"))
    }

    fn states_named(&self, at: &str, codes: &[String]) -> Result<Vec<StateCode>, String> {
        codes.iter().map(|code| self.state(at, code)).collect()
    }

    fn pair(
        &self,
        at: &str,
        (first, second): (&str, &str),
        regime: &str,
    ) -> Result<(StateCode, StateCode, pb::Regime), String> {
        let first = self.state(at, first)?;
        let second = self.state(at, second)?;
        if first == second {
            return Err(format!("{at}: a state with itself"));
        }
        let regime = pb::Regime::from_str_name(&format!("REGIME_{regime}"))
            .filter(|regime| *regime != pb::Regime::Unspecified)
            .ok_or_else(|| {
                format!("{at}.regime: UKFR_2025, DUBLIN_III, AMMR_2026 or EU_1FOR1, not {regime:?}")
            })?;
        if !(self.agreed)(first, second, regime) {
            return Err(format!(
                "{at}: {first} and {second} have no agreement under {}",
                regime.as_str_name().trim_start_matches("REGIME_")
            ));
        }
        Ok((first, second, regime))
    }

    fn consent(&self, at: &str, consent: &ConsentFile) -> Result<Consent, String> {
        let admitting = self.state(at, &consent.admitting)?;
        let origin = self.state(at, &consent.origin)?;
        let by = self.states_named(&format!("{at}.by"), &consent.by)?;
        if by.is_empty() || by.iter().any(|state| ![admitting, origin].contains(state)) {
            return Err(format!("{at}.by: one or both of {admitting} and {origin}"));
        }
        Ok(Consent {
            admitting,
            origin,
            by,
        })
    }

    fn returns(&self, at: &str, weeks: u32, flow: &ReturnsFile) -> Result<Returns, String> {
        let (from, to, regime) = self.pair(at, (&flow.from, &flow.to), &flow.regime)?;
        per_week(at, weeks, &flow.per_week)?;
        let rejected = coded(&format!("{at}.rejected"), &flow.rejected, |name| {
            pb::ReadmissionReason::from_str_name(&format!("READMISSION_REASON_{name}"))
                .filter(|reason| *reason != pb::ReadmissionReason::Unspecified)
        })?;
        let set_aside = rejected.iter().map(|(_, count)| count).sum::<u32>() + flow.no_shows;
        fits(at, &flow.per_week, set_aside, "rejected and no_shows")?;
        Ok(Returns {
            from,
            to,
            regime,
            per_week: flow.per_week.clone(),
            rejected,
            no_shows: flow.no_shows,
        })
    }

    fn admissions(
        &self,
        at: &str,
        weeks: u32,
        flow: &AdmissionsFile,
    ) -> Result<Admissions, String> {
        let (admitting, origin, regime) =
            self.pair(at, (&flow.admitting, &flow.origin), &flow.regime)?;
        per_week(at, weeks, &flow.per_week)?;
        let refused = coded(&format!("{at}.refused"), &flow.refused, |name| {
            pb::AdmissionRefusalReason::from_str_name(&format!("ADMISSION_REFUSAL_REASON_{name}"))
                .filter(|reason| *reason != pb::AdmissionRefusalReason::Unspecified)
        })?;
        let set_aside = refused.iter().map(|(_, count)| count).sum::<u32>();
        fits(at, &flow.per_week, set_aside, "refused")?;
        Ok(Admissions {
            admitting,
            origin,
            regime,
            per_week: flow.per_week.clone(),
            refused,
        })
    }
}

fn per_week(at: &str, weeks: u32, counts: &[u32]) -> Result<(), String> {
    if counts.len() != weeks as usize {
        return Err(format!(
            "{at}.per_week: {} weeks named, the phase has {weeks}",
            counts.len()
        ));
    }
    if let Some(count) = counts.iter().find(|count| **count > PER_WEEK_MAX) {
        return Err(format!(
            "{at}.per_week: at most {PER_WEEK_MAX} a week, not {count}"
        ));
    }
    Ok(())
}

/// Each week's cases set aside (rejected, refused, no-shows) fit in the week's count.
fn fits(at: &str, per_week: &[u32], set_aside: u32, what: &str) -> Result<(), String> {
    match per_week.iter().find(|count| **count < set_aside) {
        Some(count) => Err(format!(
            "{at}: {set_aside} {what} a week, but a week opens only {count}"
        )),
        None => Ok(()),
    }
}

fn coded<T>(
    at: &str,
    counts: &BTreeMap<String, u32>,
    code: impl Fn(&str) -> Option<T>,
) -> Result<Vec<(T, u32)>, String> {
    counts
        .iter()
        .filter(|(_, count)| **count > 0)
        .map(|(name, count)| {
            code(name)
                .map(|code| (code, *count))
                .ok_or_else(|| format!("{at}: {name:?} is not a reason code"))
        })
        .collect()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    name: String,
    states: Vec<String>,
    #[serde(default)]
    phases: Vec<PhaseFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PhaseFile {
    name: String,
    weeks: u32,
    netting: String,
    #[serde(default)]
    round_states: Vec<String>,
    #[serde(default)]
    capacities: BTreeMap<String, u32>,
    #[serde(default)]
    consents: Vec<ConsentFile>,
    #[serde(default)]
    returns: Vec<ReturnsFile>,
    #[serde(default)]
    admissions: Vec<AdmissionsFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentFile {
    admitting: String,
    origin: String,
    by: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReturnsFile {
    from: String,
    to: String,
    regime: String,
    per_week: Vec<u32>,
    #[serde(default)]
    rejected: BTreeMap<String, u32>,
    #[serde(default)]
    no_shows: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdmissionsFile {
    admitting: String,
    origin: String,
    regime: String,
    per_week: Vec<u32>,
    #[serde(default)]
    refused: BTreeMap<String, u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
        name = "two weeks"
        states = ["GB", "FR"]
        [[phases]]
        name = "pilot"
        weeks = 2
        netting = "BILATERAL"
        [[phases.returns]]
        from = "GB"
        to = "FR"
        regime = "UKFR_2025"
        per_week = [3, 4]
        rejected = { INSUFFICIENT_EVIDENCE = 1 }
        no_shows = 1
        [[phases.admissions]]
        admitting = "GB"
        origin = "FR"
        regime = "UKFR_2025"
        per_week = [2, 5]
        refused = { SECURITY_CHECK_FAILED = 1 }
    "#;

    #[test]
    fn the_built_in_scenario_is_valid_and_follows_the_pilot_then_six_states() {
        let scenario = parse(BUILT_IN).unwrap();
        assert!(scenario.states.len() >= 6);
        assert_eq!(scenario.weeks(), WEEKS_MAX);
        let first = &scenario.phases[0];
        assert_eq!(first.mode, pb::NettingMode::Bilateral);
        assert!(
            first
                .returns
                .iter()
                .all(|flow| flow.regime == pb::Regime::Ukfr2025)
        );
        let last = scenario.phases.last().unwrap();
        assert_eq!(last.mode, pb::NettingMode::Multilateral);
        assert!(
            last.consents.iter().any(Consent::mutual),
            "some pairs consent both ways"
        );
        assert!(
            last.consents.iter().any(|consent| !consent.mutual()),
            "and some do not"
        );
    }

    #[test]
    fn a_small_scenario_reads_into_its_flows() {
        let scenario = parse(SMALL).unwrap();
        let flow = &scenario.phases[0].returns[0];
        assert_eq!(flow.per_week, [3, 4]);
        assert_eq!(
            flow.rejected,
            [(pb::ReadmissionReason::InsufficientEvidence, 1)]
        );
        assert_eq!(scenario.cases(), 14);
    }

    #[test]
    fn mistakes_are_named_by_their_place_in_the_file() {
        let cases = [
            (
                SMALL.replace("per_week = [3, 4]", "per_week = [3]"),
                "phases[0].returns[0].per_week: 1 weeks named",
            ),
            (
                SMALL.replace(
                    "UKFR_2025\"\n        per_week = [3",
                    "DUBLIN_III\"\n        per_week = [3",
                ),
                "phases[0].returns[0]: GB and FR have no agreement under DUBLIN_III",
            ),
            (
                SMALL.replace("INSUFFICIENT_EVIDENCE", "TOO_TALL"),
                "phases[0].returns[0].rejected: \"TOO_TALL\" is not a reason code",
            ),
            (
                SMALL.replace("no_shows = 1", "no_shows = 3"),
                "phases[0].returns[0]: 4 rejected and no_shows a week, but a week opens only 3",
            ),
            (
                SMALL.replace("weeks = 2", "weeks = 5"),
                "phases[0].weeks: 1 to 4",
            ),
            (
                SMALL.replace("\"BILATERAL\"", "\"GROSS\""),
                "phases[0].netting: BILATERAL or MULTILATERAL",
            ),
            (
                SMALL.replace("from = \"GB\"", "from = \"DE\""),
                "phases[0].returns[0]: \"DE\" is not one of the scenario's states",
            ),
            (
                SMALL.replace("no_shows = 1", "no_shows = 1\n        colour = 2"),
                "unknown field `colour`",
            ),
        ];
        for (text, expected) in cases {
            let error = parse(&text).unwrap_err();
            assert!(
                error.contains(expected),
                "{error:?} should say {expected:?}"
            );
        }
    }
}
