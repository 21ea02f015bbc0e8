//! The directory: the network's membership at one version, and the one way it changes
//! ([`Directory::apply`]).
//!
//! Version 0 is the empty directory; every accepted [`DirectoryChange`] gives the next version,
//! exactly one higher, issued at the change's time, which never goes backwards. Members are
//! kept in state order and never removed; agreements are kept in (pair, start) order, and two
//! agreements of one pair never share an instant. The coordinator signs each version's wire
//! form and publishes it; nodes keep the highest version they have verified.

use std::collections::BTreeMap;

use super::{
    Agreement, CertificateRole, Endpoint, Error, Member, MemberCertificate, MemberStatus,
    SigningKeyEntry, SigningKeyStatus, StatusReason,
};
use crate::{StateCode, Timestamp};

/// One change to the directory, as an operator or a member's node asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DirectoryChange {
    /// A state joins (after redeeming its enrolment token): not a member before, whatever the
    /// status; listed ACTIVE with at least one node certificate and one active signing key.
    /// Its `joined_at` and `status_changed_at` become the change's time, its reason none.
    Enrol {
        /// The new member.
        member: Member,
    },
    /// An active member is suspended. Its keys are untouched: suspension cuts the member off
    /// (nodes refuse its calls), it does not make what it signed before doubtful.
    Suspend {
        /// The member.
        state: StateCode,
        /// Why (not `RESOLVED`).
        reason: StatusReason,
    },
    /// A suspended member is active again, for the reason `RESOLVED`.
    Reinstate {
        /// The member.
        state: StateCode,
    },
    /// An active or suspended member is revoked for good, and every key of it is revoked from
    /// the change's time (or from its earlier end, if it had one).
    Revoke {
        /// The member.
        state: StateCode,
        /// Why (not `RESOLVED`).
        reason: StatusReason,
    },
    /// An agreement between two members, neither revoked, is recorded. One of the same pair
    /// and start is replaced (a new sunset, regimes or parity limit); any other must not
    /// overlap in time an agreement of the pair.
    SetAgreement {
        /// The agreement.
        agreement: Agreement,
    },
    /// A member not revoked registers a new key: ACTIVE, with an id it does not have yet, valid
    /// from the change's time or later, with no end.
    AddSigningKey {
        /// The member.
        state: StateCode,
        /// The key.
        key: SigningKeyEntry,
    },
    /// A member not revoked retires one of its active keys, other than its last active one: the
    /// key is RETIRED and valid until the change's time.
    RetireSigningKey {
        /// The member.
        state: StateCode,
        /// The key's id.
        key_id: String,
    },
    /// A member not revoked has new certificates: the list replaces the old one (during a
    /// renewal it holds both old and new), and has at least one node certificate.
    SetCertificates {
        /// The member.
        state: StateCode,
        /// The member's certificates from now on.
        certificates: Vec<MemberCertificate>,
    },
    /// A member not revoked has a new node endpoint.
    SetEndpoint {
        /// The member.
        state: StateCode,
        /// The endpoint.
        endpoint: Endpoint,
    },
}

/// The network's membership at one version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Directory {
    version: u64,
    issued_at: Timestamp,
    members: BTreeMap<StateCode, Member>,
    /// Ordered by (pair, effective_from); no two of one pair overlap.
    agreements: Vec<Agreement>,
}

impl Directory {
    /// The empty directory, version 0, as of `now`: what the coordinator starts from.
    pub fn empty(now: Timestamp) -> Self {
        Self {
            version: 0,
            issued_at: now,
            members: BTreeMap::new(),
            agreements: Vec::new(),
        }
    }

