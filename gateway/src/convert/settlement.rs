//! Settlement between JSON and the coordinator's `SettlementService`: rounds and the
//! summary of their signed reports, balances, quotas, and the capacity an operator sets.

use accord_proto::v1 as pb;
use tonic::Status;

use super::{Fields, code_or_empty, non_empty, range_in, range_out, time};
use crate::json::settlement as json;

/// The request of `GET /v1/rounds`.
pub fn list_rounds(query: &json::RoundQuery) -> Result<pb::ListRoundsRequest, Status> {
    let mut fields = Fields::new();
    let statuses = query
        .statuses
        .as_deref()
        .map(|list| {
            list.split(',')
                .map(|status| fields.code::<pb::RoundStatus>("statuses", status.trim()))
                .collect()
        })
        .unwrap_or_default();
    fields.finish(pb::ListRoundsRequest {
        page_size: query.page_size.unwrap_or_default(),
        page_token: query.page_token.clone().unwrap_or_default(),
        statuses,
        state: query.state.clone().unwrap_or_default(),
    })
}

/// A page of rounds in JSON.
pub fn round_page(response: pb::ListRoundsResponse) -> json::RoundPage {
    json::RoundPage {
        rounds: response.rounds.iter().map(round).collect(),
        next_page_token: non_empty(response.next_page_token),
    }
}

/// A round in JSON.
pub fn round(round: &pb::Round) -> json::Round {
    json::Round {
        round_id: round.round_id.clone(),
        status: code_or_empty::<pb::RoundStatus>(round.status),
        period: round.period.as_ref().map(range_out),
        mode: code_or_empty::<pb::NettingMode>(round.mode),
        participating_states: round.participating_states.clone(),
        opened_at: time(round.opened_at.as_ref()),
        cut_off_at: time(round.cut_off_at.as_ref()),
        finalised_at: time(round.finalised_at.as_ref()),
        awaiting_countersignature: round.awaiting_countersignature.clone(),
        disputes: round.disputes.len(),
        report: round.report.as_ref().and_then(signed_report),
    }
}

/// A signed report's summary in JSON; `None` without its report.
pub fn signed_report(signed: &pb::SignedSettlementReport) -> Option<json::Report> {
    let report = signed.report.as_ref()?;
    let inputs = report.inputs.clone().unwrap_or_default();
    Some(json::Report {
        version: report.version,
        report_digest: hex::encode(&signed.report_digest),
        computed_at: time(report.computed_at.as_ref()),
        tree_size: report.tree_head.as_ref().map_or(0, |head| head.tree_size),
        settled: report.settled,
        redirected: report.redirected,
        required: report.required,
        required_gross: report.required_gross,
        netting_efficiency_numerator: report.netting_efficiency_numerator,
        netting_efficiency_denominator: report.netting_efficiency_denominator,
        state_figures: report.state_figures.iter().map(figures).collect(),
        instructions: report.instructions.iter().map(instruction).collect(),
        carried_in: inputs.carried_in.iter().map(pair_count).collect(),
        carry_forward: report.carry_forward.iter().map(pair_count).collect(),
        open_breaks: report.open_breaks.iter().map(break_count).collect(),
        affected_states: report.affected_states.clone(),
        signature: signed
            .signature
            .as_ref()
            .map(|signature| json::CoordinatorSignature {
                signing_key_id: signature.signing_key_id.clone(),
                signature: hex::encode(&signature.signature),
            }),
        countersignatures: signed
            .countersignatures
            .iter()
            .map(|signature| json::Countersignature {
                state: signature.state.clone(),
                signing_key_id: signature.signing_key_id.clone(),
                signed_at: time(signature.signed_at.as_ref()),
                signature: hex::encode(&signature.signature),
            })
            .collect(),
    })
}

fn figures(figures: &pb::StateFigures) -> json::StateFigures {
    json::StateFigures {
        state: figures.state.clone(),
        returned: figures.returned,
        received: figures.received,
        admitted: figures.admitted,
        released: figures.released,
        debts: figures.debts,
        credits: figures.credits,
        position: figures.position,
        carried_in: figures.carried_in,
    }
}

