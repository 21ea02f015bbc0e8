//! `accord.v1.AdmissionService`: the local API for this state's caseworkers (through its
//! gateway) on offers and admission cases, and the event deliveries its partners call.
//!
//! Every handler authorizes first (from the certificate only: `local_caller` or
//! `partner_caller`, refusals audited), then validates every field (all violations at
//! once), then calls one use case and maps its error once (`respond`). Nothing is stored
//! from a refused request.

use accord_domain::admission::{AdmissionEventKind, OfferEventKind};
use accord_domain::{CaseKind, CaseRef, FreeText, StateCode, Timestamp};
use accord_proto::v1 as pb;
use accord_proto::v1::admission_service_server::AdmissionService;
use accord_trust::PeerIdentity;
use pb::admission_event::Detail as AdmissionDetail;
use pb::offer_event::Detail as OfferDetail;
use prost::Message;
use tonic::{Request, Response, Status};

use super::{idempotency_key, local_caller, partner_caller, respond, status};
use crate::app::admission::{
    AdmissionListFilter, AdmissionOutcome, AdmissionStep, NominateCandidate, StepChecks,
};
use crate::app::offer::{OfferListFilter, OfferOutcome, OfferStep, PublishOffer};
use crate::app::{App, Error, EventPage, EventPageRequest, Violations, request_digest};
use crate::convert::{self, admission as convert_admission};

/// Offers or cases per page of a list when the caller names none.
const LIST_PAGE_SIZE_DEFAULT: u32 = 50;

/// The longest withdrawal note, in characters.
const NOTE_LENGTH_MAX_CHARS: usize = 2_000;

/// The longest refusal text, in characters.
const DETAILED_REASONS_LENGTH_MAX_CHARS: usize = 4_000;

/// The service, over the node's use cases.
#[derive(Clone)]
pub struct AdmissionApi {
    app: App,
}

impl AdmissionApi {
    /// Serves `app`.
    pub fn new(app: App) -> Self {
        Self { app }
    }
}

fn full_name(operation: &str) -> String {
    format!("/accord.v1.AdmissionService/{operation}")
}

/// The fields every offer step request shares.
trait OfferStepRequest: Message + Send + 'static {
    fn idempotency_key(&self) -> &str;
    fn offer_ref(&self) -> &str;
}

/// The fields every admission step request shares.
trait AdmissionStepRequest: Message + Send + 'static {
    fn idempotency_key(&self) -> &str;
    fn case_ref(&self) -> &str;
}

macro_rules! offer_step_messages {
    ($($request:ty => $response:ty),+ $(,)?) => {$(
        impl OfferStepRequest for $request {
            fn idempotency_key(&self) -> &str {
                &self.idempotency_key
            }
            fn offer_ref(&self) -> &str {
                &self.offer_ref
            }
        }
        impl From<OfferOutcome> for $response {
            fn from(outcome: OfferOutcome) -> Self {
                Self { offer: outcome.offer, event: outcome.event }
            }
        }
    )+};
}

macro_rules! admission_step_messages {
    ($($request:ty => $response:ty),+ $(,)?) => {$(
        impl AdmissionStepRequest for $request {
            fn idempotency_key(&self) -> &str {
                &self.idempotency_key
            }
            fn case_ref(&self) -> &str {
                &self.case_ref
            }
        }
        impl From<AdmissionOutcome> for $response {
            fn from(outcome: AdmissionOutcome) -> Self {
                Self { admission: outcome.admission, event: outcome.event }
            }
        }
    )+};
}

offer_step_messages! {
    pb::AmendOfferRequest => pb::AmendOfferResponse,
    pb::PauseOfferRequest => pb::PauseOfferResponse,
    pb::ResumeOfferRequest => pb::ResumeOfferResponse,
    pb::CloseOfferRequest => pb::CloseOfferResponse,
}

admission_step_messages! {
    pb::StartVettingRequest => pb::StartVettingResponse,
    pb::DecideAdmissionRequest => pb::DecideAdmissionResponse,
    pb::WithdrawNominationRequest => pb::WithdrawNominationResponse,
    pb::BookTravelRequest => pb::BookTravelResponse,
    pb::ReportArrivalRequest => pb::ReportArrivalResponse,
    pb::ConfirmDepartureRequest => pb::ConfirmDepartureResponse,
    pb::ReportGrantLapsedRequest => pb::ReportGrantLapsedResponse,
}

impl From<OfferOutcome> for pb::PublishOfferResponse {
    fn from(outcome: OfferOutcome) -> Self {
        Self {
            offer: outcome.offer,
            event: outcome.event,
        }
    }
}

