//! The store's plain records: what the application layer reads and writes.
//!
//! These are deliberately not the sea-orm rows of `rows`: the application never sees a
//! sea-orm type, and the rows can change shape without touching the use cases.

pub use accord_domain::CaseKind;

/// The column value of a record kind.
pub fn kind_column(kind: CaseKind) -> &'static str {
    match kind {
        CaseKind::Readmission => "readmission",
        CaseKind::Admission => "admission",
        CaseKind::Offer => "offer",
    }
}

/// A record kind read back from its column; `None` for a value this version never writes.
pub fn kind_from_column(text: &str) -> Option<CaseKind> {
    match text {
        "readmission" => Some(CaseKind::Readmission),
        "admission" => Some(CaseKind::Admission),
        "offer" => Some(CaseKind::Offer),
        _ => None,
    }
}

/// A case's summary: what lists and deadline sweeps need without reading the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRecord {
    /// The case reference.
    pub case_ref: String,
    /// Readmission, admission or offer.
    pub case_kind: CaseKind,
    /// Requesting (readmission) or admitting (admission, offer) state.
    pub first_state: String,
    /// Requested (readmission) or origin (admission, offer) state.
    pub second_state: String,
    /// Lifecycle status as the domain names it.
    pub status: String,
    /// Number of events in the history.
    pub event_count: u64,
    /// First recorded here (ms since the Unix epoch).
    pub created_at: i64,
    /// Last changed here (ms).
    pub updated_at: i64,
    /// Next time a deadline may fire (ms), if any.
    pub next_deadline_at: Option<i64>,
}

/// One signed event of a case's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// The case.
    pub case_ref: String,
    /// Position in the history, from 1.
    pub sequence: u64,
    /// Event kind as the domain names it.
    pub kind: String,
    /// The state that acted and signed.
    pub acting_state: String,
    /// When it happened (ms).
    pub occurred_at: i64,
    /// The actor's idempotency key for the event.
    pub idempotency_key: String,
    /// The signed event as exchanged between nodes.
    pub envelope: Vec<u8>,
}

/// The first answer to a (caller, key), remembered so a replay gets the same answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// The caller's identity.
    pub caller: String,
    /// The caller's idempotency key.
    pub idempotency_key: String,
    /// The RPC it was used with.
    pub operation: String,
    /// SHA-256 of the request content.
    pub request_digest: Vec<u8>,
    /// The encoded response; without its case history when `history_through` is set.
    pub response: Vec<u8>,
    /// When first seen (ms).
    pub created_at: i64,
    /// Where the response's case history is: the case's events 1 to this sequence, left
    /// out of `response` (a history grows with the case; events are stored once, in the
    /// case's history). `None`: `response` is whole.
    pub history_through: Option<u64>,
}

/// A message to a partner node, committed with the change it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// The case it is about (delivery is in order per case).
    pub case_ref: String,
    /// The partner state.
    pub destination: String,
    /// Which delivery RPC carries it.
    pub channel: Channel,
    /// The event it delivers, stored in the same change: the message refers to it rather
    /// than holding a second copy, and the dispatcher reads it back when it sends.
    pub event: EventRef,
    /// When it was written (ms); also the first attempt's time.
    pub created_at: i64,
}

/// Where an event of this node's history is: its case (or offer) and its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRef {
    /// The event's case (an admission's own reference, even when its message is ordered on
    /// the offer).
    pub case_ref: String,
    /// The event's sequence in that case.
    pub sequence: u64,
}

/// The delivery RPC a message travels on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// `ReadmissionService.DeliverReadmissionEvent`.
    Readmission,
    /// `AdmissionService.DeliverAdmissionEvent`.
    Admission,
    /// `AdmissionService.DeliverOfferEvent`.
    Offer,
}

impl Channel {
    /// The channel the events of records of `kind` travel on: each kind has its delivery RPC.
    pub fn of(kind: CaseKind) -> Self {
        match kind {
            CaseKind::Readmission => Self::Readmission,
            CaseKind::Admission => Self::Admission,
            CaseKind::Offer => Self::Offer,
        }
    }

    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Readmission => "readmission",
            Self::Admission => "admission",
            Self::Offer => "offer",
        }
    }

    /// Reads the column value back.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "readmission" => Some(Self::Readmission),
            "admission" => Some(Self::Admission),
            "offer" => Some(Self::Offer),
            _ => None,
        }
    }
}

/// A message due for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDelivery {
    /// Outbox id (delivery order within the case).
    pub id: i64,
    /// The case.
    pub case_ref: String,
    /// The partner state.
    pub destination: String,
    /// Which delivery RPC.
    pub channel: Channel,
    /// What to send.
    pub content: DeliveryContent,
    /// Attempts so far.
    pub attempts: u32,
}

