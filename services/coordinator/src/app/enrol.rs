//! A state joins: its one-time token is redeemed, its node's (and gateway's) CSRs are signed
//! by the issuing CA, its endpoint and event-signing key are registered, and the directory's
//! next version lists it ACTIVE — all in one transaction with the token's use, so a token is
//! used exactly when a member is added.
//!
//! The caller has no certificate yet: it is named by its token (`enrolment:<token id>`) in
//! idempotency records and audit rows, and the retry of a request that succeeded returns the
//! same certificates. Each refusal of a token is its own [`TokenRefusal`], audited; a source
//! address that keeps presenting bad tokens is refused for the rest of the minute
//! ([`FailedAttempts`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use accord_domain::membership::{
    CertificateRole, DirectoryChange, Member, MemberCertificate, MemberStatus, SigningKeyEntry,
    SigningKeyStatus,
};
use accord_domain::{StateCode, Timestamp};
use accord_trust::pki::{IssueRequest, IssuedCertificate, Validity};
use accord_trust::{EventVerifyingKey, PeerIdentity};
use sha2::{Digest, Sha256};

use super::enrolment::{restore, token_hash};
use super::{App, Asked, Error, Replied, from_pki_time, pki_time};
use crate::convert::command::{Enrol, Enrolled};
use crate::store::{Change, EnrolmentWrite};

/// Why a token does not admit its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    /// No token has this secret.
    #[error("the enrolment token is not known")]
    Unknown,
    /// The token's time is over.
    #[error("the enrolment token has expired")]
    Expired,
    /// An operator cancelled it.
    #[error("the enrolment token was cancelled")]
    Cancelled,
    /// It admitted its state already (with another request).
    #[error("the enrolment token was used")]
    Used,
}

/// A joining state's member entry and certificate chains.
struct Certified {
    member: Member,
    node_chain: String,
    gateway_chain: Option<String>,
    signing_key_id: String,
}

/// Failed token presentations per source address, in the current minute.
pub(crate) struct FailedAttempts {
    per_minute: u32,
    counts: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

/// Milliseconds in the counting window.
const WINDOW_MILLIS: i64 = 60_000;

impl FailedAttempts {
    /// At most `per_minute` failures from one address each minute.
    pub(crate) fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `source` may still try this minute.
    fn allows(&self, source: Option<IpAddr>, now: Timestamp) -> bool {
        let Some(source) = source else { return true };
        let counts = self
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        counts.get(&source).is_none_or(|(window, count)| {
            now.as_millis() - window >= WINDOW_MILLIS || *count < self.per_minute
        })
    }

    /// Counts a failure from `source`.
    fn record(&self, source: Option<IpAddr>, now: Timestamp) {
        let Some(source) = source else { return };
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = now.as_millis();
        counts.retain(|_, (window, _)| now - *window < WINDOW_MILLIS);
        let entry = counts.entry(source).or_insert((now, 0));
        entry.1 = entry.1.saturating_add(1);
    }
}

impl App {
    /// Enrols the state `command` names with its token (see the module documentation).
    pub async fn enrol(
        &self,
        key: &crate::convert::command::RequestKey,
        source: Option<IpAddr>,
        command: Enrol,
        encode: &(dyn Fn(&Enrolled) -> Vec<u8> + Send + Sync),
    ) -> Result<Replied<Enrolled>, Error> {
        const PATH: &str = "/accord.v1.MembershipService/Enrol";
        let now = self.inner.clock.now();
        let anonymous = format!(
            "anonymous:{}",
            source.map_or("-".to_owned(), |ip| ip.to_string())
        );
        if !self.inner.failed_attempts.allows(source, now) {
            self.audit_refusal(&anonymous, PATH, "LIMIT_EXCEEDED", "too many bad tokens")
                .await;
            return Err(Error::Exhausted(
                "too many failed enrolment attempts from this address; retry in a minute"
                    .to_owned(),
            ));
        }
        let Some(record) = self
            .inner
            .store
            .find_enrolment_by_token(&token_hash(&command.token))
            .await?
        else {
            return Err(self
                .refuse_token(&anonymous, source, TokenRefusal::Unknown)
                .await);
        };
        let caller = format!("enrolment:{}", record.token_id);
        let asked = Asked {
            caller: &caller,
            key,
            operation: PATH,
            encode,
        };
        if let Some(first) = self.first_answer(&asked).await? {
            return Ok(Replied::Replay(first));
        }
        let enrolment = restore(&record)?;
        let redeemed = match enrolment.redeem(command.state, now) {
            Ok(redeemed) => redeemed,
            Err(error) => return Err(self.refuse_redemption(&caller, source, error).await),
        };
        let state = command.state;
        let certified = self.certify(command, now)?;
        let writes = Change {
            enrolment: Some(EnrolmentWrite::Update(self.record_of(
                &redeemed,
                "",
                &record.issued_by,
            ))),
            ..Change::default()
        };
        let ca_pem = self.inner.issuing.root_pem.clone();
        let detail = format!("{state} joined with token {}", record.token_id);
        let Certified {
            member,
            node_chain,
            gateway_chain,
            signing_key_id,
        } = certified;
        self.change_directory(
            asked,
            vec![DirectoryChange::Enrol { member }],
            detail,
            writes,
            |signed| {
                Some(Enrolled {
                    member: signed.directory().member(state)?.clone(),
                    node_certificate_chain_pem: node_chain,
                    gateway_certificate_chain_pem: gateway_chain,
                    ca_certificate_pem: ca_pem,
                    signing_key_id,
                    directory: signed.clone(),
                })
            },
        )
        .await
    }

