//! Every mutating RPC carries a client-generated idempotency key.

use crate::api::{Api, methods};

/// RPC name prefixes of read-only calls, which need no idempotency key.
const READ_ONLY_PREFIXES: &[&str] = &["Get", "List", "Watch", "Check"];

/// Mutating RPCs whose idempotency key sits deeper than the request, with where it is.
const KEY_INSIDE_PAYLOAD: &[(&str, &str)] = &[
    // Partner deliveries are idempotent on the delivered event's own key.
    ("DeliverReadmissionEvent", "event.idempotency_key"),
    ("DeliverOfferEvent", "event.idempotency_key"),
    ("DeliverAdmissionEvent", "event.idempotency_key"),
    // Stream batches are idempotent per report, on the attestation's key.
    ("ReportEvents", "reports.attestation.idempotency_key"),
];

fn is_read_only(method_name: &str) -> bool {
    READ_ONLY_PREFIXES
        .iter()
        .any(|prefix| method_name.starts_with(prefix))
}

/// Whether the message named `type_name` has the dotted string field `path`.
fn has_string_field(api: &Api, type_name: &str, path: &str) -> bool {
    let messages = api.messages();
    let mut current = type_name.to_owned();
    let mut segments = path.split('.').peekable();
    while let Some(segment) = segments.next() {
        let Some((_, message)) = messages.get(&current) else {
            return false;
        };
        let Some(field) = message.field.iter().find(|field| field.name() == segment) else {
            return false;
        };
        if segments.peek().is_none() {
            return field.r#type() == prost_types::field_descriptor_proto::Type::String;
        }
        current = field.type_name().to_owned();
    }
    false
}

#[test]
fn every_mutating_rpc_carries_an_idempotency_key() {
    let api = Api::load();
    let mut missing = Vec::new();
    for service_name in api.service_names() {
        for method in methods(api.service(&service_name)) {
            if is_read_only(method.name()) {
                continue;
            }
            let path = KEY_INSIDE_PAYLOAD
                .iter()
                .find(|(name, _)| *name == method.name())
                .map_or("idempotency_key", |(_, path)| *path);
            if !has_string_field(&api, method.input_type(), path) {
                missing.push(format!("{service_name}.{} ({path})", method.name()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "mutating RPCs without an idempotency key: {missing:?}"
    );
}
