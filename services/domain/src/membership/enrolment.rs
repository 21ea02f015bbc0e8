//! An enrolment: the life of a one-time token that lets one state join, from its issue by an
//! operator, through the approvals of existing members, to its use, expiry or cancellation.
//!
//! The token's secret is not here (the coordinator keeps only its hash); an [`Enrolment`] knows
//! the token's public id. Its status is not stored but read at an instant
//! ([`Enrolment::status`]), so a token expires without anyone recording it. Enrolling the
//! state in the directory is a separate step (`DirectoryChange::Enrol`), which the coordinator
//! takes with [`Enrolment::redeem`].

use super::{EnrolmentStatus, Error};
use crate::{Period, StateCode, Timestamp};

/// The longest an enrolment token may live: 30 calendar days from its issue.
pub const ENROLMENT_TTL_MAX: Period = Period::CalendarDays(30);
/// The longest token id, in characters.
pub const TOKEN_ID_LENGTH_MAX: usize = 64;

/// One existing member's approval of an enrolment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Approval {
    /// The approving state.
    pub state: StateCode,
    /// When its approval was recorded.
    pub at: Timestamp,
}

/// A one-time enrolment token's life. Built by [`Enrolment::issue`]; every later step returns
/// a new value or an [`Error`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Enrolment {
    token_id: String,
    state: StateCode,
    issued_at: Timestamp,
    expires_at: Timestamp,
    required_approvals: u32,
    approvals: Vec<Approval>,
    used_at: Option<Timestamp>,
    cancelled_at: Option<Timestamp>,
}

impl Enrolment {
    /// Issues a token with the caller's id `token_id` (1 to 64 characters `A-Z a-z 0-9 _ -`)
    /// for `state` at `now`, expiring at `expires_at` (after `now`, at most
    /// [`ENROLMENT_TTL_MAX`] later), that works once `required_approvals` active members (no
    /// more than the `active_members` there are) have approved it.
    pub fn issue(
        token_id: &str,
        state: StateCode,
        now: Timestamp,
        expires_at: Timestamp,
        required_approvals: u32,
        active_members: usize,
    ) -> Result<Self, Error> {
        // A new token is one issued `now` with nothing recorded since.
        let enrolment = Self::restore(
            token_id,
            state,
            now,
            expires_at,
            required_approvals,
            Vec::new(),
            None,
            None,
        )?;
        let latest = now.plus(ENROLMENT_TTL_MAX);
        if expires_at > latest {
            return Err(Error::ExpiryTooFar { expires_at, latest });
        }
        let enough_members =
            usize::try_from(required_approvals).is_ok_and(|required| required <= active_members);
        if !enough_members {
            return Err(Error::TooManyApprovalsRequired {
                required: required_approvals,
                active_members,
            });
        }
        Ok(enrolment)
    }

    /// An enrolment as a coordinator recorded it, read back: issued at `issued_at` for
    /// `state`, with the approvals, use and cancellation recorded since. Refuses what no
    /// sequence of steps could have made: a bad token id, an expiry not after the issue, an
    /// approval, use or cancellation before the issue, a token both used and cancelled, or a
    /// use before enough approvals.
    #[allow(clippy::too_many_arguments)] // one argument per recorded fact of the enrolment.
    pub fn restore(
        token_id: &str,
        state: StateCode,
        issued_at: Timestamp,
        expires_at: Timestamp,
        required_approvals: u32,
        approvals: Vec<Approval>,
        used_at: Option<Timestamp>,
        cancelled_at: Option<Timestamp>,
    ) -> Result<Self, Error> {
        check_token_id(token_id)?;
        if expires_at <= issued_at {
            return Err(Error::ExpiryNotAfterIssue {
                expires_at,
                now: issued_at,
            });
        }
        let enrolment = Self {
            token_id: token_id.to_owned(),
            state,
            issued_at,
            expires_at,
            required_approvals,
            approvals,
            used_at,
            cancelled_at,
        };
        let before_issue = enrolment
            .approvals
            .iter()
            .map(|approval| approval.at)
            .chain(used_at)
            .chain(cancelled_at)
            .find(|at| *at < issued_at);
        if let Some(at) = before_issue {
            return Err(Error::TimeWentBackwards {
                last_change_at: issued_at,
                now: at,
            });
        }
        if let (Some(used_at), Some(_)) = (used_at, cancelled_at) {
            return Err(Error::TokenUsed { used_at });
        }
        let approvals = enrolment.approval_count();
        if used_at.is_some() && approvals < required_approvals {
            return Err(Error::AwaitingApprovals {
                approvals,
                required: required_approvals,
            });
        }
        Ok(enrolment)
    }

    /// The token's public id (not its secret).
    pub fn token_id(&self) -> &str {
        &self.token_id
    }

    /// The state the token admits.
    pub fn state(&self) -> StateCode {
        self.state
    }

    /// When the token was issued.
    pub fn issued_at(&self) -> Timestamp {
        self.issued_at
    }

    /// When the token stops working.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    /// How many existing members must approve before the token works.
    pub fn required_approvals(&self) -> u32 {
        self.required_approvals
    }

