//! Lists that filter beyond what the store's filter can say: a scan of case summaries,
//! newest first, in batches, with a budget per call.

use accord_domain::{CaseKind, StateCode};

use super::Error;
use crate::store::{self, CaseFilter, CaseRecord};

/// Most case summaries one list call reads while filtering, so a sparse filter cannot make
/// one call read the whole table; the page then ends early with a token to continue.
const LIST_SCAN_ROWS_MAX: usize = 10_000;

/// Reads case summaries of a list newest first, in batches, for lists that filter
/// beyond what the store's filter can say. Stops after [`LIST_SCAN_ROWS_MAX`] rows, so a
/// sparse filter cannot make one call read the whole table; the page then ends early with a
/// token to continue.
pub(crate) struct SummaryScan {
    filter: CaseFilter,
    batch_size: u64,
    pending: std::collections::VecDeque<CaseRecord>,
    cursor: Option<String>,
    exhausted: bool,
    scanned: usize,
}

impl SummaryScan {
    /// A scan after `after_ref`, reading a page's worth (plus one) per query.
    pub(crate) fn new(filter: CaseFilter, after_ref: Option<&str>, page_size: usize) -> Self {
        Self {
            filter,
            batch_size: u64::try_from(page_size)
                .unwrap_or(u64::MAX)
                .saturating_add(1),
            pending: std::collections::VecDeque::new(),
            cursor: after_ref.map(str::to_owned),
            exhausted: false,
            scanned: 0,
        }
    }

    /// The next summary, or `None` at the end of the table or of the scan's budget.
    pub(crate) async fn next(&mut self, store: &store::Store) -> Result<Option<CaseRecord>, Error> {
        if self.scanned >= LIST_SCAN_ROWS_MAX {
            return Ok(None);
        }
        if self.pending.is_empty() && !self.exhausted {
            let records = store
                .list_cases(&self.filter, self.cursor.as_deref(), self.batch_size)
                .await?;
            self.exhausted = (records.len() as u64) < self.batch_size;
            self.pending = records.into();
        }
        let record = self.pending.pop_front();
        if let Some(record) = &record {
            self.scanned += 1;
            self.cursor = Some(record.case_ref.clone());
        }
        Ok(record)
    }

    /// The token of the next page: the last reference read, unless the table ended there.
    pub(crate) fn next_token(&self) -> Option<String> {
        if self.exhausted && self.pending.is_empty() {
            None
        } else {
            self.cursor.clone()
        }
    }
}

/// What a list of offers or of admission cases keeps, from the summary alone: the role this
/// node's state plays (admitting, or origin: the first state of the reference admits) and
/// the statuses asked for, by code. Both lists say it the same way.
pub(crate) struct RoleAndStatuses<'a> {
    /// This node's state.
    pub(crate) own: StateCode,
    /// Only records where this node's state admits (`Some(true)`) or is the origin.
    pub(crate) admitting: Option<bool>,
    /// The status codes kept; empty for all.
    pub(crate) statuses: Vec<&'a str>,
}

impl RoleAndStatuses<'_> {
    /// The store's filter for records of `kind` with `counterpart`: it narrows to a status
    /// only when one is asked for, and [`Self::keeps`] does the rest.
    pub(crate) fn store_filter(
        &self,
        kind: CaseKind,
        counterpart: Option<StateCode>,
    ) -> CaseFilter {
        CaseFilter {
            case_kind: kind,
            counterpart: counterpart.map(|state| state.to_string()),
            status: match self.statuses.as_slice() {
                [only] => Some((*only).to_owned()),
                _ => None,
            },
        }
    }

    /// Whether `summary` is in the role and one of the statuses asked for.
    pub(crate) fn keeps(&self, summary: &CaseRecord) -> bool {
        let role_matches = self
            .admitting
            .is_none_or(|admitting| (summary.first_state == self.own.as_str()) == admitting);
        let status_matches = self.statuses.is_empty()
            || self.statuses.iter().any(|status| *status == summary.status);
        role_matches && status_matches
    }
}
