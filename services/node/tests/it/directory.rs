//! Nodes that take their partners from the coordinator's signed directory (`[coordinator]`):
//! a real coordinator and real nodes over mTLS on 127.0.0.1. The nodes fetch and watch the
//! coordinator's directory themselves; the versions that list members are signed here with
//! the coordinator's own key and handed to each node's follower, as the watch hands what
//! it receives (the coordinator enrols members only through `Enrol`).

use accord_domain::membership::{
    Agreement, CertificateRole, Directory, DirectoryChange, Endpoint, Member, MemberCertificate,
    MemberStatus, SigningKeyEntry, SigningKeyStatus, StatusReason,
};
use accord_domain::parity::ParityLimit;
use accord_domain::{Regime, Timestamp};
use accord_edge::directory::SignedDirectory;
use accord_node::clock::Clock;
use accord_node::config::RawConfig;
use accord_node::directory::{Offered, Refused};
use accord_node::store::StoredDirectory;
use accord_proto::v1 as pb;
use accord_trust::{EventSigningKey, EventVerifyingKey};
use tonic::Code;

use crate::federation::{Federation, START_MILLIS, eventually, state};
use crate::readmission::{acceptance, both_reach, case, deliver, open_request, refused_open, sign};
use crate::support::{assert_refused, time};

/// A federation of GB and FR following a real coordinator, and the directory the test
/// publishes to them.
struct Network {
    federation: Federation,
    directory: Directory,
}

impl Network {
    /// GB and FR following a real coordinator; each node's database as `databases` names
    /// it (a SQLite file of its own otherwise). Waits until both hold the coordinator's
    /// first directory, fetched over mTLS.
    async fn start(databases: &[(&str, String)]) -> Self {
        let federation = Federation::start_following(&["GB", "FR"], databases).await;
        for code in ["GB", "FR"] {
            let follower = federation.nodes[&state(code)].directory.clone().unwrap();
            eventually(&format!("{code} holds the coordinator's directory"), || {
                let follower = follower.clone();
                async move { follower.held_version().await.is_some() }
            })
            .await;
        }
        let directory = Directory::empty(federation.clock.now());
        Self {
            federation,
            directory,
        }
    }

    fn now(&self) -> Timestamp {
        self.federation.clock.now()
    }

    /// `code` as the directory lists it on enrolment: its node's address and its key.
    fn member(&self, code: &str) -> Member {
        let address = self.federation.nodes[&state(code)].address;
        let key =
            EventVerifyingKey::load(&self.federation.pki.verifying_key_path(state(code))).unwrap();
        Member {
            state: state(code),
            status: MemberStatus::Active,
            status_reason: None,
            status_changed_at: self.now(),
            joined_at: self.now(),
            endpoint: Endpoint::parse(&format!("https://{address}")).unwrap(),
            certificates: vec![MemberCertificate {
                role: CertificateRole::Node,
                sha256_fingerprint: [1; 32],
                serial: vec![1],
                not_before: self.now(),
                not_after: self.now().plus_millis(30 * 86_400_000),
            }],
            signing_keys: vec![key_entry(&key, self.now())],
        }
    }

    /// The next version after `change`, signed by the coordinator and applied on both nodes.
    async fn publish(&mut self, change: DirectoryChange) {
        self.directory = self.directory.apply(change, self.now()).unwrap();
        let signed = self.signed(&self.directory, &self.coordinator_key());
        for code in ["GB", "FR"] {
            let offered = self.offer(code, signed.clone()).await.unwrap();
            assert_eq!(
                offered,
                Offered::Applied(self.directory.version()),
                "{code}"
            );
        }
    }

    async fn offer(&self, code: &str, signed: Vec<u8>) -> Result<Offered, Refused> {
        let follower = self.federation.nodes[&state(code)]
            .directory
            .clone()
            .unwrap();
        follower.offer(signed).await
    }

