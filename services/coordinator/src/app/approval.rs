//! Quorum admission: the network's policy may require M approvals by existing members
//! before an enrolment token admits its state. Each approval is the approving member's
//! Ed25519 signature, by a key the directory lists for it as valid now, over the
//! `accord.v1.EnrolmentApproval` it sends (the token id, the candidate, itself, its key),
//! so that the record shows who let whom in, and no one — not the coordinator's operators —
//! can forge a member's consent. With M = 0 the token alone suffices.

use accord_domain::StateCode;
use accord_trust::{EventVerifyingKey, Signature, SigningDomain};

use super::enrolment::{restore, view};
use super::{App, Asked, Error, Replied};
use crate::convert::command::{Approve, EnrolmentView};
use crate::store::{ApprovalRecord, Change};

impl App {
    /// Records `approver`'s signed approval (its own node's action).
    pub async fn approve(
        &self,
        asked: Asked<'_, EnrolmentView>,
        approver: StateCode,
        command: Approve,
    ) -> Result<Replied<EnrolmentView>, Error> {
        if let Some(first) = self.first_answer(&asked).await? {
            return Ok(Replied::Replay(first));
        }
        if command.approver != approver {
            return Err(Error::PermissionDenied(format!(
                "{approver} approves only for itself, not for {}",
                command.approver
            )));
        }
        let mut record = self.enrolment_record(&command.token_id).await?;
        let enrolment = restore(&record)?;
        if command.candidate != enrolment.state() {
            return Err(Error::invalid(
                "approval.candidate_state",
                format!("is not the state the token admits ({})", enrolment.state()),
            ));
        }
        let now = self.inner.clock.now();
        let directory = self.inner.published.borrow().directory().clone();
        let key = directory
            .member(approver)
            .and_then(|member| member.signing_key(&command.signing_key_id, now))
            .ok_or_else(|| {
                Error::SignatureInvalid(format!(
                    "key {} is not a key of {approver} valid now",
                    command.signing_key_id
                ))
            })?;
        let verifying_key = EventVerifyingKey::from_bytes(&key.public_key)
            .map_err(|error| Error::internal("a listed signing key", error))?;
        let signature = Signature::from_slice(&command.signature)
            .map_err(|error| Error::SignatureInvalid(error.to_string()))?;
        verifying_key
            .verify(
                SigningDomain::ENROLMENT_APPROVAL,
                &command.signed_bytes,
                &signature,
            )
            .map_err(|_| {
                Error::SignatureInvalid(format!(
                    "the signature does not verify under {approver}'s key {}",
                    command.signing_key_id
                ))
            })?;
        let approved = enrolment
            .approve(approver, directory.is_active(approver), now)
            .map_err(approval_error)?;
        let approval = ApprovalRecord {
            token_id: command.token_id.clone(),
            state: approver.to_string(),
            at: now.as_millis(),
            signing_key_id: command.signing_key_id,
            signature: command.signature,
        };
        record.approvals.push(approval.clone());
        let answer = view(approved, &record)?;
        let change = Change {
            approval: Some(approval),
            ..Change::default()
        };
        let detail = format!(
            "{approver} approved {} ({})",
            command.token_id, command.candidate
        );
        self.commit_answered(&asked, answer, detail, change).await
    }
}

/// A refusal of the domain to record an approval, as the caller is told it.
fn approval_error(error: accord_domain::membership::Error) -> Error {
    use accord_domain::membership::Error as E;
    match error {
        E::AlreadyApproved { .. } => Error::AlreadyApproved(error.to_string()),
        E::CandidateCannotApprove { .. } | E::ApproverNotActive { .. } => {
            Error::PermissionDenied(error.to_string())
        }
        other => Error::IllegalTransition(other.to_string()),
    }
}
