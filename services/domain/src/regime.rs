//! Regime profiles: the legal rules a pair of states agreed, one named field per rule.
//!
//! A [`Regime`] names a legal basis (`UKFR_2025`, `DUBLIN_III`, `AMMR_2026`, `EU_1FOR1`);
//! [`Regime::profile`] gives its default [`RegimeProfile`]. A profile is a plain struct with
//! public fields, so a deployment can build or adjust one by hand where DOMAIN.md marks a
//! value unverified; the lifecycles read every rule from the profile a case was opened with
//! and never from the regime name.
//!
//! Default values and their sources (✱ = unverified in DOMAIN.md or chosen here; configurable):
//!
//! | rule | `UKFR_2025` | `DUBLIN_III` | `AMMR_2026` | `EU_1FOR1` (strictest) |
//! | --- | --- | --- | --- | --- |
//! | request window after arrival | 14 days (UK–FR) | 3 months (Art. 23(2), no Eurodac hit) ✱ | 2 weeks ✱ | 14 days |
//! | reply, standard | 14 days | 1 month (take back, Art. 25(1)) ✱ | 2 weeks | 14 days |
//! | reply, exceptional | 28 days | 1 month (no extension) | 2 weeks (no extension) | 14 days (no extension) |
//! | reply, detained | 14 days (no rule) ✱ | 2 weeks (Art. 28(3)) | 1 week | 7 days |
//! | silence after the reply deadline | acceptance ✱ | acceptance (Art. 25(2)) | acceptance (Arts 40/41/45) | acceptance |
//! | information request pauses the reply clock | no | no | no | no |
//! | re-examination request window | 3 weeks ✱ | 3 weeks (1560/2003 Art. 5(2)) | 3 weeks ✱ | 3 weeks |
//! | re-examination reply (else lapse) | 2 weeks ✱ | 2 weeks (Art. 5(2)) | 2 weeks ✱ | 2 weeks |
//! | transfer notice | 3 working days ✱ | 3 working days (1560/2003 Art. 8(2)) | 3 working days ✱ | 3 working days |
//! | transfer limit from acceptance | 6 months ✱ | 6 months (Art. 29(1)) | 6 months (Art. 46) | 6 months |
//! | end-to-end limit from arrival | 3 months (UK–FR Art. 1(1)) | none | none | 3 months |
//! | legal hold | pauses clocks ✱ | restarts the transfer clock (Art. 29(1)) | restarts ✱ | pauses |
//! | parity refusal (`R10`) allowed | yes | no | no | yes |
//! | personal data barred | FR → GB | none | none | FR → GB |
//! | admissions confirmed by both sides | yes ✱ | no | no | yes |
//! | admission visa validity | 3 months (UK–FR Art. 12(4)) | 3 months ✱ | 3 months ✱ | 3 months |
//!
//! Dublin III has several reply limits (take charge 2 months, take back 1 month, take back
//! on a Eurodac hit 2 weeks); Accord carries take-back requests, so the default is the
//! take-back month without a Eurodac hit, with the matching 3-month request window. The
//! transfer-limit extensions of Dublin III Art. 29(2) (1 year in prison, 18 months when the
//! person absconds) are not modelled.
//!
//! `EU_1FOR1` takes, rule by rule, the strictest value: the shortest limit, silence as
//! acceptance, clocks that pause rather than restart, the parity guard on, every barred
//! personal-data flow of the other profiles, and confirmation by both sides.
//!
//! Whose node records each deadline event ([`ClockOwners`]): acceptance by default is
//! recorded by the requested state's node, whose receipt time started the reply clock;
//! the closure of an unchallenged rejection and the lapse of a re-examination by the
//! requesting state's node, which bears the consequence (CJEU C-47/17); expiry also by the
//! requesting state's node, which knows the arrival time, runs the transfer and becomes
//! responsible when the obligation lapses.

use std::fmt;

use crate::StateCode;
use crate::coded::coded_enum;
use crate::time::Period;

/// Why a text is not a regime or track name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The text names no regime.
    #[error("{0:?} is not a regime (UKFR_2025, DUBLIN_III, AMMR_2026, EU_1FOR1)")]
    UnknownRegime(String),
    /// The text names no reply track.
    #[error("{0:?} is not a reply track (STANDARD, EXCEPTIONAL, DETAINED)")]
    UnknownTrack(String),
}

