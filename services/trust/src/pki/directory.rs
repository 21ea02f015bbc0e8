//! The CA's files on disk, as `accord pki` keeps them.
//!
//! ```text
//! DIR/ca.pem                     network root CA certificate (public: give it to every party)
//! DIR/ca.key                     the root's private key, PKCS#8 PEM, mode 0600 (see below)
//! DIR/issuing-ca.pem             the issuing CA's certificate, signed by the root (optional)
//! DIR/issuing-ca.key             the issuing CA's private key, PKCS#8 PEM, mode 0600
//! DIR/crl.pem                    the CRL(s) every party loads (public; see below)
//! DIR/crl.number                 the number of the last CRL signed (CRL numbers only grow)
//! DIR/index.tsv                  one line per issued certificate (see below)
//! DIR/issued/FR-node.pem         FR's node certificate chain (+ FR-node.key, mode 0600)
//! DIR/issued/FR-node.signing.key FR's event-signing key, PKCS#8 PEM, mode 0600
//! DIR/issued/FR-node.signing.pub FR's event-verifying key, SubjectPublicKeyInfo PEM
//! DIR/issued/coordinator.signing.key  the coordinator's directory-signing key (0600)
//! DIR/issued/coordinator.signing.pub  its public key, which nodes trust for directories
//! DIR/issued/FR-gateway.pem      FR's gateway client certificate (+ .key)
//! DIR/issued/coordinator.pem     the coordinator's certificate (+ .key)
//! DIR/issued/operator-alice.pem  an operator's client certificate (+ .key)
//! DIR/root-crl.pem               the root's CRL, revoking issuing CAs (signed with ca.key)
//! DIR/root-crl.number            the number of the root's last CRL
//! DIR/issuing-cas/<serial>.pem   every issuing CA the root made here (by serial)
//! ```
//!
//! The **signing CA** — the one that signs certificates and the CRL — is the issuing CA
//! when `issuing-ca.pem` is there, and the root otherwise (a network on its root alone, as
//! [`PkiDirectory::init`] leaves it). [`PkiDirectory::create_issuing_ca`] makes the issuing
//! CA with the root's key, in the root's directory or in a new one (which then gets a copy
//! of `ca.pem` and `root-crl.pem`, never `ca.key`); from then on the root's key is needed
//! only to revoke an issuing CA or re-sign the root's CRL, and belongs offline: `ca.key`
//! may be moved away. Certificate files hold the certificate followed by the issuing CA's
//! certificate, when there is one, so that parties trusting only `ca.pem` can verify them.
//! `crl.pem` is the signing CA's CRL, followed, under an issuing CA, by the root's CRL
//! (`root-crl.pem`): parties check both levels ([`crate::tls`]). An issuing CA is only made
//! while no certificate the root issued from the directory is valid and unrevoked, since
//! nothing here could revoke it afterwards. The root revokes an issuing CA with
//! [`PkiDirectory::revoke_issuing_ca`] and re-signs its own CRL, before its `nextUpdate`,
//! with [`PkiDirectory::refresh_root_crl`]; a directory run by the issuing CA elsewhere
//! then takes a copy of the new `root-crl.pem` and re-signs its CRL
//! ([`PkiDirectory::refresh_crl`]) to ship it.
//!
//! `index.tsv` has a `#` header and one tab-separated line per certificate ever issued:
//! serial (hex), SPIFFE ID, `notAfter` (Unix seconds), and the revocation time (Unix
//! seconds, or `-` while valid). Revocation names certificates through it, by serial or by
//! identity, and every CRL is re-signed from it. Writes go through a temporary file and a
//! rename; one operator at a time is assumed (no lock). The event-signing key of a node is
//! made once and kept when its certificate is renewed, since it is registered in the
//! directory and old signatures must stay verifiable.

mod root;

use std::path::{Path, PathBuf};

use accord_domain::StateCode;
use time::OffsetDateTime;

