//! The store against real databases: atomic changes, idempotency, optimistic concurrency,
//! the outbox's per-case order, group commit under concurrency.

use accord_node::store::{
    CaseKind, CaseRecord, CaseWrite, Change, Channel, Committed, DeliveryContent, DeliveryOutcome,
    Error, EventRecord, EventRef, IdempotencyRecord, OutboxMessage, Store, StoredAnswer,
    SummaryUpdate,
};

use crate::databases::{TestDatabase, fresh_databases};

fn case(case_ref: &str, status: &str, event_count: u64) -> CaseRecord {
    CaseRecord {
        case_ref: case_ref.into(),
        case_kind: CaseKind::Readmission,
        first_state: "GB".into(),
        second_state: "FR".into(),
        status: status.into(),
        event_count,
        created_at: 1_000,
        updated_at: 1_000 + event_count as i64,
        next_deadline_at: Some(5_000),
    }
}

fn event(case_ref: &str, sequence: u64, key: &str) -> EventRecord {
    EventRecord {
        case_ref: case_ref.into(),
        sequence,
        kind: "SUBMITTED".into(),
        acting_state: "GB".into(),
        occurred_at: 1_000,
        idempotency_key: key.into(),
        envelope: vec![1, 2, 3, sequence as u8],
    }
}

/// A message delivering event `sequence` of `case_ref` (see [`event`]).
fn message(case_ref: &str, sequence: u64, at: i64) -> OutboxMessage {
    OutboxMessage {
        case_ref: case_ref.into(),
        destination: "FR".into(),
        channel: Channel::Readmission,
        event: EventRef {
            case_ref: case_ref.into(),
            sequence,
        },
        created_at: at,
    }
}

/// What a due message sends: the signed event it names, as [`event`] stored it.
fn sends(sequence: u64) -> DeliveryContent {
    DeliveryContent::Event(vec![1, 2, 3, sequence as u8])
}

fn key(key: &str, digest: u8, response: u8) -> IdempotencyRecord {
    IdempotencyRecord {
        caller: "spiffe://accord/state/GB/gateway".into(),
        idempotency_key: key.into(),
        operation: "OpenReadmission".into(),
        request_digest: vec![digest; 32],
        response: vec![response],
        created_at: 1_000,
        history_through: Some(1),
    }
}

/// The destinations of [`message`]'s messages.
fn fr() -> Vec<String> {
    vec!["FR".to_owned()]
}

fn opening(case_ref: &str, idempotency_key: &str, digest: u8) -> Change {
    Change {
        idempotency: Some(key(idempotency_key, digest, digest)),
        case: CaseWrite::Create(case(case_ref, "SUBMITTED", 1)),
        offer: None,
        events: vec![event(case_ref, 1, idempotency_key)],
        outbox: vec![message(case_ref, 1, 1_000)],
    }
}

/// A store on each fresh database, holding the case [`opening`] makes as `RDM-GB-FR-1` under
/// the key `k1`; each beside its database, which must outlive it.
async fn stores_holding_one_case() -> Vec<(Store, TestDatabase)> {
    let mut stores = Vec::new();
    for database in fresh_databases().await {
        let store = database.store().await;
        store.commit(opening("RDM-GB-FR-1", "k1", 7)).await.unwrap();
        stores.push((store, database));
    }
    stores
}

/// The event count `case_ref`'s summary records, and the number of events the store holds.
async fn counts(store: &Store, case_ref: &str) -> (u64, usize) {
    let (summary, events) = store.load_case(case_ref).await.unwrap().unwrap();
    (summary.event_count, events.len())
}