coded_enum! {
    /// The legal basis a pair of states works under.
    pub enum Regime {
        /// The UK–France Agreement on the Prevention of Dangerous Journeys (2025).
        Ukfr2025 => "UKFR_2025",
        /// The Dublin III regulation (604/2013) with its implementing regulation 1560/2003.
        DublinIii => "DUBLIN_III",
        /// The EU asylum and migration management regulation 2024/1351, applicable from 2026.
        Ammr2026 => "AMMR_2026",
        /// The federation's own one-for-one profile: the strictest of the others.
        Eu1for1 => "EU_1FOR1",
    }
    all: array,
    unknown: Error = Error::UnknownRegime,
}

impl Regime {
    /// The default profile of the regime (table in the module documentation).
    pub fn profile(self) -> RegimeProfile {
        match self {
            Regime::Ukfr2025 => RegimeProfile::ukfr_2025(),
            Regime::DublinIii => RegimeProfile::dublin_iii(),
            Regime::Ammr2026 => RegimeProfile::ammr_2026(),
            Regime::Eu1for1 => RegimeProfile::eu_1for1(),
        }
    }
}

coded_enum! {
    /// Which reply limit applies to a readmission request, chosen when it is submitted.
    pub enum ReplyTrack {
        /// The regime's standard reply limit.
        Standard => "STANDARD",
        /// A case the requesting state flags exceptional (UK–FR: 28 days instead of 14).
        Exceptional => "EXCEPTIONAL",
        /// The person is detained (Dublin III Art. 28(3), AMMR: shorter limits).
        Detained => "DETAINED",
    }
    all: array,
    unknown: Error = Error::UnknownTrack,
}

/// The two sides of a readmission case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Party {
    /// The state that asks to return the person (S).
    Requesting,
    /// The state asked to take the person back (R).
    Requested,
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Party::Requesting => "the requesting state",
            Party::Requested => "the requested state",
        })
    }
}

/// A deadline whose lapse is recorded by a node's clock rather than by a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClockDuty {
    /// The reply deadline passed in silence and silence means acceptance.
    AcceptanceByDefault,
    /// The window to ask for a re-examination of a rejection passed unused.
    RejectionClosure,
    /// The re-examination reply deadline passed in silence.
    ReExaminationLapse,
    /// The end-to-end or transfer limit passed.
    Expiry,
}

/// Whose node records each deadline event (see the module documentation for the reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClockOwners {
    /// Records `ACCEPTED_BY_DEFAULT`.
    pub acceptance_by_default: Party,
    /// Records `CLOSED_REJECTED` when the re-examination window passes unused.
    pub rejection_closure: Party,
    /// Records `RE_EXAMINATION_LAPSED`.
    pub re_examination_lapse: Party,
    /// Records `EXPIRED`.
    pub expiry: Party,
}

impl ClockOwners {
    /// The defaults every profile uses: requested state for acceptance by default, requesting
    /// state for everything else.
    pub const DEFAULT: ClockOwners = ClockOwners {
        acceptance_by_default: Party::Requested,
        rejection_closure: Party::Requesting,
        re_examination_lapse: Party::Requesting,
        expiry: Party::Requesting,
    };

    /// The party whose node records `duty`.
    pub fn owner(&self, duty: ClockDuty) -> Party {
        match duty {
            ClockDuty::AcceptanceByDefault => self.acceptance_by_default,
            ClockDuty::RejectionClosure => self.rejection_closure,
            ClockDuty::ReExaminationLapse => self.re_examination_lapse,
            ClockDuty::Expiry => self.expiry,
        }
    }
}

/// The reply limits of a regime, one per [`ReplyTrack`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplyLimits {
    /// The standard limit.
    pub standard: Period,
    /// The limit for cases flagged exceptional.
    pub exceptional: Period,
    /// The limit when the person is detained.
    pub detained: Period,
}

/// What silence past the reply deadline means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Silence {
    /// The request is accepted by default (Dublin III Arts 22/25, AMMR Arts 40/41/45).
    MeansAcceptance,
    /// Nothing: the case waits for a reply until another limit ends it.
    MeansNothing,
}

/// What a legal hold does to the running clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HoldEffect {
    /// The clocks pause and resume where they stopped: deadlines move by the hold's length.
    PauseClocks,
    /// The transfer clock stops and starts again in full when the hold is released (Dublin III
    /// Art. 29(1): six months from the final decision on a suspensive appeal). The end-to-end
    /// clock, where there is one, pauses.
    RestartTransferClock,
}

/// A direction in which personal data must not pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BarredFlow {
    /// The state that must not send.
    pub from: StateCode,
    /// The state that must not receive from `from`.
    pub to: StateCode,
}

