//! The network's certificate authority: a root CA, an issuing CA below it, the certificates
//! they issue, their CRLs.
//!
//! Two levels at most. The **root CA** is the network's trust anchor: every party trusts its
//! certificate and nothing else. It may sign one level of CA below it (path length 1), the
//! **issuing CA** ([`CertificateAuthority::issue_intermediate`]), which signs every node,
//! coordinator, gateway and operator certificate and the CRL that revokes them, so that the
//! root's key can stay offline; an issuing CA signs no CA itself (path length 0). A network
//! may also run on the root alone, which then signs certificates and the CRL itself.
//! Whoever issues, a holder presents its certificate followed by the certificates of the
//! CAs between it and the root ([`IssuedCertificate::chain_pem`]; nothing more under the
//! root alone): peers hold only the root, so they need the issuing CA's certificate from
//! the holder.
//!
//! Keys are ECDSA P-256 with SHA-256 signatures, for the CA and every certificate: every
//! TLS stack a state might point at a node (rustls, grpcurl's Go TLS, Python grpcio's
//! BoringSSL, OpenSSL) verifies them, which is not yet true of Ed25519 certificates.
//! Event-signing keys are a different thing ([`crate::signing`]); a CA may certify one for
//! an identity, for offline verifiers, with a certificate no TLS stack accepts
//! ([`signing_key`]).
//!
//! What each issued certificate holds:
//!
//! | holder      | SAN URI                              | other SANs        | extended key usage        |
//! | ----------- | ------------------------------------ | ----------------- | ------------------------- |
//! | node        | `spiffe://accord/state/FR`           | DNS names, IPs    | serverAuth + clientAuth   |
//! | coordinator | `spiffe://accord/coordinator`        | DNS names, IPs    | serverAuth + clientAuth   |
//! | gateway     | `spiffe://accord/state/FR/gateway`   | none              | clientAuth                |
//! | operator    | `spiffe://accord/operator/<name>`    | none              | clientAuth                |
//!
//! Nodes and the coordinator both serve and call each other, hence both usages; the DNS
//! names and IP addresses they serve on (by default `localhost` and `127.0.0.1`) let any
//! standard gRPC client verify them. Serial numbers are 128 random bits. Time is an
//! argument everywhere: this module never reads the clock. Files on disk are the business
//! of [`directory`].

pub mod csr;
pub mod directory;
pub mod signing_key;

pub use signing_key::verify_signing_key_chain;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams,
    CertificateSigningRequestParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, PublicKeyData, RevokedCertParams, SanType,
    SerialNumber,
};
use ring::rand::{SecureRandom as _, SystemRandom};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;

use crate::credentials::{CaBundle, Crl};
use crate::identity::PeerIdentity;

/// How far before "now" a new certificate or CRL starts to be valid, so that a party whose
/// clock runs a little behind the CA's still accepts it.
pub const CLOCK_SKEW_ALLOWANCE: Duration = Duration::minutes(5);

/// Length of generated serial numbers, in bytes (RFC 5280 allows up to 20).
const SERIAL_LENGTH_BYTES: usize = 16;

/// Common name of the network root CA.
const CA_COMMON_NAME: &str = "Accord network root CA";

/// Common name of an issuing CA, before the start of its serial that makes it unique.
const ISSUING_CA_COMMON_NAME: &str = "Accord issuing CA";

/// How many bytes of an issuing CA's serial its name carries (64 bits).
const ISSUING_CA_NAME_SERIAL_BYTES: usize = 8;

/// How many levels of CA the root allows below it: one, the issuing CA.
const ROOT_PATH_LENGTH: u8 = 1;

/// Organization named in every certificate.
const ORGANIZATION: &str = "Accord";

/// DNS names a serving certificate carries when none are given.
pub const DEFAULT_DNS_NAMES: &[&str] = &["localhost"];

/// IP addresses a serving certificate carries when none are given.
pub const DEFAULT_IP_ADDRESSES: &[IpAddr] = &[IpAddr::V4(Ipv4Addr::LOCALHOST)];

