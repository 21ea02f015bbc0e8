//! The network's certificate authority: a root CA, the certificates it issues, its CRL.
//!
//! Keys are ECDSA P-256 with SHA-256 signatures, for the CA and every certificate: every
//! TLS stack a state might point at a node (rustls, grpcurl's Go TLS, Python grpcio's
//! BoringSSL, OpenSSL) verifies them, which is not yet true of Ed25519 certificates.
//! Event-signing keys are a different thing ([`crate::signing`]).
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
use time::{Duration, OffsetDateTime};

use crate::credentials::{CaBundle, Crl};
use crate::identity::PeerIdentity;

/// How far before "now" a new certificate or CRL starts to be valid, so that a party whose
/// clock runs a little behind the CA's still accepts it.
pub const CLOCK_SKEW_ALLOWANCE: Duration = Duration::minutes(5);

/// Length of generated serial numbers, in bytes (RFC 5280 allows up to 20).
const SERIAL_LENGTH_BYTES: usize = 16;

/// Common name of the network root CA.
const CA_COMMON_NAME: &str = "Accord network root CA";

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
    /// A serial number given as text is not hexadecimal.
    #[error("serial number {0:?} is not hexadecimal")]
    SerialSyntax(String),
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
    /// The certificate, PEM.
    pub certificate_pem: String,
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

/// The network root CA: its certificate and its signing key.
pub struct CertificateAuthority {
    certificate_der: CertificateDer<'static>,
    certificate_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl fmt::Debug for CertificateAuthority {
    /// Never shows the key.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("CertificateAuthority")
            .finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// Creates a new root CA with a fresh P-256 key. It may sign certificates and CRLs, and
    /// no intermediate CA (path length 0).
    pub fn generate(validity: Validity) -> Result<Self, Error> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = distinguished_name(CA_COMMON_NAME);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.serial_number = Some(SerialNumber::from_slice(Serial::random()?.as_bytes()));
        params.not_before = validity.not_before;
        params.not_after = validity.not_after;
        let certificate = params.self_signed(&key)?;
        Ok(Self {
            certificate_der: certificate.der().clone(),
            certificate_pem: certificate.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// Loads a CA from its certificate and its PKCS#8 private key, both PEM.
    pub fn from_pem(certificate_pem: &str, key_pem: &str) -> Result<Self, Error> {
        let key = KeyPair::from_pem(key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(certificate_pem, key)?;
        let certificate_der =
            rustls::pki_types::pem::PemObject::from_pem_slice(certificate_pem.as_bytes())
                .map_err(|_| rcgen::Error::CouldNotParseCertificate)?;
        Ok(Self {
            certificate_der,
            certificate_pem: certificate_pem.to_owned(),
            issuer,
        })
    }

    /// The CA certificate, PEM: give it to every party.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// The CA certificate as a trust bundle.
    pub fn bundle(&self) -> CaBundle {
        CaBundle::from_der(vec![self.certificate_der.clone()])
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
        Ok(IssuedCertificate {
            serial,
            identity: request.identity.clone(),
            validity: request.validity,
            certificate_pem: certificate.pem(),
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
    fn subject_alt_names(
        certificate: &x509_parser::certificate::X509Certificate<'_>,
    ) -> Vec<String> {
        let extension = certificate.subject_alternative_name().unwrap().unwrap();
        let names = &extension.value.general_names;
        names.iter().map(|name| name.to_string()).collect()
    }

    fn authority() -> CertificateAuthority {
        CertificateAuthority::generate(Validity::days_from(at(1_750_000_000), 10).unwrap()).unwrap()
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
}
