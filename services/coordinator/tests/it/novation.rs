//! Novation through the real server: a final round's instructions and carry-forward are what
//! the next round takes in. Capacity leaves part of a week unsettled; the next round carries
//! it in, finds the week's instructions lapsed (NOT_PERFORMED, carried in, never unwound) and
//! settles them; a round is proposed only once every earlier round is final. Once that round
//! is final, each lapsed instruction is a NOT_PERFORMED break operators list and resolve, and
//! still is after a restart. Rounds and quotas are listed page by page.

use accord_edge::report;
use accord_proto::v1 as pb;
use pb::NettingMode::Bilateral;
use tonic::Code;

use crate::member::operator_client;
use crate::network::Network;
use crate::rounds::{PERIOD_END_S, PERIOD_START_S, Rounds, countersign, pairs, with_returns};

const DAY_S: i64 = 86_400;

fn range(start_s: i64, end_s: i64) -> pb::TimeRange {
    let at = |seconds| prost_types::Timestamp { seconds, nanos: 0 };
    pb::TimeRange {
        start_time: Some(at(start_s)),
        end_time: Some(at(end_s)),
    }
}

/// Every state countersigns `round`'s report; answers the round as the last one left it.
async fn countersigned_by_all(rounds: &Rounds, round: &pb::Round) -> pb::Round {
    let mut last = None;
    for (member, code) in [(&rounds.de, "DE"), (&rounds.fr, "FR"), (&rounds.gb, "GB")] {
        let key = format!("sign-{code}-{}", round.round_id);
        last = Some(countersign(member, code, round, &key).await.unwrap());
    }
    last.unwrap()
}

fn report_of(round: &pb::Round) -> pb::SettlementReport {
    round.report.as_ref().unwrap().report.clone().unwrap()
}

#[tokio::test]
async fn a_final_rounds_instructions_and_residuals_are_what_the_next_round_takes_in() {
    for network in Network::on_every_database().await {
        carries_into_the_next_round(with_returns(network).await).await;
    }
}

