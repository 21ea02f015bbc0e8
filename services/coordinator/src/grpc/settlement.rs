//! `SettlementService`: thin handlers over the settlement use cases ([`Settlement`]).
//! Operators set capacities and run rounds; a member's node reports its candidates,
//! countersigns and disputes for its own state; a member's node or gateway sets its state's
//! consents; reads show an operator everything and a member what concerns its state.

use accord_domain::StateCode;
use accord_edge::report::render;
use accord_proto::v1 as pb;
use accord_proto::v1::settlement_service_server::SettlementService;
use accord_trust::PeerIdentity;
use tonic::{Request, Response, Status};

use super::callers::Callers;
use super::{latest_head_only, parsed, run_keyed, status};
use crate::app::ledger::Reader;
use crate::app::settlement::{ConsentSet, Settlement};
use crate::app::{App, Error};
use crate::convert::settlement::{self as wire, RoundView};
use crate::store::CapacityRecord;

/// The service's path prefix, as audit rows name a call.
const SERVICE_PATH: &str = "/accord.v1.SettlementService/";

/// `SettlementService` over the settlement use cases.
#[derive(Clone)]
pub struct SettlementApi {
    app: App,
    callers: Callers,
    settlement: Settlement,
}

impl SettlementApi {
    /// The service over `settlement`.
    pub fn new(app: App, settlement: Settlement) -> Self {
        Self {
            callers: Callers::new(app.clone(), SERVICE_PATH),
            app,
            settlement,
        }
    }
}

/// An answer holding the round as it now stands, made by `make`.
fn round_response<T>(make: impl Fn(Option<pb::Round>) -> T) -> impl Fn(&RoundView) -> T {
    move |view| make(Some(wire::round_to_wire(view)))
}

/// An operator's keyed request: the caller must be an operator (refusals audited); the
/// request is parsed, the use case runs as the operator under the request's idempotency key,
/// and the answer is written out by `$to_wire` (or the first answer replayed).
macro_rules! operator_step {
    ($api:ident, $request:ident, $method:literal, $parse:expr, $use_case:ident, $to_wire:expr) => {{
        const PATH: &str = concat!("/accord.v1.SettlementService/", $method);
        let (caller, operator) = $api.callers.operator($method, &$request).await?;
        let (key, command) = parsed($parse($request.get_ref(), PATH))?;
        run_keyed(&caller, &key, PATH, $to_wire, async |asked| {
            $api.settlement.$use_case(asked, &operator, command).await
        })
        .await
    }};
}

/// A member's keyed request for its own state: the caller must be an active member's node
/// (refusals audited), whose state the parser and the use case receive.
macro_rules! member_step {
    ($api:ident, $request:ident, $method:literal, $parse:expr, $use_case:ident, $to_wire:expr) => {{
        const PATH: &str = concat!("/accord.v1.SettlementService/", $method);
        let state = $api.callers.member_node($method, &$request).await?;
        let (key, command) = parsed($parse($request.get_ref(), PATH, state))?;
        let caller = PeerIdentity::Node(state).spiffe_id();
        run_keyed(&caller, &key, PATH, $to_wire, async |asked| {
            $api.settlement.$use_case(asked, state, command).await
        })
        .await
    }};
}

/// A read's optional `state` filter: none when empty.
fn state_filter(text: &str) -> Result<Option<StateCode>, Status> {
    if text.is_empty() {
        return Ok(None);
    }
    parsed(
        StateCode::parse(text)
            .map(Some)
            .map_err(|error| accord_edge::violation::Invalid::field("state", error.to_string())),
    )
}

/// Two different states, as a request names a pair.
fn pair(
    violations: &mut accord_edge::violation::Violations,
    first: &str,
    second: &str,
) -> (Option<StateCode>, Option<StateCode>) {
    let a = violations.check("first_state", StateCode::parse(first));
    let b = violations.check("second_state", StateCode::parse(second));
    if a.is_some() && a == b {
        violations.add("second_state", "must differ from first_state");
    }
    (a, b)
}

fn not_served(method: &str) -> Status {
    Status::unimplemented(format!(
        "{method} is not served by this version of the coordinator yet"
    ))
}

