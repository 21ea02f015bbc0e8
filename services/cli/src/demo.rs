//! `accord demo [--dir DIR] [--scenario FILE] [--serve]`: a federation started as `accord up`
//! starts it, then a scenario replayed on it through the real gRPC paths — never by writing
//! a store — on a clock that jumps from week to week (`accord_edge::clock::ShiftedClock`,
//! shared by every server of the federation).
//!
//! Each week, the states' case systems work their returns and admissions (`cases`), and the
//! operator runs the week's settlement round to `FINAL`, every affected state's node
//! countersigning on its own (`rounds`); each final report is verified as
//! `accord report verify` verifies it and written to `DIR/reports/` as JSON, CSV, HTML (in
//! English and French) and the bundle. A summary follows: cases, rounds, settled, netting efficiency, breaks, where
//! the reports are and which pages to open. With `--serve` the federation keeps running
//! until Ctrl-C or SIGTERM; without, it stops cleanly and the folder stays.
//!
//! The scenario (`scenario`) is the built-in one (`services/cli/scenarios/pilot.toml`) or a
//! TOML file of the same form. Exit codes: 0 done; 2 bad input (a scenario, a folder that
//! holds something already) with nothing started; 1 a failure while replaying.

mod cases;
mod parties;
mod progress;
mod rounds;
mod scenario;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use accord_domain::Timestamp;
use accord_edge::clock::{Clock as _, ShiftedClock};
use clap::Args;

use crate::error_text::with_sources;
use crate::up::{self, Timing};
use cases::{COMPLETE_AFTER_MS, Offer, Opened, ReturnEnd, Week};
use parties::Parties;
use progress::Progress;
use rounds::WEEK_MS;
use scenario::Scenario;

/// Exit code for bad input: nothing was started.
const EXIT_USAGE: u8 = 2;

/// How long the revocation lists of a demo's coordinator live: the longest it allows (a
/// scenario spans at most four weeks, see `scenario`).
const CRL_HOURS: u32 = 720;

/// A minute, in milliseconds: how far past a period's end a round is cut off.
const MINUTE_MS: i64 = 60_000;

/// Arguments of `accord demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// The federation's folder, new or empty [default: a new folder under the system's
    /// temporary directory, named when the demo starts].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// A scenario (TOML) [default: the built-in one, the UK–France pilot then six states;
    /// its text documents the format: services/cli/scenarios/pilot.toml].
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Keep the federation running after the scenario, until Ctrl-C or SIGTERM.
    #[arg(long)]
    pub serve: bool,
}

