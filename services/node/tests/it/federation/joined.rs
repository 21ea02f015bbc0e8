//! A federation whose states joined a real coordinator as ministries do (`accord join`'s
//! library: a one-time token from an operator, keys made in the state's folder, `Enrol`),
//! and whose nodes run the configuration the join wrote: `[coordinator]`, no partners. The
//! clock starts at the wall clock's time, since the certificates the coordinator issues are
//! dated by it.

use std::path::Path;

use accord_coordinator::joining::{JoinRequest, JoinedFolder, join};
use accord_node::config::NodeConfig;
use accord_proto::v1 as pb;
use accord_proto::v1::membership_service_client::MembershipServiceClient;
use accord_trust::{EventSigningKey, OperatorName, PeerIdentity};
use tonic::transport::Channel;

use super::{Federation, state};

impl Federation {
    /// Starts a real coordinator, joins each state to it with a token an operator issued,
    /// and starts each state's node on the configuration the join wrote; `databases` names
    /// the database of a node that should not use the SQLite file the join chose.
    pub async fn start_joined(states: &[&str], databases: &[(&str, String)]) -> Self {
        let now = accord_trust::clock::wall_clock_now();
        let start = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap();
        let (mut federation, states, mut listeners) = Self::prepare(states, start);
        federation.start_coordinator().await;
        for code in &states {
            let listener = listeners.remove(code).unwrap();
            let address = listener.local_addr().unwrap();
            let folder = federation._folder.path().join(format!("joined-{code}"));
            federation
                .join(&code.to_string(), &format!("https://{address}"), &folder)
                .await;
            let mut config = NodeConfig::load(Some(&folder.join("node.toml"))).unwrap();
            let fast = federation.node_config(*code, address);
            config.delivery = fast.delivery;
            config.deadlines = fast.deadlines;
            if let Some(coordinator) = config.coordinator.as_mut() {
                coordinator.reconnect_initial = std::time::Duration::from_millis(20);
                coordinator.reconnect_max = std::time::Duration::from_millis(200);
                coordinator.ledger_interval = std::time::Duration::from_millis(50);
            }
            if let Some((_, url)) = databases.iter().find(|(node, _)| state(node) == *code) {
                config.database_url = url.clone();
            }
            let node = federation.launch(config, Some(listener)).await;
            federation.nodes.insert(*code, node);
        }
        federation
    }

    /// Joins `code` with its node at `endpoint`, in `folder`; then puts the certificates and
    /// keys it made where this federation's helpers look for a state's (its PKI folder).
    async fn join(&self, code: &str, endpoint: &str, folder: &Path) {
        let ca_pem = std::fs::read_to_string(self.pki.ca_certificate_path()).unwrap();
        let issued = self
            .coordinator_as(&operator())
            .issue_enrolment_token(pb::IssueEnrolmentTokenRequest {
                idempotency_key: format!("token-{code}"),
                state: code.to_owned(),
                expires_at: Some(crate::support::time(
                    self.clock_millis() + crate::support::DAY_MS,
                )),
                required_approvals: 0,
            })
            .await
            .unwrap()
            .into_inner();
        join(JoinRequest {
            coordinator: self.coordinator.as_ref().unwrap().config.endpoint.clone(),
            ca_pem,
            state: state(code),
            token: issued.token,
            endpoint: endpoint.to_owned(),
            listen_addr: None,
            dir: folder.to_owned(),
        })
        .await
        .unwrap();
        let joined = JoinedFolder::new(folder);
        let node = PeerIdentity::Node(state(code));
        let gateway = PeerIdentity::Gateway(state(code));
        for (from, to) in [
            (joined.node_certificate(), self.pki.certificate_path(&node)),
            (joined.node_key(), self.pki.key_path(&node)),
            (
                joined.gateway_certificate(),
                self.pki.certificate_path(&gateway),
            ),
            (joined.gateway_key(), self.pki.key_path(&gateway)),
            (joined.signing_key(), self.pki.signing_key_path(state(code))),
        ] {
            std::fs::copy(from, to).unwrap();
        }
        let signing_key = EventSigningKey::load(&joined.signing_key()).unwrap();
        let verifying_path = self.pki.verifying_key_path(state(code));
        let _ = std::fs::remove_file(&verifying_path);
        signing_key.verifying_key().save(&verifying_path).unwrap();
    }

    /// A client of the coordinator as `identity` (issued by the network CA first if new).
    pub fn coordinator_as(&self, identity: &PeerIdentity) -> MembershipServiceClient<Channel> {
        MembershipServiceClient::new(self.coordinator_channel_as(identity))
    }

    /// An mTLS channel to the coordinator as `identity` (its certificate issued first if
    /// it has none).
    pub fn coordinator_channel_as(&self, identity: &PeerIdentity) -> Channel {
        if !self.pki.certificate_path(identity).exists() {
            self.issue(identity.clone());
        }
        let tls = self
            .client_tls(identity)
            .expect_peer(PeerIdentity::Coordinator);
        let endpoint = &self.coordinator.as_ref().unwrap().config.endpoint;
        accord_trust::connect_lazy(endpoint, &tls).unwrap()
    }

    /// The coordinator, called by its operator alice.
    pub fn operator(&self) -> MembershipServiceClient<Channel> {
        self.coordinator_as(&operator())
    }

    /// The shared clock's time, in milliseconds.
    pub fn clock_millis(&self) -> i64 {
        use accord_node::clock::Clock;
        self.clock.now().as_millis()
    }
}

pub fn operator() -> PeerIdentity {
    PeerIdentity::Operator(OperatorName::parse("alice").unwrap())
}