#[tonic::async_trait]
impl SettlementService for SettlementApi {
    async fn set_capacity(
        &self,
        request: Request<pb::SetCapacityRequest>,
    ) -> Result<Response<pb::SetCapacityResponse>, Status> {
        operator_step!(
            self,
            request,
            "SetCapacity",
            wire::capacity,
            set_capacity,
            |record: &CapacityRecord| pb::SetCapacityResponse {
                capacity: Some(wire::capacity_to_wire(record)),
            }
        )
    }

    async fn set_parity_limit(
        &self,
        request: Request<pb::SetParityLimitRequest>,
    ) -> Result<Response<pb::SetParityLimitResponse>, Status> {
        const PATH: &str = "/accord.v1.SettlementService/SetParityLimit";
        let (caller, _) = self.callers.operator("SetParityLimit", &request).await?;
        let message = request.get_ref();
        let mut violations = accord_edge::violation::Violations::new();
        let key =
            crate::convert::request_key(&mut violations, PATH, &message.idempotency_key, message);
        let (a, b) = pair(&mut violations, &message.first_state, &message.second_state);
        parsed(violations.finish())?;
        let (Some(key), Some(a), Some(b)) = (key, a, b) else {
            return Err(status(Error::invalid("request", "is incomplete")));
        };
        let to_wire = |published: &crate::app::Published<accord_domain::membership::Agreement>| {
            let (first, second) = published.record.pair();
            let limit = published.record.parity_limit().map_or(0, |limit| limit.0);
            pb::SetParityLimitResponse {
                parity_limit: Some(wire::parity_limit_to_wire(first, second, limit)),
            }
        };
        run_keyed(&caller, &key, PATH, to_wire, async |asked| {
            let limit = (a, b, u64::from(message.limit));
            self.settlement.set_parity_limit(asked, limit).await
        })
        .await
    }

    async fn list_quotas(
        &self,
        request: Request<pb::ListQuotasRequest>,
    ) -> Result<Response<pb::ListQuotasResponse>, Status> {
        self.callers.reader("ListQuotas", &request).await?;
        let query = parsed(wire::list_quotas(request.get_ref()))?;
        let state = query.state;
        let (capacities, next) = self.settlement.capacities(&query).await.map_err(status)?;
        // Parity limits are few (one per pair at most): on the first page only.
        let first_page = query.page.after.is_none();
        let parity_limits = self
            .app
            .directory()
            .directory()
            .agreements()
            .iter()
            .filter(|_| first_page)
            .filter(|agreement| state.is_none_or(|state| agreement.involves(state)))
            .filter_map(|agreement| {
                let (first, second) = agreement.pair();
                agreement
                    .parity_limit()
                    .map(|limit| wire::parity_limit_to_wire(first, second, limit.0))
            })
            .collect();
        Ok(Response::new(pb::ListQuotasResponse {
            capacities: capacities.iter().map(wire::capacity_to_wire).collect(),
            parity_limits,
            next_page_token: next.unwrap_or_default(),
        }))
    }

    async fn get_parity_limit(
        &self,
        request: Request<pb::GetParityLimitRequest>,
    ) -> Result<Response<pb::GetParityLimitResponse>, Status> {
        let reader = self.callers.reader("GetParityLimit", &request).await?;
        let message = request.get_ref();
        let mut violations = accord_edge::violation::Violations::new();
        let (a, b) = pair(&mut violations, &message.first_state, &message.second_state);
        parsed(violations.finish())?;
        let (Some(a), Some(b)) = (a, b) else {
            return Err(status(Error::invalid("first_state", "is required")));
        };
        let parity = self.settlement.parity(reader, a, b).await.map_err(status)?;
        let (first, second) = parity.pair;
        let parity_limit = wire::parity_limit_to_wire(first, second, parity.limit);
        let limit = parity_limit.limit;
        Ok(Response::new(pb::GetParityLimitResponse {
            parity_limit: Some(parity_limit),
            first_state_debt: parity.debts.0,
            second_state_debt: parity.debts.1,
            first_state_over_limit: parity.debts.0 > limit,
            second_state_over_limit: parity.debts.1 > limit,
            tree_size: parity.tree_size,
        }))
    }

