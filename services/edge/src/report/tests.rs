//! The report's signed form: what the coordinator proposes opens, is final only with every
//! affected state's countersignature, and any change to a bundle is caught.

use accord_domain::StateCode;
use accord_domain::settlement::InputParts;
use accord_proto::v1 as pb;
use accord_trust::log::{MemoryTree, consistency_proof, leaf_hash};
use prost::Message;

use super::bundle::{self, Passed, TrustedCheckpoint};
use super::testing::{CUT_OFF_SIZE, Network};
use super::{Error, open, propose, report_digest, sign};

fn state(code: &str) -> StateCode {
    StateCode::parse(code).unwrap()
}

fn verify_bundle(
    network: &Network,
    bytes: &[u8],
    trusted: Option<&TrustedCheckpoint>,
    events: &[bundle::Event],
) -> Result<Vec<Passed>, bundle::Error> {
    let mut passed = Vec::new();
    let roots = network.root.bundle();
    bundle::verify(bytes, &roots, trusted, events, &mut |check| {
        passed.push(check);
    })?;
    Ok(passed)
}

#[test]
fn a_proposed_report_opens_and_is_final_once_every_affected_state_countersigned() {
    let network = Network::new(CUT_OFF_SIZE);
    let signed = network.final_report();
    let opened = open(&signed, &network.coordinator.verifying_key()).unwrap();
    let affected: Vec<&str> = opened
        .affected_states()
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(affected, ["DE", "FR", "GB", "IT"]);
    assert_eq!(opened.digest(), report_digest(opened.report()));
    let report = opened.report();
    assert_eq!(
        (
            report.netting_efficiency_numerator,
            report.netting_efficiency_denominator
        ),
        (
            report.required_gross - report.required,
            report.required_gross
        )
    );
    let signed_states = opened.check_final(network.directory.directory()).unwrap();
    assert_eq!(signed_states.len(), 4);
}

#[test]
fn the_same_inputs_in_another_order_give_the_same_bytes() {
    let network = Network::new(CUT_OFF_SIZE);
    let mut shuffled: InputParts = Network::inputs();
    shuffled.returns.reverse();
    let first = propose(&network.facts(), Network::inputs()).unwrap();
    let second = propose(&network.facts(), shuffled).unwrap();
    assert_eq!(first.encode_to_vec(), second.encode_to_vec());
}

#[test]
fn a_dropped_countersignature_is_named_by_its_state() {
    let network = Network::new(CUT_OFF_SIZE);
    let mut signed = network.final_report();
    signed
        .countersignatures
        .retain(|countersignature| countersignature.state != "FR");
    let opened = open(&signed, &network.coordinator.verifying_key()).unwrap();
    let refused = opened.check_final(network.directory.directory());
    assert!(
        matches!(refused, Err(Error::CountersignatureMissing(missing)) if missing == state("FR")),
        "{refused:?}"
    );
}

#[test]
fn a_countersignature_by_another_states_key_is_refused() {
    let network = Network::new(CUT_OFF_SIZE);
    let mut signed = network.final_report();
    let germany_key = signed.countersignatures[0].signing_key_id.clone();
    signed.countersignatures[1].signing_key_id = germany_key;
    let opened = open(&signed, &network.coordinator.verifying_key()).unwrap();
    let refused = opened.check_final(network.directory.directory());
    assert!(
        matches!(refused, Err(Error::CountersignatureKey { .. })),
        "{refused:?}"
    );
}

/// A change to a report.
type Alteration = Box<dyn FnOnce(&mut pb::SettlementReport)>;

/// Re-signs `signed` after `alter` changed its report: the coordinator's key signing a
/// wrong report.
fn resigned(
    network: &Network,
    signed: &pb::SignedSettlementReport,
    alter: impl FnOnce(&mut pb::SettlementReport),
) -> pb::SignedSettlementReport {
    let mut report = signed.report.clone().unwrap();
    alter(&mut report);
    sign(report, &network.coordinator)
}

#[test]
fn a_report_the_coordinator_signed_with_a_wrong_figure_or_certificate_does_not_open() {
    let network = Network::new(CUT_OFF_SIZE);
    let signed = network.final_report();
    let key = network.coordinator.verifying_key();
    let cases: Vec<(&str, Alteration)> = vec![
        (
            "settled",
            Box::new(|report: &mut pb::SettlementReport| report.settled += 1),
        ),
        (
            "netting ratio",
            Box::new(|report: &mut pb::SettlementReport| {
                report.netting_efficiency_denominator += 1;
            }),
        ),
        (
            "potential",
            Box::new(|report: &mut pb::SettlementReport| {
                let certificate = report.certificate.as_mut().unwrap();
                certificate.potentials[0].admitting += 5;
            }),
        ),
        (
            "affected states",
            Box::new(|report: &mut pb::SettlementReport| {
                report.affected_states.retain(|affected| affected != "IT");
            }),
        ),
        (
            "state figure",
            Box::new(|report: &mut pb::SettlementReport| report.state_figures[0].debts += 1),
        ),
    ];
    for (what, alter) in cases {
        let refused = open(&resigned(&network, &signed, alter), &key);
        assert!(
            matches!(
                refused,
                Err(Error::NotOptimal(_) | Error::Recomputed(_) | Error::Malformed { .. })
            ),
            "{what}: {refused:?}"
        );
    }
}

