//! The ledger's ingest benchmark (BENCHMARKS.md, "Ledger ingest").
//!
//! Starts a real coordinator in this process — mTLS on 127.0.0.1, its store on a fresh
//! SQLite file (or the PostgreSQL database `DATABASE_URL` names) — enrols GB and FR through
//! the real token-and-CSR flow, and sends `EVENTS` reports signed by GB's event key over
//! `STREAMS` `ReportEvents` streams (one connection each) in batches of `BATCH`, at most
//! `WINDOW` batches unanswered per stream. Every report is verified, appended and committed
//! before its batch is answered. Then, in the same run, the **reference** does only what
//! ingest cannot do without on the same reports: batch-verify each batch's signatures and
//! write it in one transaction (multi-row INSERTs of 256 rows) into a fresh table of the same
//! database kind, as durable as the coordinator's (SQLite: WAL, `synchronous=FULL`), from
//! `STREAMS` tasks (verification in parallel, one writer at a time).
//!
//! Prints events per second of both, their ratio, and the acknowledgement latency of the
//! coordinator's batches (median and p99, from sending a batch to its answer).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use accord_coordinator::config::{CoordinatorConfig, Enrolment, Issuing, Ledger, Limits, TlsPaths};
use accord_coordinator::joining::{JoinRequest, JoinedFolder, join};
use accord_coordinator::server::Coordinator;
use accord_domain::StateCode;
use accord_proto::v1 as pb;
use accord_proto::v1::ledger_service_client::LedgerServiceClient;
use accord_proto::v1::membership_service_client::MembershipServiceClient;
use accord_trust::pki::directory::PkiDirectory;
use accord_trust::pki::{IssueRequest, Validity};
use accord_trust::signing::{SignedMessage, verify_batch};
use accord_trust::{
    CaBundle, ClientTls, EventSigningKey, EventVerifyingKey, Identity, OperatorName, PeerIdentity,
    SigningDomain,
};
use anyhow::Context;
use prost::Message;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, Statement, TransactionTrait,
};
use tokio::sync::{Semaphore, mpsc};
use tonic::transport::Channel;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let events = setting("EVENTS", 200_000);
    let streams = setting("STREAMS", 4);
    let batch = setting("BATCH", 512);
    let window = setting("WINDOW", 2);
    let folder = tempfile::tempdir()?;
    let database_url = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        format!(
            "sqlite://{}?mode=rwc",
            folder.path().join("coordinator.db").display()
        )
    });
    accord_trust::install_crypto_provider();
    let (address, shutdown) = start_coordinator(folder.path(), &database_url).await?;
    let gb = enrol(folder.path(), address, "GB", 7701).await?;
    enrol(folder.path(), address, "FR", 7702).await?;
    let signer = EventSigningKey::load(&gb.signing_key())?;

    let reports = Arc::new(signed_reports(&signer, events));
    let batches: Vec<Vec<pb::EventReport>> = reports
        .chunks(batch)
        .map(<[pb::EventReport]>::to_vec)
        .collect();
    println!(
        "ledger ingest: {events} events, {streams} streams, batches of {batch}, window {window}, \
         database {}",
        database_url.split(':').next().unwrap_or("?")
    );

    let tls = node_tls(&gb, folder.path())?;
    let started = Instant::now();
    let latencies = send_all(address, tls, batches.clone(), streams, window).await?;
    let coordinator_seconds = started.elapsed().as_secs_f64();
    let _ = shutdown.send(());

    let reference_url = match std::env::var("DATABASE_URL") {
        Ok(url) => url,
        Err(_) => format!(
            "sqlite://{}?mode=rwc",
            folder.path().join("reference.db").display()
        ),
    };
    let reference = Database::connect(reference_options(&reference_url)).await?;
    let started = Instant::now();
    reference_ingest(&reference, batches, signer.verifying_key(), streams).await?;
    let reference_seconds = started.elapsed().as_secs_f64();

    let coordinator_rate = events as f64 / coordinator_seconds;
    let reference_rate = events as f64 / reference_seconds;
    println!(
        "coordinator: {coordinator_rate:.0} events/s ({coordinator_seconds:.2} s); ack latency \
         median {:.1} ms, p99 {:.1} ms",
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0)
    );
    println!("reference:   {reference_rate:.0} events/s ({reference_seconds:.2} s)");
    println!(
        "coordinator / reference: {:.0} %",
        100.0 * coordinator_rate / reference_rate
    );
    Ok(())
}

