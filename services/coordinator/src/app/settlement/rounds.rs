//! Settlement rounds: `OpenRound → CloseRound` (the cut-off: the log's size at the latest
//! head) `→ ProposeRound` (the domain's engine solves from the confirmations both parties
//! reported identically in the log below the cut-off, in the period, between participating
//! states; the coordinator signs the report) `→ CountersignRound` by every affected state
//! (`FINAL`) or `DisputeRound` (`DISPUTED`, settling nothing; an operator proposes again,
//! version + 1).
//!
//! The report's form and every check of it are `accord_edge::report`'s: a countersignature is
//! recorded only if it verifies over the latest report by a key the directory lists for the
//! state, and the round is final exactly when every affected state's is recorded.

use std::collections::BTreeMap;

use accord_domain::admission::AdmissionStep;
use accord_domain::readmission::ReadmissionStep;
use accord_domain::reconciliation::{AgeBucket, BreakKind, EventKind};
use accord_domain::settlement::novation::{Performance, novate};
use accord_domain::settlement::{
    Admission, CapacityLimit, Consent, InputParts, Mode, PairLimit, Return,
};
use accord_domain::{StateCode, Timestamp};
use accord_edge::report::{self, RoundFacts};
use accord_proto::v1 as pb;
use accord_trust::{EventVerifyingKey, OperatorName, Signature, SigningDomain};
use prost::Message;

use super::Settlement;
use crate::app::ledger::CutOff;
use crate::app::{Asked, Error, Replied};
use crate::convert::obligations::performances_to_wire;
use crate::convert::settlement::{
    Countersign, Dispute, ListRounds, OpenRound, RoundStatus, RoundView, mode_code, mode_of,
    round_key, stored_pairs,
};
use crate::store::{
    Change, CountersignatureRecord, DisputeRecord, RoundRecord, RoundWrite, SettlementWrite,
};

/// How long after its period a round's instructions must be carried out, in days.
const PERFORM_WITHIN_DAYS: i64 = 14;

/// A day, in milliseconds.
const DAY_MS: i64 = 86_400_000;

impl Settlement {
    /// Opens a round (an operator's action).
    pub async fn open_round(
        &self,
        asked: Asked<'_, RoundView>,
        operator: &OperatorName,
        command: OpenRound,
    ) -> Result<Replied<RoundView>, Error> {
        if let Some(first) = self.app.first_answer(&asked).await? {
            return Ok(Replied::Replay(first));
        }
        let _changing = self.changing_rounds.lock().await;
        let participating = self.participating(&command.participating)?;
        if participating.len() < 2 {
            return Err(Error::IllegalTransition(
                "a round settles between at least two active members".to_owned(),
            ));
        }
        let (start, end) = (command.start.as_millis(), command.end.as_millis());
        let rounds = self.app.inner.store.rounds().await?;
        if let Some(clash) = rounds.iter().find(|round| {
            round.period_start < end
                && start < round.period_end
                && round
                    .participating
                    .split(',')
                    .any(|state| participating.iter().any(|own| own.as_str() == state))
        }) {
            return Err(Error::IllegalTransition(format!(
                "the period overlaps round {} of a participating state",
                clash.round_id
            )));
        }
        let (consents, _) = self.consents(None).await?;
        for (admitting, origin) in &command.redirect_pairs {
            if !super::both_consent(&consents, admitting.as_str(), origin.as_str()) {
                return Err(Error::IllegalTransition(format!(
                    "redirected admissions by {admitting} from {origin} lack a state's consent"
                )));
            }
        }
        let date = command.start.date();
        let prefix = format!(
            "RND-{:04}-{:02}-{:02}",
            date.year(),
            date.month(),
            date.day()
        );
        let number = rounds
            .iter()
            .filter(|round| round.round_id.starts_with(&prefix))
            .count()
            + 1;
        let record = RoundRecord {
            round_id: format!("{prefix}-{number}"),
            period_start: start,
            period_end: end,
            mode: mode_code(command.mode).to_owned(),
            status: RoundStatus::Open.code().to_owned(),
            participating: join(participating.iter().map(ToString::to_string)),
            redirect_pairs: join(
                command
                    .redirect_pairs
                    .iter()
                    .map(|(admitting, origin)| format!("{admitting}>{origin}")),
            ),
            opened_at: self.now().as_millis(),
            cut_off_at: None,
            tree_size: None,
            version: 0,
            report: None,
            finalised_at: None,
        };
        let detail = format!("{operator} opened round {}", record.round_id);
        self.commit_round(asked, RoundWrite::Insert(record), None, detail)
            .await
    }

