//! Readmission use cases: opening a case, every caseworker step, receiving the partner's
//! events, and reading cases.
//!
//! Every change follows one path: read the case and its signed history, rebuild the domain
//! case from it, let the domain decide the step, sign the new event, and commit the event,
//! the case summary, the idempotency record and the partner's outbox message in one
//! transaction. A lost race (another change reached the case first) reads again and retries.

use accord_domain::deadline::{self, Deadline};
use accord_domain::parity::{self, ParityLimit};
use accord_domain::readmission::{self as domain, ReadmissionCase, ReadmissionEventKind};
use accord_domain::reason::ReadmissionReason;
use accord_domain::regime::{ClockDuty, Party, Silence};
use accord_domain::{
    Actor, CaseKind, CaseRef, FreeText, IdempotencyKey, Regime, ReplyTrack, StateCode, Timestamp,
};
use accord_proto::v1 as pb;
use accord_trust::PeerIdentity;
use pb::readmission_event::Detail;
use prost::Message;

use super::envelope;
use super::idempotency::IdempotencyContext;
use super::{App, Error, EventPage, EventPageRequest, Precondition, not_before, retry_on_conflict};
use crate::convert::readmission as convert;
use crate::convert::to_wire_time;
use crate::store::{self, CaseRecord, CaseWrite, Change, Channel, EventRef, OutboxMessage};

/// A validated request to open a readmission case (S's caseworker, through S's gateway).
#[derive(Debug, Clone)]
pub struct OpenReadmission {
    /// The caller's key.
    pub idempotency_key: IdempotencyKey,
    /// SHA-256 of the request, see [`super::request_digest`].
    pub request_digest: Vec<u8>,
    /// R.
    pub requested: StateCode,
    /// The regime of the pair's agreement.
    pub regime: Regime,
    /// When the person arrived in S.
    pub arrival: Timestamp,
    /// Standard, exceptional or detained.
    pub track: ReplyTrack,
    /// The submission as it will travel (person, evidence, notes), already validated.
    pub submission: pb::ReadmissionSubmission,
}

/// A validated caseworker step on an existing case.
#[derive(Debug, Clone)]
pub struct Step {
    /// The caller's key.
    pub idempotency_key: IdempotencyKey,
    /// SHA-256 of the request.
    pub request_digest: Vec<u8>,
    /// The RPC, for the idempotency record.
    pub operation: &'static str,
    /// The case.
    pub case_ref: CaseRef,
    /// What the domain sees.
    pub kind: ReadmissionEventKind,
    /// What the wire event carries.
    pub detail: Option<Detail>,
}

/// A case and the event a step recorded: every step RPC answers this.
#[derive(Clone, PartialEq, Message)]
pub struct StepOutcome {
    /// The case after the step.
    #[prost(message, optional, tag = "1")]
    pub readmission: Option<pb::ReadmissionCase>,
    /// The event recorded.
    #[prost(message, optional, tag = "2")]
    pub event: Option<pb::ReadmissionEvent>,
}

/// A case as stored: summary, signed history, and the domain case rebuilt from it.
struct Loaded {
    summary: CaseRecord,
    events: Vec<pb::ReadmissionEvent>,
    case: ReadmissionCase,
}

const OPERATION_OPEN: &str = "OpenReadmission";

impl App {
    /// Opens a case: S records SUBMITTED and queues it for R's node.
    ///
    /// The hot path reads nothing: the writer checks the idempotency key in the same batch
    /// query that serves every concurrent request, and answers a replay with the first
    /// response. Only a request that fails here looks up its key, so that a replay is
    /// answered with its first result even when the request would now be refused.
    pub async fn open_readmission(
        &self,
        caller: &str,
        request: OpenReadmission,
    ) -> Result<StepOutcome, Error> {
        let key = request.idempotency_key.clone();
        let digest = request.request_digest.clone();
        match self.prepare_opening(caller, request) {
            Ok((change, outcome)) => self.commit_with_outcome(change, outcome).await,
            Err(error) => {
                let context = IdempotencyContext {
                    caller,
                    idempotency_key: &key,
                    operation: OPERATION_OPEN,
                    request_digest: &digest,
                };
                match self.first_outcome_of(&context).await? {
                    Some(outcome) => Ok(outcome),
                    None => Err(error),
                }
            }
        }
    }