/// A coordinator on a fresh PKI with an issuing CA, served in this process.
async fn start_coordinator(
    folder: &std::path::Path,
    database_url: &str,
) -> anyhow::Result<(SocketAddr, tokio::sync::oneshot::Sender<()>)> {
    let pki = PkiDirectory::new(folder.join("pki"));
    let now = accord_trust::clock::wall_clock_now();
    let validity = || Validity::days_from(now, 30).expect("a month from now");
    pki.init(validity(), validity())?;
    pki.create_issuing_ca(
        &pki,
        now,
        Validity::days_from(now, 20)?,
        validity(),
        validity(),
    )?;
    for identity in [PeerIdentity::Coordinator, operator()] {
        pki.issue(&IssueRequest::new(identity, validity()), false)?;
    }
    let signing_key = folder.join("coordinator.signing.key");
    EventSigningKey::generate()?.save(&signing_key)?;
    let listener = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let address = listener.local_addr()?;
    let coordinator = PeerIdentity::Coordinator;
    let config = CoordinatorConfig {
        listen_addr: address,
        endpoint: format!("https://{address}"),
        database_url: database_url.to_owned(),
        tls: TlsPaths {
            ca: pki.ca_certificate_path(),
            crl: Some(pki.crl_path()),
            certificate: pki.certificate_path(&coordinator),
            private_key: pki.key_path(&coordinator),
            signing_key,
        },
        issuing: Issuing {
            certificate: pki.issuing_ca_certificate_path(),
            private_key: pki.issuing_ca_key_path(),
            certificate_days: 90,
            crl_hours: 48,
        },
        enrolment: Enrolment::default(),
        ledger: Ledger::default(),
        limits: Limits::default(),
    };
    let clock = Arc::new(accord_edge::clock::SystemClock);
    let server = Coordinator::build_with_listener(config, clock, listener).await?;
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run_until(async move {
        let _ = stopped.await;
    }));
    Ok((address, shutdown))
}

fn operator() -> PeerIdentity {
    PeerIdentity::Operator(OperatorName::parse("bench").expect("a valid name"))
}

/// `state` joined through a token an operator issued; its folder.
async fn enrol(
    folder: &std::path::Path,
    address: SocketAddr,
    state: &str,
    port: u16,
) -> anyhow::Result<JoinedFolder> {
    let pki = PkiDirectory::new(folder.join("pki"));
    let identity = operator();
    let credentials = Identity::load(&pki.certificate_path(&identity), &pki.key_path(&identity))?;
    let ca_pem = std::fs::read_to_string(pki.ca_certificate_path())?;
    let tls = ClientTls::new(&credentials, &CaBundle::from_pem(&ca_pem)?, "127.0.0.1")?;
    let channel = accord_trust::connect_lazy(&format!("https://{address}"), &tls)?;
    let issued = MembershipServiceClient::new(channel)
        .issue_enrolment_token(pb::IssueEnrolmentTokenRequest {
            idempotency_key: format!("token-{state}"),
            state: state.to_owned(),
            expires_at: Some(prost_types::Timestamp {
                seconds: accord_trust::clock::wall_clock_now().unix_timestamp() + 3600,
                nanos: 0,
            }),
            required_approvals: 0,
        })
        .await?
        .into_inner();
    let dir = folder.join(state);
    join(JoinRequest {
        coordinator: format!("https://{address}"),
        ca_pem,
        state: StateCode::parse(state)?,
        token: issued.token,
        endpoint: format!("127.0.0.1:{port}"),
        listen_addr: None,
        dir: dir.clone(),
    })
    .await
    .context("joining")?;
    Ok(JoinedFolder::new(dir))
}

/// The TLS of GB's node, as its reporter connects.
fn node_tls(gb: &JoinedFolder, folder: &std::path::Path) -> anyhow::Result<ClientTls> {
    let identity = Identity::load(&gb.node_certificate(), &gb.node_key())?;
    let ca_path = PkiDirectory::new(folder.join("pki")).ca_certificate_path();
    let ca = CaBundle::from_pem(&std::fs::read_to_string(ca_path)?)?;
    Ok(ClientTls::new(&identity, &ca, "127.0.0.1")?)
}

