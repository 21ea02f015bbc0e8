//! The bodies of the coordinator's gateway about settlement: rounds and their signed
//! reports, balances, and quotas. Field names are `settlement.proto`'s; each field means
//! what its proto field documents. The full report for download (`report.json`,
//! `report.csv`) is the coordinator's own rendering, passed through, not one of these.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::TimeRange;

/// One settlement round, with a summary of its latest signed report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Round {
    /// The round's id, `RND-2025-W37-1`.
    pub round_id: String,
    /// `OPEN`, `CLOSED`, `PROPOSED`, `FINAL` or `DISPUTED`.
    pub status: String,
    /// The period settled.
    pub period: Option<TimeRange>,
    /// `GROSS`, `BILATERAL` or `MULTILATERAL`.
    pub mode: String,
    /// The participating states.
    pub participating_states: Vec<String>,
    /// When the round opened (RFC 3339).
    pub opened_at: Option<String>,
    /// The cut-off; absent while OPEN.
    pub cut_off_at: Option<String>,
    /// When the round became FINAL; absent before.
    pub finalised_at: Option<String>,
    /// Affected states that have not countersigned the latest proposal.
    pub awaiting_countersignature: Vec<String>,
    /// How many disputes the round has had.
    pub disputes: usize,
    /// The latest proposal; absent before PROPOSED.
    pub report: Option<Report>,
}

/// A page of rounds, newest period first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoundPage {
    /// The rounds.
    pub rounds: Vec<Round>,
    /// The next page's token; absent on the last page.
    pub next_page_token: Option<String>,
}

/// Filters and a page of rounds.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RoundQuery {
    /// At most this many rounds; 0 or absent means 50, more than 500 means 500.
    pub page_size: Option<u32>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
    /// Only rounds in these statuses, comma-separated: `PROPOSED,FINAL`.
    pub statuses: Option<String>,
    /// Only rounds this state participates in.
    pub state: Option<String>,
}

/// A signed settlement report: its figures, and who signed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Report {
    /// The report's version within the round, from 1.
    pub version: u32,
    /// SHA-256 of the report's canonical bytes, hex: what states countersign.
    pub report_digest: String,
    /// When the coordinator computed and signed it.
    pub computed_at: Option<String>,
    /// The log's size at the cut-off.
    pub tree_size: u64,
    /// Admissions instructed.
    pub settled: u32,
    /// Of those, redirected admissions.
    pub redirected: u32,
    /// Admissions needed in the round's mode.
    pub required: u32,
    /// Admissions needed without netting.
    pub required_gross: u32,
    /// The netting efficiency's exact numerator: people netting spared.
    pub netting_efficiency_numerator: u32,
    /// Its denominator, never 0.
    pub netting_efficiency_denominator: u32,
    /// Per state: what it returned, received, admitted, released, owes, and its position.
    pub state_figures: Vec<StateFigures>,
    /// The admission instructions.
    pub instructions: Vec<Instruction>,
    /// Debts carried in from earlier rounds, per (admitting, origin).
    pub carried_in: Vec<PairCount>,
    /// Debts carried forward to the next round, per (admitting, origin).
    pub carry_forward: Vec<PairCount>,
    /// Breaks open at the cut-off, by kind and age.
    pub open_breaks: Vec<BreakCount>,
    /// The states that must countersign.
    pub affected_states: Vec<String>,
    /// The coordinator's signature.
    pub signature: Option<CoordinatorSignature>,
    /// The affected states' countersignatures so far.
    pub countersignatures: Vec<Countersignature>,
}

/// One state's figures in a round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StateFigures {
    /// The state.
    pub state: String,
    /// People it returned to other states.
    pub returned: u32,
    /// People other states returned to it.
    pub received: u32,
    /// People it admitted from other states.
    pub admitted: u32,
    /// People other states admitted from it.
    pub released: u32,
    /// The sum of its debts.
    pub debts: u32,
    /// The sum of its credits.
    pub credits: u32,
    /// Its multilateral position: its debts minus the debts owed to it.
    pub position: i64,
    /// Debts it carried in from earlier rounds.
    pub carried_in: u32,
}

/// An admission instruction: `admitting_state` admits `count` people from `origin_state`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Instruction {
    /// The admitting state.
    pub admitting_state: String,
    /// The origin state.
    pub origin_state: String,
    /// How many people.
    pub count: u32,
    /// True when the pair has no bilateral need.
    pub redirected: bool,
    /// The deadline to perform it.
    pub perform_by: Option<String>,
}