    /// The new member `command` describes, with its certificates issued from its CSRs.
    fn certify(&self, command: Enrol, now: Timestamp) -> Result<Certified, Error> {
        let node = self.issue_from_csr(
            "node_csr_pem",
            &command.node_csr_pem,
            PeerIdentity::Node(command.state),
            Some(command.endpoint.server_name()),
            now,
        )?;
        let gateway =
            self.issue_for_gateway(command.gateway_csr_pem.as_deref(), command.state, now)?;
        let verifying_key = EventVerifyingKey::from_bytes(&command.signing_public_key)
            .map_err(|error| Error::invalid("signing_public_key", error.to_string()))?;
        let signing_key_id = verifying_key.key_id().to_string();
        let mut certificates = vec![member_certificate(CertificateRole::Node, &node)?];
        if let Some(gateway) = &gateway {
            certificates.push(member_certificate(CertificateRole::Gateway, gateway)?);
        }
        let chain = |issued: &IssuedCertificate| {
            format!("{}{}", issued.certificate_pem, self.inner.issuing.chain_pem)
        };
        Ok(Certified {
            member: Member {
                state: command.state,
                status: MemberStatus::Active,
                status_reason: None,
                status_changed_at: now,
                joined_at: now,
                endpoint: command.endpoint,
                certificates,
                signing_keys: vec![SigningKeyEntry {
                    key_id: signing_key_id.clone(),
                    public_key: command.signing_public_key,
                    status: SigningKeyStatus::Active,
                    valid_from: now,
                    valid_until: None,
                }],
            },
            node_chain: chain(&node),
            gateway_chain: gateway.as_ref().map(chain),
            signing_key_id,
        })
    }

    /// A certificate for the key of `csr_pem`, naming `identity` and, for a node, serving
    /// on `host` (the endpoint's host: an IP address or a DNS name).
    pub(super) fn issue_from_csr(
        &self,
        field: &str,
        csr_pem: &str,
        identity: PeerIdentity,
        host: Option<&str>,
        now: Timestamp,
    ) -> Result<IssuedCertificate, Error> {
        let issuing = &self.inner.issuing;
        let validity = Validity::days_from(pki_time(now)?, issuing.certificate_days)
            .map_err(|error| Error::internal("a certificate's validity", error))?;
        let mut request = IssueRequest::new(identity, validity);
        if let Some(host) = host {
            match host.parse::<IpAddr>() {
                Ok(address) => {
                    request.ip_addresses = vec![address];
                    request.dns_names = Vec::new();
                }
                Err(_) => {
                    request.dns_names = vec![host.to_owned()];
                    request.ip_addresses = Vec::new();
                }
            }
        }
        issuing
            .authority
            .issue_for_csr(csr_pem, &request)
            .map_err(|error| Error::invalid(field, error.to_string()))
    }

    /// A certificate for `state`'s gateway when the request gives its CSR
    /// (`gateway_csr_pem`).
    pub(super) fn issue_for_gateway(
        &self,
        csr_pem: Option<&str>,
        state: StateCode,
        now: Timestamp,
    ) -> Result<Option<IssuedCertificate>, Error> {
        csr_pem
            .map(|pem| {
                self.issue_from_csr(
                    "gateway_csr_pem",
                    pem,
                    PeerIdentity::Gateway(state),
                    None,
                    now,
                )
            })
            .transpose()
    }

    /// Audits and counts a token refusal, and answers it.
    async fn refuse_token(
        &self,
        caller: &str,
        source: Option<IpAddr>,
        refusal: TokenRefusal,
    ) -> Error {
        self.inner
            .failed_attempts
            .record(source, self.inner.clock.now());
        let outcome = match refusal {
            TokenRefusal::Unknown => "TOKEN_UNKNOWN",
            TokenRefusal::Expired => "TOKEN_EXPIRED",
            TokenRefusal::Cancelled => "TOKEN_CANCELLED",
            TokenRefusal::Used => "TOKEN_USED",
        };
        self.audit_refusal(
            caller,
            "/accord.v1.MembershipService/Enrol",
            outcome,
            &refusal.to_string(),
        )
        .await;
        Error::Token(refusal)
    }

    /// A refusal of the domain to redeem the token, audited and answered.
    async fn refuse_redemption(
        &self,
        caller: &str,
        source: Option<IpAddr>,
        error: accord_domain::membership::Error,
    ) -> Error {
        use accord_domain::membership::Error as E;
        let refusal = match error {
            E::TokenUsed { .. } => TokenRefusal::Used,
            E::TokenCancelled { .. } => TokenRefusal::Cancelled,
            E::TokenExpired { .. } => TokenRefusal::Expired,
            E::WrongState { .. } => {
                self.audit_refusal(
                    caller,
                    "/accord.v1.MembershipService/Enrol",
                    "PERMISSION_DENIED",
                    &error.to_string(),
                )
                .await;
                return Error::PermissionDenied(error.to_string());
            }
            E::AwaitingApprovals { .. } => return Error::IllegalTransition(error.to_string()),
            other => return Error::IllegalTransition(other.to_string()),
        };
        self.refuse_token(caller, source, refusal).await
    }
}

/// The directory's entry for an issued certificate.
pub(super) fn member_certificate(
    role: CertificateRole,
    issued: &IssuedCertificate,
) -> Result<MemberCertificate, Error> {
    let der = rustls_pemfile::certs(&mut issued.certificate_pem.as_bytes())
        .next()
        .ok_or_else(|| Error::internal("reading an issued certificate", std::fmt::Error))?
        .map_err(|error| Error::internal("reading an issued certificate", error))?;
    Ok(MemberCertificate {
        role,
        sha256_fingerprint: Sha256::digest(&der).into(),
        serial: issued.serial.as_bytes().to_vec(),
        not_before: from_pki_time(issued.validity.not_before())?,
        not_after: from_pki_time(issued.validity.not_after())?,
    })
}
