//! The gateway's client of its state's node: one mTLS channel with the state's gateway
//! certificate (`spiffe://accord/state/FR/gateway`), which the node maps to its caseworkers'
//! identity, and the node's two services over it.

use accord_proto::v1::admission_service_client::AdmissionServiceClient;
use accord_proto::v1::readmission_service_client::ReadmissionServiceClient;
use accord_trust::{CaBundle, ClientTls, Identity, PeerIdentity};
use tonic::transport::Channel;

use accord_domain::StateCode;

use crate::config::GatewayConfig;
use crate::server::Error;

/// The node's services, over one lazily connected channel (reconnected after a failure).
#[derive(Debug, Clone)]
pub struct NodeClient {
    readmission: ReadmissionServiceClient<Channel>,
    admission: AdmissionServiceClient<Channel>,
}

impl NodeClient {
    /// Reads the gateway's identity and the CA, and prepares the channel to the node, whose
    /// certificate must name `state`'s node.
    pub fn new(config: &GatewayConfig, state: StateCode) -> Result<Self, Error> {
        let channel = channel(config, PeerIdentity::Node(state))?;
        Ok(Self {
            readmission: ReadmissionServiceClient::new(channel.clone()),
            admission: AdmissionServiceClient::new(channel),
        })
    }

    /// `ReadmissionService` on the node.
    pub fn readmission(&self) -> ReadmissionServiceClient<Channel> {
        self.readmission.clone()
    }

    /// `AdmissionService` on the node.
    pub fn admission(&self) -> AdmissionServiceClient<Channel> {
        self.admission.clone()
    }
}

/// The gateway's mTLS channel to `peer`, with the configured identity and CA: lazily
/// connected, and refused unless the upstream's certificate names `peer`.
pub fn channel(config: &GatewayConfig, peer: PeerIdentity) -> Result<Channel, Error> {
    let identity =
        Identity::load(&config.certificate, &config.private_key).map_err(Error::Credentials)?;
    let ca: CaBundle = accord_trust::load_ca(&config.ca).map_err(Error::Credentials)?;
    let tls = ClientTls::new(&identity, &ca, &config.server_name)
        .map_err(Error::Channel)?
        .expect_peer(peer);
    accord_trust::connect_lazy(&config.endpoint, &tls).map_err(Error::Channel)
}
