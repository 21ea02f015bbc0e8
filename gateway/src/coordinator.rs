//! The coordinator's gateway's client of the coordinator: one mTLS channel with an
//! operator's certificate (`spiffe://accord/operator/NAME`), and the three services the
//! operators' and diplomats' pages read — `SettlementService` (rounds, reports, balances,
//! quotas), `LedgerService` (breaks) and `MembershipService` (the signed directory: members,
//! their certificates and keys, agreements). The coordinator audits every call under the
//! operator's name; who may do what through the gateway is decided before (`crate::auth`).

use accord_proto::v1::ledger_service_client::LedgerServiceClient;
use accord_proto::v1::membership_service_client::MembershipServiceClient;
use accord_proto::v1::settlement_service_client::SettlementServiceClient;
use accord_trust::PeerIdentity;
use tonic::transport::Channel;

use crate::config::GatewayConfig;
use crate::server::Error;

/// The coordinator's services, over one lazily connected channel.
#[derive(Debug, Clone)]
pub struct CoordinatorClient {
    settlement: SettlementServiceClient<Channel>,
    ledger: LedgerServiceClient<Channel>,
    membership: MembershipServiceClient<Channel>,
}

impl CoordinatorClient {
    /// Reads the operator's identity and the CA, and prepares the channel to the
    /// coordinator, whose certificate must name it (`spiffe://accord/coordinator`).
    pub fn new(config: &GatewayConfig) -> Result<Self, Error> {
        let channel = crate::node::channel(config, PeerIdentity::Coordinator)?;
        Ok(Self {
            settlement: SettlementServiceClient::new(channel.clone()),
            ledger: LedgerServiceClient::new(channel.clone()),
            membership: MembershipServiceClient::new(channel),
        })
    }

    /// `SettlementService` on the coordinator.
    pub fn settlement(&self) -> SettlementServiceClient<Channel> {
        self.settlement.clone()
    }

    /// `LedgerService` on the coordinator.
    pub fn ledger(&self) -> LedgerServiceClient<Channel> {
        self.ledger.clone()
    }

    /// `MembershipService` on the coordinator: the gateway only reads the directory.
    pub fn membership(&self) -> MembershipServiceClient<Channel> {
        self.membership.clone()
    }
}
