//! Exactly once: retried requests, retried steps, nodes stopped between commit and delivery,
//! and events delivered twice each leave one case and one history.

use accord_proto::v1 as pb;
use pb::ReadmissionEventKind as K;
use pb::ReadmissionStatus as Status;

use crate::federation::{Federation, eventually};
use crate::readmission::{
    acceptance, all_cases, both_reach, case, deliver, kinds, open, open_and_receive, open_request,
    refused_open, rejection, shared_history,
};
use crate::support::{Step, assert_refused, step};

/// FR's acceptance of `case_ref` under `key`: its answer, or the refusal.
async fn accept(
    federation: &Federation,
    key: &str,
    case_ref: &str,
) -> Result<pb::DecideReadmissionResponse, tonic::Status> {
    let mut fr = federation.gateway("FR").await;
    let answer = fr.decide_readmission(acceptance(key, case_ref)).await;
    answer.map(tonic::Response::into_inner)
}

/// The deliveries `code`'s node has yet to make.
async fn pending(federation: &Federation, code: &str) -> u64 {
    let store = federation.app(code).store();
    store.pending_delivery_count().await.unwrap()
}

#[tokio::test]
async fn a_retried_open_makes_one_case_and_returns_the_first_answer() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let mut gb = federation.gateway("GB").await;
    let mut answers = Vec::new();
    for _attempt in 0..2 {
        let answer = gb.open_readmission(open_request("open-1")).await;
        answers.push(answer.unwrap().into_inner());
    }
    assert_eq!(answers[1], answers[0], "a replay returns the first answer");
    let case_ref = answers[0].readmission.clone().unwrap().case_ref;
    both_reach(&federation, &case_ref, Status::Received).await;
    federation.clock.advance_millis(1_000);
    let later = gb.open_readmission(open_request("open-1")).await.unwrap();
    assert_eq!(later.into_inner().readmission.unwrap().case_ref, case_ref);
    for state in ["GB", "FR"] {
        let cases = all_cases(&federation, state).await;
        assert_eq!(cases.len(), 1, "{state} holds one case");
    }
}

#[tokio::test]
async fn concurrent_retries_of_one_open_make_one_case() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let mut attempts = tokio::task::JoinSet::new();
    for _attempt in 0..8 {
        let mut gb = federation.gateway("GB").await;
        attempts.spawn(async move {
            gb.open_readmission(open_request("open-1"))
                .await
                .map(|response| response.into_inner().readmission.unwrap().case_ref)
        });
    }
    let mut case_refs = Vec::new();
    while let Some(answer) = attempts.join_next().await {
        case_refs.push(answer.unwrap().unwrap());
    }
    case_refs.dedup();
    assert_eq!(case_refs.len(), 1, "every retry names the same case");
    both_reach(&federation, &case_refs[0], Status::Received).await;
    assert_eq!(all_cases(&federation, "GB").await.len(), 1);
    assert_eq!(all_cases(&federation, "FR").await.len(), 1);
}

#[tokio::test]
async fn a_key_reused_with_other_content_is_already_exists_and_stores_nothing() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    let other = pb::OpenReadmissionRequest {
        notes: "A different request under the same key.".into(),
        ..open_request("open-1")
    };
    let refused = refused_open(&federation, "GB", other).await;
    assert_refused(
        &refused,
        tonic::Code::AlreadyExists,
        "IDEMPOTENCY_KEY_REUSED",
    );
    let cases = all_cases(&federation, "GB").await;
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].case_ref, case_ref);
}

