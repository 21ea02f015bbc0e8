//! Whether each signature of a round's report verifies, as the pages show it: the
//! coordinator's signature and every state's countersignature, each checked on its own with
//! the keys the coordinator's signed directory lists, by the same code `accord report verify`
//! runs (`accord_edge::report::open` and `OpenedReport::check_countersignature`, the
//! directory opened by `accord_edge::directory::SignedDirectory::open`).
//!
//! What it does not do: it does not check the coordinator's key against the root CA, the
//! checkpoint at the cut-off, or the log's consistency — the offline bundle check does
//! (`accord report verify`). Here the directory is the one the coordinator served over the
//! gateway's mTLS channel, checked under the coordinator key it lists.

use accord_edge::directory::SignedDirectory;
use accord_edge::report;
use accord_proto::v1 as pb;
use accord_trust::EventVerifyingKey;
use prost::Message;

/// One signature and whether it verifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// `coordinator`, or the countersigning state's code.
    pub signer: String,
    /// The key id the signature names.
    pub key_id: String,
    /// When it was signed: the report's `computed_at` for the coordinator's.
    pub signed_at: Option<String>,
    /// `Ok` when it verifies; otherwise why not, in English (the verifier's words).
    pub outcome: Result<(), String>,
}

impl Checked {
    /// Whether the signature verifies.
    pub fn verified(&self) -> bool {
        self.outcome.is_ok()
    }

    /// Why it does not verify; empty when it does.
    pub fn reason(&self) -> &str {
        self.outcome.as_ref().err().map_or("", String::as_str)
    }
}

/// Checks the coordinator's signature and every countersignature of `signed` with the keys
/// `directory` lists: the coordinator's with the coordinator key the directory names (and
/// the report's digest and content with it), each countersignature with its state's key
/// valid when the report was computed. Without a directory, with one whose own signature
/// fails, or when the coordinator's signature fails, no countersignature is checked and
/// none is shown as verified. One entry per signature, the coordinator's first.
pub fn check(
    signed: &pb::SignedSettlementReport,
    directory: Option<&pb::SignedDirectory>,
) -> Vec<Checked> {
    let computed_at = signed
        .report
        .as_ref()
        .and_then(|report| crate::convert::time(report.computed_at.as_ref()));
    let mut coordinator = Checked {
        signer: "coordinator".to_owned(),
        key_id: signed
            .signature
            .as_ref()
            .map(|signature| signature.signing_key_id.clone())
            .unwrap_or_default(),
        signed_at: computed_at,
        outcome: Ok(()),
    };
    let countersignature = |signature: &pb::StateSignature, outcome| Checked {
        signer: signature.state.clone(),
        key_id: signature.signing_key_id.clone(),
        signed_at: crate::convert::time(signature.signed_at.as_ref()),
        outcome,
    };
    let opened = directory
        .ok_or_else(|| "no signed directory to check the keys against".to_owned())
        .and_then(open_directory)
        .and_then(|(wire, opened)| {
            let key = coordinator_key(&wire, &coordinator.key_id)?;
            let report = report::open(signed, &key).map_err(|error| error.to_string())?;
            Ok((report, opened))
        });
    let mut checked = Vec::with_capacity(signed.countersignatures.len() + 1);
    match opened {
        Ok((report, directory)) => {
            checked.push(coordinator);
            for signature in &signed.countersignatures {
                let outcome = report
                    .check_countersignature(signature, directory.directory())
                    .map(|_| ())
                    .map_err(|error| error.to_string());
                checked.push(countersignature(signature, outcome));
            }
        }
        Err(reason) => {
            let unchecked = format!("not checked: {reason}");
            coordinator.outcome = Err(reason);
            checked.push(coordinator);
            for signature in &signed.countersignatures {
                checked.push(countersignature(signature, Err(unchecked.clone())));
            }
        }
    }
    checked
}

/// The directory, opened under the coordinator key it lists for its own signature.
fn open_directory(
    signed: &pb::SignedDirectory,
) -> Result<(pb::Directory, SignedDirectory), String> {
    let wire = signed
        .directory
        .clone()
        .ok_or_else(|| "the signed directory holds no directory".to_owned())?;
    let key_id = signed
        .signature
        .as_ref()
        .map(|signature| signature.signing_key_id.clone())
        .unwrap_or_default();
    let key = coordinator_key(&wire, &key_id)?;
    let opened = SignedDirectory::open(signed.encode_to_vec(), &key)
        .map_err(|error| format!("the directory: {error}"))?;
    Ok((wire, opened))
}

/// The coordinator key `key_id` as `directory` lists it.
fn coordinator_key(directory: &pb::Directory, key_id: &str) -> Result<EventVerifyingKey, String> {
    let listed = directory
        .coordinator_signing_keys
        .iter()
        .find(|key| key.key_id == key_id)
        .ok_or_else(|| format!("key {key_id} is not the coordinator's in the directory"))?;
    let bytes: [u8; 32] = listed
        .public_key
        .as_slice()
        .try_into()
        .map_err(|_| format!("the directory's key {key_id} is not an Ed25519 key"))?;
    EventVerifyingKey::from_bytes(&bytes)
        .map_err(|_| format!("the directory's key {key_id} is not an Ed25519 key"))
}
