//! What a certificate signing request asks for, read before anything is signed: the one
//! Accord identity its SAN URI names. The CA never copies anything else from a request
//! (`CertificateAuthority::issue_for_csr` writes only what the issuer decides); reading the
//! requested identity lets the issuer refuse a request for someone else with a clear error
//! instead of silently issuing a certificate the requester did not ask for.

use rcgen::{CertificateSigningRequestParams, SanType};

use crate::PeerIdentity;

/// Why a CSR cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CsrError {
    /// Not a PEM PKCS#10 request, or its signature does not verify.
    #[error("not a valid PEM certificate signing request")]
    Malformed(#[source] rcgen::Error),
    /// Its SANs name no Accord identity (`spiffe://accord/...`), or more than one.
    #[error("the request must name exactly one Accord identity as its SAN URI, found {found}")]
    Identity {
        /// How many Accord identities it names.
        found: usize,
    },
}

/// The Accord identity `csr_pem` asks a certificate for.
pub fn requested_identity(csr_pem: &str) -> Result<PeerIdentity, CsrError> {
    let request =
        CertificateSigningRequestParams::from_pem(csr_pem).map_err(CsrError::Malformed)?;
    let identities: Vec<PeerIdentity> = request
        .params
        .subject_alt_names
        .iter()
        .filter_map(|name| match name {
            SanType::URI(uri) => PeerIdentity::from_spiffe_id(uri.as_str()).ok(),
            _ => None,
        })
        .collect();
    match <[PeerIdentity; 1]>::try_from(identities) {
        Ok([identity]) => Ok(identity),
        Err(identities) => Err(CsrError::Identity {
            found: identities.len(),
        }),
    }
}

/// A fresh P-256 key and a CSR for `identity` signed with it: what a party sends to be
/// certified while its key stays where it was made.
pub struct KeyAndRequest {
    /// The private key, PKCS#8 PEM. A secret: write it with mode 0600.
    pub key_pem: String,
    /// The certificate signing request, PEM.
    pub csr_pem: String,
}

impl std::fmt::Debug for KeyAndRequest {
    /// Never shows the key.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("KeyAndRequest")
            .field("csr_pem", &self.csr_pem)
            .finish_non_exhaustive()
    }
}

/// Generates a key and a CSR naming `identity` as its one SAN URI.
pub fn key_and_request(identity: &PeerIdentity) -> Result<KeyAndRequest, CsrError> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(CsrError::Malformed)?;
    let csr_pem = request_for_key(identity, &key)?;
    Ok(KeyAndRequest {
        key_pem: key.serialize_pem(),
        csr_pem,
    })
}

fn request_for_key(identity: &PeerIdentity, key: &rcgen::KeyPair) -> Result<String, CsrError> {
    let mut params = rcgen::CertificateParams::default();
    let uri = identity
        .spiffe_id()
        .try_into()
        .map_err(CsrError::Malformed)?;
    params.subject_alt_names = vec![SanType::URI(uri)];
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, identity.spiffe_id());
    params
        .serialize_request(key)
        .and_then(|request| request.pem())
        .map_err(CsrError::Malformed)
}
