//! Nodes that take their partners from the coordinator's signed directory (`[coordinator]`):
//! a real coordinator and real nodes over mTLS on 127.0.0.1. The states join as ministries
//! do (a token from the operator, `Enrol`, the node configuration the join wrote); the
//! operator records agreements, suspends and reinstates; the members rotate their keys
//! themselves; the nodes follow every version through `WatchDirectory`.

use accord_domain::StateCode;
use accord_domain::membership::DirectoryChange;
use accord_edge::directory::SignedDirectory;
use accord_node::config::RawConfig;
use accord_node::directory::{Offered, Refused};
use accord_node::store::StoredDirectory;
use accord_proto::v1 as pb;
use accord_trust::{EventSigningKey, PeerIdentity};
use prost::Message;
use tonic::Code;

use crate::federation::{Federation, eventually, state};
use crate::readmission::{acceptance, both_reach, case, deliver, open_request, refused_open, sign};
use crate::support::{DAY_MS, assert_refused, time};

/// GB and FR, joined to a real coordinator and following its directory.
pub struct Network {
    pub federation: Federation,
    /// The clock's first instant (the wall clock's, when the network started).
    start: i64,
}

impl Network {
    /// GB and FR joined; each node's database as `databases` names it (the SQLite file the
    /// join chose otherwise). Waits until both nodes follow the directory that lists both.
    pub async fn start(databases: &[(&str, String)]) -> Self {
        let federation = Federation::start_joined(&["GB", "FR"], databases).await;
        let start = federation.clock_millis();
        let network = Self { federation, start };
        network.followed().await;
        network
    }

    /// Waits until both nodes applied the coordinator's current version; returns it.
    pub async fn followed(&self) -> u64 {
        let version = self.directory().await.directory.unwrap().version;
        for code in ["GB", "FR"] {
            let app = self.federation.app(code).clone();
            eventually(
                &format!("{code} follows directory version {version}"),
                || {
                    let app = app.clone();
                    async move { app.directory_version() == Some(version) }
                },
            )
            .await;
        }
        version
    }

    /// The coordinator's current signed directory.
    async fn directory(&self) -> pb::SignedDirectory {
        let mut operator = self.federation.operator();
        let answer = operator.get_directory(pb::GetDirectoryRequest {}).await;
        answer.unwrap().into_inner().directory.unwrap()
    }

    pub fn now(&self) -> i64 {
        self.federation.clock_millis()
    }

    /// The operator records that GB and FR agreed `regimes` from the clock's start, until
    /// `sunset_at` (milliseconds) if given; the nodes follow.
    pub async fn agree(&self, regimes: &[pb::Regime], sunset_at: Option<i64>) {
        let agreement = pb::Agreement {
            first_state: "FR".into(),
            second_state: "GB".into(),
            regimes: regimes.iter().map(|regime| *regime as i32).collect(),
            effective_from: Some(time(self.start)),
            sunset_at: sunset_at.map(time),
            parity_limit: Some(50),
            ..Default::default()
        };
        let request = pb::SetAgreementRequest {
            idempotency_key: format!("agree-{}-{}", regimes.len(), sunset_at.unwrap_or(0)),
            agreement: Some(agreement),
        };
        self.federation
            .operator()
            .set_agreement(request)
            .await
            .unwrap();
        self.followed().await;
    }

    /// The operator suspends `code` (or reinstates it); the nodes follow.
    async fn suspend(&self, code: &str, suspended: bool) {
        let mut operator = self.federation.operator();
        if suspended {
            let request = pb::SuspendMemberRequest {
                idempotency_key: format!("suspend-{code}-{}", self.now()),
                state: code.into(),
                reason: pb::MemberStatusReason::SecurityIncident as i32,
            };
            operator.suspend_member(request).await.unwrap();
        } else {
            let request = pb::ReinstateMemberRequest {
                idempotency_key: format!("reinstate-{code}-{}", self.now()),
                state: code.into(),
            };
            operator.reinstate_member(request).await.unwrap();
        }
        self.followed().await;
    }

    /// GB's request to FR for a person who arrived the day before now.
    pub fn request(&self, key: &str) -> pb::OpenReadmissionRequest {
        pb::OpenReadmissionRequest {
            arrival_time: Some(time(self.now() - DAY_MS)),
            ..open_request(key)
        }
    }

    /// Opens GB's request to FR and waits until FR received it; returns the case reference.
    pub async fn open_and_receive(&self, key: &str) -> String {
        let mut gateway = self.federation.gateway("GB").await;
        let opened = gateway.open_readmission(self.request(key)).await.unwrap();
        let case_ref = opened.into_inner().readmission.unwrap().case_ref;
        both_reach(&self.federation, &case_ref, pb::ReadmissionStatus::Received).await;
        case_ref
    }

    /// The coordinator's directory-signing key.
    pub fn coordinator_key(&self) -> EventSigningKey {
        EventSigningKey::load(&self.federation.coordinator.as_ref().unwrap().signing_key).unwrap()
    }
}

