//! Every readmission path end to end between GB's and FR's nodes: each step taken by the
//! state the lifecycle names, through its own gateway, and both nodes ending with the same
//! signed history.

use accord_proto::v1 as pb;
use pb::ReadmissionEventKind as K;
use pb::ReadmissionStatus as Status;

use crate::federation::{Federation, START_MILLIS};
use crate::readmission::{
    DAY_MS, HOUR_MS, accepted_with_transfer_decision, both_reach, case, kinds, open_and_receive,
    reason, refusal, rejection, schedule, shared_history, slot, time, transferred,
};

/// A case FR rejected with two reason codes, as both nodes see it.
async fn rejected(federation: &Federation, key: &str) -> String {
    let case_ref = open_and_receive(federation, key).await;
    federation
        .gateway("FR")
        .await
        .decide_readmission(rejection(
            &format!("{key}-reject"),
            &case_ref,
            &[
                pb::ReadmissionReason::NoProofOfStayOrTransit,
                pb::ReadmissionReason::InsufficientEvidence,
            ],
        ))
        .await
        .unwrap();
    both_reach(federation, &case_ref, Status::Rejected).await;
    case_ref
}

/// GB asks FR to look again at its rejection.
async fn re_examination_requested(federation: &Federation, key: &str) -> String {
    let case_ref = rejected(federation, key).await;
    federation
        .gateway("GB")
        .await
        .request_re_examination(pb::RequestReExaminationRequest {
            idempotency_key: format!("{key}-re-examine"),
            case_ref: case_ref.clone(),
            grounds: "The Eurodac hit places the person in Calais on 28 February.".into(),
            evidence: vec![pb::Evidence {
                kind: pb::EvidenceKind::OfficialReport as i32,
                reference: "PV-2026-77".into(),
                document_digest: vec![7; 32],
                note: String::new(),
            }],
        })
        .await
        .unwrap();
    both_reach(federation, &case_ref, Status::ReExaminationRequested).await;
    case_ref
}

#[tokio::test]
async fn a_rejection_carries_its_reason_codes_to_both_nodes() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = rejected(&federation, "open-1").await;
    for state in ["GB", "FR"] {
        let seen = case(&federation, state, &case_ref).await.unwrap();
        assert_eq!(
            seen.rejection_reasons,
            [
                pb::ReadmissionReason::NoProofOfStayOrTransit as i32,
                pb::ReadmissionReason::InsufficientEvidence as i32
            ],
            "{state} shows FR's reason codes"
        );
    }
    let history = shared_history(&federation, &case_ref).await;
    assert_eq!(kinds(&history), [K::Submitted, K::Received, K::Rejected]);
    assert_eq!(history[2].acting_state, "FR");
}

#[tokio::test]
async fn a_rejection_reversed_on_re_examination_leaves_the_case_accepted_on_both_nodes() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = re_examination_requested(&federation, "open-1").await;
    federation
        .gateway("FR")
        .await
        .decide_re_examination(pb::DecideReExaminationRequest {
            idempotency_key: "re-accept-1".into(),
            case_ref: case_ref.clone(),
            decision: Some(pb::decide_re_examination_request::Decision::Accept(
                pb::ReadmissionAcceptance {
                    note: "Transit established.".into(),
                },
            )),
        })
        .await
        .unwrap();
    both_reach(&federation, &case_ref, Status::Accepted).await;
    let history = shared_history(&federation, &case_ref).await;
    assert_eq!(
        kinds(&history),
        [
            K::Submitted,
            K::Received,
            K::Rejected,
            K::ReExaminationRequested,
            K::ReExaminationAccepted
        ]
    );
    let fr = case(&federation, "FR", &case_ref).await.unwrap();
    assert_eq!(
        fr.evidence.len(),
        2,
        "the evidence of the submission and of the re-examination request"
    );
    assert!(fr.transfer_due_at.is_some(), "the transfer clock runs");
}

#[tokio::test]
async fn a_rejection_confirmed_on_re_examination_is_final_on_both_nodes() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = re_examination_requested(&federation, "open-1").await;
    federation
        .gateway("FR")
        .await
        .decide_re_examination(pb::DecideReExaminationRequest {
            idempotency_key: "re-reject-1".into(),
            case_ref: case_ref.clone(),
            decision: Some(pb::decide_re_examination_request::Decision::Reject(
                refusal(&[pb::ReadmissionReason::NotResponsibleUnderCriteria]),
            )),
        })
        .await
        .unwrap();
    both_reach(&federation, &case_ref, Status::RejectedFinal).await;
    let gb = case(&federation, "GB", &case_ref).await.unwrap();
    assert_eq!(
        gb.rejection_reasons,
        [pb::ReadmissionReason::NotResponsibleUnderCriteria as i32],
        "the latest refusal's reasons"
    );
    let history = shared_history(&federation, &case_ref).await;
    assert_eq!(
        history.last().unwrap().kind,
        K::ReExaminationRejected as i32
    );
}

