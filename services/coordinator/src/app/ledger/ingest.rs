//! Logging reported events: each report of a batch is checked (the reporter is a party, the
//! acting state's key is listed and valid now, the signature verifies — all signatures of a
//! batch at once), looked up (a report logged before is a duplicate with its first leaf; the
//! same key and sequence with another event is refused), and the new ones appended — with
//! every other batch waiting, in one transaction — before any is acknowledged.

use std::collections::{BTreeMap, HashMap};

use accord_domain::{StateCode, Timestamp};
use accord_trust::log::{Hash, leaf_hash};
use accord_trust::signing::{SignedMessage, verify_batch};
use accord_trust::{EventVerifyingKey, SigningDomain};

use super::Ledger;
use crate::app::Error;
use crate::convert::ledger::{Logged, Outcome, Rejection, RejectionReason, ReportedEvent};
use crate::store::LeafRecord;

/// A report that passed every check but its signature's, with the key to verify it under.
struct Checked {
    position: usize,
    report: ReportedEvent,
    key: EventVerifyingKey,
}

/// The keys one batch names, each looked up in the directory and decoded once: decoding a
/// key for every report cost 40 % as much as verifying the batch's signatures, and a batch
/// names one key or a few (BENCHMARKS.md, "Ledger and settlement").
#[derive(Default)]
struct BatchKeys(Vec<((StateCode, String), Option<EventVerifyingKey>)>);

impl BatchKeys {
    /// `state`'s key `key_id` as the directory in force lists it, valid at `now`.
    fn get(
        &mut self,
        ledger: &Ledger,
        state: StateCode,
        key_id: &str,
        now: Timestamp,
    ) -> Option<EventVerifyingKey> {
        let known = self
            .0
            .iter()
            .find(|((known_state, known_id), _)| *known_state == state && known_id == key_id);
        if let Some((_, key)) = known {
            return *key;
        }
        let key = ledger.member_key(state, key_id, Some(now));
        self.0.push(((state, key_id.to_owned()), key));
        key
    }
}

/// What identifies a report in the log: a reporter's report of one event of the acting
/// state is logged once.
type ReportIdentity = (String, StateCode, u64);

impl Ledger {
    /// Logs `reporter`'s batch of `reports` (parsed, or refused by the edge), answering for
    /// each in order once the new leaves are committed.
    pub async fn report(
        &self,
        reporter: StateCode,
        reports: Vec<Result<ReportedEvent, Rejection>>,
    ) -> Result<Vec<Outcome>, Error> {
        let now = self.app().inner.clock.now();
        let mut outcomes: Vec<Option<Outcome>> = vec![None; reports.len()];
        let mut candidates = Vec::new();
        let mut keys = BatchKeys::default();
        for (position, parsed) in reports.into_iter().enumerate() {
            match parsed.and_then(|report| self.check(reporter, report, now, &mut keys)) {
                Ok((report, key)) => candidates.push(Checked {
                    position,
                    report,
                    key,
                }),
                Err(rejection) => outcomes[position] = Some(Outcome::Rejected(rejection)),
            }
        }
        let verified = verified(candidates, &mut outcomes);
        for (position, outcome) in self.append(reporter, verified, now).await? {
            outcomes[position] = Some(outcome);
        }
        outcomes
            .into_iter()
            .map(|outcome| {
                outcome.ok_or_else(|| {
                    Error::internal(
                        "answering a batch",
                        std::io::Error::other("a report was left without an answer"),
                    )
                })
            })
            .collect()
    }

    /// The reporter is a party to the case and the acting state's key is listed, valid now.
    fn check(
        &self,
        reporter: StateCode,
        report: ReportedEvent,
        now: Timestamp,
        keys: &mut BatchKeys,
    ) -> Result<(ReportedEvent, EventVerifyingKey), Rejection> {
        let (first, second) = report.pair;
        if reporter != first && reporter != second {
            return Err(Rejection::new(
                RejectionReason::CallerNotAllowed,
                "attestation.case_ref",
                format!("{reporter} is not a party to {}", report.case_ref),
            ));
        }
        let key = keys
            .get(self, report.acting_state, &report.signing_key_id, now)
            .ok_or_else(|| {
                Rejection::new(
                    RejectionReason::SigningKeyUnknown,
                    "attestation.signing_key_id",
                    format!(
                        "{} is not a key of {} valid now",
                        report.signing_key_id, report.acting_state
                    ),
                )
            })?;
        Ok((report, key))
    }