    /// The participating states: those named, each an active member, or every active member.
    fn participating(&self, named: &[StateCode]) -> Result<Vec<StateCode>, Error> {
        let published = self.app.inner.published.borrow();
        let directory = published.directory();
        if named.is_empty() {
            let all: Vec<StateCode> = directory
                .members()
                .filter(|member| directory.is_active(member.state))
                .map(|member| member.state)
                .collect();
            return Ok(all);
        }
        for state in named {
            if !directory.is_active(*state) {
                return Err(Error::NotFound(format!("active member {state}")));
            }
        }
        Ok(named.to_vec())
    }

    /// Cuts a round off at the log's latest head (an operator's action).
    pub async fn close_round(
        &self,
        asked: Asked<'_, RoundView>,
        operator: &OperatorName,
        round_id: String,
    ) -> Result<Replied<RoundView>, Error> {
        if let Some(first) = self.app.first_answer(&asked).await? {
            return Ok(Replied::Replay(first));
        }
        let _changing = self.changing_rounds.lock().await;
        let mut round = self.round_in(&round_id, &[RoundStatus::Open]).await?;
        let now = self.now();
        if now.as_millis() < round.period_end {
            return Err(Error::IllegalTransition(format!(
                "round {round_id}'s period has not ended"
            )));
        }
        self.ledger.publish_head().await?;
        let head = self.ledger.signed_head(None).await?;
        round.status = RoundStatus::Closed.code().to_owned();
        round.cut_off_at = Some(now.as_millis());
        round.tree_size = Some(i64::try_from(head.tree_size).unwrap_or(i64::MAX));
        let detail = format!(
            "{operator} cut round {round_id} off at {} leaves",
            head.tree_size
        );
        let write = RoundWrite::Update {
            from_status: RoundStatus::Open.code().to_owned(),
            round,
        };
        self.commit_round(asked, write, None, detail).await
    }

    /// Computes, signs and proposes the round's report (an operator's action).
    pub async fn propose_round(
        &self,
        asked: Asked<'_, RoundView>,
        operator: &OperatorName,
        round_id: String,
    ) -> Result<Replied<RoundView>, Error> {
        if let Some(first) = self.app.first_answer(&asked).await? {
            return Ok(Replied::Replay(first));
        }
        let _changing = self.changing_rounds.lock().await;
        let mut round = self
            .round_in(&round_id, &[RoundStatus::Closed, RoundStatus::Disputed])
            .await?;
        let from_status = round.status.clone();
        let signed = self.computed_report(&round).await?;
        round.version += 1;
        round.report = Some(signed.encode_to_vec());
        // A report that affects no state (nothing to settle) needs no countersignature.
        if signed
            .report
            .as_ref()
            .is_some_and(|report| report.affected_states.is_empty())
        {
            round.status = RoundStatus::Final.code().to_owned();
            round.finalised_at = Some(self.now().as_millis());
        } else {
            round.status = RoundStatus::Proposed.code().to_owned();
        }
        let detail = format!(
            "{operator} proposed round {round_id}, version {}, settling {}",
            round.version,
            signed.report.as_ref().map_or(0, |report| report.settled)
        );
        let write = RoundWrite::Update { from_status, round };
        self.commit_round(asked, write, None, detail).await
    }

