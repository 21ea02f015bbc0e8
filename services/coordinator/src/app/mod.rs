//! The coordinator's use cases, in the domain's terms: enrolment tokens (`enrolment`) and
//! the directory (`directory`).
//!
//! [`App`] holds the store, the clock, the directory-signing key and the current signed
//! directory. Every change to the directory is one at a time (the `current` lock): the
//! domain applies it to the current version, the edge signs the next version, and the store
//! commits it with the request's idempotency record and audit row; only then do watchers
//! see it. Who may call what is decided here (`operator`, `member`), from the caller's
//! certificate identity only.
//!
//! Idempotent requests: the first answer is stored as the bytes the edge encoded
//! ([`Replied`]), so a replay returns it without deciding again; the same key with other
//! content is `KeyReused`.

mod approval;
mod directory;
mod enrol;
mod enrolment;
mod error;
pub mod ledger;
mod renewal;
mod revocation;
pub mod settlement;

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use accord_domain::Timestamp;
use accord_domain::membership::Directory;
use accord_edge::clock::Clock;
use accord_trust::pki::CertificateAuthority;
use accord_trust::{EventSigningKey, OperatorName, PeerIdentity};
use tokio::sync::{Mutex, watch};

pub use directory::Published;
pub use enrol::TokenRefusal;
pub use enrolment::Issued;
pub use error::{Cause, Error};

use crate::convert::command::{RequestKey, RevocationList};
use crate::store::{AuditRecord, Change, IdempotencyRecord, Store, StoredDirectory};
use accord_edge::directory::SignedDirectory;

/// The outcome an audit row records for an action that succeeded.
const AUDIT_OK: &str = "OK";

/// A use case's answer: decided now, or the first answer to the same request, as the bytes
/// the edge encoded then.
#[derive(Debug, Clone)]
pub enum Replied<A> {
    /// Decided and committed now.
    Fresh(A),
    /// The stored first answer.
    Replay(Vec<u8>),
}

/// The request a use case answers: who asked, under which key, and how the edge encodes
/// the answer for the idempotency record.
pub struct Asked<'a, A> {
    /// The caller (an operator, a member's node, a joining state), as audit rows name it.
    pub caller: &'a str,
    /// The request's key and digest.
    pub key: &'a RequestKey,
    /// The RPC's path, for the audit row.
    pub operation: &'static str,
    /// The answer as the idempotency record keeps it.
    pub encode: &'a (dyn Fn(&A) -> Vec<u8> + Send + Sync),
}

/// The coordinator's use cases.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    signer: EventSigningKey,
    endpoint: String,
    page_size_max: u32,
    token_ttl_hours_max: u32,
    /// The CA that signs members' certificates.
    issuing: IssuingCa,
    /// The certificate by which the issuing CA vouches for `signer` (as
    /// `spiffe://accord/coordinator`), then the CAs' up to the root (excluded), DER: what lets
    /// anyone holding the root check a report the coordinator signed.
    signing_key_chain: Vec<Vec<u8>>,
    /// Bad tokens per source address (`Enrol`'s rate limit).
    failed_attempts: enrol::FailedAttempts,
    /// The current directory; held across a change, so changes are one at a time.
    current: Mutex<SignedDirectory>,
    /// Each published version, for `WatchDirectory`.
    published: watch::Sender<SignedDirectory>,
    /// The current revocation list, and each new one.
    revocations: watch::Sender<RevocationList>,
    /// Applies a new list to the coordinator's own TLS before the change that issued it
    /// is answered (`App::apply_revocations_with`).
    revocation_applier: RwLock<Option<RevocationApplier>>,
}

/// What applies a new revocation list to the coordinator's own TLS.
pub type RevocationApplier = Box<dyn Fn(&RevocationList) + Send + Sync>;

/// What the app is built with.
pub struct Settings {
    /// How the directory names this coordinator.
    pub endpoint: String,
    /// The most records a page may hold.
    pub page_size_max: u32,
    /// The longest an operator may let a token live, in hours.
    pub token_ttl_hours_max: u32,
    /// Bad enrolment tokens one address may present each minute.
    pub failed_enrolments_per_minute: u32,
}

