//! Tree heads: publishing a signed checkpoint of the log, reading one with every
//! cosignature on it, and recording a member's cosignature as a witness.
//!
//! A head is published only when the log grew (and once for the empty log), one at a time,
//! so published sizes only grow. The coordinator signs the checkpoint's body as a C2SP
//! signed note; a cosignature is recorded only if it is the cosigning state's, by a key the
//! directory lists for it as valid now, over exactly the published head's body.

use accord_domain::{StateCode, Timestamp};
use accord_trust::log::{Checkpoint, Hash, Note, cosignature};

use super::{Ledger, witness_name};
use crate::app::{Asked, Error, Replied};
use crate::convert::ledger::{Cosign, Cosignature, SignedHead};
use crate::store::{Change, CosignatureRecord, HeadRecord};

impl Ledger {
    /// Publishes a head of the log's current size if the log grew since the last head (or
    /// no head was ever published); answers the size published, if any.
    pub async fn publish_head(&self) -> Result<Option<u64>, Error> {
        let mut published = self.inner.published.lock().await;
        let (size, root) = {
            let tree = self.tree();
            let size = tree.size();
            if published.is_some_and(|last| size <= last) {
                return Ok(None);
            }
            (
                size,
                tree.root_hash(size)
                    .unwrap_or_else(accord_trust::log::empty_root),
            )
        };
        let now = self.app().inner.clock.now();
        let note = self.sign_checkpoint(size, root, now)?;
        let signature = note
            .signatures()
            .first()
            .map(|line| line.signature().to_vec())
            .unwrap_or_default();
        self.store()
            .insert_head(HeadRecord {
                tree_size: size,
                root_hash: root.as_bytes().to_vec(),
                timestamp: now.as_millis(),
                signing_key_id: self.app().inner.signer.key_id().to_string(),
                signature,
                signed_note: note.to_string(),
            })
            .await?;
        *published = Some(size);
        Ok(Some(size))
    }

    /// A checkpoint of the latest published size and root, signed now and not stored: the
    /// log's clock, which a case's party cites for acceptance by default (`ListCaseLeaves`).
    /// It says nothing a published head does not, but when; sizes are still only published
    /// ones, so every proof for it is one of the published head of that size.
    pub(super) async fn fresh_head(&self) -> Result<SignedHead, Error> {
        let published = self.inner.published.lock().await;
        let size = published.ok_or_else(|| Error::NotFound("a tree head".to_owned()))?;
        let root = self
            .tree()
            .root_hash(size)
            .unwrap_or_else(accord_trust::log::empty_root);
        let now = self.app().inner.clock.now();
        let note = self.sign_checkpoint(size, root, now)?;
        drop(published);
        let signature = note
            .signatures()
            .first()
            .map(|line| line.signature().to_vec())
            .unwrap_or_default();
        Ok(SignedHead {
            tree_size: size,
            root_hash: root,
            timestamp: now,
            signing_key_id: self.app().inner.signer.key_id().to_string(),
            signature,
            cosignatures: Vec::new(),
            checkpoint: note.to_string(),
        })
    }

    fn sign_checkpoint(&self, size: u64, root: Hash, at: Timestamp) -> Result<Note, Error> {
        let checkpoint = Checkpoint::new(&self.inner.origin, size, root)
            .with_extensions(vec![format!("timestamp {}", at.as_millis())])
            .map_err(|error| Error::internal("writing a checkpoint", error))?;
        checkpoint
            .sign(&self.app().inner.signer)
            .map_err(|error| Error::internal("signing a checkpoint", error))
    }

    /// The head published at `tree_size` (the latest for `None`), with every cosignature.
    pub async fn signed_head(&self, tree_size: Option<u64>) -> Result<SignedHead, Error> {
        let head = self.store().head(tree_size).await?.ok_or_else(|| {
            Error::NotFound(match tree_size {
                Some(size) => format!("a tree head of size {size}"),
                None => "a tree head".to_owned(),
            })
        })?;
        let cosignatures = self.store().cosignatures(head.tree_size).await?;
        self.assemble(head, cosignatures)
    }

