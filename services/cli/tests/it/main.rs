//! The `accord` binary's integration tests: each module runs the real binary. What they share
//! to run it lives here: a command run to its end and the checks of its exit code, a server
//! started and stopped with SIGTERM, a long-running command whose output goes to files, and
//! a gateway's JSON read as its clients read it.

mod browser;
mod coordinator;
mod demo;
mod node;
mod pki;
mod report;
mod settle;
mod up;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `accord args` to its end.
fn accord(args: &[&str]) -> Output {
    accord_with(args, &[])
}

/// Runs `accord args` to its end with the variables of `environment` set.
fn accord_with(args: &[&str], environment: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_accord"))
        .args(args)
        .envs(environment.iter().copied())
        .output()
        .expect("accord runs")
}

/// What `accord` wrote, as text.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Checks that `output` is a success (its standard error in the message otherwise); answers
/// its standard output.
fn succeeded(output: &Output) -> String {
    exited_with(output, 0);
    text(&output.stdout)
}

/// Checks that `output` exited with `code` (its standard error in the message otherwise);
/// answers its standard error.
fn exited_with(output: &Output, code: i32) -> String {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "stderr: {stderr}");
    stderr
}

/// Runs `accord report verify bundle --ca ca`, checking that the report verifies; answers
/// what it printed.
fn verify_report(bundle: &Path, ca: &Path) -> String {
    succeeded(&accord(&[
        "report",
        "verify",
        bundle.to_str().unwrap(),
        "--ca",
        ca.to_str().unwrap(),
    ]))
}

/// `GET url` with the bearer `token`, as a gateway's client calls it: the JSON answered.
async fn get_json(url: &str, token: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Runs each of `commands` in turn, checking that each succeeds.
fn all_succeed(commands: &[Vec<&str>]) {
    for args in commands {
        let output = accord(args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
}

/// Starts `accord args` (with `RUST_LOG=warn`), a server whose first line on standard error
/// is `{program}: listening on ADDRESS`; answers the process and that address.
fn listening(args: &[&str], program: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_accord"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let address = first
        .strip_prefix(&format!("{program}: listening on "))
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    (child, address)
}

/// Sends SIGTERM to `child` and waits for it to exit.
fn terminate(child: &mut Child) -> ExitStatus {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    child.wait().unwrap()
}

/// Stops a server with SIGTERM and checks that it exits 0.
fn stop(mut child: Child) {
    assert_eq!(
        terminate(&mut child).code(),
        Some(0),
        "a graceful shutdown exits 0"
    );
}

/// What a spawned `accord` wrote to the files of its standard output and error, for a failing
/// test's message (an unreadable file reads as empty).
fn logs(stdout: &Path, stderr: &Path) -> String {
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    format!("stdout:\n{}\nstderr:\n{}", read(stdout), read(stderr))
}

/// A running `accord` whose standard output and error go to files; a test that fails leaves
/// none running.
struct Spawned {
    command: String,
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Spawned {
    /// Starts `accord args`, its output in `logs/{run}.out` and `logs/{run}.err`.
    fn spawn(args: &[&str], logs: &Path, run: &str) -> Self {
        let stdout = logs.join(format!("{run}.out"));
        let stderr = logs.join(format!("{run}.err"));
        let child = Command::new(env!("CARGO_BIN_EXE_accord"))
            .args(args)
            .stdout(Stdio::from(std::fs::File::create(&stdout).unwrap()))
            .stderr(Stdio::from(std::fs::File::create(&stderr).unwrap()))
            .spawn()
            .unwrap();
        Self {
            command: format!("accord {}", args[0]),
            child,
            stdout,
            stderr,
        }
    }

    /// What it wrote so far.
    fn output(&self) -> String {
        logs(&self.stdout, &self.stderr)
    }

    /// Asks `ready` every 100 ms until it answers; fails if the process exits first or
    /// `timeout` passes (`missing` says what did not come).
    fn wait_for<T>(
        &mut self,
        timeout: Duration,
        missing: &str,
        mut ready: impl FnMut(&Self) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(answer) = ready(self) {
                return answer;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "{} exited with {status} first:\n{}",
                    self.command,
                    self.output()
                );
            }
            assert!(Instant::now() < deadline, "{missing}:\n{}", self.output());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM, then the exit code and what it wrote.
    fn stop(mut self) -> (Option<i32>, String) {
        let code = terminate(&mut self.child).code();
        (code, self.output())
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
