//! Admission offer use cases: publishing, amending, pausing, resuming and closing an offer,
//! receiving the admitting state's offer events on the origin state's node, and reading
//! offers.
//!
//! Only the admitting state A acts on an offer; the origin state O's node holds the same
//! signed history from A's deliveries. Every change follows the readmission path: read the
//! offer and its signed history, rebuild the domain [`Offer`] from it, let the domain decide
//! the step, sign the new event, and commit the event, the offer's summary, the idempotency
//! record and the outbox message in one transaction.
//!
//! The offer's history, not its summary row, is the truth: the summary (status, event count)
//! is an index over it. Nominations and slot releases (see `admission`) write an offer event
//! in the same transaction as their admission event, and the offer's summary with it
//! (`Change::offer`): written only if neither the case nor the offer moved since they were
//! read, so a nomination never commits without its offer's summary. Two changes can never
//! both write event *n* of an offer (the event table's key is (reference, sequence)). A
//! summary left behind by an earlier version of the node, which refreshed it in a second
//! commit, is brought up to date by the offer's next change.
//!
//! Outbox messages about an offer and about every admission case under it share one ordering
//! key, the offer's reference: the partner receives a nomination's SLOT_CLAIMED before its
//! NOMINATED, and every case event after the offer events it depends on.

use accord_domain::admission::offer::Error as OfferError;
use accord_domain::admission::{Offer, OfferEvent, OfferEventKind, OfferWindow};
use accord_domain::{Actor, CaseKind, CaseRef, IdempotencyKey, Regime, StateCode, Timestamp};
use accord_proto::v1 as pb;
use pb::offer_event::Detail;
use prost::Message;

use super::admission::{SummaryScan, pending_count};
use super::envelope;
use super::idempotency::IdempotencyContext;
use super::new_case_id;
use super::{App, Error, EventPage, EventPageRequest, Precondition, not_before, retry_on_conflict};
use crate::convert::admission as convert;
use crate::convert::to_wire_time;
use crate::store::{
    self, CaseFilter, CaseRecord, CaseWrite, Change, Channel, EventRef, OutboxMessage,
};

/// A validated request to publish an offer (A's caseworker, through A's gateway).
#[derive(Debug, Clone)]
pub struct PublishOffer {
    /// The caller's key.
    pub idempotency_key: IdempotencyKey,
    /// SHA-256 of the request, see [`super::request_digest`].
    pub request_digest: Vec<u8>,
    /// O, the origin state.
    pub origin: StateCode,
    /// The regime of the pair's agreement.
    pub regime: Regime,
    /// How many people A offers to admit.
    pub capacity: u32,
    /// When A accepts nominations.
    pub window: OfferWindow,
    /// The terms as they will travel, already validated.
    pub publication: pb::OfferPublication,
}

/// A validated step of A's caseworker on an existing offer.
#[derive(Debug, Clone)]
pub struct OfferStep {
    /// The caller's key.
    pub idempotency_key: IdempotencyKey,
    /// SHA-256 of the request.
    pub request_digest: Vec<u8>,
    /// The RPC, for the idempotency record.
    pub operation: &'static str,
    /// The offer.
    pub offer_ref: CaseRef,
    /// What the domain sees.
    pub kind: OfferEventKind,
    /// What the wire event carries.
    pub detail: Option<Detail>,
}

/// An offer and the event a step recorded: every offer step RPC answers this.
#[derive(Clone, PartialEq, Message)]
pub struct OfferOutcome {
    /// The offer after the step.
    #[prost(message, optional, tag = "1")]
    pub offer: Option<pb::Offer>,
    /// The event recorded.
    #[prost(message, optional, tag = "2")]
    pub event: Option<pb::OfferEvent>,
}

/// Which offers a list returns, beyond the store's filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferListFilter {
    /// Only offers with this partner state.
    pub counterpart: Option<StateCode>,
    /// Only offers where this node's state admits (`Some(true)`) or is the origin
    /// (`Some(false)`).
    pub admitting: Option<bool>,
    /// Only offers in one of these status codes (`OPEN`, `PAUSED`, `CLOSED`); empty for all.
    pub statuses: Vec<&'static str>,
}

