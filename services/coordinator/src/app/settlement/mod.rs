//! Settlement: each state's consent to redirected admissions, capacities and candidate
//! counts (the quotas a round reads), and settlement rounds (`rounds`).
//!
//! [`Settlement`] is its own context over the [`App`] (store, clock, key, directory,
//! idempotency and audit) and the [`Ledger`] (what a round counts). Every change is one
//! transaction with its idempotency record and audit row. Consent is explicit for every
//! ordered pair: a pair no state consented to carries no redirected admission.

mod novation;
mod rounds;

use accord_domain::{StateCode, Timestamp};
use accord_trust::OperatorName;

use super::ledger::Ledger;
use super::{App, Asked, Error, Replied};
use crate::convert::settlement::{
    Candidates, ListQuotas, Page, SetCapacity, SetConsent, capacity_key,
};
use crate::store::{CandidateRecord, CapacityRecord, Change, ConsentRecord, SettlementWrite};

/// The settlement use cases.
#[derive(Clone)]
pub struct Settlement {
    app: App,
    ledger: Ledger,
    /// Held across a round's change, from reading it to committing: two states
    /// countersigning at once must see each other's countersignature, so that the last one
    /// makes the round final.
    changing_rounds: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// The page of `items` (in list order) after the item whose key is `page.after`, and the key
/// of its last item when more follow. A key that names no item of the list is refused.
fn paged<T>(
    items: Vec<T>,
    key: fn(&T) -> String,
    page: &Page,
) -> Result<(Vec<T>, Option<String>), Error> {
    let start = match &page.after {
        None => 0,
        Some(after) => {
            items
                .iter()
                .position(|item| key(item) == *after)
                .ok_or_else(|| Error::invalid("page_token", "names no item of this list"))?
                + 1
        }
    };
    let total = items.len();
    let listed: Vec<T> = items.into_iter().skip(start).take(page.size).collect();
    let next = (start + listed.len() < total)
        .then(|| listed.last().map(key))
        .flatten();
    Ok((listed, next))
}

/// A consent as stored, and whether both states of its pair now consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentSet {
    /// The consent.
    pub consent: ConsentRecord,
    /// Whether both states of the pair consent.
    pub pair_consented: bool,
}

impl Settlement {
    /// Settlement over `app`'s store and `ledger`.
    pub fn new(app: App, ledger: Ledger) -> Self {
        Self {
            app,
            ledger,
            changing_rounds: std::sync::Arc::default(),
        }
    }

    fn now(&self) -> Timestamp {
        self.app.inner.clock.now()
    }

    /// `state`'s consent on (`admitting`, `origin`), as its node or gateway gives it.
    pub async fn set_consent(
        &self,
        asked: Asked<'_, ConsentSet>,
        caller: StateCode,
        command: SetConsent,
    ) -> Result<Replied<ConsentSet>, Error> {
        let SetConsent {
            admitting,
            origin,
            consenting,
            consented,
        } = command;
        if let Some(first) = self.app.first_answer(&asked).await? {
            return Ok(Replied::Replay(first));
        }
        if consenting != caller {
            return Err(Error::PermissionDenied(format!(
                "{caller} consents only for itself, not for {consenting}"
            )));
        }
        if consenting != admitting && consenting != origin {
            return Err(Error::PermissionDenied(format!(
                "{consenting} is not one of the pair ({admitting}, {origin})"
            )));
        }
        let now = self.now().as_millis();
        let consent = ConsentRecord {
            admitting_state: admitting.to_string(),
            origin_state: origin.to_string(),
            consenting_state: consenting.to_string(),
            consented: i32::from(consented),
            updated_at: now,
        };
        let other = if consenting == admitting {
            origin
        } else {
            admitting
        };
        let other_consents = self.app.inner.store.consents().await?.iter().any(|record| {
            record.admitting_state == admitting.as_str()
                && record.origin_state == origin.as_str()
                && record.consenting_state == other.as_str()
                && record.consented != 0
        });
        let answer = ConsentSet {
            consent: consent.clone(),
            pair_consented: consented && other_consents,
        };
        let change = Change {
            settlement: SettlementWrite {
                consent: Some(consent),
                ..SettlementWrite::default()
            },
            ..Change::default()
        };
        let verb = if consented {
            "consented"
        } else {
            "withdrew consent"
        };
        let detail =
            format!("{consenting} {verb} to redirected admissions {admitting} from {origin}");
        self.app
            .commit_answered(&asked, answer, detail, change)
            .await
    }

