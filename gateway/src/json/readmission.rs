//! Readmission bodies: the request S opens, each step's body, and the case as the node
//! holds it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Event, Person};

/// One piece of evidence the requesting state relies on; the document stays with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Evidence {
    /// `FINGERPRINT_HIT`, `IDENTITY_DOCUMENT`, `TRANSPORT_RECORD`, `OFFICIAL_REPORT`,
    /// `STATEMENT` or `OTHER`.
    #[schema(schema_with = crate::convert::schema::evidence_kind)]
    pub kind: String,
    /// The state's reference for the document, 1 to 128 characters.
    pub reference: String,
    /// SHA-256 of the document, 64 hex digits; absent when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_digest: Option<String>,
    /// Free text, up to 2,000 characters.
    #[serde(default)]
    pub note: String,
}

/// A transfer slot: when and where the person is handed over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TransferSlot {
    /// The start of the handover window (RFC 3339).
    pub start_time: String,
    /// Its end; absent for a single instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// The handover point, up to 128 characters.
    pub handover_point: String,
    /// `AIR`, `SEA`, `RAIL` or `ROAD`; absent when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = crate::convert::schema::transport_mode_or_null)]
    pub transport_mode: Option<String>,
}

/// A new readmission request: this state asks `requested_state` to take one person back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OpenReadmission {
    /// The requested state, ISO 3166-1 alpha-2.
    #[schema(example = "FR")]
    pub requested_state: String,
    /// The regime of the pair's agreement: `UKFR_2025`, `DUBLIN_III`, `AMMR_2026`,
    /// `EU_1FOR1`.
    #[schema(schema_with = crate::convert::schema::regime)]
    pub regime: String,
    /// When the person arrived in this state (RFC 3339); not in the future.
    pub arrival_time: String,
    /// Claims the regime's exceptional reply period.
    #[serde(default)]
    pub exceptional: bool,
    /// The person is detained.
    #[serde(default)]
    pub detained: bool,
    /// The person concerned.
    pub person: Person,
    /// The evidence relied on; at most 50 items.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// Free text for the requested state's caseworker, up to 4,000 characters.
    #[serde(default)]
    pub notes: String,
}

/// The requested state's decision, or its decision on a re-examination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "decision", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Decision {
    /// Accept the request.
    Accept {
        /// Free text, up to 2,000 characters.
        #[serde(default)]
        note: String,
    },
    /// Refuse it, with reason codes and full reasons.
    Reject {
        /// Reason codes (e.g. `INSUFFICIENT_EVIDENCE`); at least one, no duplicates.
        #[schema(schema_with = crate::convert::schema::readmission_reasons)]
        reasons: Vec<String>,
        /// The full and detailed reasons, 1 to 4,000 characters.
        detailed_reasons: String,
    },
}

/// The requested state's questions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RequestInformation {
    /// What is needed, 1 to 4,000 characters.
    pub questions: String,
}

/// The requesting state's answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProvideInformation {
    /// The answers, up to 4,000 characters.
    #[serde(default)]
    pub answers: String,
    /// Further evidence.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// The person's data, corrected; absent when unchanged.
    #[serde(default)]
    pub corrected_person: Option<Person>,
}

/// A request to re-examine a refusal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RequestReExamination {
    /// The grounds, 1 to 4,000 characters.
    pub grounds: String,
    /// Further evidence.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
}

/// The national transfer decision issued to the person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IssueTransferDecision {
    /// The decision's reference, 1 to 128 characters.
    pub decision_reference: String,
    /// When the person was notified (RFC 3339).
    pub notified_at: String,
}

/// A legal hold that bars the transfer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlaceLegalHold {
    /// `COURT_ORDER`, `SUSPENSIVE_APPEAL`, `CLAIM_LODGED` or `MEDICAL`.
    #[schema(schema_with = crate::convert::schema::legal_hold_kind)]
    pub kind: String,
    /// The order's, appeal's or claim's reference, up to 128 characters.
    #[serde(default)]
    pub reference: String,
    /// Free text, up to 2,000 characters.
    #[serde(default)]
    pub note: String,
}

/// The end of a legal hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReleaseLegalHold {
    /// The hold's `hold_sequence`.
    pub hold_sequence: u64,
    /// Free text, up to 2,000 characters.
    #[serde(default)]
    pub note: String,
}

