//! Readmission between real nodes over mTLS: the lifecycle paths end to end, both nodes
//! holding the same signed history. The helpers here are shared by the `readmission_*`
//! modules: they drive a case through its steps as each state's caseworkers would, through
//! their own gateway.

use accord_domain::CaseRef;
use accord_proto::v1 as pb;
use accord_trust::{EventSigningKey, SigningDomain};
use prost::Message;
use sha2::{Digest, Sha256};

use crate::federation::{Federation, START_MILLIS, both_hold};
use crate::support::{DAY_MS, HOUR_MS, step, time};

/// The person every request is about, unless a test says otherwise.
pub fn person() -> pb::PersonalData {
    pb::PersonalData {
        keyed_pseudonym: "ab".repeat(32),
        nationality: "AF".into(),
        birth_year: 1994,
        vulnerable: false,
        family_ties: true,
    }
}

/// GB's request to FR under UKFR_2025, for a person who arrived the day before the start.
pub fn open_request(key: &str) -> pb::OpenReadmissionRequest {
    pb::OpenReadmissionRequest {
        idempotency_key: key.to_owned(),
        requested_state: "FR".into(),
        regime: pb::Regime::Ukfr2025 as i32,
        arrival_time: Some(time(START_MILLIS - DAY_MS)),
        exceptional: false,
        detained: false,
        person: Some(person()),
        evidence: vec![evidence(pb::EvidenceKind::FingerprintHit, "EURODAC-1")],
        notes: String::new(),
    }
}

/// A piece of evidence with no document attached.
pub fn evidence(kind: pb::EvidenceKind, reference: &str) -> pb::Evidence {
    pb::Evidence {
        kind: kind as i32,
        reference: reference.into(),
        document_digest: Vec::new(),
        note: String::new(),
    }
}

/// Reads a case through a state's gateway.
pub async fn case(
    federation: &Federation,
    state: &str,
    case_ref: &str,
) -> Option<pb::ReadmissionCase> {
    let request = pb::GetReadmissionRequest {
        case_ref: case_ref.to_owned(),
    };
    let answer = federation
        .gateway(state)
        .await
        .get_readmission(request)
        .await;
    answer.ok()?.into_inner().readmission
}

/// Waits until GB and FR hold the case with the same history and `condition` holds on
/// both copies; returns GB's.
pub async fn both_show(
    federation: &Federation,
    case_ref: &str,
    what: &str,
    condition: impl Fn(&pb::ReadmissionCase) -> bool,
) -> pb::ReadmissionCase {
    let read = |state| case(federation, state, case_ref);
    let agree = |gb: &pb::ReadmissionCase, fr: &pb::ReadmissionCase| {
        gb.events == fr.events && condition(gb) && condition(fr)
    };
    let what = format!("GB and FR both show {case_ref} {what}");
    both_hold(&what, ["GB", "FR"], read, agree).await
}

/// Waits until both nodes show `status` with the same history; returns GB's copy.
pub async fn both_reach(
    federation: &Federation,
    case_ref: &str,
    status: pb::ReadmissionStatus,
) -> pb::ReadmissionCase {
    let what = format!("as {status:?}");
    both_show(federation, case_ref, &what, |seen| {
        seen.status == status as i32
    })
    .await
}

pub async fn open(federation: &Federation, key: &str) -> String {
    let mut gateway = federation.gateway("GB").await;
    let response = gateway
        .open_readmission(open_request(key))
        .await
        .unwrap()
        .into_inner();
    response.readmission.unwrap().case_ref
}

/// Opens a case on GB and waits until FR has received it.
pub async fn open_and_receive(federation: &Federation, key: &str) -> String {
    let case_ref = open(federation, key).await;
    both_reach(federation, &case_ref, pb::ReadmissionStatus::Received).await;
    case_ref
}

/// A case FR accepted, as both nodes see it.
pub async fn accepted(federation: &Federation, key: &str) -> String {
    let case_ref = open_and_receive(federation, key).await;
    let acceptance = acceptance(&format!("{key}-accept"), &case_ref);
    let mut fr = federation.gateway("FR").await;
    fr.decide_readmission(acceptance).await.unwrap();
    both_reach(federation, &case_ref, pb::ReadmissionStatus::Accepted).await;
    case_ref
}

