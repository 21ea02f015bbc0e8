//! `loadgen run`: closed-loop load on `OpenReadmission` over mTLS.
//!
//! `--clients` tasks share `--connections` HTTP/2 connections (task i uses connection
//! i mod C). Each task sends a request, waits for its reply, and sends the next, from the
//! start until the end of the measured window; the warm-up's replies are not measured. A
//! request counts in the window when its reply arrives inside it. Every task finishes its
//! last request before the process reports, so `ok_total` is every successful reply the
//! target sent during the run — what the durability check compares with the database.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use accord_proto::v1::readmission_service_client::ReadmissionServiceClient;
use accord_trust::{ClientTls, PeerIdentity};
use anyhow::Context;
use prost::Message;
use tokio::time::Instant;
use tonic::transport::Channel;

use crate::request::{KeyForm, RequestPlan};
use crate::stats::{Summary, micros};
use crate::{PkiArgs, seconds};

/// Largest message either side accepts, as the node's default limit.
const MESSAGE_BYTES_MAX: usize = 4 * 1024 * 1024;

/// Arguments of `loadgen run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The target, `https://host:port`: the node or the echo server.
    #[arg(long)]
    target: String,
    /// A name for the target in the RESULT line (`node`, `floor`, …).
    #[arg(long, default_value = "target")]
    label: String,
    /// Certificates: the client presents the state's gateway certificate.
    #[command(flatten)]
    pki: PkiArgs,
    /// The name the server's certificate is checked under.
    #[arg(long, default_value = "127.0.0.1")]
    server_name: String,
    /// R, the requested state; must be a partner of the node.
    #[arg(long, default_value = "FR")]
    requested_state: String,
    /// Concurrent client tasks (requests in flight).
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// HTTP/2 connections the tasks share.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Warm-up before measuring, in seconds.
    #[arg(long, default_value = "2", value_parser = seconds)]
    warmup: Duration,
    /// The measured window, in seconds.
    #[arg(long, default_value = "10", value_parser = seconds)]
    duration: Duration,
    /// How idempotency keys are made.
    #[arg(long, value_enum, default_value = "time-ordered")]
    keys: KeyForm,
}

/// The timeline every task follows.
struct Window {
    start: Instant,
    end: Instant,
}

/// What one client task saw.
#[derive(Default)]
struct TaskRecord {
    latencies_us: Vec<u32>,
    ok_total: u64,
    errors: BTreeMap<String, u64>,
    response_bytes: usize,
}

/// Connects, runs the load and prints one `RESULT` line (and a readable one on stderr).
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.clients > 0 && args.connections > 0,
        "--clients and --connections must be positive"
    );
    let channels = connect_all(&args).await?;
    let plan = Arc::new(RequestPlan::new(&args.requested_state, args.keys));
    let now = Instant::now();
    let window = Arc::new(Window {
        start: now + args.warmup,
        end: now + args.warmup + args.duration,
    });
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..args.clients {
        let client = ReadmissionServiceClient::new(channels[task % channels.len()].clone())
            .max_decoding_message_size(MESSAGE_BYTES_MAX)
            .max_encoding_message_size(MESSAGE_BYTES_MAX);
        tasks.spawn(client_loop(client, plan.clone(), window.clone(), task));
    }
    let mut records = Vec::with_capacity(args.clients);
    while let Some(record) = tasks.join_next().await {
        records.push(record.context("a client task panicked")?);
    }
    report(&args, records);
    Ok(())
}

async fn connect_all(args: &RunArgs) -> anyhow::Result<Vec<Channel>> {
    let state = args.pki.state()?;
    let gateway = args.pki.identity(&PeerIdentity::Gateway(state))?;
    let tls = ClientTls::new(&gateway, &args.pki.ca()?, &args.server_name)?;
    let mut channels = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        // One channel per connection: tonic multiplexes a channel's calls over one HTTP/2
        // connection.
        let channel = accord_trust::connect(&args.target, &tls)
            .await
            .with_context(|| format!("connecting to {}", args.target))?;
        channels.push(channel);
    }
    Ok(channels)
}

async fn client_loop(
    mut client: ReadmissionServiceClient<Channel>,
    plan: Arc<RequestPlan>,
    window: Arc<Window>,
    task: usize,
) -> TaskRecord {
    let mut record = TaskRecord::default();
    let mut sequence = 0u64;
    while Instant::now() < window.end {
        let request = plan.request(task, sequence);
        sequence += 1;
        let sent = Instant::now();
        let result = client.open_readmission(request).await;
        let answered = Instant::now();
        let in_window = answered >= window.start && answered <= window.end;
        match result {
            Ok(response) => {
                record.ok_total += 1;
                if record.response_bytes == 0 {
                    record.response_bytes = response.get_ref().encoded_len();
                }
                if in_window {
                    record.latencies_us.push(micros(answered - sent));
                }
            }
            Err(status) => {
                let key = format!("{:?}: {}", status.code(), status.message());
                *record.errors.entry(key).or_default() += 1;
            }
        }
    }
    record
}

fn report(args: &RunArgs, records: Vec<TaskRecord>) {
    let ok_total: u64 = records.iter().map(|record| record.ok_total).sum();
    let response_bytes = records
        .iter()
        .map(|record| record.response_bytes)
        .max()
        .unwrap_or(0);
    let request_bytes = RequestPlan::new(&args.requested_state, args.keys)
        .request(0, 0)
        .encoded_len();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut latencies = Vec::new();
    for record in records {
        latencies.extend(record.latencies_us);
        for (error, count) in record.errors {
            *errors.entry(error).or_default() += count;
        }
    }
    let error_total: u64 = errors.values().sum();
    let summary = Summary::new(latencies, args.duration);
    for (error, count) in &errors {
        eprintln!("loadgen: {count} × {error}");
    }
    eprintln!(
        "loadgen: {} N={} C={}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} in {:.1} s; {} ok in all, {} errors)",
        args.label,
        args.clients,
        args.connections,
        summary.requests_per_second,
        summary.p50_ms,
        summary.p99_ms,
        summary.max_ms,
        summary.completed,
        args.duration.as_secs_f64(),
        ok_total,
        error_total,
    );
    println!(
        "RESULT label={} clients={} connections={} rps={:.1} p50_ms={:.3} p99_ms={:.3} max_ms={:.3} completed={} ok_total={} errors={} request_bytes={} response_bytes={}",
        args.label,
        args.clients,
        args.connections,
        summary.requests_per_second,
        summary.p50_ms,
        summary.p99_ms,
        summary.max_ms,
        summary.completed,
        ok_total,
        error_total,
        request_bytes,
        response_bytes,
    );
}
