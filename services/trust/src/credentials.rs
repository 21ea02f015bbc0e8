//! Credentials as they sit on disk: PEM files loaded into rustls types, and written safely.
//!
//! - [`Identity`]: a certificate chain and its private key — what a party presents. The
//!   certificate file holds the party's certificate first, then the issuing CA's when an
//!   issuing CA signed it; all of it is presented.
//! - [`CaBundle`]: the network root CA certificate(s) — what a party trusts. Several
//!   certificates in one file are all trusted, which is how a CA rotation is rolled out. An
//!   issuing CA's certificate does not belong here: peers present it in their chains.
//! - [`Crl`]: a CA's certificate revocation list. [`load_crls`] reads every CRL of a file:
//!   under an issuing CA, the file servers load holds the issuing CA's CRL (revoking
//!   certificates) and the root's (revoking issuing CAs), and both are checked.
//!
//! Private keys are written with mode 0600 and every file is written to a temporary name
//! and renamed, so a server reading a CRL never sees half of one. This module does not
//! decide where files live; [`crate::pki::directory`] does.

use std::fmt;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use time::OffsetDateTime;
use x509_parser::revocation_list::CertificateRevocationList;

use crate::identity::PeerIdentity;
use crate::pki::{Revocation, Serial};

/// File mode of private keys: readable and writable by their owner only.
pub(crate) const PRIVATE_FILE_MODE: u32 = 0o600;

/// File mode of certificates, CRLs and public keys.
pub(crate) const PUBLIC_FILE_MODE: u32 = 0o644;

/// What errors name as the source of PEM parsed from memory rather than from a file.
const PEM_TEXT: &str = "PEM text";

/// Why credentials could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("cannot read or write {path}")]
    File {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A file does not hold the PEM section expected.
    #[error("{what}: not a PEM {expected}")]
    Pem {
        /// The file, or "PEM text" when parsed from memory.
        what: String,
        /// The PEM section expected (certificate, private key, CRL).
        expected: &'static str,
        /// The parser's complaint.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// A certificate file holds no certificate.
    #[error("{0}: no certificate found")]
    NoCertificate(String),
    /// A CRL's content is not a valid X.509 CRL.
    #[error("the CRL is not a valid X.509 CRL")]
    CrlSyntax,
    /// The identity's certificate names no Accord peer.
    #[error("the identity certificate names no Accord peer")]
    Identity(#[from] crate::identity::Error),
}

/// A certificate chain (leaf first) and its private key: what a party presents in mTLS.
pub struct Identity {
    certificate_chain: Vec<CertificateDer<'static>>,
    private_key: PrivateKeyDer<'static>,
}

impl Identity {
    /// Loads an identity from a PEM certificate file (leaf first, then any intermediates,
    /// such as the issuing CA's certificate: the whole chain is presented) and a PEM private
    /// key file (PKCS#8, SEC1 or PKCS#1).
    pub fn load(certificate_path: &Path, key_path: &Path) -> Result<Self, Error> {
        let certificate_pem = read_file(certificate_path)?;
        let key_pem = read_file(key_path)?;
        Ok(Self {
            certificate_chain: parse_certificates(
                &certificate_pem,
                &certificate_path.display().to_string(),
            )?,
            private_key: parse_private_key(&key_pem, &key_path.display().to_string())?,
        })
    }

    /// Builds an identity from PEM text held in memory (a chain, leaf first, as for
    /// [`Identity::load`]).
    pub fn from_pem(certificate_pem: &str, key_pem: &str) -> Result<Self, Error> {
        Ok(Self {
            certificate_chain: parse_certificates(certificate_pem.as_bytes(), PEM_TEXT)?,
            private_key: parse_private_key(key_pem.as_bytes(), PEM_TEXT)?,
        })
    }

    /// The certificate chain, leaf first.
    pub fn certificate_chain(&self) -> &[CertificateDer<'static>] {
        &self.certificate_chain
    }

    /// The private key, for rustls.
    pub fn private_key(&self) -> &PrivateKeyDer<'static> {
        &self.private_key
    }

    /// Who this identity's own certificate names, e.g. `Node(FR)` for FR's node.
    pub fn peer_identity(&self) -> Result<PeerIdentity, Error> {
        let leaf = self
            .certificate_chain
            .first()
            .ok_or_else(|| Error::NoCertificate("identity".to_owned()))?;
        Ok(PeerIdentity::from_certificate_der(leaf)?)
    }

    /// Whether `crls` hold a list from the issuer of every certificate of this identity's
    /// chain: what checking revocation along the whole chain needs (`crate::tls`), or a
    /// peer under the same CAs is refused for want of a status.
    pub fn chain_covered_by(&self, crls: &[Crl]) -> Result<bool, Error> {
        let issuers = crls
            .iter()
            .map(Crl::issuer_der)
            .collect::<Result<Vec<_>, _>>()?;
        for certificate in &self.certificate_chain {
            let (_, parsed) = x509_parser::parse_x509_certificate(certificate)
                .map_err(|_| Error::NoCertificate("identity".to_owned()))?;
            if !issuers.contains(&parsed.issuer().as_raw().to_vec()) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Self {
            certificate_chain: self.certificate_chain.clone(),
            private_key: self.private_key.clone_key(),
        }
    }
}

impl fmt::Debug for Identity {
    /// Shows who the identity names, never the key.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = self.peer_identity().map(|identity| identity.to_string());
        formatter
            .debug_struct("Identity")
            .field(
                "names",
                &names.unwrap_or_else(|_| "<no Accord identity>".to_owned()),
            )
            .field("chain_length", &self.certificate_chain.len())
            .finish_non_exhaustive()
    }
}

/// The network root CA certificate(s) a party trusts.
#[derive(Debug, Clone)]
pub struct CaBundle {
    certificates: Vec<CertificateDer<'static>>,
}

impl CaBundle {
    /// Parses one or more PEM certificates from memory.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        Ok(Self {
            certificates: parse_certificates(pem.as_bytes(), PEM_TEXT)?,
        })
    }

    /// A bundle of the given DER certificates.
    pub fn from_der(certificates: Vec<CertificateDer<'static>>) -> Self {
        Self { certificates }
    }

    /// The trusted certificates.
    pub fn certificates(&self) -> &[CertificateDer<'static>] {
        &self.certificates
    }
}

