//! Who is on the other end of a connection, read from its verified certificate.
//!
//! Every certificate the network CA issues names its holder with exactly one URI in its
//! subject alternative names, a SPIFFE ID of the `accord` trust domain:
//!
//! | SPIFFE ID                              | [`PeerIdentity`]           |
//! | -------------------------------------- | -------------------------- |
//! | `spiffe://accord/state/FR`             | `Node(FR)`                 |
//! | `spiffe://accord/state/FR/gateway`     | `Gateway(FR)`              |
//! | `spiffe://accord/coordinator`          | `Coordinator`              |
//! | `spiffe://accord/operator/alice`       | `Operator(alice)`          |
//!
//! A certificate with no URI, with two URIs, or with a URI outside this table names nobody
//! and is refused. The identity is taken only from the peer certificate that rustls has
//! already verified against the network CA and the CRL; no request field can change it.
//! This module does not decide what an identity may do, beyond [`PeerIdentity::acts_for`].

use std::fmt;

use accord_domain::StateCode;
use x509_parser::error::X509Error;
use x509_parser::extensions::GeneralName;

/// The SPIFFE trust domain of every Accord identity, with its scheme and trailing slash.
const SPIFFE_PREFIX: &str = "spiffe://accord/";

/// Longest operator name, in bytes: short enough to read in logs and file names.
const OPERATOR_NAME_LENGTH_MAX: usize = 64;

/// Why a certificate or request does not name an Accord peer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The connection carries no verified client certificate (not an mTLS connection).
    #[error("the connection presented no verified client certificate")]
    NoPeerCertificate,
    /// The certificate is not parseable DER X.509.
    #[error("the peer certificate is not a valid X.509 certificate")]
    Certificate(#[source] x509_parser::nom::Err<X509Error>),
    /// The subject alternative name extension is malformed or repeated.
    #[error("the peer certificate's subject alternative names are malformed")]
    SubjectAlternativeName(#[source] X509Error),
    /// The certificate has no URI subject alternative name.
    #[error("the peer certificate names no SPIFFE ID (no URI subject alternative name)")]
    NoSpiffeId,
    /// The certificate has more than one URI; an Accord certificate names exactly one holder.
    #[error("the peer certificate has {0} URI subject alternative names; exactly one is allowed")]
    SeveralUris(usize),
    /// The URI is not one of the SPIFFE IDs Accord issues.
    #[error("{0:?} is not an Accord SPIFFE ID")]
    NotAccordSpiffeId(String),
    /// The URI names a state whose code is not valid.
    #[error("the SPIFFE ID names an invalid state")]
    State(#[from] accord_domain::state::Error),
    /// The URI names an operator whose name is not valid.
    #[error(
        "operator name {0:?} must be 1-64 characters of a-z, 0-9, '-', '_', '.', starting with a letter or digit"
    )]
    OperatorName(String),
}

impl From<Error> for tonic::Status {
    /// Every identity failure is the caller's credentials, hence `UNAUTHENTICATED`.
    fn from(error: Error) -> Self {
        tonic::Status::unauthenticated(error.to_string())
    }
}

/// The name of a coordinator operator, as it appears in `spiffe://accord/operator/<name>`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OperatorName(String);