/// Every rule of a regime, as data. Build one with [`Regime::profile`] and adjust fields where
/// an agreement says otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegimeProfile {
    /// The regime the rules come from; recorded in every case opened under them.
    pub regime: Regime,
    /// How long after the person's arrival the request may be sent (else `R08`).
    pub request_window: Period,
    /// How long the requested state has to reply, from its receipt.
    pub reply: ReplyLimits,
    /// What silence past the reply deadline means.
    pub silence: Silence,
    /// Whether an information request pauses the reply clock until the answer (DOMAIN.md's
    /// default: the clock keeps running).
    pub info_request_pauses_reply_clock: bool,
    /// How long after a rejection the requesting state may ask for a re-examination.
    pub re_examination_request_window: Period,
    /// How long the requested state has to answer a re-examination request before it lapses.
    pub re_examination_reply: Period,
    /// The least notice between scheduling a transfer and its slot.
    pub transfer_notice: Period,
    /// How long after acceptance the transfer may take place.
    pub transfer_limit: Period,
    /// The end-to-end limit from arrival, if the regime has one.
    pub procedure_limit: Option<Period>,
    /// Whose node records each deadline event.
    pub clock_owners: ClockOwners,
    /// What a legal hold does to the clocks.
    pub legal_hold: HoldEffect,
    /// Whether the requested state may refuse with `R10 PARITY_IMBALANCE`.
    pub parity_refusal_allowed: bool,
    /// Directions in which no personal data may pass.
    pub personal_data_barred: Vec<BarredFlow>,
    /// Whether an admission counts only once the origin state confirms the departure.
    pub admission_departure_confirmation: bool,
    /// How long an admission visa is valid from the grant.
    pub visa_validity: Period,
}

impl RegimeProfile {
    /// The UK–France profile (`UKFR_2025`).
    pub fn ukfr_2025() -> Self {
        Self {
            regime: Regime::Ukfr2025,
            request_window: Period::CalendarDays(14),
            reply: ReplyLimits {
                standard: Period::CalendarDays(14),
                exceptional: Period::CalendarDays(28),
                detained: Period::CalendarDays(14),
            },
            silence: Silence::MeansAcceptance,
            info_request_pauses_reply_clock: false,
            re_examination_request_window: Period::Weeks(3),
            re_examination_reply: Period::Weeks(2),
            transfer_notice: Period::WorkingDays(3),
            transfer_limit: Period::Months(6),
            procedure_limit: Some(Period::Months(3)),
            clock_owners: ClockOwners::DEFAULT,
            legal_hold: HoldEffect::PauseClocks,
            parity_refusal_allowed: true,
            personal_data_barred: vec![france_to_united_kingdom()],
            admission_departure_confirmation: true,
            visa_validity: Period::Months(3),
        }
    }

    /// The Dublin III profile (`DUBLIN_III`), for take-back requests.
    pub fn dublin_iii() -> Self {
        Self {
            regime: Regime::DublinIii,
            request_window: Period::Months(3),
            reply: ReplyLimits {
                standard: Period::Months(1),
                exceptional: Period::Months(1),
                detained: Period::Weeks(2),
            },
            silence: Silence::MeansAcceptance,
            info_request_pauses_reply_clock: false,
            re_examination_request_window: Period::Weeks(3),
            re_examination_reply: Period::Weeks(2),
            transfer_notice: Period::WorkingDays(3),
            transfer_limit: Period::Months(6),
            procedure_limit: None,
            clock_owners: ClockOwners::DEFAULT,
            legal_hold: HoldEffect::RestartTransferClock,
            parity_refusal_allowed: false,
            personal_data_barred: Vec::new(),
            admission_departure_confirmation: false,
            visa_validity: Period::Months(3),
        }
    }

    /// The AMMR profile (`AMMR_2026`): take back is a notification confirmed within 2 weeks.
    pub fn ammr_2026() -> Self {
        Self {
            regime: Regime::Ammr2026,
            request_window: Period::Weeks(2),
            reply: ReplyLimits {
                standard: Period::Weeks(2),
                exceptional: Period::Weeks(2),
                detained: Period::Weeks(1),
            },
            legal_hold: HoldEffect::RestartTransferClock,
            ..Self::dublin_iii()
        }
    }

    /// The federation's own profile (`EU_1FOR1`): the strictest value of every rule.
    pub fn eu_1for1() -> Self {
        Self {
            regime: Regime::Eu1for1,
            request_window: Period::CalendarDays(14),
            reply: ReplyLimits {
                standard: Period::CalendarDays(14),
                exceptional: Period::CalendarDays(14),
                detained: Period::CalendarDays(7),
            },
            legal_hold: HoldEffect::PauseClocks,
            ..Self::ukfr_2025()
        }
    }

    /// The reply limit for a case on `track`.
    pub fn reply_limit(&self, track: ReplyTrack) -> Period {
        match track {
            ReplyTrack::Standard => self.reply.standard,
            ReplyTrack::Exceptional => self.reply.exceptional,
            ReplyTrack::Detained => self.reply.detained,
        }
    }

