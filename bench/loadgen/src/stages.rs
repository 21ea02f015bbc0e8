//! `loadgen stages`: the node's layers timed in this process, without gRPC or TLS.
//!
//! Each stage runs `--clients` concurrent tasks in a closed loop for a warm-up and a
//! measured window, like `run`, against a node store on a fresh SQLite file (WAL,
//! `synchronous=FULL`, the node's own `Store::connect`):
//!
//! - `lookup`: `Store::find_idempotency` of a fresh key — the read every open does first;
//! - `commit`: `Store::commit` of a prebuilt change shaped like an open's (case summary,
//!   signed event, idempotency record with the stored answer, outbox message) — the group
//!   commit alone;
//! - `lean`: the same rows committed by a reference writer without the ORM (see `lean`),
//!   to show what the store's mechanics cost;
//! - `app`: `App::open_readmission` — look-up, domain, signing and commit, what a node
//!   does per request after the gRPC layer; with `--dispatcher` the outbox dispatcher runs
//!   alongside against the unreachable partner, as in the node run.
//!
//! Plus `sign`: one Ed25519 signature of an event-sized message, timed sequentially.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use accord_domain::StateCode;
use accord_domain::readmission::ReadmissionCase;
use accord_node::app::readmission::Detail;
use accord_node::app::{App, Backoff, Deliveries, Dispatcher, PartnerLink};
use accord_node::clock::{Clock, SystemClock};
use accord_node::convert::answers::stored_form;
use accord_node::convert::command::{Answer, OpenReadmission};
use accord_node::convert::{RequestContext, readmission_rpc};
use accord_node::courier::GrpcCourier;
use accord_node::store::{
    CaseKind, CaseRecord, CaseWrite, Change, Channel, EventRecord, EventRef, IdempotencyRecord,
    OutboxMessage, Store,
};
use accord_trust::{ClientTls, EventSigningKey, EventVerifyingKey, PeerIdentity, SigningDomain};
use anyhow::Context;
use prost::Message;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::lean::LeanWriter;
use crate::request::{KeyForm, RequestPlan};
use crate::stats::{Summary, micros};
use crate::{PkiArgs, seconds};

/// The read pool the node uses by default (`limits.database_connections`).
const DATABASE_CONNECTIONS: u32 = 8;

/// The node's default message size limit (`limits.max_message_bytes`).
const MESSAGE_BYTES_MAX: usize = 4 * 1024 * 1024;

/// Signatures timed in the `sign` stage.
const SIGNATURES_TIMED: u32 = 2_000;

/// Where the unreachable partner "listens" (nothing does: port 9 is discard, closed here).
const PARTNER_ENDPOINT_UNREACHABLE: &str = "https://127.0.0.1:9";

/// Arguments of `loadgen stages`.
#[derive(Debug, clap::Args)]
pub struct StagesArgs {
    /// Certificates and the state's event-signing key.
    #[command(flatten)]
    pki: PkiArgs,
    /// The partner state (its verifying key is read from the PKI directory).
    #[arg(long, default_value = "FR")]
    requested_state: String,
    /// A folder for the stages' SQLite files (created; files are replaced).
    #[arg(long, value_name = "DIR")]
    work: PathBuf,
    /// Concurrent tasks per stage.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Warm-up per stage, in seconds.
    #[arg(long, default_value = "1", value_parser = seconds)]
    warmup: Duration,
    /// Measured window per stage, in seconds.
    #[arg(long, default_value = "5", value_parser = seconds)]
    duration: Duration,
    /// Run the outbox dispatcher during the `app` stage (partner unreachable).
    #[arg(long)]
    dispatcher: bool,
    /// How idempotency keys are made.
    #[arg(long, value_enum, default_value = "time-ordered")]
    keys: KeyForm,
    /// Which stages to run (all by default); repeat or separate with commas.
    #[arg(long = "stage", value_enum, value_delimiter = ',')]
    stages: Vec<StageName>,
}

/// A stage of `loadgen stages`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum StageName {
    /// One Ed25519 signature.
    Sign,
    /// The idempotency look-up.
    Lookup,
    /// The whole use case (needed by `commit` for the rows' sizes).
    App,
    /// The group commit alone.
    Commit,
    /// A reference writer on the same schema without the ORM (see `lean`).
    Lean,
}

