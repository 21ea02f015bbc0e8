//! The ledger through the real server: members' nodes report signed events, each logged
//! once and acknowledged only when committed; tree heads are C2SP checkpoints that verify
//! with the coordinator's key; inclusion and consistency proofs verify against them; a
//! member sees only its own pairs' leaves; witnesses cosign; every refusal says why and
//! changes nothing.

use accord_proto::v1 as pb;
use accord_proto::v1::ledger_service_client::LedgerServiceClient;
use accord_trust::log::{
    Checkpoint, ConsistencyProof, Hash, InclusionProof, KeyName, MemoryTree, NoteVerifier,
    SignatureType, leaf_hash,
};
use accord_trust::{EventSigningKey, SigningDomain};
use pb::ReadmissionEventKind as Kind;
use prost::Message;
use tonic::Code;
use tonic::transport::Channel;

use crate::member::{Member, head_of, joined, operator_client, outcomes, report_of, send};
use crate::network::{Network, reason};

const CASE: &str = "RDM-GB-FR-01J9Z8Q4M6W3XR7T2K5N8P0B1C";

/// `signer`'s signed report of event `sequence` of `case` (a readmission between GB and
/// FR), acted by `acting`, with digest byte `digest`: a RECEIVED event.
fn report(
    signer: &EventSigningKey,
    acting: &str,
    case: &str,
    sequence: u64,
    digest: u8,
) -> pb::EventReport {
    report_of(
        signer,
        acting,
        case,
        sequence,
        digest,
        pb::ReadmissionEventKind::Received,
    )
}

fn log_verifier(network: &Network) -> NoteVerifier {
    NoteVerifier::new(
        KeyName::parse("accord/ledger").unwrap(),
        SignatureType::Ed25519,
        network.signing_key().verifying_key(),
    )
}

/// The leaves `start_index..end_index` as `client`'s holder reads them, or the refusal.
async fn read_leaves(
    client: &mut LedgerServiceClient<Channel>,
    start_index: u64,
    end_index: u64,
) -> Result<Vec<pb::LeafEntry>, tonic::Status> {
    let request = pb::GetLeavesRequest {
        start_index,
        end_index,
    };
    Ok(client.get_leaves(request).await?.into_inner().leaves)
}

fn root(head: &pb::SignedTreeHead) -> Hash {
    Hash::from_slice(&head.tree_head.as_ref().unwrap().root_hash).unwrap()
}