    /// Appends the reports not logged before and answers for each, once they are committed.
    ///
    /// Group commit: the batch joins the queue of batches waiting to append; whoever holds
    /// the append lock next takes every batch waiting and commits them all in one
    /// transaction (one sync of the log for many batches, as the node's writer does), then
    /// answers each. A batch whose group was committed by another caller only waits for
    /// its answer.
    async fn append(
        &self,
        reporter: StateCode,
        verified: Vec<(usize, ReportedEvent)>,
        now: Timestamp,
    ) -> Result<Vec<(usize, Outcome)>, Error> {
        if verified.is_empty() {
            return Ok(Vec::new());
        }
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.waiting().push(Waiting {
            reporter,
            verified,
            now,
            answer,
        });
        {
            let _appending = self.inner.appending.lock().await;
            let group = std::mem::take(&mut *self.waiting());
            if !group.is_empty() {
                self.append_group(group).await;
            }
        }
        answered.await.unwrap_or_else(|_| {
            Err(Error::internal(
                "appending a batch",
                std::io::Error::other("the batch was dropped unanswered"),
            ))
        })
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, Vec<Waiting>> {
        self.inner
            .waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends every batch of `group` in one transaction, in queue order, and answers each:
    /// its outcomes, or the commit's failure.
    async fn append_group(&self, group: Vec<Waiting>) {
        match self.append_all(&group).await {
            Ok(mut answers) => {
                for (waiting, answer) in group.into_iter().zip(answers.drain(..)) {
                    let _ = waiting.answer.send(Ok(answer));
                }
            }
            Err(error) => {
                let failure = error.to_string();
                let mut first = Some(error);
                for waiting in group {
                    let error = first.take().unwrap_or_else(|| {
                        Error::internal("appending a batch", std::io::Error::other(failure.clone()))
                    });
                    let _ = waiting.answer.send(Err(error));
                }
            }
        }
    }

    /// The outcomes of each batch of `group`, once its new leaves are committed.
    async fn append_all(&self, group: &[Waiting]) -> Result<Vec<Vec<(usize, Outcome)>>, Error> {
        let mut logged: HashMap<(StateCode, ReportIdentity), ([u8; 32], Logged)> = HashMap::new();
        let mut keys_by_reporter: BTreeMap<StateCode, Vec<String>> = BTreeMap::new();
        for waiting in group {
            let keys = keys_by_reporter.entry(waiting.reporter).or_default();
            keys.extend(
                waiting
                    .verified
                    .iter()
                    .map(|(_, report)| report.event_key.clone()),
            );
        }
        for (reporter, mut keys) in keys_by_reporter {
            keys.sort_unstable();
            keys.dedup();
            for record in self.store().reported(reporter.as_str(), keys).await? {
                let (identity, first) = logged_before(&record)?;
                logged.insert((reporter, identity), first);
            }
        }
        let mut next = self.size();
        let mut leaves = Vec::new();
        let mut hashes = Vec::new();
        let mut answers = Vec::with_capacity(group.len());
        for waiting in group {
            let reporter = waiting.reporter;
            let mut batch = Vec::with_capacity(waiting.verified.len());
            for (position, report) in &waiting.verified {
                let identity = (
                    reporter,
                    (
                        report.event_key.clone(),
                        report.acting_state,
                        report.sequence,
                    ),
                );
                if let Some((digest, first)) = logged.get(&identity) {
                    batch.push((*position, again(report, digest, *first)));
                    continue;
                }
                let leaf = report.leaf_bytes(reporter, waiting.now);
                let hash = leaf_hash(&leaf);
                let entry = Logged {
                    leaf_index: next,
                    leaf_hash: hash,
                    accepted_at: waiting.now,
                };
                logged.insert(identity, (report.event_digest, entry));
                leaves.push(leaf_record(reporter, report, entry, leaf));
                hashes.push(hash);
                batch.push((*position, Outcome::Accepted(entry)));
                next += 1;
            }
            answers.push(batch);
        }
        if !leaves.is_empty() {
            let attestations = leaves
                .iter()
                .map(super::reconcile::attestation)
                .collect::<Result<Vec<_>, _>>()?;
            self.store().append_leaves(leaves).await?;
            let mut tree = self.tree_mut();
            for hash in hashes {
                tree.push(hash);
            }
            drop(tree);
            self.reconcile_new(attestations);
        }
        Ok(answers)
    }
}

/// A verified batch waiting to be appended, and where its answer goes.
pub(super) struct Waiting {
    reporter: StateCode,
    verified: Vec<(usize, ReportedEvent)>,
    now: Timestamp,
    answer: tokio::sync::oneshot::Sender<Result<Vec<(usize, Outcome)>, Error>>,
}

/// The answer to a report whose identity was logged before (`digest` is the first report's
/// event digest): the same event is a duplicate; another event under the same key and
/// sequence is refused.
fn again(report: &ReportedEvent, digest: &[u8; 32], first: Logged) -> Outcome {
    if *digest == report.event_digest {
        Outcome::Duplicate(first)
    } else {
        Outcome::Rejected(Rejection::new(
            RejectionReason::KeyReused,
            "attestation.idempotency_key",
            format!(
                "event {} of {} under this key was logged with another digest at leaf {}",
                report.sequence, report.case_ref, first.leaf_index
            ),
        ))
    }
}

/// A stored leaf's identity, event digest and place in the log.
fn logged_before(record: &LeafRecord) -> Result<(ReportIdentity, ([u8; 32], Logged)), Error> {
    let corrupt = |what: &str| {
        Error::internal(
            "reading a logged report",
            std::io::Error::other(format!("leaf {}: {what}", record.leaf_index)),
        )
    };
    let acting = StateCode::parse(&record.acting_state).map_err(|_| corrupt("acting state"))?;
    let digest = <[u8; 32]>::try_from(record.event_digest.as_slice())
        .map_err(|_| corrupt("event digest"))?;
    let leaf_hash = Hash::from_slice(&record.leaf_hash).map_err(|_| corrupt("leaf hash"))?;
    let accepted_at =
        Timestamp::from_millis(record.accepted_at).map_err(|_| corrupt("acceptance time"))?;
    Ok((
        (record.event_key.clone(), acting, record.sequence),
        (
            digest,
            Logged {
                leaf_index: record.leaf_index,
                leaf_hash,
                accepted_at,
            },
        ),
    ))
}

/// The stored form of a new leaf.
fn leaf_record(
    reporter: StateCode,
    report: &ReportedEvent,
    entry: Logged,
    leaf: Vec<u8>,
) -> LeafRecord {
    LeafRecord {
        leaf_index: entry.leaf_index,
        reporter_state: reporter.to_string(),
        acting_state: report.acting_state.to_string(),
        event_key: report.event_key.clone(),
        sequence: report.sequence,
        case_ref: report.case_ref.to_string(),
        first_state: report.pair.0.to_string(),
        second_state: report.pair.1.to_string(),
        event_kind: report.kind.to_owned(),
        occurred_at: report.occurred_at.as_millis(),
        event_digest: report.event_digest.to_vec(),
        leaf_hash: entry.leaf_hash.as_bytes().to_vec(),
        leaf,
        accepted_at: entry.accepted_at.as_millis(),
    }
}

/// The reports whose signatures verify — all at once, then one by one only if the batch
/// fails — with each failure answered as `SIGNATURE_INVALID`.
fn verified(
    candidates: Vec<Checked>,
    outcomes: &mut [Option<Outcome>],
) -> Vec<(usize, ReportedEvent)> {
    let signed: Vec<Vec<u8>> = candidates
        .iter()
        .map(|checked| checked.report.signed_bytes())
        .collect();
    let batch: Vec<SignedMessage<'_>> = candidates
        .iter()
        .zip(&signed)
        .map(|(checked, bytes)| SignedMessage {
            key: &checked.key,
            domain: SigningDomain::EVENT,
            canonical_bytes: bytes,
            signature: &checked.report.signature,
        })
        .collect();
    let all_verify = verify_batch(&batch).is_ok();
    let mut verified = Vec::with_capacity(candidates.len());
    for (checked, bytes) in candidates.into_iter().zip(&signed) {
        let verifies = all_verify
            || checked
                .key
                .verify(SigningDomain::EVENT, bytes, &checked.report.signature)
                .is_ok();
        if verifies {
            verified.push((checked.position, checked.report));
        } else {
            outcomes[checked.position] = Some(Outcome::Rejected(Rejection::new(
                RejectionReason::SignatureInvalid,
                "signature",
                format!(
                    "does not verify under {}'s key {}",
                    checked.report.acting_state, checked.report.signing_key_id
                ),
            )));
        }
    }
    verified
}

impl Ledger {
    /// Logs one batch sent in one call (`ReportEventBatch`): idempotent on the request's key,
    /// so the same batch sent again answers exactly as the first time.
    pub async fn report_once(
        &self,
        asked: crate::app::Asked<'_, Vec<Outcome>>,
        reporter: StateCode,
        reports: Vec<Result<ReportedEvent, Rejection>>,
    ) -> Result<crate::app::Replied<Vec<Outcome>>, Error> {
        if let Some(first) = self.app().first_answer(&asked).await? {
            return Ok(crate::app::Replied::Replay(first));
        }
        let outcomes = self.report(reporter, reports).await?;
        let accepted = outcomes
            .iter()
            .filter(|outcome| matches!(outcome, Outcome::Accepted(_)))
            .count();
        let detail = format!(
            "{reporter} reported {} events, {accepted} logged now",
            outcomes.len()
        );
        let change = crate::store::Change::default();
        self.app()
            .commit_answered(&asked, outcomes, detail, change)
            .await
    }
}
