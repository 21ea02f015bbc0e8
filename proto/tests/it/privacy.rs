//! No message that reaches the coordinator can carry personal data: every string and bytes
//! field reachable from its services is listed here with its format, a value the coordinator
//! checks on input or makes itself, none of which can hold a person's data or free text
//! about a case. A field added to a coordinator message fails
//! `every_text_field_the_coordinator_serves_has_a_listed_format` until it is classified here,
//! and a listed field that no longer exists fails it too.

use std::collections::BTreeSet;

use prost_types::field_descriptor_proto::Type;

use crate::api::Api;

/// The services the coordinator serves.
const COORDINATOR_SERVICES: &[&str] = &["MembershipService", "LedgerService", "SettlementService"];

/// Files whose messages may carry personal data, between the two nodes of a case only.
const NODE_ONLY_FILES: &[&str] = &[
    "accord/v1/person.proto",
    "accord/v1/readmission.proto",
    "accord/v1/admission.proto",
];

/// What a string or bytes field the coordinator sees or sends may hold. Each is a closed
/// format, checked where it enters (most by a parser of `accord-domain`, `accord-trust` or
/// `accord_edge::formats`), or text the coordinator itself writes from such values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// An ISO 3166-1 alpha-2 member state code (`StateCode`).
    StateCode,
    /// A case reference: `RDM-`/`ADM-`/`OFR-`, two state codes and an id (`CaseRef`).
    CaseRef,
    /// A client's idempotency key for the coordinator's own RPCs: 1 to 128 printable ASCII
    /// characters, opaque, chosen by a member node or an operator tool (common.proto:
    /// "Keys are opaque and must hold no personal data").
    IdempotencyKey,
    /// An event's key as its acting node made it: `k1-` and 64 lowercase hex digits, or
    /// `deadline:CASE_REF:STEP` (event.proto; `accord_edge::formats::event_key`).
    EventKey,
    /// A signing key id: 16 lowercase hex digits.
    KeyId,
    /// A SHA-256 or RFC 6962 hash, 32 bytes (repeated for proofs, 32 bytes each).
    Digest32,
    /// An Ed25519 signature, 64 bytes.
    Signature64,
    /// An Ed25519 public key, 32 bytes.
    PublicKey,
    /// A PKCS#10 certificate signing request, PEM, naming a SPIFFE identity only.
    Csr,
    /// Certificates or revocation lists the network's CAs issued, PEM.
    Pem,
    /// A revocation list, DER.
    CrlDer,
    /// A certificate's serial number, big-endian bytes.
    CertificateSerial,
    /// An `https://` URI with host and port.
    Uri,
    /// An enrolment token's secret, random, made by the coordinator.
    Token,
    /// An enrolment token's public id, made by the coordinator.
    TokenId,
    /// A node's id for a batch of reports, 1 to 128 characters, echoed back.
    BatchId,
    /// A settlement round's id, made by the coordinator.
    RoundId,
    /// A reconciliation break's id, made by the coordinator.
    BreakId,
    /// An opaque page token, made by the coordinator.
    PageToken,
    /// A C2SP checkpoint (signed note): origin, tree size, root hash and signature lines.
    Checkpoint,
    /// The version of the eligibility rules a pair agreed, up to 64 characters.
    RulesVersion,
    /// A request field's proto path, as the coordinator names a bad one.
    FieldPath,
    /// What is wrong with a field, in English, written by the coordinator, naming no
    /// person.
    Description,
    /// An operator's reason for an action (waiving a break): 1 to 500 characters, the only
    /// free text an operator writes, documented as naming no person (cases by reference) and
    /// bounded, since the coordinator cannot tell a name from other words.
    OperatorReason,
    /// An operator's name, as its certificate's `spiffe://accord/operator/NAME` says it.
    OperatorName,
    /// The log's name, a C2SP note key name the coordinator's operators configure
    /// (`[ledger] origin`, e.g. `accord/ledger`).
    LogOrigin,
    /// A BCP 47 language tag.
    LanguageTag,
    /// A media type, written by the coordinator.
    MediaType,
    /// A file name, written by the coordinator from a round id.
    FileName,
    /// A settlement report rendered by the coordinator (JSON, CSV, HTML or PDF) from the
    /// report, which holds only the values above and counts.
    Rendering,
}

use Format::*;

