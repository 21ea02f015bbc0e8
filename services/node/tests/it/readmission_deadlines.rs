//! Rules that act without a caseworker: deadlines passing on the virtual clock, the parity
//! guard, and the direction in which personal data may flow.

use accord_node::convert::from_wire_time;
use accord_proto::v1 as pb;
use pb::ReadmissionEventKind as K;
use pb::ReadmissionStatus as Status;

use crate::federation::{Federation, START_MILLIS};
use crate::readmission::{
    acceptance, accepted, arrival_confirmed, assert_no_case, assert_rejected_by_fr, both_reach,
    case, deliver, kinds, last_event, open, open_and_receive, open_request, person, refused_open,
    shared_history, sign,
};
use crate::support::{DAY_MS, assert_refused, time};

/// FR's acceptance of `case_ref` after its reply deadline: refused, whether or not the sweep
/// has recorded the lapse yet.
async fn assert_late_acceptance_refused(federation: &Federation, case_ref: &str) {
    let mut fr = federation.gateway("FR").await;
    let late = fr.decide_readmission(acceptance("late-1", case_ref)).await;
    let late = late.unwrap_err();
    assert_refused(&late, tonic::Code::FailedPrecondition, "DEADLINE_PASSED");
}

#[tokio::test]
async fn silence_past_frances_reply_deadline_is_acceptance_by_default_on_both_nodes() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    let reply_due = START_MILLIS + 14 * DAY_MS;
    federation.clock.advance_days(14);
    assert_eq!(
        federation.sweep("FR").await,
        0,
        "the deadline's last instant is in time"
    );
    assert_eq!(federation.sweep("GB").await, 0);
    for state in ["GB", "FR"] {
        let seen = case(&federation, state, &case_ref).await.unwrap();
        assert_eq!(seen.status, Status::Received as i32, "{state} still waits");
        assert_eq!(seen.reply_due_at, Some(time(reply_due)));
    }
    federation.clock.advance_millis(1);
    let gb = both_reach(&federation, &case_ref, Status::AcceptedByDefault).await;
    assert_eq!(
        kinds(&gb.events),
        [K::Submitted, K::Received, K::AcceptedByDefault]
    );
    let lapse = &gb.events[2];
    assert_eq!(
        lapse.acting_state, "FR",
        "FR's clock owns the reply deadline"
    );
    assert_eq!(lapse.occurred_at, Some(time(reply_due + 1)));
    assert_eq!(
        lapse.detail,
        Some(pb::readmission_event::Detail::AcceptedByDefault(
            pb::DeadlineLapse {
                deadline: pb::ReadmissionDeadlineKind::Reply as i32,
                due_at: Some(time(reply_due)),
                cited_checkpoint: String::new(),
            }
        ))
    );
    assert_eq!(gb.reply_due_at, None, "no reply is due any more");
    assert!(gb.transfer_due_at.is_some(), "the transfer clock runs");
    assert_late_acceptance_refused(&federation, &case_ref).await;
}

#[tokio::test]
async fn a_decision_after_the_reply_deadline_but_before_the_sweep_is_refused() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    federation.clock.advance_millis(14 * DAY_MS + 1);
    // The sweeper may have recorded the lapse first; either way the decision is late.
    assert_late_acceptance_refused(&federation, &case_ref).await;
    both_reach(&federation, &case_ref, Status::AcceptedByDefault).await;
}

#[tokio::test]
async fn an_accepted_case_not_transferred_within_three_months_of_arrival_expires_on_both_nodes() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = accepted(&federation, "open-1").await;
    let gb = case(&federation, "GB", &case_ref).await.unwrap();
    let procedure = gb
        .deadlines
        .iter()
        .find(|deadline| deadline.kind == pb::ReadmissionDeadlineKind::Procedure as i32)
        .expect("the UK–France procedure limit is shown");
    assert_eq!(procedure.responsible_state, "GB");
    let due_at = from_wire_time(procedure.due_at.as_ref().unwrap())
        .unwrap()
        .as_millis();
    assert_eq!(
        due_at,
        START_MILLIS - DAY_MS + 92 * DAY_MS,
        "three months from the arrival on 1 March: 1 June"
    );
    federation.clock.advance_millis(due_at - START_MILLIS);
    assert_eq!(federation.sweep("GB").await, 0);
    federation.clock.advance_millis(1);
    both_reach(&federation, &case_ref, Status::Expired).await;
    // The requesting state's clock records the expiry.
    let expiry = last_event(&federation, &case_ref, K::Expired, "GB").await;
    assert_eq!(expiry.occurred_at, Some(time(due_at + 1)));
    assert!(matches!(
        &expiry.detail,
        Some(pb::readmission_event::Detail::Expired(expired))
            if expired.cause == pb::ReadmissionExpiryCause::ProcedureTimeExhausted as i32
    ));
}