/// Why the CA could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// rcgen refused to build, sign or parse something.
    #[error("certificate generation failed")]
    Certificate(#[from] rcgen::Error),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// A validity window ends before it starts.
    #[error("a validity window must end after it starts ({not_before} .. {not_after})")]
    EmptyValidity {
        /// Start of the window.
        not_before: OffsetDateTime,
        /// End of the window.
        not_after: OffsetDateTime,
    },
    /// A validity window reaches past the dates a certificate can express.
    #[error("{days} days from now is past the last date a certificate can carry")]
    OutOfRange {
        /// The days asked for.
        days: u32,
    },
    /// A client-only identity was given DNS names or IP addresses.
    #[error("{0} is a client-only identity and carries no DNS names or IP addresses")]
    ClientOnly(PeerIdentity),
    /// A serving identity was given no DNS name or IP address.
    #[error("{0} serves connections and needs at least one DNS name or IP address")]
    NoServerName(PeerIdentity),
    /// A certificate or CRL this CA holds or was given cannot be parsed.
    #[error("a certificate or revocation list cannot be parsed")]
    Unparsable,
    /// A serial number given as text is not hexadecimal.
    #[error("serial number {0:?} is not hexadecimal")]
    SerialSyntax(String),
    /// A CA was asked to sign a CA below it, which its certificate forbids: an issuing CA,
    /// or a root made before roots allowed an issuing CA (path length 0).
    #[error("this CA's certificate allows no CA below it (its path length constraint is 0)")]
    NoCaBelow,
    /// The private key given is not the key of the CA certificate given.
    #[error("the private key does not belong to the CA certificate")]
    KeyMismatch,
    /// A root CA was loaded from a certificate that is not a self-signed CA certificate
    /// (an issuing CA is loaded with its root: [`CertificateAuthority::issuing_from_pem`]).
    #[error("the certificate is not a self-signed root CA certificate")]
    NotRoot,
    /// An issuing CA was loaded from a certificate that is not a CA certificate signed by
    /// any of the root certificates given.
    #[error("the certificate is not a CA certificate signed by the root CA given")]
    NotBelowRoot,
    /// A CA below another was asked to outlive it, or to start before it: its certificate
    /// would be valid when its issuer's is not.
    #[error(
        "an issuing CA must be valid within its issuer's validity ({issuer_not_before} .. \
         {issuer_not_after}); ask for fewer days"
    )]
    BeyondIssuer {
        /// Start of the issuer's validity.
        issuer_not_before: OffsetDateTime,
        /// End of the issuer's validity.
        issuer_not_after: OffsetDateTime,
    },
}

/// A certificate serial number. Shown and parsed as lower-case hexadecimal.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Serial(Vec<u8>);

impl Serial {
    /// A fresh random serial: 128 bits, positive, with no leading zero byte, so its DER
    /// encoding is exactly these bytes.
    pub fn random() -> Result<Self, Error> {
        let mut bytes = [0_u8; SERIAL_LENGTH_BYTES];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| Error::Random)?;
        bytes[0] = (bytes[0] & 0x7f).max(1);
        Ok(Self(bytes.to_vec()))
    }

    /// A serial from its big-endian bytes, as they appear in a certificate or CRL.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    /// Parses hexadecimal text; colons between bytes (`4a:3f:…`) are accepted.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let digits: String = text.chars().filter(|character| *character != ':').collect();
        let bytes = hex::decode(&digits).map_err(|_| Error::SerialSyntax(text.to_owned()))?;
        if bytes.is_empty() {
            return Err(Error::SerialSyntax(text.to_owned()));
        }
        Ok(Self(bytes))
    }

    /// The big-endian bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&hex::encode(&self.0))
    }
}

text_form!(Serial);

/// When a certificate or CRL is valid: from `not_before` to `not_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

impl Validity {
    /// An explicit window; tests use it to make expired and not-yet-valid certificates.
    pub fn new(not_before: OffsetDateTime, not_after: OffsetDateTime) -> Result<Self, Error> {
        if not_after <= not_before {
            return Err(Error::EmptyValidity {
                not_before,
                not_after,
            });
        }
        Ok(Self {
            not_before,
            not_after,
        })
    }

    /// `days` days from `now`, starting [`CLOCK_SKEW_ALLOWANCE`] early.
    pub fn days_from(now: OffsetDateTime, days: u32) -> Result<Self, Error> {
        let out_of_range = || Error::OutOfRange { days };
        let not_before = now
            .checked_sub(CLOCK_SKEW_ALLOWANCE)
            .ok_or_else(out_of_range)?;
        let lifetime = Duration::days(i64::from(days));
        let not_after = now.checked_add(lifetime).ok_or_else(out_of_range)?;
        Self::new(not_before, not_after)
    }

    /// Start of the window.
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// End of the window.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }
}

/// What to put in a certificate: who it names, where it serves, how long it lasts.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    /// The holder, written as the certificate's one SAN URI.
    pub identity: PeerIdentity,
    /// DNS names the holder serves on (serving identities only).
    pub dns_names: Vec<String>,
    /// IP addresses the holder serves on (serving identities only).
    pub ip_addresses: Vec<IpAddr>,
    /// The validity window.
    pub validity: Validity,
}

impl IssueRequest {
    /// A request for `identity`; serving identities get [`DEFAULT_DNS_NAMES`] and
    /// [`DEFAULT_IP_ADDRESSES`], which the caller may replace.
    pub fn new(identity: PeerIdentity, validity: Validity) -> Self {
        let serves = serves_connections(&identity);
        let dns_names = if serves {
            DEFAULT_DNS_NAMES
                .iter()
                .map(|name| (*name).to_owned())
                .collect()
        } else {
            Vec::new()
        };
        let ip_addresses = if serves {
            DEFAULT_IP_ADDRESSES.to_vec()
        } else {
            Vec::new()
        };
        Self {
            identity,
            dns_names,
            ip_addresses,
            validity,
        }
    }
}

/// Whether certificates for this identity are server certificates too (nodes and the
/// coordinator accept connections; gateways and operators only make them).
pub fn serves_connections(identity: &PeerIdentity) -> bool {
    matches!(identity, PeerIdentity::Node(_) | PeerIdentity::Coordinator)
}

