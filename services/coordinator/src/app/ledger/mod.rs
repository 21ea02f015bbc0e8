//! The ledger: an append-only Merkle log of the events members report (RFC 6962 hashing),
//! its signed tree heads as C2SP checkpoints, members' cosignatures as witnesses, and the
//! proofs that let anyone check it (`ledger.proto`).
//!
//! [`Ledger`] holds the whole tree's hashes in memory ([`MemoryTree`], about 64 bytes per
//! leaf), rebuilt from the stored leaf hashes at start; the store holds every leaf. Appends
//! are one group at a time (`appending`): the batches waiting take the next indices, are
//! committed in one transaction, and only then join the in-memory tree and are
//! acknowledged — so the tree never holds a leaf the store lost, and a crash loses only
//! unacknowledged reports, which nodes resend. Heads are published by [`Ledger::publish_head`] (the server calls it
//! on an interval), each signed over the checkpoint's body and stored before anyone sees it;
//! every proof is for a published size.
//!
//! Every logged report also goes to the domain's reconciler (`reconcile`), which matches
//! both parties' reports and finds the breaks.
//!
//! Who may read what: an operator reads everything; a member's node or gateway reads heads,
//! consistency proofs and leaf hashes of the whole log, but leaves and inclusion proofs only
//! of cases whose pair includes its state ([`Reader`]).

mod heads;
mod ingest;
mod proofs;
mod reconcile;

pub use reconcile::{CutOff, PairFigures};

use std::sync::{Arc, RwLock};

use accord_domain::reconciliation::Reconciler;
use accord_domain::{Period, StateCode};
use accord_trust::log::{Hash, KeyName, MemoryTree};
use accord_trust::{EventVerifyingKey, PeerIdentity};
use tokio::sync::Mutex;

use super::{App, Error, read_lock, write_lock};
use crate::store::Store;

/// The ledger's use cases.
#[derive(Clone)]
pub struct Ledger {
    inner: Arc<Inner>,
}

struct Inner {
    /// The coordinator's app: its store, clock and key (which signs every head), the
    /// directory in force, idempotency records and the audit.
    app: App,
    /// The log's name: the checkpoint's origin and the signing key's note name.
    origin: KeyName,
    /// Every complete subtree's hash of the committed log.
    tree: RwLock<MemoryTree>,
    /// Held across an append: one group of batches at a time takes the next indices.
    appending: Mutex<()>,
    /// Verified batches waiting for the next group commit (`ingest`).
    waiting: std::sync::Mutex<Vec<ingest::Waiting>>,
    /// The latest published head's size (none yet on a new log); held while a head is
    /// published.
    published: Mutex<Option<u64>>,
    /// Every logged report, matched two-sided, with the operators' resolutions.
    reconciler: RwLock<Reconciler>,
}

/// Who reads the ledger, as far as what they may see goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// An operator: every leaf.
    Operator,
    /// A member's node or gateway: leaves of its own pairs only.
    Member(StateCode),
}

impl Reader {
    /// The reader `caller` is; the coordinator never reads its own ledger over the wire.
    pub fn of(caller: &PeerIdentity) -> Result<Self, Error> {
        match caller {
            PeerIdentity::Operator(_) => Ok(Self::Operator),
            PeerIdentity::Node(state) | PeerIdentity::Gateway(state) => Ok(Self::Member(*state)),
            PeerIdentity::Coordinator => Err(Error::PermissionDenied(
                "the coordinator does not call itself".to_owned(),
            )),
        }
    }

    /// The member state the reader reads as; `None` for an operator, who reads every state.
    pub fn state(self) -> Option<StateCode> {
        match self {
            Self::Operator => None,
            Self::Member(state) => Some(state),
        }
    }

    /// Whether the reader may see a leaf of the pair (`first`, `second`).
    pub fn sees(self, first: &str, second: &str) -> bool {
        match self {
            Self::Operator => true,
            Self::Member(state) => state.as_str() == first || state.as_str() == second,
        }
    }
}

impl Ledger {
    /// The ledger of `app`'s store, named `origin`, with its tree and its reconciler rebuilt
    /// from the stored leaves in one pass.
    pub async fn start(app: App, origin: KeyName, grace: Period) -> Result<Self, Error> {
        let store = app.store().clone();
        let mut tree = MemoryTree::new();
        let reconciler = reconcile::replay(&store, grace, None, None, |record, _| {
            let hash = Hash::from_slice(&record.leaf_hash)
                .map_err(|error| Error::internal("reading a stored leaf hash", error))?;
            tree.push(hash);
            Ok(())
        })
        .await?;
        let published = store.head(None).await?.map(|head| head.tree_size);
        if let Some(published) = published.filter(|&size| size > tree.size()) {
            return Err(Error::internal(
                "starting the ledger",
                std::io::Error::other(format!(
                    "a head of {published} leaves was published but the store holds {}",
                    tree.size()
                )),
            ));
        }
        tracing::info!(leaves = tree.size(), ?published, "ledger ready");
        Ok(Self {
            inner: Arc::new(Inner {
                app,
                origin,
                tree: RwLock::new(tree),
                appending: Mutex::new(()),
                waiting: std::sync::Mutex::default(),
                published: Mutex::new(published),
                reconciler: RwLock::new(reconciler),
            }),
        })
    }

    /// The log's name, its checkpoints' first line.
    pub fn origin(&self) -> &str {
        self.inner.origin.as_str()
    }

    /// The number of leaves committed.
    pub fn size(&self) -> u64 {
        self.tree().size()
    }

    fn app(&self) -> &App {
        &self.inner.app
    }

    fn store(&self) -> &Store {
        self.inner.app.store()
    }

    fn tree(&self) -> std::sync::RwLockReadGuard<'_, MemoryTree> {
        read_lock(&self.inner.tree)
    }

    /// The tree, to append to.
    fn tree_mut(&self) -> std::sync::RwLockWriteGuard<'_, MemoryTree> {
        write_lock(&self.inner.tree)
    }

    /// `state`'s key `key_id` as the directory in force lists it, valid `at` that time — or,
    /// for `None`, listed at all.
    fn member_key(
        &self,
        state: StateCode,
        key_id: &str,
        at: Option<accord_domain::Timestamp>,
    ) -> Option<EventVerifyingKey> {
        let directory = self.app().inner.published.borrow();
        let member = directory.directory().member(state)?;
        let entry = match at {
            Some(at) => member.signing_key(key_id, at)?,
            None => member.signing_key_by_id(key_id)?,
        };
        EventVerifyingKey::from_bytes(&entry.public_key).ok()
    }
}

/// The note name a member state cosigns under.
fn witness_name(state: StateCode) -> Result<KeyName, Error> {
    KeyName::parse(&format!("accord/state/{state}"))
        .map_err(|error| Error::internal("naming a witness", error))
}