/// Why a demo stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The federation.
    #[error(transparent)]
    Up(#[from] up::Error),
    /// A client could not connect.
    #[error("connecting to the federation")]
    Connect(#[source] up::credentials::Error),
    /// A server refused a call the scenario made.
    #[error("{0} was refused: {1:?}: {2}")]
    Refused(String, tonic::Code, String),
    /// Something never came.
    #[error("waited {1:?} for {0}")]
    Timeout(String, std::time::Duration),
    /// An answer lacks what the API promises.
    #[error("{0}")]
    Answer(String),
    /// A state disputed a round.
    #[error("round {0} was disputed: {1}")]
    Disputed(String, String),
    /// A final report did not verify.
    #[error("the report of {0} does not verify")]
    Verify(String, #[source] accord_edge::report::bundle::Error),
    /// A report could not be written.
    #[error("writing {}", .0.display())]
    Write(PathBuf, #[source] std::io::Error),
}

/// What the scenario did, for the summary.
#[derive(Debug, Default)]
struct Tally {
    returns: u64,
    arrived: u64,
    rejected: u64,
    no_shows: u64,
    nominated: u64,
    admitted: u64,
    refused: u64,
    rounds: Vec<accord_proto::v1::Round>,
    breaks: Vec<(String, u32)>,
}

impl Tally {
    fn count(&mut self, opened: &Opened) {
        for case in &opened.returns {
            self.returns += 1;
            match case.end {
                ReturnEnd::Arrives => self.arrived += 1,
                ReturnEnd::Rejected(_) => self.rejected += 1,
                ReturnEnd::NoShow => self.no_shows += 1,
            }
        }
        for case in &opened.admissions {
            self.nominated += 1;
            match case.end {
                cases::AdmissionEnd::Admitted => self.admitted += 1,
                cases::AdmissionEnd::Refused(_) => self.refused += 1,
            }
        }
    }
}

/// Runs `accord demo`.
pub fn run(args: DemoArgs) -> ExitCode {
    let scenario = match read_scenario(args.scenario.as_deref()) {
        Ok(scenario) => scenario,
        Err(message) => return usage(&message),
    };
    let dir = match folder(args.dir) {
        Ok(dir) => dir,
        Err(message) => return usage(&message),
    };
    crate::serve::block_on("accord demo", "warn", demo(scenario, dir, args.serve))
}

fn read_scenario(path: Option<&Path>) -> Result<Scenario, String> {
    let Some(path) = path else {
        return scenario::parse(scenario::BUILT_IN)
            .map_err(|error| format!("the built-in scenario: {error}"));
    };
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("--scenario {}: {error}", path.display()))?;
    scenario::parse(&text).map_err(|error| format!("--scenario {}: {error}", path.display()))
}

/// The folder: the one named, which must be new or empty (a demo replays its scenario on a
/// new federation; `accord up --dir` resumes one), or a new temporary one.
fn folder(dir: Option<PathBuf>) -> Result<PathBuf, String> {
    let dir = match dir {
        Some(dir) => dir,
        None => {
            let stamp = Timestamp::from_millis(accord_edge::clock::SystemClock.now().as_millis())
                .map_or(0, |now| now.as_millis());
            std::env::temp_dir().join(format!("accord-demo-{stamp}-{}", std::process::id()))
        }
    };
    let holds_something = std::fs::read_dir(&dir).is_ok_and(|mut entries| entries.next().is_some());
    if holds_something {
        return Err(format!(
            "--dir {}: not empty; a demo starts a new federation (name a new folder, or resume \
             this one with `accord up --dir`)",
            dir.display()
        ));
    }
    if dir.exists() && !dir.is_dir() {
        return Err(format!("--dir {}: not a folder", dir.display()));
    }
    Ok(dir)
}

async fn demo(scenario: Scenario, dir: PathBuf, serve: bool) -> ExitCode {
    let mut shutdown = match crate::serve::shutdown_signal() {
        Ok(shutdown) => Box::pin(shutdown),
        Err(error) => {
            eprintln!("accord demo: cannot install signal handlers: {error}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "accord demo: {} — a federation of {} in {}",
        scenario.name,
        codes(&scenario),
        dir.display()
    );
    let clock = ShiftedClock::new();
    let options = up::Options {
        dir: dir.clone(),
        states: Some(scenario.states.clone()),
        timing: Timing {
            clock: Arc::new(clock.clone()),
            crl_hours: Some(CRL_HOURS),
        },
    };
    let mut federation = match up::start_or_exit("accord demo", options, &mut shutdown).await {
        Ok(federation) => federation,
        Err(code) => return code,
    };
    let description = federation.description().clone();
    let replayed = tokio::select! {
        replayed = replay(&scenario, &description, &clock, &dir) => Some(replayed),
        () = &mut shutdown => None,
        error = federation.stopped() => Some(Err(Error::Up(error))),
    };
    let outcome = match replayed {
        None => {
            eprintln!("accord demo: interrupted");
            ExitCode::SUCCESS
        }
        Some(Ok(tally)) => {
            summarise(&scenario, &tally, &federation, &dir);
            if serve {
                up::print_table(&federation);
                tokio::select! {
                    () = &mut shutdown => {}
                    error = federation.stopped() => eprintln!("accord demo: {}", with_sources(&error)),
                }
            }
            ExitCode::SUCCESS
        }
        Some(Err(error)) => {
            eprintln!("accord demo: {}", with_sources(&error));
            ExitCode::FAILURE
        }
    };
    match federation.shutdown().await {
        Ok(()) => outcome,
        Err(error) => {
            eprintln!("accord demo: shutting down: {}", with_sources(&error));
            ExitCode::FAILURE
        }
    }
}

/// Replays every week of `scenario` on the running federation.
async fn replay(
    scenario: &Scenario,
    description: &up::Description,
    clock: &ShiftedClock,
    dir: &Path,
) -> Result<Tally, Error> {
    let parties = Parties::connect(description).await?;
    let reports = dir.join("reports");
    std::fs::create_dir_all(&reports).map_err(|error| Error::Write(reports.clone(), error))?;
    let mut progress = Progress::new(scenario.cases(), scenario.weeks());
    let mut tally = Tally::default();
    let mut offers: Vec<Offer> = Vec::new();
    let mut settled_events = 0;
    let first_week = clock.now().as_millis() + MINUTE_MS;
    let mut number = 0;
    for phase in &scenario.phases {
        let mut phase_offers = Vec::new();
        for week_of_phase in 0..phase.weeks as usize {
            let week = Week {
                number: number + 1,
                start: first_week + i64::from(number) * WEEK_MS,
            };
            number += 1;
            progress.week(week.number, &phase.name);
            clock.advance_to(at(week.start));
            if week_of_phase == 0 {
                rounds::consent(&parties, &phase.consents).await?;
                for flow in &phase.admissions {
                    phase_offers.push(cases::publish(&parties, flow, week, phase.weeks).await?);
                }
                offers.extend(phase_offers.iter().cloned());
            }
            rounds::set_capacities(&parties, phase, week).await?;
            let round_id = rounds::open(&parties, phase, week).await?;
            let flows = (phase.returns.as_slice(), phase.admissions.as_slice());
            let opened = cases::open(&parties, week, week_of_phase, flows, &phase_offers).await?;
            progress.worked(opened.returns.len() + opened.admissions.len());
            let (events, offer_events) = cases::agreed(&parties, &opened, &offers).await?;
            rounds::logged(&parties, 2 * (settled_events + events + offer_events)).await?;
            clock.advance_to(at(week.start + COMPLETE_AFTER_MS));
            cases::complete(&parties, week, &opened).await?;
            let (events, offer_events) = cases::agreed(&parties, &opened, &offers).await?;
            settled_events += events;
            rounds::logged(&parties, 2 * (settled_events + offer_events)).await?;
            tally.count(&opened);
            clock.advance_to(at(week.start + WEEK_MS + MINUTE_MS));
            let round = rounds::settle(&parties, &round_id).await?;
            let paths = (description.ca_cert.as_path(), reports.as_path());
            let round = rounds::write_report(&parties, round, &tally.rounds, paths).await?;
            progress.settled(&round.round_id);
            tally.rounds.push(round);
        }
    }
    progress.done();
    tally.breaks = rounds::open_breaks(&parties).await?;
    Ok(tally)
}

fn at(millis: i64) -> Timestamp {
    Timestamp::from_millis(millis).unwrap_or(Timestamp::MAX)
}

/// Prints what the demo did and what to open next.
fn summarise(scenario: &Scenario, tally: &Tally, federation: &up::Federation, dir: &Path) {
    let description = federation.description();
    println!("accord demo: {} — done", scenario.name);
    println!(
        "cases:    {} readmission requests ({} returned, {} rejected, {} no-shows); {} admission \
         nominations ({} admitted, {} refused)",
        tally.returns,
        tally.arrived,
        tally.rejected,
        tally.no_shows,
        tally.nominated,
        tally.admitted,
        tally.refused
    );
    let reports = tally
        .rounds
        .iter()
        .filter_map(|round| round.report.as_ref()?.report.as_ref());
    let (mut settled, mut gross, mut required, mut numerator, mut denominator) = (0, 0, 0, 0, 0);
    for report in reports {
        settled += u64::from(report.settled);
        gross += u64::from(report.required_gross);
        required += u64::from(report.required);
        numerator += u64::from(report.netting_efficiency_numerator);
        denominator += u64::from(report.netting_efficiency_denominator);
    }
    println!(
        "rounds:   {} weekly rounds, each FINAL with every affected state's countersignature and \
         its report verified as `accord report verify` verifies it",
        tally.rounds.len()
    );
    println!(
        "settled:  {settled} admissions instructed; {gross} owed gross, {required} after netting \
         (netting efficiency {})",
        efficiency(numerator, denominator)
    );
    let breaks = if tally.breaks.is_empty() {
        "none open".to_owned()
    } else {
        let kinds: Vec<String> = tally
            .breaks
            .iter()
            .map(|(kind, count)| format!("{count} {kind}"))
            .collect();
        format!("{} open", kinds.join(", "))
    };
    println!("breaks:   {breaks}");
    println!(
        "reports:  {} (JSON, CSV, HTML, and the bundle for `accord report verify`)",
        dir.join("reports").display()
    );
    if let Some(last) = tally.rounds.last() {
        let round_id = &last.round_id;
        println!(
            "verify:   accord report verify {} --ca {}",
            dir.join("reports")
                .join(format!("{round_id}.bundle"))
                .display(),
            description.ca_cert.display()
        );
        println!(
            "open:     {gateway}/rounds and {gateway}/rounds/{round_id} (sign in with the \
             diplomat's or the operator's token in {})",
            federation.description_path().display(),
            gateway = description.coordinator.gateway,
        );
    }
}

/// Netting efficiency as a percentage with one decimal, or a dash when nothing was owed.
fn efficiency(numerator: u64, denominator: u64) -> String {
    if denominator == 0 {
        return "—".to_owned();
    }
    let tenths = (numerator * 1_000 + denominator / 2) / denominator;
    format!("{}.{} %", tenths / 10, tenths % 10)
}

fn codes(scenario: &Scenario) -> String {
    scenario
        .states
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn usage(message: &str) -> ExitCode {
    eprintln!("accord demo: {message}");
    ExitCode::from(EXIT_USAGE)
}