#[tokio::test]
async fn reported_events_are_logged_once_proved_included_and_the_log_only_grows() {
    for network in Network::on_every_database().await {
        let mut gb = joined(&network, "GB", 7601).await;
        let fr = joined(&network, "FR", 7602).await;
        let events: Vec<_> = (1..=3)
            .map(|n| report(&gb.key, "GB", CASE, n, n as u8))
            .collect();
        let first = send(&gb, events.clone()).await;
        use pb::EventReportOutcome::{Accepted, Duplicate};
        assert_eq!(
            outcomes(&first),
            [(Accepted, 0), (Accepted, 1), (Accepted, 2)]
        );
        let first_head = head_of(&mut gb.ledger, 3).await;
        // Sent again (a node's retry after a lost answer): the same leaves, nothing new.
        let again = send(&gb, events.clone()).await;
        assert_eq!(
            outcomes(&again),
            [(Duplicate, 0), (Duplicate, 1), (Duplicate, 2)]
        );
        assert_eq!(again[1].leaf_hash, first[1].leaf_hash);
        assert_eq!(again[1].accepted_at, first[1].accepted_at);
        // The other party's report of the same event is its own leaf.
        let theirs = send(&fr, vec![events[0].clone()]).await;
        assert_eq!(outcomes(&theirs), [(Accepted, 3)]);
        let head = head_of(&mut gb.ledger, 4).await;

        // The head is a C2SP checkpoint the coordinator's key signed, saying the same.
        let opened =
            Checkpoint::open(head.checkpoint.as_bytes(), &log_verifier(&network), &[]).unwrap();
        assert_eq!(opened.checkpoint.tree_size(), 4);
        assert_eq!(*opened.checkpoint.root_hash(), root(&head));

        // GB proves its second event is in the log: the leaf is what it sent.
        let proved = gb
            .ledger
            .get_inclusion_proof(pb::GetInclusionProofRequest {
                leaf: Some(pb::get_inclusion_proof_request::Leaf::EventDigest(vec![
                    2;
                    32
                ])),
                reporter_state: String::new(),
                tree_size: 0,
            })
            .await
            .unwrap()
            .into_inner();
        let proof = proved.proof.unwrap();
        let leaf = proof.leaf.clone().unwrap();
        assert_eq!(leaf.report.unwrap(), events[1]);
        assert_eq!(leaf.reporter_state, "GB");
        let inclusion = InclusionProof {
            leaf_index: proof.leaf_index,
            tree_size: proof.tree_size,
            audit_path: proof
                .audit_path
                .iter()
                .map(|h| Hash::from_slice(h).unwrap())
                .collect(),
        };
        inclusion
            .verify(
                &leaf_hash(&proof.leaf.unwrap().encode_to_vec()),
                &root(&head),
            )
            .unwrap();

        // The log of 3 leaves is a prefix of the log of 4.
        let consistency = gb
            .ledger
            .get_consistency_proof(pb::GetConsistencyProofRequest {
                first_tree_size: first_head.tree_head.as_ref().unwrap().tree_size,
                second_tree_size: 4,
            })
            .await
            .unwrap()
            .into_inner();
        ConsistencyProof {
            first_size: consistency.first_tree_size,
            second_size: consistency.second_tree_size,
            path: consistency
                .proof
                .iter()
                .map(|h| Hash::from_slice(h).unwrap())
                .collect(),
        }
        .verify(&root(&first_head), &root(&head))
        .unwrap();
        // Sizes out of order are refused as such, not as a missing head.
        let backwards = gb
            .ledger
            .get_consistency_proof(pb::GetConsistencyProofRequest {
                first_tree_size: 4,
                second_tree_size: 2,
            })
            .await
            .unwrap_err();
        assert_eq!(backwards.code(), Code::InvalidArgument);
        assert!(
            backwards.message().contains("first_tree_size"),
            "{}",
            backwards.message()
        );

        // An auditor rebuilds the whole tree from the leaves and finds the same root.
        let leaves = read_leaves(&mut operator_client(&network), 0, 4)
            .await
            .unwrap();
        let rebuilt = MemoryTree::from_leaf_hashes(
            leaves
                .iter()
                .map(|entry| leaf_hash(&entry.leaf.as_ref().unwrap().encode_to_vec())),
        );
        assert_eq!(rebuilt.root_hash(4), Some(root(&head)));
    }
}