/// The CA that signs members' certificates, below the network's root.
pub struct IssuingCa {
    /// The CA, with its key.
    pub authority: CertificateAuthority,
    /// What follows a member's certificate in its chain: the issuing CA's certificate chain,
    /// PEM (empty when the root issues directly).
    pub chain_pem: String,
    /// The network's root certificate, PEM: the trust anchor handed to joining states.
    pub root_pem: String,
    /// A member certificate's life, in days.
    pub certificate_days: u32,
    /// A revocation list's life, in hours.
    pub crl_hours: u32,
    /// What the CA's lists made before the coordinator's (by `accord pki`, in `tls.crl`)
    /// revoke: an operator's certificate, say. Every list the coordinator issues keeps them.
    pub earlier_revocations: Vec<accord_trust::pki::Revocation>,
    /// The other CAs' lists in `tls.crl` (the root's, revoking issuing CAs), which the
    /// coordinator's TLS checks beside its own list.
    pub other_crls: Vec<accord_trust::Crl>,
}

impl App {
    /// The app over `store`, starting from the newest stored directory, or publishing the
    /// empty one (version 0) on a new store.
    pub async fn start(
        store: Store,
        clock: Arc<dyn Clock>,
        signer: EventSigningKey,
        issuing: IssuingCa,
        settings: Settings,
    ) -> Result<Self, Error> {
        let current = match store.latest_directory().await? {
            Some(stored) => SignedDirectory::open(stored.signed_directory, &signer.verifying_key())
                .map_err(|error| Error::internal("reading the stored directory", error))?,
            None => {
                let signed = SignedDirectory::sign(
                    Directory::empty(clock.now()),
                    &settings.endpoint,
                    &signer,
                );
                store
                    .commit(Change {
                        directory: Some(stored(&signed)),
                        ..Change::default()
                    })
                    .await?;
                signed
            }
        };
        let (published, _) = watch::channel(current.clone());
        let first_list = revocation::issue(&issuing, current.directory(), clock.now(), 0)?;
        let signing_key_chain = certify_signing_key(&issuing, &signer, clock.now())?;
        let (revocations, _) = watch::channel(first_list);
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                clock,
                signer,
                endpoint: settings.endpoint,
                page_size_max: settings.page_size_max,
                token_ttl_hours_max: settings.token_ttl_hours_max,
                issuing,
                signing_key_chain,
                failed_attempts: enrol::FailedAttempts::new(settings.failed_enrolments_per_minute),
                current: Mutex::new(current),
                published,
                revocations,
                revocation_applier: RwLock::new(None),
            }),
        })
    }

    /// The store (for the server's audit of refused calls, and tests).
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Records a refused call in the audit log; a failure to record is logged, never turned
    /// into another error for the caller.
    pub async fn audit_refusal(&self, peer: &str, operation: &str, outcome: &str, detail: &str) {
        let record = AuditRecord {
            at: self.inner.clock.now().as_millis(),
            peer: peer.to_owned(),
            operation: operation.to_owned(),
            outcome: outcome.to_owned(),
            detail: detail.to_owned(),
        };
        if let Err(error) = self.inner.store.record_audit(record).await {
            tracing::error!(
                error = &error as &dyn std::error::Error,
                peer,
                operation,
                "could not record a refused call in the audit log"
            );
        }
    }

    /// The operator `caller` names, or `PERMISSION_DENIED`.
    pub fn operator(caller: &PeerIdentity) -> Result<&OperatorName, Error> {
        match caller {
            PeerIdentity::Operator(name) => Ok(name),
            other => Err(Error::PermissionDenied(format!(
                "{} is not an operator (spiffe://accord/operator/NAME)",
                other.spiffe_id()
            ))),
        }
    }

    /// Whether `caller` may read the directory: an operator, or a member's node or gateway
    /// (suspended members included; a revoked one's certificates no longer verify).
    pub fn directory_reader(caller: &PeerIdentity) -> Result<(), Error> {
        match caller {
            PeerIdentity::Operator(_) | PeerIdentity::Node(_) | PeerIdentity::Gateway(_) => Ok(()),
            PeerIdentity::Coordinator => Err(Error::PermissionDenied(
                "the coordinator does not call itself".to_owned(),
            )),
        }
    }

    /// The first answer to `asked`, if its key was used for the same request; `KeyReused`
    /// if it was used with other content.
    async fn first_answer<A>(&self, asked: &Asked<'_, A>) -> Result<Option<Vec<u8>>, Error> {
        let Some(first) = self
            .inner
            .store
            .find_idempotency(asked.caller, &asked.key.idempotency_key)
            .await?
        else {
            return Ok(None);
        };
        if first.request_digest != asked.key.request_digest {
            return Err(Error::KeyReused(asked.key.idempotency_key.clone()));
        }
        Ok(Some(first.response))
    }

    /// Commits `change` with `answer`'s idempotency record and audit row (`detail`), and
    /// answers it, fresh.
    async fn commit_answered<A>(
        &self,
        asked: &Asked<'_, A>,
        answer: A,
        detail: String,
        mut change: Change,
    ) -> Result<Replied<A>, Error> {
        self.answered(asked, &answer, detail, &mut change);
        self.inner.store.commit(change).await?;
        Ok(Replied::Fresh(answer))
    }

    /// The idempotency record and audit row of `answer`, added to `change`.
    fn answered<A>(&self, asked: &Asked<'_, A>, answer: &A, detail: String, change: &mut Change) {
        let now = self.inner.clock.now().as_millis();
        change.idempotency = Some(IdempotencyRecord {
            caller: asked.caller.to_owned(),
            idempotency_key: asked.key.idempotency_key.clone(),
            request_digest: asked.key.request_digest.clone(),
            response: (asked.encode)(answer),
            created_at: now,
        });
        change.audit.push(AuditRecord {
            at: now,
            peer: asked.caller.to_owned(),
            operation: asked.operation.to_owned(),
            outcome: AUDIT_OK.to_owned(),
            detail,
        });
    }
}

