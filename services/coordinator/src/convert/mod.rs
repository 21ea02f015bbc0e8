//! The coordinator's edge between wire and domain: each request parsed into a command
//! (every bad field at once, as `Invalid`), each answer written out as its response, and
//! the signed directory ([`accord_edge::directory`]). It depends on nothing in the crate,
//! so `app` uses it without a circle.

pub mod breaks;
pub mod command;
pub mod ledger;
pub mod obligations;
pub mod settlement;

use accord_domain::membership::{Agreement, Endpoint, EnrolmentStatus, Member, StatusReason};
use accord_domain::parity::ParityLimit;
use accord_domain::{IdempotencyKey, Timestamp};
use accord_edge::violation::{Invalid, Violations};
use accord_edge::wire::{
    coded_from_wire, coded_to_wire, from_wire_time, regime_from_wire, required, required_state,
    required_time, to_wire_time,
};
use accord_proto::v1 as pb;
use accord_trust::pki::csr::requested_identity;
use accord_trust::{EventVerifyingKey, PeerIdentity};
use prost::Message;
use sha2::{Digest, Sha256};

use command::{
    Approve, CancelToken, Enrol, Enrolled, EnrolmentPage, EnrolmentView, IssueToken,
    ListEnrolments, Renew, Renewed, RequestKey, RetireKey, RevocationList, SetAgreement,
    StatusChange,
};

/// The key of a mutating request: its idempotency key, and the digest of the method's
/// `path` and the request's bytes (so the same key for another method is other content).
pub fn request_key(
    violations: &mut Violations,
    path: &str,
    idempotency_key: &str,
    message: &impl Message,
) -> Option<RequestKey> {
    let key = violations.check("idempotency_key", IdempotencyKey::parse(idempotency_key))?;
    let mut hasher = Sha256::new();
    hasher.update(path.as_bytes());
    hasher.update([0]);
    hasher.update(message.encode_to_vec());
    Some(RequestKey {
        idempotency_key: key.as_str().to_owned(),
        request_digest: hasher.finalize().to_vec(),
    })
}

/// A keyed request's key with its `command` as parsed apart: the key's violations are told
/// first, then the command's.
pub fn keyed<C>(
    path: &str,
    idempotency_key: &str,
    message: &impl Message,
    command: Result<C, Invalid>,
) -> Result<(RequestKey, C), Invalid> {
    let mut violations = Violations::new();
    let key = request_key(&mut violations, path, idempotency_key, message);
    violations.finish()?;
    let command = command?;
    let key = key.ok_or_else(|| Invalid::field("idempotency_key", "is required"))?;
    Ok((key, command))
}

/// `IssueEnrolmentToken`.
pub fn issue_token(
    message: &pb::IssueEnrolmentTokenRequest,
    path: &str,
) -> Result<(RequestKey, IssueToken), Invalid> {
    let mut violations = Violations::new();
    let key = request_key(&mut violations, path, &message.idempotency_key, message);
    let state = required_state(&mut violations, "state", &message.state);
    let expires_at = required_time(&mut violations, "expires_at", message.expires_at.as_ref());
    violations.finish()?;
    match (key, state, expires_at) {
        (Some(key), Some(state), Some(expires_at)) => Ok((
            key,
            IssueToken {
                state,
                expires_at,
                required_approvals: message.required_approvals,
            },
        )),
        _ => Err(Invalid::field("request", "is incomplete")),
    }
}

/// The longest enrolment token accepted (issued tokens are 64 hex digits).
const TOKEN_LENGTH_MAX: usize = 128;

/// The largest CSR accepted, in bytes of PEM.
const CSR_LENGTH_MAX: usize = 16 * 1024;