    /// The round's report, from what the log holds below its cut-off.
    async fn computed_report(
        &self,
        round: &RoundRecord,
    ) -> Result<pb::SignedSettlementReport, Error> {
        let invalid = |what: &str| {
            Error::internal(
                "reading a round",
                std::io::Error::other(format!("round {}: {what}", round.round_id)),
            )
        };
        let size = round
            .tree_size
            .and_then(|size| u64::try_from(size).ok())
            .ok_or_else(|| invalid("no cut-off"))?;
        let mode = mode_of(&round.mode).ok_or_else(|| invalid("mode"))?;
        let head = self.ledger.signed_head(Some(size)).await?;
        let cut = self.ledger.cut_off(size, head.timestamp).await?;
        let participating: Vec<StateCode> = round
            .participating
            .split(',')
            .filter_map(|code| StateCode::parse(code).ok())
            .collect();
        let inside = |first: StateCode, second: StateCode| {
            participating.contains(&first) && participating.contains(&second)
        };
        let in_period = |at: Timestamp| {
            round.period_start <= at.as_millis() && at.as_millis() < round.period_end
        };
        let Counted {
            returns,
            admissions,
            movements,
        } = counted(&cut, &inside, &in_period);
        let period_end = Timestamp::from_millis(round.period_end).map_err(|_| invalid("period"))?;
        let prior = self.prior(round).await?;
        let novated = novate(prior.owed, &prior.carry_forward, admissions, period_end);
        let mut parts = self
            .input_parts(round, mode, &participating, returns, novated.admissions)
            .await?;
        parts.carried = novated.carried;
        let open_breaks = open_breaks(&cut, &inside, &novated.performances, head.timestamp);
        let facts = RoundFacts {
            round_id: round.round_id.clone(),
            version: u32::try_from(round.version + 1).unwrap_or(u32::MAX),
            period_start: Timestamp::from_millis(round.period_start)
                .map_err(|_| invalid("period"))?,
            period_end,
            log_origin: self.ledger.origin().to_owned(),
            tree_size: size,
            root_hash: head.root_hash,
            tree_head_at: head.timestamp,
            computed_at: self.now(),
            perform_by: Timestamp::from_millis(round.period_end + PERFORM_WITHIN_DAYS * DAY_MS)
                .ok(),
            movements,
            open_breaks,
            performances: performances_to_wire(&novated.performances),
        };
        let proposed = report::propose(&facts, parts)
            .map_err(|error| Error::internal("computing the round's report", error))?;
        Ok(report::sign(proposed, &self.app.inner.signer))
    }

    /// The engine's input: the counted movements, the capacities of the period, the latest
    /// candidate counts and, in multilateral mode, the round's consented pairs (explicitly
    /// none when it has none).
    async fn input_parts(
        &self,
        round: &RoundRecord,
        mode: Mode,
        participating: &[StateCode],
        returns: BTreeMap<(StateCode, StateCode), u64>,
        admissions: BTreeMap<(StateCode, StateCode), u64>,
    ) -> Result<InputParts, Error> {
        let mut parts = InputParts::new(
            mode,
            returns
                .into_iter()
                .map(|((from, to), count)| Return { from, to, count })
                .collect(),
        );
        parts.admissions = admissions
            .into_iter()
            .map(|((admitting, origin), count)| Admission {
                admitting,
                origin,
                count,
            })
            .collect();
        for record in self.app.inner.store.capacities().await? {
            let Ok(state) = StateCode::parse(&record.state) else {
                continue;
            };
            let overlaps =
                record.period_start < round.period_end && round.period_start < record.period_end;
            if overlaps
                && participating.contains(&state)
                && !parts.capacity.iter().any(|c| c.state == state)
            {
                parts.capacity.push(CapacityLimit {
                    state,
                    count: u64::try_from(record.capacity).unwrap_or(0),
                });
            }
        }
        for record in self.app.inner.store.candidates().await? {
            let (Ok(admitting), Ok(origin)) = (
                StateCode::parse(&record.state),
                StateCode::parse(&record.origin_state),
            ) else {
                continue;
            };
            if participating.contains(&admitting) && participating.contains(&origin) {
                parts.candidates.push(PairLimit {
                    admitting,
                    origin,
                    count: u64::try_from(record.count).unwrap_or(0),
                });
            }
        }
        if mode == Mode::Multilateral {
            parts.consented = Some(
                stored_pairs(&round.redirect_pairs)
                    .into_iter()
                    .filter_map(|(admitting, origin)| {
                        Some(Consent {
                            admitting: StateCode::parse(&admitting).ok()?,
                            origin: StateCode::parse(&origin).ok()?,
                        })
                    })
                    .collect(),
            );
        }
        Ok(parts)
    }