#[tokio::test]
async fn a_retried_step_records_one_event_and_a_reused_step_key_is_refused() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    let first = accept(&federation, "decide-1", &case_ref).await.unwrap();
    let retried = accept(&federation, "decide-1", &case_ref).await.unwrap();
    assert_eq!(retried, first, "a replayed step returns the first answer");
    let mut fr = federation.gateway("FR").await;
    let reasons = [pb::ReadmissionReason::InsufficientEvidence];
    let other = rejection("decide-1", &case_ref, &reasons);
    let refused = fr.decide_readmission(other).await.unwrap_err();
    assert_refused(
        &refused,
        tonic::Code::AlreadyExists,
        "IDEMPOTENCY_KEY_REUSED",
    );
    let examination = pb::StartExaminationRequest::keyed("decide-1", &case_ref);
    let refused_elsewhere = fr.start_examination(examination).await.unwrap_err();
    assert_eq!(
        refused_elsewhere.code(),
        tonic::Code::AlreadyExists,
        "a key names one request, whatever the RPC"
    );
    both_reach(&federation, &case_ref, Status::Accepted).await;
    let history = shared_history(&federation, &case_ref).await;
    assert_eq!(kinds(&history), [K::Submitted, K::Received, K::Accepted]);
}

/// A step's idempotency record keeps its answer without the case history, which the case's
/// events hold: a replay after later steps still answers the history as it was then, and
/// the records do not grow with the case.
#[tokio::test]
async fn a_step_replayed_after_later_steps_answers_its_first_history_which_its_record_does_not_copy()
 {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    let mut fr = federation.gateway("FR").await;
    let examination = pb::StartExaminationRequest::keyed("examine-1", &case_ref);
    let examined = fr
        .start_examination(examination.clone())
        .await
        .unwrap()
        .into_inner();
    let decided = accept(&federation, "decide-1", &case_ref).await.unwrap();
    let replayed = fr
        .start_examination(examination)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        replayed, examined,
        "the first answer, with the history up to the examination only"
    );
    let examined_case = examined.readmission.unwrap();
    let decided_case = decided.readmission.unwrap();
    assert_eq!(
        kinds(&decided_case.events),
        [
            K::Submitted,
            K::Received,
            K::ExaminationStarted,
            K::Accepted
        ]
    );
    let store = federation.app("FR").store();
    for (key, case) in [("examine-1", &examined_case), ("decide-1", &decided_case)] {
        // The record is kept under the step's event key, FR's pseudonym of the caller's.
        let event_key = &case.events.last().unwrap().idempotency_key;
        assert!(
            event_key.starts_with("k1-") && !event_key.contains(key),
            "{event_key}"
        );
        let gateway = "spiffe://accord/state/FR/gateway";
        let unkept = store.find_idempotency(gateway, key).await.unwrap();
        assert!(
            unkept.is_none(),
            "the caller's own key {key} is kept nowhere"
        );
        let record = store
            .find_idempotency(gateway, event_key)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(record.history_through, Some(case.last_sequence), "{key}");
        for event in &case.events {
            assert!(
                !record
                    .response
                    .windows(event.signature.len())
                    .any(|window| window == event.signature.as_slice()),
                "{key}'s record holds event #{} of the history",
                event.sequence
            );
        }
    }
}

#[tokio::test]
async fn a_case_committed_while_its_partner_is_down_is_delivered_once_after_restarts() {
    let mut federation = Federation::start(&["GB", "FR"]).await;
    federation.stop("FR").await;
    let case_ref = open(&federation, "open-1").await;
    assert_eq!(
        pending(&federation, "GB").await,
        1,
        "the SUBMITTED event waits in GB's outbox"
    );
    federation.stop("GB").await;
    let on_disk = std::fs::metadata(federation.database_path("GB")).unwrap();
    assert!(
        on_disk.len() > 0,
        "GB's committed case and outbox wait in its SQLite file"
    );
    federation.restart("FR").await;
    federation.restart("GB").await;
    // Retries wait on the node's clock, which the test moves: past the back-off ceiling.
    federation.clock.advance_millis(1_000);
    both_reach(&federation, &case_ref, Status::Received).await;
    let history = shared_history(&federation, &case_ref).await;
    assert_eq!(kinds(&history), [K::Submitted, K::Received]);
    assert_eq!(all_cases(&federation, "FR").await.len(), 1);
    eventually("both outboxes are empty", || async {
        pending(&federation, "GB").await + pending(&federation, "FR").await == 0
    })
    .await;
}

