//! The pair's agreement: which regimes a case between this node's state and a partner may
//! name at all.
//!
//! The requesting (or admitting) state picks a case's regime, so nothing but this check
//! stops it from choosing one its partner never signed — a Dublin III case between the UK
//! and France, or personal data sent from France to the UK under a regime without the
//! UK–France bar. The rule lives here once and is called wherever a case that names a
//! regime is opened (readmission requests, offers, nominations) and wherever one is received
//! from a partner. Whether personal data may flow in a direction under an agreed regime is
//! the regime profile's question (`RegimeProfile::may_send_personal_data`), asked beside it.
//! This module does not audit: the gRPC layer audits every `NO_AGREEMENT` refusal.

use accord_domain::{Regime, StateCode};

use super::{App, Error, PartnerLink, Precondition};

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

impl App {
    /// [`check_agreement`] with this node's configured partner `partner`.
    pub(crate) fn check_agreement(
        &self,
        partner: StateCode,
        regime: Regime,
        subject: &str,
    ) -> Result<(), Error> {
        check_agreement(
            self.own_state(),
            partner,
            self.partner(partner),
            regime,
            subject,
        )
    }
}
