//! The bodies of the coordinator's gateway about the ledger's reconciliation breaks. Field
//! names are `ledger.proto`'s; each field means what its proto field documents.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A reconciliation break.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Break {
    /// The break's id.
    pub break_id: String,
    /// `ONE_SIDED`, `MISMATCH`, `DUPLICATE`, `CONFLICT` or `NOT_PERFORMED`.
    pub kind: String,
    /// `OPEN` or `RESOLVED`.
    pub status: String,
    /// `MATCHED`, `PERFORMED` or `WAIVED`; absent while open.
    pub resolution: Option<String>,
    /// The case concerned; absent for NOT_PERFORMED.
    pub case_ref: Option<String>,
    /// The pair's first state (the admitting state for NOT_PERFORMED).
    pub first_state: String,
    /// The pair's second state (the origin state for NOT_PERFORMED).
    pub second_state: String,
    /// The event's sequence in its case; 0 for NOT_PERFORMED.
    pub sequence: u64,
    /// The kind of event concerned (`ARRIVAL_CONFIRMED`); absent for NOT_PERFORMED.
    pub event_kind: Option<String>,
    /// The states that reported.
    pub reported_by: Vec<String>,
    /// The round whose instruction was not performed.
    pub round_id: Option<String>,
    /// For NOT_PERFORMED: admissions missing.
    pub shortfall: u32,
    /// When the coordinator detected it (RFC 3339).
    pub detected_at: Option<String>,
    /// Whole days since detection (until resolution).
    pub age_days: u32,
    /// `DAYS_0_TO_3`, `DAYS_4_TO_14`, `DAYS_15_TO_30`, `DAYS_31_TO_90` or `DAYS_OVER_90`.
    pub age_bucket: String,
    /// When it was resolved.
    pub resolved_at: Option<String>,
    /// The operator who waived it.
    pub resolved_by: Option<String>,
    /// The operator's reason.
    pub resolution_reason: Option<String>,
}

/// A page of breaks, oldest detection first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BreakPage {
    /// The breaks.
    pub breaks: Vec<Break>,
    /// The next page's token; absent on the last page.
    pub next_page_token: Option<String>,
}

/// Filters and a page of breaks.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BreakQuery {
    /// At most this many breaks; 0 or absent means 50, more than 500 means 500.
    pub page_size: Option<u32>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
    /// Only breaks of these kinds, comma-separated: `ONE_SIDED,MISMATCH`.
    pub kind: Option<String>,
    /// Only breaks of this age: `DAYS_0_TO_3` … `DAYS_OVER_90`.
    pub age: Option<String>,
    /// `OPEN` (the default) or `RESOLVED`.
    pub status: Option<String>,
    /// Only breaks on pairs that include this state.
    pub state: Option<String>,
    /// Only breaks of this case.
    pub case_ref: Option<String>,
    /// Only breaks of this settlement round.
    pub round_id: Option<String>,
}

/// An operator's waiver of a break the two states settled between them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Resolution {
    /// How the two states settled it: 1 to 500 characters, naming no person.
    pub reason: String,
}