fn instruction(instruction: &pb::AdmissionInstruction) -> json::Instruction {
    json::Instruction {
        admitting_state: instruction.admitting_state.clone(),
        origin_state: instruction.origin_state.clone(),
        count: instruction.count,
        redirected: instruction.redirected,
        perform_by: time(instruction.perform_by.as_ref()),
    }
}

fn pair_count(pair: &pb::PairCount) -> json::PairCount {
    json::PairCount {
        first_state: pair.first_state.clone(),
        second_state: pair.second_state.clone(),
        count: pair.count,
    }
}

/// A count of breaks in JSON.
pub fn break_count(count: &pb::BreakCount) -> json::BreakCount {
    json::BreakCount {
        kind: code_or_empty::<pb::BreakKind>(count.kind),
        age_bucket: code_or_empty::<pb::BreakAgeBucket>(count.age_bucket),
        count: count.count,
    }
}

/// The request of `GET /v1/balances`.
pub fn balances_request(query: &json::BalancesQuery) -> pb::GetBalancesRequest {
    pb::GetBalancesRequest {
        state: query.state.clone().unwrap_or_default(),
        tree_size: query.tree_size.unwrap_or_default(),
    }
}

/// Balances in JSON.
pub fn balances(response: &pb::GetBalancesResponse) -> json::Balances {
    json::Balances {
        tree_size: response.tree_size,
        pairs: response
            .pairs
            .iter()
            .map(|pair| json::PairBalance {
                first_state: pair.first_state.clone(),
                second_state: pair.second_state.clone(),
                returns: pair.returns,
                admissions: pair.admissions,
                debt: pair.debt,
                credit: pair.credit,
            })
            .collect(),
        positions: response
            .positions
            .iter()
            .map(|position| json::StatePosition {
                state: position.state.clone(),
                position: position.position,
            })
            .collect(),
        credits: response
            .credits
            .iter()
            .map(|credit| json::Credit {
                holder_state: credit.holder_state.clone(),
                counterpart_state: credit.counterpart_state.clone(),
                count: credit.count,
            })
            .collect(),
    }
}

/// The request of `GET /v1/quotas`.
pub fn list_quotas(query: &json::QuotaQuery) -> pb::ListQuotasRequest {
    pb::ListQuotasRequest {
        page_size: query.page_size.unwrap_or_default(),
        page_token: query.page_token.clone().unwrap_or_default(),
        state: query.state.clone().unwrap_or_default(),
        period: None,
    }
}

/// Quotas in JSON.
pub fn quotas(response: pb::ListQuotasResponse) -> json::Quotas {
    json::Quotas {
        capacities: response.capacities.iter().map(capacity).collect(),
        parity_limits: response
            .parity_limits
            .iter()
            .map(|limit| json::ParityLimit {
                first_state: limit.first_state.clone(),
                second_state: limit.second_state.clone(),
                limit: limit.limit,
                updated_at: time(limit.updated_at.as_ref()),
            })
            .collect(),
        next_page_token: non_empty(response.next_page_token),
    }
}

/// A capacity in JSON.
pub fn capacity(capacity: &pb::StateCapacity) -> json::Capacity {
    json::Capacity {
        state: capacity.state.clone(),
        period: capacity.period.as_ref().map(range_out),
        capacity: capacity.capacity,
        updated_at: time(capacity.updated_at.as_ref()),
    }
}

/// The request of `PUT /v1/quotas/capacity`.
pub fn set_capacity(
    key: String,
    body: &json::SetCapacity,
) -> Result<pb::SetCapacityRequest, Status> {
    let mut fields = Fields::new();
    let period = range_in(&mut fields, "period", &body.period);
    fields.finish(pb::SetCapacityRequest {
        idempotency_key: key,
        state: body.state.clone(),
        period: Some(period),
        capacity: body.capacity,
    })
}