    /// The directory a coordinator published and kept, read back: version `version` issued at
    /// `issued_at`, with `members` and `agreements` as it listed them. Refuses what no
    /// sequence of changes could have made: a state listed twice, an agreement naming a
    /// state that is not listed, or two agreements of a pair that overlap.
    pub fn restore(
        version: u64,
        issued_at: Timestamp,
        members: Vec<Member>,
        agreements: Vec<Agreement>,
    ) -> Result<Self, Error> {
        let mut directory = Self {
            version,
            ..Self::empty(issued_at)
        };
        for member in members {
            if let Some(listed) = directory.members.get(&member.state) {
                return Err(Error::AlreadyMember {
                    state: member.state,
                    status: listed.status,
                });
            }
            directory.members.insert(member.state, member);
        }
        for agreement in agreements {
            let (first, second) = agreement.pair();
            for state in [first, second] {
                if !directory.members.contains_key(&state) {
                    return Err(Error::NotAMember { state });
                }
            }
            if let Some(existing) = directory
                .agreements
                .iter()
                .find(|existing| existing.overlaps(&agreement))
            {
                return Err(Error::OverlappingAgreement {
                    pair: agreement.pair(),
                    effective_from: agreement.effective_from(),
                    existing_effective_from: existing.effective_from(),
                });
            }
            let key = agreement.order_key();
            let index = directory
                .agreements
                .partition_point(|existing| existing.order_key() < key);
            directory.agreements.insert(index, agreement);
        }
        Ok(directory)
    }

    /// The version: 0 for the empty directory, one more with every change.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// When this version was issued: the time of the change that made it.
    pub fn issued_at(&self) -> Timestamp {
        self.issued_at
    }

    /// Every member ever enrolled, revoked ones included, in state order.
    pub fn members(&self) -> impl ExactSizeIterator<Item = &Member> + DoubleEndedIterator {
        self.members.values()
    }

    /// The member `state`, whatever its status.
    pub fn member(&self, state: StateCode) -> Option<&Member> {
        self.members.get(&state)
    }

    /// Every agreement, past, present and future, ordered by pair, then start.
    pub fn agreements(&self) -> &[Agreement] {
        &self.agreements
    }

    /// Whether this directory is newer than the version `other_version` a node holds. A node
    /// refuses a directory whose version is lower than the one it holds (a replayed old
    /// version could reinstate a revoked member or a retired key), and ignores an equal one.
    pub fn newer_than(&self, other_version: u64) -> bool {
        self.version > other_version
    }

    /// The agreement between `a` and `b` (either order) in force at `at`, if any.
    pub fn agreement_between(
        &self,
        a: StateCode,
        b: StateCode,
        at: Timestamp,
    ) -> Option<&Agreement> {
        let pair = (a.min(b), a.max(b));
        self.agreements
            .iter()
            .find(|agreement| agreement.pair() == pair && agreement.in_force_at(at))
    }

    /// The agreements of `state` in force at `at`, in the order of the other state: a node's
    /// partners.
    pub fn agreements_of(
        &self,
        state: StateCode,
        at: Timestamp,
    ) -> impl Iterator<Item = &Agreement> {
        self.agreements
            .iter()
            .filter(move |agreement| agreement.involves(state) && agreement.in_force_at(at))
    }

    /// Whether `state` is an active member (not suspended, not revoked, not unknown).
    pub fn is_active(&self, state: StateCode) -> bool {
        self.member(state)
            .is_some_and(|member| member.status == MemberStatus::Active)
    }

    /// The key `key_id` of member `state` if it is valid at `at`: what a node checks a
    /// signature dated `at` against. A revoked member's keys are valid at no instant from its
    /// revocation on.
    pub fn signing_key(
        &self,
        state: StateCode,
        key_id: &str,
        at: Timestamp,
    ) -> Option<&SigningKeyEntry> {
        self.member(state)?.signing_key(key_id, at)
    }

    /// How many members are active: the most approvals an enrolment may require.
    pub fn active_members(&self) -> usize {
        self.members
            .values()
            .filter(|member| member.status == MemberStatus::Active)
            .count()
    }

