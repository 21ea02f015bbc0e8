//! Reconciliation through the real server: both parties' reports of an event match and
//! count; each kind of break the log can show is listed with its age, to whom may see it,
//! page by page; an operator waives a break with a reason, once, and the waiver survives a
//! restart.

use accord_proto::v1 as pb;
use accord_proto::v1::ledger_service_client::LedgerServiceClient;
use pb::ReadmissionEventKind as Kind;
use tonic::Code;
use tonic::transport::Channel;

use crate::member::{Member, joined, operator_client, report_of, send};
use crate::network::{Network, reason};

const ARRIVED: &str = "RDM-GB-FR-01J9Z8Q4M6W3XR7T2K5N8P0B1A";
const SILENT: &str = "RDM-GB-FR-01J9Z8Q4M6W3XR7T2K5N8P0B1B";
const DIFFERING: &str = "RDM-GB-FR-01J9Z8Q4M6W3XR7T2K5N8P0B1D";
const CLASHING: &str = "RDM-GB-FR-01J9Z8Q4M6W3XR7T2K5N8P0B1E";
const TWICE: &str = "RDM-GB-FR-01J9Z8Q4M6W3XR7T2K5N8P0B1F";

/// GB and FR report: one arrival both confirm alike, one event FR never reports, one both
/// report with different digests, one sequence where they hold different events, and one
/// acceptance GB reports in two versions.
async fn report_every_kind(gb: &Member, fr: &Member) {
    let arrival = report_of(&fr.key, "FR", ARRIVED, 9, 1, Kind::ArrivalConfirmed);
    let first = report_of(&fr.key, "FR", TWICE, 5, 7, Kind::Accepted);
    let second = report_of(&fr.key, "FR", TWICE, 6, 8, Kind::Accepted);
    let batches = [
        (gb, vec![arrival.clone()]),
        (fr, vec![arrival]),
        (
            gb,
            vec![report_of(
                &gb.key,
                "GB",
                SILENT,
                2,
                2,
                Kind::TransferDecisionIssued,
            )],
        ),
        (
            gb,
            vec![report_of(&fr.key, "FR", DIFFERING, 3, 3, Kind::Accepted)],
        ),
        (
            fr,
            vec![report_of(&fr.key, "FR", DIFFERING, 3, 4, Kind::Accepted)],
        ),
        (
            gb,
            vec![report_of(&gb.key, "GB", CLASHING, 4, 5, Kind::Withdrawn)],
        ),
        (
            fr,
            vec![report_of(&fr.key, "FR", CLASHING, 4, 6, Kind::Accepted)],
        ),
        (gb, vec![first.clone(), second]),
        (fr, vec![first]),
    ];
    for (sender, reports) in batches {
        send(sender, reports).await;
    }
}

async fn list(
    client: &mut LedgerServiceClient<Channel>,
    request: pb::ListBreaksRequest,
) -> Result<pb::ListBreaksResponse, tonic::Status> {
    client
        .list_breaks(request)
        .await
        .map(tonic::Response::into_inner)
}

/// `request` sent through `client`; answers the break as resolved, or the refusal.
async fn resolve_through(
    client: &mut LedgerServiceClient<Channel>,
    request: pb::ResolveBreakRequest,
) -> Result<pb::Break, tonic::Status> {
    let answer = client.resolve_break(request).await?;
    Ok(answer.into_inner().resolved_break.unwrap())
}

fn kinds(breaks: &[pb::Break]) -> Vec<(String, pb::BreakKind)> {
    let mut kinds: Vec<_> = breaks
        .iter()
        .map(|found| (found.case_ref.clone(), found.kind()))
        .collect();
    kinds.sort();
    kinds
}