/// A booked transfer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScheduleTransfer {
    /// When and where.
    pub slot: TransferSlot,
    /// Escorts accompany the person.
    #[serde(default)]
    pub escorted: bool,
    /// The travel document's reference, up to 128 characters.
    #[serde(default)]
    pub laissez_passer_reference: String,
}

/// A booked transfer moved to a new slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PostponeTransfer {
    /// Why (a `TransferPostponementReason` code).
    #[schema(schema_with = crate::convert::schema::postponement_reason)]
    pub reason: String,
    /// Free text, up to 2,000 characters.
    #[serde(default)]
    pub note: String,
    /// The new slot.
    pub slot: TransferSlot,
}

/// The handover, done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReportTransfer {
    /// When (RFC 3339); not in the future.
    pub handed_over_at: String,
    /// Where, up to 128 characters.
    pub handover_point: String,
}

/// A coded reason with a note: a failed transfer or a withdrawal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReasonNote {
    /// Why (a `TransferFailureReason` or `ReadmissionWithdrawalReason` code).
    pub reason: String,
    /// Free text, up to 2,000 characters.
    #[serde(default)]
    pub note: String,
}

/// The person's arrival in the requested state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConfirmArrival {
    /// When (RFC 3339); not in the future.
    pub arrived_at: String,
}

/// A free-text note: a no-show report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Note {
    /// Free text, up to 2,000 characters.
    #[serde(default)]
    pub note: String,
}

/// A clock running on a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Deadline {
    /// Which clock (`REPLY`, `TRANSFER`, `PROCEDURE`, …).
    pub kind: String,
    /// When it runs out; absent while a legal hold pauses it.
    pub due_at: Option<String>,
    /// The state that must act before it.
    pub responsible_state: String,
    /// Paused by a legal hold.
    pub paused: bool,
}

/// A legal hold in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LegalHold {
    /// Names the hold when releasing it.
    pub hold_sequence: u64,
    /// What kind of hold.
    #[schema(schema_with = crate::convert::schema::legal_hold_kind)]
    pub kind: String,
    /// The order's, appeal's or claim's reference.
    pub reference: String,
    /// When it was placed.
    pub placed_at: Option<String>,
}

/// One readmission case as this state's node holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReadmissionCase {
    /// `RDM-S-R-ID`.
    #[schema(example = "RDM-GB-FR-00001M8DSQ45PX4HB9CY176Z7X")]
    pub case_ref: String,
    /// S, the requesting state.
    pub requesting_state: String,
    /// R, the requested state.
    pub requested_state: String,
    /// The regime.
    #[schema(schema_with = crate::convert::schema::regime)]
    pub regime: String,
    /// The current status (`SUBMITTED`, `RECEIVED`, `ACCEPTED`, …).
    #[schema(schema_with = crate::convert::schema::readmission_status)]
    pub status: String,
    /// Exceptional reply period claimed.
    pub exceptional: bool,
    /// The person is detained.
    pub detained: bool,
    /// When the person arrived in S.
    pub arrival_time: Option<String>,
    /// When S submitted the request.
    pub submitted_at: Option<String>,
    /// R's receipt time; absent until known.
    pub received_at: Option<String>,
    /// When R's reply is due; absent before receipt and after the reply.
    pub reply_due_at: Option<String>,
    /// Every clock running or paused.
    pub deadlines: Vec<Deadline>,
    /// The person; absent in lists.
    pub person: Option<Person>,
    /// The evidence S relies on.
    pub evidence: Vec<Evidence>,
    /// The reason codes of R's latest refusal.
    #[schema(schema_with = crate::convert::schema::readmission_reasons)]
    pub rejection_reasons: Vec<String>,
    /// The legal hold in force, if any.
    pub legal_holds: Vec<LegalHold>,
    /// The booked transfer slot.
    pub transfer_slot: Option<TransferSlot>,
    /// When S must transfer by.
    pub transfer_due_at: Option<String>,
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
pub struct ReadmissionStep {
    /// The case, with the new event.
    pub readmission: ReadmissionCase,
    /// The event this call recorded.
    pub event: Event,
}

/// A page of cases, newest submission first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReadmissionPage {
    /// The cases, without person or events.
    pub readmissions: Vec<ReadmissionCase>,
    /// The token of the next page; absent on the last page.
    pub next_page_token: Option<String>,
}