/// `lock` read, even when a holder that panicked poisoned it.
fn read_lock<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

/// `lock` written, even when a holder that panicked poisoned it.
fn write_lock<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// A signed directory as the store keeps it.
fn stored(signed: &SignedDirectory) -> StoredDirectory {
    StoredDirectory {
        version: signed.directory().version(),
        issued_at: signed.directory().issued_at().as_millis(),
        signed_directory: signed.bytes().to_vec(),
    }
}

/// The issuing CA's certificate of the coordinator's signing key, valid from `now` as long
/// as a member's certificate, with its chain, DER.
fn certify_signing_key(
    issuing: &IssuingCa,
    signer: &EventSigningKey,
    now: Timestamp,
) -> Result<Vec<Vec<u8>>, Error> {
    let validity = accord_trust::pki::Validity::days_from(pki_time(now)?, issuing.certificate_days)
        .map_err(|error| Error::internal("certifying the signing key", error))?;
    issuing
        .authority
        .certify_signing_key(
            &PeerIdentity::Coordinator,
            &signer.verifying_key(),
            validity,
        )
        .and_then(|issued| issued.chain_der())
        .map_err(|error| Error::internal("certifying the signing key", error))
}

/// `at` as the PKI's time type (certificate and revocation list validity).
fn pki_time(at: Timestamp) -> Result<time::OffsetDateTime, Error> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.as_millis()) * 1_000_000)
        .map_err(|error| Error::internal("a time out of range", error))
}

/// A PKI time as the domain's.
fn from_pki_time(at: time::OffsetDateTime) -> Result<Timestamp, Error> {
    let millis = i64::try_from(at.unix_timestamp_nanos() / 1_000_000)
        .map_err(|error| Error::internal("a time out of range", error))?;
    Timestamp::from_millis(millis).map_err(|error| Error::internal("a time out of range", error))
}