#[tokio::test]
async fn a_change_is_stored_whole_with_its_history_and_outbox_message() {
    for database in fresh_databases().await {
        let store = database.store().await;
        assert_eq!(
            store.commit(opening("RDM-GB-FR-1", "k1", 7)).await,
            Ok(Committed::Applied)
        );
        let (summary, events) = store.load_case("RDM-GB-FR-1").await.unwrap().unwrap();
        assert_eq!(
            summary,
            case("RDM-GB-FR-1", "SUBMITTED", 1),
            "{}",
            database.backend
        );
        assert_eq!(events, vec![event("RDM-GB-FR-1", 1, "k1")]);
        let due = store.due_deliveries(1_000, 10, &fr()).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].content, sends(1), "{}", database.backend);
        assert_eq!(store.pending_delivery_count().await.unwrap(), 1);
    }
}

#[tokio::test]
async fn a_key_seen_before_replays_its_first_answer_or_refuses_other_content_and_writes_nothing() {
    for (store, database) in stores_holding_one_case().await {
        let backend = database.backend;
        let replay = store.commit(opening("RDM-GB-FR-2", "k1", 7)).await;
        let first = StoredAnswer {
            response: vec![7],
            history_through: Some(1),
        };
        assert_eq!(replay, Ok(Committed::Replayed(first)), "{backend}");
        let reuse = store.commit(opening("RDM-GB-FR-2", "k1", 8)).await;
        let reused = Error::KeyReused {
            idempotency_key: "k1".into(),
        };
        assert_eq!(reuse, Err(reused), "{backend}");
        assert_eq!(store.load_case("RDM-GB-FR-2").await.unwrap(), None);
        assert_eq!(store.pending_delivery_count().await.unwrap(), 1);
    }
}

#[tokio::test]
async fn an_update_of_a_case_that_moved_since_it_was_read_is_a_conflict_and_writes_nothing() {
    for (store, database) in stores_holding_one_case().await {
        let update = |expected_event_count, key: &str| Change {
            idempotency: None,
            case: CaseWrite::Update {
                record: case("RDM-GB-FR-1", "RECEIVED", 2),
                expected_event_count,
            },
            offer: None,
            events: vec![event("RDM-GB-FR-1", 2, key)],
            outbox: vec![message("RDM-GB-FR-1", 2, 2_000)],
        };
        assert_eq!(store.commit(update(1, "k2")).await, Ok(Committed::Applied));
        assert_eq!(
            store.commit(update(1, "k3")).await,
            Err(Error::Conflict),
            "{}",
            database.backend
        );
        assert_eq!(counts(&store, "RDM-GB-FR-1").await, (2, 2));
        assert_eq!(store.pending_delivery_count().await.unwrap(), 2);
    }
}

/// A nomination writes its new case and its offer's summary together, or nothing.
#[tokio::test]
async fn a_change_that_also_moves_an_offer_writes_both_summaries_or_nothing() {
    let offer = |event_count| CaseRecord {
        case_kind: CaseKind::Offer,
        ..case("OFR-GB-FR-1", "OPEN", event_count)
    };
    let nomination = |case_ref: &str, key: &str, expected: u64, claim: u64| Change {
        idempotency: Some(self::key(key, 1, 1)),
        case: CaseWrite::Create(case(case_ref, "NOMINATED", 1)),
        offer: Some(SummaryUpdate {
            record: offer(claim),
            expected_event_count: expected,
        }),
        events: vec![
            event("OFR-GB-FR-1", claim, &format!("claim:{case_ref}")),
            event(case_ref, 1, key),
        ],
        outbox: vec![message("OFR-GB-FR-1", claim, 2_000)],
    };
    for database in fresh_databases().await {
        let store = database.store().await;
        let published = Change {
            idempotency: None,
            case: CaseWrite::Create(offer(1)),
            offer: None,
            events: vec![event("OFR-GB-FR-1", 1, "publish-1")],
            outbox: Vec::new(),
        };
        store.commit(published).await.unwrap();
        let backend = database.backend;
        let first = store.commit(nomination("ADM-GB-FR-1", "n1", 1, 2)).await;
        assert_eq!(first, Ok(Committed::Applied), "{backend}");
        assert_eq!(counts(&store, "OFR-GB-FR-1").await, (2, 2));
        assert!(store.load_case("ADM-GB-FR-1").await.unwrap().is_some());
        // Read when the offer held one event; it holds two now.
        let stale = store.commit(nomination("ADM-GB-FR-2", "n2", 1, 3)).await;
        assert_eq!(stale, Err(Error::Conflict), "{backend}");
        assert_eq!(counts(&store, "OFR-GB-FR-1").await, (2, 2));
        assert_eq!(store.load_case("ADM-GB-FR-2").await.unwrap(), None);
        let gateway = "spiffe://accord/state/GB/gateway";
        assert_eq!(store.find_idempotency(gateway, "n2").await.unwrap(), None);
        assert_eq!(store.pending_delivery_count().await.unwrap(), 1);
    }
}