/// `Enrol`. The CSRs must ask for the joining state's node and gateway identities.
pub fn enrol(message: &pb::EnrolRequest, path: &str) -> Result<(RequestKey, Enrol), Invalid> {
    let mut violations = Violations::new();
    let key = request_key(&mut violations, path, &message.idempotency_key, message);
    if message.enrolment_token.is_empty() {
        violations.add("enrolment_token", "is required");
    } else if message.enrolment_token.len() > TOKEN_LENGTH_MAX
        || !message
            .enrolment_token
            .bytes()
            .all(|byte| byte.is_ascii_graphic())
    {
        violations.add("enrolment_token", "is not an enrolment token");
    }
    let state = required_state(&mut violations, "state", &message.state);
    if let Some(state) = state {
        check_csr(
            &mut violations,
            "node_csr_pem",
            &message.node_csr_pem,
            &PeerIdentity::Node(state),
        );
        if !message.gateway_csr_pem.is_empty() {
            check_csr(
                &mut violations,
                "gateway_csr_pem",
                &message.gateway_csr_pem,
                &PeerIdentity::Gateway(state),
            );
        }
    }
    let endpoint = if message.node_endpoint.is_empty() {
        violations.add("node_endpoint", "is required");
        None
    } else {
        violations.check("node_endpoint", Endpoint::parse(&message.node_endpoint))
    };
    let signing_public_key = public_key(&mut violations, &message.signing_public_key);
    violations.finish()?;
    match (key, state, endpoint, signing_public_key) {
        (Some(key), Some(state), Some(endpoint), Some(signing_public_key)) => Ok((
            key,
            Enrol {
                token: message.enrolment_token.clone(),
                state,
                node_csr_pem: message.node_csr_pem.clone(),
                gateway_csr_pem: (!message.gateway_csr_pem.is_empty())
                    .then(|| message.gateway_csr_pem.clone()),
                endpoint,
                signing_public_key,
            },
        )),
        _ => Err(Invalid::field("request", "is incomplete")),
    }
}

/// `GetRevocationListResponse`.
pub fn revocation_list_to_wire(list: &RevocationList) -> pb::GetRevocationListResponse {
    pb::GetRevocationListResponse {
        crl_der: list.signed.crl.der().to_vec(),
        crl_pem: format!("{}{}", list.signed.pem, list.companions_pem),
        crl_number: list.number,
        this_update: Some(to_wire_time(list.this_update)),
        next_update: Some(to_wire_time(list.next_update)),
    }
}

/// `EnrolResponse`.
pub fn enrolled_to_wire(enrolled: &Enrolled) -> pb::EnrolResponse {
    pb::EnrolResponse {
        member: Some(member_to_wire(&enrolled.member)),
        node_certificate_chain_pem: enrolled.node_certificate_chain_pem.clone(),
        gateway_certificate_chain_pem: enrolled
            .gateway_certificate_chain_pem
            .clone()
            .unwrap_or_default(),
        ca_certificate_pem: enrolled.ca_certificate_pem.clone(),
        signing_key_id: enrolled.signing_key_id.clone(),
        directory: Some(enrolled.directory.wire().clone()),
    }
}

/// `ApproveEnrolment`. The signed bytes are the `approval` message's canonical encoding.
pub fn approve(
    message: &pb::ApproveEnrolmentRequest,
    path: &str,
) -> Result<(RequestKey, Approve), Invalid> {
    let mut violations = Violations::new();
    let key = request_key(&mut violations, path, &message.idempotency_key, message);
    let approval = required(&mut violations, "approval", message.approval.as_ref());
    let mut parsed = None;
    if let Some(approval) = approval {
        if approval.token_id.is_empty() {
            violations.add("approval.token_id", "is required");
        }
        let candidate = required_state(
            &mut violations,
            "approval.candidate_state",
            &approval.candidate_state,
        );
        let approver = required_state(
            &mut violations,
            "approval.approving_state",
            &approval.approving_state,
        );
        if accord_trust::KeyId::parse(&approval.signing_key_id).is_err() {
            violations.add(
                "approval.signing_key_id",
                "is not a key id (16 lower-case hex digits)",
            );
        }
        parsed = candidate
            .zip(approver)
            .map(|(candidate, approver)| Approve {
                token_id: approval.token_id.clone(),
                candidate,
                approver,
                signing_key_id: approval.signing_key_id.clone(),
                signed_bytes: approval.encode_to_vec(),
                signature: message.signature.clone(),
            });
    }
    if message.signature.len() != 64 {
        violations.add("signature", "must be 64 bytes (an Ed25519 signature)");
    }
    violations.finish()?;
    match (key, parsed) {
        (Some(key), Some(approve)) => Ok((key, approve)),
        _ => Err(Invalid::field("request", "is incomplete")),
    }
}