    /// Records `state`'s countersignature of the latest proposal (its node's action); the
    /// round is final once every affected state's is recorded.
    pub async fn countersign(
        &self,
        asked: Asked<'_, RoundView>,
        state: StateCode,
        command: Countersign,
    ) -> Result<Replied<RoundView>, Error> {
        if let Some(first) = self.app.first_answer(&asked).await? {
            return Ok(Replied::Replay(first));
        }
        let _changing = self.changing_rounds.lock().await;
        if command.countersignature.state != state.as_str() {
            return Err(Error::PermissionDenied(format!(
                "{state} countersigns only for itself"
            )));
        }
        let (mut round, opened) = self
            .proposal_to(&command.round_id, &command.report_digest, state)
            .await?;
        let directory = self.app.inner.published.borrow().directory().clone();
        opened
            .check_countersignature(&command.countersignature, &directory)
            .map_err(|error| Error::SignatureInvalid(error.to_string()))?;
        let now = self.now();
        let mut signed: Vec<StateCode> = self
            .app
            .inner
            .store
            .countersignatures(&round.round_id, round.version)
            .await?
            .iter()
            .filter_map(|record| StateCode::parse(&record.state).ok())
            .collect();
        signed.push(state);
        let from_status = round.status.clone();
        if opened.missing(&signed).is_empty() {
            round.status = RoundStatus::Final.code().to_owned();
            round.finalised_at = Some(now.as_millis());
        }
        let signature = CountersignatureRecord {
            round_id: round.round_id.clone(),
            version: round.version,
            state: state.to_string(),
            signature: command.countersignature.encode_to_vec(),
            recorded_at: now.as_millis(),
        };
        let detail = format!("{state} countersigned round {}", round.round_id);
        let write = RoundWrite::Update { from_status, round };
        let extra = SettlementWrite {
            countersignature: Some(signature),
            ..SettlementWrite::default()
        };
        self.commit_round(asked, write, Some(extra), detail).await
    }

    /// Records `state`'s signed dispute of the latest proposal (its node's action).
    pub async fn dispute(
        &self,
        asked: Asked<'_, RoundView>,
        state: StateCode,
        command: Dispute,
    ) -> Result<Replied<RoundView>, Error> {
        if let Some(first) = self.app.first_answer(&asked).await? {
            return Ok(Replied::Replay(first));
        }
        let _changing = self.changing_rounds.lock().await;
        if command.state != state {
            return Err(Error::PermissionDenied(format!(
                "{state} disputes only for itself"
            )));
        }
        let (dispute, signature) = match (&command.signed.dispute, &command.signed.signature) {
            (Some(dispute), Some(signature)) => (dispute, signature),
            _ => return Err(Error::invalid("dispute", "is incomplete")),
        };
        let (mut round, _) = self
            .proposal_to(&dispute.round_id, &dispute.report_digest, state)
            .await?;
        let now = self.now();
        let key = {
            let published = self.app.inner.published.borrow();
            published
                .directory()
                .member(state)
                .and_then(|member| member.signing_key(&signature.signing_key_id, now))
                .and_then(|entry| EventVerifyingKey::from_bytes(&entry.public_key).ok())
        }
        .ok_or_else(|| {
            Error::SignatureInvalid(format!(
                "key {} is not a key of {state} valid now",
                signature.signing_key_id
            ))
        })?;
        let signature_bytes = Signature::from_slice(&signature.signature)
            .map_err(|error| Error::SignatureInvalid(error.to_string()))?;
        key.verify(
            SigningDomain::ROUND_DISPUTE,
            &dispute.encode_to_vec(),
            &signature_bytes,
        )
        .map_err(|_| {
            Error::SignatureInvalid(format!("the dispute does not verify under {state}'s key"))
        })?;
        let from_status = round.status.clone();
        round.status = RoundStatus::Disputed.code().to_owned();
        let record = DisputeRecord {
            round_id: round.round_id.clone(),
            dispute: command.signed.encode_to_vec(),
            recorded_at: now.as_millis(),
        };
        let detail = format!("{state} disputed round {}", round.round_id);
        let write = RoundWrite::Update { from_status, round };
        let extra = SettlementWrite {
            dispute: Some(record),
            ..SettlementWrite::default()
        };
        self.commit_round(asked, write, Some(extra), detail).await
    }