impl StagesArgs {
    fn runs(&self, stage: StageName) -> bool {
        self.stages.is_empty() || self.stages.contains(&stage)
    }
}

type Attempt = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// One operation of a stage, called with (task, sequence).
type Operation = Arc<dyn Fn(usize, u64) -> Attempt + Send + Sync>;

/// Runs the chosen stages and prints one `STAGE` line each.
pub async fn run(args: StagesArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.work).with_context(|| args.work.display().to_string())?;
    let state = args.pki.state()?;
    let caller = PeerIdentity::Gateway(state).spiffe_id();
    let plan = Arc::new(RequestPlan::new(&args.requested_state, args.keys));
    let signer = signing_key(&args, state)?;
    if args.runs(StageName::Sign) {
        sign_stage(&signer);
    }
    if args.runs(StageName::Lookup) {
        lookup_stage(&args, &caller, &plan).await?;
    }
    let store = open_store(&args, "app").await?;
    let app = App::new(
        state,
        store,
        Arc::new(SystemClock),
        signer,
        vec![partner_link(&args, state)?],
        500,
    );
    let sample = app
        .cases()
        .open_readmission(&caller, open_request(&plan, usize::MAX, 0)?)
        .await
        .map_err(|error| anyhow::anyhow!("a sample open failed: {error}"))?;
    if args.runs(StageName::App) {
        app_stage(&args, &app, &caller, &plan).await;
    }
    if args.runs(StageName::Commit) {
        let shape = ChangeShape::from_sample(&sample, state, &caller, args.keys);
        commit_stage(&args, shape).await?;
    }
    if args.runs(StageName::Lean) {
        let shape = ChangeShape::from_sample(&sample, state, &caller, args.keys);
        lean_stage(&args, shape).await?;
    }
    Ok(())
}

async fn lookup_stage(
    args: &StagesArgs,
    caller: &str,
    plan: &Arc<RequestPlan>,
) -> anyhow::Result<()> {
    let store = open_store(args, "lookup").await?;
    let (caller, plan) = (caller.to_owned(), plan.clone());
    let lookup: Operation = Arc::new(move |task, sequence| {
        let (store, caller) = (store.clone(), caller.clone());
        let key = plan.request(task, sequence).idempotency_key;
        Box::pin(async move {
            match store.find_idempotency(&caller, &key).await {
                Ok(None) => Ok(()),
                Ok(Some(_)) => Err("a fresh key was found".to_owned()),
                Err(error) => Err(error.to_string()),
            }
        })
    });
    measure(args, "lookup", lookup).await;
    Ok(())
}

async fn app_stage(args: &StagesArgs, app: &App, caller: &str, plan: &Arc<RequestPlan>) {
    let stop_dispatcher = match args.dispatcher {
        true => match partner_courier(args, app.own_state()) {
            Ok(courier) => Some(start_dispatcher(app, Arc::new(courier))),
            Err(error) => {
                eprintln!("loadgen stages: no courier for the dispatcher: {error:#}");
                None
            }
        },
        false => None,
    };
    let (cases, caller, plan) = (app.cases().clone(), caller.to_owned(), plan.clone());
    let open: Operation = Arc::new(move |task, sequence| {
        let (cases, caller) = (cases.clone(), caller.clone());
        let request = open_request(&plan, task, sequence);
        Box::pin(async move {
            let request = request.map_err(|error| error.to_string())?;
            cases
                .open_readmission(&caller, request)
                .await
                .map(|_| ())
                .map_err(|error| error.to_string())
        })
    });
    let label = if args.dispatcher {
        "app+dispatcher"
    } else {
        "app"
    };
    measure(args, label, open).await;
    if let Some(stop) = stop_dispatcher {
        let _ = stop.send(true);
    }
}

async fn commit_stage(args: &StagesArgs, shape: ChangeShape) -> anyhow::Result<()> {
    let store = open_store(args, "commit").await?;
    let shape = Arc::new(shape);
    let commit: Operation = Arc::new(move |_task, _sequence| {
        let (store, shape) = (store.clone(), shape.clone());
        Box::pin(async move {
            store
                .commit(shape.change())
                .await
                .map(|_| ())
                .map_err(|error| error.to_string())
        })
    });
    measure(args, "commit", commit).await;
    Ok(())
}