impl From<AdmissionOutcome> for pb::NominateCandidateResponse {
    fn from(outcome: AdmissionOutcome) -> Self {
        Self {
            admission: outcome.admission,
            event: outcome.event,
        }
    }
}

/// What an offer step handler builds from its request.
type BuiltOfferStep = Option<(OfferEventKind, Option<OfferDetail>)>;

/// What an admission step handler builds from its request.
type BuiltAdmissionStep = Option<(AdmissionEventKind, Option<AdmissionDetail>, StepChecks)>;

/// The fields every history read request shares (`ListOfferEvents`, `ListAdmissionEvents`).
trait EventListRequest {
    /// The name of the field holding the offer's or case's reference.
    const REFERENCE_FIELD: &'static str;
    /// The kind of record whose history is read.
    const REFERENCE_KIND: CaseKind;
    fn reference(&self) -> &str;
    fn after_sequence(&self) -> u64;
    fn page_size(&self) -> u32;
    fn page_token(&self) -> &str;
}

macro_rules! event_list_messages {
    ($($request:ty, $field:ident, $kind:expr => $response:ty, $event:ty);+ $(;)?) => {$(
        impl EventListRequest for $request {
            const REFERENCE_FIELD: &'static str = stringify!($field);
            const REFERENCE_KIND: CaseKind = $kind;
            fn reference(&self) -> &str {
                &self.$field
            }
            fn after_sequence(&self) -> u64 {
                self.after_sequence
            }
            fn page_size(&self) -> u32 {
                self.page_size
            }
            fn page_token(&self) -> &str {
                &self.page_token
            }
        }
        impl From<EventPage<$event>> for $response {
            fn from(page: EventPage<$event>) -> Self {
                Self { events: page.events, next_page_token: page.next_page_token }
            }
        }
    )+};
}

event_list_messages! {
    pb::ListOfferEventsRequest, offer_ref, CaseKind::Offer
        => pb::ListOfferEventsResponse, pb::OfferEvent;
    pb::ListAdmissionEventsRequest, case_ref, CaseKind::Admission
        => pb::ListAdmissionEventsResponse, pb::AdmissionEvent;
}

impl AdmissionApi {
    /// The shared path of every offer step: authorize, validate, record.
    async fn offer_step<Req, Resp>(
        &self,
        request: Request<Req>,
        operation: &'static str,
        build: impl FnOnce(&Req, &mut Violations, Timestamp) -> BuiltOfferStep,
    ) -> Result<Response<Resp>, Status>
    where
        Req: OfferStepRequest,
        Resp: From<OfferOutcome>,
    {
        let operation_name = full_name(operation);
        let caller = local_caller(&self.app, &request, &operation_name)
            .await?
            .spiffe_id();
        let message = request.into_inner();
        let mut violations = Violations::new();
        let key = idempotency_key(&mut violations, message.idempotency_key());
        let offer_ref = convert_admission::reference_of_kind(
            &mut violations,
            "offer_ref",
            message.offer_ref(),
            CaseKind::Offer,
        );
        let built = build(&message, &mut violations, self.app.now());
        violations.finish().map_err(status)?;
        let (Some(idempotency_key), Some(offer_ref), Some((kind, detail))) =
            (key, offer_ref, built)
        else {
            return Err(incomplete());
        };
        let step = OfferStep {
            idempotency_key,
            request_digest: request_digest(operation, &message.encode_to_vec()),
            operation,
            offer_ref,
            kind,
            detail,
        };
        let result = self.app.offer_step(&caller, step).await.map(Resp::from);
        respond(&self.app, &caller, &operation_name, result).await
    }

    /// The shared path of every admission step: authorize, validate, record.
    async fn admission_step<Req, Resp>(
        &self,
        request: Request<Req>,
        operation: &'static str,
        build: impl FnOnce(&Req, &mut Violations, Timestamp) -> BuiltAdmissionStep,
    ) -> Result<Response<Resp>, Status>
    where
        Req: AdmissionStepRequest,
        Resp: From<AdmissionOutcome>,
    {
        let operation_name = full_name(operation);
        let caller = local_caller(&self.app, &request, &operation_name)
            .await?
            .spiffe_id();
        let message = request.into_inner();
        let mut violations = Violations::new();
        let key = idempotency_key(&mut violations, message.idempotency_key());
        let case_ref = convert_admission::reference_of_kind(
            &mut violations,
            "case_ref",
            message.case_ref(),
            CaseKind::Admission,
        );
        let built = build(&message, &mut violations, self.app.now());
        violations.finish().map_err(status)?;
        let (Some(idempotency_key), Some(case_ref), Some((kind, detail, checks))) =
            (key, case_ref, built)
        else {
            return Err(incomplete());
        };
        let step = AdmissionStep {
            idempotency_key,
            request_digest: request_digest(operation, &message.encode_to_vec()),
            operation,
            case_ref,
            kind,
            detail,
            checks,
        };
        let result = self.app.admission_step(&caller, step).await.map(Resp::from);
        respond(&self.app, &caller, &operation_name, result).await
    }