    /// Every consent on a pair including `state` (all for `None`), and the pairs both states
    /// of which consent.
    pub async fn consents(
        &self,
        state: Option<StateCode>,
    ) -> Result<(Vec<ConsentRecord>, Vec<(String, String)>), Error> {
        let all = self.app.inner.store.consents().await?;
        let wanted = |record: &&ConsentRecord| {
            state.is_none_or(|state| {
                record.admitting_state == state.as_str() || record.origin_state == state.as_str()
            })
        };
        let listed: Vec<ConsentRecord> = all.iter().filter(wanted).cloned().collect();
        let mut pairs: Vec<(String, String)> = listed
            .iter()
            .filter(|record| both_consent(&all, &record.admitting_state, &record.origin_state))
            .map(|record| (record.admitting_state.clone(), record.origin_state.clone()))
            .collect();
        pairs.dedup();
        Ok((listed, pairs))
    }

    /// Sets `state`'s capacity for a period (an operator's action).
    pub async fn set_capacity(
        &self,
        asked: Asked<'_, CapacityRecord>,
        operator: &OperatorName,
        command: SetCapacity,
    ) -> Result<Replied<CapacityRecord>, Error> {
        let SetCapacity {
            state,
            start,
            end,
            capacity,
        } = command;
        if let Some(first) = self.app.first_answer(&asked).await? {
            return Ok(Replied::Replay(first));
        }
        if self
            .app
            .inner
            .published
            .borrow()
            .directory()
            .member(state)
            .is_none()
        {
            return Err(Error::NotFound(format!("member {state}")));
        }
        let (start, end) = (start.as_millis(), end.as_millis());
        let overlapping = self
            .app
            .inner
            .store
            .capacities()
            .await?
            .into_iter()
            .find(|held| {
                held.state == state.as_str()
                    && held.period_start != start
                    && held.period_start < end
                    && start < held.period_end
            });
        if let Some(held) = overlapping {
            return Err(Error::IllegalTransition(format!(
                "{state}'s capacity for the period starting at {} overlaps this one",
                held.period_start
            )));
        }
        let record = CapacityRecord {
            state: state.to_string(),
            period_start: start,
            period_end: end,
            capacity: i64::from(capacity),
            updated_at: self.now().as_millis(),
        };
        let change = Change {
            settlement: SettlementWrite {
                capacity: Some(record.clone()),
                ..SettlementWrite::default()
            },
            ..Change::default()
        };
        let detail = format!("{operator} set {state}'s capacity to {capacity}");
        self.app
            .commit_answered(&asked, record, detail, change)
            .await
    }

    /// Every capacity of `state` (all for `None`), newest period first.
    pub async fn capacities(
        &self,
        query: &ListQuotas,
    ) -> Result<(Vec<CapacityRecord>, Option<String>), Error> {
        let all = self.app.inner.store.capacities().await?;
        let matching = all.into_iter().filter(|record| {
            query
                .state
                .is_none_or(|state| record.state == state.as_str())
                && query.period.is_none_or(|(start, end)| {
                    record.period_start < end.as_millis() && start.as_millis() < record.period_end
                })
        });
        paged(matching.collect(), capacity_key, &query.page)
    }

    /// Replaces `state`'s candidate counts (its node's action).
    pub async fn report_candidates(
        &self,
        asked: Asked<'_, Timestamp>,
        state: StateCode,
        command: Candidates,
    ) -> Result<Replied<Timestamp>, Error> {
        let Candidates { counts, counted_at } = command;
        if let Some(first) = self.app.first_answer(&asked).await? {
            return Ok(Replied::Replay(first));
        }
        let now = self.now();
        let records = counts
            .iter()
            .map(|(origin, count)| CandidateRecord {
                state: state.to_string(),
                origin_state: origin.to_string(),
                count: i64::from(*count),
                counted_at: counted_at.as_millis(),
            })
            .collect();
        let change = Change {
            settlement: SettlementWrite {
                candidates: Some((state.to_string(), records)),
                ..SettlementWrite::default()
            },
            ..Change::default()
        };
        let detail = format!("{state} reported candidates from {} origins", counts.len());
        self.app.commit_answered(&asked, now, detail, change).await
    }
}

/// Whether both states of (`admitting`, `origin`) consent, among `consents`.
fn both_consent(consents: &[ConsentRecord], admitting: &str, origin: &str) -> bool {
    [admitting, origin].iter().all(|state| {
        consents.iter().any(|record| {
            record.admitting_state == admitting
                && record.origin_state == origin
                && record.consenting_state == *state
                && record.consented != 0
        })
    })
}

