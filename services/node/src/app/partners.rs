//! The partners as this node knows them: from its configuration (`[[partners]]`), or from
//! the coordinator's signed directory (`[coordinator]`), one whole version at a time.
//!
//! A [`PartnerBook`] is one immutable view: each partner's standing, its event-signing keys
//! and the terms of the pair (the regimes and parity limit agreed). [`PartnerBook::from_directory`]
//! maps a domain [`Directory`] to it, a pure function: this node's partners are the members
//! other than itself, not revoked, that share an agreement with its state (past, present or
//! future: an agreement past its sunset keeps the partner, so cases already open run to their
//! end, while no new case is opened). [`Partners`] holds the current book and swaps it whole
//! when a newer directory is applied: every look-up reads one version, never a mix.
//!
//! Signatures are judged at receipt: a directory partner's event names its key by id, and
//! the key must be one of the member's keys valid when this node received the event (not at
//! the time the event claims, which its signer chose). An id the member does not list is
//! `SIGNING_KEY_UNKNOWN` (a newer directory may bring it: the sender retries); a listed key
//! that was not valid at receipt is `SIGNATURE_INVALID`.
//!
//! This module verifies no directory (`crate::directory` does, with the coordinator's key),
//! stores nothing, and does not audit.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use accord_domain::membership::{Agreement, Directory, MemberStatus, SigningKeyEntry};
use accord_domain::parity::ParityLimit;
use accord_domain::{Regime, StateCode, Timestamp};
use accord_trust::EventVerifyingKey;

use super::agreement::{Terms, check_agreement};
use super::case::CaseType;
use super::{Error, Precondition};
use crate::convert::envelope::Signed;

/// A partner node as configured in `[[partners]]`.
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

/// How a member stands: the directory's status, as far as a partner can be in it (a revoked
/// member is no partner at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// Cases open and events flow.
    Active,
    /// No new case either way; deliveries wait in the outbox until reinstated.
    Suspended,
}

/// The keys a partner's events are checked against.
#[derive(Clone)]
enum Keys {
    /// The one key configured: an event under another id is invalid.
    Configured(EventVerifyingKey),
    /// The member's keys as the directory lists them, with their validity.
    Listed(Vec<SigningKeyEntry>),
}

/// What this node knows of one partner, at one version.
#[derive(Clone)]
pub(crate) struct Partner {
    standing: Standing,
    keys: Keys,
    terms: Terms,
}

/// The partners of this node's state at one version of what it knows; immutable.
#[derive(Clone)]
pub(crate) struct PartnerBook {
    own_state: StateCode,
    /// This node's own standing (always active without a coordinator).
    own_standing: Standing,
    /// The directory version this book was made from; none when configured.
    version: Option<u64>,
    partners: HashMap<StateCode, Partner>,
}

impl PartnerBook {
    /// The partners of `own_state` as configured.
    pub(crate) fn configured(own_state: StateCode, links: Vec<PartnerLink>) -> Self {
        let partners = links
            .into_iter()
            .map(|link| {
                let partner = Partner {
                    standing: Standing::Active,
                    keys: Keys::Configured(link.verifying_key),
                    terms: Terms::Configured {
                        regimes: link.regimes,
                        parity_limit: link.parity_limit,
                    },
                };
                (link.state, partner)
            })
            .collect();
        Self {
            own_state,
            own_standing: Standing::Active,
            version: None,
            partners,
        }
    }

    /// The partners of `own_state` as `directory` lists them: the members but itself that
    /// are not revoked and share at least one agreement with it. A node whose own state is
    /// not listed, or is revoked, has no partner.
    pub(crate) fn from_directory(own_state: StateCode, directory: &Directory) -> Self {
        let own_standing = directory
            .member(own_state)
            .and_then(|member| standing(member.status));
        let mut partners = HashMap::new();
        if own_standing.is_some() {
            for member in directory.members() {
                let Some(member_standing) = standing(member.status) else {
                    continue;
                };
                let agreements: Vec<Agreement> = directory
                    .agreements()
                    .iter()
                    .filter(|agreement| agreement.other(own_state) == Some(member.state))
                    .cloned()
                    .collect();
                if member.state == own_state || agreements.is_empty() {
                    continue;
                }
                let partner = Partner {
                    standing: member_standing,
                    keys: Keys::Listed(member.signing_keys.clone()),
                    terms: Terms::Agreed(agreements),
                };
                partners.insert(member.state, partner);
            }
        }
        Self {
            own_state,
            own_standing: own_standing.unwrap_or(Standing::Active),
            version: Some(directory.version()),
            partners,
        }
    }