#[tokio::test]
async fn matched_reports_count_and_every_break_is_listed_with_its_age() {
    for network in Network::on_every_database().await {
        let gb = joined(&network, "GB", 7651).await;
        let fr = joined(&network, "FR", 7652).await;
        let pl = joined(&network, "PL", 7653).await;
        report_every_kind(&gb, &fr).await;
        let mut operator = operator_client(&network);

        // Within the grace period the silent report is pending, not a break.
        let now = list(&mut operator, pb::ListBreaksRequest::default())
            .await
            .unwrap();
        use pb::BreakKind as B;
        assert_eq!(
            kinds(&now.breaks),
            [
                (DIFFERING.to_owned(), B::Mismatch),
                (CLASHING.to_owned(), B::Conflict),
                (TWICE.to_owned(), B::Duplicate),
            ]
        );
        let summary = operator
            .get_reconciliation_summary(pb::GetReconciliationSummaryRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(summary.pairs.len(), 1);
        let pair = &summary.pairs[0];
        assert_eq!(pair.pair.as_ref().unwrap().first_state, "GB");
        assert_eq!(
            pair.matched_returns, 1,
            "the arrival both confirmed counts once"
        );
        assert_eq!(
            pair.open_breaks
                .iter()
                .map(|count| count.count)
                .sum::<u32>(),
            3
        );

        // Past the grace period (3 days) the silent report is ONE_SIDED, aged from then.
        network.clock.advance_days(4);
        let later = list(&mut operator, pb::ListBreaksRequest::default())
            .await
            .unwrap();
        let one_sided = later
            .breaks
            .iter()
            .find(|found| found.kind() == B::OneSided)
            .expect("a one-sided break");
        assert_eq!(one_sided.case_ref, SILENT);
        assert_eq!(one_sided.reported_by, ["GB"]);
        assert_eq!(one_sided.age_bucket(), pb::BreakAgeBucket::Days0To3);
        network.clock.advance_days(10);
        let aged = list(
            &mut operator,
            pb::ListBreaksRequest {
                kinds: vec![B::OneSided.into()],
                age_bucket: pb::BreakAgeBucket::Days4To14.into(),
                ..pb::ListBreaksRequest::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(aged.breaks.len(), 1);
        assert_eq!(aged.breaks[0].age_days, 11);

        // Page by page, oldest detection first, every break once.
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let page = list(
                &mut operator,
                pb::ListBreaksRequest {
                    page_size: 2,
                    page_token: token,
                    ..pb::ListBreaksRequest::default()
                },
            )
            .await
            .unwrap();
            seen.extend(page.breaks);
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        assert_eq!(seen.len(), 4);

        // GB sees them (its pair); PL sees none, and may not ask for GB's.
        let mut gb_client = gb.ledger.clone();
        assert_eq!(
            list(&mut gb_client, pb::ListBreaksRequest::default())
                .await
                .unwrap()
                .breaks
                .len(),
            4
        );
        let mut pl_client = pl.ledger.clone();
        assert!(
            list(&mut pl_client, pb::ListBreaksRequest::default())
                .await
                .unwrap()
                .breaks
                .is_empty()
        );
        let refused = list(
            &mut pl_client,
            pb::ListBreaksRequest {
                state: "GB".to_owned(),
                ..pb::ListBreaksRequest::default()
            },
        )
        .await
        .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        let malformed = list(
            &mut operator,
            pb::ListBreaksRequest {
                kinds: vec![99],
                page_token: "garbage".to_owned(),
                ..pb::ListBreaksRequest::default()
            },
        )
        .await
        .unwrap_err();
        assert_eq!(malformed.code(), Code::InvalidArgument);
    }
}

#[tokio::test]
async fn an_operator_waives_a_break_once_with_a_reason_and_it_stays_waived() {
    for mut network in Network::on_every_database().await {
        let gb = joined(&network, "GB", 7661).await;
        let fr = joined(&network, "FR", 7662).await;
        report_every_kind(&gb, &fr).await;
        let mut operator = operator_client(&network);
        let open = list(&mut operator, pb::ListBreaksRequest::default())
            .await
            .unwrap();
        let conflict = open
            .breaks
            .iter()
            .find(|found| found.kind() == pb::BreakKind::Conflict)
            .unwrap()
            .clone();

        let resolve = |key: &str, reason: &str| pb::ResolveBreakRequest {
            idempotency_key: key.to_owned(),
            break_id: conflict.break_id.clone(),
            reason: reason.to_owned(),
        };
        // A member may not; a blank reason is refused; nothing changes.
        let refused = resolve_through(&mut gb.ledger.clone(), resolve("waive-0", "settled"))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        let blank = resolve_through(&mut operator, resolve("waive-0", "  "))
            .await
            .unwrap_err();
        assert_eq!(blank.code(), Code::InvalidArgument);

        let agreed = "GB and FR agreed FR's history stands";
        let waived = resolve_through(&mut operator, resolve("waive-1", agreed))
            .await
            .unwrap();
        assert_eq!(waived.status(), pb::BreakStatus::Resolved);
        assert_eq!(waived.resolution(), pb::BreakResolution::Waived);
        assert_eq!(waived.resolved_by, "alice");
        // Replayed under its key; refused under another.
        let replay = resolve_through(&mut operator, resolve("waive-1", agreed))
            .await
            .unwrap();
        assert_eq!(replay, waived);
        let again = resolve_through(&mut operator, resolve("waive-2", "again"))
            .await
            .unwrap_err();
        assert_eq!(again.code(), Code::FailedPrecondition);
        assert_eq!(reason(&again), "ILLEGAL_TRANSITION");
        let unknown = resolve_through(
            &mut operator,
            pb::ResolveBreakRequest {
                idempotency_key: "waive-3".to_owned(),
                break_id: "no-such-break".to_owned(),
                reason: "none".to_owned(),
            },
        )
        .await
        .unwrap_err();
        assert_eq!(unknown.code(), Code::NotFound);

        network.restart().await;
        let mut operator = operator_client(&network);
        let open = list(&mut operator, pb::ListBreaksRequest::default())
            .await
            .unwrap();
        assert!(
            open.breaks
                .iter()
                .all(|found| found.break_id != conflict.break_id)
        );
        let resolved = list(
            &mut operator,
            pb::ListBreaksRequest {
                status: pb::BreakStatus::Resolved.into(),
                ..pb::ListBreaksRequest::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(resolved.breaks.len(), 1);
        assert_eq!(
            resolved.breaks[0].resolution_reason,
            "GB and FR agreed FR's history stands"
        );
        assert_eq!(
            network.audited("ResolveBreak").await.last().unwrap().1,
            "OK"
        );
    }
}