/// Every string and bytes field reachable from the coordinator's services: (message full
/// name, field name, format), sorted.
const FIELD_FORMATS: &[(&str, &str, Format)] = &[
    (
        "accord.v1.OptimalityCertificate",
        "cut_admitting_states",
        StateCode,
    ),
    (
        "accord.v1.OptimalityCertificate",
        "cut_origin_states",
        StateCode,
    ),
    ("accord.v1.SettlementReport", "log_origin", LogOrigin),
    ("accord.v1.StateFigures", "state", StateCode),
    ("accord.v1.StatePotentials", "state", StateCode),
    (
        "accord.v1.AdmissionInstruction",
        "admitting_state",
        StateCode,
    ),
    ("accord.v1.AdmissionInstruction", "origin_state", StateCode),
    ("accord.v1.Agreement", "eligibility_rules_digest", Digest32),
    (
        "accord.v1.Agreement",
        "eligibility_rules_version",
        RulesVersion,
    ),
    ("accord.v1.Agreement", "first_state", StateCode),
    ("accord.v1.Agreement", "second_state", StateCode),
    (
        "accord.v1.ApproveEnrolmentRequest",
        "idempotency_key",
        IdempotencyKey,
    ),
    (
        "accord.v1.ApproveEnrolmentRequest",
        "signature",
        Signature64,
    ),
    ("accord.v1.Break", "break_id", BreakId),
    ("accord.v1.Break", "case_ref", CaseRef),
    ("accord.v1.Break", "reported_by", StateCode),
    ("accord.v1.Break", "resolution_reason", OperatorReason),
    ("accord.v1.Break", "resolved_by", OperatorName),
    ("accord.v1.Break", "round_id", RoundId),
    (
        "accord.v1.CancelEnrolmentTokenRequest",
        "idempotency_key",
        IdempotencyKey,
    ),
    ("accord.v1.CancelEnrolmentTokenRequest", "token_id", TokenId),
    ("accord.v1.CapacityLimit", "state", StateCode),
    (
        "accord.v1.CloseRoundRequest",
        "idempotency_key",
        IdempotencyKey,
    ),
    ("accord.v1.CloseRoundRequest", "round_id", RoundId),
    ("accord.v1.CoordinatorSignature", "signature", Signature64),
    ("accord.v1.CoordinatorSignature", "signing_key_id", KeyId),
    (
        "accord.v1.CosignTreeHeadRequest",
        "idempotency_key",
        IdempotencyKey,
    ),
    ("accord.v1.CountedMovement", "case_ref", CaseRef),
    (
        "accord.v1.CountersignRoundRequest",
        "idempotency_key",
        IdempotencyKey,
    ),
    (
        "accord.v1.CountersignRoundRequest",
        "report_digest",
        Digest32,
    ),
    ("accord.v1.CountersignRoundRequest", "round_id", RoundId),
    ("accord.v1.Credit", "counterpart_state", StateCode),
    ("accord.v1.Credit", "holder_state", StateCode),
    ("accord.v1.Directory", "coordinator_endpoint", Uri),
    (
        "accord.v1.DisputeRoundRequest",
        "idempotency_key",
        IdempotencyKey,
    ),
    ("accord.v1.EnrolRequest", "enrolment_token", Token),
    ("accord.v1.EnrolRequest", "gateway_csr_pem", Csr),
    ("accord.v1.EnrolRequest", "idempotency_key", IdempotencyKey),
    ("accord.v1.EnrolRequest", "node_csr_pem", Csr),
    ("accord.v1.EnrolRequest", "node_endpoint", Uri),
    ("accord.v1.EnrolRequest", "signing_public_key", PublicKey),
    ("accord.v1.EnrolRequest", "state", StateCode),
    ("accord.v1.EnrolResponse", "ca_certificate_pem", Pem),
    (
        "accord.v1.EnrolResponse",
        "gateway_certificate_chain_pem",
        Pem,
    ),
    ("accord.v1.EnrolResponse", "node_certificate_chain_pem", Pem),
    ("accord.v1.EnrolResponse", "signing_key_id", KeyId),
    ("accord.v1.Enrolment", "state", StateCode),
    ("accord.v1.Enrolment", "token_id", TokenId),
    ("accord.v1.EnrolmentApproval", "approving_state", StateCode),
    ("accord.v1.EnrolmentApproval", "candidate_state", StateCode),
    ("accord.v1.EnrolmentApproval", "signing_key_id", KeyId),
    ("accord.v1.EnrolmentApproval", "token_id", TokenId),
    ("accord.v1.EventAttestation", "acting_state", StateCode),
    ("accord.v1.EventAttestation", "case_ref", CaseRef),
    ("accord.v1.EventAttestation", "event_digest", Digest32),
    ("accord.v1.EventAttestation", "idempotency_key", EventKey),
    ("accord.v1.EventAttestation", "signing_key_id", KeyId),
    ("accord.v1.EventReport", "signature", Signature64),
    ("accord.v1.EventReportResult", "leaf_hash", Digest32),
    ("accord.v1.FieldViolation", "description", Description),
    ("accord.v1.FieldViolation", "field", FieldPath),
    ("accord.v1.GetBalancesRequest", "state", StateCode),
    ("accord.v1.GetConsistencyProofResponse", "proof", Digest32),
    (
        "accord.v1.GetInclusionProofRequest",
        "event_digest",
        Digest32,
    ),
    (
        "accord.v1.GetInclusionProofRequest",
        "reporter_state",
        StateCode,
    ),
    ("accord.v1.GetParityLimitRequest", "first_state", StateCode),
    ("accord.v1.GetParityLimitRequest", "second_state", StateCode),
    (
        "accord.v1.GetReconciliationSummaryRequest",
        "state",
        StateCode,
    ),
    ("accord.v1.GetRevocationListResponse", "crl_der", CrlDer),
    ("accord.v1.GetRevocationListResponse", "crl_pem", Pem),
    ("accord.v1.GetRoundReportRequest", "language", LanguageTag),
    ("accord.v1.GetRoundReportRequest", "round_id", RoundId),
    (
        "accord.v1.GetRoundReportResponse",
        "content_type",
        MediaType,
    ),
    ("accord.v1.GetRoundReportResponse", "file_name", FileName),
    ("accord.v1.GetRoundReportResponse", "rendering", Rendering),
    ("accord.v1.GetRoundRequest", "round_id", RoundId),
    (
        "accord.v1.InstructionPerformance",
        "admitting_state",
        StateCode,
    ),
    (
        "accord.v1.InstructionPerformance",
        "origin_state",
        StateCode,
    ),
    ("accord.v1.InstructionPerformance", "round_id", RoundId),
    ("accord.v1.InclusionProof", "audit_path", Digest32),
    (
        "accord.v1.IssueEnrolmentTokenRequest",
        "idempotency_key",
        IdempotencyKey,
    ),
    ("accord.v1.IssueEnrolmentTokenRequest", "state", StateCode),
    ("accord.v1.IssueEnrolmentTokenResponse", "token", Token),
    ("accord.v1.LeafEntry", "leaf_hash", Digest32),
    ("accord.v1.LedgerLeaf", "reporter_state", StateCode),
    ("accord.v1.ListBreaksRequest", "case_ref", CaseRef),
    ("accord.v1.ListCaseLeavesRequest", "case_ref", CaseRef),
    ("accord.v1.ListBreaksRequest", "page_token", PageToken),
    ("accord.v1.ListBreaksRequest", "round_id", RoundId),
    ("accord.v1.ListBreaksRequest", "state", StateCode),
    ("accord.v1.ListBreaksResponse", "next_page_token", PageToken),
    ("accord.v1.ListEnrolmentsRequest", "page_token", PageToken),
    (
        "accord.v1.ListEnrolmentsResponse",
        "next_page_token",
        PageToken,
    ),
    ("accord.v1.ListQuotasRequest", "page_token", PageToken),
    ("accord.v1.ListQuotasRequest", "state", StateCode),
    ("accord.v1.ListQuotasResponse", "next_page_token", PageToken),
    ("accord.v1.ListRedirectConsentsRequest", "state", StateCode),
    ("accord.v1.ListRoundsRequest", "page_token", PageToken),
    ("accord.v1.ListRoundsRequest", "state", StateCode),
    ("accord.v1.ListRoundsResponse", "next_page_token", PageToken),
    ("accord.v1.Member", "node_endpoint", Uri),
    ("accord.v1.Member", "state", StateCode),
    (
        "accord.v1.MemberCertificate",
        "serial_number",
        CertificateSerial,
    ),
    (
        "accord.v1.MemberCertificate",
        "sha256_fingerprint",
        Digest32,
    ),
    (
        "accord.v1.OpenRoundRequest",
        "idempotency_key",
        IdempotencyKey,
    ),
    (
        "accord.v1.OpenRoundRequest",
        "participating_states",
        StateCode,
    ),
    ("accord.v1.PairBalance", "first_state", StateCode),
    ("accord.v1.PairBalance", "second_state", StateCode),
    ("accord.v1.PairCount", "first_state", StateCode),
    ("accord.v1.PairCount", "second_state", StateCode),
    ("accord.v1.ParityLimit", "first_state", StateCode),
    ("accord.v1.ParityLimit", "second_state", StateCode),
    (
        "accord.v1.ProposeRoundRequest",
        "idempotency_key",
        IdempotencyKey,
    ),
    ("accord.v1.ProposeRoundRequest", "round_id", RoundId),
    ("accord.v1.RedirectConsent", "consenting_state", StateCode),
    ("accord.v1.RedirectPair", "admitting_state", StateCode),
    ("accord.v1.RedirectPair", "origin_state", StateCode),
    (
        "accord.v1.ReinstateMemberRequest",
        "idempotency_key",
        IdempotencyKey,
    ),
    ("accord.v1.ReinstateMemberRequest", "state", StateCode),
    ("accord.v1.RenewCredentialsRequest", "gateway_csr_pem", Csr),
    (
        "accord.v1.RenewCredentialsRequest",
        "idempotency_key",
        IdempotencyKey,
    ),
    ("accord.v1.RenewCredentialsRequest", "node_csr_pem", Csr),
    ("accord.v1.RenewCredentialsRequest", "node_endpoint", Uri),
    (
        "accord.v1.RenewCredentialsRequest",
        "signing_public_key",
        PublicKey,
    ),
    (
        "accord.v1.RenewCredentialsResponse",
        "gateway_certificate_chain_pem",
        Pem,
    ),
    (
        "accord.v1.RenewCredentialsResponse",
        "node_certificate_chain_pem",
        Pem,
    ),
    (
        "accord.v1.RenewCredentialsResponse",
        "signing_key_id",
        KeyId,
    ),
    (
        "accord.v1.ReportCandidatesRequest",
        "idempotency_key",
        IdempotencyKey,
    ),
    (
        "accord.v1.ReportEventBatchRequest",
        "idempotency_key",
        IdempotencyKey,
    ),
    (
        "accord.v1.ReportEventBatchRequest",
        "reporter_state",
        StateCode,
    ),
    ("accord.v1.ReportEventsRequest", "batch_id", BatchId),
    ("accord.v1.ReportEventsResponse", "batch_id", BatchId),
    ("accord.v1.ResolveBreakRequest", "break_id", BreakId),
    ("accord.v1.ResolveBreakRequest", "reason", OperatorReason),
    (
        "accord.v1.ResolveBreakRequest",
        "idempotency_key",
        IdempotencyKey,
    ),
    (
        "accord.v1.RetireSigningKeyRequest",
        "idempotency_key",
        IdempotencyKey,
    ),
    ("accord.v1.RetireSigningKeyRequest", "signing_key_id", KeyId),
    (
        "accord.v1.RevokeMemberRequest",
        "idempotency_key",
        IdempotencyKey,
    ),
    ("accord.v1.RevokeMemberRequest", "state", StateCode),
    ("accord.v1.Round", "awaiting_countersignature", StateCode),
    ("accord.v1.Round", "participating_states", StateCode),
    ("accord.v1.Round", "round_id", RoundId),
    ("accord.v1.RoundDispute", "case_refs", CaseRef),
    ("accord.v1.RoundDispute", "report_digest", Digest32),
    ("accord.v1.RoundDispute", "round_id", RoundId),
    ("accord.v1.RoundDispute", "state", StateCode),
    (
        "accord.v1.SetAgreementRequest",
        "idempotency_key",
        IdempotencyKey,
    ),
    (
        "accord.v1.SetCapacityRequest",
        "idempotency_key",
        IdempotencyKey,
    ),
    ("accord.v1.SetCapacityRequest", "state", StateCode),
    ("accord.v1.SetParityLimitRequest", "first_state", StateCode),
    (
        "accord.v1.SetParityLimitRequest",
        "idempotency_key",
        IdempotencyKey,
    ),
    ("accord.v1.SetParityLimitRequest", "second_state", StateCode),
    (
        "accord.v1.SetRedirectConsentRequest",
        "idempotency_key",
        IdempotencyKey,
    ),
    ("accord.v1.SettlementReport", "affected_states", StateCode),
    ("accord.v1.SettlementReport", "round_id", RoundId),
    (
        "accord.v1.SignedSettlementReport",
        "report_digest",
        Digest32,
    ),
    ("accord.v1.SignedTreeHead", "checkpoint", Checkpoint),
    ("accord.v1.SigningKey", "key_id", KeyId),
    ("accord.v1.SigningKey", "public_key", PublicKey),
    ("accord.v1.StateCapacity", "state", StateCode),
    ("accord.v1.StatePair", "first_state", StateCode),
    ("accord.v1.StatePair", "second_state", StateCode),
    ("accord.v1.StatePosition", "state", StateCode),
    ("accord.v1.StateResidual", "state", StateCode),
    ("accord.v1.StateSignature", "signature", Signature64),
    ("accord.v1.StateSignature", "signing_key_id", KeyId),
    ("accord.v1.StateSignature", "state", StateCode),
    (
        "accord.v1.SuspendMemberRequest",
        "idempotency_key",
        IdempotencyKey,
    ),
    ("accord.v1.SuspendMemberRequest", "state", StateCode),
    ("accord.v1.TreeHead", "root_hash", Digest32),
];