    /// The round `round_id` as `reader` may see it: an operator, or a participating state.
    pub async fn round(
        &self,
        round_id: &str,
        reader: Option<StateCode>,
    ) -> Result<RoundView, Error> {
        let round = self
            .app
            .inner
            .store
            .round(round_id)
            .await?
            .filter(|round| visible(round, reader))
            .ok_or_else(|| Error::NotFound(format!("round {round_id}")))?;
        self.view(round).await
    }

    /// The rounds `reader` may see, newest period first, in `statuses` (all when empty).
    pub async fn rounds(
        &self,
        reader: Option<StateCode>,
        query: &ListRounds,
    ) -> Result<(Vec<RoundView>, Option<String>), Error> {
        let matching: Vec<RoundRecord> = self
            .app
            .inner
            .store
            .rounds()
            .await?
            .into_iter()
            .filter(|round| {
                let status = RoundStatus::parse(&round.status);
                let wanted = query.statuses.is_empty()
                    || status.is_some_and(|status| query.statuses.contains(&status));
                let of_state = query.state.is_none_or(|state| {
                    round
                        .participating
                        .split(',')
                        .any(|code| code == state.as_str())
                });
                wanted && of_state && visible(round, reader)
            })
            .collect();
        let (page, next) = super::paged(matching, round_key, &query.page)?;
        let mut views = Vec::with_capacity(page.len());
        for round in page {
            views.push(self.view(round).await?);
        }
        Ok((views, next))
    }

    async fn view(&self, round: RoundRecord) -> Result<RoundView, Error> {
        let store = &self.app.inner.store;
        let countersignatures = store
            .countersignatures(&round.round_id, round.version)
            .await?;
        let disputes = store.disputes(&round.round_id).await?;
        let awaiting = if round.status == RoundStatus::Proposed.code() {
            let signed: Vec<StateCode> = countersignatures
                .iter()
                .filter_map(|record| StateCode::parse(&record.state).ok())
                .collect();
            self.latest(&round)?.missing(&signed)
        } else {
            Vec::new()
        };
        Ok(RoundView {
            round,
            countersignatures,
            disputes,
            awaiting,
        })
    }

    /// The proposed round `round_id` and its latest report, when `digest` names that report
    /// and `state` is affected by it: what a countersignature or a dispute answers.
    async fn proposal_to(
        &self,
        round_id: &str,
        digest: &[u8],
        state: StateCode,
    ) -> Result<(RoundRecord, report::OpenedReport), Error> {
        let round = self.round_in(round_id, &[RoundStatus::Proposed]).await?;
        let opened = self.latest(&round)?;
        if digest != opened.digest() {
            return Err(Error::HeadMismatch(format!(
                "the digest is not round {round_id}'s latest report's"
            )));
        }
        if !opened.affected_states().contains(&state) {
            return Err(Error::PermissionDenied(format!(
                "{state} is not affected by round {round_id}"
            )));
        }
        Ok((round, opened))
    }

