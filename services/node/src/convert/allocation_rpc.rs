//! `ListAllocations` on the wire: the request parsed into a list query (every bad field at
//! once), and a page of allocations written out.

use accord_domain::StateCode;
use accord_edge::wire::to_wire_time;
use accord_proto::v1 as pb;

use super::RequestContext;
use super::command::{Allocation, AllocationFilter, AllocationPage, ListQuery};
use super::fields;
use super::offer_rpc::role;
use crate::violation::{Invalid, Violations};

/// The longest round id accepted (`RND-2026-01-05-1` is 16 characters).
const ROUND_ID_MAX: usize = 64;

/// `ListAllocations`.
pub fn list_allocations(
    message: &pb::ListAllocationsRequest,
    _: &RequestContext,
) -> Result<ListQuery<AllocationFilter>, Invalid> {
    let mut violations = Violations::new();
    let admitting = role(&mut violations, message.role);
    let round_id = (!message.round_id.is_empty()).then(|| message.round_id.clone());
    if let Some(round_id) = &round_id
        && !is_round_id(round_id)
    {
        violations.add(
            "round_id",
            "must be a round id such as RND-2026-01-05-1 (letters, digits and '-')",
        );
    }
    let after = (!message.page_token.is_empty()).then(|| message.page_token.clone());
    if let Some(token) = &after
        && !is_allocation_key(token)
    {
        violations.add("page_token", "is not a token this list gave");
    }
    violations.finish()?;
    Ok(ListQuery {
        filter: AllocationFilter {
            admitting,
            round_id,
        },
        after,
        page_size: fields::list_page_size(message.page_size),
    })
}

fn is_round_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= ROUND_ID_MAX
        && text
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || character == '-')
}

/// `ROUND_ID/ADMITTING/ORIGIN`, as [`Allocation::key`] writes it.
fn is_allocation_key(token: &str) -> bool {
    let mut parts = token.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(round_id), Some(admitting), Some(origin), None) => {
            is_round_id(round_id)
                && StateCode::parse(admitting).is_ok()
                && StateCode::parse(origin).is_ok()
        }
        _ => false,
    }
}

impl From<AllocationPage> for pb::ListAllocationsResponse {
    fn from(page: AllocationPage) -> Self {
        Self {
            allocations: page.allocations.iter().map(allocation_to_wire).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }
    }
}

fn allocation_to_wire(allocation: &Allocation) -> pb::Allocation {
    pb::Allocation {
        round_id: allocation.round_id.clone(),
        report_version: allocation.report_version,
        admitting_state: allocation.admitting.to_string(),
        origin_state: allocation.origin.to_string(),
        count: allocation.count,
        redirected: allocation.redirected,
        perform_by: allocation.perform_by.map(to_wire_time),
        period: Some(pb::TimeRange {
            start_time: Some(to_wire_time(allocation.period.0)),
            end_time: Some(to_wire_time(allocation.period.1)),
        }),
        recorded_at: Some(to_wire_time(allocation.recorded_at)),
    }
}
