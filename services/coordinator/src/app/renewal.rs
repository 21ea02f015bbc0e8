//! A member keeps its credentials fresh while it serves: new certificates from fresh CSRs
//! (the old ones stay listed, and valid, until they expire), a new event-signing key beside
//! the old (several live at once, for rotation), a new endpoint — any combination in one
//! directory version; and the retirement of a key, which then verifies what it signed
//! before but signs nothing new. Only the member's own node may do either.

use accord_domain::StateCode;
use accord_domain::membership::{
    CertificateRole, DirectoryChange, Member, MemberStatus, SigningKeyEntry, SigningKeyStatus,
};
use accord_trust::pki::IssuedCertificate;
use accord_trust::{EventVerifyingKey, PeerIdentity};

use super::enrol::member_certificate;
use super::{App, Asked, Error, Published, Replied};
use crate::convert::command::{Renew, Renewed, RetireKey};
use crate::store::Change;

impl App {
    /// The member `caller` names, if it is an active member's node.
    pub fn active_member_node(&self, caller: &PeerIdentity) -> Result<StateCode, Error> {
        let PeerIdentity::Node(state) = caller else {
            return Err(Error::PermissionDenied(format!(
                "{} is not a member's node",
                caller.spiffe_id()
            )));
        };
        let published = self.inner.published.borrow();
        match published.directory().member(*state) {
            Some(member) if member.status == MemberStatus::Active => Ok(*state),
            Some(member) => Err(Error::PermissionDenied(format!(
                "{state} is {}, not an active member",
                member.status
            ))),
            None => Err(Error::PermissionDenied(format!("{state} is not a member"))),
        }
    }

    /// Retires one of `state`'s keys (its own node's action).
    pub async fn retire_key(
        &self,
        asked: Asked<'_, Published<Member>>,
        state: StateCode,
        command: RetireKey,
    ) -> Result<Replied<Published<Member>>, Error> {
        let detail = format!("{state} retired key {}", command.key_id);
        let change = DirectoryChange::RetireSigningKey {
            state,
            key_id: command.key_id,
        };
        self.change_directory(asked, vec![change], detail, Change::default(), |signed| {
            let directory = signed.directory();
            Some(Published {
                record: directory.member(state)?.clone(),
                version: directory.version(),
            })
        })
        .await
    }

    /// Renews what `command` names for `state` (its own node's action).
    pub async fn renew(
        &self,
        asked: Asked<'_, Renewed>,
        state: StateCode,
        command: Renew,
    ) -> Result<Replied<Renewed>, Error> {
        if let Some(first) = self.first_answer(&asked).await? {
            return Ok(Replied::Replay(first));
        }
        let now = self.inner.clock.now();
        let member = self
            .inner
            .published
            .borrow()
            .directory()
            .member(state)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("member {state}")))?;
        let endpoint = command.endpoint.clone().unwrap_or(member.endpoint.clone());
        let (node, gateway) = self.issue_renewed(&command, state, &endpoint, now)?;
        let mut changes = Vec::new();
        let mut parts = Vec::new();
        if node.is_some() || gateway.is_some() {
            changes.push(certificates_change(
                &member, &node, &gateway, now, &mut parts,
            )?);
        }
        let signing_key_id = match command.signing_public_key {
            Some(public_key) => {
                let key_id = EventVerifyingKey::from_bytes(&public_key)
                    .map_err(|error| Error::invalid("signing_public_key", error.to_string()))?
                    .key_id()
                    .to_string();
                changes.push(DirectoryChange::AddSigningKey {
                    state,
                    key: SigningKeyEntry {
                        key_id: key_id.clone(),
                        public_key,
                        status: SigningKeyStatus::Active,
                        valid_from: now,
                        valid_until: None,
                    },
                });
                parts.push(format!("signing key {key_id}"));
                Some(key_id)
            }
            None => None,
        };
        if let Some(endpoint) = command.endpoint {
            parts.push(format!("endpoint {}", endpoint.as_str()));
            changes.push(DirectoryChange::SetEndpoint { state, endpoint });
        }
        let chain = |issued: &IssuedCertificate| {
            format!("{}{}", issued.certificate_pem, self.inner.issuing.chain_pem)
        };
        let node_chain = node.as_ref().map(chain);
        let gateway_chain = gateway.as_ref().map(chain);
        let detail = format!("{state} renewed {}", parts.join(", "));
        self.change_directory(asked, changes, detail, Change::default(), |signed| {
            Some(Renewed {
                member: signed.directory().member(state)?.clone(),
                node_certificate_chain_pem: node_chain,
                gateway_certificate_chain_pem: gateway_chain,
                signing_key_id,
            })
        })
        .await
    }
}

impl App {
    /// The certificates a renewal asks for, issued for `state` serving at `endpoint`.
    fn issue_renewed(
        &self,
        command: &Renew,
        state: StateCode,
        endpoint: &accord_domain::membership::Endpoint,
        now: accord_domain::Timestamp,
    ) -> Result<(Option<IssuedCertificate>, Option<IssuedCertificate>), Error> {
        let node = command
            .node_csr_pem
            .as_deref()
            .map(|pem| {
                self.issue_from_csr(
                    "node_csr_pem",
                    pem,
                    PeerIdentity::Node(state),
                    Some(endpoint.server_name()),
                    now,
                )
            })
            .transpose()?;
        let gateway = self.issue_for_gateway(command.gateway_csr_pem.as_deref(), state, now)?;
        Ok((node, gateway))
    }
}

/// The member's certificates with the new ones added; the old stay listed until they expire,
/// so two live at once during a rotation. What was renewed is added to `parts`.
fn certificates_change(
    member: &Member,
    node: &Option<IssuedCertificate>,
    gateway: &Option<IssuedCertificate>,
    now: accord_domain::Timestamp,
    parts: &mut Vec<String>,
) -> Result<DirectoryChange, Error> {
    let mut certificates: Vec<_> = member
        .certificates
        .iter()
        .filter(|certificate| certificate.not_after > now)
        .cloned()
        .collect();
    for (role, issued) in [
        (CertificateRole::Node, node),
        (CertificateRole::Gateway, gateway),
    ] {
        if let Some(issued) = issued {
            certificates.push(member_certificate(role, issued)?);
            parts.push(format!("{role} certificate"));
        }
    }
    Ok(DirectoryChange::SetCertificates {
        state: member.state,
        certificates,
    })
}