    /// The round, if it is in one of `statuses`.
    async fn round_in(
        &self,
        round_id: &str,
        statuses: &[RoundStatus],
    ) -> Result<RoundRecord, Error> {
        let round = self
            .app
            .inner
            .store
            .round(round_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("round {round_id}")))?;
        let status = RoundStatus::parse(&round.status);
        if !status.is_some_and(|status| statuses.contains(&status)) {
            return Err(Error::IllegalTransition(format!(
                "round {round_id} is {}",
                round.status
            )));
        }
        Ok(round)
    }

    /// The round's latest report, opened under the coordinator's key.
    pub(super) fn latest(&self, round: &RoundRecord) -> Result<report::OpenedReport, Error> {
        let bytes = round.report.as_deref().ok_or_else(|| {
            Error::internal(
                "reading a round",
                std::io::Error::other(format!("round {} has no report", round.round_id)),
            )
        })?;
        let signed = pb::SignedSettlementReport::decode(bytes)
            .map_err(|error| Error::internal("reading a round's report", error))?;
        report::open(&signed, &self.app.inner.signer.verifying_key())
            .map_err(|error| Error::internal("opening a round's report", error))
    }

    /// Commits a round's write with `extra`, the idempotency record and the audit row; answers
    /// the round as it now stands.
    async fn commit_round(
        &self,
        asked: Asked<'_, RoundView>,
        write: RoundWrite,
        extra: Option<SettlementWrite>,
        detail: String,
    ) -> Result<Replied<RoundView>, Error> {
        let round = match &write {
            RoundWrite::Insert(round) | RoundWrite::Update { round, .. } => round.clone(),
        };
        let mut settlement = extra.unwrap_or_default();
        settlement.round = Some(write);
        let mut change = Change {
            settlement,
            ..Change::default()
        };
        let mut answer = self.view(round.clone()).await?;
        if let Some(signature) = &change.settlement.countersignature {
            answer.countersignatures.push(signature.clone());
            answer
                .countersignatures
                .sort_by(|a, b| a.state.cmp(&b.state));
            answer
                .awaiting
                .retain(|state| state.as_str() != signature.state);
        }
        if let Some(dispute) = &change.settlement.dispute {
            answer.disputes.push(dispute.clone());
        }
        if round.status != RoundStatus::Proposed.code() {
            answer.awaiting.clear();
        }
        self.app.answered(&asked, &answer, detail, &mut change);
        self.app.inner.store.commit(change).await?;
        if round.status == RoundStatus::Final.code()
            && let Some(report) = &round.report
        {
            // Novation: what this round found lapsed is a NOT_PERFORMED break from now on.
            self.ledger.record_final_round(report)?;
        }
        Ok(Replied::Fresh(answer))
    }
}

/// What a round counts: matched arrivals (returns) and admissions between participating
/// states, in the period, per ordered pair, and each counted case with its leaves.
struct Counted {
    returns: BTreeMap<(StateCode, StateCode), u64>,
    admissions: BTreeMap<(StateCode, StateCode), u64>,
    movements: Vec<pb::CountedMovement>,
}

