//! Conversions between the wire types (`accord-proto`) and the domain types
//! (`accord-domain`): events and records per case kind (`readmission`, `admission`), and
//! every request parsed into its use-case command and every answer into its response (`*_rpc`), with the field rules they
//! share (`fields`). Every conversion from the wire validates and names the offending
//! field — all of them at once; every conversion to the wire is total.

pub mod admission;
pub mod admission_rpc;
pub mod allocation_rpc;
pub mod answers;
pub mod command;
pub mod envelope;
pub mod fields;
pub mod offer_rpc;
pub mod readmission;
pub mod readmission_rpc;

use accord_domain::admission::{AdmissionCase, Offer};
use accord_domain::readmission::ReadmissionCase;
use accord_domain::{CaseKind, CaseRef, FreeText, IdempotencyKey, Lifecycle, StateCode, Timestamp};
use accord_proto::v1 as pb;

use crate::violation::{Invalid, Violations};

pub use accord_edge::wire::{
    WireCode, coded_from_wire, coded_to_wire, from_wire_time, regime_from_wire, regime_to_wire,
    required, required_state, required_time, to_wire_time,
};

/// What a request's parser knows besides the request itself.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The RPC's method name, for the idempotency record.
    pub operation: &'static str,
    /// SHA-256 of the request's encoding (`app::request_digest`): tells a replay from a
    /// reuse of its key.
    pub request_digest: Vec<u8>,
    /// This node's state.
    pub own_state: StateCode,
    /// This node's time.
    pub now: Timestamp,
}

impl RequestContext {
    /// The key that makes this request idempotent.
    pub fn key(&self, idempotency_key: IdempotencyKey) -> command::RequestKey {
        command::RequestKey {
            idempotency_key,
            operation: self.operation,
            request_digest: self.request_digest.clone(),
        }
    }
}

/// The answer to a request whose fields were all read but one of them yielded nothing;
/// unreachable while every reader records a violation when it yields nothing.
pub fn incomplete() -> Invalid {
    Invalid::field("request", "is incomplete")
}

/// How requests name a record of a kind: the field that holds its reference, and the kind
/// of reference it must be.
pub trait Referenced: envelope::Wire {
    /// The request field naming the record (`case_ref`, `offer_ref`).
    const REFERENCE_FIELD: &'static str;
    /// The kind of reference it holds.
    const CASE_KIND: CaseKind;
}

impl Referenced for ReadmissionCase {
    const REFERENCE_FIELD: &'static str = "case_ref";
    const CASE_KIND: CaseKind = CaseKind::Readmission;
}

impl Referenced for Offer {
    const REFERENCE_FIELD: &'static str = "offer_ref";
    const CASE_KIND: CaseKind = CaseKind::Offer;
}

impl Referenced for AdmissionCase {
    const REFERENCE_FIELD: &'static str = "case_ref";
    const CASE_KIND: CaseKind = CaseKind::Admission;
}

/// A request on one existing record: its reference as sent.
pub trait RecordRequest {
    /// The record's reference.
    fn record_ref(&self) -> &str;
}

/// A caseworker's step on an existing record: its reference and idempotency key as sent.
pub trait StepRequest: RecordRequest {
    /// The caller's idempotency key.
    fn idempotency_key(&self) -> &str;
}

/// A history read (`List…Events`): its reference and page as sent.
pub trait HistoryRequest: RecordRequest {
    /// Only events after this sequence.
    fn after_sequence(&self) -> u64;
    /// At most this many events.
    fn page_size(&self) -> u32;
    /// The previous page's token.
    fn page_token(&self) -> &str;
}