/// An offer as stored: summary, signed history, and the domain offer rebuilt from it.
pub(crate) struct LoadedOffer {
    pub(crate) summary: CaseRecord,
    pub(crate) events: Vec<pb::OfferEvent>,
    pub(crate) offer: Offer,
}

const OPERATION_PUBLISH: &str = "PublishOffer";

/// Admission cases read per query when counting an offer's admitted cases.
const ADMITTED_SCAN_BATCH: u64 = 500;

impl App {
    /// Publishes an offer: A records PUBLISHED and queues it for O's node.
    pub async fn publish_offer(
        &self,
        caller: &str,
        request: PublishOffer,
    ) -> Result<OfferOutcome, Error> {
        let context = IdempotencyContext {
            caller,
            idempotency_key: &request.idempotency_key,
            operation: OPERATION_PUBLISH,
            request_digest: &request.request_digest,
        };
        if let Some(outcome) = self.first_outcome_of(&context).await? {
            return Ok(outcome);
        }
        let own = self.own_state();
        let origin = request.origin;
        if self.partner(origin).is_none() {
            return Err(Error::precondition(
                Precondition::NoAgreement,
                origin.to_string(),
                format!("{origin} is not a partner of {own}: no node is configured for it"),
            ));
        }
        self.check_agreement(origin, request.regime, &origin.to_string())?;
        let now = self.now();
        let offer_ref = CaseRef::new(CaseKind::Offer, own, origin, &new_case_id(now))
            .map_err(|error| Error::Internal(format!("offer reference: {error}")))?;
        let (offer, event) = Offer::publish(
            offer_ref,
            request.regime,
            request.capacity,
            request.window,
            now,
        )
        .map_err(|error| offer_error(&error, &format!("OFR-{own}-{origin}")))?;
        let wire = self.signed_offer_event(
            &event,
            request.idempotency_key.as_str(),
            Some(Detail::Published(request.publication)),
        );
        let mut outcome = OfferOutcome {
            offer: Some(convert::offer_to_wire(
                &offer,
                std::slice::from_ref(&wire),
                true,
                1,
                0,
            )),
            event: Some(wire.clone()),
        };
        let change = Change {
            idempotency: Some(self.outcome_record(&context, &mut outcome)),
            case: CaseWrite::Create(self.offer_summary(&offer, now.as_millis())),
            offer: None,
            events: vec![offer_event_record(&wire)],
            outbox: vec![self.offer_outbox(&wire, origin)],
        };
        self.commit_with_outcome(change, outcome).await
    }

    /// Records A's step on one of its offers.
    pub async fn offer_step(&self, caller: &str, step: OfferStep) -> Result<OfferOutcome, Error> {
        let context = IdempotencyContext {
            caller,
            idempotency_key: &step.idempotency_key,
            operation: step.operation,
            request_digest: &step.request_digest,
        };
        self.replay_or_attempt(&step.offer_ref, &context, || {
            self.try_offer_step(&context, &step)
        })
        .await
    }

    async fn try_offer_step(
        &self,
        context: &IdempotencyContext<'_>,
        step: &OfferStep,
    ) -> Result<OfferOutcome, Error> {
        let own = self.own_state();
        let loaded = self
            .load_offer(&step.offer_ref)
            .await?
            .ok_or_else(|| Error::NotFound(step.offer_ref.to_string()))?;
        let now = not_before(self.now(), loaded.offer.last_event_at());
        let (offer, event) = loaded
            .offer
            .record(Actor::State(own), step.kind.clone(), now)
            .map_err(|error| offer_error(&error, &step.offer_ref.to_string()))?;
        let wire =
            self.signed_offer_event(&event, step.idempotency_key.as_str(), step.detail.clone());
        let mut history = loaded.events;
        history.push(wire.clone());
        let pending = pending_count(self, &step.offer_ref)
            .await?
            .saturating_add(1);
        let mut outcome = OfferOutcome {
            offer: Some(convert::offer_to_wire(
                &offer,
                &history,
                true,
                pending,
                self.offer_admitted(&offer).await?,
            )),
            event: Some(wire.clone()),
        };
        let change = Change {
            idempotency: Some(self.outcome_record(context, &mut outcome)),
            case: CaseWrite::Update {
                record: self.offer_summary(&offer, loaded.summary.created_at),
                expected_event_count: loaded.summary.event_count,
            },
            offer: None,
            events: vec![offer_event_record(&wire)],
            outbox: vec![self.offer_outbox(&wire, offer.origin())],
        };
        self.commit_with_outcome(change, outcome).await
    }