    /// The case, its SUBMITTED event and the change that records them.
    fn prepare_opening(
        &self,
        caller: &str,
        request: OpenReadmission,
    ) -> Result<(Change, StepOutcome), Error> {
        let own = self.own_state();
        let requested = request.requested;
        if self.partner(requested).is_none() {
            return Err(Error::precondition(
                Precondition::NoAgreement,
                requested.to_string(),
                format!("{requested} is not a partner of {own}: no node is configured for it"),
            ));
        }
        self.check_agreement(requested, request.regime, &requested.to_string())?;
        let profile = request.regime.profile();
        if !profile.may_send_personal_data(own, requested) {
            return Err(Error::precondition(
                Precondition::NoAgreement,
                requested.to_string(),
                format!(
                    "under {} no personal data may flow from {own} to {requested}",
                    request.regime.code()
                ),
            ));
        }
        let now = self.now();
        let case_ref = CaseRef::new(
            CaseKind::Readmission,
            own,
            requested,
            &super::new_case_id(now),
        )
        .map_err(|error| Error::Internal(format!("case reference: {error}")))?;
        let (case, event) =
            ReadmissionCase::submit(case_ref, profile, request.arrival, request.track, now)
                .map_err(|error| domain_error(&error, &request_case_ref(own, requested)))?;
        let mut wire = self.wire_event(
            &event,
            request.idempotency_key.as_str(),
            Some(Detail::Submitted(request.submission)),
        );
        envelope::sign(&mut wire, (own, requested), self.signer());
        let mut outcome = StepOutcome {
            readmission: Some(convert::case_to_wire(
                &case,
                std::slice::from_ref(&wire),
                true,
                1,
            )),
            event: Some(wire.clone()),
        };
        let context = IdempotencyContext {
            caller,
            idempotency_key: &request.idempotency_key,
            operation: OPERATION_OPEN,
            request_digest: &request.request_digest,
        };
        let change = Change {
            idempotency: Some(self.outcome_record(&context, &mut outcome)),
            case: CaseWrite::Create(self.summary(&case, now.as_millis())),
            offer: None,
            events: vec![event_record(&wire)],
            outbox: vec![self.outbox_message(&wire, requested)],
        };
        Ok((change, outcome))
    }

    /// Records a caseworker's step on a case, for this node's state.
    pub async fn readmission_step(&self, caller: &str, step: Step) -> Result<StepOutcome, Error> {
        let context = IdempotencyContext {
            caller,
            idempotency_key: &step.idempotency_key,
            operation: step.operation,
            request_digest: &step.request_digest,
        };
        self.replay_or_attempt(&step.case_ref, &context, || self.try_step(&context, &step))
            .await
    }

    async fn try_step(
        &self,
        context: &IdempotencyContext<'_>,
        step: &Step,
    ) -> Result<StepOutcome, Error> {
        let own = self.own_state();
        let loaded = self
            .load(&step.case_ref)
            .await?
            .ok_or_else(|| Error::NotFound(step.case_ref.to_string()))?;
        check_named_hold(&loaded, step)?;
        let now = not_before(self.now(), loaded.case.last_event_at());
        let (case, event) = loaded
            .case
            .record(Actor::State(own), step.kind.clone(), now)
            .map_err(|error| step_error(&loaded, &error, &step.case_ref.to_string()))?;
        let partner = loaded.case.state_of(other_party(loaded.case.party_of(own)));
        let mut wire = self.wire_event(&event, step.idempotency_key.as_str(), step.detail.clone());
        envelope::sign(&mut wire, pair(&case), self.signer());
        let mut history = loaded.events;
        history.push(wire.clone());
        let mut outcome = StepOutcome {
            readmission: Some(convert::case_to_wire(&case, &history, true, 0)),
            event: Some(wire.clone()),
        };
        let change = Change {
            idempotency: Some(self.outcome_record(context, &mut outcome)),
            case: CaseWrite::Update {
                record: self.summary(&case, loaded.summary.created_at),
                expected_event_count: loaded.summary.event_count,
            },
            offer: None,
            events: vec![event_record(&wire)],
            outbox: vec![self.outbox_message(&wire, partner)],
        };
        self.commit_with_outcome(change, outcome).await
    }

