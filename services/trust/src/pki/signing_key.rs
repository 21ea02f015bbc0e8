//! Certificates for Ed25519 signing keys: how a CA of the network vouches that a signing key
//! (the coordinator's, which signs the directory, tree heads and settlement reports) belongs
//! to an identity, so that anyone holding only the root CA can check a signature offline.
//!
//! [`CertificateAuthority::certify_signing_key`] issues an X.509 certificate whose subject
//! key is the Ed25519 key itself, naming its holder with one SPIFFE URI, with key usage
//! digitalSignature only and no extended key usage: it proves a signing key, and no TLS
//! stack accepts it for a connection (the holder's TLS certificate is a different one, with
//! a P-256 key). [`verify_signing_key_chain`] checks such a certificate and the CAs between
//! it and the root against a [`CaBundle`] at a given instant — the chain by rustls-webpki,
//! as TLS chains are checked, then the certificate's own shape by x509-parser — and returns
//! the verified key.
//!
//! What this module does not do: it reads no clock (the instant is an argument) and checks no
//! revocation list (an offline verifier holds only the root; a CRL is for live connections).

use rcgen::{
    CertificateParams, DnType, IsCa, KeyUsagePurpose, SanType, SerialNumber, SubjectPublicKeyInfo,
};
use rustls::pki_types::{CertificateDer, UnixTime};
use time::OffsetDateTime;
use webpki::{ExtendedKeyUsageValidator, KeyPurposeIdIter};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use super::{CertificateAuthority, Error as PkiError, IssuedCertificate, Serial, Validity};
use crate::credentials::CaBundle;
use crate::identity::PeerIdentity;
use crate::signing::EventVerifyingKey;

/// The object identifier of Ed25519 public keys (RFC 8410), dotted.
const ED25519_OID: &str = "1.3.101.112";

/// Common name of a signing-key certificate, after the holder's SPIFFE ID.
const COMMON_NAME_SUFFIX: &str = " signing key";

/// Why a signing-key certificate chain was refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No certificate was given.
    #[error("no certificate was given")]
    Empty,
    /// The chain does not lead to a root of the bundle, or a certificate of it is not valid
    /// at the instant asked (expired, not yet valid, a CA that may not sign, a bad signature).
    #[error("the certificate chain does not verify against the root CA at {at}")]
    Chain {
        /// The instant of the check.
        at: OffsetDateTime,
        /// What rustls-webpki refused.
        #[source]
        source: webpki::Error,
    },
    /// The certificate is not parseable DER X.509.
    #[error("the certificate is not a valid X.509 certificate")]
    Unparsable,
    /// The certificate's key is not an Ed25519 key usable for signatures.
    #[error("the certificate's subject key is not an Ed25519 public key")]
    NotEd25519,
    /// The certificate may be used for more than signatures: a CA, a key usage other than
    /// digitalSignature alone, or an extended key usage (TLS).
    #[error("the certificate is not for signatures only ({0})")]
    Usage(&'static str),
    /// The certificate does not name the expected identity.
    #[error("the certificate names {found}, not {expected}")]
    Identity {
        /// The identity asked for.
        expected: PeerIdentity,
        /// What the certificate names.
        found: String,
    },
}

impl CertificateAuthority {
    /// Certifies that the Ed25519 signing key `key` belongs to `identity`, over `validity`:
    /// a certificate with `key` as its subject key, `identity`'s SPIFFE ID as its one SAN URI,
    /// key usage digitalSignature only and no extended key usage. Its `chain_pem` is what a
    /// verifier needs besides the root ([`verify_signing_key_chain`]).
    pub fn certify_signing_key(
        &self,
        identity: &PeerIdentity,
        key: &EventVerifyingKey,
        validity: Validity,
    ) -> Result<IssuedCertificate, PkiError> {
        let key_pem = key.to_pem().map_err(|_| PkiError::Unparsable)?;
        let public_key = SubjectPublicKeyInfo::from_pem(&key_pem)?;
        let serial = Serial::random()?;
        let mut params = CertificateParams::default();
        params.distinguished_name =
            super::distinguished_name(&format!("{}{COMMON_NAME_SUFFIX}", identity.spiffe_id()));
        params
            .distinguished_name
            .push(DnType::OrganizationalUnitName, "signing keys");
        params.subject_alt_names = vec![SanType::URI(identity.spiffe_id().try_into()?)];
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = Vec::new();
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(SerialNumber::from_slice(serial.as_bytes()));
        params.not_before = validity.not_before();
        params.not_after = validity.not_after();
        let certificate = params.signed_by(&public_key, &self.issuer)?;
        let certificate_pem = certificate.pem();
        Ok(IssuedCertificate {
            serial,
            identity: identity.clone(),
            validity,
            chain_pem: super::concatenate_pem(&certificate_pem, &self.chain_pem),
            certificate_pem,
        })
    }
}