    /// The partner states, in state order.
    pub(crate) fn states(&self) -> Vec<StateCode> {
        let mut states: Vec<StateCode> = self.partners.keys().copied().collect();
        states.sort();
        states
    }

    /// The partner states deliveries may go to now: active partners, while this node's own
    /// state is active (a suspended party's messages wait in the outbox).
    pub(crate) fn sendable_states(&self) -> Vec<StateCode> {
        if self.own_standing == Standing::Suspended {
            return Vec::new();
        }
        let mut states: Vec<StateCode> = self
            .partners
            .iter()
            .filter(|(_, partner)| partner.standing == Standing::Active)
            .map(|(state, _)| *state)
            .collect();
        states.sort();
        states
    }

    /// Whether `state` is a partner, whatever its standing.
    pub(crate) fn is_partner(&self, state: StateCode) -> bool {
        self.partners.contains_key(&state)
    }

    /// The standing of partner `state`, if it is one.
    pub(crate) fn standing(&self, state: StateCode) -> Option<Standing> {
        self.partners.get(&state).map(|partner| partner.standing)
    }

    /// The directory version this book was made from; none when configured.
    pub(crate) fn version(&self) -> Option<u64> {
        self.version
    }

    /// Refuses a call from partner `state`'s node while either party is suspended.
    pub(crate) fn check_not_suspended(&self, state: StateCode) -> Result<(), Error> {
        if self.standing(state) == Some(Standing::Suspended) {
            return Err(Error::MemberSuspended(format!(
                "{state} is suspended in the coordinator's directory: {} takes nothing from it \
                 until it is reinstated",
                self.own_state
            )));
        }
        self.check_own_standing()
    }

    fn check_own_standing(&self) -> Result<(), Error> {
        if self.own_standing == Standing::Suspended {
            return Err(Error::MemberSuspended(format!(
                "{} is suspended in the coordinator's directory: no new case starts with it \
                 until it is reinstated",
                self.own_state
            )));
        }
        Ok(())
    }

    /// Whether a new case with `partner` may name `regime` at `now`; a refusal names
    /// `subject`. A suspended party refuses (`PARTNER_SUSPENDED`, or `MEMBER_SUSPENDED` for
    /// this node's own state); then the pair's terms decide (`agreement::check_agreement`).
    pub(crate) fn check_new_case(
        &self,
        partner: StateCode,
        regime: Regime,
        subject: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        let link = self.partners.get(&partner);
        if let Some(link) = link
            && link.standing == Standing::Suspended
        {
            return Err(Error::precondition(
                Precondition::PartnerSuspended,
                subject,
                format!(
                    "{partner} is suspended in the coordinator's directory: no new case starts \
                     with it until it is reinstated"
                ),
            ));
        }
        self.check_own_standing()?;
        check_agreement(
            self.own_state,
            partner,
            link.map(|link| &link.terms),
            regime,
            subject,
            now,
        )
    }

    /// The parity limit of the pair with `partner` at `now`, if one is agreed.
    pub(crate) fn parity_limit(&self, partner: StateCode, now: Timestamp) -> Option<ParityLimit> {
        self.partners
            .get(&partner)
            .and_then(|link| link.terms.parity_limit(self.own_state, partner, now))
    }

    /// The key `partner` signed an event with under `key_id`, if it was valid when this
    /// node received the event at `received_at`; `subject` names the event in a refusal.
    fn key(
        &self,
        partner: StateCode,
        key_id: &str,
        received_at: Timestamp,
        subject: &str,
    ) -> Result<EventVerifyingKey, Error> {
        let link = self
            .partners
            .get(&partner)
            .ok_or_else(|| Error::PermissionDenied(format!("{partner} is not a partner")))?;
        let entries = match &link.keys {
            Keys::Configured(key) => return Ok(*key),
            Keys::Listed(entries) => entries,
        };
        let Some(entry) = entries.iter().find(|entry| entry.key_id == key_id) else {
            return Err(Error::precondition(
                Precondition::SigningKeyUnknown,
                subject,
                format!(
                    "{partner} has no signing key {key_id:?} in directory version {}; retry \
                     once the directory lists it",
                    self.version.unwrap_or_default()
                ),
            ));
        };
        if !entry.valid_at(received_at) {
            return Err(Error::SignatureInvalid(format!(
                "{subject} (key {key_id} of {partner} was not valid when {} received it, at \
                 {received_at})",
                self.own_state
            )));
        }
        EventVerifyingKey::from_bytes(&entry.public_key)
            .map_err(|_| Error::SignatureInvalid(format!("{subject} (key {key_id} unreadable)")))
    }
}