    /// The approvals so far, in the order they were given.
    pub fn approvals(&self) -> &[Approval] {
        &self.approvals
    }

    /// When the token was used, if it was.
    pub fn used_at(&self) -> Option<Timestamp> {
        self.used_at
    }

    /// When an operator cancelled the token, if one did.
    pub fn cancelled_at(&self) -> Option<Timestamp> {
        self.cancelled_at
    }

    /// Where the enrolment stands at `now`: used, cancelled, expired (from `expires_at` on),
    /// awaiting approvals, or ready, in that order of precedence.
    pub fn status(&self, now: Timestamp) -> EnrolmentStatus {
        if self.used_at.is_some() {
            EnrolmentStatus::Used
        } else if self.cancelled_at.is_some() {
            EnrolmentStatus::Cancelled
        } else if now >= self.expires_at {
            EnrolmentStatus::Expired
        } else if self.approval_count() < self.required_approvals {
            EnrolmentStatus::AwaitingApprovals
        } else {
            EnrolmentStatus::Ready
        }
    }

    /// The enrolment after `approver` approves it at `now`. Refused when the approver already
    /// approved it ([`Error::AlreadyApproved`], checked first, so that a repeated approval reads
    /// the same whatever the status), when the enrolment is not awaiting approvals, when the
    /// approver is the candidate state, or is not an active member.
    pub fn approve(
        &self,
        approver: StateCode,
        approver_is_active_member: bool,
        now: Timestamp,
    ) -> Result<Self, Error> {
        self.check_time(now)?;
        if let Some(previous) = self.approvals.iter().find(|given| given.state == approver) {
            return Err(Error::AlreadyApproved {
                approver,
                approved_at: previous.at,
            });
        }
        let status = self.status(now);
        if status != EnrolmentStatus::AwaitingApprovals {
            return Err(Error::NotAwaitingApprovals { status });
        }
        if approver == self.state {
            return Err(Error::CandidateCannotApprove { state: approver });
        }
        if !approver_is_active_member {
            return Err(Error::ApproverNotActive { approver });
        }
        let mut next = self.clone();
        next.approvals.push(Approval {
            state: approver,
            at: now,
        });
        Ok(next)
    }

    /// The enrolment cancelled at `now`. Refused once it is used, expired or cancelled.
    pub fn cancel(&self, now: Timestamp) -> Result<Self, Error> {
        self.check_time(now)?;
        let status = self.status(now);
        match status {
            EnrolmentStatus::AwaitingApprovals | EnrolmentStatus::Ready => {
                let mut next = self.clone();
                next.cancelled_at = Some(now);
                Ok(next)
            }
            EnrolmentStatus::Used | EnrolmentStatus::Expired | EnrolmentStatus::Cancelled => {
                Err(Error::NotCancellable { status })
            }
        }
    }

    /// The enrolment used at `now` by `state` to join. Each reason for a refusal is its own
    /// error, checked in this order, so that a service can answer each with its own status:
    /// [`Error::TokenUsed`], [`Error::TokenCancelled`], [`Error::TokenExpired`],
    /// [`Error::WrongState`] (before the approvals, so that a token's holder for another state
    /// learns nothing of them), [`Error::AwaitingApprovals`].
    pub fn redeem(&self, state: StateCode, now: Timestamp) -> Result<Self, Error> {
        self.check_time(now)?;
        if let Some(used_at) = self.used_at {
            return Err(Error::TokenUsed { used_at });
        }
        if let Some(cancelled_at) = self.cancelled_at {
            return Err(Error::TokenCancelled { cancelled_at });
        }
        if now >= self.expires_at {
            return Err(Error::TokenExpired {
                expires_at: self.expires_at,
                now,
            });
        }
        if state != self.state {
            return Err(Error::WrongState {
                token_state: self.state,
                asked: state,
            });
        }
        let approvals = self.approval_count();
        if approvals < self.required_approvals {
            return Err(Error::AwaitingApprovals {
                approvals,
                required: self.required_approvals,
            });
        }
        let mut next = self.clone();
        next.used_at = Some(now);
        Ok(next)
    }

    fn approval_count(&self) -> u32 {
        // Invariant: each approval is by a distinct active member, and `issue` bounds the
        // required count by the members there are, so the count fits.
        u32::try_from(self.approvals.len()).unwrap_or(u32::MAX)
    }

    /// When the enrolment last changed: its issue, latest approval, use or cancellation.
    fn last_change_at(&self) -> Timestamp {
        self.approvals
            .iter()
            .map(|approval| approval.at)
            .chain(self.used_at)
            .chain(self.cancelled_at)
            .fold(self.issued_at, Timestamp::max)
    }

    fn check_time(&self, now: Timestamp) -> Result<(), Error> {
        let last_change_at = self.last_change_at();
        if now < last_change_at {
            return Err(Error::TimeWentBackwards {
                last_change_at,
                now,
            });
        }
        Ok(())
    }
}

fn check_token_id(token_id: &str) -> Result<(), Error> {
    let allowed = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-';
    let valid =
        (1..=TOKEN_ID_LENGTH_MAX).contains(&token_id.len()) && token_id.bytes().all(allowed);
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidTokenId {
            token_id: token_id.to_owned(),
        })
    }
}
