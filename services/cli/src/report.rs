//! `accord report verify`: a settlement report checked offline, from the network's root CA
//! alone, by anyone — a state, an auditor, a diplomat.
//!
//! `accord report verify REPORT --ca CA.pem [--log-checkpoint FILE] [--events EVENTS.jsonl]`
//! runs `accord_edge::report::bundle::verify` and prints one line per check passed
//! (`ok: …`) on standard output; at the first check that fails it prints one line naming
//! what failed (`accord report verify: FAILED: …`) on standard error and exits 1 — whatever
//! byte of REPORT was altered, including one that leaves it undecodable: REPORT's content
//! is what is verified. The verifier's own input that cannot be read or parsed — a missing
//! file, a CA.pem without a certificate, a malformed checkpoint file or events line — exits
//! 2 with one line naming the file and the problem.
//!
//! The files:
//!
//! - **REPORT**: an `accord.v1.SettlementReportBundle` in its binary protobuf encoding
//!   (settlement.proto): the signed report with its countersignatures, the signed tree head
//!   at the cut-off, the directory in force and the coordinator's certificate chain.
//! - **CA.pem**: the network's root CA certificate (PEM), as `accord pki init` writes it.
//! - **`--log-checkpoint FILE`**: a checkpoint the verifier already trusts — the signed note
//!   exactly as `GetTreeHead` returns it (`SignedTreeHead.checkpoint`: body, blank line,
//!   signature lines starting with `— `) — followed, when its size differs from the
//!   report's cut-off, by the RFC 9162 consistency proof between the two sizes (from the
//!   smaller to the larger, as `GetConsistencyProof` returns it), one standard-base64 hash
//!   per line, right after the signature lines.
//! - **`--events EVENTS.jsonl`**: one event per line, a JSON object
//!   `{"leaf_index": 3, "tree_size": 10, "leaf": "<base64>", "audit_path": ["<base64>", …]}`:
//!   the leaf's canonical bytes (`accord.v1.LedgerLeaf`, what the log hashed) and its
//!   inclusion proof (`InclusionProof`) at the report's cut-off size, standard base64. Blank
//!   lines are skipped.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use accord_edge::report::bundle::{self, Event, TrustedCheckpoint};
use accord_trust::log::Hash;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::error_text::{one_line, with_sources};

/// The largest file read, in bytes: a bundle of a 32-state round is tens of kilobytes.
const FILE_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// `accord report` commands.
#[derive(Debug, clap::Subcommand)]
pub enum ReportCommand {
    /// Check a settlement report bundle offline: the coordinator's certificate and signature,
    /// the optimality certificate, every countersignature, the log's checkpoint, and
    /// optionally consistency with a trusted checkpoint and the inclusion of given events.
    #[command(
        long_about = "Check a settlement report bundle offline, from the root CA alone: \
the coordinator's certificate and signature, the optimality certificate and every figure, \
every affected state's countersignature, the checkpoint at the cut-off, and optionally the \
consistency of a checkpoint you already trust and the inclusion of your events.\n\n\
Exit status: 0 every check passed; 1 a check failed (the line names it); 2 a file cannot be \
read or parsed."
    )]
    Verify(VerifyArgs),
}

/// Arguments of `accord report verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The report bundle: a binary `accord.v1.SettlementReportBundle`.
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,
    /// The network's root CA certificate (PEM).
    #[arg(long, value_name = "CA.pem")]
    pub ca: PathBuf,
    /// A checkpoint you already trust, followed by the consistency proof to the report's
    /// cut-off when the sizes differ (one base64 hash per line).
    #[arg(long, value_name = "FILE")]
    pub log_checkpoint: Option<PathBuf>,
    /// Events to find in the log at the cut-off: one JSON object per line (leaf_index,
    /// tree_size, leaf, audit_path; base64).
    #[arg(long, value_name = "EVENTS.jsonl")]
    pub events: Option<PathBuf>,
}

/// Input that cannot be read or parsed: exit 2.
#[derive(Debug)]
struct Unreadable(String);

/// Runs `accord report COMMAND`.
pub fn run(command: ReportCommand) -> ExitCode {
    match command {
        ReportCommand::Verify(args) => verify(&args),
    }
}

fn verify(args: &VerifyArgs) -> ExitCode {
    let inputs = match read_inputs(args) {
        Ok(inputs) => inputs,
        Err(Unreadable(message)) => {
            eprintln!("accord report verify: {}", one_line(&message));
            return ExitCode::from(2);
        }
    };
    let (bytes, roots, trusted, events) = inputs;
    let outcome = bundle::verify(&bytes, &roots, trusted.as_ref(), &events, &mut |passed| {
        println!("ok: {passed}");
    });
    match outcome {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!(
                "accord report verify: FAILED: {}",
                one_line(&with_sources(&error))
            );
            ExitCode::from(1)
        }
    }
}

type Inputs = (
    Vec<u8>,
    accord_trust::CaBundle,
    Option<TrustedCheckpoint>,
    Vec<Event>,
);