use super::{CertificateAuthority, IssueRequest, IssuedCertificate, Revocation, Serial, Validity};
use crate::credentials::{self, Crl, PRIVATE_FILE_MODE, PUBLIC_FILE_MODE, write_file_atomically};
use crate::identity::PeerIdentity;
use crate::signing::{EventSigningKey, EventVerifyingKey, KeyId};

/// First line of `index.tsv`.
const INDEX_HEADER: &str = "# serial\tspiffe_id\tnot_after_unix\trevoked_at_unix";

/// Why a PKI directory operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `init` found a CA already there.
    #[error("a network CA already exists in {0}; refusing to overwrite it")]
    AlreadyInitialised(PathBuf),
    /// The directory holds an issuing CA already.
    #[error("an issuing CA already exists in {0}; refusing to overwrite it")]
    IssuingCaExists(PathBuf),
    /// Making an issuing CA needs the root's private key, which is not there.
    #[error("the root CA's private key {0} is not there; bring it back from offline storage")]
    NoRootKey(PathBuf),
    /// Certificates the root issued from the directory are still valid: once an issuing CA
    /// signs the directory's CRL, nothing here could revoke them any more.
    #[error(
        "{count} certificate(s) the root issued from {directory} are still valid and \
         unrevoked, and could not be revoked once an issuing CA signs; revoke them first, or \
         wait until they expire"
    )]
    StillValidCertificates {
        /// The root's directory.
        directory: PathBuf,
        /// How many.
        count: usize,
    },
    /// A directory run by an issuing CA lacks the root's CRL, which its CRL file carries.
    #[error(
        "the root CA's revocation list {0} is not there; copy root-crl.pem from the root's \
         directory"
    )]
    NoRootCrl(PathBuf),
    /// The root's CRL revokes the directory's issuing CA: it may sign nothing more.
    #[error("the issuing CA (serial {0}) is revoked by the root; make a new issuing CA")]
    IssuingCaRevoked(Serial),
    /// The root made no issuing CA with this serial (from this directory).
    #[error("the root CA in this directory made no issuing CA with serial {0}")]
    UnknownIssuingCa(Serial),
    /// The directory holds no CA.
    #[error("no network CA in {0} (run `accord pki init --dir {0}` first)")]
    NotInitialised(PathBuf),
    /// A certificate for this identity exists and replacing it was not asked for.
    #[error("{0} already exists; pass --force to issue a new certificate over it")]
    AlreadyIssued(PathBuf),
    /// No certificate with this serial was ever issued here.
    #[error("no certificate with serial {0} was issued by this CA")]
    UnknownSerial(Serial),
    /// Everything the revocation names is revoked already (or was never issued).
    #[error("nothing to revoke: {0}")]
    NothingToRevoke(String),
    /// A line of `index.tsv` cannot be read.
    #[error("{path} line {line}: unreadable index entry")]
    IndexSyntax {
        /// The index file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
    },
    /// A directory could not be created.
    #[error("cannot create the directory {path}")]
    Folder {
        /// The directory.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// Reading or writing a credential failed.
    #[error(transparent)]
    Credentials(#[from] credentials::Error),
    /// The CA refused the request.
    #[error(transparent)]
    Authority(#[from] super::Error),
    /// An event-signing key could not be made or written.
    #[error(transparent)]
    Signing(#[from] crate::signing::Error),
}

impl Error {
    /// Whether the request, rather than the machine, is at fault (a command-line tool exits
    /// with a usage status for these).
    pub fn is_usage(&self) -> bool {
        match self {
            Self::AlreadyInitialised(_)
            | Self::IssuingCaExists(_)
            | Self::NoRootKey(_)
            | Self::StillValidCertificates { .. }
            | Self::NoRootCrl(_)
            | Self::IssuingCaRevoked(_)
            | Self::UnknownIssuingCa(_)
            | Self::NotInitialised(_)
            | Self::AlreadyIssued(_)
            | Self::UnknownSerial(_)
            | Self::NothingToRevoke(_) => true,
            Self::Authority(error) => {
                !matches!(error, super::Error::Certificate(_) | super::Error::Random)
            }
            _ => false,
        }
    }
}

/// One line of `index.tsv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// The certificate's serial.
    pub serial: Serial,
    /// Who it names.
    pub identity: PeerIdentity,
    /// When it expires.
    pub not_after: OffsetDateTime,
    /// When it was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
}

/// What to revoke.
#[derive(Debug, Clone)]
pub enum RevocationTarget {
    /// One certificate, by serial.
    Serial(Serial),
    /// Every unrevoked certificate issued to this identity.
    Identity(PeerIdentity),
}

/// Where an event-signing key pair was written.
#[derive(Debug, Clone)]
pub struct SigningKeyFiles {
    /// The private key (mode 0600).
    pub key_path: PathBuf,
    /// The public key.
    pub verifying_key_path: PathBuf,
    /// The public key's id.
    pub key_id: KeyId,
    /// Whether the key was made now (`false`: an existing key was kept).
    pub generated: bool,
}

/// What `issue` wrote.
#[derive(Debug, Clone)]
pub struct IssuedFiles {
    /// The certificate issued.
    pub certificate: IssuedCertificate,
    /// Its PEM file.
    pub certificate_path: PathBuf,
    /// Its private key file (mode 0600).
    pub key_path: PathBuf,
    /// The event-signing key pair, for nodes.
    pub signing_key: Option<SigningKeyFiles>,
}

/// A CA's directory (see the module documentation for the layout).
#[derive(Debug, Clone)]
pub struct PkiDirectory {
    root: PathBuf,
}

impl PkiDirectory {
    /// The directory at `root` (nothing is read or created yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The root CA certificate file: the trust anchor.
    pub fn ca_certificate_path(&self) -> PathBuf {
        self.root.join("ca.pem")
    }

    /// The root CA private key file (absent once moved offline).
    pub fn ca_key_path(&self) -> PathBuf {
        self.root.join("ca.key")
    }

    /// The issuing CA certificate file (absent on a network run by its root alone).
    pub fn issuing_ca_certificate_path(&self) -> PathBuf {
        self.root.join("issuing-ca.pem")
    }

    /// The issuing CA private key file.
    pub fn issuing_ca_key_path(&self) -> PathBuf {
        self.root.join("issuing-ca.key")
    }

    /// Whether the directory holds an issuing CA, which then signs certificates and CRLs.
    pub fn has_issuing_ca(&self) -> bool {
        self.issuing_ca_certificate_path().exists()
    }

    /// The CRL file.
    pub fn crl_path(&self) -> PathBuf {
        self.root.join("crl.pem")
    }

    /// The index of issued certificates.
    pub fn index_path(&self) -> PathBuf {
        self.root.join("index.tsv")
    }

    /// The certificate file of `identity`.
    pub fn certificate_path(&self, identity: &PeerIdentity) -> PathBuf {
        self.issued_path(identity, "pem")
    }

    /// The private key file of `identity`.
    pub fn key_path(&self, identity: &PeerIdentity) -> PathBuf {
        self.issued_path(identity, "key")
    }

    /// The event-signing key file of `state`'s node.
    pub fn signing_key_path(&self, state: StateCode) -> PathBuf {
        self.issued_path(&PeerIdentity::Node(state), "signing.key")
    }

    /// The coordinator's Ed25519 key, which signs every directory version it publishes.
    pub fn coordinator_signing_key_path(&self) -> PathBuf {
        self.issued_path(&PeerIdentity::Coordinator, "signing.key")
    }

    /// The coordinator's directory-verifying key, which nodes trust for directories.
    pub fn coordinator_verifying_key_path(&self) -> PathBuf {
        self.issued_path(&PeerIdentity::Coordinator, "signing.pub")
    }

    /// The event-verifying key file of `state`'s node.
    pub fn verifying_key_path(&self, state: StateCode) -> PathBuf {
        self.issued_path(&PeerIdentity::Node(state), "signing.pub")
    }

    fn crl_number_path(&self) -> PathBuf {
        self.root.join("crl.number")
    }

    fn issued_folder(&self) -> PathBuf {
        self.root.join("issued")
    }

    fn issued_path(&self, identity: &PeerIdentity, extension: &str) -> PathBuf {
        self.issued_folder()
            .join(format!("{}.{extension}", identity.file_stem()))
    }

    /// Creates a new root CA valid over `ca_validity`, an empty CRL valid over
    /// `crl_validity`, and an empty index. The root signs certificates and CRLs until an
    /// issuing CA is made ([`Self::create_issuing_ca`]). Refuses if a CA is already there.
    pub fn init(
        &self,
        ca_validity: Validity,
        crl_validity: Validity,
    ) -> Result<CertificateAuthority, Error> {
        for existing in [
            self.ca_certificate_path(),
            self.ca_key_path(),
            self.issuing_ca_certificate_path(),
            self.issuing_ca_key_path(),
        ] {
            if existing.exists() {
                return Err(Error::AlreadyInitialised(self.root.clone()));
            }
        }
        create_folder(&self.issued_folder())?;
        let authority = CertificateAuthority::generate(ca_validity)?;
        write_file_atomically(
            &self.ca_key_path(),
            authority.key_pem().as_bytes(),
            PRIVATE_FILE_MODE,
        )?;
        write_file_atomically(
            &self.ca_certificate_path(),
            authority.certificate_pem().as_bytes(),
            PUBLIC_FILE_MODE,
        )?;
        self.write_index(&[])?;
        self.sign_crl(&authority, &[], crl_validity)?;
        Ok(authority)
    }

    /// Loads the signing CA: the issuing CA when there is one (the root's key is then not
    /// read, and may be absent), the root otherwise.
    pub fn authority(&self) -> Result<CertificateAuthority, Error> {
        let root_certificate_path = self.ca_certificate_path();
        if !root_certificate_path.exists() {
            return Err(Error::NotInitialised(self.root.clone()));
        }
        if !self.has_issuing_ca() {
            return self.root_authority();
        }
        let root_certificate_pem = read_text(&root_certificate_path)?;
        let certificate_pem = read_text(&self.issuing_ca_certificate_path())?;
        let key_pem = read_text(&self.issuing_ca_key_path())?;
        Ok(CertificateAuthority::issuing_from_pem(
            &certificate_pem,
            &key_pem,
            &root_certificate_pem,
        )?)
    }

    /// Issues a certificate with the signing CA and writes it (followed by the issuing CA's
    /// certificate, when there is one) with its key under `issued/`, recording it in the
    /// index. A node also gets its event-signing key pair, made once and then kept.
    /// Refuses to overwrite an existing certificate unless `replace` (the old certificate
    /// stays valid until it expires or is revoked). Refuses to issue with an issuing CA that
    /// the root's CRL (`root-crl.pem`) revokes.
    pub fn issue(&self, request: &IssueRequest, replace: bool) -> Result<IssuedFiles, Error> {
        let authority = self.authority()?;
        if !authority.is_root() {
            let serial = authority.serial();
            if self
                .root_revocations()?
                .iter()
                .any(|revoked| &revoked.serial == serial)
            {
                return Err(Error::IssuingCaRevoked(serial.clone()));
            }
        }
        let identity = &request.identity;
        let certificate_path = self.certificate_path(identity);
        if certificate_path.exists() && !replace {
            return Err(Error::AlreadyIssued(certificate_path));
        }
        create_folder(&self.issued_folder())?;
        let issued = authority.issue(request)?;
        let key_path = self.key_path(identity);
        let mut entries = self.index()?;
        entries.push(IndexEntry {
            serial: issued.certificate.serial.clone(),
            identity: identity.clone(),
            not_after: issued.certificate.validity.not_after(),
            revoked_at: None,
        });
        self.write_index(&entries)?;
        write_file_atomically(&key_path, issued.key_pem.as_bytes(), PRIVATE_FILE_MODE)?;
        write_file_atomically(
            &certificate_path,
            issued.certificate.chain_pem.as_bytes(),
            PUBLIC_FILE_MODE,
        )?;
        let signing_key = match identity {
            PeerIdentity::Node(state) => Some(self.ensure_signing_key(
                self.signing_key_path(*state),
                self.verifying_key_path(*state),
            )?),
            PeerIdentity::Coordinator => Some(self.ensure_signing_key(
                self.coordinator_signing_key_path(),
                self.coordinator_verifying_key_path(),
            )?),
            _ => None,
        };
        Ok(IssuedFiles {
            certificate: issued.certificate,
            certificate_path,
            key_path,
            signing_key,
        })
    }

    /// The Ed25519 key at `key_path`, made if there is none yet (a reissued certificate
    /// keeps its holder's key), with its public key written to `verifying_key_path`.
    fn ensure_signing_key(
        &self,
        key_path: PathBuf,
        verifying_key_path: PathBuf,
    ) -> Result<SigningKeyFiles, Error> {
        let (key, generated) = if key_path.exists() {
            (EventSigningKey::load(&key_path)?, false)
        } else {
            let key = EventSigningKey::generate()?;
            key.save(&key_path)?;
            (key, true)
        };
        let verifying_key: EventVerifyingKey = key.verifying_key();
        verifying_key.save(&verifying_key_path)?;
        Ok(SigningKeyFiles {
            key_path,
            verifying_key_path,
            key_id: key.key_id(),
            generated,
        })
    }

    /// Every certificate issued, in issue order.
    pub fn index(&self) -> Result<Vec<IndexEntry>, Error> {
        let path = self.index_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotInitialised(self.root.clone()));
            }
            Err(source) => return Err(credentials::Error::File { path, source }.into()),
        };
        let mut entries = Vec::new();
        for (number, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let entry = parse_index_line(line).ok_or_else(|| Error::IndexSyntax {
                path: path.clone(),
                line: number + 1,
            })?;
            entries.push(entry);
        }
        Ok(entries)
    }

    /// Revokes what `target` names as of `now` and re-signs the CRL with the signing CA,
    /// valid over `crl_validity`. Returns the entries revoked now.
    pub fn revoke(
        &self,
        target: &RevocationTarget,
        now: OffsetDateTime,
        crl_validity: Validity,
    ) -> Result<Vec<IndexEntry>, Error> {
        let authority = self.authority()?;
        let mut entries = self.index()?;
        if let RevocationTarget::Serial(serial) = target
            && !entries.iter().any(|entry| &entry.serial == serial)
        {
            return Err(Error::UnknownSerial(serial.clone()));
        }
        let mut revoked_now = Vec::new();
        for entry in entries
            .iter_mut()
            .filter(|entry| entry.revoked_at.is_none())
        {
            let named = match target {
                RevocationTarget::Serial(serial) => &entry.serial == serial,
                RevocationTarget::Identity(identity) => &entry.identity == identity,
            };
            if named {
                entry.revoked_at = Some(now);
                revoked_now.push(entry.clone());
            }
        }
        if revoked_now.is_empty() {
            return Err(Error::NothingToRevoke(describe(target)));
        }
        self.write_index(&entries)?;
        self.sign_crl(&authority, &entries, crl_validity)?;
        Ok(revoked_now)
    }

    /// Re-signs the CRL from the index with the signing CA, valid over `crl_validity` — run
    /// it before the current CRL's `nextUpdate`, or servers will refuse every client.
    pub fn refresh_crl(&self, crl_validity: Validity) -> Result<Crl, Error> {
        let authority = self.authority()?;
        let entries = self.index()?;
        self.sign_crl(&authority, &entries, crl_validity)
    }

    fn sign_crl(
        &self,
        authority: &CertificateAuthority,
        entries: &[IndexEntry],
        crl_validity: Validity,
    ) -> Result<Crl, Error> {
        let revocations: Vec<Revocation> = entries
            .iter()
            .filter_map(|entry| {
                let revoked_at = entry.revoked_at?;
                Some(Revocation {
                    serial: entry.serial.clone(),
                    revoked_at,
                })
            })
            .collect();
        let crl_number = next_number(&self.crl_number_path())?;
        let signed = authority.revocation_list(&revocations, crl_number, crl_validity)?;
        if authority.is_root() {
            write_file_atomically(&self.crl_path(), signed.pem.as_bytes(), PUBLIC_FILE_MODE)?;
        } else {
            self.write_crl_bundle(&signed.pem)?;
        }
        write_number(&self.crl_number_path(), crl_number)?;
        Ok(signed.crl)
    }

    /// Writes `crl.pem` under an issuing CA: `issuing_crl_pem`, then the root's CRL as
    /// `root-crl.pem` holds it, so that servers loading the file check both levels.
    fn write_crl_bundle(&self, issuing_crl_pem: &str) -> Result<(), Error> {
        let root_crl_path = self.root_crl_path();
        if !root_crl_path.exists() {
            return Err(Error::NoRootCrl(root_crl_path));
        }
        let bundle = super::concatenate_pem(issuing_crl_pem, &read_text(&root_crl_path)?);
        write_file_atomically(&self.crl_path(), bundle.as_bytes(), PUBLIC_FILE_MODE)?;
        Ok(())
    }

    fn write_index(&self, entries: &[IndexEntry]) -> Result<(), Error> {
        let mut text = format!("{INDEX_HEADER}\n");
        for entry in entries {
            let revoked_at = entry
                .revoked_at
                .map_or_else(|| "-".to_owned(), |time| time.unix_timestamp().to_string());
            text.push_str(&format!(
                "{}\t{}\t{}\t{revoked_at}\n",
                entry.serial,
                entry.identity.spiffe_id(),
                entry.not_after.unix_timestamp(),
            ));
        }
        write_file_atomically(&self.index_path(), text.as_bytes(), PUBLIC_FILE_MODE)?;
        Ok(())
    }
}

