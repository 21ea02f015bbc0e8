//! Refusals are visible, and a flood of them is not: each refused call is audited, up to a
//! cap per caller and minute, and one summary row counts the rest.

use accord_edge::audit::{CAP_REACHED, ROWS_PER_CALLER_PER_MINUTE_DEFAULT};
use accord_proto::v1 as pb;
use accord_trust::PeerIdentity;

use crate::federation::{Federation, eventually, state};

/// Calls beyond the cap in the flood.
const FLOOD_BEYOND_CAP: u32 = 10;

#[tokio::test]
async fn a_flood_from_one_caller_writes_at_most_the_cap_and_one_summary_row() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let mut intruder = federation
        .client_as(PeerIdentity::Gateway(state("FR")), "GB")
        .await;
    let cap = ROWS_PER_CALLER_PER_MINUTE_DEFAULT;
    for _call in 0..cap + FLOOD_BEYOND_CAP {
        let listing = pb::ListReadmissionsRequest::default();
        let refused = intruder.list_readmissions(listing).await.unwrap_err();
        assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    }
    let rows = async |federation: &Federation| {
        let mut audit = federation.audit("GB").await;
        audit.retain(|row| row.peer == "spiffe://accord/state/FR/gateway");
        audit
    };
    assert_eq!(rows(&federation).await.len(), cap as usize, "the cap holds");
    federation.clock.advance_millis(60_000);
    eventually("the sweeper summarises the minute", || async {
        rows(&federation).await.len() > cap as usize
    })
    .await;
    let rows = rows(&federation).await;
    assert_eq!(rows.len(), cap as usize + 1, "cap rows and one summary");
    let summary = rows.last().unwrap();
    assert_eq!(summary.outcome, CAP_REACHED);
    assert!(
        summary
            .detail
            .starts_with(&format!("{FLOOD_BEYOND_CAP} more")),
        "{}",
        summary.detail
    );
}