    async fn report_candidates(
        &self,
        request: Request<pb::ReportCandidatesRequest>,
    ) -> Result<Response<pb::ReportCandidatesResponse>, Status> {
        member_step!(
            self,
            request,
            "ReportCandidates",
            wire::candidates,
            report_candidates,
            |recorded: &accord_domain::Timestamp| pb::ReportCandidatesResponse {
                recorded_at: Some(accord_edge::wire::to_wire_time(*recorded)),
            }
        )
    }

    async fn set_redirect_consent(
        &self,
        request: Request<pb::SetRedirectConsentRequest>,
    ) -> Result<Response<pb::SetRedirectConsentResponse>, Status> {
        const PATH: &str = "/accord.v1.SettlementService/SetRedirectConsent";
        let Reader::Member(state) = self.callers.reader("SetRedirectConsent", &request).await?
        else {
            return Err(status(Error::PermissionDenied(
                "consent is a member state's own: its node or gateway gives it".to_owned(),
            )));
        };
        let (key, command) = parsed(wire::consent(request.get_ref(), PATH))?;
        let caller = PeerIdentity::from_request(&request)
            .map(|identity| identity.spiffe_id())
            .unwrap_or_default();
        let to_wire = |set: &ConsentSet| pb::SetRedirectConsentResponse {
            consent: Some(wire::consent_to_wire(&set.consent)),
            pair_consented: set.pair_consented,
        };
        run_keyed(&caller, &key, PATH, to_wire, async |asked| {
            self.settlement.set_consent(asked, state, command).await
        })
        .await
    }

    async fn list_redirect_consents(
        &self,
        request: Request<pb::ListRedirectConsentsRequest>,
    ) -> Result<Response<pb::ListRedirectConsentsResponse>, Status> {
        self.callers
            .reader("ListRedirectConsents", &request)
            .await?;
        let message = request.get_ref();
        let state = state_filter(&message.state)?;
        let (consents, pairs) = self.settlement.consents(state).await.map_err(status)?;
        Ok(Response::new(pb::ListRedirectConsentsResponse {
            consents: consents.iter().map(wire::consent_to_wire).collect(),
            consented_pairs: pairs
                .into_iter()
                .map(|(admitting_state, origin_state)| pb::RedirectPair {
                    admitting_state,
                    origin_state,
                })
                .collect(),
        }))
    }

    async fn get_balances(
        &self,
        request: Request<pb::GetBalancesRequest>,
    ) -> Result<Response<pb::GetBalancesResponse>, Status> {
        let reader = self.callers.reader("GetBalances", &request).await?;
        let message = request.get_ref();
        let state = state_filter(&message.state)?;
        let (balances, tree_size) = self
            .settlement
            .balances(reader, state)
            .await
            .map_err(status)?;
        latest_head_only(message.tree_size, tree_size, "balances")?;
        let mut positions: std::collections::BTreeMap<StateCode, i64> = Default::default();
        for balance in &balances {
            *positions.entry(balance.first).or_default() += i64::from(balance.debt());
            *positions.entry(balance.second).or_default() -= i64::from(balance.debt());
        }
        Ok(Response::new(pb::GetBalancesResponse {
            tree_size,
            pairs: balances
                .iter()
                .map(|balance| pb::PairBalance {
                    first_state: balance.first.to_string(),
                    second_state: balance.second.to_string(),
                    returns: balance.returns,
                    admissions: balance.admissions,
                    debt: balance.debt(),
                    credit: balance.credit(),
                })
                .collect(),
            positions: positions
                .into_iter()
                .map(|(state, position)| pb::StatePosition {
                    state: state.to_string(),
                    position,
                })
                .collect(),
            credits: balances
                .iter()
                .filter(|balance| balance.credit() > 0)
                .map(|balance| pb::Credit {
                    holder_state: balance.first.to_string(),
                    counterpart_state: balance.second.to_string(),
                    count: balance.credit(),
                })
                .collect(),
        }))
    }

    async fn open_round(
        &self,
        request: Request<pb::OpenRoundRequest>,
    ) -> Result<Response<pb::OpenRoundResponse>, Status> {
        operator_step!(
            self,
            request,
            "OpenRound",
            wire::open_round,
            open_round,
            round_response(|round| pb::OpenRoundResponse { round })
        )
    }

