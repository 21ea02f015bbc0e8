//! This state's admission allocations: the instructions of final settlement rounds that name
//! it, which the settler records (`crate::settlement`), listed for its caseworkers.

use accord_domain::{StateCode, Timestamp};

use super::{App, Error};
use crate::convert::command::{Allocation, AllocationFilter, AllocationPage, ListQuery};
use crate::store::AllocationRecord;

impl App {
    /// A page of allocations, newest round first, then by pair. A page token that names no
    /// allocation of this filter is refused.
    pub async fn list_allocations(
        &self,
        query: ListQuery<AllocationFilter>,
    ) -> Result<AllocationPage, Error> {
        let own = self.own_state();
        let records = self
            .store()
            .allocations(query.filter.round_id.as_deref())
            .await?;
        let listed: Vec<Allocation> = records
            .into_iter()
            .filter_map(|record| allocation_of(&record))
            .filter(|allocation| match query.filter.admitting {
                Some(true) => allocation.admitting == own,
                Some(false) => allocation.origin == own,
                None => true,
            })
            .collect();
        let start = match &query.after {
            None => 0,
            Some(token) => {
                listed
                    .iter()
                    .position(|allocation| allocation.key() == *token)
                    .ok_or_else(|| {
                        Error::invalid("page_token", "names no allocation of this list")
                    })?
                    + 1
            }
        };
        let page_size = query.page_size.min(self.core.page_size_max()) as usize;
        let allocations: Vec<Allocation> =
            listed.iter().skip(start).take(page_size).cloned().collect();
        let more = start + allocations.len() < listed.len();
        Ok(AllocationPage {
            next_page_token: more
                .then(|| allocations.last().map(Allocation::key))
                .flatten(),
            allocations,
        })
    }
}

/// An allocation as the store keeps it; `None` for a row no state code or time reads from
/// (the settler writes none).
fn allocation_of(record: &AllocationRecord) -> Option<Allocation> {
    let time = |millis: i64| Timestamp::from_millis(millis).ok();
    Some(Allocation {
        round_id: record.round_id.clone(),
        report_version: u32::try_from(record.report_version).ok()?,
        admitting: StateCode::parse(&record.admitting_state).ok()?,
        origin: StateCode::parse(&record.origin_state).ok()?,
        count: u32::try_from(record.people).ok()?,
        redirected: record.redirected != 0,
        perform_by: record.perform_by.and_then(time),
        period: (time(record.period_start)?, time(record.period_end)?),
        recorded_at: time(record.recorded_at)?,
    })
}