#[tokio::test]
async fn a_second_event_of_a_case_under_the_same_actor_and_key_is_a_conflict() {
    for (store, database) in stores_holding_one_case().await {
        let repeat = Change {
            idempotency: None,
            case: CaseWrite::Update {
                record: case("RDM-GB-FR-1", "RECEIVED", 2),
                expected_event_count: 1,
            },
            offer: None,
            events: vec![event("RDM-GB-FR-1", 2, "k1")],
            outbox: vec![message("RDM-GB-FR-1", 2, 2_000)],
        };
        assert_eq!(
            store.commit(repeat).await,
            Err(Error::Conflict),
            "{}",
            database.backend
        );
        assert_eq!(counts(&store, "RDM-GB-FR-1").await, (1, 1));
        let found = store.find_event("RDM-GB-FR-1", "GB", "k1").await.unwrap();
        assert_eq!(found.map(|event| event.sequence), Some(1));
        assert_eq!(
            store.find_event("RDM-GB-FR-2", "GB", "k1").await.unwrap(),
            None
        );
    }
}

/// A round reads only the partners it may send to; those it reads are merged oldest first
/// and cut at the limit.
#[tokio::test]
async fn due_messages_are_read_for_the_destinations_asked_oldest_first_up_to_the_limit() {
    for database in fresh_databases().await {
        let store = database.store().await;
        for (number, destination) in ["FR", "DE", "FR", "DE", "FR"].iter().enumerate() {
            let case_ref = format!("RDM-GB-{destination}-{number}");
            let mut change = opening(&case_ref, &format!("k{number}"), 7);
            change.case = CaseWrite::Create(CaseRecord {
                second_state: (*destination).into(),
                ..case(&case_ref, "SUBMITTED", 1)
            });
            change.outbox[0].destination = (*destination).into();
            store.commit(change).await.unwrap();
        }
        let read = |destinations: &[&str], limit| {
            let destinations: Vec<String> = destinations.iter().map(|d| (*d).into()).collect();
            let store = &store;
            async move {
                store
                    .due_deliveries(1_000, limit, &destinations)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|message| message.case_ref)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            read(&["DE"], 10).await,
            ["RDM-GB-DE-1", "RDM-GB-DE-3"],
            "{}",
            database.backend
        );
        assert_eq!(
            read(&["FR", "DE"], 4).await,
            ["RDM-GB-FR-0", "RDM-GB-DE-1", "RDM-GB-FR-2", "RDM-GB-DE-3"]
        );
        assert!(read(&[], 10).await.is_empty(), "no partner to send to");
    }
}

