//! The parity guard: one-for-one kept within an agreed tolerance, per pair of states
//! (DESIGN.md §3, "Parity guard"; UK–FR Arts 1(3) and 4).
//!
//! The ledger (`ledger`) keeps, for each ordered pair, A's **debt** to O (returns by A to O
//! not yet matched by admissions by A from O) and A's **credit** with O (admissions by A from O
//! ahead of its returns). The guard acts on both sides of the scheme:
//!
//! - **Readmission requests.** The requested state R refuses new requests from the requesting
//!   state S with `R10 PARITY_IMBALANCE` while S's debt to R *exceeds* the limit:
//!   `d(S,R) > limit`. Each confirmed return from S to R grows `d(S,R)` by one, so S may keep
//!   returning people while it owes R at most `limit` admissions; past that, S must admit
//!   before it returns again. This is TigerBeetle's `debits_must_not_exceed_credits`, for
//!   people. A limit of 0 is strict one-for-one.
//! - **Admission offers.** The mirror rule: an offer by A to admit people from O pauses
//!   (`PARITY_NOT_REACHED`) while A's credit with O *exceeds* the limit: `credit(A,O) > limit`.
//!   Each confirmed admission by A from O first discharges A's debt to O and then grows A's
//!   credit with O; the UK's guidance pauses its admissions route "when parity is not
//!   reached", i.e. when admissions have run ahead of returns. A credit never obliges O (it
//!   only absorbs A's future returns), so it is the only imbalance an offer can grow, and
//!   the one the guard bounds. While A owes O anything, its credit is zero and its offer runs.
//!
//! Why not O's debt to A, or the bilateral need? O's debt to A concerns people *A returned to
//! O*, a different flow; netting it against A's admissions is the settlement engine's job
//! (bilateral and multilateral modes), not a reason to stop A from honouring its own debt.
//!
//! Both checks read the ledger's confirmed counts only: cases still in progress (requests
//! accepted but not yet transferred, admissions granted but not yet arrived) are not counted,
//! so a burst can overshoot the limit by the work in flight; an offer's capacity bounds that
//! overshoot on the admission side. The guard applies only where the regime allows a parity
//! refusal (`RegimeProfile::parity_refusal_allowed`); checking that is the caller's job, as is
//! choosing the limit (an operator setting per pair).

use crate::ledger::Ledger;
use crate::reason::{OfferPauseReason, ReadmissionReason};

/// How far a pair may drift from one-for-one before the guard acts, in people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParityLimit(pub u64);

/// Why the guard refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The requesting state owes the requested state more admissions than the limit allows.
    #[error("parity imbalance (R10): the requesting state owes {debt} admissions, more than the limit of {}", limit.0)]
    ParityImbalance {
        /// The requesting state's debt to the requested state.
        debt: u64,
        /// The agreed limit.
        limit: ParityLimit,
    },
}

impl Error {
    /// The rejection reason to give: `R10 PARITY_IMBALANCE`.
    pub fn reason(&self) -> ReadmissionReason {
        match self {
            Error::ParityImbalance { .. } => ReadmissionReason::ParityImbalance,
        }
    }
}

/// Whether the requested state may take a new request, given the requesting state's debt to
/// it: refused while `debt > limit`.
pub fn check_new_request(
    requester_debt_to_requested: u64,
    limit: ParityLimit,
) -> Result<(), Error> {
    if requester_debt_to_requested > limit.0 {
        return Err(Error::ParityImbalance {
            debt: requester_debt_to_requested,
            limit,
        });
    }
    Ok(())
}

/// Whether an offer by A to admit people from O should pause, given A's credit with O:
/// paused while `credit > limit`.
pub fn offer_should_pause(admitting_credit_with_origin: u64, limit: ParityLimit) -> bool {
    admitting_credit_with_origin > limit.0
}

/// The pause reason to record when [`offer_should_pause`] says so, else `None`.
pub fn offer_pause_reason(
    admitting_credit_with_origin: u64,
    limit: ParityLimit,
) -> Option<OfferPauseReason> {
    offer_should_pause(admitting_credit_with_origin, limit)
        .then_some(OfferPauseReason::ParityNotReached)
}

/// [`check_new_request`] on the ledger's debt of `requesting` to `requested`.
pub fn check_new_request_in<S: Copy + Ord>(
    ledger: &Ledger<S>,
    requesting: S,
    requested: S,
    limit: ParityLimit,
) -> Result<(), Error> {
    check_new_request(ledger.debt(requesting, requested), limit)
}

/// [`offer_should_pause`] on the ledger's credit of `admitting` with `origin`.
pub fn offer_should_pause_in<S: Copy + Ord>(
    ledger: &Ledger<S>,
    admitting: S,
    origin: S,
    limit: ParityLimit,
) -> bool {
    offer_should_pause(ledger.credit(admitting, origin), limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StateCode;

    #[test]
    fn requests_are_refused_only_while_the_debt_exceeds_the_limit() {
        fn check(debt: u64, limit: u64, expected: Result<(), Error>) {
            assert_eq!(check_new_request(debt, ParityLimit(limit)), expected);
        }
        check(0, 0, Ok(()));
        check(5, 5, Ok(()));
        check(
            6,
            5,
            Err(Error::ParityImbalance {
                debt: 6,
                limit: ParityLimit(5),
            }),
        );
        check(
            1,
            0,
            Err(Error::ParityImbalance {
                debt: 1,
                limit: ParityLimit(0),
            }),
        );
        let refusal = check_new_request(1, ParityLimit(0)).unwrap_err();
        assert_eq!(refusal.reason().code(), "R10");
    }

    #[test]
    fn offers_pause_only_while_the_credit_exceeds_the_limit() {
        assert!(!offer_should_pause(0, ParityLimit(0)));
        assert!(offer_should_pause(1, ParityLimit(0)));
        assert!(!offer_should_pause(69, ParityLimit(69)));
        assert_eq!(
            offer_pause_reason(70, ParityLimit(69)),
            Some(OfferPauseReason::ParityNotReached)
        );
        assert_eq!(offer_pause_reason(3, ParityLimit(69)), None);
    }

    #[test]
    fn ledger_wrappers_read_debt_for_requests_and_credit_for_offers() {
        let britain = StateCode::parse("GB").unwrap();
        let france = StateCode::parse("FR").unwrap();
        let mut ledger = Ledger::new();
        // The pilot's reported totals: 281 returned, 350 admitted.
        ledger.record_return(britain, france, 281);
        ledger.record_admission(britain, france, 350);
        assert!(check_new_request_in(&ledger, britain, france, ParityLimit(0)).is_ok());
        assert!(offer_should_pause_in(
            &ledger,
            britain,
            france,
            ParityLimit(50)
        ));
        assert!(!offer_should_pause_in(
            &ledger,
            britain,
            france,
            ParityLimit(69)
        ));
        ledger.record_return(britain, france, 80);
        assert_eq!(
            check_new_request_in(&ledger, britain, france, ParityLimit(10)),
            Err(Error::ParityImbalance {
                debt: 11,
                limit: ParityLimit(10)
            })
        );
        assert!(!offer_should_pause_in(
            &ledger,
            britain,
            france,
            ParityLimit(0)
        ));
    }
}