impl OperatorName {
    /// Parses an operator name: 1–64 characters of `a-z`, `0-9`, `-`, `_`, `.`, starting
    /// with a letter or digit. Upper case is refused so each operator has one spelling.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let starts_well = text
            .bytes()
            .next()
            .is_some_and(|first| first.is_ascii_lowercase() || first.is_ascii_digit());
        let allowed = |byte: u8| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || matches!(byte, b'-' | b'_' | b'.')
        };
        if !starts_well || text.len() > OPERATOR_NAME_LENGTH_MAX || !text.bytes().all(allowed) {
            return Err(Error::OperatorName(text.to_owned()));
        }
        Ok(Self(text.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OperatorName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

text_form!(OperatorName);

/// Who a verified peer certificate names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PeerIdentity {
    /// A state's node (`spiffe://accord/state/FR`): serves partners and calls them.
    Node(StateCode),
    /// A state's local client, e.g. its REST gateway (`spiffe://accord/state/FR/gateway`).
    Gateway(StateCode),
    /// The network coordinator (`spiffe://accord/coordinator`).
    Coordinator,
    /// A coordinator operator (`spiffe://accord/operator/alice`).
    Operator(OperatorName),
}

impl PeerIdentity {
    /// Parses an Accord SPIFFE ID (see the module table). Anything else is refused.
    pub fn from_spiffe_id(uri: &str) -> Result<Self, Error> {
        let not_accord = || Error::NotAccordSpiffeId(uri.to_owned());
        let path = uri.strip_prefix(SPIFFE_PREFIX).ok_or_else(not_accord)?;
        let segments: Vec<&str> = path.split('/').collect();
        match segments.as_slice() {
            ["coordinator"] => Ok(Self::Coordinator),
            ["state", state] => Ok(Self::Node(StateCode::parse(state)?)),
            ["state", state, "gateway"] => Ok(Self::Gateway(StateCode::parse(state)?)),
            ["operator", name] => Ok(Self::Operator(OperatorName::parse(name)?)),
            _ => Err(not_accord()),
        }
    }

    /// The SPIFFE ID this identity is issued under.
    pub fn spiffe_id(&self) -> String {
        match self {
            Self::Node(state) => format!("{SPIFFE_PREFIX}state/{state}"),
            Self::Gateway(state) => format!("{SPIFFE_PREFIX}state/{state}/gateway"),
            Self::Coordinator => format!("{SPIFFE_PREFIX}coordinator"),
            Self::Operator(name) => format!("{SPIFFE_PREFIX}operator/{name}"),
        }
    }

    /// Reads the identity from a DER certificate: exactly one URI subject alternative name,
    /// and it must be an Accord SPIFFE ID. The caller must have verified the certificate.
    pub fn from_certificate_der(certificate_der: &[u8]) -> Result<Self, Error> {
        let (_, certificate) =
            x509_parser::parse_x509_certificate(certificate_der).map_err(Error::Certificate)?;
        let names = certificate
            .subject_alternative_name()
            .map_err(Error::SubjectAlternativeName)?
            .map(|extension| extension.value.general_names.clone())
            .unwrap_or_default();
        let uris: Vec<&str> = names
            .iter()
            .filter_map(|name| match name {
                GeneralName::URI(uri) => Some(*uri),
                _ => None,
            })
            .collect();
        match uris.as_slice() {
            [] => Err(Error::NoSpiffeId),
            [uri] => Self::from_spiffe_id(uri),
            several => Err(Error::SeveralUris(several.len())),
        }
    }

    /// The identity of the peer that sent a request on a server built with
    /// [`crate::listener`]: the one the [`crate::authentication`] layer recorded, or else
    /// the one read from the connection's verified client certificate.
    pub fn from_request<T>(request: &tonic::Request<T>) -> Result<Self, Error> {
        if let Some(identity) = request.extensions().get::<PeerIdentity>() {
            return Ok(identity.clone());
        }
        let certificates = request.peer_certs().ok_or(Error::NoPeerCertificate)?;
        let leaf = certificates.first().ok_or(Error::NoPeerCertificate)?;
        Self::from_certificate_der(leaf)
    }

    /// The state this peer speaks for, if any: a node or gateway of that state.
    pub fn state(&self) -> Option<StateCode> {
        match self {
            Self::Node(state) | Self::Gateway(state) => Some(*state),
            Self::Coordinator | Self::Operator(_) => None,
        }
    }

    /// Whether this peer may act as `state`: only that state's node or gateway may.
    pub fn acts_for(&self, state: StateCode) -> bool {
        self.state() == Some(state)
    }

    /// A short file-name stem for this identity's credentials: `FR-node`, `FR-gateway`,
    /// `coordinator`, `operator-alice`.
    pub fn file_stem(&self) -> String {
        match self {
            Self::Node(state) => format!("{state}-node"),
            Self::Gateway(state) => format!("{state}-gateway"),
            Self::Coordinator => "coordinator".to_owned(),
            Self::Operator(name) => format!("operator-{name}"),
        }
    }
}

impl fmt::Display for PeerIdentity {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.spiffe_id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(code: &str) -> StateCode {
        StateCode::parse(code).unwrap()
    }

    fn check(uri: &str, expected: Option<PeerIdentity>) {
        let parsed = PeerIdentity::from_spiffe_id(uri).ok();
        assert_eq!(parsed, expected, "{uri}");
    }

    #[test]
    fn accord_spiffe_ids_parse_and_everything_else_is_refused() {
        let alice = OperatorName::parse("alice").unwrap();
        check(
            "spiffe://accord/state/FR",
            Some(PeerIdentity::Node(state("FR"))),
        );
        check(
            "spiffe://accord/state/GB/gateway",
            Some(PeerIdentity::Gateway(state("GB"))),
        );
        check(
            "spiffe://accord/coordinator",
            Some(PeerIdentity::Coordinator),
        );
        check(
            "spiffe://accord/operator/alice",
            Some(PeerIdentity::Operator(alice)),
        );
        check("spiffe://accord/state/fr", None);
        check("spiffe://accord/state/XX", None);
        check("spiffe://accord/state/FR/", None);
        check("spiffe://accord/state/FR/node", None);
        check("spiffe://accord/state", None);
        check("spiffe://accord/coordinator/", None);
        check("spiffe://other/state/FR", None);
        check("https://accord/state/FR", None);
        check("spiffe://accord/operator/Alice", None);
        check("spiffe://accord/operator/", None);
        check("spiffe://accord/operator/.hidden", None);
        check("", None);
    }

    #[test]
    fn every_identity_round_trips_through_its_spiffe_id() {
        let identities = [
            PeerIdentity::Node(state("FR")),
            PeerIdentity::Gateway(state("FR")),
            PeerIdentity::Coordinator,
            PeerIdentity::Operator(OperatorName::parse("ops-1.b_c").unwrap()),
        ];
        for identity in identities {
            assert_eq!(
                PeerIdentity::from_spiffe_id(&identity.spiffe_id()).unwrap(),
                identity
            );
        }
    }

    #[test]
    fn only_a_states_node_and_gateway_act_for_it() {
        assert!(PeerIdentity::Node(state("FR")).acts_for(state("FR")));
        assert!(PeerIdentity::Gateway(state("FR")).acts_for(state("FR")));
        assert!(!PeerIdentity::Node(state("FR")).acts_for(state("GB")));
        assert!(!PeerIdentity::Coordinator.acts_for(state("FR")));
    }

    #[test]
    fn operator_names_are_bounded() {
        assert!(OperatorName::parse(&"a".repeat(64)).is_ok());
        assert!(OperatorName::parse(&"a".repeat(65)).is_err());
        assert!(OperatorName::parse("-dash").is_err());
        assert!(OperatorName::parse("a/b").is_err());
    }

    fn certificate_with_uris(uris: &[&str]) -> Vec<u8> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        for uri in uris {
            params
                .subject_alt_names
                .push(rcgen::SanType::URI((*uri).try_into().unwrap()));
        }
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn a_certificate_names_a_peer_only_through_exactly_one_accord_uri() {
        let good = certificate_with_uris(&["spiffe://accord/state/FR"]);
        assert_eq!(
            PeerIdentity::from_certificate_der(&good).unwrap(),
            PeerIdentity::Node(state("FR"))
        );
        let none = certificate_with_uris(&[]);
        assert!(matches!(
            PeerIdentity::from_certificate_der(&none),
            Err(Error::NoSpiffeId)
        ));
        let two = certificate_with_uris(&["spiffe://accord/state/FR", "spiffe://accord/state/GB"]);
        assert!(matches!(
            PeerIdentity::from_certificate_der(&two),
            Err(Error::SeveralUris(2))
        ));
        let foreign = certificate_with_uris(&["spiffe://example.org/state/FR"]);
        let error = PeerIdentity::from_certificate_der(&foreign).unwrap_err();
        assert!(matches!(error, Error::NotAccordSpiffeId(_)));
        let bad_state = certificate_with_uris(&["spiffe://accord/state/XX"]);
        assert!(matches!(
            PeerIdentity::from_certificate_der(&bad_state),
            Err(Error::State(_))
        ));
        let malformed = &good[..good.len() / 2];
        let error = PeerIdentity::from_certificate_der(malformed).unwrap_err();
        assert!(matches!(error, Error::Certificate(_)));
    }

    #[test]
    fn a_request_without_a_client_certificate_names_nobody() {
        let request = tonic::Request::new(());
        let error = PeerIdentity::from_request(&request).unwrap_err();
        assert!(matches!(error, Error::NoPeerCertificate));
        assert_eq!(
            tonic::Status::from(error).code(),
            tonic::Code::Unauthenticated
        );
    }
}
