//! Accord's trust layer: who is on the line, and who said what.
//!
//! Two separate mechanisms, with separate keys:
//!
//! - **mTLS** proves who is on the line. A network root CA ([`pki`]), or an issuing CA it
//!   signed so that its own key can stay offline, issues one certificate per node,
//!   coordinator, gateway and operator, each naming its holder with exactly one SPIFFE URI
//!   (`spiffe://accord/state/FR`, …); parties trust the root alone. [`tls`] builds the
//!   rustls configurations (client certificates required, every CRL of the chain checked),
//!   [`listener`] accepts TLS connections
//!   for a tonic server, [`channel`] opens tonic channels over the same configuration, and
//!   [`identity`] turns the *verified* peer certificate into a [`PeerIdentity`] — never a
//!   request field. [`authentication`] puts that identity into every request or refuses it.
//! - **Ed25519 signatures** ([`signing`]) prove later, to anyone, who said what: events and
//!   reports are signed over a documented byte form with keys distinct from TLS keys.
//!   [`log`] holds the transparency log's primitives built on them: RFC 6962 Merkle trees,
//!   inclusion and consistency proofs, and C2SP checkpoints, signed notes and witness
//!   cosignatures.
//!
//! What this crate deliberately does not do: it defines no event's canonical bytes (the
//! domain does; this crate signs opaque bytes), it decides no authorization beyond "which
//! state does this peer act for" (use cases do), and it keeps no membership directory.
//! Time for issuing certificates is an argument; only [`clock`] reads the wall clock.

#[macro_use]
mod text_form;

pub mod authentication;
pub mod channel;
pub mod clock;
pub mod credentials;
pub mod identity;
pub mod listener;
pub mod log;
pub mod log_limit;
pub mod pki;
pub mod signing;
pub mod tls;

pub use authentication::{PeerIdentityLayer, authenticate};
pub use channel::{ClientTls, connect, connect_lazy};
pub use credentials::{CaBundle, Crl, Identity, load_ca, load_crl, load_crls};
pub use identity::{OperatorName, PeerIdentity};
pub use listener::{ServerConfigHandle, TlsIncoming, bind, listen_on};
pub use log_limit::LogLimiter;
pub use signing::{EventSigningKey, EventVerifyingKey, KeyId, Signature, SigningDomain};
pub use tls::{client_config, install_crypto_provider, server_config};
