//! Every readmission path end to end between GB's and FR's nodes: each step taken by the
//! state the lifecycle names, through its own gateway, and both nodes ending with the same
//! signed history.

use accord_proto::v1 as pb;
use pb::ReadmissionEventKind as K;
use pb::ReadmissionStatus as Status;
use pb::decide_re_examination_request::Decision as ReExamination;

use crate::federation::{Federation, START_MILLIS};
use crate::readmission::{
    acceptance, accepted_with_transfer_decision, assert_rejected_by_fr, both_reach, both_show,
    case, evidence, kinds, last_event, open_and_receive, refusal, rejection, schedule, scheduled,
    shared_history, slot, transfer_report, transferred,
};
use crate::support::{DAY_MS, HOUR_MS, Step, assert_refused, step, time};

/// The reason codes of FR's rejection in [`rejected`].
const REJECTION_REASONS: [pb::ReadmissionReason; 2] = [
    pb::ReadmissionReason::NoProofOfStayOrTransit,
    pb::ReadmissionReason::InsufficientEvidence,
];

/// A case FR rejected with [`REJECTION_REASONS`], as both nodes see it.
async fn rejected(federation: &Federation, key: &str) -> String {
    let case_ref = open_and_receive(federation, key).await;
    let key = format!("{key}-reject");
    let rejection = rejection(&key, &case_ref, &REJECTION_REASONS);
    let mut fr = federation.gateway("FR").await;
    fr.decide_readmission(rejection).await.unwrap();
    both_reach(federation, &case_ref, Status::Rejected).await;
    case_ref
}

/// GB's request that FR look again at its rejection.
fn re_examination_request(key: &str, case_ref: &str) -> pb::RequestReExaminationRequest {
    let mut report = evidence(pb::EvidenceKind::OfficialReport, "PV-2026-77");
    report.document_digest = vec![7; 32];
    pb::RequestReExaminationRequest {
        grounds: "The Eurodac hit places the person in Calais on 28 February.".into(),
        evidence: vec![report],
        ..step(key, case_ref)
    }
}

/// GB asks FR to look again at its rejection.
async fn re_examination_requested(federation: &Federation, key: &str) -> String {
    let case_ref = rejected(federation, key).await;
    let request = re_examination_request(&format!("{key}-re-examine"), &case_ref);
    let mut gb = federation.gateway("GB").await;
    gb.request_re_examination(request).await.unwrap();
    both_reach(federation, &case_ref, Status::ReExaminationRequested).await;
    case_ref
}

/// FR's answer to a request for re-examination.
async fn decide_re_examination(
    federation: &Federation,
    key: &str,
    case_ref: &str,
    decision: ReExamination,
) -> Result<(), tonic::Status> {
    let request = pb::DecideReExaminationRequest {
        decision: Some(decision),
        ..step(key, case_ref)
    };
    let mut fr = federation.gateway("FR").await;
    fr.decide_re_examination(request).await.map(drop)
}

/// GB's withdrawal of its request, the claim pending.
fn withdrawal(case_ref: &str, note: &str) -> pb::WithdrawReadmissionRequest {
    pb::WithdrawReadmissionRequest {
        reason: pb::ReadmissionWithdrawalReason::ClaimPending as i32,
        note: note.into(),
        ..step("withdraw-1", case_ref)
    }
}

#[tokio::test]
async fn a_rejection_carries_its_reason_codes_to_both_nodes() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = rejected(&federation, "open-1").await;
    assert_rejected_by_fr(&federation, &case_ref, &REJECTION_REASONS).await;
}

#[tokio::test]
async fn a_rejection_reversed_on_re_examination_leaves_the_case_accepted_on_both_nodes() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = re_examination_requested(&federation, "open-1").await;
    let note = "Transit established.".into();
    let reversal = ReExamination::Accept(pb::ReadmissionAcceptance { note });
    decide_re_examination(&federation, "re-accept-1", &case_ref, reversal)
        .await
        .unwrap();
    let accepted = both_reach(&federation, &case_ref, Status::Accepted).await;
    assert_eq!(
        kinds(&accepted.events),
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
    let reasons = [pb::ReadmissionReason::NotResponsibleUnderCriteria];
    let confirmation = ReExamination::Reject(refusal(&reasons));
    decide_re_examination(&federation, "re-reject-1", &case_ref, confirmation)
        .await
        .unwrap();
    let gb = both_reach(&federation, &case_ref, Status::RejectedFinal).await;
    assert_eq!(
        gb.rejection_reasons,
        [pb::ReadmissionReason::NotResponsibleUnderCriteria as i32],
        "the latest refusal's reasons"
    );
    assert_eq!(kinds(&gb.events).last(), Some(&K::ReExaminationRejected));
}