#[tokio::test]
async fn a_re_examination_left_unanswered_lapses_by_gbs_clock_on_both_nodes() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = re_examination_requested(&federation, "open-1").await;
    federation.clock.advance_days(14);
    federation.clock.advance_millis(1);
    both_reach(&federation, &case_ref, Status::ReExaminationLapsed).await;
    let history = shared_history(&federation, &case_ref).await;
    let lapse = history.last().unwrap();
    assert_eq!(lapse.kind, K::ReExaminationLapsed as i32);
    assert_eq!(
        lapse.acting_state, "GB",
        "the requesting state's clock records the lapse"
    );
    assert_eq!(
        lapse.occurred_at,
        Some(time(START_MILLIS + 14 * DAY_MS + 1)),
        "the lapse takes effect one millisecond after the two weeks"
    );
    let answer = federation
        .gateway("FR")
        .await
        .decide_re_examination(pb::DecideReExaminationRequest {
            idempotency_key: "late-1".into(),
            case_ref: case_ref.clone(),
            decision: Some(pb::decide_re_examination_request::Decision::Accept(
                pb::ReadmissionAcceptance::default(),
            )),
        })
        .await
        .unwrap_err();
    assert_eq!(answer.code(), tonic::Code::FailedPrecondition);
    assert_eq!(reason(&answer), "DEADLINE_PASSED");
}

#[tokio::test]
async fn a_rejection_accepted_by_gb_closes_the_case_on_both_nodes() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = rejected(&federation, "open-1").await;
    federation
        .gateway("GB")
        .await
        .close_readmission(pb::CloseReadmissionRequest {
            idempotency_key: "close-1".into(),
            case_ref: case_ref.clone(),
        })
        .await
        .unwrap();
    both_reach(&federation, &case_ref, Status::ClosedRejected).await;
    let history = shared_history(&federation, &case_ref).await;
    let closure = history.last().unwrap();
    assert_eq!(closure.kind, K::ClosedRejected as i32);
    assert_eq!(closure.acting_state, "GB");
    assert!(
        closure.detail.is_none(),
        "GB closed it itself, not by lapse"
    );
}

#[tokio::test]
async fn a_rejection_left_unchallenged_for_three_weeks_closes_by_gbs_clock() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = rejected(&federation, "open-1").await;
    federation.clock.advance_days(21);
    both_reach(&federation, &case_ref, Status::Rejected).await;
    federation.clock.advance_millis(1);
    both_reach(&federation, &case_ref, Status::ClosedRejected).await;
    let history = shared_history(&federation, &case_ref).await;
    let closure = history.last().unwrap();
    assert_eq!(closure.acting_state, "GB");
    assert!(
        matches!(
            closure.detail,
            Some(pb::readmission_event::Detail::ClosedRejected(_))
        ),
        "a closure by lapse names the deadline that passed"
    );
    let late = federation
        .gateway("GB")
        .await
        .request_re_examination(pb::RequestReExaminationRequest {
            idempotency_key: "late-1".into(),
            case_ref: case_ref.clone(),
            grounds: "Too late.".into(),
            evidence: Vec::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(late.code(), tonic::Code::FailedPrecondition);
    assert_eq!(
        reason(&late),
        "DEADLINE_PASSED",
        "the window closed by lapse"
    );
}

#[tokio::test]
async fn information_requested_by_fr_and_provided_by_gb_returns_the_case_to_examination() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    let mut fr = federation.gateway("FR").await;
    let mut gb = federation.gateway("GB").await;
    fr.start_examination(pb::StartExaminationRequest {
        idempotency_key: "examine-1".into(),
        case_ref: case_ref.clone(),
    })
    .await
    .unwrap();
    both_reach(&federation, &case_ref, Status::UnderExamination).await;
    fr.request_information(pb::RequestInformationRequest {
        idempotency_key: "ask-1".into(),
        case_ref: case_ref.clone(),
        questions: "Where was the person intercepted?".into(),
    })
    .await
    .unwrap();
    both_reach(&federation, &case_ref, Status::InfoRequested).await;
    gb.provide_information(pb::ProvideInformationRequest {
        idempotency_key: "answer-1".into(),
        case_ref: case_ref.clone(),
        answers: "Off Dunkirk, by the French coastguard.".into(),
        evidence: vec![pb::Evidence {
            kind: pb::EvidenceKind::OfficialReport as i32,
            reference: "CROSS-GN-12".into(),
            document_digest: Vec::new(),
            note: String::new(),
        }],
        corrected_person: None,
    })
    .await
    .unwrap();
    both_reach(&federation, &case_ref, Status::UnderExamination).await;
    fr.decide_readmission(crate::readmission::acceptance("accept-1", &case_ref))
        .await
        .unwrap();
    both_reach(&federation, &case_ref, Status::Accepted).await;
    let history = shared_history(&federation, &case_ref).await;
    assert_eq!(
        kinds(&history),
        [
            K::Submitted,
            K::Received,
            K::ExaminationStarted,
            K::InformationRequested,
            K::InformationProvided,
            K::Accepted
        ]
    );
    let acting: Vec<&str> = history
        .iter()
        .map(|event| event.acting_state.as_str())
        .collect();
    assert_eq!(acting, ["GB", "FR", "FR", "FR", "GB", "FR"]);
}