    /// Receives a partner's signed event. Idempotent: the same event again is acknowledged
    /// as already delivered; another event under the same key is `KeyReused`.
    pub async fn deliver_readmission_event(
        &self,
        partner: StateCode,
        event: pb::ReadmissionEvent,
    ) -> Result<pb::DeliverReadmissionEventResponse, Error> {
        let parties = self.authorize_delivery(partner, &event)?;
        let domain_event = convert::event_from_wire(&event).map_err(Error::InvalidArgument)?;
        let case_ref = &domain_event.case_ref;
        let link = self
            .partner(partner)
            .ok_or_else(|| Error::PermissionDenied(format!("{partner} is not a partner")))?;
        envelope::verify(&event, parties, &link.verifying_key)?;
        let (event, domain_event) = (&event, &domain_event);
        retry_on_conflict(case_ref, move || async move {
            if let Some(stored) = self
                .store()
                .find_event(
                    &case_ref.to_string(),
                    partner.as_str(),
                    &event.idempotency_key,
                )
                .await?
            {
                return if stored.envelope == event.encode_to_vec() {
                    Ok(pb::DeliverReadmissionEventResponse {
                        receipt_time: Some(to_wire_time(
                            self.first_receipt_time(case_ref, event.sequence).await?,
                        )),
                        already_delivered: true,
                    })
                } else {
                    Err(Error::KeyReused(event.idempotency_key.clone()))
                };
            }
            match self.load(case_ref).await? {
                None => {
                    self.receive_submission(partner, link.parity_limit, event, domain_event)
                        .await
                }
                Some(loaded) => self.receive_next_event(loaded, event, domain_event).await,
            }
        })
        .await
    }

    /// The receipt time to repeat for a redelivered event of `case_ref`: for the request
    /// (the only receipt with legal effect), this node's RECEIVED time; for later events,
    /// whose receipt time is not kept, the current time.
    async fn first_receipt_time(
        &self,
        case_ref: &CaseRef,
        sequence: u64,
    ) -> Result<Timestamp, Error> {
        if sequence != 1 {
            return Ok(self.now());
        }
        let received_at = self
            .load(case_ref)
            .await?
            .and_then(|loaded| loaded.case.received_at());
        Ok(received_at.unwrap_or_else(|| self.now()))
    }

    /// Decides, from the two fields that name who acts and on what, whether `partner`'s node
    /// may deliver `event`: before the rest of the event is validated, so that a caller who
    /// may not deliver it learns nothing from validation. Returns the case's (first, second)
    /// states.
    fn authorize_delivery(
        &self,
        partner: StateCode,
        event: &pb::ReadmissionEvent,
    ) -> Result<(StateCode, StateCode), Error> {
        let own = self.own_state();
        if event.acting_state != partner.as_str() {
            return Err(Error::PermissionDenied(format!(
                "{partner}'s node may deliver only {partner}'s events, not {:?}'s",
                event.acting_state
            )));
        }
        // The one field authorization cannot do without: it is checked first.
        let case_ref = CaseRef::parse(&event.case_ref)
            .map_err(|error| Error::invalid("event.case_ref", error.to_string()))?;
        let parties = (case_ref.first_state(), case_ref.second_state());
        if case_ref.kind() != CaseKind::Readmission
            || !(parties == (own, partner) || parties == (partner, own))
        {
            return Err(Error::PermissionDenied(format!(
                "{case_ref} is not a readmission case between {partner} and {own}"
            )));
        }
        Ok(parties)
    }

