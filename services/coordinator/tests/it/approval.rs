//! Quorum admission: with two approvals required, a token admits its state only once two
//! existing members have each signed an `EnrolmentApproval` with a key the directory lists
//! for them; a forged, repeated, foreign or self-interested approval is refused and changes
//! nothing.

use accord_domain::StateCode;
use accord_proto::v1 as pb;
use accord_trust::pki::csr::key_and_request;
use accord_trust::{EventSigningKey, PeerIdentity, SigningDomain};
use prost::Message;
use tonic::Code;

use crate::member::{Member, joined};
use crate::network::{Network, bad_fields, reason};

/// `approver`'s approval of `candidate`'s token, signed with `key`.
fn approval(
    token_id: &str,
    candidate: &str,
    approver: &str,
    key: &EventSigningKey,
    idempotency_key: &str,
) -> pb::ApproveEnrolmentRequest {
    let approval = pb::EnrolmentApproval {
        token_id: token_id.to_owned(),
        candidate_state: candidate.to_owned(),
        approving_state: approver.to_owned(),
        signing_key_id: key.key_id().to_string(),
    };
    let signature = key.sign(SigningDomain::ENROLMENT_APPROVAL, &approval.encode_to_vec());
    pb::ApproveEnrolmentRequest {
        idempotency_key: idempotency_key.to_owned(),
        approval: Some(approval),
        signature: signature.to_bytes().to_vec(),
    }
}

fn enrol_request(token: &str) -> pb::EnrolRequest {
    let pl = StateCode::parse("PL").unwrap();
    pb::EnrolRequest {
        idempotency_key: "join-pl".to_owned(),
        enrolment_token: token.to_owned(),
        state: "PL".to_owned(),
        node_csr_pem: key_and_request(&PeerIdentity::Node(pl)).unwrap().csr_pem,
        gateway_csr_pem: String::new(),
        node_endpoint: "https://127.0.0.1:7603".to_owned(),
        signing_public_key: EventSigningKey::generate()
            .unwrap()
            .verifying_key()
            .to_bytes()
            .to_vec(),
    }
}

/// `approver`'s node sends `request`; answers the enrolment as it then stands.
async fn approved(approver: &Member, request: pb::ApproveEnrolmentRequest) -> pb::Enrolment {
    approver
        .membership
        .clone()
        .approve_enrolment(request)
        .await
        .unwrap()
        .into_inner()
        .enrolment
        .unwrap()
}

/// The enrolment of `token_id` as an operator lists it.
async fn listed(network: &Network, token_id: &str) -> pb::Enrolment {
    network
        .operator()
        .list_enrolments(pb::ListEnrolmentsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .enrolments
        .into_iter()
        .find(|enrolment| enrolment.token_id == token_id)
        .unwrap()
}

#[tokio::test]
async fn a_token_needing_two_approvals_admits_its_state_after_two_signed_approvals() {
    for network in Network::on_every_database().await {
        let fr = joined(&network, "FR", 7601).await;
        let de = joined(&network, "DE", 7602).await;
        let (token_id, token) = network.token_for("PL", 2).await;
        let early = network
            .anonymous()
            .enrol(enrol_request(&token))
            .await
            .unwrap_err();
        assert_eq!(early.code(), Code::FailedPrecondition, "no approval yet");

        let once = approved(&fr, approval(&token_id, "PL", "FR", &fr.key, "a-1")).await;
        assert_eq!(once.status(), pb::EnrolmentStatus::AwaitingApprovals);
        assert_eq!(once.approvals.len(), 1);
        let again = network
            .anonymous()
            .enrol(enrol_request(&token))
            .await
            .unwrap_err();
        assert_eq!(again.code(), Code::FailedPrecondition, "one of two");

        let twice = approved(&de, approval(&token_id, "PL", "DE", &de.key, "a-2")).await;
        assert_eq!(twice.status(), pb::EnrolmentStatus::Ready);
        let states: Vec<&str> = twice
            .approvals
            .iter()
            .map(|signed| signed.state.as_str())
            .collect();
        assert_eq!(states, ["FR", "DE"]);
        assert_eq!(twice.approvals[0].signature.len(), 64);

        network
            .anonymous()
            .enrol(enrol_request(&token))
            .await
            .unwrap();
        let pl = listed(&network, &token_id).await;
        assert_eq!(pl.status(), pb::EnrolmentStatus::Used);
        assert_eq!(pl.approvals.len(), 2, "the approvals stay on record");
    }
}

#[tokio::test]
async fn forged_repeated_foreign_and_self_approvals_are_refused_and_change_nothing() {
    let network = Network::start().await;
    let mut fr = joined(&network, "FR", 7611).await;
    let de = joined(&network, "DE", 7612).await;
    let (token_id, _) = network.token_for("PL", 2).await;

    // Signed with DE's key, presented as FR's.
    let forged = fr
        .membership
        .approve_enrolment(approval(&token_id, "PL", "FR", &de.key, "f-1"))
        .await
        .unwrap_err();
    assert_eq!(forged.code(), Code::InvalidArgument);
    assert_eq!(reason(&forged), "SIGNATURE_INVALID");
    // A signature over other content.
    let mut tampered = approval(&token_id, "PL", "FR", &fr.key, "f-2");
    tampered.approval.as_mut().unwrap().candidate_state = "CZ".to_owned();
    let tampered = fr.membership.approve_enrolment(tampered).await.unwrap_err();
    assert_eq!(tampered.code(), Code::InvalidArgument);
    assert_eq!(bad_fields(&tampered), ["approval.candidate_state"]);
    let mut resigned = approval(&token_id, "PL", "FR", &fr.key, "f-3");
    resigned.signature[0] ^= 1;
    let resigned = fr.membership.approve_enrolment(resigned).await.unwrap_err();
    assert_eq!(reason(&resigned), "SIGNATURE_INVALID");
    // FR approving in DE's name.
    let foreign = fr
        .membership
        .approve_enrolment(approval(&token_id, "PL", "DE", &de.key, "f-4"))
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::PermissionDenied);
    // An unknown token.
    let unknown = fr
        .membership
        .approve_enrolment(approval(
            "enr-00000000000000000000",
            "PL",
            "FR",
            &fr.key,
            "f-5",
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    fr.membership
        .approve_enrolment(approval(&token_id, "PL", "FR", &fr.key, "ok-1"))
        .await
        .unwrap();
    let repeated = fr
        .membership
        .approve_enrolment(approval(&token_id, "PL", "FR", &fr.key, "ok-2"))
        .await
        .unwrap_err();
    assert_eq!(repeated.code(), Code::AlreadyExists);
    assert_eq!(reason(&repeated), "ALREADY_APPROVED");
    // An operator is no member and approves nothing.
    let operator = network
        .operator()
        .approve_enrolment(approval(&token_id, "PL", "FR", &fr.key, "op-1"))
        .await
        .unwrap_err();
    assert_eq!(operator.code(), Code::PermissionDenied);

    let pl = listed(&network, &token_id).await;
    assert_eq!(pl.approvals.len(), 1, "only FR's one valid approval");
}
