//! The JSON bodies of the REST API: what a ministry's case system sends and receives.
//!
//! Plain structs with serde and utoipa derives, named and shaped for the REST client, never
//! prost types: `crate::convert` is the one place that turns them into the node's wire
//! messages and back. Field names are the proto's, so a field violation the node reports
//! (`person.nationality`) names the JSON field too. Coded values (regimes, statuses, reason
//! codes) are the proto enum's name without its prefix: `UKFR_2025`, `ACCEPTED`,
//! `INSUFFICIENT_EVIDENCE`. Times are RFC 3339 strings in UTC; digests are lower-case hex.
//! This module holds no logic.

pub mod admission;
pub mod ledger;
pub mod readmission;
pub mod settlement;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The person concerned: a pseudonym both states of the pair can match, and the facts their
/// rules need. Names, documents and biometrics stay in the case system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Person {
    /// The pair's keyed pseudonym: exactly 64 lower-case hexadecimal digits.
    pub keyed_pseudonym: String,
    /// ISO 3166-1 alpha-2, upper case, or `XX` when stateless or unknown.
    #[schema(example = "SY")]
    pub nationality: String,
    /// The year of birth; absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_year: Option<u32>,
    /// Vulnerable in a way the receiving state must plan for.
    #[serde(default)]
    pub vulnerable: bool,
    /// Has family ties a regime's criteria may weigh.
    #[serde(default)]
    pub family_ties: bool,
}

/// A half-open range of time, `[start_time, end_time)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TimeRange {
    /// The first instant inside the range (RFC 3339).
    #[schema(example = "2026-03-02T09:00:00Z")]
    pub start_time: String,
    /// The first instant after the range (RFC 3339).
    #[schema(example = "2026-06-01T00:00:00Z")]
    pub end_time: String,
}

/// One signed event of a case or offer, as both nodes hold it. Its payload shows in the
/// case's fields; the full signed form is on the node's gRPC history RPCs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// The event's number in its case, from 1.
    pub sequence: u64,
    /// What happened, e.g. `SUBMITTED`.
    #[schema(example = "SUBMITTED")]
    pub kind: String,
    /// The state whose node recorded and signed it.
    pub acting_state: String,
    /// When it took effect (RFC 3339).
    pub occurred_at: Option<String>,
    /// The id of the signing key.
    pub signing_key_id: String,
    /// The Ed25519 signature, hex.
    pub signature: String,
}

/// The paging and filters every list accepts.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// At most this many items; absent means 50, more than 500 means 500.
    pub page_size: Option<u32>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
    /// Only items with this partner state.
    pub counterpart_state: Option<String>,
    /// Only items where this state has this role (`REQUESTING`, `REQUESTED` for
    /// readmissions; `ADMITTING`, `ORIGIN` for offers and admissions).
    pub role: Option<String>,
    /// Only items in one of these statuses, comma-separated (`ACCEPTED,REJECTED`; the node
    /// may accept only one).
    pub statuses: Option<String>,
    /// Only items with an event at or after this time (RFC 3339); not for offers.
    pub updated_since: Option<String>,
    /// Only admission cases under this offer.
    pub offer_ref: Option<String>,
}

/// The paging and filters of the allocations list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AllocationQuery {
    /// At most this many items; absent means 50, more than 500 means 500.
    pub page_size: Option<u32>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
    /// Only allocations where this state is `ADMITTING` or `ORIGIN`.
    pub role: Option<String>,
    /// Only this round's allocations (`RND-2025-W37-1`).
    pub round_id: Option<String>,
}
