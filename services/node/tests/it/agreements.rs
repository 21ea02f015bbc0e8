//! Agreements per pair: a case (readmission, offer, nomination) names a regime, and only a
//! regime the pair agreed (`regimes` of the partner's configuration) may be used. The sender
//! never opens such a case, the receiver refuses it (`FAILED_PRECONDITION`, `NO_AGREEMENT`)
//! and audits the refusal; personal data never flows where the agreed regime bars it.

use accord_domain::Regime;
use accord_proto::v1 as pb;
use accord_proto::v1::admission_service_client::AdmissionServiceClient;
use accord_trust::PeerIdentity;
use pb::ReadmissionEventKind as K;
use pb::ReadmissionStatus as Status;
use pb::readmission_event::Detail;

use crate::federation::{Federation, START_MILLIS, eventually, state};
use crate::readmission::{
    DAY_MS, all_cases, arrival_confirmed, both_reach, kinds, open_and_receive, open_request,
    reason, shared_history, sign, time,
};

const UKFR_ONLY: &[Regime] = &[Regime::Ukfr2025];

/// GB and FR, each agreeing only UKFR_2025 with the other.
async fn uk_and_france() -> Federation {
    Federation::start_agreeing(
        &["GB", "FR"],
        &[],
        &[("GB", "FR", UKFR_ONLY), ("FR", "GB", UKFR_ONLY)],
    )
    .await
}

/// `code`'s audit rows of `outcome`.
async fn audited(
    federation: &Federation,
    code: &str,
    outcome: &str,
) -> Vec<accord_node::store::AuditRecord> {
    federation
        .app(code)
        .store()
        .audit_log(1_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|record| record.outcome == outcome)
        .collect()
}

fn assert_no_agreement(status: &tonic::Status, what: &str) {
    assert_eq!(
        status.code(),
        tonic::Code::FailedPrecondition,
        "{what}: {status:?}"
    );
    assert_eq!(reason(status), "NO_AGREEMENT", "{what}: {status:?}");
}

/// A SUBMITTED event as `requesting` would sign it, opening a new case with `requested`
/// under `regime`, built from a genuine one so that only the pair and the regime differ.
fn crafted_submission(
    federation: &Federation,
    genuine: &pb::ReadmissionEvent,
    requesting: &str,
    requested: &str,
    regime: pb::Regime,
) -> pb::ReadmissionEvent {
    // The genuine id's time, and randomness of its own: a case neither node holds.
    let id = genuine.case_ref.rsplit('-').next().unwrap();
    let fresh_id = format!("{}{}", &id[..13], "0".repeat(13));
    let mut event = genuine.clone();
    event.case_ref = format!("RDM-{requesting}-{requested}-{fresh_id}");
    event.acting_state = requesting.to_owned();
    event.idempotency_key = format!("crafted-{requesting}-{}", regime.as_str_name());
    let Some(Detail::Submitted(submission)) = event.detail.as_mut() else {
        panic!("the genuine first event is a SUBMITTED");
    };
    submission.regime = regime as i32;
    submission.requested_state = requested.to_owned();
    sign(&mut event, &federation.signing_key(requesting));
    event
}

/// GB's offer to people in France under DUBLIN_III.
fn dublin_offer(key: &str) -> pb::PublishOfferRequest {
    pb::PublishOfferRequest {
        idempotency_key: key.to_owned(),
        origin_state: "FR".into(),
        regime: pb::Regime::DublinIii as i32,
        capacity: 3,
        window: Some(pb::TimeRange {
            start_time: Some(time(START_MILLIS)),
            end_time: Some(time(START_MILLIS + 60 * DAY_MS)),
        }),
        priority_rules_version: "2026-03".into(),
    }
}

async fn deliver(
    federation: &Federation,
    from: &str,
    to: &str,
    event: pb::ReadmissionEvent,
) -> Result<pb::DeliverReadmissionEventResponse, tonic::Status> {
    federation
        .node_client(from, to)
        .await
        .deliver_readmission_event(pb::DeliverReadmissionEventRequest { event: Some(event) })
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn the_uk_never_opens_a_case_with_france_under_a_regime_the_pair_did_not_agree() {
    let federation = uk_and_france().await;
    for regime in [
        pb::Regime::DublinIii,
        pb::Regime::Ammr2026,
        pb::Regime::Eu1for1,
    ] {
        let mut request = open_request(&format!("open-{}", regime.as_str_name()));
        request.regime = regime as i32;
        let refused = federation
            .gateway("GB")
            .await
            .open_readmission(request)
            .await
            .unwrap_err();
        assert_no_agreement(&refused, regime.as_str_name());
        assert!(
            refused.message().contains("UKFR_2025"),
            "the refusal names what the pair agreed: {}",
            refused.message()
        );
    }
    assert!(all_cases(&federation, "GB").await.is_empty());
    assert!(all_cases(&federation, "FR").await.is_empty());
    assert_eq!(audited(&federation, "GB", "NO_AGREEMENT").await.len(), 3);
}

#[tokio::test]
async fn france_refuses_and_audits_a_uk_request_under_a_regime_the_pair_did_not_agree() {
    let federation = uk_and_france().await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    let genuine = shared_history(&federation, &case_ref).await.remove(0);
    let crafted = crafted_submission(&federation, &genuine, "GB", "FR", pb::Regime::DublinIii);
    let refused = deliver(&federation, "GB", "FR", crafted).await.unwrap_err();
    assert_no_agreement(&refused, "a DUBLIN_III request delivered to FR");
    assert_eq!(
        all_cases(&federation, "FR").await.len(),
        1,
        "FR stored nothing"
    );
    let audit = audited(&federation, "FR", "NO_AGREEMENT").await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].peer, "spiffe://accord/state/GB");
}

