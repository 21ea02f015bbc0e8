//! The fast path commits exactly what the slow path commits.
//!
//! The same random batches go through the writer's own `commit_batch` twice, into two fresh
//! SQLite databases with the real migrations: once with the fast path (`store::batch`), once
//! without it (the writer then has no SQLite pool of its own, as on PostgreSQL, and sea-orm
//! judges every change). After every batch each job's answer and every row of every table
//! must be the same in both.
//!
//! The batches mix sound changes — creations and updates of case summaries, some also moving
//! an offer, with events, idempotency records and outbox messages, and delivery and audit
//! records — with changes that must be refused: a stale `expected_event_count` (a conflict),
//! a key used before (a replay or a reuse), an event sequence or event key already taken.
//! So both what the fast path commits and what it refuses (and hands to the slow path, after
//! rolling back) are compared. The test also checks that the fast path did commit a share of
//! the batches, and that every kind of answer came up, so it cannot pass by never taking
//! the fast path or by never refusing.
#![cfg(test)]

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use sea_orm::sqlx::{self, AssertSqlSafe, Row as _, SqlitePool};
use sea_orm::{Database, DatabaseConnection};
use tokio::sync::oneshot;

use super::{Connection, Job, Path, commit_batch};
use crate::store::Error;
use crate::store::model::{
    AuditRecord, CaseKind, CaseRecord, CaseWrite, Change, Channel, Committed, DeliveryOutcome,
    EventRecord, EventRef, IdempotencyRecord, OutboxMessage, SummaryUpdate,
};

/// Enough cases to cover the mix below in a few seconds on two cores.
const PROPERTY_CASES: u32 = 64;

/// Case references the changes pick from: few, so that they meet. The first two are offers.
const CASE_REFS: usize = 6;

/// Outbox ids deliveries pick from: some exist, some do not.
const OUTBOX_IDS: i64 = 8;

#[test]
fn the_fast_path_commits_exactly_what_the_slow_path_commits_and_refuses_what_it_refuses() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let tally = Tally::default();
    let config = Config {
        // A failure prints its shrunk batches; no regression file beside the sources.
        failure_persistence: None,
        ..Config::with_cases(PROPERTY_CASES)
    };
    let mut runner = TestRunner::new(config);
    let outcome = runner.run(&vec(vec(job(), 1..=6), 1..=6), |batches| {
        runtime.block_on(same_outcomes(&batches, &tally))
    });
    if let Err(error) = outcome {
        panic!("{error}");
    }
    // Without these the property could hold vacuously: a fast path that refused every
    // batch, or batches that never exercised a refusal.
    let batches = tally.batches.get();
    assert!(
        tally.fast.get() * 5 >= batches,
        "the fast path committed {} of {batches} batches",
        tally.fast.get()
    );
    for (seen, answer) in [
        (&tally.applied, "applied"),
        (&tally.replayed, "replayed"),
        (&tally.conflict, "conflict"),
        (&tally.key_reused, "key reused"),
    ] {
        assert!(seen.get() > 0, "no change was answered {answer}");
    }
}

/// What the run saw, over every case (shrinking included).
#[derive(Default)]
struct Tally {
    batches: Cell<u32>,
    fast: Cell<u32>,
    applied: Cell<u32>,
    replayed: Cell<u32>,
    conflict: Cell<u32>,
    key_reused: Cell<u32>,
}

impl Tally {
    fn count(&self, path: Path, answers: &[Answer]) {
        self.batches.set(self.batches.get() + 1);
        if path == Path::Fast {
            self.fast.set(self.fast.get() + 1);
        }
        for answer in answers {
            let seen = match answer {
                Answer::Change(Ok(Committed::Applied)) => &self.applied,
                Answer::Change(Ok(Committed::Replayed(_))) => &self.replayed,
                Answer::Change(Err(Failure::Conflict)) => &self.conflict,
                Answer::Change(Err(Failure::KeyReused(_))) => &self.key_reused,
                _ => continue,
            };
            seen.set(seen.get() + 1);
        }
    }
}