#[tokio::test]
async fn messages_of_one_case_are_due_one_at_a_time_in_order() {
    for database in fresh_databases().await {
        let store = database.store().await;
        let mut change = opening("RDM-GB-FR-1", "k1", 7);
        change.case = CaseWrite::Create(case("RDM-GB-FR-1", "RECEIVED", 2));
        change.events.push(event("RDM-GB-FR-1", 2, "k1-2"));
        change.outbox = vec![
            message("RDM-GB-FR-1", 1, 1_000),
            message("RDM-GB-FR-1", 2, 1_000),
        ];
        store.commit(change).await.unwrap();
        store.commit(opening("RDM-GB-FR-2", "k2", 8)).await.unwrap();
        let due = store.due_deliveries(1_000, 10, &fr()).await.unwrap();
        let contents: Vec<(String, DeliveryContent)> = due
            .iter()
            .map(|message| (message.case_ref.clone(), message.content.clone()))
            .collect();
        assert_eq!(
            contents,
            vec![
                ("RDM-GB-FR-1".into(), sends(1)),
                ("RDM-GB-FR-2".into(), sends(1))
            ],
            "{}",
            database.backend
        );
        let first = due[0].id;
        let retry = DeliveryOutcome::Retry {
            id: first,
            attempts: 1,
            next_attempt_at: 9_000,
            error: "down".into(),
        };
        store.record_delivery(retry).await.unwrap();
        let due = store.due_deliveries(1_000, 10, &fr()).await.unwrap();
        assert_eq!(
            due.len(),
            1,
            "the case's second message waits behind its first"
        );
        assert_eq!(due[0].case_ref, "RDM-GB-FR-2");
        store
            .record_delivery(DeliveryOutcome::Delivered {
                id: first,
                at: 9_000,
            })
            .await
            .unwrap();
        let due = store.due_deliveries(9_000, 10, &fr()).await.unwrap();
        assert_eq!(
            due.iter()
                .filter(|message| message.case_ref == "RDM-GB-FR-1")
                .count(),
            1
        );
        assert_eq!(
            due.iter()
                .find(|message| message.case_ref == "RDM-GB-FR-1")
                .unwrap()
                .content,
            sends(2)
        );
    }
}

#[tokio::test]
async fn concurrent_changes_are_grouped_and_each_answered_by_its_own_outcome() {
    for database in fresh_databases().await {
        let store = database.store().await;
        let mut tasks = Vec::new();
        for index in 0..300u32 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                // Every tenth change reuses the key of the one before it with other content.
                let key = if index % 10 == 9 {
                    format!("k{}", index - 1)
                } else {
                    format!("k{index}")
                };
                store
                    .commit(opening(
                        &format!("RDM-GB-FR-{index}"),
                        &key,
                        (index % 10) as u8,
                    ))
                    .await
            }));
        }
        let mut applied = 0;
        let mut refused = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(Committed::Applied) => applied += 1,
                Err(Error::KeyReused { .. }) => refused += 1,
                other => panic!("unexpected outcome {other:?} on {}", database.backend),
            }
        }
        assert_eq!((applied, refused), (270, 30));
        assert_eq!(store.pending_delivery_count().await.unwrap(), 270);
    }
}