fn parse_index_line(line: &str) -> Option<IndexEntry> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [serial, spiffe_id, not_after, revoked_at] = fields.as_slice() else {
        return None;
    };
    let unix_time = |text: &str| {
        text.parse::<i64>()
            .ok()
            .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok())
    };
    let revoked_at = match *revoked_at {
        "-" => None,
        text => Some(unix_time(text)?),
    };
    Some(IndexEntry {
        serial: Serial::parse(serial).ok()?,
        identity: PeerIdentity::from_spiffe_id(spiffe_id).ok()?,
        not_after: unix_time(not_after)?,
        revoked_at,
    })
}

fn describe(target: &RevocationTarget) -> String {
    match target {
        RevocationTarget::Serial(serial) => format!("certificate {serial} is already revoked"),
        RevocationTarget::Identity(identity) => {
            format!("no unrevoked certificate was issued to {identity}")
        }
    }
}

/// The number after the one in the file at `path` (1 when there is no file yet): CRL
/// numbers only grow.
fn next_number(path: &Path) -> Result<u64, Error> {
    let previous = match std::fs::read_to_string(path) {
        Ok(text) => text.trim().parse::<u64>().map_err(|_| Error::IndexSyntax {
            path: path.to_owned(),
            line: 1,
        })?,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => 0,
        Err(source) => {
            let path = path.to_owned();
            return Err(credentials::Error::File { path, source }.into());
        }
    };
    Ok(previous + 1)
}

fn write_number(path: &Path, number: u64) -> Result<(), Error> {
    let text = format!("{number}\n");
    write_file_atomically(path, text.as_bytes(), PUBLIC_FILE_MODE)?;
    Ok(())
}

/// A PEM file's text (PEM is ASCII; anything else fails to parse later, with its reason).
fn read_text(path: &Path) -> Result<String, Error> {
    let bytes = credentials::read_file(path)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn create_folder(path: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(path).map_err(|source| Error::Folder {
        path: path.to_owned(),
        source,
    })
}