    /// Receives A's signed offer event on O's node. Idempotent: the same event again is
    /// acknowledged as already delivered; another event under the same key is `KeyReused`.
    pub async fn deliver_offer_event(
        &self,
        partner: StateCode,
        event: pb::OfferEvent,
    ) -> Result<pb::DeliverOfferEventResponse, Error> {
        let domain_event =
            convert::offer_event_from_wire(&event).map_err(Error::InvalidArgument)?;
        let own = self.own_state();
        let offer_ref = &domain_event.case_ref;
        if domain_event.actor.state() != partner {
            return Err(Error::PermissionDenied(format!(
                "{partner}'s node may deliver only {partner}'s events, not {}'s",
                domain_event.actor.state()
            )));
        }
        if offer_ref.first_state() != partner || offer_ref.second_state() != own {
            return Err(Error::PermissionDenied(format!(
                "{offer_ref} is not an offer by {partner} to people in {own}"
            )));
        }
        let link = self
            .partner(partner)
            .ok_or_else(|| Error::PermissionDenied(format!("{partner} is not a partner")))?;
        envelope::verify(&event, (partner, own), &link.verifying_key)?;
        let (event, domain_event) = (&event, &domain_event);
        retry_on_conflict(offer_ref, move || async move {
            if let Some(already) = self
                .delivered_before(
                    &offer_ref.to_string(),
                    partner,
                    &event.idempotency_key,
                    &event.encode_to_vec(),
                )
                .await?
            {
                return Ok(pb::DeliverOfferEventResponse {
                    receipt_time: Some(to_wire_time(already)),
                    already_delivered: true,
                });
            }
            match self.load_offer(offer_ref).await? {
                None => self.receive_publication(event, domain_event).await,
                Some(loaded) => self.receive_offer_event(loaded, event, domain_event).await,
            }
        })
        .await
    }

    async fn receive_publication(
        &self,
        event: &pb::OfferEvent,
        domain_event: &OfferEvent,
    ) -> Result<pb::DeliverOfferEventResponse, Error> {
        let offer_ref = domain_event.case_ref.to_string();
        if !matches!(domain_event.kind, OfferEventKind::Published { .. })
            || domain_event.sequence != 1
        {
            return Err(Error::precondition(
                Precondition::SequenceGap,
                offer_ref.clone(),
                format!(
                    "SEQUENCE_GAP: {offer_ref} is unknown here; deliver its PUBLISHED event (sequence 1) first"
                ),
            ));
        }
        self.check_offer_agreement(domain_event)?;
        let offer = Offer::replay(std::slice::from_ref(domain_event))
            .map_err(|error| offer_error(&error, &offer_ref))?;
        let receipt_time = self.now();
        let change = Change {
            idempotency: None,
            case: CaseWrite::Create(self.offer_summary(&offer, receipt_time.as_millis())),
            offer: None,
            events: vec![offer_event_record(event)],
            outbox: Vec::new(),
        };
        self.store().commit(change).await?;
        Ok(pb::DeliverOfferEventResponse {
            receipt_time: Some(to_wire_time(receipt_time)),
            already_delivered: false,
        })
    }

