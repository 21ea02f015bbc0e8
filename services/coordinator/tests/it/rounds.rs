//! Settlement rounds through the real server: an operator opens, cuts off and proposes a
//! round over what both parties reported to the log; every affected state's node
//! countersigns and the round is FINAL; a state that disputes leaves it DISPUTED, settling
//! nothing, until a new version is proposed; refusals say why and change nothing.

use accord_domain::{StateCode, Timestamp};
use accord_edge::report;
use accord_proto::v1 as pb;
use accord_proto::v1::settlement_service_client::SettlementServiceClient;
use accord_trust::SigningDomain;
use pb::ReadmissionEventKind as Kind;
use prost::Message;
use tonic::Code;
use tonic::transport::Channel;

use crate::member::{Member, head_of, joined, operator_channel, report_of, send};
use crate::network::{Network, reason, signed_directory};

/// Events in the reports take effect in late November 2025 (`report_of`).
pub(crate) const PERIOD_START_S: i64 = 1_763_500_000;
pub(crate) const PERIOD_END_S: i64 = 1_764_500_000;

fn period() -> pb::TimeRange {
    pb::TimeRange {
        start_time: Some(prost_types::Timestamp {
            seconds: PERIOD_START_S,
            nanos: 0,
        }),
        end_time: Some(prost_types::Timestamp {
            seconds: PERIOD_END_S,
            nanos: 0,
        }),
    }
}

/// `count` returns from `from` to `to`, each an arrival the returned-to state confirmed and
/// both states reported alike.
async fn returns(from: &Member, to: &Member, codes: (&str, &str), count: u8, salt: u8) {
    for index in 0..count {
        let case = format!(
            "RDM-{}-{}-01J9Z8Q4M6W3XR7T2K5N8P{}{:02}",
            codes.0, codes.1, salt, index
        );
        let arrival = report_of(
            &to.key,
            codes.1,
            &case,
            9,
            salt * 16 + index,
            Kind::ArrivalConfirmed,
        );
        send(from, vec![arrival.clone()]).await;
        send(to, vec![arrival]).await;
    }
}

pub(crate) struct Rounds {
    pub network: Network,
    pub gb: Member,
    pub fr: Member,
    pub de: Member,
    pub operator: SettlementServiceClient<Channel>,
}

/// GB returned 3 people to FR, FR 2 to DE and DE 1 to GB, each confirmed by both.
async fn network_with_returns() -> Rounds {
    with_returns(Network::start().await).await
}

/// As [`network_with_returns`], on `network`.
pub(crate) async fn with_returns(network: Network) -> Rounds {
    let gb = joined(&network, "GB", 7671).await;
    let fr = joined(&network, "FR", 7672).await;
    let de = joined(&network, "DE", 7673).await;
    returns(&gb, &fr, ("GB", "FR"), 3, 1).await;
    returns(&fr, &de, ("FR", "DE"), 2, 2).await;
    returns(&de, &gb, ("DE", "GB"), 1, 3).await;
    let mut ledger = gb.ledger.clone();
    head_of(&mut ledger, 12).await;
    let operator = SettlementServiceClient::new(operator_channel(&network));
    Rounds {
        network,
        gb,
        fr,
        de,
        operator,
    }
}