/// Every string and bytes field reachable from the coordinator's services, as (message full
/// name without the leading dot, field name).
fn coordinator_text_fields() -> BTreeSet<(String, String)> {
    let api = Api::load();
    let messages = api.messages();
    let mut fields = BTreeSet::new();
    for service in COORDINATOR_SERVICES {
        for name in api.reachable_messages(service) {
            let (_, message) = messages[&name];
            for field in &message.field {
                if matches!(field.r#type(), Type::String | Type::Bytes) {
                    let message_name = name.trim_start_matches('.').to_owned();
                    fields.insert((message_name, field.name().to_owned()));
                }
            }
        }
    }
    fields
}

#[test]
fn coordinator_messages_come_only_from_files_without_personal_data() {
    let api = Api::load();
    let messages = api.messages();
    for service in COORDINATOR_SERVICES {
        for name in api.reachable_messages(service) {
            let (file, _) = messages[&name];
            assert!(
                !NODE_ONLY_FILES.contains(&file),
                "{service} reaches {name}, defined in node-only {file}"
            );
        }
    }
}

#[test]
fn every_text_field_the_coordinator_serves_has_a_listed_format() {
    let reachable = coordinator_text_fields();
    let listed: BTreeSet<(String, String)> = FIELD_FORMATS
        .iter()
        .map(|(message, field, _)| ((*message).to_owned(), (*field).to_owned()))
        .collect();
    let unclassified: Vec<String> = reachable
        .difference(&listed)
        .map(|(message, field)| format!("{message}.{field}"))
        .collect();
    let gone: Vec<String> = listed
        .difference(&reachable)
        .map(|(message, field)| format!("{message}.{field}"))
        .collect();
    assert!(
        unclassified.is_empty() && gone.is_empty(),
        "string and bytes fields the coordinator serves must each be listed with their \
         format in FIELD_FORMATS (tests/it/privacy.rs)\n\
         unclassified: {unclassified:#?}\nlisted but no longer reachable: {gone:#?}"
    );
}