async fn lean_stage(args: &StagesArgs, shape: ChangeShape) -> anyhow::Result<()> {
    // The node's migrations make the schema; then the node's store steps aside.
    open_store(args, "lean").await?.close().await?;
    let writer = LeanWriter::start(&args.work.join("stage-lean.db")).await?;
    let shape = Arc::new(shape);
    let commit: Operation = Arc::new(move |_task, _sequence| {
        let (writer, shape) = (writer.clone(), shape.clone());
        Box::pin(async move { writer.commit(shape.change()).await })
    });
    measure(args, "lean", commit).await;
    Ok(())
}

fn signing_key(args: &StagesArgs, state: StateCode) -> anyhow::Result<EventSigningKey> {
    let path = args.pki.directory().signing_key_path(state);
    EventSigningKey::load(&path).with_context(|| path.display().to_string())
}

fn sign_stage(signer: &EventSigningKey) {
    // About the size of a signed attestation: references, kind, time and a 32-byte digest.
    let message = vec![0x42u8; 160];
    let started = Instant::now();
    for _ in 0..SIGNATURES_TIMED {
        std::hint::black_box(signer.sign(SigningDomain::EVENT, std::hint::black_box(&message)));
    }
    let per_signature = started.elapsed() / SIGNATURES_TIMED;
    println!(
        "STAGE label=sign us_per_op={:.1}",
        per_signature.as_secs_f64() * 1e6
    );
}

async fn open_store(args: &StagesArgs, name: &str) -> anyhow::Result<Store> {
    let path = args.work.join(format!("stage-{name}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            std::fs::remove_file(&file).with_context(|| file.display().to_string())?;
        }
    }
    let url = format!("sqlite://{}?mode=rwc", path.display());
    Store::connect(&url, DATABASE_CONNECTIONS)
        .await
        .with_context(|| url.clone())
}

fn partner_link(args: &StagesArgs, own: StateCode) -> anyhow::Result<PartnerLink> {
    let _ = own;
    let partner = StateCode::parse(&args.requested_state)?;
    let directory = args.pki.directory();
    let verifying_key = EventVerifyingKey::load(&directory.verifying_key_path(partner))?;
    Ok(PartnerLink {
        state: partner,
        verifying_key,
        parity_limit: None,
        regimes: vec![accord_domain::Regime::Ukfr2025],
    })
}

/// The courier to the partner, which nothing answers (the dispatcher backs off, as in the
/// node run against an absent partner).
fn partner_courier(args: &StagesArgs, own: StateCode) -> anyhow::Result<GrpcCourier> {
    let partner = StateCode::parse(&args.requested_state)?;
    let identity = args.pki.identity(&PeerIdentity::Node(own))?;
    let tls = ClientTls::new(&identity, &args.pki.ca()?, "127.0.0.1")?
        .expect_peer(PeerIdentity::Node(partner));
    let channel = accord_trust::connect_lazy(PARTNER_ENDPOINT_UNREACHABLE, &tls)?;
    Ok(GrpcCourier::new().with_partner(partner, channel, MESSAGE_BYTES_MAX))
}

/// Starts the node's dispatcher with its default settings; send `true` to stop it.
fn start_dispatcher(app: &App, courier: Arc<GrpcCourier>) -> watch::Sender<bool> {
    let (stop, stopped) = watch::channel(false);
    let dispatcher = Dispatcher {
        backoff: Backoff {
            initial: Duration::from_millis(250),
            ceiling: Duration::from_secs(60),
        },
        poll_interval: Duration::from_secs(1),
        max_in_flight: 64,
        attempt_timeout: Duration::from_secs(10),
    };
    let deliveries = Deliveries::new(
        app.own_state(),
        app.store().clone(),
        Arc::new(SystemClock),
        app.partner_states(),
        courier,
    );
    tokio::spawn(dispatcher.run(deliveries, app.store().outbox_written(), stopped));
    stop
}

/// What the gRPC layer hands the use case for the load generator's request: the node's
/// own parser's command.
fn open_request(
    plan: &RequestPlan,
    task: usize,
    sequence: u64,
) -> anyhow::Result<OpenReadmission<Detail>> {
    let message = plan.request(task, sequence);
    let own_state = StateCode::parse("GB")?;
    let context = RequestContext {
        operation: "OpenReadmission",
        request_digest: accord_node::app::request_digest(
            "OpenReadmission",
            &message.encode_to_vec(),
        ),
        own_state,
        now: SystemClock.now(),
    };
    readmission_rpc::open(&message, &context).map_err(|invalid| anyhow::anyhow!("{invalid}"))
}

