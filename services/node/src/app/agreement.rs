//! The pair's agreement ([`Terms`]): which regimes a case between this node's state and a
//! partner may name at all, and the parity limit between them, as configured or as the
//! coordinator's directory lists the agreement in force.
//!
//! The requesting (or admitting) state picks a case's regime, so nothing but this check
//! stops it from choosing one its partner never signed — a Dublin III case between the UK
//! and France, or personal data sent from France to the UK under a regime without the
//! UK–France bar. The rule lives here once and is called wherever a case that names a
//! regime is opened (readmission requests, offers, nominations) and wherever one is received
//! from a partner. Whether personal data may flow in a direction under an agreed regime is
//! the regime profile's question (`RegimeProfile::may_send_personal_data`), asked beside it.
//! This module does not audit: the gRPC layer audits every `NO_AGREEMENT` refusal.

use accord_domain::membership::Agreement;
use accord_domain::parity::ParityLimit;
use accord_domain::regime::RegimeProfile;
use accord_domain::{Regime, StateCode, Timestamp};

use super::{Error, Precondition};

/// The terms of a pair: what a new case between the two states may name.
#[derive(Clone, Debug)]
pub(crate) enum Terms {
    /// As `[[partners]]` configures them: always in force.
    Configured {
        /// The regimes agreed.
        regimes: Vec<Regime>,
        /// The parity limit, if any.
        parity_limit: Option<ParityLimit>,
    },
    /// The pair's agreements as the coordinator's directory lists them: the one in force at
    /// a case's opening decides (none in force: no new case; cases already open continue).
    Agreed(Vec<Agreement>),
}

impl Terms {
    /// The parity limit of the pair at `now`: the configured one, or the one of the
    /// agreement in force between `own` and `partner`.
    pub(crate) fn parity_limit(
        &self,
        own: StateCode,
        partner: StateCode,
        now: Timestamp,
    ) -> Option<ParityLimit> {
        match self {
            Self::Configured { parity_limit, .. } => *parity_limit,
            Self::Agreed(agreements) => in_force(agreements, own, partner, now)?.parity_limit(),
        }
    }
}

/// The agreement of the pair (`own`, `partner`) in force at `now`, among `agreements`.
fn in_force(
    agreements: &[Agreement],
    own: StateCode,
    partner: StateCode,
    now: Timestamp,
) -> Option<&Agreement> {
    agreements
        .iter()
        .find(|agreement| agreement.other(own) == Some(partner) && agreement.in_force_at(now))
}

/// Whether a new case with `partner` (whose terms are `terms`; none when the state is no
/// partner) may name `regime` at `now`; a refusal is `FAILED_PRECONDITION` `NO_AGREEMENT`
/// on `subject`.
pub(crate) fn check_agreement(
    own: StateCode,
    partner: StateCode,
    terms: Option<&Terms>,
    regime: Regime,
    subject: &str,
    now: Timestamp,
) -> Result<(), Error> {
    let refuse = |description: String| {
        Err(Error::precondition(
            Precondition::NoAgreement,
            subject,
            description,
        ))
    };
    let regimes = match terms {
        None => {
            return refuse(format!(
                "{partner} is not a partner of {own}: no node is configured for it"
            ));
        }
        Some(Terms::Configured { regimes, .. }) => regimes.as_slice(),
        Some(Terms::Agreed(agreements)) => match in_force(agreements, own, partner, now) {
            Some(agreement) => agreement.regimes(),
            None => {
                return refuse(format!(
                    "no agreement between {own} and {partner} is in force at {now}{}",
                    ended(agreements, now)
                ));
            }
        },
    };
    if regimes.contains(&regime) {
        return Ok(());
    }
    let agreed: Vec<&str> = regimes.iter().map(|agreed| agreed.code()).collect();
    refuse(format!(
        "{own} and {partner} have not agreed {}; their agreement covers {}",
        regime.code(),
        agreed.join(", ")
    ))
}

/// Why no agreement is in force, when the latest one ended or has not begun.
fn ended(agreements: &[Agreement], now: Timestamp) -> String {
    let sunset = agreements
        .iter()
        .filter_map(Agreement::sunset_at)
        .filter(|sunset_at| *sunset_at <= now)
        .max();
    let next = agreements
        .iter()
        .map(Agreement::effective_from)
        .filter(|from| *from > now)
        .min();
    match (sunset, next) {
        (_, Some(from)) => format!(" (the next one takes effect at {from})"),
        (Some(sunset_at), None) => format!(
            " (their agreement reached its sunset at {sunset_at}: cases already open continue)"
        ),
        (None, None) => String::new(),
    }
}

/// Whether the regime of `profile` lets a person's data flow from `from` to `to` (UK–France: none from
/// France to the UK); a refusal is `FAILED_PRECONDITION` `NO_AGREEMENT` on `subject`.
pub(crate) fn check_data_flow(
    profile: &RegimeProfile,
    (from, to): (StateCode, StateCode),
    subject: &str,
    refusal: impl FnOnce() -> String,
) -> Result<(), Error> {
    if profile.may_send_personal_data(from, to) {
        Ok(())
    } else {
        Err(Error::precondition(
            Precondition::NoAgreement,
            subject,
            refusal(),
        ))
    }
}
