//! The gateway's configuration: defaults, then a TOML file, then `ACCORD_GATEWAY_*`
//! variables (nested keys with `__`: `ACCORD_GATEWAY_NODE__ENDPOINT`), then validation into
//! typed values.
//!
//! Identity, addresses, PKI paths and tokens have no defaults. Tokens are configured only as
//! the SHA-256 of the token, in hex (`printf %s "$TOKEN" | sha256sum`), so the file never
//! holds a secret; a list does not fit in variables, so tokens come from the file.
//!
//! The upstream says what the gateway fronts, and is one of two ([`Upstream`]): a state's
//! node (`state` and a `[node]` table, with the state's gateway certificate in `[tls]`), or
//! the coordinator (a `[coordinator]` table instead, with an operator's certificate,
//! `spiffe://accord/operator/NAME`, in `[tls]`). A state's gateway:
//!
//! ```toml
//! state = "GB"                          # the state whose node this gateway fronts
//! listen_addr = "127.0.0.1:8101"        # where the case system connects (HTTP)
//!
//! [node]
//! endpoint = "https://127.0.0.1:7101"   # the state's node
//! server_name = "127.0.0.1"             # optional: the name its certificate is checked against
//!
//! [tls]                                 # the state's gateway identity (spiffe://accord/state/GB/gateway)
//! ca = "pki/ca.pem"
//! certificate = "pki/issued/GB-gateway.pem"
//! private_key = "pki/issued/GB-gateway.key"
//!
//! [[tokens]]
//! sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
//! role = "caseworker"                   # caseworker (with state), operator or diplomat
//! state = "GB"
//! ```
//!
//! The coordinator's gateway, for its operators and diplomats (a caseworker's token is
//! refused there):
//!
//! ```toml
//! listen_addr = "127.0.0.1:8100"
//!
//! [coordinator]
//! endpoint = "https://127.0.0.1:7100"   # the coordinator
//! server_name = "127.0.0.1"             # optional, as for [node]
//!
//! [tls]                                 # an operator identity (spiffe://accord/operator/alice)
//! ca = "pki/ca.pem"
//! certificate = "pki/issued/operator-alice.pem"
//! private_key = "pki/issued/operator-alice.key"
//!
//! [[tokens]]
//! sha256 = "…"
//! role = "diplomat"
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use accord_domain::StateCode;
pub use accord_edge::settings::Error;
use accord_edge::settings::{self, invalid, required, required_path, socket_address};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::Role;

/// The configuration as written, before validation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// The state whose node this gateway fronts.
    pub state: Option<String>,
    /// Where the gateway listens.
    pub listen_addr: Option<String>,
    /// The node.
    pub node: Option<RawNode>,
    /// The coordinator, instead of `state` and `[node]`.
    pub coordinator: Option<RawNode>,
    /// The gateway's client identity.
    pub tls: Option<RawTls>,
    /// The bearer tokens, hashed.
    #[serde(default)]
    pub tokens: Vec<RawToken>,
}

/// `[node]` or `[coordinator]` as written.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNode {
    /// `https://host:port`.
    pub endpoint: Option<String>,
    /// The name the upstream's certificate must hold; default: the endpoint's host.
    pub server_name: Option<String>,
}

/// `[tls]` as written.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// The network's root CA certificate.
    pub ca: Option<PathBuf>,
    /// The state's gateway certificate.
    pub certificate: Option<PathBuf>,
    /// Its private key.
    pub private_key: Option<PathBuf>,
}

/// One `[[tokens]]` entry as written.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawToken {
    /// SHA-256 of the token, 64 hex digits.
    pub sha256: Option<String>,
    /// `caseworker`, `operator` or `diplomat`.
    pub role: Option<String>,
    /// The caseworker's state.
    pub state: Option<String>,
}

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// What the gateway fronts: a state's node, or the coordinator.
    pub upstream: Upstream,
    /// Where the gateway listens.
    pub listen_addr: SocketAddr,
    /// The upstream's endpoint, `https://host:port`.
    pub endpoint: String,
    /// The name the upstream's certificate must hold.
    pub server_name: String,
    /// The network's root CA certificate.
    pub ca: PathBuf,
    /// The gateway's certificate: the state's gateway identity in front of a node, an
    /// operator's in front of the coordinator.
    pub certificate: PathBuf,
    /// Its private key.
    pub private_key: PathBuf,
    /// The tokens and their roles.
    pub tokens: Vec<Token>,
}

