//! An agreement: what a pair of member states agreed, under which regimes their cases run,
//! the parity limit between them, from when and until when.
//!
//! The pair is unordered: an agreement binds both directions, and is stored with its states in
//! alphabetical order whatever order they are given in, so one pair has one spelling. Whether
//! the two states are members, and whether the agreement overlaps another of the pair, is the
//! directory's business (`DirectoryChange::SetAgreement`).

use super::Error;
use crate::parity::ParityLimit;
use crate::{Regime, StateCode, Timestamp};

/// What two states agreed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Agreement {
    pair: (StateCode, StateCode),
    regimes: Vec<Regime>,
    parity_limit: Option<ParityLimit>,
    effective_from: Timestamp,
    sunset_at: Option<Timestamp>,
}

impl Agreement {
    /// The agreement between `a` and `b` (in either order) for cases under `regimes` (at least
    /// one, each once, kept in the order given), with an optional parity limit, in force from
    /// `effective_from` until `sunset_at` (after `effective_from`; none for no end date).
    pub fn new(
        a: StateCode,
        b: StateCode,
        regimes: Vec<Regime>,
        parity_limit: Option<ParityLimit>,
        effective_from: Timestamp,
        sunset_at: Option<Timestamp>,
    ) -> Result<Self, Error> {
        if a == b {
            return Err(Error::SameState { state: a });
        }
        if regimes.is_empty() {
            return Err(Error::NoRegimes);
        }
        if let Some(regime) = first_repeated(&regimes) {
            return Err(Error::RepeatedRegime { regime });
        }
        if let Some(sunset_at) = sunset_at
            && sunset_at <= effective_from
        {
            return Err(Error::SunsetNotAfterStart {
                effective_from,
                sunset_at,
            });
        }
        Ok(Self {
            pair: (a.min(b), a.max(b)),
            regimes,
            parity_limit,
            effective_from,
            sunset_at,
        })
    }

    /// The two states, alphabetically smaller first.
    pub fn pair(&self) -> (StateCode, StateCode) {
        self.pair
    }

    /// The regimes cases between the two states may run under, in the order agreed.
    pub fn regimes(&self) -> &[Regime] {
        &self.regimes
    }

    /// How far the pair may drift from one-for-one before the parity guard acts, if agreed.
    pub fn parity_limit(&self) -> Option<ParityLimit> {
        self.parity_limit
    }

    /// From this instant, new cases under the agreement may be opened.
    pub fn effective_from(&self) -> Timestamp {
        self.effective_from
    }

    /// From this instant, no new case may be opened (cases already open run to their end);
    /// none when the agreement has no end date.
    pub fn sunset_at(&self) -> Option<Timestamp> {
        self.sunset_at
    }

    /// Whether the agreement is in force at `at`: from `effective_from`, before `sunset_at`.
    pub fn in_force_at(&self, at: Timestamp) -> bool {
        self.effective_from <= at && self.sunset_at.is_none_or(|sunset_at| at < sunset_at)
    }

    /// Whether cases under `regime` are covered.
    pub fn covers(&self, regime: Regime) -> bool {
        self.regimes.contains(&regime)
    }

    /// Whether `state` is one of the pair.
    pub fn involves(&self, state: StateCode) -> bool {
        self.pair.0 == state || self.pair.1 == state
    }

    /// The other state of the pair, if `state` is one of it.
    pub fn other(&self, state: StateCode) -> Option<StateCode> {
        match self.pair {
            (first, second) if first == state => Some(second),
            (first, second) if second == state => Some(first),
            _ => None,
        }
    }

    /// Whether `other` binds the same pair for at least one common instant.
    pub fn overlaps(&self, other: &Agreement) -> bool {
        let starts_before_other_ends = other
            .sunset_at
            .is_none_or(|sunset_at| self.effective_from < sunset_at);
        let other_starts_before_end = self
            .sunset_at
            .is_none_or(|sunset_at| other.effective_from < sunset_at);
        self.pair == other.pair && starts_before_other_ends && other_starts_before_end
    }

    /// The key the directory orders agreements by: the pair, then the start.
    pub(super) fn order_key(&self) -> (StateCode, StateCode, Timestamp) {
        (self.pair.0, self.pair.1, self.effective_from)
    }
}

fn first_repeated(regimes: &[Regime]) -> Option<Regime> {
    regimes
        .iter()
        .enumerate()
        .find(|(index, regime)| regimes[..*index].contains(regime))
        .map(|(_, regime)| *regime)
}
