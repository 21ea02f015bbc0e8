//! The revocation list the issuing CA signs: every certificate of every revoked member, and
//! what the CA's lists made before (by `accord pki`, in `tls.crl`) revoke, so that one list
//! says all the CA says.
//!
//! A list is issued at start, at each revocation, and again before half its life is over
//! ([`App::refresh_revocation_list`], which the server calls on a timer), so that neither
//! the coordinator's TLS nor a node checking it ever holds an expired list. Each list's
//! number is larger than the one before (its issue time in milliseconds, or the previous
//! number plus one). Every new list is applied to the coordinator's own TLS before the
//! change that issued it is answered ([`App::apply_revocations_with`]), so a revoked
//! member's next connection is refused; nodes fetch it with the directory
//! (`GetRevocationList`).

use accord_domain::Timestamp;
use accord_domain::membership::{Directory, MemberStatus};
use accord_trust::Crl;
use accord_trust::pki::{Revocation, Serial, Validity};

use super::{App, Error, pki_time, read_lock, write_lock};
use crate::convert::command::RevocationList;

/// Milliseconds in an hour.
const MILLIS_PER_HOUR: i64 = 3_600_000;

impl App {
    /// The current revocation list.
    pub fn revocation_list(&self) -> RevocationList {
        self.inner.revocations.borrow().clone()
    }

    /// Has `apply` called with every new list before the change that issued it is
    /// answered (the server applies it to new connections).
    pub fn apply_revocations_with(&self, apply: super::RevocationApplier) {
        *write_lock(&self.inner.revocation_applier) = Some(apply);
    }

    /// Issues the next list if half the current one's life is over.
    pub async fn refresh_revocation_list(&self) -> Result<(), Error> {
        let current = self.revocation_list();
        let half_life = (current.next_update.as_millis() - current.this_update.as_millis()) / 2;
        if self.inner.clock.now().as_millis() >= current.this_update.as_millis() + half_life {
            self.issue_revocation_list().await?;
        }
        Ok(())
    }

    /// Issues and publishes the list the current directory calls for.
    pub(super) async fn issue_revocation_list(&self) -> Result<(), Error> {
        let directory = self.inner.published.borrow().directory().clone();
        let previous = self.inner.revocations.borrow().number;
        let list = issue(
            &self.inner.issuing,
            &directory,
            self.inner.clock.now(),
            previous,
        )?;
        if let Some(apply) = read_lock(&self.inner.revocation_applier).as_ref() {
            apply(&list);
        }
        self.inner.revocations.send_replace(list);
        Ok(())
    }
}

/// The list for `directory` at `now`, numbered after `previous`.
pub(super) fn issue(
    issuing: &super::IssuingCa,
    directory: &Directory,
    now: Timestamp,
    previous: u64,
) -> Result<RevocationList, Error> {
    let mut revocations = Vec::new();
    for member in directory.members() {
        if member.status != MemberStatus::Revoked {
            continue;
        }
        for certificate in &member.certificates {
            revocations.push(Revocation {
                serial: Serial::from_bytes(&certificate.serial),
                revoked_at: pki_time(member.status_changed_at)?,
            });
        }
    }
    revocations.extend(issuing.earlier_revocations.iter().cloned());
    let number = u64::try_from(now.as_millis())
        .unwrap_or(0)
        .max(previous.saturating_add(1));
    let next_update = now.plus_millis(i64::from(issuing.crl_hours) * MILLIS_PER_HOUR);
    let validity = Validity::new(pki_time(now)?, pki_time(next_update)?)
        .map_err(|error| Error::internal("a revocation list's validity", error))?;
    let signed = issuing
        .authority
        .revocation_list(&revocations, number, validity)
        .map_err(|error| Error::internal("signing the revocation list", error))?;
    Ok(RevocationList {
        signed,
        number,
        this_update: now,
        next_update,
        companions_pem: issuing.other_crls.iter().map(Crl::to_pem).collect(),
    })
}

impl App {
    /// The CRLs the coordinator's TLS checks clients against with `list`: the other CAs'
    /// (the root's, when an issuing CA below it issues) and `list`, which replaces every
    /// earlier list of its CA.
    pub fn crls_for_tls(&self, list: &RevocationList) -> Vec<Crl> {
        let mut crls = self.inner.issuing.other_crls.clone();
        crls.push(list.signed.crl.clone());
        crls
    }
}