    /// Authorizes a read of a history: this node's gateway, or the partner node of the offer
    /// or case named by `reference`. A refusal is audited.
    async fn history_reader<T>(
        &self,
        request: &Request<T>,
        operation: &str,
        reference: &str,
    ) -> Result<PeerIdentity, Status> {
        let caller = super::caller(request)?;
        let allowed = match &caller {
            PeerIdentity::Node(partner) => {
                // A malformed reference is left to validation (INVALID_ARGUMENT).
                self.app.authorize_partner(&caller).is_ok()
                    && CaseRef::parse(reference).map_or(true, |case_ref| {
                        case_ref.first_state() == *partner || case_ref.second_state() == *partner
                    })
            }
            _ => self.app.authorize_local(&caller).is_ok(),
        };
        if !allowed {
            let detail = format!(
                "{} may not read the history of {reference:?} on this node",
                caller.spiffe_id()
            );
            self.app
                .audit_refusal(&caller.spiffe_id(), operation, "PERMISSION_DENIED", &detail)
                .await;
            return Err(status(Error::PermissionDenied(detail)));
        }
        Ok(caller)
    }

    /// The shared path of every history read: authorize (`history_reader`), then validate
    /// the reference and the page. Returns the caller's SPIFFE id, the reference and the page.
    async fn history_page<Req: EventListRequest>(
        &self,
        request: Request<Req>,
        operation: &str,
    ) -> Result<(String, CaseRef, EventPageRequest), Status> {
        let reference = request.get_ref().reference().to_owned();
        let caller = self
            .history_reader(&request, operation, &reference)
            .await?
            .spiffe_id();
        let message = request.into_inner();
        let mut violations = Violations::new();
        let reference = convert_admission::reference_of_kind(
            &mut violations,
            Req::REFERENCE_FIELD,
            message.reference(),
            Req::REFERENCE_KIND,
        );
        let after_sequence = after_sequence(
            &mut violations,
            message.after_sequence(),
            message.page_token(),
        );
        violations.finish().map_err(status)?;
        let Some(reference) = reference else {
            return Err(incomplete());
        };
        let page = EventPageRequest {
            after_sequence,
            page_size: message.page_size(),
        };
        Ok((caller, reference, page))
    }
}

fn incomplete() -> Status {
    status(Error::invalid("request", "is incomplete"))
}

/// A short optional reference (entry point, expression of interest, …): at most
/// `max_chars` characters, no control characters.
fn short_text(violations: &mut Violations, field: &str, value: &str, max_chars: usize) {
    let chars = value.chars().count();
    if chars > max_chars {
        violations.add(field, format!("is {chars} characters; at most {max_chars}"));
    }
    if value.chars().any(char::is_control) {
        violations.add(field, "must not contain control characters");
    }
}

/// An optional free text: empty is fine, otherwise valid text of at most `max_chars`.
fn optional_text(violations: &mut Violations, field: &str, value: &str, max_chars: usize) {
    if value.is_empty() {
        return;
    }
    let chars = value.chars().count();
    if chars > max_chars {
        violations.add(field, format!("is {chars} characters; at most {max_chars}"));
        return;
    }
    let _checked = violations.check(field, FreeText::parse(value));
}

fn known_enum<E: TryFrom<i32>>(
    violations: &mut Violations,
    field: &str,
    value: i32,
    required: bool,
) {
    match E::try_from(value) {
        Err(_) => violations.add(field, format!("{value} is not a known value")),
        Ok(_) if required && value == 0 => violations.add(field, "is required"),
        Ok(_) => {}
    }
}

/// A required instant that must not be in the future.
fn past_time(
    violations: &mut Violations,
    field: &str,
    time: Option<&prost_types::Timestamp>,
    now: Timestamp,
) -> Option<Timestamp> {
    let time = convert::required_time(violations, field, time)?;
    if time > now {
        violations.add(field, "must not be in the future");
    }
    Some(time)
}

/// An optional counterpart filter.
fn counterpart(violations: &mut Violations, text: &str) -> Option<StateCode> {
    if text.is_empty() {
        return None;
    }
    convert::required_state(violations, "counterpart_state", text)
}

