//! The partners as this node knows them ([`Partners`]), and the pair's agreement: which
//! regimes a case between this node's state and a partner may name at all.
//!
//! The requesting (or admitting) state picks a case's regime, so nothing but this check
//! stops it from choosing one its partner never signed — a Dublin III case between the UK
//! and France, or personal data sent from France to the UK under a regime without the
//! UK–France bar. The rule lives here once and is called wherever a case that names a
//! regime is opened (readmission requests, offers, nominations) and wherever one is received
//! from a partner. Whether personal data may flow in a direction under an agreed regime is
//! the regime profile's question (`RegimeProfile::may_send_personal_data`), asked beside it.
//! This module does not audit: the gRPC layer audits every `NO_AGREEMENT` refusal.

use std::collections::HashMap;

use accord_domain::parity::ParityLimit;
use accord_domain::regime::RegimeProfile;
use accord_domain::{Regime, StateCode};
use accord_trust::EventVerifyingKey;

use super::case::CaseType;
use super::{Error, Precondition};
use crate::convert::envelope::Signed;

/// A partner node as this node knows it.
#[derive(Clone)]
pub struct PartnerLink {
    /// The partner's state.
    pub state: StateCode,
    /// Its event-signing key.
    pub verifying_key: EventVerifyingKey,
    /// Its parity limit, if configured.
    pub parity_limit: Option<ParityLimit>,
    /// The regimes the pair agreed (`agreement::check_agreement`).
    pub regimes: Vec<Regime>,
}

/// The configured partners of this node's state, by state.
pub(crate) struct Partners {
    own_state: StateCode,
    links: HashMap<StateCode, PartnerLink>,
}

impl Partners {
    /// The partners of `own_state` as configured.
    pub(crate) fn new(own_state: StateCode, links: Vec<PartnerLink>) -> Self {
        let links = links.into_iter().map(|link| (link.state, link)).collect();
        Self { own_state, links }
    }

    /// What this node knows of `state`'s node, if it is a partner.
    pub(crate) fn get(&self, state: StateCode) -> Option<&PartnerLink> {
        self.links.get(&state)
    }

    /// The configured partner states.
    pub(crate) fn states(&self) -> Vec<StateCode> {
        self.links.keys().copied().collect()
    }

    /// The event-signing key of `partner`'s node; a state that is no partner is refused.
    pub(crate) fn key(&self, partner: StateCode) -> Result<EventVerifyingKey, Error> {
        self.get(partner)
            .map(|link| link.verifying_key)
            .ok_or_else(|| Error::PermissionDenied(format!("{partner} is not a partner")))
    }

    /// `partner`'s delivered event, once its signature verifies under the partner's key;
    /// `regime` is the regime its events are read under where they do not name it.
    pub(crate) fn verify<L: CaseType>(
        &self,
        partner: StateCode,
        wire: L::WireEvent,
        regime: Option<Regime>,
    ) -> Result<Signed<L>, Error> {
        Ok(Signed::verified(wire, regime, &self.key(partner)?)?)
    }

    /// The parity limit of the pair this node forms with `partner`, if one is configured.
    pub(crate) fn parity_limit(&self, partner: StateCode) -> Option<ParityLimit> {
        self.get(partner).and_then(|link| link.parity_limit)
    }

    /// [`check_agreement`] with this node's configured partner `partner`.
    pub(crate) fn check_agreement(
        &self,
        partner: StateCode,
        regime: Regime,
        subject: &str,
    ) -> Result<(), Error> {
        check_agreement(self.own_state, partner, self.get(partner), regime, subject)
    }
}

/// Whether a case with the partner `link` (absent when the state is no partner) may name
/// `regime`; a refusal is `FAILED_PRECONDITION` `NO_AGREEMENT` on `subject`.
pub(crate) fn check_agreement(
    own: StateCode,
    partner: StateCode,
    link: Option<&PartnerLink>,
    regime: Regime,
    subject: &str,
) -> Result<(), Error> {
    let Some(link) = link else {
        return Err(Error::precondition(
            Precondition::NoAgreement,
            subject,
            format!("{partner} is not a partner of {own}: no node is configured for it"),
        ));
    };
    if link.regimes.contains(&regime) {
        return Ok(());
    }
    let agreed: Vec<&str> = link.regimes.iter().map(|agreed| agreed.code()).collect();
    Err(Error::precondition(
        Precondition::NoAgreement,
        subject,
        format!(
            "{own} and {partner} have not agreed {}; their agreement covers {}",
            regime.code(),
            agreed.join(", ")
        ),
    ))
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
