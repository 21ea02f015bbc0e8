//! Acceptance by default does not depend on the silent party: with a real coordinator, the
//! requesting state's node records it on the log's clock when the requested state's node is
//! down, citing a checkpoint from after the deadline; the requested node applies it when it
//! comes back; both agree whichever node was down; a reply on the log stops it; and a forged
//! or too-early checkpoint is refused by the requested node.
//!
//! France requests from the United Kingdom here (under Dublin III, which lets personal data
//! flow both ways), so that the requesting state is the smaller code: when both nodes record
//! the lapse, event.proto's tie rule keeps the requesting state's.

use accord_proto::v1 as pb;
use accord_trust::EventSigningKey;
use accord_trust::log::{Checkpoint, Hash, KeyName, NoteVerifier, SignatureType};
use pb::ReadmissionEventKind as K;
use pb::ReadmissionStatus as Status;

use crate::directory::Network;
use crate::federation::{Federation, eventually, eventually_some};
use crate::readmission::{
    acceptance, both_reach, case, deliver, kinds, open_request, shared_history, sign,
};
use crate::support::{DAY_MS, time};
use crate::witness::ledger;

/// GB and FR joined to a real coordinator, agreeing Dublin III.
async fn network() -> Network {
    let network = Network::start(&[]).await;
    network.agree(&[pb::Regime::DublinIii], None).await;
    network
}

/// FR's request to GB, received by GB; its reference and GB's reply deadline (ms).
async fn request_to_britain(network: &Network, key: &str) -> (String, i64) {
    let request = pb::OpenReadmissionRequest {
        requested_state: "GB".into(),
        regime: pb::Regime::DublinIii as i32,
        arrival_time: Some(time(network.now() - DAY_MS)),
        ..open_request(key)
    };
    let mut france = network.federation.gateway("FR").await;
    let opened = france.open_readmission(request).await.unwrap().into_inner();
    let case_ref = opened.readmission.unwrap().case_ref;
    let received = both_reach(&network.federation, &case_ref, Status::Received).await;
    let due = received.reply_due_at.unwrap();
    (
        case_ref,
        due.seconds * 1_000 + i64::from(due.nanos) / 1_000_000,
    )
}

/// Moves the shared clock to `instant` (ms).
fn advance_to(federation: &Federation, instant: i64) {
    let now = federation.clock_millis();
    federation.clock.advance_millis(instant - now);
}

/// Waits until both nodes show `case_ref` as `status` with one history (a clash between
/// two lapses resolved), moving the clock on a minute at a
/// time so that a link that backed off while its partner was down is tried again (the
/// dispatcher's back-off runs on the shared clock).
async fn both_reach_in_time(
    federation: &Federation,
    case_ref: &str,
    status: Status,
) -> pb::ReadmissionCase {
    eventually_some(
        &format!("both nodes show {case_ref} as {status:?}"),
        || async {
            federation.clock.advance_millis(60_000);
            let gb = case(federation, "GB", case_ref).await?;
            let fr = case(federation, "FR", case_ref).await?;
            let agreed = gb.status == status as i32 && fr.status == status as i32;
            (agreed && gb.events == fr.events).then_some(gb)
        },
    )
    .await
}

/// Waits until the log holds `acting`'s event of `kind` on `case_ref`.
async fn logged(federation: &Federation, case_ref: &str, acting: &str, kind: K) {
    let client = ledger(federation);
    eventually(&format!("{acting}'s {kind:?} on the log"), || {
        let mut client = client.clone();
        async move {
            let Ok(answer) = client
                .list_case_leaves(pb::ListCaseLeavesRequest {
                    case_ref: case_ref.to_owned(),
                })
                .await
            else {
                return false;
            };
            answer.into_inner().leaves.iter().any(|entry| {
                let attestation = entry.leaf.as_ref().unwrap().report.as_ref().unwrap();
                let attestation = attestation.attestation.as_ref().unwrap();
                attestation.acting_state == acting
                    && attestation.kind
                        == Some(pb::event_attestation::Kind::ReadmissionEventKind(
                            kind as i32,
                        ))
            })
        }
    })
    .await;
}

/// The checkpoint an acceptance by default cites.
fn cited(event: &pb::ReadmissionEvent) -> String {
    match &event.detail {
        Some(pb::readmission_event::Detail::AcceptedByDefault(lapse)) => {
            lapse.cited_checkpoint.clone()
        }
        other => panic!("not an acceptance by default: {other:?}"),
    }
}

/// The time (ms) of `checkpoint`, which must verify under the coordinator's key.
fn checkpoint_time(network: &Network, checkpoint: &str) -> i64 {
    let origin = checkpoint.split('\n').next().unwrap();
    let verifier = NoteVerifier::new(
        KeyName::parse(origin).unwrap(),
        SignatureType::Ed25519,
        network.coordinator_key().verifying_key(),
    );
    let opened = Checkpoint::open(checkpoint.as_bytes(), &verifier, &[]).unwrap();
    let line = opened.checkpoint.extensions()[0].clone();
    line.strip_prefix("timestamp ").unwrap().parse().unwrap()
}