/// The role filter: `Some(true)` for admitting, `Some(false)` for origin.
fn role(violations: &mut Violations, value: i32) -> Option<bool> {
    match pb::AdmissionRole::try_from(value) {
        Ok(pb::AdmissionRole::Admitting) => Some(true),
        Ok(pb::AdmissionRole::Origin) => Some(false),
        Ok(pb::AdmissionRole::Unspecified) => None,
        Err(_) => {
            violations.add("role", format!("{value} is not a known role"));
            None
        }
    }
}

/// The page token of a list: the last reference of the previous page, of `kind`.
fn page_token(violations: &mut Violations, token: &str, kind: CaseKind) -> Option<String> {
    if token.is_empty() {
        return None;
    }
    convert_admission::reference_of_kind(violations, "page_token", token, kind)
        .map(|case_ref| case_ref.to_string())
}

/// Where a history read starts: after the page token's sequence (the last one of the
/// previous page), which must not lie before `after_sequence`, or else after `after_sequence`.
fn after_sequence(violations: &mut Violations, after_sequence: u64, page_token: &str) -> u64 {
    if page_token.is_empty() {
        return after_sequence;
    }
    match page_token.parse::<u64>() {
        Ok(last) if last >= after_sequence => last,
        _ => {
            violations.add(
                "page_token",
                "is not a token this node returned for this history",
            );
            after_sequence
        }
    }
}

fn list_page_size(page_size: u32) -> u32 {
    if page_size == 0 {
        LIST_PAGE_SIZE_DEFAULT
    } else {
        page_size
    }
}

fn publication(
    violations: &mut Violations,
    message: &pb::PublishOfferRequest,
    own: StateCode,
    now: Timestamp,
) -> Option<(
    StateCode,
    accord_domain::Regime,
    accord_domain::admission::OfferWindow,
)> {
    let origin = convert::required_state(violations, "origin_state", &message.origin_state);
    if origin == Some(own) {
        violations.add(
            "origin_state",
            "must be another state than the admitting state",
        );
    }
    let regime = convert::regime_from_wire(message.regime);
    if regime.is_none() {
        violations.add("regime", "is required (a known regime)");
    }
    if !(1..=convert_admission::OFFER_CAPACITY_MAX).contains(&message.capacity) {
        violations.add(
            "capacity",
            format!(
                "must be from 1 to {}",
                convert_admission::OFFER_CAPACITY_MAX
            ),
        );
    }
    let window = convert_admission::window_from_wire(violations, "window", message.window.as_ref());
    if window.is_some_and(|window| window.closes_at() < now) {
        violations.add("window.end_time", "must be after now");
    }
    short_text(
        violations,
        "priority_rules_version",
        &message.priority_rules_version,
        convert_admission::PRIORITY_RULES_VERSION_LENGTH_MAX_CHARS,
    );
    Some((origin?, regime?, window?))
}

fn nomination(
    violations: &mut Violations,
    message: &pb::NominateCandidateRequest,
    offer_ref: Option<&CaseRef>,
    now: Timestamp,
) {
    let _person = convert::person_from_wire(violations, "person", message.person.as_ref(), now);
    short_text(
        violations,
        "expression_of_interest_reference",
        &message.expression_of_interest_reference,
        convert_admission::REFERENCE_LENGTH_MAX_CHARS,
    );
    short_text(
        violations,
        "round_id",
        &message.round_id,
        convert_admission::REFERENCE_LENGTH_MAX_CHARS,
    );
    if message.matched_readmission_ref.is_empty() {
        return;
    }
    let matched = convert_admission::reference_of_kind(
        violations,
        "matched_readmission_ref",
        &message.matched_readmission_ref,
        CaseKind::Readmission,
    );
    if let (Some(matched), Some(offer_ref)) = (matched, offer_ref) {
        let pair = [offer_ref.first_state(), offer_ref.second_state()];
        if !(pair.contains(&matched.first_state()) && pair.contains(&matched.second_state())) {
            violations.add(
                "matched_readmission_ref",
                "must be a readmission between the offer's two states",
            );
        }
    }
}