#[test]
fn a_bundle_verifies_with_a_trusted_checkpoint_before_or_after_the_cut_off_and_events() {
    let mut network = Network::new(CUT_OFF_SIZE);
    let bytes = network.bundle(network.final_report()).encode_to_vec();
    let events = [
        network.event(3, CUT_OFF_SIZE),
        network.event(9, CUT_OFF_SIZE),
    ];
    let earlier = network.trusted(4, CUT_OFF_SIZE);
    let passed = verify_bundle(&network, &bytes, Some(&earlier), &events).unwrap();
    assert_eq!(passed.len(), 6 + 4 + 1 + 1 + 2, "{passed:#?}");
    assert!(passed.contains(&Passed::Final(["DE", "FR", "GB", "IT"].map(state).to_vec())));

    for index in CUT_OFF_SIZE..CUT_OFF_SIZE + 5 {
        network.append(index);
    }
    let later = network.trusted(CUT_OFF_SIZE + 5, CUT_OFF_SIZE);
    assert!(verify_bundle(&network, &bytes, Some(&later), &[]).is_ok());
    let same = network.trusted(CUT_OFF_SIZE, CUT_OFF_SIZE);
    assert!(verify_bundle(&network, &bytes, Some(&same), &[]).is_ok());
}

#[test]
fn a_checkpoint_of_a_forked_log_is_inconsistent_with_the_cut_off() {
    let network = Network::new(CUT_OFF_SIZE);
    let bytes = network.bundle(network.final_report()).encode_to_vec();
    // The same first six leaves, then others: a log that forked after size 6.
    let mut fork = MemoryTree::new();
    for index in 0..CUT_OFF_SIZE + 2 {
        let salt = if index < 6 { "" } else { "F" };
        fork.push(leaf_hash(&network.leaf(index, salt)));
    }
    let size = CUT_OFF_SIZE + 2;
    let root = fork.root_hash(size).unwrap();
    let name = accord_trust::log::KeyName::parse(super::testing::LOG_ORIGIN).unwrap();
    let note = accord_trust::log::Checkpoint::new(&name, size, root)
        .sign(&network.coordinator)
        .unwrap();
    let Ok(proof) = consistency_proof(&fork, CUT_OFF_SIZE, size);
    let trusted = TrustedCheckpoint {
        note: note.to_string().into_bytes(),
        consistency_proof: proof.unwrap().path,
    };
    let refused = verify_bundle(&network, &bytes, Some(&trusted), &[]);
    assert!(
        matches!(refused, Err(bundle::Error::Inconsistent { .. })),
        "{refused:?}"
    );
}

#[test]
fn a_swapped_event_is_not_included() {
    let network = Network::new(CUT_OFF_SIZE);
    let bytes = network.bundle(network.final_report()).encode_to_vec();
    let mut swapped = network.event(3, CUT_OFF_SIZE);
    swapped.leaf = network.leaves[4].clone();
    let refused = verify_bundle(&network, &bytes, None, &[swapped]);
    assert!(
        matches!(
            refused,
            Err(bundle::Error::EventNotIncluded { leaf_index: 3, .. })
        ),
        "{refused:?}"
    );
}

#[test]
fn every_byte_of_a_bundle_matters() {
    let network = Network::new(CUT_OFF_SIZE);
    let bytes = network.bundle(network.final_report()).encode_to_vec();
    assert!(verify_bundle(&network, &bytes, None, &[]).is_ok());
    let mut unreadable = 0;
    for position in 0..bytes.len() {
        let mut altered = bytes.clone();
        altered[position] ^= 0x01;
        match verify_bundle(&network, &altered, None, &[]) {
            Ok(_) => panic!("byte {position} of {} altered, still verifies", bytes.len()),
            Err(error) if error.is_unreadable() => unreadable += 1,
            Err(_) => {}
        }
    }
    // Most alterations land in values and fail a named check; the rest break the encoding.
    assert!(
        unreadable * 4 < bytes.len(),
        "{unreadable} of {}",
        bytes.len()
    );
}