/// The kinds of a history, in order.
pub fn kinds(events: &[pb::ReadmissionEvent]) -> Vec<pb::ReadmissionEventKind> {
    events
        .iter()
        .map(|event| pb::ReadmissionEventKind::try_from(event.kind).unwrap())
        .collect()
}

/// The history both nodes hold (asserting that they hold the same one).
pub async fn shared_history(federation: &Federation, case_ref: &str) -> Vec<pb::ReadmissionEvent> {
    let gb = case(federation, "GB", case_ref).await.unwrap();
    let fr = case(federation, "FR", case_ref).await.unwrap();
    assert_eq!(gb.events, fr.events, "GB and FR hold different histories");
    assert_eq!(gb.status, fr.status);
    gb.events
}

/// The latest event of the history both nodes hold, asserted to be a `kind` that `actor`
/// recorded.
pub async fn last_event(
    federation: &Federation,
    case_ref: &str,
    kind: pb::ReadmissionEventKind,
    actor: &str,
) -> pb::ReadmissionEvent {
    let last = shared_history(federation, case_ref).await.pop().unwrap();
    let recorded = (last.kind, last.acting_state.as_str());
    assert_eq!(
        recorded,
        (kind as i32, actor),
        "the latest event of {case_ref}"
    );
    last
}

/// FR's decision to accept.
pub fn acceptance(key: &str, case_ref: &str) -> pb::DecideReadmissionRequest {
    let acceptance = pb::ReadmissionAcceptance::default();
    pb::DecideReadmissionRequest {
        decision: Some(pb::decide_readmission_request::Decision::Accept(acceptance)),
        ..step(key, case_ref)
    }
}

/// A refusal with reason codes and detailed reasons.
pub fn refusal(reasons: &[pb::ReadmissionReason]) -> pb::ReadmissionRejection {
    pb::ReadmissionRejection {
        reasons: reasons.iter().map(|reason| *reason as i32).collect(),
        detailed_reasons: "No proof of transit through France was provided.".into(),
    }
}

/// FR's decision to reject.
pub fn rejection(
    key: &str,
    case_ref: &str,
    reasons: &[pb::ReadmissionReason],
) -> pb::DecideReadmissionRequest {
    let rejection = refusal(reasons);
    pb::DecideReadmissionRequest {
        decision: Some(pb::decide_readmission_request::Decision::Reject(rejection)),
        ..step(key, case_ref)
    }
}

/// A transfer slot of one hour from `start_millis`, at Calais by sea.
pub fn slot(start_millis: i64) -> pb::TransferSlot {
    pb::TransferSlot {
        start_time: Some(time(start_millis)),
        end_time: Some(time(start_millis + HOUR_MS)),
        handover_point: "Calais".into(),
        transport_mode: pb::TransportMode::Sea as i32,
    }
}

/// A case accepted by FR, with GB's transfer decision issued: ready for a slot.
pub async fn accepted_with_transfer_decision(federation: &Federation, key: &str) -> String {
    let case_ref = accepted(federation, key).await;
    let mut gb = federation.gateway("GB").await;
    gb.issue_transfer_decision(pb::IssueTransferDecisionRequest {
        decision_reference: "HO-2026-1".into(),
        notified_at: Some(time(START_MILLIS)),
        ..step(&format!("{key}-decision"), &case_ref)
    })
    .await
    .unwrap();
    let status = pb::ReadmissionStatus::TransferDecisionIssued;
    both_reach(federation, &case_ref, status).await;
    case_ref
}

/// GB books `slot` for the case.
pub async fn schedule(federation: &Federation, key: &str, case_ref: &str, slot_start: i64) {
    let mut gb = federation.gateway("GB").await;
    gb.schedule_transfer(pb::ScheduleTransferRequest {
        slot: Some(slot(slot_start)),
        escorted: true,
        laissez_passer_reference: "LP-1".into(),
        ..step(key, case_ref)
    })
    .await
    .unwrap();
    let status = pb::ReadmissionStatus::TransferScheduled;
    both_reach(federation, case_ref, status).await;
}