/// A certificate the CA signed.
#[derive(Debug, Clone)]
pub struct IssuedCertificate {
    /// Its serial number, which revocation names.
    pub serial: Serial,
    /// Who it names.
    pub identity: PeerIdentity,
    /// Its validity window.
    pub validity: Validity,
    /// The certificate alone, PEM.
    pub certificate_pem: String,
    /// The certificate followed by the certificates of the CAs between it and the root
    /// (the issuing CA's), PEM: what its holder presents, hence what its certificate file
    /// holds. Under the root alone, the same as `certificate_pem`.
    pub chain_pem: String,
}

impl IssuedCertificate {
    /// The chain (`chain_pem`) as DER certificates, the certificate first.
    pub fn chain_der(&self) -> Result<Vec<Vec<u8>>, Error> {
        use rustls::pki_types::pem::PemObject as _;
        CertificateDer::pem_slice_iter(self.chain_pem.as_bytes())
            .map(|certificate| certificate.map(|der| der.as_ref().to_vec()))
            .collect::<Result<_, _>>()
            .map_err(|_| Error::Unparsable)
    }
}

/// A certificate together with the private key generated for it.
pub struct IssuedIdentity {
    /// The certificate.
    pub certificate: IssuedCertificate,
    /// Its private key, PKCS#8 PEM. A secret: write it with mode 0600.
    pub key_pem: String,
}

impl fmt::Debug for IssuedIdentity {
    /// Never shows the key.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("IssuedIdentity")
            .field("certificate", &self.certificate)
            .finish_non_exhaustive()
    }
}

/// One revoked certificate, for the CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The revoked certificate's serial.
    pub serial: Serial,
    /// When the CA revoked it.
    pub revoked_at: OffsetDateTime,
}

/// A CRL just signed, with its PEM text for the file.
#[derive(Debug, Clone)]
pub struct SignedCrl {
    /// The CRL.
    pub crl: Crl,
    /// The CRL as PEM (`-----BEGIN X509 CRL-----`).
    pub pem: String,
}

/// A CA of the network — the root, or an issuing CA below it — with its signing key.
pub struct CertificateAuthority {
    certificate_der: CertificateDer<'static>,
    certificate_pem: String,
    /// This CA's certificate's serial and validity, read from it once.
    serial: Serial,
    validity: Validity,
    /// The root's certificate: the trust anchor (this CA's own, for the root).
    root_certificate_der: CertificateDer<'static>,
    /// What a holder presents after its own certificate: this CA's certificate and its
    /// issuers', up to but excluding the root (empty for the root).
    chain_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl fmt::Debug for CertificateAuthority {
    /// Never shows the key.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("CertificateAuthority")
            .field("is_root", &self.is_root())
            .finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// Creates a new root CA with a fresh P-256 key. It may sign certificates, CRLs and one
    /// level of issuing CA below it (path length 1).
    pub fn generate(validity: Validity) -> Result<Self, Error> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let serial = Serial::random()?;
        let mut params = ca_params(CA_COMMON_NAME, ROOT_PATH_LENGTH, &serial, validity);
        params.key_usages.push(KeyUsagePurpose::DigitalSignature);
        let certificate = params.self_signed(&key)?;
        Ok(Self::root(
            certificate.der().clone(),
            certificate.pem(),
            (serial, validity),
            Issuer::new(params, key),
        ))
    }

    /// Loads a root CA from its certificate and its PKCS#8 private key, both PEM. Refuses
    /// a certificate that is not a self-signed CA certificate, or a key that is not its key.
    pub fn from_pem(certificate_pem: &str, key_pem: &str) -> Result<Self, Error> {
        let key = KeyPair::from_pem(key_pem)?;
        let certificate_der = first_certificate(certificate_pem)?;
        let certificate = parse_certificate(&certificate_der)?;
        check_key(&certificate, &key)?;
        if !is_ca_signed_by(&certificate, &certificate) {
            return Err(Error::NotRoot);
        }
        let described = serial_and_validity(&certificate)?;
        let issuer = Issuer::from_ca_cert_der(&certificate_der, key)?;
        Ok(Self::root(
            certificate_der,
            certificate_pem.to_owned(),
            described,
            issuer,
        ))
    }

    /// Loads an issuing CA from its certificate and its PKCS#8 private key, both PEM, and
    /// the root's certificate (`root_certificate_pem` may hold several roots, as a trust
    /// bundle does during a rotation: the one that signed the issuing CA is used). Only the
    /// first certificate of `certificate_pem` is read. Refuses a certificate that is not a
    /// CA certificate signed by one of the roots, or a key that is not its key.
    pub fn issuing_from_pem(
        certificate_pem: &str,
        key_pem: &str,
        root_certificate_pem: &str,
    ) -> Result<Self, Error> {
        let key = KeyPair::from_pem(key_pem)?;
        let certificate_pem = first_certificate_block(certificate_pem)?;
        let certificate_der = first_certificate(&certificate_pem)?;
        let certificate = parse_certificate(&certificate_der)?;
        check_key(&certificate, &key)?;
        let mut root_certificate_der = None;
        for root_der in CertificateDer::pem_slice_iter(root_certificate_pem.as_bytes()) {
            let root_der = root_der.map_err(|_| rcgen::Error::CouldNotParseCertificate)?;
            let root = parse_certificate(&root_der)?;
            if is_ca_signed_by(&root, &root) && is_ca_signed_by(&certificate, &root) {
                root_certificate_der = Some(root_der);
                break;
            }
        }
        let root_certificate_der = root_certificate_der.ok_or(Error::NotBelowRoot)?;
        let (serial, validity) = serial_and_validity(&certificate)?;
        let issuer = Issuer::from_ca_cert_der(&certificate_der, key)?;
        Ok(Self {
            serial,
            validity,
            certificate_der,
            chain_pem: certificate_pem.clone(),
            certificate_pem,
            root_certificate_der,
            issuer,
        })
    }

