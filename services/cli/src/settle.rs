//! `accord settle`: the settlement engine on a JSON instance.
//!
//! `accord settle [--input FILE] [--output FILE]` reads a settlement input (standard input
//! when no file is given), settles it with `accord_domain::settlement::solve`, checks the
//! solver's own optimality certificate, and writes the report with its certificate (standard
//! output when no file is given). `accord settle --verify REPORT [--input FILE]` solves
//! nothing: it reads a report written earlier — by this or any other program — and checks it
//! against the input with `accord_domain::settlement::verify`: every instruction feasible,
//! every figure right, the settled total maximal (the certificate's cut) and the redirected
//! count minimal (the certificate's potentials). The JSON shapes are in `input` and `output`.
//!
//! Exit status: 0 on success; 2 when the input or the report cannot be read or is invalid
//! (one line on standard error naming the problem and where it is); 1 when a report does not
//! verify or the output cannot be written. Output is written whole or not at all.

#[macro_use]
mod json;
mod input;
mod output;

use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use accord_domain::settlement::{VerifyError, solve, verify};

use crate::error_text::one_line;

/// The largest input or report read, in bytes: far above a 1,000-state instance (~5 MB).
const DOCUMENT_BYTES_MAX: u64 = 256 * 1024 * 1024;

/// Arguments of `accord settle`.
#[derive(Debug, Clone, clap::Args)]
#[command(
    about = "Settle one-for-one balances: gross, bilateral or multilateral netting",
    long_about = "Settle one-for-one balances: which admissions settle the debts that \
returns created, in gross, bilateral or multilateral netting mode, within capacities, \
candidate limits and consents. Settles the most admissions possible, then redirects the \
fewest. The report includes a certificate of optimality (node potentials and a minimum cut) \
that `accord settle --verify REPORT` checks without solving again.\n\n\
Exit status: 0 success; 1 the report does not verify, or the output cannot be written; \
2 the input or the report is invalid."
)]
pub struct SettleArgs {
    /// The settlement input (JSON); standard input when absent.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Where to write the report (JSON); standard output when absent.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Instead of solving, check REPORT (an earlier output, certificate included) against
    /// the input: feasible, figures right, settled maximal, redirected minimal.
    #[arg(long, value_name = "REPORT")]
    pub verify: Option<PathBuf>,
}

/// Why `accord settle` failed.
#[derive(Debug)]
enum Error {
    /// A file or standard input could not be read.
    Read {
        source_name: String,
        error: std::io::Error,
    },
    /// A document is larger than [`DOCUMENT_BYTES_MAX`].
    TooLarge { source_name: String },
    /// The input is invalid.
    Input(input::Error),
    /// The report given to `--verify` is not a report.
    Report(json::Error),
    /// The report given to `--verify` does not verify.
    Refuted { report: String, error: VerifyError },
    /// The solver's own certificate did not verify: a bug, reported rather than printed.
    Solver(VerifyError),
    /// The output could not be written.
    Write {
        target: String,
        error: std::io::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Read { source_name, error } => {
                write!(formatter, "{source_name}: cannot read: {error}")
            }
            Error::TooLarge { source_name } => {
                write!(
                    formatter,
                    "{source_name}: larger than {DOCUMENT_BYTES_MAX} bytes"
                )
            }
            Error::Input(error) => error.fmt(formatter),
            Error::Report(error) => error.fmt(formatter),
            Error::Refuted { report, error } => {
                write!(formatter, "{report} does not verify: {error}")
            }
            Error::Solver(error) => write!(
                formatter,
                "internal error: the solver's certificate does not verify: {error}"
            ),
            Error::Write { target, error } => write!(formatter, "{target}: cannot write: {error}"),
        }
    }
}

impl Error {
    fn exit_status(&self) -> u8 {
        match self {
            Error::Read { .. } | Error::TooLarge { .. } | Error::Input(_) | Error::Report(_) => 2,
            Error::Refuted { .. } | Error::Solver(_) | Error::Write { .. } => 1,
        }
    }
}

/// Runs `accord settle` and returns its exit status; errors are printed as one line.
pub fn run(args: SettleArgs) -> ExitCode {
    match execute(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("accord settle: {}", one_line(&error.to_string()));
            ExitCode::from(error.exit_status())
        }
    }
}

fn execute(args: &SettleArgs) -> Result<(), Error> {
    let input_text = read_document(args.input.as_deref())?;
    let settlement_input = input::parse(&input_text).map_err(Error::Input)?;
    let text = match &args.verify {
        Some(report_path) => {
            let report_text = read_document(Some(report_path))?;
            let claimed = output::parse_report(&report_text).map_err(Error::Report)?;
            verify(&settlement_input, &claimed.report, &claimed.certificate).map_err(|error| {
                Error::Refuted {
                    report: report_path.display().to_string(),
                    error,
                }
            })?;
            format!(
                "verified: {} settles {} (the maximum) with {} redirected (the minimum)\n",
                report_path.display(),
                claimed.report.settled,
                claimed.report.redirected
            )
        }
        None => {
            let settlement = solve(&settlement_input);
            verify(
                &settlement_input,
                &settlement.report,
                &settlement.certificate,
            )
            .map_err(Error::Solver)?;
            output::to_json(&settlement)
        }
    };
    write_document(args.output.as_deref(), &text)
}

fn read_document(path: Option<&Path>) -> Result<String, Error> {
    let source_name = path.map_or("standard input".to_owned(), |path| {
        path.display().to_string()
    });
    let read_error = |error| Error::Read {
        source_name: source_name.clone(),
        error,
    };
    let mut bytes = Vec::new();
    match path {
        Some(path) => std::fs::File::open(path)
            .map_err(read_error)?
            .take(DOCUMENT_BYTES_MAX + 1)
            .read_to_end(&mut bytes),
        None => std::io::stdin()
            .lock()
            .take(DOCUMENT_BYTES_MAX + 1)
            .read_to_end(&mut bytes),
    }
    .map_err(read_error)?;
    if bytes.len() as u64 > DOCUMENT_BYTES_MAX {
        return Err(Error::TooLarge { source_name });
    }
    String::from_utf8(bytes).map_err(|_| Error::Read {
        source_name: source_name.clone(),
        error: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
    })
}

/// Writes the whole text, or nothing: a file is written beside its target and renamed.
fn write_document(path: Option<&Path>, text: &str) -> Result<(), Error> {
    let Some(path) = path else {
        let mut stdout = std::io::stdout().lock();
        return stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|error| Error::Write {
                target: "standard output".to_owned(),
                error,
            });
    };
    let write_error = |error| Error::Write {
        target: path.display().to_string(),
        error,
    };
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, text).map_err(write_error)?;
    std::fs::rename(&partial, path).map_err(|error| {
        let _ = std::fs::remove_file(&partial);
        write_error(error)
    })
}