fn partners(federation: &Federation, code: &str) -> Vec<StateCode> {
    federation.app(code).partner_states()
}

#[tokio::test]
async fn joined_states_become_partners_once_they_agree_and_a_case_flows_between_them() {
    let network = Network::start(&[]).await;
    let federation = &network.federation;
    assert!(
        partners(federation, "GB").is_empty(),
        "members without an agreement"
    );
    let refused = refused_open(federation, "GB", network.request("before")).await;
    assert_refused(&refused, Code::FailedPrecondition, "NO_AGREEMENT");

    network.agree(&[pb::Regime::Ukfr2025], None).await;
    assert_eq!(partners(federation, "GB"), vec![state("FR")]);
    assert_eq!(partners(federation, "FR"), vec![state("GB")]);
    let case_ref = network.open_and_receive("flows").await;
    let mut fr = federation.gateway("FR").await;
    fr.decide_readmission(acceptance("flows-accept", &case_ref))
        .await
        .unwrap();
    both_reach(federation, &case_ref, pb::ReadmissionStatus::Accepted).await;
}

#[tokio::test]
async fn an_agreement_change_takes_effect_without_a_restart() {
    let network = Network::start(&[]).await;
    network.agree(&[pb::Regime::Ukfr2025], None).await;
    let dublin = pb::OpenReadmissionRequest {
        regime: pb::Regime::DublinIii as i32,
        ..network.request("dublin")
    };
    let refused = refused_open(&network.federation, "GB", dublin.clone()).await;
    assert_refused(&refused, Code::FailedPrecondition, "NO_AGREEMENT");

    let both = [pb::Regime::Ukfr2025, pb::Regime::DublinIii];
    network.agree(&both, None).await;
    let mut gateway = network.federation.gateway("GB").await;
    gateway.open_readmission(dublin).await.unwrap();

    // The sunset: no new case from then on, while the case already open carries on.
    let open_case = network.open_and_receive("before-sunset").await;
    network.agree(&both, Some(network.now() + 1)).await;
    network.federation.clock.advance_millis(1);
    let refused = refused_open(&network.federation, "GB", network.request("after")).await;
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
    let network = Network::start(&[]).await;
    network.agree(&[pb::Regime::Ukfr2025], None).await;
    let case_ref = network.open_and_receive("open").await;
    network.suspend("FR", true).await;
    let federation = &network.federation;

    let refused = refused_open(federation, "GB", network.request("to-suspended")).await;
    assert_refused(&refused, Code::FailedPrecondition, "PARTNER_SUSPENDED");
    let from_suspended = pb::OpenReadmissionRequest {
        requested_state: "GB".into(),
        ..network.request("from-suspended")
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
    // A claim that something does not happen needs a window: a delivery that was not held
    // would have reached GB within it (deliveries here take milliseconds). A busy machine
    // can only make the window too short to catch a fault, never fail a correct node.
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

    network.suspend("FR", false).await;
    // FR may have applied the reinstatement before GB, and sent at once: GB then still
    // refused it (MEMBER_SUSPENDED), and FR's link waits out its back-off on the clock.
    network.federation.clock.advance_millis(1_000);
    both_reach(
        &network.federation,
        &case_ref,
        pb::ReadmissionStatus::Accepted,
    )
    .await;
    network.open_and_receive("after-reinstatement").await;
}

#[tokio::test]
async fn a_revoked_member_is_no_partner_at_all() {
    let network = Network::start(&[]).await;
    network.agree(&[pb::Regime::Ukfr2025], None).await;
    // A connection FR's node opened before: new ones are refused at the handshake once GB
    // applies the next revocation list (revocation_live.rs), this one call by call.
    let mut opened_before = network.federation.node_client("FR", "GB").await;
    let delivery = || pb::DeliverReadmissionEventRequest {
        event: Some(pb::ReadmissionEvent {
            acting_state: "FR".into(),
            ..Default::default()
        }),
    };
    let answered = opened_before.deliver_readmission_event(delivery()).await;
    assert_eq!(answered.unwrap_err().code(), Code::InvalidArgument);
    let revocation = pb::RevokeMemberRequest {
        idempotency_key: "revoke-FR".into(),
        state: "FR".into(),
        reason: pb::MemberStatusReason::KeyCompromise as i32,
    };
    network
        .federation
        .operator()
        .revoke_member(revocation)
        .await
        .unwrap();
    let version = network.directory().await.directory.unwrap().version;
    let app = network.federation.app("GB").clone();
    eventually("GB follows the revocation", || {
        let app = app.clone();
        async move { app.directory_version() == Some(version) }
    })
    .await;
    assert!(partners(&network.federation, "GB").is_empty());
    let refused = refused_open(&network.federation, "GB", network.request("revoked")).await;
    assert_refused(&refused, Code::FailedPrecondition, "NO_AGREEMENT");
    let refused = opened_before
        .deliver_readmission_event(delivery())
        .await
        .unwrap_err();
    assert_refused(&refused, Code::PermissionDenied, "CALLER_NOT_ALLOWED");
}

#[tokio::test]
async fn a_directory_with_a_bad_signature_or_a_lower_version_is_refused_and_the_held_one_stays() {
    let network = Network::start(&[]).await;
    network.agree(&[pb::Regime::Ukfr2025], None).await;
    let older = network.directory().await.encode_to_vec();
    network.suspend("FR", true).await;
    let current = network.directory().await.encode_to_vec();
    let held = network.followed().await;
    let gb = network.federation.nodes[&state("GB")]
        .directory
        .clone()
        .unwrap();
    let refused_before = gb.refused();

    let coordinator_key = network.coordinator_key().verifying_key();
    let opened = SignedDirectory::open(current.clone(), &coordinator_key).unwrap();
    let now = accord_domain::Timestamp::from_millis(network.now()).unwrap();
    let reinstated = opened
        .directory()
        .apply(DirectoryChange::Reinstate { state: state("FR") }, now)
        .unwrap();
    let forger = EventSigningKey::generate().unwrap();
    let forged = SignedDirectory::sign(reinstated, "https://127.0.0.1:7100", &forger);
    let offered = gb.offer(forged.bytes().to_vec()).await;
    assert!(matches!(offered, Err(Refused::Signature(_))), "{offered:?}");
    assert!(matches!(
        gb.offer(older).await,
        Err(Refused::Older { offered, held: kept }) if offered == held - 1 && kept == held
    ));
    assert_eq!(gb.offer(current).await.unwrap(), Offered::Unchanged);

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
    let refused = refused_open(&network.federation, "GB", network.request("still-held")).await;
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
        let network = Network::start(&databases).await;
        network.agree(&[pb::Regime::Ukfr2025], None).await;
        let version = network.followed().await;
        let mut network = network;
        // The nodes first: the coordinator's shutdown waits for open watches to end.
        for code in ["GB", "FR"] {
            network.federation.stop(code).await;
        }
        network.federation.stop_coordinator().await;
        for code in ["GB", "FR"] {
            network.federation.restart(code).await;
            let held = network.federation.app(code).directory_version();
            assert_eq!(held, Some(version), "{code}");
        }
        network.open_and_receive("from-the-store").await;

        // The coordinator back: the nodes reconnect and follow its next version.
        network.federation.restart_coordinator().await;
        network.suspend("FR", true).await;
        for code in ["GB", "FR"] {
            network.federation.stop(code).await;
        }
    }
}

