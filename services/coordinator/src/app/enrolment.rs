//! Enrolment tokens: issued and cancelled by operators, listed for operators and members.
//!
//! A token has a public id (random, `enr-` and 20 hex digits) and a secret. The secret is
//! never stored: the store keeps its SHA-256, and the secret is derived again from the id
//! with the coordinator's signing key whenever it must be shown (the issue's answer and its
//! replays): the hex SHA-256 of the key's Ed25519 signature (deterministic) over the id,
//! under the signing domain `accord.v1.EnrolmentToken`. Only the holder of the
//! coordinator's key can compute a token from its id.

use accord_domain::Timestamp;
use accord_domain::membership::{Approval, Enrolment, EnrolmentStatus};
use accord_trust::SigningDomain;
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};

use super::{App, Asked, Error, Replied};
use crate::convert::command::{
    ApprovalSignature, CancelToken, EnrolmentPage, EnrolmentView, IssueToken, ListEnrolments,
};
use crate::store::{Change, EnrolmentRecord, EnrolmentWrite};

/// The signing domain a token's secret is derived under.
const TOKEN_DOMAIN: Option<SigningDomain> = SigningDomain::new("accord.v1.EnrolmentToken");

/// Milliseconds in an hour.
const MILLIS_PER_HOUR: i64 = 3_600_000;

/// Random bytes in a token id.
const TOKEN_ID_RANDOM_BYTES: usize = 10;

/// An issued token: the enrolment, and the secret to hand to the state out of band.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The enrolment.
    pub enrolment: Enrolment,
    /// The secret token.
    pub token: String,
}

impl App {
    /// Issues a one-time token for a state to join (an operator's action).
    pub async fn issue_token(
        &self,
        asked: Asked<'_, Issued>,
        command: IssueToken,
    ) -> Result<Replied<Issued>, Error> {
        if let Some(first) = self.first_answer(&asked).await? {
            return Ok(Replied::Replay(first));
        }
        let now = self.inner.clock.now();
        let ttl_max_ms = i64::from(self.inner.token_ttl_hours_max) * MILLIS_PER_HOUR;
        if command.expires_at > now.plus_millis(ttl_max_ms) {
            return Err(Error::invalid(
                "expires_at",
                format!(
                    "is more than {} hours ahead (enrolment.token_ttl_hours_max)",
                    self.inner.token_ttl_hours_max
                ),
            ));
        }
        let directory = self.inner.published.borrow().directory().clone();
        if let Some(member) = directory.member(command.state) {
            return Err(Error::IllegalTransition(format!(
                "{} is already a member ({})",
                command.state, member.status
            )));
        }
        let token_id = new_token_id()?;
        let enrolment = Enrolment::issue(
            &token_id,
            command.state,
            now,
            command.expires_at,
            command.required_approvals,
            directory.active_members(),
        )
        .map_err(|error| Error::invalid(field_of(&error), error.to_string()))?;
        let token = self.token_for(&token_id)?;
        let issued = Issued { enrolment, token };
        let change = Change {
            enrolment: Some(EnrolmentWrite::Insert(self.record_of(
                &issued.enrolment,
                &issued.token,
                asked.caller,
            ))),
            ..Change::default()
        };
        let detail = format!("token {token_id} for {}", command.state);
        self.commit_answered(&asked, issued, detail, change).await
    }