/// Loads the network root CA certificate(s) from a PEM file.
pub fn load_ca(path: &Path) -> Result<CaBundle, Error> {
    let pem = read_file(path)?;
    Ok(CaBundle {
        certificates: parse_certificates(&pem, &path.display().to_string())?,
    })
}

/// A certificate revocation list, signed by the CA that issues certificates: the issuing CA,
/// or the root on a network without one.
#[derive(Debug, Clone)]
pub struct Crl {
    der: CertificateRevocationListDer<'static>,
}

impl Crl {
    /// Every CRL in `pem`, in order (a signing CA's list, then its issuers'), at least one.
    pub fn all_from_pem(pem: &str) -> Result<Vec<Self>, Error> {
        parse_crls(pem.as_bytes(), PEM_TEXT)
    }

    /// The CRL as PEM (`-----BEGIN X509 CRL-----`), lines of 64 characters.
    pub fn to_pem(&self) -> String {
        use base64::Engine as _;
        let text = base64::engine::general_purpose::STANDARD.encode(self.der.as_ref());
        let mut pem = String::from("-----BEGIN X509 CRL-----\n");
        for line in text.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END X509 CRL-----\n");
        pem
    }

    /// Wraps a DER CRL.
    pub fn from_der(der: CertificateRevocationListDer<'static>) -> Self {
        Self { der }
    }