#[tonic::async_trait]
impl AdmissionService for AdmissionApi {
    async fn publish_offer(
        &self,
        request: Request<pb::PublishOfferRequest>,
    ) -> Result<Response<pb::PublishOfferResponse>, Status> {
        let operation = full_name("PublishOffer");
        let caller = local_caller(&self.app, &request, &operation)
            .await?
            .spiffe_id();
        let message = request.into_inner();
        let now = self.app.now();
        let mut violations = Violations::new();
        let key = idempotency_key(&mut violations, &message.idempotency_key);
        let terms = publication(&mut violations, &message, self.app.own_state(), now);
        violations.finish().map_err(status)?;
        let (Some(idempotency_key), Some((origin, regime, window))) = (key, terms) else {
            return Err(incomplete());
        };
        let publish = PublishOffer {
            idempotency_key,
            request_digest: request_digest("PublishOffer", &message.encode_to_vec()),
            origin,
            regime,
            capacity: message.capacity,
            window,
            publication: pb::OfferPublication {
                origin_state: message.origin_state.clone(),
                regime: message.regime,
                capacity: message.capacity,
                window: message.window,
                priority_rules_version: message.priority_rules_version.clone(),
            },
        };
        let result = self
            .app
            .publish_offer(&caller, publish)
            .await
            .map(pb::PublishOfferResponse::from);
        respond(&self.app, &caller, &operation, result).await
    }

    async fn amend_offer(
        &self,
        request: Request<pb::AmendOfferRequest>,
    ) -> Result<Response<pb::AmendOfferResponse>, Status> {
        self.offer_step(request, "AmendOffer", |message, violations, _| {
            if let Some(capacity) = message.capacity
                && !(1..=convert_admission::OFFER_CAPACITY_MAX).contains(&capacity)
            {
                violations.add(
                    "capacity",
                    format!(
                        "must be from 1 to {}",
                        convert_admission::OFFER_CAPACITY_MAX
                    ),
                );
            }
            let closes_at = message.window_end_time.as_ref().and_then(|end| {
                violations
                    .check("window_end_time", convert::from_wire_time(end))
                    .map(convert_admission::window_last_instant)
            });
            if message.capacity.is_none() && message.window_end_time.is_none() {
                violations.add("capacity", "set capacity, window_end_time or both");
                return None;
            }
            let detail = OfferDetail::Amended(pb::OfferAmendment {
                capacity: message.capacity,
                window_end_time: message.window_end_time,
            });
            Some((
                OfferEventKind::Amended {
                    capacity: message.capacity,
                    closes_at,
                },
                Some(detail),
            ))
        })
        .await
    }

    async fn pause_offer(
        &self,
        request: Request<pb::PauseOfferRequest>,
    ) -> Result<Response<pb::PauseOfferResponse>, Status> {
        self.offer_step(request, "PauseOffer", |message, violations, _| {
            let Some(reason) = convert_admission::pause_reason_from_wire(message.reason) else {
                violations.add("reason", "is required (a known pause reason)");
                return None;
            };
            let detail = OfferDetail::Paused(pb::OfferPause {
                reason: message.reason,
            });
            Some((OfferEventKind::Paused { reason }, Some(detail)))
        })
        .await
    }

    async fn resume_offer(
        &self,
        request: Request<pb::ResumeOfferRequest>,
    ) -> Result<Response<pb::ResumeOfferResponse>, Status> {
        self.offer_step(request, "ResumeOffer", |_, _, _| {
            Some((OfferEventKind::Resumed, None))
        })
        .await
    }

    async fn close_offer(
        &self,
        request: Request<pb::CloseOfferRequest>,
    ) -> Result<Response<pb::CloseOfferResponse>, Status> {
        self.offer_step(request, "CloseOffer", |_, _, _| {
            // A caseworker's close withdraws the offer; the window's end would be a system event.
            let detail = OfferDetail::Closed(pb::OfferClosure {
                reason: pb::OfferCloseReason::Withdrawn as i32,
            });
            Some((OfferEventKind::Closed, Some(detail)))
        })
        .await
    }

    async fn get_offer(
        &self,
        request: Request<pb::GetOfferRequest>,
    ) -> Result<Response<pb::GetOfferResponse>, Status> {
        let operation = full_name("GetOffer");
        let caller = local_caller(&self.app, &request, &operation)
            .await?
            .spiffe_id();
        let mut violations = Violations::new();
        let offer_ref = convert_admission::reference_of_kind(
            &mut violations,
            "offer_ref",
            &request.get_ref().offer_ref,
            CaseKind::Offer,
        );
        violations.finish().map_err(status)?;
        let Some(offer_ref) = offer_ref else {
            return Err(incomplete());
        };
        let result = self
            .app
            .get_offer(&offer_ref)
            .await
            .map(|offer| pb::GetOfferResponse { offer: Some(offer) });
        respond(&self.app, &caller, &operation, result).await
    }