    /// The stored enrolment of token `token_id`, or `NOT_FOUND`.
    pub(super) async fn enrolment_record(&self, token_id: &str) -> Result<EnrolmentRecord, Error> {
        self.inner
            .store
            .find_enrolment(token_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("enrolment token {token_id}")))
    }

    /// Cancels an unused token (an operator's action).
    pub async fn cancel_token(
        &self,
        asked: Asked<'_, EnrolmentView>,
        command: CancelToken,
    ) -> Result<Replied<EnrolmentView>, Error> {
        if let Some(first) = self.first_answer(&asked).await? {
            return Ok(Replied::Replay(first));
        }
        let record = self.enrolment_record(&command.token_id).await?;
        let enrolment = restore(&record)?;
        let cancelled = enrolment
            .cancel(self.inner.clock.now())
            .map_err(|error| Error::IllegalTransition(error.to_string()))?;
        let change = Change {
            enrolment: Some(EnrolmentWrite::Update(self.record_of(
                &cancelled,
                "",
                &record.issued_by,
            ))),
            ..Change::default()
        };
        let detail = format!("token {} for {}", command.token_id, record.state);
        let cancelled = view(cancelled, &record)?;
        self.commit_answered(&asked, cancelled, detail, change)
            .await
    }

    /// A page of enrolments, newest first, in the statuses asked for (all when none).
    pub async fn list_enrolments(&self, query: ListEnrolments) -> Result<EnrolmentPage, Error> {
        let page_size = query.page_size.min(self.inner.page_size_max);
        let after = query.after.as_ref().map(|(at, id)| (*at, id.as_str()));
        let records = self
            .inner
            .store
            .list_enrolments(after, u64::from(page_size))
            .await?;
        let now = self.inner.clock.now();
        let next = (records.len() == page_size as usize)
            .then(|| {
                records
                    .last()
                    .map(|last| (last.issued_at, last.token_id.clone()))
            })
            .flatten();
        let mut enrolments = Vec::with_capacity(records.len());
        for record in &records {
            let enrolment = restore(record)?;
            if query.statuses.is_empty() || query.statuses.contains(&enrolment.status(now)) {
                enrolments.push(view(enrolment, record)?);
            }
        }
        Ok(EnrolmentPage {
            enrolments,
            now,
            next,
        })
    }

    /// The status of `enrolment` now.
    pub fn enrolment_status(&self, enrolment: &Enrolment) -> EnrolmentStatus {
        enrolment.status(self.inner.clock.now())
    }

    /// The secret token of `token_id` (see the module documentation).
    pub fn token_for(&self, token_id: &str) -> Result<String, Error> {
        let domain =
            TOKEN_DOMAIN.ok_or_else(|| Error::internal("the token domain", std::fmt::Error))?;
        let signature = self.inner.signer.sign(domain, token_id.as_bytes());
        Ok(hex::encode(Sha256::digest(signature.to_bytes())))
    }

    pub(super) fn record_of(
        &self,
        enrolment: &Enrolment,
        token: &str,
        issued_by: &str,
    ) -> EnrolmentRecord {
        EnrolmentRecord {
            token_id: enrolment.token_id().to_owned(),
            token_sha256: token_hash(token),
            state: enrolment.state().to_string(),
            issued_at: enrolment.issued_at().as_millis(),
            expires_at: enrolment.expires_at().as_millis(),
            required_approvals: enrolment.required_approvals(),
            used_at: enrolment.used_at().map(Timestamp::as_millis),
            cancelled_at: enrolment.cancelled_at().map(Timestamp::as_millis),
            issued_by: issued_by.to_owned(),
            approvals: Vec::new(),
        }
    }
}

/// The SHA-256 of a secret token, as the store keeps it (lower-case hex).
pub(super) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh random token id.
fn new_token_id() -> Result<String, Error> {
    let mut bytes = [0_u8; TOKEN_ID_RANDOM_BYTES];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::internal("drawing a token id", std::fmt::Error))?;
    Ok(format!("enr-{}", hex::encode(bytes)))
}

/// The enrolment a stored record describes.
pub(super) fn restore(record: &EnrolmentRecord) -> Result<Enrolment, Error> {
    let corrupt = |error: &dyn std::fmt::Display| {
        Error::internal(
            format!("reading enrolment {}", record.token_id),
            std::io::Error::other(error.to_string()),
        )
    };
    let state = record.state.parse().map_err(|error| corrupt(&error))?;
    let time = |millis: i64| Timestamp::from_millis(millis).map_err(|error| corrupt(&error));
    let mut approvals = Vec::with_capacity(record.approvals.len());
    for approval in &record.approvals {
        approvals.push(Approval {
            state: approval.state.parse().map_err(|error| corrupt(&error))?,
            at: time(approval.at)?,
        });
    }
    Enrolment::restore(
        &record.token_id,
        state,
        time(record.issued_at)?,
        time(record.expires_at)?,
        record.required_approvals,
        approvals,
        record.used_at.map(time).transpose()?,
        record.cancelled_at.map(time).transpose()?,
    )
    .map_err(|error| corrupt(&error))
}

/// `enrolment` with the approval signatures `record` holds.
pub(super) fn view(enrolment: Enrolment, record: &EnrolmentRecord) -> Result<EnrolmentView, Error> {
    let mut signatures = Vec::with_capacity(record.approvals.len());
    for approval in &record.approvals {
        let corrupt = |error: &dyn std::fmt::Display| {
            Error::internal(
                format!("reading an approval of {}", record.token_id),
                std::io::Error::other(error.to_string()),
            )
        };
        signatures.push(ApprovalSignature {
            state: approval.state.parse().map_err(|error| corrupt(&error))?,
            signing_key_id: approval.signing_key_id.clone(),
            signature: approval.signature.clone(),
            at: Timestamp::from_millis(approval.at).map_err(|error| corrupt(&error))?,
        });
    }
    Ok(EnrolmentView {
        enrolment,
        signatures,
    })
}

/// The request field a refusal of `Enrolment::issue` is about.
fn field_of(error: &accord_domain::membership::Error) -> &'static str {
    use accord_domain::membership::Error as E;
    match error {
        E::TooManyApprovalsRequired { .. } => "required_approvals",
        _ => "expires_at",
    }
}