    /// A stored head and its cosignatures as one signed head, the note holding a line for
    /// each cosignature whose key the directory still lists.
    fn assemble(
        &self,
        head: HeadRecord,
        cosignatures: Vec<CosignatureRecord>,
    ) -> Result<SignedHead, Error> {
        let corrupt = |what: &str| {
            Error::internal(
                "reading a tree head",
                std::io::Error::other(format!("head {}: {what}", head.tree_size)),
            )
        };
        let mut note = Note::parse(head.signed_note.as_bytes()).map_err(|_| corrupt("note"))?;
        let mut listed = Vec::new();
        for record in cosignatures {
            let state = StateCode::parse(&record.state).map_err(|_| corrupt("state"))?;
            let signature = accord_trust::Signature::from_slice(&record.signature)
                .map_err(|_| corrupt("cosignature"))?;
            if let Some(key) = self.member_key(state, &record.signing_key_id, None) {
                let line =
                    cosignature::line(&witness_name(state)?, &key, record.signed_at, &signature);
                note.add_signature(line)
                    .map_err(|_| corrupt("cosignature line"))?;
            }
            listed.push(Cosignature {
                state,
                signing_key_id: record.signing_key_id,
                signed_at: record.signed_at,
                signature,
            });
        }
        Ok(SignedHead {
            tree_size: head.tree_size,
            root_hash: Hash::from_slice(&head.root_hash).map_err(|_| corrupt("root hash"))?,
            timestamp: Timestamp::from_millis(head.timestamp).map_err(|_| corrupt("time"))?,
            signing_key_id: head.signing_key_id,
            signature: head.signature,
            cosignatures: listed,
            checkpoint: note.to_string(),
        })
    }

    /// Records `state`'s cosignature of a published head (its own node's action).
    pub async fn cosign(
        &self,
        asked: Asked<'_, SignedHead>,
        state: StateCode,
        command: Cosign,
    ) -> Result<Replied<SignedHead>, Error> {
        if let Some(first) = self.app().first_answer(&asked).await? {
            return Ok(Replied::Replay(first));
        }
        let signed = &command.cosignature;
        if signed.state != state {
            return Err(Error::PermissionDenied(format!(
                "{state} cosigns only for itself, not for {}",
                signed.state
            )));
        }
        let head = self
            .store()
            .head(Some(command.tree_size))
            .await?
            .ok_or_else(|| Error::NotFound(format!("a tree head of size {}", command.tree_size)))?;
        if head.root_hash != command.root_hash.as_bytes()
            || head.timestamp != command.timestamp.as_millis()
        {
            return Err(Error::HeadMismatch(format!(
                "the head of size {} has another root hash or time than the one cosigned",
                command.tree_size
            )));
        }
        let now = self.app().inner.clock.now();
        let key = self
            .member_key(state, &signed.signing_key_id, Some(now))
            .ok_or_else(|| {
                Error::SignatureInvalid(format!(
                    "key {} is not a key of {state} valid now",
                    signed.signing_key_id
                ))
            })?;
        let body = Note::parse(head.signed_note.as_bytes())
            .map_err(|error| Error::internal("reading a tree head", error))?;
        cosignature::verify(body.text(), signed.signed_at, &key, &signed.signature).map_err(
            |_| {
                Error::SignatureInvalid(format!(
                    "the cosignature does not verify under {state}'s key {} over the head of \
                     size {}",
                    signed.signing_key_id, command.tree_size
                ))
            },
        )?;
        let mut cosignatures = self.store().cosignatures(head.tree_size).await?;
        cosignatures.retain(|record| record.state != state.as_str());
        let record = CosignatureRecord {
            tree_size: head.tree_size,
            state: state.to_string(),
            signing_key_id: signed.signing_key_id.clone(),
            signed_at: signed.signed_at,
            signature: signed.signature.to_bytes().to_vec(),
            recorded_at: now.as_millis(),
        };
        cosignatures.push(record.clone());
        cosignatures.sort_by(|a, b| a.state.cmp(&b.state));
        let answer = self.assemble(head, cosignatures)?;
        let change = Change {
            cosignature: Some(record),
            ..Change::default()
        };
        let detail = format!("{state} cosigned the head of size {}", command.tree_size);
        self.app()
            .commit_answered(&asked, answer, detail, change)
            .await
    }
}