async fn carries_into_the_next_round(mut rounds: Rounds) {
    let first_id = settle_two_rounds(&mut rounds).await;
    // Each lapsed instruction is a NOT_PERFORMED break of its pair, with its round and
    // shortfall, detected at its deadline.
    let not_performed = |breaks: &[pb::Break]| -> Vec<(String, String, u32, bool)> {
        breaks
            .iter()
            .filter(|found| found.kind() == pb::BreakKind::NotPerformed)
            .map(|found| {
                let pair = found.pair.as_ref().unwrap();
                (
                    found.round_id.clone(),
                    format!("{}>{}", pair.first_state, pair.second_state),
                    found.shortfall,
                    found.status() == pb::BreakStatus::Open,
                )
            })
            .collect()
    };
    let mut ledger = operator_client(&rounds.network);
    let listed = ledger
        .list_breaks(pb::ListBreaksRequest {
            kinds: vec![pb::BreakKind::NotPerformed.into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .breaks;
    let open = |pair: &str, shortfall| (first_id.clone(), pair.to_owned(), shortfall, true);
    assert_eq!(
        not_performed(&listed),
        [open("DE>GB", 1), open("FR>DE", 2), open("GB>FR", 1)]
    );
    assert!(listed.iter().all(|found| found.case_ref.is_empty()));
    // A member sees only its own pairs' breaks.
    let mut de = rounds.de.ledger.clone();
    let seen_by_de = de
        .list_breaks(pb::ListBreaksRequest::default())
        .await
        .unwrap()
        .into_inner()
        .breaks;
    assert_eq!(not_performed(&seen_by_de).len(), 2);
    // An operator waives one, with a reason; it stays resolved after a restart.
    ledger
        .resolve_break(pb::ResolveBreakRequest {
            idempotency_key: "waive-gb-fr".to_owned(),
            break_id: listed[2].break_id.clone(),
            reason: "GB admitted the person on 2 January, by agreement".to_owned(),
        })
        .await
        .unwrap();
    rounds.network.restart().await;
    let ledger = operator_client(&rounds.network);
    let after = |status: pb::BreakStatus| {
        let mut ledger = ledger.clone();
        async move {
            ledger
                .list_breaks(pb::ListBreaksRequest {
                    kinds: vec![pb::BreakKind::NotPerformed.into()],
                    status: status.into(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .breaks
        }
    };
    assert_eq!(
        not_performed(&after(pb::BreakStatus::Open).await),
        [open("DE>GB", 1), open("FR>DE", 2)]
    );
    let resolved = after(pb::BreakStatus::Resolved).await;
    let mut waived = open("GB>FR", 1);
    waived.3 = false;
    assert_eq!(not_performed(&resolved), [waived]);
    assert_eq!(resolved[0].resolved_by, "alice");
    // Listing changes nothing: the same break once more.
    assert_eq!(after(pb::BreakStatus::Resolved).await, resolved);
}

/// Runs a capacity-limited first round and a second one past its deadline to FINAL; answers
/// the first round's id.
async fn settle_two_rounds(rounds: &mut Rounds) -> String {
    // GB can admit only one person in the first period; it owes FR three.
    rounds
        .operator
        .set_capacity(pb::SetCapacityRequest {
            idempotency_key: "capacity-gb".to_owned(),
            state: "GB".to_owned(),
            period: Some(range(PERIOD_START_S, PERIOD_END_S)),
            capacity: 1,
        })
        .await
        .unwrap();
    let first = rounds
        .open(range(PERIOD_START_S, PERIOD_END_S), Bilateral, "open-a")
        .await;
    // The next period runs past the first round's deadline (its end + 14 days).
    let next_period = range(PERIOD_END_S, PERIOD_END_S + 21 * DAY_S);
    let second = rounds.open(next_period, Bilateral, "open-b").await;
    rounds.close(&second.round_id).await;
    // The later round waits for the earlier one: what it owes is not known yet.
    let early = rounds
        .try_propose(&second.round_id, "propose-early")
        .await
        .unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition);
    assert!(
        early.message().contains(&first.round_id),
        "{}",
        early.message()
    );

    let proposed = rounds.close_and_propose(&first.round_id).await;
    let week = report_of(&proposed);
    assert_eq!(
        week.instructions
            .iter()
            .map(|instruction| (
                instruction.admitting_state.as_str(),
                instruction.origin_state.as_str(),
                instruction.count
            ))
            .collect::<Vec<_>>(),
        [("DE", "GB", 1), ("FR", "DE", 2), ("GB", "FR", 1)]
    );
    assert_eq!(pairs(&week.carry_forward), [("GB", "FR", 2)]);
    let last = countersigned_by_all(rounds, &proposed).await;
    assert_eq!(last.status(), pb::RoundStatus::Final);

    // The next round: no new movement in its period. It carries in the residual, finds every
    // instruction of the first round past its deadline and unperformed, and settles them.
    let next = rounds.propose(&second.round_id, "propose-b").await;
    let novated = report_of(&next);
    let inputs = novated.inputs.as_ref().unwrap();
    assert!(inputs.returns.is_empty() && inputs.admissions.is_empty());
    assert_eq!(
        pairs(&inputs.carried_in),
        [("DE", "GB", 1), ("FR", "DE", 2), ("GB", "FR", 3)]
    );
    let performances: Vec<_> = inputs
        .performances
        .iter()
        .map(|found| {
            (
                found.round_id.as_str(),
                found.admitting_state.as_str(),
                found.owed,
                found.performed,
                found.lapsed,
            )
        })
        .collect();
    let first_id = first.round_id.as_str();
    assert_eq!(
        performances,
        [
            (first_id, "DE", 1, 0, true),
            (first_id, "FR", 2, 0, true),
            (first_id, "GB", 1, 0, true)
        ]
    );
    let not_performed: u32 = novated
        .open_breaks
        .iter()
        .filter(|count| count.kind() == pb::BreakKind::NotPerformed)
        .map(|count| count.count)
        .sum();
    assert_eq!(not_performed, 3);
    assert_eq!(novated.settled, 6);
    assert!(novated.carry_forward.is_empty());
    let gb = novated
        .state_figures
        .iter()
        .find(|figures| figures.state == "GB")
        .unwrap();
    assert_eq!((gb.returned, gb.carried_in, gb.debts), (0, 3, 3));
    // Anyone can check it: the carried debts are part of what the certificate proves optimal.
    report::open(
        next.report.as_ref().unwrap(),
        &rounds.network.signing_key().verifying_key(),
    )
    .unwrap();
    let done = countersigned_by_all(rounds, &next).await;
    assert_eq!(done.status(), pb::RoundStatus::Final);
    first.round_id
}

#[tokio::test]
async fn rounds_and_quotas_are_listed_page_by_page_and_bad_filters_are_named() {
    let mut rounds = with_returns(Network::start().await).await;
    let week = 7 * DAY_S;
    let mut opened = Vec::new();
    for index in 0..3 {
        let start = PERIOD_START_S + index * week;
        let round = rounds
            .open(
                range(start, start + week),
                Bilateral,
                &format!("open-{index}"),
            )
            .await;
        opened.push(round.round_id);
        rounds
            .operator
            .set_capacity(pb::SetCapacityRequest {
                idempotency_key: format!("capacity-{index}"),
                state: "GB".to_owned(),
                period: Some(range(start, start + week)),
                capacity: 10 + u32::try_from(index).unwrap(),
            })
            .await
            .unwrap();
    }
    // Rounds, newest period first, two at a time.
    let mut listed = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = rounds
            .operator
            .list_rounds(pb::ListRoundsRequest {
                page_size: 2,
                page_token: page_token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.rounds.len() <= 2);
        listed.extend(page.rounds.into_iter().map(|round| round.round_id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    opened.reverse();
    assert_eq!(listed, opened);
    // A state filter: DE takes part in every round (all active members).
    let of_de = rounds
        .operator
        .list_rounds(pb::ListRoundsRequest {
            state: "DE".to_owned(),
            statuses: vec![pb::RoundStatus::Open.into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(of_de.rounds.len(), 3);
    // Capacities the same way, filtered by an overlapping period.
    let first = rounds
        .operator
        .list_quotas(pb::ListQuotasRequest {
            page_size: 2,
            state: "GB".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        first
            .capacities
            .iter()
            .map(|capacity| capacity.capacity)
            .collect::<Vec<_>>(),
        [12, 11]
    );
    let second = rounds
        .operator
        .list_quotas(pb::ListQuotasRequest {
            page_size: 2,
            state: "GB".to_owned(),
            page_token: first.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.capacities.len(), 1);
    assert_eq!(second.capacities[0].capacity, 10);
    assert!(second.next_page_token.is_empty());
    let in_second_week = rounds
        .operator
        .list_quotas(pb::ListQuotasRequest {
            period: Some(range(PERIOD_START_S + week, PERIOD_START_S + week + DAY_S)),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(in_second_week.capacities.len(), 1);
    assert_eq!(in_second_week.capacities[0].capacity, 11);
    // An unknown status, a malformed state and a forged token are each named.
    let refused = rounds
        .operator
        .list_rounds(pb::ListRoundsRequest {
            statuses: vec![42],
            state: "gb".to_owned(),
            page_token: "RND/../..".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    for field in ["statuses[0]", "state", "page_token"] {
        assert!(
            refused.message().contains(field),
            "{field}: {}",
            refused.message()
        );
    }
    let unknown = rounds
        .operator
        .list_rounds(pb::ListRoundsRequest {
            page_token: "RND-1999-01-01-1".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::InvalidArgument);
}