#[tokio::test]
async fn a_busy_batch_commits_every_sound_change_once_and_refuses_only_the_stale_one() {
    for database in fresh_databases().await {
        let store = database.store().await;
        for index in 0..40u32 {
            let case_ref = format!("RDM-GB-FR-{index}");
            store
                .commit(opening(&case_ref, &format!("open-{index}"), 1))
                .await
                .unwrap();
        }
        let step = |index: u32, expected_event_count: u64| {
            let case_ref = format!("RDM-GB-FR-{index}");
            Change {
                idempotency: Some(key(&format!("step-{index}-{expected_event_count}"), 2, 2)),
                case: CaseWrite::Update {
                    record: case(&case_ref, "RECEIVED", expected_event_count + 1),
                    expected_event_count,
                },
                offer: None,
                events: vec![event(
                    &case_ref,
                    expected_event_count + 1,
                    &format!("e-{index}"),
                )],
                outbox: vec![message(&case_ref, 2, 2_000)],
            }
        };
        let mut tasks = Vec::new();
        for index in 0..40u32 {
            let (step_store, change) = (store.clone(), step(index, 1));
            tasks.push(tokio::spawn(async move { step_store.commit(change).await }));
            let store = store.clone();
            let opening = opening(
                &format!("RDM-GB-FR-{}", 100 + index),
                &format!("open-{}", 100 + index),
                1,
            );
            tasks.push(tokio::spawn(async move { store.commit(opening).await }));
        }
        // A step read before the case's first event: the case moved since.
        let (stale_store, stale) = (store.clone(), step(7, 0));
        let stale = tokio::spawn(async move { stale_store.commit(stale).await });
        let audit = accord_node::store::AuditRecord {
            at: 5,
            peer: "spiffe://accord/state/BE".into(),
            operation: "/accord.v1.ReadmissionService/GetReadmission".into(),
            outcome: "PERMISSION_DENIED".into(),
            detail: "BE is not a party".into(),
        };
        let (audit_store, audit_record) = (store.clone(), audit.clone());
        let audited = tokio::spawn(async move { audit_store.record_audit(audit_record).await });
        for task in tasks {
            assert_eq!(
                task.await.unwrap(),
                Ok(Committed::Applied),
                "{}",
                database.backend
            );
        }
        assert_eq!(
            stale.await.unwrap(),
            Err(Error::Conflict),
            "{}",
            database.backend
        );
        audited.await.unwrap().unwrap();
        for index in [0u32, 7, 39] {
            let (summary, events) = store
                .load_case(&format!("RDM-GB-FR-{index}"))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                (summary.event_count, events.len()),
                (2, 2),
                "{}",
                database.backend
            );
            assert_eq!(events[1].idempotency_key, format!("e-{index}"));
        }
        assert!(store.load_case("RDM-GB-FR-139").await.unwrap().is_some());
        assert_eq!(store.pending_delivery_count().await.unwrap(), 40 + 40 + 40);
        assert_eq!(store.audit_log(10).await.unwrap(), vec![audit]);
    }
}

#[tokio::test]
async fn refused_calls_are_kept_in_the_audit_log() {
    for database in fresh_databases().await {
        let store = database.store().await;
        let record = accord_node::store::AuditRecord {
            at: 5,
            peer: "spiffe://accord/state/BE".into(),
            operation: "/accord.v1.ReadmissionService/GetReadmission".into(),
            outcome: "PERMISSION_DENIED".into(),
            detail: "BE is not a party to RDM-GB-FR-1".into(),
        };
        store.record_audit(record.clone()).await.unwrap();
        assert_eq!(
            store.audit_log(10).await.unwrap(),
            vec![record],
            "{}",
            database.backend
        );
    }
}

#[tokio::test]
async fn a_message_written_before_event_references_is_sent_from_its_stored_request() {
    use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
    for (store, database) in stores_holding_one_case().await {
        // A row as the node wrote it before migration 3: the request whole, no event named.
        let raw = Database::connect(&database.url).await.unwrap();
        let backend = raw.get_database_backend();
        let sql = match backend {
            DbBackend::Postgres => {
                "INSERT INTO outbox (case_ref, destination, channel, payload, attempts, \
                 next_attempt_at, created_at) VALUES ($1, 'FR', 'readmission', $2, 0, 1000, 1000)"
            }
            _ => {
                "INSERT INTO outbox (case_ref, destination, channel, payload, attempts, \
                 next_attempt_at, created_at) VALUES (?, 'FR', 'readmission', ?, 0, 1000, 1000)"
            }
        };
        raw.execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            ["RDM-GB-FR-9".into(), vec![9_u8, 9].into()],
        ))
        .await
        .unwrap();
        let due = store.due_deliveries(1_000, 10, &fr()).await.unwrap();
        let contents: Vec<(String, DeliveryContent)> = due
            .into_iter()
            .map(|message| (message.case_ref, message.content))
            .collect();
        assert_eq!(
            contents,
            vec![
                ("RDM-GB-FR-1".into(), sends(1)),
                ("RDM-GB-FR-9".into(), DeliveryContent::Request(vec![9, 9]))
            ],
            "{}",
            database.backend
        );
    }
}

