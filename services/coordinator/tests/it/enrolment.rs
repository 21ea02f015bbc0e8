//! Enrolment tokens as operators use them: issued (the secret shown, only its hash kept),
//! replayed, cancelled, listed, and refused to anyone who is not an operator.

use accord_proto::v1 as pb;
use sha2::{Digest, Sha256};
use tonic::Code;

use crate::network::{HOUR_MS, Network, bad_fields, node, reason};

fn issue(network: &Network, key: &str, state: &str, hours: i64) -> pb::IssueEnrolmentTokenRequest {
    pb::IssueEnrolmentTokenRequest {
        idempotency_key: key.to_owned(),
        state: state.to_owned(),
        expires_at: Some(network.at(hours * HOUR_MS)),
        required_approvals: 0,
    }
}

#[tokio::test]
async fn an_operator_issues_a_token_whose_secret_is_shown_but_only_its_hash_is_kept() {
    for network in Network::on_every_database().await {
        let issued = network
            .operator()
            .issue_enrolment_token(issue(&network, "k-1", "PL", 24))
            .await
            .unwrap()
            .into_inner();
        let enrolment = issued.enrolment.unwrap();
        assert_eq!(enrolment.state, "PL");
        assert_eq!(enrolment.status(), pb::EnrolmentStatus::Ready);
        assert_eq!(issued.token.len(), 64, "{}", issued.token);
        assert!(enrolment.token_id.starts_with("enr-"));
        if network.database_url.starts_with("sqlite:") {
            let path = network.database_url.trim_start_matches("sqlite://");
            let path = path.split('?').next().unwrap();
            let bytes = std::fs::read(path).unwrap();
            let wal = std::fs::read(format!("{path}-wal")).unwrap_or_default();
            let stored = [bytes, wal].concat();
            let secret = issued.token.as_bytes();
            assert!(!stored.windows(secret.len()).any(|window| window == secret));
            let hash = hex::encode(Sha256::digest(secret));
            assert!(
                stored
                    .windows(hash.len())
                    .any(|window| window == hash.as_bytes())
            );
        }
        assert_eq!(
            network.audited("IssueEnrolmentToken").await,
            vec![("spiffe://accord/operator/alice".to_owned(), "OK".to_owned())]
        );
    }
}

#[tokio::test]
async fn a_replay_returns_the_same_token_and_other_content_under_the_key_is_refused() {
    let network = Network::start().await;
    let mut operator = network.operator();
    let first = operator
        .issue_enrolment_token(issue(&network, "k-1", "PL", 24))
        .await
        .unwrap()
        .into_inner();
    let again = operator
        .issue_enrolment_token(issue(&network, "k-1", "PL", 24))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again, first);
    let other = operator
        .issue_enrolment_token(issue(&network, "k-1", "CZ", 24))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::AlreadyExists);
    assert_eq!(reason(&other), "IDEMPOTENCY_KEY_REUSED");
    let listed = operator
        .list_enrolments(pb::ListEnrolmentsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.enrolments.len(), 1, "a replay issues nothing new");
}

#[tokio::test]
async fn a_token_is_refused_an_expiry_in_the_past_or_beyond_the_configured_limit() {
    let network = Network::start().await;
    let mut operator = network.operator();
    for (key, hours) in [("past", -1), ("now", 0), ("too-far", 721)] {
        let refused = operator
            .issue_enrolment_token(issue(&network, key, "PL", hours))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{key}");
        assert_eq!(bad_fields(&refused), ["expires_at"], "{key}");
    }
    let missing = operator
        .issue_enrolment_token(pb::IssueEnrolmentTokenRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&missing),
        ["expires_at", "idempotency_key", "state"]
    );
    let approvals = operator
        .issue_enrolment_token(pb::IssueEnrolmentTokenRequest {
            required_approvals: 1,
            ..issue(&network, "approvals", "PL", 24)
        })
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&approvals),
        ["required_approvals"],
        "no member to approve yet"
    );
}

#[tokio::test]
async fn only_operators_issue_or_cancel_tokens_and_every_refusal_is_audited() {
    let network = Network::start().await;
    let refused = network
        .client_as(&node("FR"))
        .issue_enrolment_token(issue(&network, "k-1", "PL", 24))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(reason(&refused), "CALLER_NOT_ALLOWED");
    let cancel = network
        .client_as(&node("FR"))
        .cancel_enrolment_token(pb::CancelEnrolmentTokenRequest {
            idempotency_key: "k-2".to_owned(),
            token_id: "enr-00".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(cancel.code(), Code::PermissionDenied);
    assert_eq!(
        network.audited("IssueEnrolmentToken").await,
        vec![(
            "spiffe://accord/state/FR".to_owned(),
            "PERMISSION_DENIED".to_owned()
        )]
    );
    assert_eq!(network.audited("CancelEnrolmentToken").await.len(), 1);
}

#[tokio::test]
async fn a_cancelled_token_reads_cancelled_and_cannot_be_cancelled_again() {
    let network = Network::start().await;
    let mut operator = network.operator();
    let issued = operator
        .issue_enrolment_token(issue(&network, "k-1", "PL", 24))
        .await
        .unwrap()
        .into_inner();
    let token_id = issued.enrolment.unwrap().token_id;
    let cancel = |key: &str| pb::CancelEnrolmentTokenRequest {
        idempotency_key: key.to_owned(),
        token_id: token_id.clone(),
    };
    let cancelled = operator
        .cancel_enrolment_token(cancel("c-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        cancelled.enrolment.as_ref().unwrap().status(),
        pb::EnrolmentStatus::Cancelled
    );
    let replay = operator
        .cancel_enrolment_token(cancel("c-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replay, cancelled);
    let again = operator
        .cancel_enrolment_token(cancel("c-2"))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);
    assert_eq!(reason(&again), "ILLEGAL_TRANSITION");
    let unknown = operator
        .cancel_enrolment_token(pb::CancelEnrolmentTokenRequest {
            idempotency_key: "c-3".to_owned(),
            token_id: "enr-unknown".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
}

#[tokio::test]
async fn enrolments_list_newest_first_page_by_page_with_their_status_at_the_time_of_reading() {
    let network = Network::start().await;
    let mut operator = network.operator();
    let mut ids = Vec::new();
    for (index, state) in ["PL", "CZ", "SK"].iter().enumerate() {
        let issued = operator
            .issue_enrolment_token(issue(&network, &format!("k-{index}"), state, 24))
            .await
            .unwrap()
            .into_inner();
        ids.push(issued.enrolment.unwrap().token_id);
        network.clock.advance_millis(1_000);
    }
    let first = operator
        .list_enrolments(pb::ListEnrolmentsRequest {
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let states: Vec<_> = first.enrolments.iter().map(|e| e.state.clone()).collect();
    assert_eq!(states, ["SK", "CZ"]);
    let second = operator
        .list_enrolments(pb::ListEnrolmentsRequest {
            page_size: 2,
            page_token: first.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let states: Vec<_> = second.enrolments.iter().map(|e| e.state.clone()).collect();
    assert_eq!(states, ["PL"]);
    assert!(second.next_page_token.is_empty());
    network.clock.advance_millis(25 * HOUR_MS);
    let expired = operator
        .list_enrolments(pb::ListEnrolmentsRequest {
            statuses: vec![pb::EnrolmentStatus::Expired.into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        expired.enrolments.len(),
        3,
        "a day later every token has expired"
    );
    let bad_token = operator
        .list_enrolments(pb::ListEnrolmentsRequest {
            page_token: "garbage".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&bad_token), ["page_token"]);
}