/// The byte sizes of a real open's rows, to commit changes of the same shape.
struct ChangeShape {
    own_state: String,
    caller: String,
    envelope: Vec<u8>,
    response: Vec<u8>,
    /// Case references grow with time, as the node's do (a time prefix), so the
    /// reference-keyed indexes see appends, not scattered inserts.
    next_case: AtomicU64,
    /// How idempotency keys are made.
    keys: KeyForm,
}

impl ChangeShape {
    fn from_sample(
        sample: &Answer<ReadmissionCase>,
        own_state: StateCode,
        caller: &str,
        keys: KeyForm,
    ) -> Self {
        let envelope = sample
            .event()
            .map(|event| event.encoded())
            .unwrap_or_default();
        // Stored as the node stores an answer: without the case's history and the event,
        // which the case's events hold (`convert::answers`).
        let (response, _) = stored_form(sample);
        Self {
            own_state: own_state.to_string(),
            caller: caller.to_owned(),
            envelope,
            response,
            next_case: AtomicU64::new(0),
            keys,
        }
    }

    fn change(&self) -> Change {
        let now = SystemClock.now().as_millis();
        let case_number = self.next_case.fetch_add(1, Ordering::Relaxed);
        let case_ref = format!("RA-{}-FR-BENCH{case_number:018}", self.own_state);
        let key = self.keys.fresh_key();
        Change {
            idempotency: Some(IdempotencyRecord {
                caller: self.caller.clone(),
                idempotency_key: key.clone(),
                operation: "OpenReadmission".to_owned(),
                request_digest: vec![7; 32],
                response: self.response.clone(),
                created_at: now,
                history_through: Some(1),
            }),
            case: CaseWrite::Create(CaseRecord {
                case_ref: case_ref.clone(),
                case_kind: CaseKind::Readmission,
                first_state: self.own_state.clone(),
                second_state: "FR".to_owned(),
                status: "SUBMITTED".to_owned(),
                event_count: 1,
                created_at: now,
                updated_at: now,
                next_deadline_at: Some(now + 90 * 24 * 3_600_000),
            }),
            offer: None,
            events: vec![EventRecord {
                case_ref: case_ref.clone(),
                sequence: 1,
                kind: "SUBMITTED".to_owned(),
                acting_state: self.own_state.clone(),
                occurred_at: now,
                idempotency_key: key,
                envelope: self.envelope.clone(),
            }],
            outbox: vec![OutboxMessage {
                case_ref: case_ref.clone(),
                destination: "FR".to_owned(),
                channel: Channel::Readmission,
                event: EventRef {
                    case_ref,
                    sequence: 1,
                },
                created_at: now,
            }],
        }
    }
}

/// Runs `operation` in a closed loop on `--clients` tasks and prints a `STAGE` line.
async fn measure(args: &StagesArgs, label: &str, operation: Operation) {
    let now = Instant::now();
    let (start, end) = (now + args.warmup, now + args.warmup + args.duration);
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..args.clients {
        let operation = operation.clone();
        tasks.spawn(async move {
            let (mut latencies, mut errors, mut first_error) = (Vec::new(), 0u64, None);
            let mut sequence = 0u64;
            while Instant::now() < end {
                let sent = Instant::now();
                let result = operation(task, sequence).await;
                sequence += 1;
                let answered = Instant::now();
                match result {
                    Ok(()) if answered >= start && answered <= end => {
                        latencies.push(micros(answered - sent));
                    }
                    Ok(()) => {}
                    Err(error) => {
                        errors += 1;
                        first_error.get_or_insert(error);
                    }
                }
            }
            (latencies, errors, first_error)
        });
    }
    let (mut latencies, mut errors) = (Vec::new(), 0u64);
    while let Some(Ok((task_latencies, task_errors, first_error))) = tasks.join_next().await {
        latencies.extend(task_latencies);
        errors += task_errors;
        if let Some(error) = first_error {
            eprintln!("loadgen stages: {label}: {error}");
        }
    }
    let summary = Summary::new(latencies, args.duration);
    println!(
        "STAGE label={label} clients={} ops_per_s={:.1} p50_ms={:.3} p99_ms={:.3} errors={errors}",
        args.clients, summary.requests_per_second, summary.p50_ms, summary.p99_ms,
    );
}
