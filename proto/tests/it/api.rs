//! The descriptor set: what it holds, and helpers to walk it.

use std::collections::{BTreeSet, HashMap};

use prost::Message;
use prost_types::field_descriptor_proto::Type;
use prost_types::{
    DescriptorProto, FileDescriptorSet, MethodDescriptorProto, ServiceDescriptorProto,
};

/// The package every Accord type lives in, as fully qualified names start.
pub const PACKAGE_PREFIX: &str = ".accord.v1.";

/// The decoded descriptor set of package `accord.v1` and its imports.
pub struct Api {
    files: FileDescriptorSet,
}

impl Api {
    /// Decodes the descriptor set the crate embeds for reflection.
    pub fn load() -> Api {
        let files = FileDescriptorSet::decode(accord_proto::FILE_DESCRIPTOR_SET)
            .expect("the embedded descriptor set decodes");
        Api { files }
    }

    /// The service named `name` (without package).
    pub fn service(&self, name: &str) -> &ServiceDescriptorProto {
        self.files
            .file
            .iter()
            .flat_map(|file| &file.service)
            .find(|service| service.name() == name)
            .unwrap_or_else(|| panic!("service {name} is in the descriptor set"))
    }

    /// Every service of the package, by name.
    pub fn service_names(&self) -> BTreeSet<String> {
        self.files
            .file
            .iter()
            .filter(|file| file.package() == "accord.v1")
            .flat_map(|file| &file.service)
            .map(|service| service.name().to_owned())
            .collect()
    }

    /// Every message of the package by fully qualified name (`.accord.v1.Name`), with the file
    /// that defines it.
    pub fn messages(&self) -> HashMap<String, (&str, &DescriptorProto)> {
        let mut messages = HashMap::new();
        for file in &self.files.file {
            for message in &file.message_type {
                let full_name = format!(".{}.{}", file.package(), message.name());
                messages.insert(full_name, (file.name(), message));
            }
        }
        messages
    }

    /// Every message reachable from the inputs and outputs of `service`'s RPCs, through
    /// message-typed fields, by fully qualified name.
    pub fn reachable_messages(&self, service: &str) -> BTreeSet<String> {
        let messages = self.messages();
        let mut reached = BTreeSet::new();
        let mut to_visit: Vec<String> = self
            .service(service)
            .method
            .iter()
            .flat_map(|method| {
                [
                    method.input_type().to_owned(),
                    method.output_type().to_owned(),
                ]
            })
            .collect();
        while let Some(name) = to_visit.pop() {
            if !name.starts_with(PACKAGE_PREFIX) || !reached.insert(name.clone()) {
                continue;
            }
            let (_, message) = messages
                .get(&name)
                .unwrap_or_else(|| panic!("message {name} is defined"));
            to_visit.extend(
                message
                    .field
                    .iter()
                    .filter(|field| field.r#type() == Type::Message)
                    .map(|field| field.type_name().to_owned()),
            );
        }
        reached
    }
}

/// The RPCs of a service.
pub fn methods(service: &ServiceDescriptorProto) -> &[MethodDescriptorProto] {
    &service.method
}

#[test]
fn the_descriptor_set_holds_the_five_services() {
    let api = Api::load();
    let expected: BTreeSet<String> = [
        "AdmissionService",
        "LedgerService",
        "MembershipService",
        "ReadmissionService",
        "SettlementService",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(api.service_names(), expected);
}

#[test]
fn the_descriptor_set_keeps_the_proto_comments_for_reflection_clients() {
    let api = Api::load();
    let readmission_file = api
        .files
        .file
        .iter()
        .find(|file| file.name() == "accord/v1/readmission.proto")
        .expect("readmission.proto is in the set");
    let source_info = readmission_file
        .source_code_info
        .as_ref()
        .expect("source info is kept");
    assert!(
        source_info.location.iter().any(|location| location
            .leading_comments()
            .contains("Opens a readmission case")),
        "the OpenReadmission comment is in the descriptor"
    );
}

#[test]
fn generated_clients_and_servers_exist_for_every_service() {
    // Naming the types is the assertion: this compiles only if tonic generated them.
    fn type_exists<T>() {}
    use accord_proto::v1::{
        admission_service_client::AdmissionServiceClient,
        admission_service_server::AdmissionServiceServer,
        ledger_service_client::LedgerServiceClient, ledger_service_server::LedgerServiceServer,
        membership_service_client::MembershipServiceClient,
        membership_service_server::MembershipServiceServer,
        readmission_service_client::ReadmissionServiceClient,
        readmission_service_server::ReadmissionServiceServer,
        settlement_service_client::SettlementServiceClient,
        settlement_service_server::SettlementServiceServer,
    };
    use tonic::transport::Channel;
    type_exists::<ReadmissionServiceClient<Channel>>();
    type_exists::<AdmissionServiceClient<Channel>>();
    type_exists::<MembershipServiceClient<Channel>>();
    type_exists::<LedgerServiceClient<Channel>>();
    type_exists::<SettlementServiceClient<Channel>>();
    type_exists::<ReadmissionServiceServer<()>>();
    type_exists::<AdmissionServiceServer<()>>();
    type_exists::<MembershipServiceServer<()>>();
    type_exists::<LedgerServiceServer<()>>();
    type_exists::<SettlementServiceServer<()>>();
}