    fn root(
        certificate_der: CertificateDer<'static>,
        certificate_pem: String,
        (serial, validity): (Serial, Validity),
        issuer: Issuer<'static, KeyPair>,
    ) -> Self {
        Self {
            serial,
            validity,
            root_certificate_der: certificate_der.clone(),
            certificate_der,
            certificate_pem,
            chain_pem: String::new(),
            issuer,
        }
    }

    /// Creates an issuing CA below this one, with a fresh P-256 key, valid over `validity`:
    /// a CA certificate signed by this CA, path length 0 (it signs no CA), key usages
    /// certificate signing and CRL signing, and a name of its own, "Accord issuing CA"
    /// followed by the start of its serial in hex. Names must differ because a CRL is
    /// matched to a certificate by issuer name alone (RFC 5280, and rustls): two issuing
    /// CAs of one root with one name — an old and a new one, during a rotation — would
    /// have each other's CRL checked against their certificates. The issuing CA signs
    /// certificates and CRLs as this one would, and its certificates carry its certificate
    /// in their chain. Refused ([`Error::NoCaBelow`]) by an issuing CA, and by a root
    /// whose certificate forbids any CA below it; refused ([`Error::BeyondIssuer`]) when
    /// `validity` does not lie within this CA's own.
    ///
    /// Name constraints: the root Accord makes carries none, and a root's own constraints
    /// bind every certificate below it wherever a verifier applies them (rustls does, to
    /// the whole path), so the issuing CA repeats none.
    pub fn issue_intermediate(&self, validity: Validity) -> Result<Self, Error> {
        if !allows_ca_below(&parse_certificate(&self.certificate_der)?) {
            return Err(Error::NoCaBelow);
        }
        // Certificates carry whole seconds: compare at that precision.
        let seconds = |time: OffsetDateTime| time.unix_timestamp();
        if seconds(validity.not_before) < seconds(self.validity.not_before)
            || seconds(validity.not_after) > seconds(self.validity.not_after)
        {
            return Err(Error::BeyondIssuer {
                issuer_not_before: self.validity.not_before,
                issuer_not_after: self.validity.not_after,
            });
        }
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let serial = Serial::random()?;
        let name_suffix = hex::encode(&serial.as_bytes()[..ISSUING_CA_NAME_SERIAL_BYTES]);
        let common_name = format!("{ISSUING_CA_COMMON_NAME} {name_suffix}");
        let mut params = ca_params(&common_name, 0, &serial, validity);
        params.use_authority_key_identifier_extension = true;
        let certificate = params.signed_by(&key, &self.issuer)?;
        let certificate_pem = certificate.pem();
        Ok(Self {
            serial,
            validity,
            certificate_der: certificate.der().clone(),
            chain_pem: concatenate_pem(&certificate_pem, &self.chain_pem),
            certificate_pem,
            root_certificate_der: self.root_certificate_der.clone(),
            issuer: Issuer::new(params, key),
        })
    }

    /// This CA's certificate's serial number: what the root's CRL names to revoke an
    /// issuing CA.
    pub fn serial(&self) -> &Serial {
        &self.serial
    }

    /// This CA's certificate's validity window.
    pub fn validity(&self) -> Validity {
        self.validity
    }

    /// Whether this is the root CA (rather than an issuing CA below it).
    pub fn is_root(&self) -> bool {
        self.certificate_der == self.root_certificate_der
    }

    /// This CA's own certificate, PEM. For the root, give it to every party; an issuing
    /// CA's certificate reaches parties inside the chains its holders present.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// What the holder of a certificate this CA issued presents after that certificate,
    /// PEM: this CA's certificate followed by its issuers', up to but excluding the root.
    /// Empty for the root itself.
    pub fn chain_pem(&self) -> &str {
        &self.chain_pem
    }

    /// Whether this CA signed `crl` (its issuer is this CA's name): the CRLs of a
    /// configured file that this CA, not another, keeps.
    pub fn issued(&self, crl: &Crl) -> Result<bool, Error> {
        let (_, certificate) = x509_parser::parse_x509_certificate(&self.certificate_der)
            .map_err(|_| Error::Unparsable)?;
        let (_, list) = x509_parser::parse_x509_crl(crl.der()).map_err(|_| Error::Unparsable)?;
        Ok(list.issuer().as_raw() == certificate.subject().as_raw())
    }

    /// The trust anchor, as a bundle: the root's certificate (also for an issuing CA).
    pub fn bundle(&self) -> CaBundle {
        CaBundle::from_der(vec![self.root_certificate_der.clone()])
    }

    /// The CA's private key, PKCS#8 PEM. A secret: write it with mode 0600.
    pub fn key_pem(&self) -> String {
        self.issuer.key().serialize_pem()
    }