#[tokio::test]
async fn a_withdrawal_before_the_transfer_ends_the_case_on_both_nodes() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = accepted_with_transfer_decision(&federation, "open-1").await;
    federation
        .gateway("GB")
        .await
        .withdraw_readmission(pb::WithdrawReadmissionRequest {
            idempotency_key: "withdraw-1".into(),
            case_ref: case_ref.clone(),
            reason: pb::ReadmissionWithdrawalReason::ClaimPending as i32,
            note: String::new(),
        })
        .await
        .unwrap();
    both_reach(&federation, &case_ref, Status::Withdrawn).await;
    let history = shared_history(&federation, &case_ref).await;
    assert_eq!(history.last().unwrap().kind, K::Withdrawn as i32);
}

#[tokio::test]
async fn a_withdrawal_after_the_transfer_is_refused_and_changes_nothing() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = transferred(&federation, "open-1").await;
    let refused = federation
        .gateway("GB")
        .await
        .withdraw_readmission(pb::WithdrawReadmissionRequest {
            idempotency_key: "withdraw-1".into(),
            case_ref: case_ref.clone(),
            reason: pb::ReadmissionWithdrawalReason::ClaimPending as i32,
            note: "Claim lodged after the hand-over.".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert_eq!(reason(&refused), "ILLEGAL_TRANSITION");
    let history = shared_history(&federation, &case_ref).await;
    assert_eq!(history.last().unwrap().kind, K::Transferred as i32);
}

#[tokio::test]
async fn a_legal_hold_placed_and_released_returns_the_case_to_its_transfer_decision() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = accepted_with_transfer_decision(&federation, "open-1").await;
    schedule(
        &federation,
        "schedule-1",
        &case_ref,
        START_MILLIS + 7 * DAY_MS,
    )
    .await;
    let mut gb = federation.gateway("GB").await;
    let placed = gb
        .place_legal_hold(pb::PlaceLegalHoldRequest {
            idempotency_key: "hold-1".into(),
            case_ref: case_ref.clone(),
            kind: pb::LegalHoldKind::SuspensiveAppeal as i32,
            reference: "FTT-2026-991".into(),
            note: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    both_reach(&federation, &case_ref, Status::LegalHold).await;
    let hold_sequence = placed.event.unwrap().sequence;
    for state in ["GB", "FR"] {
        let seen = case(&federation, state, &case_ref).await.unwrap();
        assert_eq!(seen.legal_holds.len(), 1, "{state} shows the hold");
        assert_eq!(seen.legal_holds[0].hold_sequence, hold_sequence);
        assert!(
            seen.transfer_slot.is_none(),
            "a held transfer loses its slot"
        );
        assert!(
            seen.deadlines.iter().any(|deadline| deadline.paused),
            "{state} shows the clocks paused by the hold"
        );
    }
    federation.clock.advance_days(10);
    for (wrong_sequence, code) in [
        (0, tonic::Code::InvalidArgument),
        (hold_sequence - 1, tonic::Code::NotFound),
    ] {
        let refused = gb
            .release_legal_hold(pb::ReleaseLegalHoldRequest {
                idempotency_key: format!("release-wrong-{wrong_sequence}"),
                case_ref: case_ref.clone(),
                hold_sequence: wrong_sequence,
                note: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), code, "releasing hold #{wrong_sequence}");
    }
    gb.release_legal_hold(pb::ReleaseLegalHoldRequest {
        idempotency_key: "release-1".into(),
        case_ref: case_ref.clone(),
        hold_sequence,
        note: "Appeal dismissed.".into(),
    })
    .await
    .unwrap();
    both_reach(&federation, &case_ref, Status::TransferDecisionIssued).await;
    let fr = case(&federation, "FR", &case_ref).await.unwrap();
    assert!(fr.legal_holds.is_empty());
    assert!(fr.deadlines.iter().all(|deadline| !deadline.paused));
    schedule(
        &federation,
        "schedule-2",
        &case_ref,
        START_MILLIS + 20 * DAY_MS,
    )
    .await;
    let history = shared_history(&federation, &case_ref).await;
    assert_eq!(
        kinds(&history)[4..],
        [
            K::TransferScheduled,
            K::LegalHoldPlaced,
            K::LegalHoldReleased,
            K::TransferScheduled
        ]
    );
}

#[tokio::test]
async fn a_postponed_transfer_stays_scheduled_with_its_new_slot_on_both_nodes() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = accepted_with_transfer_decision(&federation, "open-1").await;
    schedule(
        &federation,
        "schedule-1",
        &case_ref,
        START_MILLIS + 7 * DAY_MS,
    )
    .await;
    let new_start = START_MILLIS + 14 * DAY_MS;
    federation
        .gateway("GB")
        .await
        .postpone_transfer(pb::PostponeTransferRequest {
            idempotency_key: "postpone-1".into(),
            case_ref: case_ref.clone(),
            reason: pb::TransferPostponementReason::RequestedByReceivingState as i32,
            note: "Reception centre full that week.".into(),
            slot: Some(slot(new_start)),
        })
        .await
        .unwrap();
    crate::federation::eventually("both nodes show the new slot", || async {
        let (Some(gb), Some(fr)) = (
            case(&federation, "GB", &case_ref).await,
            case(&federation, "FR", &case_ref).await,
        ) else {
            return false;
        };
        gb.events == fr.events
            && [gb, fr].iter().all(|seen| {
                seen.status == Status::TransferScheduled as i32
                    && seen.transfer_slot == Some(slot(new_start))
            })
    })
    .await;
    let history = shared_history(&federation, &case_ref).await;
    assert_eq!(history.last().unwrap().kind, K::TransferPostponed as i32);
}

#[tokio::test]
async fn a_failed_transfer_can_be_booked_again_and_then_carried_out() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = accepted_with_transfer_decision(&federation, "open-1").await;
    schedule(
        &federation,
        "schedule-1",
        &case_ref,
        START_MILLIS + 7 * DAY_MS,
    )
    .await;
    let mut gb = federation.gateway("GB").await;
    gb.report_transfer_failed(pb::ReportTransferFailedRequest {
        idempotency_key: "failed-1".into(),
        case_ref: case_ref.clone(),
        reason: pb::TransferFailureReason::Absconded as i32,
        note: String::new(),
    })
    .await
    .unwrap();
    both_reach(&federation, &case_ref, Status::TransferFailed).await;
    let retry_start = START_MILLIS + 10 * DAY_MS;
    schedule(&federation, "schedule-2", &case_ref, retry_start).await;
    federation.clock.advance_millis(10 * DAY_MS + HOUR_MS / 4);
    gb.report_transfer(pb::ReportTransferRequest {
        idempotency_key: "transfer-1".into(),
        case_ref: case_ref.clone(),
        handed_over_at: Some(time(retry_start + HOUR_MS / 4)),
        handover_point: "Calais".into(),
    })
    .await
    .unwrap();
    both_reach(&federation, &case_ref, Status::Transferred).await;
    let history = shared_history(&federation, &case_ref).await;
    assert_eq!(
        kinds(&history)[4..],
        [
            K::TransferScheduled,
            K::TransferFailed,
            K::TransferScheduled,
            K::Transferred
        ]
    );
}

#[tokio::test]
async fn a_no_show_reported_by_fr_ends_the_case_on_both_nodes() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = transferred(&federation, "open-1").await;
    federation
        .gateway("FR")
        .await
        .report_no_show(pb::ReportNoShowRequest {
            idempotency_key: "no-show-1".into(),
            case_ref: case_ref.clone(),
            note: "Nobody at the quay.".into(),
        })
        .await
        .unwrap();
    both_reach(&federation, &case_ref, Status::NoShow).await;
    let history = shared_history(&federation, &case_ref).await;
    let no_show = history.last().unwrap();
    assert_eq!(no_show.kind, K::NoShow as i32);
    assert_eq!(no_show.acting_state, "FR");
}

#[tokio::test]
async fn a_step_taken_by_the_wrong_state_is_refused_and_audited() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    let refused = federation
        .gateway("GB")
        .await
        .decide_readmission(crate::readmission::acceptance("self-accept", &case_ref))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    let audit = federation.app("GB").store().audit_log(10).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|record| record.operation.ends_with("DecideReadmission")),
        "GB's node audits its own gateway's attempt to decide for FR"
    );
    let history = shared_history(&federation, &case_ref).await;
    assert_eq!(kinds(&history), [K::Submitted, K::Received]);
}