/// `count` reports of GB's events, each a readmission between GB and FR, signed.
fn signed_reports(signer: &EventSigningKey, count: usize) -> Vec<pb::EventReport> {
    (0..count)
        .map(|n| {
            let case = format!("RDM-GB-FR-01J9Z8Q4M6W3XR7T2K{:08}", n / 8);
            let attestation = pb::EventAttestation {
                case_ref: case,
                pair: Some(pb::StatePair {
                    first_state: "GB".to_owned(),
                    second_state: "FR".to_owned(),
                }),
                sequence: (n % 8) as u64 + 1,
                acting_state: "GB".to_owned(),
                occurred_at: Some(prost_types::Timestamp {
                    seconds: 1_764_000_000 + n as i64,
                    nanos: 0,
                }),
                idempotency_key: format!("k1-{n:064x}"),
                signing_key_id: signer.key_id().to_string(),
                event_digest: {
                    let mut digest = vec![0; 32];
                    digest[..8].copy_from_slice(&(n as u64).to_be_bytes());
                    digest
                },
                kind: Some(pb::event_attestation::Kind::ReadmissionEventKind(
                    pb::ReadmissionEventKind::Received.into(),
                )),
            };
            let signature = signer.sign(SigningDomain::EVENT, &attestation.encode_to_vec());
            pb::EventReport {
                attestation: Some(attestation),
                signature: signature.to_bytes().to_vec(),
            }
        })
        .collect()
}