#[tokio::test]
async fn a_receiver_refuses_what_its_sender_agreed_alone_and_audits_each_delivery() {
    // GB believes DUBLIN_III agreed; FR does not. GB's node opens the case, and FR's refuses
    // every delivery of it: the dispatcher's attempts are audited, FR stores no case.
    let federation = Federation::start_agreeing(
        &["GB", "FR"],
        &[],
        &[
            ("GB", "FR", &[Regime::Ukfr2025, Regime::DublinIii]),
            ("FR", "GB", UKFR_ONLY),
        ],
    )
    .await;
    let mut request = open_request("open-dublin");
    request.regime = pb::Regime::DublinIii as i32;
    federation
        .gateway("GB")
        .await
        .open_readmission(request)
        .await
        .unwrap();
    eventually("FR audits the refused delivery", || async {
        !audited(&federation, "FR", "NO_AGREEMENT").await.is_empty()
    })
    .await;
    assert!(all_cases(&federation, "FR").await.is_empty());
}

#[tokio::test]
async fn no_personal_data_flows_from_france_to_the_uk_under_any_regime_either_side() {
    let federation = uk_and_france().await;
    for regime in [
        pb::Regime::Ukfr2025,
        pb::Regime::DublinIii,
        pb::Regime::Ammr2026,
    ] {
        let mut request = open_request(&format!("fr-open-{}", regime.as_str_name()));
        request.requested_state = "GB".into();
        request.regime = regime as i32;
        let refused = federation
            .gateway("FR")
            .await
            .open_readmission(request)
            .await
            .unwrap_err();
        assert_no_agreement(&refused, &format!("FR opening under {regime:?}"));
    }
    let case_ref = open_and_receive(&federation, "open-1").await;
    let genuine = shared_history(&federation, &case_ref).await.remove(0);
    for regime in [
        pb::Regime::Ukfr2025,
        pb::Regime::DublinIii,
        pb::Regime::Ammr2026,
    ] {
        let crafted = crafted_submission(&federation, &genuine, "FR", "GB", regime);
        let refused = deliver(&federation, "FR", "GB", crafted).await.unwrap_err();
        assert_no_agreement(&refused, &format!("FR's data delivered under {regime:?}"));
    }
    assert_eq!(
        all_cases(&federation, "GB").await.len(),
        1,
        "only GB's own case"
    );
    assert_eq!(all_cases(&federation, "FR").await.len(), 1);
    let audit = audited(&federation, "GB", "NO_AGREEMENT").await;
    assert_eq!(
        audit
            .iter()
            .filter(|record| record.peer == "spiffe://accord/state/FR")
            .count(),
        3,
        "GB audits each refused delivery: {audit:?}"
    );
}

#[tokio::test]
async fn the_uk_never_publishes_an_offer_under_a_regime_the_pair_did_not_agree() {
    let federation = uk_and_france().await;
    let mut gb = AdmissionServiceClient::new(
        federation
            .channel_as(PeerIdentity::Gateway(state("GB")), "GB")
            .await,
    );
    let refused = gb
        .publish_offer(dublin_offer("publish-dublin"))
        .await
        .unwrap_err();
    assert_no_agreement(&refused, "an offer under DUBLIN_III");
    let offers = gb
        .list_offers(pb::ListOffersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .offers;
    assert!(offers.is_empty(), "no offer was published");
}

#[tokio::test]
async fn an_offer_under_a_regime_only_its_publisher_agreed_is_refused_by_the_origin_state() {
    let federation = Federation::start_agreeing(
        &["GB", "FR"],
        &[],
        &[
            ("GB", "FR", &[Regime::Ukfr2025, Regime::DublinIii]),
            ("FR", "GB", UKFR_ONLY),
        ],
    )
    .await;
    let mut gb = AdmissionServiceClient::new(
        federation
            .channel_as(PeerIdentity::Gateway(state("GB")), "GB")
            .await,
    );
    gb.publish_offer(dublin_offer("publish-dublin"))
        .await
        .unwrap();
    eventually("FR audits the refused offer", || async {
        audited(&federation, "FR", "NO_AGREEMENT")
            .await
            .iter()
            .any(|row| row.operation.contains("DeliverOfferEvent"))
    })
    .await;
    let mut fr = AdmissionServiceClient::new(
        federation
            .channel_as(PeerIdentity::Gateway(state("FR")), "FR")
            .await,
    );
    let offers = fr
        .list_offers(pb::ListOffersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .offers;
    assert!(offers.is_empty(), "FR holds no offer");
}

#[tokio::test]
async fn the_parity_guard_stays_silent_under_an_agreed_regime_without_parity_refusals() {
    // Replaces the test that let GB pick DUBLIN_III for a pair that never agreed it: here the
    // pair agreed both, and DUBLIN_III knows no R10.
    let both: &[Regime] = &[Regime::Ukfr2025, Regime::DublinIii];
    let federation = Federation::start_agreeing(
        &["GB", "FR"],
        &[("GB", "FR", 0)],
        &[("GB", "FR", both), ("FR", "GB", both)],
    )
    .await;
    arrival_confirmed(&federation, "return-1").await;
    let mut request = open_request("open-2");
    request.regime = pb::Regime::DublinIii as i32;
    let case_ref = federation
        .gateway("GB")
        .await
        .open_readmission(request)
        .await
        .unwrap()
        .into_inner()
        .readmission
        .unwrap()
        .case_ref;
    both_reach(&federation, &case_ref, Status::Received).await;
    let history = shared_history(&federation, &case_ref).await;
    assert_eq!(
        kinds(&history),
        [K::Submitted, K::Received],
        "Dublin III knows no R10: FR examines the request"
    );
}