    async fn receive_offer_event(
        &self,
        loaded: LoadedOffer,
        event: &pb::OfferEvent,
        domain_event: &OfferEvent,
    ) -> Result<pb::DeliverOfferEventResponse, Error> {
        let offer_ref = domain_event.case_ref.to_string();
        check_sequence(&offer_ref, loaded.offer.sequence(), domain_event.sequence)?;
        let offer = loaded
            .offer
            .apply(
                domain_event.actor,
                &domain_event.kind,
                domain_event.occurred_at,
            )
            .map_err(|error| offer_error(&error, &offer_ref))?;
        let change = Change {
            idempotency: None,
            case: CaseWrite::Update {
                record: self.offer_summary(&offer, loaded.summary.created_at),
                expected_event_count: loaded.summary.event_count,
            },
            offer: None,
            events: vec![offer_event_record(event)],
            outbox: Vec::new(),
        };
        self.store().commit(change).await?;
        Ok(pb::DeliverOfferEventResponse {
            receipt_time: Some(to_wire_time(self.now())),
            already_delivered: false,
        })
    }

    /// An offer with its full history, for either party's gateway.
    pub async fn get_offer(&self, offer_ref: &CaseRef) -> Result<pb::Offer, Error> {
        let loaded = self
            .load_offer(offer_ref)
            .await?
            .ok_or_else(|| Error::NotFound(offer_ref.to_string()))?;
        Ok(convert::offer_to_wire(
            &loaded.offer,
            &loaded.events,
            true,
            pending_count(self, offer_ref).await?,
            self.offer_admitted(&loaded.offer).await?,
        ))
    }

    /// A page of the signed history of an offer.
    pub async fn offer_events(
        &self,
        offer_ref: &CaseRef,
        page: EventPageRequest,
    ) -> Result<EventPage<pb::OfferEvent>, Error> {
        let loaded = self
            .load_offer(offer_ref)
            .await?
            .ok_or_else(|| Error::NotFound(offer_ref.to_string()))?;
        Ok(self.event_page(loaded.events, page))
    }

    /// A page of offers (without history), newest first (`Store::list_cases`).
    pub async fn list_offers(
        &self,
        filter: &OfferListFilter,
        after_ref: Option<&str>,
        page_size: u32,
    ) -> Result<(Vec<pb::Offer>, Option<String>), Error> {
        let own = self.own_state();
        let store_filter = CaseFilter {
            case_kind: store::CaseKind::Offer,
            counterpart: filter.counterpart.map(|state| state.to_string()),
            status: match filter.statuses.as_slice() {
                [only] => Some((*only).to_owned()),
                _ => None,
            },
        };
        let page_size = page_size.clamp(1, self.page_size_max()) as usize;
        let mut scan = SummaryScan::new(store_filter, after_ref, page_size);
        let mut page = Vec::with_capacity(page_size);
        while page.len() < page_size
            && let Some(record) = scan.next(self.store()).await?
        {
            let role_matches = filter
                .admitting
                .is_none_or(|admitting| (record.first_state == own.as_str()) == admitting);
            let status_matches = filter.statuses.is_empty()
                || filter
                    .statuses
                    .iter()
                    .any(|status| *status == record.status);
            if !(role_matches && status_matches) {
                continue;
            }
            let offer_ref = CaseRef::parse(&record.case_ref)
                .map_err(|error| Error::Internal(error.to_string()))?;
            let loaded = self
                .load_offer(&offer_ref)
                .await?
                .ok_or_else(|| Error::Internal(format!("{offer_ref} vanished")))?;
            page.push(convert::offer_to_wire(
                &loaded.offer,
                &loaded.events,
                false,
                pending_count(self, &offer_ref).await?,
                self.offer_admitted(&loaded.offer).await?,
            ));
        }
        Ok((page, scan.next_token()))
    }