    /// R receives S's request: records it, then its own receipt (the legal date and hour,
    /// which starts the reply clock), then — when S owes more than the parity limit — its
    /// refusal with `PARITY_IMBALANCE`.
    async fn receive_submission(
        &self,
        partner: StateCode,
        parity_limit: Option<ParityLimit>,
        event: &pb::ReadmissionEvent,
        domain_event: &domain::ReadmissionEvent,
    ) -> Result<pb::DeliverReadmissionEventResponse, Error> {
        let own = self.own_state();
        let case_ref = &domain_event.case_ref;
        let ReadmissionEventKind::Submitted {
            regime,
            arrival,
            track,
        } = domain_event.kind
        else {
            return Err(Error::precondition(
                Precondition::SequenceGap,
                case_ref.to_string(),
                format!(
                    "{case_ref} is unknown here; deliver its SUBMITTED event (sequence 1) first"
                ),
            ));
        };
        if case_ref.first_state() != partner || domain_event.sequence != 1 {
            return Err(Error::invalid(
                "event.sequence",
                "a case starts with the requesting state's SUBMITTED at sequence 1",
            ));
        }
        self.check_agreement(partner, regime, &case_ref.to_string())?;
        let profile = regime.profile();
        if !profile.may_send_personal_data(partner, own) {
            return Err(Error::precondition(
                Precondition::NoAgreement,
                case_ref.to_string(),
                format!(
                    "under {} no personal data may flow from {partner} to {own}",
                    regime.code()
                ),
            ));
        }
        let (case, _submitted) = ReadmissionCase::submit(
            case_ref.clone(),
            profile,
            arrival,
            track,
            domain_event.occurred_at,
        )
        .map_err(|error| domain_error(&error, &case_ref.to_string()))?;
        let receipt_time = not_before(self.now(), case.last_event_at());
        let mut history = vec![event.clone()];
        let (mut case, received) = case
            .record(
                Actor::State(own),
                ReadmissionEventKind::Received,
                receipt_time,
            )
            .map_err(|error| domain_error(&error, &case_ref.to_string()))?;
        let receipt = pb::ReadmissionReceipt {
            reply_due_at: reply_due(&case),
        };
        let mut own_events = vec![self.signed(
            &case,
            &received,
            &format!("receipt:{case_ref}"),
            Some(Detail::Received(receipt)),
        )];
        // The guard applies only where the regime allows a parity refusal (R10).
        if let Some(limit) = parity_limit.filter(|_| case.profile().parity_refusal_allowed) {
            let debt = self.pair_ledger(partner).await?.debt(partner, own);
            if let Err(refusal) = parity::check_new_request(debt, limit) {
                let rejection = ReadmissionEventKind::Rejected {
                    reasons: vec![ReadmissionReason::ParityImbalance],
                    detailed_reasons: FreeText::parse(&refusal.to_string())
                        .map_err(|error| Error::Internal(format!("parity text: {error}")))?,
                };
                let (rejected_case, rejected) = case
                    .record(Actor::State(own), rejection, receipt_time)
                    .map_err(|error| domain_error(&error, &case_ref.to_string()))?;
                let detail = Detail::Rejected(pb::ReadmissionRejection {
                    reasons: vec![pb::ReadmissionReason::ParityImbalance as i32],
                    detailed_reasons: refusal.to_string(),
                });
                own_events.push(self.signed(
                    &rejected_case,
                    &rejected,
                    &format!("parity:{case_ref}"),
                    Some(detail),
                ));
                case = rejected_case;
            }
        }
        history.extend(own_events.iter().cloned());
        let change = Change {
            idempotency: None,
            case: CaseWrite::Create(self.summary(&case, receipt_time.as_millis())),
            offer: None,
            events: history.iter().map(event_record).collect(),
            outbox: own_events
                .iter()
                .map(|own_event| self.outbox_message(own_event, partner))
                .collect(),
        };
        self.store().commit(change).await?;
        Ok(pb::DeliverReadmissionEventResponse {
            receipt_time: Some(to_wire_time(receipt_time)),
            already_delivered: false,
        })
    }