/// One ordered pair's balance from the log's matched confirmations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    /// The admitting (and returning) state A.
    pub first: StateCode,
    /// The origin (and returned-to) state O.
    pub second: StateCode,
    /// Matched returns from A to O.
    pub returns: u32,
    /// Matched admissions by A of people from O.
    pub admissions: u32,
}

impl Balance {
    /// A's debt to O: the returns not yet balanced by admissions.
    pub fn debt(&self) -> u32 {
        self.returns.saturating_sub(self.admissions)
    }

    /// A's credit with O: the admissions ahead of its returns.
    pub fn credit(&self) -> u32 {
        self.admissions.saturating_sub(self.returns)
    }
}

impl Settlement {
    /// The balances of every ordered pair `reader` may see (of `state`'s pairs if given),
    /// from the matched confirmations in the log now, and the log's size they were read at.
    pub async fn balances(
        &self,
        reader: super::ledger::Reader,
        state: Option<StateCode>,
    ) -> Result<(Vec<Balance>, u64), Error> {
        let size = self.ledger.signed_head(None).await?.tree_size;
        let figures = self.ledger.pair_figures(reader, state, None)?;
        let balances = figures
            .into_iter()
            .filter(|(_, figures)| figures.matched_returns > 0 || figures.matched_admissions > 0)
            .map(|((first, second), figures)| Balance {
                first,
                second,
                returns: figures.matched_returns,
                admissions: figures.matched_admissions,
            })
            .collect();
        Ok((balances, size))
    }
}

/// A pair's parity limit and where each state stands against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parity {
    /// The pair, in alphabetical order.
    pub pair: (StateCode, StateCode),
    /// The largest debt either state may owe the other.
    pub limit: u64,
    /// The first state's debt to the second, and the second's to the first.
    pub debts: (u32, u32),
    /// The log's size the debts were read at.
    pub tree_size: u64,
}

impl Settlement {
    /// The parity limit of the pair (`a`, `b`) in the agreement in force now, and both debts.
    pub async fn parity(
        &self,
        reader: super::ledger::Reader,
        a: StateCode,
        b: StateCode,
    ) -> Result<Parity, Error> {
        let pair = (a.min(b), a.max(b));
        let outside =
            matches!(reader, super::ledger::Reader::Member(state) if state != a && state != b);
        let limit = {
            let published = self.app.inner.published.borrow();
            published
                .directory()
                .agreement_between(a, b, self.now())
                .and_then(|agreement| agreement.parity_limit())
        };
        let (Some(limit), false) = (limit, outside) else {
            return Err(Error::NotFound(format!(
                "a parity limit of {}-{}",
                pair.0, pair.1
            )));
        };
        let (balances, tree_size) = self.balances(reader, None).await?;
        let debt = |first: StateCode, second: StateCode| {
            balances
                .iter()
                .find(|balance| balance.first == first && balance.second == second)
                .map_or(0, Balance::debt)
        };
        Ok(Parity {
            pair,
            limit: limit.0,
            debts: (debt(pair.0, pair.1), debt(pair.1, pair.0)),
            tree_size,
        })
    }

    /// Sets the parity limit in the pair's agreement in force (an operator's action, recording
    /// what the two states agreed): a new directory version with the same agreement and the new
    /// limit.
    pub async fn set_parity_limit(
        &self,
        asked: Asked<'_, super::Published<accord_domain::membership::Agreement>>,
        (a, b, limit): (StateCode, StateCode, u64),
    ) -> Result<Replied<super::Published<accord_domain::membership::Agreement>>, Error> {
        let current = {
            let published = self.app.inner.published.borrow();
            published
                .directory()
                .agreement_between(a, b, self.now())
                .cloned()
        }
        .ok_or_else(|| Error::NotFound(format!("an agreement in force between {a} and {b}")))?;
        let (first, second) = current.pair();
        let agreement = accord_domain::membership::Agreement::new(
            first,
            second,
            current.regimes().to_vec(),
            Some(accord_domain::parity::ParityLimit(limit)),
            current.effective_from(),
            current.sunset_at(),
        )
        .map_err(|error| Error::invalid("limit", error.to_string()))?;
        self.app
            .set_agreement(asked, crate::convert::command::SetAgreement { agreement })
            .await
    }
}