#[tokio::test]
async fn a_re_examination_left_unanswered_lapses_by_gbs_clock_on_both_nodes() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = re_examination_requested(&federation, "open-1").await;
    federation.clock.advance_days(14);
    federation.clock.advance_millis(1);
    both_reach(&federation, &case_ref, Status::ReExaminationLapsed).await;
    // The requesting state's clock records the lapse.
    let lapse = last_event(&federation, &case_ref, K::ReExaminationLapsed, "GB").await;
    assert_eq!(
        lapse.occurred_at,
        Some(time(START_MILLIS + 14 * DAY_MS + 1)),
        "the lapse takes effect one millisecond after the two weeks"
    );
    let late = ReExamination::Accept(pb::ReadmissionAcceptance::default());
    let answer = decide_re_examination(&federation, "late-1", &case_ref, late).await;
    let refused = answer.expect_err("FR answers after the lapse");
    assert_refused(&refused, tonic::Code::FailedPrecondition, "DEADLINE_PASSED");
}

#[tokio::test]
async fn a_rejection_accepted_by_gb_closes_the_case_on_both_nodes() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = rejected(&federation, "open-1").await;
    let mut gb = federation.gateway("GB").await;
    gb.close_readmission(pb::CloseReadmissionRequest::keyed("close-1", &case_ref))
        .await
        .unwrap();
    both_reach(&federation, &case_ref, Status::ClosedRejected).await;
    let closure = last_event(&federation, &case_ref, K::ClosedRejected, "GB").await;
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
    let closure = last_event(&federation, &case_ref, K::ClosedRejected, "GB").await;
    assert!(
        matches!(
            closure.detail,
            Some(pb::readmission_event::Detail::ClosedRejected(_))
        ),
        "a closure by lapse names the deadline that passed"
    );
    let mut too_late = re_examination_request("late-1", &case_ref);
    too_late.evidence.clear();
    let mut gb = federation.gateway("GB").await;
    let late = gb.request_re_examination(too_late).await.unwrap_err();
    assert_refused(&late, tonic::Code::FailedPrecondition, "DEADLINE_PASSED");
}

#[tokio::test]
async fn information_requested_by_fr_and_provided_by_gb_returns_the_case_to_examination() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    let mut fr = federation.gateway("FR").await;
    fr.start_examination(pb::StartExaminationRequest::keyed("examine-1", &case_ref))
        .await
        .unwrap();
    both_reach(&federation, &case_ref, Status::UnderExamination).await;
    fr.request_information(pb::RequestInformationRequest {
        questions: "Where was the person intercepted?".into(),
        ..step("ask-1", &case_ref)
    })
    .await
    .unwrap();
    both_reach(&federation, &case_ref, Status::InfoRequested).await;
    let mut gb = federation.gateway("GB").await;
    gb.provide_information(pb::ProvideInformationRequest {
        answers: "Off Dunkirk, by the French coastguard.".into(),
        evidence: vec![evidence(pb::EvidenceKind::OfficialReport, "CROSS-GN-12")],
        corrected_person: None,
        ..step("answer-1", &case_ref)
    })
    .await
    .unwrap();
    both_reach(&federation, &case_ref, Status::UnderExamination).await;
    fr.decide_readmission(acceptance("accept-1", &case_ref))
        .await
        .unwrap();
    let accepted = both_reach(&federation, &case_ref, Status::Accepted).await;
    let history: Vec<(K, &str)> = kinds(&accepted.events)
        .into_iter()
        .zip(
            accepted
                .events
                .iter()
                .map(|event| event.acting_state.as_str()),
        )
        .collect();
    assert_eq!(
        history,
        [
            (K::Submitted, "GB"),
            (K::Received, "FR"),
            (K::ExaminationStarted, "FR"),
            (K::InformationRequested, "FR"),
            (K::InformationProvided, "GB"),
            (K::Accepted, "FR")
        ]
    );
}

#[tokio::test]
async fn a_withdrawal_before_the_transfer_ends_the_case_on_both_nodes() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = accepted_with_transfer_decision(&federation, "open-1").await;
    let mut gb = federation.gateway("GB").await;
    gb.withdraw_readmission(withdrawal(&case_ref, ""))
        .await
        .unwrap();
    let withdrawn = both_reach(&federation, &case_ref, Status::Withdrawn).await;
    assert_eq!(kinds(&withdrawn.events).last(), Some(&K::Withdrawn));
}