/// `RetireSigningKey`.
pub fn retire_key(
    message: &pb::RetireSigningKeyRequest,
    path: &str,
) -> Result<(RequestKey, RetireKey), Invalid> {
    let mut violations = Violations::new();
    let key = request_key(&mut violations, path, &message.idempotency_key, message);
    if message.signing_key_id.is_empty() {
        violations.add("signing_key_id", "is required");
    } else if accord_trust::KeyId::parse(&message.signing_key_id).is_err() {
        violations.add(
            "signing_key_id",
            "is not a key id (16 lower-case hex digits)",
        );
    }
    violations.finish()?;
    let key = key.ok_or_else(|| Invalid::field("idempotency_key", "is required"))?;
    Ok((
        key,
        RetireKey {
            key_id: message.signing_key_id.clone(),
        },
    ))
}

/// `RenewCredentials` from `caller`'s node: its CSRs must ask for its own identities.
pub fn renew(
    message: &pb::RenewCredentialsRequest,
    path: &str,
    caller: accord_domain::StateCode,
) -> Result<(RequestKey, Renew), Invalid> {
    let mut violations = Violations::new();
    let key = request_key(&mut violations, path, &message.idempotency_key, message);
    let mut renew = Renew {
        node_csr_pem: optional_csr(
            &mut violations,
            "node_csr_pem",
            &message.node_csr_pem,
            &PeerIdentity::Node(caller),
        ),
        gateway_csr_pem: optional_csr(
            &mut violations,
            "gateway_csr_pem",
            &message.gateway_csr_pem,
            &PeerIdentity::Gateway(caller),
        ),
        ..Renew::default()
    };
    if !message.signing_public_key.is_empty() {
        renew.signing_public_key = public_key(&mut violations, &message.signing_public_key);
    }
    if !message.node_endpoint.is_empty() {
        renew.endpoint = violations.check("node_endpoint", Endpoint::parse(&message.node_endpoint));
    }
    if renew == Renew::default() && violations.is_empty() {
        violations.add(
            "request",
            "names nothing to renew: give a CSR, a signing key or an endpoint",
        );
    }
    violations.finish()?;
    let key = key.ok_or_else(|| Invalid::field("idempotency_key", "is required"))?;
    Ok((key, renew))
}

/// A CSR a request may give (none when empty), checked as [`check_csr`] does.
fn optional_csr(
    violations: &mut Violations,
    field: &str,
    pem: &str,
    expected: &PeerIdentity,
) -> Option<String> {
    if pem.is_empty() {
        return None;
    }
    check_csr(violations, field, pem, expected);
    Some(pem.to_owned())
}

/// A 32-byte Ed25519 public key, or a violation of `signing_public_key`.
fn public_key(violations: &mut Violations, bytes: &[u8]) -> Option<[u8; 32]> {
    match <[u8; 32]>::try_from(bytes) {
        Ok(key) if EventVerifyingKey::from_bytes(&key).is_ok() => Some(key),
        Ok(_) => {
            violations.add("signing_public_key", "is not an Ed25519 public key");
            None
        }
        Err(_) => {
            violations.add(
                "signing_public_key",
                "must be 32 bytes (an Ed25519 public key)",
            );
            None
        }
    }
}

/// `RenewCredentialsResponse`.
pub fn renewed_to_wire(renewed: &Renewed) -> pb::RenewCredentialsResponse {
    pb::RenewCredentialsResponse {
        member: Some(member_to_wire(&renewed.member)),
        node_certificate_chain_pem: renewed
            .node_certificate_chain_pem
            .clone()
            .unwrap_or_default(),
        gateway_certificate_chain_pem: renewed
            .gateway_certificate_chain_pem
            .clone()
            .unwrap_or_default(),
        signing_key_id: renewed.signing_key_id.clone().unwrap_or_default(),
    }
}

/// Checks that `pem` is a CSR for `expected`, adding a violation of `field` if not.
fn check_csr(violations: &mut Violations, field: &str, pem: &str, expected: &PeerIdentity) {
    if pem.is_empty() {
        violations.add(field, "is required");
        return;
    }
    if pem.len() > CSR_LENGTH_MAX {
        violations.add(field, format!("is longer than {CSR_LENGTH_MAX} bytes"));
        return;
    }
    match requested_identity(pem) {
        Ok(identity) if identity == *expected => {}
        Ok(identity) => violations.add(
            field,
            format!(
                "asks for {}, not {}",
                identity.spiffe_id(),
                expected.spiffe_id()
            ),
        ),
        Err(error) => violations.add(field, error.to_string()),
    }
}

