//! The audit log under a flood: a caller refused in a loop writes at most the cap's rows a
//! minute, and one summary row says how many more were refused (`accord_edge::audit`).

use accord_edge::audit::{CAP_REACHED, ROWS_PER_CALLER_PER_MINUTE_DEFAULT};
use accord_proto::v1 as pb;
use tonic::Code;

use crate::network::{Network, node, reason};

/// A member's node cancelling a token: refused (`CALLER_NOT_ALLOWED`) and audited.
async fn refused_cancel(network: &Network, caller: &str, key: u32) {
    let refused = network
        .client_as(&node(caller))
        .cancel_enrolment_token(pb::CancelEnrolmentTokenRequest {
            idempotency_key: format!("k-{key}"),
            token_id: "enr-00".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(reason(&refused), "CALLER_NOT_ALLOWED");
}

#[tokio::test]
async fn a_flood_of_refused_calls_writes_at_most_the_cap_a_minute_and_one_summary_row() {
    let network = Network::start().await;
    let cap = ROWS_PER_CALLER_PER_MINUTE_DEFAULT;
    for key in 0..cap + 7 {
        refused_cancel(&network, "FR", key).await;
    }
    assert_eq!(
        network.audited("CancelEnrolmentToken").await.len(),
        cap as usize,
        "every call is refused, only the cap's rows are written"
    );
    refused_cancel(&network, "DE", 0).await;
    assert_eq!(
        network.audited("CancelEnrolmentToken").await.len(),
        cap as usize + 1,
        "another caller is counted apart"
    );
    let log = network.app().store().audit_log().await.unwrap();
    assert!(
        !log.iter().any(|record| record.outcome == CAP_REACHED),
        "no summary before the minute is over"
    );
    // The minute is over: the next refusal writes the summary of the dropped rows first.
    network.clock.advance_millis(60_000);
    refused_cancel(&network, "DE", 1).await;
    let log = network.app().store().audit_log().await.unwrap();
    let summaries: Vec<_> = log
        .iter()
        .filter(|record| record.outcome == CAP_REACHED)
        .collect();
    assert_eq!(summaries.len(), 1, "{log:#?}");
    assert_eq!(summaries[0].peer, "spiffe://accord/state/FR");
    assert!(
        summaries[0].detail.starts_with("7 more refused calls"),
        "{}",
        summaries[0].detail
    );
    assert_eq!(
        network.audited("CancelEnrolmentToken").await.len(),
        cap as usize + 2
    );
}