#[tokio::test]
async fn a_withdrawal_after_the_transfer_is_refused_and_changes_nothing() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = transferred(&federation, "open-1").await;
    let late = withdrawal(&case_ref, "Claim lodged after the hand-over.");
    let mut gb = federation.gateway("GB").await;
    let refused = gb.withdraw_readmission(late).await.unwrap_err();
    assert_refused(
        &refused,
        tonic::Code::FailedPrecondition,
        "ILLEGAL_TRANSITION",
    );
    last_event(&federation, &case_ref, K::Transferred, "GB").await;
}

/// GB's release of the legal hold recorded as event `hold_sequence`.
fn release(key: &str, case_ref: &str, hold_sequence: u64) -> pb::ReleaseLegalHoldRequest {
    pb::ReleaseLegalHoldRequest {
        hold_sequence,
        note: "Appeal dismissed.".into(),
        ..step(key, case_ref)
    }
}

#[tokio::test]
async fn a_legal_hold_placed_and_released_returns_the_case_to_its_transfer_decision() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = scheduled(&federation, "open-1").await;
    let mut gb = federation.gateway("GB").await;
    let placed = gb
        .place_legal_hold(pb::PlaceLegalHoldRequest {
            kind: pb::LegalHoldKind::SuspensiveAppeal as i32,
            reference: "FTT-2026-991".into(),
            ..step("hold-1", &case_ref)
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
        let key = format!("release-wrong-{wrong_sequence}");
        let wrong = release(&key, &case_ref, wrong_sequence);
        let refused = gb.release_legal_hold(wrong).await.unwrap_err();
        assert_eq!(refused.code(), code, "releasing hold #{wrong_sequence}");
    }
    let right = release("release-1", &case_ref, hold_sequence);
    gb.release_legal_hold(right).await.unwrap();
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
    let case_ref = scheduled(&federation, "open-1").await;
    let new_start = START_MILLIS + 14 * DAY_MS;
    let mut gb = federation.gateway("GB").await;
    gb.postpone_transfer(pb::PostponeTransferRequest {
        reason: pb::TransferPostponementReason::RequestedByReceivingState as i32,
        note: "Reception centre full that week.".into(),
        slot: Some(slot(new_start)),
        ..step("postpone-1", &case_ref)
    })
    .await
    .unwrap();
    let postponed = both_show(&federation, &case_ref, "with the new slot", |seen| {
        seen.status == Status::TransferScheduled as i32
            && seen.transfer_slot == Some(slot(new_start))
    })
    .await;
    assert_eq!(kinds(&postponed.events).last(), Some(&K::TransferPostponed));
}

#[tokio::test]
async fn a_failed_transfer_can_be_booked_again_and_then_carried_out() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = scheduled(&federation, "open-1").await;
    let mut gb = federation.gateway("GB").await;
    let absconded = pb::TransferFailureReason::Absconded as i32;
    let failure = pb::ReportTransferFailedRequest {
        reason: absconded,
        ..step("failed-1", &case_ref)
    };
    gb.report_transfer_failed(failure).await.unwrap();
    both_reach(&federation, &case_ref, Status::TransferFailed).await;
    let retry_start = START_MILLIS + 10 * DAY_MS;
    schedule(&federation, "schedule-2", &case_ref, retry_start).await;
    federation.clock.advance_millis(10 * DAY_MS + HOUR_MS / 4);
    let report = transfer_report("transfer-1", &case_ref, retry_start + HOUR_MS / 4);
    gb.report_transfer(report).await.unwrap();
    let carried_out = both_reach(&federation, &case_ref, Status::Transferred).await;
    assert_eq!(
        kinds(&carried_out.events)[4..],
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
    let mut fr = federation.gateway("FR").await;
    fr.report_no_show(pb::ReportNoShowRequest {
        note: "Nobody at the quay.".into(),
        ..step("no-show-1", &case_ref)
    })
    .await
    .unwrap();
    both_reach(&federation, &case_ref, Status::NoShow).await;
    last_event(&federation, &case_ref, K::NoShow, "FR").await;
}

#[tokio::test]
async fn a_step_taken_by_the_wrong_state_is_refused_and_audited() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    let mut gb = federation.gateway("GB").await;
    let self_acceptance = acceptance("self-accept", &case_ref);
    let refused = gb.decide_readmission(self_acceptance).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    assert!(
        federation.audited("GB", "/DecideReadmission").await,
        "GB's node audits its own gateway's attempt to decide for FR"
    );
    let history = shared_history(&federation, &case_ref).await;
    assert_eq!(kinds(&history), [K::Submitted, K::Received]);
}