fn read_inputs(args: &VerifyArgs) -> Result<Inputs, Unreadable> {
    let bytes = read(&args.report)?;
    let roots = accord_trust::load_ca(&args.ca)
        .map_err(|error| Unreadable(format!("{}: {}", args.ca.display(), with_sources(&error))))?;
    let trusted = args
        .log_checkpoint
        .as_deref()
        .map(|path| {
            let text = read_text(path)?;
            trusted_checkpoint(&text)
                .map_err(|problem| Unreadable(format!("{}: {problem}", path.display())))
        })
        .transpose()?;
    let events = match args.events.as_deref() {
        None => Vec::new(),
        Some(path) => events(&read_text(path)?)
            .map_err(|problem| Unreadable(format!("{}: {problem}", path.display())))?,
    };
    Ok((bytes, roots, trusted, events))
}

fn read(path: &Path) -> Result<Vec<u8>, Unreadable> {
    let unreadable = |error: std::io::Error| Unreadable(format!("{}: {error}", path.display()));
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(FILE_BYTES_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > FILE_BYTES_MAX {
        return Err(Unreadable(format!(
            "{}: larger than {FILE_BYTES_MAX} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

fn read_text(path: &Path) -> Result<String, Unreadable> {
    String::from_utf8(read(path)?)
        .map_err(|_| Unreadable(format!("{}: not UTF-8 text", path.display())))
}

/// The checkpoint's note (through its last signature line) and the proof lines after it.
fn trusted_checkpoint(text: &str) -> Result<TrustedCheckpoint, String> {
    let blank = text
        .find("\n\n")
        .ok_or("no signed note (a body, a blank line, signature lines)")?;
    let mut note_end = blank + 2;
    let mut proof = Vec::new();
    let mut proof_started = false;
    for (number, line) in text[blank + 2..].split_inclusive('\n').enumerate() {
        if !proof_started && line.starts_with("— ") {
            note_end += line.len();
            continue;
        }
        proof_started = true;
        let hash = line.trim_end_matches('\n');
        if hash.is_empty() {
            continue;
        }
        let bytes = BASE64
            .decode(hash)
            .map_err(|_| format!("proof line {}: not base64", number + 1))?;
        proof.push(
            Hash::from_slice(&bytes)
                .map_err(|_| format!("proof line {}: not a 32-byte hash", number + 1))?,
        );
    }
    Ok(TrustedCheckpoint {
        note: text.as_bytes()[..note_end].to_vec(),
        consistency_proof: proof,
    })
}

/// One events line.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EventLine {
    leaf_index: u64,
    tree_size: u64,
    leaf: String,
    audit_path: Vec<String>,
}

fn events(text: &str) -> Result<Vec<Event>, String> {
    let mut events = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: EventLine =
            serde_json::from_str(line).map_err(|error| format!("line {number}: {error}"))?;
        let base64 = |text: &str, what: &str| {
            BASE64
                .decode(text)
                .map_err(|_| format!("line {number}: {what} is not base64"))
        };
        let audit_path = parsed
            .audit_path
            .iter()
            .map(|hash| {
                Hash::from_slice(&base64(hash, "an audit path hash")?)
                    .map_err(|_| format!("line {number}: an audit path hash is not 32 bytes"))
            })
            .collect::<Result<_, _>>()?;
        events.push(Event {
            line: number,
            leaf: base64(&parsed.leaf, "leaf")?,
            leaf_index: parsed.leaf_index,
            tree_size: parsed.tree_size,
            audit_path,
        });
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_file_is_the_note_then_proof_lines() {
        let hash = BASE64.encode([9u8; 32]);
        let text = format!("log\n4\n{hash}\n\n— log AAAA\n— w BBBB\n{hash}\n{hash}\n");
        let trusted = trusted_checkpoint(&text).unwrap();
        assert_eq!(
            String::from_utf8(trusted.note).unwrap(),
            format!("log\n4\n{hash}\n\n— log AAAA\n— w BBBB\n")
        );
        assert_eq!(
            trusted.consistency_proof,
            vec![Hash::from_bytes([9; 32]); 2]
        );
        assert!(trusted_checkpoint("no blank line\n").is_err());
        assert!(trusted_checkpoint("a\n\n— x Y\nnot-base64!\n").is_err());
    }

    #[test]
    fn an_events_line_names_its_fields_and_its_line_when_wrong() {
        let hash = BASE64.encode([1u8; 32]);
        let line = format!(
            r#"{{"leaf_index": 2, "tree_size": 4, "leaf": "AAEC", "audit_path": ["{hash}"]}}"#
        );
        let parsed = events(&format!("\n{line}\n")).unwrap();
        assert_eq!(parsed[0].line, 2);
        assert_eq!(parsed[0].leaf, [0, 1, 2]);
        let wrong = events(r#"{"leaf_index": 2}"#).unwrap_err();
        assert!(wrong.starts_with("line 1: missing field"), "{wrong}");
    }
}