    async fn list_offers(
        &self,
        request: Request<pb::ListOffersRequest>,
    ) -> Result<Response<pb::ListOffersResponse>, Status> {
        let operation = full_name("ListOffers");
        let caller = local_caller(&self.app, &request, &operation)
            .await?
            .spiffe_id();
        let message = request.into_inner();
        let mut violations = Violations::new();
        let counterpart = counterpart(&mut violations, &message.counterpart_state);
        let admitting = role(&mut violations, message.role);
        let mut statuses = Vec::new();
        for (index, value) in message.statuses.iter().enumerate() {
            match convert_admission::offer_status_code_from_wire(*value) {
                Some(code) => statuses.push(code),
                None => violations.add(
                    format!("statuses[{index}]"),
                    format!("{value} is not a known status"),
                ),
            }
        }
        let after = page_token(&mut violations, &message.page_token, CaseKind::Offer);
        violations.finish().map_err(status)?;
        let filter = OfferListFilter {
            counterpart,
            admitting,
            statuses,
        };
        let result = self
            .app
            .list_offers(&filter, after.as_deref(), list_page_size(message.page_size))
            .await
            .map(|(offers, next)| pb::ListOffersResponse {
                offers,
                next_page_token: next.unwrap_or_default(),
            });
        respond(&self.app, &caller, &operation, result).await
    }

    async fn nominate_candidate(
        &self,
        request: Request<pb::NominateCandidateRequest>,
    ) -> Result<Response<pb::NominateCandidateResponse>, Status> {
        let operation = full_name("NominateCandidate");
        let caller = local_caller(&self.app, &request, &operation)
            .await?
            .spiffe_id();
        let message = request.into_inner();
        let mut violations = Violations::new();
        let key = idempotency_key(&mut violations, &message.idempotency_key);
        let offer_ref = convert_admission::reference_of_kind(
            &mut violations,
            "offer_ref",
            &message.offer_ref,
            CaseKind::Offer,
        );
        nomination(
            &mut violations,
            &message,
            offer_ref.as_ref(),
            self.app.now(),
        );
        violations.finish().map_err(status)?;
        let (Some(idempotency_key), Some(offer_ref)) = (key, offer_ref) else {
            return Err(incomplete());
        };
        let nominate = NominateCandidate {
            idempotency_key,
            request_digest: request_digest("NominateCandidate", &message.encode_to_vec()),
            offer_ref,
            nomination: pb::Nomination {
                offer_ref: message.offer_ref.clone(),
                person: message.person.clone(),
                expression_of_interest_reference: message.expression_of_interest_reference.clone(),
                matched_readmission_ref: message.matched_readmission_ref.clone(),
                round_id: message.round_id.clone(),
            },
        };
        let result = self
            .app
            .nominate_candidate(&caller, nominate)
            .await
            .map(pb::NominateCandidateResponse::from);
        respond(&self.app, &caller, &operation, result).await
    }

    async fn start_vetting(
        &self,
        request: Request<pb::StartVettingRequest>,
    ) -> Result<Response<pb::StartVettingResponse>, Status> {
        self.admission_step(request, "StartVetting", |_, _, _| {
            Some((
                AdmissionEventKind::VettingStarted,
                None,
                StepChecks::default(),
            ))
        })
        .await
    }

    async fn decide_admission(
        &self,
        request: Request<pb::DecideAdmissionRequest>,
    ) -> Result<Response<pb::DecideAdmissionResponse>, Status> {
        use pb::decide_admission_request::Decision;
        self.admission_step(
            request,
            "DecideAdmission",
            |message, violations, now| match &message.decision {
                Some(Decision::Grant(grant)) => {
                    let until = convert::required_time(
                        violations,
                        "grant.visa_valid_until",
                        grant.visa_valid_until.as_ref(),
                    )?;
                    if until <= now {
                        violations.add("grant.visa_valid_until", "must be in the future");
                    }
                    let checks = StepChecks {
                        visa_valid_until: Some(until),
                        departure: None,
                    };
                    Some((
                        AdmissionEventKind::Granted,
                        Some(AdmissionDetail::Granted(*grant)),
                        checks,
                    ))
                }
                Some(Decision::Refuse(refusal)) => {
                    let reasons = convert_admission::refusals_from_wire(
                        violations,
                        "refuse.reasons",
                        &refusal.reasons,
                    );
                    if refusal.reasons.is_empty() {
                        violations.add("refuse.reasons", "needs at least one reason code");
                    }
                    optional_text(
                        violations,
                        "refuse.detailed_reasons",
                        &refusal.detailed_reasons,
                        DETAILED_REASONS_LENGTH_MAX_CHARS,
                    );
                    Some((
                        AdmissionEventKind::Refused { reasons },
                        Some(AdmissionDetail::Refused(refusal.clone())),
                        StepChecks::default(),
                    ))
                }
                None => {
                    violations.add("decision", "is required: grant or refuse");
                    None
                }
            },
        )
        .await
    }