    /// Reads an offer and rebuilds it from its signed history; `None` if this node holds no
    /// offer `offer_ref`.
    pub(crate) async fn load_offer(
        &self,
        offer_ref: &CaseRef,
    ) -> Result<Option<LoadedOffer>, Error> {
        let Some((summary, records)) = self.store().load_case(&offer_ref.to_string()).await? else {
            return Ok(None);
        };
        if summary.case_kind != store::CaseKind::Offer {
            return Ok(None);
        }
        let mut events = Vec::with_capacity(records.len());
        let mut domain_events = Vec::with_capacity(records.len());
        for record in &records {
            let event = pb::OfferEvent::decode(record.envelope.as_slice()).map_err(|error| {
                Error::Internal(format!("{offer_ref} #{}: {error}", record.sequence))
            })?;
            let domain_event = convert::offer_event_from_wire(&event).map_err(|_| {
                Error::Internal(format!(
                    "{offer_ref} #{} is not a valid event",
                    record.sequence
                ))
            })?;
            events.push(event);
            domain_events.push(domain_event);
        }
        let offer = Offer::replay(&domain_events)
            .map_err(|error| Error::Internal(format!("{offer_ref} does not replay: {error}")))?;
        Ok(Some(LoadedOffer {
            summary,
            events,
            offer,
        }))
    }

    /// The regime of a stored offer, from its first (PUBLISHED) event only.
    pub(crate) async fn offer_regime(&self, offer_ref: &CaseRef) -> Result<Option<Regime>, Error> {
        let Some((_summary, records)) = self.store().load_case(&offer_ref.to_string()).await?
        else {
            return Ok(None);
        };
        let Some(first) = records.first() else {
            return Ok(None);
        };
        let event = pb::OfferEvent::decode(first.envelope.as_slice())
            .map_err(|error| Error::Internal(format!("{offer_ref} #1: {error}")))?;
        convert::offer_regime(&event)
            .map(Some)
            .ok_or_else(|| Error::Internal(format!("{offer_ref} does not start with PUBLISHED")))
    }

    /// How many of the offer's cases reached ARRIVED or DEPARTURE_CONFIRMED: the cases of the
    /// pair in those statuses that hold one of the offer's places.
    pub(crate) async fn offer_admitted(&self, offer: &Offer) -> Result<u32, Error> {
        let own = self.own_state();
        let counterpart = if offer.admitting() == own {
            offer.origin()
        } else {
            offer.admitting()
        };
        let mut admitted: u32 = 0;
        for status in ["ARRIVED", "DEPARTURE_CONFIRMED"] {
            let filter = CaseFilter {
                case_kind: store::CaseKind::Admission,
                counterpart: Some(counterpart.to_string()),
                status: Some(status.to_owned()),
            };
            let mut after: Option<String> = None;
            loop {
                let records = self
                    .store()
                    .list_cases(&filter, after.as_deref(), ADMITTED_SCAN_BATCH)
                    .await?;
                for record in &records {
                    let holds = CaseRef::parse(&record.case_ref)
                        .is_ok_and(|case_ref| offer.holds_slot(&case_ref));
                    admitted = admitted.saturating_add(u32::from(holds));
                }
                if (records.len() as u64) < ADMITTED_SCAN_BATCH {
                    break;
                }
                after = records.last().map(|record| record.case_ref.clone());
            }
        }
        Ok(admitted)
    }

    /// Builds and signs the wire form of an offer event with this state's key.
    pub(crate) fn signed_offer_event(
        &self,
        event: &OfferEvent,
        idempotency_key: &str,
        detail: Option<Detail>,
    ) -> pb::OfferEvent {
        let mut wire = pb::OfferEvent {
            offer_ref: event.case_ref.to_string(),
            sequence: event.sequence,
            kind: convert::offer_kind_to_wire(&event.kind) as i32,
            acting_state: event.actor.state().to_string(),
            occurred_at: Some(to_wire_time(event.occurred_at)),
            idempotency_key: idempotency_key.to_owned(),
            detail,
            signing_key_id: String::new(),
            signature: Vec::new(),
        };
        let pair = (event.case_ref.first_state(), event.case_ref.second_state());
        envelope::sign(&mut wire, pair, self.signer());
        wire
    }