/// Sends `batches` over `streams` streams, at most `window` unanswered per stream; answers
/// each batch's acknowledgement latency in milliseconds.
async fn send_all(
    address: SocketAddr,
    tls: ClientTls,
    batches: Vec<Vec<pb::EventReport>>,
    streams: usize,
    window: usize,
) -> anyhow::Result<Vec<f64>> {
    let mut shares: Vec<Vec<Vec<pb::EventReport>>> = vec![Vec::new(); streams];
    for (index, batch) in batches.into_iter().enumerate() {
        shares[index % streams].push(batch);
    }
    let mut tasks = Vec::new();
    for share in shares {
        let tls = tls.clone();
        tasks.push(tokio::spawn(async move {
            one_stream(address, tls, share, window).await
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    Ok(latencies)
}

async fn one_stream(
    address: SocketAddr,
    tls: ClientTls,
    share: Vec<Vec<pb::EventReport>>,
    window: usize,
) -> anyhow::Result<Vec<f64>> {
    let channel: Channel = accord_trust::connect(&format!("https://{address}"), &tls).await?;
    let mut client = LedgerServiceClient::new(channel)
        .max_decoding_message_size(16 * 1024 * 1024)
        .max_encoding_message_size(16 * 1024 * 1024);
    let (sender, receiver) = mpsc::channel::<pb::ReportEventsRequest>(window);
    let sent: Arc<Mutex<VecDeque<Instant>>> = Arc::default();
    let permits = Arc::new(Semaphore::new(window));
    let expected = share.len();
    let feeder = {
        let (sent, permits) = (sent.clone(), permits.clone());
        tokio::spawn(async move {
            for (index, reports) in share.into_iter().enumerate() {
                let permit = permits.acquire().await.expect("open");
                permit.forget();
                sent.lock().expect("unpoisoned").push_back(Instant::now());
                let request = pb::ReportEventsRequest {
                    batch_id: format!("b{index}"),
                    reports,
                };
                if sender.send(request).await.is_err() {
                    break;
                }
            }
        })
    };
    let mut answers = client
        .report_events(tokio_stream::wrappers::ReceiverStream::new(receiver))
        .await?
        .into_inner();
    let mut latencies = Vec::with_capacity(expected);
    while latencies.len() < expected {
        let answer = answers.message().await?.context("the stream ended early")?;
        let accepted = answer
            .results
            .iter()
            .filter(|result| result.outcome() == pb::EventReportOutcome::Accepted)
            .count();
        anyhow::ensure!(
            accepted == answer.results.len(),
            "batch {}: {accepted} of {} accepted",
            answer.batch_id,
            answer.results.len()
        );
        let at = sent
            .lock()
            .expect("unpoisoned")
            .pop_front()
            .context("an answer unasked")?;
        latencies.push(at.elapsed().as_secs_f64() * 1_000.0);
        permits.add_permits(1);
    }
    drop(answers);
    feeder.await?;
    Ok(latencies)
}

/// The reference: each batch's signatures batch-verified, then the batch written with one
/// multi-row INSERT, one writer at a time.
async fn reference_ingest(
    db: &DatabaseConnection,
    batches: Vec<Vec<pb::EventReport>>,
    key: EventVerifyingKey,
    streams: usize,
) -> anyhow::Result<()> {
    let blob = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => "BYTEA",
        _ => "BLOB",
    };
    db.execute_unprepared(&format!(
        "CREATE TABLE reference_leaf (leaf_index BIGINT PRIMARY KEY, event_digest {blob} NOT \
         NULL, leaf {blob} NOT NULL)"
    ))
    .await?;
    let writer = Arc::new(tokio::sync::Mutex::new(0_i64));
    let mut shares: Vec<Vec<Vec<pb::EventReport>>> = vec![Vec::new(); streams];
    for (index, batch) in batches.into_iter().enumerate() {
        shares[index % streams].push(batch);
    }
    let mut tasks = Vec::new();
    for share in shares {
        let (db, writer) = (db.clone(), writer.clone());
        tasks.push(tokio::spawn(async move {
            for reports in share {
                let reports = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                    let signed: Vec<Vec<u8>> = reports
                        .iter()
                        .map(|report| {
                            report
                                .attestation
                                .as_ref()
                                .map(Message::encode_to_vec)
                                .unwrap_or_default()
                        })
                        .collect();
                    let signatures: Vec<accord_trust::Signature> = reports
                        .iter()
                        .map(|report| accord_trust::Signature::from_slice(&report.signature))
                        .collect::<Result<_, _>>()?;
                    let batch: Vec<SignedMessage<'_>> = signed
                        .iter()
                        .zip(&signatures)
                        .map(|(bytes, signature)| SignedMessage {
                            key: &key,
                            domain: SigningDomain::EVENT,
                            canonical_bytes: bytes,
                            signature,
                        })
                        .collect();
                    verify_batch(&batch)?;
                    Ok(reports)
                })
                .await??;
                let mut next = writer.lock().await;
                insert(&db, *next, &reports).await?;
                *next += i64::try_from(reports.len())?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

/// The reference's database as durable as the coordinator's: on SQLite, WAL with
/// `synchronous=FULL` (`accord_coordinator::store`).
fn reference_options(url: &str) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false).map_sqlx_sqlite_opts(|sqlite| {
        sqlite
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
    });
    options
}

/// The batch in one transaction (one commit, as the coordinator commits a batch), its rows
/// in INSERTs of 256.
async fn insert(
    db: &DatabaseConnection,
    first: i64,
    reports: &[pb::EventReport],
) -> anyhow::Result<()> {
    let transaction = db.begin().await?;
    let backend = db.get_database_backend();
    let postgres = backend == sea_orm::DatabaseBackend::Postgres;
    for (chunk_index, chunk) in reports.chunks(256).enumerate() {
        let mut sql =
            String::from("INSERT INTO reference_leaf (leaf_index, event_digest, leaf) VALUES ");
        let mut values: Vec<sea_orm::Value> = Vec::with_capacity(chunk.len() * 3);
        for (offset, report) in chunk.iter().enumerate() {
            if offset > 0 {
                sql.push(',');
            }
            let base = values.len();
            if postgres {
                sql.push_str(&format!("(${}, ${}, ${})", base + 1, base + 2, base + 3));
            } else {
                sql.push_str("(?, ?, ?)");
            }
            let index = first + i64::try_from(chunk_index * 256 + offset)?;
            values.push(index.into());
            values.push(
                report
                    .attestation
                    .as_ref()
                    .map(|attestation| attestation.event_digest.clone())
                    .unwrap_or_default()
                    .into(),
            );
            values.push(report.encode_to_vec().into());
        }
        transaction
            .execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
    }
    transaction.commit().await?;
    Ok(())
}

fn percentile(values: &[f64], percent: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((percent / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}
