//! The directory's signed wire form (`accord.v1.SignedDirectory`), the one place it is
//! signed and opened: [`SignedDirectory::sign`] (the coordinator) writes a domain directory
//! out and signs its canonical bytes (common.proto, "Canonical bytes and signatures") under
//! the domain `accord.v1.Directory`; [`SignedDirectory::open`] (the coordinator reading its
//! store back, a node reading what it was sent or kept) reads one back, refusing bytes
//! whose signature does not verify under the coordinator's key.

use crate::wire::{
    coded_from_wire, coded_to_wire, from_wire_time, regime_from_wire, regime_to_wire, to_wire_time,
};
use accord_domain::membership::{
    Agreement, CertificateRole, Directory, Endpoint, Member, MemberCertificate, MemberStatus,
    SigningKeyEntry, SigningKeyStatus, StatusReason,
};
use accord_domain::parity::ParityLimit;
use accord_domain::{StateCode, Timestamp};
use accord_proto::v1 as pb;
use accord_trust::{EventSigningKey, EventVerifyingKey, Signature, SigningDomain};
use prost::Message;

/// Why stored directory bytes cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are not a `SignedDirectory`.
    #[error("the stored directory does not decode")]
    Decode(#[from] prost::DecodeError),
    /// The signature does not verify under the coordinator's key.
    #[error("the stored directory's signature does not verify")]
    Signature,
    /// A value is not one this version writes.
    #[error("the stored directory holds an invalid {0}")]
    Invalid(String),
}

/// A directory version with its signed wire form.
#[derive(Debug, Clone)]
pub struct SignedDirectory {
    directory: Directory,
    wire: pb::SignedDirectory,
    bytes: Vec<u8>,
}

impl SignedDirectory {
    /// Writes `directory` out, naming this coordinator at `endpoint` and its key, and signs
    /// it with `signer`.
    pub fn sign(directory: Directory, endpoint: &str, signer: &EventSigningKey) -> Self {
        let content = directory_to_wire(&directory, endpoint, &signer.verifying_key());
        let signature = signer.sign(SigningDomain::DIRECTORY, &content.encode_to_vec());
        let wire = pb::SignedDirectory {
            directory: Some(content),
            signature: Some(pb::CoordinatorSignature {
                signing_key_id: signer.key_id().to_string(),
                signature: signature.to_bytes().to_vec(),
            }),
        };
        let bytes = wire.encode_to_vec();
        Self {
            directory,
            wire,
            bytes,
        }
    }

    /// Reads back a signed directory this coordinator stored, checking its signature under
    /// `key`.
    pub fn open(bytes: Vec<u8>, key: &EventVerifyingKey) -> Result<Self, Error> {
        let wire = pb::SignedDirectory::decode(bytes.as_slice())?;
        let content = wire.directory.as_ref().ok_or(Error::Signature)?;
        let signature = wire.signature.as_ref().ok_or(Error::Signature)?;
        let signature =
            Signature::from_slice(&signature.signature).map_err(|_| Error::Signature)?;
        key.verify(
            SigningDomain::DIRECTORY,
            &content.encode_to_vec(),
            &signature,
        )
        .map_err(|_| Error::Signature)?;
        let directory = directory_from_wire(content)?;
        Ok(Self {
            directory,
            wire,
            bytes,
        })
    }

    /// The directory.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// Its signed wire form.
    pub fn wire(&self) -> &pb::SignedDirectory {
        &self.wire
    }