    /// The next version: this one after `change` at `now`, or why the change is refused.
    /// Refused with [`Error::TimeWentBackwards`] when `now` is before this version's issue;
    /// the rules of each change are on [`DirectoryChange`]'s variants.
    pub fn apply(&self, change: DirectoryChange, now: Timestamp) -> Result<Directory, Error> {
        if now < self.issued_at {
            return Err(Error::TimeWentBackwards {
                last_change_at: self.issued_at,
                now,
            });
        }
        let mut next = self.clone();
        match change {
            DirectoryChange::Enrol { member } => next.enrol(member, now)?,
            DirectoryChange::Suspend { state, reason } => {
                next.change_status(state, MemberStatus::Suspended, reason, now)?;
            }
            DirectoryChange::Reinstate { state } => {
                next.change_status(state, MemberStatus::Active, StatusReason::Resolved, now)?;
            }
            DirectoryChange::Revoke { state, reason } => {
                next.change_status(state, MemberStatus::Revoked, reason, now)?;
            }
            DirectoryChange::SetAgreement { agreement } => next.set_agreement(agreement)?,
            DirectoryChange::AddSigningKey { state, key } => {
                next.add_signing_key(state, key, now)?;
            }
            DirectoryChange::RetireSigningKey { state, key_id } => {
                next.retire_signing_key(state, &key_id, now)?;
            }
            DirectoryChange::SetCertificates {
                state,
                certificates,
            } => next.set_certificates(state, certificates)?,
            DirectoryChange::SetEndpoint { state, endpoint } => {
                next.amendable_member(state)?.endpoint = endpoint;
            }
        }
        // A directory changes a few times a day: a u64 version does not run out.
        next.version = self.version + 1;
        next.issued_at = now;
        Ok(next)
    }

    fn enrol(&mut self, mut member: Member, now: Timestamp) -> Result<(), Error> {
        let state = member.state;
        if let Some(existing) = self.members.get(&state) {
            return Err(Error::AlreadyMember {
                state,
                status: existing.status,
            });
        }
        if member.status != MemberStatus::Active {
            return Err(Error::NewMemberNotActive {
                state,
                status: member.status,
            });
        }
        check_node_certificate(state, &member.certificates)?;
        check_enrolment_keys(state, &member.signing_keys)?;
        member.status_reason = None;
        member.status_changed_at = now;
        member.joined_at = now;
        self.members.insert(state, member);
        Ok(())
    }

    fn change_status(
        &mut self,
        state: StateCode,
        to: MemberStatus,
        reason: StatusReason,
        now: Timestamp,
    ) -> Result<(), Error> {
        let member = self.member_mut(state)?;
        let from = member.status;
        let allowed = match to {
            MemberStatus::Active => from == MemberStatus::Suspended,
            MemberStatus::Suspended => from == MemberStatus::Active,
            MemberStatus::Revoked => from != MemberStatus::Revoked,
        };
        if !allowed {
            return Err(Error::IllegalStatusChange { state, from, to });
        }
        if (reason == StatusReason::Resolved) != (to == MemberStatus::Active) {
            return Err(Error::ReasonNotAllowed { state, to, reason });
        }
        member.status = to;
        member.status_reason = Some(reason);
        member.status_changed_at = now;
        if to == MemberStatus::Revoked {
            for key in &mut member.signing_keys {
                key.status = SigningKeyStatus::Revoked;
                key.valid_until = Some(key.valid_until.map_or(now, |until| until.min(now)));
            }
        }
        Ok(())
    }

    fn set_agreement(&mut self, agreement: Agreement) -> Result<(), Error> {
        let (first, second) = agreement.pair();
        self.amendable_member(first)?;
        self.amendable_member(second)?;
        let replaced = self.agreements.iter().position(|existing| {
            existing.pair() == agreement.pair()
                && existing.effective_from() == agreement.effective_from()
        });
        let overlapped = self
            .agreements
            .iter()
            .enumerate()
            .filter(|(index, _)| Some(*index) != replaced)
            .find(|(_, existing)| existing.overlaps(&agreement));
        if let Some((_, existing)) = overlapped {
            return Err(Error::OverlappingAgreement {
                pair: agreement.pair(),
                effective_from: agreement.effective_from(),
                existing_effective_from: existing.effective_from(),
            });
        }
        match replaced {
            Some(index) => self.agreements[index] = agreement,
            None => {
                let key = agreement.order_key();
                let index = self
                    .agreements
                    .partition_point(|existing| existing.order_key() < key);
                self.agreements.insert(index, agreement);
            }
        }
        Ok(())
    }