/// Checks that `chain` — a signing-key certificate, then the CAs between it and the root —
/// leads to a root of `roots` with every certificate valid at `at`, that the first
/// certificate is for signatures only and names `expected`, and returns its Ed25519 key.
pub fn verify_signing_key_chain(
    chain: &[CertificateDer<'_>],
    roots: &CaBundle,
    at: OffsetDateTime,
    expected: &PeerIdentity,
) -> Result<EventVerifyingKey, Error> {
    let (leaf, intermediates) = chain.split_first().ok_or(Error::Empty)?;
    let anchors = roots
        .certificates()
        .iter()
        .filter_map(|root| webpki::anchor_from_trusted_cert(root).ok())
        .collect::<Vec<_>>();
    let chain_error = |source| Error::Chain { at, source };
    let end_entity = webpki::EndEntityCert::try_from(leaf).map_err(chain_error)?;
    let seconds = u64::try_from(at.unix_timestamp()).unwrap_or(0);
    let algorithms = rustls::crypto::ring::default_provider()
        .signature_verification_algorithms
        .all;
    end_entity
        .verify_for_usage(
            algorithms,
            &anchors,
            intermediates,
            UnixTime::since_unix_epoch(std::time::Duration::from_secs(seconds)),
            NoExtendedKeyUsage,
            None,
            None,
        )
        .map_err(chain_error)?;
    let (_, certificate) =
        x509_parser::parse_x509_certificate(leaf).map_err(|_| Error::Unparsable)?;
    check_signatures_only(&certificate)?;
    check_names(&certificate, expected)?;
    ed25519_key(&certificate)
}

/// Refuses every extended key usage, on the signing-key certificate and its CAs alike (the
/// network's CAs carry none): a certificate for TLS is never one for a signing key.
struct NoExtendedKeyUsage;

impl ExtendedKeyUsageValidator for NoExtendedKeyUsage {
    fn validate(&self, mut iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        match iter.next() {
            None => Ok(()),
            Some(Err(error)) => Err(error),
            #[allow(deprecated)] // the context variant needs values webpki keeps private.
            Some(Ok(_)) => Err(webpki::Error::RequiredEkuNotFound),
        }
    }
}

fn check_signatures_only(certificate: &X509Certificate<'_>) -> Result<(), Error> {
    if certificate.is_ca() {
        return Err(Error::Usage("a CA certificate"));
    }
    let usage = certificate
        .key_usage()
        .map_err(|_| Error::Unparsable)?
        .ok_or(Error::Usage("no key usage"))?;
    if !usage.value.digital_signature() || usage.value.flags != 1 {
        return Err(Error::Usage("key usage other than digitalSignature alone"));
    }
    let extended = certificate
        .extended_key_usage()
        .map_err(|_| Error::Unparsable)?;
    if extended.is_some() {
        return Err(Error::Usage("an extended key usage"));
    }
    Ok(())
}

fn check_names(certificate: &X509Certificate<'_>, expected: &PeerIdentity) -> Result<(), Error> {
    let names = certificate
        .subject_alternative_name()
        .map_err(|_| Error::Unparsable)?;
    let uris: Vec<&str> = names
        .iter()
        .flat_map(|extension| extension.value.general_names.iter())
        .filter_map(|name| match name {
            GeneralName::URI(uri) => Some(*uri),
            _ => None,
        })
        .collect();
    match uris.as_slice() {
        [uri] if *uri == expected.spiffe_id() => Ok(()),
        _ => Err(Error::Identity {
            expected: expected.clone(),
            found: if uris.is_empty() {
                "no SPIFFE ID".to_owned()
            } else {
                uris.join(", ")
            },
        }),
    }
}

fn ed25519_key(certificate: &X509Certificate<'_>) -> Result<EventVerifyingKey, Error> {
    let public_key = certificate.public_key();
    if public_key.algorithm.algorithm.to_id_string() != ED25519_OID
        || public_key.algorithm.parameters.is_some()
    {
        return Err(Error::NotEd25519);
    }
    let bytes: &[u8; 32] = public_key
        .subject_public_key
        .data
        .as_ref()
        .try_into()
        .map_err(|_| Error::NotEd25519)?;
    EventVerifyingKey::from_bytes(bytes).map_err(|_| Error::NotEd25519)
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::pem::PemObject as _;

    use super::*;
    use crate::EventSigningKey;
    use crate::pki::IssueRequest;

    fn at(unix_seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix_seconds).unwrap()
    }

    const NOW: i64 = 1_750_000_000;

    fn chain(pem: &str) -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn root() -> CertificateAuthority {
        CertificateAuthority::generate(Validity::days_from(at(NOW), 30).unwrap()).unwrap()
    }

    #[test]
    fn an_issuing_ca_certifies_a_signing_key_that_the_root_alone_verifies() {
        let root = root();
        let issuing = root
            .issue_intermediate(Validity::days_from(at(NOW), 20).unwrap())
            .unwrap();
        let key = EventSigningKey::generate().unwrap().verifying_key();
        let certificate = issuing
            .certify_signing_key(
                &PeerIdentity::Coordinator,
                &key,
                Validity::days_from(at(NOW), 10).unwrap(),
            )
            .unwrap();

        let chain = chain(&certificate.chain_pem);
        assert_eq!(chain.len(), 2);
        let verified =
            verify_signing_key_chain(&chain, &root.bundle(), at(NOW), &PeerIdentity::Coordinator)
                .unwrap();
        assert_eq!(verified, key);
        let (_, parsed) = x509_parser::parse_x509_certificate(&chain[0]).unwrap();
        assert!(parsed.extended_key_usage().unwrap().is_none());
    }

    #[test]
    fn a_chain_is_refused_outside_its_validity_under_another_root_or_for_another_identity() {
        let root = root();
        let key = EventSigningKey::generate().unwrap().verifying_key();
        let validity = Validity::new(at(NOW), at(NOW + 3_600)).unwrap();
        let certificate = root
            .certify_signing_key(&PeerIdentity::Coordinator, &key, validity)
            .unwrap();
        let chain = chain(&certificate.chain_pem);
        let coordinator = PeerIdentity::Coordinator;
        let verify = |roots: &CaBundle, time: i64, identity: &PeerIdentity| {
            verify_signing_key_chain(&chain, roots, at(time), identity)
        };
        assert!(verify(&root.bundle(), NOW + 60, &coordinator).is_ok());
        let expired = verify(&root.bundle(), NOW + 7_200, &coordinator);
        assert!(matches!(expired, Err(Error::Chain { .. })), "{expired:?}");
        let other_root = verify(&self::root().bundle(), NOW + 60, &coordinator);
        assert!(
            matches!(other_root, Err(Error::Chain { .. })),
            "{other_root:?}"
        );
        let france = PeerIdentity::Node(accord_domain::StateCode::parse("FR").unwrap());
        let wrong_identity = verify(&root.bundle(), NOW + 60, &france);
        assert!(
            matches!(wrong_identity, Err(Error::Identity { .. })),
            "{wrong_identity:?}"
        );
        assert!(matches!(
            verify_signing_key_chain(&[], &root.bundle(), at(NOW), &coordinator),
            Err(Error::Empty)
        ));
    }

    #[test]
    fn a_tls_certificate_is_no_signing_key_certificate() {
        let root = root();
        let request = IssueRequest::new(
            PeerIdentity::Coordinator,
            Validity::days_from(at(NOW), 1).unwrap(),
        );
        let tls = root.issue(&request).unwrap().certificate;
        let refused = verify_signing_key_chain(
            &chain(&tls.chain_pem),
            &root.bundle(),
            at(NOW),
            &PeerIdentity::Coordinator,
        );
        assert!(matches!(refused, Err(Error::Chain { .. })), "{refused:?}");
    }
}