    /// Its signed wire form's bytes, as stored.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// The wire form of `directory`.
fn directory_to_wire(
    directory: &Directory,
    endpoint: &str,
    coordinator_key: &EventVerifyingKey,
) -> pb::Directory {
    pb::Directory {
        version: directory.version(),
        issued_at: Some(to_wire_time(directory.issued_at())),
        members: directory.members().map(member_to_wire).collect(),
        agreements: directory
            .agreements()
            .iter()
            .map(agreement_to_wire)
            .collect(),
        coordinator_endpoint: endpoint.to_owned(),
        coordinator_signing_keys: vec![pb::SigningKey {
            key_id: coordinator_key.key_id().to_string(),
            public_key: coordinator_key.to_bytes().to_vec(),
            status: pb::SigningKeyStatus::Active.into(),
            valid_from: None,
            valid_until: None,
        }],
    }
}

/// The wire form of a member.
pub fn member_to_wire(member: &Member) -> pb::Member {
    pb::Member {
        state: member.state.to_string(),
        status: coded_to_wire::<pb::MemberStatus>(member.status.code()).into(),
        status_reason: member
            .status_reason
            .map_or(pb::MemberStatusReason::Unspecified, |reason| {
                coded_to_wire(reason.code())
            })
            .into(),
        status_changed_at: Some(to_wire_time(member.status_changed_at)),
        joined_at: Some(to_wire_time(member.joined_at)),
        node_endpoint: member.endpoint.as_str().to_owned(),
        certificates: member
            .certificates
            .iter()
            .map(|certificate| pb::MemberCertificate {
                role: coded_to_wire::<pb::CertificateRole>(certificate.role.code()).into(),
                sha256_fingerprint: certificate.sha256_fingerprint.to_vec(),
                serial_number: certificate.serial.clone(),
                not_before: Some(to_wire_time(certificate.not_before)),
                not_after: Some(to_wire_time(certificate.not_after)),
            })
            .collect(),
        signing_keys: member
            .signing_keys
            .iter()
            .map(|key| pb::SigningKey {
                key_id: key.key_id.clone(),
                public_key: key.public_key.to_vec(),
                status: coded_to_wire::<pb::SigningKeyStatus>(key.status.code()).into(),
                valid_from: Some(to_wire_time(key.valid_from)),
                valid_until: key.valid_until.map(to_wire_time),
            })
            .collect(),
    }
}

/// The wire form of an agreement.
pub fn agreement_to_wire(agreement: &Agreement) -> pb::Agreement {
    let (first, second) = agreement.pair();
    pb::Agreement {
        first_state: first.to_string(),
        second_state: second.to_string(),
        regimes: agreement
            .regimes()
            .iter()
            .map(|regime| regime_to_wire(*regime).into())
            .collect(),
        effective_from: Some(to_wire_time(agreement.effective_from())),
        sunset_at: agreement.sunset_at().map(to_wire_time),
        eligibility_rules_version: String::new(),
        eligibility_rules_digest: Vec::new(),
        parity_limit: agreement.parity_limit().map(|limit| limit.0),
    }
}

/// The domain directory a stored wire form describes.
fn directory_from_wire(wire: &pb::Directory) -> Result<Directory, Error> {
    let members = wire
        .members
        .iter()
        .map(member_from_wire)
        .collect::<Result<Vec<_>, _>>()?;
    let agreements = wire
        .agreements
        .iter()
        .map(agreement_from_wire)
        .collect::<Result<Vec<_>, _>>()?;
    Directory::restore(
        wire.version,
        time(wire.issued_at.as_ref(), "issued_at")?,
        members,
        agreements,
    )
    .map_err(|error| Error::Invalid(error.to_string()))
}

fn member_from_wire(wire: &pb::Member) -> Result<Member, Error> {
    Ok(Member {
        state: state(&wire.state)?,
        status: coded_from_wire::<pb::MemberStatus, _>(wire.status, |code| {
            MemberStatus::parse(code).ok()
        })
        .ok_or_else(|| invalid("member status"))?,
        status_reason: coded_from_wire::<pb::MemberStatusReason, _>(wire.status_reason, |code| {
            StatusReason::parse(code).ok()
        }),
        status_changed_at: time(wire.status_changed_at.as_ref(), "status_changed_at")?,
        joined_at: time(wire.joined_at.as_ref(), "joined_at")?,
        endpoint: Endpoint::parse(&wire.node_endpoint).map_err(|_| invalid("endpoint"))?,
        certificates: wire
            .certificates
            .iter()
            .map(certificate_from_wire)
            .collect::<Result<_, _>>()?,
        signing_keys: wire
            .signing_keys
            .iter()
            .map(signing_key_from_wire)
            .collect::<Result<_, _>>()?,
    })
}

fn certificate_from_wire(wire: &pb::MemberCertificate) -> Result<MemberCertificate, Error> {
    Ok(MemberCertificate {
        role: coded_from_wire::<pb::CertificateRole, _>(wire.role, |code| {
            CertificateRole::parse(code).ok()
        })
        .ok_or_else(|| invalid("certificate role"))?,
        sha256_fingerprint: wire
            .sha256_fingerprint
            .as_slice()
            .try_into()
            .map_err(|_| invalid("certificate fingerprint"))?,
        serial: wire.serial_number.clone(),
        not_before: time(wire.not_before.as_ref(), "not_before")?,
        not_after: time(wire.not_after.as_ref(), "not_after")?,
    })
}

fn signing_key_from_wire(wire: &pb::SigningKey) -> Result<SigningKeyEntry, Error> {
    Ok(SigningKeyEntry {
        key_id: wire.key_id.clone(),
        public_key: wire
            .public_key
            .as_slice()
            .try_into()
            .map_err(|_| invalid("signing key"))?,
        status: coded_from_wire::<pb::SigningKeyStatus, _>(wire.status, |code| {
            SigningKeyStatus::parse(code).ok()
        })
        .ok_or_else(|| invalid("signing key status"))?,
        valid_from: time(wire.valid_from.as_ref(), "valid_from")?,
        valid_until: wire
            .valid_until
            .as_ref()
            .map(|until| time(Some(until), "valid_until"))
            .transpose()?,
    })
}

fn agreement_from_wire(wire: &pb::Agreement) -> Result<Agreement, Error> {
    let regimes = wire
        .regimes
        .iter()
        .map(|regime| regime_from_wire(*regime).ok_or_else(|| invalid("regime")))
        .collect::<Result<Vec<_>, _>>()?;
    Agreement::new(
        state(&wire.first_state)?,
        state(&wire.second_state)?,
        regimes,
        wire.parity_limit.map(ParityLimit),
        time(wire.effective_from.as_ref(), "effective_from")?,
        wire.sunset_at
            .as_ref()
            .map(|sunset| time(Some(sunset), "sunset_at"))
            .transpose()?,
    )
    .map_err(|error| Error::Invalid(error.to_string()))
}

fn state(text: &str) -> Result<StateCode, Error> {
    StateCode::parse(text).map_err(|_| invalid("state"))
}

fn time(value: Option<&prost_types::Timestamp>, what: &str) -> Result<Timestamp, Error> {
    value
        .and_then(|value| from_wire_time(value).ok())
        .ok_or_else(|| invalid(what))
}

fn invalid(what: &str) -> Error {
    Error::Invalid(what.to_owned())
}