    fn coordinator_key(&self) -> EventSigningKey {
        EventSigningKey::load(&self.federation.coordinator.as_ref().unwrap().signing_key).unwrap()
    }

    fn signed(&self, directory: &Directory, key: &EventSigningKey) -> Vec<u8> {
        SignedDirectory::sign(directory.clone(), "https://127.0.0.1:7100", key)
            .bytes()
            .to_vec()
    }

    /// GB and FR enrolled, agreeing `regimes` from now with no end.
    async fn partners(mut self, regimes: &[Regime]) -> Self {
        for code in ["GB", "FR"] {
            let member = self.member(code);
            self.publish(DirectoryChange::Enrol { member }).await;
        }
        let agreement = self.agreement(regimes, None);
        self.publish(DirectoryChange::SetAgreement { agreement })
            .await;
        self
    }

    /// The GB–FR agreement in force from the start of the directory, for `regimes`.
    fn agreement(&self, regimes: &[Regime], sunset_at: Option<Timestamp>) -> Agreement {
        Agreement::new(
            state("GB"),
            state("FR"),
            regimes.to_vec(),
            Some(ParityLimit(50)),
            Timestamp::from_millis(START_MILLIS).unwrap(),
            sunset_at,
        )
        .unwrap()
    }
}

fn key_entry(key: &EventVerifyingKey, from: Timestamp) -> SigningKeyEntry {
    SigningKeyEntry {
        key_id: key.key_id().to_string(),
        public_key: key.to_bytes(),
        status: SigningKeyStatus::Active,
        valid_from: from,
        valid_until: None,
    }
}

/// Opens GB's request to FR and waits until FR received it; returns the case reference.
async fn open_and_receive(federation: &Federation, key: &str) -> String {
    let mut gateway = federation.gateway("GB").await;
    let opened = gateway.open_readmission(open_request(key)).await.unwrap();
    let case_ref = opened.into_inner().readmission.unwrap().case_ref;
    both_reach(federation, &case_ref, pb::ReadmissionStatus::Received).await;
    case_ref
}

#[tokio::test]
async fn partners_appear_when_the_directory_lists_them_and_a_case_flows_between_them() {
    let network = Network::start(&[]).await;
    let federation = &network.federation;
    for code in ["GB", "FR"] {
        assert!(
            federation.app(code).partner_states().is_empty(),
            "{code}: no member yet"
        );
    }
    let refused = refused_open(federation, "GB", open_request("before")).await;
    assert_refused(&refused, Code::FailedPrecondition, "NO_AGREEMENT");

    let network = network.partners(&[Regime::Ukfr2025]).await;
    let federation = &network.federation;
    assert_eq!(federation.app("GB").partner_states(), vec![state("FR")]);
    assert_eq!(federation.app("FR").partner_states(), vec![state("GB")]);
    let case_ref = open_and_receive(federation, "flows").await;
    let mut fr = federation.gateway("FR").await;
    fr.decide_readmission(acceptance("flows-accept", &case_ref))
        .await
        .unwrap();
    both_reach(federation, &case_ref, pb::ReadmissionStatus::Accepted).await;
}

#[tokio::test]
async fn an_agreement_change_takes_effect_without_a_restart() {
    let mut network = Network::start(&[])
        .await
        .partners(&[Regime::Ukfr2025])
        .await;
    let dublin = pb::OpenReadmissionRequest {
        regime: pb::Regime::DublinIii as i32,
        ..open_request("dublin")
    };
    let refused = refused_open(&network.federation, "GB", dublin.clone()).await;
    assert_refused(&refused, Code::FailedPrecondition, "NO_AGREEMENT");

    let widened = network.agreement(&[Regime::Ukfr2025, Regime::DublinIii], None);
    network
        .publish(DirectoryChange::SetAgreement { agreement: widened })
        .await;
    let mut gateway = network.federation.gateway("GB").await;
    gateway.open_readmission(dublin).await.unwrap();

    // The sunset: no new case from then on, while the case already open carries on.
    let open_case = open_and_receive(&network.federation, "before-sunset").await;
    let sunset = network.now().plus_millis(1);
    let ending = network.agreement(&[Regime::Ukfr2025, Regime::DublinIii], Some(sunset));
    network
        .publish(DirectoryChange::SetAgreement { agreement: ending })
        .await;
    network.federation.clock.advance_millis(1);
    let refused = refused_open(&network.federation, "GB", open_request("after-sunset")).await;
    assert_refused(&refused, Code::FailedPrecondition, "NO_AGREEMENT");
    assert!(refused.message().contains("sunset"), "{refused:?}");
    let mut fr = network.federation.gateway("FR").await;
    fr.decide_readmission(acceptance("wind-down", &open_case))
        .await
        .unwrap();
    both_reach(
        &network.federation,
        &open_case,
        pb::ReadmissionStatus::Accepted,
    )
    .await;
}