    /// Issues a certificate with a freshly generated P-256 key.
    pub fn issue(&self, request: &IssueRequest) -> Result<IssuedIdentity, Error> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let certificate = self.sign(request, &key)?;
        Ok(IssuedIdentity {
            certificate,
            key_pem: key.serialize_pem(),
        })
    }

    /// Issues a certificate for the key of a PEM certificate signing request (the key stays
    /// with its owner). Only the request's key and signature are used; everything the
    /// certificate says comes from `request`, never from the CSR.
    pub fn issue_for_csr(
        &self,
        csr_pem: &str,
        request: &IssueRequest,
    ) -> Result<IssuedCertificate, Error> {
        let csr = CertificateSigningRequestParams::from_pem(csr_pem)?;
        self.sign(request, &csr.public_key)
    }

    fn sign(
        &self,
        request: &IssueRequest,
        public_key: &impl PublicKeyData,
    ) -> Result<IssuedCertificate, Error> {
        let serial = Serial::random()?;
        let params = leaf_params(request, &serial)?;
        let certificate = params.signed_by(public_key, &self.issuer)?;
        let certificate_pem = certificate.pem();
        Ok(IssuedCertificate {
            serial,
            identity: request.identity.clone(),
            validity: request.validity,
            chain_pem: concatenate_pem(&certificate_pem, &self.chain_pem),
            certificate_pem,
        })
    }

    /// Signs a CRL listing `revocations`, valid over `validity` (`thisUpdate` ..
    /// `nextUpdate`). `crl_number` must grow with every CRL the CA signs.
    pub fn revocation_list(
        &self,
        revocations: &[Revocation],
        crl_number: u64,
        validity: Validity,
    ) -> Result<SignedCrl, Error> {
        let revoked_certs = revocations
            .iter()
            .map(|revocation| RevokedCertParams {
                serial_number: SerialNumber::from_slice(revocation.serial.as_bytes()),
                revocation_time: revocation.revoked_at,
                reason_code: None,
                invalidity_date: None,
            })
            .collect();
        let params = CertificateRevocationListParams {
            this_update: validity.not_before,
            next_update: validity.not_after,
            crl_number: SerialNumber::from_slice(&crl_number.to_be_bytes()),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params.signed_by(&self.issuer)?;
        Ok(SignedCrl {
            pem: crl.pem()?,
            crl: Crl::from_der(crl.der().clone()),
        })
    }
}

/// What every CA certificate says: its name, that it is a CA allowing `path_length` levels
/// of CA below it, that it signs certificates and CRLs, its serial, its validity.
fn ca_params(
    common_name: &str,
    path_length: u8,
    serial: &Serial,
    validity: Validity,
) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name(common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(path_length));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.serial_number = Some(SerialNumber::from_slice(serial.as_bytes()));
    params.not_before = validity.not_before;
    params.not_after = validity.not_after;
    params
}

/// `first` followed by `rest`, one PEM block per line group (`rest` may be empty).
pub(crate) fn concatenate_pem(first: &str, rest: &str) -> String {
    let mut chain = first.to_owned();
    if !rest.is_empty() && !chain.ends_with('\n') {
        chain.push('\n');
    }
    chain.push_str(rest);
    chain
}

/// The first `CERTIFICATE` block of `pem`, as text ending with a line break, so that a
/// chain built from it holds exactly that certificate.
fn first_certificate_block(pem: &str) -> Result<String, Error> {
    first_pem_block(pem, "CERTIFICATE").ok_or_else(|| rcgen::Error::CouldNotParseCertificate.into())
}

/// The first PEM block labelled `label` in `pem`, as text ending with a line break.
pub(crate) fn first_pem_block(pem: &str, label: &str) -> Option<String> {
    let begin = format!("-----BEGIN {label}-----");
    let end_line = format!("-----END {label}-----");
    let start = pem.find(&begin)?;
    let end = start + pem[start..].find(&end_line)? + end_line.len();
    Some(format!("{}\n", &pem[start..end]))
}

fn first_certificate(pem: &str) -> Result<CertificateDer<'static>, Error> {
    Ok(CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|_| rcgen::Error::CouldNotParseCertificate)?)
}

fn parse_certificate<'a>(der: &'a CertificateDer<'_>) -> Result<X509Certificate<'a>, Error> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der)
        .map_err(|_| rcgen::Error::CouldNotParseCertificate)?;
    Ok(certificate)
}

/// A certificate's serial and validity window.
fn serial_and_validity(certificate: &X509Certificate<'_>) -> Result<(Serial, Validity), Error> {
    let validity = certificate.validity();
    let validity = Validity::new(
        validity.not_before.to_datetime(),
        validity.not_after.to_datetime(),
    )?;
    Ok((Serial::from_bytes(certificate.raw_serial()), validity))
}

/// Refuses a key that is not the certificate's.
fn check_key(certificate: &X509Certificate<'_>, key: &KeyPair) -> Result<(), Error> {
    if certificate.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
        return Err(Error::KeyMismatch);
    }
    Ok(())
}

/// Whether `certificate` is a CA certificate that `signer` signed: named as its issuer,
/// with a signature `signer`'s key verifies.
fn is_ca_signed_by(certificate: &X509Certificate<'_>, signer: &X509Certificate<'_>) -> bool {
    certificate.is_ca()
        && certificate.issuer().as_raw() == signer.subject().as_raw()
        && certificate
            .verify_signature(Some(signer.public_key()))
            .is_ok()
}

