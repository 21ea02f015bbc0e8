//! `accord pki`: the network's certificate authority, run by the coordinator's operators.
//!
//! `init` creates the root CA and an empty revocation list in a directory; `issuing-ca`
//! makes an issuing CA signed by the root, after which the root's key can go offline;
//! `issue` makes a certificate and key for the coordinator (with its directory-signing key)
//! or an operator — and, for tests and a pair of nodes without a coordinator, for a node (with
//! the state's event-signing key pair) or a gateway; in a network, states join with
//! `accord join` instead, and their private keys never leave them; `revoke` revokes
//! certificates and re-signs the revocation list; `crl` re-signs it before it expires;
//! `list` shows what was issued. `issue`, `revoke` and `crl` sign with the issuing CA when
//! the directory has one, and with the root otherwise. Certificates are ECDSA P-256.
//!
//! The directory layout is `accord_trust::pki::directory`'s:
//!
//! ```text
//! DIR/ca.pem           the root CA certificate: every party trusts it, and only it
//! DIR/ca.key           the root's key (0600): needed by `init`, `issuing-ca`,
//!                      `revoke --issuing-ca` and `crl --root` only
//! DIR/issuing-ca.pem   the issuing CA certificate, signed by the root (after `issuing-ca`)
//! DIR/issuing-ca.key   its key (0600)
//! DIR/crl.pem          what every party loads: the signing CA's revocation list, then,
//!                      under an issuing CA, the root's (`root-crl.pem`, revoking issuing CAs)
//! DIR/crl.number, DIR/index.tsv, DIR/issued/…   what was issued (certificate files hold
//!                      the holder's certificate followed by the issuing CA's)
//! ```
//!
//! An offline root: `accord pki init --dir ROOT` on the offline machine, then
//! `accord pki issuing-ca --dir ROOT --out ONLINE` writes a new directory ONLINE with a copy
//! of `ca.pem` and `root-crl.pem` and the issuing CA, never the root's key; ONLINE then
//! issues and revokes. Without `--out`, the issuing CA joins ROOT itself, and `ca.key` can
//! be moved away. Revocation works at both levels: `revoke` and `crl` act on the signing
//! CA's list; `revoke --issuing-ca SERIAL` and `crl --root` act on the root's, where the
//! root's key is (its list lives a year by default: re-sign it before then). A directory
//! the issuing CA runs elsewhere takes a copy of the new `root-crl.pem` and runs `crl`.
//!
//! Exit status: 0 success; 2 bad input — a malformed value, a missing or contradictory
//! option, an existing CA or certificate, an unknown serial, a root key that is not there
//! or a root that allows no CA below it — with one line on standard error; 1 a failure
//! while running (a file that cannot be written, say).

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use accord_domain::StateCode;
use accord_trust::clock::wall_clock_now;
use accord_trust::pki::directory::{self, IssuedFiles, PkiDirectory, RevocationTarget};
use accord_trust::pki::{IssueRequest, Serial, Validity};
use accord_trust::{OperatorName, PeerIdentity};

use crate::error_text::{one_line, with_sources};

/// Default lifetime of the root CA, in days (ten years).
const CA_DAYS_DEFAULT: u32 = 3650;

/// Default lifetime of an issuing CA, in days (five years): half the root's, so that one
/// root sees at least one issuing CA through.
const ISSUING_CA_DAYS_DEFAULT: u32 = 1825;

/// Default lifetime of the root's revocation list (revoking issuing CAs), in days: a year,
/// since the root's key comes out of offline storage to re-sign it.
const ROOT_CRL_DAYS_DEFAULT: u32 = 365;

/// Default lifetime of an issued certificate, in days.
const CERTIFICATE_DAYS_DEFAULT: u32 = 365;

/// Default lifetime of a revocation list, in days. Servers refuse every client once the
/// list they hold has expired, so it must be re-signed (`accord pki crl`) within this time.
const CRL_DAYS_DEFAULT: u32 = 30;

/// Longest lifetime accepted for anything, in days (a hundred years).
const DAYS_MAX: i64 = 36_500;

/// Exit status for bad input.
const EXIT_USAGE: u8 = 2;

/// Exit status for a failure while running.
const EXIT_FAILURE: u8 = 1;