    /// Whether `from` may send personal data to `to` under this profile.
    pub fn may_send_personal_data(&self, from: StateCode, to: StateCode) -> bool {
        !self
            .personal_data_barred
            .iter()
            .any(|barred| barred.from == from && barred.to == to)
    }
}

/// UK–FR: "France transfers no personal data to the UK".
fn france_to_united_kingdom() -> BarredFlow {
    BarredFlow {
        from: known_state("FR"),
        to: known_state("GB"),
    }
}

/// A state code written in this file.
fn known_state(code: &str) -> StateCode {
    // Invariant: only called with assigned ISO codes spelled in this file ("FR", "GB"); the
    // unit tests build every profile, so a typo fails the tests, never a node.
    StateCode::parse(code).expect("regime profiles name assigned ISO 3166-1 codes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::state;

    #[test]
    fn regimes_parse_from_their_codes_only() {
        for regime in Regime::ALL {
            assert_eq!(Regime::parse(regime.code()), Ok(regime));
            assert_eq!(regime.profile().regime, regime);
        }
        assert_eq!(Regime::parse("UKFR_2025"), Ok(Regime::Ukfr2025));
        assert_eq!(Regime::parse("EU_1FOR1"), Ok(Regime::Eu1for1));
        assert!(Regime::parse("ukfr_2025").is_err());
        assert!(Regime::parse("DUBLIN").is_err());
        for track in ReplyTrack::ALL {
            assert_eq!(ReplyTrack::parse(track.code()), Ok(track));
        }
    }

    #[test]
    fn uk_france_profile_follows_the_treaty() {
        let profile = Regime::Ukfr2025.profile();
        assert_eq!(profile.request_window, Period::CalendarDays(14));
        assert_eq!(
            profile.reply_limit(ReplyTrack::Standard),
            Period::CalendarDays(14)
        );
        assert_eq!(
            profile.reply_limit(ReplyTrack::Exceptional),
            Period::CalendarDays(28)
        );
        assert_eq!(profile.procedure_limit, Some(Period::Months(3)));
        assert!(profile.parity_refusal_allowed);
        assert!(!profile.may_send_personal_data(state("FR"), state("GB")));
        assert!(profile.may_send_personal_data(state("GB"), state("FR")));
        assert_eq!(profile.visa_validity, Period::Months(3));
    }

    #[test]
    fn dublin_and_ammr_profiles_use_their_own_limits() {
        let dublin = Regime::DublinIii.profile();
        assert_eq!(dublin.reply_limit(ReplyTrack::Standard), Period::Months(1));
        assert_eq!(dublin.procedure_limit, None);
        assert_eq!(dublin.legal_hold, HoldEffect::RestartTransferClock);
        assert!(!dublin.parity_refusal_allowed);
        assert!(dublin.may_send_personal_data(state("FR"), state("DE")));
        let ammr = Regime::Ammr2026.profile();
        assert_eq!(ammr.reply_limit(ReplyTrack::Standard), Period::Weeks(2));
        assert_eq!(ammr.reply_limit(ReplyTrack::Detained), Period::Weeks(1));
        assert_eq!(ammr.silence, Silence::MeansAcceptance);
    }

    #[test]
    fn eu_one_for_one_takes_the_strictest_rule_of_each() {
        let strictest = Regime::Eu1for1.profile();
        let others = [
            Regime::Ukfr2025.profile(),
            Regime::DublinIii.profile(),
            Regime::Ammr2026.profile(),
        ];
        let start = crate::time::Timestamp::parse("2025-01-31T00:00:00Z").unwrap();
        let shortest = |pick: fn(&RegimeProfile) -> Period| {
            others
                .iter()
                .map(|profile| start.plus(pick(profile)))
                .min()
                .unwrap()
        };
        let checks: [fn(&RegimeProfile) -> Period; 7] = [
            |profile| profile.request_window,
            |profile| profile.reply.standard,
            |profile| profile.reply.exceptional,
            |profile| profile.reply.detained,
            |profile| profile.re_examination_request_window,
            |profile| profile.re_examination_reply,
            |profile| profile.transfer_limit,
        ];
        for pick in checks {
            assert_eq!(start.plus(pick(&strictest)), shortest(pick));
        }
        assert_eq!(strictest.procedure_limit, Some(Period::Months(3)));
        assert_eq!(strictest.legal_hold, HoldEffect::PauseClocks);
        assert!(strictest.parity_refusal_allowed);
        assert!(strictest.admission_departure_confirmation);
        assert!(!strictest.may_send_personal_data(state("FR"), state("GB")));
    }
}