#[tokio::test]
async fn suspension_refuses_new_cases_both_ways_and_holds_deliveries_until_reinstatement() {
    let mut network = Network::start(&[])
        .await
        .partners(&[Regime::Ukfr2025])
        .await;
    let case_ref = open_and_receive(&network.federation, "open").await;
    network
        .publish(DirectoryChange::Suspend {
            state: state("FR"),
            reason: StatusReason::SecurityIncident,
        })
        .await;
    let federation = &network.federation;

    let refused = refused_open(federation, "GB", open_request("to-suspended")).await;
    assert_refused(&refused, Code::FailedPrecondition, "PARTNER_SUSPENDED");
    let from_suspended = pb::OpenReadmissionRequest {
        requested_state: "GB".into(),
        ..open_request("from-suspended")
    };
    let refused = refused_open(federation, "FR", from_suspended).await;
    assert_refused(&refused, Code::PermissionDenied, "MEMBER_SUSPENDED");
    let refused = deliver(federation, "FR", "GB", pb::ReadmissionEvent::default())
        .await
        .unwrap_err();
    assert_refused(&refused, Code::PermissionDenied, "MEMBER_SUSPENDED");

    // FR's caseworkers still decide the case already open; the decision waits in FR's outbox.
    let mut fr = federation.gateway("FR").await;
    fr.decide_readmission(acceptance("held", &case_ref))
        .await
        .unwrap();
    let fr_store = federation.app("FR").store().clone();
    assert_eq!(fr_store.pending_delivery_count().await.unwrap(), 1);
    federation.clock.advance_millis(1_000);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let seen = case(federation, "GB", &case_ref).await.unwrap();
    assert_eq!(
        seen.status,
        pb::ReadmissionStatus::Received as i32,
        "held while suspended"
    );
    assert_eq!(
        fr_store.pending_delivery_count().await.unwrap(),
        1,
        "nothing lost"
    );

    network
        .publish(DirectoryChange::Reinstate { state: state("FR") })
        .await;
    both_reach(
        &network.federation,
        &case_ref,
        pb::ReadmissionStatus::Accepted,
    )
    .await;
    open_and_receive(&network.federation, "after-reinstatement").await;
}