    fn add_signing_key(
        &mut self,
        state: StateCode,
        key: SigningKeyEntry,
        now: Timestamp,
    ) -> Result<(), Error> {
        let member = self.amendable_member(state)?;
        let key_id = key.key_id.clone();
        if member.signing_key_by_id(&key_id).is_some() {
            return Err(Error::DuplicateSigningKey { state, key_id });
        }
        if key.status != SigningKeyStatus::Active {
            return Err(Error::NewKeyNotActive {
                state,
                key_id,
                status: key.status,
            });
        }
        check_active_key_has_no_end(state, &key)?;
        if key.valid_from < now {
            return Err(Error::KeyValidFromPast {
                state,
                key_id,
                valid_from: key.valid_from,
                now,
            });
        }
        member.signing_keys.push(key);
        Ok(())
    }

    fn retire_signing_key(
        &mut self,
        state: StateCode,
        key_id: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        let member = self.amendable_member(state)?;
        let active_keys = member.active_signing_keys();
        let unknown = || Error::UnknownSigningKey {
            state,
            key_id: key_id.to_owned(),
        };
        let key = member
            .signing_keys
            .iter_mut()
            .find(|key| key.key_id == key_id)
            .ok_or_else(unknown)?;
        if key.status != SigningKeyStatus::Active {
            return Err(Error::SigningKeyNotActive {
                state,
                key_id: key_id.to_owned(),
                status: key.status,
            });
        }
        if active_keys == 1 {
            return Err(Error::LastActiveKey {
                state,
                key_id: key_id.to_owned(),
            });
        }
        key.status = SigningKeyStatus::Retired;
        key.valid_until = Some(now);
        Ok(())
    }

    fn set_certificates(
        &mut self,
        state: StateCode,
        certificates: Vec<MemberCertificate>,
    ) -> Result<(), Error> {
        let member = self.amendable_member(state)?;
        check_node_certificate(state, &certificates)?;
        member.certificates = certificates;
        Ok(())
    }

    fn member_mut(&mut self, state: StateCode) -> Result<&mut Member, Error> {
        self.members
            .get_mut(&state)
            .ok_or(Error::NotAMember { state })
    }

    /// The member `state`, to change something other than its status: not revoked.
    fn amendable_member(&mut self, state: StateCode) -> Result<&mut Member, Error> {
        let member = self.member_mut(state)?;
        if member.status == MemberStatus::Revoked {
            return Err(Error::MemberRevoked { state });
        }
        Ok(member)
    }
}

fn check_node_certificate(
    state: StateCode,
    certificates: &[MemberCertificate],
) -> Result<(), Error> {
    if certificates
        .iter()
        .any(|certificate| certificate.role == CertificateRole::Node)
    {
        Ok(())
    } else {
        Err(Error::NoNodeCertificate { state })
    }
}

/// A new member's keys: ids unique, active ones without an end, at least one active.
fn check_enrolment_keys(state: StateCode, keys: &[SigningKeyEntry]) -> Result<(), Error> {
    for (index, key) in keys.iter().enumerate() {
        if keys[..index].iter().any(|other| other.key_id == key.key_id) {
            return Err(Error::DuplicateSigningKey {
                state,
                key_id: key.key_id.clone(),
            });
        }
        check_active_key_has_no_end(state, key)?;
    }
    if keys
        .iter()
        .any(|key| key.status == SigningKeyStatus::Active)
    {
        Ok(())
    } else {
        Err(Error::NoActiveSigningKey { state })
    }
}

fn check_active_key_has_no_end(state: StateCode, key: &SigningKeyEntry) -> Result<(), Error> {
    match key.valid_until {
        Some(valid_until) if key.status == SigningKeyStatus::Active => {
            Err(Error::ActiveKeyWithEnd {
                state,
                key_id: key.key_id.clone(),
                valid_until,
            })
        }
        _ => Ok(()),
    }
}