#[tokio::test]
async fn with_the_requested_node_down_the_requesting_node_accepts_by_default_on_the_logs_clock() {
    let mut network = network().await;
    let (case_ref, reply_due) = request_to_britain(&network, "open-1").await;
    network.federation.stop("GB").await;
    advance_to(&network.federation, reply_due + 1);

    let france = eventually_some("FR records acceptance by default", || async {
        network.federation.sweep("FR").await;
        case(&network.federation, "FR", &case_ref)
            .await
            .filter(|seen| seen.status == Status::AcceptedByDefault as i32)
    })
    .await;
    let lapse = france.events.last().unwrap();
    assert_eq!(
        (lapse.kind, lapse.acting_state.as_str()),
        (K::AcceptedByDefault as i32, "FR")
    );
    assert_eq!(lapse.occurred_at, Some(time(reply_due + 1)));
    let cited_at = checkpoint_time(&network, &cited(lapse));
    assert!(cited_at > reply_due, "the cited head is after the deadline");

    network.federation.restart("GB").await;
    let gb = both_reach_in_time(&network.federation, &case_ref, Status::AcceptedByDefault).await;
    let history = shared_history(&network.federation, &case_ref).await;
    assert_eq!(
        kinds(&history),
        [K::Submitted, K::Received, K::AcceptedByDefault]
    );
    assert_eq!(history[2].acting_state, "FR", "GB applied FR's lapse");
    assert_eq!(gb.events, history);
}

#[tokio::test]
async fn with_the_requesting_node_down_the_requested_node_accepts_by_default_and_both_agree() {
    let mut network = network().await;
    let (case_ref, reply_due) = request_to_britain(&network, "open-1").await;
    network.federation.stop("FR").await;
    advance_to(&network.federation, reply_due + 1);
    eventually_some("GB records acceptance by default", || async {
        network.federation.sweep("GB").await;
        case(&network.federation, "GB", &case_ref)
            .await
            .filter(|seen| seen.status == Status::AcceptedByDefault as i32)
    })
    .await;
    logged(&network.federation, &case_ref, "GB", K::AcceptedByDefault).await;

    network.federation.restart("FR").await;
    both_reach_in_time(&network.federation, &case_ref, Status::AcceptedByDefault).await;
    let history = shared_history(&network.federation, &case_ref).await;
    assert_eq!(
        kinds(&history),
        [K::Submitted, K::Received, K::AcceptedByDefault]
    );
    assert_eq!(history[2].acting_state, "GB", "GB's own clock recorded it");
    assert_eq!(cited(&history[2]), "", "GB's clock cites no checkpoint");
}

#[tokio::test]
async fn a_reply_that_reached_the_log_before_the_deadline_stops_acceptance_by_default() {
    let mut network = network().await;
    let (case_ref, reply_due) = request_to_britain(&network, "open-1").await;
    network.federation.stop("FR").await;
    let mut britain = network.federation.gateway("GB").await;
    britain
        .decide_readmission(acceptance("accept-1", &case_ref))
        .await
        .unwrap();
    logged(&network.federation, &case_ref, "GB", K::Accepted).await;
    network.federation.stop("GB").await;
    network.federation.restart("FR").await;
    advance_to(&network.federation, reply_due + 1);

    for _ in 0..3 {
        assert_eq!(
            network.federation.sweep("FR").await,
            0,
            "GB's reply is on the log"
        );
    }
    let france = case(&network.federation, "FR", &case_ref).await.unwrap();
    assert_eq!(
        france.status,
        Status::Received as i32,
        "FR waits for GB's reply"
    );

    network.federation.restart("GB").await;
    both_reach(&network.federation, &case_ref, Status::Accepted).await;
    let history = shared_history(&network.federation, &case_ref).await;
    assert_eq!(kinds(&history), [K::Submitted, K::Received, K::Accepted]);
}

/// FR's acceptance by default of `case_ref`, citing `checkpoint`, signed with FR's key.
fn lapse_citing(
    network: &Network,
    case_ref: &str,
    reply_due: i64,
    checkpoint: String,
) -> pb::ReadmissionEvent {
    let mut event = pb::ReadmissionEvent {
        case_ref: case_ref.to_owned(),
        sequence: 3,
        kind: K::AcceptedByDefault as i32,
        acting_state: "FR".into(),
        occurred_at: Some(time(reply_due + 1)),
        idempotency_key: format!("deadline:{case_ref}:ACCEPTED_BY_DEFAULT"),
        detail: Some(pb::readmission_event::Detail::AcceptedByDefault(
            pb::DeadlineLapse {
                deadline: pb::ReadmissionDeadlineKind::Reply as i32,
                due_at: Some(time(reply_due)),
                cited_checkpoint: checkpoint,
            },
        )),
        ..Default::default()
    };
    sign(&mut event, &network.federation.signing_key("FR"));
    event
}

/// A checkpoint of the log `accord.test/log` timed at `at`, signed by `key`.
fn checkpoint(key: &EventSigningKey, at: i64) -> String {
    let origin = KeyName::parse("accord.test/log").unwrap();
    Checkpoint::new(&origin, 3, Hash::from_slice(&[7; 32]).unwrap())
        .with_extensions(vec![format!("timestamp {at}")])
        .unwrap()
        .sign(key)
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_requested_node_refuses_a_lapse_citing_a_forged_or_too_early_checkpoint() {
    let network = network().await;
    let (case_ref, reply_due) = request_to_britain(&network, "open-1").await;
    let forger = EventSigningKey::generate().unwrap();
    let cases = [
        (
            checkpoint(&forger, reply_due + 1),
            "not signed by the coordinator's key",
        ),
        (
            checkpoint(&network.coordinator_key(), reply_due),
            "is not after the reply deadline",
        ),
        (String::new(), "is required"),
    ];
    for (cited, expected) in cases {
        let event = lapse_citing(&network, &case_ref, reply_due, cited);
        let refused = deliver(&network.federation, "FR", "GB", event)
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
        assert!(
            refused.message().contains(expected),
            "{expected:?} in {:?}",
            refused.message()
        );
    }
    let britain = case(&network.federation, "GB", &case_ref).await.unwrap();
    assert_eq!(
        britain.status,
        Status::Received as i32,
        "nothing was applied"
    );
}
