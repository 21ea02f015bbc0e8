//! Breaks between JSON and the coordinator's `LedgerService`: the filters of a list, a
//! break, and an operator's waiver.

use accord_proto::v1 as pb;
use tonic::Status;

use super::{Fields, code, code_or_empty, non_empty, time};
use crate::json::ledger as json;

/// The request of `GET /v1/breaks`.
pub fn list_breaks(query: &json::BreakQuery) -> Result<pb::ListBreaksRequest, Status> {
    let mut fields = Fields::new();
    let kinds = query
        .kind
        .as_deref()
        .map(|list| {
            list.split(',')
                .map(|kind| fields.code::<pb::BreakKind>("kind", kind.trim()))
                .collect()
        })
        .unwrap_or_default();
    let age_bucket = fields.optional_code::<pb::BreakAgeBucket>("age", query.age.as_deref());
    let status = fields.optional_code::<pb::BreakStatus>("status", query.status.as_deref());
    fields.finish(pb::ListBreaksRequest {
        page_size: query.page_size.unwrap_or_default(),
        page_token: query.page_token.clone().unwrap_or_default(),
        state: query.state.clone().unwrap_or_default(),
        kinds,
        age_bucket,
        status,
        case_ref: query.case_ref.clone().unwrap_or_default(),
        round_id: query.round_id.clone().unwrap_or_default(),
    })
}

/// A page of breaks in JSON.
pub fn break_page(response: pb::ListBreaksResponse) -> json::BreakPage {
    json::BreakPage {
        breaks: response.breaks.iter().map(one_break).collect(),
        next_page_token: non_empty(response.next_page_token),
    }
}

/// A break in JSON.
pub fn one_break(found: &pb::Break) -> json::Break {
    let pair = found.pair.clone().unwrap_or_default();
    json::Break {
        break_id: found.break_id.clone(),
        kind: code_or_empty::<pb::BreakKind>(found.kind),
        status: code_or_empty::<pb::BreakStatus>(found.status),
        resolution: code::<pb::BreakResolution>(found.resolution),
        case_ref: non_empty(found.case_ref.clone()),
        first_state: pair.first_state,
        second_state: pair.second_state,
        sequence: found.sequence,
        event_kind: found.event_kind.map(event_kind),
        reported_by: found.reported_by.clone(),
        round_id: non_empty(found.round_id.clone()),
        shortfall: found.shortfall,
        detected_at: time(found.detected_at.as_ref()),
        age_days: found.age_days,
        age_bucket: code_or_empty::<pb::BreakAgeBucket>(found.age_bucket),
        resolved_at: time(found.resolved_at.as_ref()),
        resolved_by: non_empty(found.resolved_by.clone()),
        resolution_reason: non_empty(found.resolution_reason.clone()),
    }
}

fn event_kind(kind: pb::r#break::EventKind) -> String {
    use pb::r#break::EventKind;
    match kind {
        EventKind::ReadmissionEventKind(number) => {
            code_or_empty::<pb::ReadmissionEventKind>(number)
        }
        EventKind::AdmissionEventKind(number) => code_or_empty::<pb::AdmissionEventKind>(number),
        EventKind::OfferEventKind(number) => code_or_empty::<pb::OfferEventKind>(number),
    }
}

/// The request of `POST /v1/breaks/{break_id}/resolution`. The reason's rules (1 to 500
/// characters, no person) are the coordinator's, which names the field when it refuses.
pub fn resolve(key: String, break_id: String, body: &json::Resolution) -> pb::ResolveBreakRequest {
    pb::ResolveBreakRequest {
        idempotency_key: key,
        break_id,
        reason: body.reason.clone(),
    }
}