    async fn receive_next_event(
        &self,
        loaded: Loaded,
        event: &pb::ReadmissionEvent,
        domain_event: &domain::ReadmissionEvent,
    ) -> Result<pb::DeliverReadmissionEventResponse, Error> {
        let case_ref = domain_event.case_ref.to_string();
        let expected = loaded.case.sequence() + 1;
        if domain_event.sequence < expected {
            return self.resolve_clash(loaded, event, domain_event).await;
        }
        if domain_event.sequence > expected {
            return Err(Error::precondition(
                Precondition::SequenceGap,
                case_ref,
                format!(
                    "expected sequence {expected}, got {}",
                    domain_event.sequence
                ),
            ));
        }
        let case = loaded
            .case
            .apply(
                domain_event.actor,
                &domain_event.kind,
                domain_event.occurred_at,
            )
            .map_err(|error| domain_error(&error, &case_ref))?;
        let change = Change {
            idempotency: None,
            case: CaseWrite::Update {
                record: self.summary(&case, loaded.summary.created_at),
                expected_event_count: loaded.summary.event_count,
            },
            offer: None,
            events: vec![event_record(event)],
            outbox: Vec::new(),
        };
        match self.store().commit(change).await {
            Ok(_) => Ok(pb::DeliverReadmissionEventResponse {
                receipt_time: Some(to_wire_time(self.now())),
                already_delivered: false,
            }),
            Err(store::Error::Conflict) => {
                Err(Error::Aborted(format!("{case_ref} changed concurrently")))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Two events claim one sequence: this node's own event `local` and the partner's `event`.
    /// As event.proto rules, the earlier `occurred_at` wins (ties: the smaller acting state).
    /// If ours wins, the delivery is refused with ABORTED `SEQUENCE_TAKEN` (the partner
    /// resolves when our event reaches it). If theirs wins, our events from that sequence on
    /// are replaced: the partner's event takes the number, and each of our displaced steps is
    /// applied again after it if the lifecycle still allows — as a new event with the same
    /// idempotency key and a new signature — or else dropped (and logged). Our displaced
    /// outbox messages are marked superseded in the same transaction.
    async fn resolve_clash(
        &self,
        loaded: Loaded,
        event: &pb::ReadmissionEvent,
        domain_event: &domain::ReadmissionEvent,
    ) -> Result<pb::DeliverReadmissionEventResponse, Error> {
        let own = self.own_state();
        let case_ref = domain_event.case_ref.to_string();
        let index = usize::try_from(domain_event.sequence.saturating_sub(1)).unwrap_or(usize::MAX);
        let taken = || Error::SequenceTaken {
            subject: case_ref.clone(),
            sequence: domain_event.sequence,
        };
        let Some(local) = loaded.events.get(index) else {
            return Err(taken());
        };
        let displaced = &loaded.events[index..];
        if displaced
            .iter()
            .any(|displaced| displaced.acting_state != own.as_str())
        {
            // Events from the partner already sit at or after that number: the partner's
            // history is inconsistent with itself; nothing to resolve here.
            return Err(taken());
        }
        let local_time = convert::occurred_at(local);
        let ours_wins = (local_time, local.acting_state.as_str())
            < (
                Some(domain_event.occurred_at),
                domain_event.actor.state().as_str(),
            );
        if ours_wins {
            return Err(taken());
        }
        let mut history = loaded.events[..index].to_vec();
        let kept: Vec<domain::ReadmissionEvent> = history
            .iter()
            .map(convert::event_from_wire)
            .collect::<Result<_, _>>()
            .map_err(|_| Error::Internal(format!("{case_ref} holds an invalid event")))?;
        let mut case = ReadmissionCase::replay(loaded.case.profile().clone(), &kept)
            .map_err(|error| Error::Internal(format!("{case_ref} does not replay: {error}")))?
            .apply(
                domain_event.actor,
                &domain_event.kind,
                domain_event.occurred_at,
            )
            .map_err(|error| domain_error(&error, &case_ref))?;
        history.push(event.clone());
        let partner = domain_event.actor.state();
        let mut reapplied = Vec::new();
        for displaced in displaced {
            let Ok(step) = convert::event_from_wire(displaced) else {
                continue;
            };
            let at = not_before(step.occurred_at, case.last_event_at());
            match case.record(step.actor, step.kind.clone(), at) {
                Ok((next_case, next_event)) => {
                    let wire = self.signed(
                        &next_case,
                        &next_event,
                        &displaced.idempotency_key,
                        displaced.detail.clone(),
                    );
                    reapplied.push(wire);
                    case = next_case;
                }
                Err(error) => tracing::warn!(
                    %case_ref,
                    %error,
                    "a step displaced by the partner's earlier event no longer applies; dropped"
                ),
            }
        }
        history.extend(reapplied.iter().cloned());
        let gateway = PeerIdentity::Gateway(own).spiffe_id();
        let whole_answers = self
            .whole_answers::<StepOutcome>(
                &gateway,
                displaced,
                &loaded.events,
                domain_event.sequence,
            )
            .await?;
        let change = Change {
            idempotency: None,
            case: CaseWrite::Replace {
                record: self.summary(&case, loaded.summary.created_at),
                expected_event_count: loaded.summary.event_count,
                from_sequence: domain_event.sequence,
                whole_answers,
            },
            offer: None,
            events: history[index..].iter().map(event_record).collect(),
            outbox: reapplied
                .iter()
                .map(|wire| self.outbox_message(wire, partner))
                .collect(),
        };
        match self.store().commit(change).await {
            Ok(_) => Ok(pb::DeliverReadmissionEventResponse {
                receipt_time: Some(to_wire_time(self.now())),
                already_delivered: false,
            }),
            Err(store::Error::Conflict) => {
                Err(Error::Aborted(format!("{case_ref} changed concurrently")))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Records the deadline event that is due on `case_ref`, if this node's clock owns it.
    /// Returns whether an event was recorded.
    pub(crate) async fn record_due_readmission_deadline(
        &self,
        case_ref: &CaseRef,
    ) -> Result<bool, Error> {
        let own = self.own_state();
        let Some(loaded) = self.load(case_ref).await? else {
            return Ok(false);
        };
        let now = self.now();
        let due = deadline::due(&loaded.case, now).filter(|due| due.actor.state() == own);
        let Some(due) = due else {
            // Not ours, or not due any more: refresh the summary's next deadline.
            let change = Change {
                idempotency: None,
                case: CaseWrite::Update {
                    record: self.summary(&loaded.case, loaded.summary.created_at),
                    expected_event_count: loaded.summary.event_count,
                },
                offer: None,
                events: Vec::new(),
                outbox: Vec::new(),
            };
            self.store().commit(change).await?;
            return Ok(false);
        };
        let at = not_before(due.lapsed_at(), loaded.case.last_event_at());
        let (case, event) = loaded
            .case
            .record(due.actor, due.kind.clone(), at)
            .map_err(|error| {
                Error::Internal(format!("due event refused by the domain: {error}"))
            })?;
        let key = format!("deadline:{case_ref}:{}", event.kind.step().code());
        let detail = convert::deadline_detail(&event.kind, due.deadline);
        let wire = self.signed(&case, &event, &key, detail);
        let partner = case.state_of(other_party(case.party_of(own)));
        let change = Change {
            idempotency: None,
            case: CaseWrite::Update {
                record: self.summary(&case, loaded.summary.created_at),
                expected_event_count: loaded.summary.event_count,
            },
            offer: None,
            events: vec![event_record(&wire)],
            outbox: vec![self.outbox_message(&wire, partner)],
        };
        self.store().commit(change).await?;
        Ok(true)
    }

    /// A case with its full history, for either party's gateway.
    pub async fn get_readmission(&self, case_ref: &CaseRef) -> Result<pb::ReadmissionCase, Error> {
        let loaded = self
            .load(case_ref)
            .await?
            .ok_or_else(|| Error::NotFound(case_ref.to_string()))?;
        let pending = self
            .store()
            .pending_delivery_count_for(&case_ref.to_string())
            .await?;
        Ok(convert::case_to_wire(
            &loaded.case,
            &loaded.events,
            true,
            u32::try_from(pending).unwrap_or(u32::MAX),
        ))
    }

    /// A page of the signed history of a case.
    pub async fn readmission_events(
        &self,
        case_ref: &CaseRef,
        page: EventPageRequest,
    ) -> Result<EventPage<pb::ReadmissionEvent>, Error> {
        let loaded = self
            .load(case_ref)
            .await?
            .ok_or_else(|| Error::NotFound(case_ref.to_string()))?;
        Ok(self.event_page(loaded.events, page))
    }

    /// A page of cases (summaries without history), newest first (`Store::list_cases`).
    pub async fn list_readmissions(
        &self,
        filter: &store::CaseFilter,
        after_ref: Option<&str>,
        page_size: u32,
    ) -> Result<(Vec<pb::ReadmissionCase>, Option<String>), Error> {
        let page_size = page_size.clamp(1, self.page_size_max());
        let records = self
            .store()
            .list_cases(filter, after_ref, u64::from(page_size) + 1)
            .await?;
        let more = records.len() > page_size as usize;
        let mut cases = Vec::with_capacity(page_size as usize);
        for record in records.iter().take(page_size as usize) {
            let case_ref = CaseRef::parse(&record.case_ref)
                .map_err(|error| Error::Internal(error.to_string()))?;
            let loaded = self
                .load(&case_ref)
                .await?
                .ok_or_else(|| Error::Internal(format!("{case_ref} vanished")))?;
            cases.push(convert::case_to_wire(
                &loaded.case,
                &loaded.events,
                false,
                0,
            ));
        }
        let next = if more {
            records
                .get(page_size as usize - 1)
                .map(|record| record.case_ref.clone())
        } else {
            None
        };
        Ok((cases, next))
    }

    async fn load(&self, case_ref: &CaseRef) -> Result<Option<Loaded>, Error> {
        let Some((summary, records)) = self.store().load_case(&case_ref.to_string()).await? else {
            return Ok(None);
        };
        let mut events = Vec::with_capacity(records.len());
        let mut domain_events = Vec::with_capacity(records.len());
        for record in &records {
            let event =
                pb::ReadmissionEvent::decode(record.envelope.as_slice()).map_err(|error| {
                    Error::Internal(format!("{case_ref} #{}: {error}", record.sequence))
                })?;
            let domain_event = convert::event_from_wire(&event).map_err(|_| {
                Error::Internal(format!(
                    "{case_ref} #{} is not a valid event",
                    record.sequence
                ))
            })?;
            events.push(event);
            domain_events.push(domain_event);
        }
        let regime = match domain_events.first().map(|event| &event.kind) {
            Some(ReadmissionEventKind::Submitted { regime, .. }) => *regime,
            _ => {
                return Err(Error::Internal(format!(
                    "{case_ref} does not start with SUBMITTED"
                )));
            }
        };
        let case = ReadmissionCase::replay(regime.profile(), &domain_events)
            .map_err(|error| Error::Internal(format!("{case_ref} does not replay: {error}")))?;
        Ok(Some(Loaded {
            summary,
            events,
            case,
        }))
    }

    fn wire_event(
        &self,
        event: &domain::ReadmissionEvent,
        idempotency_key: &str,
        detail: Option<Detail>,
    ) -> pb::ReadmissionEvent {
        pb::ReadmissionEvent {
            case_ref: event.case_ref.to_string(),
            sequence: event.sequence,
            kind: convert::kind_to_wire(&event.kind) as i32,
            acting_state: event.actor.state().to_string(),
            occurred_at: Some(to_wire_time(event.occurred_at)),
            idempotency_key: idempotency_key.to_owned(),
            detail,
            signing_key_id: String::new(),
            signature: Vec::new(),
        }
    }

    fn signed(
        &self,
        case: &ReadmissionCase,
        event: &domain::ReadmissionEvent,
        key: &str,
        detail: Option<Detail>,
    ) -> pb::ReadmissionEvent {
        let mut wire = self.wire_event(event, key, detail);
        envelope::sign(&mut wire, pair(case), self.signer());
        wire
    }

    fn summary(&self, case: &ReadmissionCase, created_at_ms: i64) -> CaseRecord {
        CaseRecord {
            case_ref: case.case_ref().to_string(),
            case_kind: store::CaseKind::Readmission,
            first_state: case.requesting().to_string(),
            second_state: case.requested().to_string(),
            status: case.status().code().to_owned(),
            event_count: case.sequence(),
            created_at: created_at_ms.min(case.last_event_at().as_millis()),
            updated_at: case.last_event_at().as_millis(),
            next_deadline_at: next_own_deadline(case, self.own_state()).map(Timestamp::as_millis),
        }
    }

    fn outbox_message(
        &self,
        event: &pb::ReadmissionEvent,
        destination: StateCode,
    ) -> OutboxMessage {
        OutboxMessage {
            case_ref: event.case_ref.clone(),
            destination: destination.to_string(),
            channel: Channel::Readmission,
            event: EventRef {
                case_ref: event.case_ref.clone(),
                sequence: event.sequence,
            },
            created_at: self.now().as_millis(),
        }
    }
}

fn event_record(event: &pb::ReadmissionEvent) -> store::EventRecord {
    store::EventRecord {
        case_ref: event.case_ref.clone(),
        sequence: event.sequence,
        kind: pb::ReadmissionEventKind::try_from(event.kind)
            .map(|kind| {
                kind.as_str_name()
                    .trim_start_matches("READMISSION_EVENT_KIND_")
                    .to_owned()
            })
            .unwrap_or_default(),
        acting_state: event.acting_state.clone(),
        occurred_at: convert::occurred_at(event)
            .map(Timestamp::as_millis)
            .unwrap_or_default(),
        idempotency_key: event.idempotency_key.clone(),
        envelope: event.encode_to_vec(),
    }
}

fn pair(case: &ReadmissionCase) -> (StateCode, StateCode) {
    (case.requesting(), case.requested())
}

fn other_party(party: Option<Party>) -> Party {
    match party {
        Some(Party::Requesting) => Party::Requested,
        _ => Party::Requesting,
    }
}

fn reply_due(case: &ReadmissionCase) -> Option<prost_types::Timestamp> {
    match deadline::deadlines(case).reply {
        Some(Deadline::At(time)) => Some(to_wire_time(time)),
        _ => None,
    }
}

/// The first instant at which a deadline whose clock this node owns lapses.
fn next_own_deadline(case: &ReadmissionCase, own: StateCode) -> Option<Timestamp> {
    let deadlines = convert::running_deadlines(case);
    let owners = &case.profile().clock_owners;
    // Silence that means nothing records no event when the reply deadline passes.
    let reply = deadlines
        .reply
        .filter(|_| case.profile().silence == Silence::MeansAcceptance);
    [
        (reply, ClockDuty::AcceptanceByDefault),
        (
            deadlines.re_examination_request,
            ClockDuty::RejectionClosure,
        ),
        (
            deadlines.re_examination_reply,
            ClockDuty::ReExaminationLapse,
        ),
        (deadlines.transfer, ClockDuty::Expiry),
        (deadlines.procedure, ClockDuty::Expiry),
    ]
    .into_iter()
    .filter(|(_, duty)| case.state_of(owners.owner(*duty)) == own)
    .filter_map(|(deadline, _)| match deadline {
        Some(Deadline::At(time)) => Some(time.plus_millis(1)),
        _ => None,
    })
    .min()
}

/// A case reference to name in errors before the case exists.
fn request_case_ref(requesting: StateCode, requested: StateCode) -> String {
    format!("RDM-{requesting}-{requested}")
}

/// A hold's release names the hold it ends (by the sequence of its placement); naming
/// anything but the hold in force is `NOT_FOUND`.
fn check_named_hold(loaded: &Loaded, step: &Step) -> Result<(), Error> {
    let Some(Detail::LegalHoldReleased(release)) = &step.detail else {
        return Ok(());
    };
    let hold_in_force = loaded.case.legal_hold().and_then(|_| {
        loaded.events.iter().rev().find_map(|event| {
            matches!(event.detail, Some(Detail::LegalHoldPlaced(_))).then_some(event.sequence)
        })
    });
    if hold_in_force == Some(release.hold_sequence) {
        Ok(())
    } else {
        Err(Error::NotFound(format!(
            "legal hold #{} in force on {}",
            release.hold_sequence, step.case_ref
        )))
    }
}

/// A caseworker's step refused on a stored case. A step that a recorded lapse cut off (a
/// decision after acceptance by default, a re-examination answer after its lapse, a
/// re-examination request after the window closed, anything after expiry) is refused for
/// its deadline (`DEADLINE_PASSED`), as the API documents, not as a mere illegal transition.
fn step_error(loaded: &Loaded, error: &domain::Error, subject: &str) -> Error {
    match error {
        domain::Error::StepNotAllowed { status, step }
            if was_cut_off_by_lapse(*status, *step, loaded.events.last()) =>
        {
            Error::precondition(Precondition::DeadlinePassed, subject, error.to_string())
        }
        _ => domain_error(error, subject),
    }
}

fn was_cut_off_by_lapse(
    status: domain::ReadmissionStatus,
    step: domain::ReadmissionStep,
    last_event: Option<&pb::ReadmissionEvent>,
) -> bool {
    use domain::ReadmissionStatus as Status;
    use domain::ReadmissionStep as S;
    match status {
        Status::AcceptedByDefault => matches!(
            step,
            S::ExaminationStarted
                | S::InformationRequested
                | S::InformationProvided
                | S::Accepted
                | S::Rejected
        ),
        Status::ReExaminationLapsed => {
            matches!(step, S::AcceptedOnReExamination | S::RejectedFinal)
        }
        Status::ClosedRejected => {
            let closed_by_lapse = last_event
                .is_some_and(|event| matches!(event.detail, Some(Detail::ClosedRejected(_))));
            closed_by_lapse && matches!(step, S::ReExaminationRequested | S::RejectionAccepted)
        }
        Status::Expired => true,
        _ => false,
    }
}

/// The one mapping of domain refusals to application errors.
pub(crate) fn domain_error(error: &domain::Error, subject: &str) -> Error {
    use domain::Error as D;
    let description = error.to_string();
    match error {
        D::WrongActor { .. } | D::NotAParty { .. } => Error::PermissionDenied(description),
        D::DeadlinePassed { .. } => {
            Error::precondition(Precondition::DeadlinePassed, subject, description)
        }
        D::RequestOutOfTime { .. } => {
            Error::precondition(Precondition::DeadlinePassed, subject, description)
        }
        D::ParityRefusalNotAllowed { .. } => Error::invalid("reasons", description),
        D::NoReasons { .. } | D::DuplicateReason { .. } => Error::invalid("reasons", description),
        D::ArrivalAfterSubmission { .. } => Error::invalid("arrival_time", description),
        D::SlotTooSoon { .. } | D::SlotAfterDeadline { .. } => {
            Error::invalid("slot.start_time", description)
        }
        _ => Error::precondition(Precondition::IllegalTransition, subject, description),
    }
}