impl Rounds {
    /// The operator opens a round of `period`, netting by `mode`.
    pub(crate) async fn open(
        &mut self,
        period: pb::TimeRange,
        mode: pb::NettingMode,
        key: &str,
    ) -> pb::Round {
        self.operator
            .open_round(pb::OpenRoundRequest {
                idempotency_key: key.to_owned(),
                period: Some(period),
                mode: mode.into(),
                participating_states: Vec::new(),
                redirect_pairs: Vec::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .round
            .unwrap()
    }

    /// The operator cuts the round off at the log's latest head.
    pub(crate) async fn close(&mut self, round_id: &str) {
        self.operator
            .close_round(pb::CloseRoundRequest {
                idempotency_key: format!("close-{round_id}"),
                round_id: round_id.to_owned(),
            })
            .await
            .unwrap();
    }

    pub(crate) async fn close_and_propose(&mut self, round_id: &str) -> pb::Round {
        self.close(round_id).await;
        self.propose(round_id, "propose-1").await
    }

    pub(crate) async fn propose(&mut self, round_id: &str, key: &str) -> pb::Round {
        self.try_propose(round_id, key).await.unwrap()
    }

    /// The operator proposes the round's report; answers the round, or the refusal.
    pub(crate) async fn try_propose(
        &mut self,
        round_id: &str,
        key: &str,
    ) -> Result<pb::Round, tonic::Status> {
        let request = pb::ProposeRoundRequest {
            idempotency_key: format!("{key}-{round_id}"),
            round_id: round_id.to_owned(),
        };
        let answer = self.operator.propose_round(request).await?;
        Ok(answer.into_inner().round.unwrap())
    }
}

/// `member`'s countersignature request of `round`'s report, as `code`.
fn countersignature(
    member: &Member,
    code: &str,
    round: &pb::Round,
    key: &str,
) -> pb::CountersignRoundRequest {
    let signed = round.report.as_ref().unwrap();
    let at = Timestamp::from_millis(1_764_600_000_000).unwrap();
    pb::CountersignRoundRequest {
        idempotency_key: key.to_owned(),
        round_id: round.round_id.clone(),
        report_digest: signed.report_digest.clone(),
        countersignature: Some(report::countersign(
            signed.report.as_ref().unwrap(),
            StateCode::parse(code).unwrap(),
            &member.key,
            at,
        )),
    }
}

/// `member`'s node countersigns `round`'s report as `code`, with the member's key; answers
/// the round as it then stands, or the refusal.
pub(crate) async fn countersign(
    member: &Member,
    code: &str,
    round: &pb::Round,
    key: &str,
) -> Result<pb::Round, tonic::Status> {
    send_countersignature(member, countersignature(member, code, round, key)).await
}

/// `member`'s node sends `request`; answers the round as it then stands, or the refusal.
pub(crate) async fn send_countersignature(
    member: &Member,
    request: pb::CountersignRoundRequest,
) -> Result<pb::Round, tonic::Status> {
    let answer = member.settlement.clone().countersign_round(request).await?;
    Ok(answer.into_inner().round.unwrap())
}

/// (first, second, count) of each pair, as written.
pub(crate) fn pairs(list: &[pb::PairCount]) -> Vec<(&str, &str, u32)> {
    list.iter()
        .map(|pair| {
            (
                pair.first_state.as_str(),
                pair.second_state.as_str(),
                pair.count,
            )
        })
        .collect()
}

#[tokio::test]
async fn a_round_settles_what_both_parties_reported_once_every_affected_state_countersigns() {
    for network in Network::on_every_database().await {
        settles_once_every_affected_state_countersigns(with_returns(network).await).await;
    }
}

async fn settles_once_every_affected_state_countersigns(mut rounds: Rounds) {
    let opened = rounds
        .open(period(), pb::NettingMode::Bilateral, "open-1")
        .await;
    assert_eq!(opened.status(), pb::RoundStatus::Open);
    assert_eq!(opened.participating_states, ["DE", "FR", "GB"]);
    let proposed = rounds.close_and_propose(&opened.round_id).await;
    assert_eq!(proposed.status(), pb::RoundStatus::Proposed);
    let report = proposed.report.as_ref().unwrap().report.clone().unwrap();
    // Counted: the log's matched arrivals, each with both parties' leaves.
    let returns = pairs(&report.inputs.as_ref().unwrap().returns);
    assert_eq!(returns, [("DE", "GB", 1), ("FR", "DE", 2), ("GB", "FR", 3)]);
    let movements = &report.inputs.as_ref().unwrap().movements;
    assert_eq!(movements.len(), 6);
    assert!(
        movements
            .iter()
            .all(|movement| movement.leaf_indices.len() == 2)
    );
    assert_eq!(report.tree_head.as_ref().unwrap().tree_size, 12);
    assert_eq!(report.affected_states, ["DE", "FR", "GB"]);
    assert_eq!(proposed.awaiting_countersignature, ["DE", "FR", "GB"]);
    // The report opens under the coordinator's key: signature, certificate and figures.
    report::open(
        proposed.report.as_ref().unwrap(),
        &rounds.network.signing_key().verifying_key(),
    )
    .unwrap();

    let mut gb = rounds.gb.settlement.clone();
    let after_gb = countersign(&rounds.gb, "GB", &proposed, "sign-gb")
        .await
        .unwrap();
    assert_eq!(after_gb.status(), pb::RoundStatus::Proposed);
    assert_eq!(after_gb.awaiting_countersignature, ["DE", "FR"]);
    countersign(&rounds.fr, "FR", &proposed, "sign-fr")
        .await
        .unwrap();
    let last = countersign(&rounds.de, "DE", &proposed, "sign-de")
        .await
        .unwrap();
    assert_eq!(last.status(), pb::RoundStatus::Final);
    assert!(last.finalised_at.is_some());
    assert_eq!(last.report.as_ref().unwrap().countersignatures.len(), 3);
    // A final round takes no countersignature and no new proposal.
    let late = countersign(&rounds.gb, "GB", &proposed, "sign-gb-2")
        .await
        .unwrap_err();
    assert_eq!(late.code(), Code::FailedPrecondition);
    // Every state reads it; its report still opens with every countersignature listed.
    let read = gb
        .get_round(pb::GetRoundRequest {
            round_id: proposed.round_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    assert_eq!(read, last);

    // The bundle of the final round verifies offline from the root CA alone, as
    // `accord report verify` checks it; one altered byte does not.
    let bundle = gb
        .get_round_report(pb::GetRoundReportRequest {
            round_id: proposed.round_id.clone(),
            format: pb::ReportFormat::Bundle.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(bundle.file_name, format!("{}.pb", proposed.round_id));
    let roots = accord_trust::CaBundle::from_pem(&rounds.network.ca_pem()).unwrap();
    let mut passed = Vec::new();
    report::bundle::verify(&bundle.rendering, &roots, None, &[], &mut |check| {
        passed.push(check.to_string())
    })
    .unwrap();
    assert!(
        passed.iter().any(|check| check.contains("final")),
        "{passed:?}"
    );
    let mut altered = bundle.rendering.clone();
    let middle = altered.len() / 2;
    altered[middle] ^= 0x01;
    assert!(report::bundle::verify(&altered, &roots, None, &[], &mut |_| {}).is_err());
    // The JSON and CSV renderings say what the signed report says.
    let rendered = |format: pb::ReportFormat| {
        let mut gb = gb.clone();
        let round_id = proposed.round_id.clone();
        async move {
            gb.get_round_report(pb::GetRoundReportRequest {
                round_id,
                format: format.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
        }
    };
    let json = rendered(pb::ReportFormat::Json).await;
    assert_eq!(json.content_type, "application/json");
    assert_eq!(json.file_name, format!("{}.json", proposed.round_id));
    let document: serde_json::Value = serde_json::from_slice(&json.rendering).unwrap();
    assert_eq!(document["round_id"], proposed.round_id.as_str());
    assert_eq!(document["settled"], report.settled);
    assert_eq!(document["mode"], "bilateral");
    assert_eq!(
        document["instructions"].as_array().unwrap().len(),
        report.instructions.len()
    );
    let signers: Vec<&str> = document["signatures"]["countersignatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|signature| signature["state"].as_str().unwrap())
        .collect();
    assert_eq!(signers, ["DE", "FR", "GB"]);
    assert_eq!(
        rendered(pb::ReportFormat::Unspecified).await.rendering,
        json.rendering,
        "JSON is the default, and the same report renders the same bytes"
    );
    let csv = rendered(pb::ReportFormat::Csv).await;
    assert_eq!(csv.content_type, "text/csv; charset=utf-8");
    let text = String::from_utf8(csv.rendering).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .map(|line| line.trim_end_matches('\r'))
        .collect();
    assert_eq!(lines[0], "# instructions");
    assert_eq!(lines[1], "admitting,origin,count,redirected,perform_by");
    assert_eq!(
        lines
            .iter()
            .skip(2)
            .take_while(|line| !line.is_empty())
            .count(),
        report.instructions.len()
    );
    assert!(lines.contains(&"# state_figures"));
    // HTML and PDF are the gateway's to render.
    let html = gb
        .get_round_report(pb::GetRoundReportRequest {
            round_id: proposed.round_id.clone(),
            format: pb::ReportFormat::Html.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(html.code(), Code::Unimplemented);
}

#[tokio::test]
async fn balances_show_each_pairs_debt_and_each_states_position() {
    let mut rounds = network_with_returns().await;
    let balances = rounds
        .operator
        .get_balances(pb::GetBalancesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(balances.tree_size, 12);
    let debts: Vec<_> = balances
        .pairs
        .iter()
        .map(|pair| {
            (
                pair.first_state.as_str(),
                pair.second_state.as_str(),
                pair.debt,
            )
        })
        .collect();
    assert_eq!(debts, [("DE", "GB", 1), ("FR", "DE", 2), ("GB", "FR", 3)]);
    let positions: Vec<_> = balances
        .positions
        .iter()
        .map(|position| (position.state.as_str(), position.position))
        .collect();
    assert_eq!(positions, [("DE", -1), ("FR", -1), ("GB", 2)]);
    // A member sees its own pairs.
    let seen = rounds
        .fr
        .settlement
        .clone()
        .get_balances(pb::GetBalancesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(seen.pairs.len(), 2);
}

#[tokio::test]
async fn a_disputed_round_settles_nothing_until_a_new_version_is_proposed() {
    for network in Network::on_every_database().await {
        disputed_settles_nothing(with_returns(network).await).await;
    }
}

async fn disputed_settles_nothing(mut rounds: Rounds) {
    let opened = rounds
        .open(period(), pb::NettingMode::Gross, "open-2")
        .await;
    let proposed = rounds.close_and_propose(&opened.round_id).await;
    let signed = proposed.report.as_ref().unwrap();
    let dispute = pb::RoundDispute {
        round_id: proposed.round_id.clone(),
        report_digest: signed.report_digest.clone(),
        state: "FR".to_owned(),
        reasons: vec![pb::DisputeReason::MissingConfirmations.into()],
        case_refs: vec!["RDM-GB-FR-01J9Z8Q4M6W3XR7T2K5N8P9999".to_owned()],
    };
    let signature = rounds
        .fr
        .key
        .sign(SigningDomain::ROUND_DISPUTE, &dispute.encode_to_vec());
    let request = |dispute: pb::RoundDispute, signature: Vec<u8>| pb::DisputeRoundRequest {
        idempotency_key: "dispute-fr".to_owned(),
        dispute: Some(pb::SignedRoundDispute {
            dispute: Some(dispute),
            signature: Some(pb::StateSignature {
                state: "FR".to_owned(),
                signing_key_id: rounds.fr.key.key_id().to_string(),
                signature,
                signed_at: None,
            }),
        }),
    };
    // A dispute whose signature covers other content is refused.
    let mut altered = dispute.clone();
    altered
        .reasons
        .push(pb::DisputeReason::ComputationMismatch.into());
    let mut fr = rounds.fr.settlement.clone();
    let refused = fr
        .dispute_round(request(altered, signature.to_bytes().to_vec()))
        .await
        .unwrap_err();
    assert_eq!(reason(&refused), "SIGNATURE_INVALID");
    let disputed = fr
        .dispute_round(request(dispute, signature.to_bytes().to_vec()))
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    assert_eq!(disputed.status(), pb::RoundStatus::Disputed);
    assert_eq!(disputed.disputes.len(), 1);
    // Nothing is settled by a disputed round: no countersignature makes it final.
    let refused = countersign(&rounds.gb, "GB", &proposed, "sign-gb")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    // The operator proposes again: version 2, awaiting everyone again.
    let again = rounds.propose(&proposed.round_id, "propose-2").await;
    assert_eq!(again.status(), pb::RoundStatus::Proposed);
    assert_eq!(
        again
            .report
            .as_ref()
            .unwrap()
            .report
            .as_ref()
            .unwrap()
            .version,
        2
    );
    assert_eq!(again.awaiting_countersignature.len(), 3);
    // The first version's countersignature no longer fits.
    let stale = countersign(&rounds.gb, "GB", &proposed, "sign-gb-v1")
        .await
        .unwrap_err();
    assert_eq!(reason(&stale), "DIGEST_MISMATCH");
}

#[tokio::test]
async fn round_steps_are_refused_to_the_wrong_caller_at_the_wrong_time() {
    let mut rounds = network_with_returns().await;
    let pl = joined(&rounds.network, "PL", 7674).await;
    // A member does not run rounds.
    let refused = rounds
        .gb
        .settlement
        .clone()
        .open_round(pb::OpenRoundRequest {
            idempotency_key: "open-by-gb".to_owned(),
            period: Some(period()),
            mode: pb::NettingMode::Gross.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    // A multilateral round may redirect only on a pair both states consented to.
    let redirect = |key: &str| pb::OpenRoundRequest {
        idempotency_key: key.to_owned(),
        period: Some(period()),
        mode: pb::NettingMode::Multilateral.into(),
        participating_states: vec!["GB".into(), "FR".into(), "DE".into()],
        redirect_pairs: vec![pb::RedirectPair {
            admitting_state: "DE".into(),
            origin_state: "GB".into(),
        }],
    };
    let refused = rounds
        .operator
        .open_round(redirect("open-m1"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    for (member, code) in [(&rounds.de, "DE"), (&rounds.gb, "GB")] {
        let answer = member
            .settlement
            .clone()
            .set_redirect_consent(pb::SetRedirectConsentRequest {
                idempotency_key: format!("consent-{code}"),
                consent: Some(pb::RedirectConsent {
                    pair: Some(pb::RedirectPair {
                        admitting_state: "DE".into(),
                        origin_state: "GB".into(),
                    }),
                    consenting_state: code.into(),
                    consented: true,
                    updated_at: None,
                }),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.pair_consented, code == "GB");
    }
    // FR cannot consent for DE.
    let refused = rounds
        .fr
        .settlement
        .clone()
        .set_redirect_consent(pb::SetRedirectConsentRequest {
            idempotency_key: "consent-fr-for-de".into(),
            consent: Some(pb::RedirectConsent {
                pair: Some(pb::RedirectPair {
                    admitting_state: "DE".into(),
                    origin_state: "GB".into(),
                }),
                consenting_state: "DE".into(),
                consented: false,
                updated_at: None,
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let opened = rounds
        .operator
        .open_round(redirect("open-m2"))
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    // One round per state and period.
    let overlapping = rounds
        .operator
        .open_round(redirect("open-m3"))
        .await
        .unwrap_err();
    assert_eq!(overlapping.code(), Code::FailedPrecondition);
    // Proposing before the cut-off is refused.
    let early = rounds
        .try_propose(&opened.round_id, "propose-early")
        .await
        .unwrap_err();
    assert_eq!(reason(&early), "ILLEGAL_TRANSITION");
    let proposed = rounds.close_and_propose(&opened.round_id).await;
    let report = proposed.report.as_ref().unwrap().report.as_ref().unwrap();
    assert_eq!(
        report.inputs.as_ref().unwrap().consented,
        [pb::RedirectPair {
            admitting_state: "DE".into(),
            origin_state: "GB".into()
        }]
    );
    // PL is not affected; GB may not sign for FR; a wrong digest is refused.
    let mut pl_client = pl.settlement.clone();
    let refused = countersign(&pl, "PL", &proposed, "sign-pl")
        .await
        .unwrap_err();
    assert!(
        matches!(refused.code(), Code::PermissionDenied | Code::NotFound),
        "{refused:?}"
    );
    let refused = countersign(&rounds.gb, "FR", &proposed, "sign-as-fr")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let mut wrong = countersignature(&rounds.gb, "GB", &proposed, "sign-wrong-digest");
    wrong.report_digest = vec![0; 32];
    let refused = send_countersignature(&rounds.gb, wrong).await.unwrap_err();
    assert_eq!(reason(&refused), "DIGEST_MISMATCH");
    // Signed by FR's key, claimed as GB's.
    let mut forged = countersignature(&rounds.fr, "GB", &proposed, "sign-forged");
    forged.countersignature.as_mut().unwrap().signing_key_id = rounds.gb.key.key_id().to_string();
    let refused = send_countersignature(&rounds.gb, forged).await.unwrap_err();
    assert_eq!(reason(&refused), "SIGNATURE_INVALID");
    let read = rounds
        .operator
        .get_round(pb::GetRoundRequest {
            round_id: opened.round_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    assert_eq!(read.status(), pb::RoundStatus::Proposed);
    assert_eq!(
        read.awaiting_countersignature.len(),
        3,
        "a refused countersignature was kept"
    );
    // PL does not see a round it does not take part in.
    let hidden = pl_client
        .get_round(pb::GetRoundRequest {
            round_id: opened.round_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
}

#[tokio::test]
async fn a_pairs_parity_limit_is_set_in_its_agreement_and_read_with_both_debts() {
    let mut rounds = network_with_returns().await;
    rounds
        .network
        .operator()
        .set_agreement(pb::SetAgreementRequest {
            idempotency_key: "agree".into(),
            agreement: Some(pb::Agreement {
                first_state: "GB".into(),
                second_state: "FR".into(),
                regimes: vec![pb::Regime::Ukfr2025.into()],
                effective_from: Some(rounds.network.at(-1_000)),
                parity_limit: Some(50),
                ..Default::default()
            }),
        })
        .await
        .unwrap();
    let set = rounds
        .operator
        .set_parity_limit(pb::SetParityLimitRequest {
            idempotency_key: "parity".into(),
            first_state: "GB".into(),
            second_state: "FR".into(),
            limit: 2,
        })
        .await
        .unwrap()
        .into_inner()
        .parity_limit
        .unwrap();
    assert_eq!(
        (
            set.first_state.as_str(),
            set.second_state.as_str(),
            set.limit
        ),
        ("FR", "GB", 2)
    );
    // The directory's agreement carries it, as nodes read it.
    let directory = signed_directory(rounds.network.operator()).await;
    let listed = directory.directory.unwrap();
    assert_eq!(listed.agreements[0].parity_limit, Some(2));
    // GB returned 3 people to FR and admitted none: over the limit of 2.
    let parity = rounds
        .gb
        .settlement
        .clone()
        .get_parity_limit(pb::GetParityLimitRequest {
            first_state: "GB".into(),
            second_state: "FR".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((parity.first_state_debt, parity.second_state_debt), (0, 3));
    assert!(parity.second_state_over_limit && !parity.first_state_over_limit);
    // No agreement between DE and GB; DE does not read the GB–FR pair.
    for (client, pair) in [
        (&rounds.operator, ("DE", "GB")),
        (&rounds.de.settlement, ("GB", "FR")),
    ] {
        let refused = client
            .clone()
            .get_parity_limit(pb::GetParityLimitRequest {
                first_state: pair.0.into(),
                second_state: pair.1.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::NotFound);
    }
}