/// Parses a number of days: 1 to [`DAYS_MAX`].
fn days() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(1..=DAYS_MAX)
}

/// The `accord pki` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum PkiCommand {
    /// Create the network root CA and an empty revocation list in a new directory.
    Init(InitArgs),
    /// Create an issuing CA signed by the root CA, which then signs certificates and the
    /// revocation list, so that the root's private key can be kept offline.
    IssuingCa(IssuingCaArgs),
    /// Issue a certificate and private key for the coordinator (with its directory-signing
    /// key) or an operator; for a node or a gateway only in tests and for a pair without a
    /// coordinator: a network's states join with `accord join`, keeping their keys.
    /// A node also gets the state's event-signing key pair.
    Issue(IssueArgs),
    /// Revoke certificates, by serial or by holder, and re-sign the revocation list.
    Revoke(RevokeArgs),
    /// Re-sign the revocation list with a fresh validity window, before it expires.
    Crl(CrlArgs),
    /// List every certificate this CA issued, with its status.
    List(ListArgs),
}

/// Arguments of `accord pki init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The CA directory to create (ca.pem, ca.key, crl.pem, index.tsv, issued/).
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// How many days the root CA is valid.
    #[arg(long, value_name = "N", default_value_t = CA_DAYS_DEFAULT, value_parser = days())]
    pub days: u32,
    /// How many days the first revocation list is valid.
    #[arg(long, value_name = "N", default_value_t = CRL_DAYS_DEFAULT, value_parser = days())]
    pub crl_days: u32,
}

/// Arguments of `accord pki issuing-ca`.
#[derive(Debug, clap::Args)]
pub struct IssuingCaArgs {
    /// The root CA's directory (made by `accord pki init`, with the root's ca.key).
    #[arg(long, visible_alias = "pki", value_name = "DIR")]
    pub dir: PathBuf,
    /// A new directory for the issuing CA (it gets a copy of ca.pem, never ca.key);
    /// without it, the issuing CA is written into --dir.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// How many days the issuing CA is valid.
    #[arg(long, value_name = "N", default_value_t = ISSUING_CA_DAYS_DEFAULT, value_parser = days())]
    pub days: u32,
    /// How many days the revocation list it signs now is valid.
    #[arg(long, value_name = "N", default_value_t = CRL_DAYS_DEFAULT, value_parser = days())]
    pub crl_days: u32,
    /// How many days the root's revocation list, re-signed now, is valid.
    #[arg(long, value_name = "N", default_value_t = ROOT_CRL_DAYS_DEFAULT, value_parser = days())]
    pub root_crl_days: u32,
}

/// Who a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// A state's node (needs --state): serves and calls other parties.
    Node,
    /// A state's local client such as its REST gateway (needs --state).
    Gateway,
    /// The network coordinator.
    Coordinator,
    /// A coordinator operator (needs --name).
    Operator,
}

/// Arguments of `accord pki issue`.
#[derive(Debug, clap::Args)]
pub struct IssueArgs {
    /// The CA directory (made by `accord pki init`, or by `accord pki issuing-ca --out`).
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Who the certificate is for.
    #[arg(long, value_enum)]
    pub role: Role,
    /// The state, as its ISO 3166-1 alpha-2 code (FR, GB, …), for a node or a gateway.
    #[arg(long, value_name = "CODE")]
    pub state: Option<String>,
    /// The operator's name (a-z, 0-9, '-', '_', '.'), for an operator.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// A DNS name the node or coordinator serves on; repeat for several. With neither
    /// --dns nor --ip, the certificate serves on localhost and 127.0.0.1.
    #[arg(long, value_name = "NAME")]
    pub dns: Vec<String>,
    /// An IP address the node or coordinator serves on; repeat for several.
    #[arg(long, value_name = "ADDR")]
    pub ip: Vec<IpAddr>,
    /// How many days the certificate is valid.
    #[arg(long, value_name = "N", default_value_t = CERTIFICATE_DAYS_DEFAULT, value_parser = days())]
    pub days: u32,
    /// Issue even if a certificate for this holder exists; the old one stays valid until it
    /// expires or is revoked. A node's event-signing key is kept.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `accord pki revoke`.
#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    /// The CA directory.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Revoke the certificate with this serial number (hex, as `accord pki list` shows it).
    #[arg(long, value_name = "HEX", conflicts_with_all = ["role", "state", "name"])]
    pub serial: Option<String>,
    /// Revoke the issuing CA with this serial number, in the root's revocation list
    /// (needs the root's ca.key): every certificate below it is then refused.
    #[arg(
        long,
        value_name = "HEX",
        conflicts_with_all = ["serial", "role", "state", "name"]
    )]
    pub issuing_ca: Option<String>,
    /// Revoke every valid certificate of this holder instead (with --state or --name).
    #[arg(long, value_enum, required_unless_present_any = ["serial", "issuing_ca"])]
    pub role: Option<Role>,
    /// The holder's state, for a node or a gateway.
    #[arg(long, value_name = "CODE")]
    pub state: Option<String>,
    /// The holder's name, for an operator.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// How many days the new revocation list is valid [default: 30; with --issuing-ca,
    /// the root's list: 365].
    #[arg(long, value_name = "N", value_parser = days())]
    pub crl_days: Option<u32>,
}