/// Implements [`RecordRequest`] for requests whose reference is in `$reference`, and
/// [`StepRequest`] or [`HistoryRequest`] for those that are steps or history reads.
macro_rules! record_requests {
    ($reference:ident; get: $($get:ty),+; steps: $($step:ty),+; history: $history:ty $(;)?) => {
        $(record_requests!(@record $reference, $get);)+
        $(
            record_requests!(@record $reference, $step);
            impl StepRequest for $step {
                fn idempotency_key(&self) -> &str {
                    &self.idempotency_key
                }
            }
        )+
        record_requests!(@record $reference, $history);
        impl HistoryRequest for $history {
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
    };
    (@record $reference:ident, $request:ty) => {
        impl RecordRequest for $request {
            fn record_ref(&self) -> &str {
                &self.$reference
            }
        }
    };
}

record_requests! {
    case_ref;
    get: pb::GetReadmissionRequest;
    steps: pb::StartExaminationRequest, pb::DecideReadmissionRequest,
        pb::RequestInformationRequest, pb::ProvideInformationRequest,
        pb::RequestReExaminationRequest, pb::DecideReExaminationRequest,
        pb::CloseReadmissionRequest, pb::IssueTransferDecisionRequest, pb::PlaceLegalHoldRequest,
        pb::ReleaseLegalHoldRequest, pb::ScheduleTransferRequest, pb::PostponeTransferRequest,
        pb::ReportTransferRequest, pb::ReportTransferFailedRequest, pb::ConfirmArrivalRequest,
        pb::ReportNoShowRequest, pb::WithdrawReadmissionRequest;
    history: pb::ListReadmissionEventsRequest;
}

record_requests! {
    offer_ref;
    get: pb::GetOfferRequest;
    steps: pb::AmendOfferRequest, pb::PauseOfferRequest, pb::ResumeOfferRequest,
        pb::CloseOfferRequest;
    history: pb::ListOfferEventsRequest;
}

record_requests! {
    case_ref;
    get: pb::GetAdmissionRequest;
    steps: pb::StartVettingRequest, pb::DecideAdmissionRequest, pb::WithdrawNominationRequest,
        pb::BookTravelRequest, pb::ReportArrivalRequest, pb::ConfirmDepartureRequest,
        pb::ReportGrantLapsedRequest;
    history: pb::ListAdmissionEventsRequest;
}

/// What a step's parser reads besides key and record: the domain step, the wire detail its
/// event will carry, and the checks against the stored record.
pub type StepParts<L> = (
    <L as Lifecycle>::Kind,
    Option<<L as envelope::Wire>::Detail>,
    <L as envelope::Wire>::Checks,
);

/// Reads a step request on a record of kind `L`: the idempotency key and the reference every
/// step request carries, and what `build` reads from the rest; every violation at once.
pub fn step<L: Referenced>(
    context: &RequestContext,
    request: &impl StepRequest,
    build: impl FnOnce(&mut Violations) -> Option<StepParts<L>>,
) -> Result<command::Step<L>, Invalid> {
    let mut violations = Violations::new();
    let key = fields::idempotency_key(&mut violations, request.idempotency_key());
    let case_ref = reference::<L>(&mut violations, request);
    let built = build(&mut violations);
    violations.finish()?;
    let (Some(idempotency_key), Some(case_ref), Some((kind, detail, checks))) =
        (key, case_ref, built)
    else {
        return Err(incomplete());
    };
    Ok(command::Step {
        key: context.key(idempotency_key),
        case_ref,
        kind,
        detail,
        checks,
    })
}

/// Reads the reference of the record of kind `L` a request names.
fn reference<L: Referenced>(
    violations: &mut Violations,
    request: &impl RecordRequest,
) -> Option<CaseRef> {
    fields::reference_of_kind(
        violations,
        L::REFERENCE_FIELD,
        request.record_ref(),
        L::CASE_KIND,
    )
}

/// Reads the lone reference of a record of kind `L` (the `Get…` requests).
pub fn lone_reference<L: Referenced>(request: &impl RecordRequest) -> Result<CaseRef, Invalid> {
    let mut violations = Violations::new();
    let reference = reference::<L>(&mut violations, request);
    violations.finish()?;
    reference.ok_or_else(incomplete)
}

/// Reads a history read's reference of a record of kind `L` and its page.
pub fn history_page<L: Referenced>(
    request: &impl HistoryRequest,
) -> Result<(CaseRef, command::EventPageRequest), Invalid> {
    let mut violations = Violations::new();
    let reference = reference::<L>(&mut violations, request);
    let after_sequence = fields::after_sequence(
        &mut violations,
        request.after_sequence(),
        request.page_token(),
    );
    violations.finish()?;
    let reference = reference.ok_or_else(incomplete)?;
    Ok((
        reference,
        command::EventPageRequest {
            after_sequence,
            page_size: request.page_size(),
        },
    ))
}

/// Reads a list request of records of `kind`: the counterpart filter, then what `filter`
/// reads from the rest, then the page; every violation at once.
pub fn list_query<F>(
    kind: CaseKind,
    counterpart_state: &str,
    (page_token, page_size): (&str, u32),
    filter: impl FnOnce(&mut Violations, Option<StateCode>) -> F,
) -> Result<command::ListQuery<F>, Invalid> {
    let mut violations = Violations::new();
    let counterpart =
        fields::optional_state(&mut violations, "counterpart_state", counterpart_state);
    let filter = filter(&mut violations, counterpart);
    let after = fields::list_page_token(&mut violations, page_token, kind);
    violations.finish()?;
    Ok(command::ListQuery {
        filter,
        after,
        page_size: fields::list_page_size(page_size),
    })
}

/// Validates and converts personal data.
pub fn person_from_wire(
    violations: &mut Violations,
    field: &str,
    person: Option<&pb::PersonalData>,
    now: Timestamp,
) -> Option<accord_domain::person::PersonalData> {
    use accord_domain::person::{BirthYear, Nationality, PersonalData, Pseudonym};
    let person = required(violations, field, person)?;
    // Each part is checked on its own, so the caller learns every bad field at once.
    let current_year = now.date().year();
    let pseudonym = violations.check(
        &format!("{field}.keyed_pseudonym"),
        Pseudonym::parse(&person.keyed_pseudonym),
    );
    let nationality = violations.check(
        &format!("{field}.nationality"),
        Nationality::parse(&person.nationality),
    );
    let birth_year = violations.check(
        &format!("{field}.birth_year"),
        BirthYear::new(i64::from(person.birth_year), current_year),
    );
    pseudonym.and(nationality).and(birth_year)?;
    violations.check(
        field,
        PersonalData::parse(
            &person.keyed_pseudonym,
            &person.nationality,
            i64::from(person.birth_year),
            current_year,
            person.vulnerable,
            person.family_ties,
        ),
    )
}

/// A coded reason with an optional note as the domain's free text: the note when given,
/// else the code's name. Both nodes derive the same text from the same event.
pub fn coded_text(code_name: &str, note: &str) -> Result<FreeText, String> {
    let text = if note.trim().is_empty() {
        code_name
    } else {
        note
    };
    FreeText::parse(text).map_err(|error| error.to_string())
}

/// The domain text of a recorded coded reason and its note ([`coded_text`]), a bad one named
/// `field`; a code this version does not know reads as `UNSPECIFIED`.
pub fn recorded_reason<E: TryFrom<i32>>(
    violations: &mut Violations,
    field: &str,
    reason: i32,
    name: fn(&E) -> &'static str,
    note: &str,
) -> Option<FreeText> {
    let name = E::try_from(reason).map_or("UNSPECIFIED", |reason| name(&reason));
    violations.check(field, coded_text(name, note))
}

/// Implements `From<Answer<$kind>>` for each step response of a kind: the kind's outcome
/// ([`answers::Answered::outcome`]), the record after the step and the event it recorded.
macro_rules! step_responses {
    ($kind:ty, $outcome:ident { $record:ident }: $($response:ty),+ $(,)?) => {$(
        impl From<$crate::convert::command::Answer<$kind>> for $response {
            fn from(answer: $crate::convert::command::Answer<$kind>) -> Self {
                let $outcome { $record, event } =
                    <$kind as $crate::convert::answers::Answered>::outcome(&answer);
                Self { $record, event }
            }
        }
    )+};
}

pub(crate) use step_responses;

macro_rules! receipt_responses {
    ($($response:ty),+ $(,)?) => {$(
        impl From<command::Receipt> for $response {
            fn from(receipt: command::Receipt) -> Self {
                Self {
                    receipt_time: Some(to_wire_time(receipt.receipt_time)),
                    already_delivered: receipt.already_delivered,
                }
            }
        }
    )+};
}

receipt_responses! {
    pb::DeliverReadmissionEventResponse,
    pb::DeliverOfferEventResponse,
    pb::DeliverAdmissionEventResponse,
}

/// Implements `From` for the responses every kind shares the shape of: a history page
/// (`List…Events`), one record with its history (`Get…`), and a page of records without
/// (`List…`). `$to_wire` is the kind's record conversion, `$records` the list's field.
macro_rules! record_responses {
    ($($kind:ty: $to_wire:path, $events:ty, $get:ty { $one:ident }, $list:ty { $records:ident });+ $(;)?) => {$(
        impl From<command::EventPage<envelope::Signed<$kind>>> for $events {
            fn from(page: command::EventPage<envelope::Signed<$kind>>) -> Self {
                Self {
                    events: page
                        .events
                        .into_iter()
                        .map(envelope::Signed::into_wire)
                        .collect(),
                    next_page_token: page.next_page_token,
                }
            }
        }

        impl From<command::Answer<$kind>> for $get {
            fn from(answer: command::Answer<$kind>) -> Self {
                Self {
                    $one: Some($to_wire(&answer, true)),
                }
            }
        }

        impl From<command::RecordPage<$kind>> for $list {
            fn from(page: command::RecordPage<$kind>) -> Self {
                Self {
                    $records: page
                        .records
                        .iter()
                        .map(|answer| $to_wire(answer, false))
                        .collect(),
                    next_page_token: page.next_page_token.unwrap_or_default(),
                }
            }
        }
    )+};
}

record_responses! {
    ReadmissionCase: readmission::answer_to_wire, pb::ListReadmissionEventsResponse,
        pb::GetReadmissionResponse { readmission }, pb::ListReadmissionsResponse { readmissions };
    Offer: admission::offer_answer_to_wire, pb::ListOfferEventsResponse,
        pb::GetOfferResponse { offer }, pb::ListOffersResponse { offers };
    AdmissionCase: admission::admission_answer_to_wire, pb::ListAdmissionEventsResponse,
        pb::GetAdmissionResponse { admission }, pb::ListAdmissionsResponse { admissions };
}
