//! Admission bodies: offers of places, nominations under them, and each step of an
//! admission case.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Event, Person, TimeRange};

/// A new offer of places for people in `origin_state`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PublishOffer {
    /// The origin state, ISO 3166-1 alpha-2.
    #[schema(example = "FR")]
    pub origin_state: String,
    /// The regime of the pair's agreement.
    #[schema(schema_with = crate::convert::schema::regime)]
    pub regime: String,
    /// How many people; 1 to 100,000.
    pub capacity: u32,
    /// When nominations are accepted; the end after the start and after now.
    pub window: TimeRange,
    /// The version of the priority rules, up to 64 characters.
    #[serde(default)]
    pub priority_rules_version: String,
}

/// Changed terms of an offer; at least one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AmendOffer {
    /// The new capacity; at least the places used.
    #[serde(default)]
    pub capacity: Option<u32>,
    /// The new end of the window (RFC 3339).
    #[serde(default)]
    pub window_end_time: Option<String>,
}

/// Why an offer pauses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PauseOffer {
    /// `PARITY_NOT_REACHED`, `CAPACITY` or `JOINT_COMMITTEE`.
    #[schema(schema_with = crate::convert::schema::offer_pause_reason)]
    pub reason: String,
}

/// A candidate nominated under an offer: a new admission case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Nominate {
    /// The offer, `OFR-A-O-ID`.
    pub offer_ref: String,
    /// The candidate.
    pub person: Person,
    /// The reference of the candidate's expression of interest, up to 128 characters.
    #[serde(default)]
    pub expression_of_interest_reference: String,
    /// The readmission whose debt this admission discharges, if linked.
    #[serde(default)]
    pub matched_readmission_ref: String,
    /// The settlement round this admission performs, if any.
    #[serde(default)]
    pub round_id: String,
}

/// The admitting state's decision on a candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "decision", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AdmissionDecision {
    /// Grant admission and a visa.
    Grant {
        /// The visa's last day (RFC 3339); in the future, within the regime's limit.
        visa_valid_until: String,
    },
    /// Refuse admission.
    Refuse {
        /// Reason codes (e.g. `SECURITY_CHECK_FAILED`); at least one.
        #[schema(schema_with = crate::convert::schema::refusal_reasons)]
        reasons: Vec<String>,
        /// Free text, up to 4,000 characters.
        #[serde(default)]
        detailed_reasons: String,
    },
}

/// Why a nomination is withdrawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WithdrawNomination {
    /// `CANDIDATE_WITHDREW`, `CANDIDATE_UNREACHABLE`, `ENTERED_IN_ERROR` or `OTHER`.
    #[schema(schema_with = crate::convert::schema::withdrawal_reason)]
    pub reason: String,
    /// Free text, up to 2,000 characters.
    #[serde(default)]
    pub note: String,
}

/// The journey from the origin state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Travel {
    /// When the person leaves (RFC 3339); before the visa's last day.
    pub departure_time: String,
    /// `AIR`, `SEA`, `RAIL` or `ROAD`; absent when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = crate::convert::schema::transport_mode_or_null)]
    pub transport_mode: Option<String>,
    /// Where the person leaves, up to 128 characters.
    #[serde(default)]
    pub departure_point: String,
    /// Where the person enters, up to 128 characters.
    #[serde(default)]
    pub entry_point: String,
}

/// The person's arrival in the admitting state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReportArrival {
    /// When (RFC 3339); not in the future.
    pub arrived_at: String,
    /// Where, up to 128 characters.
    #[serde(default)]
    pub entry_point: String,
}

/// The origin state's confirmation that the person left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConfirmDeparture {
    /// When (RFC 3339); not in the future.
    pub departed_at: String,
    /// Where, up to 128 characters.
    #[serde(default)]
    pub departure_point: String,
}