#[tokio::test]
async fn a_member_sees_only_its_own_pairs_leaves_but_every_hash() {
    let network = Network::start().await;
    let gb = joined(&network, "GB", 7611).await;
    let _fr = joined(&network, "FR", 7612).await;
    let mut pl = joined(&network, "PL", 7613).await;
    send(&gb, vec![report(&gb.key, "GB", CASE, 1, 9)]).await;
    let head = head_of(&mut pl.ledger, 1).await;
    let hidden = pl
        .ledger
        .get_inclusion_proof(pb::GetInclusionProofRequest {
            leaf: Some(pb::get_inclusion_proof_request::Leaf::LeafIndex(0)),
            reporter_state: String::new(),
            tree_size: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    let leaves = read_leaves(&mut pl.ledger, 0, 1).await.unwrap();
    assert_eq!(leaves.len(), 1);
    assert!(leaves[0].leaf.is_none(), "PL read a GB-FR case");
    let rebuilt = MemoryTree::from_leaf_hashes([Hash::from_slice(&leaves[0].leaf_hash).unwrap()]);
    assert_eq!(rebuilt.root_hash(1), Some(root(&head)));
    let beyond = read_leaves(&mut pl.ledger, 0, 2).await.unwrap_err();
    assert_eq!(beyond.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn refused_reports_say_why_and_log_nothing() {
    let network = Network::start().await;
    let mut gb = joined(&network, "GB", 7621).await;
    let _fr = joined(&network, "FR", 7622).await;
    let pl = joined(&network, "PL", 7623).await;
    let logged = send(&gb, vec![report(&gb.key, "GB", CASE, 1, 1)]).await;
    assert_eq!(logged[0].outcome(), Accepted);

    let mut tampered = report(&gb.key, "GB", CASE, 2, 2);
    tampered.attestation.as_mut().unwrap().event_digest = vec![7; 32];
    let stranger = EventSigningKey::generate().unwrap();
    let mut caseworker_key = report(&gb.key, "GB", CASE, 3, 3);
    caseworker_key.attestation.as_mut().unwrap().idempotency_key = "Jane Doe 1990-01-01".to_owned();
    let mut other_case_deadline = report(&gb.key, "GB", CASE, 8, 8);
    other_case_deadline
        .attestation
        .as_mut()
        .unwrap()
        .idempotency_key =
        "deadline:RDM-GB-FR-01J9Z8Q4M6W3XR7T2K5N8P0B1D:ACCEPTED_BY_DEFAULT".to_owned();
    let other_case_deadline = resign(&gb.key, other_case_deadline);
    let mut other_event_same_key = report(&gb.key, "GB", CASE, 1, 1);
    other_event_same_key
        .attestation
        .as_mut()
        .unwrap()
        .event_digest = vec![8; 32];
    let other_event_same_key = resign(&gb.key, other_event_same_key);
    let results = send(
        &gb,
        vec![
            tampered,
            report(&stranger, "GB", CASE, 4, 4),
            caseworker_key,
            other_event_same_key,
            report(&gb.key, "GB", CASE, 5, 5),
            other_case_deadline,
        ],
    )
    .await;
    let reasons: Vec<_> = results
        .iter()
        .map(|result| (result.outcome(), result.rejection_reason()))
        .collect();
    use pb::ErrorReason as R;
    use pb::EventReportOutcome::{Accepted, Rejected};
    assert_eq!(
        reasons,
        [
            (Rejected, R::SignatureInvalid),
            (Rejected, R::SigningKeyUnknown),
            (Rejected, R::FieldInvalid),
            (Rejected, R::IdempotencyKeyReused),
            (Accepted, R::Unspecified),
            (Rejected, R::FieldInvalid),
        ]
    );
    assert_eq!(
        results[2].violations[0].field,
        "attestation.idempotency_key"
    );
    assert!(
        !format!("{:?}", results[2]).contains("Jane"),
        "a refusal echoed the caller's text"
    );
    assert_eq!(results[4].leaf_index, 1, "refused reports took no leaf");

    // PL is no party to a GB–FR case.
    let results = send(&pl, vec![report(&gb.key, "GB", CASE, 6, 6)]).await;
    assert_eq!(results[0].rejection_reason(), R::CallerNotAllowed);

    // A batch over 512 reports ends the stream, as does a batch without an id.
    let big = pb::ReportEventsRequest {
        batch_id: "big".to_owned(),
        reports: vec![report(&gb.key, "GB", CASE, 7, 7); 513],
    };
    let mut answers = gb
        .ledger
        .report_events(tokio_stream::iter(vec![big]))
        .await
        .unwrap()
        .into_inner();
    let ended = answers.message().await.unwrap_err();
    assert_eq!(ended.code(), Code::ResourceExhausted);
    let anonymous = pb::ReportEventsRequest {
        batch_id: String::new(),
        reports: vec![report(&gb.key, "GB", CASE, 7, 7)],
    };
    let mut answers = gb
        .ledger
        .report_events(tokio_stream::iter(vec![anonymous]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        answers.message().await.unwrap_err().code(),
        Code::InvalidArgument
    );

    // An operator does not report.
    let refused = operator_client(&network)
        .report_events(tokio_stream::iter(Vec::<pb::ReportEventsRequest>::new()))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(reason(&refused), "CALLER_NOT_ALLOWED");

    let head = head_of(&mut gb.ledger, 2).await;
    assert_eq!(head.tree_head.unwrap().tree_size, 2);
}

fn resign(key: &EventSigningKey, mut report: pb::EventReport) -> pb::EventReport {
    let bytes = report.attestation.as_ref().unwrap().encode_to_vec();
    report.signature = key.sign(SigningDomain::EVENT, &bytes).to_bytes().to_vec();
    report
}

#[tokio::test]
async fn a_restarted_coordinator_keeps_its_log_and_counts_a_resent_report_once() {
    for mut network in Network::on_every_database().await {
        let mut gb = joined(&network, "GB", 7631).await;
        let _fr = joined(&network, "FR", 7632).await;
        let events: Vec<_> = (1..=2)
            .map(|n| report(&gb.key, "GB", CASE, n, n as u8))
            .collect();
        send(&gb, events.clone()).await;
        let before = head_of(&mut gb.ledger, 2).await;
        network.restart().await;
        let again = send(&gb, events).await;
        assert_eq!(
            outcomes(&again),
            [
                (pb::EventReportOutcome::Duplicate, 0),
                (pb::EventReportOutcome::Duplicate, 1)
            ]
        );
        let after = head_of(&mut gb.ledger, 2).await;
        assert_eq!(root(&after), root(&before));
        let next = send(&gb, vec![report(&gb.key, "GB", CASE, 3, 3)]).await;
        assert_eq!(outcomes(&next), [(pb::EventReportOutcome::Accepted, 2)]);
    }
}

/// `member`'s cosignature of `head` at `signed_at`, signed with `key`.
fn cosign_request(
    state: &str,
    key: &EventSigningKey,
    head: &pb::SignedTreeHead,
    signed_at: u64,
    idempotency_key: &str,
) -> pb::CosignTreeHeadRequest {
    let body = accord_trust::log::Note::parse(head.checkpoint.as_bytes())
        .unwrap()
        .text()
        .to_owned();
    let name = KeyName::parse(&format!("accord/state/{state}")).unwrap();
    let mut note = accord_trust::log::Note::new(body).unwrap();
    accord_trust::log::cosign(&mut note, &name, key, signed_at).unwrap();
    let line = &note.signatures()[0];
    pb::CosignTreeHeadRequest {
        idempotency_key: idempotency_key.to_owned(),
        tree_head: head.tree_head.clone(),
        cosignature: Some(pb::StateSignature {
            state: state.to_owned(),
            signing_key_id: key.key_id().to_string(),
            signature: line.signature()[8..].to_vec(),
            signed_at: Some(prost_types::Timestamp {
                seconds: i64::try_from(signed_at).unwrap(),
                nanos: 0,
            }),
        }),
    }
}

/// `member`'s node sends `request`; answers the head with its cosignatures, or the refusal.
async fn cosign(
    member: &Member,
    request: pb::CosignTreeHeadRequest,
) -> Result<pb::SignedTreeHead, tonic::Status> {
    let answer = member.ledger.clone().cosign_tree_head(request).await?;
    Ok(answer.into_inner().tree_head.unwrap())
}

#[tokio::test]
async fn members_cosign_heads_as_witnesses_and_a_false_cosignature_is_refused() {
    let network = Network::start().await;
    let mut gb = joined(&network, "GB", 7641).await;
    let fr = joined(&network, "FR", 7642).await;
    send(&gb, vec![report(&gb.key, "GB", CASE, 1, 1)]).await;
    let head = head_of(&mut gb.ledger, 1).await;

    let cosigned = cosign(
        &gb,
        cosign_request("GB", &gb.key, &head, 1_764_000_000, "cosign-1"),
    )
    .await
    .unwrap();
    assert_eq!(cosigned.cosignatures.len(), 1);
    assert_eq!(cosigned.cosignatures[0].state, "GB");
    // The checkpoint carries the cosignature line, which the witness's key verifies.
    let witness = NoteVerifier::new(
        KeyName::parse("accord/state/GB").unwrap(),
        SignatureType::CosignatureV1,
        gb.key.verifying_key(),
    );
    let opened = Checkpoint::open(
        cosigned.checkpoint.as_bytes(),
        &log_verifier(&network),
        &[witness],
    )
    .unwrap();
    assert_eq!(opened.cosignatures.len(), 1);
    // Replayed under the same key; read back with the head.
    let replay = cosign(
        &gb,
        cosign_request("GB", &gb.key, &head, 1_764_000_000, "cosign-1"),
    )
    .await
    .unwrap();
    assert_eq!(replay, cosigned);

    // A head with another root than the published one.
    let mut forked = head.clone();
    forked.tree_head.as_mut().unwrap().root_hash = vec![0; 32];
    let refused = cosign(
        &gb,
        cosign_request("GB", &gb.key, &forked, 1_764_000_000, "cosign-2"),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason(&refused), "DIGEST_MISMATCH");
    // FR's node signing for GB, and GB signing with FR's key.
    let refused = cosign(
        &fr,
        cosign_request("GB", &gb.key, &head, 1_764_000_000, "cosign-3"),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let refused = cosign(
        &gb,
        cosign_request("GB", &fr.key, &head, 1_764_000_000, "cosign-4"),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(reason(&refused), "SIGNATURE_INVALID");
    // A signature over another time than the one claimed.
    let mut wrong_time = cosign_request("GB", &gb.key, &head, 1_764_000_000, "cosign-5");
    wrong_time.cosignature.as_mut().unwrap().signed_at = Some(prost_types::Timestamp {
        seconds: 1_764_000_001,
        nanos: 0,
    });
    let refused = cosign(&gb, wrong_time).await.unwrap_err();
    assert_eq!(reason(&refused), "SIGNATURE_INVALID");
    let head = gb
        .ledger
        .get_tree_head(pb::GetTreeHeadRequest { tree_size: 1 })
        .await
        .unwrap()
        .into_inner()
        .tree_head
        .unwrap();
    assert_eq!(
        head.cosignatures.len(),
        1,
        "a refused cosignature was recorded"
    );
}

#[tokio::test]
async fn batches_sent_at_once_are_logged_together_each_report_once() {
    for network in Network::on_every_database().await {
        let gb = joined(&network, "GB", 7641).await;
        // Eight batches at once, on eight streams: each repeats the same 20 reports and adds
        // 5 of its own. Batches that wait for the append lock are committed together.
        let shared: Vec<pb::EventReport> = (1..=20)
            .map(|sequence| {
                let case = "RDM-GB-FR-01J9Z8Q4M6W3XR7T2K5N8P4Q7A";
                report_of(&gb.key, "GB", case, sequence, 1, Kind::Received)
            })
            .collect();
        let sends = (0..8u8).map(|batch| {
            let mut reports = shared.clone();
            reports.extend((1..=5).map(|sequence| {
                let case = format!("RDM-GB-FR-01J9Z8Q4M6W3XR7T2K5N8P4Q{batch:02}");
                report_of(&gb.key, "GB", &case, sequence, batch + 2, Kind::Received)
            }));
            send(&gb, reports)
        });
        let answers = futures_util::future::join_all(sends).await;
        // Each shared report is logged once: accepted in one batch, a duplicate of the same
        // leaf in every other.
        for index in 0..20 {
            let results: Vec<_> = answers.iter().map(|results| &results[index]).collect();
            let accepted = results
                .iter()
                .filter(|result| result.outcome() == pb::EventReportOutcome::Accepted)
                .count();
            assert_eq!(accepted, 1, "report {index}");
            assert!(
                results
                    .iter()
                    .all(|result| result.leaf_index == results[0].leaf_index)
            );
        }
        for results in &answers {
            assert!(
                results[20..]
                    .iter()
                    .all(|result| result.outcome() == pb::EventReportOutcome::Accepted)
            );
        }
        let mut leaf_indices: Vec<u64> = answers
            .iter()
            .flatten()
            .map(|result| result.leaf_index)
            .collect();
        leaf_indices.sort_unstable();
        leaf_indices.dedup();
        assert_eq!(leaf_indices, (0..60).collect::<Vec<u64>>());
        let mut reader = gb.ledger.clone();
        let head = head_of(&mut reader, 60).await;
        assert_eq!(head.tree_head.unwrap().tree_size, 60);
    }
}