#[test]
fn the_format_table_lists_each_field_once() {
    let mut seen = BTreeSet::new();
    for (message, field, _) in FIELD_FORMATS {
        assert!(
            seen.insert((message, field)),
            "{message}.{field} is listed twice"
        );
    }
}

#[test]
fn an_event_s_key_is_the_node_s_own_and_every_other_key_a_client_s() {
    // The attestation's key was once the caseworker's own text: it must stay classified as
    // the node-made `EventKey`, never as a client's free choice.
    for (message, field, format) in FIELD_FORMATS {
        if *field != "idempotency_key" {
            continue;
        }
        let expected = match *message {
            "accord.v1.EventAttestation" => EventKey,
            _ => IdempotencyKey,
        };
        assert_eq!(*format, expected, "{message}.{field}");
    }
}

#[test]
fn personal_data_does_reach_the_node_services() {
    // The counterpart of the checks above: they would pass vacuously if the walk were broken.
    let api = Api::load();
    for service in ["ReadmissionService", "AdmissionService"] {
        assert!(
            api.reachable_messages(service)
                .contains(".accord.v1.PersonalData"),
            "{service} carries PersonalData"
        );
    }
}

#[test]
fn the_walk_finds_the_coordinator_s_text_fields() {
    // Likewise for the allowlist: a broken walk would find no field at all.
    let fields = coordinator_text_fields();
    for expected in [
        ("accord.v1.EventAttestation", "idempotency_key"),
        ("accord.v1.EnrolRequest", "node_csr_pem"),
        ("accord.v1.SignedTreeHead", "checkpoint"),
    ] {
        let expected = (expected.0.to_owned(), expected.1.to_owned());
        assert!(fields.contains(&expected), "{expected:?}");
    }
}