/// `CancelEnrolmentToken`.
pub fn cancel_token(
    message: &pb::CancelEnrolmentTokenRequest,
    path: &str,
) -> Result<(RequestKey, CancelToken), Invalid> {
    let mut violations = Violations::new();
    let key = request_key(&mut violations, path, &message.idempotency_key, message);
    if message.token_id.is_empty() {
        violations.add("token_id", "is required");
    }
    violations.finish()?;
    let key = key.ok_or_else(|| Invalid::field("idempotency_key", "is required"))?;
    Ok((
        key,
        CancelToken {
            token_id: message.token_id.clone(),
        },
    ))
}

/// The default page size of a list (common.proto: 0 means 50).
const PAGE_SIZE_DEFAULT: u32 = 50;

/// `ListEnrolments`.
pub fn list_enrolments(message: &pb::ListEnrolmentsRequest) -> Result<ListEnrolments, Invalid> {
    let mut violations = Violations::new();
    let after = if message.page_token.is_empty() {
        None
    } else {
        violations.check("page_token", page_token_from_wire(&message.page_token))
    };
    let mut statuses = Vec::with_capacity(message.statuses.len());
    for (index, value) in message.statuses.iter().enumerate() {
        match coded_from_wire::<pb::EnrolmentStatus, _>(*value, |code| {
            EnrolmentStatus::parse(code).ok()
        }) {
            Some(status) => statuses.push(status),
            None => violations.add(format!("statuses[{index}]"), "is not an enrolment status"),
        }
    }
    violations.finish()?;
    Ok(ListEnrolments {
        page_size: if message.page_size == 0 {
            PAGE_SIZE_DEFAULT
        } else {
            message.page_size
        },
        after,
        statuses,
    })
}

/// `SetAgreement`.
pub fn set_agreement(
    message: &pb::SetAgreementRequest,
    path: &str,
) -> Result<(RequestKey, SetAgreement), Invalid> {
    let mut violations = Violations::new();
    let key = request_key(&mut violations, path, &message.idempotency_key, message);
    let agreement = required(&mut violations, "agreement", message.agreement.as_ref())
        .and_then(|agreement| agreement_from_request(&mut violations, agreement));
    violations.finish()?;
    match (key, agreement) {
        (Some(key), Some(agreement)) => Ok((key, SetAgreement { agreement })),
        _ => Err(Invalid::field("agreement", "is incomplete")),
    }
}

fn agreement_from_request(violations: &mut Violations, wire: &pb::Agreement) -> Option<Agreement> {
    let first = required_state(violations, "agreement.first_state", &wire.first_state);
    let second = required_state(violations, "agreement.second_state", &wire.second_state);
    let mut regimes = Vec::with_capacity(wire.regimes.len());
    for (index, value) in wire.regimes.iter().enumerate() {
        match regime_from_wire(*value) {
            Some(regime) => regimes.push(regime),
            None => violations.add(format!("agreement.regimes[{index}]"), "is not a regime"),
        }
    }
    let effective_from = required_time(
        violations,
        "agreement.effective_from",
        wire.effective_from.as_ref(),
    );
    let sunset_at = wire
        .sunset_at
        .as_ref()
        .and_then(|sunset| violations.check("agreement.sunset_at", from_wire_time(sunset)));
    if !wire.eligibility_rules_version.is_empty() || !wire.eligibility_rules_digest.is_empty() {
        violations.add(
            "agreement.eligibility_rules_version",
            "eligibility rules are not recorded by this coordinator yet; leave them empty",
        );
    }
    violations.check(
        "agreement",
        Agreement::new(
            first?,
            second?,
            regimes,
            wire.parity_limit.map(ParityLimit),
            effective_from?,
            sunset_at,
        ),
    )
}

/// `SuspendMember`.
pub fn suspend_member(
    message: &pb::SuspendMemberRequest,
    path: &str,
) -> Result<(RequestKey, StatusChange), Invalid> {
    let (key, state, reason) = member_and_reason(
        message,
        path,
        &message.idempotency_key,
        &message.state,
        message.reason,
    )?;
    Ok((key, StatusChange::Suspend { state, reason }))
}

