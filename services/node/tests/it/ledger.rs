//! The pair ledger that the parity guard reads, seen through the guard on offers between real
//! nodes: Germany (DE) admits people from Italy (IT), and DE's node holds IT to strict
//! one-for-one (a parity limit of 0), so one counted admission ahead of returns pauses DE's
//! next offer under a regime with the guard.

use accord_proto::v1 as pb;

use crate::admission::{
    both_reach, grant, nominate, nominate_request, publish_offer, publish_request, report_arrival,
};
use crate::federation::Federation;
use crate::support::assert_refused;

/// DE and IT, with DE's node holding IT to a parity limit of 0.
async fn germany_and_italy() -> Federation {
    Federation::start_with(&["DE", "IT"], &[("IT", "DE", 0)]).await
}

/// DE publishes an offer to people in IT under `regime`; returns it once IT's node holds it.
async fn publish(federation: &Federation, key: &str, regime: pb::Regime) -> String {
    publish_offer(federation, "DE", publish_request(key, "IT", regime, 5)).await
}

/// DE nominates, grants and reports the arrival of one person under `offer_ref`; returns
/// the case once both nodes show it ARRIVED.
async fn admit_until_arrival(federation: &Federation, offer_ref: &str, key: &str) -> String {
    let case_ref = nominate(federation, offer_ref, &format!("{key}-nominate")).await;
    grant(federation, &case_ref, &format!("{key}-grant")).await;
    report_arrival(federation, &case_ref, &format!("{key}-arrival")).await;
    both_reach(federation, &case_ref, pb::AdmissionStatus::Arrived).await;
    case_ref
}

/// DE's nomination of a second person under `offer_ref`.
async fn nominate_second(
    federation: &Federation,
    offer_ref: &str,
) -> Result<pb::NominateCandidateResponse, tonic::Status> {
    let nomination = nominate_request("second-nominate", offer_ref, "b2");
    let mut germany = federation.admission("DE").await;
    let answer = germany.nominate_candidate(nomination).await;
    answer.map(tonic::Response::into_inner)
}

#[tokio::test]
async fn an_arrival_counts_where_the_regime_asks_no_departure_confirmation() {
    let federation = germany_and_italy().await;
    // Dublin III asks IT for no departure confirmation: the case ends, and counts, at ARRIVED.
    let dublin_offer = publish(&federation, "publish-dublin", pb::Regime::DublinIii).await;
    admit_until_arrival(&federation, &dublin_offer, "first").await;
    // EU_1FOR1 runs the parity guard; DE now has admitted one person from IT ahead of returns.
    let guarded_offer = publish(&federation, "publish-guarded", pb::Regime::Eu1for1).await;
    let refused = nominate_second(&federation, &guarded_offer)
        .await
        .expect_err("DE's credit with IT is 1, above the limit of 0");
    assert_refused(
        &refused,
        tonic::Code::FailedPrecondition,
        "OFFER_NOT_AVAILABLE",
    );
    let mut germany = federation.admission("DE").await;
    let offer = germany
        .get_offer(pb::GetOfferRequest {
            offer_ref: guarded_offer.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .offer
        .unwrap();
    assert_eq!(offer.status, pb::OfferStatus::Paused as i32);
    assert_eq!(
        offer.pause_reason,
        pb::OfferPauseReason::ParityNotReached as i32
    );
}

#[tokio::test]
async fn an_arrival_does_not_count_while_the_regime_awaits_the_departure_confirmation() {
    let federation = germany_and_italy().await;
    // EU_1FOR1 asks IT to confirm the departure: an ARRIVED case does not count yet.
    let offer_ref = publish(&federation, "publish-guarded", pb::Regime::Eu1for1).await;
    admit_until_arrival(&federation, &offer_ref, "first").await;
    let second = nominate_second(&federation, &offer_ref)
        .await
        .expect("DE's credit with IT is still 0: the arrival awaits IT's confirmation");
    assert_eq!(
        second.admission.unwrap().status,
        pb::AdmissionStatus::Nominated as i32
    );
}
