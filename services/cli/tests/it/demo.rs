//! `accord demo` through the real binary, on a small scenario of three states: the pilot's
//! week between GB and FR settled bilaterally, then a week among GB, FR and DE settled
//! multilaterally. Both rounds end FINAL, each report is written as JSON, CSV, HTML and the
//! bundle that `accord report verify` accepts, and the summary counts what the scenario
//! said; with `--serve` the federation stays up for a diplomat's gateway until SIGTERM. Bad
//! input exits 2 and starts nothing.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{Spawned, accord, exited_with, get_json, text, verify_report};

/// How long a small demo may take (a debug build, shared cores).
const DEMO_TIMEOUT: Duration = Duration::from_secs(240);

/// Week 1: GB returns 5 to FR (one rejected) and admits 2 from FR. Week 2: FR returns 4 to
/// DE (one no-show), DE returns 3 to FR.
pub const SMALL: &str = r#"
name = "A small federation"
states = ["GB", "FR", "DE"]

[[phases]]
name = "pilot"
weeks = 1
netting = "BILATERAL"
round_states = ["GB", "FR"]

[[phases.returns]]
from = "GB"
to = "FR"
regime = "UKFR_2025"
per_week = [5]
rejected = { INSUFFICIENT_EVIDENCE = 1 }

[[phases.admissions]]
admitting = "GB"
origin = "FR"
regime = "UKFR_2025"
per_week = [2]

[[phases]]
name = "three states"
weeks = 1
netting = "MULTILATERAL"

[[phases.returns]]
from = "FR"
to = "DE"
regime = "DUBLIN_III"
per_week = [4]
no_shows = 1

[[phases.returns]]
from = "DE"
to = "FR"
regime = "DUBLIN_III"
per_week = [3]
"#;

/// A folder with the small scenario in it and the federation's folder named beside it.
pub fn prepared() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let folder = tempfile::tempdir().unwrap();
    let scenario = folder.path().join("small.toml");
    std::fs::write(&scenario, SMALL).unwrap();
    let dir = folder.path().join("federation");
    (folder, scenario, dir)
}

/// The files in `dir/reports`, by name.
fn reports(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("reports"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn report(dir: &Path, name: &str) -> Value {
    let text = std::fs::read_to_string(dir.join("reports").join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn instructions(report: &Value) -> Vec<(String, String, u64)> {
    report["instructions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|instruction| {
            (
                instruction["admitting"].as_str().unwrap().to_owned(),
                instruction["origin"].as_str().unwrap().to_owned(),
                instruction["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_small_scenario_settles_every_week_to_final_with_verified_reports_and_a_true_summary() {
    let (_folder, scenario, dir) = prepared();
    let started = Instant::now();
    let demo = accord(&[
        "demo",
        "--dir",
        dir.to_str().unwrap(),
        "--scenario",
        scenario.to_str().unwrap(),
    ]);
    let (stdout, stderr) = (text(&demo.stdout), text(&demo.stderr));
    assert_eq!(demo.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(started.elapsed() < DEMO_TIMEOUT);
    assert!(
        stdout.contains(
            "cases:    12 readmission requests (10 returned, 1 rejected, 1 no-shows); \
             2 admission nominations (2 admitted, 0 refused)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("rounds:   2 weekly rounds, each FINAL"),
        "{stdout}"
    );
    let names = reports(&dir);
    let rounds: Vec<&str> = names
        .iter()
        .filter_map(|name| name.strip_suffix(".bundle"))
        .collect();
    assert_eq!(rounds.len(), 2, "{names:?}");
    for round in &rounds {
        for extension in ["json", "csv", "html", "fr.html"] {
            assert!(
                names.contains(&format!("{round}.{extension}")),
                "{round}.{extension} in {names:?}"
            );
        }
        let bundle = dir.join("reports").join(format!("{round}.bundle"));
        verify_report(&bundle, &dir.join("pki").join("ca.pem"));
    }
    // Week 1: 4 returned to FR, 2 admitted from it: GB is told to admit 2 more.
    let first = report(&dir, &format!("{}.json", rounds[0]));
    assert_eq!(first["mode"], "bilateral");
    assert_eq!(instructions(&first), [("GB".into(), "FR".into(), 2)]);
    // Week 2: FR and DE returned 3 each to the other, which nets to nothing.
    let second = report(&dir, &format!("{}.json", rounds[1]));
    assert_eq!(second["mode"], "multilateral");
    assert_eq!(second["required_gross"], 6);
    assert_eq!(second["required"], 0);
    // The demo stopped cleanly: the federation's description is gone, the folder stays.
    assert!(!dir.join("federation.json").exists());
}

/// A running `accord demo --serve`, its output in files.
pub struct Serving(Spawned);

impl Serving {
    /// Starts `accord demo --serve` of `scenario` in `dir`, its output beside `scenario`.
    pub fn spawn(dir: &Path, scenario: &Path) -> Self {
        let args = [
            "demo",
            "--serve",
            "--dir",
            dir.to_str().unwrap(),
            "--scenario",
            scenario.to_str().unwrap(),
        ];
        Self(Spawned::spawn(&args, scenario.parent().unwrap(), "demo"))
    }

    /// Waits until the demo serves, then reads its `federation.json`.
    pub fn federation(&mut self, dir: &Path) -> Value {
        self.0.wait_for(DEMO_TIMEOUT, "not serving", |demo| {
            demo.output().contains("running until Ctrl-C").then_some(())
        });
        let text = std::fs::read_to_string(dir.join("federation.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// SIGTERM, then the exit code.
    pub fn stop(self) -> Option<i32> {
        let (code, output) = self.0.stop();
        assert_eq!(code, Some(0), "{output}");
        code
    }
}

#[test]
fn with_serve_the_federation_stays_up_for_a_diplomat_until_sigterm() {
    let (_folder, scenario, dir) = prepared();
    let mut serving = Serving::spawn(&dir, &scenario);
    let federation = serving.federation(&dir);
    let gateway = federation["coordinator"]["gateway"].as_str().unwrap();
    let diplomat = federation["tokens"]["diplomat"].as_str().unwrap();
    let rounds = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(get_json(&format!("{gateway}/v1/rounds"), diplomat));
    let statuses: Vec<&str> = rounds["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|round| round["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["FINAL", "FINAL"], "{rounds}");
    assert_eq!(serving.stop(), Some(0));
}

#[test]
fn a_folder_that_holds_something_or_a_wrong_scenario_is_refused_with_exit_2() {
    let (folder, scenario, dir) = prepared();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let taken = exited_with(&accord(&["demo", "--dir", dir.to_str().unwrap()]), 2);
    assert!(taken.contains("not empty"), "{taken}");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "nothing was written"
    );

    let fresh = folder.path().join("fresh");
    std::fs::write(
        &scenario,
        SMALL.replace("per_week = [3]", "per_week = [3, 3]"),
    )
    .unwrap();
    let wrong = accord(&[
        "demo",
        "--dir",
        fresh.to_str().unwrap(),
        "--scenario",
        scenario.to_str().unwrap(),
    ]);
    let message = exited_with(&wrong, 2);
    assert!(
        message.contains("phases[1].returns[1].per_week: 2 weeks named, the phase has 1"),
        "{message}"
    );
    assert!(!fresh.exists(), "nothing was started");
}