/// Arguments of `accord pki crl`.
#[derive(Debug, clap::Args)]
pub struct CrlArgs {
    /// The CA directory.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Re-sign the root's revocation list, which revokes issuing CAs (needs the root's
    /// ca.key), instead of the signing CA's.
    #[arg(long)]
    pub root: bool,
    /// How many days the new revocation list is valid [default: 30; with --root, 365].
    #[arg(long, value_name = "N", value_parser = days())]
    pub crl_days: Option<u32>,
}

/// Arguments of `accord pki list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// The CA directory.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
}

/// Why a subcommand failed: the input, or the machine.
enum Failure {
    /// Bad input; exit status 2.
    Usage(String),
    /// A failure while running; exit status 1.
    Running(String),
}

impl From<directory::Error> for Failure {
    fn from(error: directory::Error) -> Self {
        if error.is_usage() {
            Self::Usage(with_sources(&error))
        } else {
            Self::Running(with_sources(&error))
        }
    }
}

/// Runs an `accord pki` subcommand; prints results on standard output and any error as
/// one line on standard error, and returns the exit status.
pub fn run(command: PkiCommand) -> ExitCode {
    let outcome = match command {
        PkiCommand::Init(args) => init(&args),
        PkiCommand::IssuingCa(args) => issuing_ca(&args),
        PkiCommand::Issue(args) => issue(&args),
        PkiCommand::Revoke(args) => revoke(&args),
        PkiCommand::Crl(args) => refresh_crl(&args),
        PkiCommand::List(args) => list(&args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("accord pki: {}", one_line(&message));
            ExitCode::from(EXIT_USAGE)
        }
        Err(Failure::Running(message)) => {
            eprintln!("accord pki: {}", one_line(&message));
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn init(args: &InitArgs) -> Result<(), Failure> {
    let now = wall_clock_now();
    let directory = PkiDirectory::new(&args.dir);
    let ca_validity = Validity::days_from(now, args.days).map_err(invalid_days("--days"))?;
    let crl_validity =
        Validity::days_from(now, args.crl_days).map_err(invalid_days("--crl-days"))?;
    directory.init(ca_validity, crl_validity)?;
    println!("created the network root CA in {}", args.dir.display());
    println!(
        "CA certificate: {}",
        directory.ca_certificate_path().display()
    );
    println!(
        "CA private key: {} (mode 0600; keep it offline)",
        directory.ca_key_path().display()
    );
    println!(
        "revocation list: {} (valid until {})",
        directory.crl_path().display(),
        crl_validity.not_after().date()
    );
    Ok(())
}

fn issuing_ca(args: &IssuingCaArgs) -> Result<(), Failure> {
    let now = wall_clock_now();
    let ca_validity = Validity::days_from(now, args.days).map_err(invalid_days("--days"))?;
    let crl_validity =
        Validity::days_from(now, args.crl_days).map_err(invalid_days("--crl-days"))?;
    let root_crl_validity =
        Validity::days_from(now, args.root_crl_days).map_err(invalid_days("--root-crl-days"))?;
    let root_directory = PkiDirectory::new(&args.dir);
    let target = PkiDirectory::new(args.out.as_ref().unwrap_or(&args.dir));
    let issuing = root_directory.create_issuing_ca(
        &target,
        now,
        ca_validity,
        crl_validity,
        root_crl_validity,
    )?;
    println!(
        "created an issuing CA (serial {}) signed by the root CA of {}, valid until {}",
        issuing.serial(),
        args.dir.display(),
        ca_validity.not_after().date()
    );
    println!(
        "issuing CA certificate: {}",
        target.issuing_ca_certificate_path().display()
    );
    println!(
        "issuing CA private key: {} (mode 0600)",
        target.issuing_ca_key_path().display()
    );
    println!(
        "trust anchor: {} (the root CA certificate; give it to every party)",
        target.ca_certificate_path().display()
    );
    println!(
        "revocation list: {} (signed by the issuing CA, valid until {}; then the root's, \
         {}, valid until {})",
        target.crl_path().display(),
        crl_validity.not_after().date(),
        root_directory.root_crl_path().display(),
        root_crl_validity.not_after().date()
    );
    println!(
        "the root CA's private key {} is needed only to revoke an issuing CA and to re-sign \
         the root's revocation list (`accord pki crl --root`, before {}): keep it offline",
        root_directory.ca_key_path().display(),
        root_crl_validity.not_after().date()
    );
    Ok(())
}

fn issue(args: &IssueArgs) -> Result<(), Failure> {
    let now = wall_clock_now();
    let identity = holder(args.role, args.state.as_deref(), args.name.as_deref())?;
    let validity = Validity::days_from(now, args.days).map_err(invalid_days("--days"))?;
    let mut request = IssueRequest::new(identity, validity);
    if !args.dns.is_empty() || !args.ip.is_empty() {
        request.dns_names.clone_from(&args.dns);
        request.ip_addresses.clone_from(&args.ip);
    }
    let files = PkiDirectory::new(&args.dir).issue(&request, args.force)?;
    print_issued(&files);
    Ok(())
}

fn print_issued(files: &IssuedFiles) {
    let certificate = &files.certificate;
    println!(
        "issued {} (serial {}, valid until {})",
        certificate.identity,
        certificate.serial,
        certificate.validity.not_after().date()
    );
    println!("certificate: {}", files.certificate_path.display());
    println!("private key: {}", files.key_path.display());
    if let Some(signing) = &files.signing_key {
        let origin = if signing.generated { "new" } else { "kept" };
        println!(
            "signing key: {} (key id {}, {origin})",
            signing.key_path.display(),
            signing.key_id
        );
        println!("verifying key: {}", signing.verifying_key_path.display());
    }
}

fn revoke(args: &RevokeArgs) -> Result<(), Failure> {
    if let Some(serial) = &args.issuing_ca {
        return revoke_issuing_ca(args, serial);
    }
    let now = wall_clock_now();
    let target = match (&args.serial, args.role) {
        (Some(serial), _) => RevocationTarget::Serial(
            Serial::parse(serial).map_err(|error| Failure::Usage(format!("--serial: {error}")))?,
        ),
        (None, Some(role)) => {
            RevocationTarget::Identity(holder(role, args.state.as_deref(), args.name.as_deref())?)
        }
        (None, None) => {
            return Err(Failure::Usage(
                "give --serial, or --role with --state or --name".to_owned(),
            ));
        }
    };
    let crl_days = args.crl_days.unwrap_or(CRL_DAYS_DEFAULT);
    let crl_validity = Validity::days_from(now, crl_days).map_err(invalid_days("--crl-days"))?;
    let directory = PkiDirectory::new(&args.dir);
    for entry in directory.revoke(&target, now, crl_validity)? {
        println!("revoked {} (serial {})", entry.identity, entry.serial);
    }
    println!(
        "revocation list: {} (valid until {}); servers apply it once they reload it",
        directory.crl_path().display(),
        crl_validity.not_after().date()
    );
    Ok(())
}

/// `revoke --issuing-ca`: the root revokes an issuing CA in its own list.
fn revoke_issuing_ca(args: &RevokeArgs, serial: &str) -> Result<(), Failure> {
    let now = wall_clock_now();
    let serial =
        Serial::parse(serial).map_err(|error| Failure::Usage(format!("--issuing-ca: {error}")))?;
    let crl_days = args.crl_days.unwrap_or(ROOT_CRL_DAYS_DEFAULT);
    let crl_validity = Validity::days_from(now, crl_days).map_err(invalid_days("--crl-days"))?;
    let directory = PkiDirectory::new(&args.dir);
    directory.revoke_issuing_ca(&serial, now, crl_validity)?;
    println!("revoked the issuing CA with serial {serial}: every certificate below it is refused");
    print_root_crl(&directory, crl_validity);
    Ok(())
}

fn refresh_crl(args: &CrlArgs) -> Result<(), Failure> {
    let default_days = if args.root {
        ROOT_CRL_DAYS_DEFAULT
    } else {
        CRL_DAYS_DEFAULT
    };
    let crl_days = args.crl_days.unwrap_or(default_days);
    let crl_validity =
        Validity::days_from(wall_clock_now(), crl_days).map_err(invalid_days("--crl-days"))?;
    let directory = PkiDirectory::new(&args.dir);
    if args.root {
        directory.refresh_root_crl(crl_validity)?;
        print_root_crl(&directory, crl_validity);
        return Ok(());
    }
    directory.refresh_crl(crl_validity)?;
    println!(
        "revocation list: {} (valid until {})",
        directory.crl_path().display(),
        crl_validity.not_after().date()
    );
    Ok(())
}

/// Where the root's new revocation list is, and what to do with it.
fn print_root_crl(directory: &PkiDirectory, crl_validity: Validity) {
    println!(
        "root revocation list: {} (valid until {})",
        directory.root_crl_path().display(),
        crl_validity.not_after().date()
    );
    if directory.has_issuing_ca() {
        println!(
            "revocation list: {} (carries it now); servers apply it once they reload it",
            directory.crl_path().display()
        );
    } else {
        println!(
            "copy it as root-crl.pem into the issuing CA's directory, then run `accord pki crl` \
             there"
        );
    }
}

fn list(args: &ListArgs) -> Result<(), Failure> {
    let entries = PkiDirectory::new(&args.dir).index()?;
    println!("serial\tholder\texpires\tstatus");
    for entry in entries {
        let status = entry.revoked_at.map_or_else(
            || "valid".to_owned(),
            |revoked_at| format!("revoked {}", revoked_at.date()),
        );
        println!(
            "{}\t{}\t{}\t{status}",
            entry.serial,
            entry.identity,
            entry.not_after.date()
        );
    }
    Ok(())
}

/// The holder named by `--role` with `--state` or `--name`, checked for consistency.
fn holder(role: Role, state: Option<&str>, name: Option<&str>) -> Result<PeerIdentity, Failure> {
    let usage = |message: &str| Failure::Usage(message.to_owned());
    match (role, state, name) {
        (Role::Node | Role::Gateway, None, _) => Err(usage(
            "--role node and --role gateway need --state (an ISO 3166-1 alpha-2 code such as FR)",
        )),
        (Role::Operator, _, None) => Err(usage("--role operator needs --name")),
        (Role::Node | Role::Gateway | Role::Coordinator, _, Some(_)) => {
            Err(usage("--name is only for --role operator"))
        }
        (Role::Coordinator | Role::Operator, Some(_), _) => {
            Err(usage("--state is only for --role node and --role gateway"))
        }
        (Role::Node, Some(code), None) => Ok(PeerIdentity::Node(parse_state(code)?)),
        (Role::Gateway, Some(code), None) => Ok(PeerIdentity::Gateway(parse_state(code)?)),
        (Role::Coordinator, None, None) => Ok(PeerIdentity::Coordinator),
        (Role::Operator, None, Some(name)) => OperatorName::parse(name)
            .map(PeerIdentity::Operator)
            .map_err(|error| Failure::Usage(format!("--name: {error}"))),
    }
}

fn parse_state(code: &str) -> Result<StateCode, Failure> {
    StateCode::parse(code).map_err(|error| Failure::Usage(format!("--state: {error}")))
}

fn invalid_days(option: &'static str) -> impl Fn(accord_trust::pki::Error) -> Failure {
    move |error| Failure::Usage(format!("{option}: {}", with_sources(&error)))
}