/// A count of people on an ordered pair of states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PairCount {
    /// The first state (the admitting state, or the returning one for returns).
    pub first_state: String,
    /// The second state (the origin state, or the one returned to).
    pub second_state: String,
    /// How many people.
    pub count: u32,
}

/// How many breaks of one kind and age.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BreakCount {
    /// `ONE_SIDED`, `MISMATCH`, `DUPLICATE`, `CONFLICT` or `NOT_PERFORMED`.
    pub kind: String,
    /// `DAYS_0_TO_3`, `DAYS_4_TO_14`, `DAYS_15_TO_30`, `DAYS_31_TO_90` or `DAYS_OVER_90`.
    pub age_bucket: String,
    /// How many.
    pub count: u32,
}

/// The coordinator's signature of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CoordinatorSignature {
    /// The coordinator key's id, as the signed directory lists it.
    pub signing_key_id: String,
    /// The Ed25519 signature, hex.
    pub signature: String,
}

/// A state's countersignature of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Countersignature {
    /// The signing state.
    pub state: String,
    /// Its key's id in the directory.
    pub signing_key_id: String,
    /// When the state signed, by its own clock (not covered by the signature).
    pub signed_at: Option<String>,
    /// The Ed25519 signature, hex.
    pub signature: String,
}

/// Balances of ordered pairs and every state's position, at a tree head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Balances {
    /// The log's size the balances were read at.
    pub tree_size: u64,
    /// One entry per ordered pair with any matched movement.
    pub pairs: Vec<PairBalance>,
    /// Every state's multilateral position; they sum to 0.
    pub positions: Vec<StatePosition>,
    /// Every credit.
    pub credits: Vec<Credit>,
}

/// Which balances.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BalancesQuery {
    /// Only pairs that include this state.
    pub state: Option<String>,
    /// The size of a published tree head to read at; absent for the latest.
    pub tree_size: Option<u64>,
}

/// The balance of one ordered pair (A, O).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PairBalance {
    /// A.
    pub first_state: String,
    /// O.
    pub second_state: String,
    /// Matched returns from A to O.
    pub returns: u32,
    /// Matched admissions by A of people from O.
    pub admissions: u32,
    /// A's debt to O.
    pub debt: u32,
    /// A's credit with O.
    pub credit: u32,
}

/// One state's multilateral position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatePosition {
    /// The state.
    pub state: String,
    /// Positive: a net debtor; negative: a net creditor.
    pub position: i64,
}

/// A credit of `holder_state` with `counterpart_state`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Credit {
    /// The state holding the credit.
    pub holder_state: String,
    /// The state the credit is with.
    pub counterpart_state: String,
    /// How many people.
    pub count: u32,
}

/// Capacities (a page, newest period first) and every parity limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Quotas {
    /// The capacities.
    pub capacities: Vec<Capacity>,
    /// Every matching parity limit, on the first page only.
    pub parity_limits: Vec<ParityLimit>,
    /// The next page's token; absent on the last page.
    pub next_page_token: Option<String>,
}

/// Filters and a page of quotas.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuotaQuery {
    /// At most this many capacities; 0 or absent means 50, more than 500 means 500.
    pub page_size: Option<u32>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
    /// Only quotas of this state.
    pub state: Option<String>,
}

/// A state's admission capacity for one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Capacity {
    /// The admitting state.
    pub state: String,
    /// The period.
    pub period: Option<TimeRange>,
    /// How many people it can admit in the period.
    pub capacity: u32,
    /// When an operator last set it.
    pub updated_at: Option<String>,
}

/// A capacity to set, replacing any capacity of the state for exactly that period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SetCapacity {
    /// The admitting state.
    #[schema(example = "FR")]
    pub state: String,
    /// The period.
    pub period: TimeRange,
    /// How many people the state can admit in the period.
    pub capacity: u32,
}

/// The parity limit of a pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ParityLimit {
    /// The alphabetically smaller state.
    pub first_state: String,
    /// The alphabetically larger state.
    pub second_state: String,
    /// The largest debt either state may owe the other.
    pub limit: u32,
    /// When an operator last set it.
    pub updated_at: Option<String>,
}