/// One offer as this state's node holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Offer {
    /// `OFR-A-O-ID`.
    pub offer_ref: String,
    /// A, the admitting state.
    pub admitting_state: String,
    /// O, the origin state.
    pub origin_state: String,
    /// The regime.
    #[schema(schema_with = crate::convert::schema::regime)]
    pub regime: String,
    /// Places offered.
    pub capacity: u32,
    /// Places held.
    pub used: u32,
    /// Cases that reached arrival.
    pub admitted: u32,
    /// When nominations are accepted.
    pub window: Option<TimeRange>,
    /// `OPEN`, `PAUSED` or `CLOSED`.
    #[schema(schema_with = crate::convert::schema::offer_status)]
    pub status: String,
    /// Why it is paused, when paused.
    #[schema(schema_with = crate::convert::schema::offer_pause_reason_or_null)]
    pub pause_reason: Option<String>,
    /// The priority rules' version.
    pub priority_rules_version: String,
    /// When it was published.
    pub published_at: Option<String>,
    /// The sequence of the latest event.
    pub last_sequence: u64,
    /// When the latest event occurred.
    pub updated_at: Option<String>,
    /// Events the partner node has not yet acknowledged.
    pub pending_event_count: u32,
    /// The event history; empty in lists.
    pub events: Vec<Event>,
}

/// The offer after a step, and the event the step recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OfferStep {
    /// The offer, with the new event.
    pub offer: Offer,
    /// The event this call recorded.
    pub event: Event,
}

/// A page of offers, newest publication first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OfferPage {
    /// The offers, without events.
    pub offers: Vec<Offer>,
    /// The token of the next page; absent on the last page.
    pub next_page_token: Option<String>,
}

/// One admission case as this state's node holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AdmissionCase {
    /// `ADM-A-O-ID`.
    pub case_ref: String,
    /// The offer whose place it holds.
    pub offer_ref: String,
    /// A, the admitting state.
    pub admitting_state: String,
    /// O, the origin state.
    pub origin_state: String,
    /// The regime.
    #[schema(schema_with = crate::convert::schema::regime)]
    pub regime: String,
    /// The current status (`NOMINATED`, `GRANTED`, `ARRIVED`, …).
    #[schema(schema_with = crate::convert::schema::admission_status)]
    pub status: String,
    /// The regime asks O to confirm the departure.
    pub departure_confirmation_required: bool,
    /// The candidate; absent in lists.
    pub person: Option<Person>,
    /// The expression of interest's reference.
    pub expression_of_interest_reference: String,
    /// The readmission this admission discharges, if linked.
    pub matched_readmission_ref: String,
    /// The settlement round it performs, if any.
    pub round_id: String,
    /// When the candidate was nominated.
    pub nominated_at: Option<String>,
    /// When A granted or refused.
    pub decided_at: Option<String>,
    /// The visa's last day, when granted.
    pub visa_valid_until: Option<String>,
    /// The reason codes of a refusal.
    #[schema(schema_with = crate::convert::schema::refusal_reasons)]
    pub refusal_reasons: Vec<String>,
    /// The booked journey.
    pub travel: Option<Travel>,
    /// When the person arrived in A.
    pub arrived_at: Option<String>,
    /// When the person left O, as O confirmed.
    pub departed_at: Option<String>,
    /// The sequence of the latest event.
    pub last_sequence: u64,
    /// When the latest event occurred.
    pub updated_at: Option<String>,
    /// Events the partner node has not yet acknowledged.
    pub pending_event_count: u32,
    /// The event history; empty in lists.
    pub events: Vec<Event>,
}

/// The case after a step, and the event the step recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AdmissionStep {
    /// The case, with the new event.
    pub admission: AdmissionCase,
    /// The event this call recorded.
    pub event: Event,
}

/// A page of admission cases, newest nomination first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AdmissionPage {
    /// The cases, without person or events.
    pub admissions: Vec<AdmissionCase>,
    /// The token of the next page; absent on the last page.
    pub next_page_token: Option<String>,
}

/// One instruction of a final settlement round naming this state: people the admitting
/// state is to admit from the origin state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Allocation {
    /// The round whose report gave it.
    pub round_id: String,
    /// The report's version within the round.
    pub report_version: u32,
    /// The admitting state.
    pub admitting_state: String,
    /// The origin state.
    pub origin_state: String,
    /// How many people.
    pub count: u32,
    /// A redirected admission (the pair has no bilateral need).
    pub redirected: bool,
    /// The deadline to perform it.
    pub perform_by: Option<String>,
    /// The period the round settled.
    pub period: Option<TimeRange>,
    /// When this node recorded it.
    pub recorded_at: Option<String>,
}

/// A page of allocations, newest round first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AllocationPage {
    /// The allocations.
    pub allocations: Vec<Allocation>,
    /// The token of the next page; absent on the last page.
    pub next_page_token: Option<String>,
}