/// The standing a member's status gives it as a partner; none for a revoked member.
fn standing(status: MemberStatus) -> Option<Standing> {
    match status {
        MemberStatus::Active => Some(Standing::Active),
        MemberStatus::Suspended => Some(Standing::Suspended),
        MemberStatus::Revoked => None,
    }
}

/// The partners of this node's state: the current [`PartnerBook`], swapped whole when a
/// newer directory is applied. Each look-up reads one book.
pub(crate) struct Partners {
    current: RwLock<Arc<PartnerBook>>,
}

impl Partners {
    /// The partners of `own_state` as configured.
    pub(crate) fn new(own_state: StateCode, links: Vec<PartnerLink>) -> Self {
        Self {
            current: RwLock::new(Arc::new(PartnerBook::configured(own_state, links))),
        }
    }

    /// The current book.
    pub(crate) fn current(&self) -> Arc<PartnerBook> {
        match self.current.read() {
            Ok(book) => book.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Makes `book` the current one, for every look-up from now on.
    pub(crate) fn replace(&self, book: PartnerBook) {
        let book = Arc::new(book);
        match self.current.write() {
            Ok(mut current) => *current = book,
            Err(poisoned) => *poisoned.into_inner() = book,
        }
    }

    /// The configured partner states.
    pub(crate) fn states(&self) -> Vec<StateCode> {
        self.current().states()
    }

    /// [`PartnerBook::check_new_case`] on the current book.
    pub(crate) fn check_agreement(
        &self,
        partner: StateCode,
        regime: Regime,
        subject: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.current().check_new_case(partner, regime, subject, now)
    }

    /// [`PartnerBook::parity_limit`] on the current book.
    pub(crate) fn parity_limit(&self, partner: StateCode, now: Timestamp) -> Option<ParityLimit> {
        self.current().parity_limit(partner, now)
    }

    /// `partner`'s delivered event, once its signature verifies under the partner's key
    /// named by the event and valid at `received_at`, when this node received it; `regime`
    /// is the regime its events are read under where they do not name it.
    pub(crate) fn verify<L: CaseType>(
        &self,
        partner: StateCode,
        wire: L::WireEvent,
        regime: Option<Regime>,
        received_at: Timestamp,
    ) -> Result<Signed<L>, Error> {
        let header = L::header(&wire);
        let subject = format!("{} #{}", header.case_ref, header.sequence);
        let key = self
            .current()
            .key(partner, header.signing_key_id, received_at, &subject)?;
        Ok(Signed::verified(wire, regime, &key)?)
    }

    /// [`Partners::verify`] at `core`'s time, where the receipt time is the first one: an
    /// event this node already holds, byte for byte (a redelivery whose acknowledgement was
    /// lost), was judged when it first arrived, so a key retired since does not refuse it.
    pub(crate) async fn verify_received<L: CaseType>(
        &self,
        core: &super::Core,
        partner: StateCode,
        wire: L::WireEvent,
        regime: Option<Regime>,
    ) -> Result<Signed<L>, Error> {
        match self.verify::<L>(partner, wire.clone(), regime, core.now()) {
            Err(Error::SignatureInvalid(subject)) => {
                let header = L::header(&wire);
                let held = core
                    .store()
                    .find_event(header.case_ref, header.acting_state, header.idempotency_key)
                    .await?;
                let delivered = Signed::<L>::trusted(wire, regime)?;
                if held.is_some_and(|held| held.envelope == delivered.encoded()) {
                    return Ok(delivered);
                }
                Err(Error::SignatureInvalid(subject))
            }
            verified => verified,
        }
    }
}

#[cfg(test)]
mod tests;