/// The start of the slot [`scheduled`] books: a week after the clock's start.
pub const SLOT_START: i64 = START_MILLIS + 7 * DAY_MS;

/// A case whose transfer GB booked for [`SLOT_START`].
pub async fn scheduled(federation: &Federation, key: &str) -> String {
    let case_ref = accepted_with_transfer_decision(federation, key).await;
    let schedule_key = format!("{key}-schedule");
    schedule(federation, &schedule_key, &case_ref, SLOT_START).await;
    case_ref
}

/// GB's report that it handed the person over at `handed_over_at`.
pub fn transfer_report(
    key: &str,
    case_ref: &str,
    handed_over_at: i64,
) -> pb::ReportTransferRequest {
    pb::ReportTransferRequest {
        handed_over_at: Some(time(handed_over_at)),
        handover_point: "Calais".into(),
        ..step(key, case_ref)
    }
}

/// A case handed over by GB half an hour into its slot, the clock moved there: FR's turn.
pub async fn transferred(federation: &Federation, key: &str) -> String {
    let case_ref = scheduled(federation, key).await;
    federation.clock.advance_millis(7 * DAY_MS + HOUR_MS / 2);
    let handed_over_at = SLOT_START + HOUR_MS / 2;
    let report = transfer_report(&format!("{key}-transfer"), &case_ref, handed_over_at);
    let mut gb = federation.gateway("GB").await;
    gb.report_transfer(report).await.unwrap();
    both_reach(federation, &case_ref, pb::ReadmissionStatus::Transferred).await;
    case_ref
}

/// A case whose return FR confirmed: it counts in the pair's ledger.
pub async fn arrival_confirmed(federation: &Federation, key: &str) -> String {
    let case_ref = transferred(federation, key).await;
    let mut fr = federation.gateway("FR").await;
    let arrived_at = Some(time(SLOT_START + HOUR_MS / 2));
    let confirmation = pb::ConfirmArrivalRequest {
        arrived_at,
        ..step(&format!("{key}-arrival"), &case_ref)
    };
    fr.confirm_arrival(confirmation).await.unwrap();
    let status = pb::ReadmissionStatus::ArrivalConfirmed;
    both_reach(federation, &case_ref, status).await;
    case_ref
}

/// Signs `event` with `key` as accord.v1 specifies (event.proto): key id set and signature
/// empty, SHA-256 of the encoding as the attestation's digest, the attestation signed. The
/// tests sign by hand to forge, replay or tamper with deliveries.
pub fn sign(event: &mut pb::ReadmissionEvent, key: &EventSigningKey) {
    event.signing_key_id = key.key_id().to_string();
    event.signature = Vec::new();
    let case_ref = CaseRef::parse(&event.case_ref).unwrap();
    let attestation = pb::EventAttestation {
        case_ref: event.case_ref.clone(),
        pair: Some(pb::StatePair {
            first_state: case_ref.first_state().to_string(),
            second_state: case_ref.second_state().to_string(),
        }),
        sequence: event.sequence,
        acting_state: event.acting_state.clone(),
        occurred_at: event.occurred_at,
        idempotency_key: event.idempotency_key.clone(),
        signing_key_id: event.signing_key_id.clone(),
        event_digest: Sha256::digest(event.encode_to_vec()).to_vec(),
        kind: Some(pb::event_attestation::Kind::ReadmissionEventKind(
            event.kind,
        )),
    };
    event.signature = key
        .sign(SigningDomain::EVENT, &attestation.encode_to_vec())
        .to_bytes()
        .to_vec();
}

/// An ACCEPTED event as `acting_state` would record it third in `case_ref`'s history, signed
/// with `signer`'s key: a forgery when the two differ or the actor is no party.
pub fn forged_acceptance(
    federation: &Federation,
    case_ref: &str,
    acting_state: &str,
    signer: &str,
) -> pb::ReadmissionEvent {
    let mut event = pb::ReadmissionEvent {
        case_ref: case_ref.into(),
        sequence: 3,
        kind: pb::ReadmissionEventKind::Accepted as i32,
        acting_state: acting_state.into(),
        occurred_at: Some(time(START_MILLIS)),
        idempotency_key: format!("{signer}-accepts-as-{acting_state}"),
        ..Default::default()
    };
    sign(&mut event, &federation.signing_key(signer));
    event
}