#[tokio::test]
async fn a_directory_with_a_bad_signature_or_a_lower_version_is_refused_and_the_held_one_stays() {
    let mut network = Network::start(&[])
        .await
        .partners(&[Regime::Ukfr2025])
        .await;
    let older = network.directory.clone();
    network
        .publish(DirectoryChange::Suspend {
            state: state("FR"),
            reason: StatusReason::KeyCompromise,
        })
        .await;
    let held = network.directory.version();
    let gb = network.federation.nodes[&state("GB")]
        .directory
        .clone()
        .unwrap();
    let refused_before = gb.refused();

    let forger = EventSigningKey::generate().unwrap();
    let reinstated = network
        .directory
        .apply(
            DirectoryChange::Reinstate { state: state("FR") },
            network.now(),
        )
        .unwrap();
    let forged = network.signed(&reinstated, &forger);
    assert!(matches!(
        network.offer("GB", forged).await,
        Err(Refused::Signature(_))
    ));
    let replayed = network.signed(&older, &network.coordinator_key());
    assert!(matches!(
        network.offer("GB", replayed).await,
        Err(Refused::Older { offered, held: kept }) if offered == held - 1 && kept == held
    ));
    let same = network.signed(&network.directory, &network.coordinator_key());
    assert_eq!(network.offer("GB", same).await.unwrap(), Offered::Unchanged);

    assert_eq!(gb.refused(), refused_before + 2);
    assert_eq!(gb.held_version().await, Some(held));
    assert_eq!(network.federation.app("GB").directory_version(), Some(held));
    let stored = network
        .federation
        .app("GB")
        .store()
        .load_directory()
        .await
        .unwrap();
    assert_eq!(
        stored.unwrap().version,
        held,
        "the store keeps the held version"
    );
    let refused = refused_open(&network.federation, "GB", open_request("still-held")).await;
    assert_refused(&refused, Code::FailedPrecondition, "PARTNER_SUSPENDED");
}

#[tokio::test]
async fn a_node_restarted_while_the_coordinator_is_down_starts_from_its_stored_directory() {
    let mut databases = vec![Vec::new()];
    if let Ok(server_url) = std::env::var("ACCORD_TEST_DATABASE_URL") {
        databases.push(vec![
            (
                "GB",
                crate::databases::fresh_postgres_url(&server_url).await,
            ),
            (
                "FR",
                crate::databases::fresh_postgres_url(&server_url).await,
            ),
        ]);
    }
    for databases in databases {
        let network = Network::start(&databases)
            .await
            .partners(&[Regime::Ukfr2025])
            .await;
        let version = network.directory.version();
        let mut federation = network.federation;
        // The nodes first: the coordinator's shutdown waits for open watches to end.
        for code in ["GB", "FR"] {
            federation.stop(code).await;
        }
        federation.stop_coordinator().await;
        for code in ["GB", "FR"] {
            federation.restart(code).await;
            assert_eq!(
                federation.app(code).directory_version(),
                Some(version),
                "{code}"
            );
        }
        open_and_receive(&federation, "from-the-store").await;

        // The coordinator back, still at its own version 0: the node reconnects, is sent
        // that lower version over the wire, refuses it and keeps what it holds.
        let gb = federation.nodes[&state("GB")].directory.clone().unwrap();
        let refused_before = gb.refused();
        federation.restart_coordinator().await;
        eventually("GB refuses the coordinator's lower version", || {
            let gb = gb.clone();
            async move { gb.refused() > refused_before }
        })
        .await;
        assert_eq!(gb.held_version().await, Some(version));
        assert_eq!(federation.app("GB").directory_version(), Some(version));
        for code in ["GB", "FR"] {
            federation.stop(code).await;
        }
    }
}

