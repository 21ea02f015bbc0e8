//! No message that reaches the coordinator can carry personal data.

use crate::api::Api;

/// The services the coordinator serves.
const COORDINATOR_SERVICES: &[&str] = &["MembershipService", "LedgerService", "SettlementService"];

/// Files whose messages may carry personal data, between the two nodes of a case only.
const NODE_ONLY_FILES: &[&str] = &[
    "accord/v1/person.proto",
    "accord/v1/readmission.proto",
    "accord/v1/admission.proto",
];

/// Field names that would carry a person's data or free text about a case.
const PERSONAL_FIELD_NAMES: &[&str] = &[
    "person",
    "corrected_person",
    "keyed_pseudonym",
    "nationality",
    "birth_year",
    "vulnerable",
    "family_ties",
    "note",
    "notes",
    "questions",
    "answers",
    "grounds",
    "detailed_reasons",
];

#[test]
fn coordinator_messages_come_only_from_files_without_personal_data() {
    let api = Api::load();
    let messages = api.messages();
    for service in COORDINATOR_SERVICES {
        for name in api.reachable_messages(service) {
            let (file, _) = messages[&name];
            assert!(
                !NODE_ONLY_FILES.contains(&file),
                "{service} reaches {name}, defined in node-only {file}"
            );
        }
    }
}

#[test]
fn coordinator_messages_have_no_field_that_could_carry_a_person() {
    let api = Api::load();
    let messages = api.messages();
    for service in COORDINATOR_SERVICES {
        for name in api.reachable_messages(service) {
            let (_, message) = messages[&name];
            for field in &message.field {
                assert!(
                    !PERSONAL_FIELD_NAMES.contains(&field.name()),
                    "{service} reaches {name}.{}, a field for personal data",
                    field.name()
                );
                assert_ne!(
                    field.type_name(),
                    ".accord.v1.PersonalData",
                    "{service} reaches {name}.{}, of type PersonalData",
                    field.name()
                );
            }
        }
    }
}

#[test]
fn personal_data_does_reach_the_node_services() {
    // The counterpart of the checks above: they would pass vacuously if the walk were broken.
    let api = Api::load();
    for service in ["ReadmissionService", "AdmissionService"] {
        assert!(
            api.reachable_messages(service)
                .contains(".accord.v1.PersonalData"),
            "{service} carries PersonalData"
        );
    }
}
