//! The directory: read by operators, members' nodes and gateways; changed by operators
//! (agreements, suspension, reinstatement) and, later, by enrolment and renewal.
//!
//! A change is applied by the domain to the current version under the `current` lock, the
//! next version is signed and committed with the request's idempotency record and audit
//! row, and only then published to watchers: a watcher never sees a version the store has
//! not kept.

use accord_domain::membership::{Agreement, Directory, DirectoryChange, Member};
use tokio::sync::watch;

use super::{App, Asked, Error, Replied, stored};
use crate::convert::command::{SetAgreement, StatusChange};
use crate::store::Change;
use accord_edge::directory::SignedDirectory;

/// What a directory change answers: the directory version that records it, and the record
/// it is about.
#[derive(Debug, Clone)]
pub struct Published<R> {
    /// The record as the new version lists it.
    pub record: R,
    /// The new version.
    pub version: u64,
}

impl App {
    /// The current signed directory: the last one published, read without waiting for a
    /// change being committed (only changes take the `current` lock).
    pub fn directory(&self) -> SignedDirectory {
        self.inner.published.borrow().clone()
    }

    /// Every version from now on, the current one first.
    pub fn watch_directory(&self) -> watch::Receiver<SignedDirectory> {
        self.inner.published.subscribe()
    }

    /// Records an agreement between two members (an operator's action).
    pub async fn set_agreement(
        &self,
        asked: Asked<'_, Published<Agreement>>,
        command: SetAgreement,
    ) -> Result<Replied<Published<Agreement>>, Error> {
        let agreement = command.agreement;
        let (first, second) = agreement.pair();
        let effective_from = agreement.effective_from();
        let detail = format!("agreement {first}-{second} from {effective_from}");
        self.change_directory(
            asked,
            vec![DirectoryChange::SetAgreement { agreement }],
            detail,
            Change::default(),
            |signed| {
                published(signed, |directory| {
                    directory
                        .agreements()
                        .iter()
                        .find(|agreement| {
                            agreement.pair() == (first, second)
                                && agreement.effective_from() == effective_from
                        })
                        .cloned()
                })
            },
        )
        .await
    }

    /// Suspends, reinstates or revokes a member (an operator's action). A revocation also
    /// issues the next revocation list, which the coordinator's own TLS applies at once.
    pub async fn change_status(
        &self,
        asked: Asked<'_, Published<Member>>,
        command: StatusChange,
    ) -> Result<Replied<Published<Member>>, Error> {
        let (state, change, detail) = match command {
            StatusChange::Suspend { state, reason } => (
                state,
                DirectoryChange::Suspend { state, reason },
                format!("suspended {state}: {reason}"),
            ),
            StatusChange::Revoke { state, reason } => (
                state,
                DirectoryChange::Revoke { state, reason },
                format!("revoked {state}: {reason}"),
            ),
            StatusChange::Reinstate { state } => (
                state,
                DirectoryChange::Reinstate { state },
                format!("reinstated {state}"),
            ),
        };
        let revokes = matches!(command, StatusChange::Revoke { .. });
        let replied = self
            .change_directory(asked, vec![change], detail, Change::default(), |signed| {
                published(signed, |directory| directory.member(state).cloned())
            })
            .await?;
        if revokes {
            self.issue_revocation_list().await?;
        }
        Ok(replied)
    }

    /// Applies `changes` in order to the current directory, signs the next version, commits it with
    /// `writes` (what else the request changes), publishes it, and answers the record
    /// `answer_of` reads from it.
    pub(super) async fn change_directory<A>(
        &self,
        asked: Asked<'_, A>,
        changes: Vec<DirectoryChange>,
        detail: String,
        writes: Change,
        answer_of: impl FnOnce(&SignedDirectory) -> Option<A>,
    ) -> Result<Replied<A>, Error> {
        if let Some(first) = self.first_answer(&asked).await? {
            return Ok(Replied::Replay(first));
        }
        let mut current = self.inner.current.lock().await;
        let now = self.inner.clock.now();
        let mut next = current.directory().clone();
        for change in changes {
            next = next.apply(change, now).map_err(directory_error)?;
        }
        let signed = SignedDirectory::sign(next, &self.inner.endpoint, &self.inner.signer);
        let answer = answer_of(&signed)
            .ok_or_else(|| Error::internal("reading the changed record", std::fmt::Error))?;
        let mut store_change = Change {
            directory: Some(stored(&signed)),
            ..writes
        };
        self.answered(&asked, &answer, detail, &mut store_change);
        self.inner.store.commit(store_change).await?;
        *current = signed.clone();
        self.inner.published.send_replace(signed);
        Ok(Replied::Fresh(answer))
    }

    /// Refuses a revoked member's node or gateway on every call, even over a connection
    /// opened before the revocation (new connections are refused at the handshake).
    pub fn check_standing(&self, caller: &accord_trust::PeerIdentity) -> Result<(), Error> {
        let Some(state) = caller.state() else {
            return Ok(());
        };
        let published = self.inner.published.borrow();
        match published.directory().member(state) {
            Some(member) if member.status == accord_domain::membership::MemberStatus::Revoked => {
                Err(Error::PermissionDenied(format!("{state} is revoked")))
            }
            _ => Ok(()),
        }
    }
}

/// The record `record_of` reads from `signed`, with its version.
fn published<R>(
    signed: &SignedDirectory,
    record_of: impl FnOnce(&Directory) -> Option<R>,
) -> Option<Published<R>> {
    Some(Published {
        record: record_of(signed.directory())?,
        version: signed.directory().version(),
    })
}

/// A refusal of the domain, as the caller is told it.
pub(super) fn directory_error(error: accord_domain::membership::Error) -> Error {
    use accord_domain::membership::Error as E;
    match error {
        E::NotAMember { state } => Error::NotFound(format!("member {state}")),
        E::UnknownSigningKey { state, key_id } => {
            Error::NotFound(format!("signing key {key_id} of {state}"))
        }
        E::SameState { .. }
        | E::NoRegimes
        | E::RepeatedRegime { .. }
        | E::SunsetNotAfterStart { .. }
        | E::ReasonNotAllowed { .. }
        | E::InvalidEndpoint { .. } => Error::invalid("request", error.to_string()),
        _ => Error::IllegalTransition(error.to_string()),
    }
}