#[tokio::test]
async fn events_signed_by_either_live_key_verify_and_a_key_not_valid_at_receipt_is_refused() {
    let network = Network::start(&[]).await;
    network.agree(&[pb::Regime::Ukfr2025], None).await;
    let original = network.federation.signing_key("FR");
    let rotated = EventSigningKey::generate().unwrap();
    let mut fr_node = network
        .federation
        .coordinator_as(&PeerIdentity::Node(state("FR")));
    let renewal = pb::RenewCredentialsRequest {
        idempotency_key: "rotate".into(),
        signing_public_key: rotated.verifying_key().to_bytes().to_vec(),
        ..Default::default()
    };
    fr_node.renew_credentials(renewal).await.unwrap();
    network.followed().await;
    let now = network.now();
    let acceptance_by = |case_ref: &str, key: &EventSigningKey| {
        let mut event = pb::ReadmissionEvent {
            case_ref: case_ref.into(),
            sequence: 3,
            kind: pb::ReadmissionEventKind::Accepted as i32,
            acting_state: "FR".into(),
            occurred_at: Some(time(now)),
            idempotency_key: format!("{case_ref}-accepted"),
            ..Default::default()
        };
        sign(&mut event, key);
        event
    };
    let mut accepted = Vec::new();
    for (key, name) in [(&original, "original"), (&rotated, "rotated")] {
        let case_ref = network.open_and_receive(name).await;
        accepted.push(case_ref.clone());
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

    let case_ref = network.open_and_receive("retired").await;
    let retirement = pb::RetireSigningKeyRequest {
        idempotency_key: "retire".into(),
        signing_key_id: original.key_id().to_string(),
    };
    fr_node.retire_signing_key(retirement).await.unwrap();
    network.followed().await;
    network.federation.clock.advance_millis(1);
    // Dated before the retirement, but received after it: refused.
    let event = acceptance_by(&case_ref, &original);
    let refused = deliver(&network.federation, "FR", "GB", event)
        .await
        .unwrap_err();
    assert_refused(&refused, Code::InvalidArgument, "SIGNATURE_INVALID");
    // The same event again, first received while its key was valid: acknowledged.
    let redelivered = acceptance_by(&accepted[0], &original);
    let answer = deliver(&network.federation, "FR", "GB", redelivered).await;
    assert!(answer.is_ok(), "{answer:?}");
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
            saved_at: 0,
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