/// Whether a CA certificate's basic constraints let it sign another CA.
fn allows_ca_below(certificate: &X509Certificate<'_>) -> bool {
    match certificate.basic_constraints() {
        Ok(Some(constraints)) => {
            constraints.value.ca && constraints.value.path_len_constraint != Some(0)
        }
        Ok(None) | Err(_) => false,
    }
}

fn distinguished_name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, ORGANIZATION);
    name.push(DnType::CommonName, common_name);
    name
}

fn leaf_params(request: &IssueRequest, serial: &Serial) -> Result<CertificateParams, Error> {
    let identity = &request.identity;
    let serves = serves_connections(identity);
    let has_server_names = !request.dns_names.is_empty() || !request.ip_addresses.is_empty();
    if !serves && has_server_names {
        return Err(Error::ClientOnly(identity.clone()));
    }
    if serves && !has_server_names {
        return Err(Error::NoServerName(identity.clone()));
    }
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name(&identity.spiffe_id());
    params.subject_alt_names = subject_alt_names(request)?;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = if serves {
        vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ]
    } else {
        vec![ExtendedKeyUsagePurpose::ClientAuth]
    };
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(SerialNumber::from_slice(serial.as_bytes()));
    params.not_before = request.validity.not_before;
    params.not_after = request.validity.not_after;
    Ok(params)
}

fn subject_alt_names(request: &IssueRequest) -> Result<Vec<SanType>, Error> {
    let mut names = vec![SanType::URI(request.identity.spiffe_id().try_into()?)];
    for dns_name in &request.dns_names {
        names.push(SanType::DnsName(dns_name.clone().try_into()?));
    }
    names.extend(request.ip_addresses.iter().copied().map(SanType::IpAddress));
    Ok(names)
}

#[cfg(test)]
mod tests {
    use accord_domain::StateCode;

    use super::*;