/// Writes `batches` through both paths, comparing answers and tables after each batch.
async fn same_outcomes(batches: &[Vec<JobSpec>], tally: &Tally) -> Result<(), TestCaseError> {
    let (_fast_folder, mut fast) = writer(true).await;
    let (_slow_folder, mut slow) = writer(false).await;
    let mut unique = 0;
    for (index, specs) in batches.iter().enumerate() {
        // The slow path's database is the reference the next batch is read against.
        let mut counts = event_counts(slow.db.get_sqlite_connection_pool()).await;
        let payloads: Vec<Payload> = specs
            .iter()
            .map(|spec| spec.materialize(&mut counts, &mut unique))
            .collect();
        let (fast_path, fast_answers) = commit(&mut fast, &payloads).await;
        let (slow_path, slow_answers) = commit(&mut slow, &payloads).await;
        prop_assert_eq!(slow_path, Path::Slow, "the slow writer has no fast path");
        tally.count(fast_path, &fast_answers);
        prop_assert_eq!(
            &fast_answers,
            &slow_answers,
            "answers to batch {} ({:?}), {:?}",
            index,
            fast_path,
            payloads
        );
        let fast_tables = tables(fast.db.get_sqlite_connection_pool()).await;
        let slow_tables = tables(slow.db.get_sqlite_connection_pool()).await;
        prop_assert_eq!(
            fast_tables,
            slow_tables,
            "tables after batch {} ({:?}), {:?}",
            index,
            fast_path,
            payloads
        );
    }
    Ok(())
}

/// A writer's connections on a fresh database, as `Store::connect` opens them; without the
/// fast path when `fast_path` is false.
async fn writer(fast_path: bool) -> (tempfile::TempDir, Connection) {
    let folder = tempfile::tempdir().expect("temporary folder");
    let url = format!(
        "sqlite://{}?mode=rwc",
        folder.path().join("node.db").display()
    );
    let db: DatabaseConnection = Database::connect(crate::store::writer_options(&url))
        .await
        .expect("database");
    crate::store::migration::migrate(&db)
        .await
        .expect("migrations");
    let connection = Connection::new(db);
    if fast_path {
        (folder, connection)
    } else {
        // What the fast path needs is the pool to take its connection from: none, none taken.
        let connection = Connection {
            sqlite: None,
            ..connection
        };
        (folder, connection)
    }
}

/// Commits one batch of `payloads` and collects every job's answer.
async fn commit(connection: &mut Connection, payloads: &[Payload]) -> (Path, Vec<Answer>) {
    let (jobs, replies): (Vec<Job>, Vec<Reply>) = payloads.iter().map(Payload::job).unzip();
    let (path, _wrote_outbox) = commit_batch(connection, jobs).await;
    let mut answers = Vec::new();
    for reply in replies {
        answers.push(match reply {
            Reply::Change(answer) => Answer::Change(answer.await.expect("answered").map_err(kind)),
            Reply::Other(answer) => Answer::Other(answer.await.expect("answered").map_err(kind)),
        });
    }
    (path, answers)
}

fn kind(error: Error) -> Failure {
    match error {
        Error::KeyReused { idempotency_key } => Failure::KeyReused(idempotency_key),
        Error::Conflict => Failure::Conflict,
        Error::Database(_) => Failure::Database,
        Error::Corrupt(_) | Error::NoRandomness => Failure::Corrupt,
        Error::WriterStopped => Failure::WriterStopped,
    }
}

/// Each case's event count as stored.
async fn event_counts(pool: &SqlitePool) -> HashMap<String, u64> {
    let rows: Vec<(String, i64)> = sqlx::query_as("SELECT case_ref, event_count FROM case_summary")
        .fetch_all(pool)
        .await
        .expect("event counts");
    rows.into_iter()
        .map(|(case_ref, count)| (case_ref, u64::try_from(count).unwrap_or(0)))
        .collect()
}