#[tokio::test]
async fn a_request_past_the_parity_limit_is_rejected_with_parity_imbalance_on_both_nodes() {
    let federation = Federation::start_with(&["GB", "FR"], &[("GB", "FR", 0)]).await;
    // Under the limit (GB owes FR nothing), FR takes the request.
    let returned = arrival_confirmed(&federation, "return-1").await;
    assert_eq!(
        kinds(&shared_history(&federation, &returned).await)[2],
        K::Accepted
    );
    // GB has now returned one person to FR and admitted none: it owes FR one admission.
    let case_ref = open(&federation, "open-2").await;
    both_reach(&federation, &case_ref, Status::Rejected).await;
    let parity = [pb::ReadmissionReason::ParityImbalance];
    assert_rejected_by_fr(&federation, &case_ref, &parity).await;
}

#[tokio::test]
async fn france_may_not_send_a_person_to_the_united_kingdom_under_ukfr_2025() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let to_the_uk = pb::OpenReadmissionRequest {
        requested_state: "GB".into(),
        ..open_request("open-1")
    };
    let refused = refused_open(&federation, "FR", to_the_uk).await;
    assert_refused(&refused, tonic::Code::FailedPrecondition, "NO_AGREEMENT");
    assert_no_case(&federation).await;
}

#[tokio::test]
async fn a_british_node_refuses_a_person_sent_by_france_under_ukfr_2025() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let submission = pb::ReadmissionSubmission {
        requested_state: "GB".into(),
        regime: pb::Regime::Ukfr2025 as i32,
        arrival_time: Some(time(START_MILLIS - DAY_MS)),
        person: Some(person()),
        ..Default::default()
    };
    let mut event = pb::ReadmissionEvent {
        case_ref: format!("RDM-FR-GB-{}", "1".repeat(26)),
        sequence: 1,
        kind: K::Submitted as i32,
        acting_state: "FR".into(),
        occurred_at: Some(time(START_MILLIS)),
        idempotency_key: "fr-open-1".into(),
        detail: Some(pb::readmission_event::Detail::Submitted(submission)),
        ..Default::default()
    };
    sign(&mut event, &federation.signing_key("FR"));
    let refused = deliver(&federation, "FR", "GB", event).await.unwrap_err();
    assert_refused(&refused, tonic::Code::FailedPrecondition, "NO_AGREEMENT");
    assert_no_case(&federation).await;
}

#[tokio::test]
async fn a_reply_deadline_that_stopped_with_the_reply_is_never_swept_again() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = accepted(&federation, "open-1").await;
    federation.clock.advance_days(15);
    let now = START_MILLIS + 15 * DAY_MS;
    let due = federation.app("FR").store().due_deadlines(now, 10).await;
    assert!(
        due.unwrap().is_empty(),
        "FR owns no running clock on an accepted case"
    );
    let fr = case(&federation, "FR", &case_ref).await.unwrap();
    let kinds_shown: Vec<i32> = fr.deadlines.iter().map(|deadline| deadline.kind).collect();
    assert_eq!(
        kinds_shown,
        [
            pb::ReadmissionDeadlineKind::Transfer as i32,
            pb::ReadmissionDeadlineKind::Procedure as i32
        ],
        "only the clocks still running are shown"
    );
}

#[tokio::test]
async fn a_request_later_than_fourteen_days_after_arrival_is_refused_and_stores_nothing() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let too_late = pb::OpenReadmissionRequest {
        arrival_time: Some(time(START_MILLIS - 14 * DAY_MS - 1)),
        ..open_request("open-1")
    };
    let refused = refused_open(&federation, "GB", too_late).await;
    assert_refused(&refused, tonic::Code::FailedPrecondition, "DEADLINE_PASSED");
    assert_no_case(&federation).await;
}