#[tokio::test]
async fn events_signed_by_either_live_key_verify_and_a_key_not_valid_at_receipt_is_refused() {
    let mut network = Network::start(&[])
        .await
        .partners(&[Regime::Ukfr2025])
        .await;
    let original = network.federation.signing_key("FR");
    let rotated = EventSigningKey::generate().unwrap();
    let entry = key_entry(&rotated.verifying_key(), network.now());
    network
        .publish(DirectoryChange::AddSigningKey {
            state: state("FR"),
            key: entry,
        })
        .await;
    let acceptance_by = |case_ref: &str, key: &EventSigningKey| {
        let mut event = pb::ReadmissionEvent {
            case_ref: case_ref.into(),
            sequence: 3,
            kind: pb::ReadmissionEventKind::Accepted as i32,
            acting_state: "FR".into(),
            occurred_at: Some(time(START_MILLIS)),
            idempotency_key: format!("{case_ref}-accepted"),
            ..Default::default()
        };
        sign(&mut event, key);
        event
    };
    for (key, name) in [(&original, "original"), (&rotated, "rotated")] {
        let case_ref = open_and_receive(&network.federation, name).await;
        let event = acceptance_by(&case_ref, key);
        deliver(&network.federation, "FR", "GB", event)
            .await
            .unwrap();
        let seen = case(&network.federation, "GB", &case_ref).await.unwrap();
        assert_eq!(
            seen.status,
            pb::ReadmissionStatus::Accepted as i32,
            "{name}"
        );
    }

    let case_ref = open_and_receive(&network.federation, "retired").await;
    network
        .publish(DirectoryChange::RetireSigningKey {
            state: state("FR"),
            key_id: original.key_id().to_string(),
        })
        .await;
    network.federation.clock.advance_millis(1);
    // Dated before the retirement, but received after it: refused.
    let event = acceptance_by(&case_ref, &original);
    let refused = deliver(&network.federation, "FR", "GB", event)
        .await
        .unwrap_err();
    assert_refused(&refused, Code::InvalidArgument, "SIGNATURE_INVALID");
    let unknown = acceptance_by(&case_ref, &EventSigningKey::generate().unwrap());
    let refused = deliver(&network.federation, "FR", "GB", unknown)
        .await
        .unwrap_err();
    assert_refused(&refused, Code::FailedPrecondition, "SIGNING_KEY_UNKNOWN");
    let seen = case(&network.federation, "GB", &case_ref).await.unwrap();
    assert_eq!(seen.status, pb::ReadmissionStatus::Received as i32);
}

#[tokio::test]
async fn the_store_keeps_only_a_newer_directory() {
    for database in crate::databases::fresh_databases().await {
        let store = database.store().await;
        let backend = database.backend;
        assert_eq!(store.load_directory().await.unwrap(), None, "{backend}");
        let kept = |version: u64| StoredDirectory {
            version,
            signed: vec![u8::try_from(version).unwrap(); 4],
            saved_at: START_MILLIS,
        };
        assert!(store.save_directory(kept(3)).await.unwrap(), "{backend}");
        assert!(
            !store.save_directory(kept(2)).await.unwrap(),
            "{backend}: older"
        );
        assert!(
            !store.save_directory(kept(3)).await.unwrap(),
            "{backend}: the same"
        );
        assert_eq!(
            store.load_directory().await.unwrap(),
            Some(kept(3)),
            "{backend}"
        );
        assert!(store.save_directory(kept(4)).await.unwrap(), "{backend}");
        assert_eq!(
            store.load_directory().await.unwrap(),
            Some(kept(4)),
            "{backend}"
        );
    }
}

#[test]
fn a_configuration_with_both_a_coordinator_and_partners_is_invalid() {
    let text = r#"
        state = "FR"
        listen_addr = "127.0.0.1:0"
        [tls]
        ca = "ca.pem"
        certificate = "fr.pem"
        private_key = "fr.key"
        signing_key = "fr.signing.key"
        [coordinator]
        endpoint = "https://127.0.0.1:7100"
        signing_public_key = "coordinator.signing.pub"
        [[partners]]
        state = "GB"
        endpoint = "https://127.0.0.1:7002"
        signing_public_key = "gb.signing.pub"
        regimes = ["UKFR_2025"]
    "#;
    let raw: RawConfig = toml_config(text);
    let error = raw.validate().unwrap_err().to_string();
    assert!(
        error.contains("`partners`") && error.contains("[coordinator]"),
        "{error}"
    );

    let alone: RawConfig = toml_config(&text[..text.find("[[partners]]").unwrap()]);
    let config = alone.validate().unwrap();
    let coordinator = config.coordinator.unwrap();
    assert_eq!(
        coordinator.server_name, "127.0.0.1",
        "the endpoint's host by default"
    );
    assert!(config.partners.is_empty());
}

fn toml_config(text: &str) -> RawConfig {
    use figment::providers::{Format, Serialized, Toml};
    figment::Figment::from(Serialized::defaults(RawConfig::empty()))
        .merge(Toml::string(text))
        .extract()
        .unwrap()
}