fn counted(
    cut: &CutOff,
    inside: &dyn Fn(StateCode, StateCode) -> bool,
    in_period: &dyn Fn(Timestamp) -> bool,
) -> Counted {
    let mut counted = Counted {
        returns: BTreeMap::new(),
        admissions: BTreeMap::new(),
        movements: Vec::new(),
    };
    for matched in cut.reconciliation.matched() {
        let (first, second) = (matched.pair.first(), matched.pair.second());
        if !inside(first, second) || !in_period(matched.occurred_at) {
            continue;
        }
        let case_kind = match matched.kind {
            EventKind::Readmission(ReadmissionStep::ArrivalConfirmed) => {
                *counted.returns.entry((first, second)).or_default() += 1;
                pb::CaseKind::Readmission
            }
            EventKind::Admission(AdmissionStep::Arrived) => {
                *counted.admissions.entry((first, second)).or_default() += 1;
                pb::CaseKind::Admission
            }
            _ => continue,
        };
        counted.movements.push(pb::CountedMovement {
            case_ref: matched.case_ref.to_string(),
            case_kind: case_kind.into(),
            pair: Some(pb::StatePair {
                first_state: first.to_string(),
                second_state: second.to_string(),
            }),
            leaf_indices: cut
                .leaves
                .get(&(matched.case_ref.clone(), matched.kind))
                .cloned()
                .unwrap_or_default(),
        });
    }
    counted
}

/// The breaks open at the cut-off between participating states, by kind and age, and each
/// instruction that lapsed as a `NOT_PERFORMED` break aged from its deadline (the round carries
/// its shortfall in; the break stays in the report).
fn open_breaks(
    cut: &CutOff,
    inside: &dyn Fn(StateCode, StateCode) -> bool,
    performances: &[Performance],
    at: Timestamp,
) -> Vec<pb::BreakCount> {
    let mut counts: BTreeMap<(&'static str, &'static str), u32> = BTreeMap::new();
    for found in cut.reconciliation.breaks() {
        let pair = found.pair();
        if found.is_open() && inside(pair.first(), pair.second()) {
            let key = (found.kind().code(), found.age_bucket(at).code());
            *counts.entry(key).or_default() += 1;
        }
    }
    for lapsed in performances.iter().filter(|found| found.lapsed) {
        let days = (at.as_millis() - lapsed.instruction.perform_by.as_millis()).max(0) / DAY_MS;
        let bucket = AgeBucket::of_days(u64::try_from(days).unwrap_or(0));
        *counts
            .entry((BreakKind::NotPerformed.code(), bucket.code()))
            .or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((kind, bucket), count)| pb::BreakCount {
            kind: accord_edge::wire::coded_to_wire::<pb::BreakKind>(kind).into(),
            age_bucket: accord_edge::wire::coded_to_wire::<pb::BreakAgeBucket>(bucket).into(),
            count,
        })
        .collect()
}

/// Whether `reader` (an operator for `None`) may see `round`.
fn visible(round: &RoundRecord, reader: Option<StateCode>) -> bool {
    reader.is_none_or(|state| {
        round
            .participating
            .split(',')
            .any(|code| code == state.as_str())
    })
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(",")
}

impl Settlement {
    /// The round's latest report with every countersignature so far, as one bundle an
    /// offline verifier checks from the root CA alone (`accord report verify`): the signed
    /// head at the cut-off, the directory in force and the certificate chain of the
    /// coordinator's signing key.
    pub async fn report_bundle(&self, view: &RoundView) -> Result<Vec<u8>, Error> {
        let round = &view.round;
        let round_id = &round.round_id;
        let bytes = round
            .report
            .as_deref()
            .ok_or_else(|| Error::NotFound(format!("a report of round {round_id}")))?;
        let mut signed = pb::SignedSettlementReport::decode(bytes)
            .map_err(|error| Error::internal("reading a round's report", error))?;
        signed.countersignatures = view
            .countersignatures
            .iter()
            .filter_map(|record| pb::StateSignature::decode(record.signature.as_slice()).ok())
            .collect();
        let size = round
            .tree_size
            .and_then(|size| u64::try_from(size).ok())
            .unwrap_or(0);
        let head = self.ledger.signed_head(Some(size)).await?;
        let head = crate::convert::ledger::head_to_wire(&head);
        let directory = pb::SignedDirectory::decode(self.app.directory().bytes())
            .map_err(|error| Error::internal("reading the directory", error))?;
        let bundle = report::bundle::assemble(
            signed,
            &head,
            &directory,
            self.app.inner.signing_key_chain.clone(),
        );
        Ok(bundle.encode_to_vec())
    }
}
