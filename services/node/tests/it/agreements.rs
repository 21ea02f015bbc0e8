//! Agreements per pair: a case (readmission, offer, nomination) names a regime, and only a
//! regime the pair agreed (`regimes` of the partner's configuration) may be used. The sender
//! never opens such a case, the receiver refuses it (`FAILED_PRECONDITION`, `NO_AGREEMENT`)
//! and audits the refusal; personal data never flows where the agreed regime bars it.

use accord_domain::Regime;
use accord_node::store::AuditRecord;
use accord_proto::v1 as pb;
use pb::ReadmissionEventKind as K;
use pb::ReadmissionStatus as Status;
use pb::readmission_event::Detail;

use crate::admission::publish_request;
use crate::federation::{Federation, eventually};
use crate::readmission::{
    all_cases, arrival_confirmed, both_reach, deliver, kinds, open_and_receive, open_request,
    refused_open, shared_history, sign,
};
use crate::support::reason;

const UKFR_ONLY: &[Regime] = &[Regime::Ukfr2025];

/// GB and FR, each agreeing only UKFR_2025 with the other.
async fn uk_and_france() -> Federation {
    let agreements = [("GB", "FR", UKFR_ONLY), ("FR", "GB", UKFR_ONLY)];
    Federation::start_agreeing(&["GB", "FR"], &[], &agreements).await
}

/// GB believing DUBLIN_III agreed with FR as well as UKFR_2025; FR agreeing UKFR_2025 only.
async fn uk_agreeing_dublin_alone() -> Federation {
    let uk: &[Regime] = &[Regime::Ukfr2025, Regime::DublinIii];
    let agreements = [("GB", "FR", uk), ("FR", "GB", UKFR_ONLY)];
    Federation::start_agreeing(&["GB", "FR"], &[], &agreements).await
}

/// `code`'s audit rows of refusals for want of an agreement.
async fn refused_for_no_agreement(federation: &Federation, code: &str) -> Vec<AuditRecord> {
    let mut audit = federation.audit(code).await;
    audit.retain(|record| record.outcome == "NO_AGREEMENT");
    audit
}

/// Asserts that `status` refuses a case under a regime the pair did not agree.
fn assert_no_agreement(status: &tonic::Status, what: &str) {
    let refusal = (status.code(), reason(status));
    let expected = (tonic::Code::FailedPrecondition, "NO_AGREEMENT".to_owned());
    assert_eq!(refusal, expected, "{what}: {status:?}");
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

/// A request to `requested` under `regime`, its key naming both.
fn request_under(requested: &str, regime: pb::Regime) -> pb::OpenReadmissionRequest {
    pb::OpenReadmissionRequest {
        requested_state: requested.into(),
        regime: regime as i32,
        ..open_request(&format!("open-{requested}-{}", regime.as_str_name()))
    }
}

#[tokio::test]
async fn the_uk_never_opens_a_case_with_france_under_a_regime_the_pair_did_not_agree() {
    let federation = uk_and_france().await;
    for regime in [
        pb::Regime::DublinIii,
        pb::Regime::Ammr2026,
        pb::Regime::Eu1for1,
    ] {
        let request = request_under("FR", regime);
        let refused = refused_open(&federation, "GB", request).await;
        assert_no_agreement(&refused, regime.as_str_name());
        assert!(
            refused.message().contains("UKFR_2025"),
            "the refusal names what the pair agreed: {}",
            refused.message()
        );
    }
    assert!(all_cases(&federation, "GB").await.is_empty());
    assert!(all_cases(&federation, "FR").await.is_empty());
    assert_eq!(refused_for_no_agreement(&federation, "GB").await.len(), 3);
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
    let audit = refused_for_no_agreement(&federation, "FR").await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].peer, "spiffe://accord/state/GB");
}

#[tokio::test]
async fn a_receiver_refuses_what_its_sender_agreed_alone_and_audits_each_delivery() {
    // GB believes DUBLIN_III agreed; FR does not. GB's node opens the case, and FR's refuses
    // every delivery of it: the dispatcher's attempts are audited, FR stores no case.
    let federation = uk_agreeing_dublin_alone().await;
    let request = request_under("FR", pb::Regime::DublinIii);
    let mut gb = federation.gateway("GB").await;
    gb.open_readmission(request).await.unwrap();
    eventually("FR audits the refused delivery", || async {
        !refused_for_no_agreement(&federation, "FR").await.is_empty()
    })
    .await;
    assert!(all_cases(&federation, "FR").await.is_empty());
}

#[tokio::test]
async fn no_personal_data_flows_from_france_to_the_uk_under_any_regime_either_side() {
    let federation = uk_and_france().await;
    let regimes = [
        pb::Regime::Ukfr2025,
        pb::Regime::DublinIii,
        pb::Regime::Ammr2026,
    ];
    for regime in regimes {
        let request = request_under("GB", regime);
        let refused = refused_open(&federation, "FR", request).await;
        assert_no_agreement(&refused, &format!("FR opening under {regime:?}"));
    }
    let case_ref = open_and_receive(&federation, "open-1").await;
    let genuine = shared_history(&federation, &case_ref).await.remove(0);
    for regime in regimes {
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
    let audit = refused_for_no_agreement(&federation, "GB").await;
    assert_eq!(
        audit
            .iter()
            .filter(|record| record.peer == "spiffe://accord/state/FR")
            .count(),
        3,
        "GB audits each refused delivery: {audit:?}"
    );
}

/// GB's offer to people in France under DUBLIN_III.
fn dublin_offer() -> pb::PublishOfferRequest {
    publish_request("publish-dublin", "FR", pb::Regime::DublinIii, 3)
}

/// The offers `code`'s node holds.
async fn offers(federation: &Federation, code: &str) -> Vec<pb::Offer> {
    let mut caseworkers = federation.admission(code).await;
    let listed = caseworkers
        .list_offers(pb::ListOffersRequest::default())
        .await;
    listed.unwrap().into_inner().offers
}

#[tokio::test]
async fn the_uk_never_publishes_an_offer_under_a_regime_the_pair_did_not_agree() {
    let federation = uk_and_france().await;
    let mut gb = federation.admission("GB").await;
    let refused = gb.publish_offer(dublin_offer()).await.unwrap_err();
    assert_no_agreement(&refused, "an offer under DUBLIN_III");
    assert!(
        offers(&federation, "GB").await.is_empty(),
        "no offer was published"
    );
}

#[tokio::test]
async fn an_offer_under_a_regime_only_its_publisher_agreed_is_refused_by_the_origin_state() {
    let federation = uk_agreeing_dublin_alone().await;
    let mut gb = federation.admission("GB").await;
    gb.publish_offer(dublin_offer()).await.unwrap();
    eventually("FR audits the refused offer", || async {
        let audit = refused_for_no_agreement(&federation, "FR").await;
        audit
            .iter()
            .any(|row| row.operation.contains("DeliverOfferEvent"))
    })
    .await;
    assert!(
        offers(&federation, "FR").await.is_empty(),
        "FR holds no offer"
    );
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
    let request = request_under("FR", pb::Regime::DublinIii);
    let mut gb = federation.gateway("GB").await;
    let opened = gb.open_readmission(request).await.unwrap().into_inner();
    let case_ref = opened.readmission.unwrap().case_ref;
    let received = both_reach(&federation, &case_ref, Status::Received).await;
    assert_eq!(
        kinds(&received.events),
        [K::Submitted, K::Received],
        "Dublin III knows no R10: FR examines the request"
    );
}