    async fn withdraw_nomination(
        &self,
        request: Request<pb::WithdrawNominationRequest>,
    ) -> Result<Response<pb::WithdrawNominationResponse>, Status> {
        self.admission_step(request, "WithdrawNomination", |message, violations, _| {
            known_enum::<pb::NominationWithdrawalReason>(
                violations,
                "reason",
                message.reason,
                true,
            );
            optional_text(violations, "note", &message.note, NOTE_LENGTH_MAX_CHARS);
            let name = pb::NominationWithdrawalReason::try_from(message.reason)
                .ok()?
                .as_str_name();
            let reason = violations.check("note", convert::coded_text(name, &message.note))?;
            let detail = AdmissionDetail::Withdrawn(pb::NominationWithdrawal {
                reason: message.reason,
                note: message.note.clone(),
            });
            Some((
                AdmissionEventKind::Withdrawn { reason },
                Some(detail),
                StepChecks::default(),
            ))
        })
        .await
    }

    async fn book_travel(
        &self,
        request: Request<pb::BookTravelRequest>,
    ) -> Result<Response<pb::BookTravelResponse>, Status> {
        self.admission_step(request, "BookTravel", |message, violations, _| {
            let Some(travel) = &message.travel else {
                violations.add("travel", "is required");
                return None;
            };
            let departure = convert::required_time(
                violations,
                "travel.departure_time",
                travel.departure_time.as_ref(),
            );
            known_enum::<pb::TransportMode>(
                violations,
                "travel.transport_mode",
                travel.transport_mode,
                false,
            );
            for (field, value) in [
                ("travel.departure_point", &travel.departure_point),
                ("travel.entry_point", &travel.entry_point),
            ] {
                short_text(
                    violations,
                    field,
                    value,
                    convert_admission::REFERENCE_LENGTH_MAX_CHARS,
                );
            }
            let checks = StepChecks {
                visa_valid_until: None,
                departure: Some(departure?),
            };
            Some((
                AdmissionEventKind::TravelBooked,
                Some(AdmissionDetail::TravelBooked(travel.clone())),
                checks,
            ))
        })
        .await
    }

    async fn report_arrival(
        &self,
        request: Request<pb::ReportArrivalRequest>,
    ) -> Result<Response<pb::ReportArrivalResponse>, Status> {
        self.admission_step(request, "ReportArrival", |message, violations, now| {
            past_time(violations, "arrived_at", message.arrived_at.as_ref(), now)?;
            short_text(
                violations,
                "entry_point",
                &message.entry_point,
                convert_admission::REFERENCE_LENGTH_MAX_CHARS,
            );
            let detail = AdmissionDetail::Arrived(pb::AdmissionArrival {
                arrived_at: message.arrived_at,
                entry_point: message.entry_point.clone(),
            });
            Some((
                AdmissionEventKind::Arrived,
                Some(detail),
                StepChecks::default(),
            ))
        })
        .await
    }

    async fn confirm_departure(
        &self,
        request: Request<pb::ConfirmDepartureRequest>,
    ) -> Result<Response<pb::ConfirmDepartureResponse>, Status> {
        self.admission_step(request, "ConfirmDeparture", |message, violations, now| {
            past_time(violations, "departed_at", message.departed_at.as_ref(), now)?;
            short_text(
                violations,
                "departure_point",
                &message.departure_point,
                convert_admission::REFERENCE_LENGTH_MAX_CHARS,
            );
            let detail = AdmissionDetail::DepartureConfirmed(pb::DepartureConfirmation {
                departed_at: message.departed_at,
                departure_point: message.departure_point.clone(),
            });
            Some((
                AdmissionEventKind::DepartureConfirmed,
                Some(detail),
                StepChecks::default(),
            ))
        })
        .await
    }

    async fn report_grant_lapsed(
        &self,
        request: Request<pb::ReportGrantLapsedRequest>,
    ) -> Result<Response<pb::ReportGrantLapsedResponse>, Status> {
        self.admission_step(request, "ReportGrantLapsed", |_, _, _| {
            Some((AdmissionEventKind::GrantLapsed, None, StepChecks::default()))
        })
        .await
    }