    /// The summary row of an offer.
    pub(crate) fn offer_summary(&self, offer: &Offer, created_at_ms: i64) -> CaseRecord {
        CaseRecord {
            case_ref: offer.case_ref().to_string(),
            case_kind: store::CaseKind::Offer,
            first_state: offer.admitting().to_string(),
            second_state: offer.origin().to_string(),
            status: offer.status().code().to_owned(),
            event_count: offer.sequence(),
            created_at: created_at_ms.min(offer.last_event_at().as_millis()),
            updated_at: offer.last_event_at().as_millis(),
            next_deadline_at: None,
        }
    }

    /// The outbox message delivering an offer event to `destination`, ordered on the offer.
    pub(crate) fn offer_outbox(
        &self,
        event: &pb::OfferEvent,
        destination: StateCode,
    ) -> OutboxMessage {
        OutboxMessage {
            case_ref: event.offer_ref.clone(),
            destination: destination.to_string(),
            channel: Channel::Offer,
            event: EventRef {
                case_ref: event.offer_ref.clone(),
                sequence: event.sequence,
            },
            created_at: self.now().as_millis(),
        }
    }

    /// When this node first stored `acting_state`'s event of `subject` (a case or an offer)
    /// under `idempotency_key`, if it did and it is byte-identical to `envelope`; `KeyReused`
    /// if the key names another event.
    pub(crate) async fn delivered_before(
        &self,
        subject: &str,
        acting_state: StateCode,
        idempotency_key: &str,
        envelope: &[u8],
    ) -> Result<Option<Timestamp>, Error> {
        let Some(stored) = self
            .store()
            .find_event(subject, acting_state.as_str(), idempotency_key)
            .await?
        else {
            return Ok(None);
        };
        if stored.envelope == envelope {
            Ok(Some(self.now()))
        } else {
            Err(Error::KeyReused(idempotency_key.to_owned()))
        }
    }
}

/// The stored record of a wire offer event.
pub(crate) fn offer_event_record(event: &pb::OfferEvent) -> store::EventRecord {
    store::EventRecord {
        case_ref: event.offer_ref.clone(),
        sequence: event.sequence,
        kind: convert::offer_kind_name(event.kind),
        acting_state: event.acting_state.clone(),
        occurred_at: convert::event_time(event.occurred_at.as_ref())
            .map(Timestamp::as_millis)
            .unwrap_or_default(),
        idempotency_key: event.idempotency_key.clone(),
        envelope: event.encode_to_vec(),
    }
}

/// Checks that a delivered event is the next one of its offer or case.
pub(crate) fn check_sequence(subject: &str, current: u64, delivered: u64) -> Result<(), Error> {
    let expected = current + 1;
    if delivered < expected {
        return Err(Error::SequenceTaken {
            subject: subject.to_owned(),
            sequence: delivered,
        });
    }
    if delivered > expected {
        return Err(Error::precondition(
            Precondition::SequenceGap,
            subject,
            format!("SEQUENCE_GAP: {subject} expected sequence {expected}, got {delivered}"),
        ));
    }
    Ok(())
}

/// The one mapping of the domain's offer refusals to application errors.
pub(crate) fn offer_error(error: &OfferError, subject: &str) -> Error {
    use OfferError as O;
    let description = error.to_string();
    match error {
        O::WrongActor { .. } => Error::PermissionDenied(description),
        O::Paused { .. } | O::Closed | O::OutsideWindow { .. } | O::Full { .. } => {
            Error::precondition(Precondition::OfferNotAvailable, subject, description)
        }
        O::ZeroCapacity => Error::invalid("capacity", description),
        O::EmptyWindow { .. } | O::WindowAlreadyClosed { .. } => {
            Error::invalid("window.end_time", description)
        }
        O::EmptyAmendment => Error::invalid("capacity", description),
        O::WrongCaseKind { .. } | O::ReplayStart | O::ReplayOrder { .. } => {
            Error::Internal(description)
        }
        O::StepNotAllowed { .. }
        | O::TimeWentBackwards { .. }
        | O::AlreadyClaimed { .. }
        | O::NotClaimed { .. }
        | O::CapacityBelowUse { .. } => {
            Error::precondition(Precondition::IllegalTransition, subject, description)
        }
    }
}