/// What a due message sends, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryContent {
    /// The signed event the message refers to, read from the history (messages written since
    /// migration `m20261127_000003_outbox_event_reference`).
    Event(Vec<u8>),
    /// A whole encoded delivery request (messages written before that migration).
    Request(Vec<u8>),
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The partner acknowledged the message.
    Delivered {
        /// Outbox id.
        id: i64,
        /// When (ms).
        at: i64,
    },
    /// A transient failure: try again later.
    Retry {
        /// Outbox id.
        id: i64,
        /// Attempts made, including this one.
        attempts: u32,
        /// Earliest next attempt (ms).
        next_attempt_at: i64,
        /// What went wrong.
        error: String,
    },
    /// The partner refused the message for good; it is kept, marked, for operators.
    Refused {
        /// Outbox id.
        id: i64,
        /// Attempts made.
        attempts: u32,
        /// The partner's reason.
        reason: String,
    },
}

/// The last signed directory this node verified, as it keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDirectory {
    /// The directory's version.
    pub version: u64,
    /// The signed directory's bytes, verbatim (verified again when read back).
    pub signed: Vec<u8>,
    /// When this node saved it (ms).
    pub saved_at: i64,
}

/// The node's secret: 32 random bytes made at its first start and kept in its store ever
/// after. It keys the pseudonyms that stand for callers' idempotency keys in the events the
/// node signs (`app::event_key`), so whoever holds an event's key but not the secret learns
/// nothing of the caller's. Never printed: its `Debug` shows no byte.
#[derive(Clone, PartialEq, Eq)]
pub struct NodeSecret([u8; NodeSecret::LEN]);

impl NodeSecret {
    /// Its length in bytes.
    pub const LEN: usize = 32;

    /// The secret of these bytes.
    pub fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        Self(bytes)
    }

    /// Its bytes, to key a MAC.
    pub fn expose(&self) -> &[u8; Self::LEN] {
        &self.0
    }
}

impl std::fmt::Debug for NodeSecret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("NodeSecret(..)")
    }
}

/// The last revocation list this node fetched and applied, as it keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRevocationList {
    /// The list's `cRLNumber`.
    pub number: u64,
    /// The list, PEM (parsed again when read back).
    pub pem: String,
    /// When this node saved it (ms).
    pub saved_at: i64,
}

/// A refused call, for the audit table (the record every Accord server audits with).
pub use accord_edge::audit::Record as AuditRecord;

/// How a change touches its case's summary row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseWrite {
    /// A new case: fails with `Error::Conflict` if the reference exists.
    Create(CaseRecord),
    /// An existing case, written only if nobody changed it since it was read.
    Update {
        /// The new summary.
        record: CaseRecord,
        /// The event count read before the change.
        expected_event_count: u64,
    },
    /// An existing case whose history from `from_sequence` on is replaced: its events from
    /// that sequence are deleted, and its undelivered outbox messages are marked superseded
    /// (they were this node's events that lost a sequence clash, see event.proto). Written
    /// only if nobody changed the case since it was read.
    Replace {
        /// The new summary.
        record: CaseRecord,
        /// The event count read before the change.
        expected_event_count: u64,
        /// The first sequence replaced.
        from_sequence: u64,
        /// The idempotency records whose answer's history reaches `from_sequence`, each with
        /// its answer made whole (`history_through` unset) from the history being replaced:
        /// their first answers could no longer be read back from the case.
        whole_answers: Vec<IdempotencyRecord>,
    },
}

impl CaseWrite {
    /// The summary an update or a replacement writes and the event count it expects the
    /// case to hold; `None` for a creation.
    pub fn expected(&self) -> Option<(&CaseRecord, u64)> {
        match self {
            Self::Create(_) => None,
            Self::Update {
                record,
                expected_event_count,
            }
            | Self::Replace {
                record,
                expected_event_count,
                ..
            } => Some((record, *expected_event_count)),
        }
    }
}

/// A summary written only if nobody changed its case since it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryUpdate {
    /// The new summary.
    pub record: CaseRecord,
    /// The event count read before the change.
    pub expected_event_count: u64,
}

/// Everything one command changes, committed atomically (the transactional outbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The caller's key and first answer, when the command came with a key.
    pub idempotency: Option<IdempotencyRecord>,
    /// The case summary.
    pub case: CaseWrite,
    /// The offer the change also moves — a nomination claims one of its places, an
    /// admission case that ends without an admission releases it — whose summary is then
    /// written in the same transaction: the whole change is written only if neither the
    /// case nor the offer moved since they were read. `None` for every other change.
    pub offer: Option<SummaryUpdate>,
    /// The new events, in order.
    pub events: Vec<EventRecord>,
    /// Messages for partner nodes.
    pub outbox: Vec<OutboxMessage>,
}

/// How a change was committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    /// The change is durable.
    Applied,
    /// The key was seen before with the same content: here is the first answer.
    Replayed(StoredAnswer),
}

/// A first answer as an idempotency record keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    /// The encoded response; without its case history when `history_through` is set.
    pub response: Vec<u8>,
    /// The response's case history is the case's events 1 to this sequence; `None`: the
    /// response is whole.
    pub history_through: Option<u64>,
}

impl IdempotencyRecord {
    /// The answer this record remembers.
    pub fn answer(&self) -> StoredAnswer {
        StoredAnswer {
            response: self.response.clone(),
            history_through: self.history_through,
        }
    }
}