#[tokio::test]
async fn cases_are_listed_newest_first_and_paged_from_the_last_reference_seen() {
    use accord_node::store::CaseFilter;
    // IDs begin with their creation time (13 digits here); two share one millisecond.
    let reference = |time: u64, suffix: &str| format!("RDM-GB-FR-{time:013}{suffix}");
    let created = [
        reference(1, "A"),
        reference(3, "A"),
        reference(2, "A"),
        reference(2, "B"),
    ];
    for database in fresh_databases().await {
        let store = database.store().await;
        for (index, case_ref) in created.iter().enumerate() {
            store
                .commit(opening(case_ref, &format!("k{index}"), 1))
                .await
                .unwrap();
        }
        let filter = CaseFilter {
            case_kind: CaseKind::Readmission,
            counterpart: None,
            status: None,
        };
        let mut listed = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = store
                .list_cases(&filter, after.as_deref(), 3)
                .await
                .unwrap();
            listed.extend(page.iter().map(|case| case.case_ref.clone()));
            match page.last() {
                Some(last) if page.len() == 3 => after = Some(last.case_ref.clone()),
                _ => break,
            }
        }
        assert_eq!(
            listed,
            vec![
                reference(3, "A"),
                reference(2, "B"),
                reference(2, "A"),
                reference(1, "A"),
            ],
            "{}",
            database.backend
        );
    }
}

#[tokio::test]
async fn a_reopened_database_applies_only_the_migrations_it_has_not_recorded() {
    use sea_orm::{ConnectionTrait, Database};
    const LAST: &str = "m20261127_000006_outbox_due_by_destination";
    for database in fresh_databases().await {
        drop(database.store().await);
        // The database as the version before the last migration left it.
        let raw = Database::connect(&database.url).await.unwrap();
        for sql in [
            "DROP INDEX outbox_due_by_destination".to_owned(),
            "CREATE INDEX outbox_due ON outbox (id) \
             WHERE delivered_at IS NULL AND failed_reason IS NULL"
                .to_owned(),
            format!("DELETE FROM seaql_migrations WHERE version = '{LAST}'"),
        ] {
            raw.execute_unprepared(&sql).await.unwrap();
        }
        // Reopened: the recorded migrations are not applied again (their tables exist,
        // so they would fail), and the one whose record was removed is.
        drop(database.store().await);
        let versions: Vec<String> = raw
            .query_all_raw(sea_orm::Statement::from_string(
                raw.get_database_backend(),
                "SELECT version FROM seaql_migrations ORDER BY version",
            ))
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get("", "version").unwrap())
            .collect();
        assert_eq!(versions.len(), 11, "{}: {versions:?}", database.backend);
        assert!(
            versions.iter().any(|version| version == LAST),
            "{versions:?}"
        );
        let reopened = raw.execute_unprepared("DROP INDEX outbox_due").await;
        assert!(
            reopened.is_err(),
            "{}: the last migration dropped it",
            database.backend
        );
    }
}

#[tokio::test]
async fn the_node_secret_is_made_once_kept_across_restarts_and_the_same_for_racing_starts() {
    use sea_orm::{ConnectionTrait, Database};
    for database in fresh_databases().await {
        let first = database.store().await;
        let secret = first.node_secret().clone();
        assert_ne!(secret.expose(), &[0; 32], "{}", database.backend);
        assert_eq!(format!("{secret:?}"), "NodeSecret(..)");
        drop(first);
        let reopened = database.store().await;
        assert_eq!(reopened.node_secret(), &secret, "{}", database.backend);
        drop(reopened);
        let other = fresh_databases().await.remove(0).store().await;
        assert_ne!(other.node_secret(), &secret, "each database makes its own");
        // A migrated database whose secret is not made yet, and two starts at once.
        let raw = Database::connect(&database.url).await.unwrap();
        raw.execute_unprepared("DELETE FROM node_secret")
            .await
            .unwrap();
        let (one, two) = tokio::join!(database.store(), database.store());
        assert_eq!(
            one.node_secret(),
            two.node_secret(),
            "{}: two starts racing read one secret",
            database.backend
        );
        assert_ne!(one.node_secret(), &secret, "{}", database.backend);
    }
}