    async fn get_admission(
        &self,
        request: Request<pb::GetAdmissionRequest>,
    ) -> Result<Response<pb::GetAdmissionResponse>, Status> {
        let operation = full_name("GetAdmission");
        let caller = local_caller(&self.app, &request, &operation)
            .await?
            .spiffe_id();
        let mut violations = Violations::new();
        let case_ref = convert_admission::reference_of_kind(
            &mut violations,
            "case_ref",
            &request.get_ref().case_ref,
            CaseKind::Admission,
        );
        violations.finish().map_err(status)?;
        let Some(case_ref) = case_ref else {
            return Err(incomplete());
        };
        let result =
            self.app
                .get_admission(&case_ref)
                .await
                .map(|admission| pb::GetAdmissionResponse {
                    admission: Some(admission),
                });
        respond(&self.app, &caller, &operation, result).await
    }

    async fn list_admissions(
        &self,
        request: Request<pb::ListAdmissionsRequest>,
    ) -> Result<Response<pb::ListAdmissionsResponse>, Status> {
        let operation = full_name("ListAdmissions");
        let caller = local_caller(&self.app, &request, &operation)
            .await?
            .spiffe_id();
        let message = request.into_inner();
        let mut violations = Violations::new();
        let counterpart = counterpart(&mut violations, &message.counterpart_state);
        let admitting = role(&mut violations, message.role);
        let mut statuses = Vec::new();
        for (index, value) in message.statuses.iter().enumerate() {
            match convert_admission::admission_status_from_wire(*value) {
                Some(status) => statuses.push(status),
                None => violations.add(
                    format!("statuses[{index}]"),
                    format!("{value} is not a known status"),
                ),
            }
        }
        let offer_ref = if message.offer_ref.is_empty() {
            None
        } else {
            convert_admission::reference_of_kind(
                &mut violations,
                "offer_ref",
                &message.offer_ref,
                CaseKind::Offer,
            )
        };
        let updated_since = message
            .updated_since
            .as_ref()
            .and_then(|time| violations.check("updated_since", convert::from_wire_time(time)));
        let after = page_token(&mut violations, &message.page_token, CaseKind::Admission);
        violations.finish().map_err(status)?;
        let filter = AdmissionListFilter {
            counterpart,
            admitting,
            statuses,
            offer_ref,
            updated_since,
        };
        let result = self
            .app
            .list_admissions(&filter, after.as_deref(), list_page_size(message.page_size))
            .await
            .map(|(admissions, next)| pb::ListAdmissionsResponse {
                admissions,
                next_page_token: next.unwrap_or_default(),
            });
        respond(&self.app, &caller, &operation, result).await
    }

    async fn deliver_offer_event(
        &self,
        request: Request<pb::DeliverOfferEventRequest>,
    ) -> Result<Response<pb::DeliverOfferEventResponse>, Status> {
        let operation = full_name("DeliverOfferEvent");
        let partner = partner_caller(&self.app, &request, &operation).await?;
        let Some(event) = request.into_inner().event else {
            return Err(status(Error::invalid("event", "is required")));
        };
        let caller = format!("spiffe://accord/state/{partner}");
        let result = self.app.deliver_offer_event(partner, event).await;
        respond(&self.app, &caller, &operation, result).await
    }

    async fn deliver_admission_event(
        &self,
        request: Request<pb::DeliverAdmissionEventRequest>,
    ) -> Result<Response<pb::DeliverAdmissionEventResponse>, Status> {
        let operation = full_name("DeliverAdmissionEvent");
        let partner = partner_caller(&self.app, &request, &operation).await?;
        let Some(event) = request.into_inner().event else {
            return Err(status(Error::invalid("event", "is required")));
        };
        let caller = format!("spiffe://accord/state/{partner}");
        let result = self.app.deliver_admission_event(partner, event).await;
        respond(&self.app, &caller, &operation, result).await
    }

    async fn list_offer_events(
        &self,
        request: Request<pb::ListOfferEventsRequest>,
    ) -> Result<Response<pb::ListOfferEventsResponse>, Status> {
        let operation = full_name("ListOfferEvents");
        let (caller, offer_ref, page) = self.history_page(request, &operation).await?;
        let result = self
            .app
            .offer_events(&offer_ref, page)
            .await
            .map(From::from);
        respond(&self.app, &caller, &operation, result).await
    }

    async fn list_admission_events(
        &self,
        request: Request<pb::ListAdmissionEventsRequest>,
    ) -> Result<Response<pb::ListAdmissionEventsResponse>, Status> {
        let operation = full_name("ListAdmissionEvents");
        let (caller, case_ref, page) = self.history_page(request, &operation).await?;
        let result = self
            .app
            .admission_events(&case_ref, page)
            .await
            .map(From::from);
        respond(&self.app, &caller, &operation, result).await
    }
}