/// Columns left out of the comparison: when each migration ran is all that may differ.
const NOT_COMPARED: &[(&str, &str)] = &[("seaql_migrations", "applied_at")];

/// Every table as its columns and its rows, ordered by primary key then every column, each
/// value as SQLite quotes it (so an integer, a text and a blob of the same digits differ).
async fn tables(pool: &SqlitePool) -> BTreeMap<String, (Vec<String>, Vec<Vec<String>>)> {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(pool)
            .await
            .expect("tables");
    let mut tables = BTreeMap::new();
    for name in names {
        let mut columns: Vec<(String, i64)> =
            sqlx::query_as("SELECT name, pk FROM pragma_table_info(?) ORDER BY cid")
                .bind(&name)
                .fetch_all(pool)
                .await
                .expect("columns");
        columns.retain(|(column, _)| !NOT_COMPARED.contains(&(name.as_str(), column.as_str())));
        let mut order: Vec<&(String, i64)> = columns.iter().filter(|(_, pk)| *pk > 0).collect();
        order.sort_by_key(|(_, pk)| *pk);
        let order = order
            .into_iter()
            .chain(&columns)
            .map(|(column, _)| format!("\"{column}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let values = columns
            .iter()
            .map(|(column, _)| format!("quote(\"{column}\")"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("SELECT {values} FROM \"{name}\" ORDER BY {order}");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(pool)
            .await
            .expect("rows")
            .iter()
            .map(|row| {
                (0..columns.len())
                    .map(|index| row.get::<String, _>(index))
                    .collect()
            })
            .collect();
        let column_names = columns.into_iter().map(|(column, _)| column).collect();
        tables.insert(name, (column_names, rows));
    }
    tables
}

/// A job as written twice: the same content, each time with its own reply channel.
#[derive(Debug, Clone)]
enum Payload {
    Change(Change),
    Delivery(DeliveryOutcome),
    Audit(AuditRecord),
}

enum Reply {
    Change(oneshot::Receiver<Result<Committed, Error>>),
    Other(oneshot::Receiver<Result<(), Error>>),
}

#[derive(Debug, PartialEq)]
enum Answer {
    Change(Result<Committed, Failure>),
    Other(Result<(), Failure>),
}

/// An error as compared: its kind, not a database's wording.
#[derive(Debug, PartialEq)]
enum Failure {
    KeyReused(String),
    Conflict,
    Database,
    Corrupt,
    WriterStopped,
}

impl Payload {
    fn job(&self) -> (Job, Reply) {
        match self {
            Self::Change(change) => {
                let (sender, receiver) = oneshot::channel();
                let job = Job::Change(Box::new(change.clone()), sender);
                (job, Reply::Change(receiver))
            }
            Self::Delivery(outcome) => {
                let (sender, receiver) = oneshot::channel();
                (
                    Job::Delivery(outcome.clone(), sender),
                    Reply::Other(receiver),
                )
            }
            Self::Audit(record) => {
                let (sender, receiver) = oneshot::channel();
                (Job::Audit(record.clone(), sender), Reply::Other(receiver))
            }
        }
    }
}

/// A job to generate, made concrete against the event counts a batch starts from (so that
/// most updates read the case as it is, and a few read it wrong on purpose).
#[derive(Debug, Clone)]
enum JobSpec {
    Change(ChangeSpec),
    Delivery(DeliverySpec),
    Audit(AuditSpec),
}

#[derive(Debug, Clone)]
struct ChangeSpec {
    case: usize,
    write: WriteSpec,
    status: usize,
    next_deadline_at: Option<i64>,
    key: Option<KeySpec>,
    events: Vec<EventSpec>,
    messages: Vec<MessageSpec>,
    /// The offer the change also moves, as nominations do.
    offer: Option<(usize, Read)>,
}

/// How a change touches its case.
#[derive(Debug, Clone)]
enum WriteSpec {
    /// A creation if the case is not stored yet, else an update that read it right.
    Natural,
    /// A creation, even of a case already stored (a conflict).
    Create,
    /// An update read as `Read` says, even of a case not stored.
    Update(Read),
}

/// The event count a change says it read.
#[derive(Debug, Clone, Copy)]
enum Read {
    /// The stored one, or the one the batch's earlier changes leave.
    Fresh,
    /// Off by this much (a concurrent change won).
    Stale(i8),
    /// Not one a database holds: the largest count there is.
    Absurd,
}

impl Read {
    fn of(self, current: u64) -> u64 {
        match self {
            Self::Fresh => current,
            Self::Stale(offset) => current.saturating_add_signed(i64::from(offset)),
            Self::Absurd => u64::MAX,
        }
    }
}

#[derive(Debug, Clone)]
struct EventSpec {
    sequence: SequenceSpec,
    acting_state: usize,
    /// A key from a small shared set (they may meet), or one of its own.
    shared_key: Option<u8>,
    envelope: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
enum SequenceSpec {
    /// Right after the change's previous event (or after what it read).
    Next,
    /// The previous event's again.
    Repeat,
    /// The first of the case's history, taken once the case exists.
    First,
}

#[derive(Debug, Clone)]
struct KeySpec {
    caller: usize,
    /// A key from a small shared set (a replay or a reuse when it meets an earlier one), or
    /// one of its own.
    shared_key: Option<u8>,
    digest: u8,
    operation: usize,
    history_through: Option<u64>,
}

#[derive(Debug, Clone)]
struct MessageSpec {
    destination: usize,
    channel: usize,
    /// Which of the change's events it delivers.
    event: usize,
    created_at: i64,
}

#[derive(Debug, Clone)]
struct DeliverySpec {
    id: i64,
    outcome: usize,
    attempts: u32,
    at: i64,
}

#[derive(Debug, Clone)]
struct AuditSpec {
    peer: usize,
    at: i64,
}

const STATES: [&str; 2] = ["GB", "FR"];
const STATUSES: [&str; 3] = ["SUBMITTED", "RECEIVED", "ACCEPTED"];
const CALLERS: [&str; 2] = [
    "spiffe://accord/state/GB/gateway",
    "spiffe://accord/state/FR",
];
const OPERATIONS: [&str; 2] = ["OpenReadmission", "StepReadmission"];
const CHANNELS: [Channel; 3] = [Channel::Readmission, Channel::Admission, Channel::Offer];

fn case_ref(index: usize) -> String {
    match index {
        0 | 1 => format!("OFR-GB-FR-{index}"),
        _ => format!("RDM-GB-FR-{index}"),
    }
}

fn case_kind(index: usize) -> CaseKind {
    match index {
        0 | 1 => CaseKind::Offer,
        index if index % 2 == 0 => CaseKind::Readmission,
        _ => CaseKind::Admission,
    }
}

fn job() -> impl Strategy<Value = JobSpec> {
    prop_oneof![
        12 => change().prop_map(JobSpec::Change),
        2 => delivery().prop_map(JobSpec::Delivery),
        1 => (0..2usize, 0..5_000i64).prop_map(|(peer, at)| JobSpec::Audit(AuditSpec { peer, at })),
    ]
}

fn read() -> impl Strategy<Value = Read> {
    prop_oneof![
        4 => Just(Read::Fresh),
        4 => (-2..=2i8).prop_map(Read::Stale),
        1 => Just(Read::Absurd),
    ]
}

fn change() -> impl Strategy<Value = ChangeSpec> {
    let write = prop_oneof![
        20 => Just(WriteSpec::Natural),
        1 => Just(WriteSpec::Create),
        2 => read().prop_map(WriteSpec::Update),
    ];
    let key = (
        0..2usize,
        prop::option::weighted(0.25, 0..2u8),
        prop_oneof![2 => Just(0u8), 1 => Just(1u8)],
        prop_oneof![9 => Just(0usize), 1 => Just(1usize)],
    )
        .prop_flat_map(|(caller, shared_key, digest, operation)| {
            prop::option::of(0..4u64).prop_map(move |history_through| KeySpec {
                caller,
                shared_key,
                digest,
                operation,
                history_through,
            })
        });
    // Most updates append events; one without goes to the slow path alone.
    let events =
        prop_oneof![1 => Just(0usize), 15 => 1..=3usize].prop_flat_map(|count| vec(event(), count));
    let message = (0..2usize, 0..3usize, 0..3usize, 0..5_000i64).prop_map(
        |(destination, channel, event, created_at)| MessageSpec {
            destination,
            channel,
            event,
            created_at,
        },
    );
    (
        0..CASE_REFS,
        write,
        0..STATUSES.len(),
        prop::option::of(0..10_000i64),
        prop::option::weighted(0.8, key),
        events,
        vec(message, 0..=2),
        prop::option::weighted(0.05, (0..2usize, read())),
    )
        .prop_map(
            |(case, write, status, next_deadline_at, key, events, messages, offer)| ChangeSpec {
                case,
                write,
                status,
                next_deadline_at,
                key,
                events,
                messages,
                offer,
            },
        )
}

fn event() -> impl Strategy<Value = EventSpec> {
    let sequence = prop_oneof![
        40 => Just(SequenceSpec::Next),
        1 => Just(SequenceSpec::Repeat),
        1 => Just(SequenceSpec::First),
    ];
    (
        sequence,
        0..STATES.len(),
        prop::option::weighted(0.05, 0..3u8),
        vec(any::<u8>(), 0..4),
    )
        .prop_map(|(sequence, acting_state, shared_key, envelope)| EventSpec {
            sequence,
            acting_state,
            shared_key,
            envelope,
        })
}

fn delivery() -> impl Strategy<Value = DeliverySpec> {
    // Now and then an attempt count past what the column's `i32` holds.
    let attempts = prop_oneof![8 => 0..10u32, 1 => any::<u32>()];
    (1..=OUTBOX_IDS, 0..3usize, attempts, 0..5_000i64).prop_map(|(id, outcome, attempts, at)| {
        DeliverySpec {
            id,
            outcome,
            attempts,
            at,
        }
    })
}

impl JobSpec {
    /// The job, against `counts` (the event count of each case the batch's earlier changes
    /// leave, were they all applied); `unique` numbers the keys of their own.
    fn materialize(&self, counts: &mut HashMap<String, u64>, unique: &mut u64) -> Payload {
        match self {
            Self::Change(spec) => Payload::Change(spec.materialize(counts, unique)),
            Self::Delivery(spec) => Payload::Delivery(spec.materialize()),
            Self::Audit(spec) => Payload::Audit(AuditRecord {
                at: spec.at,
                peer: CALLERS[spec.peer].to_owned(),
                operation: "/accord.v1.ReadmissionService/StepReadmission".to_owned(),
                outcome: "PERMISSION_DENIED".to_owned(),
                detail: format!("audit at {}", spec.at),
            }),
        }
    }
}

impl ChangeSpec {
    fn materialize(&self, counts: &mut HashMap<String, u64>, unique: &mut u64) -> Change {
        let case_ref = case_ref(self.case);
        let stored = counts.get(&case_ref).copied();
        let (create, read, fresh) = match (&self.write, stored) {
            (WriteSpec::Natural, None) => (true, 0, true),
            (WriteSpec::Create, stored) => (true, 0, stored.is_none()),
            (WriteSpec::Natural, Some(count)) => (false, count, true),
            (WriteSpec::Update(read), stored) => (
                false,
                read.of(stored.unwrap_or(0)),
                stored.is_some() && matches!(read, Read::Fresh),
            ),
        };
        let mut events = Vec::new();
        let mut sequence = read;
        for (index, spec) in self.events.iter().enumerate() {
            sequence = match spec.sequence {
                SequenceSpec::Next => sequence.saturating_add(1),
                SequenceSpec::Repeat if index > 0 => sequence,
                SequenceSpec::Repeat => sequence.saturating_add(1),
                SequenceSpec::First => 1,
            };
            let idempotency_key = match spec.shared_key {
                Some(key) => format!("event-{key}"),
                None => own_key(unique),
            };
            events.push(EventRecord {
                case_ref: case_ref.clone(),
                sequence,
                kind: STATUSES[self.status].to_owned(),
                acting_state: STATES[spec.acting_state].to_owned(),
                occurred_at: 1_000,
                idempotency_key,
                envelope: spec.envelope.clone(),
            });
        }
        let record = CaseRecord {
            case_ref: case_ref.clone(),
            case_kind: case_kind(self.case),
            first_state: "GB".to_owned(),
            second_state: "FR".to_owned(),
            status: STATUSES[self.status].to_owned(),
            event_count: read.saturating_add(events.len() as u64),
            created_at: 1_000,
            updated_at: 2_000 + events.len() as i64,
            next_deadline_at: self.next_deadline_at,
        };
        if fresh {
            counts.insert(case_ref.clone(), record.event_count);
        }
        let offer = self.offer.map(|(offer, offer_read)| {
            let offer_ref = self::case_ref(offer);
            let stored = counts.get(&offer_ref).copied();
            let expected_event_count = offer_read.of(stored.unwrap_or(0));
            let claim = expected_event_count.saturating_add(1);
            events.push(EventRecord {
                case_ref: offer_ref.clone(),
                sequence: claim,
                kind: "PLACE_CLAIMED".to_owned(),
                acting_state: "GB".to_owned(),
                occurred_at: 1_500,
                idempotency_key: own_key(unique),
                envelope: vec![9],
            });
            if stored.is_some() && matches!(offer_read, Read::Fresh) {
                counts.insert(offer_ref.clone(), claim);
            }
            SummaryUpdate {
                record: CaseRecord {
                    case_ref: offer_ref,
                    case_kind: CaseKind::Offer,
                    first_state: "GB".to_owned(),
                    second_state: "FR".to_owned(),
                    status: "OPEN".to_owned(),
                    event_count: claim,
                    created_at: 1_000,
                    updated_at: 2_500,
                    next_deadline_at: None,
                },
                expected_event_count,
            }
        });
        let outbox = self
            .messages
            .iter()
            .map(|message| OutboxMessage {
                case_ref: case_ref.clone(),
                destination: STATES[message.destination].to_owned(),
                channel: CHANNELS[message.channel],
                event: events.get(message.event).map_or_else(
                    || EventRef {
                        case_ref: case_ref.clone(),
                        sequence: read.saturating_add(1),
                    },
                    |event| EventRef {
                        case_ref: event.case_ref.clone(),
                        sequence: event.sequence,
                    },
                ),
                created_at: message.created_at,
            })
            .collect();
        let idempotency = self.key.as_ref().map(|key| IdempotencyRecord {
            caller: CALLERS[key.caller].to_owned(),
            idempotency_key: match key.shared_key {
                Some(shared) => format!("key-{shared}"),
                None => own_key(unique),
            },
            operation: OPERATIONS[key.operation].to_owned(),
            request_digest: vec![key.digest; 32],
            response: vec![key.digest],
            created_at: 1_000,
            history_through: key.history_through,
        });
        let case = if create {
            CaseWrite::Create(record)
        } else {
            CaseWrite::Update {
                record,
                expected_event_count: read,
            }
        };
        Change {
            idempotency,
            case,
            offer,
            events,
            outbox,
        }
    }
}

impl DeliverySpec {
    fn materialize(&self) -> DeliveryOutcome {
        match self.outcome {
            0 => DeliveryOutcome::Delivered {
                id: self.id,
                at: self.at,
            },
            1 => DeliveryOutcome::Retry {
                id: self.id,
                attempts: self.attempts,
                next_attempt_at: self.at,
                error: format!("unreachable at {}", self.at),
            },
            _ => DeliveryOutcome::Refused {
                id: self.id,
                attempts: self.attempts,
                reason: "refused for good".to_owned(),
            },
        }
    }
}

/// A key nothing else uses.
fn own_key(unique: &mut u64) -> String {
    *unique += 1;
    format!("own-{unique}")
}

/// A step on `case_ref` that read the case at `read` events, records the next event, and
/// carries `key` (the same digest and operation whenever the key is the same).
fn keyed_step(case_ref: &str, read: Option<u64>, key: &str) -> Change {
    let sequence = read.unwrap_or(0) + 1;
    let record = CaseRecord {
        case_ref: case_ref.to_owned(),
        case_kind: CaseKind::Readmission,
        first_state: "GB".to_owned(),
        second_state: "FR".to_owned(),
        status: "SUBMITTED".to_owned(),
        event_count: sequence,
        created_at: 1_000,
        updated_at: 1_000,
        next_deadline_at: None,
    };
    Change {
        idempotency: Some(IdempotencyRecord {
            caller: "spiffe://accord/state/GB/gateway".to_owned(),
            idempotency_key: key.to_owned(),
            operation: "StartExamination".to_owned(),
            request_digest: vec![7; 32],
            response: vec![sequence as u8],
            created_at: 1_000,
            history_through: None,
        }),
        case: match read {
            None => CaseWrite::Create(record),
            Some(expected_event_count) => CaseWrite::Update {
                record,
                expected_event_count,
            },
        },
        offer: None,
        events: vec![EventRecord {
            case_ref: case_ref.to_owned(),
            sequence,
            kind: "SUBMITTED".to_owned(),
            acting_state: "GB".to_owned(),
            occurred_at: 1_000,
            idempotency_key: format!("event-{key}-{sequence}"),
            envelope: vec![sequence as u8],
        }],
        outbox: Vec::new(),
    }
}

/// Two changes under one key in one batch: the first read a case that has moved since, the
/// second is the same request. The first is refused as stale and writes nothing; the second
/// must not be answered with the first's response, which no commit holds, but refused with
/// it, so that its caller reads again and decides afresh.
#[test]
fn a_change_that_follows_a_stale_one_under_its_key_is_refused_with_it() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        for fast_path in [false, true] {
            let (_folder, mut connection) = writer(fast_path).await;
            let case_ref = "RDM-GB-FR-00000000000000000000000001";
            let (_, opened) = commit(
                &mut connection,
                &[Payload::Change(keyed_step(case_ref, None, "open"))],
            )
            .await;
            assert!(matches!(
                opened[..],
                [Answer::Change(Ok(Committed::Applied))]
            ));
            let (_, answers) = commit(
                &mut connection,
                &[
                    Payload::Change(keyed_step(case_ref, Some(0), "step")),
                    Payload::Change(keyed_step(case_ref, Some(0), "step")),
                ],
            )
            .await;
            assert_eq!(
                answers,
                vec![
                    Answer::Change(Err(Failure::Conflict)),
                    Answer::Change(Err(Failure::Conflict)),
                ],
                "fast path: {fast_path}"
            );
            let (_, retried) = commit(
                &mut connection,
                &[Payload::Change(keyed_step(case_ref, Some(1), "step"))],
            )
            .await;
            assert!(
                matches!(retried[..], [Answer::Change(Ok(Committed::Applied))]),
                "the key is free for the retry: {retried:?}"
            );
        }
    });
}