/// `RevokeMember`.
pub fn revoke_member(
    message: &pb::RevokeMemberRequest,
    path: &str,
) -> Result<(RequestKey, StatusChange), Invalid> {
    let (key, state, reason) = member_and_reason(
        message,
        path,
        &message.idempotency_key,
        &message.state,
        message.reason,
    )?;
    Ok((key, StatusChange::Revoke { state, reason }))
}

/// The key, member and reason of a request about a member's standing.
fn member_and_reason(
    message: &impl Message,
    path: &str,
    idempotency_key: &str,
    state: &str,
    reason: i32,
) -> Result<(RequestKey, accord_domain::StateCode, StatusReason), Invalid> {
    let mut violations = Violations::new();
    let key = request_key(&mut violations, path, idempotency_key, message);
    let state = required_state(&mut violations, "state", state);
    let reason = status_reason(&mut violations, reason);
    violations.finish()?;
    match (key, state, reason) {
        (Some(key), Some(state), Some(reason)) => Ok((key, state, reason)),
        _ => Err(Invalid::field("request", "is incomplete")),
    }
}

/// `ReinstateMember`.
pub fn reinstate_member(
    message: &pb::ReinstateMemberRequest,
    path: &str,
) -> Result<(RequestKey, StatusChange), Invalid> {
    let mut violations = Violations::new();
    let key = request_key(&mut violations, path, &message.idempotency_key, message);
    let state = required_state(&mut violations, "state", &message.state);
    violations.finish()?;
    match (key, state) {
        (Some(key), Some(state)) => Ok((key, StatusChange::Reinstate { state })),
        _ => Err(Invalid::field("request", "is incomplete")),
    }
}

fn status_reason(violations: &mut Violations, value: i32) -> Option<StatusReason> {
    let reason =
        coded_from_wire::<pb::MemberStatusReason, _>(value, |code| StatusReason::parse(code).ok());
    if reason.is_none() {
        violations.add("reason", "is required: a member status reason");
    }
    reason
}

/// The wire form of an enrolment, its status read at `now`.
pub fn enrolment_to_wire(view: &EnrolmentView, now: Timestamp) -> pb::Enrolment {
    let enrolment = &view.enrolment;
    pb::Enrolment {
        token_id: enrolment.token_id().to_owned(),
        state: enrolment.state().to_string(),
        status: coded_to_wire::<pb::EnrolmentStatus>(enrolment.status(now).code()).into(),
        issued_at: Some(to_wire_time(enrolment.issued_at())),
        expires_at: Some(to_wire_time(enrolment.expires_at())),
        required_approvals: enrolment.required_approvals(),
        approvals: view
            .signatures
            .iter()
            .map(|signature| pb::StateSignature {
                state: signature.state.to_string(),
                signing_key_id: signature.signing_key_id.clone(),
                signature: signature.signature.clone(),
                signed_at: Some(to_wire_time(signature.at)),
            })
            .collect(),
        used_at: enrolment.used_at().map(to_wire_time),
    }
}

/// The wire form of a page of enrolments.
pub fn enrolment_page_to_wire(page: &EnrolmentPage) -> pb::ListEnrolmentsResponse {
    pb::ListEnrolmentsResponse {
        enrolments: page
            .enrolments
            .iter()
            .map(|enrolment| enrolment_to_wire(enrolment, page.now))
            .collect(),
        next_page_token: page
            .next
            .as_ref()
            .map(|(at, id)| format!("{at}.{id}"))
            .unwrap_or_default(),
    }
}

/// The wire form of a member as a directory change answers it.
pub fn member_to_wire(member: &Member) -> pb::Member {
    accord_edge::directory::member_to_wire(member)
}

/// Reads a `next_page_token` this coordinator wrote: `ISSUED_AT_MS.TOKEN_ID`.
fn page_token_from_wire(text: &str) -> Result<(i64, String), String> {
    let invalid = || "is not a page token of this list".to_owned();
    let (at, id) = text.split_once('.').ok_or_else(invalid)?;
    let at = at.parse::<i64>().map_err(|_| invalid())?;
    if id.is_empty() {
        return Err(invalid());
    }
    Ok((at, id.to_owned()))
}