/// What a gateway fronts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    /// A state's node: the gateway of the state's case system and caseworkers.
    Node(StateCode),
    /// The coordinator: the gateway of its operators and of diplomats.
    Coordinator,
}

/// A token's digest and the role it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// SHA-256 of the token.
    pub sha256: [u8; 32],
    /// The role.
    pub role: Role,
}

impl Token {
    /// The entry for `secret` (what tests and tools use to configure a token they hold).
    pub fn for_secret(secret: &str, role: Role) -> Self {
        Self {
            sha256: digest(secret),
            role,
        }
    }
}

/// SHA-256 of a presented token.
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

impl GatewayConfig {
    /// Loads defaults, then `file` (if given), then `ACCORD_GATEWAY_*` variables, and
    /// validates.
    pub fn load(file: Option<&Path>) -> Result<Self, Error> {
        settings::load(RawConfig::default(), file, "ACCORD_GATEWAY_")?.validate()
    }
}

impl RawConfig {
    /// Checks every value and builds the typed configuration.
    pub fn validate(self) -> Result<GatewayConfig, Error> {
        let listen_addr = socket_address("listen_addr", self.listen_addr.as_deref())?;
        let (upstream, table, upstream_key) = match (self.node, self.coordinator) {
            (Some(node), None) => (
                Upstream::Node(parse_state("state", self.state.as_deref())?),
                node,
                "node",
            ),
            (None, Some(_)) if self.state.is_some() => {
                return Err(invalid(
                    "state",
                    "the coordinator's gateway fronts no state's node; remove `state`",
                ));
            }
            (None, Some(coordinator)) => (Upstream::Coordinator, coordinator, "coordinator"),
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "coordinator",
                    "a gateway fronts a [node] or the [coordinator], not both",
                ));
            }
            (None, None) => {
                return Err(invalid(
                    "node",
                    "a [node] table (with `state`) or a [coordinator] table is required",
                ));
            }
        };
        let endpoint_key = format!("{upstream_key}.endpoint");
        let endpoint = required(&endpoint_key, table.endpoint.as_deref())?.to_owned();
        let host = endpoint
            .parse::<axum::http::Uri>()
            .ok()
            .filter(|uri| uri.scheme_str() == Some("https") && uri.port_u16().is_some())
            .and_then(|uri| uri.host().map(str::to_owned))
            .ok_or_else(|| invalid(&endpoint_key, "must be https://host:port"))?;
        let tls = self
            .tls
            .ok_or_else(|| invalid("tls", "the [tls] table is required"))?;
        let tokens = self
            .tokens
            .into_iter()
            .enumerate()
            .map(|(index, token)| validate_token(index, token))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(GatewayConfig {
            upstream,
            listen_addr,
            endpoint,
            server_name: table.server_name.unwrap_or(host),
            ca: required_path("tls.ca", tls.ca)?,
            certificate: required_path("tls.certificate", tls.certificate)?,
            private_key: required_path("tls.private_key", tls.private_key)?,
            tokens,
        })
    }
}

fn parse_state(key: &str, value: Option<&str>) -> Result<StateCode, Error> {
    let text = required(key, value)?;
    StateCode::parse(text).map_err(|error| invalid(key, error.to_string()))
}

fn validate_token(index: usize, raw: RawToken) -> Result<Token, Error> {
    let key = |field: &str| format!("tokens[{index}].{field}");
    let text = required(&key("sha256"), raw.sha256.as_deref())?;
    let sha256: [u8; 32] = hex::decode(text)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| {
            invalid(
                &key("sha256"),
                "must be 64 hex digits (SHA-256 of the token)",
            )
        })?;
    let role = match required(&key("role"), raw.role.as_deref())? {
        "caseworker" => Role::Caseworker(parse_state(&key("state"), raw.state.as_deref())?),
        "operator" | "diplomat" if raw.state.is_some() => {
            return Err(invalid(&key("state"), "only a caseworker has a state"));
        }
        "operator" => Role::Operator,
        "diplomat" => Role::Diplomat,
        other => {
            return Err(invalid(
                &key("role"),
                format!("{other:?} is not caseworker, operator or diplomat"),
            ));
        }
    };
    Ok(Token { sha256, role })
}