    fn at(unix_seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix_seconds).unwrap()
    }

    /// The certificate's subject alternative names, as x509-parser shows them.
    fn subject_alt_names(certificate: &X509Certificate<'_>) -> Vec<String> {
        let extension = certificate.subject_alternative_name().unwrap().unwrap();
        let names = &extension.value.general_names;
        names.iter().map(|name| name.to_string()).collect()
    }

    fn authority() -> CertificateAuthority {
        CertificateAuthority::generate(Validity::days_from(at(1_750_000_000), 10).unwrap()).unwrap()
    }

    /// An issuing CA under `root`, valid `days` from the tests' start.
    fn issuing_ca(root: &CertificateAuthority, days: u32) -> CertificateAuthority {
        root.issue_intermediate(Validity::days_from(at(1_750_000_000), days).unwrap())
            .unwrap()
    }

    #[test]
    fn a_node_certificate_names_its_state_and_serves_on_localhost_by_default() {
        let france = PeerIdentity::Node(StateCode::parse("FR").unwrap());
        let request = IssueRequest::new(
            france.clone(),
            Validity::days_from(at(1_750_000_000), 1).unwrap(),
        );
        let issued = authority().issue(&request).unwrap();
        let identity =
            crate::Identity::from_pem(&issued.certificate.certificate_pem, &issued.key_pem)
                .unwrap();
        assert_eq!(identity.peer_identity().unwrap(), france);
        let (_, certificate) =
            x509_parser::parse_x509_certificate(&identity.certificate_chain()[0]).unwrap();
        assert_eq!(
            subject_alt_names(&certificate),
            [
                "URI(spiffe://accord/state/FR)",
                "DNSName(localhost)",
                "IPAddress(7f:00:00:01)"
            ]
        );
        assert_eq!(
            certificate.raw_serial(),
            issued.certificate.serial.as_bytes()
        );
    }

    #[test]
    fn a_csr_gets_a_certificate_for_its_key_saying_only_what_the_request_says() {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut asked = CertificateParams::new(vec!["evil.example".to_owned()]).unwrap();
        asked.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let csr_pem = asked.serialize_request(&key).unwrap().pem().unwrap();
        let gateway = PeerIdentity::Gateway(StateCode::parse("GB").unwrap());
        let validity = Validity::days_from(at(1_750_000_000), 1).unwrap();
        let request = IssueRequest::new(gateway.clone(), validity);

        let issued = authority().issue_for_csr(&csr_pem, &request).unwrap();

        let identity = crate::Identity::from_pem(&issued.certificate_pem, &key.serialize_pem());
        assert_eq!(identity.unwrap().peer_identity().unwrap(), gateway);
        let der =
            rustls::pki_types::pem::PemObject::from_pem_slice(issued.certificate_pem.as_bytes());
        let der: CertificateDer<'static> = der.unwrap();
        let (_, certificate) = x509_parser::parse_x509_certificate(&der).unwrap();
        assert_eq!(
            certificate.public_key().subject_public_key.data.as_ref(),
            key.public_key_raw()
        );
        assert!(!certificate.is_ca());
        assert_eq!(
            subject_alt_names(&certificate),
            ["URI(spiffe://accord/state/GB/gateway)"],
            "only the SPIFFE ID, not the CSR's DNS name"
        );
        let tampered = csr_pem.replace("MII", "MIJ");
        assert!(authority().issue_for_csr(&tampered, &request).is_err());
    }

    #[test]
    fn client_only_identities_refuse_server_names() {
        let gateway = PeerIdentity::Gateway(StateCode::parse("FR").unwrap());
        let mut request =
            IssueRequest::new(gateway, Validity::days_from(at(1_750_000_000), 1).unwrap());
        assert!(request.dns_names.is_empty());
        request.dns_names.push("localhost".to_owned());
        assert!(matches!(
            authority().issue(&request),
            Err(Error::ClientOnly(_))
        ));
    }

    #[test]
    fn a_validity_window_must_not_be_empty_nor_past_year_9999() {
        assert!(Validity::new(at(10), at(10)).is_err());
        assert!(Validity::new(at(10), at(11)).is_ok());
        let error = Validity::days_from(at(1_750_000_000), u32::MAX).unwrap_err();
        assert!(matches!(error, Error::OutOfRange { .. }));
    }

    #[test]
    fn serials_print_and_parse_as_hex() {
        let serial = Serial::random().unwrap();
        assert_eq!(serial.as_bytes().len(), SERIAL_LENGTH_BYTES);
        assert!(serial.as_bytes()[0] > 0 && serial.as_bytes()[0] < 0x80);
        assert_eq!(Serial::parse(&serial.to_string()).unwrap(), serial);
        assert_eq!(Serial::parse("0a:ff").unwrap().as_bytes(), [0x0a, 0xff]);
        assert!(Serial::parse("xyz").is_err());
        assert!(Serial::parse("").is_err());
    }

    #[test]
    fn a_loaded_authority_signs_what_the_original_would() {
        let original = authority();
        let loaded =
            CertificateAuthority::from_pem(original.certificate_pem(), &original.key_pem())
                .unwrap();
        let revocation = Revocation {
            serial: Serial::parse("4a").unwrap(),
            revoked_at: at(1_750_000_100),
        };
        let validity = Validity::days_from(at(1_750_000_200), 30).unwrap();
        let signed = loaded
            .revocation_list(std::slice::from_ref(&revocation), 7, validity)
            .unwrap();
        let crl = Crl::from_pem(&signed.pem).unwrap();
        assert_eq!(crl.revoked_serials().unwrap(), [revocation.serial]);
        assert_eq!(crl.next_update().unwrap(), Some(validity.not_after()));
    }

    #[test]
    fn a_list_says_its_number_and_whether_another_came_from_the_same_ca() {
        let root = authority();
        let issuing = issuing_ca(&root, 10);
        let validity = Validity::days_from(at(1_750_000_200), 1).unwrap();
        let list = |ca: &CertificateAuthority, number| {
            Crl::from_pem(&ca.revocation_list(&[], number, validity).unwrap().pem).unwrap()
        };
        let (first, second, other) = (list(&root, 7), list(&root, 8), list(&issuing, 7));
        assert_eq!(first.number().unwrap(), Some(7));
        assert_eq!(second.number().unwrap(), Some(8));
        assert!(first.same_issuer(&second).unwrap());
        assert!(!first.same_issuer(&other).unwrap());
        assert!(root.issued(&first).unwrap() && issuing.issued(&other).unwrap());
        assert_ne!(first.issuer_der().unwrap(), other.issuer_der().unwrap());

        // A member under the issuing CA needs both lists to check its chain.
        let issued = issuing.issue(&node_request()).unwrap();
        let member =
            crate::Identity::from_pem(&issued.certificate.chain_pem, &issued.key_pem).unwrap();
        assert!(
            !member
                .chain_covered_by(std::slice::from_ref(&other))
                .unwrap()
        );
        assert!(
            !member
                .chain_covered_by(std::slice::from_ref(&first))
                .unwrap()
        );
        assert!(member.chain_covered_by(&[first, other]).unwrap());
    }

    fn parsed(pem: &str) -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn node_request() -> IssueRequest {
        let france = PeerIdentity::Node(StateCode::parse("FR").unwrap());
        IssueRequest::new(france, Validity::days_from(at(1_750_000_000), 1).unwrap())
    }

    #[test]
    fn an_issuing_ca_is_a_ca_the_root_signed_that_signs_no_ca_itself() {
        let root = authority();
        let issuing = issuing_ca(&root, 5);

        let issuing_der = &parsed(issuing.certificate_pem())[0];
        let certificate = parse_certificate(issuing_der).unwrap();
        let root_der = &parsed(root.certificate_pem())[0];
        let root_certificate = parse_certificate(root_der).unwrap();
        assert!(is_ca_signed_by(&certificate, &root_certificate));
        assert_ne!(
            certificate.subject().as_raw(),
            root_certificate.subject().as_raw()
        );
        let constraints = certificate.basic_constraints().unwrap().unwrap().value;
        assert!(constraints.ca);
        assert_eq!(constraints.path_len_constraint, Some(0));
        let usage = certificate.key_usage().unwrap().unwrap().value;
        assert!(usage.key_cert_sign() && usage.crl_sign());
        assert!(root.is_root() && !issuing.is_root());
        assert_eq!(
            issuing.bundle().certificates(),
            root.bundle().certificates()
        );
        assert_eq!(issuing.chain_pem(), issuing.certificate_pem());
        assert_eq!(root.chain_pem(), "");
        let refused =
            issuing.issue_intermediate(Validity::days_from(at(1_750_000_000), 1).unwrap());
        assert!(matches!(refused, Err(Error::NoCaBelow)));
        let sibling = issuing_ca(&root, 5);
        let sibling_der = &parsed(sibling.certificate_pem())[0];
        let sibling_certificate = parse_certificate(sibling_der).unwrap();
        assert_ne!(
            sibling_certificate.subject().as_raw(),
            certificate.subject().as_raw(),
            "CRLs are matched by issuer name: each issuing CA has its own"
        );
    }

    #[test]
    fn certificates_carry_their_issuers_chain_up_to_the_root_excluded() {
        let root = authority();
        let issuing = issuing_ca(&root, 5);
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let csr_pem = CertificateParams::default()
            .serialize_request(&key)
            .unwrap()
            .pem()
            .unwrap();
        let issuing_der = parsed(issuing.certificate_pem()).remove(0);
        let from_issuing = [
            issuing.issue(&node_request()).unwrap().certificate,
            issuing.issue_for_csr(&csr_pem, &node_request()).unwrap(),
        ];
        for issued in from_issuing {
            let chain = parsed(&issued.chain_pem);
            assert_eq!(chain.len(), 2);
            assert_eq!(chain[0], parsed(&issued.certificate_pem)[0]);
            assert_eq!(chain[1], issuing_der);
        }
        let from_root = root.issue(&node_request()).unwrap().certificate;
        assert_eq!(from_root.chain_pem, from_root.certificate_pem);
    }

    #[test]
    fn a_loaded_issuing_ca_signs_with_its_chain_and_needs_its_own_key_and_root() {
        let root = authority();
        let issuing = issuing_ca(&root, 5);
        let other_root = authority();
        let two_roots = format!("{}{}", other_root.certificate_pem(), root.certificate_pem());
        let with_root_after = format!("{}{}", issuing.certificate_pem(), root.certificate_pem());

        let loaded = CertificateAuthority::issuing_from_pem(
            &with_root_after,
            &issuing.key_pem(),
            &two_roots,
        )
        .unwrap();

        assert_eq!(loaded.chain_pem(), issuing.certificate_pem());
        assert_eq!(loaded.bundle().certificates(), root.bundle().certificates());
        let issued = loaded.issue(&node_request()).unwrap().certificate;
        assert_eq!(
            parsed(&issued.chain_pem)[1],
            parsed(issuing.certificate_pem())[0]
        );
        let load = |certificate: &str, key: &str, roots: &str| {
            CertificateAuthority::issuing_from_pem(certificate, key, roots).unwrap_err()
        };
        let wrong_key = load(
            issuing.certificate_pem(),
            &root.key_pem(),
            root.certificate_pem(),
        );
        assert!(matches!(wrong_key, Error::KeyMismatch), "{wrong_key:?}");
        let key = issuing.key_pem();
        let wrong_root = load(
            issuing.certificate_pem(),
            &key,
            other_root.certificate_pem(),
        );
        assert!(matches!(wrong_root, Error::NotBelowRoot), "{wrong_root:?}");
        let as_root = CertificateAuthority::from_pem(issuing.certificate_pem(), &key);
        assert!(matches!(as_root, Err(Error::NotRoot)), "{as_root:?}");
    }

    #[test]
    fn an_issuing_ca_lies_within_its_roots_validity() {
        let root = authority(); // ten days from 1_750_000_000, five minutes early
        let too_long = Validity::days_from(at(1_750_000_000), 11).unwrap();
        let too_early = Validity::new(at(1_749_000_000), at(1_750_000_100)).unwrap();
        let exactly = root.validity();

        for refused in [too_long, too_early] {
            let outcome = root.issue_intermediate(refused);
            assert!(
                matches!(outcome, Err(Error::BeyondIssuer { .. })),
                "{outcome:?}"
            );
        }
        let issuing = root.issue_intermediate(exactly).unwrap();
        assert_eq!(
            issuing.validity().not_after().unix_timestamp(),
            exactly.not_after().unix_timestamp()
        );
    }

    #[test]
    fn a_root_whose_path_length_is_zero_signs_no_issuing_ca() {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let validity = Validity::days_from(at(1_750_000_000), 10).unwrap();
        let serial = Serial::random().unwrap();
        let mut params = ca_params(CA_COMMON_NAME, 0, &serial, validity);
        params.key_usages.push(KeyUsagePurpose::DigitalSignature);
        let certificate = params.self_signed(&key).unwrap();
        let legacy = CertificateAuthority::from_pem(&certificate.pem(), &key.serialize_pem());

        let refused = legacy.unwrap().issue_intermediate(validity);

        assert!(matches!(refused, Err(Error::NoCaBelow)), "{refused:?}");
        let root = authority();
        let root_der = &parsed(root.certificate_pem())[0];
        let constraints = parse_certificate(root_der).unwrap();
        let constraints = constraints.basic_constraints().unwrap().unwrap().value;
        assert_eq!(constraints.path_len_constraint, Some(1));
    }
}
