//! The `accord` binary's integration tests: each module runs the real binary.

mod browser;
mod coordinator;
mod demo;
mod node;
mod pki;
mod report;
mod settle;
mod up;

/// What a spawned `accord` wrote to the files of its standard output and error, for a failing
/// test's message (an unreadable file reads as empty).
fn logs(stdout: &std::path::Path, stderr: &std::path::Path) -> String {
    let read = |path: &std::path::Path| std::fs::read_to_string(path).unwrap_or_default();
    format!("stdout:\n{}\nstderr:\n{}", read(stdout), read(stderr))
}