/// `from`'s node delivering `event` to `to`'s, as the dispatcher does.
pub async fn deliver(
    federation: &Federation,
    from: &str,
    to: &str,
    event: pb::ReadmissionEvent,
) -> Result<pb::DeliverReadmissionEventResponse, tonic::Status> {
    let delivery = pb::DeliverReadmissionEventRequest { event: Some(event) };
    let mut node = federation.node_client(from, to).await;
    let answer = node.deliver_readmission_event(delivery).await;
    answer.map(tonic::Response::into_inner)
}

/// Asserts that FR rejected the case right after receiving it, and that both nodes show
/// `reasons` as its reason codes.
pub async fn assert_rejected_by_fr(
    federation: &Federation,
    case_ref: &str,
    reasons: &[pb::ReadmissionReason],
) {
    let codes: Vec<i32> = reasons.iter().map(|reason| *reason as i32).collect();
    for state in ["GB", "FR"] {
        let seen = case(federation, state, case_ref).await.unwrap();
        assert_eq!(seen.rejection_reasons, codes, "{state} shows FR's reasons");
    }
    let history = shared_history(federation, case_ref).await;
    use pb::ReadmissionEventKind as K;
    assert_eq!(kinds(&history), [K::Submitted, K::Received, K::Rejected]);
    assert_eq!(history[2].acting_state, "FR");
}

/// Opens `request` through `state`'s gateway, expecting a refusal; returns it.
pub async fn refused_open(
    federation: &Federation,
    state: &str,
    request: pb::OpenReadmissionRequest,
) -> tonic::Status {
    let mut gateway = federation.gateway(state).await;
    gateway.open_readmission(request).await.unwrap_err()
}

/// Asserts that neither GB nor FR holds any case.
pub async fn assert_no_case(federation: &Federation) {
    for state in ["GB", "FR"] {
        let cases = all_cases(federation, state).await;
        assert!(cases.is_empty(), "{state} holds no case: {cases:?}");
    }
}

/// Every case a node holds, through its gateway.
pub async fn all_cases(federation: &Federation, state: &str) -> Vec<pb::ReadmissionCase> {
    federation
        .gateway(state)
        .await
        .list_readmissions(pb::ListReadmissionsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .readmissions
}

#[tokio::test]
async fn a_request_opened_by_gb_is_received_by_fr_and_both_hold_the_same_signed_history() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open(&federation, "open-1").await;
    assert!(case_ref.starts_with("RDM-GB-FR-"));
    both_reach(&federation, &case_ref, pb::ReadmissionStatus::Received).await;
    let fr = case(&federation, "FR", &case_ref).await.unwrap();
    assert_eq!(fr.events.len(), 2);
    assert_eq!(fr.events[0].acting_state, "GB");
    assert_eq!(fr.events[1].acting_state, "FR");
    assert_eq!(
        fr.received_at,
        Some(time(START_MILLIS)),
        "receipt time is FR's clock at delivery"
    );
    assert_eq!(
        fr.reply_due_at,
        Some(time(START_MILLIS + 14 * DAY_MS)),
        "UK–FR: 14 days to reply"
    );
    assert_eq!(
        fr.person.unwrap().nationality,
        "AF",
        "the person travels to the requested state"
    );
    assert!(fr.events.iter().all(|event| event.signature.len() == 64));
}

#[tokio::test]
async fn an_accepted_request_goes_through_transfer_to_arrival_on_both_nodes() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = arrival_confirmed(&federation, "open-1").await;
    use pb::ReadmissionEventKind as K;
    assert_eq!(
        kinds(&shared_history(&federation, &case_ref).await),
        [
            K::Submitted,
            K::Received,
            K::Accepted,
            K::TransferDecisionIssued,
            K::TransferScheduled,
            K::Transferred,
            K::ArrivalConfirmed
        ]
    );
}