#[tokio::test]
async fn a_delivery_repeated_by_the_partner_is_acknowledged_as_already_delivered() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    let fr_view = case(&federation, "FR", &case_ref).await.unwrap();
    let submitted = fr_view.events[0].clone();
    federation.clock.advance_millis(60 * 60 * 1_000);
    let answer = deliver(&federation, "GB", "FR", submitted).await.unwrap();
    assert!(answer.already_delivered);
    assert_eq!(
        answer.receipt_time, fr_view.received_at,
        "a redelivery returns the first receipt time"
    );
    assert_eq!(all_cases(&federation, "FR").await.len(), 1);
    let history = shared_history(&federation, &case_ref).await;
    assert_eq!(history.len(), 2, "nothing was added");
}

#[tokio::test]
async fn a_step_committed_while_the_partner_is_down_reaches_it_after_its_restart() {
    let mut federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    federation.stop("GB").await;
    accept(&federation, "accept-1", &case_ref).await.unwrap();
    assert_eq!(
        pending(&federation, "FR").await,
        1,
        "the ACCEPTED event waits in FR's outbox"
    );
    let fr_view = case(&federation, "FR", &case_ref).await.unwrap();
    assert_eq!(
        fr_view.pending_event_count, 1,
        "the case shows one event awaiting delivery"
    );
    federation.restart("GB").await;
    federation.clock.advance_millis(1_000);
    both_reach(&federation, &case_ref, Status::Accepted).await;
}

/// Two states acting on one case at once claim one sequence number. event.proto's clash
/// rule: both nodes keep the event with the earlier `occurred_at` (ties: the smaller
/// `acting_state`), and the loser re-applies its action after the winner where the
/// lifecycle allows.
#[tokio::test]
async fn a_clash_on_one_sequence_is_resolved_by_the_earlier_event_on_both_nodes() {
    let mut federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    federation.stop("FR").await;
    let withdrawal = pb::WithdrawReadmissionRequest {
        reason: pb::ReadmissionWithdrawalReason::ClaimPending as i32,
        ..step("withdraw-1", &case_ref)
    };
    let withdrawn = federation
        .gateway("GB")
        .await
        .withdraw_readmission(withdrawal.clone())
        .await
        .unwrap()
        .into_inner();
    // GB stops with its withdrawal in its outbox, so FR cannot hear of it before it acts
    // (a node binds its port before it opens its store: a delivery attempted while FR
    // restarts waits for it instead of being refused, and would win the race).
    federation.stop("GB").await;
    federation.restart("FR").await;
    // At the same instant FR, unaware of the withdrawal, accepts: FR wins the tie.
    accept(&federation, "accept-1", &case_ref).await.unwrap();
    federation.restart("GB").await;
    federation.clock.advance_millis(1_000);
    both_reach(&federation, &case_ref, Status::Withdrawn).await;
    let history = shared_history(&federation, &case_ref).await;
    assert_eq!(
        kinds(&history),
        [K::Submitted, K::Received, K::Accepted, K::Withdrawn],
        "GB's withdrawal re-applied after FR's acceptance"
    );
    // The history GB's first answer showed is gone from the case; a replay still gives
    // that answer, kept whole when the history was replaced.
    assert_eq!(
        kinds(&withdrawn.readmission.as_ref().unwrap().events),
        [K::Submitted, K::Received, K::Withdrawn]
    );
    let replayed = federation
        .gateway("GB")
        .await
        .withdraw_readmission(withdrawal)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replayed, withdrawn);
    let withdrawal_key = &withdrawn.readmission.as_ref().unwrap().events[2].idempotency_key;
    assert_eq!(
        &history[3].idempotency_key, withdrawal_key,
        "the re-applied withdrawal keeps the displaced event's key"
    );
    let record = federation
        .app("GB")
        .store()
        .find_idempotency("spiffe://accord/state/GB/gateway", withdrawal_key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record.history_through, None,
        "made whole at the replacement"
    );
}