    /// Parses a PEM CRL from memory.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        parse_crl(pem.as_bytes(), PEM_TEXT)
    }

    /// The DER bytes, for rustls.
    pub fn der(&self) -> &CertificateRevocationListDer<'static> {
        &self.der
    }

    /// The serial numbers this CRL revokes.
    pub fn revoked_serials(&self) -> Result<Vec<Serial>, Error> {
        let crl = self.parsed()?;
        Ok(crl
            .iter_revoked_certificates()
            .map(|revoked| Serial::from_bytes(revoked.raw_serial()))
            .collect())
    }

    /// What this CRL revokes, and since when.
    pub fn revocations(&self) -> Result<Vec<Revocation>, Error> {
        let crl = self.parsed()?;
        Ok(crl
            .iter_revoked_certificates()
            .map(|revoked| Revocation {
                serial: Serial::from_bytes(revoked.raw_serial()),
                revoked_at: revoked.revocation_date.to_datetime(),
            })
            .collect())
    }

    /// When the CA promises its next CRL; past it, servers refuse every client
    /// (revocation expiration is enforced), so the CRL must be re-signed before then.
    pub fn next_update(&self) -> Result<Option<OffsetDateTime>, Error> {
        let crl = self.parsed()?;
        Ok(crl.next_update().map(|time| time.to_datetime()))
    }

    /// The CRL's number (its `cRLNumber` extension), which grows with each list its CA
    /// issues; `None` without one, or one too large for a `u64`.
    pub fn number(&self) -> Result<Option<u64>, Error> {
        let crl = self.parsed()?;
        Ok(crl
            .crl_number()
            .and_then(|number| u64::try_from(number).ok()))
    }

    /// The issuer's name, DER-encoded as the CRL states it.
    pub fn issuer_der(&self) -> Result<Vec<u8>, Error> {
        let crl = self.parsed()?;
        Ok(crl.issuer().as_raw().to_vec())
    }

    /// The CRL's X.509 structure, or [`Error::CrlSyntax`].
    fn parsed(&self) -> Result<CertificateRevocationList<'_>, Error> {
        let (_, crl) = x509_parser::parse_x509_crl(&self.der).map_err(|_| Error::CrlSyntax)?;
        Ok(crl)
    }

    /// Whether `other` was issued by the same CA (the same issuer name): a newer list of
    /// one CA replaces the older ones.
    pub fn same_issuer(&self, other: &Crl) -> Result<bool, Error> {
        Ok(self.issuer_der()? == other.issuer_der()?)
    }
}

/// Loads a PEM CRL from a file (the first, if it holds several).
pub fn load_crl(path: &Path) -> Result<Crl, Error> {
    parse_crl(&read_file(path)?, &path.display().to_string())
}

/// Loads every PEM CRL of a file, in order: at least one.
pub fn load_crls(path: &Path) -> Result<Vec<Crl>, Error> {
    parse_crls(&read_file(path)?, &path.display().to_string())
}

fn parse_certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error(what, "certificate"))?;
    if certificates.is_empty() {
        return Err(Error::NoCertificate(what.to_owned()));
    }
    Ok(certificates)
}

fn parse_private_key(pem: &[u8], what: &str) -> Result<PrivateKeyDer<'static>, Error> {
    PrivateKeyDer::from_pem_slice(pem).map_err(pem_error(what, "private key"))
}

fn parse_crl(pem: &[u8], what: &str) -> Result<Crl, Error> {
    let der =
        CertificateRevocationListDer::from_pem_slice(pem).map_err(pem_error(what, "X509 CRL"))?;
    Ok(Crl { der })
}

/// Every CRL in `pem`, in order: at least one.
fn parse_crls(pem: &[u8], what: &str) -> Result<Vec<Crl>, Error> {
    let crls = CertificateRevocationListDer::pem_slice_iter(pem)
        .map(|der| der.map(|der| Crl { der }))
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error(what, "X509 CRL"))?;
    if crls.is_empty() {
        // The same refusal as for text with no CRL at all, from the parser.
        return parse_crl(&[], what).map(|crl| vec![crl]);
    }
    Ok(crls)
}

/// The refusal of `what` (a file, or [`PEM_TEXT`]) as not holding the PEM section `expected`.
fn pem_error(
    what: &str,
    expected: &'static str,
) -> impl FnOnce(rustls::pki_types::pem::Error) -> Error {
    move |source| Error::Pem {
        what: what.to_owned(),
        expected,
        source,
    }
}

pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::File {
        path: path.to_owned(),
        source,
    })
}

/// Writes `contents` to `path` with `mode`, through a temporary file renamed into place, so
/// readers see the old file or the new one, never a part. Secrets never exist with a wider
/// mode: the temporary file is created with `mode` already.
pub(crate) fn write_file_atomically(path: &Path, contents: &[u8], mode: u32) -> Result<(), Error> {
    let file_error = |source| Error::File {
        path: path.to_owned(),
        source,
    };
    let mut temporary_name = path.as_os_str().to_owned();
    temporary_name.push(".tmp");
    let temporary_path = PathBuf::from(temporary_name);
    let _ = std::fs::remove_file(&temporary_path); // a leftover from a crash, if any
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&temporary_path)
        .map_err(file_error)?;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(file_error)?; // umask may have narrowed it
    file.write_all(contents).map_err(file_error)?;
    file.sync_all().map_err(file_error)?;
    std::fs::rename(&temporary_path, path).map_err(file_error)
}