    async fn close_round(
        &self,
        request: Request<pb::CloseRoundRequest>,
    ) -> Result<Response<pb::CloseRoundResponse>, Status> {
        operator_step!(
            self,
            request,
            "CloseRound",
            wire::close_round,
            close_round,
            round_response(|round| pb::CloseRoundResponse { round })
        )
    }

    async fn propose_round(
        &self,
        request: Request<pb::ProposeRoundRequest>,
    ) -> Result<Response<pb::ProposeRoundResponse>, Status> {
        operator_step!(
            self,
            request,
            "ProposeRound",
            wire::propose_round,
            propose_round,
            round_response(|round| pb::ProposeRoundResponse { round })
        )
    }

    async fn get_round(
        &self,
        request: Request<pb::GetRoundRequest>,
    ) -> Result<Response<pb::GetRoundResponse>, Status> {
        let reader = self.callers.reader("GetRound", &request).await?;
        let view = self
            .settlement
            .round(&request.get_ref().round_id, reader.state())
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetRoundResponse {
            round: Some(wire::round_to_wire(&view)),
        }))
    }

    async fn list_rounds(
        &self,
        request: Request<pb::ListRoundsRequest>,
    ) -> Result<Response<pb::ListRoundsResponse>, Status> {
        let reader = self.callers.reader("ListRounds", &request).await?;
        let query = parsed(wire::list_rounds(request.get_ref()))?;
        let (views, next) = self
            .settlement
            .rounds(reader.state(), &query)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListRoundsResponse {
            rounds: views.iter().map(wire::round_to_wire).collect(),
            next_page_token: next.unwrap_or_default(),
        }))
    }

    async fn countersign_round(
        &self,
        request: Request<pb::CountersignRoundRequest>,
    ) -> Result<Response<pb::CountersignRoundResponse>, Status> {
        member_step!(
            self,
            request,
            "CountersignRound",
            |message, path, _| wire::countersign(message, path),
            countersign,
            round_response(|round| pb::CountersignRoundResponse { round })
        )
    }

    async fn dispute_round(
        &self,
        request: Request<pb::DisputeRoundRequest>,
    ) -> Result<Response<pb::DisputeRoundResponse>, Status> {
        member_step!(
            self,
            request,
            "DisputeRound",
            |message, path, _| wire::dispute(message, path),
            dispute,
            round_response(|round| pb::DisputeRoundResponse { round })
        )
    }

    async fn get_round_report(
        &self,
        request: Request<pb::GetRoundReportRequest>,
    ) -> Result<Response<pb::GetRoundReportResponse>, Status> {
        let reader = self.callers.reader("GetRoundReport", &request).await?;
        let message = request.get_ref();
        let format = parsed(pb::ReportFormat::try_from(message.format).map_err(|_| {
            accord_edge::violation::Invalid::field(
                "format",
                format!("{} is not a report format", message.format),
            )
        }))?;
        if matches!(format, pb::ReportFormat::Html | pb::ReportFormat::Pdf) {
            return Err(not_served(
                "GetRoundReport as HTML or PDF (the gateway renders pages; JSON, CSV and \
                 REPORT_FORMAT_BUNDLE are served here)",
            ));
        }
        let round_id = &message.round_id;
        let round = self
            .settlement
            .round(round_id, reader.state())
            .await
            .map_err(status)?;
        let report = wire::round_to_wire(&round).report;
        let signed = report
            .clone()
            .ok_or_else(|| status(Error::NotFound(format!("a report of round {round_id}"))))?;
        let (rendering, content_type, extension) = match format {
            pb::ReportFormat::Bundle => (
                self.settlement
                    .report_bundle(&round)
                    .await
                    .map_err(status)?,
                "application/x-protobuf",
                "pb",
            ),
            pb::ReportFormat::Csv => (
                render::csv(
                    signed
                        .report
                        .as_ref()
                        .unwrap_or(&pb::SettlementReport::default()),
                ),
                "text/csv; charset=utf-8",
                "csv",
            ),
            _ => (render::json(&signed), "application/json", "json"),
        };
        Ok(Response::new(pb::GetRoundReportResponse {
            report,
            rendering,
            content_type: content_type.to_owned(),
            file_name: format!("{round_id}.{extension}"),
        }))
    }
}
